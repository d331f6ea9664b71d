"""Shared by fio/tests: synthetic fio and iodepth JSON documents, and the tools an
end-to-end run needs (skipped, with the reason, where they are missing)."""

import contextlib
import io
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from fio import common
from report.tests import fixtures  # The one builder of schema-valid results documents.

PERCENTILES = ("1.000000", "5.000000", "10.000000", "50.000000", "90.000000", "95.000000", "99.000000",
               "99.900000")


def fio_document(iops=1000.0, p95=100_000, lat_p95=110_000, total_ios=10_000, error=0, usr=10.0, sys_cpu=20.0,
                 runtime_ms=1000, jobs=1):
    """What `fio --output-format=json` writes for one read job (the fields the modules read)."""
    job = {"jobname": "t", "error": error, "job_runtime": runtime_ms, "usr_cpu": usr, "sys_cpu": sys_cpu,
           "read": {"iops": iops, "bw_bytes": int(iops * 4096), "total_ios": total_ios,
                    "io_bytes": total_ios * 4096,
                    "clat_ns": {"mean": p95 / 2, "percentile": {"50.000000": p95 // 2, "95.000000": p95,
                                                                "99.000000": p95 * 2}},
                    "lat_ns": {"mean": lat_p95 / 2, "percentile": {"50.000000": lat_p95 // 2,
                                                                   "95.000000": lat_p95,
                                                                   "99.000000": lat_p95 * 2}}}}
    return {"fio version": "fio-3.33", "jobs": [dict(job) for _ in range(jobs)]}


def bench_document(engine="io_uring", iops=1000.0, p95=100_000, total_ios=10_000, cpu_ns_per_io=3000.0,
                   direct=True, notices=()):
    """What `iodepth bench --output-format=json` writes (its fio-named fields)."""
    job = {"jobname": "bench", "engine": engine, "direct": direct, "notices": list(notices),
           "usr_cpu": 1.0, "sys_cpu": 2.0, "job_runtime": 1000, "cpu_ns_per_io": cpu_ns_per_io,
           "read": {"iops": iops, "bw_bytes": iops * 4096, "total_ios": total_ios,
                    "clat_ns": {"mean": p95 / 2, "percentile": {"50.000000": p95 // 2, "95.000000": p95,
                                                                "99.000000": p95 * 2}}}}
    return {"iodepth_version": "0.1.0", "jobs": [job]}


def repetition(iops, p95=100_000, target=1, littles_law=1.0, resident_before=-1.0):
    """One repetition record of the results schema (docs/BENCHMARKS.md), every field present."""
    return {"iops": iops, "bw_bytes": iops * 4096, "total_ios": int(iops), "io_bytes": int(iops) * 4096,
            "runtime_ns": 1_000_000_000,
            "clat_ns": {"min": 1000, "max": p95 * 5, "mean": p95 / 2, "N": int(iops),
                        "percentile": {k: p95 for k in PERCENTILES}},
            "usr_cpu_ns": 1000, "sys_cpu_ns": 2000, "cpu_ns_per_io": 700.0 + iops / 1000,
            "depth": {"target": target, "mean_in_flight": littles_law, "utilization": littles_law / target,
                      "littles_law": littles_law, "submit_calls": 1, "submitted": 1, "reap_calls": 1, "reaped": 1,
                      "avg_submit_batch": 1.0, "avg_reap_batch": 1.0, "resubmits": 0, "refills_short": 0},
            "resident_before": resident_before, "verified_bytes": 0, "buffer": None, "scan": None, "memory": None}


def cell_record(cell_id, reps, qd=1, mode="direct", backend="io_uring", cache_state="n/a", status="ok", bs=4096):
    """A cell record of one `iodepth suite` run, summary included (as iodepth writes it)."""
    workload = cell_id.split("/")[0]
    return {"id": cell_id, "workload": workload, "suite": "qd", "rw": "randread", "qd": qd, "bs": bs,
            "mode": mode, "backend": backend, "cache_state": cache_state, "regime": "", "policy": "",
            "memory_cap": 0, "status": status, "reason": "" if status == "ok" else "not here",
            "flags": [], "cv": {"iops": 0.0, "bw_bytes": 0.0, "clat_ns_p95": 0.0},
            "median": {"iops": reps[0]["iops"] if reps else 0.0, "bw_bytes": 0.0,
                       "clat_ns": {"mean": 0.0, "max": 0, "percentile": {k: 0 for k in PERCENTILES}},
                       "cpu_ns_per_io": 0.0, "depth": {"mean_in_flight": 0.0, "littles_law": 0.0,
                                                       "utilization": 0.0},
                       "buffer": None, "scan": None, "memory": None},
            "repetitions": reps}


def suite_document(cells, seed=7, depths=(1,), modes=("direct",), backends=("io_uring",)):
    """A results file of one `iodepth suite qd --only CELL --repetitions 1` run."""
    return {"schema": "iodepth-results", "schema_version": 3, "iodepth_version": "0.1.0", "git_commit": "a" * 40,
            "created_utc": "2026-01-01T00:00:00Z", "command": "iodepth suite qd",
            "config": {"suite": "qd", "filename": "/var/tmp/x.dat", "file_size": 8 << 20, "working_set": 8 << 20,
                       "bs": 4096, "runtime_ns": 10**9, "ramp_ns": 0, "number_ios": 0, "cache_state": "cold",
                       "verify": False, "seed": seed, "repetitions": 1, "depths": list(depths),
                       "modes": list(modes), "backends": list(backends)},
            "environment": fixtures.environment(), "cells": cells, "fio_crosscheck": []}


def write_json(directory, name, document):
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        json.dump(document, f)
    return path


def captured(function, *args, **kwargs):
    """(function's return value, what it printed on stdout)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        value = function(*args, **kwargs)
    return value, out.getvalue()


def iodepth_binary():
    """The iodepth binary the tests run ($IODEPTH_BIN, as ctest sets it, else the one the
    modules find by default), or None."""
    given = os.environ.get("IODEPTH_BIN")
    path = given or os.path.join(common.REPO_ROOT, "build", "release", "cli", "iodepth")
    return path if os.access(path, os.X_OK) else None


def require_iodepth(test):
    path = iodepth_binary()
    if path is None:
        raise unittest.SkipTest("no iodepth binary (set IODEPTH_BIN or build build/release)")
    return path


def require_tools(test):
    """(iodepth binary, scratch directory on a real filesystem) for an end-to-end run."""
    path = require_iodepth(test)
    if shutil.which("fio") is None:
        raise unittest.SkipTest("fio is not installed (apt-get install fio)")
    base = os.environ.get("IODEPTH_TEST_DIR") or os.environ.get("IODEPTH_TMPDIR") or "/var/tmp"
    scratch = tempfile.mkdtemp(prefix="fio-tests-", dir=base)
    test.addCleanup(shutil.rmtree, scratch, ignore_errors=True)
    return path, scratch


def run_module(module, args, iodepth_bin, timeout=240):
    """`/usr/bin/python3 -m MODULE ARGS...` from the repository root."""
    env = dict(os.environ, IODEPTH_BIN=iodepth_bin)
    return subprocess.run([common.PYTHON, "-m", module, *args], cwd=common.REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)
