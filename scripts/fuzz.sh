#!/usr/bin/env bash
# Coverage-guided fuzzing of the readers of untrusted input with libFuzzer (clang), under
# ASan + UBSan:
#   scripts/fuzz.sh [SECONDS]     each target for SECONDS (default 60), from the seed corpus
# The targets are tests/<layer>/<reader>_fuzz.cc: results (results JSON), matrix_config,
# matrix_journal and table_file (table and page files). Each explores from a working copy
# of tests/corpus/<reader>/ in build/fuzz/corpus/<reader>/ (the repository's corpus is
# only read); a crash leaves build/fuzz/crash-* and fails the script. Add a crashing input
# to tests/corpus/<reader>/ once it is fixed, so every build replays it (ctest's
# <reader>_fuzz_check). It installs Debian's clang when missing; where that cannot be done it
# says so and exits 0: the GCC builds run the same targets through testutil/fuzz_main.cc.
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
seconds="${1:-60}"
case "$seconds" in
  ''|*[!0-9]*) echo "fuzz.sh: SECONDS must be a whole number, not '$seconds'" >&2; exit 2 ;;
esac
iodepth_install_deps
# Debian's clang ships libFuzzer (libclang_rt.fuzzer); where it cannot be installed, skip.
iodepth_install_packages clang || true
clang=$(command -v clang++ || command -v clang++-14 || true)
if [ -z "$clang" ]; then
  echo "fuzz.sh: no clang++ here and it could not be installed (apt-get install clang); skipped, the GCC builds" \
    "replay the corpus instead"
  exit 0
fi
dir="$IODEPTH_ROOT/build/fuzz"
CXX="$clang" cmake -S "$IODEPTH_ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIODEPTH_FUZZ=ON \
  -DIODEPTH_SANITIZE=address,undefined >/dev/null
targets=(results_fuzz matrix_config_fuzz matrix_journal_fuzz table_file_fuzz)
cmake --build "$dir" --parallel "$(nproc)" --target "${targets[@]}"
failed=0
for target in "${targets[@]}"; do
  reader="${target%_fuzz}"
  corpus="$dir/corpus/$reader"
  mkdir -p "$corpus"
  cp -n "$IODEPTH_ROOT/tests/corpus/$reader/"* "$corpus/"
  log="$dir/$target.log"
  if (cd "$dir" && "./tests/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 "$corpus" >"$log" 2>&1); then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    echo "fuzz: $reader: $runs inputs in ${seconds}s, no crash ($(find "$corpus" -type f | wc -l) in its corpus)"
  else
    echo "fuzz: $reader: FAILED; see $log and $dir/crash-*" >&2
    tail -30 "$log" >&2
    failed=1
  fi
done
exit "$failed"
