"""Markdown helpers shared by the report's section modules: numbers, tables, file names.

Plain text in, plain text out; no results cells are interpreted here beyond the spread of
one metric.
"""

import json
import re

from .results import cap_tag, median_of, spread_of

MARK = "⚠"


def fmt(value, spec=",.1f"):
    return "–" if value is None else format(value, spec)


def md_table(headers, rows):
    def line(items):
        return "| " + " | ".join(str(i).replace("|", "\\|") for i in items) + " |"
    return "\n".join([line(headers), line(["---"] * len(headers))] + [line(r) for r in rows])


def flatten(value, prefix=""):
    """Yields (dotted key, text) for every non-empty leaf of nested dicts and lists."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from flatten(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        for index, item in enumerate(value):
            yield from flatten(item, f"{prefix}[{index}]")
    elif value is not None and value != "" and value != []:
        text = ", ".join(map(str, value)) if isinstance(value, list) else value
        yield prefix, json.dumps(text) if isinstance(text, bool) else str(text)


def key_value_table(mapping):
    rows = list(flatten(mapping))
    return md_table(["key", "value"], rows) if rows else "(none recorded)"


def range_text(cell, metric, spec=",.1f"):
    """"min–max" of `metric` over the cell's repetitions; "–" without repetitions or cell."""
    spread = spread_of(cell, metric) if cell else None
    return "–" if spread is None else f"{fmt(spread[0], spec)}–{fmt(spread[1], spec)}"


def both_ranges(d, b, metric, spec):
    """"direct min–max / buffered min–max" for one metric."""
    return f"{range_text(d, metric, spec)} / {range_text(b, metric, spec)}"


def median_and_range(cell, metric, spec=",.2f"):
    """"median (min–max)" of one metric of one cell."""
    if cell is None or median_of(cell, metric) is None:
        return "–"
    return f"{fmt(median_of(cell, metric), spec)} ({range_text(cell, metric, spec)})"


def file_stem(*parts):
    """A file name from its parts; empty parts (no memory cap) are left out."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", "_".join(p for p in parts if p))


def cap_stem(cap, *parts):
    """file_stem with the memory condition's tag appended: no tag without a cap."""
    return file_stem(*parts, cap_tag(cap))


def cell_label(cell):
    """The cell id, marked when the cell carries flags so a reader cannot miss it."""
    return f"{MARK} {cell['id']}" if cell.get("flags") else cell["id"]


def both(d, b, metric, spec):
    """"direct / buffered" for one metric, so a table row stays one line wide."""
    return f"{fmt(median_of(d, metric), spec)} / {fmt(median_of(b, metric), spec)}"
