#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test.
#   ./test.sh                          the normal build (build/dev)
#   ./test.sh --sanitize=address,undefined   ASan + UBSan (build/asan)
#   ./test.sh --sanitize=thread              TSan (build/tsan)
source "$(dirname "$0")/scripts/lib.sh"
sanitize=""
for arg in "$@"; do
  case "$arg" in
    --sanitize=*) sanitize="${arg#--sanitize=}" ;;
    *) echo "test.sh: unknown argument '$arg'; use --sanitize=address,undefined or --sanitize=thread" >&2; exit 2 ;;
  esac
done
iodepth_install_deps
case "$sanitize" in
  "") dir=build/dev ;;
  address,undefined) dir=build/asan ;;
  thread) dir=build/tsan ;;
  *) echo "test.sh: unknown sanitizer set '$sanitize'" >&2; exit 2 ;;
esac
iodepth_build "$IODEPTH_ROOT/$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIODEPTH_SANITIZE="$sanitize"
# Test files need a filesystem with O_DIRECT: they are made in the build tree.
ctest --test-dir "$IODEPTH_ROOT/$dir" --output-on-failure --parallel "$(nproc)" --timeout 300
