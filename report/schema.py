"""Validates iodepth results documents against schema/results.schema.json.

schema/results.schema.json is the one definition of the results format (docs/BENCHMARKS.md,
"Results file"): the C++ writer is tested against it (ctest results_schema_check) and this
module applies it in Python. Nothing here restates the format: required keys, types, enums,
bounds and the supported schema versions are all read from that file, so a change to the
format is made there and nowhere else. What a schema cannot say (cross-cell rules, such as
a crosscheck naming a cell of its file) belongs to the reader that needs it.

    validate(document, source)   raises InvalidResults naming source, the JSON path of the
                                 first bad field, what is wrong with it and what to do
    validate_file(path)          reads, parses and validates one file; returns the document

The schema is loaded once per process and cached. Validation needs python3-jsonschema
(Debian; 4.10 or newer for draft 2020-12): where it is missing, SchemaUnavailable says how
to install it.

As a command, `python3 -m report.schema PATH...` (from the repository root) validates each
file, or every *.json in each directory, prints one line per file, and exits 1 if any is
invalid or unreadable (2 when the schema itself cannot be used).
"""

import functools
import json
import os
import re
import sys

SCHEMA_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           "schema", "results.schema.json")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# How many problems a message lists before it only counts the rest; one is what a person
# fixes first, a few more show whether it is one mistake or a file of another shape.
_MAX_PROBLEMS_SHOWN = 3


class SchemaUnavailable(Exception):
    """The schema cannot be used here (python3-jsonschema missing, schema file unreadable)."""


class InvalidResults(ValueError):
    """A document that does not follow the results schema; str() is the whole message.

    Attributes: source (the file or other origin named in the message), problems (a list
    of (json_path, what_is_wrong) pairs, most useful first)."""

    def __init__(self, message, source, problems):
        super().__init__(message)
        self.source = source
        self.problems = problems


@functools.lru_cache(maxsize=1)
def _read_schema():
    """The parsed SCHEMA_PATH, read once; raises SchemaUnavailable. Needs no jsonschema, so
    what only reads the schema (supported_versions, a --help text) works without it."""
    try:
        with open(SCHEMA_PATH, encoding="utf-8") as f:
            return json.load(f)
    except OSError as e:
        raise SchemaUnavailable(f"cannot read the results schema {SCHEMA_PATH}: {e.strerror}") from None
    except ValueError as e:
        raise SchemaUnavailable(f"the results schema {SCHEMA_PATH} is not valid JSON: {e}") from None


@functools.lru_cache(maxsize=1)
def _load():
    """(schema, validator) for SCHEMA_PATH, checked once; raises SchemaUnavailable."""
    try:
        import jsonschema
    except ImportError:
        raise SchemaUnavailable("validating iodepth results files needs python3-jsonschema; "
                                "install it with: apt-get install python3-jsonschema") from None
    schema = _read_schema()
    cls = jsonschema.validators.validator_for(schema, default=None)
    if cls is None:
        raise SchemaUnavailable(f"this python3-jsonschema ({_jsonschema_version()}) does not know the "
                                f"draft {schema.get('$schema')!r} of {SCHEMA_PATH}; "
                                "install python3-jsonschema 4.10 or newer")
    try:
        cls.check_schema(schema)
    except jsonschema.exceptions.SchemaError as e:
        raise SchemaUnavailable(f"the results schema {SCHEMA_PATH} is itself invalid: {e.message}") from None
    return schema, cls(schema)


def _jsonschema_version():
    try:
        from importlib import metadata
        return metadata.version("jsonschema")
    except Exception:  # Any failure only loses a detail of a message.
        return "unknown version"


def supported_versions():
    """The schema_version values the schema accepts, oldest first (read from the schema; needs
    no python3-jsonschema). Raises SchemaUnavailable when the schema file cannot be read."""
    return sorted(_read_schema()["properties"]["schema_version"]["enum"])


def validate(document, source):
    """Returns None if `document` (parsed JSON) follows the results schema; else raises
    InvalidResults naming `source` (a path, or any text saying where it came from).
    Raises SchemaUnavailable when the schema cannot be used."""
    _, validator = _load()
    errors = list(validator.iter_errors(document))
    if not errors:
        return
    errors.sort(key=_priority)
    problems = [_describe(_specific(e)) for e in errors]
    shown = [f"  {path}: {what}" for path, what in problems[:_MAX_PROBLEMS_SHOWN]]
    if len(problems) > _MAX_PROBLEMS_SHOWN:
        shown.append(f"  ... and {len(problems) - _MAX_PROBLEMS_SHOWN} more")
    message = (f"{source} is not a valid iodepth results file "
               f"(schema/results.schema.json):\n" + "\n".join(shown) + "\n" + _advice(document))
    raise InvalidResults(message, source, problems)


def _refuse_constant(name):
    """NaN, Infinity and -Infinity are not JSON (Python reads them unless told not to); no
    iodepth writer emits them, and a number that is none would pass every range check."""
    raise ValueError(f"{name} is not a number JSON allows (iodepth never writes it)")


def _finite_float(text):
    """A JSON number too large for a double (1e999) would read as infinity: refused."""
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{text} is out of the range of a number (iodepth never writes it)")
    return value


def validate_file(path):
    """Reads and validates the results file at `path`; returns its document.
    Raises InvalidResults (also for an unreadable file or invalid JSON) or SchemaUnavailable."""
    try:
        with open(path, encoding="utf-8") as f:
            document = json.load(f, parse_constant=_refuse_constant, parse_float=_finite_float)
    except OSError as e:
        raise InvalidResults(f"cannot read {path}: {e.strerror}", path, []) from None
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise InvalidResults(f"{path} is not valid JSON: {e}", path, []) from None
    validate(document, path)
    return document


# ---------------------------------------------------------------- messages

def json_path(parts):
    """["cells", 3, "median", "iops"] -> 'cells[3].median.iops'; keys that are not
    identifiers are quoted: 'clat_ns.percentile["95.000000"]'."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _IDENTIFIER.fullmatch(part):
            text += ("." if text else "") + part
        else:
            text += f"[{json.dumps(part)}]"
    return text or "(the document itself)"


def _priority(error):
    """Sort key: the document's identity first ("schema", "schema_version": when those are
    wrong nothing else is meaningful), then a field's own type, bound or enum before the
    consistency rules between fields (the schema's if/then: a direct cell's cache_state),
    each in document order."""
    path = list(error.absolute_path)
    identity = bool(path) and path[0] in ("schema", "schema_version")
    conditional = any(part in ("then", "else") for part in error.absolute_schema_path)
    return (not identity, conditional, [(isinstance(p, int), p) for p in path])


def _specific(error):
    """The most specific error under an anyOf/oneOf failure: the deepest of its alternatives'
    errors when one reaches further into the document than the failure itself (a negative
    count inside a nullable record), else the failure itself."""
    while error.context:
        deepest = max(error.context, key=lambda e: len(e.absolute_path))
        if len(deepest.absolute_path) <= len(error.absolute_path):
            break
        error = deepest
    return error


def _describe(error):
    """(json path, what is wrong) for one error; the path names the missing or unexpected
    key itself, and the field's description from the schema is added when it has one."""
    path = list(error.absolute_path)
    what = error.message
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [k for k in error.validator_value if k not in error.instance]
        # jsonschema reports each missing key as an error of its own, its message starting
        # with the key's repr: name that key, not the first missing one every time.
        named = [k for k in missing if error.message.startswith(repr(k))]
        if missing:
            path.append((named or missing)[0])
            what = "missing (a required field)"
    elif error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = set((error.schema.get("properties") or {}).keys())
        unexpected = sorted(k for k in error.instance if k not in known)
        if unexpected:
            path.append(unexpected[0])
            what = "not a field of this record (the schema does not allow unknown fields here)"
    description = error.schema.get("description") if isinstance(error.schema, dict) else None
    if description and error.validator not in ("required", "additionalProperties"):
        what += f" ({description})"
    return json_path(path), what


def _advice(document):
    """What to do, from the document's own schema_version and the versions the schema reads."""
    versions = supported_versions()
    readable = f"{versions[0]} to {versions[-1]}" if len(versions) > 1 else f"{versions[0]}"
    version = document.get("schema_version") if isinstance(document, dict) else None
    if isinstance(document, dict) and document.get("schema") != "iodepth-results":
        return ('Its "schema" is not "iodepth-results": it is not an iodepth results file; '
                "give `iodepth report` the JSON files `iodepth suite` or `iodepth matrix` wrote.")
    if isinstance(version, int) and not isinstance(version, bool) and version > versions[-1]:
        return (f"It is schema_version {version}, newer than this iodepth reads ({readable}): "
                "upgrade iodepth (this checkout's report/ and schema/) to read it.")
    if isinstance(version, int) and not isinstance(version, bool) and version < versions[0]:
        return (f"It is schema_version {version}, older than this iodepth reads ({readable}): "
                "regenerate it with this iodepth (rerun the suite, or `iodepth matrix --collect` "
                "in its matrix directory, which rewrites the files from the journal).")
    return ("Regenerate it with iodepth (rerun the suite, or `iodepth matrix --collect` in its "
            "matrix directory); if it is newer than this checkout, upgrade iodepth. A file edited "
            "by hand or written by another tool must follow schema/results.schema.json.")


# ---------------------------------------------------------------- command

def _files_of(paths):
    """Each path as given, or for a directory its *.json files, sorted; raises
    InvalidResults for a directory with none (a check of nothing must not pass)."""
    files = []
    for path in paths:
        if os.path.isdir(path):
            found = sorted(os.path.join(path, n) for n in os.listdir(path) if n.endswith(".json"))
            if not found:
                raise InvalidResults(f"{path}: no *.json results files in this directory", path, [])
            files += found
        else:
            files.append(path)
    return files


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python3 -m report.schema PATH...\n"
              "Validates iodepth results files (or every *.json in a directory) against "
              "schema/results.schema.json.", file=sys.stderr if not argv else sys.stdout)
        return 2 if not argv else 0
    try:
        _load()
        files = _files_of(argv)
    except SchemaUnavailable as e:
        print(f"report.schema: {e}", file=sys.stderr)
        return 2
    except InvalidResults as e:
        print(f"report.schema: {e}", file=sys.stderr)
        return 1
    failed = 0
    for path in files:
        try:
            document = validate_file(path)
        except InvalidResults as e:
            print(f"invalid: {e}", file=sys.stderr)
            failed += 1
            continue
        print(f"valid: {path} (schema_version {document['schema_version']}, {len(document['cells'])} cells)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
