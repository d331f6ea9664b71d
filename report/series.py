"""Per-depth series of cells, shared by the qd, bm, scan and write sections: cells grouped by
mode (and regime) and sorted by queue depth, the direct/buffered pairs at each depth, the points
of a curve, and the plain sentence that says where direct catches up (decided by decide.py,
never here).
"""

from .decide import SYMBOLS, compare, crossover_of, crossover_text
from .plots import QD_AXIS_LABEL, ordered_modes, plot_lines
from .results import THROUGHPUT_METRICS, median_of, ratio, regime_rank, spread_of


def mode_label(mode, cells):
    states = sorted({c.get("cache_state") for c in cells} - {None, "", "n/a"})
    return f"{mode} ({', '.join(states)})" if states else mode


def group_by_mode(cells, key):
    """{key(cell): {mode: [cells sorted by qd]}}, groups in the order they first appear."""
    groups = {}
    for cell in cells:
        groups.setdefault(key(cell), {}).setdefault(cell.get("mode", "?"), []).append(cell)
    for modes in groups.values():
        for series in modes.values():
            series.sort(key=lambda c: c.get("qd", 1))
    return groups


def group_by_regime(cells):
    """{regime: {backend: {mode: [cells by qd]}}}, regimes in order, backends in the order the
    suite ran them."""
    groups = group_by_mode(cells, lambda c: (c.get("regime") or "?", c.get("backend", "?")))
    by_regime = {}
    for (regime, backend), modes in sorted(groups.items(), key=lambda kv: regime_rank(kv[0][0])):
        by_regime.setdefault(regime, {})[backend] = modes
    return by_regime


def depths_of(modes):
    return sorted({c.get("qd", 1) for series in modes.values() for c in series})


def points_of(series, metric):
    """(qd, median, min, max) of `metric` for each cell of `series` that has a median."""
    out = []
    for c in series:
        y = median_of(c, metric)
        if y is not None:
            out.append((c.get("qd", 1), y) + (spread_of(c, metric) or (y, y)))
    return out


def plot_vs_qd(plt, modes, metric, title, quantity, unit, path, xlabel=QD_AXIS_LABEL):
    """One line per mode of `metric` against queue depth: medians, min-max bars."""
    lines = [{"label": mode_label(mode, modes[mode]), "mode": mode, "points": points_of(modes[mode], metric)}
             for mode in ordered_modes(modes)]
    plot_lines(plt, lines, title, quantity, unit, path, xlabel, metric in THROUGHPUT_METRICS)


def mode_backend_lines(backends, metric):
    """One line of `metric` per (mode, backend) of {backend: {mode: [cells by qd]}}, modes in
    their order, for plots.plot_lines."""
    return [{"label": f"{mode}, {backend}", "mode": mode, "backend": backend,
             "points": points_of(backends[backend][mode], metric)}
            for mode in ordered_modes({m for modes in backends.values() for m in modes})
            for backend in backends if mode in backends[backend]]


def mode_pairs(modes):
    """(qd, direct cell, buffered cell) for every depth that has both modes measured."""
    direct = {c.get("qd", 1): c for c in modes.get("direct", [])}
    buffered = {c.get("qd", 1): c for c in modes.get("buffered", [])}
    return [(qd, direct[qd], buffered[qd]) for qd in sorted(set(direct) & set(buffered))]


def median_ratio(a, b, metric):
    return ratio(median_of(a, metric), median_of(b, metric))


def outcomes_text(comparisons):
    """"qd 1 ▼ slower, qd 4 = equivalent": each depth's decided outcome."""
    return ", ".join(f"qd {c.qd} {SYMBOLS[c.outcome]} {c.outcome}" for c in comparisons)


def catch_up_reading(label, pairs, quantity, there=""):
    """One sentence on how direct/buffered `quantity` moves with depth and where it catches up.

    `pairs` are (qd, direct cell, buffered cell) in ascending qd (mode_pairs); the ratios are
    decide.compare's point estimates and the outcome its crossover; `there` describes the
    deepest pair.
    """
    comparisons = [c for c in (compare(d, b) for _, d, b in pairs) if c is not None]
    if not comparisons:
        return f"{label}: no depth has both direct and buffered measured."
    first, last = comparisons[0], comparisons[-1]
    text = f"{label}: direct reaches {last.ratio:.2f}x buffered {quantity} at qd {last.qd}"
    if len(comparisons) > 1:
        text += f" (from {first.ratio:.2f}x at qd {first.qd})"
    text += there
    if len(comparisons) == 1:  # A crossover would claim a trend one depth cannot show.
        return text + f"; {last.outcome} at qd {last.qd} (n={last.n})."
    x = crossover_of((None,) * 5, comparisons)
    return text + f"; equivalent or faster: {crossover_text(x)} ({outcomes_text(comparisons)})."
