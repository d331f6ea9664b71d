"""The report's Guidance section and its direct/buffered ratio tables and heat maps.

Both are drawn from a ratios.Analysis (twin comparisons with bootstrap intervals, crossovers);
the wording of each statement is guidance.py's, so the report and `python3 -m report.guidance`
say the same thing. Every section is split by memory condition ("no memory cap", "memory cap 128 MiB").
"""

import os

from .guidance import (buffered_better, crossover_sentence, entry_text, fmt_ratio, ids_text,
                      inconclusive_line, interval_text, inverse_interval_text, memory_note,
                      outcome_text, summary_line)
from .markdown import MARK, cap_stem, md_table
from .plots import plot_heatmaps
from .ratios import BORDERLINE, INCONCLUSIVE_CI_SPREAD, PARITY, SYNC_BACKENDS, cpu_cost, latency_cost
from .results import cap_label, cap_of, family_of, regime_rank, suite_rank

GUIDANCE_INTRO = (
    "For each curve (workload family, regime, memory condition, backend) the crossover is the "
    "smallest queue depth from which on direct I/O is at no measured depth measurably slower "
    "than buffered: the 95% bootstrap interval of direct/buffered throughput (IOPS; page "
    "fetches/s for bm; MB/s for scan), resampling repetitions in pairs because repetition i of "
    f"both modes ran back to back, reaches {PARITY:.2f} there and at every larger depth (a "
    f"shortfall under {1 - PARITY:.0%} counts as parity: two runs on one machine differ by that "
    "much). \"always\": from the smallest depth measured; \"never\": even the largest depth's "
    f"interval lies below {PARITY:.2f}. "
    "Ratios read \"median [low, high]\"; latency and CPU costs are direct/buffered medians of p95 "
    "and CPU per I/O at the crossover (at the largest depth for \"never\"). A comparison is "
    f"inconclusive ({MARK}) when a cell is flagged cv_high, its interval spans more than "
    f"{INCONCLUSIVE_CI_SPREAD}x, its upper end lies within {BORDERLINE:.2f} of {PARITY:.2f} (another "
    "run could put it on the other side), or it has fewer than two repetitions; no conclusion "
    "rests on one alone. The same rules drive `python3 -m report.guidance --advise`.")
BASELINE_INTRO = (
    "Against what engines run today: direct at each qd against one buffered cell at qd 1 (the "
    "sync backend where measured, else io_uring), intervals from independent resampling of the "
    "two cells (they did not run back to back), except against the baseline's own twin.")


def caps_of(crossovers):
    return sorted({x.memory_cap for x in crossovers})


def compact_row(x, baselines):
    at = x.at_crossover
    rival = baselines.get(x.key)
    return [x.family, x.regime or "–", x.backend, outcome_text(x),
            f"qd {at.qd}: {interval_text(at)}", f"qd {x.deepest.qd}: {interval_text(x.deepest)}",
            fmt_ratio(latency_cost(at)), fmt_ratio(cpu_cost(at)),
            outcome_text(rival) if rival else "–", "high" if x.confident else f"{MARK} low",
            ids_text(at)]


COMPACT_HEADERS = ["family", "regime", "backend", "direct not below buffered", "at crossover",
                   "at largest qd", "p95 direct/buffered", "CPU/IO direct/buffered",
                   "vs buffered qd 1", "confidence", "rests on"]


def buffered_better_table(crossovers):
    rows = [[cap_label(x.memory_cap), x.regime or "–", x.family, x.backend, c.qd,
             inverse_interval_text(c), ids_text(c), memory_note(c) or "–"]
            for x, c in buffered_better(crossovers)]
    if not rows:
        return "None: direct is not measurably slower anywhere."
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
        out += ["", f"### {cap_label(cap)}", "", summary_line(mine), ""]
        out += [f"- {crossover_sentence(x)}" for x in mine]
        if mine:
            out += ["", md_table(COMPACT_HEADERS, [compact_row(x, baselines) for x in mine])]
        if theirs:
            out += ["", BASELINE_INTRO, ""] + [f"- {crossover_sentence(x)}" for x in theirs]
    out += ["", "### Where buffered remains better", "",
            f"Comparisons whose whole interval lies below {PARITY:.2f}, read as buffered / direct, with what "
            "the buffered cell had in memory where the results say.", "",
            buffered_better_table(analysis.crossovers)]
    return out + ["", "### Inconclusive comparisons", "", inconclusive_line(analysis.twins)]


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
                       "marks": [[bool(c and c.inconclusive) for c in row] for row in grid]})
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
           "Each entry: the median over repetitions of direct/buffered throughput (IOPS; page "
           "fetches/s for bm; MB/s for scan) and its 95% paired bootstrap interval [low, high]; "
           f"above 1, direct is faster. {MARK} marks an inconclusive comparison (see Guidance). "
           "Adaptive rows (bm_seq_read_adaptive) sit at their maximum distance. Heat maps: the "
           "same medians, blue where direct is faster, red where buffered is, \"?\" on "
           "inconclusive ones, grey where not measured."]
    for (cap, suite), rows in table_groups(analysis.twins).items():
        out += ["", f"### {suite} suite, {cap_label(cap)}", "", ratio_table(rows)]
        out += heatmaps(plt, rows, suite, cap, out_dir)
    return out
