"""The report's opening: its title and question, then where the numbers came from (the results
files, each file's configuration, the environment it ran in).
"""

from .markdown import flatten, key_value_table, md_table

# The machine counts as loaded when everything but iodepth kept more than this many CPUs busy
# on average while it measured (environment.load.other_cpus). On this project's idle 2-CPU
# machine the figure is 0.00-0.05: system daemons, the kernel's writeback. A quarter of a
# CPU taken away from a benchmark that is CPU-bound at high depth moves its figures by more
# than the equivalence margins.
LOADED_OTHER_CPUS = 0.25


def title_section():
    return ["# iodepth report", "",
            "Does direct I/O (O_DIRECT) catch up with buffered I/O as queue depth grows? "
            "Every metric is defined in docs/BENCHMARKS.md."]


def load_warning(load, cpus):
    """Why the machine counts as loaded while it measured, or None. other_cpus (the CPU time of
    everything but iodepth over the run) decides where it was measured; older files have only
    the 1-minute load average, which counts iodepth's own threads blocked on I/O too (a worker
    pool at depth 128 adds about 128), so it warns only above the CPU count and says so."""
    other = load.get("other_cpus")
    if isinstance(other, (int, float)) and not isinstance(other, bool):
        if other <= LOADED_OTHER_CPUS:
            return None
        seconds = load.get("measured_s")
        over = f" over {seconds} s" if isinstance(seconds, (int, float)) else ""
        return (f"other processes kept {other:.2f} CPUs busy on average{over} while it measured (more than "
                f"{LOADED_OTHER_CPUS}): a loaded machine changes the answer, not only the numbers.")
    average = load.get("loadavg_1m")
    try:
        loaded = average is not None and cpus and float(average) > float(cpus)
    except (TypeError, ValueError):
        loaded = False
    if not loaded:
        return None
    return (f"the 1-minute load average was {average}, above the {cpus} CPUs: a loaded machine changes the "
            "answer, not only the numbers. (This file predates other_cpus, and the load average counts "
            "iodepth's own threads waiting on I/O too: with the worker backend at high depth it can be "
            "iodepth alone.)")


def environment_warnings(runs):
    """Warnings a reader must see before any number: data on memory, a loaded machine, a partial suite."""
    out = []
    for path, doc in runs:
        env = doc.get("environment") or {}
        kind = env.get("storage_kind") if isinstance(env.get("storage_kind"), dict) else {}
        if kind.get("kind") == "memory":
            out.append(f"**Warning** ({path}): the data file is on memory ({kind.get('reason') or 'no reason given'}): "
                       "O_DIRECT there measures memory copies, not a device.")
        load = env.get("load") if isinstance(env.get("load"), dict) else {}
        others = load.get("other_measurers") or []
        if others:
            out.append(f"**Warning** ({path}): other measurers ran at the same time (pids "
                       f"{', '.join(map(str, others))}): they share the device and the CPUs.")
        warning = load_warning(load, env.get("cpu_count"))
        if warning:
            out.append(f"**Warning** ({path}): {warning}")
        partial = (doc.get("config") or {}).get("partial")
        if isinstance(partial, dict):
            out.append(f"**Warning** ({path}): a partial suite ({partial.get('why') or 'not finished'}): "
                       f"{partial.get('rounds_done', '?')} of {partial.get('rounds_asked', '?')} rounds of "
                       "repetitions finished, so its cells have fewer repetitions than asked.")
    return out


def header_section(runs):
    warnings = environment_warnings(runs)
    out = (["", "## Warnings", ""] + [f"- {w}" for w in warnings] if warnings else []) + ["", "## Sources", ""]
    out.append(md_table(["file", "suite", "created (UTC)", "command", "iodepth", "commit", "cells"], [
        [path, (doc.get("config") or {}).get("suite", "?"), doc.get("created_utc", "?"),
         f"`{doc.get('command', '?')}`", doc.get("iodepth_version", "?"),
         doc.get("git_commit", "?"), len(doc["cells"])] for path, doc in runs]))
    if len(runs) > 1:
        out += ["", "Cells are merged by (id, memory cap); where two files hold the same id under "
                "the same cap, the later file wins."]
    for path, doc in runs:
        title = "## Configuration" if len(runs) == 1 else f"## Configuration of {path}"
        out += ["", title, "", key_value_table(doc.get("config") or {})]
    environments = [doc.get("environment") or {} for _, doc in runs]
    if all(env == environments[0] for env in environments):
        out += ["", "## Environment", "", key_value_table(environments[0])]
        return out
    # Files of one run differ in a few fields (the data file, its mount): the first in
    # full, then only what differs, so the report does not repeat the machine per file.
    out += ["", f"## Environment of {runs[0][0]}", "", key_value_table(environments[0])]
    base = dict(flatten(environments[0]))
    for (path, _), env in zip(runs[1:], environments[1:]):
        rows = dict(flatten(env))
        differing = [[key, rows.get(key, "(absent)")] for key in sorted(set(rows) | set(base))
                     if rows.get(key) != base.get(key)]
        out += ["", f"### Environment of {path}: what differs", "",
                md_table(["key", "value"], differing) if differing else "Nothing: the same environment."]
    return out
