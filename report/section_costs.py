"""The report's cost sections: CPU per I/O of every backend and mode at each depth, and the
memory each group of cells used (peak, page cache, refaults) under each memory condition.

CPU per I/O is the whole process's user + system CPU time over the window divided by the
requests counted (per page for bm and scan; docs/BENCHMARKS.md). The memory records come from
the cgroup the cell ran in (schema_version 3); without them the Memory section is left out.

A row is one family, regime, backend and mode, and its policy where cells of those differ in
policy (policy_of_row): the write suite's direct wal_commit cells at one depth are fdatasync
and dsync, and one key for both would let one hide the other.
"""

import os
import statistics

from .markdown import cap_stem, fmt, md_table, median_and_range
from .plots import MODE_ORDER, ordered_modes, plot_bar_panels
from .ratios import SYNC_BACKENDS
from .results import (MiB, bytes_text, cap_label, cap_of, family_of, is_adaptive, is_ok, regime_rank,
                      suite_rank)


def group_cells(cells, key):
    """{(cap, suite): {key(cell): {qd: cell}}}, in report order (caps, suites, then `key` order)."""
    groups = {}
    for c in cells:
        rows = groups.setdefault((cap_of(c), c.get("suite", "?")), {})
        rows.setdefault(key(c), {})[c.get("qd", 1)] = c
    return {k: groups[k] for k in sorted(groups, key=lambda k: (k[0], suite_rank(k[1])))}


def mode_rank(mode):
    return MODE_ORDER.index(mode) if mode in MODE_ORDER else len(MODE_ORDER)


def mode_group(cell):
    """What tells rows apart, the policy aside: memory condition, suite, family, regime,
    backend, mode."""
    return (cap_of(cell), cell.get("suite", "?"), family_of(cell), cell.get("regime") or "",
            cell.get("backend", "?"), cell.get("mode", "?"))


def policy_of_row(cells):
    """A function of a cell: its policy where the cells of its mode_group differ in policy (the
    write suite's fdatasync and dsync wal_commit), else "" (one row, as before policies)."""
    policies = {}
    for c in cells:
        policies.setdefault(mode_group(c), set()).add(c.get("policy") or "")
    split = {group for group, found in policies.items() if len(found) > 1}
    return lambda c: (c.get("policy") or "") if mode_group(c) in split else ""


def mode_text(mode, policy):
    """"direct", or "direct + dsync" where the policy tells rows apart (as section_write names
    a durability path)."""
    return f"{mode} + {policy}" if policy else mode


def row_order(key):
    family, regime, backend, mode, policy = key
    return (family, regime_rank(regime), backend in SYNC_BACKENDS, backend, mode_rank(mode), mode, policy)


# ---------------------------------------------------------------- CPU per I/O

def cpu_table(rows):
    depths = sorted({qd for by_qd in rows.values() for qd in by_qd})
    table = []
    for (family, regime, backend, mode, policy), by_qd in sorted(rows.items(), key=lambda kv: row_order(kv[0])):
        table.append([family, regime or "–", backend, mode_text(mode, policy)]
                     + [median_and_range(by_qd.get(qd), "cpu_us_per_io") for qd in depths])
    return md_table(["family", "regime", "backend", "mode"] + [f"qd {qd}" for qd in depths], table)


def cpu_panels(rows):
    """One bar panel per (family, regime): groups (qd, backend), one bar per mode (and policy,
    where it tells rows apart)."""
    panels = {}
    for (family, regime, backend, mode, policy), by_qd in rows.items():
        mode = mode_text(mode, policy)
        if any(is_adaptive(c) for c in by_qd.values()):
            continue  # Its qd is a maximum, not a depth: the table shows it, a depth axis would not.
        panel = panels.setdefault((family, regime), {"groups": [], "modes": set(), "values": {}})
        for qd, cell in by_qd.items():
            median = (cell.get("median") or {}).get("cpu_ns_per_io")
            if median is None:
                continue
            spread = [r.get("cpu_ns_per_io") for r in cell.get("repetitions") or []]
            spread = [v for v in spread if v is not None] or [median]
            group = (f"qd {qd}", backend)
            panel["values"][(*group, mode)] = (median / 1e3, min(spread) / 1e3, max(spread) / 1e3)
            panel["modes"].add(mode)
            if group not in panel["groups"]:
                panel["groups"].append(group)
    out = []
    for (family, regime), panel in sorted(panels.items(), key=lambda kv: (kv[0][0], regime_rank(kv[0][1]))):
        if panel["groups"]:
            panel["groups"].sort(key=lambda g: (int(g[0].split()[1]), g[1]))
            out.append(dict(panel, title=", ".join([family] + ([regime] if regime else [])),
                            modes=ordered_modes(panel["modes"])))
    return out


def cpu_section(plt, cells, out_dir):
    """Per memory condition and suite: CPU µs per I/O, median (min–max), per backend and mode at
    each qd, with a bar plot."""
    measured = [c for c in cells if is_ok(c) and (c.get("median") or {}).get("cpu_ns_per_io") is not None]
    if not measured:
        return []
    out = ["", "## CPU per I/O", "",
           "CPU time of the whole process (user + system) per I/O in µs, per page for bm and scan: "
           "median over repetitions (min–max), for each backend and mode at each qd (mode + policy "
           "where cells of one mode differ in policy: the write suite's fdatasync and dsync). Bars: "
           "medians, error bars min–max."]
    policy = policy_of_row(measured)
    groups = group_cells(measured, lambda c: (family_of(c), c.get("regime") or "", c.get("backend", "?"),
                                              c.get("mode", "?"), policy(c)))
    for (cap, suite), rows in groups.items():
        stem = cap_stem(cap, "cpu", suite)
        out += ["", f"### {suite} suite, {cap_label(cap)}", "", cpu_table(rows)]
        panels = cpu_panels(rows)
        if panels:
            plot_bar_panels(plt, panels, f"{suite}, {cap_label(cap)}: CPU per I/O",
                            "CPU µs per I/O", os.path.join(out_dir, stem + ".png"))
            out += ["", f"![{suite} {cap_label(cap)} CPU per I/O]({stem}.png)"]
    return out


# ---------------------------------------------------------------- memory

def has_memory(cell):
    return (cell.get("median") or {}).get("memory") is not None or any(
        r.get("memory") is not None for r in cell.get("repetitions") or [])


def pooled(cells, key):
    """The values of `key` in the memory records of the cells' repetitions, or of their medians
    when no repetition has one."""
    reps = [r["memory"].get(key) for c in cells for r in c.get("repetitions") or [] if r.get("memory")]
    reps = [v for v in reps if v is not None]
    if reps:
        return reps
    medians = [((c.get("median") or {}).get("memory") or {}).get(key) for c in cells]
    return [v for v in medians if v is not None]


def summary_text(values, scale=1.0, spec=",.1f"):
    """"median (min–max)" of pooled values, scaled; "–" when there are none."""
    if not values:
        return "–"
    low, mid, high = min(values) / scale, statistics.median(values) / scale, max(values) / scale
    return f"{fmt(mid, spec)} ({fmt(low, spec)}–{fmt(high, spec)})"


def total_text(values):
    return "–" if not values else f"{sum(values):,}"


def record_values(cells, key):
    """The distinct values of `key` in the memory records of the cells' repetitions."""
    return sorted({r["memory"].get(key) for c in cells for r in c.get("repetitions") or []
                   if r.get("memory") and r["memory"].get(key) is not None})


def memory_row(key, cells):
    cap, suite, family, regime, mode, backend, policy = key
    limits = [bytes_text(v) if v else "none" for v in record_values(cells, "cap_bytes")]
    return [cap_label(cap), suite, family, regime or "–", mode_text(mode, policy), backend,
            ", ".join(record_values(cells, "cgroup")) or "–", ", ".join(limits) or "–",
            len(cells), summary_text(pooled(cells, "peak_bytes"), MiB),
            summary_text(pooled(cells, "page_cache_bytes"), MiB),
            summary_text(pooled(cells, "refaults"), spec=",.0f"),
            total_text(pooled(cells, "limit_events")), total_text(pooled(cells, "oom_kills"))]


def memory_section(cells):
    """Peak memory, page cache and refaults per cell group under each memory condition; nothing
    when no cell has a memory record and none ran under a cap."""
    measured = [c for c in cells if is_ok(c)]
    if not any(has_memory(c) for c in measured) and not any(cap_of(c) for c in measured):
        return []
    groups = {}
    # Uncapped cells have no cgroup to sample: rows of dashes would only bury the capped ones.
    sampled = [c for c in measured if cap_of(c) or has_memory(c)]
    policy = policy_of_row(sampled)
    for c in sampled:
        key = (cap_of(c), c.get("suite", "?"), family_of(c), c.get("regime") or "", c.get("mode", "?"),
               c.get("backend", "?"), policy(c))
        groups.setdefault(key, []).append(c)
    order = sorted(groups, key=lambda k: (k[0], suite_rank(k[1]), k[2], regime_rank(k[3]),
                                          mode_rank(k[4]), k[4], k[5], k[6]))
    rows = [memory_row(key, groups[key]) for key in order]
    return ["", "## Memory", "",
            "Per cell group (every depth of one family, regime, mode and backend under one memory "
            "condition; mode + policy where cells of one mode differ in policy): the cgroup the "
            "cells ran in and its limit (an inherited cap is the limit "
            "of the cgroup iodepth was started in), its peak usage, its page cache and the "
            "refaults (pages read again after the kernel evicted them), pooled over the group's "
            "repetitions: median (min–max). Limit events (times the cap was hit) and OOM kills "
            "are summed over the repetitions. Buffered cells under a cap that refault are reading "
            "through a page cache too small to hold their working set.", "",
            md_table(["memory", "suite", "family", "regime", "mode", "backend", "cgroup",
                      "cgroup limit", "cells", "peak MiB", "page cache MiB", "refaults",
                      "limit events", "OOM kills"], rows)]
