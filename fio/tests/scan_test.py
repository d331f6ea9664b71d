"""Tests of fio/scan.py: flags, reading each tool's JSON, the ratio table, the results file of
--json (valid by the schema, and shown by the report), and short end-to-end runs against fio:
one on a table the module makes, one on a table the user names, which is only read."""

import json
import math
import os
import statistics
import subprocess
import tempfile
import unittest

from fio import common, scan
from fio.common import FioError
from fio.tests import helpers
from report import schema
from report.tests import fixtures
from report.tests.report_test import scan_cell, table_with
from report.tests.support import run_module

DEPTH = 16
PAGE_BYTES = 8192
TABLE_BYTES = 256 << 20


def settings(*argv):
    return scan.settings_from_flags(common.parse_flags(list(argv), scan.VALUE_FLAGS, scan.SWITCHES))


def scan_document(mb_per_s=2500.0, rows_per_s=8e7, direct=True, backend="io_uring", mode="pipelined"):
    """What `iodepth scan --output-format json` writes (the fields the module reads)."""
    return {"backend": backend, "direct": direct, "mode": mode, "mb_per_s": mb_per_s, "rows_per_s": rows_per_s,
            "wait_fraction": 0.25, "hits": 0, "table_pages": TABLE_BYTES // PAGE_BYTES, "page_size": PAGE_BYTES}


def split_runs(cell):
    """One single-repetition cell per repetition of `cell`, as `iodepth suite scan --repetitions
    1` writes them, each in a results document of its own."""
    return [fixtures.document("scan", [dict(cell, repetitions=[rep], median=fixtures.median([rep]),
                                            cv=fixtures.cv([rep]), flags=[])])
            for rep in cell["repetitions"]]


def stand_in_summarise(cells):
    """What `iodepth summarise` does, for the tests without a binary: the fixtures' summary."""
    return [dict(c, median=fixtures.median(c["repetitions"]), cv=fixtures.cv(c["repetitions"])) for c in cells]


def gb_runs(*values, **extra):
    return [dict({"gb_per_s": v}, **extra) for v in values]


def fio_runs(cell):
    """fio's figures of three runs, the median at half the cell's median rate, per page."""
    rate = cell["median"]["iops"] / 2
    return [{"gb_per_s": rate * PAGE_BYTES * x / 1e9, "iops": rate * x, "clat_ns_p95": 200_000.0 * x,
             "cpu_ns_per_io": 500.0 * x} for x in (1.1, 1.0, 0.8)]


def comparison_results():
    """{name: sides} as ScanComparison collects them: the four_scans runs' documents and cells,
    fio at half iodepth's rate (so its ratio is 2), and the single scans at 3 and 0.5."""
    cell = scan_cell("thrash", DEPTH, "direct", "io_uring")
    documents = split_runs(cell)
    cells = [d["cells"][0] for d in documents]
    return {
        "cold_scan": {"iodepth": gb_runs(3.0, 2.9, 3.3, rows_per_s=9e7, wait_fraction=0.5, hits=0),
                      "fio": gb_runs(1.0, 1.0, 1.0), "fio_job": "--rw=read --direct=1"},
        "four_scans": {"iodepth": [scan.suite_metrics(c, "t") for c in cells], "fio": fio_runs(cell),
                       "cells": cells, "documents": documents, "fio_job": "--numjobs=4 --rw=read"},
        "hot_scan": {"iodepth": gb_runs(5.0, 4.0, 6.0, rows_per_s=2e8, wait_fraction=0.1, hits=0,
                                        resident_before=1.0),
                     "fio": gb_runs(10.0, 10.0, 10.0, resident_before=None), "fio_job": "--ioengine=psync"},
        "resident_scan": {"iodepth": [dict(m, gb_per_s=20.0) for m in (scan.suite_metrics(c, "t") for c in cells)],
                          "fio": gb_runs(40.0, 40.0, 40.0, resident_before=1.0), "fio_job": "--size=T/8"}}


class SettingsTest(unittest.TestCase):
    def test_defaults(self):
        s = settings()
        self.assertEqual((s.size_bytes, s.repeat, s.distance, s.depth, s.bs_bytes, s.runtime, s.json_out, s.keep),
                         (256 << 20, 3, 32, 16, 128 << 10, "1s", "", False))
        self.assertEqual(s.filename, os.path.join(scan.DEFAULT_DIRECTORY, scan.TABLE_NAME))

    def test_a_named_file_is_not_the_scratch_path(self):
        s = settings("--filename=/var/tmp/mine.tbl", "--directory=/var/tmp/elsewhere")
        self.assertEqual((s.filename, s.default_filename), ("/var/tmp/mine.tbl", "/var/tmp/elsewhere/table.tbl"))

    def test_bad_values_name_the_flag(self):
        for argv, flag in ((["--repeat=0"], "--repeat"), (["--depth=x"], "--depth"), (["--distance=0"], "--distance"),
                           (["--bs=3k"], "--bs"), (["--size=lots"], "--size"), (["--runtime=soon"], "--runtime"),
                           (["--directory=/nonexistent/x"], "--directory"), (["--fast"], "--fast")):
            with self.assertRaises(FioError) as caught:
                settings(*argv)
            self.assertIn(flag, str(caught.exception))

    def test_each_scan_reads_a_quarter_of_the_table_in_whole_reads(self):
        self.assertEqual(settings("--size=512k").size_bytes, 512 << 10)
        for size in ("256k", "640k", "0"):
            with self.assertRaises(FioError) as caught:
                settings(f"--size={size}")
            self.assertIn("4 x --bs", str(caught.exception))
        self.assertEqual(settings("--size=4m", "--bs=1m").bs_bytes, 1 << 20)

    def test_json_path_is_checked_before_anything_runs(self):
        with tempfile.TemporaryDirectory() as tmp:
            with self.assertRaises(FioError) as caught:
                settings(f"--json={tmp}")
            self.assertIn("is a directory", str(caught.exception))
            out = os.path.join(tmp, "new", "scan.json")
            self.assertEqual(settings(f"--json={out}").json_out, out)
            self.assertTrue(os.path.isdir(os.path.dirname(out)), "the directory is made at once")


class MetricsTest(unittest.TestCase):
    def test_a_scan_gives_gb_per_s_of_page_data_and_rows_per_s(self):
        ours = scan.scan_metrics(scan_document(mb_per_s=2500.0, rows_per_s=8e7), "t", direct=True)
        self.assertEqual((ours["gb_per_s"], ours["rows_per_s"], ours["wait_fraction"]), (2.5, 8e7, 0.25))

    def test_a_scan_that_did_not_run_as_asked_stops_the_comparison(self):
        for document, direct in ((scan_document(direct=False), True), (scan_document(backend="worker"), True),
                                 (scan_document(mode="sync"), True), (scan_document(), False)):
            with self.assertRaises(FioError):
                scan.scan_metrics(document, "iodepth scan", direct)
        with self.assertRaises(FioError):
            scan.scan_metrics({k: v for k, v in scan_document().items() if k != "mb_per_s"}, "t", True)

    def test_the_table_shape_comes_from_load_or_from_a_scan_of_its_first_page(self):
        self.assertEqual(scan.table_shape(scan_document(), "scan"), (TABLE_BYTES, PAGE_BYTES))
        load = {"pages": 512, "page_size": 16384, "bytes": 513 * 16384}  # Its bytes count the trailer page.
        self.assertEqual(scan.table_shape(load, "load"), (512 * 16384, 16384))

    def test_fio_figures_are_per_page_of_the_data_it_read(self):
        # 1000 reads/s of 4 KiB (helpers' fio_document): 500 pages of 8 KiB per second; its CPU,
        # (10% + 20%) of 1000 ms over 10,000 reads of 4 KiB = 5,000 pages: 60 µs per page.
        theirs = scan.fio_metrics(helpers.fio_document(iops=1000.0, p95=300_000), "fio", PAGE_BYTES)
        self.assertAlmostEqual(theirs["gb_per_s"], 1000 * 4096 / 1e9)
        self.assertAlmostEqual(theirs["iops"], 500.0)
        self.assertAlmostEqual(theirs["cpu_ns_per_io"], 60_000.0)
        self.assertEqual(theirs["clat_ns_p95"], 300_000)
        with self.assertRaises(FioError):
            scan.fio_metrics(helpers.fio_document(error=5), "fio", PAGE_BYTES)

    def test_four_scans_rows_are_per_cpu_second(self):
        cell = scan_cell("thrash", DEPTH, "direct", "io_uring")
        ours = scan.suite_metrics(cell, "t")
        median = cell["median"]
        cpu_s_per_s = median["cpu_ns_per_io"] * median["iops"] / 1e9
        self.assertAlmostEqual(ours["rows_per_cpu_s"], median["scan"]["rows_per_s"] / cpu_s_per_s)
        self.assertAlmostEqual(ours["gb_per_s"], median["bw_bytes"] / 1e9)
        self.assertEqual(ours["hit_ratio"], median["buffer"]["hit_ratio"])


class RatioTest(unittest.TestCase):
    def test_ratio_of_medians_and_of_each_pair(self):
        results = {"cold_scan": {"iodepth": gb_runs(2.0, 3.0, 1.0, rows_per_s=1e6, wait_fraction=0.5),
                                 "fio": gb_runs(1.0, 1.0, 2.0), "fio_job": "--rw=read"}}
        rows, summaries = scan.comparison_rows(results)
        self.assertEqual(summaries["cold_scan"], {"iodepth": 2.0, "fio": 1.0, "ratio": 2.0, "pairs": [2.0, 3.0, 0.5]})
        self.assertEqual(rows[0][:5], ["cold_scan", "2.00", "1.00", "2.00x", "2.00 3.00 0.50"])
        self.assertEqual(rows[0][5:], ["1.0M (1 thread, 50% waiting)", "--rw=read"])

    def test_a_fio_run_of_nothing_gives_no_ratio_in_the_file(self):
        ours = gb_runs(1.0, rows_per_s=1e6, wait_fraction=0.5)
        _, summaries = scan.comparison_rows({"cold_scan": {"iodepth": ours, "fio": gb_runs(0.0), "fio_job": ""}})
        self.assertTrue(math.isnan(summaries["cold_scan"]["ratio"]))
        record = scan.comparisons_record({"cold_scan": {"iodepth": [], "fio": [], "fio_job": ""}}, summaries)
        self.assertEqual((record["cold_scan"]["ratio"], record["cold_scan"]["pair_ratios"]), (None, [None]))

    def test_the_report_prints_every_comparison(self):
        summaries, printed = helpers.captured(scan.report, comparison_results(), "fio-3.33", 3)
        self.assertEqual(list(summaries), list(scan.COMPARISONS))
        self.assertRegex(printed, r"cold_scan\s+3\.00\s+1\.00\s+3\.00x\s+3\.00 2\.90 3\.30")
        self.assertRegex(printed, r"hot_scan\s+5\.00\s+10\.00\s+0\.50x")
        self.assertIn("hot_scan: the page cache held 100% of the table before iodepth's runs and not measured "
                      "(no fincore) before fio's", printed)


class ResultsFileTest(unittest.TestCase):
    """The document --json writes: built from synthetic runs, summarised by a stand-in for
    `iodepth summarise`, checked against the schema and rendered by the report."""

    @classmethod
    def setUpClass(cls):
        cls.results = comparison_results()
        s = settings("--repeat=3")
        table = scan.Table(path="/var/tmp/t.tbl", table_bytes=TABLE_BYTES, page_bytes=PAGE_BYTES)
        cls.doc = scan.build_document(cls.results, stand_in_summarise, s, table, "fio-3.33", "python3 -m fio.scan")

    def test_the_document_follows_the_schema(self):
        schema.validate(json.loads(json.dumps(self.doc, allow_nan=False)), "fio-scan.json")

    def test_the_cell_holds_every_run_and_fio_sits_beside_it_in_its_units(self):
        (cell,), (entry,) = self.doc["cells"], self.doc["fio_crosscheck"]
        self.assertEqual(cell["id"], f"multistream_scan_qd{DEPTH}/direct/io_uring/thrash")
        self.assertEqual(len(cell["repetitions"]), 3)
        self.assertEqual(entry["cell"], cell["id"])
        self.assertAlmostEqual(entry["fio"]["iops"], cell["median"]["iops"] / 2)
        self.assertAlmostEqual(entry["ratio"]["iops"], 2.0)
        self.assertEqual((entry["fio"]["clat_ns_p95"], entry["fio"]["cpu_ns_per_io"]), (200_000, 500.0))
        self.assertAlmostEqual(entry["ratio"]["cpu_ns_per_io"], cell["median"]["cpu_ns_per_io"] / 500.0)
        self.assertEqual((entry["agrees"], entry["cause"], entry["cache_state"]),
                         (None, None, {"iodepth": "n/a", "fio": "n/a"}))

    def test_config_holds_every_comparison(self):
        config = self.doc["config"]
        self.assertEqual((config["only"], config["repetitions"]), ([self.doc["cells"][0]["id"]], 3))
        comparisons = config["fio_scan"]["comparisons"]
        self.assertEqual(list(comparisons), list(scan.COMPARISONS))
        self.assertAlmostEqual(comparisons["cold_scan"]["ratio"], 3.0)
        self.assertEqual(comparisons["hot_scan"]["pair_ratios"], [0.5, 0.4, 0.6])
        self.assertAlmostEqual(comparisons["four_scans"]["ratio"], 2.0)
        self.assertEqual((config["fio_scan"]["table_bytes"], config["fio_scan"]["memory"]),
                         (TABLE_BYTES, TABLE_BYTES // 4))
        self.assertEqual(self.doc["command"], "python3 -m fio.scan")

    def test_the_report_shows_the_ratio_in_its_fio_section(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "fio-scan.json")
            helpers.captured(common.write_document, path, self.doc)
            done = run_module("report", path, "--out", os.path.join(tmp, "out"))
            self.assertEqual(done.returncode, 0, done.stderr)
            with open(os.path.join(tmp, "out", "report.md"), encoding="utf-8") as f:
                markdown = f.read()
        (row,) = table_with(markdown, "fio IOPS")
        self.assertEqual((row["cell"], row["IOPS ratio"], row["agrees"]),
                         (self.doc["cells"][0]["id"], "2.00", "–"))
        self.assertIn(f"- {scan.FOUR_SCANS_NOTE}", markdown)


class SummariseTest(unittest.TestCase):
    def test_the_real_summariser_takes_the_merged_scan_cell(self):
        iodepth = helpers.require_iodepth(self)
        results = comparison_results()
        table = scan.Table(path="/var/tmp/t.tbl", table_bytes=TABLE_BYTES, page_bytes=PAGE_BYTES)
        doc = scan.build_document(results, lambda cells: common.summarise_with_iodepth(iodepth, cells), settings(),
                                  table, "fio-3.33", "python3 -m fio.scan")
        schema.validate(json.loads(json.dumps(doc, allow_nan=False)), "fio-scan.json")
        runs = results["four_scans"]["iodepth"]
        self.assertAlmostEqual(doc["cells"][0]["median"]["bw_bytes"] / 1e9,
                               statistics.median(r["gb_per_s"] for r in runs))


class ScanRunTest(unittest.TestCase):
    ARGS = ["--repeat=1", "--runtime=200ms"]

    def assert_compared(self, done):
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        for name in scan.COMPARISONS:
            self.assertRegex(done.stdout, rf"\n{name}\s+[0-9.]+\s+[0-9.]+\s+[0-9.]+x\s+[0-9.]+\s")
        self.assertIn("[10/10]", done.stdout)

    def test_end_to_end_on_a_table_it_makes(self):
        iodepth, scratch = helpers.require_tools(self)
        directory, json_out = os.path.join(scratch, "tables"), os.path.join(scratch, "out", "fio-scan.json")
        done = helpers.run_module("fio.scan", [*self.ARGS, "--size=16m", f"--directory={directory}",
                                               f"--json={json_out}"], iodepth)
        self.assert_compared(done)
        self.assertIn("iodepth load", done.stdout)
        self.assertEqual(sorted(os.listdir(scratch)), ["out"], "the table and the directory made for it are removed")
        self.assertEqual(os.listdir(os.path.dirname(json_out)), ["fio-scan.json"], "written whole, no temporary left")
        schema.validate_file(json_out)
        rendered = run_module("report", json_out, "--out", os.path.join(scratch, "report"))
        self.assertEqual(rendered.returncode, 0, rendered.stderr)

    def test_a_table_the_user_names_is_only_read_and_left_in_place(self):
        iodepth, scratch = helpers.require_tools(self)
        table = os.path.join(scratch, "mine.tbl")
        subprocess.run([iodepth, "load", f"--filename={table}", "--size=8m"], check=True, capture_output=True)
        before = os.stat(table)
        done = helpers.run_module("fio.scan", [*self.ARGS, f"--filename={table}", "--size=1g"], iodepth)
        self.assert_compared(done)
        self.assertNotIn("iodepth load", done.stdout)
        self.assertIn(f"Left {table} in place", done.stdout)
        after = os.stat(table)
        self.assertEqual((after.st_size, after.st_mtime_ns, after.st_ino),
                         (before.st_size, before.st_mtime_ns, before.st_ino))
        self.assertEqual(os.listdir(scratch), ["mine.tbl"])


if __name__ == "__main__":
    unittest.main()
