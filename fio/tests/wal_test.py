"""Tests of fio/wal.py: flags, reading each tool's JSON, the ratio table, and one short
end-to-end run against fio."""

import os
import unittest

from fio import common, wal
from fio.common import FioError
from fio.tests import helpers


def settings(*argv):
    return wal.settings_from_flags(common.parse_flags(list(argv), wal.VALUE_FLAGS, wal.SWITCHES))


def iodepth_wal_document(rate=5000.0, p99_us=400.0):
    return {"wal": [{"commits_per_s": rate, "latency_us": {"p99": p99_us}, "commits_per_flush": 1.0}]}


def fio_wal_document(iops=4000.0, write_p99_ns=100_000, sync_p99_ns=300_000, error=0):
    return {"jobs": [{"error": error,
                      "write": {"iops": iops, "clat_ns": {"percentile": {"99.000000": write_p99_ns}}},
                      "sync": {"lat_ns": {"percentile": {"99.000000": sync_p99_ns}}}}]}


class SettingsTest(unittest.TestCase):
    def test_defaults_and_dirty_pages(self):
        s = settings()
        self.assertEqual((s.runtime_ms, s.repeat, s.depth, s.memory_bytes), (2000, 3, 16, 64 << 20))
        self.assertEqual(s.dirty_pages, (64 << 20) // 8192 // 2)

    def test_durations(self):
        self.assertEqual([wal.parse_runtime_ms(t) for t in ("500ms", "2s", "1m", "3")], [500, 2000, 60_000, 3000])
        self.assertIsNone(wal.parse_runtime_ms("fast"))

    def test_bad_values_name_the_flag(self):
        for argv, flag in ((["--repeat=0"], "--repeat"), (["--depth=x"], "--depth"), (["--runtime=soon"], "--runtime"),
                           (["--memory=1k"], "--memory"), (["--directory=/nonexistent/x"], "--directory")):
            with self.assertRaises(FioError) as caught:
                settings(*argv)
            self.assertIn(flag, str(caught.exception))


class MetricsTest(unittest.TestCase):
    def test_a_commit_is_compared_with_a_write_and_its_fdatasync(self):
        ours = wal.iodepth_wal_metrics(iodepth_wal_document(), "iodepth")
        theirs = wal.fio_wal_metrics(fio_wal_document(), "fio")
        self.assertEqual((ours["rate"], ours["p99_us"]), (5000.0, 400.0))
        # fio times the write and the sync apart: the commit's p99 faces their sum.
        self.assertEqual((theirs["rate"], theirs["p99_us"]), (4000.0, 400.0))

    def test_a_failed_fio_job_or_a_missing_record_stops_the_comparison(self):
        with self.assertRaises(FioError):
            wal.fio_wal_metrics(fio_wal_document(error=5), "fio")
        with self.assertRaises(FioError):
            wal.iodepth_wal_metrics({"wal": []}, "iodepth")
        with self.assertRaises(FioError):
            wal.iodepth_checkpoint_metrics({"cells": [{"status": "error"}]}, "iodepth")

    def test_ratios_are_iodepth_over_fio_medians(self):
        results = {("wal_commit_qd1", "direct"): {
            "iodepth": [{"rate": 100.0, "p99_us": 10.0}, {"rate": 300.0, "p99_us": 30.0}, {"rate": 200.0, "p99_us": 20.0}],
            "fio": [{"rate": 100.0, "p99_us": 10.0}, {"rate": 100.0, "p99_us": 40.0}, {"rate": 100.0, "p99_us": 40.0}]}}
        rows, ratios = wal.comparison_rows(results)
        self.assertAlmostEqual(ratios[("wal_commit_qd1", "direct")]["rate"], 2.0)
        self.assertAlmostEqual(ratios[("wal_commit_qd1", "direct")]["p99"], 0.5)
        self.assertEqual(rows[0][:5], ["wal_commit_qd1", "direct", "200", "100", "2.00x"])


class WalRunTest(unittest.TestCase):
    def test_end_to_end(self):
        iodepth, scratch = helpers.require_tools(self)
        done = helpers.run_module("fio.wal", ["--runtime=300ms", "--repeat=1", "--memory=2m", "--depth=4",
                                              f"--directory={scratch}"], iodepth)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        for job in ("wal_commit_qd1", "checkpoint_qd4"):
            for mode in ("buffered", "direct"):
                self.assertRegex(done.stdout, rf"{job}\s+{mode}\s+\d+\s+\d+\s+[0-9.]+x")
        self.assertIn("[8/8]", done.stdout)
        self.assertEqual(os.listdir(scratch), [], "the scratch directory and every file in it are removed")


if __name__ == "__main__":
    unittest.main()
