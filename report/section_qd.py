"""The queue depth suite section (qd): raw requests at each depth, direct against buffered, per
family and backend, for the cells of one memory condition: the ratio table and its plain
reading first, then the IOPS and p95 latency curves.
"""

import os

from .markdown import both_ranges, cap_stem, fmt, md_table
from .plots import PLOTS_NOTE
from .results import cap_label, cells_condition, family_of, is_ok, median_of
from .series import catch_up_reading, group_by_mode, median_ratio, mode_pairs, plot_vs_qd


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
    return catch_up_reading(f"{family} / {backend}", [(r[0], r[3], r[4]) for r in rows], "IOPS", there)


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
    out = ["", f"## Queue depth suite (qd), {cells_condition(cells, cap)}", "", "### Direct / buffered", "",
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
