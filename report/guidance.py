"""Says, from iodepth results, where direct I/O catches up with buffered I/O, and what to run.

Usage (from the repository root, or with PYTHONPATH set to it):
    /usr/bin/python3 -m report.guidance RESULTS.json|DIR... [--advise OUT.json] [--format json|toml]
                                        [--working-set BYTES --memory BYTES]

Without --advise it prints one sentence per curve (suite family, regime, memory cap,
backend) saying from which queue depth direct I/O is equivalent to or faster than buffered,
by how much, at what latency and CPU cost, where buffered stays faster and what stayed
inconclusive and why; every sentence names the cells it rests on and how many repetitions
each comparison took. With --advise it writes the machine-readable advice of advice.py
(`iodepth advise` calls it this way); "-" writes to stdout, and a name ending in ".toml"
picks TOML unless --format says otherwise. --working-set and --memory (bytes, or sizes such as
4GiB and 512MiB; both or neither, with --advise) add the answer for the engine's working set /
memory ratio from the memory axis (advice.py, rule 7). A DIR stands for the results files
`iodepth matrix --out DIR` wrote there. Results of several hosts are grouped into host classes
(device model and kernel) and pooled per class (fleet.py): the sentences are printed per class,
and the advice has one recommendation per class.

The rule (intervals, the four outcomes, repeated looks, the crossover, "either") is
decide.py's and only there; this module words its results. Pure functions of the results
(stdlib only): the report's Guidance section (section_guidance.py) imports this module for
its wording without needing matplotlib here.
"""

import argparse
import sys

from . import decide
from .advice import AdviceError, advise, missing_twins_message, parse_size, to_toml, write_json
from .decide import SYMBOLS, Comparison, Crossover, crossover_text  # noqa: F401
from .results import ResultsError, bytes_text, condition_label
from .ratios import Analysis, analyse, cpu_cost, curve_memory_budget, curve_memory_ratio, latency_cost  # noqa: F401

# How a person runs this module, for --help and error messages (argparse's default names the file).
PROG = "python3 -m report.guidance"

__all__ = ["analyse", "advise", "to_toml", "crossover_sentence", "buffered_better",
           "buffered_better_lines", "summary_line", "inconclusive_line", "Analysis", "Comparison",
           "Crossover"]


# ---------------------------------------------------------------- wording

def fmt_ratio(value):
    return "–" if value is None else f"{value:.2f}"


def plural(n, word):
    return f"{n} {word}{'' if n == 1 else 's'}"


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
    """"1.20x [1.10, 1.31], faster, n=5", or the point with why it has no interval."""
    c = comparison
    if not c.has_interval:
        return f"{c.ratio:.2f}x ({plural(c.n, 'repetition')}: no interval), {c.outcome}"
    return f"{c.ratio:.2f}x [{c.lo:.2f}, {c.hi:.2f}], {c.outcome}, n={c.n}"


def inverse_interval_text(comparison):
    """Buffered over direct: the same interval read the other way round."""
    c = comparison
    text = f"{1 / c.ratio:.2f}x"
    return text if not c.has_interval else text + f" [{1 / c.hi:.2f}, {1 / c.lo:.2f}], n={c.n}"


def entry_text(comparison):
    """A ratio-table entry: "▼ 0.90 [0.85, 0.93] n=5": the outcome's symbol first."""
    c = comparison
    text = f"{SYMBOLS[c.outcome]} {c.ratio:.2f}"
    return text + (f" [{c.lo:.2f}, {c.hi:.2f}] n={c.n}" if c.has_interval else f" n={c.n}")


def curve_condition(x):
    return condition_label(x.memory_cap, curve_memory_ratio(x), curve_memory_budget(x))


def curve_label(x):
    parts = [x.family] + ([x.regime] if x.regime else []) + [curve_condition(x), x.backend]
    return ", ".join(parts)


def outcome_text(x):
    """decide.crossover_text, with "either" where the mode makes no difference."""
    return crossover_text(x) + ("; either mode" if x.either else "")


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
    if x.kind == decide.NEVER:
        return (f"direct stays slower than {rival}: at qd {at.qd}, the largest depth measured, "
                f"it runs at {interval_text(at)} ({ids_text(at)})")
    if x.kind == decide.UNDECIDED:
        return (f"undecided against {rival}: no depth from which direct is decided equivalent or "
                f"faster; at qd {at.qd}, the largest depth measured, {interval_text(at)} ({ids_text(at)})")
    if x.kind == decide.ALWAYS and len(x.comparisons) == 1:
        return (f"direct is equivalent to or faster than {rival} at qd {at.qd}, the only depth "
                f"measured: {interval_text(at)} ({ids_text(at)})")
    if x.kind == decide.ALWAYS:
        return (f"direct is equivalent to or faster than {rival} at every depth measured, from qd "
                f"{at.qd}: {interval_text(at)} ({ids_text(at)})")
    latest = "" if x.exact else " at the latest"
    return (f"direct is equivalent to or faster than {rival} from qd {at.qd}{latest}: "
            f"{interval_text(at)} ({ids_text(at)})")


def inconclusive_items(comparisons):
    return "; ".join(f"qd {c.qd} ({ids_text(c)}): {c.reason}" for c in comparisons)


def crossover_sentence(x):
    """One sentence on a Crossover: the outcome and by how much, the costs there, where
    buffered stays faster, what stayed inconclusive and why; names every cell."""
    at = x.at_crossover
    text = f"{curve_label(x)}: {headline(x)}"
    if x.kind in (decide.ALWAYS, decide.FROM) and x.deepest is not at:
        text += f", and {interval_text(x.deepest)} at qd {x.deepest.qd} ({ids_text(x.deepest)})"
    text += f"; there {costs_text(at)}."
    if x.either:
        text += " Either mode: " + ("neither read from the device" if all(
            decide.neither_read_device(c) for c in x.comparisons) else "every depth is equivalent") + \
            ", so CPU, memory and latency decide (advice)."
    better = [c for c in x.buffered_better if not (x.kind == decide.NEVER and c is at)]
    if better:
        text += (" Buffered is faster at " +
                 "; ".join(f"qd {c.qd} ({inverse_interval_text(c)}, {ids_text(c)})" for c in better) + ".")
    if not x.exact:
        below = x.comparisons[x.index - 1]
        text += f" The crossover could be earlier: qd {below.qd} is inconclusive ({below.reason})."
    open_ones = [c for c in x.inconclusive if x.exact or c is not x.comparisons[x.index - 1]]
    if open_ones:
        text += " Inconclusive: " + inconclusive_items(open_ones) + "."
    in_memory = [c for c in x.comparisons if c.notes]
    if in_memory:
        text += (" Buffered was served from the page cache at " + ", ".join(f"qd {c.qd}" for c in in_memory) +
                 f" ({in_memory[0].notes[0]}).")
    by_slowest = [c for c in x.comparisons if c.measure_note]
    if by_slowest:
        text += (" Decided on the slowest scan at " + ", ".join(f"qd {c.qd}" for c in by_slowest) +
                 f" ({by_slowest[0].measure_note}).")
    return text


def map_entry(comparison):
    """A crossover-map square: "▼ slower 0.50 n=5", "served from memory" added where a cell
    carries that flag (decide.py: a result for data in memory)."""
    c = comparison
    text = f"{SYMBOLS[c.outcome]} {c.outcome} {c.ratio:.2f} n={c.n}"
    flagged = any("served_from_memory" in (cell.get("flags") or []) for cell in (c.direct, c.buffered))
    return text + (" (served from memory)" if flagged else "")


def ratio_crossovers_text(axis):
    """"0.5x never (up to qd 32); 2x from qd 16; 8x from qd 4": each measured ratio's crossover."""
    return "; ".join(f"{decide.ratio_text(r)} {crossover_text(x)}" for r, x in axis.points)


def memory_axis_label(axis):
    return ", ".join([axis.family] + ([axis.regime] if axis.regime else []) + [axis.backend])


def boundary_sentence(axis):
    """One sentence per memory axis: from which working set / memory ratio (and depth there)
    direct rand_read matches or beats buffered on this device, or that it never does within
    the measured ratios, or that it is undecided; the cells it rests on and each ratio's
    crossover."""
    b = axis.boundary
    x, family = b.crossover, axis.family
    at = x.at_crossover
    budget = curve_memory_budget(x)
    memory = f", memory {bytes_text(budget)}" if budget else ""
    where = f"{ids_text(at)} at {decide.ratio_text(curve_memory_ratio(x))}{memory}: {interval_text(at)}"
    if b.kind == decide.NEVER:
        head = (f"direct {family} does not match buffered within the measured ratios: at "
                f"{decide.ratio_text(b.points[-1][0])}, the largest working set / memory measured, its "
                f"crossover is {crossover_text(x)} ({where})")
    elif b.kind == decide.UNDECIDED:
        head = (f"undecided: at {decide.ratio_text(b.points[-1][0])}, the largest working set / memory "
                f"measured, no depth from which direct {family} is decided equivalent or faster, "
                f"{crossover_text(x)} ({where})")
    else:
        if b.kind == decide.ALWAYS:
            start = (f"at every measured ratio of working set to memory (from "
                     f"{decide.ratio_text(b.ratio)}, the smallest)")
        else:
            start = f"once the working set is at least {decide.ratio_text(b.ratio)} the memory"
            if not b.exact:
                below = b.points[b.index - 1]
                start += (f" at the latest (at {decide.ratio_text(below[0])} the crossover is "
                          f"{crossover_text(below[1])}, so it could be lower)")
        head = (f"on this device, direct {family} matches or beats buffered {start}, "
                f"{crossover_text(x)} there ({where})")
    text = f"{memory_axis_label(axis)}, memory axis: {head}; per ratio: {ratio_crossovers_text(axis)}."
    noted = [f"{decide.ratio_text(r)} qd {c.qd}" for r, y in axis.points for c in y.comparisons if c.notes]
    if noted:
        text += (" Buffered was served from the page cache (its working set fit in the memory left "
                 "to it) at: " + ", ".join(noted) + ".")
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
    """(Crossover, Comparison) for every comparison decided slower (buffered faster)."""
    return [(x, c) for x in crossovers for c in x.buffered_better]


def buffered_better_lines(crossovers):
    """"hot, no memory cap, qd 1 (bm_seq_read, io_uring): buffered 1.80x [..] (ids)" for every
    comparison decided slower."""
    lines = []
    for x, c in buffered_better(crossovers):
        where = ", ".join(([x.regime] if x.regime else []) + [curve_condition(x), f"qd {c.qd}"])
        note = memory_note(c)
        lines.append(f"{where} ({x.family}, {x.backend}): buffered {inverse_interval_text(c)} "
                     f"({ids_text(c)}{'; ' + note if note else ''})")
    return lines


def share_text(part, whole):
    return f"{part} of {whole}" + (f" ({part / whole:.0%})" if whole else "")


def summary_line(crossovers, comparisons=None):
    """How many curves fall under each outcome, and the decided share of curves and of
    comparisons (those of the curves unless `comparisons` are given)."""
    kinds = [x.kind for x in crossovers]
    if comparisons is None:
        comparisons = [c for x in crossovers for c in x.comparisons]
    latest = sum(1 for x in crossovers if x.kind == decide.FROM and not x.exact)
    either = sum(1 for x in crossovers if x.either)
    decided = sum(1 for c in comparisons if c.decided)
    return (f"{plural(len(kinds), 'curve')}: direct is equivalent or faster at every measured depth "
            f"on {kinds.count(decide.ALWAYS)}, from some depth on {kinds.count(decide.FROM)} "
            f"({latest} of them at the latest), never on {kinds.count(decide.NEVER)}, undecided on "
            f"{kinds.count(decide.UNDECIDED)}; either mode on {either}. Decided: "
            f"{share_text(len(kinds) - kinds.count(decide.UNDECIDED), len(kinds))} curves, "
            f"{share_text(decided, len(comparisons))} comparisons.")


def repetitions_line(comparisons):
    """How many repetitions the decided comparisons took: "n=5: 12, n=9: 3"."""
    counts = {}
    for c in comparisons:
        if c.decided:
            counts[c.n] = counts.get(c.n, 0) + 1
    if not counts:
        return "No comparison is decided."
    return "Repetitions per decided comparison: " + ", ".join(
        f"n={n}: {counts[n]}" for n in sorted(counts)) + "."


def inconclusive_line(comparisons):
    """One line on the comparisons that stayed inconclusive, each with why and its n."""
    flagged = [c for c in comparisons if c.inconclusive]
    if not flagged:
        return f"No comparison is inconclusive: all {len(comparisons)} are decided."
    items = "; ".join(f"{ids_text(c)} (n={c.n}): {c.reason}" for c in flagged)
    return f"Inconclusive ({len(flagged)} of {len(comparisons)} comparisons): {items}."


# ---------------------------------------------------------------- CLI

def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog=PROG, description="Where direct I/O catches up with buffered I/O, from iodepth "
                               "results files; --advise writes a machine-readable recommendation.")
    parser.add_argument("results", nargs="+",
                        help="results JSON files, or directories `iodepth matrix --out` wrote; a host's later "
                             "files win on equal (id, memory_cap), several hosts' are pooled per host class")
    parser.add_argument("--advise", metavar="OUT", help='write the advice to OUT ("-": stdout)')
    parser.add_argument("--format", choices=("json", "toml"),
                        help="advice format (default: toml when OUT ends in .toml, else json)")
    parser.add_argument("--working-set", metavar="BYTES",
                        help="with --advise: the engine's working set (bytes, or e.g. 4GiB), for the "
                             "memory_budget answer at working set / memory")
    parser.add_argument("--memory", metavar="BYTES",
                        help="with --advise: the memory the engine's data may use (bytes, or e.g. 512MiB)")
    return parser.parse_args(argv)


def budget_args(args):
    """(working_set, memory) in bytes from --working-set and --memory, or (None, None); raises
    AdviceError on a bad size, on only one of them, or on either without --advise."""
    given = [args.working_set is not None, args.memory is not None]
    if not any(given):
        return None, None
    if not all(given):
        raise AdviceError("--working-set and --memory go together: give both (the answer is for the "
                          "ratio working set / memory), or neither")
    if not args.advise:
        raise AdviceError("--working-set and --memory answer in the advice: add --advise OUT")
    return parse_size(args.working_set, "--working-set"), parse_size(args.memory, "--memory")


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
    print(summary_line(analysis.crossovers, analysis.twins))
    for x in analysis.crossovers + analysis.baselines:
        print(f"- {crossover_sentence(x)}")
    for line in buffered_better_lines(analysis.crossovers):
        print(f"- buffered faster: {line}")
    for axis in analysis.memory_axes:
        print(f"- {boundary_sentence(axis)}")
    print(inconclusive_line(analysis.twins))
    print(repetitions_line(analysis.twins))


def print_classes(runs):
    """The sentences of each host class (fleet.py), under its name where there are several."""
    from .fleet import pooled_classes  # fleet imports compare, which imports this module.
    classes = pooled_classes(runs)
    for hc, cells, pooled in classes:
        analysis = analyse(cells)
        if not analysis.twins:
            message = missing_twins_message(cells)
            raise AdviceError(message if len(classes) == 1 else f"{hc.label()}: {message}")
        if len(classes) > 1 or len(hc.hosts) > 1:
            pooling = f", {plural(pooled, 'cell')} pooled" if len(hc.hosts) > 1 else ""
            print(f"{hc.label()}{pooling}:" + (f" {hc.note}" if hc.note else ""))
        print_guidance(analysis)


def main(argv):
    from .fleet import advise_fleet, load_inputs  # fleet imports compare, which imports this module.
    args = parse_args(argv)
    try:
        working_set, memory = budget_args(args)
        runs = load_inputs(args.results)
        if args.advise:
            form = args.format or ("toml" if args.advise.endswith(".toml") else "json")
            write_advice(advise_fleet(runs, working_set=working_set, memory=memory), args.advise, form)
        else:
            print_classes(runs)
    except (ResultsError, AdviceError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
