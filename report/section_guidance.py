"""The report's Guidance section and its direct/buffered ratio tables and heat maps.

Both are drawn from a ratios.Analysis (twin comparisons decided by decide.py, crossovers);
the wording of each statement is guidance.py's, so the report and `python3 -m report.guidance`
say the same thing, and every outcome is named and marked as decide.py names it. Every
section is split by memory condition ("no memory cap", "memory cap 128 MiB").
"""

import os

from . import decide
from .decide import OUTCOME_LEGEND, SYMBOLS
from .guidance import (boundary_sentence, buffered_better, condition_label, crossover_sentence,
                      curve_condition, entry_text, fmt_ratio, ids_text, inconclusive_line,
                      interval_text, inverse_interval_text, memory_note, outcome_text,
                      repetitions_line, summary_line)
from .markdown import cap_stem, md_table
from .plots import plot_heatmaps
from .ratios import SYNC_BACKENDS, cpu_cost, latency_cost
from .results import cap_label, cap_of, family_of, regime_rank, suite_rank

GUIDANCE_INTRO = (
    "Each comparison of direct against buffered throughput (IOPS; page fetches/s for bm; MB/s "
    "for scan) at one depth is decided from the t interval of the log ratio (paired: "
    "repetition i of both modes ran back to back): faster when the interval lies above "
    f"{decide.MARGIN_HIGH:.2f}, equivalent when inside [{decide.MARGIN_LOW:.2f}, "
    f"{decide.MARGIN_HIGH:.2f}] (a two one-sided test at ±5%), slower when below "
    f"{decide.MARGIN_LOW:.2f}, inconclusive otherwise or with fewer than two repetitions; "
    "inconclusive is never equivalence. A comparison with a cell served from memory is decided "
    "and says so: a result for data in memory, never a cold-cache one. When the matrix "
    "re-measures undecided pairs (K looks on a fixed schedule), each one-sided test runs at "
    f"{decide.ALPHA} / K, so every kind of false decision stays below {decide.ALPHA:.0%} over "
    "all looks. The crossover of a curve (workload family, regime, memory condition, backend) "
    "is the smallest depth from which every measured depth is equivalent or faster: "
    "\"always\", \"from qd N\" (\"at the latest\" when the depth below is inconclusive), "
    "\"never\" (the deepest depth is slower) or \"undecided\" (the deepest depth is "
    "inconclusive). \"Either mode\": neither mode read from the device, or every depth is "
    "equivalent. Ratios read \"point [low, high], outcome, n\" (point: geometric mean of the "
    "paired ratios); latency and CPU costs are direct/buffered medians of p95 and CPU per I/O "
    f"at the crossover (at the largest depth otherwise). Marks: {OUTCOME_LEGEND}. The same "
    "rules drive `python3 -m report.guidance --advise` and `python3 -m report.decide`.")
BASELINE_INTRO = (
    "Against what engines run today: direct at each qd against one buffered cell at qd 1 (the "
    "sync backend where measured, else io_uring), intervals from Welch's t on the two cells' "
    "log throughput (they did not run back to back), except against the baseline's own twin.")


def caps_of(crossovers):
    return sorted({x.memory_cap for x in crossovers})


def cap_heading(cap, crossovers):
    """The memory condition's heading; on the memory axis with its ratio and memory."""
    return next((curve_condition(x) for x in crossovers if x.memory_cap == cap), condition_label(cap))


def compact_row(x, baselines):
    at = x.at_crossover
    rival = baselines.get(x.key)
    return [x.family, x.regime or "–", x.backend, outcome_text(x),
            f"qd {at.qd}: {interval_text(at)}", f"qd {x.deepest.qd}: {interval_text(x.deepest)}",
            fmt_ratio(latency_cost(at)), fmt_ratio(cpu_cost(at)),
            outcome_text(rival) if rival else "–", "high" if x.confident else "low",
            ids_text(at)]


COMPACT_HEADERS = ["family", "regime", "backend", "direct equivalent or faster", "at crossover",
                   "at largest qd", "p95 direct/buffered", "CPU/IO direct/buffered",
                   "vs buffered qd 1", "confidence", "rests on"]


def buffered_better_table(crossovers):
    rows = [[curve_condition(x), x.regime or "–", x.family, x.backend, c.qd,
             inverse_interval_text(c), ids_text(c), memory_note(c) or "–"]
            for x, c in buffered_better(crossovers)]
    if not rows:
        return "None: no comparison is decided slower."
    return md_table(["memory", "regime", "family", "backend", "qd", "buffered/direct",
                     "cells", "buffered side"], rows)


def guidance_section(analysis):
    """Crossover sentences and a compact table per memory condition, then where buffered stays
    better and which comparisons are inconclusive."""
    out = ["", "## Guidance", "", GUIDANCE_INTRO]
    if not analysis.twins:
        return out + ["", "These results hold no direct/buffered twins, so there is nothing to "
                      "compare: run the suites with --modes=buffered,direct."]
    baselines = {x.key: x for x in analysis.baselines}
    for cap in caps_of(analysis.crossovers + analysis.baselines):
        mine = [x for x in analysis.crossovers if x.memory_cap == cap]
        theirs = [x for x in analysis.baselines if x.memory_cap == cap]
        out += ["", f"### {cap_heading(cap, mine + theirs)}", "", summary_line(mine), ""]
        out += [f"- {crossover_sentence(x)}" for x in mine]
        if mine:
            out += ["", md_table(COMPACT_HEADERS, [compact_row(x, baselines) for x in mine])]
        if theirs:
            out += ["", BASELINE_INTRO, ""] + [f"- {crossover_sentence(x)}" for x in theirs]
    if analysis.memory_axes:
        out += ["", "### Memory budget: working set against memory", "",
                "Where, along the ratios of working set to memory measured (each suite under caps "
                "sized from its working set), direct matches or beats buffered: the smallest ratio from which "
                "every larger measured ratio has a crossover, and the crossover depth there (maps: "
                "\"Memory budget\" below).", ""]
        out += [f"- {boundary_sentence(axis)}" for axis in analysis.memory_axes]
    out += ["", "### Where buffered remains faster", "",
            f"Comparisons decided slower (the whole interval below {decide.MARGIN_LOW:.2f}), read as "
            "buffered / direct, with what the buffered cell had in memory where the results say.", "",
            buffered_better_table(analysis.crossovers)]
    return out + ["", "### Inconclusive comparisons", "", summary_line(analysis.crossovers, analysis.twins),
                  "", inconclusive_line(analysis.twins), "", repetitions_line(analysis.twins)]


# ---------------------------------------------------------------- ratio tables and heat maps

def row_family(comparison):
    """The family a ratio-table row names; adaptive cells keep their "_adaptive" name, so they
    get a row of their own beside the fixed distances."""
    return family_of(comparison.direct)


def table_groups(twins):
    """{(cap, suite): {(family, regime, backend): {qd: Comparison}}} in report order."""
    groups = {}
    for c in twins:
        d = c.direct
        rows = groups.setdefault((cap_of(d), d.get("suite")), {})
        rows.setdefault((row_family(c), d.get("regime") or "", d.get("backend")), {})[c.qd] = c
    order = sorted(groups, key=lambda k: (k[0], suite_rank(k[1])))
    return {k: dict(sorted(groups[k].items(), key=lambda kv: (kv[0][0], regime_rank(kv[0][1]),
                                                              kv[0][2] in SYNC_BACKENDS, kv[0][2])))
            for k in order}


def ratio_table(rows):
    depths = sorted({qd for by_qd in rows.values() for qd in by_qd})
    table = [[family, regime or "–", backend] + [entry_text(by_qd[qd]) if qd in by_qd else "–"
                                                 for qd in depths]
             for (family, regime, backend), by_qd in rows.items()]
    return md_table(["family", "regime", "backend"] + [f"qd {qd}" for qd in depths], table)


def heatmap_panels(rows, family, cap):
    """One panel per backend with a queue: regimes down (the memory condition for suites with
    no regime), depths across. None when fewer than two depths make no map."""
    mine = {k: v for k, v in rows.items() if k[0] == family and k[2] not in SYNC_BACKENDS}
    depths = sorted({qd for by_qd in mine.values() for qd in by_qd})
    if len(depths) < 2:
        return None
    regimes = sorted({k[1] for k in mine}, key=regime_rank)
    panels = []
    for backend in dict.fromkeys(k[2] for k in mine):
        grid = [[mine.get((family, r, backend), {}).get(qd) for qd in depths] for r in regimes]
        panels.append({"title": backend, "depths": depths,
                       "rows": [r or cap_label(cap) for r in regimes],
                       "values": [[c.median if c else None for c in row] for row in grid],
                       "marks": [[SYMBOLS[c.outcome] if c else "" for c in row] for row in grid]})
    return panels


def heatmaps(plt, rows, suite, cap, out_dir):
    """Writes one heat map per family of the table's rows; returns their Markdown."""
    out = []
    for family in dict.fromkeys(k[0] for k in rows):
        panels = heatmap_panels(rows, family, cap)
        if panels is None:
            continue
        stem = cap_stem(cap, "ratio_heatmap", suite, family)
        plot_heatmaps(plt, panels, f"{family}, {cap_label(cap)}: direct / buffered throughput",
                      os.path.join(out_dir, stem + ".png"))
        out += ["", f"![{family} {cap_label(cap)} direct/buffered heat map]({stem}.png)"]
    return out


def ratios_section(plt, analysis, out_dir):
    """Per memory condition and suite: direct/buffered at each qd (columns) for every family,
    regime and backend (rows), each "median [low, high]", then the heat maps."""
    if not analysis.twins:
        return []
    out = ["", "## Direct / buffered ratios", "",
           "Each entry: the outcome's mark, the geometric mean over repetitions of direct/buffered "
           "throughput (IOPS; page fetches/s for bm; MB/s for scan), its interval [low, high] "
           "(see Guidance) and the repetitions n it took; above 1, direct is faster. Marks: "
           f"{OUTCOME_LEGEND}. Adaptive rows (bm_seq_read_adaptive) sit at their maximum "
           "distance. Heat maps: the same ratios with the same marks, blue where direct is "
           "faster, red where buffered is, grey where not measured."]
    for (cap, suite), rows in table_groups(analysis.twins).items():
        some = next(iter(next(iter(rows.values())).values())).direct
        where = condition_label(cap, some.get("_memory_ratio"), some.get("_memory_budget_bytes"))
        out += ["", f"### {suite} suite, {where}", "", ratio_table(rows)]
        out += heatmaps(plt, rows, suite, cap, out_dir)
    return out
