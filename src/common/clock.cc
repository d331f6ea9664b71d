#include "common/clock.h"

#include <sys/resource.h>

namespace iodepth {

namespace {
int64_t ToNs(const timeval& tv) { return static_cast<int64_t>(tv.tv_sec) * 1'000'000'000 + tv.tv_usec * 1'000; }
}  // namespace

CpuTimes ProcessCpuTimes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return CpuTimes{ToNs(usage.ru_utime), ToNs(usage.ru_stime)};
}

}  // namespace iodepth
