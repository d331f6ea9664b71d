// The fixture shared by the IoQueue conformance suites (io_queue_test.cc and
// io_queue_fault_test.cc): every test runs once per backend {io_uring, worker, sync} and
// cache mode {buffered, direct, dontcache}, against a pattern file in a fresh TempDir.
// Backends and modes this kernel or filesystem refuses are skipped, saying why.
//
// Requests in direct mode are multiples of the file's alignment; in buffered mode they
// are deliberately odd (offsets, lengths and buffer addresses). The sync backend has
// depth 1, so helpers size batches by queue.depth() and every test works at depth 1.
// One fixture instance belongs to one test; worker threads of a test may call the const
// helpers and RunAll/ExpectAllDone on their own queues (GoogleTest assertions are
// thread-safe on Linux).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "io/aligned_buffer.h"
#include "io/file.h"
#include "io/io_queue.h"
#include "testutil/io_printers.h"
#include "testutil/temp_dir.h"

namespace iodepth::testutil {

using QueueParam = std::tuple<Backend, CacheMode>;

class IoQueueTest : public ::testing::TestWithParam<QueueParam> {
 protected:
  static constexpr uint64_t kFileBytes = uint64_t{2} << 20;
  static constexpr std::byte kStale{0xAB};  // Pre-filled into read buffers.

  // Skips io_uring or dontcache where refused; creates and opens the pattern file.
  void SetUp() override;

  Backend backend() const { return std::get<0>(GetParam()); }
  CacheMode cache() const { return std::get<1>(GetParam()); }
  bool direct() const { return cache() == CacheMode::kDirect; }
  bool async() const { return backend() != Backend::kSync; }
  // `wanted`, or 1 for the sync backend.
  uint32_t Depth(uint32_t wanted) const { return async() ? wanted : 1; }
  // The granularity of offsets and lengths: the direct alignment, or 1 when buffered.
  uint64_t unit() const { return direct() ? file_->alignment().offset_bytes : 1; }

  // A queue of this test's backend; `options.backend` and `options.depth` are set here.
  Result<std::unique_ptr<IoQueue>> NewQueue(uint32_t depth, IoQueueOptions options = {}) const;
  // Opens another handle on `path` in this test's cache mode.
  Result<std::unique_ptr<File>> OpenFile(const std::string& path, bool create = false) const;

  // Aligned for any direct I/O, filled with kStale.
  static AlignedBuffer StaleBuffer(size_t size_bytes);
  static IoRequest Request(IoOp op, File* file, uint64_t offset, std::span<std::byte> buffer, uint64_t tag) {
    return IoRequest{op, file, offset, buffer, tag};
  }
  IoRequest Read(uint64_t offset, std::span<std::byte> buffer, uint64_t tag) const {
    return Request(IoOp::kRead, file_.get(), offset, buffer, tag);
  }

  // `count` reads of pattern data inside the file, each with its own slice of `arena`
  // (at least ArenaBytes(count, max_bytes)), tagged with their index. Direct: offsets
  // and lengths are multiples of unit(); buffered: any byte offset, length and address.
  static constexpr size_t kArenaSlack = 4096;  // Keeps each slice's start aligned.
  static constexpr size_t ArenaBytes(size_t count, size_t max_bytes) { return count * (max_bytes + kArenaSlack); }
  std::vector<IoRequest> RandomReads(uint64_t seed, size_t count, size_t max_bytes, const AlignedBuffer& arena) const;

  // Prepares, submits and reaps every request (and any already prepared) in batches no larger than the queue's free
  // room, checking prepared() + in_flight() <= depth() throughout, and appends every
  // completion to *out. Fails (rather than hangs) if nothing completes for 30 s.
  static void RunAll(IoQueue& queue, std::span<const IoRequest> requests, std::vector<IoCompletion>* out);
  // Submits what is prepared and reaps until nothing is in flight.
  static void ReapAll(IoQueue& queue, std::vector<IoCompletion>* out);
  // Every request completed exactly once, whole, OK, with its own fields and sane
  // timestamps; reads hold the pattern of `file_id`.
  static void ExpectAllDone(std::span<const IoRequest> requests, std::span<const IoCompletion> completions,
                            uint64_t file_id = kTestFileId);
  // The completion carrying `tag`, or nullptr.
  static const IoCompletion* FindTag(std::span<const IoCompletion> completions, uint64_t tag);

  TempDir dir_;
  std::string path_;
  std::unique_ptr<File> file_;
};

// "IoUring_Direct", "Sync_Buffered", ...
std::string QueueParamName(const ::testing::TestParamInfo<QueueParam>& param_info);

inline auto AllBackendsAndCacheModes() {
  return ::testing::Combine(::testing::Values(Backend::kIoUring, Backend::kWorker, Backend::kSync),
                            ::testing::Values(CacheMode::kBuffered, CacheMode::kDirect, CacheMode::kDontcache));
}

}  // namespace iodepth::testutil
