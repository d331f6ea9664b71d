#!/usr/bin/env bash
# scripts/nvme-bundle.sh: the NVMe device check (scripts/nvme-check.sh) as one directory and
# tarball, to carry to a server that has no fio, no Python and no network (docs/BENCHMARKS.md
# "A device check for NVMe servers"). Run on Debian 12, x86-64:
#
#   scripts/nvme-bundle.sh [--build-dir build/release] [--out build/nvme-bundle]
#                          [--any-build-type]   (tests: a Debug or sanitizer build will do)
#
# makes OUT/iodepth-nvme-check-<version>-<arch>/ and the same as .tar.gz:
#   nvme-check                     scripts/nvme-check.sh
#   bin/iodepth, bin/fio, bin/jq   wrappers that run libexec/<name> through a dynamic loader
#                                  given lib/ as its library path
#   libexec/                       iodepth (the Release build in --build-dir, built there
#                                  first when missing), fio and jq (Debian's, installed
#                                  when missing)
#   lib/                           every shared library they load, copied from the installed
#                                  Debian packages, except glibc's
#   lib/glibc/                     glibc's (loader, libc, libm, ...), used only where the
#                                  host's glibc is older than lib/glibc/REQUIRES, or absent
#   share/iodepth/                 the report package and the results schema, for `iodepth
#                                  report` on a host that has python3-matplotlib
#   share/doc/<package>/copyright  of every Debian package a file came from
#   profiles/nvme-check.json, README.md, MANIFEST.txt (each file, its package and version)
# and checks that it is self-contained: every library a binary loads, resolved by the
# bundle's own loader with lib/ alone as its path, lies inside the bundle, and every wrapper
# runs from an empty environment, on the host's glibc and on the bundle's.
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

fail() { echo "nvme-bundle: $*" >&2; exit 1; }

build="$IODEPTH_ROOT/build/release"
out="$IODEPTH_ROOT/build/nvme-bundle"
any_build_type=0
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) [ $# -ge 2 ] || fail "--build-dir needs a directory"; build="$2"; shift 2 ;;
    --out) [ $# -ge 2 ] || fail "--out needs a directory"; out="$2"; shift 2 ;;
    --any-build-type) any_build_type=1; shift ;;
    -h|--help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "nvme-bundle: unknown argument '$1' (--help lists the flags)" >&2; exit 2 ;;
  esac
done
[ "$(uname -m)" = x86_64 ] || fail "the bundle is for x86-64 servers; this machine is $(uname -m)"

# A Release build: a Debug binary would put its own slowness beside fio's figures.
if [ ! -x "$build/cli/iodepth" ]; then
  iodepth_install_deps
  iodepth_build "$build" -DCMAKE_BUILD_TYPE=Release -DIODEPTH_BUILD_TESTS=OFF
fi
[ "$any_build_type" = 1 ] || grep -q '^CMAKE_BUILD_TYPE:STRING=Release$' "$build/CMakeCache.txt" ||
  fail "$build is not a Release build (CMAKE_BUILD_TYPE in its CMakeCache.txt); give --build-dir a Release build"
iodepth_install_packages fio jq

version="$("$build/cli/iodepth" --version | head -n 1)"
name="iodepth-nvme-check-$version-$(dpkg --print-architecture)"
stage="$out/$name"
rm -rf "$stage" "$out/$name.tar.gz"
mkdir -p "$stage"/{bin,libexec,lib/glibc,profiles,share/doc}

# The command, its report package and schema, as the Debian package installs them.
cmake --install "$build" --prefix "$stage/.install" --component cli --strip >/dev/null
mv "$stage/.install/bin/iodepth" "$stage/libexec/iodepth"
mv "$stage/.install/share/iodepth" "$stage/share/iodepth"
rm -rf "$stage/.install"
cp /usr/bin/fio /usr/bin/jq "$stage/libexec/"
cp "$IODEPTH_ROOT/scripts/nvme-check.sh" "$stage/nvme-check"
cp "$IODEPTH_ROOT/profiles/nvme-check.json" "$stage/profiles/"

# The Debian package that installed PATH ("" when none did): dpkg records some libraries
# under /lib and some under /usr/lib, so every spelling of the path is asked for.
package_of() {
  local p
  for p in "$1" "$(readlink -f "$1")" "/usr$1" "${1#/usr}"; do
    dpkg-query -S "$p" 2>/dev/null | awk -F': ' -v p="$p" '$2 == p { sub(/:.*/, "", $1); print $1; exit }' | grep . && return 0
  done
  return 0
}

manifest_line() {
  local file="$1" package="$2"
  printf '%-48s %s %s\n' "$file" "${package:-?}" "$( [ -n "$package" ] && dpkg-query -W -f='${Version}' "$package")"
  if [ -n "$package" ] && [ -r "/usr/share/doc/$package/copyright" ] && [ ! -e "$stage/share/doc/$package" ]; then
    mkdir -p "$stage/share/doc/$package"
    cp "/usr/share/doc/$package/copyright" "$stage/share/doc/$package/"
  fi
}

# Every library the three binaries load (ldd follows the whole tree), copied under the name
# the loader asks for: lib/glibc/ for those of Debian's libc6, lib/ for the rest.
copy_libraries() {
  local soname path package dest
  while read -r soname path; do
    [ -n "$path" ] || fail "ldd found no $soname for the bundle's binaries"
    package="$(package_of "$path")"
    dest="lib/$soname"
    [ "$package" = libc6 ] && dest="lib/glibc/$soname"
    cp -L "$path" "$stage/$dest"
    manifest_line "$dest" "$package"
  done < <(for binary in "$stage"/libexec/*; do ldd "$binary"; done |
             awk '$2 == "=>" { print $1, ($3 == "not" ? "" : $3) } $1 ~ /^\// { n = split($1, p, "/"); print p[n], $1 }' |
             sort -u)
}

# The newest glibc symbol version any bundled file needs (never below 2.33, the first loader
# that takes --argv0, which the wrappers pass).
glibc_required() {
  find "$stage/libexec" "$stage/lib" -maxdepth 1 -type f -print0 | xargs -0 objdump -T 2>/dev/null |
    grep -o 'GLIBC_2\.[0-9]*' | sed 's/GLIBC_//' | { cat; echo 2.33; } | sort -V | tail -n 1
}

write_wrapper() {
  local tool="$1" report=""
  # shellcheck disable=SC2016  # Expanded by the wrapper, not here.
  [ "$tool" = iodepth ] && report=': "${IODEPTH_REPORT_DIR:=$here/share/iodepth/report}"
export IODEPTH_REPORT_DIR'
  cat >"$stage/bin/$tool" <<EOF
#!/bin/sh
# The bundle's $tool: libexec/$tool run by a dynamic loader given the bundle's lib/ as its
# library path. Not LD_LIBRARY_PATH, which every child would inherit: the host's python3 that
# \`iodepth report\` starts must load the host's own libraries. The host's loader and glibc
# where they are at least lib/glibc/REQUIRES, else the bundle's; IODEPTH_BUNDLE_GLIBC=1
# forces the bundle's, 0 the host's. --argv0 keeps this wrapper the program's name, so
# that a program running itself again comes back here.
here=\$(cd -- "\$(dirname -- "\$0")/.." && pwd -P) || exit 1
lib=\$here/lib
own=\${IODEPTH_BUNDLE_GLIBC:-}
if [ -z "\$own" ]; then
  own=1
  need=\$(cat "\$lib/glibc/REQUIRES")
  have=\$(getconf GNU_LIBC_VERSION 2>/dev/null | sed -n 's/^glibc //p')
  if [ -x /lib64/ld-linux-x86-64.so.2 ] && [ -n "\$have" ] &&
     [ "\$(printf '%s\n%s\n' "\$need" "\$have" | sort -V | head -n 1)" = "\$need" ]; then
    own=0
  fi
fi
$report
if [ "\$own" = 1 ]; then
  exec "\$lib/glibc/ld-linux-x86-64.so.2" --library-path "\$lib/glibc:\$lib" --argv0 "\$here/bin/$tool" \\
    "\$here/libexec/$tool" "\$@"
fi
exec /lib64/ld-linux-x86-64.so.2 --library-path "\$lib" --argv0 "\$here/bin/$tool" "\$here/libexec/$tool" "\$@"
EOF
  chmod +x "$stage/bin/$tool"
}

# Self-contained: the bundle's loader, with the bundle's directories alone, finds every
# library inside the bundle; every wrapper runs with nothing from the environment.
check_bundle() {
  local binary path tool mode
  for binary in "$stage"/libexec/*; do
    while read -r path; do
      case "$path" in "$stage"/*) ;; *) fail "$(basename "$binary") loads $path from outside the bundle" ;; esac
    # The line of the program's own interpreter (/lib64/ld-linux-x86-64.so.2) is left out:
    # the wrappers name the loader themselves.
    done < <("$stage/lib/glibc/ld-linux-x86-64.so.2" --list --library-path "$stage/lib/glibc:$stage/lib" "$binary" |
               awk '$2 == "=>" { print $3 }')
  done
  for tool in iodepth fio jq; do
    for mode in 0 1; do
      env -i IODEPTH_BUNDLE_GLIBC="$mode" "$stage/bin/$tool" --version >/dev/null ||
        fail "bin/$tool --version failed (IODEPTH_BUNDLE_GLIBC=$mode)"
    done
  done
}

{
  echo "iodepth NVMe device check bundle $name, made $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(sed -n 's/^PRETTY_NAME=//p' /etc/os-release | tr -d '"')"
  echo "iodepth $version, git $(git -C "$IODEPTH_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$IODEPTH_ROOT" diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
  echo
  printf '%-48s %s\n' libexec/iodepth "iodepth $version, built from this tree"
  manifest_line libexec/fio "$(package_of /usr/bin/fio)"
  manifest_line libexec/jq "$(package_of /usr/bin/jq)"
  copy_libraries
} >"$stage/MANIFEST.txt"
[ -e "$stage/lib/glibc/ld-linux-x86-64.so.2" ] || fail "ldd named no ld-linux-x86-64.so.2; is this glibc on x86-64?"
glibc_required >"$stage/lib/glibc/REQUIRES"
for tool in iodepth fio jq; do write_wrapper "$tool"; done

cat >"$stage/README.md" <<EOF
# $name

The iodepth device check for an NVMe server: \`iodepth bench\` and fio side by side at queue
depth 1 to 256 and 1 to 8 jobs, then a short matrix, in under 10 minutes, unattended. It
carries everything it runs (iodepth, fio and jq with their libraries, glibc's for old hosts:
MANIFEST.txt); the server needs bash, coreutils and Linux with io_uring (5.1 and later).

    tar xzf $name.tar.gz && cd $name
    ./nvme-check --dry-run            # where it would measure, and for how long
    ./nvme-check                      # run it (as a user who may write to that filesystem)
    ./nvme-check --directory /mnt/nvme0/scratch --out ~/nvme-check-results
    ./nvme-check --quick              # a 30-second smoke test
    ./nvme-check --help

Run it under nohup or tmux where the session may drop: a hangup stops it, as Ctrl-C does
(what finished is kept). It finds a local NVMe filesystem with the most free space (or uses
--directory), writes its data into one new directory there and removes it at the end, and
writes results only into --out (default ./nvme-check-<host>-<time>): report.md,
summary.csv, environment.txt, every run's JSON in runs/, the matrix in matrix/. Carry that
directory back. The matrix's report is made here when /usr/bin/python3 has matplotlib;
elsewhere with \`iodepth matrix --collect --out DIR/matrix\` on a machine with iodepth
and python3-matplotlib. Details: docs/BENCHMARKS.md, "A device check for NVMe servers".
EOF

check_bundle
tar -C "$out" -czf "$out/$name.tar.gz" "$name"
echo "nvme-bundle: $stage ($(du -sh "$stage" | cut -f1)), $out/$name.tar.gz ($(du -h "$out/$name.tar.gz" | cut -f1)); glibc $(cat "$stage/lib/glibc/REQUIRES") or newer on the host, else the bundle's own"
