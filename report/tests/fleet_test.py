"""Tests of report/fleet.py: the results of several hosts grouped into host classes (device
model and kernel as recorded), pooled per class and decided once per class by advice.py.

Every document comes from fixtures.py, with the hostname, device model, kernel and settings the
test chooses. The summary of a pooled cell is `iodepth summarise`'s; here a stand-in computes
it as fixtures.py's writer does (the median of the repetitions), and counts its calls, so the
grouping and pooling are tested without the binary. With $IODEPTH_BIN set, one test runs the
real summariser through the CLI. No test asserts on speed.

    /usr/bin/python3 -m unittest discover -s report/tests -t . -p "*_test.py"
"""

import copy
import json
import os
import subprocess
import tempfile
import unittest

from report import advice, fleet, results
from report.tests import fixtures
from report.tests.fixtures import document, write_json
from report.tests.support import run_module

try:
    import tomllib
except ImportError:  # Python before 3.11: the TOML round trip is skipped.
    tomllib = None

CREATED = "2026-12-07T00:00:00Z"
SSD, NVME = "Samsung SSD 990 PRO 2TB", "INTEL SSDPE2KX040T8"
KERNEL = "6.12.0-31-amd64"
# Direct's spread per repetition: two of them leave the qd 16 interval straddling 1.05 (t with
# 1 degree of freedom is 6.3), four of two hosts decide it faster (t with 3 is 2.4).
HOST_A_FACTORS = (1.00, 1.10)
HOST_B_FACTORS = (0.95, 1.05)
TIGHT = (1.000, 1.004)
RATIOS = {1: 0.50, 16: 1.20}  # Direct slower at qd 1, faster at qd 16 (when decided).


def rand_read_cells(direct_factors, ratios=RATIOS, tight_below=16):
    """rand_read twins at each qd of `ratios`: buffered 1000 x qd IOPS every repetition, direct
    that times the ratio times `direct_factors` (TIGHT below `tight_below`)."""
    cells = []
    for qd, ratio in ratios.items():
        factors = direct_factors if qd >= tight_below else TIGHT
        for mode, levels in (("direct", [1000.0 * qd * ratio * f for f in factors]),
                             ("buffered", [1000.0 * qd] * len(factors))):
            reps = [fixtures.repetition(level, 100_000) for level in levels]
            cells.append(fixtures.cell(f"rand_read_qd{qd}", "qd", qd, mode, "io_uring", reps))
    return cells


def host_doc(host, model=SSD, kernel=KERNEL, cells=None, config=None):
    """A qd results file recorded on `host` with that device model and kernel."""
    doc = document("qd", rand_read_cells(HOST_A_FACTORS) if cells is None else cells, config)
    doc["environment"].update(hostname=host, kernel=kernel)
    doc["environment"]["device"]["model"] = model
    return doc


class StandInSummary:
    """What `iodepth summarise` gives a pooled cell, as fixtures.py's writer computes it (the
    median of the repetitions), recording each call's cells."""

    def __init__(self):
        self.calls = []

    def __call__(self, cells):
        self.calls.append(copy.deepcopy(cells))
        return [dict(c, median=fixtures.median(c["repetitions"]), cv=fixtures.cv(c["repetitions"]), flags=[])
                for c in cells]


def refuse_to_summarise(cells):
    raise AssertionError(f"nothing should be pooled, asked to summarise {[c['id'] for c in cells]}")


def entry(doc, cls="random_read"):
    return next(e for e in doc["classes"] if e["class"] == cls)


def evidence_at(e, qd):
    return next(x for x in e["evidence"] if x["qd"] == qd)


class SingleHostTest(unittest.TestCase):
    def test_one_host_gets_todays_document_unchanged(self):
        runs = [("a/qd.json", host_doc("db1"))]
        doc = fleet.advise_fleet(runs, refuse_to_summarise, created_utc=CREATED)
        cells, _ = results.merge(runs)
        self.assertEqual(doc, advice.advise(cells, runs, created_utc=CREATED))
        self.assertEqual(doc["version"], advice.ADVICE_VERSION)
        self.assertNotIn("host_classes", doc)
        self.assertNotIn("hosts", doc["source"])

    def test_files_of_one_host_merge_later_wins_not_pooled(self):
        first = host_doc("db1", cells=rand_read_cells(HOST_A_FACTORS))
        later = host_doc("db1", cells=rand_read_cells(HOST_B_FACTORS))
        runs = [("run1/qd.json", first), ("run2/qd.json", later)]
        doc = fleet.advise_fleet(runs, refuse_to_summarise, created_utc=CREATED)
        self.assertEqual(doc, advice.advise(results.merge(runs)[0], runs, created_utc=CREATED))
        self.assertEqual(evidence_at(entry(doc), 16)["repetitions"], len(HOST_B_FACTORS))


class SameClassTest(unittest.TestCase):
    """Two hosts of one device model and kernel: one recommendation on their pooled repetitions."""

    @classmethod
    def setUpClass(cls):
        cls.summary = StandInSummary()
        cls.runs = [("db1/qd-nocap.json", host_doc("db1", cells=rand_read_cells(HOST_A_FACTORS))),
                    ("db2/qd-nocap.json", host_doc("db2", cells=rand_read_cells(HOST_B_FACTORS)))]
        cls.doc = fleet.advise_fleet(cls.runs, cls.summary, created_utc=CREATED)

    def test_one_host_alone_cannot_decide_qd16(self):
        alone = fleet.advise_fleet(self.runs[:1], refuse_to_summarise, created_utc=CREATED)
        self.assertEqual(entry(alone)["direct_io"], "unknown")
        self.assertEqual(evidence_at(entry(alone), 16)["outcome"], "inconclusive")

    def test_pooled_into_one_entry_that_decides(self):
        self.assertEqual(self.doc["version"], advice.ADVICE_VERSION)  # One class: today's shape.
        self.assertNotIn("host_classes", self.doc)
        self.assertEqual([e["class"] for e in self.doc["classes"]], ["random_read"])
        e = entry(self.doc)
        self.assertIs(e["direct_io"], True)
        self.assertEqual(e["crossover"], "from qd 16")
        pooled = evidence_at(e, 16)
        self.assertEqual(pooled["outcome"], "faster")
        self.assertEqual(pooled["repetitions"], len(HOST_A_FACTORS) + len(HOST_B_FACTORS))

    def test_the_summary_is_asked_once_for_every_shared_cell(self):
        self.assertEqual(len(self.summary.calls), 1)
        asked = self.summary.calls[0]
        self.assertEqual(sorted(c["id"] for c in asked),
                         sorted(f"rand_read_qd{qd}/{m}/io_uring" for qd in RATIOS for m in ("direct", "buffered")))
        for c in asked:
            self.assertFalse({"median", "cv", "flags"} & set(c), "the summary is the summariser's to compute")
            self.assertFalse([k for k in c if k.startswith("_")], "no merge marks go to iodepth summarise")
        direct = next(c for c in asked if c["id"] == "rand_read_qd16/direct/io_uring")
        self.assertEqual([r["iops"] for r in direct["repetitions"]],
                         [1000.0 * 16 * 1.20 * f for f in HOST_A_FACTORS + HOST_B_FACTORS])

    def test_source_names_both_hosts_and_rules_say_how_they_pooled(self):
        self.assertEqual(self.doc["source"]["hosts"], [{"host": "db1", "files": ["db1/qd-nocap.json"]},
                                                       {"host": "db2", "files": ["db2/qd-nocap.json"]}])
        self.assertEqual(self.doc["source"]["files"], ["db1/qd-nocap.json", "db2/qd-nocap.json"])
        self.assertEqual(self.doc["rules"][-len(fleet.FLEET_RULES):], fleet.FLEET_RULES)

    def test_twins_are_cut_to_the_pairs_one_host_has(self):
        cells = rand_read_cells((1.0, 1.02, 0.98))
        buffered = next(c for c in cells if c["id"] == "rand_read_qd16/buffered/io_uring")
        buffered["repetitions"].pop()  # Host db1's buffered twin lost its last repetition.
        summary = StandInSummary()
        runs = [("db1/qd.json", host_doc("db1", cells=cells)),
                ("db2/qd.json", host_doc("db2", cells=rand_read_cells(HOST_B_FACTORS)))]
        fleet.advise_fleet(runs, summary, created_utc=CREATED)
        asked = {c["id"]: c for c in summary.calls[0]}
        direct = asked["rand_read_qd16/direct/io_uring"]["repetitions"]
        self.assertEqual(len(direct), 2 + len(HOST_B_FACTORS))
        self.assertEqual(len(asked["rand_read_qd16/buffered/io_uring"]["repetitions"]), len(direct))
        # Repetition 2 of the pool is db2's first: pairs still ran back to back on one host.
        self.assertEqual(direct[2]["iops"], 1000.0 * 16 * 1.20 * HOST_B_FACTORS[0])

    def test_looks_are_the_largest_of_the_hosts(self):
        schedule = {"matrix": {"repetitions": 2, "repetition_step": 2, "max_repetitions": 6}}
        runs = [("db1/qd.json", host_doc("db1", config=schedule)), ("db2/qd.json", host_doc("db2"))]
        cells, pooled = fleet.pool_cells(fleet.host_classes(runs)[0].hosts, StandInSummary())
        self.assertEqual(pooled, 4)
        self.assertEqual({c["_looks"] for c in cells}, {3})

    def test_a_host_without_a_hostname_is_its_directory(self):
        runs = [("racks/r1/qd.json", host_doc("unknown")), ("racks/r2/qd.json", host_doc("localhost")),
                ("racks/r2/bm.json", host_doc("localhost"))]
        [hc] = fleet.host_classes(runs)
        self.assertEqual([(h.name, len(h.runs)) for h in hc.hosts], [("racks/r1", 1), ("racks/r2", 2)])


class TwoClassesTest(unittest.TestCase):
    """Two device models: one recommendation each, as each host alone would get it."""

    @classmethod
    def setUpClass(cls):
        cls.ssd = [("db1/qd.json", host_doc("db1", SSD, cells=rand_read_cells(HOST_A_FACTORS))),
                   ("db2/qd.json", host_doc("db2", SSD, cells=rand_read_cells(HOST_B_FACTORS)))]
        cls.nvme = [("db3/qd.json", host_doc("db3", NVME, cells=rand_read_cells(TIGHT, {1: 0.5, 16: 0.8})))]
        cls.summary = StandInSummary()
        cls.doc = fleet.advise_fleet(cls.ssd + cls.nvme, cls.summary, created_utc=CREATED)

    def test_a_fleet_document_with_one_entry_per_class(self):
        self.assertEqual((self.doc["schema"], self.doc["version"]), (advice.ADVICE_SCHEMA, advice.FLEET_VERSION))
        self.assertNotIn("classes", self.doc)
        self.assertNotIn("memory_budget", self.doc)
        self.assertEqual([(c["device_model"], c["kernel"], [h["host"] for h in c["hosts"]], c["pooled"])
                          for c in self.doc["host_classes"]],
                         [(SSD, KERNEL, ["db1", "db2"], True), (NVME, KERNEL, ["db3"], False)])
        self.assertEqual(self.doc["rules"], advice.RULES + fleet.FLEET_RULES)
        self.assertEqual([h["host"] for h in self.doc["source"]["hosts"]], ["db1", "db2", "db3"])

    def test_each_class_is_advised_as_its_own_hosts_would_be(self):
        ssd, nvme = self.doc["host_classes"]
        alone = fleet.advise_fleet(self.nvme, refuse_to_summarise, created_utc=CREATED)
        self.assertEqual(nvme["classes"], alone["classes"])
        self.assertEqual(nvme["source"], alone["source"])
        pooled = fleet.advise_fleet(self.ssd, StandInSummary(), created_utc=CREATED)
        self.assertEqual(ssd["classes"], pooled["classes"])
        self.assertIs(entry(ssd)["direct_io"], True)
        self.assertIs(entry(nvme)["direct_io"], False)
        self.assertEqual((ssd["pooled_cells"], nvme["pooled_cells"]), (4, 0))

    def test_another_kernel_is_another_class(self):
        runs = [("db1/qd.json", host_doc("db1")), ("db2/qd.json", host_doc("db2", kernel="6.1.0-28-amd64"))]
        doc = fleet.advise_fleet(runs, refuse_to_summarise, created_utc=CREATED)
        self.assertEqual([c["kernel"] for c in doc["host_classes"]], [KERNEL, "6.1.0-28-amd64"])

    @unittest.skipIf(tomllib is None, "tomllib needs Python 3.11")
    def test_toml_parses_back_to_the_same_document(self):
        def without_none(value):
            if isinstance(value, dict):
                return {k: without_none(v) for k, v in value.items() if v is not None}
            if isinstance(value, list):
                return [without_none(v) for v in value]
            return value
        self.assertEqual(tomllib.loads(advice.to_toml(self.doc)), without_none(self.doc))

    def test_a_class_without_twins_is_named_in_the_error(self):
        buffered = [c for c in rand_read_cells(TIGHT) if c["mode"] == "buffered"]
        runs = self.nvme + [("db4/qd.json", host_doc("db4", SSD, cells=buffered))]
        with self.assertRaises(advice.AdviceError) as caught:
            fleet.advise_fleet(runs, refuse_to_summarise)
        self.assertIn(f"host class device model '{SSD}', kernel '{KERNEL}' (hosts db4)", str(caught.exception))
        self.assertIn("no direct/buffered twins", str(caught.exception))


class MissingFieldsTest(unittest.TestCase):
    def test_missing_model_and_kernel_read_unknown_and_are_never_pooled(self):
        a, b = host_doc("db1"), host_doc("db2", kernel="")
        del a["environment"]["device"]["model"]
        del b["environment"]["device"]
        a["environment"]["kernel"] = "unknown"
        doc = fleet.advise_fleet([("db1/qd.json", a), ("db2/qd.json", b)], refuse_to_summarise, created_utc=CREATED)
        self.assertEqual([(c["device_model"], c["kernel"], c["pooled"]) for c in doc["host_classes"]],
                         [("unknown", "unknown", False), ("unknown", "unknown", False)])
        note = doc["host_classes"][0]["note"]
        self.assertIn("device model 'unknown' and kernel 'unknown' does not show", note)
        self.assertIn("host db1 is decided on its own, not pooled with db2", note)
        for c in doc["host_classes"]:
            self.assertEqual(entry(c)["direct_io"], "unknown")  # Each host alone: two repetitions.

    def test_no_block_device_is_no_model_to_pool_by(self):
        runs = [(f"{h}/qd.json", host_doc(h, model="none")) for h in ("tmp1", "tmp2")]
        doc = fleet.advise_fleet(runs, refuse_to_summarise, created_utc=CREATED)
        self.assertEqual(len(doc["host_classes"]), 2)

    def test_one_host_with_unknown_fields_keeps_todays_document(self):
        doc = host_doc("db1", model="unknown")
        del doc["environment"]["hostname"]
        runs = [("db1/qd.json", doc)]
        self.assertEqual(fleet.advise_fleet(runs, refuse_to_summarise, created_utc=CREATED),
                         advice.advise(results.merge(runs)[0], runs, created_utc=CREATED))


class SettingsTest(unittest.TestCase):
    def test_hosts_measured_with_other_settings_are_decided_apart(self):
        runs = [("db1/qd.json", host_doc("db1")), ("db2/qd.json", host_doc("db2")),
                ("db3/qd.json", host_doc("db3", config={"runtime_ns": 2_000_000_000}))]
        summary = StandInSummary()
        doc = fleet.advise_fleet(runs, summary, created_utc=CREATED)
        self.assertEqual([[h["host"] for h in c["hosts"]] for c in doc["host_classes"]], [["db1", "db2"], ["db3"]])
        self.assertEqual({(c["device_model"], c["kernel"]) for c in doc["host_classes"]}, {(SSD, KERNEL)})
        first, second = (c["note"] for c in doc["host_classes"])
        self.assertIn("Host db3 is decided apart: config runtime_ns is 2000000000 in db3/qd.json (db3)", first)
        self.assertIn("Not pooled with db1, db2: config runtime_ns", second)
        self.assertIn("same settings on every host", second)
        self.assertEqual([len(c) for c in summary.calls], [4])  # db1 and db2 only.

    def test_settings_that_say_nothing_of_the_cells_do_not_split(self):
        runs = [("db1/qd.json", host_doc("db1", config={"filename": "/a/qd.dat", "seed": 1})),
                ("db2/qd.json", host_doc("db2", config={"filename": "/b/qd.dat", "seed": 2}))]
        [hc] = fleet.host_classes(runs)
        self.assertEqual(len(hc.hosts), 2)
        self.assertEqual(hc.note, "")

    def test_fio_crosscheck_merges_by_the_same_rule(self):
        from fio import crosscheck
        self.assertEqual(crosscheck.CONFIG_MUST_AGREE, ("filename",) + results.POOLED_SETTINGS)


class CliTest(unittest.TestCase):
    """`python3 -m report.guidance DIR... --advise OUT`, as `iodepth advise --results` runs it."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def matrix_dir(self, name, doc):
        path = os.path.join(self.tmp.name, name)
        os.makedirs(path)
        write_json(path, "qd-nocap.json", doc)
        write_json(path, "fio-crosscheck.json", doc)  # Not a matrix file: left out.
        return path

    def run_guidance(self, *args, env=None):
        return run_module("report.guidance", *args, env=env, timeout=120)

    def test_directories_of_two_classes_give_host_classes_in_json_and_toml(self):
        a = self.matrix_dir("a", host_doc("db1", SSD))
        b = self.matrix_dir("b", host_doc("db3", NVME))
        out = os.path.join(self.tmp.name, "advice.json")
        env = {k: v for k, v in os.environ.items() if k != "IODEPTH_BIN"}  # Nothing is pooled.
        result = self.run_guidance(a, b, "--advise", out, env=env)
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(out, encoding="utf-8") as f:
            doc = json.load(f)
        self.assertEqual(doc["version"], advice.FLEET_VERSION)
        self.assertEqual([c["source"]["files"] for c in doc["host_classes"]],
                         [[os.path.join(a, "qd-nocap.json")], [os.path.join(b, "qd-nocap.json")]])
        toml_out = os.path.join(self.tmp.name, "advice.toml")
        result = self.run_guidance(a, b, "--advise", toml_out, env=env)
        self.assertEqual(result.returncode, 0, result.stderr)
        if tomllib is not None:
            with open(toml_out, "rb") as f:
                self.assertEqual(len(tomllib.load(f)["host_classes"]), 2)

    def test_sentences_are_printed_per_host_class(self):
        a = self.matrix_dir("a", host_doc("db1", SSD))
        b = self.matrix_dir("b", host_doc("db3", NVME))
        result = self.run_guidance(a, b)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(f"host class device model '{SSD}', kernel '{KERNEL}' (hosts db1):", result.stdout)
        self.assertIn(f"host class device model '{NVME}', kernel '{KERNEL}' (hosts db3):", result.stdout)

    def test_pooling_without_the_summariser_says_what_to_run(self):
        a = self.matrix_dir("a", host_doc("db1"))
        b = self.matrix_dir("b", host_doc("db2"))
        env = {k: v for k, v in os.environ.items() if k != "IODEPTH_BIN"}
        result = self.run_guidance(a, b, "--advise", "-", env=env)
        self.assertEqual(result.returncode, 1)
        self.assertIn("error: pooling the repetitions of several hosts needs iodepth's own cell summary", result.stderr)
        self.assertIn("set IODEPTH_BIN", result.stderr)
        self.assertNotIn("Traceback", result.stderr)

    def test_a_directory_without_results_is_refused_with_what_to_give(self):
        empty = os.path.join(self.tmp.name, "empty")
        os.makedirs(empty)
        result = self.run_guidance(empty, "--advise", "-")
        self.assertEqual(result.returncode, 1)
        self.assertIn(f"{empty} holds no matrix results files", result.stderr)
        self.assertIn("`iodepth matrix --out DIR`", result.stderr)

    @unittest.skipUnless(os.environ.get("IODEPTH_BIN"), "IODEPTH_BIN (the iodepth binary) is not set")
    def test_pooled_by_the_real_summariser(self):
        a = self.matrix_dir("a", host_doc("db1", cells=rand_read_cells(HOST_A_FACTORS)))
        b = self.matrix_dir("b", host_doc("db2", cells=rand_read_cells(HOST_B_FACTORS)))
        result = self.run_guidance(a, b, "--advise", "-")
        self.assertEqual(result.returncode, 0, result.stderr)
        doc = json.loads(result.stdout)
        self.assertEqual([h["host"] for h in doc["source"]["hosts"]], ["db1", "db2"])
        e = entry(doc)
        self.assertIs(e["direct_io"], True)
        self.assertEqual(evidence_at(e, 16)["repetitions"], 4)

    @unittest.skipUnless(os.environ.get("IODEPTH_BIN"), "IODEPTH_BIN (the iodepth binary) is not set")
    def test_iodepth_advise_takes_directories_and_gives_the_module_its_own_summariser(self):
        a = self.matrix_dir("a", host_doc("db1", cells=rand_read_cells(HOST_A_FACTORS)))
        b = self.matrix_dir("b", host_doc("db2", cells=rand_read_cells(HOST_B_FACTORS)))
        c = self.matrix_dir("c", host_doc("db3", NVME))
        out = os.path.join(self.tmp.name, "fleet.json")
        # A stale IODEPTH_BIN in the caller's environment: the module must get the running binary.
        env = dict(os.environ, IODEPTH_BIN=os.path.join(self.tmp.name, "no-such-iodepth"))
        done = subprocess.run([os.environ["IODEPTH_BIN"], "advise", "--results", f"{a},{b},{c}", "--out", out],
                              capture_output=True, text=True, env=env, timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr)
        with open(out, encoding="utf-8") as f:
            doc = json.load(f)
        self.assertEqual([([h["host"] for h in hc["hosts"]], hc["pooled_cells"]) for hc in doc["host_classes"]],
                         [(["db1", "db2"], 4), (["db3"], 0)])


if __name__ == "__main__":
    unittest.main()
