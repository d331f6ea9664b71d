"""Every local link and image in README.md and docs/*.md points at a file git tracks, so
the docs render whole from a clean clone (a picture in an ignored folder renders nowhere
but on the machine that made it).

    /usr/bin/python3 -m unittest discover -s tests/layout -p "*_test.py"
"""

import os
import re
import subprocess
import tempfile
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# [text](target) and ![alt](target); the target ends at whitespace, ')' or '#'.
LINK = re.compile(r"\]\(([^)#\s]+)")


def tracked_files(repo):
    """The paths git tracks, or None when `repo` is no git checkout (a source tarball)."""
    try:
        out = subprocess.run(["git", "-C", repo, "ls-files", "-z"], capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return set(out.decode("utf-8", "replace").split("\0")) - {""}


def broken_links(repo, tracked):
    """'doc:line -> target' for each local link whose target git does not track."""
    broken = []
    docs = sorted(f for f in tracked if f == "README.md" or (f.startswith("docs/") and f.endswith(".md")))
    for doc in docs:
        with open(os.path.join(repo, doc), encoding="utf-8", errors="replace") as f:
            text = f.read()
        for match in LINK.finditer(text):
            target = match.group(1)
            if "://" in target or target.startswith("mailto:"):
                continue
            path = os.path.normpath(os.path.join(os.path.dirname(doc), target))
            if path in tracked or any(t.startswith(path + "/") for t in tracked):
                continue
            line = text.count("\n", 0, match.start()) + 1
            broken.append(f"{doc}:{line} -> {target}")
    return broken


class DocsLinksTest(unittest.TestCase):
    def test_every_local_link_points_at_a_tracked_file(self):
        tracked = tracked_files(REPO)
        if tracked is None:
            self.skipTest("not a git checkout: which files are tracked is unknown")
        broken = broken_links(REPO, tracked)
        self.assertEqual(broken, [], "links to files git does not track (commit them or fix the link):\n"
                         + "\n".join(broken))

    def test_a_link_to_an_untracked_file_is_reported_with_its_line(self):
        with tempfile.TemporaryDirectory() as repo:
            os.makedirs(os.path.join(repo, "docs"))
            with open(os.path.join(repo, "docs", "A.md"), "w") as f:
                f.write("# A\n\n![plot](results/p.png) [b](B.md#top) [web](https://x.org/y)\n[dir](results)\n")
            with open(os.path.join(repo, "docs", "B.md"), "w") as f:
                f.write("# B\n")
            tracked = {"docs/A.md", "docs/B.md"}
            self.assertEqual(broken_links(repo, tracked), ["docs/A.md:3 -> results/p.png", "docs/A.md:4 -> results"])
            tracked |= {"docs/results/p.png"}
            self.assertEqual(broken_links(repo, tracked), [])


if __name__ == "__main__":
    unittest.main()
