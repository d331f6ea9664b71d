"""Tests of fio/common.py: flags, sizes, quoting, JSON access, the data file's rules and
numbered steps."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from unittest import mock

from fio import common
from fio.common import FioError
from fio.tests import helpers

VALUES = ("--size", "--json")
SWITCHES = {"-h": "--help", "--help": "--help", "--keep": "--keep", "-v": "--verbose", "--verbose": "--verbose"}


class ParseFlagsTest(unittest.TestCase):
    def test_value_after_equals_or_as_next_argument(self):
        self.assertEqual(common.parse_flags(["--size=8m", "--json", "a.json", "-v"], VALUES, SWITCHES),
                         {"--size": "8m", "--json": "a.json", "--verbose": True})

    def test_value_may_contain_equals(self):
        self.assertEqual(common.parse_flags(["--json=a=b"], VALUES, SWITCHES), {"--json": "a=b"})

    def test_missing_value_names_the_flag(self):
        with self.assertRaisesRegex(FioError, r"^--size needs a value \(see --help\)$"):
            common.parse_flags(["--size"], VALUES, SWITCHES)

    def test_empty_value_is_refused(self):
        with self.assertRaisesRegex(FioError, r"^--size needs a non-empty value"):
            common.parse_flags(["--size="], VALUES, SWITCHES)

    def test_unknown_option_is_named(self):
        with self.assertRaisesRegex(FioError, r"^unknown option '--sise=1g' \(see --help\)$"):
            common.parse_flags(["--sise=1g"], VALUES, SWITCHES)
        with self.assertRaisesRegex(FioError, "unknown option 'stray'"):
            common.parse_flags(["stray"], VALUES, SWITCHES)

    def test_a_switch_takes_no_value(self):
        with self.assertRaisesRegex(FioError, "unknown option '--keep=1'"):
            common.parse_flags(["--keep=1"], VALUES, SWITCHES)

    def test_help_stops_the_parse_before_later_mistakes(self):
        self.assertEqual(common.parse_flags(["-h", "--bogus"], VALUES, SWITCHES), {"--help": True})


class NumbersTest(unittest.TestCase):
    def test_whole_number(self):
        self.assertEqual(common.whole_number("007"), 7)
        for text in ("", "-1", "1.5", "1e3", "٣", " 1"):
            self.assertIsNone(common.whole_number(text), text)

    def test_sizes_are_powers_of_1024(self):
        cases = {"4096": 4096, "8m": 8 << 20, "1g": 1 << 30, "1G": 1 << 30, "64MiB": 64 << 20, "128KiB": 128 << 10,
                 "1kb": 1024, "2t": 2 << 40, " 16k ": 16 << 10, "512b": 512}
        for text, expected in cases.items():
            self.assertEqual(common.parse_size_bytes(text), expected, text)

    def test_bad_sizes(self):
        for text in ("", "m", "1x", "1ib", "1.5g", "-1m", "1 g b"):
            self.assertIsNone(common.parse_size_bytes(text), text)

    def test_durations_are_read_as_fio_reads_them(self):
        for text, ms in (("10", 10000), ("10s", 10000), ("1500ms", 1500), ("500ms", 500), ("2m", 120000), ("0", 0)):
            self.assertEqual(common.parse_duration_ms(text), ms, text)
        for text in ("", "1.5s", "10h", "s", "fast", "-1s"):
            self.assertIsNone(common.parse_duration_ms(text), text)

    def test_shell_dirname(self):
        self.assertEqual(common.shell_dirname("a.json"), ".")
        self.assertEqual(common.shell_dirname("/x/"), "/")
        self.assertEqual(common.shell_dirname("/var/tmp/f.dat"), "/var/tmp")
        self.assertEqual(common.shell_dirname("results/x/a.json"), "results/x")


class RunMetricsTest(unittest.TestCase):
    """The readers of one bench or fio run that fio.parity and fio.fastdev share."""

    def test_fio_cpu_per_io_comes_from_usr_sys_and_runtime(self):
        m = common.fio_run_metrics(helpers.fio_document(usr=10.0, sys_cpu=20.0, runtime_ms=1000, total_ios=10_000), "f")
        self.assertAlmostEqual(m["cpu_ns_per_io"], 0.3 * 1000 * 1e6 / 10_000)
        self.assertEqual(m["lat_p95_ns"], 110_000.0)
        self.assertIsInstance(m["total_ios"], float)

    def test_fio_job_error_is_reported(self):
        with self.assertRaisesRegex(FioError, "^f: fio reports error 5 for the job$"):
            common.fio_run_metrics(helpers.fio_document(error=5), "f")

    def test_no_io_is_an_error(self):
        with self.assertRaisesRegex(FioError, "completed no I/O"):
            common.fio_run_metrics(helpers.fio_document(total_ios=0), "f")

    def test_iodepth_engine_must_be_the_one_asked_for(self):
        notes = set()
        common.bench_run_metrics(helpers.bench_document(engine="uring"), "io_uring", "i", notes)
        with self.assertRaisesRegex(FioError, "asked for --engine=worker but its JSON says engine 'io_uring'"):
            common.bench_run_metrics(helpers.bench_document(engine="io_uring"), "worker", "i", notes)
        with self.assertRaisesRegex(FioError, "asked for --direct=1 but its JSON says direct: false"):
            common.bench_run_metrics(helpers.bench_document(direct=False), "io_uring", "i", notes)
        with self.assertRaisesRegex(FioError, "asked for --direct=0 but its JSON says direct: true"):
            common.bench_run_metrics(helpers.bench_document(direct=True), "io_uring", "i", notes, direct=False)
        common.bench_run_metrics(helpers.bench_document(direct=False), "io_uring", "i", notes, direct=False)

    def test_median_of_keeps_the_fields_every_run_has(self):
        runs = [{"iops": 1.0, "perf": 5.0, "name": "a"}, {"iops": 3.0, "perf": None}, {"iops": 2.0, "perf": 1.0}]
        self.assertEqual(common.median_of(runs), {"iops": 2.0})

    def test_notices_and_disagreeing_cpu_become_notes(self):
        notes = set()
        document = helpers.bench_document(cpu_ns_per_io=9000.0, notices=["fell back"])
        m = common.bench_run_metrics(document, "io_uring", "i", notes)
        self.assertEqual(m["cpu_ns_per_io"], 9000.0)
        self.assertIn("i: iodepth notice: fell back", notes)
        self.assertTrue(any("differs by more than 10%" in n for n in notes), notes)

    def test_two_jobs_are_refused(self):
        document = helpers.bench_document()
        document["jobs"].append(document["jobs"][0])
        with self.assertRaisesRegex(FioError, r"expected exactly one job in \['jobs'\], found 2"):
            common.bench_run_metrics(document, "io_uring", "i", set())


class QuotingTest(unittest.TestCase):
    ARGS = ["plain", "--x=1", "a,b", "sp ace", "it's", "", "$HOME", "~user", "a~b", "#c", "/p/q.dat", "k+l@m%n:o"]

    def test_matches_bash_printf_q(self):
        bash = shutil.which("bash")
        if bash is None:
            self.skipTest("no bash to compare with")
        for arg in self.ARGS:
            expected = subprocess.run([bash, "-c", 'printf %q "$1"', "-", arg], capture_output=True,
                                      text=True, check=True).stdout
            self.assertEqual(common.bash_quote(arg), expected, arg)

    def test_quoted_arguments_read_back_the_same(self):
        line = common.command_text(self.ARGS)
        words = subprocess.run(["bash", "-c", f'printf "%s\\n" {line}'], capture_output=True, text=True,
                               check=True).stdout.split("\n")[:-1]
        self.assertEqual(words, self.ARGS)

    def test_shell_words_leaves_commas_alone(self):
        self.assertEqual(common.shell_words(["fio.crosscheck", "--cells=a/b,c/d", "--json=x y.json"]),
                         "fio.crosscheck --cells=a/b,c/d '--json=x y.json'")


class TableTest(unittest.TestCase):
    def test_text_columns_left_numbers_right(self):
        self.assertEqual(common.table_lines(["cell", "IOPS", "flags"], [["a/b", "1,000", "-"], ["c", "5", "cv_high"]]),
                         ["cell   IOPS  flags", "----  -----  -------", "a/b   1,000  -", "c         5  cv_high"])


class JsonTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)

    def write(self, text):
        path = os.path.join(self.dir, "out.json")
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_text_before_the_document_is_skipped(self):
        self.assertEqual(common.load_json(self.write('note: fallback\n{"a": 1} trailing'), "t"), {"a": 1})

    def test_no_json_says_what_was_written(self):
        with self.assertRaisesRegex(FioError, "^fio run 1 wrote no JSON; it wrote:\nfio: bad option"):
            common.load_json(self.write("fio: bad option"), "fio run 1")

    def test_broken_json_is_reported(self):
        with self.assertRaisesRegex(FioError, "wrote JSON that does not parse"):
            common.load_json(self.write('{"a": '), "t")

    def test_unreadable_file_is_named(self):
        with self.assertRaisesRegex(FioError, "cannot read .*missing.json"):
            common.load_json(os.path.join(self.dir, "missing.json"), "t")

    def test_get_names_the_whole_missing_path(self):
        document = {"jobs": [{"read": {}}]}
        with self.assertRaisesRegex(FioError, r"^t: its JSON has no \['jobs'\]\[0\]\['read'\]\['iops'\]$"):
            common.get(document, ["jobs", 0, "read", "iops"], "t")
        with self.assertRaisesRegex(FioError, r"no \['jobs'\]\[1\]"):
            common.get(document, ["jobs", 1], "t")

    def test_number_refuses_bools_and_strings_and_keeps_ints(self):
        self.assertIs(type(common.number({"n": 3}, ["n"], "t")), int)
        for value in (True, "3", None):
            with self.assertRaisesRegex(FioError, r"\['n'\] is .*, not a number"):
                common.number({"n": value}, ["n"], "t")


class DataFileTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(dir=os.environ.get("IODEPTH_TEST_DIR") or "/var/tmp")
        self.addCleanup(shutil.rmtree, self.dir)
        self.default = os.path.join(self.dir, "default.dat")

    def make(self, name, size):
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(b"x" * size)
        return path

    def test_a_file_this_run_makes_is_removed(self):
        data = common.check_file_path(os.path.join(self.dir, "new.dat"), keep=False, default_filename=self.default)
        self.assertFalse(data.existed)
        self.assertTrue(data.remove_at_end)
        self.assertIn("pass --keep to keep it", data.fate())

    def test_a_file_of_yours_that_existed_is_never_removed(self):
        path = self.make("yours.dat", 10)
        data = common.check_file_path(path, keep=False, default_filename=self.default)
        self.assertFalse(data.remove_at_end)
        data.remove_if_ours()
        self.assertTrue(os.path.exists(path))
        self.assertEqual(data.fate(), f"Left {path} in place: it existed before this run.")

    def test_the_default_scratch_file_is_removed_even_if_it_existed(self):
        self.make("default.dat", 10)
        data = common.check_file_path(self.default, keep=False, default_filename=self.default)
        self.assertTrue(data.remove_at_end)
        data.remove_if_ours()
        self.assertFalse(os.path.exists(self.default))

    def test_keep_keeps(self):
        data = common.check_file_path(self.default, keep=True, default_filename=self.default)
        self.assertFalse(data.remove_at_end)
        self.assertEqual(data.fate(), f"Kept {self.default} (--keep).")

    def test_a_directory_or_missing_directory_is_refused(self):
        with self.assertRaisesRegex(FioError, "exists but is neither a regular file nor a block device"):
            common.check_file_path(self.dir, keep=False, default_filename=self.default)
        with self.assertRaisesRegex(FioError, "directory '.*/nowhere' does not exist"):
            common.check_file_path(os.path.join(self.dir, "nowhere", "f.dat"), False, self.default)

    def test_a_file_smaller_than_size_is_refused(self):
        data = common.check_file_path(self.make("small.dat", 4096), False, self.default)
        with self.assertRaisesRegex(FioError, "is 4096 bytes, smaller than --size 8k \\(8192 bytes\\); remove it"):
            common.check_data_file(data, 8192, "8k", "iodepth bench")

    def test_a_sparse_file_is_warned_about(self):
        path = os.path.join(self.dir, "sparse.dat")
        with open(path, "wb") as f:
            f.truncate(1 << 20)
        data = common.check_file_path(path, False, self.default)
        _, out = helpers.captured(common.check_data_file, data, 1 << 20, "1m", "iodepth bench")
        self.assertIn(f"warning: {path} is sparse", out)

    def test_a_file_the_maker_did_not_create_is_an_error(self):
        data = common.check_file_path(os.path.join(self.dir, "never.dat"), False, self.default)
        with self.assertRaisesRegex(FioError, "iodepth bench exited 0 but did not create"):
            common.check_data_file(data, 4096, "4k", "iodepth bench")

    def test_free_space_check_names_the_directory(self):
        with self.assertRaisesRegex(FioError, f"--directory '{self.dir}' has [0-9]+ bytes free; --size 1p"):
            common.check_free_space(self.dir, 1 << 50, "1p")
        common.check_free_space(self.dir, 4096, "4k")


class ToolsTest(unittest.TestCase):
    def test_iodepth_bin_must_be_executable(self):
        with mock.patch.dict(os.environ, {"IODEPTH_BIN": "/nonexistent/iodepth"}):
            with self.assertRaisesRegex(FioError, "IODEPTH_BIN='/nonexistent/iodepth' is not an executable file"):
                common.find_iodepth()

    def test_iodepth_bin_is_used_when_set(self):
        with mock.patch.dict(os.environ, {"IODEPTH_BIN": sys.executable}):
            self.assertEqual(common.find_iodepth(), sys.executable)

    def test_missing_binary_says_how_to_get_one(self):
        with mock.patch.dict(os.environ, {"IODEPTH_BIN": "", "PATH": "/nonexistent"}):
            with self.assertRaisesRegex(FioError, "iodepth binary not found .*set IODEPTH_BIN"):
                common.find_iodepth(repo_root="/nonexistent")

    def test_environment_has_every_field(self):
        env = common.describe_environment("/var/tmp/none.dat", "/var/tmp")
        self.assertEqual(set(env), {"mount_source", "mount_fstype", "mount_options", "disk_info", "kernel",
                                    "cpu_info"})
        self.assertRegex(env["cpu_info"], r"^[0-9]+ x ")


class StepsTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        self.out = os.path.join(self.dir, "out")

    def shell(self, script):
        return ["/bin/sh", "-c", script]

    def test_prints_the_step_and_command_and_keeps_stdout(self):
        steps = common.Steps(total=3)
        _, out = helpers.captured(steps.run, "say hi", self.out, self.shell("echo hi"))
        self.assertEqual(out, "[1/3] say hi\n  $ /bin/sh -c echo\\ hi\n")
        with open(self.out) as f:
            self.assertEqual(f.read(), "hi\n")
        self.assertEqual(steps.commands, [{"label": "say hi", "command": "/bin/sh -c echo\\ hi"}])

    def test_stderr_of_a_success_is_shown_except_routine_lines(self):
        steps = common.Steps(total=1, routine_stderr=r"^\[[0-9]+/[0-9]+\] ETA .*$")
        _, out = helpers.captured(steps.run, "s", self.out, self.shell("echo '[1/2] ETA 3s' >&2; echo warn >&2"))
        self.assertTrue(out.endswith("  stderr: warn\n"), out)
        self.assertNotIn("ETA", out.split("\n", 2)[2])

    def test_verbose_shows_stdout(self):
        steps = common.Steps(total=1, verbose=True)
        _, out = helpers.captured(steps.run, "s", self.out, self.shell("echo '{}'"))
        self.assertTrue(out.endswith("  stdout: {}\n"), out)

    def test_failure_names_the_command_and_its_stderr(self):
        steps = common.Steps(total=1)
        with self.assertRaises(FioError) as caught:
            helpers.captured(steps.run, "fio qd 1", self.out, self.shell("echo bad >&2; exit 3"))
        self.assertEqual(str(caught.exception),
                         "fio qd 1 failed (exit status 3)\n  command: /bin/sh -c echo\\ bad\\ \\>\\&2\\;\\ exit\\ 3\n"
                         "  stderr:\n    bad")

    def test_failure_without_stderr_shows_the_end_of_stdout(self):
        steps = common.Steps(total=1)
        with self.assertRaises(FioError) as caught:
            helpers.captured(steps.run, "s", self.out, self.shell("seq 30; exit 1"))
        lines = str(caught.exception).split("\n")
        self.assertEqual(lines[2], "  stderr: (empty); last lines of stdout:")
        self.assertEqual(lines[3:], [f"    {n}" for n in range(11, 31)])

    def test_a_missing_program_is_a_failure_not_a_traceback(self):
        steps = common.Steps(total=1)
        with self.assertRaisesRegex(FioError, "failed \\(exit status 127\\)"):
            helpers.captured(steps.run, "s", self.out, ["/nonexistent/tool"])


class RunMainTest(unittest.TestCase):
    def test_an_error_is_one_line_on_stderr_and_status_1(self):
        code = "from fio import common\nimport sys\nsys.exit(common.run_main(lambda argv: common.die('no ' + argv[0]), ['x']))"
        done = subprocess.run([common.PYTHON, "-c", code], cwd=common.REPO_ROOT, capture_output=True, text=True)
        self.assertEqual(done.returncode, 1)
        self.assertEqual(done.stderr, "error: no x\n")

    def test_sigterm_stops_the_child_and_runs_the_cleanup(self):
        marker = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, marker)
        code = ("import os, sys\nfrom fio import common\n"
                "def main(argv):\n"
                "    try:\n"
                "        common.run_process(['sleep', '60'])\n"
                "    finally:\n"
                f"        open(os.path.join({marker!r}, 'cleaned'), 'w').close()\n"
                "sys.exit(common.run_main(main, []))\n")
        process = subprocess.Popen([common.PYTHON, "-c", code], cwd=common.REPO_ROOT)
        deadline = time.monotonic() + 30
        while not self.children_of(process.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        (child,) = self.children_of(process.pid)
        process.send_signal(signal.SIGTERM)
        self.assertEqual(process.wait(timeout=30), 143)
        self.assertTrue(os.path.exists(os.path.join(marker, "cleaned")))
        self.assertFalse(os.path.exists(f"/proc/{child}"), "the child is gone")

    def test_sigterm_stops_what_a_child_in_its_own_group_started(self):
        """A wrapper that dies of SIGTERM and leaves its command running (perf stat does):
        with own_group the command is stopped too."""
        marker = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, marker)
        pid_file = os.path.join(marker, "pid")
        code = ("import sys\nfrom fio import common\n"
                "def main(argv):\n"
                f"    common.run_process(['/bin/sh', '-c', 'sleep 60 & echo $! > {pid_file}; wait'], own_group=True)\n"
                "sys.exit(common.run_main(main, []))\n")
        process = subprocess.Popen([common.PYTHON, "-c", code], cwd=common.REPO_ROOT)
        deadline = time.monotonic() + 30
        while not self.pid_in(pid_file) and time.monotonic() < deadline:
            time.sleep(0.05)
        grandchild = self.pid_in(pid_file)
        self.assertIsNotNone(grandchild, "the wrapper started its command")
        process.send_signal(signal.SIGTERM)
        self.assertEqual(process.wait(timeout=30), 143)
        deadline = time.monotonic() + 10
        while os.path.exists(f"/proc/{grandchild}") and time.monotonic() < deadline:
            time.sleep(0.05)  # Stopped, but perhaps not yet reaped by init.
        alive = os.path.exists(f"/proc/{grandchild}") and "Z" not in self.state_of(grandchild)
        self.assertFalse(alive, "the command the wrapper started is gone")

    @staticmethod
    def pid_in(path):
        try:
            with open(path) as f:
                return common.whole_number(f.read().strip())
        except OSError:
            return None

    @staticmethod
    def state_of(pid):
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            return "gone"

    @staticmethod
    def children_of(pid):
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                return [int(c) for c in f.read().split()]
        except OSError:
            return []


class PageCacheTest(unittest.TestCase):
    """Dropping a file's pages (the cold start of fio's buffered runs) and reading the device."""

    def test_drop_file_cache_leaves_none_of_the_file_cached(self):
        if shutil.which("fincore") is None:
            self.skipTest("no fincore (util-linux) to count cached pages")
        scratch = tempfile.mkdtemp(dir="/var/tmp")  # Not /tmp: tmpfs pages cannot be dropped.
        self.addCleanup(shutil.rmtree, scratch)
        path = os.path.join(scratch, "f.dat")
        with open(path, "wb") as f:
            f.write(os.urandom(1 << 20))
        with open(path, "rb") as f:
            f.read()
        self.assertGreater(common.resident_fraction(path, 1 << 20), 0.5, "just written and read: cached")
        common.drop_file_cache(path)
        self.assertEqual(common.resident_fraction(path, 1 << 20), 0.0)

    def test_drop_file_cache_of_a_missing_file_raises(self):
        with self.assertRaises(OSError):
            common.drop_file_cache("/nonexistent/f.dat")

    def test_device_counters(self):
        self.assertIsNone(common.block_device_counters(""))
        self.assertIsNone(common.block_device_counters("../x"))
        self.assertIsNone(common.block_device_counters("no-such-device"))
        self.assertIsNone(common.device_counters_between(None, {"name": "x"}))
        before = {"name": "vda", "read_bytes": 100, "write_bytes": 5, "read_ios": 1, "write_ios": 1}
        after = {"name": "vda", "read_bytes": 4196, "write_bytes": 5, "read_ios": 2, "write_ios": 1}
        self.assertEqual(common.device_counters_between(before, after),
                         {"name": "vda", "read_bytes": 4096, "write_bytes": 0, "read_ios": 1, "write_ios": 0})


if __name__ == "__main__":
    unittest.main()
