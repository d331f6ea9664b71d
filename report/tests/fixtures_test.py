"""The documents the report tests build (fixtures.py and the builders of each test module on
top of it) follow schema/results.schema.json, so a report test fails for what it tests, not
because its input is a file the reader refuses.

Run from the repository root:
    /usr/bin/python3 -m unittest discover -s report/tests -t . -p "*_test.py"
"""

import statistics
import unittest

from report import results, schema
from report.tests import fixtures, guidance_test, report_schema3_test, report_test, scan_section_test, write_section_test
from report.tests.fixtures import document


def built_documents():
    """(name, document) for every kind of document the report tests write or merge."""
    qd = report_test.qd_cells()
    advice_cells, _ = guidance_test.advice_cells()
    capped = report_schema3_test.qd_cells(guidance_test.CAP)
    return [
        ("qd with a fio cross-check", document("qd", qd, crosscheck=report_test.qd_crosscheck(qd))),
        ("io_patterns", document("io_patterns", report_test.patterns_cells())),
        ("qd and bm, version 2", document("bm", report_test.qd_cells() + report_test.bm_cells(), version=2)),
        ("bm and scan", document("scan", report_test.bm_cells() + report_test.scan_cells())),
        ("scan with per-scan figures, strategies and without",
         document("scan", scan_section_test.scan_cells() + scan_section_test.scan_cells("thrash", with_strategy=False))),
        ("scan without scan records, version 2",
         document("scan", report_test.scan_cells(with_scan=False), version=2)),
        ("advice curves", document("qd", advice_cells)),
        ("qd under a memory cap", document("qd", report_schema3_test.qd_cells(0) + capped)),
        ("bm under a memory cap", document("bm", report_schema3_test.bm_cells(), {"io_combine": 131072})),
        ("inherited cap", document("qd", guidance_test.curve(
            "rand_read", guidance_test.FROM_16, cap=results.INHERIT_CAP,
            memory=dict(report_schema3_test.MEMORY, cgroup="inherited")))),
        ("write suite", document("write", write_section_test.write_cells())),
        ("no cells", document("qd", [])),
    ]


class BuiltDocumentsTest(unittest.TestCase):
    def test_every_built_document_is_valid(self):
        for name, doc in built_documents():
            with self.subTest(document=name):
                schema.validate(doc, name)

    def test_version_2_drops_what_version_3_added_and_stays_valid(self):
        v3 = document("qd", report_test.qd_cells())
        v2 = fixtures.version_2(v3)
        self.assertEqual((v3["schema_version"], v2["schema_version"]), (3, 2))
        self.assertIn("memory_cap", v3["cells"][0])
        self.assertNotIn("memory_cap", v2["cells"][0])
        self.assertNotIn("memory", v2["cells"][0]["median"])
        self.assertNotIn("memory", v2["cells"][0]["repetitions"][0])
        schema.validate(v2, "v2")

    def test_a_cell_summary_is_the_median_of_its_repetitions(self):
        reps = [fixtures.repetition(iops, p95) for iops, p95 in ((90.0, 900), (100.0, 1000), (130.0, 1300))]
        c = fixtures.cell("rand_read_qd1", "qd", 1, "direct", "io_uring", reps)
        self.assertEqual(c["id"], "rand_read_qd1/direct/io_uring")
        self.assertEqual(c["median"]["iops"], 100.0)
        self.assertEqual(c["median"]["bw_bytes"], 100.0 * 4096)
        self.assertEqual(c["median"]["clat_ns"]["percentile"]["95.000000"], 1000)
        self.assertEqual(c["median"]["clat_ns"]["percentile"]["50.000000"], 500)
        iops = [r["iops"] for r in reps]
        self.assertAlmostEqual(c["cv"]["iops"], statistics.stdev(iops) / statistics.mean(iops))


if __name__ == "__main__":
    unittest.main()
