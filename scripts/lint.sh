#!/usr/bin/env bash
# The project's formatting and lint checks, each failing with the file and line:
#   C++     clang-format --dry-run --Werror (style: .clang-format)
#   Python  pyflakes3 (Debian's pyflakes) on every tracked .py file
#   shell   shellcheck on every tracked shell script
# Run by .ci/run before the tests; `scripts/lint.sh --fix` rewrites the C++ in place.
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
fix=0
for arg in "$@"; do
  case "$arg" in
    --fix) fix=1 ;;
    *) echo "lint.sh: unknown argument '$arg'; use --fix to format the C++ in place" >&2; exit 2 ;;
  esac
done
iodepth_install_packages "${IODEPTH_LINT_PACKAGES[@]}"
cd "$IODEPTH_ROOT" || exit 1
mapfile -t cpp < <(git ls-files -- '*.cc' '*.h')
mapfile -t python < <(git ls-files -- '*.py')
mapfile -t shell < <(git ls-files -- '*.sh' run.sh test.sh .ci/run)
failed=0
if [ "$fix" -eq 1 ]; then
  clang-format -i "${cpp[@]}"
else
  clang-format --dry-run --Werror "${cpp[@]}" || { echo "lint: C++ formatting differs; run scripts/lint.sh --fix" >&2; failed=1; }
fi
pyflakes3 "${python[@]}" || { echo "lint: pyflakes found the problems above" >&2; failed=1; }
shellcheck -x "${shell[@]}" || { echo "lint: shellcheck found the problems above" >&2; failed=1; }
[ "$failed" -eq 0 ] && echo "lint: ${#cpp[@]} C++, ${#python[@]} Python and ${#shell[@]} shell files clean"
exit "$failed"
