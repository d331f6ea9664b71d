"""Turns iodepth results files into a Markdown report with PNG plots.

Usage (from the repository root, or with PYTHONPATH set to it):
    /usr/bin/python3 -m report RESULTS.json [RESULTS2.json ...] [--out DIR]

Reads results files in the format of schema/results.schema.json (schema_version 2 or 3;
each is validated against it first, see results.py) and writes DIR/report.md
plus the plots it embeds. DIR defaults to the first file's name without ".json", followed
by "-report". Several files are merged cell by cell on (id, memory_cap): when two files hold
the same cell under the same cap, the later file on the command line wins.

The report answers the project's question (does O_DIRECT catch up with buffered I/O as
queue depth grows?) first with the Guidance (every comparison decided faster, equivalent,
slower or inconclusive, and the crossover depth of every curve: decide.py, guidance.py),
then the warnings about the machine and the sources (section_header.py), then the
direct/buffered ratio tables and heat maps (section_guidance.py), then the memory budget axis's
crossover maps (section_memory.py), then per memory condition the suites: raw requests
(section_qd.py), page fetches through the buffer manager (section_bm.py, with the adaptive
read-ahead distance against the best fixed one), concurrent pipelined scans
(section_scan.py), the write path (section_write.py: the log's group commit per durability
path, reads that update their pages, checkpoints and the reader beside them) and the
synchronous baseline (section_patterns.py), then CPU per I/O and
memory (section_costs.py), every cell with the flags that say how far to trust it
(section_cells.py) and the fio cross-check (section_fio.py: fio.crosscheck's read cells and
fio.wal's write jobs). This module only puts the
sections in that order. Only Debian's python3 with its python3-matplotlib package is needed
(plots.py, Agg backend, so no display is required).
"""

import argparse
import os
import sys

from .ratios import analyse
from .results import ResultsError, cap_of, load_results, merge, supported_versions_text
from .section_bm import bm_section
from .section_cells import all_cells_section
from .section_costs import cpu_section, memory_section
from .section_fio import crosscheck_section
from .section_guidance import guidance_section, ratios_section
from .section_header import header_section, title_section
from .section_memory import memory_section as memory_axis_section
from .section_patterns import patterns_section
from .section_qd import qd_section
from .section_scan import scan_section
from .section_write import write_section

# How a person runs the report, for --help and error messages (argparse's default would
# name this file, __main__.py).
PROG = "python3 -m report"
# A problem the person running the report can fix; printed without a traceback.
ReportError = ResultsError


def suite_sections(plt, cells, out_dir):
    """The per-suite sections once per memory condition, no cap first."""
    out = []
    for cap in sorted({cap_of(c) for c in cells}):
        part = [c for c in cells if cap_of(c) == cap]
        out += (qd_section(plt, part, out_dir, cap) + bm_section(plt, part, out_dir, cap)
                + scan_section(plt, part, out_dir, cap) + write_section(plt, part, out_dir, cap)
                + patterns_section(plt, part, out_dir, cap))
    return out


def import_pyplot():
    try:
        import matplotlib
    except ImportError:
        raise ReportError("matplotlib is missing; install it with: "
                          "apt-get install python3-matplotlib (and run /usr/bin/python3)") from None
    matplotlib.use("Agg")  # Files only: never needs a display.
    import matplotlib.pyplot as plt
    return plt


def default_out_dir(path):
    return (path[:-len(".json")] if path.endswith(".json") else path) + "-report"


def parse_args(argv):
    parser = argparse.ArgumentParser(prog=PROG, description="Write a Markdown report with plots from "
                                                            "iodepth results files (schema_version "
                                                            f"{supported_versions_text()}).")
    parser.add_argument("results", nargs="+",
                        help="results JSON files; later ones win on equal (cell id, memory cap)")
    parser.add_argument("--out", help="output directory (default: first file without .json, + -report)")
    return parser.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    try:
        runs = [(path, load_results(path)) for path in args.results]
        plt = import_pyplot()
        out_dir = args.out or default_out_dir(args.results[0])
        try:
            os.makedirs(out_dir, exist_ok=True)
        except OSError as e:
            raise ReportError(f"cannot create output directory {out_dir}: {e.strerror}") from None
        cells, checks = merge(runs)
        analysis = analyse(cells)
        lines = (title_section() + guidance_section(analysis) + header_section(runs)
                 + ratios_section(plt, analysis, out_dir) + memory_axis_section(plt, analysis, out_dir)
                 + suite_sections(plt, cells, out_dir)
                 + cpu_section(plt, cells, out_dir) + memory_section(cells)
                 + all_cells_section(cells) + crosscheck_section(checks, cells))
        report = os.path.join(out_dir, "report.md")
        with open(report, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
    except ReportError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
