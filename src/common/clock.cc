#include "common/clock.h"

#include <sys/resource.h>

namespace iodepth {

namespace {
int64_t ToNs(const timeval& tv) { return static_cast<int64_t>(tv.tv_sec) * 1'000'000'000 + tv.tv_usec * 1'000; }
}  // namespace

CpuTimes ProcessCpuTimes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return CpuTimes{ToNs(usage.ru_utime), ToNs(usage.ru_stime), usage.ru_nvcsw + usage.ru_nivcsw};
}

std::string UtcNow(const char* format) {
  const std::time_t now = std::time(nullptr);
  std::tm parts{};
  if (::gmtime_r(&now, &parts) == nullptr) return "unknown";
  char text[64];
  // The format is the caller's (a literal at every call site); strftime writes at most
  // sizeof(text) bytes whatever it holds.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
  const size_t length = std::strftime(text, sizeof(text), format, &parts);
#pragma GCC diagnostic pop
  return length == 0 ? std::string("unknown") : std::string(text, length);
}

}  // namespace iodepth
