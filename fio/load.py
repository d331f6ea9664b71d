"""fio.load: compares `iodepth load` (the bulk table loader, storage/heap_table.h) with fio
writing the same number of bytes sequentially, in one run, and prints how far apart they
are. The requirement is that loading a table runs at >= 0.8x the device's sequential write
bandwidth as fio measures it.

Jobs (one job, one fresh file each, O_DIRECT, io_uring, 16 writes of 128 KiB in flight):

  iodepth load --size=N --direct=1 --ioengine=io_uring --iodepth=16 --bs=128k
    fills 8 KiB heap pages with deterministic rows, seals them (CRC32C), writes them
    through the async queue, then fdatasyncs; MiB/s = bytes / (open .. fdatasync done).
    Its bytes are N plus the table's 8 KiB trailer page.
  fio --rw=write --bs=128k --iodepth=16 --direct=1 --ioengine=io_uring --size=N
      --end_fsync=1
    writes a buffer it refills cheaply, then fsyncs; fio counts the end fsync in the
    job's runtime, so both sides pay for durability. MiB/s = write bw_bytes / 2^20.

Both files are removed before every run (outside either tool's timing), so each run writes
a new file: the loader never pays for truncating the previous table (on a filesystem
mounted with `discard`, freeing 1 GiB of extents can take a quarter of a second), and fio
lays its file out before it starts its clock. The loader's own open, fallocate and
fdatasync stay inside its time.

Order: iodepth then fio, --repeat times interleaved (A B A B ...) so slow drift in the
device (SSD garbage collection, a noisy neighbour VM) lands on both alike. Each figure is
the median of its runs; the ratio is iodepth median / fio median. The verdict is
informational: the exit status is 0 whenever every command ran and its JSON parsed, and
non-zero only on errors (which name the failed command). Every temporary file (both data
files and the scratch directory) is removed on exit, Ctrl-C included.

Run from the repository root: /usr/bin/python3 -m fio.load [options] (--help lists them).
"""

import dataclasses
import os
import shutil
import statistics
import sys

from . import common
from .common import die

BLOCK_SIZE_BYTES = 128 * 1024  # --bs of both tools; a whole number of 8 KiB pages.
IODEPTH = 16
TARGET_RATIO = 0.8
MAX_REPEAT = 99  # Bounds the run time: each repeat writes --size twice.

USAGE = f"""\
Usage: /usr/bin/python3 -m fio.load [options]

Runs `iodepth load` (a table of deterministic rows in 8 KiB pages) and an fio
sequential write of the same size (bs 128k, iodepth 16, O_DIRECT, io_uring, end_fsync=1),
interleaved, and prints the median MiB/s of each and their ratio.
Target: iodepth load >= {TARGET_RATIO}x fio (informational).

Options (--opt=value and --opt value both work):
  --size=SIZE       bytes each tool writes, a multiple of 128 KiB; k/m/g/t are powers
                    of 1024 as in fio (default: 1g)
  --repeat=N        run each tool N times, interleaved; report medians (default: 3)
  --directory=DIR   where the two temporary files go (default: $IODEPTH_TMPDIR or
                    /var/tmp; not /tmp, often tmpfs)
  --verbose         also show each command's stdout (the raw JSON)
  -h, --help        this text

Environment:
  IODEPTH_BIN       iodepth binary to use (default: build/release/cli/iodepth in the
                    repository, else iodepth on PATH)

Every command is printed before it runs. Both temporary files are removed at the end.
Exit status: 0 when every run finished and its output parsed (even below target),
non-zero on any error.
"""

VALUE_FLAGS = ("--size", "--repeat", "--directory")
SWITCHES = {"-h": "--help", "--help": "--help", "--verbose": "--verbose", "-v": "--verbose"}


@dataclasses.dataclass
class Settings:
    size_text: str = "1g"
    size_bytes: int = 1 << 30
    repeat: int = 3
    directory: str = "/var/tmp"
    verbose: bool = False


def settings_from_flags(flags):
    """Settings from parse_flags' answer, or an error naming the flag that is wrong."""
    s = Settings(size_text=flags.get("--size", "1g"), verbose="--verbose" in flags,
                 directory=flags.get("--directory", os.environ.get("IODEPTH_TMPDIR") or "/var/tmp"))
    repeat_text = flags.get("--repeat", "3")
    s.repeat = common.whole_number(repeat_text)
    if s.repeat is None or not 1 <= s.repeat <= MAX_REPEAT:
        die(f"--repeat must be a whole number from 1 to {MAX_REPEAT}, got '{repeat_text}'")
    s.size_bytes = common.parse_size_bytes(s.size_text)
    if s.size_bytes is None:
        die(f"--size '{s.size_text}' is not a size like 1g, 512m or 4096")
    if s.size_bytes < BLOCK_SIZE_BYTES or s.size_bytes % BLOCK_SIZE_BYTES:
        die(f"--size must be a whole number of 128 KiB writes (so both tools write the same bytes), got "
            f"'{s.size_text}' = {s.size_bytes} bytes")
    if not (os.path.isdir(s.directory) and os.access(s.directory, os.W_OK)):
        die(f"--directory '{s.directory}' does not exist or is not writable")
    return s


# ---- One run's JSON -----------------------------------------------------------------------

def fnumber(document, path, what):
    return float(common.number(document, path, what))


def iodepth_metrics(document, what, size_bytes):
    if document.get("backend") != "io_uring":
        die(f"{what}: asked for --ioengine=io_uring but its JSON says backend {document.get('backend')!r}")
    if document.get("direct") is not True:
        die(f"{what}: asked for --direct=1 but its JSON says direct: {document.get('direct')!r}")
    # The table's pages fill --size; its trailer page (storage/heap_table.h) comes on top.
    expected = size_bytes + fnumber(document, ["page_size"], what)
    written = fnumber(document, ["bytes"], what)
    if written != expected:
        die(f"{what}: wrote {written:.0f} bytes, expected {expected:.0f} (--size and the trailer page)")
    elapsed_s = fnumber(document, ["elapsed_ns"], what) / 1e9
    cpu_s = (fnumber(document, ["cpu_user_ns"], what) + fnumber(document, ["cpu_system_ns"], what)) / 1e9
    return {"mib_per_s": fnumber(document, ["mib_per_s"], what), "elapsed_s": elapsed_s,
            "cpu_s": cpu_s, "cpu_cores": cpu_s / elapsed_s if elapsed_s > 0 else 0.0}


def fio_metrics(document, what, size_bytes):
    jobs = document.get("jobs")
    job = jobs[0] if isinstance(jobs, list) and jobs else None
    if not isinstance(job, dict):
        die(f"{what}: its JSON has no ['jobs'][0]")
    if job.get("error", 0) != 0:
        die(f"{what}: fio reports error {job['error']} for the job")
    written = fnumber(job, ["write", "io_bytes"], what)
    if written != size_bytes:
        die(f"{what}: wrote {written:.0f} bytes, expected {size_bytes}")
    elapsed_s = fnumber(job, ["job_runtime"], what) / 1e3
    # usr_cpu and sys_cpu are percent of job_runtime.
    cpu_s = (fnumber(job, ["usr_cpu"], what) + fnumber(job, ["sys_cpu"], what)) / 100.0 * elapsed_s
    return {"mib_per_s": fnumber(job, ["write", "bw_bytes"], what) / 2**20, "elapsed_s": elapsed_s,
            "cpu_s": cpu_s, "cpu_cores": cpu_s / elapsed_s if elapsed_s > 0 else 0.0}


def run_metrics(tool, rep, path, size_bytes):
    what = f"{tool} run {rep}"
    document = common.load_json(path, what)
    if tool == "fio":
        return fio_metrics(document, what, size_bytes)
    return iodepth_metrics(document, what, size_bytes)


# ---- The table ----------------------------------------------------------------------------

def report(runs, fio_version):
    """runs: {"iodepth": [(rep, metrics)], "fio": [(rep, metrics)]}, in the order they ran."""
    print(f"Runs (MiB/s; elapsed; process CPU time in cores busy, iodepth load vs {fio_version}):")
    print(f"  {'run':>3}  {'iodepth MiB/s':>13} {'s':>6} {'cores':>5}   {'fio MiB/s':>9} {'s':>6} {'cores':>5}")
    for (rep, a), (_, b) in zip(runs["iodepth"], runs["fio"]):
        print(f"  {rep:>3}  {a['mib_per_s']:>13.1f} {a['elapsed_s']:>6.3f} {a['cpu_cores']:>5.2f}"
              f"   {b['mib_per_s']:>9.1f} {b['elapsed_s']:>6.3f} {b['cpu_cores']:>5.2f}")
    median = {tool: statistics.median(m["mib_per_s"] for _, m in rs) for tool, rs in runs.items()}
    spread = {tool: (min(m["mib_per_s"] for _, m in rs), max(m["mib_per_s"] for _, m in rs))
              for tool, rs in runs.items()}
    ratio = median["iodepth"] / median["fio"]
    count = len(runs["iodepth"])
    print(f"\nMedian of {count} run{'s' if count > 1 else ''}:")
    print(f"  iodepth load  {median['iodepth']:8.1f} MiB/s  "
          f"(range {spread['iodepth'][0]:.1f}..{spread['iodepth'][1]:.1f})")
    print(f"  fio write     {median['fio']:8.1f} MiB/s  (range {spread['fio'][0]:.1f}..{spread['fio'][1]:.1f})")
    print(f"  ratio         {ratio:8.3f}x  (iodepth / fio)")
    print(f"\nTarget, iodepth load >= {TARGET_RATIO}x fio sequential write: "
          + ("met." if ratio >= TARGET_RATIO else f"BELOW TARGET ({ratio:.3f}x)."))
    return ratio


# ---- The run ------------------------------------------------------------------------------

class Load:
    """One comparison. Its two data files are ours alone (the process id makes the names
    unique), so they are removed before every run and at the end."""

    def __init__(self, settings, tools, work):
        self.s, self.tools, self.work = settings, tools, work
        directory = os.path.abspath(settings.directory)
        self.load_file = os.path.join(directory, f"iodepth-fio-load-{os.getpid()}.tbl")
        self.fio_file = os.path.join(directory, f"iodepth-fio-load-{os.getpid()}.fio")
        self.steps = common.Steps(total=2 * settings.repeat, verbose=settings.verbose)
        self.runs = {"iodepth": [], "fio": []}

    def remove_data_files(self):
        for path in (self.load_file, self.fio_file):
            if os.path.lexists(path):
                os.remove(path)

    def check_run(self, tool, rep, out):
        """Parses the run's JSON now, so a malformed document stops the comparison at once."""
        try:
            self.runs[tool].append((rep, run_metrics(tool, rep, out, self.s.size_bytes)))
        except common.FioError as e:
            die(f"{e}\n  command: {self.steps.last_command}")

    def run_iodepth(self, rep):
        out = os.path.join(self.work, f"iodepth_r{rep}.json")
        self.remove_data_files()
        self.steps.run(f"iodepth load (run {rep} of {self.s.repeat})", out, [
            self.tools.iodepth_bin, "load", f"--filename={self.load_file}", f"--size={self.s.size_bytes}",
            "--direct=1", "--ioengine=io_uring", f"--iodepth={IODEPTH}", f"--bs={BLOCK_SIZE_BYTES}",
            "--output-format=json"])
        self.check_run("iodepth", rep, out)

    def run_fio(self, rep):
        """--end_fsync=1 so fio's time includes durability, as the loader's includes its
        fdatasync. Everything else (fallocate layout, buffer refill pattern, batch
        submission) is left at fio's defaults: the job people actually run."""
        out = os.path.join(self.work, f"fio_r{rep}.json")
        self.remove_data_files()
        self.steps.run(f"fio sequential write (run {rep} of {self.s.repeat})", out, [
            "fio", "--name=load", f"--filename={self.fio_file}", "--rw=write", f"--bs={BLOCK_SIZE_BYTES}",
            f"--iodepth={IODEPTH}", "--direct=1", "--ioengine=io_uring", f"--size={self.s.size_bytes}",
            "--end_fsync=1", "--output-format=json"])
        self.check_run("fio", rep, out)

    def run_jobs(self):
        for rep in range(1, self.s.repeat + 1):
            self.run_iodepth(rep)
            self.run_fio(rep)
        self.remove_data_files()
        print()


def print_header(load, env):
    s = load.s
    print(f"iodepth load vs fio sequential write: {s.size_text} = {s.size_bytes} bytes, bs 128 KiB, "
          f"iodepth {IODEPTH}, O_DIRECT, io_uring")
    print(f"  files:     {load.load_file}, {load.fio_file} (new for every run, removed at the end)")
    print("\n".join(common.environment_lines(env, load.tools)))
    print(f"  repeat:    {s.repeat} (interleaved: iodepth, fio, iodepth, fio, ...)\n")


def main(argv):
    flags = common.parse_flags(argv, VALUE_FLAGS, SWITCHES)
    if "--help" in flags:
        print(USAGE, end="")
        return 0
    settings = settings_from_flags(flags)
    tools = common.check_tools()
    common.require_fio_engine("io_uring", tools.fio_version)
    common.check_free_space(settings.directory, settings.size_bytes, settings.size_text)
    work = common.make_work_dir("fio_load")
    load = Load(settings, tools, work)
    try:
        print_header(load, common.describe_environment(load.load_file, os.path.abspath(settings.directory)))
        load.run_jobs()
        report(load.runs, tools.fio_version)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        load.remove_data_files()
    return 0


if __name__ == "__main__":
    sys.exit(common.run_main(main))
