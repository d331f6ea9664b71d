#!/usr/bin/env bash
# The main job on its default: install what is missing, build, run a short queue-depth
# suite (seq_read_qd / rand_read_qd at qd 1, 4, 16, 32; buffered and direct; io_uring,
# worker and sync; 2 repetitions of 1 s; every read verified) on a temporary 256 MiB file,
# then a short buffer-manager suite (bm_seq_read / bm_rand_read at qd 1 and 32, plus the
# adaptive read stream; hot and thrash regimes of a 64 MiB pool over a 256 MiB table;
# io_uring and the sync path), then 4 concurrent scans (multistream_scan at qd 1 and 32,
# thrash), and write the results (JSON, CSV) and one Markdown report with plots under
# results/. About four minutes.
# Extra arguments go to `iodepth suite qd` (see `iodepth suite --help`), e.g.
#   ./run.sh --filename=/mnt/nvme/t.dat --size=4g --runtime=5s --repetitions=3
source "$(dirname "$0")/scripts/lib.sh"
iodepth_install_deps
iodepth_build "$IODEPTH_ROOT/build/release" -DCMAKE_BUILD_TYPE=Release -DIODEPTH_BUILD_TESTS=OFF
iodepth="$IODEPTH_ROOT/build/release/tools/iodepth"
stem="results/quick-$(date -u +%Y%m%d-%H%M%S)"
"$iodepth" suite qd --runtime=1s --ramp_time=250ms --repetitions=2 --verify=1 \
  --json="$stem.json" --csv="$stem.csv" "$@"
"$iodepth" suite bm --regimes=hot,thrash --depths=1,32 --backends=io_uring,sync --runtime=1s \
  --ramp_time=250ms --repetitions=2 --verify=1 --json="$stem-bm.json" --csv="$stem-bm.csv"
"$iodepth" suite scan --regimes=thrash --depths=1,32 --backends=io_uring,sync --runtime=1s \
  --ramp_time=250ms --repetitions=2 --json="$stem-scan.json" --csv="$stem-scan.csv"
"$iodepth" report "$stem.json" "$stem-bm.json" "$stem-scan.json" --out "$stem-report"
echo "report: $stem-report/report.md"
