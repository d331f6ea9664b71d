"""fio.compare_guidance: do two matrix runs reach the same guidance?

Usage:
    /usr/bin/python3 -m fio.compare_guidance RUN_A_DIR RUN_B_DIR

Reads the results files of two `iodepth matrix --out DIR` runs (every <suite>-<cap>.json
in each) and compares, curve by curve (suite, family, regime, memory cap, backend), the
crossover the report's guidance states: "always", "from qd N" or "never" (report/ratios.py,
the same rule, imported, never copied). Prints each curve whose outcome differs, with both
runs' ratios and intervals at the depths that decide it, then a count. Exit status 0
whatever the outcome; 1 on an unreadable input. Run from the repository root, with Debian's
/usr/bin/python3.
"""

import glob
import os
import sys

from report.ratios import analyse
from report.results import ResultsError, load_results, merge

SUITES = ("io_patterns", "qd", "bm", "scan")


def crossovers(run_dir):
    paths = sorted(p for p in glob.glob(os.path.join(run_dir, "*.json"))
                   if os.path.basename(p).split("-")[0] in SUITES)
    if not paths:
        raise ResultsError(f"{run_dir} holds no matrix results files (<suite>-<cap>.json)")
    cells, _ = merge([(p, load_results(p)) for p in paths])
    return {x.key: x for x in analyse(cells).crossovers}


def outcome(x):
    return "never" if x.kind == "never" else ("always" if x.kind == "always" else f"from qd {x.depth}")


def interval(c):
    return f"qd {c.qd}: {c.median:.2f} [{c.lo:.2f}, {c.hi:.2f}]{' (inconclusive)' if c.inconclusive else ''}"


def compare(a, b):
    """The lines comparing two runs' {curve key: crossover}."""
    shared = sorted(set(a) & set(b), key=str)
    differing = [k for k in shared if outcome(a[k]) != outcome(b[k])]
    lines = []
    for k in differing:
        suite, family, regime, cap, backend = k
        lines.append(f"{family} {regime or '-'} cap={cap} {backend}: {outcome(a[k])} vs {outcome(b[k])}")
        for name, x in (("  A", a[k]), ("  B", b[k])):
            lines.append(f"{name}: " + "; ".join(interval(c) for c in x.comparisons)
                         + ("" if x.confident else "  (low confidence)"))
    weak = sum(1 for k in differing if not (a[k].confident and b[k].confident))
    lines.append(f"{len(shared) - len(differing)} of {len(shared)} curves reach the same outcome; "
                 f"{len(differing)} differ ({weak} of them rest on a low-confidence curve in either run); "
                 f"{len(set(a) ^ set(b))} curves are in one run only")
    return lines


def main(argv):
    if len(argv) != 2:
        print("usage: " + __doc__.strip().splitlines()[3].strip(), file=sys.stderr)
        return 1
    try:
        a, b = crossovers(argv[0]), crossovers(argv[1])
    except ResultsError as e:
        print(f"compare_guidance: error: {e}", file=sys.stderr)
        return 1
    print("\n".join(compare(a, b)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
