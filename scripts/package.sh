#!/usr/bin/env bash
# Builds the Debian packages (cmake/Package.cmake): a Release build with the /usr prefix in
# build/deb (no tests), then cpack -G DEB there.
#   scripts/package.sh            build/deb/iodepth_<version>_<arch>.deb and iodepth-dev_...
#   scripts/package.sh --check    then installs both into a clean Debian 12 chroot and runs
#                                 them (tests/packaging/deb_install_check.sh; needs root and
#                                 mmdebstrap, which it installs, and the Debian archive)
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
check=0
for arg in "$@"; do
  case "$arg" in
    --check) check=1 ;;
    *) echo "package.sh: unknown argument '$arg'; the only one is --check" >&2; exit 2 ;;
  esac
done
iodepth_install_deps
dir="$IODEPTH_ROOT/build/deb"
iodepth_build "$dir" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr -DIODEPTH_BUILD_TESTS=OFF
rm -f "$dir"/iodepth_*.deb "$dir"/iodepth-dev_*.deb
(cd "$dir" && cpack -G DEB >cpack.log) || { cat "$dir/cpack.log"; echo "package.sh: cpack -G DEB failed" >&2; exit 1; }
ls "$dir"/iodepth_*.deb "$dir"/iodepth-dev_*.deb
if [ "$check" = 1 ]; then
  [ "$(id -u)" -ne 0 ] || iodepth_install_packages mmdebstrap
  "$IODEPTH_ROOT/tests/packaging/deb_install_check.sh" "$dir"
fi
