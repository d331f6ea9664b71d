"""Tests of fio/bm.py: flags, the summary table, and one short end-to-end run against fio."""

import contextlib
import io
import json
import os
import unittest

from fio import bm
from fio.common import FioError
from fio.tests import helpers


class FlagsTest(unittest.TestCase):
    def test_defaults(self):
        args = bm.parse_args([])
        self.assertEqual((args.suite, args.streams, args.regime, args.mode, args.depth_list, args.repeat),
                         ("bm", 4, "thrash", "direct", [1, 4, 16, 32], 3))
        self.assertEqual((args.memory_bytes, args.combine_bytes), (64 << 20, 128 << 10))

    def test_sizes_use_the_shared_parser(self):
        args = bm.parse_args(["--memory=8m", "--io_combine=64k"])
        self.assertEqual((args.memory_bytes, args.combine_bytes), (8 << 20, 64 << 10))

    def test_bad_values(self):
        cases = {("--repeat=0",): "--repeat must be 1..99",
                 ("--depths=1,x",): "--depths=1,x is not a comma-separated list of whole numbers",
                 ("--depths=0",): "--depths: each depth must be 1..4096",
                 ("--memory=lots",): "--memory=lots is not a size like 64MiB, 128k or 4096"}
        for argv, message in cases.items():
            with self.assertRaises(FioError, msg=argv) as caught:
                bm.parse_args(list(argv))
            self.assertEqual(str(caught.exception), message)

    def test_a_choice_outside_the_list_is_a_usage_error(self):
        with contextlib.redirect_stderr(io.StringIO()) as err, self.assertRaises(SystemExit) as caught:
            bm.parse_args(["--regime=warm"])
        self.assertEqual(caught.exception.code, 2)
        self.assertIn("invalid choice: 'warm'", err.getvalue())


class SummaryTest(unittest.TestCase):
    def test_ratios_and_the_best_fixed_distance(self):
        args = bm.parse_args(["--depths=1,4", "--repeat=2", "--hot"])
        fixed = {1: {"iodepth": [100e6, 120e6], "fio": [200e6, 200e6]}, 4: {"iodepth": [300e6, 300e6],
                                                                            "fio": [300e6, 400e6]}}
        summary, out = helpers.captured(bm.summarise, args, fixed, [(270e6, 8.0), (330e6, 12.0)],
                                        [(2e6, 500.0), (2e6, 500.0)])
        self.assertAlmostEqual(summary["fixed"][1]["ratio"], 0.55)
        self.assertAlmostEqual(summary["fixed"][4]["ratio"], 300 / 350)
        self.assertEqual(summary["adaptive"]["best_fixed_qd"], 4)
        self.assertAlmostEqual(summary["adaptive"]["ratio"], 1.0)
        self.assertEqual(summary["hot"]["fetches_per_cpu_s"], 2e6)
        self.assertIn("     1     110.0     200.0  0.550   100 120 / 200 200", out)
        self.assertIn("adaptive 300.0 MB/s (mean distance 10.0) = 1.000x the best fixed distance (qd 4, 300.0 MB/s)",
                      out)


class BmRunTest(unittest.TestCase):
    def test_end_to_end(self):
        iodepth, scratch = helpers.require_tools(self)
        table, out = os.path.join(scratch, "bm.tbl"), os.path.join(scratch, "bm.json")
        done = helpers.run_module("fio.bm", ["--memory=8MiB", "--regime=pressure", "--depths=1", "--repeat=1",
                                             "--runtime=200ms", "--ramp_time=0", f"--filename={table}",
                                             f"--json={out}"], iodepth)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertIn("bm_seq_read, direct, io_uring, pressure (W = 1.5 x 8MiB)", done.stdout)
        self.assertIn("  adaptive ", done.stdout)
        self.assertFalse(os.path.exists(table), "the table this run made is removed")
        with open(out) as f:
            summary = json.load(f)["summary"]
        self.assertEqual(list(summary["fixed"]), ["1"])
        self.assertGreater(summary["fixed"]["1"]["fio_bw"], 0)


if __name__ == "__main__":
    unittest.main()
