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

    def run_ok(self, *args):
        proc = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=120, cwd=self.dir.name)
        self.assertEqual(proc.returncode, 0, f"{args} failed; stderr: {proc.stderr}")
        return proc

    def test_a_users_table_of_another_shape_is_not_replaced_by_the_bm_suite(self):
        # Issue 13, case 2: `suite bm` used to replace it with a 4-column, seed-1 table.
        path = os.path.join(self.dir.name, "own.tbl")
        self.run_ok("load", f"--filename={path}", "--size=8MiB", "--seed=7", "--columns=6", "--engine=sync",
                    "--iodepth=1")
        with open(path, "rb") as f:
            before = f.read()
        err = self.fail_with("suite", "bm", f"--filename={path}", "--memory=1MiB", "--repetitions=1",
                             "--runtime=50ms", "--ramp_time=0", f"--json={self.dir.name}/bm.json")
        self.assertIn("refusing to replace", err)
        self.assertIn("6 columns, 8 KiB pages, seed 7", err)
        self.assertIn("4 columns, 8 KiB pages, seed 1", err)
        self.assertIn("--overwrite", err)
        with open(path, "rb") as f:
            self.assertEqual(f.read(), before)

    def test_load_replaces_another_shape_only_with_overwrite(self):
        path = os.path.join(self.dir.name, "t.tbl")
        self.run_ok("load", f"--filename={path}", "--rows=1000", "--seed=7", "--engine=sync", "--iodepth=1")
        err = self.fail_with("load", f"--filename={path}", "--rows=2000", "--engine=sync", "--iodepth=1")
        self.assertIn("1000 rows x 4 columns, 8 KiB pages, seed 7", err)
        self.assertIn("2000 rows x 4 columns, 8 KiB pages, seed 1", err)
        self.run_ok("load", f"--filename={path}", "--rows=2000", "--engine=sync", "--iodepth=1", "--overwrite")
        out = self.run_ok("scan", f"--table={path}", "--check", "--mode=sync", "--direct=0").stdout
        self.assertIn("MATCH", out)

    def test_a_table_cut_on_a_page_boundary_fails_its_check(self):
        # Issue 13, case 3: it used to pass `scan --check` as a smaller table.
        path = os.path.join(self.dir.name, "t.tbl")
        self.run_ok("load", f"--filename={path}", "--rows=5000", "--seed=3", "--engine=sync", "--iodepth=1")
        os.truncate(path, os.path.getsize(path) - 8192)
        err = self.fail_with("scan", f"--table={path}", "--check", "--mode=sync", "--direct=0")
        self.assertIn("without its trailer page", err)
        self.assertIn(path, err)

    def test_scan_checks_against_the_seed_the_table_records(self):
        path = os.path.join(self.dir.name, "t.tbl")
        self.run_ok("load", f"--filename={path}", "--rows=3000", "--seed=9", "--engine=sync", "--iodepth=1")
        out = self.run_ok("scan", f"--table={path}", "--check", "--mode=sync", "--direct=0",
                          "--output-format=json").stdout
        self.assertIn('"seed": 9', out)
        self.assertIn('"check": "MATCH"', out)
        err = self.fail_with("scan", f"--table={path}", "--check", "--seed=1", "--mode=sync", "--direct=0")
        self.assertIn("records that it was loaded with seed 9", err)

    def test_wal_in_a_missing_directory_names_directory(self):
        err = self.fail_with("wal", f"--directory={self.dir.name}/nowhere", "--committers=1", "--runtime=100ms")
        self.assertIn("is not a directory", err)
        self.assertIn("--directory", err)

    def test_wal_block_size_not_a_power_of_two_names_block_size(self):
        err = self.fail_with("wal", f"--directory={self.dir.name}", "--committers=1", "--block-size=3000",
                             "--runtime=100ms")
        self.assertIn("not a power of two", err)
        self.assertIn("--block-size", err)
        self.assertEqual(os.listdir(self.dir.name), [], "a refused run leaves nothing behind")

    def test_wal_measures_and_removes_its_log(self):
        out = self.run_ok("wal", f"--directory={self.dir.name}", "--committers=1,4", "--runtime=100ms",
                          "--ramp_time=20ms", "--output-format=json").stdout
        self.assertIn('"commits_per_s"', out)
        self.assertEqual(os.listdir(self.dir.name), [], "the log directory is removed afterwards")

    def test_compare_says_which_input_is_not_a_matrix_directory_and_what_to_give(self):
        run = os.path.join(self.dir.name, "run")
        os.mkdir(run)
        err = self.fail_with("compare", run, run)
        self.assertIn(f"iodepth compare: error: {run} holds no results files (*.json)", err)
        self.assertIn(f"`iodepth matrix --out {run} --collect`", err)
        self.assertIn("give two or more directories", self.fail_with("compare", run))
        # A .json that is not one of the matrix's files: report.compare says so.
        notes = os.path.join(run, "notes.json")
        with open(notes, "w", encoding="utf-8") as f:
            f.write("{}")
        err = self.fail_with("compare", run, run)
        self.assertIn(f"{run} holds no matrix results files (<suite>-<cap>.json", err)
        self.assertIn("report.compare failed", err)
        err = self.fail_with("compare", run, notes)
        self.assertIn(f"iodepth compare: error: {notes} is not a directory", err)
        self.assertIn("name the directory `iodepth matrix --out DIR` wrote", err)
        self.assertIn("nowhere does not exist", self.fail_with("compare", run, os.path.join(self.dir.name, "nowhere")))

if __name__ == "__main__":
    unittest.main()
