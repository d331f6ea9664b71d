"""advise(): turns iodepth results into a recommendation an engine can read: direct I/O or not,
which backend, how deep, for each workload class and memory condition.

The advice is computed from the comparisons and crossovers of decide.py (read its docstring
for the interval, the four outcomes faster / equivalent / slower / inconclusive, the repeated
looks and the crossover rule) over the twins of ratios.py. One entry per (class, memory_cap,
regime):

    class            regime ""  (raw requests)   regimes hot/pressure/thrash (page level)
    sequential_scan  qd: seq_read                scan: multistream_scan, else bm: bm_seq_read
    random_read      qd: rand_read               bm: bm_rand_read
    wal              write: wal_commit (fdatasync)
    read_write       write: checkpoint           write: bm_rand_rw

wal decides the log's path by its fdatasync twins (buffered write + fdatasync against direct
aligned writes + fdatasync; commits/s, queue_depth = committers); read_write decides a
checkpoint's write-back (pages/s at depth N) and, per regime, random reads that update
pages (fetches/s, prefetch_distance = N, with write-back by the background writer at the
suite's writeback_depth). Direct's O_DSYNC log cells have no buffered twin and decide
nothing here; the report shows them beside the fdatasync ones.

The first family listed that has twins at that memory cap and regime decides (the primary
family); io_patterns cells, writes, dontcache and adaptive cells never do. Then, in order:

 1. backend: among the family's backends, the one whose direct throughput at its best depth
    (highest median; the lower qd on a tie) is highest. io_uring is kept instead unless the
    unpaired comparison of io_uring's best against that best is decided slower.
 2. direct_io, from that backend's crossover:
      true       "always" or "from qd N" (also "from qd N at the latest"): from some measured
                 depth on, every depth is decided equivalent or faster;
      false      "never": the deepest depth is decided slower;
      "unknown"  "undecided": the deepest depth is inconclusive (a JSON string, not null, so
                 that TOML, which has no null, keeps it); backend and depth then follow rule
                 3 (what engines run today), confidence is low;
      "either"   the curve is decide.py's "either" (neither mode read from the device, or
                 every depth equivalent): the mode does not matter to throughput.
 3. When direct_io is false or "unknown" the backend is chosen again by rule 1 on the
    buffered cells: backend and depth are chosen on the cells of the mode the advice names.
 4. depth: among the recommended mode's cells of that backend (with direct, only depths at
    or above the crossover), the smallest depth whose median throughput is at least
    DEPTH_FRACTION (decide.MARGIN_LOW) of the best of them. Raw entries give it as
    queue_depth (prefetch_distance null). Page-level entries give it as prefetch_distance
    (the read-stream distance; per scan for multistream_scan), and take queue_depth from the
    same rule on the class's qd-suite family at the same memory cap, backend and mode when
    measured, else from the chosen cell's read-stream target (depth.target: S x distance).
    "either": backend and depth come from the tie-breakers, never from a throughput
    difference within noise: the backend whose cells (either mode) have the lowest median
    CPU per I/O, then the shallowest depth whose lower CPU per I/O of the two modes is
    within decide.MARGIN_HIGH of that lowest; "tie_breakers" gives, at that depth, the
    measured CPU per I/O and p99 latency of both modes and their ratios, and the page cache
    each kept (capped cells), else a note that direct keeps no second copy.
 5. io_combine_bytes: the "io_combine" of the config of the file the chosen cell came from;
    null when absent (the qd suite does not combine). memory_cap is in bytes, 0 for none; an
    inherited cap (the process's own cgroup limit) gives the limit its memory records saw, and
    memory_condition names the condition as --memory-caps does ("none", "inherit", "128 MiB").
 6. confidence: "low" when the crossover is undecided or not exact ("at the latest"), or the
    twin comparison at the chosen depth is inconclusive; else "high".
    Entries of a memory-axis cap (results files whose config names memory_ratio) carry
    memory_ratio (working set / memory) and memory_budget_bytes (the memory M the cap leaves
    beside the process's reserve); both null for any other cap.
 7. memory_budget, only when the engine's working set W and memory M are given (--working-set,
    --memory; null otherwise): {"working_set_bytes", "memory_bytes", "memory_ratio": W / M,
    "measured_ratios", "entries", "note"}, one entry per class, family and backend measured on
    a memory axis: raw requests (level "raw": seq_read, rand_read, the qd suite's axis) and page
    fetches through the buffer pool (level "page": multistream_scan, bm_seq_read, bm_rand_read,
    the bm and scan suites' axis, regime "memory", where direct's pool holds all the memory and
    buffered's pool M with the page cache beside it):
      placement    "measured" (r equals a measured ratio), "between" (r lies between two),
                   "below_range" or "above_range" (outside the measured ratios);
      points       the measured points the answer rests on (the one at r; the two around it;
                   the nearest end), each {"memory_ratio", "memory_cap", "memory_budget_bytes",
                   "direct_io", "crossover", "crossover_depth", "queue_depth", "confidence",
                   "evidence"}, its direct_io and depth by rules 2-4 on that ratio's curve;
      direct_io    the points' answer when they all give the same direct_io and crossover
                   depth (measured, or between two that agree); "unknown" when they disagree
                   and always outside the measured range: never extrapolated;
      crossover_depth, queue_depth   the points' (queue_depth null where they differ, or unknown);
      confidence   "low" when unknown or any point is low; reason   the answer in words.

to_toml() writes the same document as TOML (a null value is left out: TOML has none).
Pure functions of the results; stdlib only.
"""

import json
import re
import statistics
from datetime import datetime, timezone

from . import decide
from .decide import MARGIN_HIGH, MARGIN_LOW, compare, median_throughput, throughput_unit
from .results import INHERIT_CAP, bytes_text, condition_name, is_ok, origins, percentile_ns, regime_rank
from .ratios import analyse, curve_memory_budget, curve_memory_ratio

ADVICE_SCHEMA = "iodepth-advice"
# 2: direct_io may be "either" or "unknown"; evidence carries outcomes; tie_breakers.
# 3: class entries carry memory_ratio and memory_budget_bytes; the memory_budget answer.
ADVICE_VERSION = 3
# 4: a fleet document (report/fleet.py): host_classes, one per host class, each with the
# classes and memory_budget of a version 3 document, instead of those two at the top. A
# document of one host class stays version 3, so a version 3 reader reads it unchanged.
FLEET_VERSION = 4
# The depth rule: the shallowest depth within the equivalence margin of the best costs less
# latency and fewer buffers in flight for throughput a repetition's noise could hide.
DEPTH_FRACTION = MARGIN_LOW
# (class, raw request families, page-level families in order of preference).
CLASSES = (("sequential_scan", ("seq_read",), ("multistream_scan", "bm_seq_read")),
           ("random_read", ("rand_read",), ("bm_rand_read",)),
           ("wal", ("wal_commit (fdatasync)",), ()),
           ("read_write", ("checkpoint",), ("bm_rand_rw",)))
FAMILY_SUITE = {"seq_read": "qd", "rand_read": "qd", "multistream_scan": "scan",
                "bm_seq_read": "bm", "bm_rand_read": "bm",
                "wal_commit (fdatasync)": "write", "checkpoint": "write", "bm_rand_rw": "write"}
RULES = [
    "Twins: two measured cells of the same suite, workload, qd, backend, regime, policy and "
    "memory_cap, one direct and one buffered. Throughput: iops (qd, bm: page fetches/s), "
    "bw_bytes (scan).",
    "Interval: paired twins: t interval of the mean of ln(direct_i / buffered_i); unpaired "
    "(against a buffered qd 1 baseline): Welch's t on the logs; exponentiated. Each one-sided "
    f"test at {decide.ALPHA} / K, K the looks of the matrix's repetition schedule "
    "(1 + ceil((max_repetitions - repetitions) / repetition_step); 1 without one): every kind "
    f"of false decision has probability at most {decide.ALPHA} over all looks.",
    f"Outcome: faster when the interval lies above {MARGIN_HIGH:.2f}, equivalent when inside "
    f"[{MARGIN_LOW:.2f}, {MARGIN_HIGH:.2f}], slower when below {MARGIN_LOW:.2f}, else "
    "inconclusive (also with fewer than 2 repetitions). Inconclusive is never equivalence. A "
    "served_from_memory cell is decided and noted: a result for data in memory, not a cold-cache one.",
    "Crossover per (suite, family, regime, memory_cap, backend): the smallest measured qd from "
    "which every measured qd is equivalent or faster: always / from qd N (at the latest when "
    "the qd below is inconclusive) / never (deepest slower) / undecided (deepest inconclusive).",
    "Class entry per (class, memory_cap, regime); primary family: sequential_scan = seq_read "
    "(qd suite) or multistream_scan, else bm_seq_read (per regime); random_read = rand_read or "
    "bm_rand_read; wal = wal_commit with fdatasync (write suite; qd = committers); read_write "
    "= checkpoint, else bm_rand_rw (per regime).",
    "backend: highest best-depth direct median throughput; io_uring unless its best is decided "
    "slower than that best (unpaired).",
    "direct_io: true (always / from qd N), false (never), \"unknown\" (undecided), \"either\" "
    "(neither mode read from the device, or every depth equivalent). If false or unknown, "
    "backend and depth are chosen on the buffered cells.",
    f"Depth: smallest depth reaching {DEPTH_FRACTION:.0%} of the best median throughput of the "
    "recommended mode and backend (direct: only depths >= the crossover). Raw entries: "
    "queue_depth. Page-level entries: prefetch_distance; queue_depth from the qd-suite family "
    "at the same cap, backend and mode, else the chosen cell's depth target.",
    "either: backend with the lowest CPU per I/O, then the shallowest depth within "
    f"{MARGIN_HIGH:.2f}x of it; tie_breakers: CPU per I/O, p99 latency, page cache.",
    "io_combine_bytes: config io_combine of the chosen cell's file, else null.",
    "confidence: low when the crossover is undecided or at the latest, or the comparison at "
    "the chosen depth is inconclusive.",
    "Memory axis: results files with config memory_ratio r (working set / memory) hold cells "
    "under a cap of memory T = working set / r plus the process's reserve: qd cells (the page "
    "cache may hold T), and bm and scan cells of regime \"memory\" (direct's pool is T; "
    "buffered's pool is min(M, T), the page cache the rest). Their class entries carry "
    "memory_ratio and memory_budget_bytes (null elsewhere).",
    "memory_budget (with --working-set W and --memory M): per class (sequential_scan: seq_read, "
    "random_read: rand_read) and backend, the answer at r = W / M from the measured memory-axis "
    "points only: r measured: that point's answer; r between two measured ratios: their answer "
    "when both give the same direct_io and crossover depth, else \"unknown\"; r outside the "
    "measured ratios: \"unknown\", with the nearest point as evidence. Never extrapolated.",
]


class AdviceError(Exception):
    """The inputs cannot support advice; the message says what to run."""


def r4(value):
    return None if value is None else round(value, 4)


# ---------------------------------------------------------------- choices

def best_cell(series):
    """The cell of highest median throughput; the lower qd on a tie."""
    return max(series, key=lambda c: (median_throughput(c) or 0, -c.get("qd", 1)))


def choose_backend(series_by_backend):
    """(backend, {backend: best cell}, tie Comparison or None) under rule 1."""
    bests = {b: best_cell(s) for b, s in series_by_backend.items() if s}
    top = max(bests, key=lambda b: (median_throughput(bests[b]) or 0, b == "io_uring"))
    tie = None
    if top != "io_uring" and "io_uring" in bests:
        tie = compare(bests["io_uring"], bests[top], paired=False)
        if tie is not None and not tie.slower:
            top = "io_uring"
    return top, bests, tie


def pick_depth(series, floor=None):
    """(chosen cell, best cell) under the depth rule, over depths >= `floor` when given."""
    candidates = [c for c in series if floor is None or c.get("qd", 1) >= floor] or list(series)
    best = best_cell(candidates)
    threshold = DEPTH_FRACTION * (median_throughput(best) or 0)
    reaching = [c for c in candidates if (median_throughput(c) or 0) >= threshold]
    return min(reaching, key=lambda c: c.get("qd", 1)), best


def cap_bytes(cap, cell):
    """The memory cap in bytes (0: none). An inherited cap is the limit the cell's memory
    records saw (median), or None without records: never the all-ones marker, which TOML
    cannot hold."""
    if cap != INHERIT_CAP:
        return cap
    seen = [(r.get("memory") or {}).get("cap_bytes") for r in cell.get("repetitions") or []]
    seen = [v for v in seen if v is not None]
    return int(statistics.median(seen)) if seen else None


def depth_target(cell):
    """The read requests a cell kept in flight at most: the median of its repetitions'
    depth.target, else its qd."""
    targets = [(r.get("depth") or {}).get("target") for r in cell.get("repetitions") or []]
    targets = [t for t in targets if t is not None]
    return int(statistics.median(targets)) if targets else cell.get("qd", 1)


# ---------------------------------------------------------------- records

def comparison_record(c, role):
    return {"role": role, "qd": c.qd, "direct": c.direct["id"], "buffered": c.buffered["id"],
            "outcome": c.outcome, "ratio": r4(c.ratio), "ci": [r4(c.lo), r4(c.hi)],
            "level": r4(c.level), "looks": c.looks, "repetitions": c.n,
            "inconclusive": c.inconclusive, "why": c.reason}


def throughput_record(cell):
    return {"backend": cell.get("backend"), "qd": cell.get("qd", 1), "cell": cell["id"],
            "throughput": r4(median_throughput(cell)), "unit": throughput_unit(cell)}


def depth_record(chosen, best):
    value, top = median_throughput(chosen), median_throughput(best)
    return {"cell": chosen["id"], "throughput": r4(value), "best_cell": best["id"],
            "best_throughput": r4(top), "fraction_of_best": r4(value / top if value and top else None)}


def reason_text(family, x, direct_io, backend, depth):
    at, deep = x.at_crossover, x.deepest
    if direct_io == "either":
        return (f"Direct and buffered {family} are interchangeable here (neither read from the "
                "device, or every depth is equivalent), so the tie-breakers decide: "
                f"{backend} at depth {depth} has the lowest CPU per I/O.")
    if direct_io == "unknown":
        return (f"Undecided: direct {family} on {x.backend} is inconclusive at qd {deep.qd}, the "
                f"deepest depth ({deep.ratio:.2f}x, interval [{deep.lo:.2f}, {deep.hi:.2f}], "
                f"n={deep.n}: {deep.reason}); buffered on {backend} at depth {depth}, what engines "
                "run today, until more repetitions decide it.")
    if not direct_io:
        return (f"Direct {family} on {x.backend} is decided slower than buffered at qd {deep.qd} "
                f"({deep.ratio:.2f}x, interval [{deep.lo:.2f}, {deep.hi:.2f}], n={deep.n}), so "
                f"buffered I/O on {backend} at depth {depth} is advised.")
    start = "at every measured depth" if x.kind == decide.ALWAYS else f"from qd {at.qd}"
    if not x.exact:
        start += " at the latest"
    ratios = f"{at.ratio:.2f}x at qd {at.qd}"
    if deep is not at:
        ratios += f", {deep.ratio:.2f}x at qd {deep.qd}"
    return (f"Direct {family} on {backend} is equivalent to or faster than buffered {start} "
            f"({ratios}) and reaches {DEPTH_FRACTION:.0%} of its best throughput at depth {depth}.")


# ---------------------------------------------------------------- entries

def curves_at(curves, family, regime, cap):
    suite = FAMILY_SUITE[family]
    return {key[4]: x for key, x in curves.items() if key[:4] == (suite, family, regime, cap)}


def direct_io_of(x):
    """Rule 2: True, False, "either" or "unknown" from the chosen backend's crossover."""
    if x.either:
        return "either"
    if x.kind == decide.UNDECIDED:
        return "unknown"
    return x.kind != decide.NEVER


def cpu_of(cell):
    return (cell.get("median") or {}).get("cpu_ns_per_io")


def tie_break(xs):
    """Rule 4 for "either": (backend, chosen cell, its twin Comparison) by CPU per I/O."""
    def lowest(comparison):
        cells = [c for c in (comparison.direct, comparison.buffered) if cpu_of(c) is not None]
        return min(cells, key=cpu_of) if cells else comparison.buffered
    best = {b: min((lowest(c) for c in x.comparisons), key=lambda c: cpu_of(c) or float("inf"))
            for b, x in xs.items()}
    backend = min(best, key=lambda b: (cpu_of(best[b]) or float("inf"), b != "io_uring", b))
    floor = cpu_of(best[backend])
    for comparison in xs[backend].comparisons:  # Ascending depth.
        cell = lowest(comparison)
        if floor is None or (cpu_of(cell) is not None and cpu_of(cell) <= MARGIN_HIGH * floor):
            return backend, cell, comparison
    raise AssertionError("the lowest CPU per I/O lies on its own curve")


def choose(xs):
    """Rules 1-3 on one family's curves {backend: Crossover}: (crossover deciding direct_io,
    direct_io, backend of the recommended mode, its series, backend tie comparison, bests)."""
    backend, bests, tie = choose_backend({b: [c.direct for c in x.comparisons] for b, x in xs.items()})
    x = xs[backend]
    direct_io = direct_io_of(x)
    if direct_io is not True:
        buffered = {b: [c.buffered for c in other.comparisons] for b, other in xs.items()}
        backend, bests, tie = choose_backend(buffered)
    series = [c.direct if direct_io is True else c.buffered for c in xs[backend].comparisons]
    return x, direct_io, backend, series, tie, bests


def ratio_record(direct, buffered, unit):
    ratio = direct / buffered if direct is not None and buffered else None
    return {"direct": r4(direct), "buffered": r4(buffered), "ratio": r4(ratio), "unit": unit}


def tie_breakers(pair):
    """The measured tie-breakers of an "either" entry at its chosen depth."""
    d, b = (c.get("median") or {} for c in (pair.direct, pair.buffered))
    caches = [(m.get("memory") or {}).get("page_cache_bytes") for m in (d, b)]
    memory = ({"direct_page_cache_bytes": caches[0], "buffered_page_cache_bytes": caches[1],
               "note": "page cache charged to each cell's memory cgroup at the end of its run"}
              if None not in caches else
              {"note": "no capped memory records: direct keeps no second copy of the pages in "
                       "the page cache, buffered keeps one beside the pool"})
    return {"memory": memory, "cpu_ns_per_io": ratio_record(d.get("cpu_ns_per_io"), b.get("cpu_ns_per_io"), "ns"),
            "p99_latency": ratio_record(percentile_ns(d, 99), percentile_ns(b, 99), "ns"),
            "cells": [pair.direct["id"], pair.buffered["id"]]}


def raw_queue_depth(curves, raw_family, cap, backend, direct_io):
    """Rule 4's queue_depth for a page-level entry from the qd suite, or None unmeasured."""
    x = curves_at(curves, raw_family, "", cap).get(backend)
    if x is None:
        return None
    # As for the entry's own depth: with direct I/O, never a depth below the raw family's
    # crossover, where direct is measurably slower than buffered.
    floor = x.depth if direct_io else None
    chosen, _ = pick_depth([c.direct if direct_io else c.buffered for c in x.comparisons], floor=floor)
    return chosen


def class_entry(name, raw_family, family, regime, cap, curves, origin):
    xs = curves_at(curves, family, regime, cap)
    x, direct_io, backend, series, tie, bests = choose(xs)
    if direct_io == "either":
        backend, chosen, pair = tie_break(xs)
        best = chosen
    else:
        chosen, best = pick_depth(series, floor=x.depth if direct_io is True else None)
        pair = next(c for c in xs[backend].comparisons if c.qd == chosen.get("qd", 1))
    evidence = [comparison_record(c, "crossover") for c in x.deciding]
    if pair not in x.deciding:
        evidence.append(comparison_record(pair, "chosen depth"))
    confident = direct_io == "either" or (x.confident and pair.decided)
    doc = origin.get((chosen["id"], cap)) or {}
    entry = {"class": name, "workload_family": family, "suite": FAMILY_SUITE[family],
             "memory_cap": cap_bytes(cap, chosen), "memory_condition": condition_name(cap),
             "memory_ratio": curve_memory_ratio(x), "memory_budget_bytes": curve_memory_budget(x),
             "regime": regime, "direct_io": direct_io, "backend": backend,
             "queue_depth": chosen.get("qd", 1), "queue_depth_source": "qd suite: " + chosen["id"],
             "prefetch_distance": None, "io_combine_bytes": (doc.get("config") or {}).get("io_combine"),
             "crossover": decide.crossover_text(x),
             "confidence": "high" if confident else "low",
             "reason": reason_text(family, x, direct_io, backend, chosen.get("qd", 1)),
             "evidence": evidence, "backend_choice": [throughput_record(c) for c in bests.values()],
             "backend_tie": None if tie is None else comparison_record(tie, "io_uring best / top best"),
             "depth_choice": depth_record(chosen, best),
             "tie_breakers": tie_breakers(pair) if direct_io == "either" else None}
    if regime:  # Page level: the depth found is a read-stream distance.
        entry["prefetch_distance"] = chosen.get("qd", 1)
        raw = raw_queue_depth(curves, raw_family, cap, backend, direct_io is True)
        entry["queue_depth"] = raw.get("qd", 1) if raw else depth_target(chosen)
        entry["queue_depth_source"] = ("qd suite: " + raw["id"] if raw else
                                       "read-stream target of " + chosen["id"])
    return entry


def class_conditions(curves, families):
    """The (memory_cap, regime) conditions with curves of any of `families`, in report order."""
    found = {(key[3], key[2]) for key in curves if key[1] in families and key[0] == FAMILY_SUITE[key[1]]}
    return sorted(found, key=lambda cr: (cr[0], cr[1] != "", regime_rank(cr[1])))


def class_entries(curves, origin):
    entries = []
    for name, raw, page in CLASSES:
        for cap, regime in class_conditions(curves, raw + page):
            families = raw if not regime else page
            family = next((f for f in families if curves_at(curves, f, regime, cap)), None)
            if family is not None:
                entries.append(class_entry(name, raw[0], family, regime, cap, curves, origin))
    return entries


# ---------------------------------------------------------------- memory budget

# Ratios closer than this (relative) are the same point: W / M computed from bytes against
# the ratio a memory-axis file names.
SAME_RATIO = 1e-9
SIZE_TEXT = re.compile(r"\s*(\d+)\s*([A-Za-z]*)\s*")
SIZE_SHIFTS = {"": 0, "b": 0, **{f"{letter}{tail}": bits for letter, bits in
                                 (("k", 10), ("m", 20), ("g", 30), ("t", 40)) for tail in ("", "b", "ib")}}


def parse_size(text, flag):
    """Bytes from "4294967296", "4GiB", "512MiB", "64k" (k, m, g, t in any case, with or
    without a trailing b or ib: powers of 1024, as iodepth's own size flags). Raises
    AdviceError saying what was wrong and what to write; the size must be positive."""
    match = SIZE_TEXT.fullmatch(text or "")
    if not match:
        raise AdviceError(f"{flag} {text!r}: not a size; write a whole number of bytes with an "
                          "optional k, m, g or t suffix (powers of 1024), e.g. 4GiB or 536870912")
    suffix = match.group(2).lower()
    if suffix not in SIZE_SHIFTS:
        raise AdviceError(f"{flag} {text!r}: unknown size suffix {match.group(2)!r}; use k, m, g or t "
                          "(KiB, MiB, GiB, TiB), e.g. 512MiB")
    value = int(match.group(1)) << SIZE_SHIFTS[suffix]
    if value <= 0:
        raise AdviceError(f"{flag} {text!r}: must be more than 0 bytes")
    return value


def point_record(ratio, x):
    """One measured memory-axis point of a family and backend: its answer and evidence."""
    direct_io = direct_io_of(x)
    if direct_io == "either":
        _, chosen, pair = tie_break({x.backend: x})
    else:
        series = [c.direct if direct_io is True else c.buffered for c in x.comparisons]
        chosen, _ = pick_depth(series, floor=x.depth if direct_io is True else None)
        pair = next(c for c in x.comparisons if c.qd == chosen.get("qd", 1))
    confident = direct_io == "either" or (x.confident and pair.decided)
    return {"memory_ratio": ratio, "memory_cap": x.memory_cap, "memory_budget_bytes": curve_memory_budget(x),
            "direct_io": direct_io, "crossover": decide.crossover_text(x),
            "crossover_depth": x.depth, "queue_depth": chosen.get("qd", 1),
            "confidence": "high" if confident else "low",
            "evidence": [comparison_record(c, "crossover") for c in x.deciding]}


def point_text(point):
    return f"{decide.ratio_text(point['memory_ratio'])} ({point['crossover']})"


def same_answer(points):
    return len({(json.dumps(p["direct_io"]), p["crossover_depth"]) for p in points}) == 1


def budget_answer(ratio, axis):
    """What the memory axis of one family and backend says at working set / memory `ratio`:
    (placement, the points it rests on, whether they give one answer, the reason's words)."""
    points = [point_record(r, x) for r, x in axis.points]
    same = [p for p in points if abs(p["memory_ratio"] - ratio) <= SAME_RATIO * max(ratio, p["memory_ratio"])]
    lowest, highest = points[0]["memory_ratio"], points[-1]["memory_ratio"]
    span = f"{decide.ratio_text(lowest)} to {decide.ratio_text(highest)}"
    if same:
        agree = same_answer(same)
        return "measured", same, agree, (f"{decide.ratio_text(ratio)} was measured: "
                                         + "; ".join(point_text(p) for p in same)
                                         + ("" if agree else ", which disagree"))
    if ratio < lowest or ratio > highest:
        nearest = points[0] if ratio < lowest else points[-1]
        nearest = [p for p in points if p["memory_ratio"] == nearest["memory_ratio"]]
        return ("below_range" if ratio < lowest else "above_range"), nearest, False, (
            f"{decide.ratio_text(ratio)} lies outside the measured ratios ({span}); the nearest measured "
            f"point is {'; '.join(point_text(p) for p in nearest)}, and nothing is extrapolated")
    below = max(p["memory_ratio"] for p in points if p["memory_ratio"] < ratio)
    above = min(p["memory_ratio"] for p in points if p["memory_ratio"] > ratio)
    around = [p for p in points if p["memory_ratio"] in (below, above)]
    agree = same_answer(around)
    return "between", around, agree, (
        f"{decide.ratio_text(ratio)} lies between the measured points "
        + " and ".join(point_text(p) for p in around)
        + (", which agree" if agree else ", which disagree, so the answer there is not known"))


def budget_entry(name, ratio, axis):
    placement, points, agree, words = budget_answer(ratio, axis)
    if agree:
        depths = {p["queue_depth"] for p in points}
        direct_io, crossover_depth = points[0]["direct_io"], points[0]["crossover_depth"]
        queue_depth = depths.pop() if len(depths) == 1 else None
        confidence = "high" if all(p["confidence"] == "high" for p in points) else "low"
    else:
        direct_io, crossover_depth, queue_depth, confidence = "unknown", None, None, "low"
    if direct_io is True:
        answer = f"direct I/O from qd {crossover_depth}"
    elif direct_io is False:
        answer = "buffered I/O (direct is slower at every depth measured)"
    elif direct_io == "either":
        answer = "either mode (the tie-breakers decide)"
    else:
        answer = "unknown (stay buffered until that ratio is measured and decided)"
    return {"class": name, "workload_family": axis.family, "suite": axis.suite, "backend": axis.backend,
            "level": "page" if axis.regime else "raw",
            "memory_ratio": r4(ratio), "placement": placement, "direct_io": direct_io,
            "crossover_depth": crossover_depth, "queue_depth": queue_depth, "confidence": confidence,
            "reason": f"At working set / memory {decide.ratio_text(r4(ratio))} on {axis.backend}: "
                      f"{answer}; {words}.",
            "points": points}


def memory_budget(analysis, working_set, memory):
    """The memory_budget answer (module docstring, rule 7) for an engine's working set and memory."""
    ratio = working_set / memory
    entries, measured = [], set()
    for name, raw, page in CLASSES:
        for axis in analysis.memory_axes:
            if axis.suite != FAMILY_SUITE.get(axis.family):
                continue
            # Raw requests: the qd suite's axis (no regime). Page level: the bm and scan
            # suites' axis, whose cells carry the regime label "memory".
            if (axis.family in raw and not axis.regime) or (axis.family in page and axis.regime == "memory"):
                entries.append(budget_entry(name, ratio, axis))
                measured.update(axis.ratios)
    doc = {"working_set_bytes": working_set, "memory_bytes": memory, "memory_ratio": r4(ratio),
           "measured_ratios": sorted(measured), "entries": entries,
           "note": (f"working set {bytes_text(working_set)} over memory {bytes_text(memory)}: "
                    f"{decide.ratio_text(r4(ratio))}")}
    if not entries:
        doc["note"] += ("; the results hold no memory-axis cells (qd, bm or scan suites), so there is "
                        "no answer: run `iodepth matrix` with memory_ratios (e.g. --memory-ratios=0.5,2,8)")
    return doc


# ---------------------------------------------------------------- document

def environment_summary(env):
    device = env.get("device") if isinstance(env.get("device"), dict) else {}
    filesystem = env.get("filesystem") if isinstance(env.get("filesystem"), dict) else {}
    return {"kernel": env.get("kernel"), "cpu_model": env.get("cpu_model"),
            "cpu_count": env.get("cpu_count"), "device_model": device.get("model"),
            "filesystem": filesystem.get("type")}


def source_of(runs):
    """The files and one environment summary per distinct machine state, naming its files."""
    environments = []
    for path, doc in runs:
        summary = environment_summary(doc.get("environment") or {})
        same = next((e for e in environments
                     if {k: v for k, v in e.items() if k != "files"} == summary), None)
        if same is None:
            environments.append(dict(summary, files=[path]))
        else:
            same["files"].append(path)
    return {"files": [path for path, _ in runs], "environments": environments}


def missing_twins_message(cells):
    measured = [c for c in cells if is_ok(c)]
    if not measured:
        return "the inputs hold no measured cells; run `iodepth suite qd` (and bm or scan)"
    modes = {}
    for c in measured:
        modes.setdefault(c.get("suite", "?"), set()).add(c.get("mode", "?"))
    found = "; ".join(f"suite {s}: {', '.join(sorted(m))}" for s, m in sorted(modes.items()))
    return (f"no direct/buffered twins in the inputs ({found}); run `iodepth suite qd` (and bm or "
            "scan for page-level advice) with --modes=buffered,direct so every direct cell has a "
            "buffered twin")


def no_class_message(analysis):
    families = sorted({f"{x.suite}/{x.family}" for x in analysis.crossovers})
    return (f"twins found only in {', '.join(families)}; the advice needs seq_read or rand_read twins "
            "from `iodepth suite qd`, bm_seq_read or bm_rand_read from `iodepth suite bm`, or "
            "multistream_scan from `iodepth suite scan`, each with --modes=buffered,direct")


def utc_now():
    """The document's created_utc: now, in UTC, to the second (ISO 8601)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def advise(cells, runs=(), created_utc=None, working_set=None, memory=None):
    """The advice document (module docstring) for merged cells; `runs` are the (path, doc)
    pairs they came from, for the source and io_combine; `working_set` and `memory` (bytes,
    both or neither) the engine's, for the memory_budget answer. Raises AdviceError without
    twins, or with only one of working_set and memory."""
    if (working_set is None) != (memory is None):
        raise AdviceError("--working-set and --memory go together: give both (the answer is for "
                          "the ratio working set / memory), or neither")
    analysis = analyse(cells)
    if not analysis.twins:
        raise AdviceError(missing_twins_message(cells))
    curves = {x.key: x for x in analysis.crossovers}
    entries = class_entries(curves, origins(runs))
    if not entries:
        raise AdviceError(no_class_message(analysis))
    return {"schema": ADVICE_SCHEMA, "version": ADVICE_VERSION, "created_utc": created_utc or utc_now(),
            "source": source_of(runs), "rules": RULES, "classes": entries,
            "memory_budget": None if working_set is None else memory_budget(analysis, working_set, memory)}


def write_json(doc):
    return json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


# ---------------------------------------------------------------- TOML

BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def toml_key(key):
    return key if BARE_KEY.fullmatch(key) else toml_string(key)


def toml_string(text):
    # JSON escapes are TOML's basic-string escapes, except that TOML also refuses a raw DEL.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        assert -(1 << 63) <= value < (1 << 63), "TOML integers are 64-bit signed"
        return str(value)
    if isinstance(value, float):
        assert value == value and abs(value) != float("inf"), "advice values are finite"
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        assert all(v is not None for v in value), "TOML arrays cannot hold null"
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def is_table_array(value):
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def emit_table(lines, path, table):
    """Keys first, then sub-tables and arrays of tables (TOML needs that order); None is left out."""
    for key, value in table.items():
        if value is not None and not isinstance(value, dict) and not is_table_array(value):
            lines.append(f"{toml_key(key)} = {toml_value(value)}")
    for key, value in table.items():
        name = ".".join(toml_key(k) for k in path + [key])
        if isinstance(value, dict):
            lines += ["", f"[{name}]"]
            emit_table(lines, path + [key], value)
        elif is_table_array(value):
            for item in value:
                lines += ["", f"[[{name}]]"]
                emit_table(lines, path + [key], item)


def to_toml(doc):
    lines = []
    emit_table(lines, [], doc)
    return "\n".join(lines) + "\n"
