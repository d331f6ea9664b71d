"""The memory budget axis: the crossover map of each (workload family, backend) measured under
caps sized from the working set (`iodepth matrix` memory_ratios; results.merge marks those
cells: the qd suite, and the bm and scan suites' regime "memory"), as a Markdown table and a
PNG outcome map.

Rows are the ratios working set / memory, ascending; columns the queue depths; each square is
decide.py's outcome (symbol and name) of the twin comparison there, with its point estimate of
direct / buffered and n. Each row ends with that ratio's crossover (decide.crossover_of, as for
any curve), and each map opens with the boundary sentence (guidance.boundary_sentence,
decide.memory_boundary). Nothing here judges a ratio.
"""

import os

from . import decide
from .decide import OUTCOME_LEGEND, OUTCOMES, SYMBOLS
from .guidance import boundary_sentence, map_entry, memory_axis_label
from .markdown import file_stem, md_table
from .plots import plot_outcome_map
from .ratios import curve_memory_budget
from .results import bytes_text

MEMORY_INTRO = (
    "Each suite again under memory caps sized from its working set: for a ratio r of working set "
    "to memory, the memory T is working set / r and the cap T plus the process's own reserve, "
    "counting the page cache. Raw requests (qd suite, the qd data file): direct reads keep none "
    "of the file in memory, buffered reads may cache up to T of it. Page fetches (bm and scan "
    "suites, regime \"memory\", the table): direct I/O's buffer pool is all of T, buffered's pool "
    "is the configured pool M (at most T) and the page cache may hold the rest, so buffered never "
    "has more memory than direct. Buffered cells start cold each repetition, so at r of 1 or "
    "less they may warm the whole working set during the ramp and are flagged served_from_memory: "
    "that is the condition measured, and those comparisons are decided like any other (the flag "
    "stays on the cell, and in the squares). Each square: the outcome of direct against buffered "
    "at that depth, the geometric mean of direct / buffered and the repetitions n. Marks: "
    f"{OUTCOME_LEGEND}. The last column is the crossover at that ratio; the boundary is the "
    "smallest ratio from which every larger measured ratio has one.")


def map_rows(axis):
    """The crossover map's rows: ratio, memory M, cap, one square per depth, the crossover."""
    rows = []
    for index, (ratio, x) in enumerate(axis.points):
        budget = curve_memory_budget(x)
        squares = [axis.square(index, qd) for qd in axis.depths]
        rows.append([decide.ratio_text(ratio), bytes_text(budget) if budget else "–", bytes_text(x.memory_cap)]
                    + [map_entry(c) if c else "–" for c in squares] + [decide.crossover_text(x)])
    return rows


def map_grid(axis):
    """The same squares for plots.plot_outcome_map."""
    grid = [[axis.square(i, qd) for qd in axis.depths] for i in range(len(axis.points))]
    return {"rows": [decide.ratio_text(r) for r in axis.ratios], "depths": axis.depths,
            "outcomes": [[c.outcome if c else None for c in row] for row in grid],
            "labels": [[f"{SYMBOLS[c.outcome]} {c.ratio:.2f}" if c else "" for c in row] for row in grid],
            "ylabel": "working set / memory"}


def memory_section(plt, analysis, out_dir):
    """One crossover map per memory axis (table and PNG), each with its boundary sentence."""
    if not analysis.memory_axes:
        return []
    out = ["", "## Memory budget: working set against memory", "", MEMORY_INTRO]
    legend = [(o, f"{SYMBOLS[o]} {o}") for o in OUTCOMES]
    for axis in analysis.memory_axes:
        stem = file_stem("memory_map", axis.suite, axis.family, axis.regime, axis.backend)
        plot_outcome_map(plt, map_grid(axis), f"{memory_axis_label(axis)}: direct against buffered "
                         "by working set / memory and depth", os.path.join(out_dir, stem + ".png"), legend)
        out += ["", f"### {memory_axis_label(axis)}", "", boundary_sentence(axis), "",
                md_table(["working set / memory", "memory", "cap"] + [f"qd {qd}" for qd in axis.depths]
                         + ["crossover"], map_rows(axis)),
                "", f"![{memory_axis_label(axis)} crossover map]({stem}.png)"]
    return out
