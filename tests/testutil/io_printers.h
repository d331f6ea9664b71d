// Names GoogleTest prints for io/ enums, so parameterized test names and failure
// messages read "Direct" and "io_uring" instead of raw bytes.
#pragma once

#include <ostream>

#include "io/file.h"
#include "io/io_queue.h"

namespace iodepth {

// "Buffered", "Direct", "Dontcache": also the suffix of parameterized test names.
inline const char* CacheModeLabel(CacheMode cache) {
  switch (cache) {
    case CacheMode::kBuffered: return "Buffered";
    case CacheMode::kDirect: return "Direct";
    case CacheMode::kDontcache: return "Dontcache";
  }
  return "Unknown";
}

inline void PrintTo(CacheMode cache, std::ostream* os) { *os << CacheModeLabel(cache); }
inline void PrintTo(Backend backend, std::ostream* os) { *os << BackendName(backend); }

}  // namespace iodepth
