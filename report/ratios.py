"""Direct/buffered throughput ratios of twin cells, their confidence intervals, and the crossover.

Twins are two measured cells that differ only in mode: same suite, workload, qd, backend,
regime, policy and memory_cap, one "direct" and one "buffered" (dontcache is left out). Their
throughput is iops for the qd, io_patterns and bm suites (page fetches/s for bm) and
bw_bytes for the scan suite.

    repetition:      0        1        2
    buffered cell:  B0 ----> B1 ----> B2        each arrow: the next round of the suite
    direct twin:     D0       D1       D2        Bi and Di ran back to back
    ratio_i = Di / Bi

Interval: a 95% percentile bootstrap of the ratio, 2000 resamples. A resample draws n
repetition indices with replacement and takes the SAME indices on both sides (paired), then
the ratio of the two means. Paired because repetition i of both twins ran back to back: they
shared whatever the machine was doing then (background load, device garbage collection,
thermal state), so drift between rounds moves both sides together and cancels in the ratio
instead of widening the interval. The seed is the first 8 bytes of SHA-256 over the two
cell ids and the memory cap: the same data always gives the same interval. With one
repetition there is no interval (lo = hi = the one ratio). Comparisons of cells that did not
run back to back (direct at qd N against a buffered qd 1 baseline) resample each side
independently (unpaired), except the one that is the baseline's own twin.

A comparison is inconclusive, and no conclusion rests on it alone, when either cell has the
cv_high flag, when the interval spans more than INCONCLUSIVE_CI_SPREAD (hi / lo > 1.5), when
its upper end lies within BORDERLINE (0.03) of PARITY (another run could put it on the other
side), or when fewer than two repetitions give no interval.

Crossover, per (suite, family, regime, memory_cap, backend), over the measured depths in
ascending order: the smallest qd such that at that qd and at every larger measured qd the
interval's upper bound is >= PARITY (0.95: direct is not measurably slower by more than 5%).
"always" when that is the smallest depth measured, "from qd N" otherwise, "never" when even
the largest depth's interval lies entirely below PARITY. Pure functions; no matplotlib.
"""

import hashlib
import math
import random
import statistics
from dataclasses import dataclass

from .results import cap_of, family_of, is_adaptive, is_ok, percentile_ns, regime_rank

RESAMPLES = 2000
CONFIDENCE = 0.95
# An interval wider than this (hi / lo) says the repetitions disagree too much to decide on.
INCONCLUSIVE_CI_SPREAD = 1.5
# Direct "matches" buffered when the interval's upper bound reaches this: a direct/buffered
# ratio measurably below 1.0 but by less than 5% is parity. Intervals only say how much the
# repetitions of one run agree; two runs of the default matrix on one machine differed by
# up to 3% on cells whose true ratio is 1.0 (hot cells: no I/O at all), which flipped
# "always" to "never" on intervals like [0.97, 0.99]. No engine would change its I/O mode
# over 5% either.
PARITY = 0.95
# An interval whose upper end lies this close to PARITY decides nothing alone: between two
# runs of the default matrix the same comparison's upper end moved by up to 0.03.
BORDERLINE = 0.03
# Backends with no queue: the synchronous baseline of each suite, measured at qd 1 only.
SYNC_BACKENDS = ("sync", "syncpath")


def throughput_key(cell):
    """The field a suite is judged by: bytes/s for concurrent scans, requests (or page
    fetches) per second for the others."""
    return "bw_bytes" if cell.get("suite") == "scan" else "iops"


def throughput_unit(cell):
    return "MB/s" if cell.get("suite") == "scan" else ("fetches/s" if cell.get("suite") == "bm" else "IOPS")


def repetition_throughput(cell):
    """Throughput of each repetition in run order; None where a repetition lacks it."""
    key = throughput_key(cell)
    return [rep.get(key) for rep in cell.get("repetitions") or []]


def median_throughput(cell):
    return (cell.get("median") or {}).get(throughput_key(cell))


def twin_key(cell):
    return (cell.get("suite"), cell.get("workload", cell["id"].split("/")[0]), cell.get("qd", 1),
            cell.get("backend"), cell.get("regime") or "", cell.get("policy") or "", cap_of(cell))


def find_twins(cells):
    """(direct, buffered) for every pair of measured twins, in the order the direct cells appear."""
    buffered = {twin_key(c): c for c in cells if is_ok(c) and c.get("mode") == "buffered"}
    return [(c, buffered[twin_key(c)]) for c in cells
            if is_ok(c) and c.get("mode") == "direct" and twin_key(c) in buffered]


def seed_for(*parts):
    """A seed fixed by the ids it names: hash() is salted per process, SHA-256 is not."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big")


def percentile_interval(stats, confidence=CONFIDENCE):
    """(lo, hi): the nearest-rank (1-confidence)/2 and (1+confidence)/2 points of `stats`."""
    ordered = sorted(stats)
    tail = (1 - confidence) / 2
    lo = ordered[int(math.floor(tail * len(ordered)))]
    hi = ordered[int(math.ceil((1 - tail) * len(ordered))) - 1]
    return lo, hi


def bootstrap_ratio(direct, buffered, seed, paired=True, resamples=RESAMPLES):
    """(lo, hi) of mean(direct) / mean(buffered) by percentile bootstrap.

    REQUIRES: values > 0 on the buffered side; paired: len(direct) == len(buffered) >= 1.
    """
    assert buffered and all(b > 0 for b in buffered), "a ratio needs positive buffered throughput"
    assert not paired or len(direct) == len(buffered), "paired resampling needs one pair per index"
    rng = random.Random(seed)
    stats = []
    if paired:
        indices = range(len(direct))
        for _ in range(resamples):
            draw = rng.choices(indices, k=len(direct))
            # Ratio of sums = ratio of means: both sides have the same count.
            stats.append(sum(direct[i] for i in draw) / sum(buffered[i] for i in draw))
    else:
        for _ in range(resamples):
            d = rng.choices(direct, k=len(direct))
            b = rng.choices(buffered, k=len(buffered))
            stats.append((sum(d) / len(d)) / (sum(b) / len(b)))
    return percentile_interval(stats)


@dataclass(frozen=True)
class Comparison:
    """Direct against buffered throughput of two cells, with its interval.

    `median` is the median of the per-repetition ratios (paired) or the ratio of the two
    cells' median throughputs (unpaired); `reasons` say why it is inconclusive (empty when not).
    """
    direct: dict
    buffered: dict
    paired: bool
    n: int
    median: float
    lo: float
    hi: float
    reasons: tuple

    @property
    def qd(self):
        return self.direct.get("qd", 1)

    @property
    def inconclusive(self):
        return bool(self.reasons)

    @property
    def below(self):
        """Direct is measurably slower: the whole interval lies below parity."""
        return self.hi < PARITY

    def cells(self):
        return (self.direct["id"], self.buffered["id"])


def paired_values(direct, buffered):
    """The per-index throughputs of both cells where both are present and buffered > 0."""
    pairs = [(d, b) for d, b in zip(repetition_throughput(direct), repetition_throughput(buffered))
             if d is not None and b]
    return [d for d, _ in pairs], [b for _, b in pairs]


def unpaired_values(direct, buffered):
    return ([d for d in repetition_throughput(direct) if d is not None],
            [b for b in repetition_throughput(buffered) if b])


def inconclusive_reasons(direct, buffered, n, lo, hi):
    reasons = [f"{c['id']} is flagged cv_high" for c in (direct, buffered)
               if "cv_high" in (c.get("flags") or [])]
    if n < 2:
        reasons.append(f"no interval: {n} repetition{'s' if n != 1 else ''}")
    elif lo <= 0 or hi / lo > INCONCLUSIVE_CI_SPREAD:
        reasons.append(f"interval [{lo:.2f}, {hi:.2f}] spans more than {INCONCLUSIVE_CI_SPREAD}x")
    elif abs(hi - PARITY) < BORDERLINE:
        reasons.append(f"interval [{lo:.2f}, {hi:.2f}] ends within {BORDERLINE:.2f} of parity "
                       f"({PARITY:.2f}): another run could put it on the other side")
    return tuple(reasons)


def compare(direct, buffered, paired=True):
    """The Comparison of two measured cells, or None when either has no throughput at all."""
    d, b = paired_values(direct, buffered) if paired else unpaired_values(direct, buffered)
    n = min(len(d), len(b))
    seed = seed_for(direct["id"], buffered["id"], cap_of(direct), cap_of(buffered))
    if n == 0:  # No usable repetitions: the medians, without an interval.
        point = median_throughput(direct), median_throughput(buffered)
        if point[0] is None or not point[1]:
            return None
        median = lo = hi = point[0] / point[1]
    elif paired:
        median = statistics.median(x / y for x, y in zip(d, b))
        lo, hi = (median, median) if n == 1 else bootstrap_ratio(d, b, seed)
    else:
        median = statistics.median(d) / statistics.median(b)
        lo, hi = (median, median) if n == 1 else bootstrap_ratio(d, b, seed, paired=False)
    return Comparison(direct, buffered, paired, n, median, lo, hi,
                      inconclusive_reasons(direct, buffered, n, lo, hi))


# ---------------------------------------------------------------- crossover

@dataclass(frozen=True)
class Crossover:
    """The crossover of one (suite, family, regime, memory_cap, backend) over its depths.

    kind: "always" (direct is not below buffered at the smallest depth or any larger one),
    "from" (from `depth` on), "never" (below at the largest depth). `baseline` is the buffered
    cell every comparison is against when they are not twins (None for twins).
    """
    suite: str
    family: str
    regime: str
    memory_cap: int
    backend: str
    comparisons: tuple
    kind: str
    index: int
    baseline: dict = None

    @property
    def depth(self):
        return None if self.kind == "never" else self.comparisons[self.index].qd

    @property
    def at_crossover(self):
        """The comparison at the crossover depth; the largest depth's when there is none."""
        return self.comparisons[-1 if self.kind == "never" else self.index]

    @property
    def deepest(self):
        return self.comparisons[-1]

    @property
    def deciding(self):
        """The comparisons the outcome rests on: every one from the crossover on and the one
        just below it (which kept the crossover from being earlier); for "never", the largest
        depth alone."""
        if self.kind == "never":
            return self.comparisons[-1:]
        return self.comparisons[max(0, self.index - 1):]

    @property
    def confident(self):
        return not any(c.inconclusive for c in self.deciding)

    @property
    def buffered_better(self):
        return [c for c in self.comparisons if c.below]

    @property
    def key(self):
        return (self.suite, self.family, self.regime, self.memory_cap, self.backend)


def crossover_of(key, comparisons, baseline=None):
    """The Crossover of `comparisons` (one per depth) under the rule in the module docstring.

    REQUIRES: comparisons is non-empty and has at most one comparison per depth.
    """
    ordered = tuple(sorted(comparisons, key=lambda c: c.qd))
    assert ordered, "a crossover needs at least one depth"
    assert len({c.qd for c in ordered}) == len(ordered), "one comparison per depth"
    index = len(ordered)
    while index > 0 and not ordered[index - 1].below:
        index -= 1  # Walk down from the deepest while direct stays not below buffered.
    kind = "never" if index == len(ordered) else ("always" if index == 0 else "from")
    return Crossover(*key, comparisons=ordered, kind=kind, index=index, baseline=baseline)


# Policies of cells on the ordinary curves: a fixed read-stream distance, none (qd,
# io_patterns), or the sync backend's one fetch at a time. Any other policy gets curves of its own.
PLAIN_POLICIES = ("", "fixed", "sync")


def curve_key(cell):
    """The curve a cell belongs to: depth varies along it, nothing else does."""
    policy = cell.get("policy") or ""
    family = family_of(cell) if policy in PLAIN_POLICIES else f"{family_of(cell)} ({policy})"
    return (cell.get("suite"), family, cell.get("regime") or "", cap_of(cell), cell.get("backend"))


def on_a_curve(cell):
    """Adaptive cells have no depth of their own (their qd is a maximum), so no curve."""
    return not is_adaptive(cell)


def sort_key(key):
    suite, family, regime, cap, backend = key
    suites = ("qd", "bm", "scan", "io_patterns")
    return (cap, suites.index(suite) if suite in suites else len(suites), family,
            regime_rank(regime), backend in SYNC_BACKENDS, backend)


def twin_crossovers(twins):
    """One Crossover per curve of twin Comparisons (adaptive cells left out), in report order."""
    curves = {}
    for comparison in twins:
        if on_a_curve(comparison.direct):
            curves.setdefault(curve_key(comparison.direct), []).append(comparison)
    return [crossover_of(key, curves[key]) for key in sorted(curves, key=sort_key)]


def find_baseline(cells, suite, family, regime, cap):
    """The buffered qd 1 cell engines run today for a curve: the suite's sync backend, else the
    io_patterns syncpath cell of the same family (for the qd suite), else io_uring at qd 1."""
    buffered = [c for c in cells if is_ok(c) and c.get("mode") == "buffered" and c.get("qd", 1) == 1
                and cap_of(c) == cap and (c.get("regime") or "") == regime and on_a_curve(c)]

    def pick(want_suite, backend):
        return next((c for c in buffered if c.get("suite") == want_suite and family_of(c) == family
                     and c.get("backend") == backend), None)
    return (pick(suite, "sync") or (pick("io_patterns", "syncpath") if suite == "qd" else None)
            or pick(suite, "io_uring"))


def baseline_crossovers(cells):
    """Per curve of direct cells with a queue: direct at each qd against the buffered qd 1
    baseline (find_baseline), unpaired except against its own twin, with its own crossover."""
    curves = {}
    for c in cells:
        if (is_ok(c) and c.get("mode") == "direct" and on_a_curve(c) and c.get("suite") != "io_patterns"
                and c.get("backend") not in SYNC_BACKENDS):
            curves.setdefault(curve_key(c), []).append(c)
    found = []
    for key in sorted(curves, key=sort_key):
        suite, family, regime, cap, _ = key
        baseline = find_baseline(cells, suite, family, regime, cap)
        if baseline is None:
            continue
        # The direct cell at the baseline's own depth and backend is its twin: that one pair
        # did run back to back, so it keeps the paired interval.
        comparisons = [x for x in (compare(d, baseline, paired=twin_key(d) == twin_key(baseline))
                                   for d in curves[key]) if x]
        if comparisons:
            found.append(crossover_of(key, comparisons, baseline))
    return found


def metric_ratio(direct, buffered, getter):
    d, b = getter(direct.get("median") or {}), getter(buffered.get("median") or {})
    return d / b if d is not None and b else None


def latency_cost(comparison):
    """Direct p95 latency / buffered p95 latency of the two cells (medians)."""
    return metric_ratio(comparison.direct, comparison.buffered, lambda m: percentile_ns(m, 95))


def cpu_cost(comparison):
    """Direct CPU per I/O / buffered CPU per I/O of the two cells (medians)."""
    return metric_ratio(comparison.direct, comparison.buffered, lambda m: m.get("cpu_ns_per_io"))


@dataclass(frozen=True)
class Analysis:
    """Everything the guidance is computed from: every twin comparison (adaptive included),
    the twin crossovers, and the crossovers against the buffered qd 1 baseline."""
    twins: tuple
    crossovers: tuple
    baselines: tuple


def analyse(cells):
    """The Analysis of measured cells (any suites, any memory caps)."""
    twins = tuple(x for x in (compare(d, b) for d, b in find_twins(cells)) if x)
    return Analysis(twins, tuple(twin_crossovers(twins)), tuple(baseline_crossovers(cells)))
