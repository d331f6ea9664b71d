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

chroot_check=deb_install_check
# shellcheck source=tests/packaging/chroot_lib.sh
source "$here/chroot_lib.sh"

cli_deb=$(find "$debs" -maxdepth 1 -name 'iodepth_*.deb' | head -n1)
dev_deb=$(find "$debs" -maxdepth 1 -name 'iodepth-dev_*.deb' | head -n1)
if [ ! -f "$cli_deb" ] || [ ! -f "$dev_deb" ]; then
  chroot_fail "no iodepth_*.deb and iodepth-dev_*.deb in $debs (make them with scripts/package.sh)"
fi
chroot_require
chroot_workdir
work="$chroot_work"
mkdir "$work/pkgs"
cp "$cli_deb" "$dev_deb" "$here/deb_install_inside.sh" "$work/pkgs/"
cli_name=$(basename "$cli_deb")
dev_name=$(basename "$dev_deb")

chroot_make apt \
  "copy-in '$work/pkgs' /tmp" \
  "chroot \"\$1\" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends /tmp/pkgs/$cli_name /tmp/pkgs/$dev_name" \
  "chroot \"\$1\" sh /tmp/pkgs/deb_install_inside.sh"
grep -E "^(deb_install_inside|iodepth [0-9])" "$work/log" || true
echo "deb_install_check: $cli_name and $dev_name installed with apt-get in a clean bookworm chroot and ran"
