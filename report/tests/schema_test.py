"""Tests of report/schema.py: real results files pass schema/results.schema.json, and broken
ones fail naming the file, the JSON path of the bad field, what is wrong and what to do.

Real documents come from three places: a small document built here (so these tests run
anywhere), the results of a matrix run (every *.json in the directories of
$IODEPTH_RESULTS_DIRS, colon-separated, default results/matrix of this checkout; skipped
when there are none), and files the real binary writes in the test ($IODEPTH_BIN, e.g.
build/release/cli/iodepth; skipped when unset). Run from the repository root:

    /usr/bin/python3 -m unittest discover -s report/tests -t .
"""

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from unittest import mock

from report import schema
from report.tests.fixtures import version_2

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def percentiles(base):
    return {key: base * (i + 1) for i, key in enumerate(
        ("1.000000", "5.000000", "10.000000", "50.000000", "90.000000", "95.000000", "99.000000", "99.900000"))}


def repetition(iops):
    return {
        "iops": iops, "bw_bytes": iops * 4096, "total_ios": int(iops), "io_bytes": int(iops) * 4096,
        "runtime_ns": 1_000_000_000,
        "clat_ns": {"min": 900, "max": 90_000, "mean": 12_000.5, "N": int(iops), "percentile": percentiles(1000)},
        "usr_cpu_ns": 1_000_000, "sys_cpu_ns": 2_000_000, "cpu_ns_per_io": 3000.0,
        "depth": {"target": 4, "mean_in_flight": 3.9, "utilization": 0.975, "littles_law": 3.8,
                  "submit_calls": 100, "submitted": 400, "reap_calls": 200, "reaped": 400,
                  "avg_submit_batch": 4.0, "avg_reap_batch": 2.0, "resubmits": 0, "refills_short": 0},
        "resident_before": -1, "verified_bytes": 0, "buffer": None, "scan": None, "memory": None,
    }


def cell(mode="direct", status="ok"):
    reps = [repetition(1000.0), repetition(1100.0)] if status == "ok" else []
    return {
        "id": f"rand_read_qd4/{mode}/io_uring", "workload": "rand_read_qd4", "suite": "qd", "rw": "randread",
        "qd": 4, "bs": 4096, "mode": mode, "backend": "io_uring",
        "cache_state": "n/a" if mode == "direct" else "cold", "regime": "", "policy": "", "memory_cap": 0,
        "status": status, "reason": "" if status == "ok" else "io_uring is disabled", "flags": [],
        "median": {"iops": 1050.0, "bw_bytes": 1050.0 * 4096,
                   "clat_ns": {"mean": 12_000.5, "max": 90_000, "percentile": percentiles(1000)},
                   "cpu_ns_per_io": 3000.0,
                   "depth": {"mean_in_flight": 3.9, "littles_law": 3.8, "utilization": 0.975},
                   "buffer": None, "scan": None, "memory": None},
        "cv": {"iops": 0.067, "bw_bytes": 0.067, "clat_ns_p95": 0.0},
        "repetitions": reps,
    }


def document():
    """A small schema_version 3 document of the shape the C++ writer produces."""
    unknown = "unknown"
    return {
        "schema": "iodepth-results", "schema_version": 3, "iodepth_version": "0.1.0",
        "git_commit": "0123456789abcdef0123456789abcdef01234567", "created_utc": "2026-11-24T18:20:00Z",
        "command": "iodepth suite qd --depths=4", "config": {"suite": "qd", "depths": [4], "cache_state": "cold"},
        "environment": {
            "collected_utc": "2026-11-24T18:20:00Z", "hostname": "vm", "kernel": "6.18.0", "uname": "Linux vm",
            "cpu_model": "AMD EPYC", "cpu_count": 2, "cpus_allowed": 2, "memory_total_bytes": 1 << 34,
            "data_path": "/var/tmp/t.dat", "inspected_path": "/var/tmp", "memlock_limit_bytes": "unlimited",
            "open_files_limit": 1024, "transparent_hugepage": "madvise", "iodepth_version": "0.1.0",
            "git_commit": unknown, "filesystem": {"type": "ext4"}, "device": {"name": "vda"},
            "io_uring": {"available": True}, "direct_io_alignment": {"memory_bytes": 512},
            "cgroup": {"version": "2"}, "vm": {"swappiness": 60}},
        "cells": [cell("buffered"), cell("direct"), cell("direct", status="unsupported")],
        "fio_crosscheck": [],
    }


class ValidDocumentsTest(unittest.TestCase):
    def test_the_document_built_here_is_valid(self):
        schema.validate(document(), "built.json")

    def test_version_2_without_memory_records_is_valid(self):
        schema.validate(version_2(document()), "v2.json")

    def test_records_of_bm_scan_and_capped_cells_are_valid(self):
        doc = document()
        c = doc["cells"][0]
        c.update(suite="bm", id="bm_seq_read_qd4/buffered/io_uring/thrash", workload="bm_seq_read_qd4",
                 regime="thrash", policy="fixed", memory_cap=128 << 20)
        buffer = {"memory_bytes": 64 << 20, "working_set_bytes": 256 << 20, "page_bytes": 8192, "fetches": 100,
                  "hits": 20, "misses": 80, "hit_ratio": 0.2, "reads": 10, "read_bytes": 80 * 8192,
                  "mean_read_bytes": 8.0 * 8192, "reads_by_pages": {"8": 10}, "consumer_waits": 5,
                  "wait_ns": 1000, "wait_fraction": 0.001, "mean_distance": 4.0}
        memory = {"cgroup": "v2", "cap_bytes": 128 << 20, "peak_bytes": 100 << 20, "page_cache_bytes": 60 << 20,
                  "refaults": 10, "limit_events": 1, "oom_kills": 0}
        for r in c["repetitions"]:
            r.update(buffer=buffer, memory=memory, resident_before=0.01,
                     scan={"streams": 2, "rows": 1000, "rows_per_s": 1e6, "passes_checked": 1,
                           "stream_bw_bytes": [1e8, 2e8]})
        c["median"].update(
            buffer={"hit_ratio": 0.2, "mean_read_bytes": 65536.0, "reads_per_s": 10.0, "wait_fraction": 0.001,
                    "mean_distance": 4.0},
            scan={"rows_per_s": 1e6, "min_stream_bw_bytes": 1e8},
            memory={"peak_bytes": 1e8, "page_cache_bytes": 6e7, "refaults": 10.0})
        schema.validate(doc, "records.json")

    def test_a_fio_crosscheck_entry_with_a_null_ratio_is_valid(self):
        doc = document()
        doc["fio_crosscheck"] = [{"cell": doc["cells"][1]["id"],
                                  "fio": {"iops": 1000.0, "clat_ns_p95": 5000, "cpu_ns_per_io": 0.0},
                                  "ratio": {"iops": 1.05, "clat_ns_p95": 0.9, "cpu_ns_per_io": None}}]
        schema.validate(doc, "crosscheck.json")

    def test_a_document_without_fio_crosscheck_is_valid(self):
        doc = document()
        del doc["fio_crosscheck"]
        schema.validate(doc, "no-crosscheck.json")

    def test_results_of_a_matrix_run_are_valid(self):
        dirs = os.environ.get("IODEPTH_RESULTS_DIRS") or os.path.join(ROOT, "results", "matrix")
        files = sorted(f for d in dirs.split(":") if d for f in glob.glob(os.path.join(d, "*.json")))
        if not files:
            self.skipTest(f"no results files in {dirs} (set IODEPTH_RESULTS_DIRS, or run ./run.sh)")
        for path in files:
            with self.subTest(path=path):
                doc = schema.validate_file(path)
                self.assertTrue(doc["cells"], f"{path} has no cells")


@unittest.skipUnless(os.environ.get("IODEPTH_BIN"), "IODEPTH_BIN (the iodepth binary) is not set")
class BinaryDocumentsTest(unittest.TestCase):
    """Results files written by the real binary, one per suite, from short runs."""

    # Short runs: every cell kind of each suite, a few cells each, 8 MiB files.
    RUNS = {
        "qd": ["--depths=1,4", "--modes=direct,buffered", "--backends=sync,io_uring", "--size=8m"],
        "io_patterns": ["--modes=buffered,direct", "--size=8m"],
        "bm": ["--memory=2m", "--regimes=hot,thrash", "--depths=1,4", "--modes=direct,buffered",
               "--backends=io_uring,sync", "--adaptive=1"],
        "scan": ["--memory=2m", "--regimes=pressure", "--depths=1,2", "--modes=direct,buffered",
                 "--backends=io_uring,sync", "--streams=2"],
    }

    @classmethod
    def setUpClass(cls):
        # Beside the build rather than in /tmp, which may be tmpfs, where O_DIRECT is refused.
        cls.work = tempfile.mkdtemp(prefix="schema_test.", dir=os.environ.get("IODEPTH_TEST_DIR") or "/var/tmp")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)

    def run_suite(self, suite):
        out = os.path.join(self.work, f"{suite}.json")
        data = os.path.join(self.work, f"{suite}.dat")
        command = [os.environ["IODEPTH_BIN"], "suite", suite, *self.RUNS[suite], "--runtime=50ms", "--ramp_time=0",
                   "--repetitions=1", f"--filename={data}", f"--json={out}",
                   f"--csv={os.path.join(self.work, suite + '.csv')}"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False)
        self.assertEqual(done.returncode, 0, f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
        return out

    def test_every_suite_writes_a_valid_document(self):
        for suite in self.RUNS:
            with self.subTest(suite=suite):
                doc = schema.validate_file(self.run_suite(suite))
                self.assertEqual(doc["config"]["suite"], suite)
                self.assertTrue(doc["cells"])
                if suite in ("bm", "scan"):
                    measured = [c for c in doc["cells"] if c["status"] == "ok"]
                    self.assertTrue(measured, f"every {suite} cell is {doc['cells'][0]['status']}")
                    self.assertIsNotNone(measured[0]["repetitions"][0]["buffer"])
                if suite == "scan":
                    self.assertIsNotNone(measured[0]["repetitions"][0]["scan"])


class BrokenDocumentsTest(unittest.TestCase):
    def assert_invalid(self, doc, path, words):
        """Validation fails, the first problem is at `path`, and the message names the file,
        the path and every one of `words`."""
        with self.assertRaises(schema.InvalidResults) as raised:
            schema.validate(doc, "broken.json")
        error = raised.exception
        self.assertEqual(error.source, "broken.json")
        self.assertEqual(error.problems[0][0], path, str(error))
        message = str(error)
        for expected in ["broken.json", path, *words]:
            self.assertIn(expected, message)
        return message

    def test_nan_and_out_of_range_numbers_in_a_file_are_refused_as_json(self):
        # Python's json reads NaN, Infinity and 1e999 (as infinity) unless told not to; each
        # would pass a "minimum: 0" check and break a ratio later.
        good = json.dumps(document())
        bad_value = json.dumps(document()["cells"][1]["repetitions"][0]["iops"])
        with tempfile.TemporaryDirectory() as tmp:
            for text in ("NaN", "Infinity", "-Infinity", "1e999"):
                with self.subTest(value=text):
                    path = os.path.join(tmp, "bad.json")
                    with open(path, "w", encoding="utf-8") as f:
                        f.write(good.replace(f'"iops": {bad_value}', f'"iops": {text}', 1))
                    with self.assertRaises(schema.InvalidResults) as raised:
                        schema.validate_file(path)
                    self.assertIn("is not valid JSON", str(raised.exception))
                    self.assertIn(text.lstrip("-"), str(raised.exception))

    def test_negative_iops_names_the_repetition_field(self):
        doc = document()
        doc["cells"][1]["repetitions"][0]["iops"] = -5.0
        self.assert_invalid(doc, "cells[1].repetitions[0].iops", ["less than the minimum of 0", "Regenerate"])

    def test_negative_count_inside_a_nullable_record_names_the_field(self):
        doc = version_2(document())
        doc["cells"][0]["repetitions"][1]["buffer"] = {
            "memory_bytes": 1, "working_set_bytes": 1, "page_bytes": 8192, "fetches": 1, "hits": -1, "misses": 1,
            "hit_ratio": 0.0, "reads": 1, "read_bytes": 1, "mean_read_bytes": 1.0, "reads_by_pages": {},
            "consumer_waits": 0, "wait_ns": 0, "wait_fraction": 0.0, "mean_distance": 1.0}
        self.assert_invalid(doc, "cells[0].repetitions[1].buffer.hits", ["minimum"])

    def test_missing_key_names_the_key(self):
        doc = document()
        del doc["cells"][2]["median"]["clat_ns"]["percentile"]["95.000000"]
        self.assert_invalid(doc, 'cells[2].median.clat_ns.percentile["95.000000"]', ["missing"])

    def test_each_missing_key_is_named_once(self):
        doc = document()
        for key in ("hostname", "kernel", "vm"):
            del doc["environment"][key]
        message = self.assert_invalid(doc, "environment.hostname", ["missing"])
        for key in ("hostname", "kernel", "vm"):
            self.assertEqual(message.count(f"environment.{key}: missing"), 1, message)

    def test_version_3_cell_without_memory_cap_names_it(self):
        doc = document()
        del doc["cells"][0]["memory_cap"]
        self.assert_invalid(doc, "cells[0].memory_cap", ["missing"])

    def test_wrong_type_names_the_field_and_the_type(self):
        doc = document()
        doc["cells"][1]["qd"] = "4"
        self.assert_invalid(doc, "cells[1].qd", ["not of type 'integer'"])

    def test_unknown_status_lists_the_known_ones(self):
        doc = document()
        doc["cells"][0]["status"] = "finished"
        self.assert_invalid(doc, "cells[0].status", ["'finished'", "'ok'", "'unsupported'", "'error'"])

    def test_unknown_field_is_named(self):
        doc = document()
        doc["cells"][0]["repetitions"][0]["iops_total"] = 1
        self.assert_invalid(doc, "cells[0].repetitions[0].iops_total", ["not a field"])

    def test_direct_cell_claiming_a_cache_state_fails(self):
        doc = document()
        doc["cells"][1]["cache_state"] = "cold"
        self.assert_invalid(doc, "cells[1].cache_state", ["n/a"])

    def test_resident_before_outside_its_range_fails(self):
        doc = document()
        doc["cells"][0]["repetitions"][0]["resident_before"] = 1.5
        self.assert_invalid(doc, "cells[0].repetitions[0].resident_before", ["-1 where not measured"])

    def test_newer_schema_version_says_upgrade(self):
        doc = document()
        doc["schema_version"] = 4
        self.assert_invalid(doc, "schema_version", ["schema_version 4", "newer", "upgrade iodepth", "2 to 3"])

    def test_older_schema_version_says_regenerate(self):
        doc = document()
        doc["schema_version"] = 1
        self.assert_invalid(doc, "schema_version", ["older", "regenerate it with this iodepth"])

    def test_not_a_results_file_says_so(self):
        doc = document()
        doc["schema"] = "fio"
        self.assert_invalid(doc, "schema", ["not an iodepth results file"])

    def test_schema_version_problem_comes_before_the_others(self):
        doc = document()
        doc["cells"][0]["iops"] = "many"
        doc["schema_version"] = 9
        self.assert_invalid(doc, "schema_version", ["newer"])

    def test_supported_versions_come_from_the_schema_file(self):
        with open(schema.SCHEMA_PATH, encoding="utf-8") as f:
            declared = json.load(f)["properties"]["schema_version"]["enum"]
        self.assertEqual(schema.supported_versions(), sorted(declared))


class SchemaUnavailableTest(unittest.TestCase):
    def tearDown(self):
        schema._load.cache_clear()

    def test_missing_jsonschema_says_how_to_install_it(self):
        schema._load.cache_clear()
        with mock.patch.dict(sys.modules, {"jsonschema": None}):
            with self.assertRaises(schema.SchemaUnavailable) as raised:
                schema.validate(document(), "any.json")
        self.assertIn("apt-get install python3-jsonschema", str(raised.exception))

    def test_schema_is_loaded_once(self):
        schema._load.cache_clear()
        schema.validate(document(), "a.json")
        schema.validate(document(), "b.json")
        self.assertEqual(schema._load.cache_info().misses, 1)


class CommandTest(unittest.TestCase):
    def run_command(self, *paths):
        return subprocess.run([sys.executable, "-m", "report.schema", *paths], cwd=ROOT, capture_output=True,
                              text=True, timeout=120, check=False)

    def test_valid_and_invalid_files_set_the_exit_status_and_are_named(self):
        with tempfile.TemporaryDirectory() as work:
            good, bad = os.path.join(work, "good.json"), os.path.join(work, "bad.json")
            broken = document()
            broken["cells"][1]["repetitions"][1]["depth"]["reaped"] = -1
            for path, doc in ((good, document()), (bad, broken)):
                with open(path, "w", encoding="utf-8") as f:
                    json.dump(doc, f)
            done = self.run_command(good)
            self.assertEqual(done.returncode, 0, done.stderr)
            self.assertIn(f"valid: {good}", done.stdout)
            done = self.run_command(work)  # A directory: every *.json in it.
            self.assertEqual(done.returncode, 1)
            self.assertIn(f"valid: {good}", done.stdout)
            self.assertIn(bad, done.stderr)
            self.assertIn("cells[1].repetitions[1].depth.reaped", done.stderr)
            self.assertNotIn("Traceback", done.stderr)

    def test_directory_without_results_files_fails(self):
        with tempfile.TemporaryDirectory() as work:
            done = self.run_command(work)
        self.assertEqual(done.returncode, 1)
        self.assertIn("no *.json results files", done.stderr)

    def test_file_that_is_not_json_fails_naming_it(self):
        with tempfile.TemporaryDirectory() as work:
            path = os.path.join(work, "torn.json")
            with open(path, "w", encoding="utf-8") as f:
                f.write('{"schema": "iodepth-res')
            done = self.run_command(path)
        self.assertEqual(done.returncode, 1)
        self.assertIn(f"{path} is not valid JSON", done.stderr)


if __name__ == "__main__":
    unittest.main()
