"""The write path section (write suite), for the cells of one memory condition: the log's group
commit (wal_commit) per durability path and backend, random reads that update their pages
(bm_rand_rw) per regime, and checkpoints with a reader beside them (checkpoint); each with its
table, the reading of direct against buffered (decide.py, through series.catch_up_reading) and
its plots. The write record's figures are medians over the repetitions (results.median_of).
"""

import os

from .markdown import both, both_ranges, cap_stem, fmt, md_table, range_text
from .plots import MODE_ORDER, PLOTS_NOTE, plot_lines
from .ratios import SYNC_BACKENDS
from .results import cap_label, cells_condition, family_of, is_ok, median_of
from .section_bm import DISTANCE_AXIS_LABEL
from .series import (catch_up_reading, group_by_mode, group_by_regime, median_ratio, mode_backend_lines,
                     mode_pairs, points_of)

# The log's durability methods in the order the tables list them (the cell's policy field).
SYNC_ORDER = ("fdatasync", "dsync")
# O_DSYNC is a second direct line in the commit plots: red beside direct + fdatasync's orange.
DSYNC_STYLE = {"color": "tab:red"}
# wal_commit's sync backend runs at every committer count (the committers are threads of
# their own), so it is a dotted line, not the lone star of a backend measured at qd 1 only.
WAL_SYNC_STYLE = {"linestyle": ":"}
COMMITTERS_AXIS_LABEL = "committers (threads committing at once, log2 scale)"
DEPTH_AXIS_LABEL = "queue depth (write-back requests in flight at most, log2 scale)"
LEGEND = "mode, backend (median; bars: min-max)"


def measured(cells, family):
    """The measured write-suite cells of one workload family (wal_commit, bm_rand_rw, checkpoint)."""
    return [c for c in cells if c.get("suite") == "write" and is_ok(c) and family_of(c) == family]


def depth_count(cells):
    return len({c.get("qd", 1) for c in cells})


def cells_of(backends):
    """Every cell of {backend: {mode: [cells]}}."""
    return [c for modes in backends.values() for series in modes.values() for c in series]


def backend_rank(backend):
    """The order the report lists backends in: the queued ones by name, then sync; not the order
    of the cells, which a merge of several files changes."""
    return (backend in SYNC_BACKENDS, backend)


# ---------------------------------------------------------------- wal_commit

def path_rank(cell):
    mode, sync = cell.get("mode"), cell.get("policy")
    return (MODE_ORDER.index(mode) if mode in MODE_ORDER else len(MODE_ORDER),
            SYNC_ORDER.index(sync) if sync in SYNC_ORDER else len(SYNC_ORDER))


def wal_order(cell):
    """Durability path, then backend, then committers."""
    return (path_rank(cell), backend_rank(cell.get("backend", "?")), cell.get("qd", 1))


def path_of(cell):
    """The durability path: "buffered + fdatasync", "direct + fdatasync", "direct + dsync"."""
    return f"{cell.get('mode', '?')} + {cell.get('policy') or '?'}"


def group_wal(cells):
    """{(path, backend): [cells by committers]}, paths and backends in order."""
    groups = {}
    for c in sorted(measured(cells, "wal_commit"), key=wal_order):
        groups.setdefault((path_of(c), c.get("backend", "?")), []).append(c)
    return groups


WAL_HEADERS = ["committers", "commits/s", "commit p50 µs", "commit p99 µs", "commits per flush",
               "syncs per commit", "bytes per commit", "CPU µs per commit", "commits/s min–max"]


def wal_row(c):
    return [c.get("qd", 1), fmt(median_of(c, "iops"), ",.0f"), fmt(median_of(c, "p50_us")),
            fmt(median_of(c, "p99_us")), fmt(median_of(c, "commits_per_flush"), ".2f"),
            fmt(median_of(c, "syncs_per_commit"), ".2f"), fmt(median_of(c, "bytes_per_commit"), ",.0f"),
            fmt(median_of(c, "cpu_us_per_io"), ".1f"), range_text(c, "iops", ",.0f")]


def wal_readings(groups):
    """Per backend, where direct + fdatasync catches up with buffered + fdatasync (the twins the
    Guidance decides); O_DSYNC has no buffered twin and is read from its table."""
    readings = []
    for backend in dict.fromkeys(backend for _, backend in groups):
        modes = {mode: groups.get((f"{mode} + fdatasync", backend), []) for mode in ("direct", "buffered")}
        if all(modes.values()):
            readings.append(catch_up_reading(f"wal_commit (fdatasync) / {backend}", mode_pairs(modes),
                                             "commits/s"))
    return readings


def wal_style(cell):
    return dict(DSYNC_STYLE if cell.get("policy") == "dsync" else {},
                **(WAL_SYNC_STYLE if cell.get("backend") == "sync" else {}))


def wal_lines(groups, metric):
    return [{"label": f"{path}, {backend}", "mode": series[0].get("mode"), "backend": backend,
             "points": points_of(series, metric), "style": wal_style(series[0])}
            for (path, backend), series in groups.items()]


def wal_plots(plt, groups, out_dir, cap):
    """Commits/s and the commit's p99 against committers, one line per path and backend."""
    if depth_count([c for series in groups.values() for c in series]) < 2:
        return []  # One committer count is a table row, not a curve.
    stem, where = cap_stem(cap, "write", "wal_commit"), f"wal_commit, {cap_label(cap)}"
    legend = "durability path, backend (median; bars: min-max)"
    plot_lines(plt, wal_lines(groups, "iops"), f"{where}: commits/s vs committers", "commits", "commits/s",
               os.path.join(out_dir, stem + "_commits.png"), COMMITTERS_AXIS_LABEL, legend_title=legend)
    plot_lines(plt, wal_lines(groups, "p99_us"), f"{where}: p99 commit latency vs committers",
               "p99 commit latency", "µs", os.path.join(out_dir, stem + "_p99.png"), COMMITTERS_AXIS_LABEL,
               throughput=False, legend_title=legend)
    return ["", f"![wal_commit commits/s]({stem}_commits.png)", f"![wal_commit p99]({stem}_p99.png)"]


def wal_part(plt, cells, out_dir, cap):
    groups = group_wal(cells)
    if not groups:
        return []
    out = ["", "### wal_commit: group commit per durability path", "",
           "N committers each append a record and commit it (docs/BENCHMARKS.md, \"wal_commit\"). "
           "Commits/s counts the commits that returned in the window; the commit latency runs from "
           "Append to Commit's return; commits per flush is the group size, syncs and bytes (whole "
           "blocks, the tail block rewritten) are per commit; CPU is the whole process's per commit."]
    for (path, backend), series in groups.items():
        out += ["", f"#### {path}, {backend}", "", md_table(WAL_HEADERS, [wal_row(c) for c in series])]
    out += [""] + [f"- {r}" for r in wal_readings(groups)]
    return out + wal_plots(plt, groups, out_dir, cap)


# ---------------------------------------------------------------- bm_rand_rw

RW_HEADERS = ["backend", "qd", "fetches/s (direct / buffered)", "fetches/s direct/buffered",
              "updates/s (direct / buffered)", "pages written/s (direct / buffered)",
              "by the background writer/s (direct / buffered)", "by evictors/s (direct / buffered)",
              "hit ratio (direct / buffered)", "fetches/s min–max (direct / buffered)"]


def rw_row(backend, qd, d, b):
    return [backend, qd, both(d, b, "iops", ",.0f"), fmt(median_ratio(d, b, "iops"), ".2f"),
            both(d, b, "updates_per_s", ",.0f"), both(d, b, "written_per_s", ",.0f"),
            both(d, b, "background_per_s", ",.0f"), both(d, b, "evictor_per_s", ",.0f"),
            both(d, b, "hit_ratio", ".2f"), both_ranges(d, b, "iops", ",.0f")]


def rw_plot(plt, regime, backends, out_dir, cap):
    if depth_count(cells_of(backends)) < 2:
        return []  # One depth is a table row, not a curve.
    stem = cap_stem(cap, "write", "bm_rand_rw", regime)
    plot_lines(plt, mode_backend_lines(backends, "iops"),
               f"bm_rand_rw, {regime}, {cap_label(cap)}: page fetches vs distance", "page fetches",
               "fetches/s", os.path.join(out_dir, stem + "_fetches.png"), DISTANCE_AXIS_LABEL, legend_title=LEGEND)
    return ["", f"![bm_rand_rw {regime} fetches/s]({stem}_fetches.png)"]


def rw_part(plt, cells, out_dir, cap):
    groups = group_by_regime(measured(cells, "bm_rand_rw"))
    if not groups:
        return []
    out = ["", "### bm_rand_rw: random reads that update their pages", "",
           "bm_rand_read at distance qd, a fraction of the fetches updating their page "
           "(docs/BENCHMARKS.md, \"write\"). Fetches/s counts every page handed to the reader; "
           "updates and write-backs are per second of the window; the background writer writes "
           "dirty victims ahead, an evictor writes one itself while a reader waits."]
    readings = []
    for regime, backends in groups.items():
        table = [rw_row(backend, qd, d, b) for backend, modes in backends.items()
                 for qd, d, b in mode_pairs(modes)]
        out += ["", f"#### {regime}", "", md_table(RW_HEADERS, table)]
        out += rw_plot(plt, regime, backends, out_dir, cap)
        readings += [catch_up_reading(f"bm_rand_rw / {regime} / {backend}", mode_pairs(modes), "page fetches/s")
                     for backend, modes in backends.items()]
    return out + [""] + [f"- {r}" for r in readings]


# ---------------------------------------------------------------- checkpoint

CHECKPOINT_HEADERS = ["backend", "qd", "mode", "pages/s", "page write p99 µs", "checkpoints",
                      "mean checkpoint ms", "fdatasync share", "reader p50 / p99 µs during",
                      "reader p50 / p99 µs between", "CPU µs/page", "pages/s min–max"]


def reader_text(c, when):
    return f"{fmt(median_of(c, f'reader_{when}_p50_us'))} / {fmt(median_of(c, f'reader_{when}_p99_us'))}"


def checkpoint_row(backend, c):
    return [backend, c.get("qd", 1), c.get("mode", "?"), fmt(median_of(c, "iops"), ",.0f"),
            fmt(median_of(c, "p99_us")), fmt(median_of(c, "checkpoints"), ",.0f"),
            fmt(median_of(c, "checkpoint_ms"), ",.2f"), fmt(median_of(c, "sync_share"), ".0%"),
            reader_text(c, "during"), reader_text(c, "between"), fmt(median_of(c, "cpu_us_per_io"), ".2f"),
            range_text(c, "iops", ",.0f")]


def checkpoint_reading(backend, modes):
    pairs = mode_pairs(modes)
    there = ""
    if pairs:
        _, d, b = pairs[-1]
        there = (f", fdatasync taking {fmt(median_of(d, 'sync_share'), '.0%')} of a direct checkpoint "
                 f"and {fmt(median_of(b, 'sync_share'), '.0%')} of a buffered one there")
    return catch_up_reading(f"checkpoint / {backend}", pairs, "pages/s", there)


def checkpoint_plot(plt, backends, out_dir, cap):
    if depth_count(cells_of(backends)) < 2:
        return []  # One depth is a table row, not a curve.
    stem = cap_stem(cap, "write", "checkpoint")
    plot_lines(plt, mode_backend_lines(backends, "iops"), f"checkpoint, {cap_label(cap)}: pages/s vs depth",
               "pages written", "pages/s", os.path.join(out_dir, stem + "_pages.png"), DEPTH_AXIS_LABEL,
               legend_title=LEGEND)
    return ["", f"![checkpoint pages/s]({stem}_pages.png)"]


def checkpoint_part(plt, cells, out_dir, cap):
    groups = group_by_mode(measured(cells, "checkpoint"), lambda c: c.get("backend", "?"))
    backends = {backend: groups[backend] for backend in sorted(groups, key=backend_rank)}
    if not backends:
        return []
    # Per backend, each depth's modes side by side.
    rows = [checkpoint_row(backend, c) for backend, modes in backends.items()
            for c in sorted(cells_of({backend: modes}), key=lambda c: (c.get("qd", 1), path_rank(c)))]
    return (["", "### checkpoint: write-back at depth, then fdatasync", "",
             "Rounds of D dirty pages written by the buffer pool's checkpoint at depth qd, then "
             "fdatasync of the table (docs/BENCHMARKS.md, \"write\"). Pages/s counts the checkpoints' "
             "pages over the time they took, fdatasync included; the fdatasync share is of that time. "
             "The reader fetches random pages beside them: its latency while a checkpoint ran and "
             "between checkpoints (\"–\": the reader was off or fetched nothing then).", "",
             md_table(CHECKPOINT_HEADERS, rows), ""]
            + [f"- {checkpoint_reading(backend, modes)}" for backend, modes in backends.items()]
            + checkpoint_plot(plt, backends, out_dir, cap))


def write_section(plt, cells, out_dir, cap=0):
    """The write suite's three workloads for the cells of one memory condition (`cap`)."""
    parts = (wal_part(plt, cells, out_dir, cap) + rw_part(plt, cells, out_dir, cap)
             + checkpoint_part(plt, cells, out_dir, cap))
    if not parts:
        return []
    return (["", f"## Write path (write), {cells_condition(cells, cap)}", "",
             "The write suite (docs/BENCHMARKS.md, \"write\"): the log's commits, reads that update "
             "their pages, and checkpoints. Figures of the write record (commits per flush, "
             "updates, write-backs, checkpoints, the reader) are medians over the repetitions. The "
             "Guidance above decides their direct/buffered twins; the readings below say where "
             "direct catches up.", "", PLOTS_NOTE] + parts)
