#!/bin/sh
# Runs inside the clean chroot of deb_install_check.sh, after apt-get installed the two
# packages: the command runs a job, a suite and a report from its installed report package,
# and the -dev package's pkg-config module and CMake package are where they should be.
set -eu
fail() { echo "deb_install_inside: $*" >&2; exit 1; }
work=/var/tmp/iodepth-deb-check
rm -rf "$work"
mkdir -p "$work"
command -v iodepth >/dev/null || fail "no iodepth on PATH after apt-get install"
[ "$(command -v iodepth)" = /usr/bin/iodepth ] || fail "iodepth is $(command -v iodepth), not /usr/bin/iodepth"
iodepth --version
for engine in io_uring worker; do
  for direct in 0 1; do
    iodepth bench --filename "$work/bench.dat" --size 16m --rw randread --bs 4k --iodepth 4 \
      --engine "$engine" --direct "$direct" --runtime 200ms --ramp_time 0 --verify 1 --direct_fallback \
      --output-format json --output "$work/bench-$engine-$direct.json"
    grep -q '"iops"' "$work/bench-$engine-$direct.json" || fail "bench $engine direct=$direct wrote no IOPS"
  done
done
# A suite, then the report: the Python report package and the schema come from
# /usr/share/iodepth, since no source tree is here.
iodepth suite qd --filename "$work/qd.dat" --depths 1,4 --modes direct,buffered --backends io_uring \
  --repetitions 1 --runtime 150ms --ramp_time 0 --size 32m --json "$work/qd.json"
iodepth report "$work/qd.json" --out "$work/report"
[ -s "$work/report/report.md" ] || fail "iodepth report wrote no report.md"
ls "$work"/report/*.png >/dev/null 2>&1 || fail "iodepth report drew no plot (matplotlib)"
[ "$(pkg-config --modversion iodepth)" = 0.1.0 ] || fail "pkg-config --modversion iodepth: $(pkg-config --modversion iodepth 2>&1)"
pkg-config --cflags --libs iodepth | grep -q -- '-liodepth_io' || fail "pkg-config --libs iodepth lacks -liodepth_io"
ls /usr/lib/*/cmake/iodepth/iodepthConfig.cmake >/dev/null || fail "no CMake package under /usr/lib/<multiarch>/cmake/iodepth"
[ -f /usr/include/iodepth/io/io_queue.h ] || fail "no /usr/include/iodepth/io/io_queue.h"
rm -rf "$work"
echo "deb_install_inside: the command ran a job, a suite and a report; the -dev package is in place"
