#!/usr/bin/python3
"""Turns iodepth results files into a Markdown report with PNG plots.

Usage:
    /usr/bin/python3 report/report.py RESULTS.json [RESULTS2.json ...] [--out DIR]

Reads results files in the format of docs/BENCHMARKS.md ("Results file", schema_version 1,
2 or 3; records a file lacks are read as absent, see iodepth_results.py) and writes
DIR/report.md plus the plots it embeds. DIR defaults to the first file's name without
".json", followed by "-report". Several files are merged cell by cell on (id, memory_cap);
when two files hold the same cell under the same cap, the later file on the command line wins.

The report answers the project's question (does O_DIRECT catch up with buffered I/O as
queue depth grows?) first with the Guidance (the crossover depth of every curve, with
bootstrap intervals: ratios.py, guidance.py), then the direct/buffered ratio tables and heat
maps, then per memory condition the suites: raw requests (qd), page fetches through the
buffer manager (bm, with the adaptive read-ahead distance against the best fixed one) and
concurrent pipelined scans (scan), then CPU per I/O, memory, and every cell with the flags
that say how far to trust it. Only Debian's python3 with its python3-matplotlib package is
needed (plots: report/report_plots.py, Agg backend, so no display is required).
"""

import argparse
import os
import re
import sys

from iodepth_results import (THROUGHPUT_METRICS, ResultsError, cap_label, cap_of, family_of,
                             is_adaptive, is_ok, load_results, median_of, merge, percentile_ns, ratio,
                             regime_rank, scaled, spread_of, supported_versions_text)
from report_costs import cpu_section, memory_section
from report_guidance import guidance_section, ratios_section
from report_markdown import MARK, both_ranges, cap_stem, flatten, fmt, key_value_table, md_table, range_text
from report_plots import PLOTS_NOTE, QD_AXIS_LABEL, ordered_modes, plot_bars, plot_lines
from ratios import analyse

# fio_crosscheck: an iodepth/fio IOPS ratio below this means iodepth leaves more than 5% on
# the table, so the harness, not the kernel, may be what a cell measures.
FIO_IOPS_RATIO_MIN = 0.95
# A direct/buffered IOPS ratio at or above this counts as "caught up" in the plain reading.
CAUGHT_UP_RATIO = 0.95
# The flags the writer sets (thresholds: src/results/results.h). Unknown flags are still shown.
FLAG_LEGEND = {
    "cv_high": "repetitions disagree: the IOPS coefficient of variation (stddev/mean) is high, "
               "so the median is a weak summary; rerun with more repetitions or a longer runtime.",
    "depth_short": "the device saw less depth than asked for: Little's-law depth (IOPS x mean "
                   "latency) stayed well below the target queue depth, so this is not a clean "
                   "measurement at the depth it names.",
    "cold_but_cached": "a cold-cache cell found part of its working set already in the page cache "
                       "before it ran, so some reads were cache hits.",
    "warm_not_cached": "a warm-cache cell found much of its working set missing from the page "
                       "cache before it ran, so some reads went to the device.",
}
# A problem the person running the report can fix; printed without a traceback.
ReportError = ResultsError


# ---------------------------------------------------------------- Markdown helpers

def cell_label(cell):
    """The cell id, marked when the cell carries flags so a reader cannot miss it."""
    return f"{MARK} {cell['id']}" if cell.get("flags") else cell["id"]


def mode_label(mode, cells):
    states = sorted({c.get("cache_state") for c in cells} - {None, "", "n/a"})
    return f"{mode} ({', '.join(states)})" if states else mode


# ---------------------------------------------------------------- header

def title_section():
    return ["# iodepth report", "",
            "Does direct I/O (O_DIRECT) catch up with buffered I/O as queue depth grows? "
            "Every metric is defined in docs/BENCHMARKS.md."]


def header_section(runs):
    out = ["", "## Sources", ""]
    out.append(md_table(["file", "suite", "created (UTC)", "command", "iodepth", "commit", "cells"], [
        [path, (doc.get("config") or {}).get("suite", "?"), doc.get("created_utc", "?"),
         f"`{doc.get('command', '?')}`", doc.get("iodepth_version", "?"),
         doc.get("git_commit", "?"), len(doc["cells"])] for path, doc in runs]))
    if len(runs) > 1:
        out += ["", "Cells are merged by (id, memory cap); where two files hold the same id under "
                "the same cap, the later file wins."]
    for path, doc in runs:
        title = "## Configuration" if len(runs) == 1 else f"## Configuration of {path}"
        out += ["", title, "", key_value_table(doc.get("config") or {})]
    environments = [doc.get("environment") or {} for _, doc in runs]
    if all(env == environments[0] for env in environments):
        out += ["", "## Environment", "", key_value_table(environments[0])]
        return out
    # Files of one run differ in a few fields (the data file, its mount): the first in
    # full, then only what differs, so the report does not repeat the machine per file.
    out += ["", f"## Environment of {runs[0][0]}", "", key_value_table(environments[0])]
    base = dict(flatten(environments[0]))
    for (path, _), env in zip(runs[1:], environments[1:]):
        rows = dict(flatten(env))
        differing = [[key, rows.get(key, "(absent)")] for key in sorted(set(rows) | set(base))
                     if rows.get(key) != base.get(key)]
        out += ["", f"### Environment of {path}: what differs", "",
                md_table(["key", "value"], differing) if differing else "Nothing: the same environment."]
    return out


# ---------------------------------------------------------------- per-depth series, shared by qd and bm

def group_by_mode(cells, key):
    """{key(cell): {mode: [cells sorted by qd]}}, groups in the order they first appear."""
    groups = {}
    for cell in cells:
        groups.setdefault(key(cell), {}).setdefault(cell.get("mode", "?"), []).append(cell)
    for modes in groups.values():
        for series in modes.values():
            series.sort(key=lambda c: c.get("qd", 1))
    return groups


def depths_of(modes):
    return sorted({c.get("qd", 1) for series in modes.values() for c in series})


def points_of(series, metric):
    """(qd, median, min, max) of `metric` for each cell of `series` that has a median."""
    out = []
    for c in series:
        y = median_of(c, metric)
        if y is not None:
            out.append((c.get("qd", 1), y) + (spread_of(c, metric) or (y, y)))
    return out


def plot_vs_qd(plt, modes, metric, title, quantity, unit, path, xlabel=QD_AXIS_LABEL):
    """One line per mode of `metric` against queue depth: medians, min-max bars."""
    lines = [{"label": mode_label(mode, modes[mode]), "mode": mode, "points": points_of(modes[mode], metric)}
             for mode in ordered_modes(modes)]
    plot_lines(plt, lines, title, quantity, unit, path, xlabel, metric in THROUGHPUT_METRICS)


def mode_pairs(modes):
    """(qd, direct cell, buffered cell) for every depth that has both modes measured."""
    direct = {c.get("qd", 1): c for c in modes.get("direct", [])}
    buffered = {c.get("qd", 1): c for c in modes.get("buffered", [])}
    return [(qd, direct[qd], buffered[qd]) for qd in sorted(set(direct) & set(buffered))]


def median_ratio(a, b, metric):
    return ratio(median_of(a, metric), median_of(b, metric))


def catch_up_reading(label, rows, quantity, there=""):
    """One sentence on how direct/buffered `quantity` moves with depth and where it catches up.

    `rows` are (qd, ratio) in ascending qd; `there` describes the deepest of them.
    """
    if not rows:
        return f"{label}: no depth has both direct and buffered measured."
    (first_qd, first), (last_qd, last) = rows[0], rows[-1]
    text = f"{label}: direct reaches {fmt(last, '.2f')}x buffered {quantity} at qd {last_qd}"
    if len(rows) > 1:
        text += f" (from {fmt(first, '.2f')}x at qd {first_qd})"
    text += there
    caught = [qd for qd, r in rows if r is not None and r >= CAUGHT_UP_RATIO]
    if len(rows) == 1:  # "first" and "never" would claim a trend one depth cannot show.
        return text + f"; {'' if caught else 'not '}within {1 - CAUGHT_UP_RATIO:.0%} of buffered."
    if caught:
        return text + f"; first within {1 - CAUGHT_UP_RATIO:.0%} of buffered at qd {caught[0]}."
    return text + f"; never within {1 - CAUGHT_UP_RATIO:.0%} of buffered."


# ---------------------------------------------------------------- qd suite

def group_qd(cells):
    """{(family, backend): {mode: [cells sorted by qd]}} for the measured qd cells only."""
    measured = [c for c in cells if c.get("suite") == "qd" and is_ok(c)]
    return group_by_mode(measured, lambda c: (family_of(c), c.get("backend", "?")))


def ratio_rows(modes):
    """Rows (qd, direct/buffered IOPS, p95) for every depth that has both modes measured."""
    return [(qd, median_ratio(d, b, "iops"), median_ratio(d, b, "p95_us"), d, b)
            for qd, d, b in mode_pairs(modes)]


def plain_reading(family, backend, rows):
    there = (f", with {fmt(rows[-1][2], '.2f')}x buffered's p95 latency there" if rows else "")
    return catch_up_reading(f"{family} / {backend}", [(r[0], r[1]) for r in rows], "IOPS", there)


def qd_plots(plt, family, backend, modes, out_dir, cap):
    """Writes the IOPS and p95 plots of one family and backend; returns their Markdown."""
    stem, where = cap_stem(cap, "qd", family, backend), f"{family}, {backend}, {cap_label(cap)}"
    plot_vs_qd(plt, modes, "iops", f"{where}: IOPS vs queue depth",
               "IOPS", "requests/s", os.path.join(out_dir, stem + "_iops.png"))
    plot_vs_qd(plt, modes, "p95_us", f"{where}: p95 latency vs queue depth",
               "p95 completion latency", "µs", os.path.join(out_dir, stem + "_p95.png"))
    return ["", f"### {family}, {backend}", "",
            f"![{family} {backend} IOPS]({stem}_iops.png)",
            f"![{family} {backend} p95]({stem}_p95.png)"]


def qd_section(plt, cells, out_dir, cap=0):
    """The answer first (direct/buffered ratios and their reading), then the plots, for the
    cells of one memory condition (`cap`)."""
    groups = group_qd(cells)
    if not groups:
        return []
    table, readings, plots = [], [], []
    for (family, backend), modes in groups.items():
        rows = ratio_rows(modes)
        readings.append(plain_reading(family, backend, rows))
        table += [[family, backend, qd, fmt(median_of(d, "iops"), ",.0f"),
                   fmt(median_of(b, "iops"), ",.0f"), fmt(ri, ".2f"),
                   fmt(median_of(d, "p95_us")), fmt(median_of(b, "p95_us")), fmt(rp, ".2f"),
                   both_ranges(d, b, "iops", ",.0f"), both_ranges(d, b, "p95_us", ",.1f")]
                  for qd, ri, rp, d, b in rows]
        plots += qd_plots(plt, family, backend, modes, out_dir, cap)
    out = ["", f"## Queue depth suite (qd), {cap_label(cap)}", "", "### Direct / buffered", "",
           "Ratio = direct median / buffered median. An IOPS ratio above 1 means direct is "
           "faster; a p95 ratio above 1 means direct is slower. The last two columns span the "
           "repetitions (min–max).", "",
           md_table(["family", "backend", "qd", "direct IOPS", "buffered IOPS",
                     "IOPS direct/buffered", "direct p95 µs", "buffered p95 µs",
                     "p95 direct/buffered", "IOPS min–max (direct / buffered)",
                     "p95 µs min–max (direct / buffered)"], table), ""]
    out += [f"- {r}" for r in readings]
    out += ["", PLOTS_NOTE]
    return out + plots


# ---------------------------------------------------------------- bm suite

def bm_family(cell):
    """"bm_seq_read_qd32" and "bm_seq_read_adaptive" -> "bm_seq_read"."""
    return re.sub(r"_adaptive$", "", family_of(cell))


def is_sequential(cell):
    return cell.get("rw") in ("read", "write")


def measured_bm(cells):
    return [c for c in cells if c.get("suite") == "bm" and is_ok(c)]


def group_bm(cells):
    """{(family, regime, backend): {mode: [fixed-distance cells by qd]}}, regimes in order.

    The sync backend's qd 1 cells form their own groups (backend "sync"); adaptive cells are
    left out: they have no depth of their own and are set against the fixed ones elsewhere.
    """
    fixed = [c for c in measured_bm(cells) if not is_adaptive(c)]
    groups = group_by_mode(fixed, lambda c: (bm_family(c), c.get("regime") or "?",
                                             c.get("backend", "?")))
    families = list(dict.fromkeys(key[0] for key in groups))
    # sorted() is stable, so backends keep the order the suite ran them in.
    return dict(sorted(groups.items(), key=lambda kv: (families.index(kv[0][0]),
                                                       regime_rank(kv[0][1]))))


def both(d, b, metric, spec):
    """"direct / buffered" for one metric, so a table row stays one line wide."""
    return f"{fmt(median_of(d, metric), spec)} / {fmt(median_of(b, metric), spec)}"


def bm_row(regime, backend, qd, d, b):
    return [regime, backend, qd, fmt(median_of(d, "iops"), ",.0f"), fmt(median_of(b, "iops"), ",.0f"),
            fmt(median_ratio(d, b, "iops"), ".2f"), both(d, b, "mb_s", ",.1f"),
            both(d, b, "hit_ratio", ".2f"), both(d, b, "mean_read_kib", ",.1f"),
            both(d, b, "wait_fraction", ".1%"), both_ranges(d, b, "iops", ",.0f")]


BM_HEADERS = ["regime", "backend", "qd", "direct fetches/s", "buffered fetches/s",
              "fetches/s direct/buffered", "MB/s (direct / buffered)", "hit ratio (direct / buffered)",
              "mean read KiB (direct / buffered)", "wait (direct / buffered)",
              "fetches/s min–max (direct / buffered)"]


def bm_reading(family, regime, backend, pairs):
    rows = [(qd, median_ratio(d, b, "iops")) for qd, d, b in pairs]
    there = ""
    if pairs:
        _, d, b = pairs[-1]
        there = (f", hit ratio {fmt(median_of(d, 'hit_ratio'), '.2f')} direct vs "
                 f"{fmt(median_of(b, 'hit_ratio'), '.2f')} buffered there, the consumer waiting "
                 f"{fmt(median_of(d, 'wait_fraction'), '.0%')} vs "
                 f"{fmt(median_of(b, 'wait_fraction'), '.0%')} of the run")
    return catch_up_reading(f"{family} / {regime} / {backend}", rows, "page fetches/s", there)


DISTANCE_AXIS_LABEL = "read-stream distance (qd: reads in flight at most, log2 scale)"


def bm_plot(plt, family, regime, backend, modes, out_dir, cap):
    """Writes the throughput and p95 plots of one group; returns their Markdown (none for one
    depth). Sequential families plot MB/s, the quantity a scan is judged by; random ones fetches/s.
    """
    if len(depths_of(modes)) < 2:
        return []  # One depth is a table row, not a curve.
    sequential = all(is_sequential(c) for series in modes.values() for c in series)
    metric, quantity, unit, name = (("mb_s", "throughput", "MB/s, 10^6 bytes/s", "mbps") if sequential
                                    else ("iops", "page fetches", "fetches/s", "fetches"))
    stem, where = cap_stem(cap, family, regime, backend), f"{family}, {regime}, {backend}, {cap_label(cap)}"
    plot_vs_qd(plt, modes, metric, f"{where}: {quantity} vs distance", quantity, unit,
               os.path.join(out_dir, f"{stem}_{name}.png"), xlabel=DISTANCE_AXIS_LABEL)
    plot_vs_qd(plt, modes, "p95_us", f"{where}: p95 read latency vs distance",
               "p95 read latency", "µs", os.path.join(out_dir, f"{stem}_p95.png"),
               xlabel=DISTANCE_AXIS_LABEL)
    return ["", f"#### {family}, {regime}, {backend}", "",
            f"![{family} {regime} {backend} {quantity}]({stem}_{name}.png)",
            f"![{family} {regime} {backend} p95]({stem}_p95.png)"]


def best_fixed(adaptive, cells):
    """The fixed-distance cell with the highest median MB/s in the adaptive cell's family,
    regime, mode and backend (the lower distance on a tie), or None when there is none."""
    key = (bm_family(adaptive), adaptive.get("regime"), adaptive.get("mode"), adaptive.get("backend"))
    rivals = [c for c in measured_bm(cells)
              if not is_adaptive(c) and c.get("policy") != "sync" and median_of(c, "mb_s") is not None
              and (bm_family(c), c.get("regime"), c.get("mode"), c.get("backend")) == key]
    return max(rivals, key=lambda c: (median_of(c, "mb_s"), -c.get("qd", 1)), default=None)


def adaptive_rows(cells):
    """(adaptive cell, best fixed cell or None, adaptive/best MB/s) for each adaptive cell."""
    adaptive = sorted((c for c in measured_bm(cells) if is_adaptive(c)),
                      key=lambda c: regime_rank(c.get("regime")))
    rows = []
    for cell in adaptive:
        best = best_fixed(cell, cells)
        rows.append((cell, best, median_ratio(cell, best, "mb_s") if best else None))
    return rows


def adaptive_reading(rows):
    compared = [(a, best, r) for a, best, r in rows if r is not None]
    if not compared:
        return "No adaptive cell has a fixed-distance cell in its regime, mode and backend to compare with."
    close = sum(1 for _, _, r in compared if r >= CAUGHT_UP_RATIO)
    a, best, r = min(compared, key=lambda row: row[2])
    return (f"Adaptive is within {1 - CAUGHT_UP_RATIO:.0%} of the best fixed distance, or faster, "
            f"in {close} of {len(compared)} (regime, mode, backend) groups; its lowest is "
            f"{fmt(r, '.2f')}x in {a.get('regime')} / {a.get('mode')} / {a.get('backend')}, where "
            f"the best fixed distance is qd {best.get('qd')} and adaptive averaged a distance of "
            f"{fmt(median_of(a, 'mean_distance'), '.1f')}.")


def adaptive_section(cells):
    rows = adaptive_rows(cells)
    if not rows:
        return []
    table = [[bm_family(a), a.get("regime", "?"), a.get("mode", "?"), a.get("backend", "?"),
              fmt(median_of(a, "mb_s")), fmt(median_of(best, "mb_s")) if best else "–",
              best.get("qd", "–") if best else "–", fmt(r, ".2f"),
              fmt(median_of(a, "mean_distance"), ".1f"), a.get("qd", "–"),
              f"{range_text(a, 'mb_s')} / {range_text(best, 'mb_s')}"] for a, best, r in rows]
    return ["", "### Adaptive distance against the best fixed distance", "",
            "Best fixed = the fixed-distance cell with the highest median MB/s in the same "
            "family, regime, mode and backend. A ratio above 1 means adaptive is faster.", "",
            md_table(["family", "regime", "mode", "backend", "adaptive MB/s", "best fixed MB/s",
                      "best fixed qd", "adaptive/best fixed", "adaptive mean distance",
                      "max distance", "MB/s min–max (adaptive / best fixed)"], table),
            "", f"- {adaptive_reading(rows)}"]


def bm_section(plt, cells, out_dir, cap=0):
    """Direct/buffered page fetches per depth and their reading, the adaptive distance, plots,
    for the cells of one memory condition (`cap`)."""
    groups = group_bm(cells)
    if not groups and not adaptive_rows(cells):
        return []
    out = ["", f"## Buffer manager (bm), {cap_label(cap)}", "",
           "Page fetches through the buffer manager (docs/BENCHMARKS.md, \"bm\"). Fetches/s counts "
           "every page handed to the consumer, hits included; MB/s is their page bytes. Ratio = "
           "direct median / buffered median. Mean read KiB is the size of a read after "
           "combining adjacent misses; wait is the fraction of the run the consumer spent "
           "waiting for I/O. Backend sync is BufferManager::Fetch with one pread per miss (qd 1 only)."]
    readings, plots = [], []
    for family in dict.fromkeys(key[0] for key in groups):
        table = []
        for (fam, regime, backend), modes in groups.items():
            if fam != family:
                continue
            pairs = mode_pairs(modes)
            table += [bm_row(regime, backend, qd, d, b) for qd, d, b in pairs]
            readings.append(bm_reading(family, regime, backend, pairs))
            plots += bm_plot(plt, family, regime, backend, modes, out_dir, cap)
        out += ["", f"### {family}: direct / buffered", "", md_table(BM_HEADERS, table)]
    out += [""] + [f"- {r}" for r in readings]
    out += adaptive_section(cells)
    if plots:
        out += ["", "### Throughput vs distance", "", PLOTS_NOTE] + plots
    return out


# ---------------------------------------------------------------- scan suite

def group_scan(cells):
    """{regime: {backend: {mode: [cells by qd]}}} of the measured scan cells, regimes in order,
    backends in the order the suite ran them."""
    measured = [c for c in cells if c.get("suite") == "scan" and is_ok(c)]
    groups = group_by_mode(measured, lambda c: (c.get("regime") or "?", c.get("backend", "?")))
    by_regime = {}
    for (regime, backend), modes in sorted(groups.items(), key=lambda kv: regime_rank(kv[0][0])):
        by_regime.setdefault(regime, {})[backend] = modes
    return by_regime


SCAN_HEADERS = ["backend", "qd", "MB/s (direct / buffered)", "MB/s direct/buffered",
                "rows/s (direct / buffered)", "slowest scan MB/s (direct / buffered)",
                "wait (direct / buffered)", "hit ratio (direct / buffered)",
                "CPU µs/page (direct / buffered)", "MB/s min–max (direct / buffered)"]


def scan_row(backend, qd, d, b):
    return [backend, qd, both(d, b, "mb_s", ",.1f"), fmt(median_ratio(d, b, "mb_s"), ".2f"),
            both(d, b, "rows_per_s", ",.0f"), both(d, b, "min_stream_mb_s", ",.1f"),
            both(d, b, "wait_fraction", ".1%"), both(d, b, "hit_ratio", ".2f"),
            both(d, b, "cpu_us_per_io", ".2f"), both_ranges(d, b, "mb_s", ",.1f")]


def overtake_phrase(points, rival):
    """Where x first reaches or beats y in `points`, (qd, x MB/s, y MB/s) by ascending qd:
    "overtakes RIVAL at qd N (X MB/s vs Y)", or that it does not up to the deepest qd."""
    points = [p for p in points if p[1] is not None and p[2] is not None]
    for index, (qd, x, y) in enumerate(points):
        if x >= y:
            return f"overtakes {rival} {'already ' if index == 0 else ''}at qd {qd} ({fmt(x)} MB/s vs {fmt(y)})"
    if not points:
        return f"has no depth to compare with {rival}"
    qd, x, y = points[-1]
    return f"does not overtake {rival} up to qd {qd} ({fmt(x)} MB/s vs {fmt(y)})"


def crossover_reading(regime, backend, backends):
    """Where direct pipelined MB/s overtakes buffered sync (qd 1), and buffered pipelined at
    the same qd, for one pipelined backend of one regime."""
    direct = [(c.get("qd", 1), median_of(c, "mb_s")) for c in backends[backend].get("direct", [])]
    sync = [median_of(c, "mb_s") for c in (backends.get("sync") or {}).get("buffered", [])] or [None]
    buffered = {c.get("qd", 1): median_of(c, "mb_s") for c in backends[backend].get("buffered", [])}
    vs_sync = overtake_phrase([(qd, x, sync[0]) for qd, x in direct], "buffered sync")
    vs_buffered = overtake_phrase([(qd, x, buffered.get(qd)) for qd, x in direct],
                                  f"buffered pipelined ({backend}) depth for depth")
    return f"{regime}: direct pipelined ({backend}) {vs_sync}; it {vs_buffered}."


def scan_lines(backends, metric):
    return [{"label": f"{mode}, {backend}", "mode": mode, "backend": backend,
             "points": points_of(backends[backend][mode], metric)}
            for mode in ordered_modes({m for modes in backends.values() for m in modes})
            for backend in backends if mode in backends[backend]]


def scan_plot(plt, regime, backends, out_dir, cap):
    """MB/s against distance of every (mode, backend) of one regime, buffered sync as a level,
    and their p95 page-read latency."""
    if len({c.get("qd", 1) for modes in backends.values() for s in modes.values() for c in s}) < 2:
        return []  # One depth is a table row, not a curve.
    sync = [median_of(c, "mb_s") for c in (backends.get("sync") or {}).get("buffered", [])]
    levels = [(sync[0], "buffered sync (qd 1) level", "buffered")] if sync and sync[0] else []
    stem, where = cap_stem(cap, "scan", regime), f"multistream_scan, {regime}, {cap_label(cap)}"
    xlabel, legend = "read-ahead distance per scan (qd, log2 scale)", "mode, backend (median; bars: min-max)"
    plot_lines(plt, scan_lines(backends, "mb_s"), f"{where}: MB/s vs distance", "throughput of all scans",
               "MB/s, 10^6 bytes/s", os.path.join(out_dir, stem + "_mbps.png"), xlabel,
               legend_title=legend, hlines=levels)
    plot_lines(plt, scan_lines(backends, "p95_us"), f"{where}: p95 page-read latency vs distance",
               "p95 page-read latency", "µs", os.path.join(out_dir, stem + "_p95.png"), xlabel,
               throughput=False, legend_title=legend)
    return ["", f"#### {regime}", "", f"![multistream_scan {regime} MB/s]({stem}_mbps.png)",
            f"![multistream_scan {regime} p95]({stem}_p95.png)"]


def streams_of(backends):
    counts = {(r.get("scan") or {}).get("streams") for modes in backends.values()
              for s in modes.values() for c in s for r in c.get("repetitions") or []} - {None}
    return f" (S = {', '.join(map(str, sorted(counts)))} scans)" if counts else ""


def scan_section(plt, cells, out_dir, cap=0):
    """Direct/buffered MB/s of concurrent scans per regime and backend, the crossover, plots,
    for the cells of one memory condition (`cap`)."""
    groups = group_scan(cells)
    if not groups:
        return []
    out = ["", f"## Concurrent scans (multistream_scan), {cap_label(cap)}", "",
           "S scans at once over one shared buffer pool, each checking its answer "
           "(docs/BENCHMARKS.md, \"scan\"); qd is each scan's read-ahead distance (S x qd reads "
           "in flight at most). MB/s is the page bytes of all scans together; ratio = direct "
           "median / buffered median; rows/s counts the rows of all scans; slowest scan is the "
           "MB/s of the slowest of the S scans; wait is the fraction of S x runtime the scans "
           "waited for I/O (1 - wait is the overlap of I/O with processing achieved); CPU µs/page "
           "is CPU time per page. Backend sync fetches one page at a time, no read-ahead (qd 1 only)."]
    readings, plots = [], []
    for regime, backends in groups.items():
        table = [scan_row(backend, qd, d, b) for backend, modes in backends.items()
                 for qd, d, b in mode_pairs(modes)]
        out += ["", f"### {regime}{streams_of(backends)}", "", md_table(SCAN_HEADERS, table)]
        readings += [crossover_reading(regime, backend, backends) for backend in backends if backend != "sync"]
        plots += scan_plot(plt, regime, backends, out_dir, cap)
    out += ["", "### Crossover", "",
            "The smallest qd at which direct pipelined MB/s reaches or beats buffered sync (one "
            "page at a time, qd 1), and buffered pipelined at the same qd.", ""]
    out += [f"- {r}" for r in readings]
    if plots:
        out += ["", "### MB/s vs distance", "", PLOTS_NOTE] + plots
    return out


# ---------------------------------------------------------------- io_patterns suite

def plot_patterns(plt, cells, path):
    """Grouped bars: IOPS per (pattern, backend), one bar per mode, min-max error bars."""
    values = {}
    for c in cells:
        y = median_of(c, "iops") or 0
        values[(c.get("workload", "?"), c.get("backend", "?"), c.get("mode", "?"))] = (
            (y,) + (spread_of(c, "iops") or (y, y)))
    plot_bars(plt, list(dict.fromkeys((c.get("workload", "?"), c.get("backend", "?")) for c in cells)),
              ordered_modes({c.get("mode", "?") for c in cells}), values,
              f"io_patterns, {cap_label(cap_of(cells[0]))}: IOPS per pattern, by mode",
              "IOPS (requests/s, median; bars: min-max)", "pattern / backend", path)


def patterns_section(plt, cells, out_dir, cap=0):
    cells = [c for c in cells if c.get("suite") == "io_patterns" and is_ok(c)]
    if not cells:
        return []
    stem = cap_stem(cap, "io_patterns_iops")
    plot_patterns(plt, cells, os.path.join(out_dir, stem + ".png"))
    rows = [[cell_label(c), fmt(median_of(c, "iops"), ",.0f"), fmt(median_of(c, "mb_s")),
             fmt(median_of(c, "mean_us")), fmt(median_of(c, "p50_us")), fmt(median_of(c, "p95_us")),
             fmt(median_of(c, "p99_us")), fmt(median_of(c, "cpu_us_per_io"), ".2f"),
             fmt((c.get("cv") or {}).get("iops"), ".1%"), range_text(c, "iops", ",.0f"),
             range_text(c, "p95_us")] for c in cells]
    return ["", f"## I/O patterns suite (io_patterns), {cap_label(cap)}", "",
            md_table(["cell", "IOPS", "MB/s", "mean µs", "p50 µs", "p95 µs", "p99 µs",
                      "CPU µs/IO", "CV IOPS", "IOPS min–max", "p95 µs min–max"], rows),
            "", f"![io_patterns IOPS]({stem}.png)"]


# ---------------------------------------------------------------- every cell

def several_caps(cells):
    """True when the cells ran under a memory cap, so an id alone no longer names one cell."""
    return any(cap_of(c) for c in cells)


def all_cells_columns(measured):
    """(header, cell -> text) for the all-cells table; regime and hit ratio only with bm or scan cells,
    since every other suite would fill them with dashes, and memory only with capped cells."""
    def cv(c, key):
        return fmt((c.get("cv") or {}).get(key), ".1%")
    has_bm = any(c.get("suite") in ("bm", "scan") for c in measured)
    columns = [("cell", cell_label), ("suite", lambda c: c.get("suite", "?")),
               ("qd", lambda c: c.get("qd", "–"))]
    if several_caps(measured):
        columns.append(("memory", lambda c: cap_label(cap_of(c))))
    if has_bm:
        columns.append(("regime", lambda c: c.get("regime") or "–"))
    columns += [("cache", lambda c: c.get("cache_state", "–")),
                ("IOPS", lambda c: fmt(median_of(c, "iops"), ",.0f")),
                ("MB/s", lambda c: fmt(median_of(c, "mb_s")))]
    if has_bm:
        columns.append(("hit ratio", lambda c: fmt(median_of(c, "hit_ratio"), ".2f")))
    return columns + [
        ("p95 µs", lambda c: fmt(median_of(c, "p95_us"))),
        ("CPU µs/IO", lambda c: fmt(median_of(c, "cpu_us_per_io"), ".2f")),
        ("depth", lambda c: fmt(median_of(c, "littles_law"), ".1f")),
        ("CV IOPS", lambda c: cv(c, "iops")), ("CV p95", lambda c: cv(c, "clat_ns_p95")),
        ("reps", lambda c: len(c.get("repetitions") or [])),
        ("IOPS min–max", lambda c: range_text(c, "iops", ",.0f")),
        ("p95 µs min–max", lambda c: range_text(c, "p95_us")),
        ("flags", lambda c: ", ".join(f"**{f}**" for f in c.get("flags") or []) or "–")]


def all_cells_section(cells):
    measured = [c for c in cells if is_ok(c)]
    columns = all_cells_columns(measured)
    rows = [[get(c) for _, get in columns] for c in measured]
    out = ["", "## All measured cells", "",
           f"Medians over repetitions; min–max columns span the repetitions. {MARK} marks a cell "
           "with flags; read its numbers with the flag in mind. Depth is the Little's-law depth "
           "(IOPS x mean latency)."]
    if any(c.get("suite") == "bm" for c in measured):
        out[-1] += (" For bm cells IOPS is page fetches/s (hits included) and p95 is the "
                    "latency of a read request.")
    if any(c.get("suite") == "scan" for c in measured):
        out[-1] += (" For scan cells IOPS is pages/s of all scans together, p95 the latency of a "
                    "page read and CPU µs/IO the CPU time per page.")
    out += ["", md_table([name for name, _ in columns], rows)]
    used = sorted({f for c in measured for f in c.get("flags") or []})
    out += ["", "Flags:", ""]
    out += [f"- **{name}**: {text}" for name, text in FLAG_LEGEND.items()]
    out += [f"- **{name}**: not known to this report; see src/results/results.h."
            for name in used if name not in FLAG_LEGEND]
    return out + not_measured_section(cells)


def not_measured_section(cells):
    skipped = [c for c in cells if not is_ok(c)]
    if not skipped:
        return []
    headers = ["cell", "status", "reason"] + (["memory"] if several_caps(cells) else [])
    rows = [[c["id"], c.get("status", "?"), c.get("reason") or "(no reason given)"]
            + ([cap_label(cap_of(c))] if several_caps(cells) else []) for c in skipped]
    return ["", "## Cells not measured", "",
            "These cells have no measurements (unsupported here, or failed); they appear in no "
            "plot or ratio.", "",
            md_table(headers, rows)]


# ---------------------------------------------------------------- fio cross-check

def crosscheck_row(check, cells_by_key):
    cell = check.get("_cell") or cells_by_key.get((check["cell"], check.get("memory_cap") or 0))
    fio = check.get("fio") or {}
    given = check.get("ratio") or {}
    ours = {"iops": median_of(cell, "iops") if cell else None,
            "clat_ns_p95": percentile_ns(cell.get("median") or {}, 95) if cell else None,
            "cpu_ns_per_io": (cell.get("median") or {}).get("cpu_ns_per_io") if cell else None}
    # Prefer the ratio the cross-check recorded; compute it only when it is missing.
    ratios = {k: given.get(k, ratio(ours[k], fio.get(k))) for k in ours}
    iops_ratio = fmt(ratios["iops"], ".2f")
    if ratios["iops"] is not None and ratios["iops"] < FIO_IOPS_RATIO_MIN:
        iops_ratio = f"{MARK} {iops_ratio}"
    return [check["cell"], fmt(ours["iops"], ",.0f"), fmt(fio.get("iops"), ",.0f"), iops_ratio,
            fmt(scaled(ours["clat_ns_p95"], 1e3)), fmt(scaled(fio.get("clat_ns_p95"), 1e3)),
            fmt(ratios["clat_ns_p95"], ".2f"), fmt(scaled(ours["cpu_ns_per_io"], 1e3), ".2f"),
            fmt(scaled(fio.get("cpu_ns_per_io"), 1e3), ".2f"), fmt(ratios["cpu_ns_per_io"], ".2f")]


def crosscheck_section(checks, cells):
    out = ["", "## fio cross-check", ""]
    if not checks:
        return out + ["No fio cross-check in these results."]
    cells_by_key = {(c["id"], cap_of(c)): c for c in cells}
    rows = [crosscheck_row(check, cells_by_key) for check in checks]
    return out + ["Each row is a run of the cell through iodepth alternating with its fio job on one file "
                  "(fio/fio_crosscheck); iodepth's figures are from that run. "
                  f"Ratio = iodepth / fio on the same cell. {MARK} marks an IOPS ratio below "
                  f"{FIO_IOPS_RATIO_MIN:.2f}: iodepth is more than {1 - FIO_IOPS_RATIO_MIN:.0%} "
                  "slower than fio there.", "",
                  md_table(["cell", "iodepth IOPS", "fio IOPS", "IOPS ratio", "iodepth p95 µs",
                            "fio p95 µs", "p95 ratio", "iodepth CPU µs/IO", "fio CPU µs/IO",
                            "CPU ratio"], rows)]


# ---------------------------------------------------------------- main

def suite_sections(plt, cells, out_dir):
    """The per-suite sections once per memory condition, no cap first."""
    out = []
    for cap in sorted({cap_of(c) for c in cells}):
        part = [c for c in cells if cap_of(c) == cap]
        out += (qd_section(plt, part, out_dir, cap) + bm_section(plt, part, out_dir, cap)
                + scan_section(plt, part, out_dir, cap) + patterns_section(plt, part, out_dir, cap))
    return out


def import_pyplot():
    try:
        import matplotlib
    except ImportError:
        raise ReportError("matplotlib is missing; install it with: "
                          "apt-get install python3-matplotlib (and run /usr/bin/python3)") from None
    matplotlib.use("Agg")  # Files only: never needs a display.
    import matplotlib.pyplot as plt
    return plt


def default_out_dir(path):
    return (path[:-len(".json")] if path.endswith(".json") else path) + "-report"


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Write a Markdown report with plots from "
                                                 "iodepth results files (schema_version "
                                                 f"{supported_versions_text()}).")
    parser.add_argument("results", nargs="+",
                        help="results JSON files; later ones win on equal (cell id, memory cap)")
    parser.add_argument("--out", help="output directory (default: first file without .json, + -report)")
    return parser.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    try:
        runs = [(path, load_results(path)) for path in args.results]
        plt = import_pyplot()
        out_dir = args.out or default_out_dir(args.results[0])
        try:
            os.makedirs(out_dir, exist_ok=True)
        except OSError as e:
            raise ReportError(f"cannot create output directory {out_dir}: {e.strerror}") from None
        cells, checks = merge(runs)
        analysis = analyse(cells)
        lines = (title_section() + guidance_section(analysis) + header_section(runs)
                 + ratios_section(plt, analysis, out_dir) + suite_sections(plt, cells, out_dir)
                 + cpu_section(plt, cells, out_dir) + memory_section(cells)
                 + all_cells_section(cells) + crosscheck_section(checks, cells))
        report = os.path.join(out_dir, "report.md")
        with open(report, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
    except ReportError as e:
        print(f"report.py: error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
