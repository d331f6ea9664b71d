"""The fio cross-check section: for the cells that fio/'s cross-check ran alternately through
iodepth and fio on one file, both sides' IOPS, p95 latency and CPU per I/O and their ratios,
the cache state each side started in, and the cross-check's own verdict: the entries it found
outside its agreement band (fio/crosscheck.py AGREEMENT, the one place that band lives) are
marked, with the cause when it knew one.
"""

from .markdown import MARK, fmt, md_table
from .results import cap_of, median_of, percentile_ns, ratio, scaled



def crosscheck_row(check, cells_by_key):
    cell = check.get("_cell") or cells_by_key.get((check["cell"], check.get("memory_cap") or 0))
    fio = check.get("fio") or {}
    given = check.get("ratio") or {}
    ours = {"iops": median_of(cell, "iops") if cell else None,
            "clat_ns_p95": percentile_ns(cell.get("median") or {}, 95) if cell else None,
            "cpu_ns_per_io": (cell.get("median") or {}).get("cpu_ns_per_io") if cell else None}
    # Prefer the ratio the cross-check recorded; compute it only when it is missing.
    ratios = {k: given.get(k, ratio(ours[k], fio.get(k))) for k in ours}
    iops_ratio = fmt(ratios["iops"], ".2f")
    if check.get("agrees") is False:
        iops_ratio = f"{MARK} {iops_ratio}"
    agrees = {True: "yes", False: "no"}.get(check.get("agrees"), "–")
    cache = check.get("cache_state") or {}
    cache_text = f"{cache.get('iodepth', '–')} / {cache.get('fio', '–')}" if cache else "–"
    return [check["cell"], cache_text, agrees, check.get("cause") or "", fmt(ours["iops"], ",.0f"),
            fmt(fio.get("iops"), ",.0f"), iops_ratio,
            fmt(scaled(ours["clat_ns_p95"], 1e3)), fmt(scaled(fio.get("clat_ns_p95"), 1e3)),
            fmt(ratios["clat_ns_p95"], ".2f"), fmt(scaled(ours["cpu_ns_per_io"], 1e3), ".2f"),
            fmt(scaled(fio.get("cpu_ns_per_io"), 1e3), ".2f"), fmt(ratios["cpu_ns_per_io"], ".2f")]


def crosscheck_section(checks, cells):
    out = ["", "## fio cross-check", ""]
    if not checks:
        return out + ["No fio cross-check in these results."]
    cells_by_key = {(c["id"], cap_of(c)): c for c in cells}
    rows = [crosscheck_row(check, cells_by_key) for check in checks]
    return out + ["Each row is a run of the cell through iodepth alternating with its fio job on one file "
                  "(fio.crosscheck); iodepth's figures are from that run. "
                  "Ratio = iodepth / fio on the same cell; cache: the state each side's runs started "
                  f"in (iodepth / fio). {MARK} marks a cell the cross-check found outside its agreement "
                  "band (\"agrees\" no), with the cause where it knew one; \"–\": a file written before "
                  "the cross-check judged agreement.", "",
                  md_table(["cell", "cache", "agrees", "cause", "iodepth IOPS", "fio IOPS", "IOPS ratio",
                            "iodepth p95 µs",
                            "fio p95 µs", "p95 ratio", "iodepth CPU µs/IO", "fio CPU µs/IO",
                            "CPU ratio"], rows)]
