"""The CLI's error messages, through the real binary: the layers below it say what failed
in their own terms (Status::WithSetting names the setting) and the CLI adds which flag to
change. Each case runs a command that must fail before measuring anything.

    IODEPTH_BIN=build/dev/cli/iodepth /usr/bin/python3 tests/cli/messages_check.py
"""

import os
import subprocess
import tempfile
import unittest

BIN = os.environ.get("IODEPTH_BIN", "")


@unittest.skipUnless(BIN and os.access(BIN, os.X_OK), "IODEPTH_BIN names no executable iodepth binary")
class MessagesTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory(dir=os.environ.get("IODEPTH_TEST_DIR"))
        self.addCleanup(self.dir.cleanup)

    def fail_with(self, *args):
        proc = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=60, cwd=self.dir.name)
        self.assertNotEqual(proc.returncode, 0, f"{args} succeeded; stderr: {proc.stderr}")
        return proc.stderr

    def test_block_size_not_a_multiple_of_the_alignment_names_bs_and_direct(self):
        err = self.fail_with("bench", "--filename=t.dat", "--size=1m", "--bs=1000", "--direct=1",
                             "--number_ios=4", "--engine=sync", "--iodepth=1")
        self.assertIn("block size 1000 is not a multiple of", err)
        self.assertIn("(change --bs, --direct=0)", err)

    def test_size_below_one_block_names_size_and_bs(self):
        err = self.fail_with("bench", "--filename=t.dat", "--size=4k", "--bs=8k", "--number_ios=4", "--engine=sync", "--iodepth=1")
        self.assertIn("smaller than one block", err)
        self.assertIn("(change --size, --bs)", err)

    def test_unknown_pattern_names_rw(self):
        err = self.fail_with("bench", "--filename=t.dat", "--size=1m", "--rw=sideways", "--number_ios=4")
        self.assertIn("sideways", err)

    def test_a_foreign_file_is_never_written_and_the_message_names_filename(self):
        path = os.path.join(self.dir.name, "own.dat")
        with open(path, "wb") as f:
            f.write(b"precious" * 131072)
        err = self.fail_with("bench", f"--filename={path}", "--size=1m", "--rw=write", "--number_ios=4",
                             "--engine=sync", "--iodepth=1")
        self.assertIn("was not made by iodepth", err)
        self.assertIn("(change --filename)", err)
        with open(path, "rb") as f:
            self.assertEqual(f.read(), b"precious" * 131072)

    def test_a_larger_size_than_a_foreign_file_names_size(self):
        path = os.path.join(self.dir.name, "small.dat")
        with open(path, "wb") as f:
            f.write(b"x" * 65536)
        err = self.fail_with("bench", f"--filename={path}", "--size=1m", "--number_ios=4", "--engine=sync", "--iodepth=1")
        self.assertIn("ask for 65536 bytes or less", err)
        self.assertIn("(change --size)", err)
        self.assertEqual(os.path.getsize(path), 65536)


if __name__ == "__main__":
    unittest.main()
