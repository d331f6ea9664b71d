"""fio.fastdev: `iodepth bench` and fio side by side on a fast device (a zram device from
scripts/fast-device.sh; docs/BENCHMARKS.md "Fast device"), where software is the whole cost
of an I/O: how many I/Os each tool gets out of the CPU, and where the CPU goes.

Cells: every --rw x --direct x --depths x --variants, 4 KiB reads, one job, one file:

  variant        iodepth bench                          fio --ioengine=io_uring
  plain          --engine=io_uring                      (its defaults)
  registerfiles  --engine=io_uring --registerfiles=1    --registerfiles=1
  fixedbufs      --engine=io_uring --fixedbufs=1        --fixedbufs=1
  sqpoll         --engine=io_uring --sqthread_poll=1    --sqthread_poll=1 --registerfiles=1
                 --registerfiles=1
  worker         --engine=worker                        the plain cell's runs (as fio.parity)

fio registers its files whenever sqthread_poll is on ("sqthread submission requires
registered files", its engines/io_uring.c), so iodepth's sqpoll cell registers its file too.

Each run is wrapped in `perf stat -x, -e raw_syscalls:sys_enter,context-switches,task-clock
-- CMD`, for both tools alike. Per cell: the median IOPS of each tool and their ratio; CPU
time per I/O as each tool reports it (usr+sys in the measured window over its I/Os) and the
ratio; syscalls, context switches and CPU time (task-clock: every thread, io_uring's kernel
threads included) per I/O from perf; iodepth's requests per submit call and per reap call
and its achieved depth (Little's law). perf counts the whole command, start-up and ramp
included, so its counts are divided by the I/Os of that span, estimated as the measured
IOPS x (ramp_time + runtime) for both tools alike. Where perf or an event is missing, it
says so once and those figures are unknown.

Targets (issue 16): every io_uring variant IOPS >= 1.0x fio and CPU per I/O <= 1.0x fio;
worker IOPS >= 0.85x fio io_uring at qd 32. Informational: the exit status is 0 when every
run worked, whatever the ratios; 1 when a run failed (its cell is marked failed, the others
go on) or on any other error, which names the failed command.

Order: the file is made once by iodepth (its rules: the free space checked first, a file it
did not make is never written), then --repeat rounds; in each, every cell's iodepth run and
then its fio run (the worker's beside the plain pair), so drift lands on both tools alike.
A buffered run starts with the file's pages dropped, for both tools. --json and --csv are
rewritten whole (through a temporary file) after every run, so Ctrl-C keeps every finished
run; a cell's medians cover the rounds done so far.

Run from the repository root: /usr/bin/python3 -m fio.fastdev --directory DIR [options].
"""

import csv
import dataclasses
import io
import os
import shutil
import sys

from . import common
from .common import die

DATA_FILE_NAME = "iodepth-fastdev.dat"
BLOCK_SIZE_BYTES = 4096
TARGET_IOPS_RATIO = 1.0          # io_uring variants: at least fio's IOPS,
TARGET_CPU_RATIO = 1.0           # for at most fio's CPU time per I/O.
WORKER_TARGET_IOPS_RATIO = 0.85  # worker against fio io_uring, at WORKER_TARGET_QD only.
WORKER_TARGET_QD = 32
MAX_REPEAT = 99
MAX_DEPTH = 4096                 # iodepth bench's own bound.
MIN_RUNTIME_MS = 100             # Shorter windows measure start-up, not I/O.
MAX_TIME_MS = 3_600_000
START_UP_S = 0.5                 # Per run, for the time estimate only.
PERF_EVENTS = ("raw_syscalls:sys_enter", "context-switches", "task-clock")
RW_CHOICES = ("randread", "read")


@dataclasses.dataclass(frozen=True)
class Variant:
    engine: str           # iodepth's --engine, as its JSON names it.
    iodepth_args: tuple
    fio_variant: str      # The variant whose fio runs this one is compared with.
    fio_args: tuple
    features: tuple       # What iodepth's engine_features must say (io_uring only).


VARIANTS = {
    "plain": Variant("io_uring", ("--engine=io_uring",), "plain", (), ()),
    "registerfiles": Variant("io_uring", ("--engine=io_uring", "--registerfiles=1"), "registerfiles",
                             ("--registerfiles=1",), ("registerfiles",)),
    "fixedbufs": Variant("io_uring", ("--engine=io_uring", "--fixedbufs=1"), "fixedbufs", ("--fixedbufs=1",),
                         ("fixedbufs",)),
    "sqpoll": Variant("io_uring", ("--engine=io_uring", "--sqthread_poll=1", "--registerfiles=1"), "sqpoll",
                      ("--sqthread_poll=1", "--registerfiles=1"), ("sqpoll", "registerfiles")),
    "worker": Variant("worker", ("--engine=worker",), "plain", (), ()),
}
URING_FEATURES = {"sqpoll", "registerfiles", "fixedbufs"}

USAGE = f"""\
Usage: /usr/bin/python3 -m fio.fastdev --directory DIR [options]

Runs iodepth bench and fio with the same 4 KiB read jobs on one file in DIR (meant to be
on a fast device: scripts/fast-device.sh --size 3G -- /usr/bin/python3 -m fio.fastdev
--directory {{dir}} --json /var/tmp/fastdev.json), interleaved, each under perf stat, and
prints per cell: IOPS, CPU time per I/O, syscalls and context switches per I/O of both
tools with their ratios, and iodepth's submit and reap batches and achieved depth.
Targets: io_uring variants >= {TARGET_IOPS_RATIO}x fio's IOPS at <= {TARGET_CPU_RATIO}x its CPU per I/O;
worker >= {WORKER_TARGET_IOPS_RATIO}x fio io_uring at qd {WORKER_TARGET_QD} (informational).

Options (--opt=value and --opt value both work; lists are comma-separated):
  --directory=DIR    where the data file ({DATA_FILE_NAME}) is made, by iodepth; required
  --rw=LIST          randread, read (default: randread,read)
  --direct=LIST      0 (buffered, each run starting with the file's pages dropped), 1
                     (O_DIRECT) (default: 0,1)
  --depths=LIST      queue depths, 1 to {MAX_DEPTH} (default: 1,4,16,32,64,128)
  --variants=LIST    plain, registerfiles, fixedbufs, sqpoll, worker (default: all)
  --runtime=TIME     measured time per run: 2s, 500ms, 1m (default: 2s)
  --ramp_time=TIME   unmeasured warm-up per run (default: 500ms)
  --repeat=N         rounds, each running every cell once; medians reported (default: 3)
  --size=SIZE        bytes of the file; k/m/g are powers of 1024 (default: 1g)
  --json=FILE        every run's figures, the medians and ratios, rewritten after each run
  --csv=FILE         one row per cell, rewritten after each run
  --keep             keep the data file this run made (one that existed is always kept)
  --verbose          also show each command's stdout (the raw JSON)
  -h, --help         this text

Environment:
  IODEPTH_BIN        iodepth binary (default: build/release/cli/iodepth, else PATH)

Exit status: 0 when every run worked (even below target), 1 on any error.
"""

VALUE_FLAGS = ("--directory", "--rw", "--direct", "--depths", "--variants", "--runtime", "--ramp_time", "--repeat",
               "--size", "--json", "--csv")
SWITCHES = {"-h": "--help", "--help": "--help", "--keep": "--keep", "--verbose": "--verbose", "-v": "--verbose"}


@dataclasses.dataclass
class Settings:
    directory: str = ""
    rws: tuple = RW_CHOICES
    directs: tuple = (False, True)
    depths: tuple = (1, 4, 16, 32, 64, 128)
    variants: tuple = tuple(VARIANTS)
    runtime_ms: int = 2000
    ramp_time_ms: int = 500
    repeat: int = 3
    size_text: str = "1g"
    size_bytes: int = 1 << 30
    json_out: str = ""
    csv_out: str = ""
    keep: bool = False
    verbose: bool = False

    @property
    def filename(self):
        return os.path.join(self.directory, DATA_FILE_NAME)

    @property
    def span_s(self):
        """The seconds of I/O in one run: ramp and measured window."""
        return (self.runtime_ms + self.ramp_time_ms) / 1000.0


def list_flag(flags, flag, default, choose, expected):
    """The comma-separated values of FLAG, each through choose(item) (None: refused)."""
    text = flags.get(flag, default)
    values = []
    for item in text.split(","):
        value = choose(item.strip())
        if value is None:
            die(f"{flag}: '{item}' is not {expected}")
        if value in values:
            die(f"{flag} names '{item}' twice")
        values.append(value)
    return tuple(values)


def depth_of(text):
    value = common.whole_number(text)
    return value if value is not None and 1 <= value <= MAX_DEPTH else None


def duration_flag(flags, flag, default, low_ms):
    text = flags.get(flag, default)
    value = common.parse_duration_ms(text)
    if value is None or not low_ms <= value <= MAX_TIME_MS:
        die(f"{flag} must be a time from {low_ms}ms to 1h like 2s or 500ms, got '{text}'")
    return value


def settings_from_flags(flags):
    """Settings from parse_flags' answer, or an error naming the flag that is wrong."""
    s = Settings(directory=flags.get("--directory", ""), size_text=flags.get("--size", "1g"),
                 json_out=flags.get("--json", ""), csv_out=flags.get("--csv", ""), keep="--keep" in flags,
                 verbose="--verbose" in flags)
    if not s.directory:
        die("--directory is required: a directory on the device to measure, e.g. scripts/fast-device.sh --size 3G "
            "-- /usr/bin/python3 -m fio.fastdev --directory {dir}")
    if not os.path.isdir(s.directory) or not os.access(s.directory, os.W_OK):
        die(f"--directory '{s.directory}' is not a writable directory")
    s.rws = list_flag(flags, "--rw", ",".join(RW_CHOICES), lambda t: t if t in RW_CHOICES else None,
                      "randread or read")
    s.directs = list_flag(flags, "--direct", "0,1", lambda t: {"0": False, "1": True}.get(t), "0 or 1")
    s.depths = list_flag(flags, "--depths", "1,4,16,32,64,128", depth_of, f"a depth from 1 to {MAX_DEPTH}")
    s.variants = list_flag(flags, "--variants", ",".join(VARIANTS), lambda t: t if t in VARIANTS else None,
                           "one of " + ", ".join(VARIANTS))
    s.runtime_ms = duration_flag(flags, "--runtime", "2s", MIN_RUNTIME_MS)
    s.ramp_time_ms = duration_flag(flags, "--ramp_time", "500ms", 0)
    repeat_text = flags.get("--repeat", "3")
    s.repeat = common.whole_number(repeat_text)
    if s.repeat is None or not 1 <= s.repeat <= MAX_REPEAT:
        die(f"--repeat must be a whole number from 1 to {MAX_REPEAT}, got '{repeat_text}'")
    s.size_bytes = common.parse_size_bytes(s.size_text)
    if s.size_bytes is None or s.size_bytes < BLOCK_SIZE_BYTES or s.size_bytes % BLOCK_SIZE_BYTES:
        die(f"--size must be a whole number of 4 KiB blocks like 1g or 512m, got '{s.size_text}'")
    for flag, path in (("--json", s.json_out), ("--csv", s.csv_out)):
        if path:
            common.check_json_path(path, flag)
    return s


# ---- Cells --------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Cell:
    rw: str
    direct: bool
    qd: int
    variant: str

    @property
    def mode(self):
        return "direct" if self.direct else "buffered"

    @property
    def id(self):
        return f"{self.rw}/{self.mode}/qd{self.qd}/{self.variant}"

    @property
    def fio_key(self):
        """The fio job this cell is compared with; the worker cell shares the plain one's."""
        return f"{self.rw}/{self.mode}/qd{self.qd}/fio-{VARIANTS[self.variant].fio_variant}"


def plan_cells(s):
    return [Cell(rw, direct, qd, variant) for rw in s.rws for direct in s.directs for qd in s.depths
            for variant in s.variants]


def targets_of(cell):
    """{"iops_ratio_min": x, "cpu_ratio_max": y or None}, or None where the cell has no target."""
    if cell.variant == "worker":
        return {"iops_ratio_min": WORKER_TARGET_IOPS_RATIO, "cpu_ratio_max": None} \
            if cell.qd == WORKER_TARGET_QD else None
    return {"iops_ratio_min": TARGET_IOPS_RATIO, "cpu_ratio_max": TARGET_CPU_RATIO}


# ---- perf stat ----------------------------------------------------------------------------

def parse_perf_stat_csv(text):
    """{event: value} from `perf stat -x,` output; None for "<not counted>" or "<not
    supported>". task-clock (msec) becomes ns. A modifier perf appends (":u") is dropped."""
    counts = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split(",")
        if len(fields) < 3:
            continue
        value_text, unit, event = fields[0].strip(), fields[1].strip(), fields[2].strip()
        name, _, modifier = event.rpartition(":")
        if not name or not modifier or not set(modifier) <= set("ukhGHpPS"):
            name = event
        try:
            value = float(value_text)
        except ValueError:
            value = None
        if value is not None and unit == "msec":
            value *= 1e6
        counts[name] = value
    return counts


class PerfStat:
    """Wraps a command in perf stat with the events this machine can count, and reads the
    counts back."""

    def __init__(self, perf_path, events, notes):
        self.perf_path = perf_path
        self.events = tuple(events)
        self.notes = list(notes)  # Why an event is missing, said once.

    def wrap(self, command, out):
        if not self.events:
            return command
        return [self.perf_path, "stat", "-x,", "-o", out, "-e", ",".join(self.events), "--", *command]

    def read(self, out):
        """The counts of one run ({} without perf); an unreadable file gives unknowns."""
        if not self.events:
            return {}
        try:
            with open(out, encoding="utf-8", errors="replace") as f:
                return parse_perf_stat_csv(f.read())
        except OSError:
            return {}


def probe_perf(work):
    """A PerfStat with the PERF_EVENTS that count here, each tried on `true`."""
    perf_path = shutil.which("perf")
    if not perf_path:
        return PerfStat(None, (), ["perf is not installed (apt-get install linux-perf): syscalls, context switches "
                                   "and perf's CPU time per I/O are unknown"])
    events, notes = [], []
    for event in PERF_EVENTS:
        out = os.path.join(work, "perf-probe.csv")
        done = common.run_process([perf_path, "stat", "-x,", "-o", out, "-e", event, "--", "true"],
                                  capture_output=True, text=True)
        counts = PerfStat(perf_path, (event,), ()).read(out) if done.returncode == 0 else {}
        if counts.get(event) is not None:
            events.append(event)
            continue
        reason = (done.stderr.strip().split("\n") or [""])[0] if done.returncode != 0 else "not counted"
        notes.append(f"perf cannot count {event} here ({reason or 'no reason given'}): its per-I/O figure is unknown")
    return PerfStat(perf_path, events, notes)


def perf_per_io(counts, iops, span_s):
    """perf's counts over one run, per I/O of the run's whole span (estimated: IOPS x span)."""
    ios = iops * span_s
    per_io = {"perf_ios_estimated": ios}
    for key, event in (("syscalls_per_io", "raw_syscalls:sys_enter"), ("context_switches_per_io", "context-switches"),
                       ("perf_cpu_ns_per_io", "task-clock")):
        value = counts.get(event)
        per_io[key] = value / ios if value is not None and ios > 0 else None
    return per_io


# ---- One run ------------------------------------------------------------------------------

def check_features(job, cell, what):
    """An io_uring run must have set up the ring the variant asks for, no more and no less."""
    variant = VARIANTS[cell.variant]
    if variant.engine != "io_uring":
        return
    features = str(job.get("engine_features", ""))
    present = set(features.split(",")) & URING_FEATURES
    if present != set(variant.features):
        die(f"{what}: asked for io_uring {cell.variant} but its engine_features are {features!r}")


def iodepth_run_metrics(document, cell, what, notes, counts, span_s):
    metrics = common.bench_run_metrics(document, VARIANTS[cell.variant].engine, what, notes, direct=cell.direct)
    job = document["jobs"][0]
    check_features(job, cell, what)
    depth = common.get(job, ["depth"], what)
    calls = {k: common.fnumber(depth, [k], what) for k in ("submitted", "submit_calls", "reaped", "reap_calls")}
    metrics.update(
        submit_batch=calls["submitted"] / calls["submit_calls"] if calls["submit_calls"] else None,
        reap_batch=calls["reaped"] / calls["reap_calls"] if calls["reap_calls"] else None,
        achieved_depth=common.fnumber(depth, ["littles_law"], what),
        submitted=calls["submitted"],
        context_switches_self=common.fnumber(job, ["context_switches"], what) if "context_switches" in job else None)
    metrics.update(perf_per_io(counts, metrics["iops"], span_s))
    return metrics


def fio_run_metrics(document, what, counts, span_s):
    metrics = common.fio_run_metrics(document, what)
    metrics.update(perf_per_io(counts, metrics["iops"], span_s))
    return metrics


# ---- Cells' figures -----------------------------------------------------------------------

def ratio(ours, theirs):
    return ours / theirs if ours is not None and theirs else None


def below_target(cell, iops_ratio, cpu_ratio):
    """What misses the cell's target, as short phrases ([] when met or without a target)."""
    target = targets_of(cell)
    misses = []
    if target is None:
        return misses
    if iops_ratio is not None and iops_ratio < target["iops_ratio_min"]:
        misses.append(f"IOPS {iops_ratio:.2f}x < {target['iops_ratio_min']:.2f}x")
    if target["cpu_ratio_max"] is not None and cpu_ratio is not None and cpu_ratio > target["cpu_ratio_max"]:
        misses.append(f"CPU {cpu_ratio:.2f}x > {target['cpu_ratio_max']:.2f}x")
    return misses


def summarise_cell(cell, ours_runs, theirs_runs, repeat, error=""):
    """One cell: both tools' medians over the runs done, the ratios, and its verdict."""
    ours = common.median_of(ours_runs) if ours_runs else {}
    theirs = common.median_of(theirs_runs) if theirs_runs else {}
    iops_ratio = ratio(ours.get("iops"), theirs.get("iops"))
    cpu_ratio = ratio(ours.get("cpu_ns_per_io"), theirs.get("cpu_ns_per_io"))
    misses = below_target(cell, iops_ratio, cpu_ratio)
    done = min(len(ours_runs), len(theirs_runs))  # Rounds with both tools' runs.
    status = "failed" if error else "ok" if done >= repeat else "partial" if ours_runs or theirs_runs else "not run"
    if status in ("failed", "not run"):
        verdict = status
    elif misses:
        verdict = "BELOW: " + ", ".join(misses)
    elif not targets_of(cell):
        verdict = "(no target)"
    else:
        verdict = "met" if iops_ratio is not None else "?"
    if status == "partial":
        verdict += f" ({done} of {repeat} rounds)"
    return {
        "id": cell.id, "rw": cell.rw, "direct": cell.direct, "mode": cell.mode, "qd": cell.qd, "variant": cell.variant,
        "compared_with": f"fio io_uring {VARIANTS[cell.variant].fio_variant}", "status": status, "error": error,
        "targets": targets_of(cell), "below_target": misses, "verdict": verdict,
        "iops_ratio": iops_ratio, "cpu_ratio": cpu_ratio,
        "perf_cpu_ratio": ratio(ours.get("perf_cpu_ns_per_io"), theirs.get("perf_cpu_ns_per_io")),
        "iodepth": {"median": ours, "runs": ours_runs}, "fio": {"median": theirs, "runs": theirs_runs},
    }


def show(value, spec, scale=1.0):
    return "?" if value is None else format(value / scale, spec)


def table_lines(cells):
    header = ["cell", "iodepth IOPS", "fio IOPS", "ratio", "iod CPU µs/IO", "fio CPU µs/IO", "ratio",
              "iod sys/IO", "fio sys/IO", "iod cs/IO", "fio cs/IO", "submit", "reap", "depth", "verdict"]
    rows = []
    for c in cells:
        ours, theirs = c["iodepth"]["median"], c["fio"]["median"]
        rows.append([
            f"{c['rw']} {c['mode']} qd{c['qd']} {c['variant']}",
            show(ours.get("iops"), ",.0f"), show(theirs.get("iops"), ",.0f"), show(c["iops_ratio"], ".3f"),
            show(ours.get("cpu_ns_per_io"), ".2f", 1e3), show(theirs.get("cpu_ns_per_io"), ".2f", 1e3),
            show(c["cpu_ratio"], ".3f"),
            show(ours.get("syscalls_per_io"), ".3f"), show(theirs.get("syscalls_per_io"), ".3f"),
            show(ours.get("context_switches_per_io"), ".3f"), show(theirs.get("context_switches_per_io"), ".3f"),
            show(ours.get("submit_batch"), ".2f"), show(ours.get("reap_batch"), ".2f"),
            show(ours.get("achieved_depth"), ".1f"), c["verdict"],
        ])
    return common.table_lines(header, rows)


FOOTNOTES = f"""\
  ratio: iodepth / fio, of medians. worker cells are compared with fio io_uring (plain) at
  the same depth; their target, {WORKER_TARGET_IOPS_RATIO}x, is at qd {WORKER_TARGET_QD} only.
  CPU µs/IO: user+system time in the measured window over its I/Os, as each tool reports it
  (iodepth: its whole process; fio: its job thread, so an SQPOLL kernel thread's time counts
  on iodepth's side only); perf's CPU time of every thread, both tools alike, is in --json
  and --csv (perf_cpu_ns_per_io).
  sys/IO, cs/IO: perf stat's raw_syscalls:sys_enter and context-switches over the whole
  command, start-up and ramp included, over IOPS x (ramp_time + runtime), both tools alike.
  submit, reap: iodepth's requests per submit call and per reap call; depth: its achieved
  depth (Little's law)."""


CSV_COLUMNS = (
    ("id", lambda c: c["id"]), ("rw", lambda c: c["rw"]), ("direct", lambda c: int(c["direct"])),
    ("qd", lambda c: c["qd"]), ("variant", lambda c: c["variant"]), ("compared_with", lambda c: c["compared_with"]),
    ("status", lambda c: c["status"]), ("runs_iodepth", lambda c: len(c["iodepth"]["runs"])),
    ("runs_fio", lambda c: len(c["fio"]["runs"])),
    ("iops_ratio", lambda c: c["iops_ratio"]), ("cpu_ratio", lambda c: c["cpu_ratio"]),
    ("perf_cpu_ratio", lambda c: c["perf_cpu_ratio"]),
    *((f"{tool}_{key}", lambda c, tool=tool, key=key: c[tool]["median"].get(key))
      for key in ("iops", "cpu_ns_per_io", "perf_cpu_ns_per_io", "syscalls_per_io", "context_switches_per_io",
                  "clat_p95_ns") for tool in ("iodepth", "fio")),
    *((f"iodepth_{key}", lambda c, key=key: c["iodepth"]["median"].get(key))
      for key in ("submit_batch", "reap_batch", "achieved_depth")),
    ("below_target", lambda c: "; ".join(c["below_target"])), ("error", lambda c: c["error"].split("\n")[0]),
)


def csv_text(cells):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([name for name, _ in CSV_COLUMNS])
    for c in cells:
        writer.writerow(["" if value is None else value for value in (get(c) for _, get in CSV_COLUMNS)])
    return out.getvalue()


# ---- The run ------------------------------------------------------------------------------

class FastDev:
    """The cells, their runs so far, and the files that hold them."""

    def __init__(self, settings, tools, data, work, perf, environment):
        self.s, self.tools, self.data, self.work, self.perf = settings, tools, data, work, perf
        self.environment = environment
        self.cells = plan_cells(settings)
        self.fio_keys = list(dict.fromkeys(c.fio_key for c in self.cells))
        self.iodepth_runs = {c.id: [] for c in self.cells}
        self.fio_runs = {k: [] for k in self.fio_keys}
        self.errors = {}  # Cell id -> why it failed; it runs no more.
        self.notes = set()
        self.complete = False
        self.steps = common.Steps(1 + settings.repeat * (len(self.cells) + len(self.fio_keys)), settings.verbose)

    def estimate_s(self):
        return self.steps.total * (self.s.span_s + START_UP_S)

    def prepare_file(self):
        """iodepth makes and fills the file when missing (64 unmeasured buffered reads do that
        and show that the binary works)."""
        s = self.s
        self.steps.run(f"prepare {s.filename} with iodepth", os.path.join(self.work, "prepare.out"), [
            self.tools.iodepth_bin, "bench", "--rw=randread", f"--filename={s.filename}", f"--size={s.size_bytes}",
            "--number_ios=64", "--ramp_time=0", "--iodepth=1", "--direct=0"])
        common.check_data_file(self.data, s.size_bytes, s.size_text, "iodepth bench")

    def start_cold(self, cell):
        """A buffered run starts with none of the file in the page cache, for both tools."""
        if cell.direct:
            return
        try:
            common.drop_file_cache(self.s.filename)
        except OSError as e:
            die(f"cannot drop {self.s.filename}'s pages before a buffered run: {e.strerror}")

    def run_measured(self, label, name, command):
        """One tool's run under perf stat: (its JSON document, perf's counts)."""
        out = os.path.join(self.work, f"{self.steps.step + 1:04d}-{name}.json")
        self.steps.run(label, out, self.perf.wrap(command, out + ".perf"), own_group=True)
        return common.load_json(out, label), self.perf.read(out + ".perf")

    def run_iodepth(self, cell, rep):
        s = self.s
        self.start_cold(cell)
        label = f"iodepth {cell.id} (round {rep} of {s.repeat})"
        document, counts = self.run_measured(label, "iodepth", [
            self.tools.iodepth_bin, "bench", f"--rw={cell.rw}", f"--bs={BLOCK_SIZE_BYTES}", f"--iodepth={cell.qd}",
            f"--direct={int(cell.direct)}", *VARIANTS[cell.variant].iodepth_args, f"--size={s.size_bytes}",
            f"--runtime={s.runtime_ms}ms", f"--ramp_time={s.ramp_time_ms}ms", f"--filename={s.filename}",
            f"--randseed={common.fresh_seed()}", "--output-format=json"])
        metrics = iodepth_run_metrics(document, cell, label, self.notes, counts, s.span_s)
        self.iodepth_runs[cell.id].append(metrics)
        self.say(metrics)

    def run_fio(self, cell, rep):
        """fio never writes or makes the file (--readonly, --allow_file_create=0); a fresh
        seed per run (--randrepeat=0) and offsets drawn with replacement (--norandommap), as
        iodepth draws them; no fadvise hint (iodepth gives none); --lat_percentiles=1 keeps
        fio's total latency beside its clat."""
        s = self.s
        self.start_cold(cell)
        label = f"fio {cell.fio_key} (round {rep} of {s.repeat})"
        document, counts = self.run_measured(label, "fio", [
            "fio", "--name=fastdev", f"--filename={s.filename}", f"--size={s.size_bytes}", f"--rw={cell.rw}",
            f"--bs={BLOCK_SIZE_BYTES}", f"--iodepth={cell.qd}", f"--direct={int(cell.direct)}", "--ioengine=io_uring",
            *VARIANTS[cell.variant].fio_args, "--time_based", f"--runtime={s.runtime_ms}ms",
            f"--ramp_time={s.ramp_time_ms}ms", "--readonly", "--allow_file_create=0", "--randrepeat=0",
            *(["--norandommap"] if cell.rw == "randread" else []), "--invalidate=1", "--fadvise_hint=0",
            "--percentile_list=50:95:99", "--clat_percentiles=1", "--lat_percentiles=1", "--output-format=json"])
        metrics = fio_run_metrics(document, label, counts, s.span_s)
        self.fio_runs[cell.fio_key].append(metrics)
        self.say(metrics)

    @staticmethod
    def say(m):
        print(f"  {m['iops']:,.0f} IOPS, CPU {m['cpu_ns_per_io'] / 1e3:.2f} µs/IO, "
              f"{show(m['syscalls_per_io'], '.3f')} syscalls/IO, {show(m['context_switches_per_io'], '.3f')} cs/IO")

    def attempt(self, run, cell, rep, cells):
        """run(cell, rep); a failure marks CELLS failed (they run no more) and the rest go on.
        The files are rewritten either way."""
        try:
            run(cell, rep)
        except common.FioError as e:
            for c in cells:
                self.errors.setdefault(c.id, str(e))
            first_line = str(e).split("\n")[0]
            print(f"  FAILED: {first_line}\n  no more runs of: {', '.join(c.id for c in cells)}")
        self.write_outputs()

    def alive(self, cell):
        return cell.id not in self.errors

    def run_rounds(self):
        for rep in range(1, self.s.repeat + 1):
            fio_done = set()
            for cell in self.cells:
                if self.alive(cell):
                    self.attempt(self.run_iodepth, cell, rep, [cell])
                # The fio job right after the first cell that uses it; the worker cell,
                # after the plain one, shares the plain pair's fio run.
                users = [c for c in self.cells if c.fio_key == cell.fio_key and self.alive(c)]
                if cell.fio_key not in fio_done and users:
                    fio_done.add(cell.fio_key)
                    self.attempt(self.run_fio, cell, rep, users)
            self.steps.total = self.steps.step + (self.s.repeat - rep) * self.runs_per_round()

    def runs_per_round(self):
        alive = [c for c in self.cells if self.alive(c)]
        return len(alive) + len({c.fio_key for c in alive})

    def summaries(self):
        return [summarise_cell(c, self.iodepth_runs[c.id], self.fio_runs[c.fio_key], self.s.repeat,
                               self.errors.get(c.id, "")) for c in self.cells]

    def document(self):
        s = self.s
        return {
            "schema": "iodepth-fastdev", "schema_version": 1, "complete": self.complete,
            "targets": {"io_uring": {"iops_ratio_min": TARGET_IOPS_RATIO, "cpu_ratio_max": TARGET_CPU_RATIO},
                        "worker": {"iops_ratio_min": WORKER_TARGET_IOPS_RATIO, "qd": WORKER_TARGET_QD}},
            "settings": {"directory": s.directory, "filename": s.filename, "size_bytes": s.size_bytes,
                         "rw": list(s.rws), "direct": [int(d) for d in s.directs], "depths": list(s.depths),
                         "variants": list(s.variants), "runtime_ms": s.runtime_ms, "ramp_time_ms": s.ramp_time_ms,
                         "repeat": s.repeat, "block_size_bytes": BLOCK_SIZE_BYTES},
            "environment": {**self.environment, "fio_version": self.tools.fio_version,
                            "iodepth_bin": self.tools.iodepth_bin},
            "perf": {"events": list(self.perf.events), "unavailable": self.perf.notes,
                     "per_io_span": "whole command, start-up and ramp included, over IOPS x (ramp_time + runtime)"},
            "cells": self.summaries(),
            "notes": sorted(self.notes),
            "commands": self.steps.commands,
        }

    def write_outputs(self, announce=False):
        if self.s.json_out:
            common.write_document(self.s.json_out, self.document(), announce=announce)
        if self.s.csv_out:
            common.write_text_atomically(self.s.csv_out, csv_text(self.summaries()))
            if announce:
                print(f"Wrote {self.s.csv_out}")

    def report(self):
        cells = self.summaries()
        print(f"\nResults (iodepth {self.tools.iodepth_bin} vs {self.tools.fio_version}; median of "
              f"{self.s.repeat} round{'s' if self.s.repeat > 1 else ''}; ratios are iodepth/fio):")
        print("\n".join(table_lines(cells)))
        print(FOOTNOTES)
        for note in self.perf.notes + sorted(self.notes):
            print(f"note: {note}")
        below = [c for c in cells if c["below_target"]]
        with_target = [c for c in cells if c["targets"] and c["status"] in ("ok", "partial")]
        print(f"\nTargets: {len(with_target) - len(below)} of {len(with_target)} cells with a target meet it"
              + ("." if not below else "; below: " + ", ".join(c["id"] for c in below) + "."))


def print_header(s, fastdev, data, env, tools):
    print("iodepth vs fio on a fast device: 4 KiB reads, one job")
    print(f"  file:      {s.filename} ({'existing' if data.existed else 'to be made by iodepth'}), "
          f"{s.size_text} = {s.size_bytes} bytes")
    print("\n".join(common.environment_lines(env, tools)))
    print(f"  perf:      {', '.join(fastdev.perf.events) or 'none'} ({fastdev.perf.perf_path or 'not installed'})")
    print(f"  cells:     {len(fastdev.cells)} ({', '.join(s.rws)} x direct {','.join(str(int(d)) for d in s.directs)}"
          f" x qd {','.join(map(str, s.depths))} x {', '.join(s.variants)}), {len(fastdev.fio_keys)} fio jobs")
    print(f"  per run:   runtime {s.runtime_ms} ms + ramp_time {s.ramp_time_ms} ms; {s.repeat} rounds; "
          f"{fastdev.steps.total} runs, about {fastdev.estimate_s() / 60:.0f} min in all")
    for note in fastdev.perf.notes:
        print(f"note: {note}")
    for flag, path in (("--json", s.json_out), ("--csv", s.csv_out)):
        inside = os.path.realpath(path).startswith(os.path.realpath(s.directory) + os.sep) if path else False
        if inside:
            print(f"warning: {flag} {path} is inside --directory; scripts/fast-device.sh removes that with its device")
    print()


def main(argv):
    flags = common.parse_flags(argv, VALUE_FLAGS, SWITCHES)
    if "--help" in flags:
        print(USAGE, end="")
        return 0
    settings = settings_from_flags(flags)
    tools = common.check_tools()
    common.require_fio_engine("io_uring", tools.fio_version)
    data = common.check_file_path(settings.filename, settings.keep, default_filename=None)
    if not data.existed:
        common.check_free_space(settings.directory, settings.size_bytes, settings.size_text)
    work = common.make_work_dir("fio_fastdev")
    fastdev = None
    try:
        env = common.describe_environment(data.path, data.directory)
        fastdev = FastDev(settings, tools, data, work, probe_perf(work), env)
        print_header(settings, fastdev, data, env, tools)
        fastdev.prepare_file()
        fastdev.run_rounds()
        fastdev.complete = not fastdev.errors
        fastdev.report()
        fastdev.write_outputs(announce=True)
        if fastdev.errors:
            die(f"{len(fastdev.errors)} of {len(fastdev.cells)} cells failed (FAILED above; why, in --json's "
                f"cells[].error): {', '.join(sorted(fastdev.errors))}")
    except SystemExit:
        outputs = " and ".join(p for p in (settings.json_out, settings.csv_out) if p)
        if fastdev is not None and outputs:
            print(f"stopped: every finished run is in {outputs}", file=sys.stderr)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
        print(f"\n{data.fate()}")
        data.remove_if_ours()
    return 0


if __name__ == "__main__":
    sys.exit(common.run_main(main))
