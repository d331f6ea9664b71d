"""The one decision rule of the guidance: is direct I/O faster than, equivalent to, or slower
than buffered I/O on one comparison, or is that not decided yet? And, per curve of depths,
from which depth on direct is no worse.

Every consumer calls this module: the guidance sentences, the ratio tables and heat maps,
the suite sections' readings, the adaptive-against-fixed comparison, the advice of
`iodepth advise`, and `iodepth matrix`, which runs

    /usr/bin/python3 -m report.decide RESULTS.json... --undecided

to learn which twin pairs to measure again. No other module holds a threshold on a
direct/buffered ratio.

Interval. A comparison is two cells' per-repetition throughput (iops; bw_bytes for scan),
read on a log scale, where a ratio is a difference:

    paired (twins: repetition i of both cells ran back to back):
        r_i = ln(d_i / b_i), i = 1..n;  mean ± t(n-1, 1 - a) · s / sqrt(n)
    unpaired (direct at qd N against a buffered qd 1 baseline: not run back to back):
        ln d and ln b separately; Welch's t, Welch–Satterthwaite degrees of freedom

exponentiated: [lo, hi] of direct / buffered, and the point estimate exp(mean), the
geometric mean of the paired ratios (the ratio of geometric means, unpaired). The Student t
quantile is computed here (incomplete beta by continued fraction, then bisection): stdlib only.

Outcome, from the interval against the margins MARGIN_LOW (0.95) and MARGIN_HIGH (1.05):

    0.95        1.05
     |-----------|                    faster:       lo > 1.05
                    [====]            equivalent:   0.95 <= lo and hi <= 1.05 (TOST at ±5%)
       [=====]                        slower:       hi < 0.95
    [=]                               inconclusive: anything else (it straddles a margin),
            [=======]                               or fewer than 2 repetitions
Inconclusive is never equivalence: no conclusion rests on it.

Served from memory. A buffered cell flagged served_from_memory started cold, but its device
read less than a tenth of what it asked for: the memory it ran with (no cap, a cap, a ratio
of the memory axis) held its working set, and it measured the page cache. Its "cold" label
is what is false, not its throughput: no cache can hold data larger than it, so the cell is
a true measurement of data that fits in memory. Such a comparison is decided from its
interval like any other, and carries a note (Comparison.notes) that every statement on it
repeats: a result for data in memory, never a cold-cache one. More repetitions would not
change what it measured, so nothing about the flag asks for them.

Repeated looks. `iodepth matrix` measures R repetitions (config.matrix.repetitions), then
re-measures the pairs still inconclusive in steps of S (repetition_step) up to N
(max_repetitions): at most K = 1 + ceil((N - R) / S) looks at the same comparison, on a
schedule fixed in advance. Each one-sided test runs at ALPHA / K (Bonferroni over the looks),
so the interval is the two-sided 1 - 2·ALPHA/K one (K = 1: the usual 90% TOST interval), and
over all K looks each false claim (faster when the true ratio is at most 1.05, slower when it
is at least 0.95, equivalent when it lies outside [0.95, 1.05]) is made with probability at
most ALPHA = 0.05. results.merge stores K on each cell (`_looks`); a comparison takes the
larger K of its two cells; cells of a plain suite run have K = 1.

Crossover, per curve (suite, family, regime, memory_cap, backend), depths ascending: the
smallest depth from which every measured depth is equivalent or faster.

    always     that is the smallest depth measured
    from qd N  that is qd N; when the comparison just below N is inconclusive (not slower),
               the crossover could be earlier: "from qd N at the latest" (exact is False)
    never      there is no such depth and the deepest depth is slower
    undecided  there is no such depth and the deepest depth is inconclusive

Memory boundary, per (suite, family, regime, backend) of the memory axis, ratios (working set /
memory) ascending, each with its curve's crossover: the smallest ratio from which every
measured ratio has a crossover (always or from qd N). The kinds read as the crossover's:
always (the smallest ratio measured), from ratio r ("at the latest" when the ratio just
below is undecided rather than never), never (the largest ratio's crossover is never),
undecided (the largest ratio's is undecided). The depth stated is the crossover at r.

Measures. A comparison reads one figure of each repetition, its measure: the suite's
throughput (suite_throughput) unless told. Concurrent scans have a second, the slowest
scan's page bytes/s (slowest_scan), decided by the same rule; the scan section states that
decision beside the total's on every curve. The guidance, the advice and the matrix decide
scans on the total where the scans shared the device fairly, and on the slowest scan where
fairness matters: when either cell's scans were unfair (its median slowest/fastest below
FAIR_STREAM_SHARE, results.py), its total is one lucky scan's, and an engine running those
scans waits for the slowest (fair_measure; the comparison's measure_note says so). Fair cells keep
the total because the advice ranks backends and depths by it, which a per-scan figure
would not rank consistently.

"Either": a curve on which neither mode read from the device (both cells' median device
read_bytes below 1% of requested_bytes, or below 64 KiB; without device records, a pool hit
ratio of at least 0.999 on both sides), or on which every depth is equivalent. There the mode
does not matter to throughput; advice.py breaks the tie on CPU, memory and latency.

Pure functions of plain dicts; no matplotlib.
"""

import argparse
import json
import math
import statistics
import sys
from dataclasses import dataclass
from functools import lru_cache

from .results import (FAIR_STREAM_SHARE, cap_of, is_unfair, median_of, ratio_text,  # noqa: F401  (ratio_text: part of this module's wording API)
                      slowest_stream_bw)

# The overall level of every kind of false decision, over all looks of one comparison.
ALPHA = 0.05
# The equivalence margins: a difference under 5% either way is no reason for an engine to
# change its I/O mode, and two runs of one machine differ by up to 3% on cells whose true
# ratio is 1.0.
MARGIN_LOW = 0.95
MARGIN_HIGH = 1.05
# Floating-point slack when an interval's end meets a margin (far below any measured difference).
ROUNDING = 1e-9
# The look schedule's defaults (the matrix's: config.matrix), and a bound on K so a bad
# config cannot make every interval infinitely wide.
DEFAULT_REPETITIONS = 5
DEFAULT_REPETITION_STEP = 4
MAX_LOOKS = 64
# "Neither read from the device": device reads and writes below this share of what the cell asked
# for, or below this many bytes (metadata, another process's reads).
DEVICE_READ_SHARE = 0.01
DEVICE_READ_FLOOR_BYTES = 64 << 10
# Without device records: a buffer-pool hit ratio at least this says no page was read.
HOT_HIT_RATIO = 0.999

FASTER, EQUIVALENT, SLOWER, INCONCLUSIVE = "faster", "equivalent", "slower", "inconclusive"
OUTCOMES = (FASTER, EQUIVALENT, SLOWER, INCONCLUSIVE)
# How tables and plots mark an outcome (the legend is OUTCOME_LEGEND).
SYMBOLS = {FASTER: "▲", EQUIVALENT: "=", SLOWER: "▼", INCONCLUSIVE: "?"}
OUTCOME_LEGEND = (f"{SYMBOLS[FASTER]} faster (interval above {MARGIN_HIGH:.2f}), "
                  f"{SYMBOLS[EQUIVALENT]} equivalent (interval inside [{MARGIN_LOW:.2f}, "
                  f"{MARGIN_HIGH:.2f}]), {SYMBOLS[SLOWER]} slower (interval below "
                  f"{MARGIN_LOW:.2f}), {SYMBOLS[INCONCLUSIVE]} inconclusive (the interval "
                  "straddles a margin, or there is none)")
# Flags that change what a comparison means, not whether it is decided: each puts a note on
# it (module docstring, "Served from memory").
NOTED_FLAGS = ("served_from_memory",)

# ---------------------------------------------------------------- Student t


def _beta_fraction(x, a, b):
    """The continued fraction of the regularized incomplete beta (modified Lentz).

    REQUIRES: 0 < x < (a + 1) / (a + b + 2), where it converges fast."""
    tiny, eps = 1e-300, 1e-15
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 1000):  # Converges in tens of terms for the df used here.
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= c * d
        if abs(c * d - 1.0) < eps:
            return h
    raise AssertionError("the incomplete beta fraction did not converge")


def regularized_beta(x, a, b):
    """I_x(a, b), for 0 <= x <= 1 and a, b > 0."""
    assert 0.0 <= x <= 1.0 and a > 0 and b > 0, "incomplete beta outside its domain"
    if x in (0.0, 1.0):
        return x
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                     + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1) / (a + b + 2):
        return front * _beta_fraction(x, a, b) / a
    return 1.0 - front * _beta_fraction(1.0 - x, b, a) / b  # The symmetry I_x(a,b) = 1 - I_1-x(b,a).


def t_cdf(t, df):
    """P(T <= t) for Student's t with `df` (> 0, not necessarily whole) degrees of freedom."""
    assert df > 0, "t needs positive degrees of freedom"
    tail = 0.5 * regularized_beta(df / (df + t * t), df / 2.0, 0.5)
    return 1.0 - tail if t >= 0 else tail


@lru_cache(maxsize=4096)
def t_quantile(p, df):
    """The t with P(T <= t) = p, by bisection on t_cdf (monotone): to 1e-10."""
    assert 0.0 < p < 1.0, "a quantile needs 0 < p < 1"
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        hi *= 2.0
        assert hi < 1e12, "t quantile out of range"
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-10 * max(1.0, hi):
            break
    return (lo + hi) / 2.0


# ---------------------------------------------------------------- looks


def looks_of(config):
    """K, the looks of the matrix's schedule at one comparison, from a results document's
    config (its "matrix" object); 1 for a plain suite run or without max_repetitions.
    Raises ValueError on a schedule that is not whole positive numbers."""
    matrix = (config or {}).get("matrix")
    if not isinstance(matrix, dict) or matrix.get("max_repetitions") is None:
        return 1
    values = {key: matrix.get(key, default) for key, default in
              (("repetitions", DEFAULT_REPETITIONS), ("repetition_step", DEFAULT_REPETITION_STEP),
               ("max_repetitions", None))}
    if any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in values.values()):
        raise ValueError(f"config.matrix repetitions, repetition_step and max_repetitions must be "
                         f"positive integers, not {values}")
    base, step, cap = values["repetitions"], values["repetition_step"], values["max_repetitions"]
    if cap <= base:
        return 1
    looks = 1 + -(-(cap - base) // step)
    if looks > MAX_LOOKS:
        raise ValueError(f"config.matrix gives {looks} looks, more than {MAX_LOOKS}")
    return looks


def looks_of_cell(cell):
    return cell.get("_looks") or 1


def alpha_per_look(looks):
    return ALPHA / looks


def interval_level(looks):
    """The two-sided coverage of the interval used at each look: 1 - 2·ALPHA/K."""
    return 1.0 - 2.0 * alpha_per_look(looks)


# ---------------------------------------------------------------- intervals


def _exp(x):
    """exp that saturates instead of raising: a ratio beyond e^709 is infinite for any reading."""
    return math.exp(x) if x < 709.0 else math.inf


def paired_interval(direct, buffered, looks=1):
    """(point, lo, hi) of direct / buffered from paired repetitions: the t interval of the
    mean log ratio. REQUIRES: equal lengths >= 2, every value > 0."""
    assert len(direct) == len(buffered) >= 2, "a paired interval needs two or more pairs"
    # log d - log b, not log(d / b): the quotient of a tiny and a large value underflows to 0.
    logs = [math.log(d) - math.log(b) for d, b in zip(direct, buffered)]
    n, mean = len(logs), statistics.fmean(logs)
    half = t_quantile(1.0 - alpha_per_look(looks), n - 1) * statistics.stdev(logs) / math.sqrt(n)
    return _exp(mean), _exp(mean - half), _exp(mean + half)


def welch_interval(direct, buffered, looks=1):
    """(point, lo, hi) of direct / buffered from independent samples: Welch's t on the logs,
    Welch–Satterthwaite degrees of freedom. REQUIRES: >= 2 values each, every value > 0."""
    assert len(direct) >= 2 and len(buffered) >= 2, "Welch's interval needs two values a side"
    ld, lb = [math.log(v) for v in direct], [math.log(v) for v in buffered]
    vd, vb = statistics.variance(ld) / len(ld), statistics.variance(lb) / len(lb)
    mean = statistics.fmean(ld) - statistics.fmean(lb)
    if vd + vb == 0:
        return _exp(mean), _exp(mean), _exp(mean)
    df = (vd + vb) ** 2 / (vd ** 2 / (len(ld) - 1) + vb ** 2 / (len(lb) - 1))
    half = t_quantile(1.0 - alpha_per_look(looks), df) * math.sqrt(vd + vb)
    return _exp(mean), _exp(mean - half), _exp(mean + half)


def outcome_of(lo, hi):
    """The outcome of an interval (module docstring); a point interval (lo == hi) too. Ends
    within ROUNDING of a margin count as on it: exp(log(0.95)) need not be 0.95 exactly."""
    if lo > MARGIN_HIGH + ROUNDING:
        return FASTER
    if hi < MARGIN_LOW - ROUNDING:
        return SLOWER
    if MARGIN_LOW - ROUNDING <= lo and hi <= MARGIN_HIGH + ROUNDING:
        return EQUIVALENT
    return INCONCLUSIVE


def straddle_reason(lo, hi):
    margins = [m for m in (MARGIN_LOW, MARGIN_HIGH) if lo < m <= hi or lo <= m < hi]
    return f"interval [{lo:.2f}, {hi:.2f}] straddles " + " and ".join(f"{m:.2f}" for m in margins)


# ---------------------------------------------------------------- comparisons


def throughput_key(cell):
    """The field a suite is judged by: bytes/s for concurrent scans, requests (or page
    fetches) per second for the others."""
    return "bw_bytes" if cell.get("suite") == "scan" else "iops"


def throughput_unit(cell):
    return "MB/s" if cell.get("suite") == "scan" else ("fetches/s" if cell.get("suite") == "bm" else "IOPS")


def suite_throughput(cell):
    """The measure every decision of the guidance, the advice and the matrix uses: a getter of
    the cell's throughput_key from a median or a repetition record."""
    key = throughput_key(cell)
    return lambda stats: stats.get(key)


def slowest_scan(cell):
    """The measure of a scan cell's slowest scan (module docstring, "Measures"): its page
    bytes/s, the median's min_stream_bw_bytes or a repetition's smallest stream_bw_bytes."""
    return slowest_stream_bw


def repetition_throughput(cell, measure=suite_throughput):
    """`measure` of each repetition in run order; None where a repetition lacks it."""
    get = measure(cell)
    return [get(rep) for rep in cell.get("repetitions") or []]


def median_throughput(cell, measure=suite_throughput):
    return measure(cell)(cell.get("median") or {})


def positive(values):
    return [v for v in values if v is not None and v > 0]


@dataclass(frozen=True)
class Comparison:
    """Direct against buffered throughput of two cells: the decided outcome and its evidence.

    `ratio` is the point estimate (geometric mean of the paired ratios; ratio of geometric
    means unpaired; the ratio of the medians when there is no interval); lo and hi the
    interval at `level` (lo == hi == ratio without one); n the repetitions used (pairs, or
    the smaller side unpaired); looks the K it was tested for; reasons why it is
    inconclusive (empty when decided); notes what its cells' flags say it measured (served from memory);
    measure_note why it was decided on another measure than the total ("" when it was not).
    """
    direct: dict
    buffered: dict
    paired: bool
    n: int
    ratio: float
    lo: float
    hi: float
    outcome: str
    looks: int
    reasons: tuple
    notes: tuple = ()
    measure_note: str = ""

    @property
    def median(self):
        """The point estimate under its old name (the ratio heat maps read it)."""
        return self.ratio

    @property
    def level(self):
        return interval_level(self.looks)

    @property
    def qd(self):
        return self.direct.get("qd", 1)

    @property
    def decided(self):
        return self.outcome != INCONCLUSIVE

    @property
    def inconclusive(self):
        return self.outcome == INCONCLUSIVE

    @property
    def slower(self):
        return self.outcome == SLOWER

    @property
    def reason(self):
        return "; ".join(self.reasons)

    @property
    def has_interval(self):
        return self.n >= 2

    def cells(self):
        return (self.direct["id"], self.buffered["id"])


def sample_values(direct, buffered, paired, measure=suite_throughput):
    """The positive per-repetition throughputs (`measure`) compared: index by index where both
    are present (paired), else each side's own."""
    d, b = repetition_throughput(direct, measure), repetition_throughput(buffered, measure)
    if paired:
        pairs = [(x, y) for x, y in zip(d, b) if x is not None and y is not None and x > 0 and y > 0]
        return [x for x, _ in pairs], [y for _, y in pairs]
    return positive(d), positive(b)


def memory_condition_text(cell):
    """The memory a cell ran with, in words: a ratio of the memory axis, a cap, or none."""
    if cell.get("_memory_ratio") is not None:
        return f"working set / memory {cell['_memory_ratio']:g}"
    cap = cap_of(cell)
    return "no memory cap" if not cap else f"a {cap / (1 << 20):,.0f} MiB memory cap"


def flag_notes(direct, buffered):
    """What the cells' flags say about the comparison (NOTED_FLAGS), one note each."""
    return tuple(f"{c['id']} is flagged {flag}: its working set fit in the page cache under "
                 f"{memory_condition_text(c)}, so this is a result for data in memory, not a "
                 "cold-cache one" for c in (direct, buffered) for flag in NOTED_FLAGS
                 if flag in (c.get("flags") or []))


def fair_measure(direct, buffered):
    """(measure, note) of a comparison not told its measure ("Measures"): suite_throughput,
    or slowest_scan when either cell's concurrent scans were unfair, with a note saying so."""
    unfair = [(c, median_of(c, "stream_fairness")) for c in (direct, buffered)]
    unfair = [(c, f) for c, f in unfair if is_unfair(f)]
    if not unfair:
        return suite_throughput, ""
    which = ", ".join(f"{c['id']} {f:.2f}" for c, f in unfair)
    return slowest_scan, (f"decided on the slowest scan, not the total: slowest/fastest below "
                          f"{FAIR_STREAM_SHARE:.2f} ({which}), so the total is one scan's")


def compare(direct, buffered, paired=True, measure=None):
    """The Comparison of two measured cells by `measure` (unless told, fair_measure's: the
    suite's throughput, or for unfair concurrent scans the slowest scan's), or None when
    either has none at all."""
    measure_note = ""
    if measure is None:
        measure, measure_note = fair_measure(direct, buffered)
    d, b = sample_values(direct, buffered, paired, measure)
    looks = max(looks_of_cell(direct), looks_of_cell(buffered))
    n = min(len(d), len(b))
    if n >= 2:
        ratio, lo, hi = (paired_interval if paired else welch_interval)(d, b, looks)
        outcome = outcome_of(lo, hi)
        reasons = (straddle_reason(lo, hi),) if outcome == INCONCLUSIVE else ()
    else:
        if n == 1:
            point = d[0] / b[0] if paired else statistics.median(d) / statistics.median(b)
        else:  # No usable repetitions: the medians, without an interval.
            top, bottom = median_throughput(direct, measure), median_throughput(buffered, measure)
            if top is None or not bottom:
                return None
            point = top / bottom
        ratio = lo = hi = point
        outcome, reasons = INCONCLUSIVE, (f"{n} repetition{'s' if n != 1 else ''}: no interval",)
    return Comparison(direct, buffered, paired, n, ratio, lo, hi, outcome, looks, reasons,
                      flag_notes(direct, buffered), measure_note)


def outcome_counts(comparisons):
    """{outcome: count} over `comparisons`, every outcome present."""
    counts = dict.fromkeys(OUTCOMES, 0)
    for c in comparisons:
        counts[c.outcome] += 1
    return counts


# ---------------------------------------------------------------- device reads


def read_from_device(cell):
    """True when the device moved the cell's data (read it, or for a write cell wrote it),
    False when it did not, None when its results cannot say (no device record, no pool)."""
    median = cell.get("median") or {}
    device = median.get("device")
    if isinstance(device, dict):
        # Both directions: a direct write reads nothing and still goes to the device.
        moved = (device.get("read_bytes") or 0) + (device.get("write_bytes") or 0)
        asked = device.get("requested_bytes") or 0
        return not (moved < DEVICE_READ_FLOOR_BYTES or moved < DEVICE_READ_SHARE * asked)
    hit = (median.get("buffer") or {}).get("hit_ratio")
    if hit is not None and hit >= HOT_HIT_RATIO:
        return False
    return None


def neither_read_device(comparison):
    return all(read_from_device(c) is False for c in (comparison.direct, comparison.buffered))


def device_share(cell):
    """Device read bytes / requested bytes of the cell's median, or None without a record."""
    device = (cell.get("median") or {}).get("device")
    if not isinstance(device, dict) or not device.get("requested_bytes"):
        return None
    return device.get("read_bytes", 0) / device["requested_bytes"]


# ---------------------------------------------------------------- crossover

ALWAYS, FROM, NEVER, UNDECIDED = "always", "from", "never", "undecided"


@dataclass(frozen=True)
class Crossover:
    """The crossover of one (suite, family, regime, memory_cap, backend) over its depths.

    kind: ALWAYS, FROM (from comparisons[index]), NEVER or UNDECIDED (module docstring);
    exact is False when the comparison just below the crossover is inconclusive ("at the
    latest"). `baseline` is the buffered cell every comparison is against when they are not
    twins (None for twins).
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
    exact: bool = True

    @property
    def depth(self):
        """The crossover depth (an upper bound when not exact); None for never and undecided."""
        return self.comparisons[self.index].qd if self.kind in (ALWAYS, FROM) else None

    @property
    def at_crossover(self):
        """The comparison at the crossover depth; the largest depth's when there is none."""
        return self.comparisons[self.index] if self.kind in (ALWAYS, FROM) else self.comparisons[-1]

    @property
    def deepest(self):
        return self.comparisons[-1]

    @property
    def deciding(self):
        """The comparisons the outcome rests on: every one from the crossover on and the one
        just below it; for never and undecided, the largest depth alone."""
        if self.kind in (NEVER, UNDECIDED):
            return self.comparisons[-1:]
        return self.comparisons[max(0, self.index - 1):]

    @property
    def decided(self):
        return self.kind != UNDECIDED

    @property
    def confident(self):
        """Decided, and the crossover depth itself is exact."""
        return self.decided and self.exact

    @property
    def buffered_better(self):
        return [c for c in self.comparisons if c.slower]

    @property
    def inconclusive(self):
        return [c for c in self.comparisons if c.inconclusive]

    @property
    def either(self):
        """Neither mode read from the device at any depth, or every depth is equivalent."""
        return (all(neither_read_device(c) for c in self.comparisons)
                or all(c.outcome == EQUIVALENT for c in self.comparisons))

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
    while index > 0 and ordered[index - 1].outcome in (EQUIVALENT, FASTER):
        index -= 1  # Walk down from the deepest while direct stays equivalent or faster.
    if index == len(ordered):
        kind, exact = (NEVER if ordered[-1].slower else UNDECIDED), True
    else:
        kind = ALWAYS if index == 0 else FROM
        exact = index == 0 or ordered[index - 1].slower
    return Crossover(*key, comparisons=ordered, kind=kind, index=index, baseline=baseline, exact=exact)


def crossover_text(x):
    """"always (from qd 1)", "from qd 16", "from qd 16 at the latest", "never (up to qd 32)",
    "undecided (up to qd 32)"."""
    if x.kind == NEVER:
        return f"never (up to qd {x.deepest.qd})"
    if x.kind == UNDECIDED:
        return f"undecided (up to qd {x.deepest.qd})"
    if x.kind == ALWAYS:
        return f"always (from qd {x.depth})"
    return f"from qd {x.depth}" + ("" if x.exact else " at the latest")


# ---------------------------------------------------------------- the memory axis


@dataclass(frozen=True)
class MemoryBoundary:
    """Along the memory axis of one (suite, family, regime, backend): from which working set /
    memory ratio on direct is equivalent or faster from some depth at every larger ratio.

    points: ((ratio, Crossover), ...) by ascending ratio, one per measured ratio (the
    Crossover of that ratio's curve). kind: ALWAYS (so at the smallest ratio measured), FROM
    (from points[index]), NEVER (no such ratio, and the largest ratio's crossover is never),
    UNDECIDED (no such ratio, and the largest ratio's crossover is undecided); exact is False
    when the ratio just below the boundary is undecided rather than never ("at the latest").
    The same walk as crossover_of, with ratios for depths and crossovers for outcomes.
    """
    points: tuple
    kind: str
    index: int
    exact: bool = True

    @property
    def ratio(self):
        """The boundary ratio; None for never and undecided."""
        return self.points[self.index][0] if self.kind in (ALWAYS, FROM) else None

    @property
    def crossover(self):
        """The Crossover at the boundary ratio; the largest ratio's when there is none."""
        return self.points[self.index][1] if self.kind in (ALWAYS, FROM) else self.points[-1][1]

    @property
    def depth(self):
        """The crossover depth at the boundary ratio; None for never and undecided."""
        return self.crossover.depth if self.kind in (ALWAYS, FROM) else None

    @property
    def decided(self):
        return self.kind != UNDECIDED

    @property
    def confident(self):
        """Decided, exact, and the crossover at the boundary confident too."""
        return self.decided and self.exact and (self.kind == NEVER or self.crossover.confident)


def memory_boundary(points):
    """The MemoryBoundary of `points` ((ratio, Crossover) pairs, any order) under the rule in
    its docstring. REQUIRES: points is non-empty."""
    ordered = tuple(sorted(points, key=lambda p: (p[0], p[1].memory_cap)))
    assert ordered, "a memory boundary needs at least one ratio"
    index = len(ordered)
    while index > 0 and ordered[index - 1][1].kind in (ALWAYS, FROM):
        index -= 1  # Walk down from the largest ratio while direct has a crossover.
    if index == len(ordered):
        return MemoryBoundary(ordered, NEVER if ordered[-1][1].kind == NEVER else UNDECIDED, index)
    exact = index == 0 or ordered[index - 1][1].kind == NEVER
    return MemoryBoundary(ordered, ALWAYS if index == 0 else FROM, index, exact)


def memory_boundary_text(b):
    """"at every measured ratio (from 0.5x), from qd 4 there", "from 2x, from qd 16 there",
    "from 2x at the latest, ...", "never within the measured ratios (up to 8x)",
    "undecided (up to 8x)"."""
    largest = ratio_text(b.points[-1][0])
    if b.kind == NEVER:
        return f"never within the measured ratios (up to {largest})"
    if b.kind == UNDECIDED:
        return f"undecided (up to {largest})"
    start = (f"at every measured ratio (from {ratio_text(b.ratio)})" if b.kind == ALWAYS
             else f"from {ratio_text(b.ratio)}" + ("" if b.exact else " at the latest"))
    return f"{start}, {crossover_text(b.crossover)} there"


# ---------------------------------------------------------------- CLI

PROG = "python3 -m report.decide"


def undecided_record(c):
    return {"direct": c.direct["id"], "buffered": c.buffered["id"], "memory_cap": cap_of(c.direct),
            "n": c.n, "interval": [round(c.lo, 4), round(c.hi, 4)] if c.has_interval else None,
            "reason": c.reason}


def undecided_document(twins):
    """What `--undecided` prints: the inconclusive twin comparisons (the matrix re-measures
    these), and the counts."""
    return {"undecided": [undecided_record(c) for c in twins if c.inconclusive],
            "decided": sum(1 for c in twins if c.decided), "total": len(twins)}


def main(argv):
    parser = argparse.ArgumentParser(prog=PROG, description="Decide every direct/buffered twin "
                                     "comparison of iodepth results files.")
    parser.add_argument("results", nargs="+", help="results JSON files; later ones win on equal (id, memory_cap)")
    parser.add_argument("--undecided", action="store_true",
                        help="print one JSON object listing the inconclusive twin comparisons")
    args = parser.parse_args(argv)
    # Imported here: ratios imports this module, and running it as __main__ must not
    # import it twice at load time.
    from .ratios import analyse
    from .results import ResultsError, load_results, merge
    try:
        cells, _ = merge([(path, load_results(path)) for path in args.results])
    except ResultsError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    twins = analyse(cells).twins
    if args.undecided:
        print(json.dumps(undecided_document(twins), ensure_ascii=False))
        return 0
    for c in twins:
        print(f"{c.direct['id']} vs {c.buffered['id']} (cap {cap_of(c.direct)}): {c.outcome} "
              f"{c.ratio:.3f} [{c.lo:.3f}, {c.hi:.3f}] n={c.n} K={c.looks}"
              + (f" ({c.reason})" if c.reasons else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
