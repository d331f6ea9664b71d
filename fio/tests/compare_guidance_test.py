"""Tests of fio/compare_guidance.py on two synthetic matrix runs: the crossover rule is the
report's (report/ratios.py), so these only check what is compared and how it is said, and the
reproducibility shares counted from outcomes the tests chose."""

import contextlib
import io
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from fio import common, compare_guidance
from fio.tests import helpers


def qd_cells(direct_iops_by_qd, buffered_iops=1000.0):
    """Twins rand_read_qd{N}/direct|buffered/io_uring, three steady repetitions each."""
    cells = []
    for qd, direct in direct_iops_by_qd.items():
        for mode, iops in (("direct", direct), ("buffered", buffered_iops)):
            reps = [helpers.repetition(iops * f, target=qd, littles_law=qd) for f in (0.99, 1.0, 1.01)]
            cells.append(helpers.cell_record(f"rand_read_qd{qd}/{mode}/io_uring", reps, qd=qd, mode=mode,
                                             cache_state="cold" if mode == "buffered" else "n/a"))
    return cells


STEADY = (0.99, 1.0, 1.01)
NOISY = (0.80, 1.25, 0.85)  # Applied to direct only: any interval of its ratio straddles a margin.


def curve_cells(family, backend, profile, noisy=()):
    """Twins {family}_qd{N}/{direct,buffered}/{backend} with direct / buffered = profile[N], the
    same round-to-round drift on both sides, NOISY direct at the `noisy` depths."""
    cells = []
    for qd, ratio in profile.items():
        noise = NOISY if qd in noisy else (1.0,) * 3
        for mode, factors in (("direct", [f * n * ratio for f, n in zip(STEADY, noise)]), ("buffered", STEADY)):
            reps = [helpers.repetition(1000.0 * f, target=qd, littles_law=qd) for f in factors]
            cells.append(helpers.cell_record(f"{family}_qd{qd}/{mode}/{backend}", reps, qd=qd, mode=mode,
                                             backend=backend, cache_state="cold" if mode == "buffered" else "n/a"))
    return cells


class CompareGuidanceTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)

    def run_dir(self, name, cells):
        path = os.path.join(self.dir, name)
        os.mkdir(path)
        helpers.write_json(path, "qd-nocap.json", helpers.suite_document(cells))
        helpers.write_json(path, "matrix-notes.json", {"not": "a results file"})  # Not <suite>-<cap>: ignored.
        return path

    def compare(self, *args):
        return subprocess.run([common.PYTHON, "-m", "fio.compare_guidance", *args], cwd=common.REPO_ROOT,
                              capture_output=True, text=True, timeout=120)

    def test_a_curve_that_moved_is_listed_with_both_runs_intervals(self):
        a = self.run_dir("a", qd_cells({1: 500.0, 4: 1000.0, 16: 1200.0}))
        b = self.run_dir("b", qd_cells({1: 1000.0, 4: 1000.0, 16: 1200.0}))
        done = self.compare(a, b)
        self.assertEqual(done.returncode, 0, done.stderr)
        lines = done.stdout.split("\n")
        self.assertEqual(lines[0], "rand_read - cap=0 io_uring: from qd 4 vs always")
        self.assertTrue(lines[1].startswith("  A: qd 1: 0.50 ["), lines[1])
        self.assertTrue(lines[2].startswith("  B: qd 1: 1.00 ["), lines[2])
        self.assertTrue(lines[3].startswith("0 of 1 curves reach the same outcome; 1 differ"), lines[3])
        self.assertEqual(lines[4], "Decided in both runs: 1 of 1 (100%) curves; of those, the same decision "
                                   "(crossover kind and depth): 0 of 1 (0%)")
        self.assertEqual(lines[5], "Comparisons decided: run A 3 of 3 (100%), run B 3 of 3 (100%)")

    def test_the_same_run_twice_agrees(self):
        a = self.run_dir("a", qd_cells({1: 500.0, 4: 1000.0}))
        done = self.compare(a, a)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout, "1 of 1 curves reach the same outcome; 0 differ (0 of them rest on a "
                                      "low-confidence curve in either run); 0 curves are in one run only\n"
                                      "Decided in both runs: 1 of 1 (100%) curves; of those, the same decision "
                                      "(crossover kind and depth): 1 of 1 (100%)\n"
                                      "Comparisons decided: run A 2 of 2 (100%), run B 2 of 2 (100%)\n")

    def shares_runs(self):
        """Run A: rand_read/io_uring from qd 4, seq_read/io_uring undecided (qd 4 noisy),
        rand_read/worker always. Run B: the first the same, seq_read from qd 4, rand_read/worker
        from qd 4. So 3 shared curves, 2 decided in both, 1 of them the same decision; A decides
        6 of 7 comparisons, B 7 of 7."""
        a = (curve_cells("rand_read", "io_uring", {1: 0.5, 4: 1.0, 16: 1.2})
             + curve_cells("seq_read", "io_uring", {1: 0.5, 4: 1.0}, noisy=(4,))
             + curve_cells("rand_read", "worker", {1: 1.2, 4: 1.3}))
        b = (curve_cells("rand_read", "io_uring", {1: 0.5, 4: 1.0, 16: 1.2})
             + curve_cells("seq_read", "io_uring", {1: 0.5, 4: 1.2})
             + curve_cells("rand_read", "worker", {1: 0.5, 4: 1.3}))
        return self.run_dir("a", a), self.run_dir("b", b)

    def test_reproducibility_shares_in_text(self):
        done = self.compare(*self.shares_runs())
        self.assertEqual(done.returncode, 0, done.stderr)
        lines = done.stdout.splitlines()
        self.assertIn("rand_read - cap=0 worker: always vs from qd 4", lines)
        self.assertIn("seq_read - cap=0 io_uring: undecided vs from qd 4", lines)
        self.assertEqual(lines[-2], "Decided in both runs: 2 of 3 (67%) curves; of those, the same decision "
                                    "(crossover kind and depth): 1 of 2 (50%)")
        self.assertEqual(lines[-1], "Comparisons decided: run A 6 of 7 (86%), run B 7 of 7 (100%)")

    def test_reproducibility_shares_in_json(self):
        done = self.compare(*self.shares_runs(), "--json")
        self.assertEqual(done.returncode, 0, done.stderr)
        doc = json.loads(done.stdout)
        self.assertEqual(doc["curves"], {"shared": 3, "one_run_only": 0, "same_outcome": 1, "decided_in_both": 2,
                                         "decided_in_both_share": 2 / 3, "same_decision": 1,
                                         "same_decision_share": 0.5})
        self.assertEqual(doc["comparisons"], {"a": {"decided": 6, "total": 7, "share": 6 / 7},
                                              "b": {"decided": 7, "total": 7, "share": 1.0}})
        self.assertEqual(sorted((d["curve"]["family"], d["curve"]["backend"], d["a"], d["b"]) for d in doc["differing"]),
                         [("rand_read", "worker", "always", "from qd 4"),
                          ("seq_read", "io_uring", "undecided", "from qd 4")])

    def test_the_same_kind_at_another_depth_is_another_decision(self):
        a = self.run_dir("a", curve_cells("rand_read", "io_uring", {1: 1.2, 4: 1.3}))
        b = self.run_dir("b", curve_cells("rand_read", "io_uring", {4: 1.3, 16: 1.3}))
        done = self.compare(a, b, "--json")
        doc = json.loads(done.stdout)
        self.assertEqual((doc["curves"]["decided_in_both"], doc["curves"]["same_decision"]), (1, 0))
        self.assertEqual((doc["differing"][0]["a"], doc["differing"][0]["b"]), ("always (from qd 1)", "always (from qd 4)"))

    def test_a_directory_without_results_is_an_error(self):
        a = self.run_dir("a", qd_cells({1: 500.0}))
        empty = os.path.join(self.dir, "empty")
        os.mkdir(empty)
        done = self.compare(a, empty)
        self.assertEqual((done.returncode, done.stdout), (1, ""))
        self.assertEqual(done.stderr, f"compare_guidance: error: {empty} holds no matrix results files "
                                      "(<suite>-<cap>.json)\n")

    def test_wrong_arguments_print_the_usage(self):
        with contextlib.redirect_stderr(io.StringIO()) as err:
            self.assertEqual(compare_guidance.main(["only-one"]), 1)
        self.assertTrue(err.getvalue().startswith("usage: "))
        done = self.compare()
        self.assertEqual(done.stderr, "usage: /usr/bin/python3 -m fio.compare_guidance RUN_A_DIR RUN_B_DIR [--json]\n")
        done = self.compare("a", "b", "--bogus")
        self.assertEqual((done.returncode, done.stderr), (1, "usage: /usr/bin/python3 -m fio.compare_guidance "
                                                              "RUN_A_DIR RUN_B_DIR [--json]\n"))


if __name__ == "__main__":
    unittest.main()
