"""Untrusted input: the report's readers on thousands of damaged results files.

Each input is a valid document from fixtures.py (qd, bm and memory-axis cells, a fio
cross-check) with one to three seeded edits of its meaning: a value replaced by another type
or an extreme number, a key dropped, a list emptied or a record duplicated. Every input must
either be refused with a ResultsError / InvalidResults naming the problem, or pass and be
analysed, decided and advised on without any other exception: never a traceback. Bounded
by a count and by time; a failure names the seed and iteration that reproduce it. (Damaged
bytes, which never reach these readers since json refuses them, are the C++ reader's
mutation test.)
"""

import copy
import json
import os
import random
import tempfile
import time
import unittest

from report import advice, decide, ratios, results, schema
from report.tests import fixtures
from report.tests.memory_axis_test import axis_cells, cap

SEED = 20261202
ITERATIONS = 1500
SECONDS = 20
EXTREMES = (-1, -1.5, 0, 0.0, 1e308, -1e308, 2 ** 64, 2 ** 63 - 1, 1e-320, True, False, None, "", "x",
            [], {}, [1, 2], {"a": 1})


def base_documents():
    """Valid documents of the kinds the report reads."""
    qd_cells = axis_cells("rand_read", {1: 0.5, 4: 1.2}, 0)
    qd = fixtures.document("qd", qd_cells, crosscheck=[{
        "cell": qd_cells[0]["id"],
        "fio": {"iops": 1000.0, "clat_ns_p95": 100000, "cpu_ns_per_io": 2000.0, "cv": {"iops": 0.01},
                "job": "--rw=randread", "fio_version": "fio-3.33", "notes": [], "repetitions": []},
        "ratio": {"iops": 1.0, "clat_ns_p95": 1.0, "cpu_ns_per_io": 1.0}}])
    axis = fixtures.document("qd", axis_cells("rand_read", {1: 0.8, 4: 1.3}, cap(2)),
                             {"memory_ratio": 2, "memory_budget_bytes": cap(2) - (32 << 20), "memory_cap": cap(2)})
    reps = [fixtures.repetition(1000 + i, 100_000, bs=8192, buffer=fixtures.buffer_record(0.5, 8192, 0.4, 4))
            for i in range(3)]
    bm = fixtures.document("bm", [fixtures.cell("bm_rand_read_qd4", "bm", 4, mode, "io_uring", copy.deepcopy(reps),
                                                regime="thrash", policy="fixed", bs=8192)
                                  for mode in ("direct", "buffered")])
    for doc in (qd, axis, bm):
        schema.validate(doc, "mutation_test base")
    return [("qd.json", qd), ("axis.json", axis), ("bm.json", bm)]


def leaves(node, path=()):
    """Every (path, value) in the document, containers included."""
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from leaves(value, path + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from leaves(value, path + (index,))


def mutate(doc, rng):
    doc = copy.deepcopy(doc)
    for _ in range(rng.randint(1, 3)):
        places = [p for p, _ in leaves(doc) if p]
        path = rng.choice(places)
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        key = path[-1]
        choice = rng.randrange(4)
        if choice == 0:
            parent[key] = copy.deepcopy(rng.choice(EXTREMES))
        elif choice == 1:
            if isinstance(parent, dict):
                del parent[key]
            else:
                parent.pop(key)
        elif choice == 2 and isinstance(parent[key], (list, dict)):
            parent[key] = type(parent[key])()
        elif isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))
        else:
            parent[key] = copy.deepcopy(rng.choice(EXTREMES))
    return doc


def read_and_use(runs):
    """What the report and advise do with files, short of drawing: merge, analyse, decide, advise."""
    cells, _ = results.merge(runs)
    analysis = ratios.analyse(cells)
    for x in analysis.crossovers:
        decide.crossover_text(x)
    advice.advise(cells, runs, created_utc="2026-12-02T00:00:00Z", working_set=256 << 20, memory=128 << 20)


class MutatedResultsTest(unittest.TestCase):
    def test_damaged_documents_are_refused_or_read_without_a_traceback(self):
        rng = random.Random(SEED)
        bases = base_documents()
        deadline = time.monotonic() + SECONDS
        refused = passed = 0
        with tempfile.TemporaryDirectory() as tmp:
            for i in range(ITERATIONS):
                if time.monotonic() > deadline:
                    break
                name, base = rng.choice(bases)
                doc = mutate(base, rng)
                path = os.path.join(tmp, name)
                with open(path, "w", encoding="utf-8") as f:
                    json.dump(doc, f)
                try:
                    runs = [(path, results.load_results(path))]
                    read_and_use(runs)
                    passed += 1
                except (results.ResultsError, schema.InvalidResults) as e:
                    refused += 1
                    self.assertTrue(str(e), f"seed {SEED} iteration {i}: an empty message")
                except Exception as e:  # noqa: BLE001 - the point: nothing else may escape.
                    self.fail(f"seed {SEED} iteration {i} ({name}): {type(e).__name__}: {e}")
        self.assertGreater(refused + passed, 100, "too few inputs tried")
        self.assertGreater(refused, 0)
        print(f"report readers: {refused + passed} mutated documents, {passed} read, {refused} refused")


if __name__ == "__main__":
    unittest.main()
