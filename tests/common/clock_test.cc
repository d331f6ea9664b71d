#include "common/clock.h"

#include <chrono>
#include <cstdint>
#include <thread>

#include <regex>
#include <string>

#include <gtest/gtest.h>

namespace iodepth {
namespace {

TEST(ClockTest, NowNsNeverGoesBackwards) {
  int64_t previous = NowNs();
  EXPECT_GT(previous, 0);
  for (int i = 0; i < 100'000; ++i) {
    const int64_t now = NowNs();
    ASSERT_GE(now, previous);
    previous = now;
  }
}

TEST(ClockTest, NowNsCountsNanoseconds) {
  // A sleep lasts at least as long as asked, so this is a lower bound, not a speed test.
  const int64_t before = NowNs();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_GE(NowNs() - before, 20'000'000);
}

TEST(ClockTest, ProcessCpuTimesGrowWithWork) {
  const CpuTimes before = ProcessCpuTimes();
  EXPECT_GE(before.user_ns, 0);
  EXPECT_GE(before.system_ns, 0);
  // Spin until the process has used a measurable amount of CPU (bounded by wall time
  // so a broken clock fails instead of hanging).
  volatile uint64_t sink = 0;
  const int64_t give_up_ns = NowNs() + 10'000'000'000;
  CpuTimes after = before;
  while (after.user_ns + after.system_ns <= before.user_ns + before.system_ns + 20'000'000 && NowNs() < give_up_ns) {
    for (int i = 0; i < 100'000; ++i) sink = sink + static_cast<uint64_t>(i);
    after = ProcessCpuTimes();
  }
  EXPECT_GT(after.user_ns + after.system_ns, before.user_ns + before.system_ns + 20'000'000);
  EXPECT_GE(after.user_ns, before.user_ns);
}

TEST(ClockTest, ASleepIsAVoluntaryContextSwitch) {
  const CpuTimes before = ProcessCpuTimes();
  std::this_thread::sleep_for(std::chrono::milliseconds(2));  // Blocks: gives the CPU up.
  EXPECT_GT(ProcessCpuTimes().context_switches, before.context_switches);
}

}  // namespace
}  // namespace iodepth

namespace iodepth {
namespace {

TEST(UtcNowTest, DefaultIsIso8601InUtc) {
  const std::string now = UtcNow();
  EXPECT_TRUE(std::regex_match(now, std::regex(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)"))) << now;
}

TEST(UtcNowTest, TakesAStrftimeFormat) {
  const std::string stamp = UtcNow("%Y%m%d-%H%M%S");
  EXPECT_TRUE(std::regex_match(stamp, std::regex(R"(\d{8}-\d{6})"))) << stamp;
}

}  // namespace
}  // namespace iodepth
