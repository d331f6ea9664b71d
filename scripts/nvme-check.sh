#!/usr/bin/env bash
# scripts/nvme-check.sh (`nvme-check` in the bundle): the device check for an NVMe server,
# unattended, in under 10 minutes, with nothing but bash, coreutils and what the bundle
# carries (iodepth, fio and jq with their libraries; scripts/nvme-bundle.sh makes it).
#
#   ./nvme-check [--directory DIR [--force]] [--out DIR] [--quick] [--dry-run]
#                [--size 8g] [--runtime 2s] [--ramp_time 500ms] [--repeat 2] [--no-matrix]
#   ./nvme-check --summarise OUT      remake OUT's summary and report.md from its runs
#
# 1. Finds a local NVMe filesystem (ext4, xfs, btrfs, f2fs on /dev/nvme*, also under LVM or
#    md; the one with the most free space), or takes --directory. tmpfs, network and other
#    filesystems that are not a local block device are refused unless --directory is given
#    with --force. Checks the free space for every file first (iodepth's rule: 5% of the
#    filesystem or 1 GiB, whichever is larger, stays free); --size shrinks to fit, down to 1g.
# 2. Records the machine in OUT/environment.txt: device model, queue settings, kernel, CPUs,
#    memory, fio's and iodepth's versions.
# 3. Runs `iodepth bench` and fio side by side on one file, interleaved (iodepth then fio,
#    fio then iodepth in the next round), 4 KiB io_uring: randread direct at qd 1, 4, 16, 32,
#    64, 128, 256; randread direct at qd 32 with 2, 4 and 8 jobs; read direct and randread
#    buffered (each run starting with the file's pages dropped) at qd 1 and 32.
# 4. Runs the short matrix (profiles/nvme-check.json, about 4 minutes) into OUT/matrix.
# 5. Writes OUT/summary.csv and OUT/report.md (medians per cell, iodepth/fio ratios), and the
#    matrix's report where /usr/bin/python3 with matplotlib is there; elsewhere report.md
#    says which command makes it later on another machine.
#
# It writes only into OUT (which must be new or empty) and into one new directory it makes
# inside the data directory, removed at the end with every data file in it; results stay.
# Each run's JSON is written as it finishes, so Ctrl-C or a kill (TERM, HUP) keeps every
# finished run and still removes the data. It prints its estimate before it starts. Exit
# status 0 when every run worked, 1 when a run failed (the others go on), 2 on a refusal,
# 130/143/129 after INT/TERM/HUP. --quick is a smoke test (tiny files, 200 ms runs, one
# round, a matrix of 16 runs); --dry-run stops after the plan and touches nothing.
set -uo pipefail

readonly kName="nvme-check"
readonly kGiB=$((1 << 30))
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

die() { echo "$kName: $*" >&2; exit 2; }
say() { echo "$kName: $*"; }
warn() { echo "$kName: warning: $*" >&2; }

# ---- Flags ------------------------------------------------------------------------------

directory="" force=0 out="" quick=0 dry_run=0 matrix=1 summarise_only=""
size_text="8g" runtime_text="2s" ramp_text="500ms" repeat=2 size_given=0
parse_flags() {
  while [ $# -gt 0 ]; do
    local flag="$1" value=""
    case "$flag" in
      --*=*) value="${flag#*=}"; flag="${flag%%=*}" ;;
      --directory|--out|--size|--runtime|--ramp_time|--repeat|--summarise)
        [ $# -ge 2 ] || die "$flag needs a value"; value="$2"; shift ;;
    esac
    case "$flag" in
      --directory) directory="$value" ;;
      --out) out="$value" ;;
      --size) size_text="$value"; size_given=1 ;;
      --runtime) runtime_text="$value" ;;
      --ramp_time) ramp_text="$value" ;;
      --repeat) repeat="$value" ;;
      --summarise) summarise_only="$value" ;;
      --force) force=1 ;;
      --quick) quick=1 ;;
      --dry-run) dry_run=1 ;;
      --no-matrix) matrix=0 ;;
      -h|--help) sed -n '2,32p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
      *) die "unknown argument '$1' (--help lists the flags)" ;;
    esac
    shift
  done
  if [ "$force" = 1 ] && [ -z "$directory" ]; then
    die "--force applies only to a --directory you name; the directory found on its own is always a local NVMe filesystem"
  fi
  [[ "$repeat" =~ ^[1-9][0-9]?$ ]] || die "--repeat must be a whole number from 1 to 99, got '$repeat'"
}

# Bytes of SIZE (k, m, g, t: powers of 1024, as fio and iodepth read them).
to_bytes() {
  [[ "$1" =~ ^([0-9]+)([kKmMgGtT]?)(i?[bB])?$ ]] || return 1
  local n="${BASH_REMATCH[1]}"
  case "${BASH_REMATCH[2]}" in
    k|K) echo $((n << 10)) ;; m|M) echo $((n << 20)) ;; g|G) echo $((n << 30)) ;; t|T) echo $((n << 40)) ;;
    *) echo "$n" ;;
  esac
}

# Milliseconds of a duration: 500ms, 2s, or a bare number of seconds.
to_ms() {
  [[ "$1" =~ ^([0-9]+)(ms|s)?$ ]] || return 1
  if [ "${BASH_REMATCH[2]}" = ms ]; then echo "${BASH_REMATCH[1]}"; else echo $((BASH_REMATCH[1] * 1000)); fi
}

gib() { awk -v b="$1" 'BEGIN { if (b >= 2^30) printf "%.1f GiB", b / 2^30; else printf "%d MiB", b / 2^20 }'; }

# ---- Tools: the bundle's, else the repository's build and PATH ---------------------------

iodepth="" fio="" jq="" profile=""
find_tools() {
  if [ -x "$here/bin/iodepth" ] && [ -x "$here/bin/fio" ]; then
    iodepth="$here/bin/iodepth" fio="$here/bin/fio" jq="$here/bin/jq" profile="$here/profiles/nvme-check.json"
  else
    iodepth="${IODEPTH_BIN:-$here/../build/release/cli/iodepth}"
    fio="$(command -v fio || true)" jq="$(command -v jq || true)" profile="$here/../profiles/nvme-check.json"
  fi
  iodepth="${IODEPTH_BIN:-$iodepth}" fio="${FIO_BIN:-$fio}" jq="${JQ_BIN:-$jq}"
  "$iodepth" --version >/dev/null 2>&1 ||
    die "cannot run iodepth ($iodepth): run the bundle's nvme-check, or build it (build/release) or set IODEPTH_BIN"
  if [ -z "$fio" ] || ! "$fio" --version >/dev/null 2>&1; then
    die "cannot run fio (${fio:-not on PATH}): run the bundle's nvme-check, which carries it, or set FIO_BIN"
  fi
  if [ -z "$jq" ] || ! "$jq" --version >/dev/null 2>&1; then
    warn "no jq: every run's JSON is kept, but no summary is made now; make it on any machine with jq: $0 --summarise OUT"
    jq=""
  fi
  [ -r "$profile" ] || die "the matrix profile $profile is missing"
}

# ---- The directory and its device ---------------------------------------------------------

# Local block-device filesystems measured without --force; anything else (tmpfs, nfs, cifs,
# ceph, fuse, 9p, overlayfs, ...) is memory or the network, or hides the device.
is_local_fs() { case "$1" in ext2/ext3|ext4|xfs|btrfs|f2fs|zfs|bcachefs|jfs|nilfs) return 0 ;; *) return 1 ;; esac; }

# The block device (sysfs name) holding DIR: its st_dev through /sys/dev/block, else the
# source of the mount that holds it (btrfs reports an anonymous st_dev); "" when unknown.
device_of() {
  local dev major minor link
  dev="$(stat -c %d "$1" 2>/dev/null)" || return 0
  major=$(((dev >> 8) & 0xfff | ((dev >> 32) & ~0xfff)))
  minor=$(((dev & 0xff) | ((dev >> 12) & ~0xff)))
  link="/sys/dev/block/$major:$minor"
  if [ -e "$link" ]; then basename "$(readlink -f "$link")"; return 0; fi
  local source
  source="$(mount_field "$1" source)"
  case "$source" in /dev/*) [ -e "$source" ] && basename "$(readlink -f "$source")" ;; esac
  return 0
}

# FIELD (source, fstype or target) of the mount holding DIR, from /proc/self/mountinfo: the
# longest mount point that is a prefix of DIR's real path; "" when none is visible (a chroot).
mount_field() {
  local path
  path="$(readlink -f "$1")"
  awk -v path="$path" -v want="$2" '
    function unescape(s) { gsub(/\\040/, " ", s); return s }
    { target = unescape($5); for (i = 7; $i != "-"; i++) {}
      prefix = target == "/" ? "/" : target "/"
      if ((path == target || index(path "/", prefix) == 1) && length(target) >= best) {
        best = length(target); f["target"] = target; f["fstype"] = $(i + 1); f["source"] = $(i + 2) } }
    END { print f[want] }' /proc/self/mountinfo 2>/dev/null
}

# The whole disks under a block device: through device-mapper and md (slaves/) down to the
# leaves, each partition replaced by its disk.
disks_of() {
  local name="$1" slave
  if [ -d "/sys/class/block/$name/slaves" ] && [ -n "$(ls -A "/sys/class/block/$name/slaves" 2>/dev/null)" ]; then
    for slave in "/sys/class/block/$name/slaves"/*; do disks_of "$(basename "$slave")"; done
  elif [ -e "/sys/class/block/$name/partition" ]; then
    basename "$(dirname "$(readlink -f "/sys/class/block/$name")")"
  elif [ -e "/sys/class/block/$name" ]; then
    echo "$name"
  fi
}

nvme_disks_of_dir() {
  local device
  device="$(device_of "$1")"
  if [ -n "$device" ]; then disks_of "$device" | sort -u | grep '^nvme'; fi
  return 0
}

# The local NVMe filesystem with the most space available: a writable ext4/xfs/... mount
# whose device is NVMe; on the root filesystem its /var/tmp. Dies listing what it saw.
find_nvme_directory() {
  local target fstype best="" best_avail=-1 seen=() avail dir
  while read -r target fstype; do
    is_local_fs "$fstype" || continue
    dir="$target"
    [ "$target" = / ] && [ -d /var/tmp ] && [ "$(stat -c %d /var/tmp)" = "$(stat -c %d /)" ] && dir=/var/tmp
    if [ ! -d "$dir" ] || [ ! -w "$dir" ]; then continue; fi
    seen+=("$dir ($fstype on $(device_of "$dir" || true))")
    [ -n "$(nvme_disks_of_dir "$dir")" ] || continue
    avail=$(( $(stat -f -c '%a * %S' "$dir") ))
    if [ "$avail" -gt "$best_avail" ]; then best="$dir" best_avail="$avail"; fi
  done < <(awk '{ for (i = 7; $i != "-"; i++) {}; gsub(/\\040/, " ", $5); print $5, $(i + 1) }' \
             /proc/self/mountinfo 2>/dev/null | sort -u)
  [ -n "$best" ] || die "found no writable local filesystem on an NVMe device (seen: ${seen[*]:-none}); name one with --directory DIR"
  echo "$best"
}

# Refuses what is not a local block device unless --force; warns where it is not NVMe.
check_directory() {
  [ -d "$directory" ] || die "--directory $directory is not a directory"
  [ -w "$directory" ] || die "--directory $directory is not writable by $(id -un 2>/dev/null || id -u)"
  directory="$(cd "$directory" && pwd -P)"
  fs_type="$(stat -f -c %T "$directory")"
  if ! is_local_fs "$fs_type"; then
    local what="not a local block-device filesystem"
    case "$fs_type" in
      tmpfs|ramfs) what="memory, not a device" ;;
      nfs*|cifs|smb*|ceph|afs|gfs*|ocfs2|lustre|glusterfs|fuse*|v9fs|virtiofs) what="a network or user-space filesystem" ;;
      overlayfs) what="an overlay, whose device is hidden" ;;
    esac
    [ "$force" = 1 ] || die "$directory is on $fs_type ($what): its figures would not be the device's. Use a directory on the NVMe device, or add --force to measure it anyway"
    warn "$directory is on $fs_type ($what); measuring it as --force asks"
  fi
  nvme_disks="$(nvme_disks_of_dir "$directory" | tr '\n' ' ')"
  [ -n "$nvme_disks" ] || warn "$directory is not on an NVMe device (device: $(device_of "$directory" || true)${fs_type:+, $fs_type}); measuring it anyway, recorded in environment.txt"
}

# ---- The plan -------------------------------------------------------------------------------

# Cells: "rw direct qd jobs", in the order they run in each round.
cells=(
  "randread 1 1 1" "randread 1 4 1" "randread 1 16 1" "randread 1 32 1" "randread 1 64 1" "randread 1 128 1"
  "randread 1 256 1" "randread 1 32 2" "randread 1 32 4" "randread 1 32 8"
  "read 1 1 1" "read 1 32 1" "randread 0 1 1" "randread 0 32 1"
)
cell_id() {
  local mode=direct
  [ "$2" = 1 ] || mode=buffered
  echo "$1-$mode-qd$3-j$4"
}

matrix_args=()
plan_settings() {
  if [ "$quick" = 1 ]; then
    [ "$size_given" = 1 ] || size_text="64m"
    runtime_text="200ms" ramp_text="100ms" repeat=1
    matrix_args=("--workloads=rand_read_qd,bm_rand_read" "--depths=1,256" --regimes=thrash --runtime=100ms
                 --ramp_time=0 --size=64MiB --memory=8MiB --repetitions=2 --max-repetitions=2)
  fi
  size_bytes="$(to_bytes "$size_text")" || die "--size '$size_text' is not a size such as 8g or 512m"
  runtime_ms="$(to_ms "$runtime_text")" || die "--runtime '$runtime_text' is not a duration such as 2s or 500ms"
  ramp_ms="$(to_ms "$ramp_text")" || die "--ramp_time '$ramp_text' is not a duration such as 500ms"
  [ "$size_bytes" -ge $((16 << 20)) ] || die "--size must be at least 16m"
  [ "$runtime_ms" -ge 100 ] || die "--runtime must be at least 100ms"
}

# The matrix's files and runs, from iodepth's own view of the profile (--print-config, --list).
matrix_runs=0 matrix_bytes=0 matrix_runtime_ms=0
plan_matrix() {
  [ "$matrix" = 1 ] || return 0
  local config list
  config="$("$iodepth" matrix --config "$profile" "${matrix_args[@]}" --print-config)" ||
    die "iodepth cannot read the profile $profile (its message above)"
  list="$("$iodepth" matrix --config "$profile" "${matrix_args[@]}" --list 2>&1)" ||
    die "iodepth matrix --list failed (its message above)"
  local size memory runtime ramp
  size="$(sed -n 's/^  "size": \([0-9]*\),*$/\1/p' <<<"$config")"
  memory="$(sed -n 's/^  "memory": \([0-9]*\),*$/\1/p' <<<"$config")"
  runtime="$(sed -n 's/^  "runtime": "\(.*\)",*$/\1/p' <<<"$config")"
  ramp="$(sed -n 's/^  "ramp_time": "\(.*\)",*$/\1/p' <<<"$config")"
  matrix_runs="$(grep -o '[0-9]* runs of' <<<"$list" | grep -o '^[0-9]*')"
  if [ -z "$size" ] || [ -z "$memory" ] || [ -z "$matrix_runs" ]; then
    die "cannot read the matrix's sizes and runs from iodepth"
  fi
  # qd.dat of `size`, table.dat of 4 x `memory` (the thrash regime's working set).
  matrix_bytes=$((size + 4 * memory))
  matrix_runtime_ms=$(( $(to_ms "$runtime") + $(to_ms "$ramp") ))
}

# Seconds the whole check takes: each side-by-side run its window plus about 0.3 s to start
# and stop (fio's start is the longer), each matrix run its window plus 0.15 s, and writing
# the files at a pessimistic 500 MB/s.
estimate_s() {
  local side=$(( ${#cells[@]} * 2 * repeat * (runtime_ms + ramp_ms + 300) ))
  local mat=$(( matrix_runs * (matrix_runtime_ms + 150) ))
  local files=$(( (size_bytes + matrix_bytes) / 500000000 ))
  echo $(( (side + mat) / 1000 + files + 5 ))
}

# Free space for every file, with iodepth's reserve; shrinks the default --size to fit.
check_space() {
  local avail total reserve need
  avail=$(( $(stat -f -c '%a * %S' "$directory") ))
  total=$(( $(stat -f -c '%b * %S' "$directory") ))
  reserve=$(( total / 20 > kGiB ? total / 20 : kGiB ))
  while [ "$size_given" = 0 ] && [ "$size_bytes" -gt "$kGiB" ] && [ $((size_bytes + matrix_bytes + reserve)) -gt "$avail" ]; do
    size_bytes=$((size_bytes / 2))
  done
  need=$((size_bytes + matrix_bytes + reserve))
  if [ "$need" -gt "$avail" ]; then
    die "$directory has $(gib "$avail") available; the check needs $(gib "$need") ($(gib "$size_bytes") for fio and iodepth's file, $(gib "$matrix_bytes") for the matrix's, $(gib "$reserve") kept free): free some space, give a smaller --size, or --no-matrix"
  fi
}

# ---- The record of the machine --------------------------------------------------------------

sysfs() { [ -r "$1" ] && tr -s ' \n' ' ' <"$1" | sed 's/ $//'; }

disk_facts() {
  local d="$1" q="/sys/block/$1/queue"
  echo "disk.$d.model=$(sysfs "/sys/block/$d/device/model")"
  echo "disk.$d.firmware=$(sysfs "/sys/block/$d/device/firmware_rev")"
  echo "disk.$d.size_bytes=$(( $(sysfs "/sys/block/$d/size" || echo 0) * 512 ))"
  for f in scheduler nr_requests read_ahead_kb logical_block_size physical_block_size max_sectors_kb rotational io_poll; do
    echo "disk.$d.$f=$(sysfs "$q/$f")"
  done
  echo "disk.$d.hw_queues=$(find "/sys/block/$d/mq" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)"
  echo "disk.$d.numa_node=$(sysfs "/sys/block/$d/device/device/numa_node" || sysfs "/sys/block/$d/device/numa_node")"
}

write_environment() {
  local device disks
  device="$(device_of "$directory")"
  disks="$( [ -n "$device" ] && disks_of "$device" | sort -u | tr '\n' ' ')"
  {
    echo "date_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "host=$(uname -n)"
    echo "kernel=$(uname -r) $(uname -v)"
    echo "os=$(sed -n 's/^PRETTY_NAME=//p' /etc/os-release 2>/dev/null | tr -d '"')"
    echo "cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
    echo "cpus_online=$(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc)"
    echo "cpus_usable=$(nproc)"
    echo "numa_nodes=$(find /sys/devices/system/node -maxdepth 1 -name 'node[0-9]*' 2>/dev/null | wc -l)"
    echo "cpufreq_governor=$(sysfs /sys/devices/system/cpu/cpu0/cpufreq/scaling_governor)"
    echo "memory_kib=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)"
    echo "io_uring_disabled=$(sysfs /proc/sys/kernel/io_uring_disabled)"
    echo "directory=$directory"
    echo "filesystem=$fs_type"
    echo "mount_source=$(mount_field "$directory" source)"
    echo "device=$device"
    echo "disks=$disks"
    echo "nvme=${nvme_disks:-no}"
    for d in $disks; do disk_facts "$d"; done
    echo "iodepth=$("$iodepth" --version 2>&1 | head -n 1) ($iodepth)"
    echo "fio=$("$fio" --version 2>&1 | head -n 1) ($fio)"
    echo "jq=${jq:+$("$jq" --version 2>&1 | head -n 1) ($jq)}"
    echo "python3=$( [ -x /usr/bin/python3 ] && /usr/bin/python3 --version 2>&1)"
    echo "command=$0 ${original_args[*]}"
  } >"$out/environment.txt"
  [ -r "$here/MANIFEST.txt" ] && cp "$here/MANIFEST.txt" "$out/bundle-manifest.txt"
  cp "$profile" "$out/profile.json"
}

# ---- Running: every child in the background, so that a signal reaches the trap at once ----

child=""
# Runs CMD with its stdout and stderr into LOG (or inherited for "-"), and waits. A signal
# interrupts the wait and the trap stops the child (non-interactive bash starts background
# children with SIGINT ignored: Ctrl-C reaches this script alone, which sends TERM).
run_child() {
  local log="$1"
  shift
  if [ "$log" = - ]; then "$@" </dev/null & else "$@" </dev/null >"$log" 2>&1 & fi
  child=$!
  wait "$child"
  local status=$?
  child=""
  return "$status"
}

stop_child() {
  [ -n "$child" ] && kill -0 "$child" 2>/dev/null || return 0
  kill -TERM "$child" 2>/dev/null
  local waited=0
  # iodepth stops after the run in progress (< 1 s); fio at once. KILL after 20 s.
  while kill -0 "$child" 2>/dev/null && [ "$waited" -lt 200 ]; do sleep 0.1; waited=$((waited + 1)); done
  kill -KILL "$child" 2>/dev/null
  wait "$child" 2>/dev/null
  child=""
}

# A buffered run starts with none of the file in the page cache, for both tools (fio's
# --invalidate=1 would do it for fio alone): coreutils dd's documented whole-file drop.
drop_cache() { dd if="$data_file" iflag=nocache count=0 status=none; }

tool_command() {
  local tool="$1" rw="$2" direct="$3" qd="$4" jobs="$5" output="$6"
  local common=(--size="$size_bytes" --rw="$rw" --bs=4k --iodepth="$qd" --numjobs="$jobs" --direct="$direct"
                --runtime="${runtime_ms}ms" --ramp_time="${ramp_ms}ms" --output-format=json --output="$output")
  if [ "$tool" = iodepth ]; then
    command=("$iodepth" bench --filename="$data_file" "${common[@]}" --engine=io_uring
             --randseed=$((RANDOM * 32768 + RANDOM + 1)))
  else
    # fio never writes or makes the file; a fresh seed per run and offsets drawn with
    # replacement, as iodepth draws them; no fadvise hint (iodepth gives none); one result
    # for all jobs.
    command=("$fio" --name=nvme-check --filename="$data_file" "${common[@]}" --ioengine=io_uring --time_based
             --group_reporting --readonly --allow_file_create=0 --randrepeat=0 --invalidate=1 --fadvise_hint=0
             --percentile_list=50:95:99 --clat_percentiles=1 --lat_percentiles=1)
    [ "$rw" = randread ] && command+=(--norandommap)
  fi
  return 0
}

runs_done=0 runs_failed=0 runs_total=0
# One run of TOOL on CELL ("rw direct qd jobs") in ROUND: runs/NNNN-TOOL-CELL-rROUND.json
# when it worked, .failed (its exit status and last lines) when it did not.
run_one() {
  local tool="$1" round="$3" rw direct qd jobs id base
  read -r rw direct qd jobs <<<"$2"
  id="$(cell_id "$rw" "$direct" "$qd" "$jobs")"
  base="$(printf '%s/runs/%04d-%s-%s-r%d' "$out" $((runs_done + runs_failed + 1)) "$tool" "$id" "$round")"
  [ "$direct" = 1 ] || drop_cache
  local command
  tool_command "$tool" "$rw" "$direct" "$qd" "$jobs" "$base.json.part"
  echo "${command[*]//.json.part/.json}" >>"$out/commands.txt"
  local status=0
  run_child "$base.log" "${command[@]}" || status=$?
  if [ "$status" = 0 ] && [ -s "$base.json.part" ] && { [ -z "$jq" ] || run_ok "$base.json.part"; }; then
    mv "$base.json.part" "$base.json"
    runs_done=$((runs_done + 1))
    say "$(printf '[%d/%d] %-7s %-26s round %d: %s' $((runs_done + runs_failed)) "$runs_total" "$tool" "$id" "$round" "$(run_line "$base.json")")"
  else
    { echo "exit status $status: ${command[*]}"; tail -n 20 "$base.log" 2>/dev/null; } >"$base.failed"
    rm -f "$base.json.part"
    runs_failed=$((runs_failed + 1))
    warn "$tool $id round $round failed (exit status $status): $(tail -n 1 "$base.log" 2>/dev/null)"
  fi
  [ -s "$base.log" ] || rm -f "$base.log"
}

# The file both tools read: made (and filled) by iodepth, which checks free space and names
# it only once complete; then a few direct reads by each tool show that O_DIRECT and
# io_uring work here before anything is measured.
prepare() {
  say "writing the $(gib "$size_bytes") data file $data_file (iodepth bench)"
  run_child "$out/prepare.log" "$iodepth" bench --rw=randread --filename="$data_file" --size="$size_bytes" \
    --number_ios=64 --ramp_time=0 --iodepth=1 --direct=0 --engine=io_uring --output-format=json \
    --output="$work/prepare.json" || { cat "$out/prepare.log" >&2; die "iodepth could not make or read $data_file (above)"; }
  run_child "$out/preflight-iodepth.log" "$iodepth" bench --rw=randread --filename="$data_file" --size="$size_bytes" \
    --number_ios=64 --ramp_time=0 --iodepth=4 --direct=1 --engine=io_uring --output-format=json \
    --output="$work/preflight.json" || { cat "$out/preflight-iodepth.log" >&2; die "iodepth cannot read $directory with O_DIRECT and io_uring (above)"; }
  run_child "$out/preflight-fio.log" "$fio" --name=preflight --filename="$data_file" --size="$size_bytes" --rw=randread \
    --bs=4k --iodepth=4 --direct=1 --ioengine=io_uring --number_ios=64 --readonly --allow_file_create=0 ||
    { cat "$out/preflight-fio.log" >&2; die "fio cannot read $directory with O_DIRECT and io_uring (above)"; }
  rm -f "$out/prepare.log" "$out/preflight-iodepth.log" "$out/preflight-fio.log"
}

side_by_side() {
  runs_total=$(( ${#cells[@]} * 2 * repeat ))
  local round cell
  for ((round = 1; round <= repeat; round++)); do
    for cell in "${cells[@]}"; do
      # iodepth first in odd rounds, fio first in even ones: neither always runs second.
      if ((round % 2)); then run_one iodepth "$cell" "$round"; run_one fio "$cell" "$round"
      else run_one fio "$cell" "$round"; run_one iodepth "$cell" "$round"; fi
    done
  done
}

matrix_status="not run"
run_matrix() {
  [ "$matrix" = 1 ] || { matrix_status="skipped (--no-matrix)"; return 0; }
  say "the matrix: $matrix_runs runs into $out/matrix (its progress below)"
  matrix_status="interrupted: the units finished before it are in matrix/ (journal.jsonl, results files)"
  local status=0
  run_child - "$iodepth" matrix --config "$profile" "${matrix_args[@]}" --directory "$work/matrix-data" \
    --out "$out/matrix" --report 0 || status=$?
  if [ "$status" != 0 ]; then
    matrix_status="failed (iodepth matrix exit status $status; its messages are in log.txt)"
    return 1
  fi
  matrix_status="complete"
  matrix_report
}

# The matrix's report needs /usr/bin/python3 with matplotlib; without them it is made later
# elsewhere, from the results directory alone.
matrix_report_later="iodepth matrix --collect --out OUT/matrix   (on a machine with python3-matplotlib; or iodepth report OUT/matrix/*-nocap.json --out OUT/matrix/report)"
matrix_report() {
  if [ ! -x /usr/bin/python3 ]; then
    matrix_status="complete; its report was not made (no /usr/bin/python3 here)"
    return 0
  fi
  if run_child "$out/matrix/report.log" "$iodepth" matrix --collect --out "$out/matrix" --report 1; then
    matrix_status="complete; report in matrix/report/report.md"
  else
    matrix_status="complete; its report failed (matrix/report.log: $(tail -n 1 "$out/matrix/report.log"))"
  fi
}

# ---- Figures (jq) ---------------------------------------------------------------------------

# One run's figures from its JSON, the same fields for both tools (both write fio's shape).
# CPU per I/O is usr + sys over the measured window: iodepth's whole process, fio's jobs
# (summed by --group_reporting, whose job_runtime is the jobs' runtimes summed too).
# shellcheck disable=SC2016  # jq's variables, not the shell's.
readonly kRunFigures='.jobs[0] as $j | ($j.read.total_ios // 0) as $ios | {
  iops: $j.read.iops, bw_bytes: $j.read.bw_bytes, ios: $ios, error: ($j.error // 0),
  clat_mean_ns: $j.read.clat_ns.mean, clat_p50_ns: $j.read.clat_ns.percentile["50.000000"],
  clat_p99_ns: $j.read.clat_ns.percentile["99.000000"],
  cpu_ns_per_io: (if $ios > 0 then ($j.usr_cpu + $j.sys_cpu) / 100 * $j.job_runtime * 1e6 / $ios else null end)}'

run_ok() { "$jq" -e "($kRunFigures) | .error == 0 and .ios > 0" "$1" >/dev/null 2>&1; }

run_line() {
  [ -n "$jq" ] || { echo "done"; return 0; }
  "$jq" -r "($kRunFigures) | \"\\(.iops | round) IOPS, CPU \\(.cpu_ns_per_io / 10 | round / 100) us/IO, p99 \\(.clat_p99_ns / 10 | round / 100) us\"" "$1"
}

# runs.jsonl: one line per run (finished or failed), from the files' names and contents.
collect_runs() {
  local dir="$1" file name
  : >"$dir/runs.jsonl"
  for file in "$dir"/runs/*.json "$dir"/runs/*.failed; do
    [ -e "$file" ] || continue
    name="$(basename "$file")"
    [[ "$name" =~ ^([0-9]+)-(iodepth|fio)-([a-z]+)-(direct|buffered)-qd([0-9]+)-j([0-9]+)-r([0-9]+)\.(json|failed)$ ]] || continue
    local meta=(--argjson seq "$((10#${BASH_REMATCH[1]}))" --arg tool "${BASH_REMATCH[2]}" --arg rw "${BASH_REMATCH[3]}"
                --arg mode "${BASH_REMATCH[4]}" --argjson qd "${BASH_REMATCH[5]}" --argjson jobs "${BASH_REMATCH[6]}"
                --argjson round "${BASH_REMATCH[7]}" --arg file "runs/$name")
    # shellcheck disable=SC2016  # jq's variables, not the shell's.
    local head='{seq: $seq, tool: $tool, cell: "\($rw)-\($mode)-qd\($qd)-j\($jobs)", rw: $rw, mode: $mode, qd: $qd,
                 jobs: $jobs, round: $round, file: $file}'
    if [ "${BASH_REMATCH[8]}" = json ]; then
      "$jq" -c "${meta[@]}" "$head + {status: \"ok\"} + ($kRunFigures)" "$file" >>"$dir/runs.jsonl" ||
        warn "cannot read $file; left out of the summary"
    else
      "$jq" -nc "${meta[@]}" "$head + {status: \"failed\"}" >>"$dir/runs.jsonl"
    fi
  done
}

# Per cell, in the order the cells first ran: each tool's median over its finished runs
# (the middle one, or the mean of the middle two), and iodepth / fio of the medians.
# shellcheck disable=SC2016  # jq's variables, not the shell's.
readonly kCells='
  def median: sort | length as $n | if $n == 0 then null elif $n % 2 == 1 then .[($n - 1) / 2]
              else (.[$n / 2 - 1] + .[$n / 2]) / 2 end;
  def side($t): map(select(.tool == $t and .status == "ok"));
  def med($k): map(.[$k]) | median;
  def ratio($a; $b): if $a == null or $b == null or $b == 0 then null else $a / $b end;
  group_by(.cell) | sort_by(map(.seq) | min) | map(side("iodepth") as $i | side("fio") as $f | {
    cell: .[0].cell, rw: .[0].rw, mode: .[0].mode, qd: .[0].qd, jobs: .[0].jobs,
    iodepth_runs: ($i | length), fio_runs: ($f | length), failed_runs: map(select(.status == "failed")) | length,
    iodepth_iops: ($i | med("iops")), fio_iops: ($f | med("iops")),
    iodepth_cpu_ns_per_io: ($i | med("cpu_ns_per_io")), fio_cpu_ns_per_io: ($f | med("cpu_ns_per_io")),
    iodepth_clat_p50_ns: ($i | med("clat_p50_ns")), fio_clat_p50_ns: ($f | med("clat_p50_ns")),
    iodepth_clat_p99_ns: ($i | med("clat_p99_ns")), fio_clat_p99_ns: ($f | med("clat_p99_ns"))}
    | .iops_ratio = ratio(.iodepth_iops; .fio_iops) | .cpu_ratio = ratio(.iodepth_cpu_ns_per_io; .fio_cpu_ns_per_io))'

readonly kCsvColumns='["cell", "rw", "mode", "qd", "jobs", "iodepth_runs", "fio_runs", "failed_runs", "iodepth_iops",
  "fio_iops", "iops_ratio", "iodepth_cpu_ns_per_io", "fio_cpu_ns_per_io", "cpu_ratio", "iodepth_clat_p50_ns",
  "fio_clat_p50_ns", "iodepth_clat_p99_ns", "fio_clat_p99_ns"]'

readonly kTable='
  def n(d): if . == null then "-" else (. * pow(10; d) | round) / pow(10; d) | tostring end;
  def us: if . == null then null else . / 1000 end;
  "| cell | runs iodepth / fio | IOPS iodepth | IOPS fio | IOPS ratio | CPU us/IO iodepth | CPU us/IO fio | CPU ratio | p99 us iodepth | p99 us fio |",
  "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  (.[] | "| \(.cell) | \(.iodepth_runs) / \(.fio_runs)\(if .failed_runs > 0 then " (\(.failed_runs) failed)" else "" end) | " +
    "\(.iodepth_iops | n(0)) | \(.fio_iops | n(0)) | \(.iops_ratio | n(2)) | \(.iodepth_cpu_ns_per_io | us | n(2)) | " +
    "\(.fio_cpu_ns_per_io | us | n(2)) | \(.cpu_ratio | n(2)) | \(.iodepth_clat_p99_ns | us | n(1)) | \(.fio_clat_p99_ns | us | n(1)) |")'

# summary.csv and the side-by-side table (summary.md) of DIR, from its runs.
summarise() {
  local dir="$1"
  [ -n "$jq" ] || return 1
  collect_runs "$dir"
  "$jq" -s "$kCells" "$dir/runs.jsonl" >"$dir/cells.json" || return 1
  "$jq" -r "$kCsvColumns as \$c | (\$c | @csv), (.[] | [.[\$c[]]] | @csv)" "$dir/cells.json" >"$dir/summary.csv" &&
    "$jq" -r "$kTable" "$dir/cells.json" >"$dir/summary.md"
}

# ---- The report -----------------------------------------------------------------------------

env_value() { sed -n "s/^$1=//p" "$2/environment.txt" 2>/dev/null | head -n 1; }

# DIR/report.md: what was measured where, the side-by-side table and the matrix's state.
write_report() {
  local dir="$1" disks d models=""
  disks="$(env_value disks "$dir")"
  for d in $disks; do
    models+="$d: $(env_value "disk.$d.model" "$dir") (firmware $(env_value "disk.$d.firmware" "$dir")); "
  done
  models="${models//: \(firmware \)/ (no model in sysfs)}"
  {
    echo "# NVMe device check: $(env_value host "$dir"), $(env_value date_utc "$dir")"
    echo
    echo "Status: $(cat "$dir/STATUS" 2>/dev/null || echo unknown)"
    echo
    echo "- directory: $(env_value directory "$dir") ($(env_value filesystem "$dir") on $(env_value mount_source "$dir"))"
    echo "- device: ${models:-unknown}NVMe: $(env_value nvme "$dir")"
    echo "- kernel $(env_value kernel "$dir"); $(env_value os "$dir")"
    echo "- CPU: $(env_value cpus_online "$dir") x $(env_value cpu_model "$dir"); memory $(env_value memory_kib "$dir") KiB"
    echo "- $(env_value fio "$dir"); $(env_value iodepth "$dir")"
    echo
    echo "## iodepth and fio side by side"
    echo
    echo "4 KiB reads, io_uring, one file of $(gib "$(sed -n 's/^size_bytes=//p' "$dir/plan.txt" 2>/dev/null)");"
    echo "$(sed -n 's/^window=//p' "$dir/plan.txt" 2>/dev/null); medians over the rounds. Ratios are iodepth / fio"
    echo "(IOPS above 1: iodepth faster; CPU below 1: iodepth cheaper). CPU per I/O is user + system time"
    echo "over the measured window: iodepth's whole process, fio's jobs. Every run's JSON is in runs/,"
    echo "its command in commands.txt, the figures per run in runs.jsonl, per cell in summary.csv."
    echo
    if [ -s "$dir/summary.md" ]; then cat "$dir/summary.md"
    else echo "No summary was made here (no jq); make it with: nvme-check --summarise $dir"; fi
    echo
    echo "## The matrix (iodepth matrix, profile.json)"
    echo
    echo "$(cat "$dir/MATRIX" 2>/dev/null || echo "not run")."
    if [ -d "$dir/matrix" ] && [ ! -s "$dir/matrix/report/report.md" ]; then
      echo "Make its report on a machine with python3-matplotlib and iodepth:"
      echo
      echo "    ${matrix_report_later//OUT/$dir}"
    fi
    if [ -d "$dir/matrix" ]; then
      echo
      echo "Set beside another run (its crossovers, decisions and environment):"
      echo
      echo "    iodepth compare results/matrix $dir/matrix --label other nvme"
    fi
  } >"$dir/report.md"
}

# ---- Start and end --------------------------------------------------------------------------

work="" out_made=0 stop_reason=""
# The EXIT trap, however the check ends: stop the child, summarise what finished, remove the
# data (only the directory this run made), and say where everything is.
# shellcheck disable=SC2317  # Run by the traps.
finish() {
  local status=$?
  trap - EXIT INT TERM HUP
  stop_child
  # The run the signal cut short is no finished run; its log stays beside the others.
  [ "$out_made" = 1 ] && rm -f "$out"/runs/*.json.part
  if [ -n "$work" ] && [ -d "$work" ] && [[ "$(basename "$work")" == iodepth-nvme-check.* ]]; then
    rm -rf -- "$work" && say "removed the data files ($work)"
  fi
  [ "$out_made" = 1 ] || exit "$status"
  if [ -n "$stop_reason" ]; then echo "interrupted by $stop_reason after $runs_done of $runs_total runs ($runs_failed failed)"
  elif [ "$status" = 2 ]; then echo "stopped: see log.txt"
  elif [ "$runs_failed" -gt 0 ] || [ "$status" != 0 ]; then echo "finished with failures: $runs_failed of $runs_total runs failed"
  else echo "complete: $runs_done runs"; fi >"$out/STATUS"
  [ "$status" = 0 ] && [ "$runs_failed" -gt 0 ] && status=1
  echo "$matrix_status" >"$out/MATRIX"
  summarise "$out" || warn "no summary made (no jq or no finished run); make it later: $0 --summarise $out"
  write_report "$out"
  say "$(cat "$out/STATUS"); results in $out (report.md)"
  exit "$status"
}
on_signal() { stop_reason="$1"; exit "$2"; }

summarise_mode() {
  local dir="$summarise_only"
  [ -d "$dir/runs" ] || die "$dir has no runs/: give the --out directory of a check"
  [ -n "$jq" ] || die "no jq here: run it where jq is (the bundle's bin/jq, or apt-get install jq)"
  summarise "$dir" || die "could not summarise $dir"
  write_report "$dir"
  say "wrote $dir/summary.csv, summary.md and report.md"
}

main() {
  original_args=("$@")
  parse_flags "$@"
  find_tools
  if [ -n "$summarise_only" ]; then summarise_mode; exit 0; fi
  plan_settings
  if [ -z "$directory" ]; then directory="$(find_nvme_directory)" || exit 2; fi
  check_directory
  plan_matrix
  check_space
  [ -n "$out" ] || out="$PWD/nvme-check-$(uname -n)-$(date -u +%Y%m%dT%H%M%SZ)"
  if [ -e "$out" ] && [ -n "$(ls -A "$out" 2>/dev/null)" ]; then die "--out $out exists and is not empty; name a new directory"; fi
  local estimate
  estimate="$(estimate_s)"
  say "directory $directory ($fs_type, NVMe: ${nvme_disks:-none}); results into $out"
  say "${#cells[@]} cells x 2 tools x $repeat rounds of ${runtime_ms} ms + ${ramp_ms} ms ramp on a $(gib "$size_bytes") file, then the matrix ($matrix_runs runs): about $((estimate / 60)) min $((estimate % 60)) s"
  [ "$dry_run" = 0 ] || exit 0
  trap finish EXIT
  trap 'on_signal SIGINT 130' INT
  trap 'on_signal SIGTERM 143' TERM
  trap 'on_signal SIGHUP 129' HUP
  mkdir -p "$out/runs" || die "cannot make $out"
  out="$(cd "$out" && pwd -P)"
  out_made=1
  # Everything said from here on also goes to log.txt; tee ignores the signals, so that it
  # outlives the trap's last words.
  exec > >(trap '' INT TERM HUP; exec tee -a "$out/log.txt") 2>&1
  printf '%s\n' "size_bytes=$size_bytes" "window=${runtime_ms} ms measured after ${ramp_ms} ms ramp, $repeat rounds" \
    "estimate_s=$estimate" "cells=${#cells[@]}" >"$out/plan.txt"
  write_environment
  work="$(mktemp -d "$directory/iodepth-nvme-check.XXXXXX")" || die "cannot make a directory in $directory"
  data_file="$work/nvme-check.dat"
  prepare
  side_by_side
  run_matrix
}

main "$@"
