"""fio.wal: compares the write path with fio in one interleaved run, prints the ratios and, with
--json, writes them as an iodepth results file that `python3 -m report` shows.

  wal_commit_qd1 (one committer)  against  fio --rw=write --bs=4k --fdatasync=1 --ioengine=psync
      `iodepth suite write --only wal_commit_qd1/<mode>/io_uring/fdatasync --repetitions 1`
      (the `iodepth wal` job with one committer, --record-bytes=128): each commit appends a
      128-byte record and makes it durable (the log rewrites its 4 KiB tail block in place and
      fdatasyncs it); fio writes a new 4 KiB block and fdatasyncs after each. Both pay one
      write and one fdatasync per commit. Figures: commits/s against fio's write IOPS, and the
      commit's latency (append to durable) against fio's write completion latency plus its
      fdatasync latency (fio times the two apart), percentile by percentile.
  checkpoint_qd{N}                 against  fio --rw=randwrite --bs=<page> --iodepth=N
                                             --ioengine=io_uring --fdatasync=<D>
      `iodepth suite write --only checkpoint_qdN/<mode>/io_uring --repetitions 1`: D dirty
      pages written by the buffer pool's checkpoint at depth N, then fdatasync of the table;
      fio writes random pages of the same size at the same depth and fdatasyncs every D
      writes. Figures: pages/s (iodepth's counts the checkpoints' time, fdatasync included;
      fio's its whole run, fdatasyncs included) and write completion latency. iodepth's reader
      thread beside the checkpoint is switched off here (fio has none).

Both buffered (direct=0) and direct (direct=1). Every job writes a file of its own in a
scratch directory under --directory (fio's a new one each run, iodepth's log a directory
of its own beside the write suite's table, made by iodepth for the purpose), removed at the
end, Ctrl-C included; free space is checked first. Order: iodepth then fio, --repeat times
interleaved, so drift lands on both alike; each figure is the median of its runs and the
ratio is iodepth median / fio median. Informational: the exit status is 0 whenever every
command ran and its JSON parsed.

--json FILE writes one results file (docs/BENCHMARKS.md, "Results file"): the four iodepth
cells, each with its runs' repetitions summarised by `iodepth summarise` (SummariseCell, the
one summariser), and a "fio_crosscheck" entry per cell with fio's medians (IOPS, p95 and p99
latency, CPU per I/O), iodepth/fio ratios and notes on what differs; agreement is not judged.

Run from the repository root: /usr/bin/python3 -m fio.wal [options] (--help lists them).
"""

import copy
import dataclasses
import os
import shutil
import statistics
import sys

from . import common
from .common import die

LOG_BLOCK_BYTES = 4096
RECORD_BYTES = 128
FIO_LOG_FILE_BYTES = 64 << 20
MAX_REPEAT = 99
PAGE_BYTES = 8192
MODES = ("buffered", "direct")
# The figures set side by side, by the names of the results schema's fio_crosscheck entries.
FIGURES = ("iops", "clat_ns_p95", "clat_ns_p99", "cpu_ns_per_io")
WAL_NOTE = ("wal_commit_qd1 against fio write + fdatasync (psync, 4 KiB): both pay one write and one "
            "fdatasync per commit, but the log rewrites its tail block in place where fio writes a new "
            "block each time; fio's latency is its write's plus its fdatasync's (fio times them apart), "
            "iodepth's the commit's, Append to Commit's return.")
CHECKPOINT_NOTE = ("checkpoint_qdN against fio random page writes at depth N with an fdatasync every D "
                   "writes: iodepth's pages/s count the checkpoints' time, fdatasync included, fio's its "
                   "whole run; iodepth's reader is off (--checkpoint-reader=0), and its CPU per page counts "
                   "the whole process, the dirtying of the pages between checkpoints included.")

USAGE = """\
Usage: /usr/bin/python3 -m fio.wal [options]

Runs the log's commit path (iodepth's wal_commit_qd1 cell, one committer) against fio writing
4 KiB with an fdatasync after each, and a checkpoint (checkpoint_qdN) against fio's random page
writes at depth N with an fdatasync every D writes; buffered and direct, interleaved, and
prints the median of each and their ratio.

Options (--opt=value and --opt value both work):
  --runtime=TIME    measured time per run, fio's syntax (default: 2s)
  --repeat=N        run each tool N times, interleaved; report medians (default: 3)
  --depth=N         the checkpoint's write depth (default: 16)
  --memory=SIZE     the checkpoint's buffer pool; D = half its pages (default: 64m)
  --directory=DIR   where the scratch directory goes (default: $IODEPTH_TMPDIR or /var/tmp)
  --json=FILE       also write the cells and fio's figures beside them as an iodepth results
                    file, which `python3 -m report FILE` shows in its fio cross-check
  --verbose         also show each command's stdout (the raw JSON)
  -h, --help        this text

Environment:
  IODEPTH_BIN       iodepth binary to use (default: build/release/cli/iodepth in the
                    repository, else iodepth on PATH)
"""

VALUE_FLAGS = ("--runtime", "--repeat", "--depth", "--memory", "--directory", "--json")
SWITCHES = {"-h": "--help", "--help": "--help", "--verbose": "--verbose", "-v": "--verbose"}


@dataclasses.dataclass
class Settings:
    runtime: str = "2s"
    runtime_ms: int = 2000
    repeat: int = 3
    depth: int = 16
    memory_text: str = "64m"
    memory_bytes: int = 64 << 20
    directory: str = "/var/tmp"
    json_out: str = ""
    verbose: bool = False

    @property
    def dirty_pages(self):
        return self.memory_bytes // PAGE_BYTES // 2


def settings_from_flags(flags):
    """Settings from parse_flags' answer, or an error naming the flag that is wrong."""
    s = Settings(runtime=flags.get("--runtime", "2s"), memory_text=flags.get("--memory", "64m"),
                 verbose="--verbose" in flags, json_out=flags.get("--json", ""),
                 directory=flags.get("--directory", os.environ.get("IODEPTH_TMPDIR") or "/var/tmp"))
    s.runtime_ms = common.parse_duration_ms(s.runtime)
    if not s.runtime_ms:
        die(f"--runtime '{s.runtime}' is not a duration like 500ms, 2s or 1m")
    for flag, attr, low, high in (("--repeat", "repeat", 1, MAX_REPEAT), ("--depth", "depth", 1, 4096)):
        text = flags.get(flag, str(getattr(s, attr)))
        value = common.whole_number(text)
        if value is None or not low <= value <= high:
            die(f"{flag} must be a whole number from {low} to {high}, got '{text}'")
        setattr(s, attr, value)
    s.memory_bytes = common.parse_size_bytes(s.memory_text)
    if s.memory_bytes is None or s.memory_bytes < 16 * PAGE_BYTES:
        die(f"--memory '{s.memory_text}' is not a size of at least 128k like 64m or 1g")
    if not (os.path.isdir(s.directory) and os.access(s.directory, os.W_OK)):
        die(f"--directory '{s.directory}' does not exist or is not writable")
    if s.json_out:
        common.check_json_path(s.json_out)  # Now, not after every run.
    return s


# ---- One run's JSON -----------------------------------------------------------------------

def fnumber(document, path, what):
    return float(common.number(document, path, what))


def fio_job(document, what):
    jobs = document.get("jobs")
    job = jobs[0] if isinstance(jobs, list) and jobs else None
    if not isinstance(job, dict):
        die(f"{what}: its JSON has no ['jobs'][0]")
    if job.get("error", 0) != 0:
        die(f"{what}: fio reports error {job['error']} for the job")
    return job


def fio_percentile_ns(section, pct, what):
    """A percentile of a fio direction's completion latency (clat_ns; lat_ns where fio gives
    only that, as for its syncs); 0 where fio left it out."""
    latency = "clat_ns" if "clat_ns" in section else "lat_ns"
    return float(common.get(section, [latency, "percentile"], what).get(f"{pct:.6f}", 0))


def fio_wal_metrics(document, what):
    """fio's figures of one write + fdatasync run: the commit's latency faces the sum of the
    write's and the sync's, percentile by percentile."""
    job = fio_job(document, what)
    write = common.get(job, ["write"], what)
    sync = job.get("sync")
    sections = [write] + ([sync] if isinstance(sync, dict) and sync.get("lat_ns") else [])
    latency_ns = {pct: sum(fio_percentile_ns(section, pct, what) for section in sections) for pct in (95, 99)}
    return {"iops": fnumber(write, ["iops"], what), "clat_ns_p95": latency_ns[95], "clat_ns_p99": latency_ns[99],
            "cpu_ns_per_io": common.fio_cpu_ns_per_io(job, "write", what)}


def fio_checkpoint_metrics(document, what):
    job = fio_job(document, what)
    write = common.get(job, ["write"], what)
    return {"iops": fnumber(write, ["iops"], what), "clat_ns_p95": fio_percentile_ns(write, 95, what),
            "clat_ns_p99": fio_percentile_ns(write, 99, what),
            "cpu_ns_per_io": common.fio_cpu_ns_per_io(job, "write", what)}


def iodepth_cell(document, what):
    """The one measured cell of an `iodepth suite write --only CELL --repetitions 1` run."""
    cells = document.get("cells")
    cell = cells[0] if isinstance(cells, list) and len(cells) == 1 else None
    if not isinstance(cell, dict) or cell.get("status") != "ok":
        die(f"{what}: expected one measured cell, got {cell and cell.get('status')!r}")
    return cell


def iodepth_metrics(cell, what):
    """FIGURES of a cell, from its median (one repetition's figures, or SummariseCell's)."""
    median = common.get(cell, ["median"], what)
    percentile = ["clat_ns", "percentile"]
    return {"iops": fnumber(median, ["iops"], what), "clat_ns_p95": fnumber(median, percentile + ["95.000000"], what),
            "clat_ns_p99": fnumber(median, percentile + ["99.000000"], what),
            "cpu_ns_per_io": fnumber(median, ["cpu_ns_per_io"], what)}


# ---- The table ----------------------------------------------------------------------------

def medians(runs):
    return {key: statistics.median(r[key] for r in runs) for key in FIGURES}


def ratio(ours, theirs):
    return ours / theirs if theirs > 0 else float("nan")


def comparison_rows(results):
    """results: {(job, mode): {"iodepth": [metrics], "fio": [metrics], ...}} -> printable rows
    and the ratios, in the order the jobs ran."""
    rows, ratios = [], {}
    for (job, mode), sides in results.items():
        ours, theirs = medians(sides["iodepth"]), medians(sides["fio"])
        rate, p99 = ratio(ours["iops"], theirs["iops"]), ratio(ours["clat_ns_p99"], theirs["clat_ns_p99"])
        ratios[(job, mode)] = {"rate": rate, "p99": p99}
        rows.append([job, mode, f"{ours['iops']:.0f}", f"{theirs['iops']:.0f}", f"{rate:.2f}x",
                     f"{ours['clat_ns_p99'] / 1e3:.0f}", f"{theirs['clat_ns_p99'] / 1e3:.0f}", f"{p99:.2f}x"])
    return rows, ratios


def report(results, fio_version, repeat):
    rows, ratios = comparison_rows(results)
    print(f"Medians of {repeat} interleaved run{'s' if repeat > 1 else ''} (iodepth vs {fio_version}; "
          "rate = commits/s or pages/s):")
    header = ["job", "mode", "iodepth rate", "fio rate", "ratio", "iodepth p99 us", "fio p99 us", "p99 ratio"]
    print("\n".join(common.table_lines(header, rows)))
    return ratios


# ---- The results file ---------------------------------------------------------------------

def merged_cell(sides):
    """The first run's cell with the repetitions of every run, in the order they ran."""
    cell = copy.deepcopy(sides["cells"][0])
    cell["repetitions"] = [rep for c in sides["cells"] for rep in c["repetitions"]]
    return cell


def fio_entry(cell, sides, fio_version):
    """The "fio_crosscheck" entry of one cell: fio's medians, iodepth/fio of each figure (the
    summarised cell's median over fio's), what fio ran and what differs."""
    theirs = medians(sides["fio"])
    ours = iodepth_metrics(cell, f"iodepth summarise {cell['id']}")
    fio = dict({k: theirs[k] for k in ("iops", "cpu_ns_per_io")},
               clat_ns_p95=int(theirs["clat_ns_p95"]), clat_ns_p99=int(theirs["clat_ns_p99"]),
               job=sides["job"], fio_version=fio_version, notes=[sides["note"]])
    return {"cell": cell["id"], "fio": fio, "agrees": None, "cause": None,
            "ratio": {k: ours[k] / theirs[k] if theirs[k] > 0 else None for k in FIGURES}}


def merged_config(config, cells, settings, fio_version):
    """The first run's config, widened to every cell of the file, with how fio.wal ran."""
    config = copy.deepcopy(config)
    config["depths"] = sorted({c["qd"] for c in cells})
    config["modes"] = [m for m in MODES if any(c["mode"] == m for c in cells)]
    config["only"] = [c["id"] for c in cells]
    config["repetitions"] = settings.repeat
    config["fio_wal"] = {"script": "fio.wal", "fio_version": fio_version, "repeat": settings.repeat,
                         "order": "each repetition of wal_commit_qd1, then of checkpoint_qdN; buffered then "
                                  "direct; each run through iodepth, then at once through fio",
                         "checkpoint_depth": settings.depth, "dirty_pages": settings.dirty_pages}
    return config


def build_document(results, summarise, settings, fio_version, command):
    """The results file: the first iodepth run's document holding every cell, each merged over
    its runs and summarised by `summarise` (iodepth's), and fio's figures beside them."""
    sides = list(results.values())
    cells = summarise([merged_cell(s) for s in sides])
    document = copy.deepcopy(sides[0]["documents"][0])
    document["command"] = command
    document["config"] = merged_config(document["config"], cells, settings, fio_version)
    document["cells"] = cells
    document["fio_crosscheck"] = [fio_entry(cell, s, fio_version) for cell, s in zip(cells, sides)]
    return document


# ---- The run ------------------------------------------------------------------------------

class WalComparison:
    def __init__(self, settings, tools, work, scratch):
        self.s, self.tools, self.work, self.scratch = settings, tools, work, scratch
        self.steps = common.Steps(total=8 * settings.repeat, verbose=settings.verbose)
        self.results = {}
        self.table = os.path.join(scratch, "checkpoint.tbl")

    def sides(self, job, mode, fio_args, note):
        return self.results.setdefault((job, mode), {"iodepth": [], "fio": [], "cells": [], "documents": [],
                                                     "job": " ".join(fio_args), "note": note})

    def remove_fio_file(self):
        path = os.path.join(self.scratch, "fio.dat")
        if os.path.lexists(path):
            os.remove(path)

    def run_iodepth(self, label, sides, cell_id, depth, mode, out):
        """One repetition of one cell of the write suite, on the scratch directory's table."""
        self.steps.run(label, out + ".stdout", [
            self.tools.iodepth_bin, "suite", "write", f"--filename={self.table}", f"--memory={self.s.memory_bytes}",
            f"--depths={depth}", "--backends=io_uring", f"--modes={mode}", f"--only={cell_id}",
            f"--record-bytes={RECORD_BYTES}", "--repetitions=1", f"--runtime={self.s.runtime}",
            "--ramp_time=200ms", "--checkpoint-reader=0", f"--json={out}", f"--csv={out}.csv"])
        document = common.load_json(out, "iodepth suite")
        cell = iodepth_cell(document, "iodepth suite")
        sides["iodepth"].append(iodepth_metrics(cell, "iodepth suite"))
        sides["cells"].append(cell)
        sides["documents"].append(document)

    def run_fio(self, label, name, fio_args, out):
        """One fio run on a new file of its own; returns its JSON."""
        self.remove_fio_file()
        self.steps.run(label, out, ["fio", f"--name={name}", f"--filename={os.path.join(self.scratch, 'fio.dat')}",
                                    *fio_args, "--time_based", f"--runtime={self.s.runtime}", "--ramp_time=200ms",
                                    "--output-format=json"])
        document = common.load_json(out, "fio")
        self.remove_fio_file()
        return document

    def run_wal(self, rep, mode):
        fio_args = ["--rw=write", f"--bs={LOG_BLOCK_BYTES}", "--fdatasync=1",
                    f"--direct={int(mode == 'direct')}", "--ioengine=psync", f"--size={FIO_LOG_FILE_BYTES}"]
        sides = self.sides("wal_commit_qd1", mode, fio_args, WAL_NOTE)
        self.run_iodepth(f"iodepth wal_commit_qd1, {mode} (run {rep} of {self.s.repeat})", sides,
                         f"wal_commit_qd1/{mode}/io_uring/fdatasync", 1, mode,
                         os.path.join(self.work, f"wal_{mode}_r{rep}.json"))
        document = self.run_fio(f"fio write + fdatasync, {mode} (run {rep} of {self.s.repeat})", "wal", fio_args,
                                os.path.join(self.work, f"fio_wal_{mode}_r{rep}.json"))
        sides["fio"].append(fio_wal_metrics(document, "fio"))

    def run_checkpoint(self, rep, mode):
        job = f"checkpoint_qd{self.s.depth}"
        fio_args = ["--rw=randwrite", f"--bs={PAGE_BYTES}", f"--iodepth={self.s.depth}",
                    "--ioengine=io_uring", f"--direct={int(mode == 'direct')}", f"--fdatasync={self.s.dirty_pages}",
                    f"--size={4 * self.s.memory_bytes}", "--norandommap"]  # The table's data: 4 x the pool.
        sides = self.sides(job, mode, fio_args, CHECKPOINT_NOTE)
        self.run_iodepth(f"iodepth checkpoint, {mode} (run {rep} of {self.s.repeat})", sides,
                         f"{job}/{mode}/io_uring", self.s.depth, mode,
                         os.path.join(self.work, f"ckpt_{mode}_r{rep}.json"))
        document = self.run_fio(f"fio random page writes + fdatasync, {mode} (run {rep} of {self.s.repeat})",
                                "checkpoint", fio_args, os.path.join(self.work, f"fio_ckpt_{mode}_r{rep}.json"))
        sides["fio"].append(fio_checkpoint_metrics(document, "fio"))

    def run_jobs(self):
        for rep in range(1, self.s.repeat + 1):
            for mode in MODES:
                self.run_wal(rep, mode)
        for rep in range(1, self.s.repeat + 1):
            for mode in MODES:
                self.run_checkpoint(rep, mode)
        print()

    def write_results(self, fio_version, command):
        document = build_document(self.results, lambda cells: common.summarise_with_iodepth(
            self.tools.iodepth_bin, cells), self.s, fio_version, command)
        common.write_document(self.s.json_out, document)


def main(argv):
    command = common.shell_words(["/usr/bin/python3", "-m", "fio.wal", *argv])
    flags = common.parse_flags(argv, VALUE_FLAGS, SWITCHES)
    if "--help" in flags:
        print(USAGE, end="")
        return 0
    settings = settings_from_flags(flags)
    tools = common.check_tools()
    common.require_fio_engine("io_uring", tools.fio_version)
    # The write suite's table (4 x the pool, plus a trailer page) or fio's file of the same
    # size, and a log segment or fio's log file: never both of a kind at once.
    need = 4 * settings.memory_bytes + PAGE_BYTES + FIO_LOG_FILE_BYTES
    common.check_free_space(settings.directory, need, f"{need} bytes")
    work = common.make_work_dir("fio_wal")
    scratch = os.path.join(os.path.abspath(settings.directory), f"iodepth-fio-wal-{os.getpid()}")
    os.makedirs(scratch)
    try:
        comparison = WalComparison(settings, tools, work, scratch)
        print(f"iodepth's write path vs fio: wal_commit_qd1 ({RECORD_BYTES}-byte records, 4 KiB blocks) and "
              f"checkpoint_qd{settings.depth} ({settings.dirty_pages} pages of {PAGE_BYTES} bytes), buffered and "
              f"direct, {settings.runtime} runs, scratch directory {scratch}")
        print("\n".join(common.environment_lines(common.describe_environment(scratch, scratch), tools)) + "\n")
        comparison.run_jobs()
        report(comparison.results, tools.fio_version, settings.repeat)
        if settings.json_out:
            comparison.write_results(tools.fio_version, command)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(common.run_main(main))
