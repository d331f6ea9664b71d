"""The buffer manager section (bm): page fetches through the buffer manager and its read streams
at each read-ahead distance, direct against buffered, per family, regime and backend; then the
adaptive distance against the best fixed one; then the throughput and latency curves.
"""

import os
import re

from .markdown import both, both_ranges, cap_stem, fmt, md_table, range_text
from .plots import PLOTS_NOTE
from .results import cap_label, family_of, is_adaptive, is_ok, median_of, regime_rank
from .decide import EQUIVALENT, FASTER, INCONCLUSIVE, SLOWER, SYMBOLS, compare, outcome_counts
from .series import catch_up_reading, depths_of, group_by_mode, median_ratio, mode_pairs, plot_vs_qd


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
    there = ""
    if pairs:
        _, d, b = pairs[-1]
        there = (f", hit ratio {fmt(median_of(d, 'hit_ratio'), '.2f')} direct vs "
                 f"{fmt(median_of(b, 'hit_ratio'), '.2f')} buffered there, the consumer waiting "
                 f"{fmt(median_of(d, 'wait_fraction'), '.0%')} vs "
                 f"{fmt(median_of(b, 'wait_fraction'), '.0%')} of the run")
    return catch_up_reading(f"{family} / {regime} / {backend}", pairs, "page fetches/s", there)


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
    """(adaptive cell, best fixed cell or None, Comparison adaptive/best or None) for each
    adaptive cell. Unpaired: the two cells are not twins and did not run back to back."""
    adaptive = sorted((c for c in measured_bm(cells) if is_adaptive(c)),
                      key=lambda c: regime_rank(c.get("regime")))
    rows = []
    for cell in adaptive:
        best = best_fixed(cell, cells)
        rows.append((cell, best, compare(cell, best, paired=False) if best else None))
    return rows


def adaptive_reading(rows):
    compared = [(a, best, c) for a, best, c in rows if c is not None]
    if not compared:
        return "No adaptive cell has a fixed-distance cell in its regime, mode and backend to compare with."
    counts = outcome_counts(c for _, _, c in compared)
    a, best, c = min(compared, key=lambda row: row[2].ratio)
    return (f"Against the best fixed distance, adaptive is faster in {counts[FASTER]}, equivalent "
            f"in {counts[EQUIVALENT]}, slower in {counts[SLOWER]} and inconclusive in "
            f"{counts[INCONCLUSIVE]} of {len(compared)} (regime, mode, backend) groups; its lowest "
            f"is {c.ratio:.2f}x ({c.outcome}) in {a.get('regime')} / {a.get('mode')} / "
            f"{a.get('backend')}, where the best fixed distance is qd {best.get('qd')} and "
            f"adaptive averaged a distance of {fmt(median_of(a, 'mean_distance'), '.1f')}"
            f"{settled_text(a)}.")


def settled_text(cell):
    """What an adaptive stream settled at beyond its distance: the combine distance and the
    pins it held (files from before read streams counted them have neither)."""
    combine, pinned = median_of(cell, "mean_combine_pages"), median_of(cell, "mean_pinned_pages")
    if not combine and not pinned:
        return ""
    return f", combining {fmt(combine, '.1f')} pages a read and holding {fmt(pinned, '.1f')} pinned"


def adaptive_section(cells):
    rows = adaptive_rows(cells)
    if not rows:
        return []
    table = [[bm_family(a), a.get("regime", "?"), a.get("mode", "?"), a.get("backend", "?"),
              fmt(median_of(a, "mb_s")), fmt(median_of(best, "mb_s")) if best else "–",
              best.get("qd", "–") if best else "–", fmt(median_ratio(a, best, "mb_s") if best else None, ".2f"),
              f"{SYMBOLS[c.outcome]} {c.outcome}" if c else "–",
              fmt(median_of(a, "mean_distance"), ".1f"), fmt(median_of(a, "mean_combine_pages"), ".1f"),
              fmt(median_of(a, "mean_pinned_pages"), ".1f"), a.get("qd", "–"),
              f"{range_text(a, 'mb_s')} / {range_text(best, 'mb_s')}"] for a, best, c in rows]
    return ["", "### Adaptive distance against the best fixed distance", "",
            "Best fixed = the fixed-distance cell with the highest median MB/s in the same "
            "family, regime, mode and backend. A ratio above 1 means adaptive is faster; the "
            "outcome is decide.py's, from the unpaired (Welch) interval of fetches/s.", "",
            md_table(["family", "regime", "mode", "backend", "adaptive MB/s", "best fixed MB/s",
                      "best fixed qd", "adaptive/best fixed", "outcome", "adaptive mean distance",
                      "mean combine (pages)", "mean pins", "max distance", "MB/s min–max (adaptive / best fixed)"], table),
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
