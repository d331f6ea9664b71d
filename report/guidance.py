"""Says, from iodepth results, where direct I/O catches up with buffered I/O, and what to run.

Usage (from the repository root, or with PYTHONPATH set to it):
    /usr/bin/python3 -m report.guidance RESULTS.json... [--advise OUT.json] [--format json|toml]

Without --advise it prints one sentence per curve (suite family, regime, memory cap,
backend) saying from which queue depth direct I/O is no longer measurably slower than
buffered, by how much, at what latency and CPU cost, and where buffered stays better; every
sentence names the cells it rests on. With --advise it writes the machine-readable advice of
advice.py (`iodepth advise` calls it this way); "-" writes to stdout, and a name ending in
".toml" picks TOML unless --format says otherwise.

The rules (ratios, intervals, inconclusive pairs, crossover) are in ratios.py's docstring; the
advice's are in advice.py's and in the advice's own "rules" field. Pure functions of the
results (stdlib only): the report's Guidance section (section_guidance.py) imports this module
for its wording without needing matplotlib here.
"""

import argparse
import sys

from .advice import AdviceError, advise, missing_twins_message, to_toml, write_json
from .results import ResultsError, cap_label, load_results, merge
from .ratios import Analysis, Comparison, Crossover, analyse, cpu_cost, latency_cost  # noqa: F401

# How a person runs this module, for --help and error messages (argparse's default names the file).
PROG = "python3 -m report.guidance"

__all__ = ["analyse", "advise", "to_toml", "crossover_sentence", "buffered_better",
           "buffered_better_lines", "summary_line", "inconclusive_line", "Analysis", "Comparison",
           "Crossover"]


# ---------------------------------------------------------------- wording

def fmt_ratio(value):
    return "–" if value is None else f"{value:.2f}"


def ids_text(comparison):
    """Both cells of a comparison: "rand_read_qd1/{direct,buffered}/io_uring" when the ids differ
    only in one part (the mode), else "A vs B"."""
    a, b = (part.split("/") for part in comparison.cells())
    differ = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
    if len(a) == len(b) and len(differ) == 1:
        i = differ[0]
        return "/".join(a[:i] + [f"{{{a[i]},{b[i]}}}"] + a[i + 1:])
    return f"{comparison.direct['id']} vs {comparison.buffered['id']}"


def interval_text(comparison):
    """"1.20x [1.10, 1.31]", or the point with why it has no interval."""
    text = f"{comparison.median:.2f}x"
    if comparison.n < 2:
        return text + f" (no interval: {comparison.n} repetition{'s' if comparison.n != 1 else ''})"
    return text + f" [{comparison.lo:.2f}, {comparison.hi:.2f}]"


def inverse_interval_text(comparison):
    """Buffered over direct: the same interval read the other way round."""
    text = f"{1 / comparison.median:.2f}x"
    if comparison.n < 2:
        return text
    return text + f" [{1 / comparison.hi:.2f}, {1 / comparison.lo:.2f}]"


def entry_text(comparison):
    """A ratio-table entry: "0.90 [0.85, 0.95]", marked when inconclusive."""
    text = f"{comparison.median:.2f}"
    if comparison.n >= 2:
        text += f" [{comparison.lo:.2f}, {comparison.hi:.2f}]"
    return text + (" ⚠" if comparison.inconclusive else "")


def curve_label(x):
    parts = [x.family] + ([x.regime] if x.regime else []) + [cap_label(x.memory_cap), x.backend]
    return ", ".join(parts)


def outcome_text(x):
    """"from qd 16", "always (from qd 1)" or "never (up to qd 32)"."""
    if x.kind == "never":
        return f"never (up to qd {x.deepest.qd})"
    if x.kind == "always":
        return f"always (from qd {x.comparisons[0].qd})"
    return f"from qd {x.depth}"


def costs_text(comparison):
    latency = latency_cost(comparison)
    # Cells that read nothing from the device (the hot regime serves every page from the
    # pool) have no read latency to compare.
    latency_part = ("neither side read from the device, so there is no read latency to compare"
                    if latency is None else f"direct's p95 latency is {fmt_ratio(latency)}x buffered's")
    return f"{latency_part}; direct's CPU per I/O is {fmt_ratio(cpu_cost(comparison))}x buffered's"


def rival_text(x):
    """What direct is set against: its twin at the same qd, or the baseline cell."""
    if x.baseline is None:
        return "buffered at the same qd"
    return f"buffered {x.baseline.get('backend')} at qd 1 ({x.baseline['id']})"


def headline(x):
    at, rival = x.at_crossover, rival_text(x)
    if x.kind == "never":
        return (f"direct never catches up with {rival}: at qd {at.qd}, the largest depth measured, "
                f"it runs at {interval_text(at)} ({ids_text(at)})")
    if x.kind == "always" and len(x.comparisons) == 1:
        return (f"direct is not below {rival} at qd {at.qd}, the only depth measured: "
                f"{interval_text(at)} ({ids_text(at)})")
    if x.kind == "always":
        return (f"direct is not below {rival} at any depth measured, from qd {at.qd}: "
                f"{interval_text(at)} ({ids_text(at)})")
    return f"direct catches up with {rival} from qd {at.qd}: {interval_text(at)} ({ids_text(at)})"


def crossover_sentence(x):
    """One sentence on a Crossover: the outcome and by how much, the costs there, where
    buffered stays better, and whether inconclusive pairs decide it; names every cell."""
    at = x.at_crossover
    text = f"{curve_label(x)}: {headline(x)}"
    if x.kind != "never" and x.deepest is not at:
        text += f", and {interval_text(x.deepest)} at qd {x.deepest.qd} ({ids_text(x.deepest)})"
    text += f"; there {costs_text(at)}."
    better = [c for c in x.buffered_better if not (x.kind == "never" and c is at)]
    if better:
        text += (" Buffered is measurably better at " +
                 "; ".join(f"qd {c.qd} ({inverse_interval_text(c)}, {ids_text(c)})" for c in better) + ".")
    if not x.confident:
        reasons = [f"qd {c.qd}: {', '.join(c.reasons)}" for c in x.deciding if c.inconclusive]
        text += " Low confidence, inconclusive pairs decide it: " + "; ".join(reasons) + "."
    return text


def memory_note(comparison):
    """What the buffered side had in memory, when the results say: page cache, hit ratio."""
    median = comparison.buffered.get("median") or {}
    notes = []
    cache = (median.get("memory") or {}).get("page_cache_bytes")
    if cache is not None:
        notes.append(f"buffered page cache {cache / (1 << 20):,.0f} MiB")
    hit = (median.get("buffer") or {}).get("hit_ratio")
    if hit is not None:
        notes.append(f"pool hit ratio {hit:.2f}")
    return ", ".join(notes)


def buffered_better(crossovers):
    """(Crossover, Comparison) for every comparison whose interval lies entirely below parity."""
    return [(x, c) for x in crossovers for c in x.buffered_better]


def buffered_better_lines(crossovers):
    """"hot, no memory cap, qd 1 (bm_seq_read, io_uring): buffered 1.80x [..] (ids)" for every
    comparison whose interval lies entirely below parity."""
    lines = []
    for x, c in buffered_better(crossovers):
        where = ", ".join(([x.regime] if x.regime else []) + [cap_label(x.memory_cap), f"qd {c.qd}"])
        note = memory_note(c)
        lines.append(f"{where} ({x.family}, {x.backend}): buffered {inverse_interval_text(c)} "
                     f"({ids_text(c)}{'; ' + note if note else ''})")
    return lines


def summary_line(crossovers):
    """How many curves fall under each outcome, and how many rest on inconclusive comparisons."""
    kinds = [x.kind for x in crossovers]
    low = sum(1 for x in crossovers if not x.confident)
    return (f"{len(kinds)} curve{'s' if len(kinds) != 1 else ''}: direct is not below buffered at any "
            f"measured depth on {kinds.count('always')}, catches up from some depth on "
            f"{kinds.count('from')}, never on {kinds.count('never')}; {low} rest"
            f"{'s' if low == 1 else ''} on inconclusive comparisons.")


def inconclusive_line(comparisons):
    """One line on the comparisons no conclusion may rest on alone."""
    flagged = [c for c in comparisons if c.inconclusive]
    if not flagged:
        return f"No comparison is inconclusive (all {len(comparisons)} have an interval narrower " \
               "than the threshold, two or more repetitions and no cv_high flag)."
    items = "; ".join(f"{ids_text(c)}: {', '.join(c.reasons)}" for c in flagged)
    return f"Inconclusive ({len(flagged)} of {len(comparisons)} comparisons): {items}."


# ---------------------------------------------------------------- CLI

def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog=PROG, description="Where direct I/O catches up with buffered I/O, from iodepth "
                               "results files; --advise writes a machine-readable recommendation.")
    parser.add_argument("results", nargs="+",
                        help="results JSON files; later ones win on equal (id, memory_cap)")
    parser.add_argument("--advise", metavar="OUT", help='write the advice to OUT ("-": stdout)')
    parser.add_argument("--format", choices=("json", "toml"),
                        help="advice format (default: toml when OUT ends in .toml, else json)")
    return parser.parse_args(argv)


def write_advice(doc, out, form):
    text = to_toml(doc) if form == "toml" else write_json(doc)
    if out == "-":
        sys.stdout.write(text)
        return
    try:
        with open(out, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as e:
        raise ResultsError(f"cannot write {out}: {e.strerror}") from None


def print_guidance(analysis):
    print(summary_line(analysis.crossovers))
    for x in analysis.crossovers + analysis.baselines:
        print(f"- {crossover_sentence(x)}")
    for line in buffered_better_lines(analysis.crossovers):
        print(f"- buffered better: {line}")
    print(inconclusive_line(analysis.twins))


def main(argv):
    args = parse_args(argv)
    try:
        runs = [(path, load_results(path)) for path in args.results]
        cells, _ = merge(runs)
        if args.advise:
            form = args.format or ("toml" if args.advise.endswith(".toml") else "json")
            write_advice(advise(cells, runs), args.advise, form)
        else:
            analysis = analyse(cells)
            if not analysis.twins:
                raise AdviceError(missing_twins_message(cells))
            print_guidance(analysis)
    except (ResultsError, AdviceError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
