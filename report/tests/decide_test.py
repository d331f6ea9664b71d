"""Tests for report/decide.py: the Student t quantile, the four outcomes, the look schedule
and its false-decision level, the crossover kinds, "either", served_from_memory, the
`python3 -m report.decide --undecided` command, and what the report shows of device reads
and of the machine's state.

Every results document is built by fixtures.py and checked against the schema here, and
every expectation is computed from the numbers the test chose, never copied from the code.
"""

import json
import math
import os
import random
import tempfile
import unittest

from report import advice, decide, ratios, results, schema
from report.tests import fixtures
from report.tests.fixtures import document, write_json
from report.tests.report_test import RenderedReport, table_with
from report.tests.support import run_module

DEPTHS = (1, 4, 16, 32)
SCHEDULE = {"repetitions": 5, "repetition_step": 4, "max_repetitions": 21}  # The matrix default.


def validated(doc):
    schema.validate(doc, "decide_test document")
    return doc


def twin(workload, qd, direct, buffered, suite="qd", backend="io_uring", regime="", read_fraction=None,
         hit_ratio=None, cpu=(1500.0, 2000.0)):
    """(direct cell, buffered cell) with one repetition per throughput value; device records
    reading `read_fraction` of io_bytes, and a pool hit ratio, when given."""
    def cell(mode, values, cpu_ns):
        reps = [fixtures.repetition(v, 100_000, cpu_ns_per_io=cpu_ns, device_read_fraction=read_fraction,
                                    buffer=None if hit_ratio is None else fixtures.buffer_record(
                                        hit_ratio, 8192, 0.1, qd))
                for v in values]
        return fixtures.cell(workload, suite, qd, mode, backend, reps, regime,
                             policy="fixed" if suite == "bm" else "", rw="read")
    return cell("direct", direct, cpu[0]), cell("buffered", buffered, cpu[1])


JITTER = (1.000, 1.004, 0.996, 1.002, 0.998)


def curve(family, profile, noise=JITTER, **kwargs):
    """Twins at each depth of {qd: direct/buffered ratio}, buffered 1000 x qd with a shared
    drift per round, direct its twin x ratio x `noise`."""
    cells = []
    for qd, r in profile.items():
        buffered = [1000.0 * qd * d for d in (1.00, 1.03, 0.97, 1.02, 0.98)]
        cells += twin(f"{family}_qd{qd}", qd, [b * r * j for b, j in zip(buffered, noise)], buffered, **kwargs)
    return cells


def only_crossover(cells):
    analysis = ratios.analyse(cells)
    assert len(analysis.crossovers) == 1, [x.key for x in analysis.crossovers]
    return analysis.crossovers[0]


class TQuantileTest(unittest.TestCase):
    def test_table_values(self):
        for p, df, expected in ((0.975, 4, 2.776), (0.99, 4, 3.747), (0.99, 20, 2.528),
                                (0.975, 1, 12.706), (0.95, 4, 2.132), (0.95, 1e7, 1.645),
                                (0.975, 1e7, 1.960)):
            with self.subTest(p=p, df=df):
                self.assertAlmostEqual(decide.t_quantile(p, df), expected, places=3)

    def test_lower_tail_is_the_mirror_and_cdf_inverts_it(self):
        self.assertAlmostEqual(decide.t_quantile(0.025, 4), -decide.t_quantile(0.975, 4))
        self.assertAlmostEqual(decide.t_cdf(decide.t_quantile(0.9, 7.5), 7.5), 0.9, places=9)


class OutcomeTest(unittest.TestCase):
    def outcome(self, direct, buffered):
        d, b = twin("rand_read_qd4", 4, direct, buffered)
        validated(document("qd", [d, b]))
        return decide.compare(d, b)

    def test_one_document_per_outcome(self):
        buffered = [1000.0, 1030.0, 970.0, 1020.0, 980.0]
        cases = {"faster": [b * 1.30 * j for b, j in zip(buffered, JITTER)],
                 "equivalent": [b * 1.00 * j for b, j in zip(buffered, JITTER)],
                 "slower": [b * 0.70 * j for b, j in zip(buffered, JITTER)],
                 "inconclusive": [b * f for b, f in zip(buffered, (0.85, 1.15, 0.95, 1.10, 0.90))]}
        for expected, direct in cases.items():
            with self.subTest(outcome=expected):
                c = self.outcome(direct, buffered)
                self.assertEqual(c.outcome, expected, f"[{c.lo}, {c.hi}]")
                self.assertEqual(c.decided, expected != "inconclusive")
                self.assertEqual(bool(c.reasons), expected == "inconclusive")

    def test_the_margins_are_inclusive_for_equivalence(self):
        self.assertEqual(decide.outcome_of(0.95, 1.05), "equivalent")
        self.assertEqual(decide.outcome_of(0.94, 1.00), "inconclusive")
        self.assertEqual(decide.outcome_of(1.00, 1.06), "inconclusive")
        self.assertEqual(decide.outcome_of(1.051, 1.2), "faster")
        self.assertEqual(decide.outcome_of(0.5, 0.949), "slower")
        self.assertEqual(decide.outcome_of(0.90, 1.10), "inconclusive")

    def test_served_from_memory_is_decided_and_says_it_is_not_a_cold_cache_result(self):
        d, b = twin("rand_read_qd4", 4, [2000.0] * 5, [1000.0] * 5)
        b["flags"] = ["served_from_memory"]
        validated(document("qd", [d, b]))
        c = decide.compare(d, b)
        self.assertEqual(c.outcome, "faster", "its throughput is real: data that fits in memory")
        self.assertEqual(c.reasons, ())
        self.assertEqual(c.notes, ("rand_read_qd4/buffered/io_uring is flagged served_from_memory: its working "
                                   "set fit in the page cache under no memory cap, so this is a result for data "
                                   "in memory, not a cold-cache one",))


class LooksTest(unittest.TestCase):
    def test_schedule_gives_the_number_of_looks(self):
        self.assertEqual(decide.looks_of({"matrix": SCHEDULE}), 5)  # 5, 9, 13, 17, 21.
        self.assertEqual(decide.looks_of({"matrix": dict(SCHEDULE, max_repetitions=20)}), 5)
        self.assertEqual(decide.looks_of({"matrix": dict(SCHEDULE, max_repetitions=5)}), 1)
        self.assertEqual(decide.looks_of({"matrix": {"repetitions": 5}}), 1)
        self.assertEqual(decide.looks_of({"suite": "qd"}), 1)
        with self.assertRaises(ValueError):
            decide.looks_of({"matrix": dict(SCHEDULE, repetition_step=0)})

    def test_merge_carries_the_looks_and_widens_the_interval(self):
        cells = curve("rand_read", {4: 1.02}, noise=(1.00, 1.01, 0.99, 1.02, 0.98))
        plain = validated(document("qd", cells))
        matrix = validated(document("qd", cells, {"matrix": SCHEDULE}))
        one = ratios.analyse(results.merge([("a.json", plain)])[0]).twins[0]
        five = ratios.analyse(results.merge([("b.json", matrix)])[0]).twins[0]
        self.assertEqual((one.looks, five.looks), (1, 5))
        self.assertAlmostEqual(one.level, 0.90)
        self.assertAlmostEqual(five.level, 0.98)
        self.assertLess(five.lo, one.lo)
        self.assertGreater(five.hi, one.hi)

    def test_a_malformed_schedule_is_named(self):
        doc = validated(document("qd", [], {"matrix": dict(SCHEDULE, max_repetitions="many")}))
        with self.assertRaises(results.ResultsError) as caught:
            results.merge([("bad.json", doc)])
        self.assertIn("bad.json", str(caught.exception))


def sequential_outcome(rng, true_ratio, cv, looks, base=5, step=4, cap=21):
    """One simulated matrix unit: lognormal noise of coefficient `cv` on each side, looks at
    `base` pairs, then every `step` more while inconclusive, up to `cap`."""
    sigma = math.sqrt(math.log(1 + cv * cv))
    direct, buffered = [], []
    n = base
    while True:
        while len(direct) < n:
            buffered.append(math.exp(rng.gauss(0.0, sigma)))
            direct.append(true_ratio * math.exp(rng.gauss(0.0, sigma)))
        _, lo, hi = decide.paired_interval(direct, buffered, looks)
        outcome = decide.outcome_of(lo, hi)
        if outcome != decide.INCONCLUSIVE or n >= cap:
            return outcome
        n = min(cap, n + step)


class SequentialLevelTest(unittest.TestCase):
    RUNS = 2000
    LOOKS = decide.looks_of({"matrix": SCHEDULE})

    def shares(self, true_ratio, cv, seed, looks=None):
        rng = random.Random(seed)
        outcomes = [sequential_outcome(rng, true_ratio, cv, looks or self.LOOKS) for _ in range(self.RUNS)]
        return {o: outcomes.count(o) / self.RUNS for o in decide.OUTCOMES}

    def test_no_true_difference_is_rarely_called_faster_or_slower(self):
        for cv in (0.05, 0.15):
            with self.subTest(cv=cv):
                shares = self.shares(1.0, cv, seed=12)
                self.assertLessEqual(shares["faster"] + shares["slower"], decide.ALPHA)

    def test_a_ratio_on_the_margin_is_rarely_called_equivalent(self):
        for cv in (0.02, 0.05):
            with self.subTest(cv=cv):
                self.assertLessEqual(self.shares(decide.MARGIN_HIGH, cv, seed=34)["equivalent"], decide.ALPHA)
                self.assertLessEqual(self.shares(decide.MARGIN_LOW, cv, seed=56)["equivalent"], decide.ALPHA)

    def test_the_schedule_still_decides_a_true_equivalence(self):
        # The level is not bought by never deciding: low noise and no difference is decided
        # equivalent most of the time.
        self.assertGreater(self.shares(1.0, 0.02, seed=78)["equivalent"], 0.5)


class CrossoverKindsTest(unittest.TestCase):
    def kind(self, profile, noisy=(), **kwargs):
        cells = []
        for qd, r in profile.items():
            noise = (0.80, 1.25, 0.85, 1.20, 0.90) if qd in noisy else JITTER
            cells += curve("rand_read", {qd: r}, noise=noise, **kwargs)
        x = only_crossover(cells)
        return x.kind, x.depth, x.exact

    def test_each_kind(self):
        self.assertEqual(self.kind({1: 1.2, 4: 1.3, 16: 1.0, 32: 1.4}), ("always", 1, True))
        self.assertEqual(self.kind({1: 0.5, 4: 0.7, 16: 1.2, 32: 1.3}), ("from", 16, True))
        self.assertEqual(self.kind({1: 0.5, 4: 1.0, 16: 1.2, 32: 1.3}, noisy=(4,)), ("from", 16, False))
        self.assertEqual(self.kind({1: 0.5, 4: 0.6, 16: 0.7, 32: 0.8}), ("never", None, True))
        self.assertEqual(self.kind({1: 0.5, 4: 0.6, 16: 0.7, 32: 1.0}, noisy=(32,)), ("undecided", None, True))

    def test_inconclusive_below_the_crossover_says_at_the_latest(self):
        cells = curve("rand_read", {1: 0.5, 16: 1.2})
        cells += curve("rand_read", {4: 1.0}, noise=(0.80, 1.25, 0.85, 1.20, 0.90))
        x = only_crossover(cells)
        self.assertEqual(decide.crossover_text(x), "from qd 16 at the latest")
        self.assertFalse(x.confident)


class EitherTest(unittest.TestCase):
    def entry(self, cells):
        doc = advice.advise(cells, [("t.json", validated(document("qd", cells)))],
                            created_utc="2026-12-01T00:00:00Z")
        return doc["classes"][0]

    def test_a_hot_curve_is_either_with_measured_tie_breakers(self):
        # Neither mode read from the device; buffered throughput 3% higher, noise-level.
        cells = curve("rand_read", {qd: 0.97 for qd in DEPTHS}, read_fraction=0.0)
        x = only_crossover(cells)
        self.assertTrue(x.either)
        entry = self.entry(cells)
        self.assertEqual(entry["direct_io"], "either")
        ties = entry["tie_breakers"]
        self.assertAlmostEqual(ties["cpu_ns_per_io"]["ratio"], 1500.0 / 2000.0)
        self.assertAlmostEqual(ties["p99_latency"]["ratio"], 1.0)
        self.assertIn("no second copy", ties["memory"]["note"])
        # Direct's CPU per I/O is lowest and the same at every depth: the shallowest depth.
        self.assertEqual((entry["backend"], entry["queue_depth"]), ("io_uring", min(DEPTHS)))
        self.assertEqual(entry["confidence"], "high")

    def test_without_device_records_a_full_pool_hit_ratio_is_hot(self):
        cells = curve("bm_rand_read", {qd: 1.0 for qd in DEPTHS}, suite="bm", regime="hot", hit_ratio=1.0,
                      noise=(0.80, 1.25, 0.85, 1.20, 0.90))
        x = only_crossover(cells)
        self.assertTrue(all(c.inconclusive for c in x.comparisons))
        self.assertTrue(x.either)

    def test_writes_the_device_took_are_not_either(self):
        # Direct writes read nothing but went to the device; buffered ones stayed in memory.
        d, b = twin("rand_write_qd4", 4, [50.0] * 5, [1000.0] * 5, read_fraction=0.0)
        for rep in d["repetitions"]:
            rep["device"]["write_bytes"] = rep["io_bytes"]
        for cell in (d, b):
            cell["median"]["device"]["write_bytes"] = cell["repetitions"][0]["device"]["write_bytes"]
        self.assertIs(decide.read_from_device(d), True)
        self.assertIs(decide.read_from_device(b), False)
        self.assertFalse(decide.neither_read_device(decide.compare(d, b)))

    def test_a_curve_that_read_the_device_is_decided_not_either(self):
        cells = curve("rand_read", {qd: 1.3 for qd in DEPTHS}, read_fraction=1.0)
        self.assertFalse(only_crossover(cells).either)
        entry = self.entry(cells)
        self.assertIs(entry["direct_io"], True)
        self.assertIsNone(entry["tie_breakers"])

    def test_an_undecided_curve_advises_unknown(self):
        cells = curve("rand_read", {4: 1.0}, noise=(0.80, 1.25, 0.85, 1.20, 0.90), read_fraction=1.0)
        entry = self.entry(cells)
        self.assertEqual(entry["direct_io"], "unknown")
        self.assertEqual(entry["confidence"], "low")
        self.assertIn("Undecided", entry["reason"])


class UndecidedCliTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def test_lists_the_inconclusive_twins(self):
        cells = curve("rand_read", {1: 0.5, 16: 1.2}) + curve("rand_read", {4: 1.0}, noise=(0.80, 1.25, 0.85, 1.20, 0.90))
        path = write_json(self.tmp.name, "qd.json", validated(document("qd", cells)))
        result = run_module("report.decide", path, "--undecided", timeout=120)
        self.assertEqual(result.returncode, 0, result.stderr)
        out = json.loads(result.stdout)
        self.assertEqual((out["decided"], out["total"]), (2, 3))
        self.assertEqual(len(out["undecided"]), 1)
        entry = out["undecided"][0]
        self.assertEqual((entry["direct"], entry["buffered"], entry["memory_cap"], entry["n"]),
                         ("rand_read_qd4/direct/io_uring", "rand_read_qd4/buffered/io_uring", 0, 5))
        lo, hi = entry["interval"]
        self.assertLess(lo, decide.MARGIN_LOW)
        self.assertGreater(hi, decide.MARGIN_HIGH)
        self.assertIn("straddles", entry["reason"])

    def test_bad_input_exits_1_with_the_message(self):
        path = os.path.join(self.tmp.name, "missing.json")
        result = run_module("report.decide", path, "--undecided", timeout=120)
        self.assertEqual(result.returncode, 1)
        self.assertTrue(result.stderr.startswith("python3 -m report.decide: error: "), result.stderr)
        self.assertNotIn("Traceback", result.stderr)


class ReportStateTest(RenderedReport, unittest.TestCase):
    """Device reads per cell and warnings about the machine in the rendered report."""

    @classmethod
    def documents(cls):
        cells = curve("rand_read", {1: 0.5, 4: 1.3}, read_fraction=0.5)
        doc = validated(document("qd", cells))
        doc["environment"]["storage_kind"] = {"kind": "memory", "reason": "tmpfs at /var/tmp"}
        doc["environment"]["load"] = {"loadavg_1m": 3.5, "other_measurers": [4242]}
        return [("qd.json", validated(doc))]

    def test_header_warns_about_memory_storage_and_load(self):
        self.assertIn("O_DIRECT there measures memory copies", self.md)
        self.assertIn("tmpfs at /var/tmp", self.md)
        self.assertIn("other measurers ran at the same time (pids 4242)", self.md)
        self.assertIn("load average was 3.5, above the 2 CPUs", self.md)

    def test_cells_table_shows_device_over_requested_bytes(self):
        rows = table_with(self.md, "dev/req")
        self.assertTrue(rows)
        self.assertEqual({r["dev/req"] for r in rows}, {"0.50"})

    def test_guidance_names_outcomes_and_repetitions(self):
        self.assertIn("Decided: 1 of 1 (100%) curves, 2 of 2 (100%) comparisons.", self.md)
        self.assertIn("Repetitions per decided comparison: n=5: 2.", self.md)
        self.assertIn("▲ 1.30 [", self.md)
        self.assertIn("▼ 0.50 [", self.md)


if __name__ == "__main__":
    unittest.main()
