"""fio.scan: iodepth's scans against fio reading the same table file, in one interleaved run;
prints the medians, the iodepth/fio ratio and the ratio of each pair and, with --json, writes
them as an iodepth results file that `iodepth report` shows.

  cold_scan   `iodepth scan --where c0<500 --agg count,sum(c2) --mode pipelined --distance D
              --io_combine B --direct 1 --engine io_uring`: one pass of the query over the
              table, every page read from the device (direct, a new process's empty pool),
              against  fio --rw=read --bs=B --iodepth=D --direct=1 --ioengine=io_uring, one
              pass over the table's bytes. Figure: GB/s, iodepth's page bytes / elapsed (its
              mb_per_s) against fio's bw_bytes.
  four_scans  `iodepth suite scan`'s multistream_scan_qdN/direct/io_uring/thrash (4 scans, each
              on its own thread over a quarter of the table, distance N, --strategy ring so no
              page is found in the pool, the pool M a quarter of the table: the thrash regime),
              against  fio --numjobs=4 --size=T/4 --offset_increment=T/4 --rw=read --bs=B
              --iodepth=N --direct=1 --ioengine=io_uring --group_reporting, both --time_based
              with the same --runtime and ramp. Figure: total GB/s (the cell's bw_bytes).
  hot_scan    the query of cold_scan, buffered (--direct 0), after one warm-up pass put the
              table in the page cache: each page is copied from the page cache into the pool
              (io_uring completes such reads inline) and every row filtered and aggregated,
              against  fio --rw=read --bs=B --ioengine=psync --direct=0 --invalidate=0, the
              same bytes copied from the page cache into one user buffer by pread. psync,
              not fio's mmap engine: pread is the same copy iodepth's buffered read makes,
              where mmap adds a page fault per page of a fresh mapping and measures those.
              fio reads the table again and again for --runtime (--time_based): one pass of
              a cached 256 MiB takes about 10 ms, and fio times a job in whole milliseconds.
              Figure: GB/s of page data; the ratio is what the query costs over the copy.
  resident_scan  the scan at memory speed: `iodepth suite scan`'s multistream_scan_qd1/
              buffered/io_uring/hot with one stream (--streams 1): the query over the first
              eighth of the table (the hot regime's working set, half of the pool M), every
              page already in the pool, pass after pass for --runtime, so no page is read or
              copied; against fio --rw=read --bs=B --ioengine=psync --direct=0 --invalidate=0
              --size=T/8 --time_based, the same bytes copied from the page cache into a user
              buffer: a plain memory read of them. Figure: GB/s of page data; rows/s per core
              is the cell's rows per CPU second.

Rows: iodepth's scans report rows/s; cold_scan and hot_scan run the query on one thread, so
their rows/s is rows per second of one core (their wait fraction says how much of it the
thread waited); four_scans' is given per CPU second (rows / the process's CPU time, from the
cell's cpu_ns_per_io). The page cache's share of the table just before each hot run (fincore)
is printed as measured, not judged.

The table: `iodepth load --filename F --size S` makes it (default a scratch file in
--directory, removed at the end unless --keep; free space is checked first). A file named
with --filename that existed before is used read-only, as it is, and never removed: its
shape is read with `iodepth scan --pages 0:1`, no iodepth command is given a flag that could
rewrite it, and every fio job runs --readonly --allow_file_create=0.

Order: each repetition runs cold_scan (iodepth, fio), four_scans (iodepth, fio), the warm-up
pass, hot_scan (iodepth, fio), resident_scan (iodepth, fio); --repeat times, so drift lands on both tools alike. Each
figure is the median of its runs; ratio = iodepth median / fio median. Informational: the
exit status is 0 whenever every command ran and its JSON parsed, whatever the ratios.

--json FILE writes one results file (docs/BENCHMARKS.md, "Results file"): the four_scans cell,
its runs' repetitions summarised by `iodepth summarise` (SummariseCell, the one summariser),
with a "fio_crosscheck" entry (fio's medians, iodepth/fio ratios, notes; agreement is not
judged); resident_scan's cell is measured the same way but only printed (one results file
holds one fio entry per cell id, and its figure is a memory read, not a device's). cold_scan
and hot_scan come from `iodepth scan`, which writes no cell record, so the
schema has no place for them as cells: their figures and ratios go in config.fio_scan, which
the report does not show.

Run from the repository root: /usr/bin/python3 -m fio.scan [options] (--help lists them).
"""

import copy
import dataclasses
import math
import os
import shutil
import statistics
import sys

from . import common
from .common import die
from .crosscheck import SUITE_ROUTINE_STDERR
from .wal import fio_job, fio_percentile_ns, iodepth_cell, merged_cell, ratio

MAX_REPEAT = 99
STREAMS = 4
RAMP_TIME = "200ms"  # Both sides of four_scans, unmeasured.
WHERE, AGG = "c0<500", "count,sum(c2)"  # The query of `iodepth suite scan` (docs/BENCHMARKS.md).
COMPARISONS = ("cold_scan", "four_scans", "hot_scan", "resident_scan")
DEFAULT_DIRECTORY = os.path.join(os.environ.get("IODEPTH_TMPDIR") or "/var/tmp", "iodepth-fio-scan")
TABLE_NAME = "table.tbl"
FOUR_SCANS_NOTE = ("multistream_scan against fio with one job per scan over the same quarter of the table: "
                   "fio's IOPS and CPU per I/O are per page of the data it read (its bytes/s / the page "
                   "size), the unit of the cell's IOPS, so the IOPS ratio is the ratio of GB/s; latency is "
                   "per page read on iodepth's side (each page carries its read's latency), per request on "
                   "fio's; iodepth's CPU counts its whole process, the query over every row included.")

USAGE = f"""\
Usage: /usr/bin/python3 -m fio.scan [options]

Scans a table with iodepth and reads the same bytes with fio, interleaved: one cold
pipelined scan against fio sequential direct reads, four concurrent scans against four fio
jobs, and one hot (page-cached) scan against fio's pread of the cached file. Prints the
medians in GB/s, their ratio and the ratio of each pair.

Options (--opt=value and --opt value both work):
  --size=SIZE       bytes of pages of the table made for the run, a multiple of 4 x --bs
                    (default: 256m; ignored for an existing --filename)
  --filename=PATH   the table (default: DIR/{TABLE_NAME}); made by `iodepth load` when missing
                    and then removed at the end unless --keep. An existing file named here is
                    only read, and left in place
  --directory=DIR   where the scratch table goes, made when missing (default:
                    $IODEPTH_TMPDIR/iodepth-fio-scan, else /var/tmp/iodepth-fio-scan)
  --keep            keep a table this run made
  --repeat=N        run each pair N times, interleaved; report medians (default: 3)
  --distance=N      cold and hot scans' read-ahead distance, fio's iodepth (default: 32)
  --depth=N         four scans: each scan's distance, each fio job's iodepth (default: 16)
  --bs=SIZE         io_combine of the scans and fio's block size (default: 128k)
  --runtime=TIME    four_scans' measured time on both sides, and fio's hot read (default: 1s)
  --json=FILE       also write the four_scans cell with fio's figures beside it (and every
                    figure in its config) as an iodepth results file, which `iodepth report`
                    shows in its fio cross-check
  --verbose         also show each command's stdout (the raw JSON)
  -h, --help        this text

Environment:
  IODEPTH_BIN       iodepth binary to use (default: build/release/cli/iodepth in the
                    repository, else iodepth on PATH)
"""

VALUE_FLAGS = ("--size", "--filename", "--directory", "--repeat", "--distance", "--depth", "--bs", "--runtime",
               "--json")
SWITCHES = {"-h": "--help", "--help": "--help", "--keep": "--keep", "--verbose": "--verbose", "-v": "--verbose"}


@dataclasses.dataclass
class Settings:
    size_text: str = "256m"
    size_bytes: int = 256 << 20
    filename: str = ""
    directory: str = DEFAULT_DIRECTORY
    keep: bool = False
    repeat: int = 3
    distance: int = 32
    depth: int = 16
    bs_bytes: int = 128 << 10
    runtime: str = "1s"
    json_out: str = ""
    verbose: bool = False

    @property
    def default_filename(self):
        return os.path.join(self.directory, TABLE_NAME)


def settings_from_flags(flags):
    """Settings from parse_flags' answer, or an error naming the flag that is wrong."""
    s = Settings(size_text=flags.get("--size", "256m"), runtime=flags.get("--runtime", "1s"),
                 directory=os.path.abspath(flags.get("--directory", DEFAULT_DIRECTORY)), keep="--keep" in flags,
                 json_out=flags.get("--json", ""), verbose="--verbose" in flags)
    s.filename = flags.get("--filename", s.default_filename)
    for flag, attr, low, high in (("--repeat", "repeat", 1, MAX_REPEAT), ("--distance", "distance", 1, 4096),
                                  ("--depth", "depth", 1, 4096)):
        text = flags.get(flag, str(getattr(s, attr)))
        value = common.whole_number(text)
        if value is None or not low <= value <= high:
            die(f"{flag} must be a whole number from {low} to {high}, got '{text}'")
        setattr(s, attr, value)
    bs_text = flags.get("--bs", "128k")
    s.bs_bytes = common.parse_size_bytes(bs_text)
    if not s.bs_bytes or s.bs_bytes % 4096:
        die(f"--bs '{bs_text}' is not a size in whole 4 KiB like 128k or 1m")
    s.size_bytes = common.parse_size_bytes(s.size_text)
    if s.size_bytes is None:
        die(f"--size '{s.size_text}' is not a size like 256m, 1g or 4096")
    check_table_bytes(s.size_bytes, s.bs_bytes, f"--size '{s.size_text}'")
    if not common.parse_duration_ms(s.runtime):
        die(f"--runtime '{s.runtime}' is not a duration like 500ms, 2s or 1m")
    if "--filename" not in flags:
        exists = os.path.isdir(s.directory)
        if not os.path.isdir(os.path.dirname(s.directory)) or exists and not os.access(s.directory, os.W_OK):
            die(f"--directory '{s.directory}' is not writable, or its parent directory does not exist")
    if s.json_out:
        common.check_json_path(s.json_out)  # Now, not after every run.
    return s


def check_table_bytes(table_bytes, bs_bytes, what):
    """Each of the four scans (and fio jobs) reads a quarter of the table in whole reads of bs,
    and the pool is that quarter (the thrash regime: W = 4 M)."""
    if table_bytes <= 0 or table_bytes % (STREAMS * bs_bytes):
        die(f"{what} = {table_bytes} bytes is not a positive multiple of {STREAMS} x --bs ({bs_bytes} bytes): "
            f"each of the {STREAMS} scans reads a quarter of the table in whole reads")


# ---- One run's JSON -----------------------------------------------------------------------

def fnumber(document, path, what):
    return float(common.number(document, path, what))


def scan_metrics(document, what, direct):
    """One `iodepth scan --output-format json` run: GB/s of page data (its mb_per_s), rows/s and
    the share of the time it waited for reads; an error if it did not run as asked."""
    if document.get("backend") != "io_uring" or document.get("direct") is not direct \
            or document.get("mode") != "pipelined":
        die(f"{what}: asked for a pipelined io_uring scan with direct {direct}; its JSON says mode "
            f"{document.get('mode')!r}, backend {document.get('backend')!r}, direct {document.get('direct')!r}")
    return {"gb_per_s": fnumber(document, ["mb_per_s"], what) / 1e3,
            "rows_per_s": fnumber(document, ["rows_per_s"], what),
            "wait_fraction": fnumber(document, ["wait_fraction"], what),
            "hits": common.number(document, ["hits"], what)}


def table_shape(document, what):
    """(bytes of the table's pages, page size) from `iodepth load` or `iodepth scan` JSON."""
    pages = common.number(document, ["table_pages" if "table_pages" in document else "pages"], what)
    page_bytes = common.number(document, ["page_size"], what)
    return pages * page_bytes, page_bytes


def suite_metrics(cell, what):
    """four_scans' figures from the cell's median (one repetition's, or SummariseCell's): GB/s,
    rows per CPU second (rows/s over the process's CPU per second: cpu_ns_per_io x pages/s),
    the pool's hit ratio, and the figures the fio_crosscheck entry compares."""
    median = common.get(cell, ["median"], what)
    iops, cpu_ns_per_io = fnumber(median, ["iops"], what), fnumber(median, ["cpu_ns_per_io"], what)
    cpu_per_s = cpu_ns_per_io * iops / 1e9
    rows_per_s = fnumber(median, ["scan", "rows_per_s"], what)
    return {"gb_per_s": fnumber(median, ["bw_bytes"], what) / 1e9, "iops": iops,
            "rows_per_cpu_s": rows_per_s / cpu_per_s if cpu_per_s > 0 else 0.0,
            "hit_ratio": fnumber(median, ["buffer", "hit_ratio"], what),
            "clat_ns_p95": fnumber(median, ["clat_ns", "percentile", "95.000000"], what),
            "cpu_ns_per_io": cpu_ns_per_io}


def fio_metrics(document, what, page_bytes):
    """One fio run (with group_reporting, its jobs as one): GB/s, and per page of the data it
    read (bytes / page_bytes) its rate and CPU, the units of a scan cell's iops and
    cpu_ns_per_io; its p95 completion latency per request."""
    job = fio_job(document, what)
    read = common.get(job, ["read"], what)
    bw_bytes, io_bytes = fnumber(read, ["bw_bytes"], what), fnumber(read, ["io_bytes"], what)
    busy_ns = common.fio_cpu_ns_per_io(job, "read", what) * fnumber(read, ["total_ios"], what)
    return {"gb_per_s": bw_bytes / 1e9, "iops": bw_bytes / page_bytes,
            "clat_ns_p95": fio_percentile_ns(read, 95, what),
            "cpu_ns_per_io": busy_ns / (io_bytes / page_bytes) if io_bytes > 0 else 0.0}


# ---- The table ----------------------------------------------------------------------------

def summary(sides):
    """{"iodepth", "fio", "ratio", "pairs"}: the medians of GB/s, their ratio and each pair's."""
    ours = statistics.median(r["gb_per_s"] for r in sides["iodepth"])
    theirs = statistics.median(r["gb_per_s"] for r in sides["fio"])
    return {"iodepth": ours, "fio": theirs, "ratio": ratio(ours, theirs),
            "pairs": [ratio(a["gb_per_s"], b["gb_per_s"]) for a, b in zip(sides["iodepth"], sides["fio"])]}


def rows_text(name, runs):
    """iodepth's rows/s per core, as the comparison measures it (module docstring)."""
    if name in ("four_scans", "resident_scan"):
        return f"{statistics.median(r['rows_per_cpu_s'] for r in runs) / 1e6:.1f}M per CPU s"
    wait = statistics.median(r["wait_fraction"] for r in runs)
    return f"{statistics.median(r['rows_per_s'] for r in runs) / 1e6:.1f}M (1 thread, {wait:.0%} waiting)"


def comparison_rows(results):
    """results: {name: {"iodepth": [metrics], "fio": [metrics], "fio_job": str}} -> printable rows
    and each comparison's summary(), in the order they ran."""
    rows, summaries = [], {}
    for name, sides in results.items():
        s = summaries[name] = summary(sides)
        rows.append([name, f"{s['iodepth']:.2f}", f"{s['fio']:.2f}", f"{s['ratio']:.2f}x",
                     " ".join(f"{r:.2f}" for r in s["pairs"]), rows_text(name, sides["iodepth"]), sides["fio_job"]])
    return rows, summaries


def resident_text(fractions):
    measured = [f for f in fractions if f is not None]
    return f"{min(measured):.0%}" if measured else "not measured (no fincore)"


def report(results, fio_version, repeat):
    rows, summaries = comparison_rows(results)
    print(f"Medians of {repeat} interleaved run{'s' if repeat > 1 else ''} (iodepth vs {fio_version}; GB/s of "
          "page data; ratio = iodepth / fio; per pair: each run's ratio in order):")
    header = ["comparison", "iodepth GB/s", "fio GB/s", "ratio", "per pair", "iodepth rows/s", "fio"]
    print("\n".join(common.table_lines(header, rows)))
    if "four_scans" in results:
        hits = statistics.median(r["hit_ratio"] for r in results["four_scans"]["iodepth"])
        print(f"four_scans: the pool's hit ratio {hits:.3f} (median of the runs)")
    if "hot_scan" in results:
        hot = results["hot_scan"]
        print(f"hot_scan: the page cache held {resident_text(r['resident_before'] for r in hot['iodepth'])} of the "
              f"table before iodepth's runs and {resident_text(r['resident_before'] for r in hot['fio'])} before "
              "fio's (lowest of the runs, fincore)")
    return summaries


# ---- The results file ---------------------------------------------------------------------

def fio_entry(cell, sides, fio_version):
    """The "fio_crosscheck" entry of the four_scans cell: fio's medians in the cell's units,
    iodepth/fio of each (the summarised cell's median over fio's), what fio ran and what
    differs."""
    figures = ("iops", "clat_ns_p95", "cpu_ns_per_io")
    theirs = {k: statistics.median(r[k] for r in sides["fio"]) for k in figures}
    ours = suite_metrics(cell, f"iodepth summarise {cell['id']}")
    fio = dict(iops=theirs["iops"], clat_ns_p95=int(theirs["clat_ns_p95"]), cpu_ns_per_io=theirs["cpu_ns_per_io"],
               job=sides["fio_job"], fio_version=fio_version, notes=[FOUR_SCANS_NOTE])
    return {"cell": cell["id"], "fio": fio, "agrees": None, "cause": None,
            "cache_state": {"iodepth": "n/a", "fio": "n/a"},
            "ratio": {k: ours[k] / theirs[k] if theirs[k] > 0 else None for k in figures}}


def finite(value):
    """A ratio as JSON holds it: null where fio's figure was 0 (NaN is not JSON)."""
    return value if math.isfinite(value) else None


def comparisons_record(results, summaries):
    """Every comparison's runs, medians and ratios, for config.fio_scan."""
    return {name: {"iodepth_runs": sides["iodepth"], "fio_runs": sides["fio"], "fio_job": sides["fio_job"],
                   "iodepth_gb_per_s": summaries[name]["iodepth"], "fio_gb_per_s": summaries[name]["fio"],
                   "ratio": finite(summaries[name]["ratio"]),
                   "pair_ratios": [finite(r) for r in summaries[name]["pairs"]]}
            for name, sides in results.items()}


def build_document(results, summarise, settings, table, fio_version, command):
    """The results file: the first four_scans run's document holding its cell, merged over the
    runs and summarised by `summarise` (iodepth's), fio's figures beside it, and every
    comparison's figures in config.fio_scan."""
    sides = results["four_scans"]
    cell = summarise([merged_cell(sides)])[0]
    _, summaries = comparison_rows(results)
    document = copy.deepcopy(sides["documents"][0])
    document["command"] = command
    document["config"]["only"] = [cell["id"]]
    document["config"]["repetitions"] = settings.repeat
    document["config"]["fio_scan"] = {
        "script": "fio.scan", "fio_version": fio_version, "repeat": settings.repeat, "table": table.path,
        "table_bytes": table.table_bytes, "page_bytes": table.page_bytes, "memory": table.memory_bytes,
        "distance": settings.distance, "depth": settings.depth, "io_combine": settings.bs_bytes,
        "order": "each repetition: cold_scan, four_scans, a warm-up pass, hot_scan; each through iodepth, then "
                 "at once through fio",
        "comparisons": comparisons_record(results, summaries)}
    document["cells"] = [cell]
    document["fio_crosscheck"] = [fio_entry(cell, sides, fio_version)]
    return document


# ---- The run ------------------------------------------------------------------------------

@dataclasses.dataclass
class Table:
    path: str
    table_bytes: int = 0  # Bytes of its pages (the trailer page not counted).
    page_bytes: int = 0

    @property
    def memory_bytes(self):
        return self.table_bytes // STREAMS  # The pool: W = 4 M, the thrash regime.


class ScanComparison:
    def __init__(self, settings, tools, data, work):
        self.s, self.tools, self.data, self.work = settings, tools, data, work
        self.table = Table(path=data.path)
        self.steps = common.Steps(total=1 + 9 * settings.repeat, verbose=settings.verbose,
                                  routine_stderr=SUITE_ROUTINE_STDERR)
        self.results = {}

    def out(self, name):
        return os.path.join(self.work, name)

    def ours(self):
        """Whether this run makes the table: a new file, or the module's own scratch path."""
        return not self.data.existed or self.data.path == self.s.default_filename

    def prepare_table(self):
        """Makes the table (ours), or reads the shape of the user's existing one."""
        s = self.s
        if self.ours():
            # --overwrite only on the module's own scratch path: a table of another --size
            # left there by an earlier run. iodepth load never replaces a file it did not make.
            overwrite = ["--overwrite"] if self.data.path == s.default_filename else []
            self.steps.run(f"make the table with iodepth load ({s.size_text})", self.out("load.json"), [
                self.tools.iodepth_bin, "load", f"--filename={self.data.path}", f"--size={s.size_bytes}",
                *overwrite, "--output-format=json"])
            document, what = common.load_json(self.out("load.json"), "iodepth load"), "iodepth load"
        else:
            self.steps.run("read the existing table's shape (its first page)", self.out("probe.json"), [
                self.tools.iodepth_bin, "scan", f"--table={self.data.path}", "--pages=0:1", "--output-format=json"])
            document, what = common.load_json(self.out("probe.json"), "iodepth scan"), "iodepth scan"
        self.table.table_bytes, self.table.page_bytes = table_shape(document, what)
        if not self.ours():
            print(f"  the table as it is: {self.table.table_bytes} bytes of {self.table.page_bytes}-byte pages "
                  "(--size is for a table this run makes)")
        check_table_bytes(self.table.table_bytes, s.bs_bytes, f"the table {self.data.path}")
        common.check_data_file(self.data, self.table.table_bytes, f"{self.table.table_bytes}", what)

    def sides(self, name, fio_args):
        return self.results.setdefault(name, {"iodepth": [], "fio": [], "cells": [], "documents": [],
                                              "fio_job": " ".join(fio_args)})

    def scan_command(self, direct):
        return [self.tools.iodepth_bin, "scan", f"--table={self.table.path}", f"--where={WHERE}", f"--agg={AGG}",
                "--mode=pipelined", f"--distance={self.s.distance}", f"--io_combine={self.s.bs_bytes}",
                f"--direct={direct}", "--engine=io_uring", f"--memory={self.table.memory_bytes}",
                "--output-format=json"]

    def run_scan(self, label, out, direct):
        self.steps.run(label, out, self.scan_command(direct))
        return scan_metrics(common.load_json(out, "iodepth scan"), "iodepth scan", bool(direct))

    def run_fio(self, label, out, name, fio_args):
        self.steps.run(label, out, ["fio", f"--name={name}", f"--filename={self.table.path}", *fio_args,
                                    "--readonly", "--allow_file_create=0", "--output-format=json"])
        return fio_metrics(common.load_json(out, "fio"), "fio", self.table.page_bytes)

    def run_cold(self, rep):
        fio_args = [f"--size={self.table.table_bytes}", "--rw=read", f"--bs={self.s.bs_bytes}",
                    f"--iodepth={self.s.distance}", "--direct=1", "--ioengine=io_uring"]
        sides = self.sides("cold_scan", fio_args)
        sides["iodepth"].append(self.run_scan(f"iodepth cold scan (run {rep} of {self.s.repeat})",
                                              self.out(f"cold_r{rep}.json"), direct=1))
        sides["fio"].append(self.run_fio(f"fio sequential direct read (run {rep} of {self.s.repeat})",
                                         self.out(f"fio_cold_r{rep}.json"), "cold_scan", fio_args))

    def run_four(self, rep):
        share = self.table.table_bytes // STREAMS
        fio_args = [f"--numjobs={STREAMS}", f"--size={share}", f"--offset_increment={share}", "--rw=read",
                    f"--bs={self.s.bs_bytes}", f"--iodepth={self.s.depth}", "--direct=1", "--ioengine=io_uring",
                    "--time_based", f"--runtime={self.s.runtime}", f"--ramp_time={RAMP_TIME}", "--group_reporting"]
        sides = self.sides("four_scans", fio_args)
        cell_id = f"multistream_scan_qd{self.s.depth}/direct/io_uring/thrash"
        out = self.out(f"four_r{rep}.json")
        self.steps.run(f"iodepth {STREAMS} scans (run {rep} of {self.s.repeat})", out + ".stdout", [
            self.tools.iodepth_bin, "suite", "scan", f"--filename={self.table.path}",
            f"--size={self.table.table_bytes}", f"--page-size={self.table.page_bytes}",
            f"--memory={self.table.memory_bytes}", f"--streams={STREAMS}", "--regimes=thrash", "--modes=direct",
            "--backends=io_uring", f"--depths={self.s.depth}", "--strategy=ring", f"--io_combine={self.s.bs_bytes}",
            f"--only={cell_id}", "--repetitions=1", f"--runtime={self.s.runtime}", f"--ramp_time={RAMP_TIME}",
            f"--json={out}", f"--csv={out}.csv"])
        document = common.load_json(out, "iodepth suite scan")
        cell = iodepth_cell(document, "iodepth suite scan")
        sides["iodepth"].append(suite_metrics(cell, "iodepth suite scan"))
        sides["cells"].append(cell)
        sides["documents"].append(document)
        sides["fio"].append(self.run_fio(f"fio {STREAMS} jobs of sequential direct reads (run {rep} of "
                                         f"{self.s.repeat})", self.out(f"fio_four_r{rep}.json"), "four_scans",
                                         fio_args))

    def resident(self):
        return common.resident_fraction(self.table.path, os.path.getsize(self.table.path))

    def run_hot(self, rep):
        fio_args = [f"--size={self.table.table_bytes}", "--rw=read", f"--bs={self.s.bs_bytes}", "--direct=0",
                    "--ioengine=psync", "--invalidate=0", "--time_based", f"--runtime={self.s.runtime}"]
        sides = self.sides("hot_scan", fio_args)
        # fio's direct jobs dropped the table's pages (their invalidate=1): read them back.
        self.steps.run(f"warm-up: one buffered scan puts the table in the page cache (run {rep} of "
                       f"{self.s.repeat})", self.out(f"warm_r{rep}.json"), self.scan_command(direct=0))
        resident = self.resident()
        sides["iodepth"].append(dict(self.run_scan(f"iodepth hot scan (run {rep} of {self.s.repeat})",
                                                   self.out(f"hot_r{rep}.json"), direct=0), resident_before=resident))
        resident = self.resident()
        sides["fio"].append(dict(self.run_fio(f"fio pread of the cached table (run {rep} of {self.s.repeat})",
                                              self.out(f"fio_hot_r{rep}.json"), "hot_scan", fio_args),
                                 resident_before=resident))

    def run_resident(self, rep):
        eighth = self.table.table_bytes // 8  # The hot regime's W: half of M = T / 4.
        fio_args = [f"--size={eighth}", "--rw=read", f"--bs={self.s.bs_bytes}", "--direct=0", "--ioengine=psync",
                    "--invalidate=0", "--time_based", f"--runtime={self.s.runtime}"]
        sides = self.sides("resident_scan", fio_args)
        cell_id = "multistream_scan_qd1/buffered/io_uring/hot"
        out = self.out(f"resident_r{rep}.json")
        self.steps.run(f"iodepth scan of pages in the pool (run {rep} of {self.s.repeat})", out + ".stdout", [
            self.tools.iodepth_bin, "suite", "scan", f"--filename={self.table.path}",
            f"--size={self.table.table_bytes}", f"--page-size={self.table.page_bytes}",
            f"--memory={self.table.memory_bytes}", "--streams=1", "--regimes=hot", "--modes=buffered",
            "--backends=io_uring", "--depths=1", f"--io_combine={self.s.bs_bytes}", f"--only={cell_id}",
            "--repetitions=1", f"--runtime={self.s.runtime}", f"--ramp_time={RAMP_TIME}", f"--json={out}",
            f"--csv={out}.csv"])
        cell = iodepth_cell(common.load_json(out, "iodepth suite scan"), "iodepth suite scan")
        sides["iodepth"].append(suite_metrics(cell, "iodepth suite scan"))
        # The bytes fio reads are in the page cache from the scan's load of its pool.
        sides["fio"].append(dict(self.run_fio(f"fio pread of the same cached bytes (run {rep} of {self.s.repeat})",
                                              self.out(f"fio_resident_r{rep}.json"), "resident_scan", fio_args),
                                 resident_before=self.resident()))

    def run_jobs(self):
        for rep in range(1, self.s.repeat + 1):
            self.run_cold(rep)
            self.run_four(rep)
            self.run_hot(rep)
            self.run_resident(rep)
        print()

    def write_results(self, fio_version, command):
        document = build_document(self.results, lambda cells: common.summarise_with_iodepth(
            self.tools.iodepth_bin, cells), self.s, self.table, fio_version, command)
        common.write_document(self.s.json_out, document)


def make_directory(settings):
    """The scratch directory, made when missing; True when this run made it (and so removes it
    at the end, if empty)."""
    if settings.filename != settings.default_filename or os.path.isdir(settings.directory):
        return False
    try:
        os.mkdir(settings.directory)
    except OSError as e:
        die(f"--directory: cannot make '{settings.directory}': {e.strerror}")
    return True


def main(argv):
    command = common.shell_words(["/usr/bin/python3", "-m", "fio.scan", *argv])
    flags = common.parse_flags(argv, VALUE_FLAGS, SWITCHES)
    if "--help" in flags:
        print(USAGE, end="")
        return 0
    settings = settings_from_flags(flags)
    tools = common.check_tools()
    common.require_fio_engine("io_uring", tools.fio_version)
    work = common.make_work_dir("fio_scan")
    made_directory, data = False, None
    try:
        made_directory = make_directory(settings)
        data = common.check_file_path(settings.filename, settings.keep, settings.default_filename)
        comparison = ScanComparison(settings, tools, data, work)
        if comparison.ours():
            # The table's pages and its trailer page (at most 16 KiB).
            common.check_free_space(data.directory, settings.size_bytes + (16 << 10), settings.size_text)
        print(f"iodepth's scans vs fio on {data.path}: cold_scan (distance {settings.distance}), four_scans "
              f"({STREAMS} x depth {settings.depth}, {settings.runtime}), hot_scan, resident_scan; io_combine / bs "
              f"{settings.bs_bytes} bytes")
        print("\n".join(common.environment_lines(common.describe_environment(data.path, data.directory), tools)) + "\n")
        comparison.prepare_table()
        comparison.run_jobs()
        report(comparison.results, tools.fio_version, settings.repeat)
        if settings.json_out:
            comparison.write_results(tools.fio_version, command)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if data is not None:
            print(f"\n{data.fate()}")
            data.remove_if_ours()
        if made_directory and not os.listdir(settings.directory):
            os.rmdir(settings.directory)
    return 0


if __name__ == "__main__":
    sys.exit(common.run_main(main))
