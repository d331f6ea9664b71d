"""advise(): turns iodepth results into a recommendation an engine can read: direct I/O or not,
which backend, how deep, for each workload class and memory condition.

The advice is computed from the twin comparisons and crossovers of ratios.py (read its
docstring for the ratio, the interval, "inconclusive" and the crossover rule). One entry per
(class, memory_cap, regime):

    class            regime ""  (raw requests)   regimes hot/pressure/thrash (page level)
    sequential_scan  qd: seq_read                scan: multistream_scan, else bm: bm_seq_read
    random_read      qd: rand_read               bm: bm_rand_read

The first family listed that has twins at that memory cap and regime decides (the primary
family); io_patterns cells, writes, dontcache and adaptive cells never do. Then, in order:

 1. backend: among the family's backends, the one whose direct throughput at its best depth
    (highest median; the lower qd on a tie) is highest. io_uring is preferred when the
    interval of io_uring's best / that best (unpaired bootstrap) reaches PARITY (0.95): a tie.
 2. direct_io: true when that backend's crossover is "always" or "from qd N", i.e. from some
    measured depth on, direct is at no larger depth measurably slower than buffered.
 3. When direct_io is false the backend is chosen again by rule 1 on the buffered cells:
    backend and depth are always chosen on the cells of the mode the advice recommends.
 4. depth: among the recommended mode's cells of that backend (with direct, only depths at
    or above the crossover), the smallest depth whose median throughput is >= 95% of the
    best of them. Raw entries give it as queue_depth (prefetch_distance null). Page-level
    entries give it as prefetch_distance (the read-stream distance; per scan for
    multistream_scan), and take queue_depth from the same rule on the class's qd-suite
    family at the same memory cap, backend and mode when measured, else from the chosen
    cell's read-stream target (depth.target: S x distance for S scans).
 5. io_combine_bytes: the "io_combine" of the config of the file the chosen cell came from;
    null when absent (the qd suite does not combine). memory_cap is in bytes, 0 for none; an
    inherited cap (the process's own cgroup limit) gives the limit its memory records saw, and
    memory_condition names the condition as --memory-caps does ("none", "inherit", "128 MiB").
 6. confidence: "low" when any comparison the crossover rests on (ratios.Crossover.deciding)
    or the twin comparison at the chosen depth is inconclusive; else "high".

to_toml() writes the same document as TOML (a null value is left out: TOML has none).
Pure functions of the results; stdlib only.
"""

import json
import re
import statistics
from datetime import datetime, timezone

from .results import INHERIT_CAP, condition_name, is_ok, origins, regime_rank
from .ratios import BORDERLINE, PARITY, analyse, compare, median_throughput, throughput_unit

ADVICE_SCHEMA = "iodepth-advice"
ADVICE_VERSION = 1
# The depth rule: the shallowest depth within 5% of the best costs less latency and fewer
# buffers in flight for throughput a repetition's noise could hide.
DEPTH_FRACTION = 0.95
# (class, raw request families, page-level families in order of preference).
CLASSES = (("sequential_scan", ("seq_read",), ("multistream_scan", "bm_seq_read")),
           ("random_read", ("rand_read",), ("bm_rand_read",)))
FAMILY_SUITE = {"seq_read": "qd", "rand_read": "qd", "multistream_scan": "scan",
                "bm_seq_read": "bm", "bm_rand_read": "bm"}
RULES = [
    "Twins: two measured cells of the same suite, workload, qd, backend, regime, policy and "
    "memory_cap, one direct and one buffered. Throughput: iops (qd, bm: page fetches/s), "
    "bw_bytes (scan).",
    "Ratio: direct / buffered throughput of repetition i of each twin (they ran back to back). "
    "Interval: 95% percentile bootstrap, 2000 paired resamples of repetition indices, "
    "statistic mean(direct)/mean(buffered); seed from SHA-256 of the cell ids and memory cap. "
    "One repetition: no interval.",
    f"Inconclusive: either twin flagged cv_high, interval hi/lo > 1.5, an interval ending within "
    f"{BORDERLINE:.2f} of parity, or fewer than 2 repetitions.",
    "Crossover per (suite, family, regime, memory_cap, backend): the smallest measured qd from "
    f"which on every measured qd has an interval upper bound >= {PARITY:.2f} (a shortfall under "
    f"{1 - PARITY:.0%} is parity); always / from qd N / never.",
    "Class entry per (class, memory_cap, regime); primary family: sequential_scan = seq_read "
    "(qd suite) or multistream_scan, else bm_seq_read (per regime); random_read = rand_read or "
    "bm_rand_read.",
    "backend: highest best-depth direct median throughput; io_uring on a tie (interval of "
    f"io_uring best / top best reaches {PARITY:.2f}).",
    "direct_io: the backend's crossover is always or from qd N. If false, backend and depth are "
    "chosen on the buffered cells.",
    "Depth: smallest depth reaching 95% of the best median throughput of the recommended mode "
    "and backend (direct: only depths >= the crossover). Raw entries: queue_depth. Page-level "
    "entries: prefetch_distance; queue_depth from the qd-suite family at the same cap, backend "
    "and mode, else the chosen cell's depth target.",
    "io_combine_bytes: config io_combine of the chosen cell's file, else null.",
    "confidence: low when an inconclusive comparison is among those the crossover rests on or "
    "at the chosen depth.",
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
        if tie is not None and tie.hi >= PARITY:
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
            "ratio": r4(c.median), "ci": [r4(c.lo), r4(c.hi)], "repetitions": c.n,
            "inconclusive": c.inconclusive, "why": "; ".join(c.reasons)}


def throughput_record(cell):
    return {"backend": cell.get("backend"), "qd": cell.get("qd", 1), "cell": cell["id"],
            "throughput": r4(median_throughput(cell)), "unit": throughput_unit(cell)}


def depth_record(chosen, best):
    value, top = median_throughput(chosen), median_throughput(best)
    return {"cell": chosen["id"], "throughput": r4(value), "best_cell": best["id"],
            "best_throughput": r4(top), "fraction_of_best": r4(value / top if value and top else None)}


def reason_text(family, x, direct_io, backend, depth):
    at, deep = x.at_crossover, x.deepest
    if not direct_io:
        return (f"Direct {family} on {x.backend} stays measurably slower than buffered even at qd "
                f"{deep.qd} ({deep.median:.2f}x, interval [{deep.lo:.2f}, {deep.hi:.2f}]), so "
                f"buffered I/O on {backend} at depth {depth} is advised.")
    start = "at every measured depth" if x.kind == "always" else f"from qd {at.qd}"
    ratios = f"{at.median:.2f}x at qd {at.qd}"
    if deep is not at:
        ratios += f", {deep.median:.2f}x at qd {deep.qd}"
    return (f"Direct {family} on {backend} is not measurably slower than buffered {start} "
            f"({ratios}) and reaches {DEPTH_FRACTION:.0%} of its best throughput at depth {depth}.")


# ---------------------------------------------------------------- entries

def curves_at(curves, family, regime, cap):
    suite = FAMILY_SUITE[family]
    return {key[4]: x for key, x in curves.items() if key[:4] == (suite, family, regime, cap)}


def decide(xs):
    """Rules 1-4 on one family's curves {backend: Crossover}: (crossover deciding direct_io,
    direct_io, backend of the recommended mode, its series, backend tie comparison, bests)."""
    backend, bests, tie = choose_backend({b: [c.direct for c in x.comparisons] for b, x in xs.items()})
    x = xs[backend]
    direct_io = x.kind != "never"
    if not direct_io:
        buffered = {b: [c.buffered for c in other.comparisons] for b, other in xs.items()}
        backend, bests, tie = choose_backend(buffered)
    series = [c.direct if direct_io else c.buffered for c in xs[backend].comparisons]
    return x, direct_io, backend, series, tie, bests


def raw_queue_depth(curves, raw_family, cap, backend, direct_io):
    """Rule 4's queue_depth for a page-level entry from the qd suite, or None unmeasured."""
    x = curves_at(curves, raw_family, "", cap).get(backend)
    if x is None:
        return None
    # As for the entry's own depth: with direct I/O, never a depth below the raw family's
    # crossover, where direct is measurably slower than buffered.
    floor = x.depth if direct_io and x.kind != "never" else None
    chosen, _ = pick_depth([c.direct if direct_io else c.buffered for c in x.comparisons], floor=floor)
    return chosen


def class_entry(name, raw_family, family, regime, cap, curves, origin):
    xs = curves_at(curves, family, regime, cap)
    x, direct_io, backend, series, tie, bests = decide(xs)
    chosen, best = pick_depth(series, floor=x.depth if direct_io else None)
    pair = next(c for c in xs[backend].comparisons if c.qd == chosen.get("qd", 1))
    evidence = [comparison_record(c, "crossover") for c in x.deciding]
    if pair not in x.deciding:
        evidence.append(comparison_record(pair, "chosen depth"))
    doc = origin.get((chosen["id"], cap)) or {}
    entry = {"class": name, "workload_family": family, "suite": FAMILY_SUITE[family],
             "memory_cap": cap_bytes(cap, chosen), "memory_condition": condition_name(cap),
             "regime": regime, "direct_io": direct_io, "backend": backend,
             "queue_depth": chosen.get("qd", 1), "queue_depth_source": "qd suite: " + chosen["id"],
             "prefetch_distance": None, "io_combine_bytes": (doc.get("config") or {}).get("io_combine"),
             "crossover": x.kind if x.kind != "from" else f"from qd {x.depth}",
             "confidence": "high" if x.confident and not pair.inconclusive else "low",
             "reason": reason_text(family, x, direct_io, backend, chosen.get("qd", 1)),
             "evidence": evidence, "backend_choice": [throughput_record(c) for c in bests.values()],
             "backend_tie": None if tie is None else comparison_record(tie, "io_uring best / top best"),
             "depth_choice": depth_record(chosen, best)}
    if regime:  # Page level: the depth found is a read-stream distance.
        entry["prefetch_distance"] = chosen.get("qd", 1)
        raw = raw_queue_depth(curves, raw_family, cap, backend, direct_io)
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


def advise(cells, runs=(), created_utc=None):
    """The advice document (module docstring) for merged cells; `runs` are the (path, doc)
    pairs they came from, for the source and io_combine. Raises AdviceError without twins."""
    analysis = analyse(cells)
    if not analysis.twins:
        raise AdviceError(missing_twins_message(cells))
    curves = {x.key: x for x in analysis.crossovers}
    entries = class_entries(curves, origins(runs))
    if not entries:
        raise AdviceError(no_class_message(analysis))
    return {"schema": ADVICE_SCHEMA, "version": ADVICE_VERSION,
            "created_utc": created_utc or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "source": source_of(runs), "rules": RULES, "classes": entries}


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
