"""Tests of fio/fastdev.py: flags, perf stat's CSV, the cells and their fio jobs, the
medians, ratios, verdicts, table and CSV on canned runs, the files surviving an interrupted
run, and one short end-to-end run against fio."""

import csv
import io
import json
import os
import shutil
import tempfile
import unittest

from fio import common, fastdev
from fio.common import FioError
from fio.tests import helpers


def settings(*argv):
    return fastdev.settings_from_flags(common.parse_flags(list(argv), fastdev.VALUE_FLAGS, fastdev.SWITCHES))


def scratch_directory(test):
    directory = tempfile.mkdtemp(prefix="fastdev-test-")
    test.addCleanup(shutil.rmtree, directory, ignore_errors=True)
    return directory


def bench_document(engine="io_uring", iops=1000.0, cpu_ns_per_io=3000.0, direct=True, features="single_issuer",
                   submitted=1000, submit_calls=500, reaped=1000, reap_calls=250):
    """helpers.bench_document with the fields only this comparison reads."""
    document = helpers.bench_document(engine=engine, iops=iops, cpu_ns_per_io=cpu_ns_per_io, direct=direct)
    document["jobs"][0].update(
        engine_features=features, context_switches=10,
        depth={"submitted": submitted, "submit_calls": submit_calls, "reaped": reaped, "reap_calls": reap_calls,
               "littles_law": 3.5})
    return document


PERF_OUTPUT = """\
# started on Mon Jan  5 10:00:00 2026

2000,,raw_syscalls:sys_enter,205528,100.00,141.100,K/sec
500,,context-switches:u,205528,100.00,0.000,/sec
1.5,msec,task-clock,205528,100.00,0.382,CPUs utilized
"""


def iodepth_runs(cell, iops_values, counts=None, **kwargs):
    return [fastdev.iodepth_run_metrics(bench_document(engine=fastdev.VARIANTS[cell.variant].engine, iops=v,
                                                       direct=cell.direct, **kwargs),
                                        cell, "i", set(), counts or {}, 1.0) for v in iops_values]


def fio_runs(iops_values, counts=None):
    return [fastdev.fio_run_metrics(helpers.fio_document(iops=v, total_ios=int(v), usr=0.15, sys_cpu=0.15), "f",
                                    counts or {}, 1.0) for v in iops_values]


class FlagsTest(unittest.TestCase):
    def test_defaults_are_the_issues_table(self):
        directory = scratch_directory(self)
        s = settings("--directory", directory)
        self.assertEqual((s.rws, s.directs, s.depths, s.variants), (
            ("randread", "read"), (False, True), (1, 4, 16, 32, 64, 128),
            ("plain", "registerfiles", "fixedbufs", "sqpoll", "worker")))
        self.assertEqual((s.runtime_ms, s.ramp_time_ms, s.repeat, s.size_bytes), (2000, 500, 3, 1 << 30))
        self.assertEqual(s.filename, os.path.join(directory, "iodepth-fastdev.dat"))

    def test_lists_and_times(self):
        directory = scratch_directory(self)
        s = settings(f"--directory={directory}", "--rw=read", "--direct", "1", "--depths=32,1", "--variants=worker",
                     "--runtime=1s", "--ramp_time=200ms", "--repeat=1", "--size=8m",
                     f"--json={directory}/out/x.json", f"--csv={directory}/x.csv")
        self.assertEqual((s.rws, s.directs, s.depths, s.variants), (("read",), (True,), (32, 1), ("worker",)))
        self.assertEqual((s.runtime_ms, s.ramp_time_ms, s.repeat, s.size_bytes, s.span_s), (1000, 200, 1, 8 << 20, 1.2))
        self.assertTrue(os.path.isdir(os.path.join(directory, "out")), "the --json directory is made at once")

    def test_bad_values_name_the_flag_and_the_value(self):
        directory = scratch_directory(self)
        cases = {(): "--directory is required",
                 ("--directory=/nonexistent",): "--directory '/nonexistent' is not a writable directory",
                 ("--rw=randwrite",): "--rw: 'randwrite' is not randread or read",
                 ("--direct=2",): "--direct: '2' is not 0 or 1",
                 ("--depths=0",): "--depths: '0' is not a depth from 1 to 4096",
                 ("--depths=1,5000",): "--depths: '5000' is not a depth from 1 to 4096",
                 ("--depths=1,,4",): "--depths: '' is not a depth from 1 to 4096",
                 ("--depths=4,4",): "--depths names '4' twice",
                 ("--variants=sqpol",): "--variants: 'sqpol' is not one of plain, registerfiles, fixedbufs, sqpoll, worker",
                 ("--runtime=50ms",): "--runtime must be a time from 100ms to 1h like 2s or 500ms, got '50ms'",
                 ("--ramp_time=soon",): "--ramp_time must be a time from 0ms to 1h like 2s or 500ms, got 'soon'",
                 ("--repeat=0",): "--repeat must be a whole number from 1 to 99, got '0'",
                 ("--size=1000",): "--size must be a whole number of 4 KiB blocks like 1g or 512m, got '1000'",
                 ("--csv", directory): f"--csv: '{directory}' is a directory"}
        for argv, message in cases.items():
            given = argv if not argv or argv[0].startswith("--directory") else (f"--directory={directory}", *argv)
            with self.assertRaises(FioError, msg=argv) as caught:
                settings(*given)
            self.assertTrue(str(caught.exception).startswith(message), str(caught.exception))

    def test_help_prints_usage_and_exits_0(self):
        code, out = helpers.captured(fastdev.main, ["--help", "--bogus"])
        self.assertEqual(code, 0)
        self.assertTrue(out.startswith("Usage: /usr/bin/python3 -m fio.fastdev --directory DIR [options]\n"), out)

    def test_bad_flag_exits_1_before_running_anything(self):
        done = helpers.run_module("fio.fastdev", ["--directory=/var/tmp", "--variants=plain,bogus"], "/nonexistent")
        self.assertEqual((done.returncode, done.stdout), (1, ""))
        self.assertEqual(done.stderr, "error: --variants: 'bogus' is not one of plain, registerfiles, fixedbufs, "
                                      "sqpoll, worker\n")


class PerfTest(unittest.TestCase):
    def test_counts_modifiers_and_units(self):
        self.assertEqual(fastdev.parse_perf_stat_csv(PERF_OUTPUT),
                         {"raw_syscalls:sys_enter": 2000.0, "context-switches": 500.0, "task-clock": 1.5e6})

    def test_uncounted_events_are_unknown(self):
        text = "<not supported>,,raw_syscalls:sys_enter,0,100.00,,\n<not counted>,,context-switches,0,0.00,,\n"
        self.assertEqual(fastdev.parse_perf_stat_csv(text), {"raw_syscalls:sys_enter": None, "context-switches": None})

    def test_junk_lines_are_skipped(self):
        self.assertEqual(fastdev.parse_perf_stat_csv("perf: something odd\n\n12,,task-clock-ish\n"),
                         {"task-clock-ish": 12.0})

    def test_per_io_over_the_runs_whole_span(self):
        per_io = fastdev.perf_per_io(fastdev.parse_perf_stat_csv(PERF_OUTPUT), iops=800.0, span_s=2.5)
        self.assertEqual(per_io["perf_ios_estimated"], 2000.0)
        self.assertEqual((per_io["syscalls_per_io"], per_io["context_switches_per_io"], per_io["perf_cpu_ns_per_io"]),
                         (1.0, 0.25, 750.0))

    def test_without_perf_every_figure_is_unknown(self):
        per_io = fastdev.perf_per_io({}, iops=800.0, span_s=1.0)
        self.assertEqual([per_io[k] for k in ("syscalls_per_io", "context_switches_per_io", "perf_cpu_ns_per_io")],
                         [None, None, None])
        perf = fastdev.PerfStat(None, (), ["perf is not installed"])
        self.assertEqual(perf.wrap(["fio", "x"], "out.perf"), ["fio", "x"])
        self.assertEqual(perf.read("/nonexistent"), {})

    def test_wrap_counts_every_event_in_one_perf_stat(self):
        perf = fastdev.PerfStat("/usr/bin/perf", fastdev.PERF_EVENTS, ())
        self.assertEqual(perf.wrap(["fio", "x"], "o.perf"),
                         ["/usr/bin/perf", "stat", "-x,", "-o", "o.perf", "-e",
                          "raw_syscalls:sys_enter,context-switches,task-clock", "--", "fio", "x"])


class CellsTest(unittest.TestCase):
    def test_cells_and_the_fio_job_each_is_compared_with(self):
        directory = scratch_directory(self)
        cells = fastdev.plan_cells(settings(f"--directory={directory}", "--rw=randread", "--direct=1",
                                            "--depths=1,32", "--variants=plain,sqpoll,worker"))
        self.assertEqual([(c.id, c.fio_key) for c in cells], [
            ("randread/direct/qd1/plain", "randread/direct/qd1/fio-plain"),
            ("randread/direct/qd1/sqpoll", "randread/direct/qd1/fio-sqpoll"),
            ("randread/direct/qd1/worker", "randread/direct/qd1/fio-plain"),
            ("randread/direct/qd32/plain", "randread/direct/qd32/fio-plain"),
            ("randread/direct/qd32/sqpoll", "randread/direct/qd32/fio-sqpoll"),
            ("randread/direct/qd32/worker", "randread/direct/qd32/fio-plain")])

    def test_sqpoll_registers_files_on_both_sides_as_fio_does(self):
        sqpoll = fastdev.VARIANTS["sqpoll"]
        self.assertIn("--registerfiles=1", sqpoll.iodepth_args)
        self.assertIn("--registerfiles=1", sqpoll.fio_args)

    def test_targets(self):
        self.assertEqual(fastdev.targets_of(fastdev.Cell("read", False, 1, "fixedbufs")),
                         {"iops_ratio_min": 1.0, "cpu_ratio_max": 1.0})
        self.assertEqual(fastdev.targets_of(fastdev.Cell("read", True, 32, "worker")),
                         {"iops_ratio_min": 0.85, "cpu_ratio_max": None})
        self.assertIsNone(fastdev.targets_of(fastdev.Cell("read", True, 16, "worker")))

    def test_an_io_uring_run_must_have_its_variants_ring(self):
        sqpoll = fastdev.Cell("randread", True, 4, "sqpoll")
        iodepth_runs(sqpoll, [1.0], features="sqpoll,single_issuer,registerfiles")
        with self.assertRaisesRegex(FioError, "asked for io_uring sqpoll but its engine_features are 'sqpoll'"):
            iodepth_runs(sqpoll, [1.0], features="sqpoll")
        with self.assertRaisesRegex(FioError, "asked for io_uring plain but its engine_features are"):
            iodepth_runs(fastdev.Cell("randread", True, 4, "plain"), [1.0], features="single_issuer,fixedbufs")
        with self.assertRaisesRegex(FioError, "asked for --direct=0 but its JSON says direct: true"):
            fastdev.iodepth_run_metrics(bench_document(direct=True), fastdev.Cell("read", False, 1, "plain"), "i",
                                        set(), {}, 1.0)


class SummaryTest(unittest.TestCase):
    def test_medians_ratios_batches_and_perf_figures(self):
        cell = fastdev.Cell("randread", True, 32, "plain")
        counts = fastdev.parse_perf_stat_csv(PERF_OUTPUT)
        summary = fastdev.summarise_cell(cell, iodepth_runs(cell, [900.0, 1100.0, 1000.0], counts),
                                         fio_runs([1000.0, 1000.0, 1000.0]), repeat=3)
        ours = summary["iodepth"]["median"]
        self.assertEqual((summary["status"], summary["iops_ratio"]), ("ok", 1.0))
        self.assertAlmostEqual(summary["cpu_ratio"], 3000.0 / 3000.0)
        self.assertEqual((ours["submit_batch"], ours["reap_batch"], ours["achieved_depth"]), (2.0, 4.0, 3.5))
        self.assertEqual(ours["syscalls_per_io"], 2.0)
        self.assertNotIn("syscalls_per_io", summary["fio"]["median"], "fio's runs had no perf counts")
        self.assertEqual((summary["below_target"], summary["verdict"]), ([], "met"))

    def test_below_target_names_what_missed(self):
        cell = fastdev.Cell("read", False, 4, "registerfiles")
        summary = fastdev.summarise_cell(cell, iodepth_runs(cell, [900.0], cpu_ns_per_io=3600.0,
                                                            features="registerfiles"), fio_runs([1000.0]), repeat=1)
        self.assertEqual(summary["below_target"], ["IOPS 0.90x < 1.00x", "CPU 1.20x > 1.00x"])
        self.assertEqual(summary["verdict"], "BELOW: IOPS 0.90x < 1.00x, CPU 1.20x > 1.00x")

    def test_worker_has_an_iops_target_at_qd_32_only(self):
        for qd, verdict in ((32, "BELOW: IOPS 0.80x < 0.85x"), (16, "(no target)")):
            cell = fastdev.Cell("randread", True, qd, "worker")
            summary = fastdev.summarise_cell(cell, iodepth_runs(cell, [800.0], cpu_ns_per_io=9000.0),
                                             fio_runs([1000.0]), repeat=1)
            self.assertEqual(summary["verdict"], verdict)

    def test_partial_failed_and_not_run(self):
        cell = fastdev.Cell("randread", True, 1, "plain")
        partial = fastdev.summarise_cell(cell, iodepth_runs(cell, [1000.0, 1000.0]), fio_runs([900.0]), repeat=3)
        self.assertEqual((partial["status"], partial["verdict"]), ("partial", "met (1 of 3 rounds)"))
        one_side = fastdev.summarise_cell(cell, iodepth_runs(cell, [1000.0]), [], repeat=3)
        self.assertEqual((one_side["status"], one_side["verdict"], one_side["iops_ratio"]),
                         ("partial", "? (0 of 3 rounds)", None))
        failed = fastdev.summarise_cell(cell, [], [], repeat=3, error="fio ... failed")
        self.assertEqual((failed["status"], failed["verdict"]), ("failed", "failed"))
        self.assertEqual(fastdev.summarise_cell(cell, [], [], repeat=3)["status"], "not run")

    def summaries(self):
        good, bad = fastdev.Cell("randread", True, 1, "plain"), fastdev.Cell("read", False, 32, "worker")
        return [fastdev.summarise_cell(good, iodepth_runs(good, [1200.0]), fio_runs([1000.0]), repeat=1),
                fastdev.summarise_cell(bad, [], [], repeat=1, error="iodepth read/buffered/qd32/worker failed\n  x")]

    def test_table_marks_the_cells_below_target_and_shows_unknowns(self):
        lines = fastdev.table_lines(self.summaries())
        self.assertTrue(lines[0].startswith("cell "), lines[0])
        self.assertTrue(lines[2].startswith("randread direct qd1 plain"), lines[2])
        self.assertIn("1.200", lines[2])
        self.assertTrue(lines[2].endswith("met"), lines[2])
        self.assertTrue(lines[3].startswith("read buffered qd32 worker"), lines[3])
        self.assertIn(" ? ", lines[3])
        self.assertTrue(lines[3].endswith("failed"), lines[3])

    def test_csv_has_one_row_per_cell_and_blank_unknowns(self):
        rows = list(csv.DictReader(io.StringIO(fastdev.csv_text(self.summaries()))))
        self.assertEqual([r["id"] for r in rows], ["randread/direct/qd1/plain", "read/buffered/qd32/worker"])
        self.assertEqual((float(rows[0]["iops_ratio"]), rows[0]["direct"], rows[0]["iodepth_submit_batch"]),
                         (1.2, "1", "2.0"))
        self.assertEqual((rows[1]["iops_ratio"], rows[1]["status"], rows[1]["error"]),
                         ("", "failed", "iodepth read/buffered/qd32/worker failed"))


class Interrupted(BaseException):
    """Stands for the SystemExit(130) that Ctrl-C raises in the middle of a run."""


class IncrementalOutputTest(unittest.TestCase):
    """The files are rewritten after every run, so what finished survives a stop."""

    def make(self, *argv):
        directory = scratch_directory(self)
        s = settings(f"--directory={directory}", "--rw=randread", "--direct=1", "--depths=1,32",
                     "--variants=plain,worker", "--repeat=2", f"--json={directory}/r.json", f"--csv={directory}/r.csv",
                     *argv)
        tools = common.Tools(fio_version="fio-3.33", fio_path="/usr/bin/fio", iodepth_bin="/bin/iodepth")
        run = fastdev.FastDev(s, tools, data=None, work=directory, perf=fastdev.PerfStat(None, (), ()),
                              environment={"kernel": "6.1"})
        run.log = []
        return run

    def fake(self, run, stop_after=None, fail=()):
        """Replaces the two tools with canned runs; the run numbered stop_after is stopped as
        Ctrl-C stops it, those named in `fail` fail."""
        def iodepth(cell, rep):
            step(f"iodepth {cell.id}")
            run.iodepth_runs[cell.id].extend(iodepth_runs(cell, [1000.0]))

        def fio(cell, rep):
            step(f"fio {cell.fio_key}")
            run.fio_runs[cell.fio_key].extend(fio_runs([1000.0]))

        def step(label):
            run.log.append(label)
            run.steps.step += 1
            if len(run.log) == stop_after:
                raise Interrupted()
            if label in fail:
                common.die(f"{label} failed (exit status 1)\n  command: ...")
        run.run_iodepth, run.run_fio = iodepth, fio

    def read(self, run):
        with open(run.s.json_out) as f:
            document = json.load(f)
        with open(run.s.csv_out) as f:
            rows = list(csv.DictReader(f))
        return document, rows

    def test_a_stop_keeps_every_finished_run(self):
        run = self.make()
        self.fake(run, stop_after=5)
        with self.assertRaises(Interrupted):
            helpers.captured(run.run_rounds)
        self.assertEqual(run.log, ["iodepth randread/direct/qd1/plain", "fio randread/direct/qd1/fio-plain",
                                   "iodepth randread/direct/qd1/worker", "iodepth randread/direct/qd32/plain",
                                   "fio randread/direct/qd32/fio-plain"])
        document, rows = self.read(run)
        self.assertFalse(document["complete"])
        self.assertEqual([(c["id"], c["status"], len(c["iodepth"]["runs"]), len(c["fio"]["runs"]))
                          for c in document["cells"]],
                         [("randread/direct/qd1/plain", "partial", 1, 1), ("randread/direct/qd1/worker", "partial", 1, 1),
                          ("randread/direct/qd32/plain", "partial", 1, 0), ("randread/direct/qd32/worker", "not run", 0, 0)])
        self.assertEqual([r["status"] for r in rows], ["partial", "partial", "partial", "not run"])

    def test_rounds_are_outer_and_a_failed_cell_stops_while_the_others_go_on(self):
        run = self.make()
        self.fake(run, fail={"iodepth randread/direct/qd1/plain"})
        _, out = helpers.captured(run.run_rounds)
        self.assertIn("  FAILED: iodepth randread/direct/qd1/plain failed (exit status 1)\n"
                      "  no more runs of: randread/direct/qd1/plain\n", out)
        # The worker cell still needs the plain fio run; in round 2 it runs where it ran.
        self.assertEqual(run.log[6:], ["fio randread/direct/qd1/fio-plain", "iodepth randread/direct/qd1/worker",
                                       "iodepth randread/direct/qd32/plain", "fio randread/direct/qd32/fio-plain",
                                       "iodepth randread/direct/qd32/worker"])
        document, _ = self.read(run)
        statuses = {c["id"]: c["status"] for c in document["cells"]}
        self.assertEqual(statuses, {"randread/direct/qd1/plain": "failed", "randread/direct/qd1/worker": "ok",
                                    "randread/direct/qd32/plain": "ok", "randread/direct/qd32/worker": "ok"})
        self.assertEqual(run.steps.total, 6 + 5, "the failed cell's later runs leave the count")

    def test_a_failed_fio_run_fails_every_cell_compared_with_it(self):
        run = self.make("--repeat=1", "--depths=1")
        self.fake(run, fail={"fio randread/direct/qd1/fio-plain"})
        helpers.captured(run.run_rounds)
        self.assertEqual(sorted(run.errors), ["randread/direct/qd1/plain", "randread/direct/qd1/worker"])
        self.assertEqual(run.log, ["iodepth randread/direct/qd1/plain", "fio randread/direct/qd1/fio-plain"])


class FastDevRunTest(unittest.TestCase):
    """One run of fio.fastdev, as small as its flags allow (4 runs of 100 ms)."""

    def test_end_to_end(self):
        iodepth, scratch = helpers.require_tools(self)
        out = os.path.join(scratch, "out", "fastdev.json")
        done = helpers.run_module("fio.fastdev", [
            f"--directory={scratch}", "--size=8m", "--rw=randread", "--direct=1", "--depths=1",
            "--variants=plain,worker", "--runtime=100ms", "--ramp_time=0", "--repeat=1", f"--json={out}"], iodepth)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertIn("[4/4] iodepth randread/direct/qd1/worker (round 1 of 1)", done.stdout)
        self.assertIn("Targets: ", done.stdout)
        data = os.path.join(scratch, "iodepth-fastdev.dat")
        self.assertIn(f"Removing {data} (pass --keep to keep it).", done.stdout)
        self.assertFalse(os.path.exists(data), "the file this run made is removed")
        with open(out) as f:
            document = json.load(f)
        self.assertTrue(document["complete"])
        self.assertEqual([(c["id"], c["status"]) for c in document["cells"]],
                         [("randread/direct/qd1/plain", "ok"), ("randread/direct/qd1/worker", "ok")])
        self.assertEqual(len(document["commands"]), 4)


if __name__ == "__main__":
    unittest.main()
