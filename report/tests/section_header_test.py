"""The load warning (section_header.load_warning): other_cpus decides where it was measured;
the 1-minute load average only for files from before it."""

import unittest

from report.section_header import LOADED_OTHER_CPUS, load_warning


class LoadWarningTest(unittest.TestCase):
    def test_other_cpus_above_the_threshold_warns_with_its_figure_and_span(self):
        warning = load_warning({"loadavg_1m": 0.1, "other_cpus": 0.8, "measured_s": 312.5}, 2)
        self.assertIn("other processes kept 0.80 CPUs busy on average over 312.5 s", warning)
        self.assertIn(f"more than {LOADED_OTHER_CPUS}", warning)

    def test_other_cpus_decides_over_a_load_average_raised_by_iodepths_own_threads(self):
        # A worker pool at depth 128 blocked on the disk: load average 130 on 2 CPUs, yet
        # nothing else ran.
        self.assertIsNone(load_warning({"loadavg_1m": 130.0, "other_cpus": 0.02, "measured_s": 300}, 2))

    def test_the_threshold_itself_is_not_loaded(self):
        self.assertIsNone(load_warning({"other_cpus": LOADED_OTHER_CPUS}, 2))
        self.assertIsNotNone(load_warning({"other_cpus": LOADED_OTHER_CPUS + 0.01}, 2))

    def test_without_other_cpus_the_load_average_above_the_cpus_warns_and_says_what_it_counts(self):
        for load in ({"loadavg_1m": 3.5}, {"loadavg_1m": 3.5, "other_cpus": "unknown"}):
            warning = load_warning(load, 2)
            self.assertIn("load average was 3.5, above the 2 CPUs", warning)
            self.assertIn("iodepth's own threads waiting on I/O", warning)
        self.assertIsNone(load_warning({"loadavg_1m": 1.5}, 2))

    def test_unreadable_figures_do_not_warn(self):
        self.assertIsNone(load_warning({"loadavg_1m": "unknown", "other_cpus": "unknown"}, 2))
        self.assertIsNone(load_warning({"loadavg_1m": 9.0}, "unknown"))
        self.assertIsNone(load_warning({}, 2))


if __name__ == "__main__":
    unittest.main()
