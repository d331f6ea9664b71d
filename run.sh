#!/usr/bin/env bash
# The main job on its default: install what is missing, build, and run `iodepth bench`
# on a small temporary file (256 MiB, 4 KiB random reads, O_DIRECT, queue depth 32, every
# read verified). Extra arguments go to `iodepth bench` (see `iodepth bench --help`).
source "$(dirname "$0")/scripts/lib.sh"
iodepth_install_deps
iodepth_build "$IODEPTH_ROOT/build/release" -DCMAKE_BUILD_TYPE=Release -DIODEPTH_BUILD_TESTS=OFF
exec "$IODEPTH_ROOT/build/release/tools/iodepth" bench --verify=1 "$@"
