"""Reads iodepth results files and the metrics of their cells; shared by every module of report/.

A results file is the JSON of docs/BENCHMARKS.md ("Results file"), defined once by
schema/results.schema.json: load_results checks each file against it (schema.py) and adds no
structural check of its own, so what follows relies on what the schema requires (a string id
per cell, a median object, records that are null or objects, a memory_cap of bytes).
What a schema cannot say lives here. A version 2 file has no memory_cap and no memory records:
they are read as 0 (no cap) and absent. Several files merge cell by cell on (id, memory_cap):
the matrix runs a suite once per memory cap, so one id may appear once per cap, and a later
file replaces an earlier file's cell of the same id and cap. A file of the memory axis
(`iodepth matrix` memory_ratios: the qd cells under a cap sized from the working set) says
so in its config (memory_ratio, memory_budget_bytes), and merge marks each of its cells.

Pure functions of plain dicts; no matplotlib, so guidance and advice can import this anywhere.
"""

import re
import statistics

from . import schema

REGIME_ORDER = ("hot", "pressure", "thrash", "memory")
# The order the report and the guidance take the suites in; unknown suites come last.
SUITE_ORDER = ("qd", "bm", "scan", "write", "io_patterns")
MiB = 1 << 20
GiB = 1 << 30
# memory_cap of a cell run under the process's own cgroup limit ("inherit": the matrix was
# started inside, e.g., systemd-run -p MemoryMax=...); its records' cap_bytes say the limit.
INHERIT_CAP = (1 << 64) - 1


class ResultsError(Exception):
    """A problem the person running the tool can fix; printed without a traceback."""


# ---------------------------------------------------------------- loading and merging

def load_results(path):
    """Returns the parsed results document at `path`, or raises ResultsError saying why not:
    unreadable, not JSON, or not following schema/results.schema.json (the message names the
    file, the JSON path of the bad field, what is wrong and what to do), or the schema cannot
    be used here (python3-jsonschema missing)."""
    try:
        return schema.validate_file(path)
    except (schema.InvalidResults, schema.SchemaUnavailable) as e:
        raise ResultsError(str(e)) from None


def supported_versions_text():
    """The schema versions load_results accepts, as messages write them: "2 or 3" (read from
    the schema). Raises ResultsError when the schema file cannot be read."""
    try:
        names = [str(v) for v in schema.supported_versions()]
    except schema.SchemaUnavailable as e:
        raise ResultsError(str(e)) from None
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def cap_of(cell):
    """The cell's memory cap in bytes; 0 (no cap) for version 2 files, which have none."""
    return cell.get("memory_cap") or 0


def cell_key(cell):
    """What identifies a cell across files: its id under its memory cap."""
    return (cell["id"], cap_of(cell))


def looks_of_doc(path, doc):
    """The looks K of the matrix's repetition schedule that wrote `doc` (decide.looks_of);
    raises ResultsError naming the file when its config.matrix schedule is malformed."""
    from .decide import looks_of  # decide imports this module: import it when first needed.
    try:
        return looks_of(doc.get("config"))
    except ValueError as e:
        raise ResultsError(f"{path}: {e}") from None


def memory_axis_of_doc(path, doc):
    """{"_memory_ratio": r, "_memory_budget_bytes": M} for a file of the memory axis (its
    config's memory_ratio, a positive number: working set / memory; memory_budget_bytes the
    memory M its cap leaves beside the process's reserve, None when absent), {} for any other
    file (memory_ratio absent or null). Raises ResultsError naming the file on a ratio that
    is not a positive number."""
    config = doc.get("config") or {}
    ratio = config.get("memory_ratio")
    if ratio is None:
        return {}
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not ratio > 0:
        raise ResultsError(f"{path}: config.memory_ratio must be a positive number (working set / "
                           f"memory) or null, not {ratio!r}")
    budget = config.get("memory_budget_bytes")
    return {"_memory_ratio": ratio,
            "_memory_budget_bytes": budget if isinstance(budget, int) and not isinstance(budget, bool) else None}


def memory_ratio_of(cell):
    """The memory ratio (working set / memory) of a merged cell from a memory-axis file; None
    for cells of any other file."""
    return cell.get("_memory_ratio")


def merge(runs):
    """Merges cells and fio cross-checks of (path, doc) pairs; later files win on equal
    (id, memory_cap) keys. Each merged cell is a shallow copy of the file's cell carrying
    "_looks": the K of its file's look schedule (decide.py, "Repeated looks"), and, for a
    file of the memory axis (config.memory_ratio), "_memory_ratio" and "_memory_budget_bytes"
    (memory_axis_of_doc)."""
    cells, checks = {}, {}
    for path, doc in runs:
        looks = looks_of_doc(path, doc)
        axis = memory_axis_of_doc(path, doc)
        for cell in doc["cells"]:
            cells.pop(cell_key(cell), None)  # Re-insert so a replaced cell takes the later file's place.
            cells[cell_key(cell)] = dict(cell, _looks=looks, **axis)
        own = {cell_key(cell): cell for cell in doc["cells"]}
        for check in doc.get("fio_crosscheck") or []:
            if isinstance(check, dict) and "cell" in check:
                key = (check["cell"], check.get("memory_cap") or 0)
                # The iodepth side of a cross-check is the cell of the same file (the run
                # that alternated with fio), not whatever cell of that id wins the merge.
                checks[key] = dict(check, _cell=own.get(key))
    return list(cells.values()), list(checks.values())


# The settings of a results file's config that say what its cells measured (the file, the
# request, the window, the cache state, the pool, the scans, the writes, the queue's
# options, the memory axis). Repetitions of one cell from two runs are pooled only where
# their files agree on every one of these: fio.crosscheck merging its runs (it adds
# "filename": its runs share one file), report/fleet.py pooling the hosts of a host class
# (another host has other paths, so no path is among them). The repetition schedule, the
# seed and the lists of what was run are not: a cell's id and memory cap say what it is.
POOLED_SETTINGS = ("suite", "file_size", "working_set", "bs", "runtime_ns", "ramp_ns", "number_ios",
                   "cache_state", "verify", "drop_caches", "memory", "page_size", "io_combine", "table_rows",
                   "query", "streams", "strategy", "work", "update_fraction", "checkpoint_reader",
                   "wal_record_bytes", "writeback_depth", "worker_threads", "iodepth_batch_submit",
                   "uring_async", "uring_sqpoll", "uring_register_files", "uring_fixed_buffers",
                   "memory_ratio")


def origins(runs):
    """{(id, memory_cap): doc} naming the document each merged cell came from (later wins)."""
    found = {}
    for _, doc in runs:
        for cell in doc["cells"]:
            found[cell_key(cell)] = doc
    return found


# ---------------------------------------------------------------- metrics

def percentile_ns(stats, pct, latency="clat_ns"):
    """The `pct` percentile of the latency record `latency` (clat_ns; reader_during_ns of a
    write record) of a median or repetition record, whatever the key's spelling."""
    for key, value in (stats.get(latency) or {}).get("percentile", {}).items():
        try:
            if float(key) == pct:
                return value
        except ValueError:
            continue
    return None


def scaled(value, divisor):
    return None if value is None else value / divisor


def record_field(stats, record, key):
    """A field of a median or repetition sub-record ("buffer", "scan", "memory"); None when absent."""
    return (stats.get(record) or {}).get(key)


def stream_bws(stats):
    """Each scan's page bytes/s of a repetition's scan record; [] for a median (which keeps only
    the slowest) and for cells without a scan record."""
    return [bw for bw in (stats.get("scan") or {}).get("stream_bw_bytes") or [] if bw is not None]


def slowest_stream_bw(stats):
    """The slowest scan's page bytes/s: a median's min_stream_bw_bytes, or the smallest of a
    repetition's stream_bw_bytes; None for cells without a scan record."""
    scan = stats.get("scan") or {}
    if scan.get("min_stream_bw_bytes") is not None:
        return scan["min_stream_bw_bytes"]
    streams = stream_bws(stats)
    return min(streams) if streams else None


def stream_fairness(stats):
    """Slowest / fastest scan's page bytes/s of one repetition (1.0: every scan alike); None
    for a median and for cells without per-scan figures, or whose fastest scan read nothing."""
    streams = stream_bws(stats)
    return min(streams) / max(streams) if streams and max(streams) > 0 else None


# The project's fairness target for concurrent scans: the slowest within 1.5x of the fastest.
# Below it a cell's total and hit ratio flatter it (docs/BENCHMARKS.md, "scan"): one scan can
# keep the pool and run at memory speed while the others wait for the device.
FAIR_STREAM_SHARE = 2 / 3


def is_unfair(fairness):
    """Whether a slowest/fastest figure (stream_fairness, or its median) misses the target."""
    return fairness is not None and fairness < FAIR_STREAM_SHARE


# How scans took their frames in files written before the scan record said (schema scan_record).
DEFAULT_SCAN_STRATEGY = "clock"


def scan_strategies(cell):
    """The strategies (ring, share, clock) the cell's repetitions ran with, sorted; "clock" for
    a scan record without one (an older file); [] for a cell without scan records."""
    return sorted({(r.get("scan") or {}).get("strategy") or DEFAULT_SCAN_STRATEGY
                   for r in cell.get("repetitions") or [] if r.get("scan")})


def write_per_s(stats, key):
    """A count of a repetition's write record per second of its window; None without one."""
    write = stats.get("write")
    if not write or not stats.get("runtime_ns"):
        return None
    return write.get(key, 0) * 1e9 / stats["runtime_ns"]


def sync_share(stats):
    """The share of a repetition's checkpoint time spent in fdatasync; None without checkpoints."""
    write = stats.get("write") or {}
    total_ns = write.get("checkpoints", 0) * write.get("mean_checkpoint_ns", 0)
    return write.get("sync_ns", 0) / total_ns if total_ns else None


def reader_us(stats, latency, pct):
    """A percentile of the checkpoint's reader (`latency`: reader_during_ns or
    reader_between_ns) in µs; None where the reader fetched nothing then (the record's zeros)."""
    write = stats.get("write") or {}
    if not (write.get(latency) or {}).get("N"):
        return None  # The reader was off, or fetched nothing then: its record is zeros.
    return scaled(percentile_ns(write, pct, latency), 1e3)


# The write record's figures (write suite). A cell's median has no write record (schema
# $defs/median), so these are the one place its medians are taken: over the repetitions.
WRITE_METRICS = {
    "commits_per_flush": lambda s: record_field(s, "write", "commits_per_flush"),
    "syncs_per_commit": lambda s: record_field(s, "write", "syncs_per_commit"),
    "bytes_per_commit": lambda s: record_field(s, "write", "bytes_per_commit"),
    "updates_per_s": lambda s: write_per_s(s, "updates"),
    "written_per_s": lambda s: write_per_s(s, "pages_written"),
    "background_per_s": lambda s: write_per_s(s, "background_writebacks"),
    "evictor_per_s": lambda s: write_per_s(s, "evictor_writebacks"),
    "checkpoints": lambda s: record_field(s, "write", "checkpoints"),
    "checkpoint_ms": lambda s: scaled(record_field(s, "write", "mean_checkpoint_ns"), 1e6),
    "sync_share": sync_share,
    "reader_during_p50_us": lambda s: reader_us(s, "reader_during_ns", 50),
    "reader_during_p99_us": lambda s: reader_us(s, "reader_during_ns", 99),
    "reader_between_p50_us": lambda s: reader_us(s, "reader_between_ns", 50),
    "reader_between_p99_us": lambda s: reader_us(s, "reader_between_ns", 99),
}

# The per-scan figures (scan suite) a median does not keep: it has the slowest scan only, so
# these medians are taken over the repetitions, like the write record's.
STREAM_METRICS = {
    "stream_fairness": stream_fairness,
}
# Metrics whose median is the median of the repetitions' values (median_of).
REPETITION_MEDIAN_METRICS = {**WRITE_METRICS, **STREAM_METRICS}

# Each getter works on both a cell's "median" and one of its "repetitions": same shape
# (the write and stream metrics find no record in a median).
METRICS = {
    "iops": lambda s: s.get("iops"),
    "mb_s": lambda s: scaled(s.get("bw_bytes"), 1e6),
    "mean_us": lambda s: scaled((s.get("clat_ns") or {}).get("mean"), 1e3),
    "p50_us": lambda s: scaled(percentile_ns(s, 50), 1e3),
    "p95_us": lambda s: scaled(percentile_ns(s, 95), 1e3),
    "p99_us": lambda s: scaled(percentile_ns(s, 99), 1e3),
    "cpu_us_per_io": lambda s: scaled(s.get("cpu_ns_per_io"), 1e3),
    "littles_law": lambda s: (s.get("depth") or {}).get("littles_law"),
    "hit_ratio": lambda s: record_field(s, "buffer", "hit_ratio"),
    "mean_read_kib": lambda s: scaled(record_field(s, "buffer", "mean_read_bytes"), 1024),
    "wait_fraction": lambda s: record_field(s, "buffer", "wait_fraction"),
    "mean_distance": lambda s: record_field(s, "buffer", "mean_distance"),
    "mean_combine_pages": lambda s: record_field(s, "buffer", "mean_combine_pages"),
    "mean_pinned_pages": lambda s: record_field(s, "buffer", "mean_pinned_pages"),
    "rows_per_s": lambda s: record_field(s, "scan", "rows_per_s"),
    "min_stream_mb_s": lambda s: scaled(slowest_stream_bw(s), 1e6),
    "peak_mib": lambda s: scaled(record_field(s, "memory", "peak_bytes"), MiB),
    "page_cache_mib": lambda s: scaled(record_field(s, "memory", "page_cache_bytes"), MiB),
    "refaults": lambda s: record_field(s, "memory", "refaults"),
    **REPETITION_MEDIAN_METRICS,
}
# Metrics that plot from zero unless lines differ by 10x at one depth (plots.wants_log_axis).
THROUGHPUT_METRICS = ("iops", "mb_s", "rows_per_s", "min_stream_mb_s")


def repetition_values(cell, metric):
    """`metric` of each of the cell's repetitions that has it, in the order they ran."""
    values = [METRICS[metric](r) for r in cell.get("repetitions") or []]
    return [v for v in values if v is not None]


def median_of(cell, metric):
    """The cell's median of `metric`: its median record's (SummariseCell's), or for a write or
    stream metric (REPETITION_MEDIAN_METRICS) the median of its repetitions (the rule of
    SummariseCell's Median: the middle value, the mean of the two middle ones for an even
    count); None where there is none."""
    if metric in REPETITION_MEDIAN_METRICS:
        values = repetition_values(cell, metric)
        return statistics.median(values) if values else None
    return METRICS[metric](cell.get("median") or {})


def spread_of(cell, metric):
    """(min, max) of `metric` over the cell's repetitions, or None with no repetitions."""
    values = repetition_values(cell, metric)
    return (min(values), max(values)) if values else None


def is_ok(cell):
    return cell.get("status", "ok") == "ok"


def family_of(cell):
    """"rand_read_qd32" -> "rand_read": a qd workload is its family at one depth."""
    return re.sub(r"_qd\d+$", "", cell.get("workload", cell["id"].split("/")[0]))


def is_adaptive(cell):
    return cell.get("policy") == "adaptive" or cell.get("workload", "").endswith("_adaptive")


def regime_rank(regime):
    return REGIME_ORDER.index(regime) if regime in REGIME_ORDER else len(REGIME_ORDER)


def suite_rank(suite):
    return SUITE_ORDER.index(suite) if suite in SUITE_ORDER else len(SUITE_ORDER)


def ratio(a, b):
    return a / b if a is not None and b else None


def bytes_text(n):
    """128 MiB, 2 GiB, or plain bytes when neither divides evenly."""
    if n and n % GiB == 0:
        return f"{n // GiB} GiB"
    if n and n % MiB == 0:
        return f"{n // MiB} MiB"
    return f"{n:,} bytes"


def cap_label(cap):
    """How every section names a memory condition: "no memory cap", "memory cap 128 MiB" or
    "inherited memory cap"."""
    if cap == INHERIT_CAP:
        return "inherited memory cap"
    return "no memory cap" if not cap else f"memory cap {bytes_text(cap)}"


def ratio_text(ratio):
    """A working set / memory ratio (the memory axis) as every statement writes it: "0.5x", "2x"."""
    return f"{ratio:g}x"


def condition_label(cap, ratio=None, budget=None):
    """A memory condition as statements name it: cap_label, and on the memory axis the ratio
    and the memory it stands for: "memory cap 160 MiB (working set 2x memory, 128 MiB)"."""
    if ratio is None:
        return cap_label(cap)
    memory = f", {bytes_text(budget)}" if budget else ""
    return f"{cap_label(cap)} (working set {ratio_text(ratio)} memory{memory})"


def cells_condition(cells, cap):
    """condition_label of `cap` from the memory-axis marks of its cells (results.merge)."""
    mine = next((c for c in cells if cap_of(c) == cap and c.get("_memory_ratio") is not None), None)
    return condition_label(cap, mine and mine["_memory_ratio"], mine and mine.get("_memory_budget_bytes"))


def cap_tag(cap):
    """A file-name part for a memory condition, as the matrix names its files: "" for no cap
    (the names of old reports), "cap128MiB", "capinherit"."""
    if cap == INHERIT_CAP:
        return "capinherit"
    return "" if not cap else "cap" + bytes_text(cap).replace(" ", "").replace(",", "")


def condition_name(cap):
    """The memory condition as the matrix's --memory-caps spells it: "none", "inherit", "128 MiB"."""
    return "inherit" if cap == INHERIT_CAP else ("none" if not cap else bytes_text(cap))
