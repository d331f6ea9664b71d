"""The report's closing tables: every measured cell with the flags that say how far to trust it
(and what each flag means), then the cells that have no measurements and why.
"""

from .decide import device_share
from .markdown import MARK, cell_label, fmt, md_table, range_text
from .results import cap_label, cap_of, is_ok, median_of


def device_text(cell):
    """"0.98" device read bytes / requested bytes of the cell's median; "–" without a record."""
    share = device_share(cell)
    return "–" if share is None else f"{share:.2f}"


# The flags the writer sets (thresholds: src/results/results.h). Unknown flags are still shown.
FLAG_LEGEND = {
    "cv_high": "repetitions disagree: the IOPS coefficient of variation (stddev/mean) is high, "
               "so the median is a weak summary; rerun with more repetitions or a longer runtime.",
    "depth_short": "the device saw less depth than asked for: Little's-law depth (IOPS x mean "
                   "latency) stayed well below the target queue depth, so this is not a clean "
                   "measurement at the depth it names.",
    "cold_but_cached": "a cold-cache cell found part of its working set already in the page cache "
                       "before it ran, so some reads were cache hits.",
    "warm_not_cached": "a warm-cache cell found much of its working set missing from the page "
                       "cache before it ran, so some reads went to the device.",
    "served_from_memory": "a cold buffered cell whose device read less than a tenth of the bytes "
                          "it asked for: the memory it ran with held its working set, so it measured "
                          "the page cache; its comparisons are results for data in memory, never "
                          "cold-cache ones, and say so.",
    "memory_device": "the data file is on memory (tmpfs, ramfs, zram, a loop device over one): "
                     "O_DIRECT there measures memory copies, not a device.",
}


def several_caps(cells):
    """True when the cells ran under a memory cap, so an id alone no longer names one cell."""
    return any(cap_of(c) for c in cells)


def all_cells_columns(measured):
    """(header, cell -> text) for the all-cells table; regime and hit ratio only with bm or scan cells,
    since every other suite would fill them with dashes, and memory only with capped cells."""
    def cv(c, key):
        return fmt((c.get("cv") or {}).get(key), ".1%")
    has_bm = any(c.get("suite") in ("bm", "scan") for c in measured)
    columns = [("cell", cell_label), ("suite", lambda c: c.get("suite", "?")),
               ("qd", lambda c: c.get("qd", "–"))]
    if several_caps(measured):
        columns.append(("memory", lambda c: cap_label(cap_of(c))))
    if has_bm:
        columns.append(("regime", lambda c: c.get("regime") or "–"))
    columns += [("cache", lambda c: c.get("cache_state", "–")),
                ("IOPS", lambda c: fmt(median_of(c, "iops"), ",.0f")),
                ("MB/s", lambda c: fmt(median_of(c, "mb_s")))]
    if has_bm:
        columns.append(("hit ratio", lambda c: fmt(median_of(c, "hit_ratio"), ".2f")))
    return columns + [
        ("p95 µs", lambda c: fmt(median_of(c, "p95_us"))),
        ("CPU µs/IO", lambda c: fmt(median_of(c, "cpu_us_per_io"), ".2f")),
        ("depth", lambda c: fmt(median_of(c, "littles_law"), ".1f")),
        ("dev/req", device_text),
        ("CV IOPS", lambda c: cv(c, "iops")), ("CV p95", lambda c: cv(c, "clat_ns_p95")),
        ("reps", lambda c: len(c.get("repetitions") or [])),
        ("IOPS min–max", lambda c: range_text(c, "iops", ",.0f")),
        ("p95 µs min–max", lambda c: range_text(c, "p95_us")),
        ("flags", lambda c: ", ".join(f"**{f}**" for f in c.get("flags") or []) or "–")]


def all_cells_section(cells):
    measured = [c for c in cells if is_ok(c)]
    columns = all_cells_columns(measured)
    rows = [[get(c) for _, get in columns] for c in measured]
    out = ["", "## All measured cells", "",
           f"Medians over repetitions; min–max columns span the repetitions. {MARK} marks a cell "
           "with flags; read its numbers with the flag in mind. Depth is the Little's-law depth "
           "(IOPS x mean latency). dev/req is the bytes the block device read over the bytes the "
           "cell asked of storage (medians; \"–\" where not recorded): near 1 for a cold read, "
           "near 0 where the page cache or the pool served it."]
    if any(c.get("suite") == "bm" for c in measured):
        out[-1] += (" For bm cells IOPS is page fetches/s (hits included) and p95 is the "
                    "latency of a read request.")
    if any(c.get("suite") == "scan" for c in measured):
        out[-1] += (" For scan cells IOPS is pages/s of all scans together, p95 the latency of a "
                    "page read and CPU µs/IO the CPU time per page.")
    out += ["", md_table([name for name, _ in columns], rows)]
    used = sorted({f for c in measured for f in c.get("flags") or []})
    out += ["", "Flags:", ""]
    out += [f"- **{name}**: {text}" for name, text in FLAG_LEGEND.items()]
    out += [f"- **{name}**: not known to this report; see src/results/results.h."
            for name in used if name not in FLAG_LEGEND]
    return out + not_measured_section(cells)


def not_measured_section(cells):
    skipped = [c for c in cells if not is_ok(c)]
    if not skipped:
        return []
    headers = ["cell", "status", "reason"] + (["memory"] if several_caps(cells) else [])
    rows = [[c["id"], c.get("status", "?"), c.get("reason") or "(no reason given)"]
            + ([cap_label(cap_of(c))] if several_caps(cells) else []) for c in skipped]
    return ["", "## Cells not measured", "",
            "These cells have no measurements (unsupported here, or failed); they appear in no "
            "plot or ratio.", "",
            md_table(headers, rows)]
