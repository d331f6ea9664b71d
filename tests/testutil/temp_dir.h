// Test utilities for files on disk: a scratch directory per test and files filled with
// the self-verifying block pattern (common/block_pattern.h).
//
// TempDir makes a fresh directory under $IODEPTH_TEST_DIR when set, else under the
// current working directory (ctest runs a test in its build directory). It never uses
// /tmp or /dev/shm: those are often tmpfs, where O_DIRECT is refused or means nothing,
// and the direct-I/O tests must run against a real block filesystem.
//
// The pattern files are written with plain POSIX calls, not with io/file.h, so the code
// under test never prepares its own fixtures. One TempDir belongs to one test; its
// accessors may be read from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace iodepth::testutil {

class TempDir {
 public:
  // Creates the directory; aborts the test binary with a message if it cannot, since no
  // file test can run without it.
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  TempDir(TempDir&&) = delete;
  TempDir& operator=(TempDir&&) = delete;
  // Removes the directory and everything in it; errors are ignored.
  ~TempDir();

  const std::string& path() const { return path_; }
  // path() + "/" + name.
  std::string File(std::string_view name) const;

 private:
  std::string path_;
};

// Creates or replaces `path`, holding the first `size_bytes` bytes of the pattern for
// `file_id` (FillPattern), and fsyncs it. Any size, including 0 and odd sizes.
Status WritePatternFile(const std::string& path, uint64_t size_bytes, uint64_t file_id);

// The conventional file id for test files: any value works, a distinctive one makes a
// block read from the wrong file obvious in a failure message.
inline constexpr uint64_t kTestFileId = 0x7E57F11E;

}  // namespace iodepth::testutil
