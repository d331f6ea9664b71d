"""Tests of `python3 -m report.compare` (what `iodepth compare` runs): synthetic matrix
directories whose differences the tests chose, compared.

Every document comes from fixtures.py (complete results files, checked against the schema as
the report reads them). The decisions are decide.py's, so these tests check what is matched,
what is said to differ and by how much, and the reproducibility figures (the share of curves
decided in both runs, of those with the same decision, of comparisons decided), counted from
outcomes chosen here. No test asserts on speed.
"""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

from report import compare
from report.tests import fixtures
from report.tests.fixtures import document, write_json
from report.tests.report_test import assert_valid_png
from report.tests.support import run_module

STEADY = (0.99, 1.0, 1.01)  # The same round-to-round drift on both sides: it cancels in the ratio.
JITTER = (1.0, 1.004, 0.996)  # Direct's own noise on top: a narrow interval, never zero width.
NOISY = (0.80, 1.25, 0.85)  # Applied to direct only: any interval of its ratio straddles a margin.
MiB = 1 << 20


def curve_cells(family, profile, backend="io_uring", noisy=(), cap=0):
    """Twins {family}_qd{N}/{direct,buffered}/{backend} with direct / buffered = profile[N], three
    repetitions, NOISY direct at the `noisy` depths."""
    cells = []
    for qd, ratio in profile.items():
        noise = NOISY if qd in noisy else JITTER
        for mode, factors in (("direct", [f * n * ratio for f, n in zip(STEADY, noise)]), ("buffered", STEADY)):
            reps = [fixtures.repetition(1000.0 * qd * f, 100_000) for f in factors]
            cells.append(fixtures.cell(f"{family}_qd{qd}", "qd", qd, mode, backend, reps, cap=cap,
                                       rw="randread" if family == "rand_read" else "read"))
    return cells


# Run A: rand_read from qd 4 (slower at 1, equivalent at 4, faster at 16), seq_read never.
RAND = {1: 0.5, 4: 1.0, 16: 1.2}
SEQ = {1: 0.3, 4: 0.4, 16: 0.5}


def qd_document(cells, environment=None, config=None):
    doc = document("qd", cells, config=config)
    for key, value in (environment or {}).items():
        section = doc["environment"]
        *parents, leaf = key.split(".")
        for parent in parents:
            section = section.setdefault(parent, {})
        section[leaf] = value
    return doc


class CompareTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)

    def run_dir(self, name, cells, environment=None, config=None, extra=()):
        """A matrix directory: qd-nocap.json of `cells`, a journal and the files beside it that
        are not results (the CSV, a notes file), plus `extra` (name, doc) files."""
        path = os.path.join(self.dir, name)
        os.mkdir(path)
        write_json(path, "qd-nocap.json", qd_document(cells, environment, config))
        write_json(path, "matrix-notes.json", {"not": "a results file"})  # Not <suite>-<cap>: ignored.
        with open(os.path.join(path, "journal.jsonl"), "w", encoding="utf-8") as f:
            f.write("{}\n")
        for file_name, doc in extra:
            write_json(path, file_name, doc)
        return path

    def compare(self, *args):
        return run_module("report.compare", *args)

    def json_of(self, *args):
        done = self.compare(*args, "--json")
        self.assertEqual(done.returncode, 0, done.stderr)
        return json.loads(done.stdout)

    def curve(self, doc, family, backend="io_uring"):
        return next(c for c in doc["curves"] if c["curve"]["family"] == family and c["curve"]["backend"] == backend)

    def report(self, *args):
        out = os.path.join(self.dir, "out")
        done = self.compare(*args, "--out", out)
        self.assertEqual(done.returncode, 0, done.stderr)
        with open(os.path.join(out, "report.md"), encoding="utf-8") as f:
            return out, f.read(), done.stdout

    # ------------------------------------------------------------ same answers

    def test_identical_answers_agree_everywhere_and_name_no_difference(self):
        cells = curve_cells("rand_read", RAND) + curve_cells("seq_read", SEQ)
        a, b = self.run_dir("a", cells), self.run_dir("b", cells)
        doc = self.json_of(a, b)
        self.assertEqual([i["label"] for i in doc["inputs"]], ["a", "b"])
        self.assertEqual(doc["inputs"][0]["files"], ["qd-nocap.json"])
        pair = doc["pairs"][0]
        self.assertEqual(pair["curves"], {"shared": 2, "one_run_only": 0, "same_outcome": 2, "decided_in_both": 2,
                                          "decided_in_both_share": 1.0, "same_decision": 2,
                                          "same_decision_share": 1.0})
        self.assertEqual(pair["differing"], [])
        self.assertEqual(pair["comparisons"]["a"], {"decided": 6, "total": 6, "share": 1.0})
        rand = self.curve(doc, "rand_read")
        self.assertEqual(rand["crossovers"], {"a": "from qd 4", "b": "from qd 4"})
        self.assertTrue(rand["same_decision"])
        self.assertEqual([s["qd"] for s in rand["squares"]], [1, 4, 16])
        self.assertTrue(all(s["same_outcome"] for s in rand["squares"]))
        # The same repetitions twice: no shift at all, read "same" (inside the margins).
        self.assertEqual({s["shifts"]["b"]["reading"] for s in rand["squares"]}, {"same"})
        self.assertAlmostEqual(rand["squares"][0]["shifts"]["b"]["ratio"], 1.0)
        self.assertEqual((doc["environment"], doc["settings"]), ([], []))

        out, text, stdout = self.report(a, b)
        self.assertIn("2 curves are measured in every input: 2 reach the same decision", text)
        self.assertIn("None: every curve measured in more than one input reaches the same crossover", text)
        self.assertIn("The recorded environments differ in nothing that could explain a difference", text)
        self.assertIn("Decided in both runs: 2 of 2 (100%) curves; of those, the same decision (crossover kind "
                      "and depth): 2 of 2 (100%)", text)
        self.assertIn("Comparisons decided: a 6 of 6 (100%), b 6 of 6 (100%)", stdout)
        for png in ("compare_ratio_qd_rand_read.png", "compare_ratio_qd_seq_read.png"):
            self.assertIn(f"({png})", text)
            assert_valid_png(self, os.path.join(out, png))
        with open(os.path.join(out, "compare.json"), encoding="utf-8") as f:
            self.assertEqual(json.load(f)["pairs"], doc["pairs"])

    def test_the_same_directory_twice_gets_two_labels(self):
        a = self.run_dir("a", curve_cells("rand_read", RAND))
        doc = self.json_of(a, a)
        self.assertEqual([i["label"] for i in doc["inputs"]], [a, f"{a} #2"])
        self.assertEqual(doc["pairs"][0]["curves"]["same_decision"], 1)

    # ------------------------------------------------------------ one flipped decision

    def test_one_flipped_decision_is_listed_with_both_intervals_and_the_shift(self):
        a = self.run_dir("a", curve_cells("rand_read", RAND) + curve_cells("seq_read", SEQ))
        b = self.run_dir("b", curve_cells("rand_read", {**RAND, 1: 1.0}) + curve_cells("seq_read", SEQ))
        doc = self.json_of(a, b)
        pair = doc["pairs"][0]
        self.assertEqual((pair["curves"]["same_outcome"], pair["curves"]["same_decision"]), (1, 1))
        self.assertEqual([(d["curve"]["family"], d["a"], d["b"]) for d in pair["differing"]],
                         [("rand_read", "from qd 4", "always")])
        rand = self.curve(doc, "rand_read")
        self.assertFalse(rand["same_decision"])
        qd1 = rand["squares"][0]
        self.assertEqual((qd1["qd"], qd1["same_outcome"]), (1, False))
        self.assertEqual((qd1["outcomes"]["a"]["outcome"], qd1["outcomes"]["b"]["outcome"]), ("slower", "equivalent"))
        self.assertAlmostEqual(qd1["outcomes"]["a"]["ratio"], 0.5, places=3)
        # b / a at qd 1: 1.0 / 0.5, with an interval around it, read as a real shift.
        self.assertAlmostEqual(qd1["shifts"]["b"]["ratio"], 2.0, places=3)
        self.assertLess(qd1["shifts"]["b"]["lo"], 2.0)
        self.assertGreater(qd1["shifts"]["b"]["hi"], 2.0)
        self.assertEqual(qd1["shifts"]["b"]["reading"], "higher")
        self.assertEqual([s["same_outcome"] for s in rand["squares"][1:]], [True, True])
        self.assertTrue(self.curve(doc, "seq_read")["same_decision"])

        _, text, _ = self.report(a, b)
        section = text.split("## Where the decisions differ")[1].split("\n## ")[0]
        self.assertIn("- **rand_read (qd), no memory cap, io_uring**: a from qd 4; b always (from qd 1)", section)
        lo_a, hi_a = qd1["outcomes"]["a"]["lo"], qd1["outcomes"]["a"]["hi"]
        lo_b, hi_b = qd1["outcomes"]["b"]["lo"], qd1["outcomes"]["b"]["hi"]
        self.assertIn(f"  - qd 1: a 0.50x [{lo_a:.2f}, {hi_a:.2f}], slower, n=3; b 1.00x [{lo_b:.2f}, {hi_b:.2f}], "
                      "equivalent, n=3; b / a 2.00 [", section)
        self.assertNotIn("seq_read", section)
        self.assertIn("1 have different outcomes, and in 1 of those the ratio shifted beyond the margins", text)
        family = text.split("### rand_read (qd suite)")[1].split("\n### ")[0]
        self.assertIn("| no memory cap | – | io_uring | from qd 4 | always (from qd 1) | ⚠ no |", family)

    def test_reproducibility_figures_count_decided_curves_and_same_decisions(self):
        """A: rand_read/io_uring from qd 4, seq_read/io_uring undecided (qd 4 noisy),
        rand_read/worker always. B: the first the same, seq_read from qd 4, rand_read/worker from
        qd 4. So 3 shared curves, 2 decided in both, 1 of them the same decision; A decides 6 of
        7 comparisons, B 7 of 7."""
        a = self.run_dir("a", curve_cells("rand_read", RAND) + curve_cells("seq_read", {1: 0.5, 4: 1.0}, noisy=(4,))
                         + curve_cells("rand_read", {1: 1.2, 4: 1.3}, backend="worker"))
        b = self.run_dir("b", curve_cells("rand_read", RAND) + curve_cells("seq_read", {1: 0.5, 4: 1.2})
                         + curve_cells("rand_read", {1: 0.5, 4: 1.3}, backend="worker"))
        pair = self.json_of(a, b)["pairs"][0]
        self.assertEqual(pair["curves"], {"shared": 3, "one_run_only": 0, "same_outcome": 1, "decided_in_both": 2,
                                          "decided_in_both_share": 2 / 3, "same_decision": 1,
                                          "same_decision_share": 0.5})
        self.assertEqual(pair["comparisons"], {"a": {"decided": 6, "total": 7, "share": 6 / 7},
                                               "b": {"decided": 7, "total": 7, "share": 1.0}})
        self.assertEqual(sorted((d["curve"]["family"], d["curve"]["backend"], d["a"], d["b"]) for d in pair["differing"]),
                         [("rand_read", "worker", "always", "from qd 4"),
                          ("seq_read", "io_uring", "undecided", "from qd 4")])
        _, _, stdout = self.report(a, b)
        self.assertIn("  Decided in both runs: 2 of 3 (67%) curves; of those, the same decision (crossover kind and "
                      "depth): 1 of 2 (50%)\n", stdout)
        self.assertIn("  Comparisons decided: a 6 of 7 (86%), b 7 of 7 (100%)\n", stdout)

    def test_the_same_kind_at_another_depth_is_another_decision(self):
        a = self.run_dir("a", curve_cells("rand_read", {1: 1.2, 4: 1.3}))
        b = self.run_dir("b", curve_cells("rand_read", {4: 1.3, 16: 1.3}))
        pair = self.json_of(a, b)["pairs"][0]
        self.assertEqual((pair["curves"]["decided_in_both"], pair["curves"]["same_decision"]), (1, 0))
        self.assertEqual((pair["differing"][0]["a"], pair["differing"][0]["b"]), ("always (from qd 1)", "always (from qd 4)"))

    # ------------------------------------------------------------ environment

    def test_a_different_device_is_listed_as_an_environment_difference(self):
        cells = curve_cells("rand_read", RAND)
        a = self.run_dir("a", cells)
        b = self.run_dir("b", cells, environment={"device.model": "zram", "device.scheduler": "none",
                                                  "storage_kind.kind": "memory", "storage_kind.reason": "zram0",
                                                  "collected_utc": "2026-12-01T00:00:00Z"},
                         config={"runtime_ns": 800_000_000})
        doc = self.json_of(a, b, "--label", "disk", "zram")
        self.assertEqual([(e["group"], e["key"], e["values"]) for e in doc["environment"]],
                         [("scheduler", "device.scheduler", {"disk": "(absent)", "zram": "none"}),
                          ("device", "device.model", {"disk": "FakeDisk 9000", "zram": "zram"}),
                          ("device", "storage_kind.kind", {"disk": "(absent)", "zram": "memory"}),
                          ("device", "storage_kind.reason", {"disk": "(absent)", "zram": "zram0"})])
        self.assertEqual(doc["settings"], [{"key": "runtime_ns", "values": {"disk": "(absent)", "zram": "800000000"}}])
        _, text, _ = self.report(a, b, "--label", "disk", "zram")
        self.assertIn("The recorded environments differ in: scheduler, device", text)
        self.assertIn("| device | device.model | FakeDisk 9000 | zram |", text)
        self.assertIn("| runtime_ns | (absent) | 800000000 |", text)
        self.assertNotIn("collected_utc", text)
        self.assertIn("- **Warning** (zram): the data file is on memory (zram0): O_DIRECT there measures memory "
                      "copies, not a device. (in 1 of its 1 results files)", text)

    # ------------------------------------------------------------ three inputs

    def test_three_inputs_give_three_pairs_and_shifts_against_the_first(self):
        a = self.run_dir("a", curve_cells("rand_read", RAND))
        b = self.run_dir("b", curve_cells("rand_read", RAND))
        c = self.run_dir("c", curve_cells("rand_read", {1: 0.5, 4: 0.5, 16: 1.2}))
        doc = self.json_of(a, b, c, "--label", "one", "two", "three")
        self.assertEqual([(p["a"], p["b"], p["curves"]["same_decision"]) for p in doc["pairs"]],
                         [("one", "two", 1), ("one", "three", 0), ("two", "three", 0)])
        rand = self.curve(doc, "rand_read")
        self.assertEqual(rand["crossovers"], {"one": "from qd 4", "two": "from qd 4", "three": "from qd 16"})
        qd4 = rand["squares"][1]
        self.assertEqual(set(qd4["shifts"]), {"two", "three"})
        self.assertEqual(qd4["shifts"]["two"]["reading"], "same")
        self.assertEqual(qd4["shifts"]["three"]["reading"], "lower")
        self.assertAlmostEqual(qd4["shifts"]["three"]["ratio"], 0.5, places=3)
        _, text, stdout = self.report(a, b, c, "--label", "one", "two", "three")
        self.assertIn("| memory | regime | backend | qd | one | two | three | two / one | three / one | same outcome |",
                      text)
        self.assertIn("one against three:", stdout)
        self.assertIn("**two against three** (reproducibility)", text)

    # ------------------------------------------------------------ memory axis and fio

    def test_memory_axes_match_by_ratio_and_their_maps_stand_side_by_side(self):
        def axis_doc(ratio, budget, profile):
            cap = budget + 32 * MiB
            return document("qd", curve_cells("rand_read", profile, cap=cap),
                            config={"memory_ratio": ratio, "memory_budget_bytes": budget})
        # Host A has 128 MiB at ratio 2, host B 256 MiB: other caps, the same point of the axis.
        a = self.run_dir("a", curve_cells("rand_read", RAND), extra=[
            ("qd-cap160MiB.json", axis_doc(2, 128 * MiB, RAND)), ("qd-cap64MiB.json", axis_doc(8, 32 * MiB, RAND))])
        b = self.run_dir("b", curve_cells("rand_read", RAND), extra=[
            ("qd-cap288MiB.json", axis_doc(2, 256 * MiB, {1: 0.5, 4: 0.5, 16: 1.2})),
            ("qd-cap96MiB.json", axis_doc(8, 64 * MiB, RAND))])
        doc = self.json_of(a, b)
        ratio2 = next(c for c in doc["curves"] if c["curve"]["memory_ratio"] == 2)
        self.assertEqual(ratio2["curve"]["memory"], "working set 2x memory")
        self.assertEqual(ratio2["crossovers"], {"a": "from qd 4", "b": "from qd 16"})
        self.assertEqual(doc["pairs"][0]["curves"]["shared"], 3)
        out, text, _ = self.report(a, b)
        self.assertIn("| – | io_uring | at every measured ratio (from 2x), from qd 4 there | "
                      "at every measured ratio (from 2x), from qd 16 there |", text)
        self.assertIn("(compare_memory_map_qd_rand_read_io_uring.png)", text)
        assert_valid_png(self, os.path.join(out, "compare_memory_map_qd_rand_read_io_uring.png"))

    def test_each_inputs_fio_crosscheck_is_set_side_by_side(self):
        cells = curve_cells("rand_read", RAND)
        cell = next(c for c in cells if c["id"] == "rand_read_qd16/direct/io_uring")
        fio = {"iops": cell["median"]["iops"] / 0.9, "clat_ns_p95": 100_000, "cpu_ns_per_io": 2500.0}
        check = {"cell": cell["id"], "fio": fio,
                 "ratio": {"iops": 0.9, "clat_ns_p95": 1.0, "cpu_ns_per_io": 1.0},
                 "agrees": False, "cause": "fio ran deeper"}
        fio_doc = document("qd", [cell], crosscheck=[check])
        a = self.run_dir("a", cells, extra=[("fio-crosscheck.json", fio_doc)])
        b = self.run_dir("b", cells)
        doc = self.json_of(a, b)
        self.assertEqual(doc["fio_crosscheck"], {"a": [{"cell": cell["id"], "memory_cap": 0, "iops_ratio": 0.9,
                                                        "agrees": False}], "b": []})
        self.assertEqual(doc["inputs"][0]["fio_files"], ["fio-crosscheck.json"])
        _, text, _ = self.report(a, b)
        self.assertIn("| rand_read_qd16/direct/io_uring | no memory cap | 0.90, ⚠ outside the band | – |", text)
        self.assertIn("fio ran deeper", text)
        self.assertIn(f"No fio cross-check in {b}.", text)

    # ------------------------------------------------------------ bad inputs

    def error_of(self, *args):
        done = self.compare(*args)
        self.assertEqual((done.returncode, done.stdout), (1, ""), done.stderr)
        self.assertTrue(done.stderr.startswith("python3 -m report.compare: error: "), done.stderr)
        return done.stderr

    def test_bad_inputs_say_what_to_give(self):
        a = self.run_dir("a", curve_cells("rand_read", RAND))
        results_file = os.path.join(a, "qd-nocap.json")
        self.assertIn(f"{results_file} is not a directory: name the directory `iodepth matrix --out DIR` wrote",
                      self.error_of(a, results_file))
        missing = os.path.join(self.dir, "missing")
        self.assertIn(f"{missing} does not exist", self.error_of(a, missing))
        empty = os.path.join(self.dir, "empty")
        os.mkdir(empty)
        self.assertIn(f"{empty} holds no matrix results files (<suite>-<cap>.json, suite one of qd, bm, scan, write, "
                      "io_patterns): name the directory", self.error_of(a, empty))
        with open(os.path.join(empty, "journal.jsonl"), "w", encoding="utf-8") as f:
            f.write("{}\n")
        self.assertIn(f"write them with `iodepth matrix --out {empty} --collect`", self.error_of(a, empty))
        self.assertIn("give two or more directories to compare", self.error_of(a))
        self.assertIn("--label: give one name per directory (2 directories, 1 names)",
                      self.error_of(a, a, "--label", "x"))
        self.assertIn("--label: the names must be non-empty and all different", self.error_of(a, a, "--label", "x", "x"))

    def test_a_results_file_that_breaks_the_schema_is_named(self):
        a = self.run_dir("a", curve_cells("rand_read", RAND))
        b = self.run_dir("b", curve_cells("rand_read", RAND))
        write_json(b, "bm-nocap.json", {"schema": "iodepth-results"})
        self.assertIn(os.path.join(b, "bm-nocap.json"), self.error_of(a, b))

    @unittest.skipUnless(os.environ.get("IODEPTH_BIN"), "IODEPTH_BIN (the iodepth binary) is not set")
    def test_iodepth_compare_runs_this_module(self):
        a = self.run_dir("a", curve_cells("rand_read", RAND))
        b = self.run_dir("b", curve_cells("rand_read", {**RAND, 1: 1.0}))
        out = os.path.join(self.dir, "out")
        done = subprocess.run([os.environ["IODEPTH_BIN"], "compare", a, b, "--label", "disk", "zram", "--out", out],
                              capture_output=True, text=True, timeout=300, cwd=self.dir)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn(f"wrote {out}/report.md", done.stdout)
        with open(os.path.join(out, "report.md"), encoding="utf-8") as f:
            self.assertIn("- **rand_read (qd), no memory cap, io_uring**: disk from qd 4; zram always (from qd 1)", f.read())

    def test_labels_default_to_the_directory_names(self):
        self.assertEqual(compare.run_labels(["r/matrix", "r/matrix-b/"], None), ["matrix", "matrix-b"])
        self.assertEqual(compare.run_labels(["x/matrix", "y/matrix"], None), ["x/matrix", "y/matrix"])


if __name__ == "__main__":
    unittest.main()
