# shellcheck shell=bash
# The functions below read and set the sourcing script's globals by design (see REQUIRES);
# shellcheck disable=SC2034,SC2154
#
# fio_lib.sh: the parts fio/fio_parity and fio/fio_crosscheck share. Sourced, never
# run: flag helpers, finding (or installing) fio and the iodepth binary, the data file's
# path rules and sanity checks, a description of where the file lives, and run_step, which
# prints a command, runs it and turns a failure into an error naming that command.
#
# REQUIRES, set by the script that sources this file (before calling the functions):
#   repo_root          the repository root (find_iodepth looks in its build/release)
#   kDefaultFilename   the script's scratch data file (check_file_path)
#   filename, keep     --filename and --keep (check_file_path, cleanup)
#   size_bytes, size_text   --size as bytes and as typed (check_data_file)
#   work, step, total_steps, verbose   scratch directory and progress (run_step);
#   routine_stderr_regex (optional)    stderr lines run_step need not show
# Every function runs in the caller's shell and sets globals the caller reads; each one's
# comment names them. The scripts run with `set -euo pipefail`.

readonly kPython=/usr/bin/python3

die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# Reads the value of "--opt=value" or "--opt value" into $opt_value; $opt_shift says how
# many arguments were used.
take_value() {
  local arg=$1 name=$2
  if [[ $arg == *=* ]]; then
    opt_value=${arg#*=}
    opt_shift=1
  else
    [[ $# -ge 3 ]] || die "$name needs a value (see --help)"
    opt_value=$3
    opt_shift=2
  fi
  [[ -n $opt_value ]] || die "$name needs a non-empty value (see --help)"
}

# parse_size_bytes TEXT: prints TEXT as bytes, or fails. One parser for sizes, with the
# rules of iodepth's ParseSize (src/common/units.h) and fio's default kb_base=1024. Both
# tools are then given the byte count, so a suffix the two might read differently ("1GB")
# cannot make them use different sizes.
parse_size_bytes() {
  "$kPython" -I -c '
import re, sys
m = re.fullmatch(r"(\d+)\s*([kmgt]?)(i?b)?", sys.argv[1].strip(), re.IGNORECASE)
if not m or (m.group(3) or "").lower() == "ib" and not m.group(2):
    sys.exit(1)
print(int(m.group(1)) * 1024 ** " kmgt".index(m.group(2).lower() or " "))
' "$1"
}

# ---- Tools ----------------------------------------------------------------------------

ensure_fio() {
  command -v fio >/dev/null 2>&1 && return 0
  if [[ $(id -u) -ne 0 ]]; then
    die "fio is not installed, and this script is not running as root so it cannot install it.
  Install it with:  sudo apt-get install -y fio   and run this script again."
  fi
  command -v apt-get >/dev/null 2>&1 ||
    die "fio is not installed and apt-get is missing; install fio (>= 3.13, for io_uring) by hand"
  printf 'fio not found; installing it from Debian (apt-get install -y fio)\n'
  # The package lists may be stale or empty in a fresh container: update only if needed.
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y fio; then
    printf 'apt-get install failed; running apt-get update and trying again\n'
    DEBIAN_FRONTEND=noninteractive apt-get update ||
      die "apt-get update failed (see above); fix the package sources or install fio by hand"
    DEBIAN_FRONTEND=noninteractive apt-get install -y fio ||
      die "apt-get install -y fio failed (see above); install fio by hand"
  fi
  command -v fio >/dev/null 2>&1 || die "fio is still not on PATH after installing it"
}

# Sets iodepth_bin.
find_iodepth() {
  if [[ -n ${IODEPTH_BIN-} ]]; then
    [[ -f $IODEPTH_BIN && -x $IODEPTH_BIN ]] ||
      die "IODEPTH_BIN='$IODEPTH_BIN' is not an executable file"
    iodepth_bin=$IODEPTH_BIN
  elif [[ -f $repo_root/build/release/cli/iodepth && -x $repo_root/build/release/cli/iodepth ]]; then
    iodepth_bin=$repo_root/build/release/cli/iodepth
  elif command -v iodepth >/dev/null 2>&1; then
    iodepth_bin=$(command -v iodepth)
  else
    die "iodepth binary not found (looked at \$IODEPTH_BIN, $repo_root/build/release/cli/iodepth and PATH); build it first with ./run.sh or set IODEPTH_BIN"
  fi
}

# Python, fio and iodepth, or an error saying how to get them. Sets fio_version and
# iodepth_bin.
check_tools() {
  [[ -x $kPython ]] ||
    die "$kPython not found; this script needs Debian's python3 (apt-get install -y python3)"
  ensure_fio
  find_iodepth
  fio_version=$(fio --version 2>&1) || die "'fio --version' failed: $fio_version"
}

# require_fio_engine ENGINE: an old fio without the engine would fail every job that
# uses it; say so once, up front.
require_fio_engine() {
  local engine=$1
  if [[ $engine == io_uring ]]; then
    fio --enghelp=io_uring >/dev/null 2>&1 ||
      die "$fio_version has no io_uring engine (fio >= 3.13 needed; 'fio --enghelp=io_uring' failed)"
  else
    fio --enghelp="$engine" >/dev/null 2>&1 ||
      die "$fio_version has no $engine engine ('fio --enghelp=$engine' failed)"
  fi
}

# ---- The file and where it lives -------------------------------------------------------

# Sets file_dir, file_existed and remove_file_at_end.
check_file_path() {
  if [[ -e $filename && ! -f $filename && ! -b $filename ]]; then
    die "--filename '$filename' exists but is neither a regular file nor a block device"
  fi
  file_dir=$(dirname -- "$filename")
  [[ -d $file_dir ]] || die "--filename: directory '$file_dir' does not exist"
  file_existed=0
  [[ -e $filename ]] && file_existed=1

  # Remove the file at the end only when it is ours: made by this run, or the default
  # scratch path. A file the user pointed at that already existed may hold their data,
  # and a block device is never removed.
  remove_file_at_end=0
  if (( ! keep )) && [[ ! -b $filename ]] &&
     { (( ! file_existed )) || [[ $filename == "$kDefaultFilename" ]]; }; then
    remove_file_at_end=1
  fi
}

# Sets mount_source, mount_fstype, mount_options, disk_info, kernel, cpu_info.
describe_environment() {
  # findmnt -T resolves the mount holding a path; the file may not exist yet, so ask
  # for its directory.
  mount_source=$(findmnt -no SOURCE -T "$file_dir" 2>/dev/null || echo unknown)
  mount_fstype=$(findmnt -no FSTYPE -T "$file_dir" 2>/dev/null || echo unknown)
  mount_options=$(findmnt -no OPTIONS -T "$file_dir" 2>/dev/null || echo unknown)
  if [[ -b $filename ]]; then
    mount_source=$filename mount_fstype="raw block device" mount_options=-
  fi
  disk_info=unknown
  if [[ $mount_source == /dev/* ]]; then
    local dev_name sys_dev scheduler
    dev_name=$(basename -- "$(readlink -f -- "$mount_source")")
    sys_dev=/sys/class/block/$dev_name
    # A partition's queue settings live on its parent disk.
    [[ -e $sys_dev/partition ]] && sys_dev=$(readlink -f -- "$sys_dev/..")
    if [[ -r $sys_dev/queue/scheduler ]]; then
      # The file lists every scheduler and brackets the active one: "none [mq-deadline]".
      scheduler=$(sed -n 's/.*\[\(.*\)\].*/\1/p' "$sys_dev/queue/scheduler")
      disk_info="$(basename -- "$sys_dev"), scheduler: ${scheduler:-none}, rotational: $(<"$sys_dev/queue/rotational")"
    fi
  fi
  kernel=$(uname -r)
  local cpu_model
  cpu_model=$(grep -m1 '^model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)
  cpu_info="$(nproc) x ${cpu_model:-unknown}"
}

# check_data_file MAKER: after MAKER (the command that prepared the file, e.g. "iodepth
# bench") has made or found it, the file must hold --size bytes, and reads of it must
# reach the device.
check_data_file() {
  local maker=$1
  [[ -e $filename ]] || die "$maker exited 0 but did not create '$filename'"
  [[ -f $filename ]] || return 0

  local file_bytes allocated_bytes filefrag_bin
  file_bytes=$(stat -c %s -- "$filename")
  (( file_bytes >= size_bytes )) ||
    die "'$filename' is $file_bytes bytes, smaller than --size $size_text ($size_bytes bytes); remove it or pass a smaller --size"
  # Reads of holes and of unwritten (fallocated) extents never reach the device: the
  # kernel hands back zeros, so both tools would measure memset, not the disk.
  allocated_bytes=$(( $(stat -c '%b * %B' -- "$filename") ))
  if (( allocated_bytes < size_bytes )); then
    printf 'warning: %s is sparse (%s of %s bytes allocated); reads of holes never reach the device\n' \
      "$filename" "$allocated_bytes" "$size_bytes"
  fi
  filefrag_bin=$(command -v filefrag || echo /usr/sbin/filefrag)
  if [[ -x $filefrag_bin ]] && "$filefrag_bin" -v -- "$filename" 2>/dev/null | grep -q unwritten; then
    printf 'warning: %s has unwritten (fallocated, never written) extents; reads of them never reach the device\n' \
      "$filename"
  fi
}

# Removes the scratch directory on every exit, and the data file when it is ours.
cleanup() {
  rm -rf -- "$work"
  if (( remove_file_at_end )) && [[ -f $filename ]]; then
    rm -f -- "$filename"
  fi
}

# Says what happens to the data file when the script ends (cleanup does it).
say_file_fate() {
  if (( remove_file_at_end )); then
    printf '\nRemoving %s (pass --keep to keep it).\n' "$filename"
  elif (( keep )); then
    printf '\nKept %s (--keep).\n' "$filename"
  else
    printf '\nLeft %s in place: it existed before this run.\n' "$filename"
  fi
}

# ---- Running commands -----------------------------------------------------------------

# run_step LABEL OUT_FILE CMD...: prints the exact command, runs it with stdout to
# OUT_FILE, and on failure prints which command failed with its stderr and exits.
# Sets last_command to the printed command.
run_step() {
  local label=$1 out=$2 rc=0
  shift 2
  last_command=$(printf '%q ' "$@")
  last_command=${last_command% }
  step=$((step + 1))
  printf '[%d/%d] %s\n  $ %s\n' "$step" "$total_steps" "$label" "$last_command"
  printf '%s\t%s\n' "$label" "$last_command" >>"$work/commands.tsv"
  "$@" >"$out" 2>"$out.stderr" || rc=$?
  if (( rc != 0 )); then
    {
      printf 'error: %s failed (exit status %d)\n' "$label" "$rc"
      printf '  command: %s\n' "$last_command"
      if [[ -s $out.stderr ]]; then
        printf '  stderr:\n'
        sed 's/^/    /' "$out.stderr"
      else
        printf '  stderr: (empty); last lines of stdout:\n'
        tail -n 20 "$out" | sed 's/^/    /'
      fi
    } >&2
    exit 1
  fi
  # A tool may warn and still succeed (a backend fallback, a fio note): never hide that.
  # Only lines matching $routine_stderr_regex (when set), a tool's routine progress
  # report, are left out.
  if [[ -s $out.stderr && -n ${routine_stderr_regex-} ]]; then
    { grep -Ev -- "$routine_stderr_regex" "$out.stderr" || true; } | sed 's/^/  stderr: /'
  elif [[ -s $out.stderr ]]; then
    sed 's/^/  stderr: /' "$out.stderr"
  fi
  if (( verbose )) && [[ -s $out ]]; then
    sed 's/^/  stdout: /' "$out"
  fi
}
