#!/usr/bin/env bash
# scripts/fast-device.sh: runs one command with its data on a fast emulated device, a zram
# block device (compressed RAM) with ext4 on it, so that software, not a device, is the
# whole cost of every I/O (docs/BENCHMARKS.md "Fast device").
#
#   scripts/fast-device.sh [--size 4G] [--device /dev/zramN] -- COMMAND [ARG...]
#
# It makes a new zram device (hot_add; zram0 and the others are never touched), sets its
# size, makes ext4 on it, mounts it on a new directory under /run, and runs COMMAND with
# IODEPTH_TMPDIR set to that directory (where iodepth's default data files go) and every
# ARG that is exactly or contains "{dir}" given the directory in its place. Then it unmounts
# and removes the device, also after Ctrl-C, a kill (TERM, HUP) or a failure; what the
# command wrote there goes with it, so write results elsewhere (--out, --json outside {dir}).
# The exit status is COMMAND's (130 after Ctrl-C, 143 after TERM).
#
# --device /dev/zramN uses a device the user names instead: if it is mounted, its mount is
# used as it is and left as it was; if it is unused (disksize 0) it is set up and reset at
# the end; one that holds data but is not mounted is refused (this script never makes a
# filesystem over data it did not make).
#
# Cells measured there record the device in their results: each repetition's device record
# names zram<N> with kind "memory", and the environment's storage_kind says "zram
# (memory-backed, emulated fast device)". Needs root, the zram module and mkfs.ext4; where
# any is missing it says so and what to do. iodepth's free-space rule (5% or 1 GiB kept
# free) applies on the device too, so --size must exceed the data by more than 1 GiB.
set -euo pipefail

readonly kLabel="zram (memory-backed, emulated fast device)"
readonly kUsage="usage: scripts/fast-device.sh [--size SIZE] [--device /dev/zramN] -- COMMAND [ARG...]"

die() {
  echo "fast-device: $*" >&2
  exit 2
}

size="4G"
device=""
while [ $# -gt 0 ]; do
  case "$1" in
    --size) [ $# -ge 2 ] || die "--size needs a value, e.g. --size 4G"; size="$2"; shift 2 ;;
    --size=*) size="${1#--size=}"; shift ;;
    --device) [ $# -ge 2 ] || die "--device needs a zram device, e.g. --device /dev/zram1"; device="$2"; shift 2 ;;
    --device=*) device="${1#--device=}"; shift ;;
    -h|--help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --) shift; break ;;
    *) die "unknown argument '$1'; $kUsage" ;;
  esac
done
[ $# -gt 0 ] || die "no command to run; $kUsage"
[[ "$size" =~ ^[0-9]+[KMGT]?$ ]] || die "--size '$size' is not a size such as 512M or 4G"
[ "$(id -u)" -eq 0 ] || die "setting up a block device needs root: run it as root, or mount a zram device yourself and point iodepth's --filename/--directory at it"
command -v mkfs.ext4 >/dev/null || die "mkfs.ext4 is missing: apt-get install e2fsprogs"

# Bytes of a size such as 4G (binary units, as zram's disksize reads them).
to_bytes() {
  local n="${1%[KMGT]}" unit="${1##*[0-9]}"
  case "$unit" in
    K) echo $((n << 10)) ;; M) echo $((n << 20)) ;; G) echo $((n << 30)) ;; T) echo $((n << 40)) ;; *) echo "$n" ;;
  esac
}

name=""         # zramN
made_id=""      # N when this script hot_added the device (hot_remove at the end)
initialised=0   # 1 when this script set the device's size (reset at the end)
mount_dir=""    # The directory this script mounted the device on ("" when it did not)
dir=""          # Where the command's data goes
child=""

# shellcheck disable=SC2317  # Run by the EXIT trap.
cleanup() {
  local status=$?
  trap - EXIT INT TERM HUP
  if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
    kill -TERM "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  if [ -n "$mount_dir" ]; then
    umount "$mount_dir" 2>/dev/null || umount -l "$mount_dir" 2>/dev/null ||
      echo "fast-device: could not unmount $mount_dir; unmount it, then reset /dev/$name" >&2
    rmdir "$mount_dir" 2>/dev/null || true
  fi
  if [ -n "$made_id" ]; then
    echo "$made_id" > /sys/class/zram-control/hot_remove 2>/dev/null ||
      echo "fast-device: could not remove /dev/$name; remove it with: echo $made_id > /sys/class/zram-control/hot_remove" >&2
  elif [ "$initialised" -eq 1 ]; then
    echo 1 > "/sys/block/$name/reset" 2>/dev/null ||
      echo "fast-device: could not reset /dev/$name; reset it with: echo 1 > /sys/block/$name/reset" >&2
  fi
  if [ -n "$made_id" ] || [ "$initialised" -eq 1 ]; then echo "fast-device: released /dev/$name" >&2; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# RAM first, before any device is touched: worst case the data does not compress and the
# device holds --size of it.
check_memory() {
  local bytes available_kib
  bytes="$(to_bytes "$size")"
  available_kib="$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)"
  if [ $((bytes >> 10)) -gt $((available_kib - (1 << 20))) ]; then
    die "--size $size needs up to $size of RAM should its data not compress, and $((available_kib >> 20)) GiB is available (1 GiB kept free): give a smaller --size"
  fi
}

if [ -n "$device" ]; then
  name="$(basename "$device")"
  [[ "$name" =~ ^zram[0-9]+$ ]] || die "--device $device is not a zram device (/dev/zramN)"
  [ -d "/sys/block/$name" ] || die "--device $device does not exist (the zram devices here: $(cd /sys/block && echo zram*))"
  existing="$(findmnt -n -o TARGET --source "/dev/$name" 2>/dev/null | head -n 1 || true)"
  if [ -n "$existing" ]; then
    dir="$existing"
    echo "fast-device: using /dev/$name as it is, mounted on $dir (left as it was at the end)" >&2
  elif [ "$(cat "/sys/block/$name/disksize")" != "0" ]; then
    name=""
    die "$device holds data but is not mounted; this script never makes a filesystem over data it did not make: mount it, or reset it (echo 1 > /sys/block/$(basename "$device")/reset) if its data is not needed"
  else
    check_memory
  fi
else
  check_memory
  if [ ! -d /sys/class/zram-control ]; then
    modprobe zram num_devices=0 2>/dev/null || modprobe zram 2>/dev/null ||
      die "no zram here (the zram module is not loaded and modprobe zram failed): load it (modprobe zram), or use a kernel with CONFIG_ZRAM; in a container the host must provide it"
    [ -d /sys/class/zram-control ] || die "the zram module has no hot_add (/sys/class/zram-control); name an unused device with --device /dev/zramN"
  fi
  id="$(cat /sys/class/zram-control/hot_add)" || die "could not add a zram device (cat /sys/class/zram-control/hot_add failed)"
  made_id="$id"
  name="zram$id"
fi

if [ -z "$dir" ]; then
  echo "$size" > "/sys/block/$name/disksize" || die "could not set /dev/$name's size to $size"
  initialised=1
  mkfs.ext4 -q -F -E nodiscard "/dev/$name" || die "mkfs.ext4 /dev/$name failed"
  mount_dir="$(mktemp -d /run/iodepth-fast.XXXXXX)"
  mount "/dev/$name" "$mount_dir" || { rmdir "$mount_dir"; mount_dir=""; die "could not mount /dev/$name"; }
  dir="$mount_dir"
  echo "fast-device: /dev/$name ($size, ext4) on $dir: $kLabel" >&2
fi

args=()
for arg in "$@"; do args+=("${arg//\{dir\}/$dir}"); done
export IODEPTH_TMPDIR="$dir"
# In the background, waited for, so a TERM or HUP to this script runs the cleanup at once
# (it stops the command first); Ctrl-C reaches the command through the terminal anyway.
"${args[@]}" &
child=$!
set +e
wait "$child"
status=$?
set -e
child=""
exit "$status"
