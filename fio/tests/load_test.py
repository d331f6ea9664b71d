"""Tests of fio/load.py: flags, reading each tool's JSON, the table, and one short
end-to-end run against fio."""

import os
import unittest
from unittest import mock

from fio import common, load
from fio.common import FioError
from fio.tests import helpers

SIZE = 8 << 20


def settings(*argv):
    return load.settings_from_flags(common.parse_flags(list(argv), load.VALUE_FLAGS, load.SWITCHES))


def iodepth_document(**over):
    document = {"backend": "io_uring", "direct": True, "bytes": SIZE + 8192, "page_size": 8192, "elapsed_ns": 2 * 10**8,
                "cpu_user_ns": 10**7, "cpu_system_ns": 4 * 10**7, "mib_per_s": 40.0}
    document.update(over)
    return document


def fio_write_document(io_bytes=SIZE, bw_bytes=50 << 20, runtime_ms=160, error=0):
    return {"jobs": [{"error": error, "job_runtime": runtime_ms, "usr_cpu": 10.0, "sys_cpu": 15.0,
                      "write": {"io_bytes": io_bytes, "bw_bytes": bw_bytes}}]}


class FlagsTest(unittest.TestCase):
    def test_defaults(self):
        with mock.patch.dict(os.environ, {"IODEPTH_TMPDIR": ""}):
            s = settings()
        self.assertEqual((s.size_bytes, s.repeat, s.directory), (1 << 30, 3, "/var/tmp"))

    def test_directory_defaults_to_iodepth_tmpdir(self):
        with mock.patch.dict(os.environ, {"IODEPTH_TMPDIR": "/tmp"}):
            self.assertEqual(settings().directory, "/tmp")

    def test_bad_values(self):
        cases = {("--size=100k",): "--size must be a whole number of 128 KiB writes (so both tools write the "
                                   "same bytes), got '100k' = 102400 bytes",
                 ("--repeat=x",): "--repeat must be a whole number from 1 to 99, got 'x'",
                 ("--directory=/nonexistent",): "--directory '/nonexistent' does not exist or is not writable",
                 ("--filename=x",): "unknown option '--filename=x' (see --help)"}
        for argv, message in cases.items():
            with self.assertRaises(FioError, msg=argv) as caught:
                settings(*argv)
            self.assertEqual(str(caught.exception), message)

    def test_help(self):
        code, out = helpers.captured(load.main, ["--help"])
        self.assertEqual(code, 0)
        self.assertTrue(out.startswith("Usage: /usr/bin/python3 -m fio.load [options]\n"))


class MetricsTest(unittest.TestCase):
    def test_iodepth(self):
        m = load.iodepth_metrics(iodepth_document(), "i", SIZE)
        self.assertEqual(m["mib_per_s"], 40.0)
        self.assertAlmostEqual(m["elapsed_s"], 0.2)
        self.assertAlmostEqual(m["cpu_cores"], 0.25)

    def test_iodepth_must_have_run_the_job_asked_for(self):
        with self.assertRaisesRegex(FioError, "asked for --ioengine=io_uring but its JSON says backend 'worker'"):
            load.iodepth_metrics(iodepth_document(backend="worker"), "i", SIZE)
        with self.assertRaisesRegex(FioError, "asked for --direct=1 but its JSON says direct: False"):
            load.iodepth_metrics(iodepth_document(direct=False), "i", SIZE)
        with self.assertRaisesRegex(FioError, rf"^i: wrote 4096 bytes, expected {SIZE + 8192} \(--size and the trailer page\)$"):
            load.iodepth_metrics(iodepth_document(bytes=4096), "i", SIZE)
        document = iodepth_document()
        del document["elapsed_ns"]
        with self.assertRaisesRegex(FioError, r"its JSON has no \['elapsed_ns'\]"):
            load.iodepth_metrics(document, "i", SIZE)

    def test_fio(self):
        m = load.fio_metrics(fio_write_document(), "f", SIZE)
        self.assertEqual(m["mib_per_s"], 50.0)
        self.assertAlmostEqual(m["elapsed_s"], 0.16)
        self.assertAlmostEqual(m["cpu_cores"], 0.25)
        with self.assertRaisesRegex(FioError, "fio reports error 28 for the job"):
            load.fio_metrics(fio_write_document(error=28), "f", SIZE)
        with self.assertRaisesRegex(FioError, r"its JSON has no \['jobs'\]\[0\]"):
            load.fio_metrics({"jobs": []}, "f", SIZE)

    def test_report(self):
        runs = {"iodepth": [(1, load.iodepth_metrics(iodepth_document(), "i", SIZE))],
                "fio": [(1, load.fio_metrics(fio_write_document(), "f", SIZE))]}
        ratio, out = helpers.captured(load.report, runs, "fio-3.33")
        self.assertAlmostEqual(ratio, 0.8)
        self.assertIn("\nMedian of 1 run:\n", out)
        self.assertIn("  ratio            0.800x  (iodepth / fio)", out)
        self.assertTrue(out.endswith("Target, iodepth load >= 0.8x fio sequential write: met.\n"), out)


class LoadRunTest(unittest.TestCase):
    def test_end_to_end(self):
        iodepth, scratch = helpers.require_tools(self)
        done = helpers.run_module("fio.load", ["--size=8m", "--repeat=1", f"--directory={scratch}"], iodepth)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertIn("[2/2] fio sequential write (run 1 of 1)", done.stdout)
        self.assertIn("Target, iodepth load >= 0.8x fio sequential write: ", done.stdout)
        self.assertEqual(os.listdir(scratch), [], "both data files are removed")


if __name__ == "__main__":
    unittest.main()
