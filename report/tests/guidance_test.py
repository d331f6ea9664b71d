"""Tests for report/guidance.py, report/ratios.py and report/advice.py (decide.py's rule as
its consumers use it; the rule itself: decide_test.py), and the report's Guidance, ratio,
heat-map, CPU and memory sections on schema_version 3 results.

Run from the repository root:
    /usr/bin/python3 -m unittest discover -s report/tests -t . -p "*_test.py"

Every synthetic curve is built from a table of direct/buffered ratios per depth, with
repetitions that jitter by about 1%, far less than the margins between a ratio and 1.0, so
the right answer follows from the table. Expectations are computed here from those tables
(reference_crossover, depth_by_rule), never copied from the code under test.
"""

import json
import math
import os
import statistics
import tempfile
import unittest

from report import advice, decide, guidance, ratios, results
from report.tests import fixtures
from report.tests.fixtures import document, write_json
from report.tests.support import run_module

try:
    import tomllib
except ImportError:  # Python before 3.11: the TOML round trip is skipped.
    tomllib = None

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DEPTHS = (1, 4, 16, 32)
CAP = 128 << 20
BUFFERED_DRIFT = (1.00, 1.03, 0.97, 1.02, 0.98)  # Shared by both twins of a round.
DIRECT_JITTER = (1.000, 1.004, 0.996, 1.002, 0.998)  # Direct's own noise on top: about 0.4%.
# Direct/buffered ratio tables with a known crossover.
FROM_16 = {1: 0.60, 4: 0.80, 16: 1.20, 32: 1.30}
NEVER = {1: 0.40, 4: 0.50, 16: 0.70, 32: 0.80}
ALWAYS = {1: 1.10, 4: 1.20, 16: 1.25, 32: 1.30}
DIP = {1: 0.60, 4: 1.20, 16: 0.70, 32: 1.30}
BM_FROM_4 = {1: 0.50, 4: 1.10, 16: 1.20, 32: 1.30}


def reference_crossover(profile):
    """The crossover of a ratio table, by the rule stated in the brief: the smallest depth from
    which every depth is equivalent or faster, i.e. its true ratio is at least the lower
    equivalence margin (the tables keep every ratio far from a margin, so the narrow intervals
    decide as the true ratios do). None for never."""
    depths = sorted(profile)
    below = [qd for qd in depths if profile[qd] < decide.MARGIN_LOW]
    if not below:
        return depths[0]
    later = [qd for qd in depths if qd > max(below)]
    return later[0] if later else None


def make_cell(suite, workload, qd, mode, backend, throughputs, regime="", cap=0, flags=(),
              p95_ns=100_000, cpu_ns=2_000.0, memory=None, policy=None):
    """A schema_version 3 cell with one repetition per throughput (iops, or bw_bytes for scan)."""
    reps = [fixtures.repetition(tp, p95_ns, cpu_ns_per_io=cpu_ns * (1 + 0.02 * (index - 1)), target=2 * qd,
                                littles_law=float(qd),
                                memory=None if memory is None else dict(
                                    memory, peak_bytes=memory["peak_bytes"] + index * (1 << 20)))
            for index, tp in enumerate(throughputs)]
    return fixtures.cell(workload, suite, qd, mode, backend, reps, regime, cap=cap, flags=flags, rw="read",
                         policy=policy if policy is not None else ("fixed" if suite in ("bm", "scan") else ""))


def curve(family, profile, suite="qd", backend="io_uring", regime="", cap=0, base=1000.0,
          direct_shape=None, flagged=(), memory=None, buffered_scale=1.0):
    """Twin cells at every depth of `profile`: buffered throughput base x qd (x buffered_scale),
    direct = buffered x the profile's ratio, or direct_shape[qd] x base when given (then the
    buffered side is direct / ratio). `flagged` depths get cv_high on the direct cell."""
    cells = []
    for qd, r in profile.items():
        workload = f"{family}_qd{qd}"
        if direct_shape is not None:
            buffered_level = direct_shape[qd] * base / r
        else:
            buffered_level = base * qd * buffered_scale
        buffered = [buffered_level * drift for drift in BUFFERED_DRIFT]
        direct = [b * r * jitter for b, jitter in zip(buffered, DIRECT_JITTER)]
        cells.append(make_cell(suite, workload, qd, "buffered", backend, buffered, regime, cap, memory=memory))
        cells.append(make_cell(suite, workload, qd, "direct", backend, direct, regime, cap,
                               flags=("cv_high",) if qd in flagged else (), p95_ns=150_000,
                               cpu_ns=1_500.0, memory=memory))
    return cells


# Repetition factors wide enough that any comparison they touch straddles a margin.
WIDE_NOISE = (0.3, 2.5, 0.4, 2.2, 1.0)


def make_noisy(cells, cell_id):
    """Spreads the repetitions of `cell_id` by WIDE_NOISE: its comparison becomes inconclusive."""
    cell = next(c for c in cells if c["id"] == cell_id)
    for rep, factor in zip(cell["repetitions"], WIDE_NOISE):
        rep["iops"] *= factor
        rep["bw_bytes"] *= factor


def crossover_for(cells, family, backend="io_uring", regime="", cap=0, suite="qd"):
    found = [x for x in guidance.analyse(cells).crossovers
             if x.key == (suite, family, regime, cap, backend)]
    assert len(found) == 1, f"expected one crossover for {family}/{backend}/{regime}/{cap}"
    return found[0]


def comparison_at(x, qd):
    return next(c for c in x.comparisons if c.qd == qd)


def direct_series(cells, family, backend, regime="", cap=0):
    return {c["qd"]: c["median"]["iops"] for c in cells if c["mode"] == "direct"
            and c["backend"] == backend and c["workload"].startswith(family + "_qd")
            and c["regime"] == regime and c["memory_cap"] == cap}


def depth_by_rule(throughput_by_qd, floor=None):
    """The smallest depth (>= floor) reaching 95% of the best median throughput among them."""
    candidates = {qd: tp for qd, tp in throughput_by_qd.items() if floor is None or qd >= floor}
    best = max(candidates.values())
    return min(qd for qd, tp in candidates.items() if tp >= 0.95 * best)


class CrossoverTest(unittest.TestCase):
    def test_direct_wins_from_qd_16_names_the_qd16_cells(self):
        x = crossover_for(curve("rand_read", FROM_16), "rand_read")
        expected = reference_crossover(FROM_16)
        self.assertEqual((x.kind, x.depth), ("from", expected))
        for qd in DEPTHS:
            c = comparison_at(x, qd)
            self.assertEqual(c.slower, FROM_16[qd] < 1.0, f"qd {qd}: interval [{c.lo}, {c.hi}]")
            self.assertEqual(c.outcome, "slower" if FROM_16[qd] < 1.0 else "faster")
        sentence = guidance.crossover_sentence(x)
        self.assertIn(f"from qd {expected}", sentence)
        self.assertIn(f"rand_read_qd{expected}/{{direct,buffered}}/io_uring", sentence)
        self.assertIn(f"{FROM_16[expected]:.2f}x", sentence)
        self.assertIn(f"qd {max(DEPTHS)}", sentence)  # By how much at the largest depth too.
        self.assertEqual(guidance.outcome_text(x), f"from qd {expected}")

    def test_never_when_every_interval_lies_below_one(self):
        x = crossover_for(curve("seq_read", NEVER), "seq_read")
        self.assertIsNone(reference_crossover(NEVER))
        self.assertEqual((x.kind, x.depth), ("never", None))
        self.assertEqual(x.at_crossover.qd, max(NEVER))
        sentence = guidance.crossover_sentence(x)
        self.assertIn("direct stays slower than buffered", sentence)
        self.assertEqual(guidance.outcome_text(x), f"never (up to qd {max(NEVER)})")
        self.assertIn(f"seq_read_qd{max(NEVER)}/{{direct,buffered}}/io_uring", sentence)
        self.assertIn(f"{1 / NEVER[1]:.2f}x", sentence)  # Buffered's lead at qd 1.

    def test_always_from_the_smallest_depth(self):
        x = crossover_for(curve("rand_read", ALWAYS), "rand_read")
        self.assertEqual(reference_crossover(ALWAYS), min(ALWAYS))
        self.assertEqual((x.kind, x.depth), ("always", min(ALWAYS)))
        self.assertIn(f"always (from qd {min(ALWAYS)})", guidance.outcome_text(x))
        self.assertEqual(x.buffered_better, [])

    def test_a_dip_moves_the_crossover_past_it(self):
        x = crossover_for(curve("rand_read", DIP), "rand_read")
        expected = reference_crossover(DIP)
        self.assertEqual((x.kind, x.depth), ("from", expected))
        self.assertNotEqual(expected, min(qd for qd in DIP if DIP[qd] >= 1.0))  # Not the first win.
        self.assertEqual([c.qd for c in x.buffered_better], [qd for qd in DEPTHS if DIP[qd] < 1.0])
        self.assertTrue(x.exact, "qd 16 below the crossover is decided slower")

    def test_a_shortfall_inside_the_margin_is_equivalent(self):
        # Direct slower by 2% at qd 1 and 4: equivalent (the interval lies inside [0.95,
        # 1.05]). By 8% at qd 16: slower. 1.10 at qd 32: faster, so the crossover is qd 32.
        profile = {1: 0.98, 4: 0.98, 16: 0.92, 32: 1.10}
        x = crossover_for(curve("rand_read", profile), "rand_read")
        self.assertEqual([comparison_at(x, qd).outcome for qd in DEPTHS],
                         ["equivalent", "equivalent", "slower", "faster"])
        self.assertEqual([c.qd for c in x.buffered_better], [16])
        self.assertEqual((x.kind, x.depth, x.exact), ("from", 32, True))
        self.assertFalse(x.either)
        x = crossover_for(curve("rand_read", {1: 0.98, 4: 0.97, 16: 0.99, 32: 0.98}), "rand_read")
        self.assertEqual(x.kind, "always", "every shortfall is inside the margin")
        self.assertTrue(x.either, "every depth equivalent: the mode does not matter")

    def test_latency_and_cpu_costs_at_the_crossover_come_from_the_cells(self):
        x = crossover_for(curve("rand_read", FROM_16), "rand_read")
        at = x.at_crossover
        p95 = [results.percentile_ns(c["median"], 95) for c in (at.direct, at.buffered)]
        cpu = [c["median"]["cpu_ns_per_io"] for c in (at.direct, at.buffered)]
        self.assertAlmostEqual(ratios.latency_cost(at), p95[0] / p95[1])
        self.assertAlmostEqual(ratios.cpu_cost(at), cpu[0] / cpu[1])
        self.assertIn(f"p95 latency is {p95[0] / p95[1]:.2f}x", guidance.crossover_sentence(x))

    def test_curves_are_split_by_memory_cap_and_regime(self):
        cells = (curve("bm_rand_read", FROM_16, suite="bm", regime="thrash")
                 + curve("bm_rand_read", ALWAYS, suite="bm", regime="thrash", cap=CAP)
                 + curve("bm_rand_read", NEVER, suite="bm", regime="hot", cap=CAP))
        self.assertEqual(crossover_for(cells, "bm_rand_read", regime="thrash", suite="bm").depth,
                         reference_crossover(FROM_16))
        self.assertEqual(crossover_for(cells, "bm_rand_read", regime="thrash", cap=CAP, suite="bm").kind,
                         "always")
        self.assertEqual(crossover_for(cells, "bm_rand_read", regime="hot", cap=CAP, suite="bm").kind,
                         "never")

    def test_baseline_comparison_is_against_buffered_sync_at_qd1(self):
        cells = curve("rand_read", FROM_16)
        sync = [1000.0 * 5 * d for d in BUFFERED_DRIFT]  # Buffered sync: 5x io_uring's qd 1.
        cells.append(make_cell("qd", "rand_read_qd1", 1, "buffered", "sync", sync))
        x = next(b for b in guidance.analyse(cells).baselines if b.key == ("qd", "rand_read", "", 0, "io_uring"))
        self.assertEqual(x.baseline["id"], "rand_read_qd1/buffered/sync")
        self.assertFalse(x.comparisons[0].paired)
        direct = {qd: 1000.0 * qd * FROM_16[qd] for qd in DEPTHS}
        expected = reference_crossover({qd: tp / 5000.0 for qd, tp in direct.items()})
        self.assertEqual(x.depth, expected)
        self.assertIn("rand_read_qd1/buffered/sync", guidance.crossover_sentence(x))

    def test_without_a_sync_cell_the_baseline_is_io_uring_qd1_and_its_twin_stays_paired(self):
        cells = curve("rand_read", FROM_16)
        x = next(b for b in guidance.analyse(cells).baselines if b.key == ("qd", "rand_read", "", 0, "io_uring"))
        self.assertEqual(x.baseline["id"], "rand_read_qd1/buffered/io_uring")
        self.assertEqual([c.paired for c in x.comparisons], [qd == 1 for qd in sorted(FROM_16)])

    def test_dontcache_and_adaptive_cells_make_no_curve(self):
        cells = curve("bm_seq_read", FROM_16, suite="bm", regime="thrash")
        for mode in ("buffered", "direct"):
            cells.append(make_cell("bm", "bm_seq_read_adaptive", 32, mode, "io_uring", [500.0] * 5,
                                   "thrash", policy="adaptive"))
        cells.append(make_cell("bm", "bm_seq_read_qd4", 4, "dontcache", "io_uring", [1.0] * 5, "thrash"))
        analysis = guidance.analyse(cells)
        self.assertEqual(len(analysis.crossovers), 1)
        self.assertEqual(len(analysis.crossovers[0].comparisons), len(DEPTHS))
        self.assertIn("bm_seq_read_adaptive/{direct,buffered}/io_uring/thrash",
                      [guidance.ids_text(c) for c in analysis.twins])


class InconclusiveTest(unittest.TestCase):
    def test_served_from_memory_pair_is_decided_and_the_sentence_says_so(self):
        cells = curve("rand_read", FROM_16)
        next(c for c in cells if c["id"] == "rand_read_qd16/buffered/io_uring")["flags"] = ["served_from_memory"]
        x = crossover_for(cells, "rand_read")
        self.assertEqual(comparison_at(x, 16).outcome, "faster")
        self.assertEqual((x.kind, x.depth), ("from", 16))
        sentence = guidance.crossover_sentence(x)
        self.assertIn("Buffered was served from the page cache at qd 16", sentence)
        self.assertIn("not a cold-cache one", sentence)

    def test_an_inconclusive_pair_below_the_deepest_lowers_confidence(self):
        cells = curve("rand_read", FROM_16)
        make_noisy(cells, "rand_read_qd16/buffered/io_uring")
        x = crossover_for(cells, "rand_read")
        c = comparison_at(x, 16)
        self.assertEqual(c.outcome, "inconclusive")
        self.assertIn("straddles", c.reason)
        self.assertEqual((x.kind, x.depth, x.exact), ("from", 32, False))
        self.assertFalse(x.confident)
        sentence = guidance.crossover_sentence(x)
        self.assertIn("from qd 32 at the latest", sentence)
        self.assertIn("could be earlier: qd 16 is inconclusive", sentence)
        self.assertIn("rand_read_qd16/{direct,buffered}/io_uring", guidance.inconclusive_line([c]))

    def test_an_inconclusive_pair_outside_the_deciding_ones_keeps_confidence(self):
        cells = curve("rand_read", FROM_16)
        make_noisy(cells, "rand_read_qd1/buffered/io_uring")
        x = crossover_for(cells, "rand_read")
        self.assertTrue(comparison_at(x, 1).inconclusive)
        self.assertNotIn(comparison_at(x, 1), x.deciding)
        self.assertTrue(x.confident)

    def test_cv_high_alone_does_not_make_a_narrow_interval_inconclusive(self):
        # The interval already carries the repetitions' spread; the flag stays on the cell.
        x = crossover_for(curve("rand_read", FROM_16, flagged=(16,)), "rand_read")
        self.assertEqual(comparison_at(x, 16).outcome, "faster")

    def test_a_wide_interval_straddling_a_margin_is_inconclusive(self):
        buffered = [1000.0] * 5
        direct = [500.0, 1500.0, 600.0, 1400.0, 1000.0]
        c = decide.compare(make_cell("qd", "rand_read_qd4", 4, "direct", "io_uring", direct),
                           make_cell("qd", "rand_read_qd4", 4, "buffered", "io_uring", buffered))
        self.assertEqual(c.outcome, "inconclusive")
        self.assertTrue(c.reason.startswith(f"interval [{c.lo:.2f}, {c.hi:.2f}] straddles"), c.reason)
        self.assertTrue(guidance.entry_text(c).startswith("? "))

    def test_the_old_rules_noisy_parity_reads_inconclusive(self):
        # Under the bootstrap rule this read "0.65x [0.28, 1.13]": its upper end above 0.95
        # counted as parity, so direct "caught up". Now it is inconclusive, never equivalence.
        direct = [300.0, 1150.0, 420.0, 1080.0, 350.0]
        c = decide.compare(make_cell("qd", "rand_read_qd4", 4, "direct", "io_uring", direct),
                           make_cell("qd", "rand_read_qd4", 4, "buffered", "io_uring", [1000.0] * 5))
        self.assertLess(c.lo, decide.MARGIN_LOW)
        self.assertGreater(c.hi, decide.MARGIN_LOW)
        self.assertEqual(c.outcome, "inconclusive")
        x = decide.crossover_of(("qd", "rand_read", "", 0, "io_uring"), [c])
        self.assertEqual(x.kind, "undecided")
        self.assertIn("undecided", guidance.crossover_sentence(x))


class IntervalTest(unittest.TestCase):
    def pair(self, direct, buffered, qd=4):
        return (make_cell("qd", f"rand_read_qd{qd}", qd, "direct", "io_uring", direct),
                make_cell("qd", f"rand_read_qd{qd}", qd, "buffered", "io_uring", buffered))

    def test_paired_interval_is_the_t_interval_of_the_log_ratios(self):
        direct, buffered = [1030.0, 980.0, 1110.0, 1010.0, 1060.0], [1000.0, 1000.0, 1050.0, 990.0, 1000.0]
        c = decide.compare(*self.pair(direct, buffered))
        logs = [math.log(d / b) for d, b in zip(direct, buffered)]
        half = 2.1318 * statistics.stdev(logs) / math.sqrt(5)  # t(4, 0.95): K = 1, 90% two-sided.
        self.assertAlmostEqual(c.ratio, math.exp(statistics.fmean(logs)))
        self.assertAlmostEqual(c.lo, math.exp(statistics.fmean(logs) - half), places=4)
        self.assertAlmostEqual(c.hi, math.exp(statistics.fmean(logs) + half), places=4)
        self.assertAlmostEqual(c.level, 0.90)
        self.assertEqual((c.n, c.looks), (5, 1))

    def test_identical_repetitions_give_a_point_interval(self):
        c = decide.compare(*self.pair([800.0] * 4, [1000.0] * 4))
        self.assertAlmostEqual(c.lo, 0.8)
        self.assertAlmostEqual(c.hi, 0.8)
        self.assertEqual(c.outcome, "slower")

    def test_pairing_cancels_drift_shared_by_a_round(self):
        # Each round is twice as fast as the one before, direct always 1.1x its twin: paired,
        # the interval is the point; unpaired, the drift swamps it.
        buffered = [1000.0 * 2 ** i for i in range(5)]
        d, b = self.pair([1.1 * x for x in buffered], buffered)
        paired, unpaired = decide.compare(d, b), decide.compare(d, b, paired=False)
        self.assertAlmostEqual(paired.lo, 1.1)
        self.assertAlmostEqual(paired.hi, 1.1)
        self.assertEqual(paired.outcome, "faster")
        self.assertGreater(unpaired.hi / unpaired.lo, 2.0)
        self.assertEqual(unpaired.outcome, "inconclusive")

    def test_one_repetition_has_no_interval(self):
        c = decide.compare(*self.pair([700.0], [1000.0]))
        self.assertEqual((c.lo, c.ratio, c.hi), (0.7, 0.7, 0.7))
        self.assertEqual(c.outcome, "inconclusive")
        self.assertEqual(c.reasons, ("1 repetition: no interval",))
        self.assertIn("1 repetition: no interval", guidance.interval_text(c))


def advice_cells():
    """qd suite at no cap and at CAP, bm suite at CAP: every class's answer is built in.

    - seq_read: direct never catches up; direct is fastest on io_uring, but buffered worker
      is 1.5x buffered io_uring, so the buffered advice must move to worker.
    - rand_read: from qd 16; direct throughput is flat from qd 4 (within 5% of qd 32), so
      only the crossover floor keeps the advised depth at 16.
    - bm_seq_read thrash at CAP: from qd 4; bm_rand_read hot at CAP: never.
    """
    rand_shape = {1: 1.0, 4: 9.6, 16: 9.8, 32: 10.0}
    cells = []
    for cap in (0, CAP):
        cells += curve("seq_read", NEVER, cap=cap) + curve(
            "seq_read", {qd: r / 2 for qd, r in NEVER.items()}, backend="worker", cap=cap, buffered_scale=1.5)
    cells += curve("rand_read", FROM_16, direct_shape=rand_shape)
    cells += curve("rand_read", FROM_16, backend="worker",
                   direct_shape={qd: v * 0.5 for qd, v in rand_shape.items()})
    cells += curve("bm_seq_read", BM_FROM_4, suite="bm", regime="thrash", cap=CAP)
    cells += curve("bm_rand_read", NEVER, suite="bm", regime="hot", cap=CAP)
    return cells, rand_shape


def write_cells():
    """The write suite: wal_commit with fdatasync always faster direct (and direct's O_DSYNC
    cells, without a buffered twin), checkpoint never, bm_rand_rw in the thrash regime from
    qd 16."""
    wal = curve("wal_commit", ALWAYS, suite="write")
    for c in wal:
        c["policy"] = "fdatasync"
        c["id"] += "/fdatasync"
    dsync = [make_cell("write", f"wal_commit_qd{qd}", qd, "direct", "io_uring", [1500.0 * qd] * 5, policy="dsync")
             for qd in DEPTHS]
    for c in dsync:
        c["id"] += "/dsync"
    checkpoint = curve("checkpoint", NEVER, suite="write")
    rw = curve("bm_rand_rw", FROM_16, suite="write", regime="thrash")
    for c in rw:
        c["policy"] = "fixed"
    return wal + dsync + checkpoint + rw


class AdviceWriteClassesTest(unittest.TestCase):
    """The wal and read_write classes come from the write suite's twins, by the same rule."""

    @classmethod
    def setUpClass(cls):
        cls.cells = write_cells()
        cls.doc = advice.advise(cls.cells, [("write.json", document("write", cls.cells))],
                                created_utc="2026-12-02T00:00:00Z")
        cls.entries = {(e["class"], e["regime"]): e for e in cls.doc["classes"]}

    def test_one_entry_per_class_and_regime(self):
        self.assertEqual(set(self.entries), {("wal", ""), ("read_write", ""), ("read_write", "thrash")})

    def test_the_log_follows_its_fdatasync_twins(self):
        entry = self.entries[("wal", "")]
        self.assertEqual(entry["workload_family"], "wal_commit (fdatasync)")
        self.assertEqual(entry["suite"], "write")
        self.assertIs(entry["direct_io"], True)
        self.assertEqual(entry["crossover"], "always (from qd 1)")

    def test_checkpoint_write_back_and_updating_reads_are_decided_apart(self):
        checkpoint = self.entries[("read_write", "")]
        self.assertEqual(checkpoint["workload_family"], "checkpoint")
        self.assertIs(checkpoint["direct_io"], False)
        rw = self.entries[("read_write", "thrash")]
        self.assertEqual(rw["workload_family"], "bm_rand_rw")
        self.assertIs(rw["direct_io"], True)
        self.assertEqual(rw["crossover"], "from qd 16")
        self.assertGreaterEqual(rw["prefetch_distance"], 16)


class AdviceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cells, cls.rand_shape = advice_cells()
        qd = [c for c in cls.cells if c["suite"] == "qd"]
        bm = [c for c in cls.cells if c["suite"] == "bm"]
        cls.runs = [("qd.json", document("qd", qd)), ("bm.json", document("bm", bm, {"io_combine": 131072}))]
        cls.doc = advice.advise(cls.cells, cls.runs, created_utc="2026-11-29T00:00:00Z")
        cls.entries = {(e["class"], e["memory_cap"], e["regime"]): e for e in cls.doc["classes"]}

    def test_document_names_schema_rules_and_sources(self):
        self.assertEqual((self.doc["schema"], self.doc["version"]), ("iodepth-advice", advice.ADVICE_VERSION))
        self.assertEqual(advice.ADVICE_VERSION, 3)
        self.assertTrue(self.doc["rules"])
        self.assertEqual(self.doc["source"]["files"], ["qd.json", "bm.json"])
        env = self.doc["source"]["environments"]
        self.assertEqual(len(env), 1)
        self.assertEqual((env[0]["kernel"], env[0]["device_model"], env[0]["files"]),
                         ("6.12.0-test", "FakeDisk 9000", ["qd.json", "bm.json"]))

    def test_one_entry_per_class_memory_condition_and_regime(self):
        self.assertEqual(set(self.entries), {("sequential_scan", 0, ""), ("sequential_scan", CAP, ""),
                                             ("random_read", 0, ""), ("sequential_scan", CAP, "thrash"),
                                             ("random_read", CAP, "hot")})

    def test_direct_io_follows_the_data(self):
        self.assertFalse(self.entries[("sequential_scan", 0, "")]["direct_io"])
        self.assertTrue(self.entries[("random_read", 0, "")]["direct_io"])
        self.assertTrue(self.entries[("sequential_scan", CAP, "thrash")]["direct_io"])
        self.assertFalse(self.entries[("random_read", CAP, "hot")]["direct_io"])

    def test_queue_depth_is_the_95_percent_rule_above_the_crossover(self):
        entry = self.entries[("random_read", 0, "")]
        self.assertEqual(entry["backend"], "io_uring")  # Worker's direct is half as fast.
        series = direct_series(self.cells, "rand_read", "io_uring")
        expected = depth_by_rule(series, floor=reference_crossover(FROM_16))
        self.assertEqual(entry["queue_depth"], expected)
        self.assertNotEqual(expected, max(DEPTHS))  # The rule, not simply the deepest.
        self.assertNotEqual(expected, depth_by_rule(series))  # Nor the rule without the floor.
        self.assertIsNone(entry["prefetch_distance"])
        self.assertIsNone(entry["io_combine_bytes"])
        self.assertEqual(entry["confidence"], "high")
        self.assertIn(f"rand_read_qd{expected}/direct/io_uring", json.dumps(entry["evidence"]))

    def test_buffered_advice_picks_the_fastest_buffered_backend(self):
        entry = self.entries[("sequential_scan", 0, "")]
        self.assertEqual(entry["backend"], "worker")
        buffered = {c["qd"]: c["median"]["iops"] for c in self.cells if c["mode"] == "buffered"
                    and c["backend"] == "worker" and c["workload"].startswith("seq_read") and not c["memory_cap"]}
        self.assertEqual(entry["queue_depth"], depth_by_rule(buffered))
        self.assertEqual(entry["crossover"], f"never (up to qd {max(DEPTHS)})")
        self.assertEqual(entry["evidence"][0]["direct"], f"seq_read_qd{max(DEPTHS)}/direct/io_uring")

    def test_page_level_entry_gives_prefetch_distance_and_io_combine(self):
        entry = self.entries[("sequential_scan", CAP, "thrash")]
        self.assertEqual(entry["workload_family"], "bm_seq_read")
        distances = direct_series(self.cells, "bm_seq_read", "io_uring", "thrash", CAP)
        self.assertEqual(entry["prefetch_distance"],
                         depth_by_rule(distances, floor=reference_crossover(BM_FROM_4)))
        self.assertEqual(entry["io_combine_bytes"], 131072)
        # seq_read was measured at this cap: queue_depth comes from it, in direct mode.
        raw = direct_series(self.cells, "seq_read", "io_uring", cap=CAP)
        self.assertEqual(entry["queue_depth"], depth_by_rule(raw))
        self.assertTrue(entry["queue_depth_source"].startswith("qd suite: seq_read_qd"))

    def test_page_level_entry_without_qd_cells_uses_the_depth_target(self):
        entry = self.entries[("random_read", CAP, "hot")]
        chosen = [c for c in self.cells if c["id"] == entry["depth_choice"]["cell"] and c["memory_cap"] == CAP][0]
        self.assertEqual(entry["queue_depth"], chosen["repetitions"][0]["depth"]["target"])
        self.assertNotEqual(entry["queue_depth"], entry["prefetch_distance"])

    def test_a_tie_within_the_interval_goes_to_io_uring(self):
        cells = curve("rand_read", ALWAYS) + curve("rand_read", ALWAYS, backend="worker", base=1010.0)
        entry = advice.advise(cells)["classes"][0]
        self.assertEqual(entry["backend"], "io_uring")
        self.assertGreaterEqual(entry["backend_tie"]["ci"][1], 1.0)
        clear = curve("rand_read", ALWAYS) + curve("rand_read", ALWAYS, backend="worker", base=1500.0)
        self.assertEqual(advice.advise(clear)["classes"][0]["backend"], "worker")

    def test_an_inconclusive_pair_below_the_crossover_gives_low_confidence(self):
        cells = curve("rand_read", FROM_16)
        make_noisy(cells, "rand_read_qd4/buffered/io_uring")
        entry = advice.advise(cells)["classes"][0]
        self.assertEqual(entry["confidence"], "low")
        self.assertTrue(entry["direct_io"])
        self.assertEqual(entry["crossover"], "from qd 16 at the latest")
        self.assertTrue(any(e["inconclusive"] and e["outcome"] == "inconclusive" for e in entry["evidence"]))
        self.assertEqual(advice.advise(curve("rand_read", FROM_16))["classes"][0]["confidence"], "high")

    @unittest.skipIf(tomllib is None, "tomllib needs Python 3.11")
    def test_toml_parses_back_to_the_same_document(self):
        def without_none(value):
            if isinstance(value, dict):
                return {k: without_none(v) for k, v in value.items() if v is not None}
            if isinstance(value, list):
                return [without_none(v) for v in value]
            return value
        self.assertEqual(tomllib.loads(advice.to_toml(self.doc)), without_none(self.doc))

    def test_toml_escapes_quotes_and_control_characters(self):
        doc = {"a": 'say "hi"\n\x7f', "odd key": 1.5, "t": {"x": [1, 2]}, "rows": [{"v": True}, {"v": False}]}
        if tomllib is not None:
            self.assertEqual(tomllib.loads(advice.to_toml(doc)), doc)
        self.assertIn('"odd key" = 1.5', advice.to_toml(doc))

    def test_no_twins_is_an_error_naming_what_to_run(self):
        buffered = [c for c in self.cells if c["mode"] == "buffered"]
        with self.assertRaises(advice.AdviceError) as caught:
            advice.advise(buffered)
        self.assertIn("no direct/buffered twins", str(caught.exception))
        self.assertIn("suite qd: buffered", str(caught.exception))
        self.assertIn("--modes=buffered,direct", str(caught.exception))


class CliTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        cells, _ = advice_cells()
        self.path = write_json(self.tmp.name, "all.json", document("qd", cells))

    def run_guidance(self, *args):
        return run_module("report.guidance", *args, timeout=120)

    def test_advise_writes_json(self):
        out = os.path.join(self.tmp.name, "advice.json")
        result = self.run_guidance(self.path, "--advise", out)
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(out, encoding="utf-8") as f:
            doc = json.load(f)
        self.assertEqual(doc["schema"], "iodepth-advice")
        self.assertEqual(doc["source"]["files"], [self.path])

    @unittest.skipIf(tomllib is None, "tomllib needs Python 3.11")
    def test_advise_writes_toml_by_flag_or_name(self):
        for out, extra in (("a.txt", ["--format", "toml"]), ("a.toml", [])):
            path = os.path.join(self.tmp.name, out)
            result = self.run_guidance(self.path, "--advise", path, *extra)
            self.assertEqual(result.returncode, 0, result.stderr)
            with open(path, "rb") as f:
                self.assertEqual(tomllib.load(f)["schema"], "iodepth-advice")

    def test_without_advise_prints_the_sentences(self):
        result = self.run_guidance(self.path)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(f"from qd {reference_crossover(FROM_16)}", result.stdout)
        self.assertIn("rand_read_qd16/{direct,buffered}/io_uring", result.stdout)

    def test_no_twins_exits_1_with_a_message(self):
        cells = [c for c in advice_cells()[0] if c["mode"] == "direct"]
        path = write_json(self.tmp.name, "direct.json", document("qd", cells))
        result = self.run_guidance(path, "--advise", os.path.join(self.tmp.name, "x.json"))
        self.assertEqual(result.returncode, 1)
        self.assertTrue(result.stderr.startswith("python3 -m report.guidance: error: no direct/buffered twins"), result.stderr)
        self.assertIn("--modes=buffered,direct", result.stderr)
        self.assertNotIn("Traceback", result.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.tmp.name, "x.json")))

    def test_unreadable_input_exits_1(self):
        result = self.run_guidance(os.path.join(self.tmp.name, "missing.json"), "--advise", "-")
        self.assertEqual(result.returncode, 1)
        self.assertIn("python3 -m report.guidance: error: cannot read", result.stderr)


if __name__ == "__main__":
    unittest.main()
