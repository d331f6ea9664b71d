"""Tests of the concurrent scans section's fairness and strategy (report/section_scan.py), and
of the slowest scan's decision (decide.py, "Measures"): synthetic scan cells whose every scan's
MB/s is chosen here, so the figures the report prints are known.

Run from the repository root:
    /usr/bin/python3 -m unittest discover -s report/tests -t . -p "*_test.py"

The direct io_uring cell at qd 4 is unfair on purpose: its median slowest/fastest (0.096, the
median of the repetitions' ratios) is not the ratio of its median slowest and median fastest
scans (120 / 1400 = 0.086), so a report that divided medians, took one repetition, or took
the mean (0.090) prints another figure. Its total is twice buffered's in every repetition while
its slowest scan is 0.4 of buffered's: the two measures decide opposite ways.
"""

import statistics
import unittest

from report import decide, results, section_scan
from report.tests import fixtures
from report.tests.fixtures import document
from report.tests.report_test import RenderedReport, tables
from report.tests.report_schema3_test import section

PAGE = 8192
STREAMS_MB_S = {  # (backend, qd, mode): each repetition's MB/s per scan.
    ("sync", 1, "buffered"): ([240, 250, 260, 250], [245, 255, 265, 250], [235, 245, 255, 250]),
    ("sync", 1, "direct"): ([240, 250, 260, 250], [245, 255, 265, 250], [235, 245, 255, 250]),
    ("io_uring", 4, "buffered"): ([240, 250, 260, 250], [300, 320, 340, 340], [400, 420, 440, 440]),
    ("io_uring", 4, "direct"): ([1000, 96, 404, 500], [2000, 120, 230, 250], [1400, 160, 840, 1000]),
    ("io_uring", 16, "buffered"): ([600, 620, 640, 640], [610, 630, 650, 610], [590, 600, 620, 640]),
    ("io_uring", 16, "direct"): ([600, 620, 640, 640], [610, 630, 650, 610], [590, 600, 620, 640]),
}
STRATEGY = {("io_uring", 4, "direct"): "clock", ("sync", 1, "buffered"): "clock", ("sync", 1, "direct"): "clock"}


def scan_cell(backend, qd, mode, regime="pressure", strategy=None, streams=None):
    """A multistream_scan cell whose repetitions' scans ran at `streams` MB/s (STREAMS_MB_S
    unless given), total the sum; its scan records carry `strategy` (none: an older file)."""
    reps = []
    for mb_s in streams or STREAMS_MB_S[(backend, qd, mode)]:
        rep = fixtures.repetition(sum(mb_s) * 1e6 / PAGE, 100_000, bs=PAGE, target=len(mb_s) * qd,
                                  buffer=fixtures.buffer_record(0.5, PAGE, 0.3, qd, page_bytes=PAGE))
        rep["scan"] = fixtures.scan_record([v * 1e6 for v in mb_s], strategy)
        reps.append(rep)
    return fixtures.cell(f"multistream_scan_qd{qd}", "scan", qd, mode, backend, reps, regime,
                         "sync" if backend == "sync" else "fixed", rw="read", bs=PAGE)


def scan_cells(regime="pressure", with_strategy=True):
    return [scan_cell(backend, qd, mode, regime,
                      STRATEGY.get((backend, qd, mode), "share") if with_strategy else None)
            for backend, qd, mode in STREAMS_MB_S]


def fairness(backend, qd, mode):
    return statistics.median(min(r) / max(r) for r in STREAMS_MB_S[(backend, qd, mode)])


class StreamMetricsTest(unittest.TestCase):
    """results.py's per-scan summaries of one cell."""

    def test_fairness_is_the_median_of_each_repetitions_slowest_over_fastest(self):
        c = scan_cell("io_uring", 4, "direct")
        self.assertAlmostEqual(results.median_of(c, "stream_fairness"), 96 / 1000)
        self.assertNotAlmostEqual(results.median_of(c, "stream_fairness"), 120 / 1400, places=3)
        self.assertEqual(results.spread_of(c, "stream_fairness"), (120 / 2000, 160 / 1400))
        self.assertAlmostEqual(results.median_of(c, "min_stream_mb_s"), 120.0)

    def test_a_median_record_alone_has_no_fairness(self):
        c = scan_cell("io_uring", 4, "direct")
        self.assertIsNone(results.stream_fairness(c["median"]))
        self.assertIsNone(results.median_of(dict(c, repetitions=[]), "stream_fairness"))

    def test_cells_without_scan_records_have_neither_fairness_nor_strategy(self):
        c = scan_cell("io_uring", 4, "direct")
        for rep in c["repetitions"]:
            rep["scan"] = None
        self.assertIsNone(results.median_of(c, "stream_fairness"))
        self.assertEqual(results.scan_strategies(c), [])
        self.assertEqual(section_scan.strategy_text(c), "–")

    def test_a_scan_record_without_a_strategy_is_the_clock(self):
        self.assertEqual(results.scan_strategies(scan_cell("io_uring", 16, "direct")), ["clock"])
        self.assertEqual(results.scan_strategies(scan_cell("io_uring", 16, "direct", strategy="ring")), ["ring"])

    def test_the_mark_is_below_two_thirds_not_at_it(self):
        at = scan_cell("io_uring", 16, "direct", streams=[[2, 3]] * 3)
        below = scan_cell("io_uring", 16, "direct", streams=[[66, 100]] * 3)
        self.assertEqual(section_scan.fairness_text(at), "0.67")
        self.assertEqual(section_scan.fairness_text(below), "⚠ 0.66")
        self.assertEqual(section_scan.fairness_text(scan_cell("io_uring", 4, "direct")), "⚠ 0.10")


class SlowestScanDecisionTest(unittest.TestCase):
    """decide.compare on the slowest scan: the same rule, another figure of each repetition."""

    def test_the_slowest_scan_is_compared_repetition_by_repetition(self):
        d, b = scan_cell("io_uring", 4, "direct"), scan_cell("io_uring", 4, "buffered")
        total = decide.compare(d, b, measure=decide.suite_throughput)
        slowest = decide.compare(d, b, measure=decide.slowest_scan)
        self.assertEqual((total.outcome, slowest.outcome), (decide.FASTER, decide.SLOWER))
        self.assertAlmostEqual(total.ratio, 2.0)
        self.assertAlmostEqual(slowest.ratio, 0.4)
        self.assertEqual(slowest.n, 3)

    def test_unfair_scans_are_decided_on_the_slowest_scan_unless_told(self):
        # qd 4's direct cell is unfair (0.096): the guidance's comparison is the slowest scan's,
        # and says why; the fair qd 16 pair keeps the total.
        d, b = scan_cell("io_uring", 4, "direct"), scan_cell("io_uring", 4, "buffered")
        chosen = decide.compare(d, b)
        self.assertEqual(chosen.outcome, decide.SLOWER)
        self.assertAlmostEqual(chosen.ratio, 0.4)
        self.assertIn("decided on the slowest scan", chosen.measure_note)
        self.assertIn(d["id"], chosen.measure_note)
        self.assertEqual(chosen.notes, (), "it is not a served-from-memory note")
        fair_d, fair_b = scan_cell("io_uring", 16, "direct"), scan_cell("io_uring", 16, "buffered")
        self.assertEqual(decide.fair_measure(fair_d, fair_b), (decide.suite_throughput, ""))
        self.assertEqual(decide.compare(fair_d, fair_b).ratio,
                         decide.compare(fair_d, fair_b, measure=decide.suite_throughput).ratio)

    def test_without_scan_records_there_is_no_slowest_scan_comparison(self):
        d, b = scan_cell("io_uring", 4, "direct"), scan_cell("io_uring", 4, "buffered")
        for c in (d, b):
            c["median"]["scan"] = None
            for rep in c["repetitions"]:
                rep["scan"] = None
        self.assertIsNone(decide.compare(d, b, measure=decide.slowest_scan))
        self.assertIsNotNone(decide.compare(d, b))


class ScanFairnessReportTest(RenderedReport, unittest.TestCase):
    """pressure: scans that record their strategy; thrash: the same cells from an older file."""

    @classmethod
    def documents(cls):
        return [("scan.json", document("scan", scan_cells() + scan_cells("thrash", with_strategy=False)))]

    def rows(self, regime):
        part = section(self.md, f"### {regime} (S = 4 scans)")
        (table,) = tables(part)
        return table["headers"], {(r["backend"], r["qd"]): r for r in table["rows"]}

    def test_the_guidance_says_which_depths_it_decided_on_the_slowest_scan(self):
        self.assertIn("Decided on the slowest scan at qd 4 (decided on the slowest scan, not the total: "
                      "slowest/fastest below 0.67 (multistream_scan_qd4/direct/io_uring/pressure 0.10)", self.md)

    def test_each_row_shows_both_cells_strategy(self):
        _, rows = self.rows("pressure")
        self.assertEqual(rows[("io_uring", "4")]["strategy (direct / buffered)"], "clock / share")
        self.assertEqual(rows[("io_uring", "16")]["strategy (direct / buffered)"], "share / share")
        self.assertEqual(rows[("sync", "1")]["strategy (direct / buffered)"], "clock / clock")

    def test_an_older_files_scans_read_as_the_clock(self):
        _, rows = self.rows("thrash")
        for row in rows.values():
            self.assertEqual(row["strategy (direct / buffered)"], "clock / clock")

    def test_fairness_and_the_slowest_scan_beside_the_total(self):
        headers, rows = self.rows("pressure")
        total = headers.index("MB/s (direct / buffered)")
        self.assertEqual(headers[total + 1: total + 3], ["slowest scan MB/s (direct / buffered)",
                                                         "slowest/fastest (direct / buffered)"])
        for (backend, qd), row in rows.items():
            d, b = (fairness(backend, int(qd), mode) for mode in ("direct", "buffered"))
            marks = ["⚠ " if v < 2 / 3 else "" for v in (d, b)]
            with self.subTest(backend=backend, qd=qd):
                self.assertEqual(row["slowest/fastest (direct / buffered)"], f"{marks[0]}{d:.2f} / {marks[1]}{b:.2f}")
        row = rows[("io_uring", "4")]
        self.assertEqual(row["MB/s (direct / buffered)"], "2,600.0 / 1,300.0")
        self.assertEqual(row["slowest scan MB/s (direct / buffered)"], "120.0 / 300.0")
        self.assertEqual(row["slowest/fastest (direct / buffered)"], "⚠ 0.10 / 0.91")

    def test_the_slowest_scan_reading_says_where_it_is_not_the_totals(self):
        self.assertIn("- pressure: direct pipelined (io_uring) against buffered sync, equivalent or faster: "
                      "always (from qd 4) (qd 4 ▲ faster, qd 16 ▲ faster); against buffered pipelined "
                      "(io_uring) depth for depth, equivalent or faster: always (from qd 4) (qd 4 ▲ faster, "
                      "qd 16 = equivalent).\n"
                      "  - slowest scan: direct pipelined (io_uring) against buffered sync, equivalent or "
                      "faster: from qd 16 (qd 4 ▼ slower, qd 16 ▲ faster); against buffered pipelined "
                      "(io_uring) depth for depth, equivalent or faster: from qd 16 (qd 4 ▼ slower, qd 16 = "
                      "equivalent); not the total's outcome at buffered sync qd 4 (total ▲ faster), "
                      "buffered pipelined (io_uring) qd 4 (total ▲ faster).", self.md)

    def test_a_fair_regime_reads_the_same_by_both_measures(self):
        fair = [scan_cell(b, qd, m, "hot", "share", streams=STREAMS_MB_S[("io_uring", 16, "buffered")])
                for b, qd, m in STREAMS_MB_S]
        backends = section_scan.group_scan(fair)["hot"]
        self.assertTrue(section_scan.slowest_scan_reading("io_uring", backends)
                        .endswith("; the total's outcome at every depth."))


if __name__ == "__main__":
    unittest.main()
