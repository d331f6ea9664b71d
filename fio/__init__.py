"""fio/: side-by-side comparisons of iodepth against fio on the same file.

One module per comparison, each run from the repository root with Debian's interpreter:

    /usr/bin/python3 -m fio.parity            iodepth bench vs fio (4 KiB random reads)
    /usr/bin/python3 -m fio.crosscheck        suite cells vs fio; writes a results file
    /usr/bin/python3 -m fio.bm                buffer-manager read streams vs fio
    /usr/bin/python3 -m fio.load              iodepth load vs fio sequential writes
    /usr/bin/python3 -m fio.wal               the write path (commits, checkpoints) vs fio
    /usr/bin/python3 -m fio.scan              scans (cold, four at once, hot, in the pool) vs fio

fio/common.py holds what they share. fio/README.md says what this package must never do.
Two matrix runs are compared with each other by `iodepth compare` (report/compare.py).
"""
