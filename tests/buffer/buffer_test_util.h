// Helpers shared by the buffer/ suites: table files of real heap pages whose content is
// known in advance, a page check that says what is wrong, a verifier for the buffer
// manager built on storage's VerifyPage, and byte-level edits of a file on disk.
//
// Page i of a test file is a sealed heap page (storage/page.h) with page id i, LSN 0 and
// kColumns columns, full of rows {i, slot}: every 16 bytes of its body name the page, so
// a frame holding the wrong page, a stale frame or a torn read is caught by CheckPage,
// and a flipped byte anywhere fails VerifyPage's checksum.
//
// Files are written and edited with plain POSIX calls, never with io/file.h or the
// buffer manager, so the code under test never prepares its own fixtures. The helpers are
// pure or work on a path the test owns; the const ones may be called from any thread
// (GoogleTest assertions are thread-safe on Linux).
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "buffer/buffer_manager.h"
#include "common/status.h"
#include "io/file.h"
#include "storage/page.h"
#include "testutil/status_macros.h"

namespace iodepth::testutil {

inline constexpr PageSize kTestPageSize = PageSize::k4KiB;
inline constexpr uint32_t kTestPageBytes = PageSizeBytes(kTestPageSize);
inline constexpr uint32_t kColumns = 2;

// The image of page `page_no` of a test file, sealed.
inline std::vector<std::byte> TestPageImage(uint64_t page_no) {
  std::vector<std::byte> page(kTestPageBytes);  // operator new aligns to 16, VerifyPage needs 8.
  InitHeapPage(page, page_no, kColumns);
  const uint32_t capacity = HeapPageCapacityRows(kTestPageSize, kColumns);
  for (uint32_t slot = 0; slot < capacity; ++slot) {
    const int64_t row[kColumns] = {static_cast<int64_t>(page_no), static_cast<int64_t>(slot)};
    if (!AppendRow(page, row)) ADD_FAILURE() << "page " << page_no << " full at slot " << slot;
  }
  SealPage(page);
  return page;
}

// Writes `bytes` at `offset` of an existing file, with POSIX calls, and fsyncs it.
inline Status PosixWrite(const std::string& path, uint64_t offset, std::span<const std::byte> bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::PosixError("open " + path, errno);
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::pwrite(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int error = errno;
      ::close(fd);
      return Status::PosixError("write " + path, error);
    }
    done += static_cast<size_t>(n);
  }
  const int synced = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  return synced == 0 ? Status::OK() : Status::PosixError("fsync " + path, error);
}

// Reads `length` bytes at `offset` with POSIX calls (buffered, so it sees what any
// direct or buffered write put there); fewer at end of file.
inline std::vector<std::byte> PosixRead(const std::string& path, uint64_t offset, size_t length) {
  std::vector<std::byte> bytes(length);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    ADD_FAILURE() << "open " << path << ": " << std::strerror(errno);
    return {};
  }
  const ssize_t n = ::pread(fd, bytes.data(), length, static_cast<off_t>(offset));
  ::close(fd);
  bytes.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return bytes;
}

// Creates or replaces `path` with pages 0..pages-1 of the test content, then
// `tail_bytes` more bytes of page `pages` (a partial last page) when non-zero.
inline Status WriteTestTable(const std::string& path, uint64_t pages, size_t tail_bytes = 0) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::PosixError("create " + path, errno);
  ::close(fd);
  std::vector<std::byte> all;
  for (uint64_t p = 0; p <= pages; ++p) {
    if (p == pages && tail_bytes == 0) break;
    const std::vector<std::byte> page = TestPageImage(p);
    all.insert(all.end(), page.begin(),
               page.begin() +
                   (p == pages ? static_cast<std::ptrdiff_t>(tail_bytes) : static_cast<std::ptrdiff_t>(page.size())));
  }
  return PosixWrite(path, /*offset=*/0, all);
}

// Flips every bit of the byte at `offset` of the file on disk.
inline Status FlipByte(const std::string& path, uint64_t offset) {
  std::vector<std::byte> byte = PosixRead(path, offset, 1);
  if (byte.size() != 1) return Status::InvalidArgument("no byte at offset " + std::to_string(offset));
  byte[0] = ~byte[0];
  return PosixWrite(path, offset, byte);
}

// Success when `page` is exactly what WriteTestTable put at page `page_no`.
inline ::testing::AssertionResult CheckPage(std::span<const std::byte> page, uint64_t page_no) {
  if (page.size() != kTestPageBytes) return ::testing::AssertionFailure() << "page of " << page.size() << " bytes";
  const Status verified = VerifyPage(page, page_no, "frame");
  if (!verified.ok()) return ::testing::AssertionFailure() << verified.ToString();
  const uint32_t capacity = HeapPageCapacityRows(kTestPageSize, kColumns);
  if (RowCount(page) != capacity) {
    return ::testing::AssertionFailure() << "page " << page_no << " holds " << RowCount(page) << " rows";
  }
  for (uint32_t slot = 0; slot < capacity; ++slot) {
    const std::span<const int64_t> row = RowAt(page, slot);
    if (row[0] != static_cast<int64_t>(page_no) || row[1] != static_cast<int64_t>(slot)) {
      return ::testing::AssertionFailure()
             << "page " << page_no << " slot " << slot << " holds {" << row[0] << ", " << row[1] << "}";
    }
  }
  return ::testing::AssertionSuccess();
}

// What storage/ gives the buffer manager: VerifyPage, naming the file's path.
inline PageVerifier TestVerifier() {
  return [](std::span<const std::byte> page, uint64_t page_no, const File& file) {
    return VerifyPage(page, page_no, file.path());
  };
}

// A pool of `frames` test pages that checks every page it reads.
// Hands out `pages` in order, then nothing (a ReadStream's PageSource).
inline std::function<std::optional<uint64_t>()> ListSource(std::vector<uint64_t> pages) {
  return [pages = std::move(pages), next = size_t{0}]() mutable -> std::optional<uint64_t> {
    if (next == pages.size()) return std::nullopt;
    return pages[next++];
  };
}

inline std::vector<uint64_t> Range(uint64_t first, uint64_t end, uint64_t step = 1) {
  std::vector<uint64_t> pages;
  for (uint64_t p = first; p < end; p += step) pages.push_back(p);
  return pages;
}

inline BufferManagerOptions PoolOptions(uint32_t frames) {
  BufferManagerOptions options;
  options.page_bytes = kTestPageBytes;
  options.memory_bytes = uint64_t{frames} * kTestPageBytes;
  options.verify = TestVerifier();
  return options;
}

// The frames of `manager` that are pinned, as "frame:pins" pairs; empty when none is.
inline std::string PinnedFrames(const BufferManager& manager) {
  std::string pinned;
  for (uint32_t f = 0; f < manager.capacity(); ++f) {
    if (manager.PinCount(f) != 0) pinned += std::to_string(f) + ":" + std::to_string(manager.PinCount(f)) + " ";
  }
  return pinned;
}

// Changes the guarded page in place the way a writer would: a new LSN, a new seal, dirty.
// mutable_data() waits for a write-back of the page in flight.
inline void ChangeLsn(const PageGuard& guard, uint64_t lsn) {
  const std::span<std::byte> page = guard.mutable_data();
  SetPageLsn(page, lsn);
  SealPage(page);
  guard.MarkDirty();
}

// The LSN page `page_no` of the test file at `path` has on disk (checked with VerifyPage).
inline uint64_t LsnOnDisk(const std::string& path, uint64_t page_no) {
  const std::vector<std::byte> page = PosixRead(path, page_no * kTestPageBytes, kTestPageBytes);
  EXPECT_EQ(page.size(), kTestPageBytes);
  if (page.size() != kTestPageBytes) return 0;
  EXPECT_OK(VerifyPage(page, page_no, path));
  return PageLsn(page);
}

// A log stand-in for the write-ahead rule: it records each flush it is asked for and,
// at that moment, the LSN page `watch` has on disk, so a test can tell the log was made
// durable before the page was written. Flushes may come from any thread (the background
// writer's, an evictor's); read the records once the pool is drained.
struct FakeLog {
  FakeLog(std::string table_path, uint64_t watch_page) : path(std::move(table_path)), watch(watch_page) {}

  std::string path;
  uint64_t watch = 0;
  std::mutex mutex;
  std::vector<uint64_t> flushed_to;             // Guarded by mutex while the pool runs.
  std::vector<uint64_t> page_lsn_on_disk_then;  // Guarded by mutex while the pool runs.
  std::atomic<bool> fail{false};

  BufferManagerOptions Wire(BufferManagerOptions options) {
    options.page_lsn = [](std::span<const std::byte> page) { return PageLsn(page); };
    options.flush_log = [this](uint64_t lsn) {
      std::lock_guard lock(mutex);
      flushed_to.push_back(lsn);
      page_lsn_on_disk_then.push_back(LsnOnDisk(path, watch));
      return fail ? Status::PosixError("fdatasync log", EIO) : Status::OK();
    };
    return options;
  }
};

}  // namespace iodepth::testutil
