"""Tests of fio/compare_guidance.py on two synthetic matrix runs: the crossover rule is the
report's (report/ratios.py), so these only check what is compared and how it is said."""

import contextlib
import io
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

    def test_the_same_run_twice_agrees(self):
        a = self.run_dir("a", qd_cells({1: 500.0, 4: 1000.0}))
        done = self.compare(a, a)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout, "1 of 1 curves reach the same outcome; 0 differ (0 of them rest on a "
                                      "low-confidence curve in either run); 0 curves are in one run only\n")

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
        self.assertEqual(done.stderr, "usage: /usr/bin/python3 -m fio.compare_guidance RUN_A_DIR RUN_B_DIR\n")


if __name__ == "__main__":
    unittest.main()
