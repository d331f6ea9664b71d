// Helpers the harness/ tests share for looking at and damaging data files behind the
// code's back: plain POSIX calls, never io/file.h, so the code under test neither makes
// nor inspects its own fixtures. Header-only so each test binary stays self-contained.
// Each call opens and closes its own descriptor; safe from any thread.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace iodepth::testutil {

// Owns one descriptor so a failed assertion cannot leak it.
class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  ScopedFd(ScopedFd&&) = delete;
  ScopedFd& operator=(ScopedFd&&) = delete;
  ~ScopedFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// The whole content of `path`; empty (and a test failure) when it cannot be read.
inline std::vector<unsigned char> ReadFileBytes(const std::string& path) {
  const ScopedFd fd(::open(path.c_str(), O_RDONLY));
  EXPECT_GE(fd.get(), 0) << "open " << path;
  std::vector<unsigned char> bytes;
  if (fd.get() < 0) return bytes;
  unsigned char chunk[1 << 16];
  for (;;) {
    const ssize_t got = ::read(fd.get(), chunk, sizeof(chunk));
    if (got <= 0) {
      EXPECT_EQ(got, 0) << "read " << path;
      return bytes;
    }
    bytes.insert(bytes.end(), chunk, chunk + got);
  }
}

// Creates or replaces `path` holding exactly `bytes`, synced.
inline void WriteFileBytes(const std::string& path, const std::vector<unsigned char>& bytes) {
  const ScopedFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644));
  ASSERT_GE(fd.get(), 0) << "create " << path;
  ASSERT_EQ(::pwrite(fd.get(), bytes.data(), bytes.size(), 0), static_cast<ssize_t>(bytes.size())) << path;
  ASSERT_EQ(::fsync(fd.get()), 0) << path;
}

// Inverts every byte of [offset, offset + length) and syncs, so each of those bytes
// differs from what was there (a plain overwrite could match the pattern by chance).
inline void FlipBytes(const std::string& path, uint64_t offset, size_t length) {
  const ScopedFd fd(::open(path.c_str(), O_RDWR));
  ASSERT_GE(fd.get(), 0) << "open " << path;
  std::vector<unsigned char> bytes(length);
  const auto where = static_cast<off_t>(offset);
  ASSERT_EQ(::pread(fd.get(), bytes.data(), length, where), static_cast<ssize_t>(length)) << path;
  for (unsigned char& byte : bytes) byte = static_cast<unsigned char>(~byte);
  ASSERT_EQ(::pwrite(fd.get(), bytes.data(), length, where), static_cast<ssize_t>(length)) << path;
  ASSERT_EQ(::fsync(fd.get()), 0) << path;
}

}  // namespace iodepth::testutil
