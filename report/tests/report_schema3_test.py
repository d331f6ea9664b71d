"""End to end: the report (python3 -m report) on schema_version 3 results run under two memory conditions.

The matrix writes one results file per (suite, memory cap); the same cell ids then appear
once per cap. The report must keep them apart (merge key (id, memory_cap)), split every
section by memory condition, and add the Guidance, the ratio tables, the heat maps, the CPU
and the memory sections. Expected values are computed from the synthetic cells built here
(guidance_test's builders), never copied from the report code.
"""

import os
import statistics
import tempfile
import unittest

from report import advice, results
from report.tests import fixtures
from report.tests.fixtures import document, write_json
from report.tests.guidance_test import ALWAYS, CAP, DEPTHS, FROM_16, NEVER, curve, reference_crossover
from report.tests.report_test import RenderedReport, assert_valid_png, table_with

try:
    import tomllib
except ImportError:  # Python before 3.11.
    tomllib = None

MEMORY = {"cgroup": "v2", "cap_bytes": CAP, "peak_bytes": 100 << 20, "page_cache_bytes": 60 << 20,
          "refaults": 500, "limit_events": 2, "oom_kills": 0}
UNCAPPED_MEMORY = dict(MEMORY, cgroup="inherited", cap_bytes=0, peak_bytes=900 << 20, refaults=0,
                       limit_events=0)


def qd_cells(cap):
    """seq_read catches up from qd 16 with no cap and always under the cap; rand_read never."""
    memory = MEMORY if cap else UNCAPPED_MEMORY
    return (curve("seq_read", ALWAYS if cap else FROM_16, cap=cap, memory=memory)
            + curve("rand_read", NEVER, cap=cap, memory=memory))


def bm_cells():
    return (curve("bm_seq_read", FROM_16, suite="bm", regime="thrash", cap=CAP, memory=MEMORY)
            + curve("bm_seq_read", ALWAYS, suite="bm", regime="pressure", cap=CAP, memory=MEMORY))


def ratio_entry_parts(text):
    """"▼ 0.80 [0.79, 0.81] n=5" -> ("▼", 0.80, 0.79, 0.81, 5)."""
    symbol, rest = text.split(" ", 1)
    point, rest = rest.split(" [")
    interval, n = rest.split("] n=")
    lo, hi = interval.split(", ")
    return symbol, float(point), float(lo), float(hi), int(n)


def section(md, heading):
    """The text from `heading` up to the next heading of the same or a higher level."""
    level = heading.split(" ")[0]
    part = md.split(heading + "\n", 1)[1]
    ends = [part.find("\n" + "#" * n + " ") for n in range(2, len(level) + 1)]
    ends = [e for e in ends if e >= 0]
    return part[:min(ends)] if ends else part


class TwoCapReportTest(RenderedReport, unittest.TestCase):
    @classmethod
    def documents(cls):
        cls.cells = qd_cells(0) + qd_cells(CAP) + bm_cells()
        return [("qd-nocap.json", document("qd", qd_cells(0))), ("qd-cap.json", document("qd", qd_cells(CAP))),
                ("bm-cap.json", document("bm", bm_cells(), {"io_combine": 131072}))]

    def cell(self, cell_id, cap):
        return next(c for c in self.cells if c["id"] == cell_id and c["memory_cap"] == cap)

    def test_guidance_comes_first_and_is_split_by_memory_condition(self):
        self.assertLess(self.md.find("## Guidance"), self.md.find("## Sources"))
        self.assertGreater(self.md.find("## Guidance"), 0)
        uncapped = section(self.md, "### no memory cap")
        capped = section(self.md, "### memory cap 128 MiB")
        qd = reference_crossover(FROM_16)
        self.assertIn(f"seq_read, no memory cap, io_uring: direct is equivalent to or faster than "
                      f"buffered at the same qd from qd {qd}", uncapped)
        self.assertIn(f"seq_read_qd{qd}/{{direct,buffered}}/io_uring", uncapped)
        self.assertIn(f"seq_read, memory cap 128 MiB, io_uring: direct is equivalent to or faster "
                      f"than buffered at the same qd at every depth measured, from qd {min(ALWAYS)}", capped)
        self.assertIn("rand_read, memory cap 128 MiB, io_uring: direct stays slower than buffered", capped)
        self.assertIn(f"bm_seq_read, thrash, memory cap 128 MiB, io_uring: direct is equivalent to or "
                      f"faster than buffered at the same qd from qd {qd}", capped)
        self.assertIn("Decided: 4 of 4 (100%) curves", capped)
        self.assertNotIn("memory cap 128 MiB", uncapped)

    def test_compact_guidance_table_names_outcome_and_cells(self):
        rows = [r for r in table_with(section(self.md, "### memory cap 128 MiB"), "rests on")
                if (r["family"], r["regime"]) == ("bm_seq_read", "thrash")]
        self.assertEqual(len(rows), 1)
        qd = reference_crossover(FROM_16)
        self.assertEqual(rows[0]["direct equivalent or faster"], f"from qd {qd}")
        self.assertEqual(rows[0]["rests on"], f"bm_seq_read_qd{qd}/{{direct,buffered}}/io_uring/thrash")
        self.assertEqual(rows[0]["confidence"], "high")

    def test_where_buffered_remains_faster_lists_each_slower_depth(self):
        rows = table_with(section(self.md, "### Where buffered remains faster"), "buffered/direct")
        capped_rand = [r for r in rows if (r["memory"], r["family"]) == ("memory cap 128 MiB", "rand_read")]
        self.assertEqual([int(r["qd"]) for r in capped_rand], [qd for qd in DEPTHS if NEVER[qd] < 1.0])
        first = capped_rand[0]
        self.assertTrue(first["buffered/direct"].startswith(f"{1 / NEVER[1]:.2f}x"))
        cache = statistics.median(MEMORY["page_cache_bytes"] for _ in range(5)) / (1 << 20)
        self.assertEqual(first["buffered side"], f"buffered page cache {cache:,.0f} MiB")

    def test_ratio_tables_hold_the_median_ratio_and_its_interval_per_cap(self):
        for cap, heading, profile in ((0, "### qd suite, no memory cap", FROM_16),
                                      (CAP, "### qd suite, memory cap 128 MiB", ALWAYS)):
            rows = table_with(section(self.md, heading), "qd 16")
            row = next(r for r in rows if (r["family"], r["backend"]) == ("seq_read", "io_uring"))
            for qd in DEPTHS:
                d = self.cell(f"seq_read_qd{qd}/direct/io_uring", cap)
                b = self.cell(f"seq_read_qd{qd}/buffered/io_uring", cap)
                expected = statistics.geometric_mean(x["iops"] / y["iops"] for x, y in
                                                     zip(d["repetitions"], b["repetitions"]))
                symbol, point, lo, hi, n = ratio_entry_parts(row[f"qd {qd}"])
                self.assertEqual(f"{point:.2f}", f"{expected:.2f}")
                self.assertLessEqual(lo, point)
                self.assertLessEqual(point, hi)
                self.assertEqual(n, len(d["repetitions"]))
                self.assertEqual(symbol, "▼" if profile[qd] < 1.0 else "▲")

    def test_heat_maps_exist_per_family_and_cap(self):
        for name in ("ratio_heatmap_qd_seq_read.png", "ratio_heatmap_qd_seq_read_cap128MiB.png",
                     "ratio_heatmap_qd_rand_read_cap128MiB.png", "ratio_heatmap_bm_bm_seq_read_cap128MiB.png"):
            assert_valid_png(self, os.path.join(self.out, name))
            self.assertIn(f"({name})", self.md)
        self.assertFalse(os.path.exists(os.path.join(self.out, "ratio_heatmap_bm_bm_seq_read.png")))

    def test_suite_sections_and_their_plots_are_per_cap(self):
        for heading in ("## Queue depth suite (qd), no memory cap",
                        "## Queue depth suite (qd), memory cap 128 MiB",
                        "## Buffer manager (bm), memory cap 128 MiB"):
            self.assertIn(heading, self.md)
        self.assertNotIn("## Buffer manager (bm), no memory cap", self.md)
        for name in ("qd_seq_read_io_uring_iops.png", "qd_seq_read_io_uring_cap128MiB_iops.png",
                     "qd_seq_read_io_uring_cap128MiB_p95.png", "bm_seq_read_thrash_io_uring_cap128MiB_p95.png"):
            assert_valid_png(self, os.path.join(self.out, name))
        uncapped = section(self.md, "## Queue depth suite (qd), no memory cap")
        row = next(r for r in table_with(uncapped, "IOPS direct/buffered")
                   if (r["family"], r["qd"]) == ("seq_read", "4"))
        self.assertEqual(row["IOPS direct/buffered"], f"{FROM_16[4]:.2f}")
        d, b = (self.cell(f"seq_read_qd4/{m}/io_uring", 0) for m in ("direct", "buffered"))
        iops = [[r["iops"] for r in c["repetitions"]] for c in (d, b)]
        spans = [f"{min(values):,.0f}–{max(values):,.0f}" for values in iops]
        self.assertEqual(row["IOPS min–max (direct / buffered)"], " / ".join(spans))

    def test_cpu_table_shows_median_and_range_per_backend_mode_and_qd(self):
        cpu = section(self.md, "## CPU per I/O")
        rows = table_with(section(cpu, "### qd suite, memory cap 128 MiB"), "mode")
        row = next(r for r in rows if (r["family"], r["backend"], r["mode"]) == ("seq_read", "io_uring", "direct"))
        c = self.cell("seq_read_qd4/direct/io_uring", CAP)
        cpu = [r["cpu_ns_per_io"] / 1e3 for r in c["repetitions"]]
        median = c["median"]["cpu_ns_per_io"] / 1e3
        self.assertEqual(row["qd 4"], f"{median:,.2f} ({min(cpu):,.2f}–{max(cpu):,.2f})")
        assert_valid_png(self, os.path.join(self.out, "cpu_qd_cap128MiB.png"))
        assert_valid_png(self, os.path.join(self.out, "cpu_qd.png"))

    def test_memory_table_pools_each_group_of_cells(self):
        rows = table_with(self.md, "peak MiB")
        row = next(r for r in rows if (r["memory"], r["suite"], r["family"], r["mode"], r["backend"])
                   == ("memory cap 128 MiB", "qd", "seq_read", "buffered", "io_uring"))
        group = [c for c in self.cells if c["memory_cap"] == CAP and c["suite"] == "qd"
                 and c["mode"] == "buffered" and c["workload"].startswith("seq_read_qd")]
        peaks = [r["memory"]["peak_bytes"] / (1 << 20) for c in group for r in c["repetitions"]]
        self.assertEqual(row["peak MiB"],
                         f"{statistics.median(peaks):,.1f} ({min(peaks):,.1f}–{max(peaks):,.1f})")
        self.assertEqual(row["cells"], str(len(group)))
        self.assertEqual(row["cgroup"], "v2")
        self.assertEqual(row["cgroup limit"], results.bytes_text(MEMORY["cap_bytes"]))
        self.assertEqual(row["limit events"], f"{MEMORY['limit_events'] * 5 * len(group):,}")
        uncapped = next(r for r in rows
                        if (r["memory"], r["family"], r["mode"]) == ("no memory cap", "seq_read", "buffered"))
        self.assertEqual(uncapped["cgroup"], "inherited")

    def test_all_cells_table_keeps_both_caps_of_one_id(self):
        rows = [r for r in table_with(self.md, "flags") if r["cell"] == "seq_read_qd4/direct/io_uring"]
        self.assertEqual(sorted(r["memory"] for r in rows), ["memory cap 128 MiB", "no memory cap"])


class InheritedCapTest(unittest.TestCase):
    """memory_cap = 2^64 - 1: the cells ran under the cgroup limit iodepth was started in."""

    def test_labels_and_file_tags_name_the_condition(self):
        self.assertEqual(results.cap_label(results.INHERIT_CAP), "inherited memory cap")
        self.assertEqual(results.cap_tag(results.INHERIT_CAP), "capinherit")
        self.assertEqual(results.cap_label(CAP), "memory cap 128 MiB")
        self.assertEqual(results.cap_tag(CAP), "cap128MiB")
        self.assertEqual((results.cap_label(0), results.cap_tag(0)), ("no memory cap", ""))

    def test_advice_gives_the_limit_the_records_saw(self):
        limit = 96 << 20
        cells = curve("rand_read", FROM_16, cap=results.INHERIT_CAP,
                      memory=dict(MEMORY, cgroup="inherited", cap_bytes=limit))
        entry = advice.advise(cells)["classes"][0]
        self.assertEqual((entry["memory_cap"], entry["memory_condition"]), (limit, "inherit"))
        if tomllib is not None:
            self.assertEqual(tomllib.loads(advice.to_toml({"classes": [entry]}))["classes"][0]["memory_cap"],
                             limit)


class MergeKeyTest(unittest.TestCase):
    def test_same_id_under_two_caps_is_two_cells_and_a_later_file_wins_per_cap(self):
        first = document("qd", curve("seq_read", {4: 0.5}))
        capped = document("qd", curve("seq_read", {4: 0.6}, cap=CAP))
        later = document("qd", curve("seq_read", {4: 0.9}, cap=CAP))
        old = document("qd", curve("seq_read", {4: 0.7}), version=2)
        self.assertNotIn("memory_cap", old["cells"][0])  # Schema 2: no memory_cap, read as 0.
        cells, _ = results.merge([("a", first), ("b", capped), ("c", later), ("d", old)])
        direct = {results.cap_of(c): c for c in cells if c["mode"] == "direct"}
        self.assertEqual(len(cells), 4)
        self.assertAlmostEqual(direct[CAP]["median"]["iops"], 4000 * 0.9, delta=4000 * 0.9 * 0.01)
        self.assertAlmostEqual(direct[0]["median"]["iops"], 4000 * 0.7, delta=4000 * 0.7 * 0.01)

    def test_a_memory_cap_that_is_not_bytes_is_named(self):
        cells = curve("seq_read", {4: 0.5})
        cells[1]["memory_cap"] = "128M"
        with tempfile.TemporaryDirectory() as tmp:
            path = write_json(tmp, "bad.json", document("qd", cells))
            with self.assertRaises(results.ResultsError) as caught:
                results.load_results(path)
        self.assertIn(path, str(caught.exception))
        self.assertIn("cells[1].memory_cap: '128M' is not of type 'integer'", str(caught.exception))


class CrossCheckCellTest(unittest.TestCase):
    """A fio cross-check keeps the iodepth cell of its own file, whichever file wins the merge."""

    def test_cross_check_row_uses_the_run_that_alternated_with_fio(self):
        ours, matrix = (fixtures.cell("rand_read_qd32", "qd", 32, "direct", "io_uring",
                                      [fixtures.repetition(iops, 100_000)]) for iops in (500.0, 100.0))
        check = {"cell": ours["id"], "fio": {"iops": 400.0, "clat_ns_p95": 100_000, "cpu_ns_per_io": 1000.0},
                 "ratio": {"iops": 1.25, "clat_ns_p95": 1.0, "cpu_ns_per_io": 1.5}}
        runs = [("fio-crosscheck.json", document("qd", [ours], crosscheck=[check])),
                ("qd-nocap.json", document("qd", [matrix]))]
        cells, checks = results.merge(runs)
        self.assertEqual(cells[0]["median"]["iops"], 100.0, "the later file wins the merge")
        self.assertEqual(checks[0]["_cell"]["median"]["iops"], 500.0, "the check keeps its own run")


if __name__ == "__main__":
    unittest.main()
