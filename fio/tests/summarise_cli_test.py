"""The CLI check of `iodepth summarise` (cli/summarise_command.cc), which fio.crosscheck
calls for its cell summaries: input from a file or stdin, cells back in order with the
summary SummariseCell computes, and messages that say what was wrong and what to give."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

from fio.tests import helpers


class SummariseCliTest(unittest.TestCase):
    def setUp(self):
        self.iodepth = helpers.require_iodepth(self)
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)

    def summarise(self, *args, stdin=None):
        return subprocess.run([self.iodepth, "summarise", *args], input=stdin, capture_output=True, text=True,
                              timeout=60)

    def cells(self):
        direct = helpers.cell_record("rand_read_qd1/direct/io_uring", [helpers.repetition(v) for v in (900.0, 1100.0)])
        deep = helpers.cell_record("rand_read_qd32/direct/io_uring", [
            helpers.repetition(5000.0, target=32, littles_law=10.0)], qd=32)
        unsupported = helpers.cell_record("rand_read_qd1/dontcache/io_uring", [], status="unsupported")
        for cell in (direct, deep):
            del cell["median"], cell["cv"], cell["flags"]
        return [deep, direct, unsupported]

    def test_stdin_and_file_give_the_same_summaries_in_input_order(self):
        text = json.dumps({"cells": self.cells()})
        from_stdin = self.summarise(stdin=text)
        self.assertEqual(from_stdin.returncode, 0, from_stdin.stderr)
        path = os.path.join(self.dir, "cells.json")
        with open(path, "w") as f:
            f.write(text)
        from_file = self.summarise(path)
        self.assertEqual(from_file.stdout, from_stdin.stdout)
        cells = json.loads(from_stdin.stdout)["cells"]
        self.assertEqual([c["id"] for c in cells], ["rand_read_qd32/direct/io_uring", "rand_read_qd1/direct/io_uring",
                                                    "rand_read_qd1/dontcache/io_uring"])
        deep, direct, unsupported = cells
        self.assertEqual(deep["flags"], ["depth_short"])
        self.assertEqual(direct["median"]["iops"], 1000.0)
        self.assertEqual(direct["median"]["clat_ns"]["percentile"]["95.000000"], 100_000)
        self.assertAlmostEqual(direct["cv"]["iops"], (200 / 2 ** 0.5) / 1000)
        self.assertEqual(direct["flags"], ["cv_high"])
        self.assertEqual(unsupported["flags"], [], "only ok cells are flagged")

    def test_a_whole_results_file_is_accepted(self):
        document = helpers.suite_document(self.cells())
        result = self.summarise(stdin=json.dumps(document))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(set(json.loads(result.stdout)), {"cells"})

    def assert_refused(self, result, *texts):
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertTrue(result.stderr.startswith("iodepth summarise: error: "), result.stderr)
        for text in texts:
            self.assertIn(text, result.stderr)
        self.assertIn('give a JSON object {"cells": [...]}', result.stderr)
        self.assertEqual(result.stdout, "")

    def test_not_json(self):
        self.assert_refused(self.summarise(stdin="cells: none"), "stdin is not valid JSON (at byte 1")

    def test_no_cells_array(self):
        self.assert_refused(self.summarise(stdin='{"cell": []}'), 'expected a JSON object with a "cells" array')

    def test_a_cell_missing_a_field_is_named(self):
        cells = self.cells()
        del cells[1]["repetitions"]
        self.assert_refused(self.summarise(stdin=json.dumps({"cells": cells})),
                            "stdin: cells[1] (rand_read_qd1/direct/io_uring): malformed cell record",
                            "'repetitions'")

    def test_a_missing_file_is_named(self):
        result = self.summarise(os.path.join(self.dir, "missing.json"))
        self.assertEqual(result.returncode, 1)
        self.assertIn("missing.json: No such file or directory", result.stderr)


if __name__ == "__main__":
    unittest.main()
