"""The I/O patterns section (io_patterns): the synchronous 4 KiB baseline, one row per cell and
grouped bars of IOPS per pattern and backend, one bar per mode.
"""

import os

from .markdown import cap_stem, cell_label, fmt, md_table, range_text
from .plots import plot_bars, ordered_modes
from .results import cap_label, cap_of, is_ok, median_of, spread_of


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
