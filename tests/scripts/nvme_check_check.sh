#!/usr/bin/env bash
# The NVMe device check on a bare machine: scripts/nvme-bundle.sh makes the bundle from
# BUILD_DIR, which is carried into a clean Debian 12 chroot without fio, jq or Python
# (mmdebstrap --variant=minbase, tests/packaging/chroot_lib.sh) and run there unattended:
#   - with no --directory it finds no NVMe filesystem (none is visible in a chroot) and
#     refuses, naming --directory;
#   - `nvme-check --quick --directory DIR` measures every cell with both tools, runs the
#     matrix, and leaves its results directory and no data file;
#   - a second run, on the bundle's own glibc (as on a host older than Debian 12), stopped
#     by SIGTERM, keeps the runs that finished, marks itself interrupted and removes its
#     data too.
# The results come out of the chroot and are checked here, then the matrix's report is made
# from them on this machine, as docs/BENCHMARKS.md says to do where the server has no Python.
#   tests/scripts/nvme_check_check.sh BUILD_DIR
# Skipped, with the reason, where no chroot can be made (not root, no mmdebstrap, no archive).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="$(cd "${1:?usage: tests/scripts/nvme_check_check.sh BUILD_DIR}" && pwd)"

chroot_check=nvme_check_check
# shellcheck source=tests/packaging/chroot_lib.sh
source "$root/tests/packaging/chroot_lib.sh"
chroot_require
command -v jq >/dev/null || chroot_skip "jq is missing here, to read the results (apt-get install jq)"
chroot_workdir
work="$chroot_work"

# Any build type: this checks the bundle and the script, not the figures.
"$root/scripts/nvme-bundle.sh" --build-dir "$build" --out "$work/bundle" --any-build-type >"$work/bundle.log" 2>&1 ||
  { cat "$work/bundle.log" >&2; chroot_fail "scripts/nvme-bundle.sh failed (above)"; }
bundle="$(find "$work/bundle" -mindepth 1 -maxdepth 1 -type d -name 'iodepth-nvme-check-*')"
name="$(basename "$bundle")"
check="/opt/$name/nvme-check"

# Inside: nothing the bundle carries is installed; the search for NVMe refuses; the quick
# check runs; a second one, on the bundle's glibc, is stopped by TERM once two runs have
# finished.
# shellcheck disable=SC2016  # Expanded inside the chroot.
term_run='mkdir /var/tmp/term-data
IODEPTH_BUNDLE_GLIBC=1 '"$check"' --quick --directory /var/tmp/term-data --out /var/tmp/term-out >/var/tmp/term.log 2>&1 & pid=$!
for _ in $(seq 600); do [ "$(ls /var/tmp/term-out/runs/*.json 2>/dev/null | wc -l)" -ge 2 ] && break; sleep 0.1; done
kill -TERM "$pid"; status=0; wait "$pid" || status=$?
[ "$status" = 143 ] || { cat /var/tmp/term.log; echo "TERM run: exit status $status, not 143"; exit 1; }
[ -z "$(ls -A /var/tmp/term-data)" ] || { echo "TERM run left data: $(ls -A /var/tmp/term-data)"; exit 1; }'
chroot_make minbase \
  "copy-in '$bundle' /opt" \
  "chroot \"\$1\" sh -c 'for t in fio jq python3; do if command -v \$t; then echo \"\$t is installed\"; exit 1; fi; done'" \
  "chroot \"\$1\" sh -c '$check --dry-run >/tmp/find.log 2>&1; echo \$? >/tmp/find.status'" \
  "copy-out /tmp/find.log /tmp/find.status '$work'" \
  "chroot \"\$1\" sh -c 'mkdir /var/tmp/nvme-data && $check --quick --directory /var/tmp/nvme-data --out /var/tmp/nvme-out'" \
  "chroot \"\$1\" sh -c '[ -z \"\$(ls -A /var/tmp/nvme-data)\" ] || { echo left data: \$(ls -A /var/tmp/nvme-data); exit 1; }'" \
  "chroot \"\$1\" bash -c '$term_run'" \
  "copy-out /var/tmp/nvme-out /var/tmp/term-out '$work'"

grep -E '^nvme-check: (warning|directory|[0-9]+ cells|complete|interrupted|removed)' "$work/log" || true

expect() { grep -qE -- "$2" "$1" || { cat "$1" >&2; chroot_fail "$1 lacks /$2/"; }; }
count() { find "$1" -maxdepth 1 -name "$2" | wc -l; }

[ "$(cat "$work/find.status")" = 2 ] || chroot_fail "nvme-check without --directory exited $(cat "$work/find.status"), not 2"
expect "$work/find.log" "found no writable local filesystem on an NVMe device.*--directory"

out="$work/nvme-out"
expect "$out/STATUS" "^complete: 28 runs$"
if [ "$(count "$out/runs" '*-iodepth-*.json')" != 14 ] || [ "$(count "$out/runs" '*-fio-*.json')" != 14 ]; then
  chroot_fail "expected 14 runs of each tool in $out/runs: $(ls "$out/runs")"
fi
[ "$(jq -r '.["fio version"]' "$out/runs/0002-fio-randread-direct-qd1-j1-r1.json")" != null ] ||
  chroot_fail "the fio run's JSON has no fio version"
[ "$(wc -l <"$out/summary.csv")" = 15 ] || chroot_fail "summary.csv should hold a header and 14 cells: $(cat "$out/summary.csv")"
jq -e 'length == 14 and all(.[]; .iodepth_runs == 1 and .fio_runs == 1 and .iops_ratio > 0)' "$out/cells.json" >/dev/null ||
  chroot_fail "cells.json lacks a cell or a ratio: $(cat "$out/cells.json")"
expect "$out/report.md" "^\| randread-direct-qd256-j1 \| 1 / 1 \| [0-9]+ \| [0-9]+ \|"
expect "$out/report.md" "^\| randread-direct-qd32-j8 \|"
expect "$out/report.md" "iodepth matrix --collect --out .*/matrix"
expect "$out/environment.txt" "^fio=fio-3"
expect "$out/environment.txt" "^iodepth=0\."
expect "$out/environment.txt" "^python3=$"
expect "$out/environment.txt" "^kernel=$(uname -r)"
expect "$out/MATRIX" "complete; its report was not made \(no /usr/bin/python3 here\)"
for file in journal.jsonl qd-nocap.json bm-nocap.json matrix.csv; do
  [ -s "$out/matrix/$file" ] || chroot_fail "the matrix wrote no $file"
done

term="$work/term-out"
expect "$term/STATUS" "^interrupted by SIGTERM after [0-9]+ of 28 runs"
[ "$(count "$term/runs" '*.json')" -ge 2 ] || chroot_fail "the TERM run kept fewer than 2 runs: $(ls "$term/runs")"
[ "$(count "$term/runs" '*.part')" = 0 ] || chroot_fail "the TERM run left a partial run: $(ls "$term/runs")"

# The report the server could not make, made here from the results directory alone.
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
  "$bundle/bin/iodepth" matrix --collect --out "$out/matrix" >"$work/collect.log" 2>&1 ||
    { cat "$work/collect.log" >&2; chroot_fail "iodepth matrix --collect could not make the report here"; }
  [ -s "$out/matrix/report/report.md" ] || chroot_fail "iodepth matrix --collect wrote no report.md"
  echo "nvme_check_check: the matrix's report made afterwards on this machine"
fi
echo "nvme_check_check: $name ran unattended in a clean bookworm chroot without fio, jq or Python: 28 runs, the matrix, a TERM that kept $(count "$term/runs" '*.json') runs, no data left"
