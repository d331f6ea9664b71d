"""Tests of the write path section (report/section_write.py): synthetic write-suite cells in,
report.md's tables, readings and plots checked.

Run from the repository root:
    /usr/bin/python3 -m unittest discover -s report/tests -t . -p "*_test.py"

Every expected number is computed here from the inputs, and each cell's repetitions spread its
figures (x0.9, x1.0, x1.2), so a table that showed the first or the last repetition instead of
the median, swapped modes or paths, or a rate per window instead of per second, fails.
"""

import os
import unittest

from report import results, section_costs
from report.tests import fixtures, report_test
from report.tests.fixtures import document, latency_record, write_record
from report.tests.report_test import RenderedReport, assert_valid_png, tables

SPREAD = (0.9, 1.0, 1.2)  # The repetitions' factors: the median is the figure itself.
RUNTIME_NS = 2_000_000_000  # Counts per window are twice the counts per second.
WAL_PATHS = (("buffered", "fdatasync"), ("direct", "fdatasync"), ("direct", "dsync"))
WAL_BASE_IOPS = {("buffered", "fdatasync"): 1000.0, ("direct", "fdatasync"): 1500.0, ("direct", "dsync"): 700.0}
# CPU per commit of each durability path, so the CPU table's direct rows cannot stand in for each other.
WAL_CPU_FACTOR = {("buffered", "fdatasync"): 1.0, ("direct", "fdatasync"): 1.5, ("direct", "dsync"): 2.0}
WAL_BACKENDS = ("sync", "io_uring")  # Listed io_uring first in the report whatever their order here.
COMMITTERS = (1, 4)
RW_REGIMES = ("thrash", "pressure")  # Listed pressure first.
DEPTHS = (1, 8)
READER_OFF_ID = "checkpoint_qd8/direct/io_uring"


def reps(make):
    """One repetition per factor of SPREAD, from make(factor)."""
    return [make(factor) for factor in SPREAD]


def wal_figures(mode, sync, backend, qd):
    """The medians a wal_commit cell is built around."""
    iops = WAL_BASE_IOPS[(mode, sync)] * qd * (1.0 if backend == "io_uring" else 0.8)
    per_flush = max(1.0, qd / 2)
    return {"iops": iops, "p50_ns": 200_000 // qd, "p99_ns": 900_000 + 1000 * qd,
            "cpu_ns": 30_000.0 / qd * WAL_CPU_FACTOR[(mode, sync)],
            "commits_per_flush": per_flush, "syncs_per_commit": 0.0 if sync == "dsync" else 1 / per_flush,
            "bytes_per_commit": 4096 / per_flush}


def wal_cell(mode, sync, backend, qd):
    f = wal_figures(mode, sync, backend, qd)
    made = fixtures.cell(f"wal_commit_qd{qd}", "write", qd, mode, backend, reps(lambda x: fixtures.repetition(
        f["iops"] * x, int(f["p99_ns"] * x), p50_ns=int(f["p50_ns"] * x), p99_ns=int(f["p99_ns"] * x),
        cpu_ns_per_io=f["cpu_ns"] * x, runtime_ns=RUNTIME_NS, write=write_record(
            sync=sync, commits_per_flush=f["commits_per_flush"] * x, syncs_per_commit=f["syncs_per_commit"] * x,
            bytes_per_commit=f["bytes_per_commit"] * x))), policy=sync, rw="write")
    return dict(made, id=f"{made['id']}/{sync}")


def rw_figures(regime, mode, qd):
    """Fetches/s and the write-backs per second of a bm_rand_rw cell."""
    fetches = (400_000.0 if mode == "buffered" else 50_000.0 * qd) * (1.0 if regime == "pressure" else 0.5)
    written = fetches / 20
    background = written * (0.75 if mode == "direct" else 1.0)
    return {"fetches": fetches, "updates": fetches / 10, "written": written, "background": background,
            "evictor": written - background}


def rw_cell(regime, mode, qd):
    f = rw_figures(regime, mode, qd)
    seconds = RUNTIME_NS / 1e9

    def run(x):
        return fixtures.repetition(
            f["fetches"] * x, 50_000, bs=8192, runtime_ns=RUNTIME_NS, target=qd,
            buffer=fixtures.buffer_record(0.6, 8192, 0.3, qd), write=write_record(
                update_fraction=0.1, writeback_depth=8, updates=int(f["updates"] * x * seconds),
                pages_written=int(f["written"] * x * seconds), background_writebacks=int(f["background"] * x * seconds),
                evictor_writebacks=int(f["evictor"] * x * seconds)))
    return fixtures.cell(f"bm_rand_rw_qd{qd}", "write", qd, mode, "io_uring", reps(run), regime=regime,
                         policy="fixed", rw="randrw", bs=8192)


def checkpoint_figures(mode, qd):
    """Pages/s, the checkpoints and their fdatasync share, the reader's latencies (µs)."""
    return {"pages": (60_000.0 if mode == "buffered" else 15_000.0 * qd), "checkpoints": 10 * qd,
            "mean_ns": 8_000_000.0 / qd, "sync_share": 0.8 if mode == "buffered" else 0.25,
            "during": (30 * qd, 900 * qd), "between": (20, 40)}


def checkpoint_cell(mode, qd):
    f = checkpoint_figures(mode, qd)
    reader_off = f"checkpoint_qd{qd}/{mode}/io_uring" == READER_OFF_ID

    def run(x):
        reader = {} if reader_off else {
            "reader_during_ns": latency_record(100, int(f["during"][0] * 1000 * x), int(f["during"][1] * 1000 * x)),
            "reader_between_ns": latency_record(50, int(f["between"][0] * 1000 * x), int(f["between"][1] * 1000 * x))}
        return fixtures.repetition(f["pages"] * x, 40_000 * qd, bs=8192, runtime_ns=RUNTIME_NS, target=qd,
                                   write=write_record(dirty_pages=512, checkpoints=f["checkpoints"],
                                                      mean_checkpoint_ns=f["mean_ns"] * x,
                                                      sync_ns=int(f["sync_share"] * f["checkpoints"] * f["mean_ns"] * x),
                                                      **reader))
    return fixtures.cell(f"checkpoint_qd{qd}", "write", qd, mode, "io_uring", reps(run), rw="randwrite", bs=8192)


def write_cells():
    """The cells of one `iodepth suite write` run (one memory condition)."""
    return ([wal_cell(mode, sync, backend, qd) for qd in COMMITTERS for backend in WAL_BACKENDS
             for mode, sync in WAL_PATHS]
            + [rw_cell(regime, mode, qd) for regime in RW_REGIMES for qd in DEPTHS for mode in ("buffered", "direct")]
            + [checkpoint_cell(mode, qd) for qd in DEPTHS for mode in ("buffered", "direct")])


def part(markdown, heading):
    """The text under `heading` (a whole line) up to the next heading of any level."""
    lines = markdown.splitlines()
    start = lines.index(heading) + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("#")), len(lines))
    return "\n".join(lines[start:end])


def rows_under(markdown, heading):
    (table,) = tables(part(markdown, heading))
    return table["rows"]


def us(ns):
    return f"{ns / 1e3:,.1f}"


class WriteSectionTest(RenderedReport, unittest.TestCase):
    @classmethod
    def documents(cls):
        return [("write.json", document("write", write_cells())),
                ("patterns.json", document("io_patterns", report_test.patterns_cells()))]

    def test_section_sits_between_the_suites_read_before_it_and_the_patterns(self):
        at = {h: self.md.index(h) for h in ("## Direct / buffered ratios", "## Write path (write), no memory cap",
                                            "## I/O patterns suite", "## CPU per I/O")}
        self.assertLess(at["## Direct / buffered ratios"], at["## Write path (write), no memory cap"])
        self.assertLess(at["## Write path (write), no memory cap"], at["## I/O patterns suite"])
        self.assertLess(at["## I/O patterns suite"], at["## CPU per I/O"])

    def test_one_commit_table_per_durability_path_and_backend_in_order(self):
        headings = [line for line in self.md.splitlines() if line.startswith("#### ") and " + " in line]
        self.assertEqual(headings, [f"#### {mode} + {sync}, {backend}" for mode, sync in WAL_PATHS
                                    for backend in ("io_uring", "sync")])

    def test_commit_tables_hold_the_median_of_each_figure(self):
        for mode, sync in WAL_PATHS:
            for backend in WAL_BACKENDS:
                rows = rows_under(self.md, f"#### {mode} + {sync}, {backend}")
                self.assertEqual([r["committers"] for r in rows], [str(qd) for qd in COMMITTERS])
                for row, qd in zip(rows, COMMITTERS):
                    f = wal_figures(mode, sync, backend, qd)
                    with self.subTest(path=(mode, sync), backend=backend, qd=qd):
                        self.assertEqual(row["commits/s"], f"{f['iops']:,.0f}")
                        self.assertEqual(row["commit p50 µs"], us(f["p50_ns"]))
                        self.assertEqual(row["commit p99 µs"], us(f["p99_ns"]))
                        self.assertEqual(row["commits per flush"], f"{f['commits_per_flush']:.2f}")
                        self.assertEqual(row["syncs per commit"], f"{f['syncs_per_commit']:.2f}")
                        self.assertEqual(row["bytes per commit"], f"{f['bytes_per_commit']:,.0f}")
                        self.assertEqual(row["CPU µs per commit"], f"{f['cpu_ns'] / 1e3:.1f}")
                        self.assertEqual(row["commits/s min–max"],
                                         f"{f['iops'] * SPREAD[0]:,.0f}–{f['iops'] * SPREAD[-1]:,.0f}")

    def test_commit_reading_compares_the_fdatasync_twins(self):
        direct = WAL_BASE_IOPS[("direct", "fdatasync")] / WAL_BASE_IOPS[("buffered", "fdatasync")]
        self.assertIn(f"- wal_commit (fdatasync) / io_uring: direct reaches {direct:.2f}x buffered commits/s "
                      f"at qd 4 (from {direct:.2f}x at qd 1)", self.md)

    def test_updating_reads_per_regime_with_write_backs_per_second(self):
        self.assertLess(self.md.index("#### pressure"), self.md.index("#### thrash"))
        for regime in RW_REGIMES:
            rows = rows_under(self.md, f"#### {regime}")
            self.assertEqual([r["qd"] for r in rows], [str(qd) for qd in DEPTHS])
            for row, qd in zip(rows, DEPTHS):
                d, b = rw_figures(regime, "direct", qd), rw_figures(regime, "buffered", qd)
                with self.subTest(regime=regime, qd=qd):
                    self.assertEqual(row["fetches/s (direct / buffered)"], f"{d['fetches']:,.0f} / {b['fetches']:,.0f}")
                    self.assertEqual(row["fetches/s direct/buffered"], f"{d['fetches'] / b['fetches']:.2f}")
                    for column, key in (("updates/s", "updates"), ("pages written/s", "written"),
                                        ("by the background writer/s", "background"), ("by evictors/s", "evictor")):
                        self.assertEqual(row[f"{column} (direct / buffered)"], f"{d[key]:,.0f} / {b[key]:,.0f}")

    def test_checkpoint_table_per_depth_and_mode(self):
        rows = rows_under(self.md, "### checkpoint: write-back at depth, then fdatasync")
        self.assertEqual([(r["qd"], r["mode"]) for r in rows],
                         [(str(qd), mode) for qd in DEPTHS for mode in ("buffered", "direct")])
        for row in rows:
            qd, mode = int(row["qd"]), row["mode"]
            f = checkpoint_figures(mode, qd)
            with self.subTest(qd=qd, mode=mode):
                self.assertEqual(row["pages/s"], f"{f['pages']:,.0f}")
                self.assertEqual(row["checkpoints"], f"{f['checkpoints']:,}")
                self.assertEqual(row["mean checkpoint ms"], f"{f['mean_ns'] / 1e6:,.2f}")
                self.assertEqual(row["fdatasync share"], f"{f['sync_share']:.0%}")
                if f"checkpoint_qd{qd}/{mode}/io_uring" == READER_OFF_ID:
                    self.assertEqual(row["reader p50 / p99 µs during"], "– / –")
                    self.assertEqual(row["reader p50 / p99 µs between"], "– / –")
                else:
                    self.assertEqual(row["reader p50 / p99 µs during"], f"{f['during'][0]:,.1f} / {f['during'][1]:,.1f}")
                    self.assertEqual(row["reader p50 / p99 µs between"],
                                     f"{f['between'][0]:,.1f} / {f['between'][1]:,.1f}")

    def test_checkpoint_reading_names_the_fdatasync_shares_at_the_deepest_depth(self):
        d, b = checkpoint_figures("direct", 8), checkpoint_figures("buffered", 8)
        self.assertIn(f"- checkpoint / io_uring: direct reaches {d['pages'] / b['pages']:.2f}x buffered pages/s at "
                      f"qd 8 (from {15_000 / 60_000:.2f}x at qd 1), fdatasync taking 25% of a direct checkpoint "
                      "and 80% of a buffered one there", self.md)

    def test_cpu_rows_keep_the_durability_paths_of_one_mode_apart(self):
        # Direct fdatasync and direct dsync wal_commit share family, backend, mode and depth:
        # only the policy tells them apart, and the row names it only where it does.
        rows = rows_under(self.md[self.md.index("## CPU per I/O"):], "### write suite, no memory cap")
        wal = {(r["backend"], r["mode"]): r for r in rows if r["family"] == "wal_commit"}
        self.assertEqual(set(wal), {(backend, "buffered" if mode == "buffered" else f"{mode} + {sync}")
                                    for backend in WAL_BACKENDS for mode, sync in WAL_PATHS})
        for backend in WAL_BACKENDS:
            for mode, sync in WAL_PATHS:
                row = wal[(backend, "buffered" if mode == "buffered" else f"{mode} + {sync}")]
                for qd in COMMITTERS:
                    cpu = [wal_figures(mode, sync, backend, qd)["cpu_ns"] * x / 1e3 for x in SPREAD]
                    with self.subTest(backend=backend, path=(mode, sync), qd=qd):
                        self.assertEqual(row[f"qd {qd}"], f"{cpu[1]:,.2f} ({cpu[0]:,.2f}–{cpu[-1]:,.2f})")
        self.assertEqual({r["mode"] for r in rows if r["family"] != "wal_commit"}, {"buffered", "direct"})

    def test_plots_are_pngs_and_embedded(self):
        for stem in ("write_wal_commit_commits", "write_wal_commit_p99", "write_bm_rand_rw_pressure_fetches",
                     "write_bm_rand_rw_thrash_fetches", "write_checkpoint_pages"):
            with self.subTest(plot=stem):
                assert_valid_png(self, os.path.join(self.out, stem + ".png"))
                self.assertIn(f"]({stem}.png)", self.md)


class MemoryGroupTest(unittest.TestCase):
    """section_costs.memory_section pools a group's cells: fdatasync and dsync stay two groups."""

    def test_durability_paths_of_one_mode_are_separate_groups(self):
        cap = 128 << 20
        cells = [dict(c, memory_cap=cap) for c in write_cells() if c["workload"].startswith("wal_commit")]
        rows = [r for t in tables("\n".join(section_costs.memory_section(cells))) for r in t["rows"]]
        groups = {(r["backend"], r["mode"]): r["cells"] for r in rows}
        self.assertEqual(groups, {(backend, "buffered" if mode == "buffered" else f"{mode} + {sync}"): str(len(COMMITTERS))
                                  for backend in WAL_BACKENDS for mode, sync in WAL_PATHS})


class WriteMetricsTest(unittest.TestCase):
    """The write record's medians, which a cell's median does not carry (results.median_of)."""

    def cell(self, counts):
        return fixtures.cell("bm_rand_rw_qd1", "write", 1, "direct", "io_uring", [
            fixtures.repetition(100.0, 1000, runtime_ns=RUNTIME_NS, write=write_record(updates=n)) for n in counts],
            regime="pressure", policy="fixed", rw="randrw", bs=8192)

    def test_median_of_an_odd_count_is_the_middle_repetition_per_second(self):
        c = self.cell([600, 200, 400])
        self.assertEqual(results.median_of(c, "updates_per_s"), 200.0)
        self.assertEqual(results.spread_of(c, "updates_per_s"), (100.0, 300.0))

    def test_median_of_an_even_count_is_the_mean_of_the_two_middle_ones(self):
        self.assertEqual(results.median_of(self.cell([200, 600, 400, 1000]), "updates_per_s"), 250.0)

    def test_cells_without_a_write_record_have_no_write_figure(self):
        c = fixtures.cell("rand_read_qd1", "qd", 1, "direct", "io_uring", [fixtures.repetition(100.0, 1000)])
        self.assertIsNone(results.median_of(c, "commits_per_flush"))
        self.assertIsNone(results.spread_of(c, "commits_per_flush"))


if __name__ == "__main__":
    unittest.main()
