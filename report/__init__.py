"""report: reads iodepth results files and writes the report, the guidance and the advice.

Run from the repository root, or with PYTHONPATH set to it (README.md in this folder says more):

    /usr/bin/python3 -m report RESULTS.json... [--out DIR]      the Markdown report and its plots
    /usr/bin/python3 -m report.guidance RESULTS.json...         the guidance, one sentence per curve
    /usr/bin/python3 -m report.guidance RESULTS.json... --advise OUT.json   the advice document

Other code imports the rules from here rather than keeping a copy of them:
`from report import results, ratios, guidance, advice`. This file imports nothing, so that
importing one module (or running one with -m) loads only what that module needs, and the
guidance never needs matplotlib.
"""
