# shellcheck shell=bash
# A clean Debian 12 (bookworm) chroot, made with mmdebstrap, for the checks that put iodepth
# into a bare system: deb_install_check.sh (the packages installed with apt-get) and
# tests/scripts/nvme_check_check.sh (the NVMe check's bundle, carried in). Source it after
# setting chroot_check (the check's name, for its messages), then:
#   chroot_require               skip unless root with mmdebstrap
#   chroot_workdir               chroot_work: a new directory under /var/tmp, removed at exit
#                                (never across a mount that is still there)
#   chroot_make VARIANT HOOK...  mmdebstrap --variant=VARIANT bookworm into $chroot_work/root,
#                                then each HOOK as a --customize-hook: `chroot "$1" CMD` runs
#                                CMD inside, with /proc, /sys and /dev mounted by mmdebstrap
#                                and unmounted after; copy-in and copy-out carry files
# A failure before the base system exists (no archive reachable, a container that refuses
# mounts) skips the check: it says why and exits 0 with "skipped". A failure in a HOOK fails
# it (exit 1) with mmdebstrap's log.

: "${chroot_check:?set chroot_check, the name of the check, before sourcing chroot_lib.sh}"

chroot_skip() { echo "$chroot_check: skipped: $*"; exit 0; }
chroot_fail() { echo "$chroot_check: $*" >&2; exit 1; }

chroot_require() {
  [ "$(id -u)" = 0 ] || chroot_skip "not root: mmdebstrap's root mode and chroot need root"
  command -v mmdebstrap >/dev/null || chroot_skip "mmdebstrap is missing (apt-get install mmdebstrap)"
}

# shellcheck disable=SC2317  # Run by the EXIT trap.
chroot_cleanup() {
  # mmdebstrap unmounts what it mounted; this only removes the tree.
  if ! grep -q " $chroot_work/" /proc/self/mounts; then
    rm -rf "$chroot_work"
  else
    echo "$chroot_check: $chroot_work still has mounts; left in place" >&2
  fi
}

chroot_workdir() {
  chroot_work="$(mktemp -d "/var/tmp/iodepth-$chroot_check.XXXXXX")"
  trap chroot_cleanup EXIT
}

chroot_make() {
  local variant="$1" hooks=() hook status=0
  shift
  # The first hook marks that the base system exists, so that the later hooks' failures are
  # the check's (fail) and not the machine's (skip).
  hooks+=(--customize-hook="touch '$chroot_work/base-made'")
  for hook in "$@"; do hooks+=(--customize-hook="$hook"); done
  timeout 900 mmdebstrap --variant="$variant" "${hooks[@]}" bookworm "$chroot_work/root" >"$chroot_work/log" 2>&1 ||
    status=$?
  if [ "$status" != 0 ]; then
    if [ ! -e "$chroot_work/base-made" ]; then
      tail -n 5 "$chroot_work/log"
      chroot_skip "mmdebstrap could not make a bookworm chroot here (exit $status; its last lines above)"
    fi
    cat "$chroot_work/log" >&2
    chroot_fail "a step in the clean bookworm chroot failed (mmdebstrap exit $status; log above)"
  fi
}
