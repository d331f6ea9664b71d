"""Tests of fio/wal.py: flags, reading each tool's JSON, the ratio table, the results file of
--json (valid by the schema, and shown by the report), and one short end-to-end run against fio."""

import json
import os
import statistics
import tempfile
import unittest

from fio import common, wal
from fio.common import FioError
from fio.tests import helpers
from report import schema
from report.tests import fixtures, write_section_test
from report.tests.report_test import table_with
from report.tests.support import run_module

DEPTH = 4
RUNS = 3


def settings(*argv):
    return wal.settings_from_flags(common.parse_flags(list(argv), wal.VALUE_FLAGS, wal.SWITCHES))


def fio_wal_document(iops=4000.0, write_ns=(100_000, 150_000), sync_ns=(200_000, 300_000), error=0,
                     usr=10.0, sys_cpu=30.0, runtime_ms=2000, total_ios=8000):
    """What fio writes for a write + fdatasync job: write and sync (p95, p99) latencies apart."""
    def percentiles(p95, p99):
        return {"percentile": {"95.000000": p95, "99.000000": p99}}
    return {"jobs": [{"error": error, "usr_cpu": usr, "sys_cpu": sys_cpu, "job_runtime": runtime_ms,
                      "write": {"iops": iops, "total_ios": total_ios, "clat_ns": percentiles(*write_ns)},
                      "sync": {"lat_ns": percentiles(*sync_ns)}}]}


def split_runs(cell):
    """One single-repetition cell per repetition of `cell`, as `iodepth suite --repetitions 1`
    writes them, each in a results document of its own."""
    return [fixtures.document("write", [dict(cell, repetitions=[rep], median=fixtures.median([rep]),
                                             cv=fixtures.cv([rep]), flags=[])])
            for rep in cell["repetitions"]]


def stand_in_summarise(cells):
    """What `iodepth summarise` does, for the tests without a binary: the fixtures' summary."""
    return [dict(c, median=fixtures.median(c["repetitions"]), cv=fixtures.cv(c["repetitions"])) for c in cells]


def fio_runs(rate):
    """fio's figures of RUNS runs around `rate`: the median is rate, p95 50 µs, p99 200 µs."""
    return [{"iops": rate * x, "clat_ns_p95": 50_000.0 * x, "clat_ns_p99": 200_000.0 * x, "cpu_ns_per_io": 5000.0 * x}
            for x in (1.1, 1.0, 0.8)]


def comparison_results():
    """{(job, mode): sides} as WalComparison collects them: iodepth's run documents and cells,
    and fio's figures at half iodepth's rate (so every IOPS ratio is 2)."""
    built = {("wal_commit_qd1", mode): write_section_test.wal_cell(mode, "fdatasync", "io_uring", 1)
             for mode in wal.MODES}
    built.update({(f"checkpoint_qd{DEPTH}", mode): write_section_test.checkpoint_cell(mode, DEPTH)
                  for mode in wal.MODES})
    results = {}
    for (job, mode), cell in built.items():
        documents = split_runs(cell)
        cells = [d["cells"][0] for d in documents]
        results[(job, mode)] = {"iodepth": [wal.iodepth_metrics(c, "t") for c in cells],
                                "fio": fio_runs(cell["median"]["iops"] / 2), "cells": cells, "documents": documents,
                                "job": f"--rw=write --{job}", "note": f"note of {job}"}
    return results


class SettingsTest(unittest.TestCase):
    def test_defaults_and_dirty_pages(self):
        s = settings()
        self.assertEqual((s.runtime_ms, s.repeat, s.depth, s.memory_bytes, s.json_out), (2000, 3, 16, 64 << 20, ""))
        self.assertEqual(s.dirty_pages, (64 << 20) // 8192 // 2)

    def test_bad_values_name_the_flag(self):
        for argv, flag in ((["--repeat=0"], "--repeat"), (["--depth=x"], "--depth"), (["--runtime=soon"], "--runtime"),
                           (["--memory=1k"], "--memory"), (["--directory=/nonexistent/x"], "--directory")):
            with self.assertRaises(FioError) as caught:
                settings(*argv)
            self.assertIn(flag, str(caught.exception))

    def test_json_path_is_checked_before_anything_runs(self):
        with tempfile.TemporaryDirectory() as tmp:
            with self.assertRaises(FioError) as caught:
                settings(f"--json={tmp}")
            self.assertIn("is a directory", str(caught.exception))
            out = os.path.join(tmp, "new", "wal.json")
            self.assertEqual(settings(f"--json={out}").json_out, out)
            self.assertTrue(os.path.isdir(os.path.dirname(out)), "the directory is made at once")


class MetricsTest(unittest.TestCase):
    def test_a_commit_is_compared_with_a_write_and_its_fdatasync(self):
        theirs = wal.fio_wal_metrics(fio_wal_document(), "fio")
        # fio times the write and the sync apart: the commit's latency faces their sum.
        self.assertEqual((theirs["iops"], theirs["clat_ns_p95"], theirs["clat_ns_p99"]), (4000.0, 300_000, 450_000))
        # (10% + 30%) of 2000 ms over 8000 writes: 100 µs each.
        self.assertAlmostEqual(theirs["cpu_ns_per_io"], 100_000.0)

    def test_iodepth_figures_come_from_the_cells_median(self):
        cell = write_section_test.wal_cell("direct", "fdatasync", "io_uring", 1)
        ours = wal.iodepth_metrics(wal.iodepth_cell({"cells": [cell]}, "t"), "t")
        self.assertEqual(ours, {"iops": cell["median"]["iops"],
                                "clat_ns_p95": cell["median"]["clat_ns"]["percentile"]["95.000000"],
                                "clat_ns_p99": cell["median"]["clat_ns"]["percentile"]["99.000000"],
                                "cpu_ns_per_io": cell["median"]["cpu_ns_per_io"]})

    def test_a_failed_fio_job_or_a_missing_cell_stops_the_comparison(self):
        with self.assertRaises(FioError):
            wal.fio_wal_metrics(fio_wal_document(error=5), "fio")
        with self.assertRaises(FioError):
            wal.iodepth_cell({"cells": []}, "iodepth")
        with self.assertRaises(FioError):
            wal.iodepth_cell({"cells": [{"status": "error"}]}, "iodepth")

    def test_ratios_are_iodepth_over_fio_medians(self):
        def run(rate, p99_us):
            return {"iops": rate, "clat_ns_p95": 0.0, "clat_ns_p99": p99_us * 1e3, "cpu_ns_per_io": 0.0}
        results = {("wal_commit_qd1", "direct"): {"iodepth": [run(100.0, 10.0), run(300.0, 30.0), run(200.0, 20.0)],
                                                  "fio": [run(100.0, 10.0), run(100.0, 40.0), run(100.0, 40.0)]}}
        rows, ratios = wal.comparison_rows(results)
        self.assertAlmostEqual(ratios[("wal_commit_qd1", "direct")]["rate"], 2.0)
        self.assertAlmostEqual(ratios[("wal_commit_qd1", "direct")]["p99"], 0.5)
        self.assertEqual(rows[0], ["wal_commit_qd1", "direct", "200", "100", "2.00x", "20", "40", "0.50x"])


class ResultsFileTest(unittest.TestCase):
    """The document --json writes: built from synthetic runs, summarised by a stand-in for
    `iodepth summarise`, checked against the schema and rendered by the report."""

    @classmethod
    def setUpClass(cls):
        cls.results = comparison_results()
        s = settings("--repeat=3", f"--depth={DEPTH}")
        cls.doc = wal.build_document(cls.results, stand_in_summarise, s, "fio-3.33", "python3 -m fio.wal")

    def test_the_document_follows_the_schema(self):
        schema.validate(json.loads(json.dumps(self.doc)), "fio-wal.json")

    def test_each_cell_holds_every_run_and_fio_sits_beside_it(self):
        ids = [c["id"] for c in self.doc["cells"]]
        self.assertEqual(ids, ["wal_commit_qd1/buffered/io_uring/fdatasync", "wal_commit_qd1/direct/io_uring/fdatasync",
                               f"checkpoint_qd{DEPTH}/buffered/io_uring", f"checkpoint_qd{DEPTH}/direct/io_uring"])
        self.assertEqual([len(c["repetitions"]) for c in self.doc["cells"]], [RUNS] * 4)
        self.assertEqual([e["cell"] for e in self.doc["fio_crosscheck"]], ids)
        for cell, entry in zip(self.doc["cells"], self.doc["fio_crosscheck"]):
            with self.subTest(cell=cell["id"]):
                self.assertAlmostEqual(entry["fio"]["iops"], cell["median"]["iops"] / 2)
                self.assertAlmostEqual(entry["ratio"]["iops"], 2.0)
                self.assertEqual(entry["fio"]["clat_ns_p99"], 200_000)
                self.assertAlmostEqual(entry["ratio"]["clat_ns_p99"],
                                       cell["median"]["clat_ns"]["percentile"]["99.000000"] / 200_000)
                self.assertIsNone(entry["agrees"])

    def test_config_covers_every_cell_and_says_how_fio_wal_ran(self):
        config = self.doc["config"]
        self.assertEqual((config["depths"], config["modes"], config["repetitions"]), ([1, DEPTH], list(wal.MODES), 3))
        self.assertEqual(config["only"], [c["id"] for c in self.doc["cells"]])
        self.assertEqual(config["fio_wal"]["dirty_pages"], settings().dirty_pages)
        self.assertEqual(self.doc["command"], "python3 -m fio.wal")

    def test_the_report_shows_the_ratios_in_its_fio_section(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "fio-wal.json")
            helpers.captured(common.write_document, path, self.doc)
            done = run_module("report", path, "--out", os.path.join(tmp, "out"))
            self.assertEqual(done.returncode, 0, done.stderr)
            with open(os.path.join(tmp, "out", "report.md"), encoding="utf-8") as f:
                markdown = f.read()
        rows = {r["cell"]: r for r in table_with(markdown, "fio IOPS")}
        self.assertEqual(set(rows), {c["id"] for c in self.doc["cells"]})
        for cell in self.doc["cells"]:
            row, p99 = rows[cell["id"]], cell["median"]["clat_ns"]["percentile"]["99.000000"]
            self.assertEqual((row["IOPS ratio"], row["agrees"]), ("2.00", "–"))
            self.assertEqual((row["fio p99 µs"], row["p99 ratio"]), ("200.0", f"{p99 / 200_000:.2f}"))
        self.assertIn("- note of wal_commit_qd1", markdown)
        self.assertIn("## Write path (write)", markdown)


class SummariseTest(unittest.TestCase):
    def test_the_real_summariser_takes_the_merged_write_cells(self):
        iodepth = helpers.require_iodepth(self)
        results = comparison_results()
        doc = wal.build_document(results, lambda cells: common.summarise_with_iodepth(iodepth, cells), settings(),
                                 "fio-3.33", "python3 -m fio.wal")
        schema.validate(json.loads(json.dumps(doc)), "fio-wal.json")
        runs = results[("wal_commit_qd1", "direct")]["iodepth"]
        self.assertEqual(doc["cells"][1]["median"]["iops"], statistics.median(r["iops"] for r in runs))


class WalRunTest(unittest.TestCase):
    def test_end_to_end(self):
        iodepth, scratch = helpers.require_tools(self)
        out = os.path.join(scratch, "out")
        os.makedirs(out)
        json_out = os.path.join(out, "fio-wal.json")
        done = helpers.run_module("fio.wal", ["--runtime=300ms", "--repeat=1", "--memory=2m", "--depth=4",
                                              f"--directory={scratch}", f"--json={json_out}"], iodepth)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        for job in ("wal_commit_qd1", "checkpoint_qd4"):
            for mode in ("buffered", "direct"):
                self.assertRegex(done.stdout, rf"{job}\s+{mode}\s+\d+\s+\d+\s+[0-9.]+x")
        self.assertIn("[8/8]", done.stdout)
        self.assertEqual(sorted(os.listdir(scratch)), ["out"], "the scratch directory and every file in it are removed")
        self.assertEqual(os.listdir(out), ["fio-wal.json"], "written whole, no temporary left")
        schema.validate_file(json_out)
        rendered = run_module("report", json_out, "--out", os.path.join(out, "report"))
        self.assertEqual(rendered.returncode, 0, rendered.stderr)


if __name__ == "__main__":
    unittest.main()
