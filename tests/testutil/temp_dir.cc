#include "testutil/temp_dir.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <span>
#include <system_error>
#include <vector>

#include "common/block_pattern.h"

namespace iodepth::testutil {

namespace {

std::string BaseDirectory() {
  const char* configured = std::getenv("IODEPTH_TEST_DIR");
  if (configured != nullptr && configured[0] != '\0') return configured;
  std::error_code error;
  std::filesystem::path cwd = std::filesystem::current_path(error);
  return error ? std::string(".") : cwd.string();
}

// Writes all of `data` at `offset`, continuing short writes and retrying EINTR.
Status PwriteAll(int fd, std::span<const std::byte> data, uint64_t offset, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::PosixError("write test file " + path, n < 0 ? errno : EIO);
    done += static_cast<size_t>(n);
  }
  return Status::OK();
}

}  // namespace

TempDir::TempDir() {
  std::string pattern = BaseDirectory() + "/iodepth_test.XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (::mkdtemp(buffer.data()) == nullptr) {
    std::perror(("iodepth tests: cannot create a temporary directory from " + pattern +
                 " (set IODEPTH_TEST_DIR to a writable directory on a block filesystem)")
                    .c_str());
    std::abort();
  }
  path_ = buffer.data();
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::File(std::string_view name) const { return path_ + "/" + std::string(name); }

Status WritePatternFile(const std::string& path, uint64_t size_bytes, uint64_t file_id) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::PosixError("create test file " + path, errno);
  // Chunks bound the memory used for large files; 1 MiB keeps the write count small.
  constexpr uint64_t kChunkBytes = uint64_t{1} << 20;
  std::vector<std::byte> chunk(static_cast<size_t>(std::min(size_bytes, kChunkBytes)));
  Status status;
  for (uint64_t offset = 0; offset < size_bytes && status.ok(); offset += kChunkBytes) {
    std::span<std::byte> piece(chunk.data(), static_cast<size_t>(std::min(kChunkBytes, size_bytes - offset)));
    FillPattern(piece, offset, file_id);
    status = PwriteAll(fd, piece, offset, path);
  }
  if (status.ok() && ::fsync(fd) != 0) status = Status::PosixError("fsync test file " + path, errno);
  ::close(fd);
  return status;
}

}  // namespace iodepth::testutil
