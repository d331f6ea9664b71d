"""One measuring run per machine, through the real binary: while another process holds the
machine-wide lock, `iodepth suite` says who holds it and waits; once it is released, the
suite runs and succeeds. And a second `iodepth matrix` into an --out that a running one
holds is refused at once, naming the holder."""

import fcntl
import os
import subprocess
import sys
import tempfile
import time
import unittest

BIN = os.environ.get("IODEPTH_BIN", "")


class MachineLockTest(unittest.TestCase):
    def setUp(self):
        if not BIN:
            self.skipTest("IODEPTH_BIN is not set")
        self.tmp = tempfile.TemporaryDirectory(dir=os.getcwd())
        self.addCleanup(self.tmp.cleanup)
        self.lock = os.path.join(self.tmp.name, "machine.lock")
        self.env = dict(os.environ, IODEPTH_MACHINE_LOCK=self.lock)

    def hold(self, path):
        f = open(path, "w")
        self.addCleanup(f.close)
        fcntl.flock(f, fcntl.LOCK_EX)
        f.write(f"{os.getpid()}\n")
        f.flush()
        return f

    def test_a_suite_waits_for_the_holder_and_then_runs(self):
        held = self.hold(self.lock)
        data = os.path.join(self.tmp.name, "data.dat")
        proc = subprocess.Popen(
            [BIN, "suite", "qd", f"--filename={data}", "--size=4m", "--runtime=20ms", "--ramp_time=0ms",
             "--repetitions=1", "--depths=1", "--backends=io_uring", f"--json={self.tmp.name}/s.json",
             f"--csv={self.tmp.name}/s.csv"],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.addCleanup(proc.kill)
        time.sleep(1.0)
        self.assertIsNone(proc.poll(), "the suite ran although another process held the machine lock")
        self.assertFalse(os.path.exists(os.path.join(self.tmp.name, "s.json")), "it measured while waiting")
        fcntl.flock(held, fcntl.LOCK_UN)
        _, err = proc.communicate(timeout=120)
        self.assertEqual(proc.returncode, 0, err)
        self.assertIn(f"waiting for iodepth pid {os.getpid()} to finish measuring", err)
        self.assertTrue(os.path.exists(os.path.join(self.tmp.name, "s.json")))

    def test_a_second_matrix_into_a_held_out_is_refused_naming_the_holder(self):
        out = os.path.join(self.tmp.name, "m")
        os.makedirs(out)
        self.hold(os.path.join(out, ".lock"))
        result = subprocess.run(
            [BIN, "matrix", "--out", out, "--workloads=rand_read_qd", "--depths=1", "--backends=io_uring",
             "--memory-caps=none", "--memory-ratios=none", "--repetitions=1", "--runtime=20ms", "--size=4m",
             "--report=0"],
            env=self.env, capture_output=True, text=True, timeout=120)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn(f"another iodepth matrix (pid {os.getpid()}) is writing into {out}", result.stderr)
        self.assertNotIn("Traceback", result.stderr)
        self.assertFalse(os.path.exists(os.path.join(out, "journal.jsonl")), "nothing was written into it")


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
