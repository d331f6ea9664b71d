"""Ctrl-C in `iodepth suite` and `iodepth bench` keeps what was measured: through the real binary.

Run by ctest (interrupt_check) with IODEPTH_BIN set to the built `iodepth`:
    IODEPTH_BIN=build/dev/cli/iodepth /usr/bin/python3 tests/cli/interrupt_check.py

- suite: after every round the JSON and CSV hold what ran (config.partial says how much);
  SIGINT ends the suite after its current run, writes the rounds finished, marked partial,
  says where, and exits 1; an output directory it cannot write is refused before anything
  is measured.
- bench: SIGINT ends the window at once and prints the figures measured so far, as fio does.
No test asserts on speed: only on what is written and said.
"""

import json
import os
import signal
import subprocess
import tempfile
import time
import unittest

BIN = os.environ.get("IODEPTH_BIN", "")
SUITE = ["suite", "qd", "--depths=1", "--backends=sync", "--modes=buffered,direct", "--size=4MiB",
         "--runtime=150ms", "--ramp_time=0ms", "--repetitions=40"]


@unittest.skipUnless(BIN and os.access(BIN, os.X_OK), "IODEPTH_BIN is not set to the iodepth binary")
class InterruptTest(unittest.TestCase):
    def setUp(self):
        # Under the build directory, not /tmp: O_DIRECT needs a real filesystem.
        self.tmp = tempfile.TemporaryDirectory(dir=os.getcwd())
        self.json = os.path.join(self.tmp.name, "out", "qd.json")
        self.data = os.path.join(self.tmp.name, "qd.dat")

    def tearDown(self):
        self.tmp.cleanup()

    def read_json(self):
        with open(self.json, encoding="utf-8") as f:
            return json.load(f)

    def test_suite_keeps_finished_rounds_on_ctrl_c(self):
        proc = subprocess.Popen([BIN, *SUITE, "--filename", self.data, "--json", self.json],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        # The file appears after the first round (two cells): the suite is running.
        while not os.path.exists(self.json) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertIsNone(proc.poll(), "the suite ended before it could be interrupted")
        running = self.read_json()
        self.assertEqual(running["config"]["partial"]["why"], "still running")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        self.assertEqual(proc.returncode, 1, err)
        self.assertIn("interrupted", err)
        self.assertIn(self.json, err)
        doc = self.read_json()
        partial = doc["config"]["partial"]
        self.assertIn("signal", partial["why"])
        self.assertEqual(partial["rounds_asked"], 40)
        self.assertGreaterEqual(partial["rounds_done"], 1)
        self.assertLess(partial["rounds_done"], 40)
        for cell in doc["cells"]:
            self.assertGreaterEqual(len(cell["repetitions"]), partial["rounds_done"], cell["id"])
        csv = os.path.splitext(self.json)[0] + ".csv"
        with open(csv, encoding="utf-8") as f:
            self.assertEqual(len(f.read().strip().split("\n")), 1 + len(doc["cells"]), "the CSV beside the JSON")

    def test_unwritable_output_is_refused_before_measuring(self):
        blocker = os.path.join(self.tmp.name, "file")
        with open(blocker, "w", encoding="utf-8") as f:
            f.write("not a directory")
        started = time.monotonic()
        done = subprocess.run([BIN, *SUITE, "--filename", self.data, "--json", os.path.join(blocker, "x.json")],
                              capture_output=True, text=True, timeout=120)
        self.assertEqual(done.returncode, 1)
        self.assertIn("could not be written", done.stderr)
        self.assertIn("before measuring", done.stderr)
        self.assertFalse(os.path.exists(self.data), "nothing was made or measured")
        self.assertLess(time.monotonic() - started, 30)

    def test_bench_prints_what_it_measured_on_ctrl_c(self):
        proc = subprocess.Popen([BIN, "bench", "--filename", self.data, "--size=4MiB", "--rw=randread",
                                 "--iodepth=1", "--engine=sync", "--runtime=60s", "--ramp_time=0",
                                 "--output-format=json"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(2.0)  # The data file is made, then the window runs.
        self.assertIsNone(proc.poll(), "bench ended before it could be interrupted")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 1, err)
        self.assertIn("interrupted", err)
        job = json.loads(out)["jobs"][0]
        self.assertGreater(job["read"]["total_ios"], 0, "the I/Os measured before the signal are reported")
        self.assertLess(job["read"]["runtime"], 60_000, "the window ended at the signal, not at --runtime")


if __name__ == "__main__":
    unittest.main()
