"""The layer rule, checked on the source: a layer includes only its own headers and those
of the layers it links (directly or through them), as src/CMakeLists.txt declares them
with iodepth_layer(<name> ... DEPS <lower layers>). The build enforces the same rule (each
layer sees only the include roots of what it links); this check names the file and line
and also catches what a compiler would let through ("../" includes).

    /usr/bin/python3 -m unittest discover -s tests/layout -p "*_test.py"
"""

import os
import re
import tempfile
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SRC = os.path.join(REPO, "src")
LAYER_CALL = re.compile(r"^iodepth_layer\((\w+)(.*?)\)\s*$", re.MULTILINE | re.DOTALL)
INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*"([^"]+)"', re.MULTILINE)
KEYWORDS = {"SOURCES", "DEPS", "PRIVATE_LIBS", "INTERNAL_HEADERS"}


def declared_layers(cmake_text):
    """{layer: [direct deps]} from the iodepth_layer() calls, in declaration order."""
    layers = {}
    for name, body in LAYER_CALL.findall(cmake_text):
        words = body.split()
        deps, section = [], None
        for word in words:
            if word in KEYWORDS:
                section = word
            elif section == "DEPS":
                deps.append(word)
        layers[name] = deps
    return layers


def reachable(layers):
    """{layer: set of layers whose headers it may include}: itself and all it links."""
    closure = {}

    def visit(name, trail):
        if name in closure:
            return closure[name]
        if name in trail:
            raise ValueError("layer cycle: " + " -> ".join(trail + [name]))
        if name not in layers:
            raise ValueError(f"layer {trail[-1]} links {name}, which src/CMakeLists.txt does not declare")
        seen = {name}
        for dep in layers[name]:
            seen |= visit(dep, trail + [name])
        closure[name] = seen
        return seen

    for name in layers:
        visit(name, [])
    return closure


def violations(src_dir, layers):
    """'file:line: message' for every include that reaches outside what its layer links."""
    allowed = reachable(layers)
    found = []
    for layer in sorted(os.listdir(src_dir)):
        folder = os.path.join(src_dir, layer)
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            if not name.endswith((".h", ".cc")):
                continue
            path = os.path.join(folder, name)
            shown = os.path.relpath(path, os.path.dirname(src_dir))
            if layer not in layers:
                found.append(f"{shown}:1: src/{layer}/ is no layer of src/CMakeLists.txt; declare it with iodepth_layer()")
                continue
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            for match in INCLUDE.finditer(text):
                target = match.group(1)
                line = text.count("\n", 0, match.start()) + 1
                top = target.split("/", 1)[0]
                if ".." in target.split("/"):
                    found.append(f"{shown}:{line}: #include \"{target}\" climbs out of its folder; include "
                                 "\"<layer>/<header>\"")
                elif "/" not in target:
                    found.append(f"{shown}:{line}: #include \"{target}\" names no layer; include \"{layer}/{target}\"")
                elif top not in allowed[layer]:
                    found.append(f"{shown}:{line}: #include \"{target}\": {layer}/ does not link {top}/ "
                                 f"(it may include {', '.join(sorted(allowed[layer]))})")
    return found


class LayerRuleTest(unittest.TestCase):
    def test_every_include_stays_within_the_layers_it_links(self):
        with open(os.path.join(SRC, "CMakeLists.txt"), encoding="utf-8") as f:
            layers = declared_layers(f.read())
        self.assertIn("common", layers)
        self.assertEqual(layers["common"], [])
        problems = violations(SRC, layers)
        self.assertEqual(problems, [], "\n" + "\n".join(problems))

    def test_an_upward_include_is_named_with_its_file_and_line(self):
        layers = declared_layers("iodepth_layer(common SOURCES a.cc)\niodepth_layer(io SOURCES b.cc DEPS common)\n")
        with tempfile.TemporaryDirectory() as src:
            os.makedirs(os.path.join(src, "common"))
            os.makedirs(os.path.join(src, "io"))
            with open(os.path.join(src, "common", "a.cc"), "w") as f:
                f.write('#include "common/a.h"\n\n#include "io/b.h"\n')
            with open(os.path.join(src, "io", "b.cc"), "w") as f:
                f.write('#include "io/b.h"\n#include "common/a.h"\n#include "../common/a.h"\n')
            problems = violations(src, layers)
        base = os.path.basename(src)
        self.assertEqual(problems, [
            f'{base}/common/a.cc:3: #include "io/b.h": common/ does not link io/ (it may include common)',
            f'{base}/io/b.cc:3: #include "../common/a.h" climbs out of its folder; include "<layer>/<header>"'])

    def test_a_cycle_or_an_undeclared_layer_is_refused(self):
        with self.assertRaisesRegex(ValueError, "cycle"):
            reachable({"a": ["b"], "b": ["a"]})
        with self.assertRaisesRegex(ValueError, "does not declare"):
            reachable({"a": ["nowhere"]})

    def test_multiline_declarations_are_read(self):
        layers = declared_layers("iodepth_layer(io\n  SOURCES a.cc\n          b.cc\n  DEPS sys\n"
                                 "  PRIVATE_LIBS PkgConfig::LIBURING)\n")
        self.assertEqual(layers, {"io": ["sys"]})


if __name__ == "__main__":
    unittest.main()
