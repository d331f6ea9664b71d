// Monotonic time in integer nanoseconds: the unit every latency in iodepth is kept in.
// CLOCK_MONOTONIC goes through the vDSO (about 20 ns), cheap enough to read per request.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>

namespace iodepth {

inline int64_t NowNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// CPU time used by the whole process (every thread, user and system), in nanoseconds, and
// its context switches (voluntary: a thread blocked, as a waiting reaper or an idle worker
// does; involuntary: the scheduler took the CPU away), as getrusage counts them.
struct CpuTimes {
  int64_t user_ns = 0;
  int64_t system_ns = 0;
  int64_t context_switches = 0;
};
CpuTimes ProcessCpuTimes();

// The wall-clock time now in UTC, formatted with strftime's `format` (by default ISO
// 8601, "2026-11-24T18:20:00Z"); "unknown" if the clock cannot be read.
std::string UtcNow(const char* format = "%Y-%m-%dT%H:%M:%SZ");

}  // namespace iodepth
