"""Tests of fio/crosscheck.py: flags, the plan (each cell's fio job), checking each run,
merging synthetic iodepth and fio runs into one results file (summarised by `iodepth
summarise`), the table, and one short end-to-end run against fio."""

import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from fio import common, crosscheck
from report import schema
from fio.common import FioError
from fio.tests import helpers


def settings(*argv, now=time.gmtime):
    flags = common.parse_flags(list(argv), crosscheck.VALUE_FLAGS, crosscheck.SWITCHES)
    return crosscheck.settings_from_flags(flags, now=now)


class FlagsTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        self.json = os.path.join(self.dir, "cc.json")

    def test_defaults_per_suite(self):
        s = settings(f"--json={self.json}")
        self.assertEqual((s.suite, s.cells_text, s.runtime_ms, s.ramp_time_ms, s.repeat, s.size_bytes),
                         ("qd", crosscheck.DEFAULT_CELLS["qd"], 10000, 2000, 3, 1 << 30))
        s = settings("--suite=io_patterns", f"--json={self.json}")
        self.assertEqual(s.cells_text, "rand_read/direct/syncpath,rand_read/buffered/syncpath")

    def test_default_qd_cells_are_every_raw_request_family(self):
        cells = crosscheck.DEFAULT_CELLS["qd"].split(",")
        self.assertEqual(set(cells), {f"{kind}_read_qd{qd}/{mode}/io_uring" for kind in ("seq", "rand")
                                      for qd in (1, 32) for mode in ("direct", "buffered")})
        self.assertEqual(len(cells), 8)
        planned = crosscheck.plan("qd", crosscheck.DEFAULT_CELLS["qd"], 8 << 20)
        self.assertEqual([p["skip"] for p in planned], [""] * 8, "every default cell is compared")
        self.assertEqual(sum(p["cold"] for p in planned), 4, "the buffered ones start cold")

    def test_default_results_file_is_named_by_utc_time(self):
        cwd = os.getcwd()
        os.chdir(self.dir)
        self.addCleanup(os.chdir, cwd)
        s = settings(now=lambda: time.struct_time((2026, 1, 2, 3, 4, 5, 4, 2, 0)))
        self.assertEqual(s.json_out, "results/crosscheck-20260102-030405.json")
        self.assertTrue(os.path.isdir(os.path.join(self.dir, "results")), "made at once, not after the runs")

    def test_bad_values_name_the_flag(self):
        cases = {("--suite=bm",): "--suite must be qd or io_patterns, got 'bm'",
                 ("--runtime=999ms",): "--runtime must be at least 1s, got '999ms'",
                 ("--runtime=1h",): "--runtime '1h' is not a time like 10s, 1500ms or 2m",
                 ("--ramp_time=x",): "--ramp_time 'x' is not a time like 2s, 500ms or 0",
                 ("--repeat=0",): "--repeat must be a whole number from 1 to 99, got '0'",
                 ("--size=0",): "--size must be larger than 0",
                 ("--size=big",): "--size 'big' is not a size like 1g, 512m or 4096"}
        for argv, message in cases.items():
            with self.assertRaises(FioError, msg=argv) as caught:
                settings(*argv, f"--json={self.json}")
            self.assertEqual(str(caught.exception), message)

    def test_json_that_is_a_directory_is_refused(self):
        with self.assertRaisesRegex(FioError, "^--json: '.*' is a directory$"):
            settings(f"--json={self.dir}")

    def test_help(self):
        code, out = helpers.captured(crosscheck.main, ["-h"])
        self.assertEqual(code, 0)
        self.assertTrue(out.startswith("Usage: /usr/bin/python3 -m fio.crosscheck [options]\n"))


class PlanTest(unittest.TestCase):
    def plan_of(self, cells, suite="qd", size=8 << 20):
        return {p["id"]: p for p in crosscheck.plan(suite, cells, size)}

    def test_io_uring_cell(self):
        p = self.plan_of("rand_read_qd32/direct/io_uring")["rand_read_qd32/direct/io_uring"]
        self.assertEqual(p["fio_args"], [f"--size={8 << 20}", "--rw=randread", "--norandommap", "--direct=1",
                                         "--ioengine=io_uring", "--iodepth=32"])
        self.assertEqual(p["iodepth_args"], ["--only", "rand_read_qd32/direct/io_uring", "--modes", "direct",
                                             "--depths", "32", "--backends", "io_uring"])
        self.assertEqual((p["skip"], p["probe"], p["cold"]), ("", "", False))
        self.assertEqual(p["notes"], [crosscheck.URING_NOTE])

    def test_buffered_cell_starts_cold_and_fio_does_not_drop_again_at_each_wrap(self):
        p = self.plan_of("seq_read_qd1/buffered/sync")["seq_read_qd1/buffered/sync"]
        self.assertEqual(p["fio_args"], [f"--size={8 << 20}", "--rw=read", "--direct=0", "--invalidate=0",
                                         "--ioengine=psync", "--iodepth=1"])
        self.assertTrue(p["cold"], "the run drops the file's pages before each fio run")
        self.assertEqual(p["notes"], [crosscheck.BUFFERED_NOTE])
        p = self.plan_of("seq_read_qd32/buffered/io_uring")["seq_read_qd32/buffered/io_uring"]
        self.assertIn("--invalidate=0", p["fio_args"])
        self.assertTrue(p["cold"])

    def test_seq_worker_cell_reads_one_slice_per_job(self):
        p = self.plan_of("seq_read_qd4/direct/worker")["seq_read_qd4/direct/worker"]
        self.assertEqual(p["fio_args"], [f"--size={2 << 20}", "--rw=read", "--direct=1", "--ioengine=psync",
                                         "--numjobs=4", "--thread", "--group_reporting",
                                         f"--offset_increment={2 << 20}"])
        self.assertIn(crosscheck.SEQ_WORKER_NOTE, p["notes"])

    def test_worker_jobs_are_capped_at_the_pool_size(self):
        p = self.plan_of("rand_read_qd128/direct/worker")["rand_read_qd128/direct/worker"]
        self.assertIn("--numjobs=64", p["fio_args"])
        self.assertTrue(any("at most 64 worker threads" in n for n in p["notes"]))

    def test_too_small_a_file_for_worker_slices(self):
        with self.assertRaisesRegex(FioError, "too small to give each of 16 fio jobs a slice of at least 1 MiB"):
            crosscheck.plan("qd", "seq_read_qd16/direct/worker", 8 << 20)

    def test_dontcache_needs_a_probe(self):
        p = self.plan_of("rand_read_qd1/dontcache/sync")["rand_read_qd1/dontcache/sync"]
        self.assertEqual(p["probe"], "pvsync2")
        self.assertEqual(p["fio_args"][-1], "--uncached=1")

    def test_write_cells_are_skipped(self):
        p = self.plan_of("seq_write/direct/syncpath", suite="io_patterns")["seq_write/direct/syncpath"]
        self.assertEqual(p["skip"], crosscheck.WRITE_SKIP)
        self.assertEqual(p["iodepth_args"], ["--only", "seq_write/direct/syncpath", "--modes", "direct"])

    def test_bad_lists(self):
        with self.assertRaisesRegex(FioError, "not a qd cell id .*`iodepth suite qd --list` prints them"):
            crosscheck.plan("qd", "rand_read/direct/syncpath", 8 << 20)
        with self.assertRaisesRegex(FioError, "not an io_patterns cell id"):
            crosscheck.plan("io_patterns", "rand_read_qd1/direct/io_uring", 8 << 20)
        with self.assertRaisesRegex(FioError, "^--cells names no cell$"):
            crosscheck.plan("qd", " , ", 8 << 20)
        with self.assertRaisesRegex(FioError, "names rand_read_qd1/direct/io_uring more than once"):
            crosscheck.plan("qd", "rand_read_qd1/direct/io_uring, rand_read_qd1/direct/io_uring", 8 << 20)


class RunCheckTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)

    def test_iodepth_run_must_hold_exactly_the_cell(self):
        cell = helpers.cell_record("rand_read_qd1/direct/io_uring", [helpers.repetition(1000.0)])
        path = helpers.write_json(self.dir, "i.json", helpers.suite_document([cell]))
        _, found = crosscheck.iodepth_cell(path, "rand_read_qd1/direct/io_uring")
        self.assertEqual(found["id"], "rand_read_qd1/direct/io_uring")
        with self.assertRaisesRegex(FioError, "expected exactly the cell seq_read_qd1/direct/io_uring, found"):
            crosscheck.iodepth_cell(path, "seq_read_qd1/direct/io_uring")

    def test_not_a_results_file(self):
        path = helpers.write_json(self.dir, "i.json", {"schema": "other"})
        with self.assertRaisesRegex(FioError, "not an iodepth results file \\(its \"schema\" is 'other'\\)"):
            crosscheck.iodepth_cell(path, "x")

    def test_unsupported_cell_is_returned_for_the_caller_to_skip(self):
        cell = helpers.cell_record("rand_read_qd1/dontcache/io_uring", [], status="unsupported")
        path = helpers.write_json(self.dir, "i.json", helpers.suite_document([cell]))
        self.assertEqual(crosscheck.iodepth_cell(path, cell["id"])[1]["status"], "unsupported")

    def test_error_cell_and_two_repetitions_are_refused(self):
        cell = helpers.cell_record("rand_read_qd1/direct/io_uring", [helpers.repetition(1.0)], status="error")
        path = helpers.write_json(self.dir, "i.json", helpers.suite_document([cell]))
        with self.assertRaisesRegex(FioError, "the cell's status is 'error': not here"):
            crosscheck.iodepth_cell(path, cell["id"])
        cell = helpers.cell_record(cell["id"], [helpers.repetition(1.0), helpers.repetition(2.0)])
        path = helpers.write_json(self.dir, "i.json", helpers.suite_document([cell]))
        with self.assertRaisesRegex(FioError, "expected one repetition, found 2"):
            crosscheck.iodepth_cell(path, cell["id"])

    def test_fio_run_with_two_groups_is_refused(self):
        path = helpers.write_json(self.dir, "f.json", helpers.fio_document(jobs=2))
        with self.assertRaisesRegex(FioError, r"expected one job \(or one group\) in \['jobs'\], found 2"):
            crosscheck.fio_metrics(path, "f")

    def test_fio_metrics(self):
        path = helpers.write_json(self.dir, "f.json", helpers.fio_document(iops=2000.0, usr=5.0, sys_cpu=5.0))
        m = crosscheck.fio_metrics(path, "f")
        self.assertEqual((m["iops"], m["clat_ns_p95"], m["lat_ns_p95"]), (2000.0, 100_000, 110_000))
        self.assertAlmostEqual(m["cpu_ns_per_io"], 0.1 * 1000 * 1e6 / 10_000)


def fake_summarise(cells):
    """Stands in for `iodepth summarise` where only the merge's plumbing is under test: a
    marker, not a rule (the rule is SummariseCell's; see SummariseWithIodepthTest)."""
    out = json.loads(json.dumps(cells))
    for cell in out:
        cell.setdefault("median", {"clat_ns": {"percentile": {}}, "depth": {}})
        cell["median"]["iops"] = float(len(cell["repetitions"]))
        cell["median"]["clat_ns"]["percentile"][crosscheck.P95] = 1000
        cell["median"]["cpu_ns_per_io"] = 500.0
        cell["median"]["depth"]["littles_law"] = 1.0
        cell["flags"] = ["marker"]
    return out


class MergeTest(unittest.TestCase):
    """Two repetitions of three cells: one compared, one iodepth cannot run, one skipped."""

    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        self.planned = crosscheck.plan("qd", "rand_read_qd1/direct/io_uring,rand_read_qd1/dontcache/io_uring,"
                                             "rand_read_qd4/buffered/worker", 8 << 20)
        self.runs = []
        for rep in (1, 2):
            self.add_iodepth(0, rep, helpers.cell_record("rand_read_qd1/direct/io_uring",
                                                         [helpers.repetition(1000.0 * rep)]))
            self.add_fio(0, rep, helpers.fio_document(iops=800.0 * rep, lat_p95=2000))
        self.add_iodepth(1, 1, helpers.cell_record("rand_read_qd1/dontcache/io_uring", [], status="unsupported"),
                         modes=("dontcache",))
        self.skips = {2: "a probe said no"}

    def add_iodepth(self, index, rep, cell, modes=("direct",)):
        path = helpers.write_json(self.dir, f"i{index}_{rep}.json", helpers.suite_document([cell], seed=rep,
                                                                                           modes=modes))
        self.runs.append({"tool": "iodepth", "index": index, "rep": rep, "path": path, "seed": 100 + rep,
                          "command": f"iodepth run {rep}"})

    def add_fio(self, index, rep, document):
        path = helpers.write_json(self.dir, f"f{index}_{rep}.json", document)
        self.runs.append({"tool": "fio", "index": index, "rep": rep, "path": path, "seed": None,
                          "command": f"fio run {rep}"})

    def build(self, summarise=fake_summarise):
        return crosscheck.build_document(self.planned, self.runs, self.skips, summarise, "fio-3.33",
                                         "python3 -m fio.crosscheck --repeat=2", 2)

    def test_cells_hold_every_repetition_and_the_summary_iodepth_gave(self):
        document, _ = self.build()
        self.assertEqual([c["id"] for c in document["cells"]],
                         ["rand_read_qd1/direct/io_uring", "rand_read_qd1/dontcache/io_uring"])
        ok = document["cells"][0]
        self.assertEqual([r["iops"] for r in ok["repetitions"]], [1000.0, 2000.0])
        self.assertEqual((ok["median"]["iops"], ok["flags"]), (2.0, ["marker"]))
        self.assertEqual(document["cells"][1]["status"], "unsupported", "passed through, not summarised")

    def test_fio_crosscheck_entry(self):
        document, _ = self.build()
        (check,) = document["fio_crosscheck"]
        self.assertEqual(check["cell"], "rand_read_qd1/direct/io_uring")
        self.assertEqual(check["fio"]["iops"], 1200.0)
        self.assertEqual(check["fio"]["clat_ns_p95"], 100_000)
        self.assertIsInstance(check["fio"]["clat_ns_p95"], int)
        self.assertAlmostEqual(check["fio"]["cv"]["iops"], (800 * 2 ** 0.5 / 2) / 1200)
        self.assertEqual(check["fio"]["job"], " ".join(self.planned[0]["fio_args"]))
        self.assertEqual([r["command"] for r in check["fio"]["repetitions"]], ["fio run 1", "fio run 2"])
        self.assertAlmostEqual(check["ratio"]["iops"], 2.0 / 1200.0)
        self.assertAlmostEqual(check["ratio"]["clat_ns_p95"], 1000 / 100_000)

    def test_config_is_widened_and_records_the_crosscheck(self):
        document, skipped = self.build()
        config = document["config"]
        self.assertEqual(config["modes"], ["direct", "dontcache"])
        self.assertEqual(config["only"], ["rand_read_qd1/direct/io_uring", "rand_read_qd1/dontcache/io_uring"])
        self.assertEqual((config["repetitions"], config["seed"]), (2, 1))
        self.assertEqual(config["fio_crosscheck"]["randseeds"],
                         {"rand_read_qd1/direct/io_uring": [101, 102], "rand_read_qd1/dontcache/io_uring": [101]})
        self.assertEqual(skipped, {"rand_read_qd1/dontcache/io_uring": "iodepth reports it unsupported: not here",
                                   "rand_read_qd4/buffered/worker": "a probe said no"})
        self.assertEqual(config["fio_crosscheck"]["skipped"], skipped)
        self.assertEqual(document["command"], "python3 -m fio.crosscheck --repeat=2")

    def test_runs_that_disagree_on_config_cannot_be_merged(self):
        with open(self.runs[2]["path"]) as f:
            document = json.load(f)
        document["config"]["bs"] = 8192
        helpers.write_json(self.dir, os.path.basename(self.runs[2]["path"]), document)
        with self.assertRaisesRegex(FioError, "iodepth's runs disagree on config 'bs' \\(4096, 8192\\)"):
            self.build()

    def test_table_and_footnotes(self):
        document, skipped = self.build()
        _, out = helpers.captured(crosscheck.print_table, document, 2)
        lines = out.split("\n")
        self.assertEqual(lines[0], "Results (median of 2 runs; ratios are iodepth/fio; p95 is of completion latency; "
                                   "agrees: IOPS ratio within [0.95, 1.05]):")
        self.assertTrue(lines[3].startswith("rand_read_qd1/direct/io_uring"), lines[3])
        self.assertTrue(lines[3].endswith("marker"), lines[3])
        _, out = helpers.captured(crosscheck.print_footnotes, document, skipped, 2)
        self.assertIn("iodepth p95 / fio total-latency (lat) p95 = 0.500x (fio lat p95 2.0 µs)", out)
        self.assertIn("IOPS over 2 runs, min .. max (cv):", out)
        self.assertIn("skipped rand_read_qd4/buffered/worker: a probe said no", out)
        # The fake summary's 2 IOPS against fio's 1200, its depth 1 against fio's 0.066.
        self.assertIn("Outside [0.95, 1.05] of fio's IOPS:\n  rand_read_qd1/direct/io_uring: 0.002x: fio and iodepth "
                      "at different achieved depth (Little's law:\n    iodepth 1, fio 0.0012)", out)

    def test_written_document_is_what_the_report_reads(self):
        document, _ = self.build()
        path = os.path.join(self.dir, "cc.json")
        helpers.captured(crosscheck.write_document, path, document)
        with open(path) as f:
            reread = json.load(f)
        self.assertEqual(reread["schema"], "iodepth-results")
        self.assertEqual(set(reread["fio_crosscheck"][0]), {"cell", "fio", "ratio", "cache_state", "depth",
                                                             "device_read_share", "agrees", "cause"})
        self.assertEqual(reread["fio_crosscheck"][0]["cache_state"], {"iodepth": "n/a", "fio": "n/a"})
        self.assertEqual(reread["fio_crosscheck"][0]["fio"]["flags"], ["marker"], "fio's runs, flagged by summarise")
        self.assertEqual(set(reread["fio_crosscheck"][0]["ratio"]), {"iops", "clat_ns_p95", "cpu_ns_per_io"})
        self.assertFalse(os.path.exists(path + ".tmp"))


class VerdictTest(unittest.TestCase):
    """The ±5% verdict and its cause, on synthetic runs: a buffered qd 32 cell, 1000 IOPS on
    fio's side at a Little's-law depth of 32, the device reading every requested byte."""

    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        self.plan = crosscheck.plan("qd", "seq_read_qd32/buffered/io_uring", 8 << 20)[0]

    def entry(self, iodepth_iops, iodepth_depth=32.0, iodepth_device_share=1.0, fio_device_share=1.0,
              iodepth_flags=(), fio_flags=()):
        cell = helpers.cell_record("seq_read_qd32/buffered/io_uring", [helpers.repetition(iodepth_iops)], qd=32,
                                   mode="buffered", cache_state="cold")
        cell["median"]["depth"]["littles_law"] = iodepth_depth
        cell["median"]["device"] = {"read_bytes": iodepth_device_share * 4096e6, "write_bytes": 0.0,
                                    "requested_bytes": 4096e6}
        cell["flags"] = list(iodepth_flags)
        path = helpers.write_json(self.dir, "f.json", helpers.fio_document(iops=1000.0, lat_p95=64_000_000))
        m = dict(crosscheck.fio_metrics(path, "f"), resident_before=0.0,
                 device={"name": "vda1", "read_bytes": int(fio_device_share * 10_000 * 4096 * 1.25), "write_bytes": 0,
                         "read_ios": 10, "write_ios": 0})
        return crosscheck.crosscheck_entry(cell, [(m, "fio run 1")], self.plan, "fio-3.33",
                                           {"flags": list(fio_flags)}, (1000, 250))

    def test_within_five_percent_agrees(self):
        for iops in (960.0, 1000.0, 1040.0):
            e = self.entry(iops)
            self.assertEqual((e["agrees"], e["cause"]), (True, None), iops)
        e = self.entry(1000.0)
        self.assertEqual(e["cache_state"], {"iodepth": "cold", "fio": "cold"})
        self.assertEqual(e["depth"], {"iodepth": 32.0, "fio": 32.0})
        self.assertAlmostEqual(e["device_read_share"]["iodepth"], 1.0)
        self.assertAlmostEqual(e["device_read_share"]["fio"], 1.0)

    def test_seven_percent_apart_with_a_known_cause(self):
        e = self.entry(1070.0, iodepth_device_share=0.5)
        self.assertFalse(e["agrees"])
        self.assertEqual(e["cause"], "buffered served from the page cache differently: the device read 50% of "
                                     "the bytes iodepth requested, about 100% of fio's")
        e = self.entry(930.0, iodepth_depth=20.0, fio_flags=["cv_high"])
        self.assertFalse(e["agrees"])
        self.assertEqual(e["cause"], "fio and iodepth at different achieved depth (Little's law: iodepth 20, "
                                     "fio 32); cv_high on fio's side (its IOPS varies between runs)")
        e = self.entry(1070.0, iodepth_flags=["served_from_memory"])
        self.assertEqual(e["cause"], "iodepth's runs were served from memory (served_from_memory)")
        e = self.entry(1070.0, iodepth_flags=["served_from_memory"], fio_flags=["served_from_memory"])
        self.assertEqual(e["cause"], "both sides were served from memory (iodepth: served_from_memory; fio: "
                                     "served_from_memory), so they compare page-cache copies, not the device")

    def test_seven_percent_apart_without_a_known_cause(self):
        e = self.entry(1070.0, iodepth_depth=33.0, iodepth_device_share=0.9)
        self.assertEqual((e["agrees"], e["cause"]), (False, None))
        self.assertAlmostEqual(e["ratio"]["iops"], 1.07)

    def test_no_ratio_no_verdict(self):
        self.assertEqual(crosscheck.verdict(None, "direct", [], [], {"iodepth": 1.0, "fio": 1.0},
                                            {"iodepth": None, "fio": None}), (None, None))


class ColdStartTest(unittest.TestCase):
    """A buffered cell's fio run starts cold: the file's pages are dropped just before it."""

    def test_pages_are_dropped_before_each_buffered_fio_run_only(self):
        scratch = tempfile.mkdtemp(dir="/var/tmp")
        self.addCleanup(shutil.rmtree, scratch)
        planned = crosscheck.plan("qd", "rand_read_qd1/direct/io_uring,rand_read_qd1/buffered/io_uring", 8 << 20)
        s = crosscheck.Settings(filename=os.path.join(scratch, "x.dat"), size_bytes=8 << 20, repeat=1)
        events = []
        check = crosscheck.CrossCheck(s, None, None, scratch, planned)
        check.bs = {0: 4096, 1: 4096}

        def fake_step(label, out, command):
            events.append(("fio", [a for a in command if a.startswith(("--direct", "--invalidate"))]))
            helpers.write_json(scratch, os.path.basename(out), helpers.fio_document())
        check.steps.run = fake_step
        original = common.drop_file_cache
        common.drop_file_cache = lambda path: events.append(("drop", path))
        self.addCleanup(setattr, common, "drop_file_cache", original)
        helpers.captured(check.run_fio, planned[0], 1)
        helpers.captured(check.run_fio, planned[1], 1)
        self.assertEqual(events, [("fio", ["--direct=1"]), ("drop", s.filename),
                                  ("fio", ["--direct=0", "--invalidate=0"])])
        self.assertEqual(check.runs[0]["resident_before"], -1.0)

    def test_a_cell_iodepth_ran_warm_is_not_compared_with_fio_cold(self):
        scratch = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, scratch)
        planned = crosscheck.plan("qd", "rand_read_qd1/buffered/io_uring", 8 << 20)
        cell = helpers.cell_record("rand_read_qd1/buffered/io_uring", [helpers.repetition(1000.0)],
                                   mode="buffered", cache_state="warm")
        runs = [{"tool": "iodepth", "index": 0, "rep": 1, "seed": 1, "command": "i",
                 "path": helpers.write_json(scratch, "i.json", helpers.suite_document([cell], modes=("buffered",)))},
                {"tool": "fio", "index": 0, "rep": 1, "seed": None, "command": "f",
                 "path": helpers.write_json(scratch, "f.json", helpers.fio_document())}]
        document, skipped = crosscheck.build_document(planned, runs, {}, fake_summarise, "fio-3.33", "c", 1)
        self.assertEqual(document["fio_crosscheck"], [])
        self.assertEqual(skipped, {"rand_read_qd1/buffered/io_uring": "iodepth's runs started 'warm', fio's start "
                                   "cold: unlike cache states are not compared"})


class SummariseWithIodepthTest(unittest.TestCase):
    """The merge's summary comes from `iodepth summarise` (SummariseCell), not Python."""

    def test_medians_cv_and_flags_come_from_iodepth(self):
        iodepth = helpers.require_iodepth(self)
        cell = helpers.cell_record("rand_read_qd4/direct/io_uring", [
            helpers.repetition(1000.0, target=4, littles_law=4.0), helpers.repetition(3000.0, target=4, littles_law=4.0),
            helpers.repetition(2000.0, target=4, littles_law=2.0)], qd=4)
        del cell["median"], cell["cv"], cell["flags"]
        (out,) = crosscheck.summarise_with_iodepth(iodepth, [cell])
        self.assertEqual(out["median"]["iops"], 2000.0)
        self.assertEqual(out["median"]["depth"]["littles_law"], 4.0)
        self.assertAlmostEqual(out["cv"]["iops"], 0.5)
        self.assertEqual(out["flags"], ["cv_high"])
        # Repetitions come back as they went, with "device" and "write" null where fio's
        # records had none, the depth counters newer than these records at 0 and the
        # queues at 1 (one job, as every record before numjobs).
        newer_depth = {"inline_completions": 0, "async_issued": 0, "submit_ns_per_io": 0.0,
                       "context_switches_per_io": 0.0, "jobs": 1}
        self.assertEqual(out["repetitions"], [dict(rep, device=None, write=None, depth=dict(rep["depth"], **newer_depth))
                                              for rep in cell["repetitions"]])

    def test_fio_runs_are_flagged_by_summarise_too(self):
        iodepth = helpers.require_iodepth(self)
        cell = helpers.cell_record("rand_read_qd32/buffered/io_uring", [helpers.repetition(1000.0)], qd=32,
                                   mode="buffered", cache_state="cold")
        runs, scratch = [], tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, scratch)
        for iops, resident in ((1000.0, 0.0), (3000.0, 0.5)):
            path = helpers.write_json(scratch, "f.json", helpers.fio_document(iops=iops, lat_p95=10_000_000))
            runs.append(dict(crosscheck.fio_metrics(path, "f"), resident_before=resident, device=None))
        (out,) = crosscheck.summarise_with_iodepth(iodepth, [crosscheck.fio_cell(cell, runs, 32)])
        # Little's law: 1000 x 5 ms = 5 and 3000 x 5 ms = 15 in flight of 32; IOPS cv 0.71.
        self.assertEqual(out["flags"], ["cv_high", "depth_short", "cold_but_cached"])

    def test_a_failing_iodepth_is_named_with_a_hint(self):
        with self.assertRaisesRegex(FioError, "(?s)/bin/false summarise - failed \\(exit status 1\\).*rebuild it"):
            crosscheck.summarise_with_iodepth("/bin/false", [])


class CrossCheckRunTest(unittest.TestCase):
    """One run of fio.crosscheck: two cells, two repetitions of 1 s, an 8 MiB file."""

    def test_end_to_end(self):
        iodepth, scratch = helpers.require_tools(self)
        data, out = os.path.join(scratch, "cc.dat"), os.path.join(scratch, "cc.json")
        cells = "rand_read_qd1/direct/io_uring,rand_read_qd1/buffered/sync"
        done = helpers.run_module("fio.crosscheck", [f"--cells={cells}", "--size=8m", "--runtime=1s",
                                                     "--ramp_time=0", "--repeat=2", f"--filename={data}",
                                                     f"--json={out}"], iodepth)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertIn("[9/9] fio rand_read_qd1/buffered/sync (run 2 of 2)", done.stdout)
        self.assertIn(f"Wrote {out}", done.stdout)
        self.assertFalse(os.path.exists(data))
        with open(out) as f:
            document = json.load(f)
        self.assertEqual([c["cell"] for c in document["fio_crosscheck"]], cells.split(","))
        for cell in document["cells"]:
            self.assertEqual(len(cell["repetitions"]), 2)
            self.assertEqual(cell["median"]["iops"], sum(r["iops"] for r in cell["repetitions"]) / 2)
        self.assertTrue(document["command"].startswith("/usr/bin/python3 -m fio.crosscheck --cells="))
        # The file must read back through iodepth's own strict reader, and match the schema.
        check = subprocess.run([iodepth, "summarise", out], capture_output=True, text=True)
        self.assertEqual(check.returncode, 0, check.stderr)
        self.assertEqual(json.loads(check.stdout)["cells"], document["cells"])
        try:
            schema.validate_file(out)
        except schema.SchemaUnavailable:
            pass  # No python3-jsonschema here: the strict reader above still checked the cells.

    def test_a_cell_iodepth_does_not_list_is_refused_before_anything_runs(self):
        iodepth, scratch = helpers.require_tools(self)
        done = helpers.run_module("fio.crosscheck", ["--cells=rand_read_qd5000/direct/io_uring", "--size=8m",
                                                     f"--filename={scratch}/x.dat", f"--json={scratch}/x.json"],
                                  iodepth)
        self.assertEqual((done.returncode, done.stdout), (1, ""))
        self.assertRegex(done.stderr, r"^error: 'rand_read_qd5000/direct/io_uring' is not a cell of suite qd "
                                      r"\(.* suite qd --list --only rand_read_qd5000/direct/io_uring .* said: "
                                      r".*out of range 1..4096\)\n$")
        self.assertEqual(os.listdir(scratch), [])


if __name__ == "__main__":
    unittest.main()
