"""fio.parity: runs `iodepth bench` and fio with the same job on the same file, in one run,
and prints how far apart they are. The project's rule is that its numbers must agree with
fio's; this module is how we check that.

Jobs (4 KiB random reads, O_DIRECT, one job, one file):

  row                 iodepth run                fio run it is compared with
  io_uring qd 1       --engine=io_uring qd 1     --ioengine=io_uring iodepth=1
  io_uring qd 32      --engine=io_uring qd 32    --ioengine=io_uring iodepth=32
  worker   qd 32      --engine=worker   qd 32    the same io_uring iodepth=32 runs

For each row it prints iodepth/fio for IOPS and for p95 completion latency, and CPU time
per I/O for both. Target: io_uring IOPS >= 0.95x fio at both depths. The verdict is
informational: the exit status is 0 whenever every command ran and every JSON parsed, even
below target, and non-zero only on errors (which name the failed command).

Order: the file is prepared once, then each pair runs back to back, iodepth first,
--repeat times interleaved (A B A B ...) so that slow drift in the device (thermal state,
SSD garbage collection, a noisy neighbour VM) lands on both sides alike. Each metric is the
median of its --repeat runs. Every run's JSON is checked as soon as the run ends, so a
malformed document stops the comparison before the remaining runs.

Run from the repository root: /usr/bin/python3 -m fio.parity [options] (--help lists them).
"""

import dataclasses
import json
import os
import shutil
import sys

from . import common
from .common import die

DEFAULT_FILENAME = "/var/tmp/iodepth-fio-parity.dat"
BLOCK_SIZE_BYTES = 4096
TARGET_IOPS_RATIO = 0.95
MAX_REPEAT = 99       # Bounds the run time: each repeat is five runs of runtime+ramp_time.
RUNS_PER_REPEAT = 5   # io_uring qd 1 pair (2) + io_uring qd 32 pair (2) + worker qd 32 (1).
ROWS = [("io_uring", 1, True), ("io_uring", 32, True), ("worker", 32, False)]

USAGE = f"""\
Usage: /usr/bin/python3 -m fio.parity [options]

Runs iodepth bench and fio with equivalent 4 KiB random-read O_DIRECT jobs on one file
(io_uring at qd 1 and 32, plus iodepth's worker backend at qd 32 against fio io_uring
qd 32) and prints iodepth/fio ratios for IOPS and p95 completion latency, and CPU time
per I/O. Target: io_uring IOPS >= {TARGET_IOPS_RATIO}x fio at both depths (informational).

Options (fio-like; --opt=value and --opt value both work):
  --filename=PATH   file to read (default: {DEFAULT_FILENAME}).
                    Created by iodepth when missing. Removed at the end unless --keep;
                    a file of yours that existed before the run is never removed.
  --size=SIZE       bytes of the file to use; k/m/g/t are powers of 1024 as in fio
                    (default: 1g)
  --runtime=SEC     measured seconds per job (default: 10)
  --ramp_time=SEC   unmeasured warm-up seconds per job (default: 2)
  --repeat=N        run each iodepth/fio pair N times, interleaved; report medians
                    (default: 1)
  --json=FILE       also write every raw number, median and ratio to FILE as JSON
  --keep            do not remove the file at the end
  --verbose         also show each command's stdout (the raw JSON)
  -h, --help        this text

Environment:
  IODEPTH_BIN       iodepth binary to use (default: build/release/cli/iodepth in the
                    repository, else iodepth on PATH)

Every command is printed before it runs. Exit status: 0 when every job ran and its
output parsed (even below target), non-zero on any error.
"""

VALUE_FLAGS = ("--filename", "--size", "--runtime", "--ramp_time", "--repeat", "--json")
SWITCHES = {"-h": "--help", "--help": "--help", "--keep": "--keep", "--verbose": "--verbose",
            "-v": "--verbose"}


@dataclasses.dataclass
class Settings:
    filename: str = DEFAULT_FILENAME
    size_text: str = "1g"
    size_bytes: int = 1 << 30
    runtime_s: int = 10
    ramp_time_s: int = 2
    repeat: int = 1
    json_out: str = ""
    keep: bool = False
    verbose: bool = False


def settings_from_flags(flags):
    """Settings from parse_flags' answer, or an error naming the flag that is wrong."""
    s = Settings(filename=flags.get("--filename", DEFAULT_FILENAME), size_text=flags.get("--size", "1g"),
                 json_out=flags.get("--json", ""), keep="--keep" in flags, verbose="--verbose" in flags)
    # Seconds are whole numbers, optionally with fio's "s" suffix ("10s").
    runtime_text = flags.get("--runtime", "10").removesuffix("s")
    ramp_text = flags.get("--ramp_time", "2").removesuffix("s")
    runtime, ramp = common.whole_number(runtime_text), common.whole_number(ramp_text)
    if runtime is None or runtime < 1:
        die(f"--runtime must be a whole number of seconds >= 1, got '{runtime_text}'")
    if ramp is None:
        die(f"--ramp_time must be a whole number of seconds >= 0, got '{ramp_text}'")
    repeat_text = flags.get("--repeat", "1")
    repeat = common.whole_number(repeat_text)
    if repeat is None or not 1 <= repeat <= MAX_REPEAT:
        die(f"--repeat must be a whole number from 1 to {MAX_REPEAT}, got '{repeat_text}'")
    s.runtime_s, s.ramp_time_s, s.repeat = runtime, ramp, repeat
    size_bytes = common.parse_size_bytes(s.size_text)
    if size_bytes is None:
        die(f"--size '{s.size_text}' is not a size like 1g, 512m or 4096")
    if size_bytes < BLOCK_SIZE_BYTES or size_bytes % BLOCK_SIZE_BYTES:
        die(f"--size must be a whole number of 4 KiB blocks (O_DIRECT 4 KiB reads), got '{s.size_text}' = "
            f"{size_bytes} bytes")
    s.size_bytes = size_bytes
    if s.json_out:
        json_dir = common.shell_dirname(s.json_out)
        if not (os.path.isdir(json_dir) and os.access(json_dir, os.W_OK)):
            die(f"--json: directory '{json_dir}' does not exist or is not writable")
    return s


# ---- One run's JSON -----------------------------------------------------------------------

def run_metrics(tool, engine, qd, rep, path, notes):
    """(metrics, the whole document) of one run."""
    what = f"{tool} {engine} qd {qd} run {rep}"
    document = common.load_json(path, what)
    if tool == "fio":
        return common.fio_run_metrics(document, what), document
    return common.bench_run_metrics(document, engine, what, notes), document


# ---- Medians, ratios and the table --------------------------------------------------------

def build_rows(runs, target):
    """runs: {(tool, engine, qd): [metrics of each repeat]}."""
    rows = []
    for engine, qd, has_target in ROWS:
        ours, theirs = runs[("iodepth", engine, qd)], runs[("fio", "io_uring", qd)]
        ours_median, theirs_median = common.median_of(ours), common.median_of(theirs)
        iops_ratio = ours_median["iops"] / theirs_median["iops"]
        p95_ratio = ours_median["clat_p95_ns"] / theirs_median["clat_p95_ns"] \
            if theirs_median["clat_p95_ns"] > 0 else None
        p95_ratio_vs_fio_lat = ours_median["clat_p95_ns"] / theirs_median["lat_p95_ns"] \
            if theirs_median["lat_p95_ns"] > 0 else None
        verdict = ("PASS" if iops_ratio >= target else "BELOW TARGET") if has_target else "(no target)"
        rows.append({
            "backend": engine, "qd": qd, "compared_with": f"fio io_uring iodepth={qd}",
            "has_target": has_target, "iops_ratio": iops_ratio, "p95_ratio": p95_ratio,
            "p95_ratio_vs_fio_lat": p95_ratio_vs_fio_lat,
            "verdict": verdict,
            "iodepth": {"median": ours_median, "runs": ours},
            "fio": {"median": theirs_median, "runs": theirs},
        })
    return rows


def print_table(rows):
    header = ["backend", "qd", "iodepth IOPS", "fio IOPS", "IOPS ratio", "iodepth p95 µs",
              "fio p95 µs", "p95 ratio", "iodepth CPU µs/IO", "fio CPU µs/IO", "verdict"]
    lines = []
    for row in rows:
        ours, theirs = row["iodepth"]["median"], row["fio"]["median"]
        lines.append([
            row["backend"], str(row["qd"]), f"{ours['iops']:,.0f}", f"{theirs['iops']:,.0f}",
            f"{row['iops_ratio']:.3f}x", f"{ours['clat_p95_ns'] / 1e3:.1f}",
            f"{theirs['clat_p95_ns'] / 1e3:.1f}",
            "-" if row["p95_ratio"] is None else f"{row['p95_ratio']:.3f}x",
            f"{ours['cpu_ns_per_io'] / 1e3:.2f}", f"{theirs['cpu_ns_per_io'] / 1e3:.2f}",
            row["verdict"],
        ])
    print("\n".join(common.table_lines(header, lines)))


def print_footnotes(rows):
    print("  The worker row is compared with the same fio io_uring iodepth=32 runs.")
    # Said here because each one changes how a ratio should be read.
    print("  p95: fio's clat starts after io_uring_enter returns, iodepth's before its submit")
    print("  call (its lat_ns == clat_ns). Against fio's total latency (slat+clat) p95, iodepth is:")
    for row in rows:
        ratio = row["p95_ratio_vs_fio_lat"]
        print(f"    {row['backend']} qd {row['qd']}: "
              f"{'-' if ratio is None else f'{ratio:.3f}x'} "
              f"(fio lat p95 {row['fio']['median']['lat_p95_ns'] / 1e3:.1f} µs)")
    print("  CPU µs/IO = user+system CPU time in the measured window / completed I/Os; fio")
    print("  counts its job thread (RUSAGE_THREAD), iodepth its whole process (RUSAGE_SELF),")
    print("  so io_uring work punted to iou-wrk threads counts on iodepth's side only.")


def print_spread(rows, repeat):
    """With several repeats, the range of IOPS shows how much of a gap is noise."""
    if repeat < 2:
        return
    print(f"\nIOPS range over {repeat} runs (min .. max):")
    for row in rows:
        for tool in ("iodepth", "fio"):
            values = [r["iops"] for r in row[tool]["runs"]]
            label = f"{row['backend']} qd {row['qd']}" if tool == "iodepth" else f"io_uring qd {row['qd']}"
            print(f"  {tool:8} {label:16} {min(values):>12,.0f} .. {max(values):,.0f}")


def print_commands(commands):
    print("\nCommands run (in order; identical repeats listed once):")
    seen = set()
    for c in commands:
        if c["command"] not in seen:
            seen.add(c["command"])
            print(f"  {c['command']}")


# ---- The run ------------------------------------------------------------------------------

class Parity:
    """One comparison: the settings, the tools, and every run so far, in the order they ran."""

    def __init__(self, settings, tools, data, work):
        self.s, self.tools, self.data, self.work = settings, tools, data, work
        self.steps = common.Steps(total=1 + RUNS_PER_REPEAT * settings.repeat, verbose=settings.verbose)
        self.notes = set()
        self.runs = {}  # {(tool, engine, qd): [metrics of each repeat]}
        self.raw = []   # Every run's command and whole JSON document.

    def check_run(self, tool, engine, qd, rep, out):
        """Parses the run's JSON now, so a malformed document stops the comparison at once
        instead of after every other run."""
        seen = set(self.notes)
        try:
            metrics, document = run_metrics(tool, engine, qd, rep, out, self.notes)
        except common.FioError as e:
            die(f"{e}\n  command: {self.steps.last_command}")
        for note in sorted(self.notes - seen):
            print(f"  note: {note}")
        self.runs.setdefault((tool, engine, qd), []).append(metrics)
        self.raw.append({"tool": tool, "engine": engine, "qd": qd, "run": rep,
                         "command": self.steps.last_command, "output": document})

    def run_iodepth(self, engine, qd, rep):
        """The iodepth side of a pair. Its defaults already match fio's io_uring engine
        defaults (no SQPOLL, no registered files, no fixed buffers, no polled I/O). A fresh
        --randseed per run: iodepth's default seed is fixed, so every run would read the
        same offsets, which the host's page cache of a virtual disk may still hold."""
        s = self.s
        out = os.path.join(self.work, f"iodepth_{engine}_qd{qd}_r{rep}.json")
        self.steps.run(f"iodepth {engine} qd {qd} (run {rep} of {s.repeat})", out, [
            self.tools.iodepth_bin, "bench", "--rw=randread", "--bs=4k", f"--iodepth={qd}", "--direct=1",
            f"--engine={engine}", f"--size={s.size_bytes}", f"--runtime={s.runtime_s}s",
            f"--ramp_time={s.ramp_time_s}s", f"--filename={s.filename}", f"--randseed={common.fresh_seed()}",
            "--output-format=json"])
        self.check_run("iodepth", engine, qd, rep, out)

    def run_fio(self, qd, rep):
        """The fio side. --readonly and --allow_file_create=0: fio never writes or makes the
        file. --norandommap: offsets drawn with replacement, as iodepth draws them.
        --randrepeat=0: a fresh seed per run. --invalidate=1 (fio's default, spelled out).
        --lat_percentiles=1 also keeps fio's total latency (slat + clat): fio's clat starts
        after io_uring_enter returns, iodepth's before its Submit(), so fio's lat is the
        same span. Left at fio's defaults on purpose: batching, hipri, fixedbufs,
        registerfiles, sqthread_poll, numjobs=1, no CPU pinning: the job people run."""
        s = self.s
        out = os.path.join(self.work, f"fio_io_uring_qd{qd}_r{rep}.json")
        self.steps.run(f"fio io_uring qd {qd} (run {rep} of {s.repeat})", out, [
            "fio", "--name=parity", f"--filename={s.filename}", f"--size={s.size_bytes}", "--rw=randread",
            "--bs=4k", f"--iodepth={qd}", "--direct=1", "--ioengine=io_uring", "--time_based",
            f"--runtime={s.runtime_s}", f"--ramp_time={s.ramp_time_s}", "--readonly", "--norandommap",
            "--randrepeat=0", "--invalidate=1", "--allow_file_create=0", "--percentile_list=50:95:99",
            "--clat_percentiles=1", "--lat_percentiles=1", "--output-format=json"])
        self.check_run("fio", "io_uring", qd, rep, out)

    def prepare_file(self):
        """iodepth creates and fills its data file when missing; a one-second run does that,
        and shows the binary works, before anything is measured."""
        s = self.s
        self.steps.run(f"prepare {s.filename} with iodepth", os.path.join(self.work, "prepare.out"), [
            self.tools.iodepth_bin, "bench", "--rw=randread", f"--filename={s.filename}",
            f"--size={s.size_bytes}", "--runtime=1", "--direct=1"])
        common.check_data_file(self.data, s.size_bytes, s.size_text, "iodepth bench")

    def run_jobs(self):
        for rep in range(1, self.s.repeat + 1):
            self.run_iodepth("io_uring", 1, rep)
            self.run_fio(1, rep)
        # The worker run sits beside the io_uring qd 32 pair so it sees the device in the
        # same state as the fio runs it is compared with.
        for rep in range(1, self.s.repeat + 1):
            self.run_iodepth("io_uring", 32, rep)
            self.run_fio(32, rep)
            self.run_iodepth("worker", 32, rep)
        print()


def print_header(s, data, env, tools):
    estimate_s = RUNS_PER_REPEAT * s.repeat * (s.runtime_s + s.ramp_time_s + 1) + 2
    print("iodepth vs fio parity: 4 KiB random reads, O_DIRECT, one job")
    print(f"  file:      {s.filename} ({'existing' if data.existed else 'to be created by iodepth'})")
    print(f"  size:      {s.size_text} = {s.size_bytes} bytes")
    print("\n".join(common.environment_lines(env, tools)))
    print(f"  per job:   runtime {s.runtime_s}s + ramp_time {s.ramp_time_s}s; repeat {s.repeat}; "
          f"about {estimate_s}s in all\n")


def result_document(parity, env, rows, missed, iodepth_version):
    """What --json holds: every raw number, median and ratio, and where they were measured."""
    s, tools = parity.s, parity.tools
    return {
        "target_iops_ratio": TARGET_IOPS_RATIO,
        "target_met": not missed,
        "settings": {
            "filename": s.filename, "size": s.size_text, "size_bytes": s.size_bytes, "runtime_s": s.runtime_s,
            "ramp_time_s": s.ramp_time_s, "repeat": s.repeat,
            "rw": "randread", "block_size_bytes": BLOCK_SIZE_BYTES, "direct": True,
        },
        "environment": {
            "kernel": env["kernel"], "fio_version": tools.fio_version,
            "iodepth_version": iodepth_version, "iodepth_bin": tools.iodepth_bin,
            "device": env["mount_source"], "fstype": env["mount_fstype"],
            "mount_options": env["mount_options"], "disk": env["disk_info"], "cpu": env["cpu_info"],
        },
        "rows": rows,
        "notes": sorted(parity.notes),
        "commands": parity.steps.commands,
        "raw_runs": parity.raw,
    }


def write_json(path, document):
    try:
        with open(path, "w") as f:
            json.dump(document, f, indent=2)
            f.write("\n")
    except OSError as e:
        die(f"cannot write --json file: {e}")
    print(f"\nWrote {path}")


def report(parity, env):
    s = parity.s
    rows = build_rows(parity.runs, TARGET_IOPS_RATIO)
    versions = {str(r["iodepth_version"]) for key, rs in parity.runs.items() if key[0] == "iodepth" for r in rs}
    iodepth_version = ", ".join(sorted(versions))
    print(f"Results (iodepth {iodepth_version} vs {parity.tools.fio_version}; "
          f"{f'median of {s.repeat} runs' if s.repeat > 1 else 'one run each'}; "
          f"ratios are iodepth/fio; p95 is of completion latency):")
    print_table(rows)
    print_footnotes(rows)
    print_spread(rows, s.repeat)
    for note in sorted(parity.notes):
        print(f"note: {note}")
    missed = [f"qd {r['qd']} ({r['iops_ratio']:.3f}x)" for r in rows
              if r["has_target"] and r["iops_ratio"] < TARGET_IOPS_RATIO]
    print(f"\nTarget, io_uring IOPS >= {TARGET_IOPS_RATIO}x fio at qd 1 and qd 32: "
          + ("met." if not missed else "BELOW TARGET at " + ", ".join(missed) + "."))
    print_commands(parity.steps.commands)
    if s.json_out:
        write_json(s.json_out, result_document(parity, env, rows, missed, iodepth_version))


def main(argv):
    flags = common.parse_flags(argv, VALUE_FLAGS, SWITCHES)
    if "--help" in flags:
        print(USAGE, end="")
        return 0
    settings = settings_from_flags(flags)
    tools = common.check_tools()
    common.require_fio_engine("io_uring", tools.fio_version)
    data = common.check_file_path(settings.filename, settings.keep, DEFAULT_FILENAME)
    work = common.make_work_dir("fio_parity")
    try:
        env = common.describe_environment(data.path, data.directory)
        print_header(settings, data, env, tools)
        parity = Parity(settings, tools, data, work)
        parity.prepare_file()
        parity.run_jobs()
        report(parity, env)
        print(f"\n{data.fate()}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        data.remove_if_ours()
    return 0


if __name__ == "__main__":
    sys.exit(common.run_main(main))
