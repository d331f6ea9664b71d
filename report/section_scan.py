"""The concurrent scans section (multistream_scan): S scans sharing one buffer pool, MB/s of
all of them per regime, backend and read-ahead distance, direct against buffered, with how the
scans took their frames (strategy) and how evenly they went (the slowest scan's MB/s beside the
total, slowest / fastest marked below the target); where direct pipelined overtakes buffered
sync and buffered pipelined, by the total and by the slowest scan (decide.py, "Measures"); the
MB/s and latency curves.
"""

import os

from .markdown import MARK, both, both_ranges, cap_stem, fmt, md_table
from .plots import PLOTS_NOTE, plot_lines
from .results import FAIR_STREAM_SHARE, cap_label, is_ok, is_unfair, median_of, scan_strategies
from .decide import SYMBOLS, compare, crossover_of, crossover_text, slowest_scan, suite_throughput
from .series import group_by_regime, median_ratio, mode_backend_lines, mode_pairs, outcomes_text


def group_scan(cells):
    """{regime: {backend: {mode: [cells by qd]}}} of the measured scan cells, regimes in order,
    backends in the order the suite ran them."""
    return group_by_regime([c for c in cells if c.get("suite") == "scan" and is_ok(c)])


SCAN_HEADERS = ["backend", "qd", "strategy (direct / buffered)", "MB/s (direct / buffered)",
                "slowest scan MB/s (direct / buffered)", "slowest/fastest (direct / buffered)",
                "MB/s direct/buffered", "rows/s (direct / buffered)", "wait (direct / buffered)",
                "hit ratio (direct / buffered)", "CPU µs/page (direct / buffered)",
                "MB/s min–max (direct / buffered)"]


def strategy_text(cell):
    """The strategy the cell's scans ran with (results.scan_strategies); "–" without scan records."""
    return ", ".join(scan_strategies(cell)) or "–"


def fairness_text(cell):
    """The median slowest/fastest of the cell's repetitions, marked where it misses the target."""
    value = median_of(cell, "stream_fairness")
    return f"{MARK} {value:.2f}" if is_unfair(value) else fmt(value, ".2f")


def scan_row(backend, qd, d, b):
    return [backend, qd, f"{strategy_text(d)} / {strategy_text(b)}", both(d, b, "mb_s", ",.1f"),
            both(d, b, "min_stream_mb_s", ",.1f"), f"{fairness_text(d)} / {fairness_text(b)}",
            fmt(median_ratio(d, b, "mb_s"), ".2f"), both(d, b, "rows_per_s", ",.0f"),
            both(d, b, "wait_fraction", ".1%"), both(d, b, "hit_ratio", ".2f"),
            both(d, b, "cpu_us_per_io", ".2f"), both_ranges(d, b, "mb_s", ",.1f")]


def against_phrase(comparisons, rival):
    """"against RIVAL: equivalent or faster from qd 4 (qd 1 ▼ slower, ...)" from decide.py's
    crossover of `comparisons`, or that there is nothing to compare with."""
    comparisons = [c for c in comparisons if c is not None]
    if not comparisons:
        return f"against {rival}: no depth to compare with"
    x = crossover_of((None,) * 5, comparisons)
    return f"against {rival}, equivalent or faster: {crossover_text(x)} ({outcomes_text(x.comparisons)})"


def rival_comparisons(backend, backends, measure=suite_throughput):
    """[(rival, its name in a reading, [Comparison or None by qd])]: direct pipelined against
    buffered sync (qd 1, unpaired) and against buffered pipelined at the same qd (twins,
    paired), for one pipelined backend of one regime, decided by `measure` (decide.py)."""
    direct = backends[backend].get("direct", [])
    sync = (backends.get("sync") or {}).get("buffered", [])
    buffered = {c.get("qd", 1): c for c in backends[backend].get("buffered", [])}
    pipelined = f"buffered pipelined ({backend})"
    return [("buffered sync", "buffered sync",
             [compare(d, sync[0], paired=False, measure=measure) for d in direct] if sync else []),
            (pipelined, f"{pipelined} depth for depth",
             [compare(d, buffered[d.get("qd", 1)], measure=measure) for d in direct
              if d.get("qd", 1) in buffered])]


def crossover_reading(regime, backend, backends):
    """Where direct pipelined MB/s of all scans becomes equivalent to or faster than buffered
    sync and buffered pipelined, for one pipelined backend of one regime: decide.py's outcomes
    and crossover."""
    phrases = [against_phrase(found, name) for _, name, found in rival_comparisons(backend, backends)]
    return f"{regime}: direct pipelined ({backend}) {'; '.join(phrases)}."


def outcome_changes(total, slowest):
    """"buffered sync qd 1 (total ▲ faster)": the depths whose slowest-scan outcome is not the
    total's, from rival_comparisons by each measure."""
    changes = []
    for (rival, _, by_total), (_, _, by_slowest) in zip(total, slowest):
        totals = {c.qd: c for c in by_total if c is not None}
        changes += [f"{rival} qd {c.qd} (total {SYMBOLS[totals[c.qd].outcome]} {totals[c.qd].outcome})"
                    for c in by_slowest if c is not None and c.qd in totals
                    and c.outcome != totals[c.qd].outcome]
    return changes


def slowest_scan_reading(backend, backends):
    """crossover_reading by the slowest scan's MB/s, and where its outcome is not the total's;
    None where no cell has per-scan figures (files without scan records)."""
    slowest = rival_comparisons(backend, backends, slowest_scan)
    if not any(c is not None for _, _, found in slowest for c in found):
        return None
    phrases = [against_phrase(found, name) for _, name, found in slowest]
    changes = outcome_changes(rival_comparisons(backend, backends), slowest)
    verdict = ("not the total's outcome at " + ", ".join(changes) if changes
               else "the total's outcome at every depth")
    return f"slowest scan: direct pipelined ({backend}) {'; '.join(phrases)}; {verdict}."


def readings_of(regime, backends):
    """The crossover readings of one regime, each pipelined backend's slowest-scan reading
    under it."""
    out = []
    for backend in backends:
        if backend == "sync":
            continue
        out.append(f"- {crossover_reading(regime, backend, backends)}")
        slowest = slowest_scan_reading(backend, backends)
        if slowest:
            out.append(f"  - {slowest}")
    return out


def scan_plot(plt, regime, backends, out_dir, cap):
    """MB/s against distance of every (mode, backend) of one regime, buffered sync as a level,
    and their p95 page-read latency."""
    if len({c.get("qd", 1) for modes in backends.values() for s in modes.values() for c in s}) < 2:
        return []  # One depth is a table row, not a curve.
    sync = [median_of(c, "mb_s") for c in (backends.get("sync") or {}).get("buffered", [])]
    levels = [(sync[0], "buffered sync (qd 1) level", "buffered")] if sync and sync[0] else []
    stem, where = cap_stem(cap, "scan", regime), f"multistream_scan, {regime}, {cap_label(cap)}"
    xlabel, legend = "read-ahead distance per scan (qd, log2 scale)", "mode, backend (median; bars: min-max)"
    plot_lines(plt, mode_backend_lines(backends, "mb_s"), f"{where}: MB/s vs distance",
               "throughput of all scans", "MB/s, 10^6 bytes/s", os.path.join(out_dir, stem + "_mbps.png"),
               xlabel, legend_title=legend, hlines=levels)
    plot_lines(plt, mode_backend_lines(backends, "p95_us"), f"{where}: p95 page-read latency vs distance",
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
           "is CPU time per page. Backend sync fetches one page at a time, no read-ahead (qd 1 only).",
           "",
           "Strategy is how the scans took their frames (docs/BENCHMARKS.md, \"Strategy\"): ring, "
           "share, or the pool's clock (files written before the choice: clock). Slowest/fastest "
           "is the median over repetitions of the slowest scan's MB/s over the fastest's; "
           f"{MARK} marks it below {FAIR_STREAM_SHARE:.3f}, where the fastest scan ran more than "
           f"{1 / FAIR_STREAM_SHARE:.1f}x as fast as the slowest (the project's target: within "
           f"{1 / FAIR_STREAM_SHARE:.1f}x). There the total and the hit ratio flatter the cell: one "
           "scan can keep the pool and run at memory speed while the others wait for the device, "
           "so read the slowest scan's MB/s."]
    readings, plots = [], []
    for regime, backends in groups.items():
        table = [scan_row(backend, qd, d, b) for backend, modes in backends.items()
                 for qd, d, b in mode_pairs(modes)]
        out += ["", f"### {regime}{streams_of(backends)}", "", md_table(SCAN_HEADERS, table)]
        readings += readings_of(regime, backends)
        plots += scan_plot(plt, regime, backends, out_dir, cap)
    out += ["", "### Crossover", "",
            "The smallest qd from which direct pipelined MB/s is equivalent to or faster than "
            "buffered sync (one page at a time, qd 1; unpaired interval) and buffered pipelined "
            "at the same qd (paired), by the rule of the Guidance (decide.py), on the MB/s of all "
            "scans, the figure the Guidance and the advice decide scans on. Under each, the same "
            "rule on the slowest scan's MB/s (per repetition the smallest of the scans' figures), "
            "and the depths where its outcome is not the total's: there the two figures disagree "
            "on which mode serves every scan better, and slowest/fastest above says whether a "
            "total rests on one scan's unfair share of the pool.", ""]
    out += readings
    if plots:
        out += ["", "### MB/s vs distance", "", PLOTS_NOTE] + plots
    return out
