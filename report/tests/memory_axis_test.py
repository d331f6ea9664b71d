"""Tests of the memory budget axis: results files of `iodepth matrix` memory_ratios (the qd
cells under a cap sized from the working set), merged and marked by results.py, decided by
decide.py (served_from_memory decided there, inconclusive elsewhere), mapped by ratios.py,
worded by guidance.py, drawn by section_memory.py, and answered by advice.py for an engine's
--working-set and --memory.

Every document comes from fixtures.py and is checked against the schema; each expectation is
computed from the profile the test chose (direct / buffered per depth), never from the code.
No test asserts on speed.
"""

import json
import os
import tempfile
import unittest

from report import advice, decide, ratios, results, schema
from report.tests import fixtures
from report.tests.fixtures import document, write_json
from report.tests.report_test import RenderedReport, assert_valid_png, table_with
from report.tests.support import run_module

try:
    import tomllib
except ImportError:  # Python before 3.11.
    tomllib = None

MiB = 1 << 20
WORKING_SET = 256 * MiB
RESERVE = 32 * MiB  # What the matrix adds to M for the process itself (kCapReserveBytes).
DEPTHS = (1, 4, 16, 32)
JITTER = (1.000, 1.004, 0.996, 1.002, 0.998)
NOISY = (0.80, 1.25, 0.85, 1.20, 0.90)  # Wide enough that any interval straddles a margin.
DRIFT = (1.00, 1.03, 0.97, 1.02, 0.98)
# direct / buffered per depth at each ratio: at 0.5 buffered is faster at every depth, at 2
# direct is equivalent from qd 16, at 4 and 8 faster from qd 4.
PROFILES = {0.5: {1: 0.3, 4: 0.5, 16: 0.6, 32: 0.7},
            2: {1: 0.5, 4: 0.7, 16: 1.0, 32: 1.0},
            4: {1: 0.8, 4: 1.2, 16: 1.5, 32: 1.6},
            8: {1: 0.8, 4: 1.3, 16: 1.6, 32: 1.7}}
# What the profiles give, worked out by hand from the rule (decide.py): outcome per depth,
# then the crossover.
EXPECTED_SQUARES = {0.5: ["slower"] * 4, 2: ["slower", "slower", "equivalent", "equivalent"],
                    4: ["slower", "faster", "faster", "faster"], 8: ["slower", "faster", "faster", "faster"]}
EXPECTED_CROSSOVERS = {0.5: ("never", None), 2: ("from", 16), 4: ("from", 4), 8: ("from", 4)}


def budget(ratio):
    return int(WORKING_SET / ratio)


def cap(ratio):
    return budget(ratio) + RESERVE


def validated(doc):
    schema.validate(doc, "memory_axis_test document")
    return doc


def axis_cells(family, profile, cap_bytes, backend="io_uring", flag_buffered=False, noisy=()):
    """Twins {family}_qd{N}/{direct,buffered}/{backend} under `cap_bytes`: buffered 1000 x qd with
    a drift shared by each round, direct its twin x ratio x jitter (NOISY at `noisy` depths)."""
    cells = []
    for qd, r in profile.items():
        buffered = [1000.0 * qd * d for d in DRIFT]
        direct = [b * r * j for b, j in zip(buffered, NOISY if qd in noisy else JITTER)]
        for mode, values in (("direct", direct), ("buffered", buffered)):
            reps = [fixtures.repetition(v, 100_000) for v in values]
            flags = ["served_from_memory"] if flag_buffered and mode == "buffered" else []
            cells.append(fixtures.cell(f"{family}_qd{qd}", "qd", qd, mode, backend, reps, cap=cap_bytes,
                                       flags=flags, rw="randread" if family == "rand_read" else "read"))
    return cells


def axis_document(ratio, families=("rand_read",), profiles=PROFILES, noisy=None):
    """The results file of one memory-axis cap, as the matrix writes it: config memory_ratio,
    memory_budget_bytes, working_set and memory_cap; buffered cells flagged served_from_memory
    where the file fits in memory (ratio <= 1); `noisy` {ratio: depths} left inconclusive."""
    cells = []
    for family in families:
        cells += axis_cells(family, profiles[ratio], cap(ratio), flag_buffered=ratio <= 1,
                            noisy=(noisy or {}).get(ratio, ()))
    return validated(document("qd", cells, {"memory_ratio": ratio, "memory_budget_bytes": budget(ratio),
                                            "working_set": WORKING_SET, "file_size": WORKING_SET,
                                            "memory_cap": cap(ratio)}))


def axis_runs(ratios_=(0.5, 2, 4, 8), **kwargs):
    return [(f"qd-cap{cap(r) // MiB}MiB.json", axis_document(r, **kwargs)) for r in ratios_]


def analysis_of(runs):
    return ratios.analyse(results.merge(runs)[0])


class MergeAndFlagTest(unittest.TestCase):
    def test_merge_marks_memory_axis_cells_only(self):
        plain = validated(document("qd", axis_cells("rand_read", {4: 1.0}, 0)))
        cells, _ = results.merge([("plain.json", plain)] + axis_runs((2,)))
        marked = {(c["id"], results.cap_of(c)): results.memory_ratio_of(c) for c in cells}
        self.assertEqual(marked[("rand_read_qd4/direct/io_uring", 0)], None)
        self.assertEqual(marked[("rand_read_qd4/direct/io_uring", cap(2))], 2)
        self.assertEqual({c.get("_memory_budget_bytes") for c in cells if results.cap_of(c)}, {budget(2)})

    def test_a_null_memory_ratio_is_no_axis_and_a_bad_one_is_named(self):
        doc = validated(document("qd", axis_cells("rand_read", {4: 1.0}, 0), {"memory_ratio": None}))
        self.assertIsNone(results.memory_ratio_of(results.merge([("a.json", doc)])[0][0]))
        doc["config"]["memory_ratio"] = "two"
        with self.assertRaises(results.ResultsError) as caught:
            results.merge([("bad.json", doc)])
        self.assertIn("bad.json", str(caught.exception))
        self.assertIn("memory_ratio", str(caught.exception))

    def test_served_from_memory_is_decided_and_noted_on_the_axis_and_off_it(self):
        profile = {4: 0.5}
        plain = validated(document("qd", axis_cells("rand_read", profile, 128 * MiB, flag_buffered=True)))
        axis = validated(document("qd", axis_cells("rand_read", profile, cap(0.5), flag_buffered=True),
                                  {"memory_ratio": 0.5, "memory_budget_bytes": budget(0.5)}))
        off = analysis_of([("plain.json", plain)]).twins[0]
        on = analysis_of([("axis.json", axis)]).twins[0]
        self.assertEqual(off.outcome, "slower", "a true measurement of data in memory")
        self.assertIn("a 128 MiB memory cap, so this is a result for data in memory, not a cold-cache one",
                      " ".join(off.notes))
        self.assertEqual(on.outcome, "slower")
        self.assertEqual(on.reasons, ())
        self.assertIn("under working set / memory 0.5, so this is a result for data in memory", " ".join(on.notes))
        self.assertIn("served_from_memory", on.buffered["flags"], "the flag stays on the cell")

    def test_undecided_json_keeps_its_format_and_lists_no_decided_pair(self):
        with tempfile.TemporaryDirectory() as tmp:
            paths = [write_json(tmp, name, doc) for name, doc in axis_runs((0.5, 2))]
            plain = validated(document("qd", axis_cells("rand_read", {4: 0.5}, 64 * MiB, flag_buffered=True)))
            paths.append(write_json(tmp, "plain.json", plain))
            result = run_module("report.decide", *paths, "--undecided", timeout=120)
        self.assertEqual(result.returncode, 0, result.stderr)
        out = json.loads(result.stdout)
        self.assertEqual(set(out), {"undecided", "decided", "total"})
        self.assertEqual((out["decided"], out["total"]), (9, 9), "served from memory is decided, on the axis and off")
        self.assertEqual(out["undecided"], [])


class CrossoverMapTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.analysis = analysis_of(axis_runs())
        cls.axis = cls.analysis.memory_axes[0]

    def test_one_axis_per_family_and_backend_rows_ascending(self):
        self.assertEqual([a.key for a in self.analysis.memory_axes], [("qd", "rand_read", "", "io_uring")])
        self.assertEqual(self.axis.ratios, [0.5, 2, 4, 8])
        self.assertEqual(self.axis.depths, list(DEPTHS))

    def test_squares_are_the_decided_outcomes(self):
        for row, ratio in enumerate(self.axis.ratios):
            with self.subTest(ratio=ratio):
                squares = [self.axis.square(row, qd) for qd in DEPTHS]
                self.assertEqual([c.outcome for c in squares], EXPECTED_SQUARES[ratio])
                for qd, c in zip(DEPTHS, squares):
                    self.assertAlmostEqual(c.ratio, PROFILES[ratio][qd], places=2)
                    self.assertEqual(c.n, 5)

    def test_per_ratio_crossovers(self):
        got = {r: (x.kind, x.depth) for r, x in self.axis.points}
        self.assertEqual(got, EXPECTED_CROSSOVERS)

    def test_boundary_is_the_smallest_ratio_from_which_every_larger_one_crosses(self):
        b = self.axis.boundary
        self.assertEqual((b.kind, b.ratio, b.depth, b.exact), ("from", 2, 16, True))
        self.assertEqual(decide.memory_boundary_text(b), "from 2x, from qd 16 there")

    def test_boundary_kinds(self):
        crosses, never = PROFILES[8], PROFILES[0.5]
        undecided = {1: 0.5, 4: 0.6, 16: 0.7, 32: 1.0}  # qd 32 NOISY: the crossover is undecided.

        def boundary(profiles):
            noisy = {r: (32,) for r, p in profiles.items() if p is undecided}
            return analysis_of(axis_runs(tuple(profiles), profiles=profiles, noisy=noisy)).memory_axes[0].boundary
        b = boundary({2: crosses, 8: crosses})
        self.assertEqual((b.kind, b.ratio, b.depth, b.exact), ("always", 2, 4, True))
        self.assertEqual(decide.memory_boundary_text(b), "at every measured ratio (from 2x), from qd 4 there")
        b = boundary({2: never, 8: never})
        self.assertEqual((b.kind, b.ratio, b.depth), ("never", None, None))
        self.assertEqual(decide.memory_boundary_text(b), "never within the measured ratios (up to 8x)")
        b = boundary({2: never, 8: undecided})
        self.assertEqual((b.kind, b.ratio), ("undecided", None))
        self.assertEqual(decide.memory_boundary_text(b), "undecided (up to 8x)")
        b = boundary({0.5: never, 2: undecided, 8: crosses})
        self.assertEqual((b.kind, b.ratio, b.depth, b.exact), ("from", 8, 4, False))
        self.assertFalse(b.confident)

    def test_boundary_sentence(self):
        from report.guidance import boundary_sentence
        text = boundary_sentence(self.axis)
        self.assertTrue(text.startswith("rand_read, io_uring, memory axis: on this device, direct rand_read "
                                        "matches or beats buffered once the working set is at least 2x the "
                                        "memory, from qd 16 there (rand_read_qd16/{direct,buffered}/io_uring "
                                        "at 2x, memory 128 MiB: 1.00x ["), text)
        self.assertIn("per ratio: 0.5x never (up to qd 32); 2x from qd 16; 4x from qd 4; 8x from qd 4.", text)
        self.assertIn("Buffered was served from the page cache (its working set fit in the memory left to it) "
                      "at: 0.5x qd 1, 0.5x qd 4, 0.5x qd 16, 0.5x qd 32", text)


class MemoryReportTest(RenderedReport, unittest.TestCase):
    @classmethod
    def documents(cls):
        return axis_runs()

    def test_the_map_table_has_one_row_per_ratio(self):
        rows = table_with(self.md, "working set / memory")
        self.assertEqual([r["working set / memory"] for r in rows], ["0.5x", "2x", "4x", "8x"])
        self.assertEqual([r["memory"] for r in rows], ["512 MiB", "128 MiB", "64 MiB", "32 MiB"])
        self.assertEqual([r["cap"] for r in rows], ["544 MiB", "160 MiB", "96 MiB", "64 MiB"])
        self.assertEqual([r["crossover"] for r in rows],
                         ["never (up to qd 32)", "from qd 16", "from qd 4", "from qd 4"])
        for row, ratio in zip(rows, (0.5, 2, 4, 8)):
            for qd, outcome in zip(DEPTHS, EXPECTED_SQUARES[ratio]):
                self.assertTrue(row[f"qd {qd}"].startswith(f"{decide.SYMBOLS[outcome]} {outcome} "
                                                           f"{PROFILES[ratio][qd]:.2f} n=5"), row)
        self.assertIn("(served from memory)", rows[0]["qd 1"])
        self.assertNotIn("served from memory", rows[1]["qd 1"])

    def test_the_map_png_and_the_boundary_in_the_guidance(self):
        assert_valid_png(self, os.path.join(self.out, "memory_map_qd_rand_read_io_uring.png"))
        self.assertIn("](memory_map_qd_rand_read_io_uring.png)", self.md)
        guidance = self.md.split("## Guidance", 1)[1].split("\n## ", 1)[0]
        self.assertIn("### Memory budget: working set against memory", guidance)
        self.assertIn("once the working set is at least 2x the memory, from qd 16 there", guidance)
        self.assertIn("### memory cap 160 MiB (working set 2x memory, 128 MiB)", guidance)


class AdviseBudgetTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.runs = axis_runs()
        cls.cells = results.merge(cls.runs)[0]

    def answer(self, working_set, memory):
        doc = advice.advise(self.cells, self.runs, created_utc="2026-12-01T00:00:00Z",
                            working_set=working_set, memory=memory)
        entries = doc["memory_budget"]["entries"]
        self.assertEqual([(e["class"], e["backend"]) for e in entries], [("random_read", "io_uring")])
        return doc, entries[0]

    def test_exactly_on_a_measured_point(self):
        doc, e = self.answer(WORKING_SET, 128 * MiB)
        self.assertEqual(doc["version"], 3)
        self.assertEqual(doc["memory_budget"]["measured_ratios"], [0.5, 2, 4, 8])
        self.assertEqual((e["placement"], e["memory_ratio"], e["direct_io"], e["crossover_depth"]),
                         ("measured", 2, True, 16))
        self.assertEqual([p["memory_ratio"] for p in e["points"]], [2])
        self.assertEqual(e["points"][0]["memory_cap"], cap(2))
        self.assertIn("2x was measured", e["reason"])

    def test_between_two_points_that_agree(self):
        _, e = self.answer(6 * WORKING_SET, 1 * WORKING_SET)  # 6x: between 4x and 8x, both from qd 4.
        self.assertEqual((e["placement"], e["direct_io"], e["crossover_depth"]), ("between", True, 4))
        self.assertEqual([p["memory_ratio"] for p in e["points"]], [4, 8])
        self.assertIn("between the measured points 4x (from qd 4) and 8x (from qd 4), which agree", e["reason"])

    def test_between_two_points_that_disagree_is_unknown(self):
        _, e = self.answer(3 * WORKING_SET, WORKING_SET)  # 3x: 2x from qd 16, 4x from qd 4.
        self.assertEqual((e["placement"], e["direct_io"], e["crossover_depth"], e["queue_depth"], e["confidence"]),
                         ("between", "unknown", None, None, "low"))
        self.assertEqual([p["memory_ratio"] for p in e["points"]], [2, 4])
        self.assertIn("which disagree", e["reason"])

    def test_outside_the_measured_range_is_unknown_with_the_nearest_point(self):
        for working_set, memory, placement, nearest in ((16 * WORKING_SET, WORKING_SET, "above_range", 8),
                                                        (WORKING_SET, 4 * WORKING_SET, "below_range", 0.5)):
            with self.subTest(placement=placement):
                _, e = self.answer(working_set, memory)
                self.assertEqual((e["placement"], e["direct_io"]), (placement, "unknown"))
                self.assertEqual([p["memory_ratio"] for p in e["points"]], [nearest])
                self.assertIn("outside the measured ratios (0.5x to 8x)", e["reason"])

    def test_class_entries_name_their_ratio(self):
        doc = advice.advise(self.cells, self.runs)
        self.assertIsNone(doc["memory_budget"])
        by_cap = {e["memory_cap"]: (e["memory_ratio"], e["memory_budget_bytes"]) for e in doc["classes"]}
        self.assertEqual(by_cap, {cap(r): (r, budget(r)) for r in PROFILES})

    def test_without_axis_cells_the_answer_says_so(self):
        plain = validated(document("qd", axis_cells("rand_read", PROFILES[2], 0)))
        doc = advice.advise(results.merge([("p.json", plain)])[0], [("p.json", plain)],
                            working_set=WORKING_SET, memory=WORKING_SET)
        self.assertEqual(doc["memory_budget"]["entries"], [])
        self.assertIn("no memory-axis cells", doc["memory_budget"]["note"])

    @unittest.skipIf(tomllib is None, "tomllib needs Python 3.11")
    def test_toml_keeps_the_answer(self):
        doc, _ = self.answer(3 * WORKING_SET, WORKING_SET)
        back = tomllib.loads(advice.to_toml(doc))
        self.assertEqual(back["memory_budget"]["entries"][0]["direct_io"], "unknown")
        self.assertEqual([p["memory_ratio"] for p in back["memory_budget"]["entries"][0]["points"]], [2, 4])

    def test_parse_size(self):
        for text, value in (("4294967296", 4 << 30), ("4GiB", 4 << 30), ("512MiB", 512 * MiB), ("64k", 64 << 10),
                            ("2g", 2 << 30), ("1T", 1 << 40), ("100b", 100)):
            with self.subTest(text=text):
                self.assertEqual(advice.parse_size(text, "--memory"), value)
        for text, words in (("lots", "not a size"), ("4XB", "unknown size suffix 'XB'"), ("0", "must be more than 0 bytes"),
                            ("-4GiB", "not a size"), ("1.5GiB", "not a size")):
            with self.subTest(text=text), self.assertRaises(advice.AdviceError) as caught:
                advice.parse_size(text, "--working-set")
            self.assertIn(f"--working-set {text!r}: {words}", str(caught.exception))


class AdviseCliTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.paths = [write_json(self.tmp.name, name, doc) for name, doc in axis_runs()]

    def run_guidance(self, *args):
        return run_module("report.guidance", *self.paths, *args, timeout=120)

    def test_the_argv_iodepth_advise_passes(self):
        out = os.path.join(self.tmp.name, "advice.json")
        result = self.run_guidance("--advise", out, "--format", "json", "--working-set", "256MiB",
                                   "--memory", str(128 * MiB))
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(out, encoding="utf-8") as f:
            doc = json.load(f)
        self.assertEqual((doc["memory_budget"]["working_set_bytes"], doc["memory_budget"]["memory_bytes"]),
                         (WORKING_SET, 128 * MiB))
        self.assertEqual(doc["memory_budget"]["entries"][0]["direct_io"], True)

    def test_bad_sizes_exit_1_with_a_message(self):
        for args, words in ((["--working-set", "lots", "--memory", "1GiB"], "--working-set 'lots': not a size"),
                            (["--working-set", "1GiB", "--memory", "4XB"], "--memory '4XB': unknown size suffix"),
                            (["--working-set", "1GiB"], "--working-set and --memory go together")):
            with self.subTest(args=args):
                out = os.path.join(self.tmp.name, "x.json")
                result = self.run_guidance("--advise", out, *args)
                self.assertEqual(result.returncode, 1)
                self.assertTrue(result.stderr.startswith("python3 -m report.guidance: error: "), result.stderr)
                self.assertIn(words, result.stderr)
                self.assertNotIn("Traceback", result.stderr)
                self.assertFalse(os.path.exists(out))

    def test_without_advise_prints_the_boundary(self):
        result = self.run_guidance()
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("- rand_read, io_uring, memory axis: on this device", result.stdout)


if __name__ == "__main__":
    unittest.main()


def bm_axis_document(ratio, profile):
    """The results file of one bm memory-axis ratio, as the matrix writes it: bm_rand_read twins
    of regime "memory" (direct's pool all of the memory T, buffered's the 64 MiB pool M), the
    config's memory_axis saying so."""
    t = budget(ratio)
    cells = []
    for qd, r in profile.items():
        buffered = [1000.0 * qd * d for d in DRIFT]
        direct = [b * r * j for b, j in zip(buffered, JITTER)]
        for mode, values in (("direct", direct), ("buffered", buffered)):
            pool = t if mode == "direct" else min(64 * MiB, t)
            reps = [fixtures.repetition(v, 100_000, bs=8192, buffer=fixtures.buffer_record(
                0.5, 8192, 0.5, qd, memory_bytes=pool, working_set_bytes=WORKING_SET)) for v in values]
            cells.append(fixtures.cell(f"bm_rand_read_qd{qd}", "bm", qd, mode, "io_uring", reps, regime="memory",
                                       policy="fixed", cap=cap(ratio), bs=8192))
    return validated(document("bm", cells, {
        "memory_ratio": ratio, "memory_budget_bytes": t, "memory_cap": cap(ratio), "memory": 64 * MiB,
        "memory_axis": {"budget_bytes": t, "working_set_bytes": WORKING_SET, "direct_pool_bytes": t,
                        "buffered_pool_bytes": min(64 * MiB, t)}}))


class PageLevelAxisTest(unittest.TestCase):
    """The bm and scan suites' memory axis (regime "memory") maps and answers like the qd one,
    as page-level entries beside the raw ones."""

    @classmethod
    def setUpClass(cls):
        cls.runs = axis_runs() + [(f"bm-cap{cap(r) // MiB}MiB-ratio{r:g}.json", bm_axis_document(r, PROFILES[r]))
                                  for r in PROFILES]
        cls.cells = results.merge(cls.runs)[0]
        cls.analysis = ratios.analyse(cls.cells)

    def test_one_map_per_suite_with_the_same_decisions(self):
        keys = [axis.key for axis in self.analysis.memory_axes]
        self.assertEqual(keys, [("qd", "rand_read", "", "io_uring"), ("bm", "bm_rand_read", "memory", "io_uring")])
        bm = self.analysis.memory_axes[1]
        self.assertEqual(bm.ratios, [0.5, 2, 4, 8])
        for row, ratio in enumerate(bm.ratios):
            with self.subTest(ratio=ratio):
                self.assertEqual([bm.square(row, qd).outcome for qd in DEPTHS], EXPECTED_SQUARES[ratio])
                x = bm.points[row][1]
                self.assertEqual((x.kind, x.depth), EXPECTED_CROSSOVERS[ratio])

    def test_advise_answers_at_both_levels(self):
        doc = advice.advise(self.cells, self.runs, working_set=WORKING_SET, memory=128 * MiB)
        entries = {(e["level"], e["workload_family"]): e for e in doc["memory_budget"]["entries"]}
        self.assertEqual(sorted(entries), [("page", "bm_rand_read"), ("raw", "rand_read")])
        for e in entries.values():
            self.assertEqual((e["class"], e["placement"], e["direct_io"], e["crossover_depth"]),
                             ("random_read", "measured", True, 16))
        self.assertEqual(entries[("page", "bm_rand_read")]["points"][0]["memory_cap"], cap(2))
