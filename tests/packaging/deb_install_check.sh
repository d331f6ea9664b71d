#!/usr/bin/env bash
# The Debian packages installed as a user would install them: a clean Debian 12 (bookworm)
# chroot made with mmdebstrap, `apt-get install ./iodepth_*.deb ./iodepth-dev_*.deb` in it
# (the declared dependencies, and only those, come from the archive), then
# deb_install_inside.sh runs the installed command (jobs, a suite, a report drawn by the
# installed report package) and checks the -dev package's pkg-config module and CMake
# package. The chroot is removed however the check ends.
#   tests/packaging/deb_install_check.sh DEB_DIR
# Where no chroot can be made (not root, no mmdebstrap, no archive reachable, a container
# that refuses mounts) it says why and exits 0 with "skipped"; once the chroot exists, any
# failure to install or run the packages fails the check (exit 1).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
debs="${1:?usage: tests/packaging/deb_install_check.sh DEB_DIR (holding iodepth_*.deb and iodepth-dev_*.deb)}"

skip() { echo "deb_install_check: skipped: $*"; exit 0; }
fail() { echo "deb_install_check: $*" >&2; exit 1; }

cli_deb=$(find "$debs" -maxdepth 1 -name 'iodepth_*.deb' | head -n1)
dev_deb=$(find "$debs" -maxdepth 1 -name 'iodepth-dev_*.deb' | head -n1)
if [ ! -f "$cli_deb" ] || [ ! -f "$dev_deb" ]; then
  fail "no iodepth_*.deb and iodepth-dev_*.deb in $debs (make them with scripts/package.sh)"
fi
[ "$(id -u)" = 0 ] || skip "not root: mmdebstrap's root mode and chroot need root"
command -v mmdebstrap >/dev/null || skip "mmdebstrap is missing (apt-get install mmdebstrap)"

work=$(mktemp -d /var/tmp/iodepth-deb-chroot.XXXXXX)
cleanup() {
  # mmdebstrap unmounts what it mounted; this only removes the tree, never crossing into a
  # mount point that is still there.
  if ! grep -q " $work/" /proc/self/mounts; then rm -rf "$work"; else echo "deb_install_check: $work still has mounts; left in place" >&2; fi
}
trap cleanup EXIT
mkdir "$work/pkgs"
cp "$cli_deb" "$dev_deb" "$here/deb_install_inside.sh" "$work/pkgs/"
cli_name=$(basename "$cli_deb")
dev_name=$(basename "$dev_deb")

# The base system first; a failure there means no chroot can be made here (skip). The first
# customize hook marks that the base system exists, so the later hooks' failures are the
# packages' (fail).
status=0
timeout 900 mmdebstrap --variant=apt \
  --customize-hook="touch '$work/base-made'" \
  --customize-hook="copy-in '$work/pkgs' /tmp" \
  --customize-hook="chroot \"\$1\" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends /tmp/pkgs/$cli_name /tmp/pkgs/$dev_name" \
  --customize-hook="chroot \"\$1\" sh /tmp/pkgs/deb_install_inside.sh" \
  bookworm "$work/root" >"$work/log" 2>&1 || status=$?
if [ "$status" != 0 ]; then
  if [ ! -e "$work/base-made" ]; then
    tail -n 5 "$work/log"
    skip "mmdebstrap could not make a bookworm chroot here (exit $status; its last lines above)"
  fi
  cat "$work/log" >&2
  fail "the packages did not install or run in a clean bookworm chroot (mmdebstrap exit $status; log above)"
fi
grep -E "^(deb_install_inside|iodepth [0-9])" "$work/log" || true
echo "deb_install_check: $cli_name and $dev_name installed with apt-get in a clean bookworm chroot and ran"
