#!/usr/bin/env bash
# The Debian packages, checked without installing them: builds them with cpack from the
# build tree (cmake/Package.cmake), then reads each one's control data and file list with
# dpkg-deb -I / -c: names, version, the declared dependencies (dpkg-shlibdeps' shared
# libraries and the report's Python), the command and its report package in `iodepth`,
# the public headers, libraries, CMake package and iodepth.pc in `iodepth-dev`, and no
# internal header.
#   tests/packaging/deb_check.sh BUILD_DIR
set -euo pipefail
build="$1"
work="$build/deb_check"
rm -rf "$work"
mkdir -p "$work"

fail() { echo "deb_check: $*" >&2; exit 1; }

command -v dpkg-shlibdeps >/dev/null || fail "dpkg-shlibdeps is missing (Debian package dpkg-dev)"
(cd "$work" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work" >"$work/cpack.log") ||
  { cat "$work/cpack.log"; fail "cpack -G DEB failed"; }
prefix=$(sed -n 's/^set(CPACK_PACKAGING_INSTALL_PREFIX "\(.*\)")$/\1/p' "$build/CPackConfig.cmake")
[ -n "$prefix" ] || fail "no CPACK_PACKAGING_INSTALL_PREFIX in $build/CPackConfig.cmake"
cli_deb=$(find "$work" -maxdepth 1 -name 'iodepth_0.1.0*_*.deb')
dev_deb=$(find "$work" -maxdepth 1 -name 'iodepth-dev_0.1.0*_*.deb')
[ -f "$cli_deb" ] || fail "no iodepth_0.1.0_<arch>.deb in $work: $(ls "$work")"
[ -f "$dev_deb" ] || fail "no iodepth-dev_0.1.0_<arch>.deb in $work: $(ls "$work")"

# expect FILE WHAT REGEX: the text of WHAT (dpkg-deb's -I or -c output) matches REGEX.
expect() { grep -qE -- "$3" "$1" || { cat "$1"; fail "$2 lacks /$3/"; }; }
refuse() { ! grep -qE -- "$3" "$1" || { cat "$1"; fail "$2 holds /$3/"; }; }
dpkg-deb -I "$cli_deb" >"$work/cli.info"
dpkg-deb -c "$cli_deb" >"$work/cli.files"
dpkg-deb -I "$dev_deb" >"$work/dev.info"
dpkg-deb -c "$dev_deb" >"$work/dev.files"
expect "$work/cli.info" "iodepth's control" "^ Package: iodepth$"
expect "$work/cli.info" "iodepth's control" "^ Version: 0\.1\.0"
for dep in libc6 liburing2 libisal2 'libfmt[0-9]+' python3-matplotlib python3-jsonschema; do
  expect "$work/cli.info" "iodepth's Depends" "^ Depends: .*${dep}"
done
expect "$work/cli.files" "iodepth's files" " \.${prefix}/bin/iodepth$"
expect "$work/cli.files" "iodepth's files" " \.${prefix}/share/iodepth/report/__init__\.py$"
expect "$work/cli.files" "iodepth's files" " \.${prefix}/share/iodepth/report/guidance\.py$"
expect "$work/cli.files" "iodepth's files" " \.${prefix}/share/iodepth/schema/results\.schema\.json$"
refuse "$work/cli.files" "iodepth's files" "/report/tests/|\.a$|include/"
expect "$work/dev.info" "iodepth-dev's control" "^ Package: iodepth-dev$"
for dep in libfmt-dev nlohmann-json3-dev liburing-dev libisal-dev; do
  expect "$work/dev.info" "iodepth-dev's Depends" "^ Depends: .*${dep}"
done
for file in include/iodepth/io/io_queue.h include/iodepth/buffer/read_stream.h 'lib/.*libiodepth_io\.a' \
            'lib/.*cmake/iodepth/iodepthConfig\.cmake' 'lib/.*cmake/iodepth/iodepthTargets\.cmake' \
            'lib/.*pkgconfig/iodepth\.pc'; do
  expect "$work/dev.files" "iodepth-dev's files" " \.${prefix}/${file}$"
done
refuse "$work/dev.files" "iodepth-dev's files" "uring_queue\.h|sys/git\.h|bin/iodepth"
echo "deb_check: $(basename "$cli_deb") and $(basename "$dev_deb") hold what they should"
