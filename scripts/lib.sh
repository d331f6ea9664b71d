# shellcheck shell=bash
# Shared by run.sh, test.sh and .ci/run: installs what the build needs on Debian 12 and
# configures + builds one flavour. Source it; do not run it.
set -euo pipefail

IODEPTH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Debian packages the build, the tests and the scripts need.
IODEPTH_PACKAGES=(build-essential cmake ninja-build pkg-config liburing-dev libfmt-dev nlohmann-json3-dev
                  libcli11-dev libisal-dev libgtest-dev libgmock-dev fio jq python3 python3-matplotlib
                  python3-jsonschema)

# The formatting and lint checks' tools (scripts/lint.sh; .ci/run runs it).
# shellcheck disable=SC2034  # Used by scripts/lint.sh, which sources this file.
IODEPTH_LINT_PACKAGES=(clang-format pyflakes3 shellcheck git)

# iodepth_install_packages PKG...: installs those of the Debian packages that are missing.
iodepth_install_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "iodepth: installing missing Debian packages: ${missing[*]}" >&2
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "iodepth: run as root (or install sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

iodepth_install_deps() { iodepth_install_packages "${IODEPTH_PACKAGES[@]}"; }

# iodepth_build DIR [cmake args...]: configure (once) and build into DIR.
iodepth_build() {
  local dir="$1"; shift
  cmake -S "$IODEPTH_ROOT" -B "$dir" -G Ninja "$@" >/dev/null
  cmake --build "$dir" --parallel "$(nproc)"
}
