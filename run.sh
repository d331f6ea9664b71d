#!/usr/bin/env bash
# The main job on its default: install what is missing, build, run the experiment matrix
# (`iodepth matrix`: io_patterns, seq_read_qd, rand_read_qd, bm_* and multistream_scan at
# qd 1, 4, 16, 32; buffered and direct; io_uring and sync; regimes hot, pressure and
# thrash; with no memory cap and under a 128 MiB cgroup cap, and every suite's cells again
# at working set / memory 0.5, 2 and 8; 5 repetitions of 400 ms in ABBA order, then more for
# the comparisons still inconclusive, within 8 minutes) into results/matrix, cross-check
# eight of its cells (seq_read and rand_read, qd 1 and 32, direct and buffered) against fio,
# and write the report with its guidance to results/matrix/report/report.md.
#
# The matrix resumes: run ./run.sh again after an interruption and it continues where it
# stopped; once complete, a rerun only rewrites the results and the report. Extra
# arguments go to `iodepth matrix` (see `iodepth matrix --help` and docs/BENCHMARKS.md):
#   ./run.sh --fresh                                  # start over (the old journal is kept)
#   ./run.sh --directory=/mnt/nvme --memory-caps=none,1GiB --runtime=2s
#   ./run.sh --memory-caps=none                       # where no memory cgroup can be made
source "$(dirname "$0")/scripts/lib.sh"
iodepth_install_deps
iodepth_build "$IODEPTH_ROOT/build/release" -DCMAKE_BUILD_TYPE=Release -DIODEPTH_BUILD_TESTS=OFF
iodepth="$IODEPTH_ROOT/build/release/cli/iodepth"
out="results/matrix"
"$iodepth" matrix --out "$out" --report=0 "$@"
# fio on the same file and device, interleaved with iodepth: the report's cross-check.
IODEPTH_BIN="$iodepth" PYTHONPATH="$IODEPTH_ROOT${PYTHONPATH:+:$PYTHONPATH}" /usr/bin/python3 -m fio.crosscheck --runtime=1s --ramp_time=250ms --repeat=3 \
  --size=256m --json="$out/fio-crosscheck.json" >"$out/fio-crosscheck.log"
# The cross-check file first: on a cell id both hold, the matrix's cell (later) wins.
shopt -s nullglob
matrix_files=("$out"/*-nocap.json "$out"/*-cap*.json)
"$iodepth" report "$out/fio-crosscheck.json" "${matrix_files[@]}" --out "$out/report"
echo "report: $out/report/report.md"
