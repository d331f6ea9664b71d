"""fio.compare_guidance: do two matrix runs reach the same guidance?

Usage:
    /usr/bin/python3 -m fio.compare_guidance RUN_A_DIR RUN_B_DIR [--json]

Reads the results files of two `iodepth matrix --out DIR` runs (every <suite>-<cap>.json
in each) and compares, curve by curve (suite, family, regime, memory cap, backend), the
crossover the report's guidance states: "always", "from qd N", "never" or "undecided"
(report/decide.py through report/ratios.py: the same rule, imported, never copied). Prints
each curve whose outcome differs, with both runs' ratios and intervals at every depth, then
the counts, then the reproducibility of the decisions:

    curves decided in both runs     of the curves in both runs, those whose crossover is
                                    decided (not undecided) in run A and in run B
    same decision                   of those, the share whose decision is the same in both:
                                    the same crossover kind and the same depth
    comparisons decided             per run, the decided share of its twin comparisons

--json prints the same as one JSON object instead: {"curves": {"shared", "one_run_only",
"same_outcome", "decided_in_both", "decided_in_both_share", "same_decision",
"same_decision_share"}, "comparisons": {"a": {"decided", "total", "share"}, "b": {...}},
"differing": [{"curve": {"suite", "family", "regime", "memory_cap", "backend"}, "a", "b",
"a_confident", "b_confident"}]}; a share is null when there is nothing to divide. Exit status
0 whatever the outcome; 1 on an unreadable input or wrong arguments. Run from the repository
root, with Debian's /usr/bin/python3.
"""

import argparse
import glob
import json
import os
import sys

from report.decide import crossover_text
from report.ratios import analyse
from report.results import ResultsError, load_results, merge

SUITES = ("io_patterns", "qd", "bm", "scan")
USAGE = "/usr/bin/python3 -m fio.compare_guidance RUN_A_DIR RUN_B_DIR [--json]"


def analysis_of(run_dir):
    """The report's Analysis of one matrix directory's results files."""
    paths = sorted(p for p in glob.glob(os.path.join(run_dir, "*.json"))
                   if os.path.basename(p).split("-")[0] in SUITES)
    if not paths:
        raise ResultsError(f"{run_dir} holds no matrix results files (<suite>-<cap>.json)")
    cells, _ = merge([(p, load_results(p)) for p in paths])
    return analyse(cells)


def crossovers(run_dir):
    """{curve key: Crossover} of one matrix directory."""
    return {x.key: x for x in analysis_of(run_dir).crossovers}


def outcome(x):
    """The decision a curve states: "always", "from qd N", "never" or "undecided"."""
    return f"from qd {x.depth}" if x.kind == "from" else x.kind


def outcomes(x, y):
    """Two curves' outcomes as a differing line names them, with the depths written out where
    the short words alone would read the same ("always (from qd 1)" vs "always (from qd 4)")."""
    if outcome(x) == outcome(y):
        return crossover_text(x), crossover_text(y)
    return outcome(x), outcome(y)


def decision(x):
    """What must match for two runs to agree on a curve: the crossover kind and depth."""
    return (x.kind, x.depth)


def interval(c):
    return f"qd {c.qd}: {c.median:.2f} [{c.lo:.2f}, {c.hi:.2f}]{' (inconclusive)' if c.inconclusive else ''}"


def share(part, whole):
    return part / whole if whole else None


def share_text(part, whole):
    return f"{part} of {whole}" + (f" ({part / whole:.0%})" if whole else "")


def agreement(a, b, twins_a=(), twins_b=()):
    """The reproducibility counts (module docstring) of two runs' {curve key: Crossover} and
    their twin comparisons."""
    shared = sorted(set(a) & set(b), key=str)
    decided = [k for k in shared if a[k].decided and b[k].decided]
    same = [k for k in decided if decision(a[k]) == decision(b[k])]
    differing = [k for k in shared if decision(a[k]) != decision(b[k])]

    def comparisons(twins):
        done = sum(1 for c in twins if c.decided)
        return {"decided": done, "total": len(twins), "share": share(done, len(twins))}
    return {"curves": {"shared": len(shared), "one_run_only": len(set(a) ^ set(b)),
                       "same_outcome": len(shared) - len(differing),
                       "decided_in_both": len(decided), "decided_in_both_share": share(len(decided), len(shared)),
                       "same_decision": len(same), "same_decision_share": share(len(same), len(decided))},
            "comparisons": {"a": comparisons(twins_a), "b": comparisons(twins_b)},
            "differing": [dict(zip(("a", "b"), outcomes(a[k], b[k])),
                               curve=dict(zip(("suite", "family", "regime", "memory_cap", "backend"), k)),
                               a_confident=a[k].confident, b_confident=b[k].confident) for k in differing]}


def compare(a, b, twins_a=(), twins_b=()):
    """The lines comparing two runs' {curve key: Crossover} (and, when given, their twins)."""
    counts = agreement(a, b, twins_a, twins_b)
    lines = []
    for item in counts["differing"]:
        k = tuple(item["curve"].values())
        _, family, regime, cap, backend = k
        lines.append(f"{family} {regime or '-'} cap={cap} {backend}: {item['a']} vs {item['b']}")
        for name, x in (("  A", a[k]), ("  B", b[k])):
            lines.append(f"{name}: " + "; ".join(interval(c) for c in x.comparisons)
                         + ("" if x.confident else "  (low confidence)"))
    curves = counts["curves"]
    weak = sum(1 for item in counts["differing"] if not (item["a_confident"] and item["b_confident"]))
    lines.append(f"{curves['same_outcome']} of {curves['shared']} curves reach the same outcome; "
                 f"{len(counts['differing'])} differ ({weak} of them rest on a low-confidence curve in either "
                 f"run); {curves['one_run_only']} curves are in one run only")
    lines.append(f"Decided in both runs: {share_text(curves['decided_in_both'], curves['shared'])} curves; "
                 f"of those, the same decision (crossover kind and depth): "
                 f"{share_text(curves['same_decision'], curves['decided_in_both'])}")
    ca, cb = counts["comparisons"]["a"], counts["comparisons"]["b"]
    lines.append(f"Comparisons decided: run A {share_text(ca['decided'], ca['total'])}, "
                 f"run B {share_text(cb['decided'], cb['total'])}")
    return lines


def main(argv):
    parser = argparse.ArgumentParser(prog="python3 -m fio.compare_guidance", add_help=True,
                                     description="Do two matrix runs reach the same guidance?")
    parser.add_argument("runs", nargs="*")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    args, unknown = parser.parse_known_args(argv)
    if len(args.runs) != 2 or unknown:
        print("usage: " + USAGE, file=sys.stderr)
        return 1
    try:
        one, two = analysis_of(args.runs[0]), analysis_of(args.runs[1])
    except ResultsError as e:
        print(f"compare_guidance: error: {e}", file=sys.stderr)
        return 1
    a, b = ({x.key: x for x in run.crossovers} for run in (one, two))
    if args.json:
        print(json.dumps(agreement(a, b, one.twins, two.twins), ensure_ascii=False))
    else:
        print("\n".join(compare(a, b, one.twins, two.twins)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
