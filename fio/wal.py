"""fio.wal: compares the write path with fio in one interleaved run, and prints the ratios.

  wal_commit_qd1 (one committer)  against  fio --rw=write --bs=4k --fdatasync=1 --ioengine=psync
      iodepth wal --committers=1 --record-bytes=128 --direct=D --sync=fdatasync: each commit
      appends a 128-byte record and makes it durable (the log rewrites its 4 KiB tail block
      in place and fdatasyncs it); fio writes a new 4 KiB block and fdatasyncs after each.
      Both pay one write and one fdatasync per commit. Figures: commits/s against fio's
      write IOPS, and the commit's p99 latency (append to durable) against fio's write
      completion p99 plus its fdatasync p99 (fio times the two apart).
  checkpoint_qd{N}                 against  fio --rw=randwrite --bs=<page> --iodepth=N
                                             --ioengine=io_uring --fdatasync=<D>
      `iodepth suite write --only checkpoint_qdN/<mode>/io_uring --repetitions 1`: D dirty
      pages written by the buffer pool's checkpoint at depth N, then fdatasync of the table;
      fio writes random pages of the same size at the same depth and fdatasyncs every D
      writes. Figures: pages/s (iodepth's counts the checkpoints' time, fdatasync included;
      fio's its whole run, fdatasyncs included) and write completion p99. iodepth's reader
      thread beside the checkpoint is switched off here (fio has none).

Both buffered (direct=0) and direct (direct=1). Every job writes a file of its own in a
scratch directory under --directory (fio's a new one each run, iodepth's log a directory
of its own, the checkpoint's table made by iodepth for the purpose), removed at the end,
Ctrl-C included; free space is checked first. Order: iodepth then fio, --repeat times
interleaved, so drift lands on both alike; each figure is the median of its runs and the
ratio is iodepth median / fio median. Informational: the exit status is 0 whenever every
command ran and its JSON parsed.

Run from the repository root: /usr/bin/python3 -m fio.wal [options] (--help lists them).
"""

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

USAGE = """\
Usage: /usr/bin/python3 -m fio.wal [options]

Runs the log's commit path (iodepth wal, one committer) against fio writing 4 KiB with an
fdatasync after each, and a checkpoint (iodepth suite write, checkpoint_qdN) against fio's
random page writes at depth N with an fdatasync every D writes; buffered and direct,
interleaved, and prints the median of each and their ratio.

Options (--opt=value and --opt value both work):
  --runtime=TIME    measured time per run, fio's syntax (default: 2s)
  --repeat=N        run each tool N times, interleaved; report medians (default: 3)
  --depth=N         the checkpoint's write depth (default: 16)
  --memory=SIZE     the checkpoint's buffer pool; D = half its pages (default: 64m)
  --directory=DIR   where the scratch directory goes (default: $IODEPTH_TMPDIR or /var/tmp)
  --verbose         also show each command's stdout (the raw JSON)
  -h, --help        this text

Environment:
  IODEPTH_BIN       iodepth binary to use (default: build/release/cli/iodepth in the
                    repository, else iodepth on PATH)
"""

VALUE_FLAGS = ("--runtime", "--repeat", "--depth", "--memory", "--directory")
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
    verbose: bool = False

    @property
    def dirty_pages(self):
        return self.memory_bytes // PAGE_BYTES // 2


def parse_runtime_ms(text):
    """fio-style durations: 500ms, 2s, 1m; a bare number is seconds. None if malformed."""
    for suffix, scale in (("ms", 1), ("s", 1000), ("m", 60_000)):
        if text.endswith(suffix):
            number = common.whole_number(text[:-len(suffix)])
            return None if number is None else number * scale
    number = common.whole_number(text)
    return None if number is None else number * 1000


def settings_from_flags(flags):
    """Settings from parse_flags' answer, or an error naming the flag that is wrong."""
    s = Settings(runtime=flags.get("--runtime", "2s"), memory_text=flags.get("--memory", "64m"),
                 verbose="--verbose" in flags,
                 directory=flags.get("--directory", os.environ.get("IODEPTH_TMPDIR") or "/var/tmp"))
    s.runtime_ms = parse_runtime_ms(s.runtime)
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


def fio_p99_ns(section, what):
    percentiles = common.get(section, ["clat_ns", "percentile"], what) if "clat_ns" in section else \
        common.get(section, ["lat_ns", "percentile"], what)
    return float(percentiles.get("99.000000", 0))


def iodepth_wal_metrics(document, what):
    runs = document.get("wal")
    run = runs[0] if isinstance(runs, list) and runs else None
    if not isinstance(run, dict):
        die(f"{what}: its JSON has no ['wal'][0]")
    return {"rate": fnumber(run, ["commits_per_s"], what),
            "p99_us": fnumber(run, ["latency_us", "p99"], what),
            "per_flush": fnumber(run, ["commits_per_flush"], what)}


def fio_wal_metrics(document, what):
    job = fio_job(document, what)
    write = common.get(job, ["write"], what)
    sync = job.get("sync") if isinstance(job.get("sync"), dict) else {}
    sync_p99 = fio_p99_ns(sync, what) if sync.get("lat_ns") else 0.0
    return {"rate": fnumber(write, ["iops"], what), "p99_us": (fio_p99_ns(write, what) + sync_p99) / 1e3,
            "per_flush": 1.0}


def iodepth_checkpoint_metrics(document, what):
    cells = document.get("cells")
    cell = cells[0] if isinstance(cells, list) and len(cells) == 1 else None
    if not isinstance(cell, dict) or cell.get("status") != "ok":
        die(f"{what}: expected one measured checkpoint cell, got {cell and cell.get('status')!r}")
    median = common.get(cell, ["median"], what)
    return {"rate": fnumber(median, ["iops"], what),
            "p99_us": fnumber(median, ["clat_ns", "percentile", "99.000000"], what) / 1e3, "per_flush": 0.0}


def fio_checkpoint_metrics(document, what):
    job = fio_job(document, what)
    write = common.get(job, ["write"], what)
    return {"rate": fnumber(write, ["iops"], what), "p99_us": fio_p99_ns(write, what) / 1e3, "per_flush": 0.0}


# ---- The table ----------------------------------------------------------------------------

def medians(runs):
    return {key: statistics.median(r[key] for r in runs) for key in ("rate", "p99_us")}


def comparison_rows(results):
    """results: {(job, mode): {"iodepth": [metrics], "fio": [metrics]}} -> printable rows and
    the ratios, in the order the jobs ran."""
    rows, ratios = [], {}
    for (job, mode), sides in results.items():
        ours, theirs = medians(sides["iodepth"]), medians(sides["fio"])
        ratio = ours["rate"] / theirs["rate"] if theirs["rate"] > 0 else float("nan")
        p99_ratio = ours["p99_us"] / theirs["p99_us"] if theirs["p99_us"] > 0 else float("nan")
        ratios[(job, mode)] = {"rate": ratio, "p99": p99_ratio}
        rows.append([job, mode, f"{ours['rate']:.0f}", f"{theirs['rate']:.0f}", f"{ratio:.2f}x",
                     f"{ours['p99_us']:.0f}", f"{theirs['p99_us']:.0f}", f"{p99_ratio:.2f}x"])
    return rows, ratios


def report(results, fio_version, repeat):
    rows, ratios = comparison_rows(results)
    print(f"Medians of {repeat} interleaved run{'s' if repeat > 1 else ''} (iodepth vs {fio_version}; "
          "rate = commits/s or pages/s):")
    header = ["job", "mode", "iodepth rate", "fio rate", "ratio", "iodepth p99 us", "fio p99 us", "p99 ratio"]
    print("\n".join(common.table_lines(header, rows)))
    return ratios


# ---- The run ------------------------------------------------------------------------------

class WalComparison:
    def __init__(self, settings, tools, work, scratch):
        self.s, self.tools, self.work, self.scratch = settings, tools, work, scratch
        self.steps = common.Steps(total=8 * settings.repeat, verbose=settings.verbose)
        self.results = {}
        self.table = os.path.join(scratch, "checkpoint.tbl")

    def record(self, key, tool, metrics):
        self.results.setdefault(key, {"iodepth": [], "fio": []})[tool].append(metrics)

    def remove_fio_file(self):
        path = os.path.join(self.scratch, "fio.dat")
        if os.path.lexists(path):
            os.remove(path)

    def run_wal(self, rep, direct):
        mode = "direct" if direct else "buffered"
        out = os.path.join(self.work, f"wal_{mode}_r{rep}.json")
        self.steps.run(f"iodepth wal, {mode} (run {rep} of {self.s.repeat})", out, [
            self.tools.iodepth_bin, "wal", f"--directory={self.scratch}", "--committers=1",
            f"--record-bytes={RECORD_BYTES}", f"--direct={int(direct)}", "--sync=fdatasync",
            f"--runtime={self.s.runtime}", "--ramp_time=200ms", "--output-format=json"])
        self.record(("wal_commit_qd1", mode), "iodepth", iodepth_wal_metrics(common.load_json(out, "iodepth wal"),
                                                                             "iodepth wal"))
        out = os.path.join(self.work, f"fio_wal_{mode}_r{rep}.json")
        self.remove_fio_file()
        self.steps.run(f"fio write + fdatasync, {mode} (run {rep} of {self.s.repeat})", out, [
            "fio", "--name=wal", f"--filename={os.path.join(self.scratch, 'fio.dat')}", "--rw=write",
            f"--bs={LOG_BLOCK_BYTES}", "--fdatasync=1", f"--direct={int(direct)}", "--ioengine=psync",
            f"--size={FIO_LOG_FILE_BYTES}", "--time_based", f"--runtime={self.s.runtime}", "--ramp_time=200ms",
            "--output-format=json"])
        self.record(("wal_commit_qd1", mode), "fio", fio_wal_metrics(common.load_json(out, "fio"), "fio"))
        self.remove_fio_file()

    def run_checkpoint(self, rep, direct):
        mode = "direct" if direct else "buffered"
        job = f"checkpoint_qd{self.s.depth}"
        out = os.path.join(self.work, f"ckpt_{mode}_r{rep}.json")
        self.steps.run(f"iodepth checkpoint, {mode} (run {rep} of {self.s.repeat})", out + ".stdout", [
            self.tools.iodepth_bin, "suite", "write", f"--filename={self.table}", f"--memory={self.s.memory_bytes}",
            f"--depths={self.s.depth}", "--backends=io_uring", f"--modes={mode}", f"--only={job}/{mode}/io_uring",
            "--repetitions=1", f"--runtime={self.s.runtime}", "--ramp_time=200ms", "--checkpoint-reader=0",
            f"--json={out}", f"--csv={out}.csv"])
        self.record((job, mode), "iodepth", iodepth_checkpoint_metrics(common.load_json(out, "iodepth suite"),
                                                                        "iodepth suite"))
        out = os.path.join(self.work, f"fio_ckpt_{mode}_r{rep}.json")
        self.remove_fio_file()
        size = 4 * self.s.memory_bytes  # The table's data: 4 x the pool.
        self.steps.run(f"fio random page writes + fdatasync, {mode} (run {rep} of {self.s.repeat})", out, [
            "fio", "--name=checkpoint", f"--filename={os.path.join(self.scratch, 'fio.dat')}", "--rw=randwrite",
            f"--bs={PAGE_BYTES}", f"--iodepth={self.s.depth}", "--ioengine=io_uring", f"--direct={int(direct)}",
            f"--fdatasync={self.s.dirty_pages}", f"--size={size}", "--norandommap", "--time_based",
            f"--runtime={self.s.runtime}", "--ramp_time=200ms", "--output-format=json"])
        self.record((job, mode), "fio", fio_checkpoint_metrics(common.load_json(out, "fio"), "fio"))
        self.remove_fio_file()

    def run_jobs(self):
        for rep in range(1, self.s.repeat + 1):
            for direct in (False, True):
                self.run_wal(rep, direct)
        for rep in range(1, self.s.repeat + 1):
            for direct in (False, True):
                self.run_checkpoint(rep, direct)
        print()


def main(argv):
    flags = common.parse_flags(argv, VALUE_FLAGS, SWITCHES)
    if "--help" in flags:
        print(USAGE, end="")
        return 0
    settings = settings_from_flags(flags)
    tools = common.check_tools()
    common.require_fio_engine("io_uring", tools.fio_version)
    # The checkpoint's table (4 x the pool, plus a trailer page) or fio's file of the same
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
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(common.run_main(main))
