#include "common/assert.h"

#include <cstdio>
#include <cstdlib>

namespace iodepth::internal {

void CheckFailed(const char* file, int line, const char* condition, const char* message) {
  std::fprintf(stderr, "iodepth: internal invariant violated at %s:%d: %s (%s)\n", file, line, message, condition);
  std::fflush(stderr);
  std::abort();
}

}  // namespace iodepth::internal
