"""fio.crosscheck: runs chosen cells of an iodepth suite and, beside each, the fio job that
measures the same thing, in one run on one file; writes ONE iodepth results file
(docs/BENCHMARKS.md) holding the cells plus a "fio_crosscheck" array of iodepth/fio ratios,
which `iodepth report` shows. The project's rule is that its numbers must agree with fio's;
fio.parity checks `iodepth bench`, this module checks the suites.

Order: the file is prepared once, then every repetition runs each cell through iodepth
(`iodepth suite --only CELL --repetitions 1`) and at once through fio, so the two tools
interleave and slow drift in the device lands on both alike:

  repetition 1:  cell 1 iodepth, cell 1 fio, cell 2 iodepth, cell 2 fio, ...
  repetition 2:  cell 1 iodepth, cell 1 fio, ...

The results file is iodepth's first run's document with each cell's repetitions
concatenated over the runs and summarised again by `iodepth summarise` (SummariseCell in
src/results/results.cc: its median, cv and flags, computed in one place); "fio_crosscheck"
holds fio's medians, every fio run, and ratio = iodepth median / fio median for IOPS, p95
completion latency and CPU per I/O.

A cell becomes a fio job like this (same file, same size, bs from the cell):

  cell part                 fio
  seq_read*, rand_read*     rw=read, rw=randread (with norandommap: offsets drawn with
                            replacement, as iodepth draws them)
  direct                    direct=1
  buffered (cold)           direct=0 invalidate=0, and the file's pages dropped just before
                            each fio run (fdatasync, posix_fadvise DONTNEED), as iodepth drops
                            them before each repetition. Not fio's invalidate=1: with
                            time_based it drops the pages again each time a sequential job
                            wraps to offset 0 (io_u.c loop_cache_invalidate), so a small file
                            would be read from the device on every pass by fio and from the
                            page cache after the first pass by iodepth
  dontcache                 the same, with uncached=1, only if a probe shows fio's uncached=1
                            works here; otherwise the cell is skipped with a note
  io_uring, qd N            ioengine=io_uring iodepth=N
  sync (qd 1), syncpath     ioengine=psync: one pread at a time on the job's thread
  worker, qd N              ioengine=psync numjobs=N thread group_reporting (caveats are
                            printed under the table: fio has no thread-pool engine)
  *_write                   skipped: fio would overwrite iodepth's self-verifying content
                            with its own pattern, and no fio option reproduces it

Every fio job is also --readonly --allow_file_create=0 (fio can never write or make the
file), --randrepeat=0 (and a fresh --randseed for every iodepth run: on a virtual disk the
host may cache offsets read in the previous repetition), --fadvise_hint=0 (iodepth gives the
kernel no access-pattern advice, and fio's default POSIX_FADV_RANDOM would turn off
readahead for buffered cells), --time_based, and the same --runtime and --ramp_time.
Buffered cells run in iodepth's default cold state (no --cache_state is passed); a cell
whose iodepth runs did not start cold is skipped, not compared with fio's cold start. The
page-cache residency each side started from is kept (iodepth's resident_before; fincore's
count before each fio run), and the device's counters around each fio run.

Verdict: an entry "agrees" when iodepth/fio IOPS is within AGREEMENT (±5%); where it does
not, "cause" names what is known to differ (iodepth's or fio's runs served from the page
cache, the device reading a different share of the requested bytes on the two sides, a
different achieved depth by Little's law, cv_high on either side), else null. fio's runs
are flagged by `iodepth summarise` (SummariseCell's rules and thresholds) as a cell of their
own, so neither side's flags are decided here. Left at
fio's defaults, as fio.parity leaves them: iodepth_batch_submit/complete (fio submits each
I/O as it is queued, so the block layer can merge fewer of its sequential reads than of
iodepth's batched ones), hipri, fixedbufs, registerfiles, sqthread_poll, and no CPU pinning
for either tool: the comparison is with the fio job people run.

Errors name the failed command; the exit status is non-zero only on errors, never because
of a ratio. Run from the repository root: /usr/bin/python3 -m fio.crosscheck [options].
"""

import copy
import dataclasses
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import textwrap
import time

from report.results import POOLED_SETTINGS

from . import common
from .common import check_json_path, die, summarise_with_iodepth, write_document

DEFAULT_FILENAME = "/var/tmp/iodepth-fio-crosscheck.dat"
MAX_REPEAT = 99  # Bounds the run time: each repeat is two runs per cell.
# qd: every raw-request family, seq_read and rand_read at qd 1 and 32, direct and buffered.
DEFAULT_CELLS = {
    "qd": ",".join(f"{kind}_read_qd{qd}/{mode}/io_uring" for kind in ("seq", "rand") for qd in (1, 32)
                   for mode in ("direct", "buffered")),
    "io_patterns": "rand_read/direct/syncpath,rand_read/buffered/syncpath",
}
# `iodepth suite` reports progress and where it wrote its files on stderr; every other
# stderr line is shown.
SUITE_ROUTINE_STDERR = (r"^(iodepth suite [a-z_]+: .* cells? x .*|\[[0-9]+/[0-9]+\] ETA .*|results: .*|"
                        r"\s+.*\.csv|)$")
MAX_WORKER_THREADS = 64          # src/io/io_queue.h: the worker pool's thread limit.
SEQ_SLICE_ALIGN_BYTES = 1 << 20  # fio worker slices start on 1 MiB: aligned for any bs.
P95 = "95.000000"
PROGRAM = "/usr/bin/python3 -m fio.crosscheck"

QD_CELL = re.compile(r"(seq|rand)_read_qd([1-9][0-9]*)/(buffered|direct|dontcache)/(io_uring|worker|sync)")
PATTERN_CELL = re.compile(r"(seq|rand)_(read|write)/(buffered|direct|dontcache)/syncpath")

WORKER_NOTE = ("worker cells: fio has no thread-pool engine, so a worker cell at qd N is compared with "
               "N psync jobs (threads, group_reporting). Each fio job is one thread in pread with nothing "
               "between it and the kernel; iodepth hands each request from its submitting thread to a worker "
               "and back, so expect higher clat and CPU/IO on iodepth's side. fio's CPU is its job threads' "
               "(RUSAGE_THREAD); iodepth's is the whole process, submitter included.")
SEQ_WORKER_NOTE = ("seq worker cells: each fio job reads its own 1/N slice of the file in order "
                   "(offset_increment), so the device sees N sequential streams, each with its own file "
                   "descriptor and readahead; iodepth's pool reads one ascending stream N blocks deep "
                   "through one descriptor.")
URING_NOTE = ("io_uring cells: fio's clat starts after io_uring_enter returns, iodepth's before its submit "
              "call; fio's total latency p95 (slat + clat, the same span as iodepth's clat) is kept as "
              "lat_ns_p95 in each fio repetition.")
CPU_NOTE = ("CPU/IO = user + system CPU time over the measured window / I/Os completed in it; fio counts its "
            "job threads, iodepth its whole process, so io_uring work punted to iou-wrk threads counts on "
            "iodepth's side only.")
BUFFERED_NOTE = ("buffered cells start cold on both sides: iodepth drops the file's pages before each "
                 "repetition, fio.crosscheck drops them (fdatasync, posix_fadvise DONTNEED) just before each "
                 "fio run, which runs with invalidate=0 so that it does not drop them again when a "
                 "sequential job wraps to the file's start; both warm the cache as they run, ramp included.")
# The verdict: iodepth/fio IOPS within this range agrees with fio (issue 12: ±5%). Achieved
# depths (Little's law) further apart than this are a known cause of a disagreement.
AGREEMENT = (0.95, 1.05)
# A buffered cell's device read this much more or less of the requested bytes on one side
# than on the other: the page cache served the two differently.
DEVICE_SHARE_GAP = 0.2
SERVED_FROM_CACHE_FLAGS = ("cold_but_cached", "served_from_memory", "memory_device")
WRITE_SKIP = ("write cell: fio would overwrite the file's self-verifying content with its own pattern (and "
              "iodepth refuses to write files it did not make), and no fio option writes iodepth's pattern")

USAGE = f"""\
Usage: {PROGRAM} [options]

Runs cells of an iodepth suite and fio's equivalent of each, interleaved on one file,
and writes one iodepth results file with a "fio_crosscheck" section (iodepth/fio ratios
of IOPS, p95 completion latency and CPU per I/O). Prints the same comparison as a table.

Options (--opt=value and --opt value both work):
  --suite=NAME      qd or io_patterns (default: qd)
  --cells=LIST      comma-separated cell ids (`iodepth suite qd --list` prints them; add
                    --modes dontcache or --depths N there for more). Defaults:
                      qd:          seq_read and rand_read at qd 1 and 32, direct and buffered,
                                   on io_uring ({DEFAULT_CELLS["qd"].split(",")[0]}, ...)
                      io_patterns: {DEFAULT_CELLS["io_patterns"]}
  --filename=PATH   data file (default: {DEFAULT_FILENAME}).
                    Made by iodepth when missing. Removed at the end unless --keep;
                    a file of yours that existed before the run is never removed.
  --size=SIZE       bytes of the file to use; k/m/g/t are powers of 1024 (default: 1g)
  --runtime=TIME    measured time per run: 10s, 1500ms, 2m; bare numbers are seconds
                    (default: 10s; at least 1s)
  --ramp_time=TIME  unmeasured warm-up per run (default: 2s)
  --repeat=N        repetitions, each running every cell through iodepth then fio
                    (default: 3); the results hold the medians
  --json=FILE       results file to write (default: results/crosscheck-<UTC time>.json)
  --report          then run `iodepth report FILE` (Markdown and plots beside it)
  --keep            do not remove the data file at the end
  --verbose         also show each command's stdout
  -h, --help        this text

Environment:
  IODEPTH_BIN       iodepth binary to use (default: build/release/cli/iodepth in the
                    repository, else iodepth on PATH)

Every command is printed before it runs. Exit status: 0 when every run worked and its
output parsed, whatever the ratios; non-zero on any error, naming the failed command.
"""

VALUE_FLAGS = ("--suite", "--cells", "--filename", "--size", "--runtime", "--ramp_time", "--repeat", "--json")
SWITCHES = {"-h": "--help", "--help": "--help", "--keep": "--keep", "--report": "--report",
            "--verbose": "--verbose", "-v": "--verbose"}


@dataclasses.dataclass
class Settings:
    suite: str = "qd"
    cells_text: str = DEFAULT_CELLS["qd"]
    filename: str = DEFAULT_FILENAME
    size_text: str = "1g"
    size_bytes: int = 1 << 30
    runtime_ms: int = 10000
    ramp_time_ms: int = 2000
    repeat: int = 3
    json_out: str = ""
    make_report: bool = False
    keep: bool = False
    verbose: bool = False


def settings_from_flags(flags, now=time.gmtime):
    """Settings from parse_flags' answer, or an error naming the flag that is wrong."""
    s = Settings(suite=flags.get("--suite", "qd"), filename=flags.get("--filename", DEFAULT_FILENAME),
                 size_text=flags.get("--size", "1g"), json_out=flags.get("--json", ""),
                 make_report="--report" in flags, keep="--keep" in flags, verbose="--verbose" in flags)
    if s.suite not in DEFAULT_CELLS:
        die(f"--suite must be qd or io_patterns, got '{s.suite}'")
    s.cells_text = flags.get("--cells", DEFAULT_CELLS[s.suite])
    runtime_text, ramp_text = flags.get("--runtime", "10s"), flags.get("--ramp_time", "2s")
    s.runtime_ms, s.ramp_time_ms = common.parse_duration_ms(runtime_text), common.parse_duration_ms(ramp_text)
    if s.runtime_ms is None:
        die(f"--runtime '{runtime_text}' is not a time like 10s, 1500ms or 2m")
    if s.runtime_ms < 1000:
        die(f"--runtime must be at least 1s, got '{runtime_text}'")
    if s.ramp_time_ms is None:
        die(f"--ramp_time '{ramp_text}' is not a time like 2s, 500ms or 0")
    repeat_text = flags.get("--repeat", "3")
    s.repeat = common.whole_number(repeat_text)
    if s.repeat is None or not 1 <= s.repeat <= MAX_REPEAT:
        die(f"--repeat must be a whole number from 1 to {MAX_REPEAT}, got '{repeat_text}'")
    s.size_bytes = common.parse_size_bytes(s.size_text)
    if s.size_bytes is None:
        die(f"--size '{s.size_text}' is not a size like 1g, 512m or 4096")
    if s.size_bytes <= 0:
        die("--size must be larger than 0")
    s.json_out = s.json_out or time.strftime("results/crosscheck-%Y%m%d-%H%M%S.json", now())
    check_json_path(s.json_out)
    return s


# ---- The plan: each cell's iodepth and fio arguments --------------------------------------

def parse_cell(suite, cell_id):
    """The parts of a cell id, or an error saying what ids look like."""
    if suite == "qd":
        m = QD_CELL.fullmatch(cell_id)
        if not m:
            die(f"'{cell_id}' is not a qd cell id (like rand_read_qd32/direct/io_uring; "
                "`iodepth suite qd --list` prints them)")
        kind, qd, mode, backend = m.groups()
        return {"id": cell_id, "kind": kind, "op": "read", "qd": int(qd), "mode": mode, "backend": backend}
    m = PATTERN_CELL.fullmatch(cell_id)
    if not m:
        die(f"'{cell_id}' is not an io_patterns cell id (like rand_read/direct/syncpath; "
            "`iodepth suite io_patterns --list` prints them)")
    kind, op, mode = m.groups()
    return {"id": cell_id, "kind": kind, "op": op, "qd": 1, "mode": mode, "backend": "syncpath"}


def iodepth_args(suite, cell):
    """Flags that make `iodepth suite` run exactly this cell, whatever its depth and mode."""
    args = ["--only", cell["id"], "--modes", cell["mode"]]
    if suite == "qd":
        args += ["--depths", str(cell["qd"]), "--backends", cell["backend"]]
    return args


def worker_job(cell, engine, size_bytes):
    """(fio arguments, file bytes per job, notes) of a worker cell: N psync threads."""
    jobs = min(cell["qd"], MAX_WORKER_THREADS)
    args = [f"--ioengine={engine}", f"--numjobs={jobs}", "--thread", "--group_reporting"]
    notes = [WORKER_NOTE]
    if cell["qd"] > MAX_WORKER_THREADS:
        notes.append(f"{cell['id']}: iodepth runs at most {MAX_WORKER_THREADS} worker threads, so fio "
                     f"runs {MAX_WORKER_THREADS} jobs")
    size = size_bytes
    if cell["kind"] == "seq":
        size = size_bytes // jobs // SEQ_SLICE_ALIGN_BYTES * SEQ_SLICE_ALIGN_BYTES
        if size == 0:
            die(f"{cell['id']}: --size {size_bytes} is too small to give each of {jobs} fio jobs "
                "a slice of at least 1 MiB")
        args.append(f"--offset_increment={size}")
        notes.append(SEQ_WORKER_NOTE)
    return args, size, notes


def fio_job(cell, size_bytes):
    """(fio arguments, engine whose uncached=1 needs a probe or "", notes) for a read cell."""
    direct = cell["mode"] == "direct"
    args = ["--rw=" + ("read" if cell["kind"] == "seq" else "randread")]
    if cell["kind"] == "rand":
        args.append("--norandommap")
    # Buffered: the run drops the file's pages just before fio (plan "cold"); invalidate=0
    # keeps fio from dropping them again at each wrap of a time_based sequential job.
    args += [f"--direct={int(direct)}"] + ([] if direct else ["--invalidate=0"])
    notes = [] if direct else [BUFFERED_NOTE]
    sync_engine = "pvsync2" if cell["mode"] == "dontcache" else "psync"  # uncached needs preadv2.
    size = size_bytes
    if cell["backend"] == "io_uring":
        engine = "io_uring"
        args += ["--ioengine=io_uring", f"--iodepth={cell['qd']}"]
        notes.append(URING_NOTE)
    elif cell["backend"] == "worker":
        engine = sync_engine
        worker_args, size, worker_notes = worker_job(cell, engine, size_bytes)
        args += worker_args
        notes += worker_notes
    else:
        engine = sync_engine
        args += [f"--ioengine={engine}", "--iodepth=1"]
    args.insert(0, f"--size={size}")
    if cell["mode"] == "dontcache":
        args.append("--uncached=1")
    return args, (engine if cell["mode"] == "dontcache" else ""), notes


def plan(suite, cells_text, size_bytes):
    """One entry per --cells id, in order: its iodepth and fio arguments, or why it is skipped."""
    cells = [c.strip() for c in cells_text.split(",") if c.strip()]
    if not cells:
        die("--cells names no cell")
    duplicates = sorted({c for c in cells if cells.count(c) > 1})
    if duplicates:
        die(f"--cells names {', '.join(duplicates)} more than once")
    planned = []
    for index, cell_id in enumerate(cells):
        cell = parse_cell(suite, cell_id)
        skip, probe, fio_args, notes = "", "", [], []
        if cell["op"] == "write":
            skip = WRITE_SKIP
        else:
            fio_args, probe, notes = fio_job(cell, size_bytes)
        planned.append({"index": index, "id": cell_id, "skip": skip, "probe": probe,
                        "cold": cell["mode"] != "direct", "qd": cell["qd"],
                        "iodepth_args": iodepth_args(suite, cell), "fio_args": fio_args, "notes": notes})
    return planned


def check_cells_exist(planned, suite, iodepth_bin):
    """Asks iodepth whether each id is one of its cells."""
    for p in planned:
        command = [iodepth_bin, "suite", suite, "--list", *p["iodepth_args"]]
        done = common.run_process(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        listed = done.stdout.rstrip("\n")
        if done.returncode != 0:
            die(f"'{p['id']}' is not a cell of suite {suite} ({common.command_text(command)} said: {listed})")
        if p["id"] not in listed.split("\n"):
            die(f"'{p['id']}' is not a cell of suite {suite}; `iodepth suite {suite} --list` prints the ids")


# ---- Checking one run ---------------------------------------------------------------------

def iodepth_cell(path, cell_id):
    """(document, the one cell) of one `iodepth suite --only CELL --repetitions 1` run."""
    what = f"iodepth {cell_id} ({path})"
    document = common.load_json(path, what)
    if document.get("schema") != "iodepth-results":
        die(f"{what}: not an iodepth results file (its \"schema\" is {document.get('schema')!r})")
    cells = common.get(document, ["cells"], what)
    if not isinstance(cells, list) or [c.get("id") for c in cells] != [cell_id]:
        found = [c.get("id") for c in cells] if isinstance(cells, list) else cells
        die(f"{what}: expected exactly the cell {cell_id}, found {found}")
    cell = cells[0]
    if cell.get("status") == "unsupported":
        return document, cell
    if cell.get("status") != "ok":
        die(f"{what}: the cell's status is {cell.get('status')!r}: {cell.get('reason') or '(no reason)'}")
    reps = common.get(cell, ["repetitions"], what)
    if not isinstance(reps, list) or len(reps) != 1:
        die(f"{what}: expected one repetition, found {len(reps) if isinstance(reps, list) else reps!r}")
    if common.number(reps[0], ["total_ios"], what) <= 0 or common.number(reps[0], ["iops"], what) <= 0:
        die(f"{what}: completed no I/O")
    for field in (["clat_ns", "percentile", P95], ["cpu_ns_per_io"], ["bw_bytes"]):
        common.number(reps[0], field, what)
    common.number(cell, ["bs"], what)
    return document, cell


def fio_metrics(path, what):
    """The numbers of one fio run (one job, or one group with group_reporting)."""
    document = common.load_json(path, what)
    jobs = common.get(document, ["jobs"], what)
    if not isinstance(jobs, list) or len(jobs) != 1:
        die(f"{what}: expected one job (or one group) in ['jobs'], found "
            f"{len(jobs) if isinstance(jobs, list) else repr(jobs)}")
    job = jobs[0]
    if common.get(job, ["error"], what) != 0:
        die(f"{what}: fio reports error {job['error']} for the job")
    clat = ["read", "clat_ns", "percentile"]
    fields = {"iops": ["read", "iops"], "bw_bytes": ["read", "bw_bytes"], "total_ios": ["read", "total_ios"],
              "clat_ns_mean": ["read", "clat_ns", "mean"], "clat_ns_p50": clat + ["50.000000"],
              "clat_ns_p95": clat + [P95], "clat_ns_p99": clat + ["99.000000"],
              "lat_ns_p95": ["read", "lat_ns", "percentile", P95], "lat_ns_mean": ["read", "lat_ns", "mean"],
              "io_bytes": ["read", "io_bytes"], "usr_cpu": ["usr_cpu"],
              "sys_cpu": ["sys_cpu"], "job_runtime_ms": ["job_runtime"]}
    metrics = {name: common.number(job, field, what) for name, field in fields.items()}
    if metrics["total_ios"] <= 0 or metrics["iops"] <= 0:
        die(f"{what}: completed no I/O (total_ios={metrics['total_ios']}, iops={metrics['iops']})")
    # usr_cpu and sys_cpu are percent of job_runtime (ms), summed over the group's jobs,
    # in the window after ramp_time.
    busy_ms = (metrics["usr_cpu"] + metrics["sys_cpu"]) / 100.0 * metrics["job_runtime_ms"]
    metrics["cpu_ns_per_io"] = busy_ms * 1e6 / metrics["total_ios"]
    return metrics


# ---- Merging the runs into one results file -----------------------------------------------

MODE_ORDER = ("buffered", "direct", "dontcache")  # The order `iodepth suite` lists them in.
BACKEND_ORDER = ("io_uring", "worker", "sync")
# What iodepth's runs must agree on to be merged: the pooling rule of report/results.py, and
# the file, since every run reads the same one.
CONFIG_MUST_AGREE = ("filename",) + POOLED_SETTINGS


def median(values):
    """The median of fio's runs (iodepth's cells are summarised by iodepth itself)."""
    return statistics.median([float(v) for v in values])


def cv(values):
    """Sample standard deviation / mean of fio's runs; 0 with fewer than two or a zero mean."""
    values = [float(v) for v in values]
    mean = statistics.fmean(values) if values else 0.0
    return statistics.stdev(values) / mean if len(values) >= 2 and mean else 0.0


def union(lists, order=()):
    """Every value of the lists once: those named in `order` first, in its order, then the
    others as first seen (the sort is stable)."""
    out = []
    for values in lists:
        out += [v for v in values if v not in out]
    return sorted(out, key=lambda v: order.index(v) if v in order else len(order))


def merged_config(documents, cells, seeds, skipped, fio_version, repeat):
    """The first run's config, widened to every cell the runs covered."""
    config = copy.deepcopy(documents[0]["config"])
    for key in CONFIG_MUST_AGREE:
        values = {json.dumps(d["config"].get(key)) for d in documents}
        if len(values) > 1:
            die(f"iodepth's runs disagree on config {key!r} ({', '.join(sorted(values))}); cannot merge them")
    config["depths"] = sorted(union(d["config"].get("depths", []) for d in documents))
    config["modes"] = union((d["config"].get("modes", []) for d in documents), MODE_ORDER)
    config["backends"] = union((d["config"].get("backends", []) for d in documents), BACKEND_ORDER)
    config["only"] = [c["id"] for c in cells]
    config["repetitions"] = repeat
    config["seed"] = documents[0]["config"].get("seed")  # The first run's; each run's below.
    config["fio_crosscheck"] = {
        "script": "fio.crosscheck", "fio_version": fio_version, "repeat": repeat,
        "order": "per repetition, each cell through iodepth then at once through fio",
        "randseeds": seeds, "skipped": skipped,
    }
    return config


def merge_iodepth(planned, runs, summarise):
    """(merged cells in --cells order, documents in run order, {cell id: seeds})."""
    by_index, documents, seeds = {}, [], {}
    for run in (r for r in runs if r["tool"] == "iodepth"):
        cell_id = planned[run["index"]]["id"]
        document, cell = iodepth_cell(run["path"], cell_id)
        documents.append(document)
        seeds.setdefault(cell_id, []).append(run["seed"])
        if run["index"] not in by_index:
            by_index[run["index"]] = copy.deepcopy(cell)
        else:
            by_index[run["index"]]["repetitions"] += cell["repetitions"]
    if not documents:
        die("no iodepth run finished; nothing to merge")
    cells = [by_index[i] for i in sorted(by_index)]
    summarised = iter(summarise([c for c in cells if c["status"] == "ok"]))
    return [next(summarised) if c["status"] == "ok" else c for c in cells], documents, seeds


def ratio(ours, theirs):
    return ours / theirs if theirs else None


def fio_depth(m):
    """fio's achieved depth by Little's law: IOPS x mean total latency (submit to completion)."""
    return m["iops"] * m["lat_ns_mean"] / 1e9


def fio_repetition(m, qd, window_ms):
    """One fio run as a repetition record of the results schema, for `iodepth summarise` to
    flag fio's runs by SummariseCell's rules. Only what those rules read is fio's (IOPS and
    its cv, Little's-law depth, resident_before, the device's bytes, scaled from the whole
    run to the measured window: an estimate); fields fio does not report are zeros, and the
    summary's other figures are not used."""
    depth = fio_depth(m)
    device = None
    if m.get("device") and window_ms[0]:
        scale = window_ms[0] / (window_ms[0] + window_ms[1])
        device = dict(m["device"], kind="device",
                      **{k: int(m["device"][k] * scale) for k in ("read_bytes", "write_bytes")})
    cpu_ns = {k: int(m[k] / 100.0 * m["job_runtime_ms"] * 1e6) for k in ("usr_cpu", "sys_cpu")}
    return {"iops": m["iops"], "bw_bytes": m["bw_bytes"], "total_ios": int(m["total_ios"]),
            "io_bytes": int(m["io_bytes"]), "runtime_ns": int(m["job_runtime_ms"] * 1e6),
            "clat_ns": {"min": 0, "max": int(m["clat_ns_p99"]), "mean": m["clat_ns_mean"], "N": int(m["total_ios"]),
                        "percentile": {"50.000000": int(m["clat_ns_p50"]), P95: int(m["clat_ns_p95"]),
                                       "99.000000": int(m["clat_ns_p99"])}},
            "usr_cpu_ns": cpu_ns["usr_cpu"], "sys_cpu_ns": cpu_ns["sys_cpu"], "cpu_ns_per_io": m["cpu_ns_per_io"],
            "depth": {"target": qd, "mean_in_flight": depth, "utilization": depth / qd if qd else 0.0,
                      "littles_law": depth, "submit_calls": 0, "submitted": 0, "reap_calls": 0, "reaped": 0,
                      "avg_submit_batch": 0.0, "avg_reap_batch": 0.0, "resubmits": 0, "refills_short": 0},
            "resident_before": m["resident_before"], "verified_bytes": 0, "buffer": None, "scan": None,
            "memory": None, "device": device}


def fio_cell(cell, reps, qd, window_ms=(1000, 0)):
    """fio's runs as a cell like iodepth's (same id, mode and cache state), to be summarised."""
    out = {k: copy.deepcopy(v) for k, v in cell.items() if k not in ("median", "cv", "flags", "repetitions")}
    out["repetitions"] = [fio_repetition(r, qd, window_ms) for r in reps]
    return out


def device_share_iodepth(cell):
    """Bytes the device read / bytes the cell requested, the median of iodepth's runs; None
    where the device was not read (no block device) or nothing was requested."""
    device = cell["median"].get("device")
    if not device or not device.get("requested_bytes"):
        return None
    return device["read_bytes"] / device["requested_bytes"]


def device_share_fio(reps, runtime_ms, ramp_time_ms):
    """The same for fio, median of its runs. The device's counters are read around the whole
    fio process (ramp included), fio's io_bytes only over the measured window, so the bytes
    requested are io_bytes scaled to the whole run's time: an estimate."""
    shares = []
    for r in reps:
        if not r.get("device") or not r["io_bytes"] or not runtime_ms:
            continue
        requested = r["io_bytes"] * (runtime_ms + ramp_time_ms) / runtime_ms
        shares.append(r["device"]["read_bytes"] / requested)
    return median(shares) if shares else None


def within(value, bounds):
    return value is not None and bounds[0] <= value <= bounds[1]


def verdict(iops_ratio, mode, iodepth_flags, fio_flags, depths, device_share):
    """(agrees, cause): agrees is whether iodepth/fio IOPS is within AGREEMENT (None without a
    ratio); cause, for a disagreement, is every known difference between the two sides ("; "
    between them), or None when none is known."""
    if iops_ratio is None:
        return None, None
    if within(iops_ratio, AGREEMENT):
        return True, None
    causes = []
    cached = {side: [f for f in flags if f in SERVED_FROM_CACHE_FLAGS]
              for side, flags in (("iodepth", iodepth_flags), ("fio", fio_flags))}
    if cached["iodepth"] and cached["fio"]:
        causes.append(f"both sides were served from memory (iodepth: {', '.join(cached['iodepth'])}; fio: "
                      f"{', '.join(cached['fio'])}), so they compare page-cache copies, not the device")
    else:
        causes += [f"{side}'s runs were served from memory ({', '.join(flags)})" for side, flags in cached.items()
                   if flags]
    shares = (device_share["iodepth"], device_share["fio"])
    if mode != "direct" and None not in shares and abs(shares[0] - shares[1]) > DEVICE_SHARE_GAP:
        causes.append(f"buffered served from the page cache differently: the device read {shares[0]:.0%} of the "
                      f"bytes iodepth requested, about {shares[1]:.0%} of fio's")
    if None not in (depths["iodepth"], depths["fio"]) and depths["fio"] > 0 and \
            not within(depths["iodepth"] / depths["fio"], AGREEMENT):
        causes.append(f"fio and iodepth at different achieved depth (Little's law: iodepth "
                      f"{depths['iodepth']:.3g}, fio {depths['fio']:.3g})")
    for side, flags in (("iodepth", iodepth_flags), ("fio", fio_flags)):
        if "cv_high" in flags:
            causes.append(f"cv_high on {side}'s side (its IOPS varies between runs)")
    return False, "; ".join(causes) or None


def crosscheck_entry(cell, fio_runs, plan_cell, fio_version, fio_summary, window_ms):
    """One "fio_crosscheck" element: fio's medians, each of its runs, iodepth/fio, the cache
    state each side started in, and the verdict. fio_summary: fio's runs as a cell, summarised
    by `iodepth summarise` (its flags); window_ms: (runtime, ramp_time) of every run."""
    reps = [dict(m, command=command) for m, command in fio_runs]
    fio = {
        "iops": median(r["iops"] for r in reps),
        "clat_ns_p95": int(median(r["clat_ns_p95"] for r in reps)),
        "cpu_ns_per_io": median(r["cpu_ns_per_io"] for r in reps),
        "cv": {"iops": cv(r["iops"] for r in reps)},
        "job": " ".join(plan_cell["fio_args"]),
        "fio_version": fio_version,
        "notes": plan_cell["notes"],
        "flags": list(fio_summary.get("flags") or []),
        "repetitions": reps,
    }
    ours = {"iops": cell["median"]["iops"], "clat_ns_p95": cell["median"]["clat_ns"]["percentile"][P95],
            "cpu_ns_per_io": cell["median"]["cpu_ns_per_io"]}
    ratios = {k: ratio(ours[k], fio[k]) for k in ours}
    depths = {"iodepth": cell["median"]["depth"]["littles_law"], "fio": median(fio_depth(r) for r in reps)}
    share = {"iodepth": device_share_iodepth(cell), "fio": device_share_fio(reps, *window_ms)}
    agrees, cause = verdict(ratios["iops"], cell["mode"], cell.get("flags") or [], fio["flags"], depths, share)
    return {"cell": cell["id"], "fio": fio, "ratio": ratios,
            "cache_state": {"iodepth": cell["cache_state"], "fio": "cold" if plan_cell["cold"] else "n/a"},
            "depth": depths, "device_read_share": share, "agrees": agrees, "cause": cause}


def cache_state_mismatch(cell, plan_cell):
    """Why iodepth's runs of a cell did not start in the state fio's start in, or ""."""
    if plan_cell["cold"] and cell.get("cache_state") != "cold":
        return (f"iodepth's runs started {cell.get('cache_state')!r}, fio's start cold: unlike cache states "
                "are not compared")
    return ""


def build_document(planned, runs, skips, summarise, fio_version, command, repeat, window_ms=(1000, 0)):
    """(the results document, {cell id: why it was skipped}). runs: every run in the order
    it ran, {"tool", "index", "rep", "path", "seed", "command"}, and for fio runs
    "resident_before" and "device" where they were measured; skips: {index: reason};
    window_ms: (runtime, ramp_time) of every run."""
    skips = dict(skips)
    cells, documents, seeds = merge_iodepth(planned, runs, summarise)
    fio_runs = {}
    for run in (r for r in runs if r["tool"] == "fio"):
        what = f"fio {planned[run['index']]['id']} run {run['rep']}"
        m = dict(fio_metrics(run["path"], what), resident_before=run.get("resident_before", -1.0),
                 device=run.get("device"))
        fio_runs.setdefault(run["index"], []).append((m, run["command"]))
    index_of = {p["id"]: p["index"] for p in planned}
    compared = []
    for cell in cells:
        index = index_of[cell["id"]]
        mismatch = cache_state_mismatch(cell, planned[index]) if cell["status"] == "ok" else ""
        if cell["status"] != "ok":
            skips[index] = f"iodepth reports it {cell['status']}: {cell.get('reason', '')}"
        elif mismatch:
            skips[index] = mismatch
        elif index in fio_runs:
            compared.append((cell, index))
    fio_summaries = summarise([fio_cell(cell, [m for m, _ in fio_runs[index]], planned[index]["qd"], window_ms)
                               for cell, index in compared]) if compared else []
    checks = [crosscheck_entry(cell, fio_runs[index], planned[index], fio_version, summary, window_ms)
              for (cell, index), summary in zip(compared, fio_summaries)]
    skipped = {planned[i]["id"]: reason for i, reason in sorted(skips.items())}
    versions = {d.get("iodepth_version") for d in documents}
    if len(versions) > 1:
        die(f"iodepth's runs report different versions {sorted(map(str, versions))}; cannot merge them")
    document = copy.deepcopy(documents[0])
    document["command"] = command
    document["config"] = merged_config(documents, cells, seeds, skipped, fio_version, repeat)
    document["cells"] = cells
    document["fio_crosscheck"] = checks
    return document, skipped


# ---- The table ----------------------------------------------------------------------------

def show(value, spec, scale=1.0, suffix=""):
    return "-" if value is None else format(value / scale, spec) + suffix


def table_rows(document):
    cells = {c["id"]: c for c in document["cells"]}
    rows = []
    for check in document["fio_crosscheck"]:
        cell, fio, r = cells[check["cell"]], check["fio"], check["ratio"]
        m = cell["median"]
        rows.append([
            check["cell"], show(m["iops"], ",.0f"), show(fio["iops"], ",.0f"), show(r["iops"], ".3f", suffix="x"),
            show(m["clat_ns"]["percentile"][P95], ".1f", 1e3), show(fio["clat_ns_p95"], ".1f", 1e3),
            show(r["clat_ns_p95"], ".3f", suffix="x"), show(m["cpu_ns_per_io"], ".2f", 1e3),
            show(fio["cpu_ns_per_io"], ".2f", 1e3), show(r["cpu_ns_per_io"], ".3f", suffix="x"),
            {True: "yes", False: "NO", None: "-"}[check.get("agrees")], ",".join(fio.get("flags") or []) or "-",
            ",".join(cell.get("flags") or []) or "-",
        ])
    return rows


def print_table(document, repeat):
    header = ["cell", "iodepth IOPS", "fio IOPS", "IOPS ratio", "iodepth p95 µs", "fio p95 µs",
              "p95 ratio", "iodepth CPU µs/IO", "fio CPU µs/IO", "CPU ratio", "agrees", "fio flags",
              "iodepth flags"]
    print(f"Results ({'median of %d runs' % repeat if repeat > 1 else 'one run each'}; "
          "ratios are iodepth/fio; p95 is of completion latency; agrees: IOPS ratio within "
          f"[{AGREEMENT[0]:.2f}, {AGREEMENT[1]:.2f}]):")
    print("\n".join(common.table_lines(header, table_rows(document))))


def print_spread(document, repeat):
    cells = {c["id"]: c for c in document["cells"]}
    print(f"\nIOPS over {repeat} runs, min .. max (cv):")
    for check in document["fio_crosscheck"]:
        cell = cells[check["cell"]]
        for tool, values, spread in (("iodepth", [r["iops"] for r in cell["repetitions"]], cell["cv"]["iops"]),
                                     ("fio", [r["iops"] for r in check["fio"]["repetitions"]],
                                      check["fio"]["cv"]["iops"])):
            print(f"  {tool:8} {check['cell']:36} {min(values):>12,.0f} .. {max(values):,.0f} "
                  f"({spread:.1%})")


def print_footnotes(document, skipped, repeat):
    cells = {c["id"]: c for c in document["cells"]}
    print("\nfio job of each cell (besides the options every job shares; see the module's docstring):")
    for check in document["fio_crosscheck"]:
        print(f"  {check['cell']}: {check['fio']['job']}")
        if check.get("cache_state", {}).get("fio") == "cold":
            print(f"    started cold on both sides (iodepth: {check['cache_state']['iodepth']}, "
                  f"fio: {check['cache_state']['fio']}; pages dropped just before each fio run)")
        if "--ioengine=io_uring" in check["fio"]["job"]:
            lat = median(r["lat_ns_p95"] for r in check["fio"]["repetitions"])
            ours = cells[check["cell"]]["median"]["clat_ns"]["percentile"][P95]
            print(f"    iodepth p95 / fio total-latency (lat) p95 = {show(ratio(ours, lat), '.3f', suffix='x')} "
                  f"(fio lat p95 {lat / 1e3:.1f} µs)")
    disagreeing = [c for c in document["fio_crosscheck"] if c.get("agrees") is False]
    if disagreeing:
        print(f"\nOutside [{AGREEMENT[0]:.2f}, {AGREEMENT[1]:.2f}] of fio's IOPS:")
        for check in disagreeing:
            print(textwrap.fill(f"{check['ratio']['iops']:.3f}x: {check['cause'] or 'cause not known'}", width=100,
                                initial_indent=f"  {check['cell']}: ", subsequent_indent="    "))
    if repeat > 1:
        print_spread(document, repeat)
    notes = []
    for check in document["fio_crosscheck"]:
        notes += [n for n in check["fio"]["notes"] if n not in notes]
    print()
    for note in notes + [CPU_NOTE]:
        print(textwrap.fill(note, width=100, initial_indent="note: ", subsequent_indent="  "))
    for cell_id, reason in skipped.items():
        print(textwrap.fill(reason, width=100, initial_indent=f"skipped {cell_id}: ", subsequent_indent="  "))


# ---- The run ------------------------------------------------------------------------------

class CrossCheck:
    """One cross-check: the plan, the tools, and every run so far, in the order they ran."""

    def __init__(self, settings, tools, data, work, planned):
        self.s, self.tools, self.data, self.work, self.planned = settings, tools, data, work, planned
        self.skips = {p["index"]: p["skip"] for p in planned if p["skip"]}  # {index: why not run}
        self.unsupported = set()  # Indexes of the cells iodepth reported it cannot run here.
        self.bs = {}    # {index: the cell's request size, from its first iodepth run}
        self.runs = []  # {"tool", "index", "rep", "path", "seed", "command"} (+ fio's cache and device)
        self.device_name = ""  # The block device under the file, as iodepth's runs name it.
        self.steps = common.Steps(total=self.total_steps(), verbose=settings.verbose,
                                  routine_stderr=SUITE_ROUTINE_STDERR)

    def runnable(self):
        return [p for p in self.planned if p["index"] not in self.skips and p["index"] not in self.unsupported]

    def total_steps(self):
        return 1 + 2 * len(self.runnable()) * self.s.repeat + int(self.s.make_report)

    def skipped_lines(self):
        return [f"  skipping:  {self.planned[i]['id']} ({reason})" for i, reason in sorted(self.skips.items())]

    def prepare_file(self):
        """iodepth makes and fills its data file when missing (64 unmeasured reads do that and
        show that the binary works), so the fio probe and the first measured run find it
        ready, with no writeback of a fresh file under way."""
        s, work = self.s, self.work
        args = ["--only", "rand_read/buffered/syncpath", "--modes", "buffered"]
        if s.suite == "qd":
            args = ["--only", "rand_read_qd1/buffered/sync", "--depths", "1", "--modes", "buffered",
                    "--backends", "sync"]
        self.steps.run(f"prepare {s.filename} with iodepth", os.path.join(work, "prepare.out"), [
            self.tools.iodepth_bin, "suite", s.suite, "--filename", s.filename, "--size", str(s.size_bytes),
            *args, "--number_ios", "64", "--ramp_time", "0ms", "--repetitions", "1",
            "--json", os.path.join(work, "prepare.json"), "--csv", os.path.join(work, "prepare.csv")])
        common.check_data_file(self.data, s.size_bytes, s.size_text, "iodepth suite")

    def probe_uncached(self, engine):
        """Why fio's uncached=1 reads do not work with ENGINE on this kernel and file, or "".
        fio's uncached option predates the kernel's RWF_DONTCACHE: fio 3.33 sends flag 0x40,
        which mainline Linux gave to RWF_ATOMIC (6.11, writes only), so its reads fail with
        EOPNOTSUPP; a fio that sends the real flag passes, and then must leave the pages it
        read out of the page cache."""
        s, out = self.s, os.path.join(self.work, f"probe_{engine}.json")
        command = ["fio", "--name=probe", f"--filename={s.filename}", f"--size={s.size_bytes}", "--rw=randread",
                   "--bs=4k", f"--ioengine={engine}", "--direct=0", "--uncached=1", "--number_ios=64",
                   "--readonly", "--allow_file_create=0", "--invalidate=1", "--output-format=json"]
        print(f"[probe] does fio uncached=1 work with ioengine={engine}?\n  $ {common.command_text(command)}")
        with open(out, "w") as stdout, open(out + ".stderr", "w") as stderr:
            rc = common.run_process(command, stdout=stdout, stderr=stderr).returncode
        failure = ""
        if rc != 0:
            with open(out + ".stderr", encoding="utf-8", errors="replace") as f:
                first = f.readline().rstrip("\n")
            failure = (f"fio's uncached=1 fails with ioengine={engine} here ({first}); fio 3.33 sends "
                       "RWF_UNCACHED as 0x40, a value mainline Linux gave to RWF_ATOMIC (writes only), while "
                       "iodepth's dontcache uses RWF_DONTCACHE (0x80), so fio has no equivalent job")
        elif shutil.which("fincore"):
            done = common.run_process(["fincore", "--bytes", "--noheadings", "--output", "RES", "--", s.filename],
                                      capture_output=True, text=True)
            cached = common.whole_number(done.stdout.replace(" ", "").strip()) if done.returncode == 0 else None
            if cached:
                failure = (f"fio's uncached=1 reads with ioengine={engine} left {cached} bytes of the file in "
                           "the page cache, so they are not RWF_DONTCACHE reads")
        print(f"  {failure or 'works'}")
        return failure

    def probe_cold_start(self):
        """Why the file's pages cannot be dropped before fio's runs here, or ""."""
        try:
            common.drop_file_cache(self.s.filename)
        except OSError as e:
            return (f"the file's pages cannot be dropped before fio ({e.strerror}), so fio cannot start cold "
                    "as iodepth's buffered cells do")
        return ""

    def probe_cells(self):
        """Runs each probe a cell needs once, and skips the cells whose probe failed: fio's
        uncached=1 for dontcache cells, dropping the file's pages for every cold cell."""
        failures = {}
        cold_failure = self.probe_cold_start() if any(p["cold"] for p in self.runnable()) else ""
        for p in self.runnable():
            if p["cold"] and cold_failure:
                self.skips[p["index"]] = cold_failure
                continue
            engine = p["probe"]
            if not engine:
                continue
            if engine not in failures:
                failures[engine] = self.probe_uncached(engine)
            if failures[engine]:
                self.skips[p["index"]] = failures[engine]
        self.steps.total = self.total_steps()

    def record(self, tool, p, rep, out, seed):
        self.runs.append({"tool": tool, "index": p["index"], "rep": rep, "path": out, "seed": seed,
                          "command": self.steps.last_command})

    def run_iodepth(self, p, rep):
        """One repetition of one cell; whether iodepth could run it here. A fresh seed per
        run: the suite's default seed is fixed, so every run would read the offsets the
        previous one read."""
        s, out, seed = self.s, os.path.join(self.work, f"iodepth_cell{p['index']}_r{rep}"), common.fresh_seed()
        self.steps.run(f"iodepth {p['id']} (run {rep} of {s.repeat})", out + ".out", [
            self.tools.iodepth_bin, "suite", s.suite, "--filename", s.filename, "--size", str(s.size_bytes),
            *p["iodepth_args"], "--runtime", f"{s.runtime_ms}ms", "--ramp_time", f"{s.ramp_time_ms}ms",
            "--repetitions", "1", "--randseed", str(seed), "--json", out + ".json", "--csv", out + ".csv"])
        try:
            _, cell = iodepth_cell(out + ".json", p["id"])
        except common.FioError as e:
            die(f"{e}\n  command: {self.steps.last_command}")
        self.record("iodepth", p, rep, out + ".json", seed)
        if cell["status"] == "unsupported":
            print(f"  note: iodepth reports {p['id']} unsupported: {cell.get('reason', '')}", file=sys.stderr)
            return False
        self.bs[p["index"]] = int(cell["bs"])
        device = cell["repetitions"][0].get("device") or {}
        if device.get("kind", "device") != "memory":
            self.device_name = device.get("name", "")
        return True

    def run_fio(self, p, rep):
        """The cell's fio job (its own options come from the plan; the docstring says why each
        common one is there). --percentile_list names the percentiles read back;
        --lat_percentiles=1 also keeps fio's total latency (slat + clat), which is the span
        iodepth's clat covers for io_uring cells."""
        s, out = self.s, os.path.join(self.work, f"fio_cell{p['index']}_r{rep}.json")
        resident = -1.0  # As iodepth writes it where the cell does not depend on the cache.
        if p["cold"]:
            try:
                common.drop_file_cache(s.filename)
            except OSError as e:
                die(f"cannot drop {s.filename}'s pages before fio {p['id']}: {e.strerror}")
            measured = common.resident_fraction(s.filename, s.size_bytes)
            resident = -1.0 if measured is None else measured
        before = common.block_device_counters(self.device_name)
        self.steps.run(f"fio {p['id']} (run {rep} of {s.repeat})", out, [
            "fio", "--name=crosscheck", f"--filename={s.filename}", *p["fio_args"], f"--bs={self.bs[p['index']]}",
            "--time_based", f"--runtime={s.runtime_ms}ms", f"--ramp_time={s.ramp_time_ms}ms", "--readonly",
            "--allow_file_create=0", "--randrepeat=0", "--fadvise_hint=0", "--percentile_list=50:95:99",
            "--clat_percentiles=1", "--lat_percentiles=1", "--output-format=json"])
        try:
            fio_metrics(out, f"fio {p['id']} run {rep}")
        except common.FioError as e:
            die(f"{e}\n  command: {self.steps.last_command}")
        self.record("fio", p, rep, out, None)
        self.runs[-1].update(resident_before=resident,
                             device=common.device_counters_between(before,
                                                                   common.block_device_counters(self.device_name)))

    def run_cells(self):
        for rep in range(1, self.s.repeat + 1):
            for p in self.runnable():
                if not self.run_iodepth(p, rep):
                    # iodepth cannot run it here: nothing to compare, now or in later repetitions.
                    self.unsupported.add(p["index"])
                    self.steps.total -= 1 + 2 * (self.s.repeat - rep)
                    continue
                self.run_fio(p, rep)
        print()

    def merge(self, command):
        document, skipped = build_document(
            self.planned, self.runs, self.skips,
            lambda cells: summarise_with_iodepth(self.tools.iodepth_bin, cells),
            self.tools.fio_version, command, self.s.repeat, (self.s.runtime_ms, self.s.ramp_time_ms))
        if document["fio_crosscheck"]:
            print_table(document, self.s.repeat)
        else:
            print("No cell was compared with fio.")
        print_footnotes(document, skipped, self.s.repeat)
        write_document(self.s.json_out, document)

    def make_report(self):
        out = os.path.join(self.work, "report.out")
        self.steps.run("iodepth report", out, [self.tools.iodepth_bin, "report", self.s.json_out])
        with open(out, encoding="utf-8", errors="replace") as f:
            text = f.read()
        if text:
            print(common.indented(text, "  "))


def print_header(check, env):
    s = check.s
    estimate_s = 2 * len(check.runnable()) * s.repeat * ((s.runtime_ms + s.ramp_time_ms) // 1000 + 1) + 5
    print(f"iodepth vs fio cross-check: suite {s.suite}, {len(check.planned)} cells, {s.repeat} repetitions")
    print(f"  file:      {s.filename} ({'existing' if check.data.existed else 'to be created by iodepth'})")
    print(f"  size:      {s.size_text} = {s.size_bytes} bytes")
    print("\n".join(common.environment_lines(env, check.tools)))
    print(f"  per run:   runtime {s.runtime_ms}ms + ramp_time {s.ramp_time_ms}ms; about {estimate_s}s in all")
    print(f"  results:   {s.json_out}")
    for line in check.skipped_lines():
        print(line)
    print()


def main(argv):
    command = common.shell_words(["/usr/bin/python3", "-m", "fio.crosscheck", *argv])
    flags = common.parse_flags(argv, VALUE_FLAGS, SWITCHES)
    if "--help" in flags:
        print(USAGE, end="")
        return 0
    settings = settings_from_flags(flags)
    tools = common.check_tools()
    data = common.check_file_path(settings.filename, settings.keep, DEFAULT_FILENAME)
    work = common.make_work_dir("fio_crosscheck")
    try:
        planned = plan(settings.suite, settings.cells_text, settings.size_bytes)
        check_cells_exist(planned, settings.suite, tools.iodepth_bin)
        check = CrossCheck(settings, tools, data, work, planned)
        if not check.runnable():
            die("none of --cells can be compared with fio:\n" + "\n".join(check.skipped_lines()))
        if any("--ioengine=io_uring" in p["fio_args"] for p in check.runnable()):
            common.require_fio_engine("io_uring", tools.fio_version)
        print_header(check, common.describe_environment(data.path, data.directory))
        check.prepare_file()
        check.probe_cells()
        check.run_cells()
        check.merge(command)
        if settings.make_report:
            check.make_report()
        print(f"\n{data.fate()}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        data.remove_if_ours()
    return 0


if __name__ == "__main__":
    sys.exit(common.run_main(main))
