"""Complete results documents for the report tests, following schema/results.schema.json.

Every document the tests build comes from here, so each is what `iodepth suite` would write:
version 3 (version 2 on request: version_2), every field the schema requires present (the
environment's keys, a 40-hex git_commit, each repetition's latency, depth and records, each
cell's summary and coefficients of variation). The tests choose only the numbers they assert
on; the rest is filled in consistently (bw_bytes = iops x bs, total_ios = iops x runtime, a
cell's median the median of its repetitions). A test that breaks a document on purpose
changes the built document afterwards. fixtures_test.py checks the builders against the
schema, so a fixture that drifts from the format fails there, not as a puzzling report test.

    document(suite, cells, ...)      a whole results file
    cell(workload, ..., reps, ...)   a measured cell, its median and cv computed from reps
    unsupported_cell(...)            a cell that did not run: zeros, null records, no reps
    repetition(iops, p95_ns, ...)    one measured run (device record on request)
    buffer_record(...)               a repetition's buffer manager record (bm, scan)
    scan_record(stream_bw_bytes)     a repetition's scan record (scan), strategy on request
    write_record(...)                a repetition's write record (write suite)
    latency_record(...)              a latency record (the write record's reader)
    version_2(doc)                   the document as a version 2 writer wrote it
"""

import copy
import json
import os
import statistics

SCHEMA_VERSION = 3
GIT_COMMIT = "0123456789abcdef0123456789abcdef01234567"
CREATED_UTC = "2026-11-24T18:20:00Z"
IODEPTH_VERSION = "0.1.0"
# The summary fields of each record a median carries (schema $defs/median).
MEDIAN_BUFFER_FIELDS = ("hit_ratio", "mean_read_bytes", "wait_fraction", "mean_distance")
MEDIAN_MEMORY_FIELDS = ("peak_bytes", "page_cache_bytes", "refaults")


def environment():
    """The host facts of every test document: each key the schema requires, plus a nested
    device queue, an empty string and an empty section (the report flattens the first and
    leaves the other two out)."""
    return {"collected_utc": CREATED_UTC, "hostname": "testhost", "kernel": "6.12.0-test",
            "uname": "Linux testhost 6.12.0-test #1 SMP x86_64", "cpu_model": "Synthetic CPU",
            "cpu_count": 2, "cpus_allowed": 2, "memory_total_bytes": 8 << 30,
            "data_path": "/var/tmp/iodepth-test.dat", "inspected_path": "/var/tmp",
            "memlock_limit_bytes": "unlimited", "open_files_limit": 1024,
            "transparent_hugepage": "madvise", "iodepth_version": IODEPTH_VERSION,
            "git_commit": GIT_COMMIT, "filesystem": {"type": "ext4", "mount_point": "/var/tmp"},
            "device": {"model": "FakeDisk 9000", "queue": {"nr_requests": 64}, "serial": ""},
            "io_uring": {"available": True}, "direct_io_alignment": {"memory_bytes": 512},
            "cgroup": {"version": "2"}, "vm": {"swappiness": 60}, "empty_section": {}}


def document(suite, cells, config=None, crosscheck=None, version=SCHEMA_VERSION):
    """A results file of `iodepth suite SUITE` holding `cells` (kept, not copied, for version
    3). `config` adds keys to the configuration; `crosscheck` is its fio_crosscheck list.
    version 2 gives version_2 of the document; any other version only sets the number (a
    file the reader must refuse)."""
    doc = {"schema": "iodepth-results", "schema_version": version, "iodepth_version": IODEPTH_VERSION,
           "git_commit": GIT_COMMIT, "created_utc": CREATED_UTC, "command": f"iodepth suite {suite}",
           "config": dict({"suite": suite, "cache_state": "cold"}, **(config or {})),
           "environment": environment(), "cells": cells,
           "fio_crosscheck": [] if crosscheck is None else crosscheck}
    return version_2(doc) if version == 2 else doc


def version_2(doc):
    """A copy of `doc` as a version 2 writer wrote it: no memory_cap, no memory records."""
    doc = copy.deepcopy(doc)
    doc["schema_version"] = 2
    for c in doc["cells"]:
        c.pop("memory_cap", None)
        c["median"].pop("memory", None)
        for r in c["repetitions"]:
            r.pop("memory", None)
    return doc


def write_json(directory, name, doc):
    """Writes `doc` to directory/name; returns the path."""
    path = os.path.join(directory, name)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f)
    return path


def cell_id(workload, mode, backend, regime=""):
    """workload/mode/backend, plus /regime for bm and scan cells."""
    return "/".join([workload, mode, backend] + ([regime] if regime else []))


def _cache_state(mode):
    return "n/a" if mode == "direct" else "cold"


def cell(workload, suite, qd, mode, backend, reps, regime="", policy="", cap=0, flags=(),
         rw="randread", bs=4096):
    """A measured (status ok) cell of `reps`; its median and cv are computed from them as the
    writer does. A test that asserts on a median of its own sets it afterwards."""
    return {"id": cell_id(workload, mode, backend, regime), "workload": workload, "suite": suite,
            "rw": rw, "qd": qd, "bs": bs, "mode": mode, "backend": backend,
            "cache_state": _cache_state(mode), "regime": regime, "policy": policy,
            "memory_cap": cap, "status": "ok", "reason": "", "flags": list(flags),
            "median": median(reps), "cv": cv(reps), "repetitions": reps}


def unsupported_cell(workload, suite, qd, mode, backend, reason, regime="", policy="", cap=0,
                     rw="randread", bs=4096):
    """A cell the machine could not run: as the writer records it, zeros and null records in
    its median, no repetitions, and the reason."""
    return dict(cell(workload, suite, qd, mode, backend, [], regime, policy, cap, (), rw, bs),
                status="unsupported", reason=reason)


def repetition(iops, p95_ns, bs=4096, runtime_ns=10**9, p50_ns=None, p99_ns=None, mean_ns=None,
               max_ns=None, cpu_ns_per_io=2500.0, target=1, littles_law=1.0, resident_before=-1.0,
               buffer=None, scan=None, memory=None, device_read_fraction=None, write=None):
    """One measured run at `iops` requests/s of `bs` bytes with p95 latency `p95_ns`. Unless
    given, p50 is half of p95, p99 and the maximum twice and three times it, the mean half of
    it; the queue held `littles_law` of `target` requests on average, one per submit. The
    buffer, scan and memory records are null unless given; the device record is absent (as
    in files written before device accounting) unless `device_read_fraction` says what share
    of io_bytes the device read; the write record is absent (as in files from before the
    write suite) unless given."""
    total_ios = int(iops * runtime_ns / 1e9)
    cpu_ns = int(cpu_ns_per_io * total_ios)
    return {
        "iops": iops, "bw_bytes": iops * bs, "total_ios": total_ios, "io_bytes": total_ios * bs,
        "runtime_ns": runtime_ns,
        "clat_ns": {"min": min(10, p95_ns), "max": 3 * p95_ns if max_ns is None else max_ns,
                    "mean": p95_ns / 2 if mean_ns is None else mean_ns, "N": total_ios,
                    "percentile": {"50.000000": p95_ns // 2 if p50_ns is None else p50_ns,
                                   "95.000000": p95_ns,
                                   "99.000000": 2 * p95_ns if p99_ns is None else p99_ns}},
        "usr_cpu_ns": cpu_ns // 3, "sys_cpu_ns": cpu_ns - cpu_ns // 3, "cpu_ns_per_io": cpu_ns_per_io,
        "depth": {"target": target, "mean_in_flight": littles_law, "utilization": littles_law / target,
                  "littles_law": littles_law, "submit_calls": total_ios, "submitted": total_ios,
                  "reap_calls": total_ios, "reaped": total_ios, "avg_submit_batch": 1.0,
                  "avg_reap_batch": 1.0, "resubmits": 0, "refills_short": 0},
        "resident_before": resident_before, "verified_bytes": 0,
        "buffer": buffer, "scan": scan, "memory": memory,
        **({} if device_read_fraction is None else {"device": device_record(
            int(device_read_fraction * total_ios * bs), int(device_read_fraction * total_ios))}),
        **({} if write is None else {"write": write})}


def device_record(read_bytes, read_ios, name="vda"):
    """What the block device did in one repetition: reads only."""
    return {"name": name, "read_bytes": read_bytes, "write_bytes": 0, "read_ios": read_ios, "write_ios": 0}


def buffer_record(hit_ratio, mean_read_bytes, wait_fraction, mean_distance, page_bytes=8192,
                  memory_bytes=64 << 20, working_set_bytes=256 << 20, fetches=100, runtime_ns=10**9):
    """What the buffer manager did in one run: `fetches` page fetches at `hit_ratio` (the
    given ratio is recorded as is), misses read `mean_read_bytes` at a time, the consumer
    waiting `wait_fraction` of `runtime_ns`."""
    hits = round(hit_ratio * fetches)
    pages_per_read = max(1, round(mean_read_bytes / page_bytes))
    reads = max(1, (fetches - hits) // pages_per_read)
    return {"memory_bytes": memory_bytes, "working_set_bytes": working_set_bytes,
            "page_bytes": page_bytes, "fetches": fetches, "hits": hits, "misses": fetches - hits,
            "hit_ratio": hit_ratio, "reads": reads, "read_bytes": reads * pages_per_read * page_bytes,
            "mean_read_bytes": mean_read_bytes, "reads_by_pages": {str(pages_per_read): reads},
            "consumer_waits": reads, "wait_ns": int(wait_fraction * runtime_ns),
            "wait_fraction": wait_fraction, "mean_distance": mean_distance}


def scan_record(stream_bw_bytes, strategy=None, rows_per_s=1e6, runtime_ns=10**9, passes_checked=1,
                ring_reused_pages=0):
    """What S concurrent scans did in one run, S = len(stream_bw_bytes) (each scan's page
    bytes/s). `strategy` (ring, share, clock) and ring_reused_pages are absent unless a
    strategy is given, as in files written before the scans had a choice."""
    record = {"streams": len(stream_bw_bytes), "rows": int(rows_per_s * runtime_ns / 1e9),
              "rows_per_s": rows_per_s, "passes_checked": passes_checked,
              "stream_bw_bytes": list(stream_bw_bytes)}
    if strategy is not None:
        record.update(strategy=strategy, ring_reused_pages=ring_reused_pages)
    return record


def latency_record(n=0, p50_ns=0, p99_ns=0):
    """A latency record of `n` samples: p95 and the maximum at p99; all zeros by default, as
    the writer records a reader that fetched nothing."""
    return {"min": min(p50_ns, p99_ns), "max": p99_ns, "mean": float(p50_ns), "N": n,
            "percentile": {"50.000000": p50_ns, "95.000000": p99_ns, "99.000000": p99_ns}}


def write_record(**figures):
    """What the write path did in one run: every figure of the schema's write_record 0 (the
    reader's latencies of no samples), except the `figures` given."""
    record = {"sync": "", "commits_per_flush": 0.0, "syncs_per_commit": 0.0, "bytes_per_commit": 0.0,
              "max_write_depth": 0, "update_fraction": 0.0, "updates": 0, "writeback_depth": 0,
              "pages_written": 0, "background_writebacks": 0, "evictor_writebacks": 0, "dirty_pages": 0,
              "checkpoints": 0, "mean_checkpoint_ns": 0.0, "sync_ns": 0,
              "reader_during_ns": latency_record(), "reader_between_ns": latency_record()}
    unknown = set(figures) - set(record)
    assert not unknown, f"not write record fields: {sorted(unknown)}"
    record.update(figures)
    return record


def _median_ns(values):
    """A median of nanoseconds is an integer, as the writer rounds it."""
    return int(round(statistics.median(values)))


def median(reps):
    """The summary of `reps` as the writer computes it: the median of each metric; zeros and
    null records without repetitions."""
    if not reps:
        return {"iops": 0.0, "bw_bytes": 0.0,
                "clat_ns": {"mean": 0.0, "max": 0, "percentile": {"50.000000": 0, "95.000000": 0, "99.000000": 0}},
                "cpu_ns_per_io": 0.0, "depth": {"mean_in_flight": 0.0, "littles_law": 0.0, "utilization": 0.0},
                "buffer": None, "scan": None, "memory": None}
    keys = reps[0]["clat_ns"]["percentile"]
    return {
        "iops": statistics.median(r["iops"] for r in reps),
        "bw_bytes": statistics.median(r["bw_bytes"] for r in reps),
        "clat_ns": {"mean": statistics.median(r["clat_ns"]["mean"] for r in reps),
                    "max": _median_ns(r["clat_ns"]["max"] for r in reps),
                    "percentile": {k: _median_ns(r["clat_ns"]["percentile"][k] for r in reps) for k in keys}},
        "cpu_ns_per_io": statistics.median(r["cpu_ns_per_io"] for r in reps),
        "depth": {k: statistics.median(r["depth"][k] for r in reps)
                  for k in ("mean_in_flight", "littles_law", "utilization")},
        "buffer": _median_buffer(reps), "scan": _median_scan(reps), "memory": _median_memory(reps),
        **({"device": _median_device(reps)} if any("device" in r for r in reps) else {})}


def _median_device(reps):
    """The medians of the device records, requested_bytes the cell's io_bytes (qd suite)."""
    records = [(r["device"], r["io_bytes"]) for r in reps if r.get("device") is not None]
    if not records:
        return None
    return {"read_bytes": statistics.median(d["read_bytes"] for d, _ in records),
            "write_bytes": statistics.median(d["write_bytes"] for d, _ in records),
            "requested_bytes": statistics.median(asked for _, asked in records)}


def _median_buffer(reps):
    records = [(r["buffer"], r["runtime_ns"]) for r in reps if r["buffer"] is not None]
    if not records:
        return None
    summary = {k: statistics.median(b[k] for b, _ in records) for k in MEDIAN_BUFFER_FIELDS}
    summary["reads_per_s"] = statistics.median(b["reads"] * 1e9 / runtime for b, runtime in records)
    return summary


def _median_scan(reps):
    records = [r["scan"] for r in reps if r["scan"] is not None]
    if not records:
        return None
    return {"rows_per_s": statistics.median(s["rows_per_s"] for s in records),
            "min_stream_bw_bytes": statistics.median(min(s["stream_bw_bytes"]) for s in records)}


def _median_memory(reps):
    records = [r["memory"] for r in reps if r.get("memory") is not None]
    if not records:
        return None
    return {k: statistics.median(m[k] for m in records) for k in MEDIAN_MEMORY_FIELDS}


def cv(reps):
    """Coefficient of variation (sample standard deviation / mean) of IOPS, bandwidth and p95
    over `reps`; 0 with fewer than two."""
    def of(values):
        values = list(values)
        mean = statistics.mean(values) if values else 0
        return statistics.stdev(values) / mean if len(values) >= 2 and mean else 0.0
    return {"iops": of(r["iops"] for r in reps), "bw_bytes": of(r["bw_bytes"] for r in reps),
            "clat_ns_p95": of(r["clat_ns"]["percentile"]["95.000000"] for r in reps)}
