"""scripts/fast-device.sh: a command runs with its data on a new zram device, which is gone
afterwards however the command ends; devices it did not make are used as they are or refused.

Run by ctest (fast_device_check) with IODEPTH_BIN set to the built `iodepth`:
    IODEPTH_BIN=build/dev/cli/iodepth /usr/bin/python3 tests/scripts/fast_device_check.py

Needs root and zram (the module loaded, or loadable): skipped, with the reason, elsewhere.
No test asserts on speed.
"""

import glob
import json
import os
import signal
import subprocess
import tempfile
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "scripts", "fast-device.sh")
BIN = os.environ.get("IODEPTH_BIN", "")
CONTROL = "/sys/class/zram-control"


def zram_missing():
    """Why these tests cannot run here, or "" when they can."""
    if os.geteuid() != 0:
        return "needs root to set up a block device"
    if not os.path.isdir(CONTROL):
        subprocess.run(["modprobe", "zram", "num_devices=0"], capture_output=True, check=False)
    if not os.path.isdir(CONTROL):
        return f"no zram with hot_add here ({CONTROL} missing, modprobe zram failed)"
    return ""


def zram_devices():
    return sorted(os.path.basename(p) for p in glob.glob("/sys/block/zram*"))


def fast_mounts():
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        return [line.split()[4] for line in f if "/iodepth-fast." in line.split()[4]]


def run(args, timeout=120):
    return subprocess.run([SCRIPT, *args], capture_output=True, text=True, timeout=timeout, check=False)


@unittest.skipIf(zram_missing(), zram_missing())
class FastDeviceTest(unittest.TestCase):
    def setUp(self):
        self.devices = zram_devices()

    def assert_released(self):
        self.assertEqual(zram_devices(), self.devices, "a zram device this script made is still there")
        self.assertEqual(fast_mounts(), [], "its mount is still there")

    def test_the_command_runs_on_a_new_ext4_zram_and_its_exit_status_is_returned(self):
        done = run(["--size", "64M", "--", "sh", "-c",
                    'findmnt -n -o SOURCE,FSTYPE --target "$IODEPTH_TMPDIR"; echo "arg {dir}"; exit 3'])
        self.assertEqual(done.returncode, 3, done.stderr)
        source, fstype = done.stdout.splitlines()[0].split()
        self.assertRegex(source, r"^/dev/zram[0-9]+$")
        self.assertNotIn(os.path.basename(source), self.devices, "it used a device it did not make")
        self.assertEqual(fstype, "ext4")
        self.assertRegex(done.stdout, r"arg /run/iodepth-fast\.\S+")
        self.assertIn("emulated fast device", done.stderr)
        self.assertIn("released", done.stderr)
        self.assert_released()

    @unittest.skipUnless(BIN and os.access(BIN, os.X_OK), "IODEPTH_BIN is not set to the iodepth binary")
    def test_cells_measured_there_name_the_device_and_say_what_it_is(self):
        with tempfile.TemporaryDirectory() as out:
            results = os.path.join(out, "qd.json")
            done = run(["--size", "1500M", "--", BIN, "suite", "qd", "--depths=1", "--backends=io_uring",
                        "--modes=direct", "--size=8MiB", "--runtime=100ms", "--ramp_time=0ms", "--repetitions=1",
                        f"--json={results}"])
            self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
            with open(results, encoding="utf-8") as f:
                document = json.load(f)
        storage = document["environment"]["storage_kind"]
        self.assertEqual(storage["kind"], "memory")
        self.assertIn("zram (memory-backed, emulated fast device)", storage["reason"])
        device = document["cells"][0]["repetitions"][0]["device"]
        self.assertRegex(device["name"], r"^zram[0-9]+$")
        self.assertEqual(device["kind"], "memory")
        self.assertGreater(device["read_bytes"], 0, "the reads did not reach the zram device")
        self.assert_released()

    def test_a_kill_stops_the_command_and_releases_the_device(self):
        process = subprocess.Popen([SCRIPT, "--size", "64M", "--", "sleep", "60"], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while not fast_mounts() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertTrue(fast_mounts(), "the device was never mounted")
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
        self.assertEqual(process.returncode, 143, stderr)
        self.assertIn("released", stderr)
        self.assert_released()

    def test_a_named_device_holding_data_unmounted_is_refused_and_left_alone(self):
        with open(os.path.join(CONTROL, "hot_add"), encoding="utf-8") as f:
            device_id = f.read().strip()
        name = f"zram{device_id}"
        try:
            with open(f"/sys/block/{name}/disksize", "w", encoding="utf-8") as f:
                f.write("16M")
            done = run(["--device", f"/dev/{name}", "--", "true"])
            self.assertEqual(done.returncode, 2, done.stderr)
            self.assertIn("holds data but is not mounted", done.stderr)
            with open(f"/sys/block/{name}/disksize", encoding="utf-8") as f:
                self.assertEqual(int(f.read()), 16 << 20, "the refused device was changed")
        finally:
            with open(os.path.join(CONTROL, "hot_remove"), "w", encoding="utf-8") as f:
                f.write(device_id)

    def test_bad_arguments_are_refused_with_what_to_give(self):
        cases = [(["--device", "/dev/vda", "--", "true"], "not a zram device"),
                 (["--size", "4X", "--", "true"], "not a size such as"),
                 (["--size", "64M"], "no command to run"),
                 (["--size", "100T", "--", "true"], "give a smaller --size"),
                 (["--frobnicate"], "unknown argument")]
        for args, message in cases:
            with self.subTest(args=args):
                done = run(args)
                self.assertEqual(done.returncode, 2, done.stderr)
                self.assertIn(message, done.stderr)
        self.assert_released()


if __name__ == "__main__":
    unittest.main()
