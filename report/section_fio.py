"""The fio cross-check section: for the cells that fio/ ran alternately through iodepth and fio
on one machine (fio.crosscheck: the read cells on one file; fio.wal: the write path's
wal_commit_qd1 and checkpoint_qdN), both sides' IOPS, p95 and p99 latency and CPU per I/O and
their ratios, the cache state each side started in, and the cross-check's own verdict: the
entries it found outside its agreement band (fio/crosscheck.py AGREEMENT, the one place that
band lives) are marked, with the cause when it knew one. fio.wal judges no agreement; the
notes each comparison recorded (what differs between the two jobs) follow the table.
"""

from .markdown import MARK, fmt, md_table
from .results import cap_of, median_of, percentile_ns, ratio, scaled

# The figures set side by side, as the fio_crosscheck entries name them.
FIGURES = ("iops", "clat_ns_p95", "clat_ns_p99", "cpu_ns_per_io")


def iodepth_figures(cell):
    """iodepth's side of FIGURES from the cell's median (None without the cell)."""
    if not cell:
        return dict.fromkeys(FIGURES)
    median = cell.get("median") or {}
    return {"iops": median_of(cell, "iops"), "clat_ns_p95": percentile_ns(median, 95),
            "clat_ns_p99": percentile_ns(median, 99), "cpu_ns_per_io": median.get("cpu_ns_per_io")}


def check_figures(check, cells_by_key):
    """(iodepth's FIGURES, fio's, iodepth / fio of each) of one cross-check entry: the ratios it
    recorded, computed only where it recorded none."""
    cell = check.get("_cell") or cells_by_key.get((check["cell"], check.get("memory_cap") or 0))
    fio, given, ours = check.get("fio") or {}, check.get("ratio") or {}, iodepth_figures(cell)
    return ours, fio, {k: given.get(k, ratio(ours[k], fio.get(k))) for k in FIGURES}


def crosscheck_row(check, cells_by_key):
    ours, fio, ratios = check_figures(check, cells_by_key)
    iops_ratio = fmt(ratios["iops"], ".2f")
    if check.get("agrees") is False:
        iops_ratio = f"{MARK} {iops_ratio}"
    agrees = {True: "yes", False: "no"}.get(check.get("agrees"), "–")
    cache = check.get("cache_state") or {}
    cache_text = f"{cache.get('iodepth', '–')} / {cache.get('fio', '–')}" if cache else "–"
    row = [check["cell"], cache_text, agrees, check.get("cause") or "", fmt(ours["iops"], ",.0f"),
           fmt(fio.get("iops"), ",.0f"), iops_ratio]
    for key in ("clat_ns_p95", "clat_ns_p99"):
        row += [fmt(scaled(ours[key], 1e3)), fmt(scaled(fio.get(key), 1e3)), fmt(ratios[key], ".2f")]
    return row + [fmt(scaled(ours["cpu_ns_per_io"], 1e3), ".2f"), fmt(scaled(fio.get("cpu_ns_per_io"), 1e3), ".2f"),
                  fmt(ratios["cpu_ns_per_io"], ".2f")]


def notes_of(checks):
    """Every note the comparisons recorded, once, in the order first met."""
    return list(dict.fromkeys(note for check in checks for note in (check.get("fio") or {}).get("notes") or []))


# What every column of the table means, said once above it.
CROSSCHECK_EXPLANATION = [
    "Each row is a run of the cell through iodepth alternating with its fio job (fio.crosscheck "
    "for read cells, fio.wal for the write path); iodepth's figures are from that run. "
    "Ratio = iodepth / fio on the same cell; cache: the state each side's runs started "
    f"in (iodepth / fio). {MARK} marks a cell the cross-check found outside its agreement "
    "band (\"agrees\" no), with the cause where it knew one; \"–\": agreement not judged "
    "(fio.wal, or a file written before the cross-check judged it).", ""]


def crosscheck_table(checks, cells, explain=True):
    """The cross-check's explanation (unless `explain` is False: a caller showing several
    tables says it once), its table and the comparisons' notes (checks non-empty)."""
    cells_by_key = {(c["id"], cap_of(c)): c for c in cells}
    rows = [crosscheck_row(check, cells_by_key) for check in checks]
    notes = notes_of(checks)
    return (CROSSCHECK_EXPLANATION if explain else []) + [
        md_table(["cell", "cache", "agrees", "cause", "iodepth IOPS", "fio IOPS", "IOPS ratio",
                  "iodepth p95 µs", "fio p95 µs", "p95 ratio", "iodepth p99 µs", "fio p99 µs",
                  "p99 ratio", "iodepth CPU µs/IO", "fio CPU µs/IO", "CPU ratio"], rows)] + (
        ["", "Notes of the comparisons:", ""] + [f"- {note}" for note in notes] if notes else [])


def crosscheck_section(checks, cells):
    out = ["", "## fio cross-check", ""]
    if not checks:
        return out + ["No fio cross-check in these results."]
    return out + crosscheck_table(checks, cells)
