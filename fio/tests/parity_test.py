"""Tests of fio/parity.py: flags, reading each tool's JSON, the rows and table, the --json
layout, and one short end-to-end run against fio."""

import json
import os
import unittest

from fio import common, parity
from fio.common import FioError
from fio.tests import helpers


def settings(*argv):
    return parity.settings_from_flags(common.parse_flags(list(argv), parity.VALUE_FLAGS, parity.SWITCHES))


class FlagsTest(unittest.TestCase):
    def test_defaults(self):
        s = settings()
        self.assertEqual((s.filename, s.size_bytes, s.runtime_s, s.ramp_time_s, s.repeat, s.json_out),
                         (parity.DEFAULT_FILENAME, 1 << 30, 10, 2, 1, ""))

    def test_seconds_take_an_s_suffix(self):
        s = settings("--runtime=3s", "--ramp_time", "0", "--repeat=02", "--size=8m", "--keep", "-v")
        self.assertEqual((s.runtime_s, s.ramp_time_s, s.repeat, s.size_bytes, s.keep, s.verbose),
                         (3, 0, 2, 8 << 20, True, True))

    def test_bad_values_name_the_flag_and_the_value(self):
        cases = {("--runtime=0",): "--runtime must be a whole number of seconds >= 1, got '0'",
                 ("--runtime=1500ms",): "--runtime must be a whole number of seconds >= 1, got '1500m'",
                 ("--ramp_time=-1",): "--ramp_time must be a whole number of seconds >= 0, got '-1'",
                 ("--repeat=100",): "--repeat must be a whole number from 1 to 99, got '100'",
                 ("--size=lots",): "--size 'lots' is not a size like 1g, 512m or 4096",
                 ("--size=1000",): "--size must be a whole number of 4 KiB blocks",
                 ("--json=/nonexistent/x.json",): "--json: directory '/nonexistent' does not exist"}
        for argv, message in cases.items():
            with self.assertRaises(FioError, msg=argv) as caught:
                settings(*argv)
            self.assertTrue(str(caught.exception).startswith(message), str(caught.exception))

    def test_help_prints_usage_and_exits_0(self):
        code, out = helpers.captured(parity.main, ["--help", "--bogus"])
        self.assertEqual(code, 0)
        self.assertTrue(out.startswith("Usage: /usr/bin/python3 -m fio.parity [options]\n"), out)
        self.assertIn(f"(default: {parity.DEFAULT_FILENAME})", out)


def runs_of(iops_by_row):
    """{(tool, engine, qd): [metrics]} with the given iodepth and fio IOPS per (engine, qd)."""
    runs = {}
    for (engine, qd), (ours, theirs) in iops_by_row.items():
        runs[("iodepth", engine, qd)] = [
            common.bench_run_metrics(helpers.bench_document(engine, iops=v, cpu_ns_per_io=3000.0), engine, "i", set())
            for v in ours]
        runs[("fio", "io_uring", qd)] = [common.fio_run_metrics(helpers.fio_document(iops=v), "f") for v in theirs]
    return runs


class RowsTest(unittest.TestCase):
    def rows(self):
        runs = runs_of({("io_uring", 1): ([900.0, 1000.0, 950.0], [1000.0, 1000.0, 1000.0]),
                        ("io_uring", 32): ([980.0], [1000.0])})
        runs[("iodepth", "worker", 32)] = runs_of({("worker", 32): ([500.0], [1.0])})[("iodepth", "worker", 32)]
        return parity.build_rows(runs, parity.TARGET_IOPS_RATIO)

    def test_ratios_are_of_medians_and_the_verdict_follows_the_target(self):
        rows = self.rows()
        self.assertEqual([(r["backend"], r["qd"], r["verdict"]) for r in rows],
                         [("io_uring", 1, "PASS"), ("io_uring", 32, "PASS"), ("worker", 32, "(no target)")])
        self.assertAlmostEqual(rows[0]["iops_ratio"], 0.95)
        self.assertAlmostEqual(rows[2]["iops_ratio"], 0.5)
        self.assertAlmostEqual(rows[0]["p95_ratio_vs_fio_lat"], 100_000 / 110_000)

    def test_table(self):
        _, out = helpers.captured(parity.print_table, self.rows())
        lines = out.split("\n")
        self.assertEqual(lines[0].split("  ")[0], "backend")
        self.assertIn("0.950x", lines[2])
        self.assertTrue(lines[4].startswith("worker "), lines[4])
        self.assertTrue(lines[4].endswith("(no target)"), lines[4])


class ParityRunTest(unittest.TestCase):
    """One run of fio.parity, as small as its flags allow (5 jobs of 1 s)."""

    def test_end_to_end(self):
        iodepth, scratch = helpers.require_tools(self)
        data, out = os.path.join(scratch, "parity.dat"), os.path.join(scratch, "parity.json")
        done = helpers.run_module("fio.parity", ["--size=8m", "--runtime=1", "--ramp_time=0", f"--filename={data}",
                                                 f"--json={out}"], iodepth)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertIn("[6/6] iodepth worker qd 32 (run 1 of 1)", done.stdout)
        self.assertIn("Target, io_uring IOPS >= 0.95x fio at qd 1 and qd 32: ", done.stdout)
        self.assertIn(f"Removing {data} (pass --keep to keep it).", done.stdout)
        self.assertFalse(os.path.exists(data), "the file this run made is removed")
        with open(out) as f:
            document = json.load(f)
        self.assertEqual([(r["backend"], r["qd"]) for r in document["rows"]],
                         [("io_uring", 1), ("io_uring", 32), ("worker", 32)])
        self.assertEqual(document["settings"]["size_bytes"], 8 << 20)
        self.assertEqual(len(document["raw_runs"]), 5)
        self.assertEqual(len(document["commands"]), 6)
        self.assertEqual(document["environment"]["iodepth_bin"], iodepth)

    def test_a_file_of_yours_is_left_in_place(self):
        iodepth, scratch = helpers.require_tools(self)
        data = os.path.join(scratch, "yours.dat")
        with open(data, "wb") as f:
            f.write(b"\0" * 4096)
        done = helpers.run_module("fio.parity", ["--size=8m", "--runtime=1", f"--filename={data}"], iodepth)
        self.assertEqual(done.returncode, 1)
        self.assertRegex(done.stderr, r"^error: prepare .*yours.dat with iodepth failed \(exit status 1\)\n"
                                      r"  command: .* bench --rw=randread .*\n  stderr:\n")
        with open(data, "rb") as f:
            self.assertEqual(f.read(), b"\0" * 4096, "a file this run did not make is never written or removed")


class ExitStatusTest(unittest.TestCase):
    def test_bad_flag_exits_1_before_running_anything(self):
        done = helpers.run_module("fio.parity", ["--repeat=0"], "/nonexistent")
        self.assertEqual((done.returncode, done.stdout), (1, ""))
        self.assertEqual(done.stderr, "error: --repeat must be a whole number from 1 to 99, got '0'\n")


if __name__ == "__main__":
    unittest.main()
