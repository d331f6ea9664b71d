"""The public-header rule, checked on the source: src/CMakeLists.txt names each layer's
INTERNAL_HEADERS (not installed); every other header of src/<layer>/ is installed as the
layer's interface. A header is internal exactly when no file outside its layer (another
layer, cli/) includes it and no public header of its layer does: one only its own .cc files
include. Both ways fail here: an internal header another layer includes (the install would
miss it), and a header only its own layer's .cc files include but not declared internal.

    /usr/bin/python3 -m unittest discover -s tests/layout -p "*_test.py"
"""

import os
import re
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAYER_CALL = re.compile(r"^iodepth_layer\((\w+)(.*?)\)\s*$", re.MULTILINE | re.DOTALL)
INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*"([^"]+)"', re.MULTILINE)
KEYWORDS = {"SOURCES", "DEPS", "PRIVATE_LIBS", "INTERNAL_HEADERS"}


def declared_internal(cmake_text):
    """{layer: set of header names} from the INTERNAL_HEADERS of the iodepth_layer() calls."""
    internal = {}
    for name, body in LAYER_CALL.findall(cmake_text):
        section, names = None, set()
        for word in body.split():
            if word in KEYWORDS:
                section = word
            elif section == "INTERNAL_HEADERS":
                names.add(word)
        internal[name] = names
    return internal


def includes(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return INCLUDE.findall(f.read())


def computed_internal(repo):
    """{layer: headers the rule makes internal}: those neither included from outside their
    layer (src/, cli/) nor reachable from a public header of their layer."""
    src = os.path.join(repo, "src")
    headers, outside = {}, set()
    for layer in sorted(os.listdir(src)):
        folder = os.path.join(src, layer)
        if os.path.isdir(folder):
            headers[layer] = {n for n in os.listdir(folder) if n.endswith(".h")}
    for top in ("src", "cli"):
        for root, _, names in os.walk(os.path.join(repo, top)):
            for name in names:
                if not name.endswith((".h", ".cc")):
                    continue
                path = os.path.join(root, name)
                here = os.path.relpath(path, src).split(os.sep)[0] if top == "src" else "cli"
                outside |= {t for t in includes(path) if t.split("/", 1)[0] != here}
    public = {f"{layer}/{h}" for layer, names in headers.items() for h in names} & outside
    todo = list(public)
    while todo:  # What a public header includes of its own layer is public too.
        target = todo.pop()
        for child in includes(os.path.join(src, target)):
            if child.split("/", 1)[0] == target.split("/", 1)[0] and child not in public:
                public.add(child)
                todo.append(child)
    return {layer: {h for h in names if f"{layer}/{h}" not in public} for layer, names in headers.items()}


class PublicHeaderRuleTest(unittest.TestCase):
    def test_internal_headers_are_exactly_those_only_their_layer_includes(self):
        with open(os.path.join(REPO, "src", "CMakeLists.txt"), encoding="utf-8") as f:
            declared = declared_internal(f.read())
        computed = computed_internal(REPO)
        for layer in sorted(computed):
            with self.subTest(layer=layer):
                self.assertEqual(sorted(declared.get(layer, set())), sorted(computed[layer]),
                                 f"src/CMakeLists.txt iodepth_layer({layer} ... INTERNAL_HEADERS ...) must name the "
                                 "headers that only src/" + layer + "/*.cc include")

    def test_no_internal_header_is_named_as_detail(self):
        # Anything spelled as internal or detail never ships, whoever includes it.
        for layer, names in computed_internal(REPO).items():
            folder = os.path.join(REPO, "src", layer)
            for name in os.listdir(folder):
                if name.endswith(".h") and ("_internal" in name or "detail" in name):
                    self.assertIn(name, names, f"src/{layer}/{name} is named internal but is included outside")

    def test_internal_headers_are_read_from_multiline_declarations(self):
        text = "iodepth_layer(io\n  SOURCES a.cc\n  DEPS sys\n  PRIVATE_LIBS X\n  INTERNAL_HEADERS a.h\n   b.h)\n"
        self.assertEqual(declared_internal(text), {"io": {"a.h", "b.h"}})


if __name__ == "__main__":
    unittest.main()
