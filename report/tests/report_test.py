"""Tests for the report (python3 -m report): synthetic results files in, report.md and PNGs checked.

Run from the repository root:
    /usr/bin/python3 -m unittest discover -s report/tests -t . -p "*_test.py"

Every expected number below is computed from the synthetic inputs built here, so a report
that printed a constant, or the inverse ratio, or the wrong cell, fails. The inputs are
complete results files (fixtures.py): the report reads every file through the schema.
"""

import glob
import os
import tempfile
import unittest

# For the few tests that call the sections' functions directly; none of these modules needs
# matplotlib to import (plotting imports it lazily).
from report import results, section_bm, section_scan
from report.tests import fixtures
from report.tests.fixtures import document, write_json
from report.tests.support import run_module

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DEPTHS = (1, 4, 16, 32)
FAMILIES = ("seq_read", "rand_read")
QD_BACKENDS = ("io_uring", "worker")
# Direct IOPS as a fraction of buffered at each depth, per family: the ratios under test.
DIRECT_IOPS_FRACTION = {"rand_read": {1: 0.90, 4: 0.75, 16: 0.95, 32: 1.00},
                        "seq_read": {1: 0.45, 4: 0.60, 16: 0.70, 32: 0.80}}
DIRECT_P95_FACTOR = 1.25  # Direct p95 latency / buffered p95 latency at every depth.
FLAGGED_ID = "rand_read_qd4/direct/worker"
UNSUPPORTED_ID = "rand_read_qd1/dontcache/io_uring"
UNSUPPORTED_REASON = "RWF_DONTCACHE needs Linux 6.14 or later"


def repetitions(iops, p95_ns, bs=4096, target=1, cpu_ns=2500.0):
    """Three repetitions spread +-5% around `iops` (so min/max differ from the median)."""
    return [fixtures.repetition(iops * factor, int(p95_ns * factor), bs=bs, runtime_ns=2_000_000_000,
                                p50_ns=p95_ns // 2, p99_ns=p95_ns * 2, mean_ns=p95_ns / 2, max_ns=p95_ns * 3,
                                cpu_ns_per_io=cpu_ns, target=target)
            for factor in (0.95, 1.0, 1.05)]


def cell(workload, suite, qd, mode, backend, iops, p95_ns, flags=(), rw="randread", bs=4096):
    """A schema_version 3 cell of a suite without regimes (qd, io_patterns): no buffer, scan or
    memory records."""
    return fixtures.cell(workload, suite, qd, mode, backend, repetitions(iops, p95_ns, bs), flags=flags,
                         rw=rw, bs=bs)


def qd_cells():
    cells = []
    for family in FAMILIES:
        for backend in QD_BACKENDS:
            for qd in DEPTHS:
                buffered_iops, buffered_p95 = 100.0 * qd, 40_000 * qd
                workload = f"{family}_qd{qd}"
                cells.append(cell(workload, "qd", qd, "buffered", backend, buffered_iops, buffered_p95))
                flags = ["cv_high"] if f"{workload}/direct/{backend}" == FLAGGED_ID else []
                cells.append(cell(workload, "qd", qd, "direct", backend,
                                  buffered_iops * DIRECT_IOPS_FRACTION[family][qd],
                                  int(buffered_p95 * DIRECT_P95_FACTOR), flags))
    cells.append(fixtures.unsupported_cell("rand_read_qd1", "qd", 1, "dontcache", "io_uring", UNSUPPORTED_REASON))
    return cells


def qd_crosscheck(cells):
    """fio 6% faster on one cell (ratio 0.94: the cross-check judged it outside its band, with
    a cause; it must be marked), equal on another (1.00, agrees)."""
    by_id = {c["id"]: c for c in cells}
    checks = []
    for cell_id, fio_speedup in (("rand_read_qd32/direct/io_uring", 1 / 0.94),
                                 ("rand_read_qd1/direct/io_uring", 1.0)):
        ours = by_id[cell_id]["median"]
        fio = {"iops": ours["iops"] * fio_speedup, "clat_ns_p95": ours["clat_ns"]["percentile"]["95.000000"],
               "cpu_ns_per_io": 2000.0}
        agrees = fio_speedup == 1.0
        checks.append({"cell": cell_id, "fio": fio,
                       "ratio": {"iops": ours["iops"] / fio["iops"], "clat_ns_p95": 1.0,
                                 "cpu_ns_per_io": ours["cpu_ns_per_io"] / fio["cpu_ns_per_io"]},
                       "cache_state": {"iodepth": "n/a", "fio": "n/a"}, "agrees": agrees,
                       "cause": None if agrees else "different achieved depth (iodepth 28.0, fio 32.0)"})
    return checks


def patterns_cells():
    cells = []
    for workload, rw in (("seq_read", "read"), ("rand_read", "randread"), ("seq_write", "write"),
                         ("rand_write", "randwrite")):
        cells.append(cell(workload, "io_patterns", 1, "buffered", "syncpath", 2000.0, 20_000, rw=rw))
        cells.append(cell(workload, "io_patterns", 1, "direct", "syncpath", 1000.0, 80_000,
                          flags=["depth_short"] if workload == "rand_write" else [], rw=rw))
    return cells


# ---------------------------------------------------------------- bm synthetic data

BM_PAGE_BYTES = 8192
BM_FAMILIES = ("bm_seq_read", "bm_rand_read")
BM_REGIMES = ("hot", "pressure", "thrash")
BM_BACKENDS = ("io_uring", "worker")
# Direct fetches/s as a fraction of buffered, per regime and depth. Thrash peaks at qd 16, so
# there the best fixed direct distance is 16, not the deepest one.
BM_DIRECT_FRACTION = {"hot": {1: 1.00, 4: 1.00, 16: 1.00, 32: 1.00},
                      "pressure": {1: 0.50, 4: 0.70, 16: 0.96, 32: 1.10},
                      "thrash": {1: 0.40, 4: 0.80, 16: 1.20, 32: 0.50}}
BM_HIT_RATIO = {"hot": 1.0, "pressure": 0.40, "thrash": 0.10}
BM_WAIT_FRACTION = {"direct": 0.60, "buffered": 0.20}
BM_SYNC_FETCHES = {"buffered": 800.0, "direct": 600.0}  # qd 1 only: ratio 0.75.
# Adaptive MB/s as a fraction of the best fixed distance's, per (regime, mode).
BM_ADAPTIVE_FRACTION = {("hot", "direct"): 1.00, ("hot", "buffered"): 1.02,
                        ("pressure", "direct"): 0.97, ("pressure", "buffered"): 0.95,
                        ("thrash", "direct"): 0.80, ("thrash", "buffered"): 1.10}
BM_ADAPTIVE_MEAN_DISTANCE = 12.5


def bm_fetches(family, regime, mode, backend, qd):
    """Median fetches/s of a fixed-distance cell. Worker and random are made faster so a
    best-fixed search that ignored backend or family would pick the wrong cell."""
    buffered = 1000.0 * qd * (1.5 if backend == "worker" else 1.0) * (2 if "rand" in family else 1)
    return buffered * (BM_DIRECT_FRACTION[regime][qd] if mode == "direct" else 1.0)


def bm_mean_read_bytes(family, qd):
    """Sequential misses combine into reads of up to 16 pages (128 KiB); random ones do not."""
    return BM_PAGE_BYTES * (min(qd, 16) if "seq" in family else 1)


def bm_cell(family, regime, qd, mode, backend, fetches, policy="fixed"):
    workload = f"{family}_adaptive" if policy == "adaptive" else f"{family}_qd{qd}"
    mean_distance = BM_ADAPTIVE_MEAN_DISTANCE if policy == "adaptive" else qd
    summary = {"hit_ratio": BM_HIT_RATIO[regime], "mean_read_bytes": bm_mean_read_bytes(family, qd),
               "wait_fraction": BM_WAIT_FRACTION[mode], "mean_distance": mean_distance}
    reps = repetitions(fetches, 100_000, bs=BM_PAGE_BYTES)
    for rep in reps:
        rep["buffer"] = fixtures.buffer_record(**summary, page_bytes=BM_PAGE_BYTES, runtime_ns=rep["runtime_ns"])
    c = fixtures.cell(workload, "bm", qd, mode, backend, reps, regime, policy,
                      rw="read" if "seq" in family else "randread", bs=BM_PAGE_BYTES)
    c["median"]["buffer"] = dict(summary, reads_per_s=fetches / 4)
    return c


def best_fixed_qd(family, regime, mode, backend):
    """The depth with the most fetches/s, computed here independently of the report."""
    return max(DEPTHS, key=lambda qd: bm_fetches(family, regime, mode, backend, qd))


def bm_cells():
    cells = []
    for family in BM_FAMILIES:
        for regime in BM_REGIMES:
            for qd in DEPTHS:
                for backend in BM_BACKENDS:
                    for mode in ("buffered", "direct"):
                        cells.append(bm_cell(family, regime, qd, mode, backend,
                                             bm_fetches(family, regime, mode, backend, qd)))
            for mode in ("buffered", "direct"):
                cells.append(bm_cell(family, regime, 1, mode, "sync", BM_SYNC_FETCHES[mode],
                                     policy="sync"))
            if "rand" in family:
                continue
            for backend in BM_BACKENDS:
                for mode in ("buffered", "direct"):
                    best = bm_fetches(family, regime, mode, backend,
                                      best_fixed_qd(family, regime, mode, backend))
                    cells.append(bm_cell(family, regime, max(DEPTHS), mode, backend,
                                         best * BM_ADAPTIVE_FRACTION[(regime, mode)],
                                         policy="adaptive"))
    cells.append(fixtures.unsupported_cell("bm_seq_read_qd4", "bm", 4, "dontcache", "io_uring", UNSUPPORTED_REASON,
                                           regime="hot", policy="fixed", rw="read", bs=BM_PAGE_BYTES))
    return cells


# ---------------------------------------------------------------- scan synthetic data

SCAN_STREAMS = 4
SCAN_ROWS_PER_PAGE = 256
SCAN_STREAM_SHARES = (0.28, 0.22, 0.26, 0.24)  # Each scan's share of the bytes: slowest 0.22.
SCAN_CPU_NS = {"direct": 1500.0, "buffered": 3000.0}
SCAN_HIT_RATIO = {"hot": 1.0, "pressure": 0.40, "thrash": 0.10}
SCAN_WAIT_AT_QD1 = {"direct": 0.80, "buffered": 0.40}  # Divided by qd: 20% / 10% at qd 4.
SCAN_SYNC_MBPS = {("hot", "buffered"): 400.0, ("hot", "direct"): 380.0,
                  ("pressure", "buffered"): 200.0, ("pressure", "direct"): 60.0,
                  ("thrash", "buffered"): 100.0, ("thrash", "direct"): 30.0}
# io_uring MB/s per regime and mode; worker is 0.9 of it. Against buffered sync, direct
# io_uring overtakes already at qd 1 (hot), at qd 4 (pressure) and never (thrash); against
# buffered io_uring at the same qd, at qd 4 on a tie (hot), at qd 16 (pressure), never (thrash).
SCAN_PIPELINED_MBPS = {("hot", "direct"): {1: 420.0, 4: 800.0, 16: 1000.0, 32: 1000.0},
                       ("hot", "buffered"): {1: 440.0, 4: 800.0, 16: 900.0, 32: 950.0},
                       ("pressure", "direct"): {1: 150.0, 4: 250.0, 16: 400.0, 32: 450.0},
                       ("pressure", "buffered"): {1: 200.0, 4: 300.0, 16: 390.0, 32: 500.0},
                       ("thrash", "direct"): {1: 30.0, 4: 50.0, 16: 80.0, 32: 90.0},
                       ("thrash", "buffered"): {1: 100.0, 4: 150.0, 16: 200.0, 32: 250.0}}
SCAN_BACKEND_FACTOR = {"io_uring": 1.0, "worker": 0.9}


def scan_mbps(regime, mode, backend, qd):
    if backend == "sync":
        return SCAN_SYNC_MBPS[(regime, mode)]
    return SCAN_PIPELINED_MBPS[(regime, mode)][qd] * SCAN_BACKEND_FACTOR[backend]


def scan_cell(regime, qd, mode, backend, with_scan=True):
    """A multistream_scan cell as the scan suite writes it; `with_scan` False leaves the scan
    records null in the median and in the repetitions."""
    mbps = scan_mbps(regime, mode, backend, qd)
    workload = f"multistream_scan_qd{qd}"
    summary = {"hit_ratio": SCAN_HIT_RATIO[regime], "mean_read_bytes": BM_PAGE_BYTES * min(qd, 16),
               "wait_fraction": SCAN_WAIT_AT_QD1[mode] / qd, "mean_distance": qd}
    reps = repetitions(mbps * 1e6 / BM_PAGE_BYTES, 100_000, bs=BM_PAGE_BYTES, target=SCAN_STREAMS * qd,
                       cpu_ns=SCAN_CPU_NS[mode])
    for rep in reps:
        rep["buffer"] = fixtures.buffer_record(**summary, page_bytes=BM_PAGE_BYTES, runtime_ns=rep["runtime_ns"])
        if with_scan:
            rep["scan"] = {"streams": SCAN_STREAMS, "rows": int(rep["iops"] * SCAN_ROWS_PER_PAGE * 2),
                           "rows_per_s": rep["iops"] * SCAN_ROWS_PER_PAGE, "passes_checked": 3,
                           "stream_bw_bytes": [share * rep["bw_bytes"] for share in SCAN_STREAM_SHARES]}
    c = fixtures.cell(workload, "scan", qd, mode, backend, reps, regime,
                      "sync" if backend == "sync" else "fixed", rw="read", bs=BM_PAGE_BYTES)
    c["median"].update(buffer=dict(summary, reads_per_s=100.0), scan=None)
    if with_scan:
        c["median"]["scan"] = {"rows_per_s": c["median"]["iops"] * SCAN_ROWS_PER_PAGE,
                               "min_stream_bw_bytes": min(SCAN_STREAM_SHARES) * c["median"]["bw_bytes"]}
    return c


def scan_cells(with_scan=True):
    cells = []
    for regime in BM_REGIMES:
        for mode in ("buffered", "direct"):
            cells.append(scan_cell(regime, 1, mode, "sync", with_scan))
        for qd in DEPTHS:
            for backend in BM_BACKENDS:
                for mode in ("buffered", "direct"):
                    cells.append(scan_cell(regime, qd, mode, backend, with_scan))
    return cells


def mb_s(fetches):
    return fetches * BM_PAGE_BYTES / 1e6


def read_text(path):
    """The file's text, or "" when it is missing (the tests then fail on their asserts)."""
    if not os.path.exists(path):
        return ""
    with open(path, encoding="utf-8") as f:
        return f.read()


def run_report(*args, env=None):
    return run_module("report", *args, env=env)


class RenderedReport:
    """Mixin for a TestCase class that reads one report rendered for the whole class: the class
    gives `documents()`, [(file name, results document)], and reads cls.md (report.md's text),
    cls.out (its directory) and cls.result (the command's CompletedProcess)."""

    @classmethod
    def documents(cls):
        raise NotImplementedError

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        paths = [write_json(cls.tmp.name, name, doc) for name, doc in cls.documents()]
        cls.out = os.path.join(cls.tmp.name, "out")
        cls.result = run_report(*paths, "--out", cls.out)
        cls.md = read_text(os.path.join(cls.out, "report.md"))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_runs(self):
        self.assertEqual(self.result.returncode, 0, self.result.stderr)


def tables(markdown):
    """Every Markdown table as a list of {header: cell text} rows."""
    found, current = [], None
    for line in markdown.splitlines():
        if not line.startswith("|"):
            current = None
            continue
        items = [i.strip() for i in line.strip().strip("|").split("|")]
        if current is None:
            current = {"headers": items, "rows": []}
            found.append(current)
        elif not all(set(i) <= {"-"} for i in items):
            current["rows"].append(dict(zip(current["headers"], items)))
    return found


def table_with(markdown, header):
    matches = [t["rows"] for t in tables(markdown) if header in t["headers"]]
    if not matches:
        raise AssertionError(f"no table with a {header!r} column in the report")
    return matches[0]


def assert_valid_png(test, path):
    test.assertTrue(os.path.isfile(path), f"{path} missing")
    with open(path, "rb") as f:
        data = f.read()
    test.assertEqual(data[:8], PNG_SIGNATURE, f"{path} is not a PNG")
    test.assertGreater(len(data), 1000, f"{path} is suspiciously small")


class QdReportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cells = qd_cells()
        cls.path = write_json(cls.tmp.name, "qd.json", document("qd", cells, crosscheck=qd_crosscheck(cells)))
        cls.out = os.path.join(cls.tmp.name, "out")
        cls.result = run_report(cls.path, "--out", cls.out)
        cls.md = read_text(os.path.join(cls.out, "report.md"))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def ratio_row(self, family, backend, qd):
        rows = [r for r in table_with(self.md, "IOPS direct/buffered")
                if (r["family"], r["backend"], r["qd"]) == (family, backend, str(qd))]
        self.assertEqual(len(rows), 1, f"expected one ratio row for {family}/{backend}/qd{qd}")
        return rows[0]

    def test_runs_successfully(self):
        self.assertEqual(self.result.returncode, 0, self.result.stderr)
        self.assertIn("# iodepth report", self.md)

    def test_ratio_table_holds_computed_ratios_at_every_depth(self):
        for family in FAMILIES:
            for backend in QD_BACKENDS:
                for qd in DEPTHS:
                    row = self.ratio_row(family, backend, qd)
                    self.assertEqual(row["IOPS direct/buffered"], f"{DIRECT_IOPS_FRACTION[family][qd]:.2f}")
                    self.assertEqual(row["p95 direct/buffered"], f"{DIRECT_P95_FACTOR:.2f}")

    def test_qd1_row_shows_direct_at_090_of_buffered(self):
        row = self.ratio_row("rand_read", "io_uring", 1)
        self.assertEqual(row["direct IOPS"], "90")
        self.assertEqual(row["buffered IOPS"], "100")
        self.assertEqual(row["IOPS direct/buffered"], "0.90")

    def test_plain_reading_follows_the_numbers(self):
        self.assertIn("rand_read / io_uring: direct reaches 1.00x buffered IOPS at qd 32 "
                      "(from 0.90x at qd 1)", self.md)
        self.assertIn("equivalent or faster: from qd 16 (qd 1 ▼ slower, qd 4 ▼ slower, qd 16 = "
                      "equivalent, qd 32 = equivalent)", self.md)
        self.assertIn("seq_read / worker: direct reaches 0.80x buffered IOPS at qd 32 "
                      "(from 0.45x at qd 1)", self.md)
        self.assertIn("equivalent or faster: never (up to qd 32) (qd 1 ▼ slower, qd 4 ▼ slower, "
                      "qd 16 ▼ slower, qd 32 ▼ slower)", self.md)

    def test_plots_are_valid_pngs_and_embedded(self):
        for family in FAMILIES:
            for backend in QD_BACKENDS:
                for metric in ("iops", "p95"):
                    name = f"qd_{family}_{backend}_{metric}.png"
                    assert_valid_png(self, os.path.join(self.out, name))
                    self.assertIn(f"({name})", self.md)

    def test_flagged_cell_is_marked_and_flag_explained(self):
        rows = {r["cell"].lstrip("⚠ "): r for r in table_with(self.md, "flags")}
        self.assertTrue(rows[FLAGGED_ID]["cell"].startswith("⚠"))
        self.assertIn("cv_high", rows[FLAGGED_ID]["flags"])
        unflagged = "rand_read_qd4/direct/io_uring"
        self.assertFalse(rows[unflagged]["cell"].startswith("⚠"))
        self.assertEqual(rows[unflagged]["flags"], "–")
        self.assertRegex(self.md, r"- \*\*cv_high\*\*: \S")

    def test_unsupported_cell_listed_with_reason_and_not_measured(self):
        not_measured = table_with(self.md, "reason")
        self.assertIn({"cell": UNSUPPORTED_ID, "status": "unsupported", "reason": UNSUPPORTED_REASON},
                      not_measured)
        measured_ids = {r["cell"].lstrip("⚠ ") for r in table_with(self.md, "flags")}
        self.assertNotIn(UNSUPPORTED_ID, measured_ids)
        self.assertNotIn("dontcache", self.md.split("## All measured cells")[0])

    def test_crosscheck_marks_what_the_crosscheck_found_outside_its_band_with_the_cause(self):
        rows = {r["cell"]: r for r in table_with(self.md, "fio IOPS")}
        self.assertEqual(rows["rand_read_qd32/direct/io_uring"]["IOPS ratio"], "⚠ 0.94")
        self.assertEqual(rows["rand_read_qd32/direct/io_uring"]["agrees"], "no")
        self.assertIn("different achieved depth", rows["rand_read_qd32/direct/io_uring"]["cause"])
        self.assertEqual(rows["rand_read_qd1/direct/io_uring"]["IOPS ratio"], "1.00")
        self.assertEqual(rows["rand_read_qd1/direct/io_uring"]["agrees"], "yes")
        self.assertEqual(rows["rand_read_qd1/direct/io_uring"]["cache"], "n/a / n/a")
        self.assertEqual(rows["rand_read_qd1/direct/io_uring"]["CPU ratio"], "1.25")

    def test_environment_is_flattened_and_empty_values_skipped(self):
        env = {r["key"]: r["value"] for t in tables(self.md) if "key" in t["headers"] for r in t["rows"]}
        self.assertEqual(env.get("device.model"), "FakeDisk 9000")
        self.assertEqual(env.get("device.queue.nr_requests"), "64")
        self.assertEqual(env.get("io_uring.available"), "true")
        self.assertNotIn("device.serial", self.md)
        self.assertNotIn("empty_section", self.md)


class PatternsAndMergeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.patterns = write_json(cls.tmp.name, "patterns.json", document("io_patterns", patterns_cells()))
        cls.result = run_report(cls.patterns)  # No --out: the default directory is used.
        cls.out = os.path.join(cls.tmp.name, "patterns-report")
        cls.md = read_text(os.path.join(cls.out, "report.md"))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_default_out_dir_is_name_without_json_plus_report(self):
        self.assertEqual(self.result.returncode, 0, self.result.stderr)
        self.assertTrue(os.path.isfile(os.path.join(self.out, "report.md")))

    def test_patterns_table_has_every_cell_with_computed_metrics(self):
        rows = {r["cell"].lstrip("⚠ "): r for r in table_with(self.md, "CV IOPS") if "p50 µs" in r}
        self.assertEqual(len(rows), 8)
        row = rows["seq_read/direct/syncpath"]
        self.assertEqual(row["IOPS"], "1,000")
        self.assertEqual(row["MB/s"], f"{1000 * 4096 / 1e6:.1f}")
        self.assertEqual(row["p95 µs"], "80.0")
        self.assertEqual(row["p50 µs"], "40.0")
        self.assertEqual(row["CPU µs/IO"], "2.50")
        self.assertTrue(rows["rand_write/direct/syncpath"]["cell"].startswith("⚠"))

    def test_patterns_bar_chart_is_a_png(self):
        assert_valid_png(self, os.path.join(self.out, "io_patterns_iops.png"))

    def test_absent_crosscheck_is_said(self):
        self.assertIn("No fio cross-check in these results.", self.md)

    def test_merge_lists_sources_and_later_file_wins(self):
        cells = qd_cells()
        qd = write_json(self.tmp.name, "qd.json", document("qd", cells))
        override = cell("rand_read_qd1", "qd", 1, "direct", "io_uring", 99.0, 50_000)
        later = write_json(self.tmp.name, "later.json", document("qd", [override]))
        out = os.path.join(self.tmp.name, "merged")
        result = run_report(qd, self.patterns, later, "--out", out)
        self.assertEqual(result.returncode, 0, result.stderr)
        md = read_text(os.path.join(out, "report.md"))
        self.assertEqual([r["file"] for r in table_with(md, "file")], [qd, self.patterns, later])
        row = [r for r in table_with(md, "IOPS direct/buffered")
               if (r["family"], r["backend"], r["qd"]) == ("rand_read", "io_uring", "1")][0]
        self.assertEqual(row["IOPS direct/buffered"], "0.99")
        self.assertIn("seq_write/direct/syncpath", md)


class BmReportTest(unittest.TestCase):
    """A schema_version 2 file holding qd and bm cells together."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.cells = qd_cells() + bm_cells()
        cls.path = write_json(cls.tmp.name, "bm.json", document("bm", cls.cells, version=2))
        cls.out = os.path.join(cls.tmp.name, "out")
        cls.result = run_report(cls.path, "--out", cls.out)
        cls.md = read_text(os.path.join(cls.out, "report.md"))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def bm_row(self, family, regime, backend, qd):
        section = self.md.split(f"### {family}: direct / buffered")[1].split("\n### ")[0]
        rows = [r for r in table_with(section, "fetches/s direct/buffered")
                if (r["regime"], r["backend"], r["qd"]) == (regime, backend, str(qd))]
        self.assertEqual(len(rows), 1, f"expected one row for {family}/{regime}/{backend}/qd{qd}")
        return rows[0]

    def adaptive_table(self):
        return {(r["family"], r["regime"], r["mode"], r["backend"]): r
                for r in table_with(self.md, "adaptive/best fixed")}

    def test_runs_successfully(self):
        self.assertEqual(self.result.returncode, 0, self.result.stderr)

    def test_bm_section_follows_the_qd_section(self):
        qd_at = self.md.find("## Queue depth suite (qd)")
        bm_at = self.md.find("## Buffer manager (bm)")
        self.assertGreater(qd_at, 0)
        self.assertGreater(bm_at, qd_at)
        self.assertLess(bm_at, self.md.find("## All measured cells"))

    def test_qd_section_ignores_bm_cells(self):
        families = {r["family"] for r in table_with(self.md, "IOPS direct/buffered")}
        self.assertEqual(families, set(FAMILIES))
        qd_part = self.md.split("## Queue depth suite (qd)")[1].split("## Buffer manager (bm)")[0]
        self.assertNotIn("bm_", qd_part)

    def test_direct_buffered_rows_hold_computed_values(self):
        for family in BM_FAMILIES:
            for regime in BM_REGIMES:
                for backend in BM_BACKENDS:
                    for qd in DEPTHS:
                        d = bm_fetches(family, regime, "direct", backend, qd)
                        b = bm_fetches(family, regime, "buffered", backend, qd)
                        row = self.bm_row(family, regime, backend, qd)
                        self.assertEqual(row["direct fetches/s"], f"{d:,.0f}")
                        self.assertEqual(row["buffered fetches/s"], f"{b:,.0f}")
                        self.assertEqual(row["fetches/s direct/buffered"],
                                         f"{BM_DIRECT_FRACTION[regime][qd]:.2f}")
                        self.assertEqual(row["MB/s (direct / buffered)"], f"{mb_s(d):,.1f} / {mb_s(b):,.1f}")
                        hit = f"{BM_HIT_RATIO[regime]:.2f}"
                        self.assertEqual(row["hit ratio (direct / buffered)"], f"{hit} / {hit}")
                        kib = f"{bm_mean_read_bytes(family, qd) / 1024:,.1f}"
                        self.assertEqual(row["mean read KiB (direct / buffered)"], f"{kib} / {kib}")
                        self.assertEqual(row["wait (direct / buffered)"], "60.0% / 20.0%")

    def test_thrash_seq_qd32_row_reads_as_expected(self):
        row = self.bm_row("bm_seq_read", "thrash", "io_uring", 32)
        self.assertEqual(row["direct fetches/s"], "16,000")
        self.assertEqual(row["buffered fetches/s"], "32,000")
        self.assertEqual(row["fetches/s direct/buffered"], "0.50")
        self.assertEqual(row["mean read KiB (direct / buffered)"], "128.0 / 128.0")

    def test_sync_backend_is_a_table_row_without_a_plot(self):
        for family in BM_FAMILIES:
            for regime in BM_REGIMES:
                row = self.bm_row(family, regime, "sync", 1)
                self.assertEqual(row["fetches/s direct/buffered"], "0.75")
                self.assertEqual(row["direct fetches/s"], "600")
        self.assertEqual(glob.glob(os.path.join(self.out, "*sync*")), [])
        self.assertIn("bm_seq_read / hot / sync: direct reaches 0.75x buffered page fetches/s at "
                      "qd 1, hit ratio", self.md)

    def test_adaptive_cells_are_not_depth_rows(self):
        section = self.md.split("## Buffer manager (bm)")[1]
        rows = table_with(section, "fetches/s direct/buffered")
        self.assertNotIn("adaptive", " ".join(r["regime"] + r["backend"] for r in rows))
        self.assertEqual(len([r for r in rows if r["backend"] == "io_uring"]), len(BM_REGIMES) * len(DEPTHS))

    def test_plain_readings_follow_the_numbers(self):
        self.assertIn("bm_seq_read / thrash / io_uring: direct reaches 0.50x buffered page "
                      "fetches/s at qd 32 (from 0.40x at qd 1), hit ratio 0.10 direct vs 0.10 "
                      "buffered there, the consumer waiting 60% vs 20% of the run; equivalent or "
                      "faster: never (up to qd 32) (qd 1 ▼ slower, qd 4 ▼ slower, qd 16 ▲ faster, "
                      "qd 32 ▼ slower).", self.md)
        self.assertIn("bm_rand_read / pressure / worker: direct reaches 1.10x buffered page "
                      "fetches/s at qd 32 (from 0.50x at qd 1)", self.md)
        self.assertIn("bm_rand_read / hot / io_uring: direct reaches 1.00x buffered page "
                      "fetches/s at qd 32 (from 1.00x at qd 1), hit ratio 1.00 direct vs 1.00 "
                      "buffered there, the consumer waiting 60% vs 20% of the run; equivalent or "
                      "faster: always (from qd 1) (qd 1 = equivalent, qd 4 = equivalent, qd 16 = "
                      "equivalent, qd 32 = equivalent).", self.md)
        self.assertIn("bm_seq_read / hot / sync: direct reaches 0.75x buffered page fetches/s at "
                      "qd 1, hit ratio 1.00 direct vs 1.00 buffered there, the consumer waiting "
                      "60% vs 20% of the run; slower at qd 1 (n=3).", self.md)

    def test_adaptive_row_names_the_best_fixed_distance(self):
        rows = self.adaptive_table()
        self.assertEqual(len(rows), len(BM_REGIMES) * 2 * len(BM_BACKENDS))
        for (family, regime, mode, backend), row in rows.items():
            best_qd = best_fixed_qd(family, regime, mode, backend)
            best = mb_s(bm_fetches(family, regime, mode, backend, best_qd))
            fraction = BM_ADAPTIVE_FRACTION[(regime, mode)]
            self.assertEqual(row["best fixed qd"], str(best_qd))
            self.assertEqual(row["best fixed MB/s"], f"{best:,.1f}")
            self.assertEqual(row["adaptive MB/s"], f"{best * fraction:,.1f}")
            self.assertEqual(row["adaptive/best fixed"], f"{fraction:.2f}")
            self.assertEqual(row["adaptive mean distance"], f"{BM_ADAPTIVE_MEAN_DISTANCE:.1f}")
            self.assertEqual(row["max distance"], str(max(DEPTHS)))

    def test_best_fixed_is_the_peak_not_the_deepest_nor_another_cells(self):
        # Direct thrash peaks at qd 16; buffered thrash, the worker backend and the pressure
        # regime all have faster cells that must not be chosen.
        row = self.adaptive_table()[("bm_seq_read", "thrash", "direct", "io_uring")]
        self.assertEqual(row["best fixed qd"], "16")
        self.assertEqual(row["best fixed MB/s"], f"{mb_s(19_200):,.1f}")
        self.assertEqual(row["adaptive/best fixed"], "0.80")
        buffered = self.adaptive_table()[("bm_seq_read", "thrash", "buffered", "io_uring")]
        self.assertEqual(buffered["best fixed qd"], "32")
        self.assertEqual(buffered["best fixed MB/s"], f"{mb_s(32_000):,.1f}")

    def test_adaptive_reading_counts_and_names_the_worst_group(self):
        # Unpaired intervals of three repetitions spread ±5%: only the 0.80 groups are decided.
        self.assertIn("Against the best fixed distance, adaptive is faster in 0, equivalent in 0, "
                      "slower in 2 and inconclusive in 10 of 12 (regime, mode, backend) groups; its "
                      "lowest is 0.80x (slower) in thrash / direct / io_uring, where the best fixed "
                      "distance is qd 16 and adaptive averaged a distance of 12.5.", self.md)

    def test_plots_per_family_regime_backend_are_pngs(self):
        for family in BM_FAMILIES:
            unit = "mbps" if "seq" in family else "fetches"
            for regime in BM_REGIMES:
                for backend in BM_BACKENDS:
                    name = f"{family}_{regime}_{backend}_{unit}.png"
                    assert_valid_png(self, os.path.join(self.out, name))
                    self.assertIn(f"({name})", self.md)

    def test_all_cells_table_shows_regime_and_hit_ratio(self):
        rows = {r["cell"].lstrip("⚠ "): r for r in table_with(self.md, "flags")}
        bm = rows["bm_rand_read_qd4/direct/worker/thrash"]
        self.assertEqual(bm["regime"], "thrash")
        self.assertEqual(bm["hit ratio"], f"{BM_HIT_RATIO['thrash']:.2f}")
        self.assertEqual(bm["IOPS"], f"{bm_fetches('bm_rand_read', 'thrash', 'direct', 'worker', 4):,.0f}")
        qd = rows["rand_read_qd4/direct/io_uring"]
        self.assertEqual((qd["regime"], qd["hit ratio"]), ("–", "–"))

    def test_unsupported_bm_cell_is_listed_not_measured(self):
        not_measured = {r["cell"] for r in table_with(self.md, "reason")}
        self.assertIn("bm_seq_read_qd4/dontcache/io_uring/hot", not_measured)


class ScanReportTest(unittest.TestCase):
    """A schema_version 2 file holding bm and scan cells together."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.path = write_json(cls.tmp.name, "scan.json",
                              document("scan", bm_cells() + scan_cells(), version=2))
        cls.out = os.path.join(cls.tmp.name, "out")
        cls.result = run_report(cls.path, "--out", cls.out)
        cls.md = read_text(os.path.join(cls.out, "report.md"))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def section(self):
        return self.md.split("## Concurrent scans (multistream_scan)")[1].split("\n## ")[0]

    def scan_row(self, regime, backend, qd):
        part = self.section().split(f"### {regime}")[1].split("\n### ")[0]
        rows = [r for r in table_with(part, "MB/s direct/buffered")
                if (r["backend"], r["qd"]) == (backend, str(qd))]
        self.assertEqual(len(rows), 1, f"expected one row for {regime}/{backend}/qd{qd}")
        return rows[0]

    def test_runs_successfully(self):
        self.assertEqual(self.result.returncode, 0, self.result.stderr)

    def test_scan_section_follows_the_bm_section(self):
        bm_at = self.md.find("## Buffer manager (bm)")
        scan_at = self.md.find("## Concurrent scans (multistream_scan)")
        self.assertGreater(bm_at, 0)
        self.assertGreater(scan_at, bm_at)
        self.assertLess(scan_at, self.md.find("## All measured cells"))
        self.assertNotIn("multistream", self.md.split("## Buffer manager (bm)")[1].split("## Concurrent")[0])

    def test_direct_buffered_rows_hold_computed_values(self):
        for regime in BM_REGIMES:
            for backend in BM_BACKENDS + ("sync",):
                for qd in DEPTHS if backend != "sync" else (1,):
                    d, b = (scan_mbps(regime, m, backend, qd) for m in ("direct", "buffered"))
                    row = self.scan_row(regime, backend, qd)
                    self.assertEqual(row["MB/s (direct / buffered)"], f"{d:,.1f} / {b:,.1f}")
                    self.assertEqual(row["MB/s direct/buffered"], f"{d / b:.2f}")
                    rows = [mbps * 1e6 / BM_PAGE_BYTES * SCAN_ROWS_PER_PAGE for mbps in (d, b)]
                    self.assertEqual(row["rows/s (direct / buffered)"], f"{rows[0]:,.0f} / {rows[1]:,.0f}")
                    slow = [0.22 * mbps for mbps in (d, b)]
                    self.assertEqual(row["slowest scan MB/s (direct / buffered)"],
                                     f"{slow[0]:,.1f} / {slow[1]:,.1f}")
                    self.assertEqual(row["wait (direct / buffered)"], f"{0.8 / qd:.1%} / {0.4 / qd:.1%}")
                    hit = f"{SCAN_HIT_RATIO[regime]:.2f}"
                    self.assertEqual(row["hit ratio (direct / buffered)"], f"{hit} / {hit}")
                    self.assertEqual(row["CPU µs/page (direct / buffered)"], "1.50 / 3.00")

    def test_pressure_qd4_row_reads_as_expected(self):
        row = self.scan_row("pressure", "io_uring", 4)
        self.assertEqual(row["MB/s (direct / buffered)"], "250.0 / 300.0")
        self.assertEqual(row["MB/s direct/buffered"], "0.83")
        self.assertEqual(row["slowest scan MB/s (direct / buffered)"], "55.0 / 66.0")
        self.assertEqual(row["wait (direct / buffered)"], "20.0% / 10.0%")

    def test_crossover_overtakes_at_4_never_and_already_at_1(self):
        # Against buffered sync the intervals are unpaired (Welch): 420 vs 400 MB/s at qd 1
        # (hot) and 90 vs 100 at qd 32 (thrash) straddle a margin with three repetitions.
        self.assertIn("- pressure: direct pipelined (io_uring) against buffered sync, equivalent or "
                      "faster: from qd 4 (qd 1 ▼ slower, qd 4 ▲ faster, qd 16 ▲ faster, qd 32 ▲ "
                      "faster); against buffered pipelined (io_uring) depth for depth, equivalent or "
                      "faster: never (up to qd 32) (qd 1 ▼ slower, qd 4 ▼ slower, qd 16 = equivalent, "
                      "qd 32 ▼ slower).", self.md)
        self.assertIn("- thrash: direct pipelined (io_uring) against buffered sync, equivalent or "
                      "faster: undecided (up to qd 32) (qd 1 ▼ slower, qd 4 ▼ slower, qd 16 ▼ "
                      "slower, qd 32 ? inconclusive)", self.md)
        self.assertIn("- hot: direct pipelined (io_uring) against buffered sync, equivalent or "
                      "faster: from qd 4 at the latest (qd 1 ? inconclusive, qd 4 ▲ faster, qd 16 ▲ "
                      "faster, qd 32 ▲ faster); against buffered pipelined (io_uring) depth for "
                      "depth, equivalent or faster: always (from qd 1)", self.md)

    def test_crossover_is_read_for_the_worker_backend_too(self):
        # Worker is 0.9 of io_uring: hot direct 378 MB/s at qd 1 is below buffered sync's 400.
        self.assertIn("- hot: direct pipelined (worker) against buffered sync, equivalent or "
                      "faster: from qd 4 at the latest", self.md)
        self.assertNotIn("direct pipelined (sync)", self.md)

    def test_regime_heading_names_the_number_of_scans(self):
        for regime in BM_REGIMES:
            self.assertIn(f"### {regime} (S = {SCAN_STREAMS} scans)", self.section())

    def test_plots_per_regime_are_pngs(self):
        for regime in BM_REGIMES:
            name = f"scan_{regime}_mbps.png"
            assert_valid_png(self, os.path.join(self.out, name))
            self.assertIn(f"({name})", self.md)

    def test_all_cells_table_shows_scan_cells(self):
        rows = {r["cell"].lstrip("⚠ "): r for r in table_with(self.md, "flags")}
        row = rows["multistream_scan_qd16/direct/worker/thrash"]
        self.assertEqual((row["suite"], row["qd"], row["regime"]), ("scan", "16", "thrash"))
        self.assertEqual(row["hit ratio"], "0.10")
        self.assertEqual(row["MB/s"], f"{80.0 * 0.9:,.1f}")
        self.assertEqual(row["IOPS"], f"{80.0 * 0.9 * 1e6 / BM_PAGE_BYTES:,.0f}")
        self.assertEqual(row["CPU µs/IO"], "1.50")
        self.assertIn("For scan cells IOPS is pages/s of all scans together", self.md)


class ScanRecordTest(unittest.TestCase):
    """Scan metrics and readings on cases the full report does not build."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def test_slowest_scan_spread_comes_from_the_repetitions(self):
        c = scan_cell("pressure", 4, "direct", "io_uring")
        low, high = results.spread_of(c, "min_stream_mb_s")
        self.assertAlmostEqual(low, 0.22 * 250.0 * 0.95)
        self.assertAlmostEqual(high, 0.22 * 250.0 * 1.05)
        self.assertAlmostEqual(results.median_of(c, "min_stream_mb_s"), 0.22 * 250.0)
        self.assertAlmostEqual(results.median_of(c, "rows_per_s"), 250e6 / BM_PAGE_BYTES * SCAN_ROWS_PER_PAGE)

    def test_crossover_without_a_buffered_sync_cell_says_so(self):
        cells = [c for c in scan_cells() if c["regime"] == "thrash" and c["backend"] != "sync"]
        backends = section_scan.group_scan(cells)["thrash"]
        self.assertEqual(section_scan.crossover_reading("thrash", "io_uring", backends),
                         "thrash: direct pipelined (io_uring) against buffered sync: no depth to "
                         "compare with; against buffered pipelined (io_uring) depth for depth, "
                         "equivalent or faster: never (up to qd 32) (qd 1 ▼ slower, qd 4 ▼ slower, "
                         "qd 16 ▼ slower, qd 32 ▼ slower).")

    def test_v2_scan_cells_without_scan_records_still_report(self):
        cells = scan_cells(with_scan=False)  # "scan": null in the median and every repetition.
        path = write_json(self.tmp.name, "noscan.json", document("scan", cells, version=2))
        out = os.path.join(self.tmp.name, "out")
        result = run_report(path, "--out", out)
        self.assertEqual(result.returncode, 0, result.stderr)
        md = read_text(os.path.join(out, "report.md"))
        pressure = md.split("### pressure")[1].split("\n### ")[0]
        row = [r for r in table_with(pressure, "MB/s direct/buffered")
               if (r["backend"], r["qd"]) == ("io_uring", "4")][0]
        self.assertEqual(row["MB/s (direct / buffered)"], "250.0 / 300.0")
        self.assertEqual(row["rows/s (direct / buffered)"], "– / –")
        self.assertEqual(row["slowest scan MB/s (direct / buffered)"], "– / –")
        self.assertIn("- pressure: direct pipelined (io_uring) against buffered sync, equivalent or "
                      "faster: from qd 4 (qd 1 ▼ slower, qd 4 ▲ faster", md)
        self.assertIn("### pressure\n", md)  # No stream count without scan records.

    def test_bm_only_file_has_no_scan_section(self):
        path = write_json(self.tmp.name, "bm.json", document("bm", bm_cells(), version=2))
        out = os.path.join(self.tmp.name, "out")
        self.assertEqual(run_report(path, "--out", out).returncode, 0)
        self.assertNotIn("Concurrent scans", read_text(os.path.join(out, "report.md")))

    def test_scan_record_of_the_wrong_type_is_named(self):
        cells = scan_cells()
        cells[3]["median"]["scan"] = [1, 2]
        path = write_json(self.tmp.name, "bad.json", document("scan", cells, version=2))
        result = run_report(path, "--out", os.path.join(self.tmp.name, "out"))
        self.assertNotEqual(result.returncode, 0)
        self.assertIn(path, result.stderr)
        self.assertIn("cells[3].median.scan: [1, 2] is not of type 'object', 'null'", result.stderr)
        self.assertNotIn("Traceback", result.stderr)


class BestFixedTest(unittest.TestCase):
    """section_bm.best_fixed directly, on cases the full report does not build."""

    def fixed(self, qd, fetches, **changes):
        c = bm_cell("bm_seq_read", "pressure", qd, "direct", "io_uring", fetches)
        c.update(changes)
        return c

    def test_a_tie_goes_to_the_lower_distance(self):
        adaptive = bm_cell("bm_seq_read", "pressure", 32, "direct", "io_uring", 1.0, policy="adaptive")
        cells = [adaptive, self.fixed(32, 5000.0), self.fixed(8, 5000.0), self.fixed(16, 4000.0)]
        self.assertEqual(section_bm.best_fixed(adaptive, cells)["qd"], 8)

    def test_failed_and_other_regime_cells_are_never_best(self):
        adaptive = bm_cell("bm_seq_read", "pressure", 32, "direct", "io_uring", 1.0, policy="adaptive")
        failed = self.fixed(4, 9e9, status="error")
        other = self.fixed(16, 9e9, regime="hot")
        self.assertIsNone(section_bm.best_fixed(adaptive, [adaptive, failed, other]))
        self.assertEqual(section_bm.adaptive_rows([adaptive, failed, other]), [(adaptive, None, None)])

    def test_what_the_stream_settled_at_is_said_where_the_file_has_it(self):
        adaptive = bm_cell("bm_seq_read", "pressure", 32, "direct", "io_uring", 1.0, policy="adaptive")
        self.assertEqual(section_bm.settled_text(adaptive), "", "older files have no combine or pins")
        adaptive["median"]["buffer"].update(mean_combine_pages=7.5, mean_pinned_pages=30.25)
        self.assertEqual(section_bm.settled_text(adaptive), ", combining 7.5 pages a read and holding 30.2 pinned")


class BadInputTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.out = os.path.join(self.tmp.name, "out")

    def assert_fails_with(self, result, *fragments):
        self.assertNotEqual(result.returncode, 0)
        for fragment in fragments:
            self.assertIn(fragment, result.stderr)
        self.assertNotIn("Traceback", result.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.out, "report.md")))

    def test_unsupported_schema_version_names_the_supported_ones(self):
        path = write_json(self.tmp.name, "v4.json", document("qd", qd_cells(), version=4))
        self.assert_fails_with(run_report(path, "--out", self.out), "schema_version 4",
                               "newer than this iodepth reads (2 to 3)")

    def test_schema_version_1_is_refused_saying_regenerate(self):
        path = write_json(self.tmp.name, "v1.json", document("qd", qd_cells(), version=1))
        self.assert_fails_with(run_report(path, "--out", self.out), path,
                               "schema_version: 1 is not one of [2, 3]",
                               "older than this iodepth reads (2 to 3): regenerate it")

    def test_qd_file_without_buffer_records_has_no_bm_section_nor_regime(self):
        path = write_json(self.tmp.name, "qd.json", document("qd", qd_cells()))
        doc = results.load_results(path)
        self.assertEqual(doc["cells"][0]["regime"], "")
        self.assertIsNone(doc["cells"][0]["median"]["buffer"])
        self.assertIsNone(results.median_of(doc["cells"][0], "hit_ratio"))
        result = run_report(path, "--out", self.out)
        self.assertEqual(result.returncode, 0, result.stderr)
        md = read_text(os.path.join(self.out, "report.md"))
        self.assertNotIn("## Buffer manager (bm)", md)
        self.assertNotIn("regime", table_with(md, "flags")[0])

    def test_buffer_record_of_the_wrong_type_is_named(self):
        cells = qd_cells()
        cells[0]["median"]["buffer"] = 0.5
        path = write_json(self.tmp.name, "bad.json", document("qd", cells, version=2))
        self.assert_fails_with(run_report(path, "--out", self.out), path,
                               "cells[0].median.buffer: 0.5 is not of type 'object', 'null'")

    def test_wrong_schema_is_rejected(self):
        doc = document("qd", qd_cells())
        doc["schema"] = "fio-results"
        path = write_json(self.tmp.name, "other.json", doc)
        self.assert_fails_with(run_report(path, "--out", self.out), "iodepth-results",
                               "schema: 'iodepth-results' was expected", "not an iodepth results file")

    def test_missing_file_is_named(self):
        missing = os.path.join(self.tmp.name, "nope.json")
        self.assert_fails_with(run_report(missing, "--out", self.out), missing)

    def test_invalid_json_is_named(self):
        path = os.path.join(self.tmp.name, "broken.json")
        with open(path, "w", encoding="utf-8") as f:
            f.write('{"schema": "iodepth-results", ')
        self.assert_fails_with(run_report(path, "--out", self.out), path, "not valid JSON")

    def test_missing_jsonschema_says_how_to_install_it(self):
        # A package named jsonschema that fails to import, found before the real one: every
        # file is read through the schema, so none is read without it.
        fake = os.path.join(self.tmp.name, "fake", "jsonschema")
        os.makedirs(fake)
        with open(os.path.join(fake, "__init__.py"), "w", encoding="utf-8") as f:
            f.write('raise ImportError("simulated: no jsonschema")\n')
        path = write_json(self.tmp.name, "qd.json", document("qd", qd_cells()))
        env = dict(os.environ, PYTHONPATH=os.path.dirname(fake))
        self.assert_fails_with(run_report(path, "--out", self.out, env=env),
                               "needs python3-jsonschema", "apt-get install python3-jsonschema")

    def test_missing_matplotlib_says_how_to_install_it(self):
        # A package named matplotlib that fails to import, found before the real one.
        fake = os.path.join(self.tmp.name, "fake", "matplotlib")
        os.makedirs(fake)
        with open(os.path.join(fake, "__init__.py"), "w", encoding="utf-8") as f:
            f.write('raise ImportError("simulated: no matplotlib")\n')
        path = write_json(self.tmp.name, "qd.json", document("qd", qd_cells()))
        env = dict(os.environ, PYTHONPATH=os.path.dirname(fake))
        self.assert_fails_with(run_report(path, "--out", self.out, env=env),
                               "apt-get install python3-matplotlib")


if __name__ == "__main__":
    unittest.main()
