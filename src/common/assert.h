// Assertions for programmer errors, never for I/O outcomes (those are Status values).
// IODEPTH_CHECK stays on in release builds: it guards invariants whose violation would
// corrupt data or write into memory the caller no longer owns.
#pragma once

namespace iodepth::internal {
[[noreturn]] void CheckFailed(const char* file, int line, const char* condition, const char* message);
}  // namespace iodepth::internal

#define IODEPTH_CHECK(condition, message)                                          \
  do {                                                                             \
    if (!(condition)) [[unlikely]]                                                 \
      ::iodepth::internal::CheckFailed(__FILE__, __LINE__, #condition, (message)); \
  } while (false)
