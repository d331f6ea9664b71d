"""Advice for a fleet: the results of several hosts, grouped into host classes, each class
decided once on the pooled repetitions of its hosts (`iodepth advise --results DIR,DIR...`,
a directory each host's `iodepth matrix --out` wrote, or its results files).

    inputs                      host     host class (device model, kernel)      advice
    hostA/qd-nocap.json ... ->  db1  -+
    hostB/qd-nocap.json ... ->  db2  -+-> ("Samsung SSD 990 PRO", "6.12.0")  -> classes (db1 + db2 pooled)
    hostC/qd-nocap.json ... ->  db3  ---> ("INTEL SSDPE2KX040T8", "6.12.0")  -> classes (db3)

Host: the hostname its results file records (environment.hostname); where none is recorded
(absent, "unknown", or a name every container has, such as "localhost"), the directory the
file lies in. A host's files merge as results.merge merges any files: a later file wins on
(id, memory_cap).

Host class: (environment.device.model, environment.kernel) as recorded, each "unknown" where
it is absent or not a string. A model or kernel that is "unknown" or "none" (no block device:
tmpfs) does not show that two hosts have the same device and kernel (a virtio disk and a zram
device both say "unknown"), so such hosts are never pooled: each is a host class of its own,
and its note says why.

Pooling, across the hosts of one class: a cell (id, memory_cap) measured on several hosts
becomes one cell holding all their repetitions, host after host, summarised again by
`iodepth summarise` (SummariseCell: median, cv and flags, the one summariser), its looks K the
largest of theirs. Twins stay paired: each host's direct and buffered twins (ratios.twin_key)
are first cut to the repetitions both have, as the paired interval's pairing does within one
host, so repetition i of the two pooled cells ran back to back on one host. More hosts give a
comparison more repetitions, and their spread widens its interval: a class whose hosts differ
comes out inconclusive more often, never falsely decided. Two hosts pool only where, for every
cell both measured, the files it came from agree on results.POOLED_SETTINGS (the rule
fio.crosscheck merges its runs by, less the file: another host has other paths); a host that
disagrees with every pool of its class so far starts a pool of its own, and both notes name the
setting and its two values. A memory-axis cell pools only with cells of the same cap (hosts with
other memory have other caps at one ratio: their points stay apart, and memory_budget reads
them both). Cells measured on one host are kept as they are.

Each pool (a host class, or the part of one its settings split off) is decided by
advice.advise, whose rules are the only ones. The document:

    one pool     advice.advise's document, version 3, unchanged; when it pools several hosts,
                 source.hosts ([{"host", "files"}]) names them and rules ends with FLEET_RULES
    several      {"schema", "version": 4, "created_utc", "source": {"files", "hosts"},
                 "rules" (advice.RULES + FLEET_RULES), "host_classes": [{"device_model",
                 "kernel", "hosts": [{"host", "files"}], "pooled", "pooled_cells", "note",
                 "source", "classes", "memory_budget"}]}: classes and memory_budget shaped as
                 in a version 3 document, so one host class's record is what an engine of
                 that class reads

Pure functions of the results, except summarise_with_iodepth (it runs `$IODEPTH_BIN summarise`,
which `iodepth advise` sets to itself); stdlib only.
"""

import json
import os
import subprocess
from dataclasses import dataclass, field
from functools import cached_property

from .advice import ADVICE_SCHEMA, FLEET_VERSION, RULES, AdviceError, advise, utc_now
from .compare import input_files
from .decide import looks_of_cell
from .ratios import twin_key
from .results import POOLED_SETTINGS, ResultsError, cell_key, is_ok, load_results, merge

# Values of a key field, or hostnames, that identify nothing (compared in lower case).
UNIDENTIFIED = ("unknown", "none")
ANONYMOUS_HOSTNAMES = ("unknown", "localhost", "localhost.localdomain")
# A summary of a few thousand cells takes well under a second; this only stops a hung child.
SUMMARISE_TIMEOUT_S = 300
# The fields a summary recomputes. Neither they nor the merge's marks ("_looks", ...: no results
# file holds them) go to iodepth summarise.
SUMMARY_FIELDS = ("median", "cv", "flags")
FLEET_RULES = [
    "Fleet: a host is the hostname its results record, else their directory. Hosts are grouped "
    "into host classes by the device model and kernel their results record; a class whose model "
    "or kernel is unknown (or none) is never pooled: one class per host.",
    "Pooling: a cell measured on several hosts of a class holds all their repetitions (each "
    "host's twins cut to the pairs both have, so pairs ran back to back on one host), summarised "
    "again by iodepth summarise, its looks the largest of theirs; hosts pool only where the files "
    "of every cell they share agree on the settings " + ", ".join(POOLED_SETTINGS) + ", else they "
    "are decided apart and the note says which setting differs.",
]


# ---------------------------------------------------------------- inputs


def load_inputs(paths):
    """The (path, doc) of every results file named: a file as given, a directory as the
    results files `iodepth matrix --out` wrote into it (compare.input_files). Raises
    ResultsError naming the input that is wrong and what to give instead."""
    runs = []
    for path in paths:
        if os.path.isdir(path):
            names, _ = input_files(path)  # Its fio cross-checks are runs of their own, not the matrix's.
            runs += [(p, load_results(p)) for p in (os.path.join(path, n) for n in names)]
        else:
            runs.append((path, load_results(path)))
    return runs


def recorded(value):
    """A recorded text field: stripped, or "unknown" where absent, empty or not a string."""
    return value.strip() if isinstance(value, str) and value.strip() else "unknown"


def identifies(value):
    return value.lower() not in UNIDENTIFIED


def class_key(doc):
    """(device model, kernel release) as the document's environment records them."""
    env = doc.get("environment") if isinstance(doc.get("environment"), dict) else {}
    device = env.get("device") if isinstance(env.get("device"), dict) else {}
    return recorded(device.get("model")), recorded(env.get("kernel"))


def host_of(path, doc):
    """The hostname recorded, else the directory holding the file."""
    env = doc.get("environment") if isinstance(doc.get("environment"), dict) else {}
    name = recorded(env.get("hostname"))
    if name.lower() not in ANONYMOUS_HOSTNAMES:
        return name
    return os.path.normpath(os.path.dirname(path) or ".")


# ---------------------------------------------------------------- host classes


@dataclass
class Host:
    """One host's results files of one host class (input order), their merged cells and,
    per cell (id, memory_cap), the file it came from (a later file wins, as in the merge)."""
    name: str
    runs: list = field(default_factory=list)

    # Read once the host's files are all known (host_classes has grouped every input).
    @cached_property
    def cells(self):
        return merge(self.runs)[0]

    @cached_property
    def origins(self):
        found = {}
        for path, doc in self.runs:
            for cell in doc["cells"]:
                found[cell_key(cell)] = (path, doc)
        return found


@dataclass
class HostClass:
    """The hosts decided together: a host class, or the part of one whose settings agree."""
    device_model: str
    kernel: str
    hosts: list
    notes: list = field(default_factory=list)

    @property
    def note(self):
        return " ".join(self.notes)

    def label(self):
        names = ", ".join(h.name for h in self.hosts)
        return f"host class device model {self.device_model!r}, kernel {self.kernel!r} (hosts {names})"


def host_classes(runs):
    """The HostClasses of (path, doc) pairs, in the order their first files were given."""
    groups = {}
    for path, doc in runs:
        hosts = groups.setdefault(class_key(doc), {})
        name = host_of(path, doc)
        hosts.setdefault(name, Host(name)).runs.append((path, doc))
    found = []
    for (model, kernel), hosts in groups.items():
        found += split_class(model, kernel, list(hosts.values()))
    return found


def names_text(hosts):
    return ", ".join(h.name for h in hosts)


def split_class(model, kernel, hosts):
    """The pools of one class's hosts (module docstring): one per host where the key does not
    identify a device and kernel, else by the settings the hosts' files agree on."""
    unknown = [f"{what} {value!r}" for what, value in (("device model", model), ("kernel", kernel))
               if not identifies(value)]
    if unknown and len(hosts) > 1:
        return [HostClass(model, kernel, [h], [
            f"The recorded {' and '.join(unknown)} does not show that hosts share a device and kernel, so "
            f"host {h.name} is decided on its own, not pooled with {names_text([o for o in hosts if o is not h])}."])
                for h in hosts]
    pools = []
    for host in hosts:
        conflicts = []
        for pool in pools:
            conflict = next((c for c in (settings_conflict(other, host) for other in pool.hosts) if c), None)
            if conflict is None:
                pool.hosts.append(host)
                break
            conflicts.append((pool, conflict))
        else:
            pools.append(HostClass(model, kernel, [host]))
            for pool, (other, text) in conflicts:
                pool.notes.append(f"Host {host.name} is decided apart: {text}.")
                pools[-1].notes.append(f"Not pooled with {names_text(pool.hosts)}: {text}.")
    return pools


def settings_of(doc):
    config = doc.get("config") if isinstance(doc.get("config"), dict) else {}
    return {key: json.dumps(config.get(key), sort_keys=True) for key in POOLED_SETTINGS}


def settings_conflict(a, b):
    """None when hosts a and b may pool (their files agree on every pooled setting, for every
    cell both measured), else (a, the first difference in words)."""
    theirs, mine = a.origins, b.origins
    checked = set()
    for key in theirs.keys() & mine.keys():
        (path_a, doc_a), (path_b, doc_b) = theirs[key], mine[key]
        if (path_a, path_b) in checked:
            continue
        checked.add((path_a, path_b))
        sa, sb = settings_of(doc_a), settings_of(doc_b)
        differ = [s for s in POOLED_SETTINGS if sa[s] != sb[s]]
        if differ:
            s = differ[0]
            return a, (f"config {s} is {sb[s]} in {path_b} ({b.name}) and {sa[s]} in {path_a} ({a.name}); "
                       "run the matrix with the same settings on every host to pool them")
    return None


# ---------------------------------------------------------------- pooling


def paired_lengths(cells):
    """{(id, memory_cap): repetitions to keep} for the measured direct/buffered twins among one
    host's cells: both cut to the shorter one, the pairs the paired interval would use."""
    groups = {}
    for c in cells:
        if is_ok(c) and c.get("mode") in ("direct", "buffered"):
            groups.setdefault(twin_key(c), []).append(c)
    keep = {}
    for group in groups.values():
        if {c["mode"] for c in group} == {"direct", "buffered"}:
            n = min(len(c.get("repetitions") or []) for c in group)
            keep.update((cell_key(c), n) for c in group)
    return keep


def pooled_cell(parts):
    """One cell of the repetitions of (cell, repetitions to keep or None) from several hosts,
    host after host, without its summary (for iodepth summarise) or the merge's marks."""
    first = parts[0][0]
    cell = {k: v for k, v in first.items() if not k.startswith("_") and k not in SUMMARY_FIELDS}
    cell["repetitions"] = [r for c, keep in parts for r in (c["repetitions"] if keep is None else c["repetitions"][:keep])]
    return cell


def marked(summarised, parts):
    """The summarised cell with the merge's marks: the largest looks of its parts, and the
    memory axis's (equal in every part: memory_ratio is a pooled setting)."""
    first = parts[0][0]
    marks = {k: v for k, v in first.items() if k.startswith("_")}
    marks["_looks"] = max(looks_of_cell(c) for c, _ in parts)
    return dict(summarised, **marks)


def pool_cells(hosts, summarise):
    """(cells, how many were pooled) of the hosts of one HostClass: each host's merged cells,
    a cell measured on several of them pooled (module docstring) and summarised by
    `summarise` (a list of cells -> the same cells with median, cv and flags), which is called
    only when there is something to pool."""
    if len(hosts) == 1:
        return hosts[0].cells, 0
    by_key = {}
    for host in hosts:
        cells = host.cells
        keep = paired_lengths(cells)
        for c in cells:
            by_key.setdefault(cell_key(c), []).append((c, keep.get(cell_key(c))))
    to_pool = {key: [(c, n) for c, n in parts if is_ok(c) and c.get("repetitions")] for key, parts in by_key.items()}
    to_pool = {key: parts for key, parts in to_pool.items() if len(parts) > 1}
    pooled = {}
    if to_pool:
        asked = [pooled_cell(parts) for parts in to_pool.values()]
        answers = summarise(asked)
        if not isinstance(answers, list) or [c.get("id") if isinstance(c, dict) else None
                                             for c in answers] != [c["id"] for c in asked]:
            raise ResultsError("iodepth summarise returned other cells than it was given; is IODEPTH_BIN an "
                               "iodepth binary of this version?")
        pooled = {key: marked(answer, parts) for (key, parts), answer in zip(to_pool.items(), answers)}
    cells = []
    for key, parts in by_key.items():
        ok = [c for c, _ in parts if is_ok(c)]
        cells.append(pooled.get(key) or (ok or [parts[0][0]])[0])
    return cells, len(pooled)


def summarise_with_iodepth(cells):
    """The cells as `$IODEPTH_BIN summarise -` writes them back (median, cv and flags by
    SummariseCell). Raises ResultsError saying what to do when the binary is not set, cannot
    run or fails."""
    binary = os.environ.get("IODEPTH_BIN")
    if not binary:
        raise ResultsError("pooling the repetitions of several hosts needs iodepth's own cell summary "
                           "(`iodepth summarise`): run `iodepth advise --results ...`, which gives it, or set "
                           "IODEPTH_BIN to the iodepth binary")
    command = [binary, "summarise", "-"]
    try:
        done = subprocess.run(command, input=json.dumps({"cells": cells}), capture_output=True, text=True,
                              timeout=SUMMARISE_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise ResultsError(f"cannot run {binary} summarise ({e}): set IODEPTH_BIN to the iodepth binary") from None
    if done.returncode != 0:
        raise ResultsError(f"{binary} summarise failed (exit status {done.returncode}): {done.stderr.strip()}")
    try:
        return json.loads(done.stdout)["cells"]
    except (ValueError, KeyError, TypeError):
        raise ResultsError(f"{binary} summarise wrote no {{\"cells\": [...]}} document; is IODEPTH_BIN an "
                           "iodepth binary?") from None


def pooled_classes(runs, summarise=summarise_with_iodepth):
    """[(HostClass, its cells, how many were pooled)] of (path, doc) pairs."""
    found = []
    for hc in host_classes(runs):
        cells, pooled = pool_cells(hc.hosts, summarise)
        found.append((hc, cells, pooled))
    return found


# ---------------------------------------------------------------- the document


def host_records(hosts):
    """[{"host", "files"}], a host named twice (its files in two classes) once."""
    files = {}
    for host in hosts:
        files.setdefault(host.name, []).extend(path for path, _ in host.runs)
    return [{"host": name, "files": paths} for name, paths in files.items()]


def class_record(hc, doc, pooled):
    return {"device_model": hc.device_model, "kernel": hc.kernel, "hosts": host_records(hc.hosts),
            "pooled": len(hc.hosts) > 1, "pooled_cells": pooled, "note": hc.note,
            "source": doc["source"], "classes": doc["classes"], "memory_budget": doc["memory_budget"]}


def advise_fleet(runs, summarise=summarise_with_iodepth, created_utc=None, working_set=None, memory=None):
    """The advice document (module docstring) of (path, doc) pairs from one host or many.
    Raises AdviceError (naming the host class when there are several) where a class's results
    cannot support advice, ResultsError where pooling cannot be summarised."""
    created = created_utc or utc_now()
    decided = []
    classes = pooled_classes(runs, summarise)
    for hc, cells, pooled in classes:
        files = [r for h in hc.hosts for r in h.runs]
        try:
            doc = advise(cells, files, created, working_set, memory)
        except AdviceError as e:
            raise AdviceError(str(e) if len(classes) == 1 else f"{hc.label()}: {e}") from None
        decided.append((hc, doc, pooled))
    if len(decided) == 1:
        hc, doc, _ = decided[0]
        if len(hc.hosts) > 1:
            doc["source"]["hosts"] = host_records(hc.hosts)
            doc["rules"] = doc["rules"] + FLEET_RULES
        return doc
    return {"schema": ADVICE_SCHEMA, "version": FLEET_VERSION, "created_utc": created,
            "source": {"files": [path for path, _ in runs],
                       "hosts": host_records([h for hc, _, _ in decided for h in hc.hosts])},
            "rules": RULES + FLEET_RULES,
            "host_classes": [class_record(hc, doc, pooled) for hc, doc, pooled in decided]}
