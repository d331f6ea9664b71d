"""fio.bm: the buffer manager's read streams against fio, in one run on one table file.

Runs `iodepth suite bm` cells one repetition at a time and, beside each fixed-distance
cell, the fio job that reads the same bytes the same way, interleaved (iodepth qd1, fio
qd1, iodepth qd4, fio qd4, ..., then the adaptive cell; then the next repetition), so
drift of a noisy device lands on both alike. Prints medians and ratios:

  bm_seq_read_qd{N}/<mode>/io_uring/<regime>  vs  fio --rw=read --bs=<io_combine>
      --iodepth=N --direct=<mode> --ioengine=io_uring --size=<W>: the same request size and
      depth over the same W bytes of the same file. Compared: MB/s of page data delivered
      (iodepth) against MB/s read (fio).
  bm_seq_read_adaptive/...  against the best fixed distance of the same run.
  bm_rand_read_qd1/direct/sync/hot (with --hot): page fetches per second and per CPU
      second (all hits; the cost of a fetch itself).

With --suite=scan it runs multistream_scan_qd{N}/<mode>/io_uring/<regime> (S = --streams
concurrent scans, each over its W/S pages) against fio with S jobs of the same kind:
--numjobs=S --size=W/S --offset_increment=W/S --group_reporting, compared on total MB/s.

fio runs with --readonly (it never writes the table), --time_based, the same runtime and
ramp, and otherwise its defaults. The table is made by iodepth (`iodepth suite bm` loads
it when missing) and removed at the end unless --keep or it existed before.

Usage: /usr/bin/python3 -m fio.bm [--suite=bm|scan] [--streams=4] [--memory=64MiB] [--regime=thrash]
                    [--mode=direct] [--depths=1,4,16,32] [--runtime=3s] [--ramp_time=1s] [--repeat=3]
                    [--io_combine=128KiB] [--filename=PATH] [--keep] [--hot] [--json=FILE]
Environment: IODEPTH_BIN (default build/release/cli/iodepth, else iodepth on PATH).
Exit status 0 when every run worked, whatever the ratios; non-zero on an error.
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile

from . import common
from .common import die

FACTORS = {"hot": 0.5, "pressure": 1.5, "thrash": 4.0}
PAGE_BYTES = 8192


def run(command, what):
    """command's stdout; its failure is an error with the end of its stderr."""
    print("+ " + common.command_text(command), flush=True)
    done = common.run_process(command, capture_output=True, text=True)
    if done.returncode != 0:
        die(f"{what} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout


def iodepth_cell(args, iodepth, cell, scratch):
    """The measured cell of one `iodepth suite bm|scan --only CELL --repetitions=1` run."""
    out = os.path.join(scratch, "cell.json")
    suite = "scan" if cell.startswith("multistream_scan") else "bm"
    extra = [f"--streams={args.streams}"] if suite == "scan" else []
    run([iodepth, "suite", suite, *extra, f"--only={cell}", "--repetitions=1", f"--memory={args.memory}",
         f"--regimes={cell.split('/')[3]}", f"--runtime={args.runtime}", f"--ramp_time={args.ramp_time}",
         f"--io_combine={args.io_combine}", f"--filename={args.filename}", f"--json={out}",
         f"--csv={os.path.join(scratch, 'cell.csv')}"], f"iodepth {cell}")
    what = f"iodepth {cell}"
    cells = common.get(common.load_json(out, what), ["cells"], what)
    matches = [c for c in cells if isinstance(c, dict) and c.get("id") == cell]
    if not matches or matches[0].get("status") != "ok":
        die(f"iodepth {cell}: not measured ({matches[0].get('reason') if matches else 'no such cell'})")
    return matches[0]


def fio_seq(args, qd, working_set):
    """fio's read bandwidth (bytes/s) over the same working set, at the same depth."""
    jobs = args.streams if args.suite == "scan" else 1
    share = working_set // jobs // PAGE_BYTES * PAGE_BYTES
    parallel = [f"--numjobs={jobs}", f"--offset_increment={share}", "--group_reporting", "--thread"] if jobs > 1 else []
    what = f"fio qd {qd}"
    output = run(["fio", "--name=bm", *parallel, f"--filename={args.filename}", "--rw=read",
                  f"--bs={args.combine_bytes}", f"--iodepth={qd}", f"--direct={1 if args.mode == 'direct' else 0}",
                  "--ioengine=io_uring", f"--size={share}", "--time_based", f"--runtime={args.runtime}",
                  f"--ramp_time={args.ramp_time}", "--readonly", "--invalidate=1", "--output-format=json"], what)
    job = common.get(common.parse_json_text(output, what), ["jobs", 0], what)
    if job.get("error", 0):
        die(f"fio qd {qd}: job error {job['error']}")
    return common.number(job, ["read", "bw_bytes"], what)


def size_flag(text, flag):
    size = common.parse_size_bytes(text)
    if size is None:
        die(f"{flag}={text} is not a size like 64MiB, 128k or 4096")
    return size


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python3 -m fio.bm", description=__doc__.split("\n\n")[0])
    p.add_argument("--suite", default="bm", choices=["bm", "scan"])
    p.add_argument("--streams", type=int, default=4, help="scan: concurrent scans (and fio jobs)")
    p.add_argument("--memory", default="64MiB")
    p.add_argument("--regime", default="thrash", choices=sorted(FACTORS))
    p.add_argument("--mode", default="direct", choices=["direct", "buffered"])
    p.add_argument("--depths", default="1,4,16,32")
    p.add_argument("--runtime", default="3s")
    p.add_argument("--ramp_time", default="1s")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--io_combine", default="128KiB")
    p.add_argument("--filename", default=os.path.join(os.environ.get("IODEPTH_TMPDIR", "/var/tmp"),
                                                      "iodepth-fio-bm.tbl"))
    p.add_argument("--keep", action="store_true")
    p.add_argument("--hot", action="store_true", help="also measure hot-regime fetches per CPU second")
    p.add_argument("--json", help="write the figures here as JSON")
    args = p.parse_args(argv)
    if not 1 <= args.repeat <= 99:
        die("--repeat must be 1..99")
    try:
        args.depth_list = [int(d) for d in args.depths.split(",")]
    except ValueError:
        die(f"--depths={args.depths} is not a comma-separated list of whole numbers")
    if any(d < 1 or d > 4096 for d in args.depth_list):
        die("--depths: each depth must be 1..4096")
    args.combine_bytes = size_flag(args.io_combine, "--io_combine")
    args.memory_bytes = size_flag(args.memory, "--memory")
    return args


def measure(args, iodepth, scratch):
    working_set = round(FACTORS[args.regime] * args.memory_bytes / PAGE_BYTES) * PAGE_BYTES
    fixed = {qd: {"iodepth": [], "fio": []} for qd in args.depth_list}
    adaptive, hot = [], []
    for rep in range(1, args.repeat + 1):
        print(f"\n== repetition {rep} of {args.repeat}", flush=True)
        workload = "multistream_scan_qd" if args.suite == "scan" else "bm_seq_read_qd"
        for qd in args.depth_list:
            cell = iodepth_cell(args, iodepth, f"{workload}{qd}/{args.mode}/io_uring/{args.regime}", scratch)
            fixed[qd]["iodepth"].append(cell["median"]["bw_bytes"])
            fixed[qd]["fio"].append(fio_seq(args, qd, working_set))
        if args.suite == "bm":
            cell = iodepth_cell(args, iodepth, f"bm_seq_read_adaptive/{args.mode}/io_uring/{args.regime}", scratch)
            adaptive.append((cell["median"]["bw_bytes"], cell["median"]["buffer"]["mean_distance"]))
        if args.hot:
            cell = iodepth_cell(args, iodepth, "bm_rand_read_qd1/direct/sync/hot", scratch)
            hot.append((cell["median"]["iops"], cell["median"]["cpu_ns_per_io"]))
    return fixed, adaptive, hot


def summarise_fixed(args, fixed):
    """Medians and ratio of each fixed distance, printed as a table."""
    mb = 1e6
    name = (f"multistream_scan ({args.streams} scans vs fio numjobs={args.streams})" if args.suite == "scan"
            else "bm_seq_read")
    print(f"\n{name}, {args.mode}, io_uring, {args.regime} (W = {FACTORS[args.regime]} x {args.memory}), "
          f"reads of {args.io_combine}; medians of {args.repeat} interleaved runs (MB/s)")
    print(f"  {'qd':>4} {'iodepth':>9} {'fio':>9} {'ratio':>6}   iodepth runs / fio runs")
    summary = {}
    for qd, runs in fixed.items():
        a, b = statistics.median(runs["iodepth"]), statistics.median(runs["fio"])
        summary[qd] = {"iodepth_bw": a, "fio_bw": b, "ratio": a / b if b else None,
                       "iodepth_runs": runs["iodepth"], "fio_runs": runs["fio"]}
        print(f"  {qd:>4} {a / mb:>9.1f} {b / mb:>9.1f} {a / b if b else 0:>6.3f}   "
              f"{' '.join(f'{x / mb:.0f}' for x in runs['iodepth'])} / "
              f"{' '.join(f'{x / mb:.0f}' for x in runs['fio'])}")
    return summary


def summarise(args, fixed, adaptive, hot):
    mb = 1e6
    summary = {"fixed": summarise_fixed(args, fixed), "adaptive": {}, "hot": {}}
    if not adaptive:
        return summary
    best_qd = max(fixed, key=lambda qd: summary["fixed"][qd]["iodepth_bw"])
    best = summary["fixed"][best_qd]["iodepth_bw"]
    bw = statistics.median(x for x, _ in adaptive)
    distance = statistics.median(d for _, d in adaptive)
    summary["adaptive"] = {"bw": bw, "mean_distance": distance, "best_fixed_qd": best_qd, "best_fixed_bw": best,
                           "ratio": bw / best if best else None}
    print(f"  adaptive {bw / mb:.1f} MB/s (mean distance {distance:.1f}) = {bw / best if best else 0:.3f}x the best "
          f"fixed distance (qd {best_qd}, {best / mb:.1f} MB/s)")
    if hot:
        fetches = statistics.median(x for x, _ in hot)
        cpu_ns = statistics.median(c for _, c in hot)
        per_core = 1e9 / cpu_ns if cpu_ns else 0
        summary["hot"] = {"fetches_per_s": fetches, "cpu_ns_per_fetch": cpu_ns, "fetches_per_cpu_s": per_core}
        print(f"  hot (bm_rand_read_qd1/direct/sync/hot): {fetches / 1e6:.2f} M fetches/s, "
              f"{cpu_ns:.0f} ns CPU per fetch = {per_core / 1e6:.2f} M fetches per CPU second")
    return summary


def main(argv):
    args = parse_args(argv)
    common.ensure_fio()
    iodepth = common.find_iodepth()
    existed = os.path.exists(args.filename)
    scratch = tempfile.mkdtemp(prefix="iodepth-fio-bm-")
    try:
        fixed, adaptive, hot = measure(args, iodepth, scratch)
        summary = summarise(args, fixed, adaptive, hot)
        if args.json:
            with open(args.json, "w", encoding="utf-8") as f:
                json.dump({"args": vars(args), "summary": summary}, f, indent=2, default=str)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        # Never a file this run did not make.
        if not existed and not args.keep and os.path.exists(args.filename):
            os.remove(args.filename)
    return 0


if __name__ == "__main__":
    sys.exit(common.run_main(main, error_prefix="fio.bm: "))
