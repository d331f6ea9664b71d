"""Compares two or more `iodepth matrix --out` directories: two runs, two hosts, two kernels.

Usage (from the repository root, or with PYTHONPATH set to it; `iodepth compare` runs it):
    /usr/bin/python3 -m report.compare DIR DIR... [--label NAME...] [--out OUT] [--json]

Each DIR is read as `iodepth report` reads a matrix run: its results files (<suite>-<cap>.json,
<suite>-<cap>-ratio<r>.json; suite one of results.SUITE_ORDER) merged and analysed
(results.merge, ratios.analyse: every decision is decide.py's, none is made here), and its fio
cross-checks (fio-*.json beside them: run.sh writes fio-crosscheck.json). A curve is matched
across the inputs by (suite, family, regime, memory point, backend), where the memory point is
the memory cap, or for a curve of the memory axis its ratio working set / memory (two hosts
with different memory have different caps at the same ratio). Per workload family, side by
side: each curve's crossover, the outcome at every depth, and where they differ by how much.

    shift           at one depth, another input's direct/buffered ratio over the first
                    input's: Welch's interval (decide.welch_interval) on the two runs'
                    per-repetition log ratios, at the larger of their looks, read by
                    decide.outcome_of against the same margins: higher, same, lower or unclear
    reproducibility per pair of inputs: of the curves in both, those decided (not
                    undecided) in both, and of those the share with the same decision
                    (crossover kind and depth); per input the decided share of its twin
                    comparisons

Beside them, the environment each input recorded where it differs (device, scheduler,
read-ahead, filesystem, kernel, CPU, memory, load, build, then the rest), the matrix settings
that differ, and each input's fio cross-checks. Plots: per family the direct/buffered ratio of
every input against depth, one panel per curve (plots.plot_ratio_panels), and per memory axis
the crossover maps of the inputs side by side (plots.plot_outcome_maps).

Writes OUT/report.md, its PNGs and OUT/compare.json (OUT defaults to compare-<label>-vs-<label>
beside the first DIR) and prints the reproducibility lines; --json prints the JSON document
instead and writes nothing (no matplotlib needed):

    {"inputs": [{"label", "dir", "files", "fio_files", "cells", "comparisons": {"decided",
      "total", "share"}}],
     "pairs": [{"a", "b", "curves": {"shared", "one_run_only", "same_outcome", "decided_in_both",
      "decided_in_both_share", "same_decision", "same_decision_share"}, "comparisons": {"a": {...},
      "b": {...}}, "differing": [{"curve", "a", "b", "a_confident", "b_confident"}]}],
     "curves": [{"curve": {"suite", "family", "regime", "memory", "memory_cap", "memory_ratio",
      "backend"}, "crossovers": {label: text or null}, "same_decision": bool or null,
      "squares": [{"qd", "outcomes": {label: {"outcome", "ratio", "lo", "hi", "n"} or null},
      "same_outcome": bool or null, "shifts": {label: {"ratio", "lo", "hi", "reading"} or null}}]}],
     "environment": [{"group", "key", "values": {label: text}}],
     "settings": [{"key", "values": {label: text}}],
     "fio_crosscheck": {label: [{"cell", "memory_cap", "iops_ratio", "agrees"}]}}

A share is null when there is nothing to divide; same_* is null where fewer than two inputs
have the curve or square. Exit status 0 whatever the comparison finds; 1 on an input that is
not a matrix directory (the message says what to give), an unreadable results file or wrong
arguments.
"""

import argparse
import itertools
import json
import os
import sys
from dataclasses import dataclass

from . import decide
from .decide import OUTCOME_LEGEND, OUTCOMES, SYMBOLS, crossover_text, memory_boundary_text
from .guidance import entry_text, interval_text, share_text
from .markdown import MARK, file_stem, flatten, fmt, md_table
from .plots import plot_outcome_maps, plot_ratio_panels
from .ratios import SYNC_BACKENDS, analyse, curve_memory_ratio
from .results import (SUITE_ORDER, ResultsError, cap_label, cap_of, load_results, merge, ratio_text, regime_rank,
                      suite_rank)
from .section_fio import CROSSCHECK_EXPLANATION, check_figures, crosscheck_table
from .section_header import environment_warnings
from .section_memory import map_grid

PROG = "python3 -m report.compare"
# Where run.sh puts fio's cross-checks beside a matrix run's results files.
FIO_PREFIX = "fio-"
JOURNAL = "journal.jsonl"

# ---------------------------------------------------------------- inputs


def is_matrix_file(name):
    """A results file `iodepth matrix` writes: <suite>-<cap>[-ratio<r>].json."""
    return name.endswith(".json") and "-" in name and name.split("-")[0] in SUITE_ORDER


def is_fio_file(name):
    return name.startswith(FIO_PREFIX) and name.endswith(".json")


def input_files(path):
    """(matrix results file names, fio file names) of an input directory, sorted; raises
    ResultsError saying what to give when `path` is not a directory a matrix run wrote."""
    what = "the directory `iodepth matrix --out DIR` wrote"
    if not os.path.exists(path):
        raise ResultsError(f"{path} does not exist: name {what}")
    if not os.path.isdir(path):
        raise ResultsError(f"{path} is not a directory: name {what} (the one holding qd-nocap.json, "
                           "bm-cap128MiB.json, ...), not a file in it")
    try:
        names = sorted(os.listdir(path))
    except OSError as e:
        raise ResultsError(f"cannot list {path}: {e.strerror}") from None
    matrix = [n for n in names if is_matrix_file(n)]
    if not matrix:
        hint = (f"its journal is there, so write them with `iodepth matrix --out {path} --collect`"
                if JOURNAL in names else f"name {what}")
        raise ResultsError(f"{path} holds no matrix results files (<suite>-<cap>.json, suite one of "
                           f"{', '.join(SUITE_ORDER)}): {hint}")
    return matrix, [n for n in names if is_fio_file(n)]


def memory_point(x):
    """Where a curve lies on the memory axis: ("ratio", r) for a curve of the memory axis (its
    working set / memory), else ("cap", memory cap in bytes)."""
    ratio = curve_memory_ratio(x)
    return ("cap", x.memory_cap) if ratio is None else ("ratio", ratio)


def curve_id(x):
    """What matches a Crossover across inputs (module docstring)."""
    return (x.suite, x.family, x.regime, memory_point(x), x.backend)


@dataclass(frozen=True)
class Run:
    """One input: its label and directory, the (path, doc) of its matrix results files and of
    its fio files, the merged cells and cross-checks, their Analysis, and the twin crossovers
    (by curve_id) and memory axes (by MemoryAxis.key) of that analysis."""
    label: str
    path: str
    files: tuple
    fio_files: tuple
    cells: tuple
    checks: tuple
    analysis: object
    curves: dict
    axes: dict


def load_run(path, label):
    """The Run of one matrix directory; raises ResultsError naming what is wrong."""
    matrix, fio = input_files(path)
    files = tuple((p, load_results(p)) for p in (os.path.join(path, n) for n in matrix))
    fio_files = tuple((p, load_results(p)) for p in (os.path.join(path, n) for n in fio))
    cells, _ = merge(files)  # The decisions rest on the matrix's own cells, not the cross-checks' runs.
    _, checks = merge(fio_files + files)  # Each check keeps its own file's cell (results.merge).
    analysis = analyse(cells)
    return Run(label, path, files, fio_files, tuple(cells), tuple(checks), analysis,
               {curve_id(x): x for x in analysis.crossovers}, {a.key: a for a in analysis.memory_axes})


def run_labels(dirs, given):
    """The inputs' names: --label's, else each directory's name (its path where two names
    match; "#2" after a directory given twice). Raises ResultsError on a wrong --label."""
    if given is not None:
        if len(given) != len(dirs):
            raise ResultsError(f"--label: give one name per directory ({len(dirs)} directories, "
                               f"{len(given)} names), after the directories")
        if any(not name.strip() for name in given) or len(set(given)) != len(given):
            raise ResultsError(f"--label: the names must be non-empty and all different, not {given}")
        return list(given)
    names = [os.path.basename(os.path.normpath(d)) for d in dirs]
    if len(set(names)) < len(names):
        names = [os.path.normpath(d) for d in dirs]
    seen, labels = {}, []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        labels.append(name if seen[name] == 1 else f"{name} #{seen[name]}")
    return labels


# ---------------------------------------------------------------- curves and squares


def point_label(point):
    kind, value = point
    return cap_label(value) if kind == "cap" else f"working set {ratio_text(value)} memory"


def curve_order(cid):
    suite, family, regime, (kind, value), backend = cid
    return (suite_rank(suite), family, kind != "cap", value, regime_rank(regime), backend in SYNC_BACKENDS, backend)


def curve_record_key(cid):
    """A curve_id as JSON names it."""
    suite, family, regime, (kind, value), backend = cid
    return {"suite": suite, "family": family, "regime": regime, "memory": point_label((kind, value)),
            "memory_cap": value if kind == "cap" else None, "memory_ratio": value if kind == "ratio" else None,
            "backend": backend}


def curve_title(cid):
    _, _, regime, point, backend = cid
    return ", ".join(([regime] if regime else []) + [point_label(point), backend])


def all_curves(runs):
    return sorted({cid for run in runs for cid in run.curves}, key=curve_order)


def families(runs):
    """The (suite, family) of every curve, in report order."""
    return sorted({cid[:2] for cid in all_curves(runs)}, key=lambda f: (suite_rank(f[0]), f[1]))


def square(x, qd):
    """The Comparison of Crossover x at depth qd; None where x is None or has no such depth."""
    return next((c for c in x.comparisons if c.qd == qd), None) if x else None


def depths_of(runs, cid):
    return sorted({c.qd for run in runs if cid in run.curves for c in run.curves[cid].comparisons})


def same(values):
    """True when the values present (not None) are all equal, None with fewer than two."""
    present = [v for v in values if v is not None]
    return None if len(present) < 2 else len(set(present)) == 1


def decision(x):
    """What must match for two runs to agree on a curve: the crossover kind and depth."""
    return (x.kind, x.depth)


UNDECIDED_DECISION = (decide.UNDECIDED, None)


# The reading of a shift between two runs' ratios, by decide.outcome_of's outcome of its interval.
SHIFT_READING = {decide.FASTER: "higher", decide.EQUIVALENT: "same", decide.SLOWER: "lower",
                 decide.INCONCLUSIVE: "unclear"}


@dataclass(frozen=True)
class Shift:
    """Another input's direct/buffered ratio over the first input's at one square (module
    docstring): the point, the interval and its reading."""
    ratio: float
    lo: float
    hi: float
    reading: str

    def text(self):
        return f"{self.ratio:.2f} [{self.lo:.2f}, {self.hi:.2f}] {self.reading}"


def repetition_ratios(c):
    """direct / buffered of each repetition pair of a twin Comparison (paired: run back to back)."""
    assert c.paired, "a shift compares twin comparisons"
    direct, buffered = decide.sample_values(c.direct, c.buffered, paired=True)
    return [d / b for d, b in zip(direct, buffered)]


def shift(ref, other):
    """The Shift of `other` against `ref` (two Comparisons of one square), None when either is
    missing or has fewer than two repetitions."""
    if ref is None or other is None:
        return None
    a, b = repetition_ratios(ref), repetition_ratios(other)
    if len(a) < 2 or len(b) < 2:
        return None
    point, lo, hi = decide.welch_interval(b, a, max(ref.looks, other.looks))
    return Shift(point, lo, hi, SHIFT_READING[decide.outcome_of(lo, hi)])


# ---------------------------------------------------------------- reproducibility (per pair)


def outcome(x):
    """The decision a curve states: "always", "from qd N", "never" or "undecided"."""
    return f"from qd {x.depth}" if x.kind == decide.FROM else x.kind


def outcomes(x, y):
    """Two curves' outcomes as a differing line names them, with the depths written out where
    the short words alone would read the same ("always (from qd 1)" vs "always (from qd 4)")."""
    if outcome(x) == outcome(y):
        return crossover_text(x), crossover_text(y)
    return outcome(x), outcome(y)


def share(part, whole):
    return part / whole if whole else None


def comparison_counts(twins):
    done = sum(1 for c in twins if c.decided)
    return {"decided": done, "total": len(twins), "share": share(done, len(twins))}


def agreement(a, b):
    """The reproducibility figures (module docstring) of Runs a and b."""
    ca, cb = a.curves, b.curves
    shared = sorted(set(ca) & set(cb), key=curve_order)
    decided = [k for k in shared if ca[k].decided and cb[k].decided]
    same_decision = [k for k in decided if decision(ca[k]) == decision(cb[k])]
    differing = [k for k in shared if decision(ca[k]) != decision(cb[k])]
    return {"a": a.label, "b": b.label,
            "curves": {"shared": len(shared), "one_run_only": len(set(ca) ^ set(cb)),
                       "same_outcome": len(shared) - len(differing),
                       "decided_in_both": len(decided), "decided_in_both_share": share(len(decided), len(shared)),
                       "same_decision": len(same_decision),
                       "same_decision_share": share(len(same_decision), len(decided))},
            "comparisons": {"a": comparison_counts(a.analysis.twins), "b": comparison_counts(b.analysis.twins)},
            "differing": [dict(zip(("a", "b"), outcomes(ca[k], cb[k])), curve=curve_record_key(k),
                               a_confident=ca[k].confident, b_confident=cb[k].confident) for k in differing]}


def agreement_lines(pair):
    """The three reproducibility statements of one pair, the runs named by their labels."""
    curves, a, b = pair["curves"], pair["a"], pair["b"]
    weak = sum(1 for item in pair["differing"] if not (item["a_confident"] and item["b_confident"]))
    ca, cb = pair["comparisons"]["a"], pair["comparisons"]["b"]
    return [f"{curves['same_outcome']} of {curves['shared']} curves reach the same outcome; "
            f"{len(pair['differing'])} differ ({weak} of them rest on a low-confidence curve in either run); "
            f"{curves['one_run_only']} curves are in one run only",
            f"Decided in both runs: {share_text(curves['decided_in_both'], curves['shared'])} curves; of those, "
            f"the same decision (crossover kind and depth): "
            f"{share_text(curves['same_decision'], curves['decided_in_both'])}",
            f"Comparisons decided: {a} {share_text(ca['decided'], ca['total'])}, "
            f"{b} {share_text(cb['decided'], cb['total'])}"]


# ---------------------------------------------------------------- environment and settings

# Where a recorded difference could explain a different answer, by flattened key: the first
# group whose test matches. Keys that differ between any two runs (when, which data file,
# which cgroup) are not listed at all.
ENVIRONMENT_GROUPS = (
    ("scheduler", lambda k: "scheduler" in k),
    ("read-ahead", lambda k: "read_ahead" in k),
    ("device", lambda k: k.startswith(("device.", "storage_kind."))),
    ("filesystem", lambda k: k.startswith(("filesystem.", "direct_io_alignment."))),
    ("kernel", lambda k: k in ("kernel", "uname") or k.startswith("io_uring.")),
    ("CPU", lambda k: k in ("cpu_model", "cpu_count", "cpus_allowed")),
    ("memory", lambda k: k in ("memory_total_bytes", "memlock_limit_bytes", "transparent_hugepage")
     or k.startswith("vm.")),
    ("load", lambda k: k.startswith("load.")),
    ("host and build", lambda k: k in ("hostname", "git_commit", "iodepth_version")),
)
OTHER_GROUP = "other"
UNEXPLAINING_KEYS = ("collected_utc", "data_path", "inspected_path", "cgroup.paths")
# Settings that name paths: another directory is no difference in what was measured.
PATH_SETTINGS = ("filename", "directory", "journal")


def environment_group(key):
    return next((name for name, test in ENVIRONMENT_GROUPS if test(key)), OTHER_GROUP)


def values_text(values):
    """One input's values of a key over its files: each distinct value once ("; " between them,
    since one value may be a list), more than three numbers as their range."""
    distinct = list(dict.fromkeys(values))
    if not distinct:
        return "(absent)"
    try:
        numbers = [float(v) for v in distinct]
    except ValueError:
        numbers = None
    if numbers and len(distinct) > 3:
        return f"{min(numbers):g}–{max(numbers):g} ({len(distinct)} values)"
    return "; ".join(distinct)


def recorded(run, section, skip):
    """{flattened key: [value per file]} of a section ("environment", "config") of the run's
    matrix results files, keys starting with one of `skip` left out."""
    found = {}
    for _, doc in run.files:
        for key, text in flatten(doc.get(section) or {}):
            if not any(key == s or key.startswith(s + ".") or key.endswith("." + s) for s in skip):
                found.setdefault(key, []).append(text)
    return found


def differences(runs, section, skip):
    """[(key, [text per run])] of the keys whose values are not the same in every run."""
    per_run = [recorded(run, section, skip) for run in runs]
    rows = []
    for key in sorted({k for found in per_run for k in found}):
        texts = [values_text(found.get(key, [])) for found in per_run]
        if len(set(texts)) > 1:
            rows.append((key, texts))
    return rows


def environment_differences(runs):
    """[(group, key, [text per run])] of the environment keys that differ, by group order."""
    order = [name for name, _ in ENVIRONMENT_GROUPS] + [OTHER_GROUP]
    rows = [(environment_group(key), key, texts) for key, texts in differences(runs, "environment", UNEXPLAINING_KEYS)]
    return sorted(rows, key=lambda r: (order.index(r[0]), r[1]))


# ---------------------------------------------------------------- the JSON document


def comparison_record(c):
    return None if c is None else {"outcome": c.outcome, "ratio": c.ratio, "lo": c.lo, "hi": c.hi, "n": c.n}


def shift_record(s):
    return None if s is None else {"ratio": s.ratio, "lo": s.lo, "hi": s.hi, "reading": s.reading}


def squares(runs, cid):
    """[(qd, [Comparison or None per run], [Shift or None per run after the first])]."""
    xs = [run.curves.get(cid) for run in runs]
    out = []
    for qd in depths_of(runs, cid):
        found = [square(x, qd) for x in xs]
        out.append((qd, found, [shift(found[0], c) for c in found[1:]]))
    return out


def curve_record(runs, cid):
    xs = [run.curves.get(cid) for run in runs]
    return {"curve": curve_record_key(cid),
            "crossovers": {run.label: crossover_text(x) if x else None for run, x in zip(runs, xs)},
            "same_decision": same([decision(x) if x else None for x in xs]),
            "squares": [{"qd": qd, "outcomes": {r.label: comparison_record(c) for r, c in zip(runs, found)},
                         "same_outcome": same([c.outcome if c else None for c in found]),
                         "shifts": {r.label: shift_record(s) for r, s in zip(runs[1:], shifts)}}
                        for qd, found, shifts in squares(runs, cid)]}


def iops_ratio(check, run):
    """iodepth / fio IOPS of one cross-check entry (section_fio.check_figures's)."""
    cells_by_key = {(c["id"], cap_of(c)): c for c in run.cells}
    return check_figures(check, cells_by_key)[2]["iops"]


def document(runs):
    """The JSON document of the module docstring."""
    return {"inputs": [{"label": r.label, "dir": r.path, "files": [os.path.basename(p) for p, _ in r.files],
                        "fio_files": [os.path.basename(p) for p, _ in r.fio_files], "cells": len(r.cells),
                        "comparisons": comparison_counts(r.analysis.twins)} for r in runs],
            "pairs": [agreement(a, b) for a, b in itertools.combinations(runs, 2)],
            "curves": [curve_record(runs, cid) for cid in all_curves(runs)],
            "environment": [{"group": g, "key": k, "values": dict(zip((r.label for r in runs), texts))}
                            for g, k, texts in environment_differences(runs)],
            "settings": [{"key": k, "values": dict(zip((r.label for r in runs), texts))}
                         for k, texts in differences(runs, "config", PATH_SETTINGS)],
            "fio_crosscheck": {r.label: [{"cell": c["cell"], "memory_cap": c.get("memory_cap") or 0,
                                          "iops_ratio": iops_ratio(c, r), "agrees": c.get("agrees")}
                                         for c in r.checks] for r in runs}}


# ---------------------------------------------------------------- the report

INTRO = (
    "Two or more runs of `iodepth matrix` set side by side: the same decision rule "
    "(docs/BENCHMARKS.md, \"Guidance\") applied to each input on its own, then compared curve by "
    "curve (suite, family, regime, memory point, backend; the memory point is the cap, or on the "
    "memory axis the ratio working set / memory) and depth by depth. Entries read \"mark point "
    "[low, high] n\", as in `iodepth report`; marks: "
    f"{OUTCOME_LEGEND}. A shift is another input's direct/buffered ratio over the first input's at "
    "one depth, with Welch's interval on the two runs' per-repetition ratios, read against the "
    f"same margins ({decide.MARGIN_LOW:.2f}, {decide.MARGIN_HIGH:.2f}): higher, same, lower or "
    "unclear. A shift higher or lower says the ratio itself moved between the runs; \"unclear\" "
    "with both outcomes decided says the runs disagree by less than the intervals can resolve.")


def created_text(run):
    stamps = sorted(doc.get("created_utc", "?") for _, doc in run.files)
    return stamps[0] if stamps[0] == stamps[-1] else f"{stamps[0]} – {stamps[-1]}"


def inputs_section(runs):
    rows = [[r.label, r.path, len(r.files), len(r.cells), created_text(r),
             ", ".join(dict.fromkeys(str(doc.get("git_commit", "?"))[:12] for _, doc in r.files)),
             ", ".join(os.path.basename(p) for p, _ in r.fio_files) or "–"] for r in runs]
    out = ["", "## Inputs", "", md_table(["input", "directory", "results files", "cells", "created (UTC)", "commit",
                                           "fio cross-checks"], rows)]
    return out + warnings_lines(runs)


def warnings_lines(runs):
    """The report's warnings (section_header.environment_warnings) of each input, named by its
    label, each once with the number of its results files it holds for."""
    out = []
    for r in runs:
        found = [w for _, doc in r.files for w in environment_warnings([(r.label, doc)])]
        out += [f"- {w} (in {found.count(w)} of its {len(r.files)} results files)" for w in dict.fromkeys(found)]
    return ["", "## Warnings", ""] + out if out else []


def summary_lines(runs):
    """The headline over every input: curves and depths measured in all, how many differ."""
    curves = [cid for cid in all_curves(runs) if all(cid in r.curves for r in runs)]
    differing = [cid for cid in curves if not same([decision(r.curves[cid]) for r in runs])]
    undecided = [cid for cid in curves if all(decision(r.curves[cid]) == UNDECIDED_DECISION for r in runs)]
    squares_all = [(found, shifts) for cid in curves for _, found, shifts in squares(runs, cid) if all(found)]
    moved = [f for f, s in squares_all if not same([c.outcome for c in f])]
    real = [f for f, s in squares_all if not same([c.outcome for c in f])
            and any(x and x.reading in ("higher", "lower") for x in s)]
    some = len(all_curves(runs)) - len(curves)
    return [f"{len(curves)} curves are measured in every input: {len(curves) - len(differing)} reach the same "
            f"decision (crossover kind and depth) in all ({len(undecided)} of them undecided in all), "
            f"{len(differing)} differ; {some} curves are in some inputs only.",
            f"{len(squares_all)} comparisons (curve and depth) are measured in every input: {len(moved)} have "
            f"different outcomes, and in {len(real)} of those the ratio shifted beyond the margins between the "
            f"first input and another."]


def summary_section(runs, doc):
    out = ["", "## Summary", ""] + [f"- {line}" for line in summary_lines(runs)]
    for pair in doc["pairs"]:
        out += ["", f"**{pair['a']} against {pair['b']}** (reproducibility):", ""] + [f"- {line}" for line in
                                                                                    agreement_lines(pair)]
    groups = list(dict.fromkeys(row["group"] for row in doc["environment"] if row["group"] != OTHER_GROUP))
    out += ["", ("The recorded environments differ in: " + ", ".join(groups) + " (see \"Environment: what differs\")."
                 if groups else "The recorded environments differ in nothing that could explain a difference "
                 "(device, scheduler, read-ahead, filesystem, kernel, CPU, memory, load, build).")]
    return out


def environment_section(runs):
    labels = [r.label for r in runs]
    rows = environment_differences(runs)
    explaining = [[g, k] + texts for g, k, texts in rows if g != OTHER_GROUP]
    other = [[k] + texts for g, k, texts in rows if g == OTHER_GROUP]
    settings = [[k] + texts for k, texts in differences(runs, "config", PATH_SETTINGS)]
    out = ["", "## Environment: what differs", "",
           "What each input's results files recorded of the machine, where the inputs differ (a value per "
           "file where an input's files differ; when each ran, its data file's path and its cgroup left out). "
           "The device, its scheduler and read-ahead, the filesystem, the kernel and the CPU can each "
           "change the answer, not only the numbers.", ""]
    out.append(md_table(["what", "key"] + labels, explaining) if explaining else
               "Nothing that could explain a difference: the device, scheduler, read-ahead, filesystem, kernel, "
               "CPU, memory, load and build are recorded the same in every input.")
    if other:
        out += ["", "### Also recorded differently", "", md_table(["key"] + labels, other)]
    out += ["", "### Matrix settings that differ", "",
            md_table(["key"] + labels, settings) if settings else
            "None: every input ran with the same settings (paths aside)."]
    return out


def same_text(values, open_value):
    """Whether the values present agree: "yes" ("yes, undecided in all" where they all are
    `open_value`: the same answer, but no decision), "⚠ no", or "–" with fewer than two."""
    agree = same(values)
    if agree and next(v for v in values if v is not None) == open_value:
        return "yes, undecided in all"
    return {True: "yes", False: f"{MARK} no", None: "–"}[agree]


def differing_section(runs):
    """Every curve whose crossover or some depth's outcome differs, with each input's interval
    at those depths and the shifts against the first input."""
    items = []
    for cid in all_curves(runs):
        xs = [r.curves.get(cid) for r in runs]
        rows = [(qd, found, shifts) for qd, found, shifts in squares(runs, cid)
                if same([c.outcome if c else None for c in found]) is False]
        if same([decision(x) if x else None for x in xs]) is not False and not rows:
            continue
        items.append(f"- **{cid[1]} ({cid[0]}), {curve_title(cid)}**: " + "; ".join(
            f"{r.label} {crossover_text(x) if x else 'not measured'}" for r, x in zip(runs, xs)))
        for qd, found, shifts in rows:
            parts = [f"{r.label} {interval_text(c) if c else 'not measured'}" for r, c in zip(runs, found)]
            parts += [f"{r.label} / {runs[0].label} {s.text()}" for r, s in zip(runs[1:], shifts) if s]
            items.append(f"  - qd {qd}: " + "; ".join(parts))
    out = ["", "## Where the decisions differ", "",
           "Each curve whose crossover differs between inputs, or whose outcome differs at some depth; under "
           "it, those depths with every input's ratio, interval, outcome and repetitions, and the shift "
           "against the first input.", ""]
    return out + (items or ["None: every curve measured in more than one input reaches the same crossover, "
                            "and every depth the same outcome."])


def crossover_rows(runs, cids):
    return [[point_label(cid[3]), cid[2] or "–", cid[4]]
            + [crossover_text(r.curves[cid]) if cid in r.curves else "–" for r in runs]
            + [same_text([decision(r.curves[cid]) if cid in r.curves else None for r in runs], UNDECIDED_DECISION)]
            for cid in cids]


def depth_rows(runs, cids):
    rows = []
    for cid in cids:
        for qd, found, shifts in squares(runs, cid):
            rows.append([point_label(cid[3]), cid[2] or "–", cid[4], qd]
                        + [entry_text(c) if c else "–" for c in found]
                        + [s.text() if s else "–" for s in shifts]
                        + [same_text([c.outcome if c else None for c in found], decide.INCONCLUSIVE)])
    return rows


def ratio_plot(plt, runs, fam, cids, out_dir):
    """The family's curves of every input on one axis per curve; [] when no curve has two depths."""
    panels = [{"title": curve_title(cid),
               "lines": [{"label": r.label, "run": i,
                          "points": [(c.qd, c.ratio, c.lo, c.hi, c.decided) for c in r.curves[cid].comparisons]}
                         for i, r in enumerate(runs) if cid in r.curves]}
              for cid in cids if len(depths_of(runs, cid)) > 1]
    if not panels:
        return []
    stem = file_stem("compare_ratio", *fam)
    plot_ratio_panels(plt, panels, f"{fam[1]} ({fam[0]}): direct / buffered against depth, every input",
                      os.path.join(out_dir, stem + ".png"), (decide.MARGIN_LOW, decide.MARGIN_HIGH))
    return ["", f"![{fam[1]} direct/buffered ratio of every input]({stem}.png)"]


def memory_axes_lines(plt, runs, fam, out_dir):
    """The family's memory axes: each input's boundary, and the crossover maps side by side."""
    keys = sorted({k for r in runs for k in r.axes if k[:2] == fam}, key=lambda k: (regime_rank(k[2]), k[3]))
    if not keys:
        return []
    legend = [(o, f"{SYMBOLS[o]} {o}") for o in OUTCOMES]
    out = ["", "Memory axis: where along working set / memory direct matches or beats buffered, per input "
           "(rows of the maps: the ratios; columns: the depths).", "",
           md_table(["regime", "backend"] + [r.label for r in runs],
                    [[k[2] or "–", k[3]] + [memory_boundary_text(r.axes[k].boundary) if k in r.axes else "–"
                                            for r in runs] for k in keys])]
    for key in keys:
        stem = file_stem("compare_memory_map", *key)
        grids = [dict(map_grid(r.axes[key]), title=r.label) for r in runs if key in r.axes]
        title = ", ".join(p for p in (key[1], key[2], key[3]) if p)
        plot_outcome_maps(plt, grids, f"{title}: direct against buffered by working set / memory and depth",
                          os.path.join(out_dir, stem + ".png"), legend)
        out += ["", f"![{title} crossover maps side by side]({stem}.png)"]
    return out


def families_section(plt, runs, out_dir):
    labels = [r.label for r in runs]
    out = ["", "## Side by side, per workload family", "",
           "Per family: each curve's crossover in every input, then every depth's entry, the shift of each "
           "other input against the first, and whether the outcomes match; then the ratios of every input "
           "on one axis per curve (bars: the intervals; the shaded band: the equivalence margins; an open "
           "marker: not decided), and on the memory axis the crossover maps side by side."]
    for fam in families(runs):
        cids = [cid for cid in all_curves(runs) if cid[:2] == fam]
        out += ["", f"### {fam[1]} ({fam[0]} suite)", "",
                md_table(["memory", "regime", "backend"] + labels + ["same decision"], crossover_rows(runs, cids)),
                "", md_table(["memory", "regime", "backend", "qd"] + labels
                             + [f"{r.label} / {runs[0].label}" for r in runs[1:]] + ["same outcome"],
                             depth_rows(runs, cids))]
        out += ratio_plot(plt, runs, fam, cids, out_dir) + memory_axes_lines(plt, runs, fam, out_dir)
    return out


def agreement_text(check):
    return {True: "agrees", False: f"{MARK} outside the band", None: "not judged"}[check.get("agrees")]


def crosscheck_lines(runs):
    out = ["", "## fio cross-checks", ""]
    if not any(r.checks for r in runs):
        return out + ["No input holds a fio cross-check (fio-*.json beside its results files; run.sh writes "
                      "fio-crosscheck.json)."]
    keys = list(dict.fromkeys((c["cell"], c.get("memory_cap") or 0) for r in runs for c in r.checks))
    by_run = [{(c["cell"], c.get("memory_cap") or 0): c for c in r.checks} for r in runs]
    rows = [[cell, cap_label(cap)] + [f"{fmt(iops_ratio(mine[(cell, cap)], r), '.2f')}, "
                                      f"{agreement_text(mine[(cell, cap)])}" if (cell, cap) in mine else "–"
                                      for r, mine in zip(runs, by_run)]
            for cell, cap in keys]
    out += ["Side by side: iodepth / fio IOPS of each cell checked, and the cross-check's own verdict (within its "
            "agreement band or not). A device, kernel or filesystem that changed the answer shows here too if "
            "it moved iodepth and fio alike: the measurement agrees, the machine differs.", "",
            md_table(["cell", "memory"] + [r.label for r in runs], rows), "", "Each input's cross-checks in full. "]
    out[-1] += CROSSCHECK_EXPLANATION[0]
    for r in runs:
        out += ["", f"### {r.label}", ""] + (crosscheck_table(list(r.checks), list(r.cells), explain=False)
                                            if r.checks else [f"No fio cross-check in {r.path}."])
    return out


def report_lines(plt, runs, doc, out_dir):
    return (["# iodepth compare: " + " / ".join(r.label for r in runs), "", INTRO] + inputs_section(runs)
            + summary_section(runs, doc) + differing_section(runs) + environment_section(runs)
            + families_section(plt, runs, out_dir) + crosscheck_lines(runs))


# ---------------------------------------------------------------- CLI


def parse_args(argv):
    parser = argparse.ArgumentParser(prog=PROG, description="Compare two or more `iodepth matrix --out` directories "
                                     "(two runs, two hosts, two kernels): a Markdown report with plots.")
    parser.add_argument("dirs", nargs="+", metavar="DIR", help="directories `iodepth matrix --out` wrote")
    parser.add_argument("--label", action="extend", nargs="+", metavar="NAME",
                        help="one name per directory, in their order, after them (default: the directories' names)")
    parser.add_argument("--out", help="output directory (default: compare-<label>-vs-<label> beside the first DIR)")
    parser.add_argument("--json", action="store_true", help="print the comparison as one JSON object; write no report")
    return parser.parse_args(argv)


def default_out_dir(first_dir, labels):
    parent = os.path.dirname(os.path.abspath(first_dir))
    return os.path.join(parent, file_stem("compare-" + "-vs-".join(labels)))


def write_report(runs, doc, out_dir):
    from .__main__ import import_pyplot  # The report's own: the message on a missing matplotlib.
    plt = import_pyplot()
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as e:
        raise ResultsError(f"cannot create output directory {out_dir}: {e.strerror}") from None
    lines = report_lines(plt, runs, doc, out_dir)
    report = os.path.join(out_dir, "report.md")
    with open(report, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(out_dir, "compare.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
    return report


def main(argv):
    args = parse_args(argv)
    try:
        if len(args.dirs) < 2:
            raise ResultsError(f"give two or more directories to compare (each one `iodepth matrix --out DIR` "
                               f"wrote), not {len(args.dirs)}")
        labels = run_labels(args.dirs, args.label)
        runs = [load_run(path, label) for path, label in zip(args.dirs, labels)]
        doc = document(runs)
        if args.json:
            print(json.dumps(doc, ensure_ascii=False))
            return 0
        report = write_report(runs, doc, args.out or default_out_dir(args.dirs[0], labels))
    except ResultsError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    for line in summary_lines(runs):
        print(line)
    for pair in doc["pairs"]:
        print(f"{pair['a']} against {pair['b']}:")
        for line in agreement_lines(pair):
            print(f"  {line}")
    print(f"wrote {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
