"""What every comparison in fio/ shares: errors, JSON reading, flags, the tools, the data
file, the environment it lives in, and running a numbered step.

Errors: die() raises FioError with a message a person can act on; run_main() turns it into
"error: MESSAGE" on stderr and exit status 1, so a module's cleanup (its `finally`) runs
first and a test can catch the error instead of a process exit. Ctrl-C exits 130 and
SIGTERM 143, after the same cleanup.

Standard library only: the modules run with Debian's /usr/bin/python3, never a python3 that
comes first on PATH (pyenv's differs from host to host).
"""

import dataclasses
import json
import os
import random
import re
import shutil
import signal
import stat
import statistics
import subprocess
import sys
import tempfile

PYTHON = "/usr/bin/python3"
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class FioError(Exception):
    """A failure with its message for the person running the comparison."""


def die(message):
    raise FioError(message)


def run_main(main, argv=None, error_prefix=""):
    """Runs main(argv) as a program: its exit status, with FioError as "error: ..." and 1."""
    if hasattr(sys.stdout, "reconfigure"):
        # Line by line, so our lines and the tools' interleave as they happen; and µ on a
        # terminal that cannot show it.
        sys.stdout.reconfigure(line_buffering=True, errors="replace")
    signal.signal(signal.SIGTERM, _on_stop_signal)
    signal.signal(signal.SIGINT, _on_stop_signal)
    try:
        return main(sys.argv[1:] if argv is None else argv)
    except FioError as e:
        sys.stdout.flush()
        print(f"{error_prefix}error: {e}", file=sys.stderr)
        return 1


# Ctrl-C and SIGTERM end the program through SystemExit(128 + N), which unwinds through
# every `finally`, so the scratch directory and the data file are removed. A child must
# not outlive us (it could make the data file again after we removed it), and one that is
# starting cannot be killed until Popen returns it: while run_process starts or waits for
# a child, the handler only records the signal and stops the child, and run_process raises
# once the child is gone. A child started with own_group=True leads a process group of its
# own, and the whole group is stopped: a wrapper such as `perf stat -- CMD` dies of SIGTERM
# and leaves CMD running.
_stop_signal = None
_children_starting_or_running = 0
_children = set()
_group_leaders = set()


def _on_stop_signal(signal_number, frame):
    global _stop_signal
    _stop_signal = signal_number
    if _children_starting_or_running == 0:
        raise SystemExit(128 + signal_number)
    for child in list(_children):
        _signal_child(child, signal.SIGTERM)


def _signal_child(child, signal_number):
    """Sends the signal to the child, or to its whole process group where it leads one."""
    if child not in _group_leaders:
        child.send_signal(signal_number)
        return
    try:
        os.killpg(child.pid, signal_number)
    except ProcessLookupError:
        pass  # The group has gone already.


def run_process(command, input=None, capture_output=False, own_group=False, **popen_args):
    """What subprocess.run(command, check=False) returns, except that the child never
    outlives a stop signal (see above); with own_group, neither does anything it started.
    Takes Popen's arguments, and input and capture_output as subprocess.run does."""
    global _children_starting_or_running
    if capture_output:
        popen_args.update(stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if input is not None:
        popen_args["stdin"] = subprocess.PIPE
    if own_group:
        # A session of its own: the terminal's Ctrl-C reaches only us, and we stop the group.
        popen_args["start_new_session"] = True
    _children_starting_or_running += 1
    try:
        with subprocess.Popen(command, **popen_args) as process:
            _children.add(process)
            if own_group:
                _group_leaders.add(process)
            try:
                if _stop_signal is not None:
                    _signal_child(process, signal.SIGTERM)
                stdout, stderr = process.communicate(input)
            except BaseException:
                _signal_child(process, signal.SIGKILL)
                raise
            finally:
                _children.discard(process)
                _group_leaders.discard(process)
    finally:
        _children_starting_or_running -= 1
    if _stop_signal is not None:
        raise SystemExit(128 + _stop_signal)
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


# ---- JSON ---------------------------------------------------------------------------------

def load_json(path, what):
    """A tool's JSON document; text before the first '{' (a stray notice) is skipped."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError as e:
        die(f"{what}: cannot read {path}: {e.strerror}")
    return parse_json_text(text, what)


def parse_json_text(text, what):
    start = text.find("{")
    if start < 0:
        die(f"{what} wrote no JSON; it wrote:\n{text[:2000]}")
    try:
        document, _ = json.JSONDecoder().raw_decode(text[start:])
    except json.JSONDecodeError as e:
        die(f"{what} wrote JSON that does not parse ({e}); it begins:\n{text[:2000]}")
    return document


def show_path(path):
    """["jobs", 0, "read"] as "['jobs'][0]['read']"."""
    return "".join(f"[{k!r}]" if isinstance(k, str) else f"[{k}]" for k in path)


def get(document, path, what):
    """document[path[0]][path[1]]...; a missing key is an error naming the whole path."""
    node = document
    for key in path:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            die(f"{what}: its JSON has no {show_path(path)}")
    return node


def number(document, path, what):
    """get(), and the value must be a number (an int stays an int)."""
    value = get(document, path, what)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        die(f"{what}: {show_path(path)} is {value!r}, not a number")
    return value


def fio_cpu_ns_per_io(job, direction, what):
    """fio's CPU time (user + system) per I/O of one job's `direction` ("read", "write"), in ns:
    usr_cpu and sys_cpu are percent of job_runtime (ms), the window after ramp_time; 0 for a
    job that completed no I/O."""
    busy_ms = (number(job, ["usr_cpu"], what) + number(job, ["sys_cpu"], what)) / 100.0 \
        * number(job, ["job_runtime"], what)
    ios = number(job, [direction, "total_ios"], what)
    return busy_ms * 1e6 / ios if ios > 0 else 0.0


# ---- One `iodepth bench` or fio run ------------------------------------------------------
# Read by every comparison that sets one bench job beside one fio job (fio.parity,
# fio.fastdev): the fields both tools write, and the checks that the run was the job asked for.

RUN_CPU_FIELDS = ("usr_cpu", "sys_cpu", "job_runtime")
ENGINE_ALIASES = {"uring": "io_uring", "psync": "sync"}


def fnumber(document, path, what):
    """number(), as a float."""
    return float(number(document, path, what))


def read_run_metrics(document, what):
    """IOPS, I/Os, bytes/s and completion latency of a read job, from jobs[0] (both tools
    write these fields)."""
    job = ["jobs", 0]
    clat = job + ["read", "clat_ns"]
    metrics = {
        "iops": fnumber(document, job + ["read", "iops"], what),
        "total_ios": fnumber(document, job + ["read", "total_ios"], what),
        "bw_bytes": fnumber(document, job + ["read", "bw_bytes"], what),
        "clat_mean_ns": fnumber(document, clat + ["mean"], what),
        "clat_p50_ns": fnumber(document, clat + ["percentile", "50.000000"], what),
        "clat_p95_ns": fnumber(document, clat + ["percentile", "95.000000"], what),
        "clat_p99_ns": fnumber(document, clat + ["percentile", "99.000000"], what),
    }
    if metrics["total_ios"] <= 0 or metrics["iops"] <= 0:
        die(f"{what}: completed no I/O (total_ios={metrics['total_ios']:.0f}, iops={metrics['iops']})")
    return metrics


def fio_run_metrics(document, what):
    """read_run_metrics() of a fio read job, with its total-latency p95 (slat + clat; fio
    writes it with --lat_percentiles=1) and its CPU time per I/O."""
    if get(document, ["jobs", 0, "error"], what) != 0:
        die(f"{what}: fio reports error {document['jobs'][0]['error']} for the job")
    metrics = read_run_metrics(document, what)
    metrics["lat_p95_ns"] = fnumber(document, ["jobs", 0, "read", "lat_ns", "percentile", "95.000000"], what)
    job = document["jobs"][0]
    for key in RUN_CPU_FIELDS:
        metrics[key] = fnumber(job, [key], what)
    metrics["cpu_ns_per_io"] = float(fio_cpu_ns_per_io(job, "read", what))
    return metrics


def check_bench_job(job, engine, direct, what, notes):
    """The run must be the job asked for: a silent fallback to another backend, or buffered
    reads where direct ones were asked for, would make a comparison compare the wrong thing."""
    reported_engine = job.get("engine")
    if reported_engine is None:
        notes.add(f"{what}: its JSON has no ['jobs'][0]['engine']; cannot confirm which backend ran")
    elif ENGINE_ALIASES.get(str(reported_engine), str(reported_engine)) != engine:
        die(f"{what}: asked for --engine={engine} but its JSON says engine {reported_engine!r}")
    if job.get("direct") is not None and bool(job["direct"]) != direct:
        die(f"{what}: asked for --direct={int(direct)} but its JSON says direct: {json.dumps(job['direct'])}")
    for notice in job.get("notices") or []:
        notes.add(f"{what}: iodepth notice: {notice}")


def bench_run_metrics(document, engine, what, notes, direct=True):
    """read_run_metrics() of one `iodepth bench --output-format=json` job, checked to be the
    ENGINE and DIRECT asked for, with its CPU time per I/O. Notices, and a cpu_ns_per_io that
    disagrees with usr_cpu + sys_cpu, go into the set NOTES."""
    jobs = get(document, ["jobs"], what)
    if not isinstance(jobs, list) or len(jobs) != 1:
        die(f"{what}: expected exactly one job in ['jobs'], found "
            f"{len(jobs) if isinstance(jobs, list) else repr(jobs)}")
    metrics = read_run_metrics(document, what)
    job = jobs[0]
    check_bench_job(job, engine, direct, what, notes)
    for key in RUN_CPU_FIELDS:
        metrics[key] = fnumber(job, [key], what) if key in job else None
    from_parts = float(fio_cpu_ns_per_io(job, "read", what)) if all(k in job for k in RUN_CPU_FIELDS) else None
    reported = fnumber(job, ["cpu_ns_per_io"], what) if "cpu_ns_per_io" in job else None
    if reported is None and from_parts is None:
        die(f"{what}: its JSON has neither cpu_ns_per_io nor usr_cpu, sys_cpu and job_runtime")
    # Two roads to one number; if they part, one of iodepth's fields is wrong.
    if reported is not None and from_parts and abs(reported / from_parts - 1) > 0.10:
        notes.add(f"{what}: cpu_ns_per_io ({reported:.0f} ns) differs by more than 10% from "
                  f"(usr_cpu+sys_cpu)/100*job_runtime/total_ios ({from_parts:.0f} ns); the table uses cpu_ns_per_io")
    metrics["cpu_ns_per_io"] = reported if reported is not None else from_parts
    metrics["cpu_ns_per_io_reported"] = reported
    metrics["cpu_ns_per_io_from_usr_sys"] = from_parts
    metrics["iodepth_version"] = document.get("iodepth_version")
    return metrics


def median_of(runs):
    """The median of each float field present in every run (a field one run lacks, or holds
    as None, has no median)."""
    keys = [k for k in runs[0] if all(isinstance(r.get(k), float) for r in runs)]
    return {k: statistics.median(r[k] for r in runs) for k in keys}


# ---- Flags --------------------------------------------------------------------------------

def parse_flags(argv, value_flags, switches):
    """{flag: value} from "--opt=value", "--opt value" and switches (value True).

    value_flags names the flags that take a value; switches maps each switch as typed to the
    name it is stored under ({"-v": "--verbose"}). "--help" stops the parse at once."""
    given = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, has_value, value = arg.partition("=")
        if arg in switches:
            given[switches[arg]] = True
            if switches[arg] == "--help":
                return given
            i += 1
            continue
        if name not in value_flags:
            die(f"unknown option '{arg}' (see --help)")
        if not has_value:
            if i + 1 >= len(argv):
                die(f"{name} needs a value (see --help)")
            value = argv[i + 1]
            i += 1
        if not value:
            die(f"{name} needs a non-empty value (see --help)")
        given[name] = value
        i += 1
    return given


def whole_number(text):
    """int of a string of ASCII digits ("007" is 7), else None."""
    return int(text) if re.fullmatch(r"[0-9]+", text) else None


def parse_size_bytes(text):
    """TEXT as bytes, or None. One parser for sizes, with the rules of iodepth's ParseSize
    (src/common/units.h) and fio's default kb_base=1024. Both tools are then given the byte
    count, so a suffix the two might read differently ("1GB") cannot make them differ."""
    m = re.fullmatch(r"(\d+)\s*([kmgt]?)(i?b)?", text.strip(), re.IGNORECASE | re.ASCII)
    if not m or (m.group(3) or "").lower() == "ib" and not m.group(2):
        return None
    return int(m.group(1)) * 1024 ** " kmgt".index(m.group(2).lower() or " ")


def parse_duration_ms(text):
    """TEXT in milliseconds, as fio reads a time: "500ms", "2s", "1m"; a bare number is
    seconds. None if malformed."""
    m = re.fullmatch(r"([0-9]+)(ms|s|m)?", text)
    if not m:
        return None
    return int(m.group(1)) * {"ms": 1, "m": 60_000}.get(m.group(2), 1000)


def shell_dirname(path):
    """What `dirname -- PATH` prints: "." for a bare name, "/" for "/x/"."""
    stripped = path.rstrip("/") or "/"
    return os.path.dirname(stripped) or "."


# ---- Shell quoting ------------------------------------------------------------------------

_PLAIN_WORD = re.compile(r"[A-Za-z0-9_./=:,@%+-]+")
_BASH_SPECIAL = set(" \t'\"\\|&;()<>!{}*[?]^$`,")


def bash_quote(arg):
    """One argument as bash's printf %q writes it (how the commands were always shown)."""
    if arg == "":
        return "''"
    if not arg.isprintable() or not arg.isascii():
        return "'" + arg.replace("'", "'\\''") + "'"
    out = []
    for i, c in enumerate(arg):
        special = c in _BASH_SPECIAL or (i == 0 and c in "~#")
        out.append("\\" + c if special else c)
    return "".join(out)


def command_text(command):
    return " ".join(bash_quote(a) for a in command)


def shell_words(words):
    """The words as one line a shell reads back, quoting only those that need it (bash_quote
    would also escape the commas of --cells)."""
    return " ".join(w if _PLAIN_WORD.fullmatch(w) else "'" + w.replace("'", "'\\''") + "'" for w in words)


# ---- Tools --------------------------------------------------------------------------------

@dataclasses.dataclass
class Tools:
    fio_version: str
    fio_path: str
    iodepth_bin: str


def ensure_fio():
    if shutil.which("fio"):
        return
    if os.geteuid() != 0:
        die("fio is not installed, and this script is not running as root so it cannot install it.\n"
            "  Install it with:  sudo apt-get install -y fio   and run this script again.")
    if not shutil.which("apt-get"):
        die("fio is not installed and apt-get is missing; install fio (>= 3.13, for io_uring) by hand")
    print("fio not found; installing it from Debian (apt-get install -y fio)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    # The package lists may be stale or empty in a fresh container: update only if needed.
    if run_process(["apt-get", "install", "-y", "fio"], env=env).returncode != 0:
        print("apt-get install failed; running apt-get update and trying again")
        if run_process(["apt-get", "update"], env=env).returncode != 0:
            die("apt-get update failed (see above); fix the package sources or install fio by hand")
        if run_process(["apt-get", "install", "-y", "fio"], env=env).returncode != 0:
            die("apt-get install -y fio failed (see above); install fio by hand")
    if not shutil.which("fio"):
        die("fio is still not on PATH after installing it")


def find_iodepth(repo_root=REPO_ROOT):
    """$IODEPTH_BIN, else the repository's build/release binary, else iodepth on PATH."""
    given = os.environ.get("IODEPTH_BIN")
    if given:
        if not (os.path.isfile(given) and os.access(given, os.X_OK)):
            die(f"IODEPTH_BIN='{given}' is not an executable file")
        return given
    built = os.path.join(repo_root, "build/release/cli/iodepth")
    if os.path.isfile(built) and os.access(built, os.X_OK):
        return built
    on_path = shutil.which("iodepth")
    if on_path:
        return on_path
    die(f"iodepth binary not found (looked at $IODEPTH_BIN, {built} and PATH); build it first with "
        "./run.sh or set IODEPTH_BIN")


def check_tools():
    """fio (installed if missing and possible) and iodepth, or an error saying how to get them."""
    ensure_fio()
    iodepth_bin = find_iodepth()
    done = run_process(["fio", "--version"], capture_output=True, text=True)
    version = (done.stdout + done.stderr).rstrip("\n")
    if done.returncode != 0:
        die(f"'fio --version' failed: {version}")
    return Tools(fio_version=version, fio_path=shutil.which("fio"), iodepth_bin=iodepth_bin)


def require_fio_engine(engine, fio_version):
    """An old fio without the engine would fail every job using it; say so once, up front."""
    done = run_process(["fio", f"--enghelp={engine}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if done.returncode == 0:
        return
    if engine == "io_uring":
        die(f"{fio_version} has no io_uring engine (fio >= 3.13 needed; 'fio --enghelp=io_uring' failed)")
    die(f"{fio_version} has no {engine} engine ('fio --enghelp={engine}' failed)")


# ---- The data file ------------------------------------------------------------------------

@dataclasses.dataclass
class DataFile:
    """The file a comparison reads, and whether it is ours to remove at the end: made by
    this run, or the module's scratch path. A file the user pointed at that existed before
    may hold their data, and a block device is never removed."""
    path: str
    directory: str
    existed: bool
    keep: bool
    remove_at_end: bool

    def is_block_device(self):
        try:
            return stat.S_ISBLK(os.stat(self.path).st_mode)
        except OSError:
            return False

    def fate(self):
        """What happens to the file when the comparison ends, as one line."""
        if self.remove_at_end:
            return f"Removing {self.path} (pass --keep to keep it)."
        if self.keep:
            return f"Kept {self.path} (--keep)."
        return f"Left {self.path} in place: it existed before this run."

    def remove_if_ours(self):
        if self.remove_at_end and os.path.isfile(self.path):
            os.remove(self.path)


def check_file_path(filename, keep, default_filename):
    if os.path.exists(filename) and not os.path.isfile(filename):
        if not stat.S_ISBLK(os.stat(filename).st_mode):
            die(f"--filename '{filename}' exists but is neither a regular file nor a block device")
    directory = shell_dirname(filename)
    if not os.path.isdir(directory):
        die(f"--filename: directory '{directory}' does not exist")
    existed = os.path.exists(filename)
    data = DataFile(path=filename, directory=directory, existed=existed, keep=keep, remove_at_end=False)
    data.remove_at_end = (not keep and not data.is_block_device()
                          and (not existed or filename == default_filename))
    return data


def check_data_file(data, size_bytes, size_text, maker):
    """After MAKER ("iodepth bench") made or found the file: it must hold --size bytes, and
    reads of it must reach the device (warnings otherwise)."""
    if not os.path.exists(data.path):
        die(f"{maker} exited 0 but did not create '{data.path}'")
    if not os.path.isfile(data.path):
        return
    st = os.stat(data.path)
    if st.st_size < size_bytes:
        die(f"'{data.path}' is {st.st_size} bytes, smaller than --size {size_text} ({size_bytes} bytes); "
            "remove it or pass a smaller --size")
    # Reads of holes and of unwritten (fallocated) extents never reach the device: the
    # kernel hands back zeros, so both tools would measure memset, not the disk.
    allocated_bytes = st.st_blocks * 512
    if allocated_bytes < size_bytes:
        print(f"warning: {data.path} is sparse ({allocated_bytes} of {size_bytes} bytes allocated); "
              "reads of holes never reach the device")
    filefrag = shutil.which("filefrag") or "/usr/sbin/filefrag"
    if os.access(filefrag, os.X_OK):
        done = run_process([filefrag, "-v", "--", data.path], capture_output=True, text=True)
        if "unwritten" in done.stdout:
            print(f"warning: {data.path} has unwritten (fallocated, never written) extents; "
                  "reads of them never reach the device")


def check_free_space(directory, size_bytes, size_text):
    """One file of size_bytes must fit, with a margin so the filesystem is not run full."""
    st = os.statvfs(directory)
    free_bytes = st.f_bavail * st.f_frsize
    if free_bytes < size_bytes + size_bytes // 10:
        die(f"--directory '{directory}' has {free_bytes} bytes free; --size {size_text} needs {size_bytes} "
            "(plus 10%); pass a smaller --size or another --directory")


# ---- Where the file lives -----------------------------------------------------------------

def _findmnt(column, directory):
    done = run_process(["findmnt", "-no", column, "-T", directory], capture_output=True, text=True)
    return done.stdout.rstrip("\n") if done.returncode == 0 else "unknown"


def _read_text(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read().strip()


def disk_info(mount_source):
    """"sda, scheduler: none, rotational: 0" for a /dev source, else "unknown"."""
    if not mount_source.startswith("/dev/"):
        return "unknown"
    sys_dev = os.path.join("/sys/class/block", os.path.basename(os.path.realpath(mount_source)))
    # A partition's queue settings live on its parent disk.
    if os.path.exists(os.path.join(sys_dev, "partition")):
        sys_dev = os.path.realpath(os.path.join(sys_dev, ".."))
    try:
        # The file lists every scheduler and brackets the active one: "none [mq-deadline]".
        m = re.search(r"\[(.*)\]", _read_text(os.path.join(sys_dev, "queue/scheduler")))
        rotational = _read_text(os.path.join(sys_dev, "queue/rotational"))
    except OSError:
        return "unknown"
    return f"{os.path.basename(sys_dev)}, scheduler: {(m.group(1) if m else '') or 'none'}, rotational: {rotational}"


def cpu_info():
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    return f"{len(os.sched_getaffinity(0))} x {model or 'unknown'}"


def describe_environment(path, directory):
    """mount_source, mount_fstype, mount_options, disk_info, kernel and cpu_info of the file."""
    # findmnt -T resolves the mount holding a path; the file may not exist yet, so ask
    # for its directory.
    env = {"mount_source": _findmnt("SOURCE", directory), "mount_fstype": _findmnt("FSTYPE", directory),
           "mount_options": _findmnt("OPTIONS", directory)}
    try:
        if stat.S_ISBLK(os.stat(path).st_mode):
            env.update(mount_source=path, mount_fstype="raw block device", mount_options="-")
    except OSError:
        pass
    env["disk_info"] = disk_info(env["mount_source"])
    env["kernel"] = os.uname().release
    env["cpu_info"] = cpu_info()
    return env


def environment_lines(env, tools):
    """The header lines every comparison prints about where it runs."""
    return [f"  device:    {env['mount_source']}, fs: {env['mount_fstype']} ({env['mount_options']})",
            f"  disk:      {env['disk_info']}",
            f"  kernel:    {env['kernel']}",
            f"  cpu:       {env['cpu_info']}",
            f"  fio:       {tools.fio_version} ({tools.fio_path})",
            f"  iodepth:   {tools.iodepth_bin}"]


def table_lines(header, rows):
    """A table of strings under a header and a rule; the first and last columns (text) are
    left-aligned, the others (numbers) right-aligned."""
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    left = {0, len(header) - 1}
    return ["  ".join(c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
            for cells in [header, ["-" * w for w in widths]] + rows]


# ---- Results files ------------------------------------------------------------------------
# A comparison that writes an iodepth results file (fio.crosscheck, fio.wal) checks its --json
# path first, summarises its merged cells with iodepth's own summariser and writes the file
# whole.

def check_json_path(json_out, flag="--json"):
    """The results file (given by FLAG) is written after every run is done; find out now,
    not after an hour, that it cannot be."""
    json_dir = shell_dirname(json_out)
    try:
        os.makedirs(json_dir, exist_ok=True)
    except OSError:
        die(f"{flag}: cannot create directory '{json_dir}'")
    if not os.access(json_dir, os.W_OK):
        die(f"{flag}: directory '{json_dir}' is not writable")
    if os.path.isdir(json_out):
        die(f"{flag}: '{json_out}' is a directory")


def summarise_with_iodepth(iodepth_bin, cells):
    """The cells as `iodepth summarise` writes them back: median, cv and flags from their
    repetitions by SummariseCell, the one summariser."""
    command = [iodepth_bin, "summarise", "-"]
    done = run_process(command, input=json.dumps({"cells": cells}), capture_output=True, text=True)
    if done.returncode != 0:
        # Its own errors start "iodepth summarise:"; anything else is a binary without it.
        own = done.stderr.startswith("iodepth summarise:")
        die(f"{command_text(command)} failed (exit status {done.returncode}): {done.stderr.strip()}"
            + ("" if own else "\n  (an iodepth built before `iodepth summarise` existed? rebuild it, or set "
                              "IODEPTH_BIN)"))
    summarised = get(parse_json_text(done.stdout, "iodepth summarise"), ["cells"], "iodepth summarise")
    if [c.get("id") for c in summarised] != [c["id"] for c in cells]:
        die(f"iodepth summarise returned cells {[c.get('id') for c in summarised]}, "
            f"asked for {[c['id'] for c in cells]}")
    return summarised


def write_text_atomically(path, text):
    """Writes through a temporary file, so an interrupted write leaves no half a file: the
    old content or the new, whole."""
    temporary = path + ".tmp"
    try:
        with open(temporary, "w") as f:
            f.write(text)
        os.replace(temporary, path)
    except OSError as e:
        die(f"cannot write {path}: {e.strerror}")


def write_document(path, document, announce=True):
    """The JSON document, written whole (write_text_atomically); "Wrote PATH" unless not
    announce (a file rewritten after every run)."""
    write_text_atomically(path, json.dumps(document, indent=2, sort_keys=True) + "\n")
    if announce:
        print(f"\nWrote {path}")


# ---- Running ------------------------------------------------------------------------------

def make_work_dir(name):
    """A scratch directory in $TMPDIR (or /tmp); the caller removes it."""
    return tempfile.mkdtemp(prefix=f"{name}.")


def fresh_seed():
    """A random seed from 1 to 2^30, so runs do not repeat each other's offsets."""
    return random.SystemRandom().randint(1, 1 << 30)


def indented(text, prefix):
    """Every line of text (as sed 's/^/PREFIX/' would print it)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return "\n".join(prefix + line for line in lines)


class Steps:
    """Numbered steps "[3/11] LABEL" that print their exact command, run it with stdout to a
    file, and turn a failure into an error naming that command with its stderr."""

    def __init__(self, total, verbose=False, routine_stderr=None):
        self.step = 0
        self.total = total
        self.verbose = verbose
        self.routine_stderr = re.compile(routine_stderr) if routine_stderr else None
        self.commands = []  # {"label", "command"} of every step, in order.
        self.last_command = ""

    def run(self, label, out, command, own_group=False):
        """Runs command with stdout to `out` and stderr to `out`.stderr; own_group as
        run_process takes it."""
        self.last_command = command_text(command)
        self.step += 1
        print(f"[{self.step}/{self.total}] {label}\n  $ {self.last_command}")
        self.commands.append({"label": label, "command": self.last_command})
        with open(out, "w") as stdout, open(out + ".stderr", "w") as stderr:
            try:
                rc = run_process(command, stdout=stdout, stderr=stderr, own_group=own_group).returncode
            except OSError as e:
                print(f"{command[0]}: {e.strerror}", file=stderr)
                rc = 127
        rc = 128 - rc if rc < 0 else rc  # Killed by a signal: the shell's 128 + N.
        with open(out + ".stderr", encoding="utf-8", errors="replace") as f:
            errors = f.read()
        if rc != 0:
            die(self.failure(label, rc, out, errors))
        # A tool may warn and still succeed (a backend fallback, a fio note): never hide that.
        # Only lines matching routine_stderr, a tool's routine progress report, are left out.
        shown = [line for line in errors.split("\n")[:-1 if errors.endswith("\n") else None]
                 if not (self.routine_stderr and self.routine_stderr.search(line))]
        if errors and shown:
            print("\n".join("  stderr: " + line for line in shown))
        if self.verbose and os.path.getsize(out) > 0:
            with open(out, encoding="utf-8", errors="replace") as f:
                print(indented(f.read(), "  stdout: "))

    def failure(self, label, rc, out, errors):
        message = f"{label} failed (exit status {rc})\n  command: {self.last_command}\n"
        if errors:
            return message + "  stderr:\n" + indented(errors, "    ")
        with open(out, encoding="utf-8", errors="replace") as f:
            tail = indented(f.read(), "    ").split("\n")[-20:]
        return message + "  stderr: (empty); last lines of stdout:" + "".join("\n" + line for line in tail if line)


# ---- The page cache and the device under the file -----------------------------------------

def drop_file_cache(path):
    """Drops the file's pages from the page cache as iodepth's cold state does
    (src/harness/cache_state.h: fdatasync, then posix_fadvise DONTNEED over the whole file).
    Raises OSError where it cannot."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fdatasync(fd)  # Dirty pages cannot be dropped; Linux allows this on a read-only fd.
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def resident_fraction(path, size_bytes):
    """The fraction (0..1) of the file's first size_bytes in the page cache now, from
    util-linux fincore (of the whole file, capped at 1); None without fincore or a size."""
    fincore = shutil.which("fincore")
    if not fincore or size_bytes <= 0:
        return None
    done = run_process([fincore, "--bytes", "--noheadings", "--output", "RES", "--", path],
                       capture_output=True, text=True)
    cached = whole_number(done.stdout.replace(" ", "").strip()) if done.returncode == 0 else None
    return None if cached is None else min(1.0, cached / size_bytes)


def block_device_counters(name):
    """{"name", "read_bytes", "write_bytes", "read_ios", "write_ios"} of the block device or
    partition NAME (vda1) from /sys/class/block/NAME/stat, whose sector counts are 512 bytes
    whatever the device's sector size; None where it cannot be read."""
    if not name or "/" in name:
        return None
    try:
        fields = _read_text(os.path.join("/sys/class/block", name, "stat")).split()
        read_ios, read_sectors, write_ios, write_sectors = (int(fields[i]) for i in (0, 2, 4, 6))
    except (OSError, ValueError, IndexError):
        return None
    return {"name": name, "read_bytes": read_sectors * 512, "write_bytes": write_sectors * 512,
            "read_ios": read_ios, "write_ios": write_ios}


def device_counters_between(before, after):
    """What the device did between two block_device_counters() readings, or None."""
    if before is None or after is None:
        return None
    return {"name": after["name"], **{k: max(0, after[k] - before[k])
                                      for k in ("read_bytes", "write_bytes", "read_ios", "write_ios")}}
