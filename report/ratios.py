"""Which cells are compared: twin cells, the curves they lie on, the buffered qd 1 baselines,
and the Analysis every consumer reads. How a comparison and a curve are decided is
decide.py's alone (the interval, the four outcomes, the crossover); nothing here judges a ratio.

Twins are two measured cells that differ only in mode: same suite, workload, qd, backend,
regime, policy and memory_cap, one "direct" and one "buffered" (dontcache is left out). Their
throughput is iops for the qd, io_patterns and bm suites (page fetches/s for bm) and
bw_bytes for the scan suite.

    repetition:      0        1        2
    buffered cell:  B0 ----> B1 ----> B2        each arrow: the next round of the suite
    direct twin:     D0       D1       D2        Bi and Di ran back to back
    ratio_i = Di / Bi

Twins are compared paired (repetition i of both ran back to back, so drift between rounds
cancels in the ratio). Comparisons of cells that did not run back to back (direct at qd N
against a buffered qd 1 baseline) are unpaired, except the one that is the baseline's own twin.
A curve is one (suite, family, regime, memory_cap, backend) over its depths; adaptive cells
have no depth of their own and make no curve.

The memory axis: the curves of a memory-axis file (results.merge's "_memory_ratio": the qd
cells under a cap sized from the working set) are curves like any other, one per cap; a
MemoryAxis gathers those of one (suite, family, regime, backend) by ratio, rows of the
crossover map, with decide.memory_boundary over them. Pure functions; no matplotlib.
"""

from dataclasses import dataclass

from .decide import compare, crossover_of, memory_boundary
from .results import (cap_of, family_of, is_adaptive, is_ok, memory_ratio_of, percentile_ns, regime_rank,
                      suite_rank)

# Backends with no queue: the synchronous baseline of each suite, measured at qd 1 only.
SYNC_BACKENDS = ("sync", "syncpath")


def twin_key(cell):
    return (cell.get("suite"), cell.get("workload", cell["id"].split("/")[0]), cell.get("qd", 1),
            cell.get("backend"), cell.get("regime") or "", cell.get("policy") or "", cap_of(cell))


def find_twins(cells):
    """(direct, buffered) for every pair of measured twins, in the order the direct cells appear."""
    buffered = {twin_key(c): c for c in cells if is_ok(c) and c.get("mode") == "buffered"}
    return [(c, buffered[twin_key(c)]) for c in cells
            if is_ok(c) and c.get("mode") == "direct" and twin_key(c) in buffered]


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


def latency_cost(comparison, pct=95):
    """Direct / buffered latency at percentile `pct` (p95 unless told) of the two cells (medians)."""
    return metric_ratio(comparison.direct, comparison.buffered, lambda m: percentile_ns(m, pct))


def cpu_cost(comparison):
    """Direct CPU per I/O / buffered CPU per I/O of the two cells (medians)."""
    return metric_ratio(comparison.direct, comparison.buffered, lambda m: m.get("cpu_ns_per_io"))


def curve_memory_ratio(x):
    """The memory ratio of a Crossover's curve (its cells' file), None off the memory axis."""
    return memory_ratio_of(x.comparisons[0].direct)


def curve_memory_budget(x):
    """The memory M (bytes) beside the reserve of a memory-axis curve's cap, None if not recorded."""
    return x.comparisons[0].direct.get("_memory_budget_bytes")


@dataclass(frozen=True)
class MemoryAxis:
    """One (suite, family, regime, backend) measured along the memory axis: the crossover map's
    rows (boundary.points: (ratio, Crossover) by ascending ratio, the Crossover holding that
    ratio's twin comparisons by depth) and where direct becomes no worse (decide.MemoryBoundary)."""
    suite: str
    family: str
    regime: str
    backend: str
    boundary: object

    @property
    def points(self):
        return self.boundary.points

    @property
    def ratios(self):
        return [ratio for ratio, _ in self.points]

    @property
    def depths(self):
        return sorted({c.qd for _, x in self.points for c in x.comparisons})

    @property
    def key(self):
        return (self.suite, self.family, self.regime, self.backend)

    def square(self, row, qd):
        """The twin Comparison at points[row] and depth `qd`, or None where unmeasured."""
        return next((c for c in self.points[row][1].comparisons if c.qd == qd), None)


def memory_axes(crossovers):
    """One MemoryAxis per (suite, family, regime, backend) with memory-axis curves, in report order."""
    groups = {}
    for x in crossovers:
        ratio = curve_memory_ratio(x)
        if ratio is not None:
            groups.setdefault((x.suite, x.family, x.regime, x.backend), []).append((ratio, x))
    order = sorted(groups, key=lambda k: (suite_rank(k[0]), k[1], regime_rank(k[2]), k[3] in SYNC_BACKENDS, k[3]))
    return [MemoryAxis(*key, boundary=memory_boundary(groups[key])) for key in order]


@dataclass(frozen=True)
class Analysis:
    """Everything the guidance is computed from: every twin comparison (adaptive included),
    the twin crossovers, the crossovers against the buffered qd 1 baseline, and the memory
    axes (the twin crossovers of memory-axis files by ratio)."""
    twins: tuple
    crossovers: tuple
    baselines: tuple
    memory_axes: tuple = ()


def analyse(cells):
    """The Analysis of measured cells (any suites, any memory caps)."""
    twins = tuple(x for x in (compare(d, b) for d, b in find_twins(cells)) if x)
    crossovers = tuple(twin_crossovers(twins))
    return Analysis(twins, crossovers, tuple(baseline_crossovers(cells)), tuple(memory_axes(crossovers)))
