#!/usr/bin/env bash
# The installed package, checked from outside the tree: installs the build into a fresh
# prefix, checks the header set (public present, internal absent), builds examples/engine
# against it with find_package(iodepth), links a small program through pkg-config, then
# runs the example on a table made by `iodepth load` with an advise document whose
# choices it must print. A missing export, header or dependency fails here.
#   tests/examples/engine_check.sh SOURCE_DIR BUILD_DIR IODEPTH_BINARY
set -euo pipefail
src="$1" build="$2" cli="$3"
work="$build/example_engine_check"
rm -rf "$work"
mkdir -p "$work"
prefix="$work/prefix"

fail() { echo "engine_check: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$prefix" --component dev >/dev/null
include="$prefix/include/iodepth"
for header in common/status.h common/result.h io/io_queue.h io/io_types.h io/file.h buffer/buffer_manager.h \
              buffer/read_stream.h storage/heap_table.h storage/page.h wal/log_writer.h exec/operators.h; do
  [ -f "$include/$header" ] || fail "public header $header is not installed under $include"
done
for header in io/uring_queue.h io/worker_queue.h io/sync_queue.h sys/git.h harness/window_counters.h \
              experiment/checks.h; do
  [ ! -e "$include/$header" ] || fail "internal header $header is installed under $include"
done
# Every project include of an installed header resolves inside the install.
while IFS= read -r -d '' header; do
  while IFS= read -r target; do
    [ -f "$include/$target" ] || fail "${header#"$include"/} includes $target, which is not installed"
  done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$header")
done < <(find "$include" -name '*.h' -print0)
config=$(find "$prefix" -name iodepthConfigVersion.cmake)
[ -n "$config" ] || fail "no iodepthConfigVersion.cmake under $prefix"

# find_package(iodepth 0.1 REQUIRED): the targets, their include roots and dependencies.
cmake -S "$src/examples/engine" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_PREFIX_PATH="$prefix" >"$work/configure.log" || { cat "$work/configure.log"; fail "configure failed"; }
cmake --build "$work/build" >"$work/build.log" || { cat "$work/build.log"; fail "the example did not build"; }

# pkg-config: a plain --cflags --libs compiles and links against the installed libraries.
pc_dir=$(dirname "$(find "$prefix" -name iodepth.pc)")
cat >"$work/pc.cc" <<'CC'
#include "io/io_queue.h"
int main() { return iodepth::MakeIoQueue(iodepth::IoQueueOptions{.backend = iodepth::Backend::kAuto, .depth = 1}) ? 0 : 1; }
CC
# shellcheck disable=SC2046  # pkg-config's output is meant to split into words.
c++ -std=c++20 "$work/pc.cc" -o "$work/pc" $(PKG_CONFIG_PATH="$pc_dir" pkg-config --cflags --libs iodepth) ||
  fail "a program built with pkg-config --cflags --libs iodepth did not build"
"$work/pc" || fail "the pkg-config program could not make a queue"

# 8 MiB of table under a 2 MiB pool: the thrash regime.
"$cli" load --filename="$work/t.tbl" --size=8MiB >/dev/null
cat >"$work/advice.json" <<'JSON'
{"schema": "iodepth-advice", "version": 3, "classes": [
  {"class": "sequential_scan", "suite": "scan", "regime": "thrash", "memory_cap": 0, "direct_io": true,
   "backend": "worker", "queue_depth": 32, "prefetch_distance": 8, "io_combine_bytes": 65536},
  {"class": "sequential_scan", "suite": "scan", "regime": "hot", "memory_cap": 0, "direct_io": false,
   "backend": "worker", "queue_depth": 1, "prefetch_distance": 2, "io_combine_bytes": 8192},
  {"class": "random_read", "suite": "qd", "regime": "", "memory_cap": 0, "direct_io": "either",
   "backend": "worker", "queue_depth": 4, "prefetch_distance": null, "io_combine_bytes": null},
  {"class": "random_read", "suite": "qd", "regime": "", "memory_cap": 134217728, "direct_io": "unknown",
   "backend": "worker", "queue_depth": 16, "prefetch_distance": null, "io_combine_bytes": null}
]}
JSON
"$work/build/example_engine" "$work/t.tbl" "$work/advice.json" 2097152 500 | tee "$work/out.txt"
expect() { grep -qE -- "$1" "$work/out.txt" || fail "the example's output lacks /$1/"; }
expect "regime thrash"
expect "^sequential_scan: advice \[suite scan regime 'thrash' memory_cap 0 direct_io true\] -> mode (direct|buffered), backend worker, distance 8, io_combine 65536 bytes"
expect "^sequential_scan: 1024 pages, .* check MATCH"
expect "^random_read: advice \[suite qd regime '' memory_cap 134217728 direct_io \"unknown\"\] -> mode buffered, backend worker, distance 16, io_combine 8192 bytes"
expect "^random_read: 500 pages, 500 verified"
# A fleet document (one recommendation per host class) is refused with what to give instead.
printf '{"schema": "iodepth-advice", "version": 4, "host_classes": []}\n' >"$work/fleet.json"
if "$work/build/example_engine" "$work/t.tbl" "$work/fleet.json" 2097152 10 2>"$work/fleet.txt"; then
  fail "the example accepted a fleet document"
fi
grep -q "is a fleet document" "$work/fleet.txt" || { cat "$work/fleet.txt"; fail "the example's fleet message is missing"; }
echo "engine_check: the installed package builds and runs the example engine"
