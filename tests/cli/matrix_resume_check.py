"""`iodepth matrix` killed mid-run and resumed, as a user would: through the real binary.

Run by ctest (matrix_resume_check) with IODEPTH_BIN set to the built `iodepth`:
    IODEPTH_BIN=build/dev/cli/iodepth /usr/bin/python3 tests/cli/matrix_resume_check.py

Named *_check.py, not *_test.py, so report_py_test's discovery (which has no binary to
run) does not pick it up. Every expectation is computed from the matrix's own --list
output, so a runner that skipped, repeated or invented cells fails.
"""

import glob
import json
import os
import signal
import subprocess
import tempfile
import time
import unittest

BIN = os.environ.get("IODEPTH_BIN", "")
# A small matrix: 2 workloads x (qd 1 io_uring, qd 1 sync, qd 4 io_uring) = 6 units of
# buffered + direct twins, 2 repetitions of 40 ms each.
FLAGS = ["--workloads=seq_read_qd,rand_read_qd", "--depths=1,4", "--backends=io_uring,sync",
         "--memory-caps=none", "--repetitions=2", "--runtime=40ms", "--ramp_time=0ms",
         "--size=8MiB", "--report=0", "--max-repetitions=2", "--memory-ratios=none"]


def journal_units(out):
    path = os.path.join(out, "journal.jsonl")
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    # The last element is "" after a complete line, or a torn line: neither is a unit.
    return [json.loads(line)["unit"] for line in lines[1:-1]]


def result_cells(out):
    cells = []
    for path in sorted(glob.glob(os.path.join(out, "*.json"))):
        with open(path, encoding="utf-8") as f:
            cells.extend(json.load(f)["cells"])
    return cells


@unittest.skipUnless(BIN and os.access(BIN, os.X_OK), "IODEPTH_BIN is not set to the iodepth binary")
class MatrixResumeTest(unittest.TestCase):
    def setUp(self):
        # Under the build directory, not /tmp: O_DIRECT needs a real filesystem.
        self.tmp = tempfile.TemporaryDirectory(dir=os.getcwd())
        self.out = os.path.join(self.tmp.name, "m")

    def tearDown(self):
        self.tmp.cleanup()

    def run_matrix(self, *extra):
        """FLAGS with `extra` replacing any flag of the same name (each given once)."""
        names = {e.split("=")[0] for e in extra}
        base = [f for f in FLAGS if f.split("=")[0] not in names]
        return subprocess.run([BIN, "matrix", "--out", self.out, *base, *extra],
                              capture_output=True, text=True, timeout=300)

    def planned_units(self):
        listed = self.run_matrix("--list")
        self.assertEqual(listed.returncode, 0, listed.stderr)
        return listed.stdout.split()

    def start_and_kill_after(self, units, sig):
        proc = subprocess.Popen([BIN, "matrix", "--out", self.out, *FLAGS],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while len(journal_units(self.out)) < units and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertIsNone(proc.poll(), "the matrix finished before it could be interrupted")
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
        return proc.returncode, err

    def check_complete(self, planned):
        done = journal_units(self.out)
        self.assertEqual(sorted(done), sorted(planned), "every unit once in the journal")
        cells = result_cells(self.out)
        ids = [c["id"] for c in cells]
        self.assertEqual(len(ids), len(set(ids)), "no cell twice in the results")
        self.assertEqual(len(cells), 2 * len(planned), "a buffered and a direct cell per unit")
        for c in cells:
            self.assertEqual(c["status"], "ok", c["id"])
            self.assertEqual(len(c["repetitions"]), 2, c["id"])
        with open(os.path.join(self.out, "matrix.csv"), encoding="utf-8") as f:
            self.assertEqual(len(f.read().splitlines()), 1 + len(cells))

    def test_sigkill_mid_run_then_resume_completes_without_duplicates(self):
        planned = self.planned_units()
        self.assertEqual(len(planned), 6)
        code, _ = self.start_and_kill_after(2, signal.SIGKILL)
        self.assertEqual(code, -signal.SIGKILL)
        kept = journal_units(self.out)
        self.assertGreaterEqual(len(kept), 2)
        self.assertLess(len(kept), len(planned), "killed before the end")
        resumed = self.run_matrix()
        self.assertEqual(resumed.returncode, 0, resumed.stderr)
        self.assertIn(f"({len(kept)} done before, {len(planned) - len(kept)} to run)", resumed.stderr)
        self.check_complete(planned)
        again = self.run_matrix()
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertIn(f"({len(planned)} done before, 0 to run)", again.stderr)
        self.check_complete(planned)

    def test_ctrl_c_stops_cleanly_and_says_how_to_continue(self):
        planned = self.planned_units()
        code, err = self.start_and_kill_after(1, signal.SIGINT)
        self.assertEqual(code, 1, err)
        self.assertIn("interrupted", err)
        self.assertIn("run the same command again", err)
        kept = journal_units(self.out)
        self.assertGreaterEqual(len(kept), 1)
        self.assertEqual(len(result_cells(self.out)), 2 * len(kept), "finished units are in the results at once")
        resumed = self.run_matrix()
        self.assertEqual(resumed.returncode, 0, resumed.stderr)
        self.check_complete(planned)

    def test_other_settings_on_resume_are_refused_naming_them(self):
        self.planned_units()
        first = self.run_matrix("--workloads=rand_read_qd", "--depths=1", "--backends=io_uring")
        self.assertEqual(first.returncode, 0, first.stderr)
        other = self.run_matrix("--runtime=50ms")
        self.assertEqual(other.returncode, 1)
        self.assertIn("runtime", other.stderr)
        self.assertIn("--fresh", other.stderr)

    def test_a_data_directory_outside_out_that_moved_is_found_again_with_directory(self):
        # Issue 13, case 6: the journal stored the absolute data path, so a moved data
        # directory could not be resumed.
        old = os.path.join(self.tmp.name, "old-data")
        first = self.run_matrix("--workloads=rand_read_qd", "--depths=1", "--backends=io_uring",
                                f"--directory={old}")
        self.assertEqual(first.returncode, 0, first.stderr)
        new = os.path.join(self.tmp.name, "new-data")
        os.rename(old, new)
        resumed = self.run_matrix("--workloads=rand_read_qd", "--depths=1,4", "--backends=io_uring",
                                  f"--directory={new}")
        self.assertEqual(resumed.returncode, 0, resumed.stderr)
        self.assertIn(f"its data directory moved: {old} -> {new}", resumed.stderr)
        self.assertIn("(1 done before, 1 to run)", resumed.stderr)
        other = self.run_matrix("--workloads=rand_read_qd", "--depths=1", "--backends=io_uring",
                                f"--directory={new}", "--runtime=50ms")
        self.assertEqual(other.returncode, 1, "other settings are still refused")
        self.assertIn("runtime", other.stderr)


if __name__ == "__main__":
    unittest.main()
