// ReadStream: the pages come back in source order with the right content whatever the
// list looks like, reads are combined only across adjacent misses, the distance obeys
// its policy, errors surface at their page's position, and streams sharing one pool on
// several threads neither deadlock nor read a page twice. Every test runs on the
// io_uring and worker backends, buffered and direct, against table files of real heap
// pages (buffer_test_util.h); faults come in through the file's FaultInjector.
#include "buffer/read_stream.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "buffer/buffer_manager.h"
#include "buffer_test_util.h"
#include "io/fault_injector.h"
#include "io/file.h"
#include "io/io_queue.h"
#include "testutil/io_printers.h"
#include "testutil/status_macros.h"
#include "testutil/temp_dir.h"

namespace iodepth::testutil {
namespace {

using StreamParam = std::tuple<Backend, CacheMode>;

ReadStreamOptions Options(ReadStreamPolicy policy, uint32_t distance, uint32_t combine_pages) {
  ReadStreamOptions options;
  options.policy = policy;
  options.distance = distance;
  options.io_combine_bytes = combine_pages * kTestPageBytes;
  return options;
}

// Pages read in all, from the per-size read counts.
uint64_t PagesInReads(const ReadStreamStats& stats) {
  uint64_t pages = 0;
  for (size_t n = 0; n < stats.reads_by_pages.size(); ++n) pages += n * stats.reads_by_pages[n];
  return pages;
}

uint64_t ReadsOfMoreThanOnePage(const ReadStreamStats& stats) {
  uint64_t reads = 0;
  for (size_t n = 2; n < stats.reads_by_pages.size(); ++n) reads += stats.reads_by_pages[n];
  return reads;
}

// The next page from `stream` must be `page_no`, with its content.
void ExpectNext(ReadStream& stream, uint64_t page_no, size_t position) {
  auto next = stream.Next();
  ASSERT_OK(next) << "position " << position << ", page " << page_no;
  ASSERT_TRUE(next->has_value()) << "the stream ended at position " << position;
  const PageGuard& guard = **next;
  ASSERT_EQ(guard.page_no(), page_no) << "position " << position;
  ASSERT_TRUE(CheckPage(guard.data(), page_no)) << "position " << position;
}

// The stream's end: nullopt, and nullopt again when asked once more.
void ExpectEnd(ReadStream& stream) {
  for (int i = 0; i < 2; ++i) {
    auto next = stream.Next();
    ASSERT_OK(next);
    EXPECT_FALSE(next->has_value()) << "a page after the end: " << (**next).page_no();
  }
}

// The next call fails with `code`, naming `page_no` and the file.
void ExpectNextFails(ReadStream& stream, StatusCode code, uint64_t page_no, const std::string& path) {
  auto next = stream.Next();
  ASSERT_FALSE(next.has_value()) << "page " << page_no << " came back";
  EXPECT_EQ(next.error().code(), code) << next.error().ToString();
  EXPECT_NE(next.error().message().find("page " + std::to_string(page_no) + " "), std::string::npos)
      << next.error().message();
  EXPECT_NE(next.error().message().find(path), std::string::npos) << next.error().message();
}

class ReadStreamTest : public ::testing::TestWithParam<StreamParam> {
 protected:
  static constexpr uint64_t kPages = 64;
  static constexpr uint32_t kPoolFrames = 128;  // The whole file twice over: nothing is evicted.
  static constexpr uint32_t kQueueDepth = 8;

  void SetUp() override {
    if (backend() == Backend::kIoUring) {
      const Status probe = ProbeIoUring();
      if (!probe.ok()) GTEST_SKIP() << "io_uring unavailable: " << probe.ToString();
    }
    path_ = dir_.File("table");
    ASSERT_OK(WriteTestTable(path_, kPages));
    OpenOptions options;
    options.cache = std::get<1>(GetParam());
    auto file = File::Open(path_, options);
    if (!file.has_value() && file.error().code() == StatusCode::kNotSupported) GTEST_SKIP() << file.error().ToString();
    ASSERT_OK_AND_ASSIGN(file_, std::move(file));
    ASSERT_EQ(file_->direct(), options.cache == CacheMode::kDirect);
    file_->SetFaultInjector(&faults_);
    ASSERT_NO_FATAL_FAILURE(NewPool(kPoolFrames));
  }
  void TearDown() override {
    if (file_ != nullptr) file_->SetFaultInjector(nullptr);
  }

  Backend backend() const { return std::get<0>(GetParam()); }

  void NewPool(uint32_t frames) {
    manager_.reset();
    ASSERT_OK_AND_ASSIGN(manager_, BufferManager::Create(PoolOptions(frames)));
  }

  // A queue of this test's backend, its fixed buffers being the pool's arena.
  // The io_uring backend binds to the thread that first submits: call it there.
  std::unique_ptr<IoQueue> NewQueue(uint32_t depth = kQueueDepth) const {
    IoQueueOptions options;
    options.backend = backend();
    options.depth = depth;
    options.uring_fixed_buffers = true;
    auto queue = MakeIoQueue(options);
    EXPECT_OK(queue);
    if (!queue.has_value()) return nullptr;
    EXPECT_OK(manager_->RegisterWith(**queue));
    return std::move(*queue);
  }

  std::unique_ptr<ReadStream> NewStream(IoQueue& queue, std::vector<uint64_t> pages, const ReadStreamOptions& options) {
    auto stream = ReadStream::Create(*manager_, queue, *file_, ListSource(std::move(pages)), options);
    EXPECT_OK(stream);
    return stream.has_value() ? std::move(*stream) : nullptr;
  }

  // Reads `pages` with a new stream and checks every page and the end.
  ReadStreamStats ReadAll(const std::vector<uint64_t>& pages, const ReadStreamOptions& options) {
    std::unique_ptr<IoQueue> queue = NewQueue();
    if (queue == nullptr) return {};
    std::unique_ptr<ReadStream> stream = NewStream(*queue, pages, options);
    if (stream == nullptr) return {};
    for (size_t i = 0; i < pages.size(); ++i) {
      ExpectNext(*stream, pages[i], i);
      if (HasFatalFailure()) return {};
    }
    ExpectEnd(*stream);
    EXPECT_EQ(stream->stats().pages, pages.size());
    EXPECT_EQ(stream->pinned_pages(), 0u);
    return stream->stats();
  }

  // Every read of page `page_no` waits `delay_us` first.
  void SlowPage(uint64_t page_no, int64_t delay_us) {
    FaultRule rule;
    rule.kind = FaultKind::kDelay;
    rule.offset = page_no * kTestPageBytes;
    rule.delay_us = delay_us;
    faults_.Add(rule);
  }
  // The next `times` reads covering page `page_no` fail with EIO.
  void FailPage(uint64_t page_no, int times) {
    FaultRule rule;
    rule.kind = FaultKind::kError;
    rule.offset = page_no * kTestPageBytes;
    rule.times = times;
    faults_.Add(rule);
  }

  TempDir dir_;
  std::string path_;
  FaultInjector faults_;
  std::unique_ptr<File> file_;
  std::unique_ptr<BufferManager> manager_;
};

std::string StreamParamName(const ::testing::TestParamInfo<StreamParam>& param_info) {
  const char* backend = std::get<0>(param_info.param) == Backend::kIoUring ? "IoUring" : "Worker";
  return std::string(backend) + "_" + CacheModeLabel(std::get<1>(param_info.param));
}

INSTANTIATE_TEST_SUITE_P(Backends, ReadStreamTest,
                         ::testing::Combine(::testing::Values(Backend::kIoUring, Backend::kWorker),
                                            ::testing::Values(CacheMode::kBuffered, CacheMode::kDirect)),
                         StreamParamName);

TEST_P(ReadStreamTest, SequentialListReturnsEveryPageInOrder) {
  const ReadStreamStats stats = ReadAll(Range(0, kPages), Options(ReadStreamPolicy::kFixed, 4, 8));
  EXPECT_EQ(stats.misses, kPages);
  EXPECT_EQ(stats.hits, 0u);
  EXPECT_EQ(stats.read_bytes, kPages * kTestPageBytes);
  EXPECT_EQ(manager_->stats().pages_read, kPages);
  EXPECT_EQ(PinnedFrames(*manager_), "");
}

TEST_P(ReadStreamTest, StridedListReturnsEveryThirdPage) {
  const std::vector<uint64_t> pages = Range(0, kPages, 3);
  const ReadStreamStats stats = ReadAll(pages, Options(ReadStreamPolicy::kFixed, 4, 8));
  EXPECT_EQ(stats.misses, pages.size());
  // No two pages of the list are adjacent, so no read holds two.
  EXPECT_EQ(stats.reads, pages.size());
  EXPECT_EQ(stats.reads_by_pages[1], pages.size());
  EXPECT_EQ(PinnedFrames(*manager_), "");
}

TEST_P(ReadStreamTest, RandomListWithRepeatsReadsEachDistinctPageOnce) {
  std::mt19937_64 rng(42);
  std::vector<uint64_t> pages;
  while (pages.size() < 300) {
    const uint64_t page = rng() % kPages;
    pages.push_back(page);
    if (rng() % 8 == 0) pages.push_back(page);                           // At once again.
    if (rng() % 8 == 0 && page + 1 < kPages) pages.push_back(page + 1);  // Its neighbour.
  }
  const std::set<uint64_t> distinct(pages.begin(), pages.end());
  const ReadStreamStats stats = ReadAll(pages, Options(ReadStreamPolicy::kFixed, 8, 4));
  // The pool holds the whole file, so each page is read once and every repeat is a hit.
  EXPECT_EQ(stats.misses, distinct.size());
  EXPECT_EQ(stats.hits, pages.size() - distinct.size());
  EXPECT_EQ(manager_->stats().pages_read, distinct.size());
  EXPECT_EQ(PinnedFrames(*manager_), "");
}

TEST_P(ReadStreamTest, ResidentPagesAreHitsAndNeverRead) {
  for (uint64_t page = 0; page < kPages; page += 4) {
    ASSERT_OK_AND_ASSIGN(PageGuard guard, manager_->Fetch(*file_, page));
  }
  const uint64_t resident = kPages / 4;
  const ReadStreamStats stats = ReadAll(Range(0, kPages), Options(ReadStreamPolicy::kFixed, 4, 8));
  EXPECT_EQ(stats.hits, resident);
  EXPECT_EQ(stats.misses, kPages - resident);
  EXPECT_EQ(PagesInReads(stats), kPages - resident);
  EXPECT_EQ(stats.read_bytes, (kPages - resident) * kTestPageBytes);
  EXPECT_EQ(manager_->stats().pages_read, kPages);
  // The hits split the file into runs of three misses: no read can be longer.
  EXPECT_EQ(stats.reads_by_pages.size(), 9u);
  for (size_t n = 4; n < stats.reads_by_pages.size(); ++n) EXPECT_EQ(stats.reads_by_pages[n], 0u) << n;
}

// A buffered io_uring read of cached pages is copied inside the submitting call: no
// Next() waits for it, yet the consumer lost that time to I/O, so it counts as waiting.
// (The test table was just written, buffered, so its pages are in the page cache.)
TEST_P(ReadStreamTest, InlineCompletionsCountAsWaiting) {
  std::unique_ptr<IoQueue> queue = NewQueue();
  ASSERT_NE(queue, nullptr);
  std::unique_ptr<ReadStream> stream = NewStream(*queue, Range(0, kPages), Options(ReadStreamPolicy::kFixed, 4, 1));
  ASSERT_NE(stream, nullptr);
  for (uint64_t page = 0; page < kPages; ++page) ASSERT_NO_FATAL_FAILURE(ExpectNext(*stream, page, page));
  ASSERT_NO_FATAL_FAILURE(ExpectEnd(*stream));
  const ReadStreamStats& stats = stream->stats();
  EXPECT_LE(stats.inline_completions, stats.reads);
  EXPECT_EQ(stats.inline_completions, queue->stats().inline_completions);
  const bool exact = queue->features().find("defer_taskrun") != std::string::npos;
  if (backend() == Backend::kWorker) EXPECT_EQ(stats.inline_completions, 0u);
  if (backend() == Backend::kIoUring && !file_->direct() && exact) {
    EXPECT_EQ(stats.inline_completions, stats.reads);
    EXPECT_GT(stats.wait_ns, 0);
  }
}

// A read that completes inside its submission (buffered io_uring over cached pages) is
// taken at once: the consumer never finds its page still "being read", counts no wait for
// it, and an adaptive stream made only of such reads stays at a read-ahead distance of 1
// with no more pins than one read's look-ahead, however deep it may go.
TEST_P(ReadStreamTest, ReadsCompletedInlineAreNoWaitsAndKeepTheAdaptiveDistanceAtOne) {
  constexpr uint32_t kCombine = 4;
  std::unique_ptr<IoQueue> queue = NewQueue();
  ASSERT_NE(queue, nullptr);
  const bool inline_reads = backend() == Backend::kIoUring && !file_->direct() &&
                            queue->features().find("defer_taskrun") != std::string::npos;
  std::unique_ptr<ReadStream> stream =
      NewStream(*queue, Range(0, kPages), Options(ReadStreamPolicy::kAdaptive, kQueueDepth, kCombine));
  ASSERT_NE(stream, nullptr);
  uint32_t most_distance = 0;
  for (uint64_t page = 0; page < kPages; ++page) {
    ASSERT_NO_FATAL_FAILURE(ExpectNext(*stream, page, page));
    most_distance = std::max(most_distance, stream->distance());
  }
  ASSERT_NO_FATAL_FAILURE(ExpectEnd(*stream));
  const ReadStreamStats& stats = stream->stats();
  if (!inline_reads || stats.inline_completions < stats.reads) {
    GTEST_SKIP() << "only a buffered io_uring queue over cached pages completes reads inline ("
                 << stats.inline_completions << " of " << stats.reads << " reads did)";
  }
  EXPECT_EQ(stats.consumer_waits, 0u);
  EXPECT_EQ(most_distance, 1u) << "the distance grew for reads that kept no one waiting";
  EXPECT_GT(stats.reads_by_pages[kCombine], 0u) << "the combine distance still grows with the reads";
  // Pins follow the distance: far fewer than a stream at its maximum distance looks ahead.
  EXPECT_LT(stats.pinned_sum, uint64_t{kQueueDepth} * kCombine * stats.pages);
}

TEST_P(ReadStreamTest, AdjacentMissesCombineUpToIoCombine) {
  constexpr uint32_t kCombine = 4;
  const ReadStreamStats stats = ReadAll(Range(0, kPages), Options(ReadStreamPolicy::kFixed, 4, kCombine));
  ASSERT_EQ(stats.reads_by_pages.size(), kCombine + 1) << "reads longer than io_combine are not even countable";
  EXPECT_GT(ReadsOfMoreThanOnePage(stats), 0u) << "nothing was combined";
  EXPECT_LT(stats.reads, kPages);
  EXPECT_EQ(PagesInReads(stats), kPages);
  EXPECT_EQ(stats.misses, kPages);
  EXPECT_EQ(stats.read_bytes, kPages * kTestPageBytes);
}

TEST_P(ReadStreamTest, IoCombineOfOnePageReadsPagesOneByOne) {
  const ReadStreamStats stats = ReadAll(Range(0, kPages), Options(ReadStreamPolicy::kFixed, 4, 1));
  ASSERT_EQ(stats.reads_by_pages.size(), 2u);
  EXPECT_EQ(stats.reads_by_pages[1], kPages);
  EXPECT_EQ(stats.reads, kPages);
}

// Pages 3, 6, 8 and 12 are not in the list; any read that covered one would span a gap,
// and every read covering one fails. So all pages coming back proves no read did.
TEST_P(ReadStreamTest, CombiningNeverMergesAcrossAGap) {
  const std::vector<uint64_t> pages = {0, 1, 2, 4, 5, 7, 9, 10, 11, 13, 14, 15, 16};
  for (const uint64_t gap : std::initializer_list<uint64_t>{3, 6, 8, 12}) FailPage(gap, /*times=*/-1);
  const ReadStreamStats stats = ReadAll(pages, Options(ReadStreamPolicy::kFixed, 4, 8));
  EXPECT_EQ(faults_.fired(), 0u) << "a read covered a page between two listed ones";
  EXPECT_EQ(stats.misses, pages.size());
  EXPECT_EQ(PagesInReads(stats), pages.size());
  EXPECT_GT(ReadsOfMoreThanOnePage(stats), 0u) << "nothing was combined, so nothing was tested";
}

// Sampled after every Next() and also inside it: the source is called between the
// stream's issues, before any of them can be reaped, which is where the most reads are in
// flight.
TEST_P(ReadStreamTest, FixedDistanceBoundsReadsInFlight) {
  constexpr uint32_t kDistance = 3;
  for (const uint32_t combine : {1u, 4u}) {
    SCOPED_TRACE("io_combine " + std::to_string(combine) + " pages");
    ASSERT_OK(manager_->DropFile(*file_));
    std::unique_ptr<IoQueue> queue = NewQueue();
    ASSERT_NE(queue, nullptr);
    const ReadStream* observed = nullptr;
    uint32_t most_in_flight = 0;
    uint32_t most_queued = 0;
    PageSource sampling_source = [&, next = uint64_t{0}]() mutable -> std::optional<uint64_t> {
      if (observed != nullptr) {
        most_in_flight = std::max(most_in_flight, observed->reads_in_flight());
        most_queued = std::max(most_queued, queue->prepared() + queue->in_flight());
      }
      if (next == kPages) return std::nullopt;
      return next++;
    };
    auto created = ReadStream::Create(*manager_, *queue, *file_, std::move(sampling_source),
                                      Options(ReadStreamPolicy::kFixed, kDistance, combine));
    ASSERT_OK(created);
    std::unique_ptr<ReadStream> stream = std::move(*created);
    observed = stream.get();
    for (uint64_t page = 0; page < kPages; ++page) {
      ASSERT_NO_FATAL_FAILURE(ExpectNext(*stream, page, page));
      EXPECT_EQ(stream->distance(), kDistance);
      most_in_flight = std::max(most_in_flight, stream->reads_in_flight());
      most_queued = std::max(most_queued, queue->prepared() + queue->in_flight());
    }
    ASSERT_NO_FATAL_FAILURE(ExpectEnd(*stream));
    EXPECT_LE(most_in_flight, kDistance);
    EXPECT_LE(most_queued, kDistance);
    // Reads that completed inside their submission (buffered io_uring over cached pages)
    // are taken at once, so they never stay in flight; every other read must have.
    if (stream->stats().inline_completions < stream->stats().reads) {
      EXPECT_GE(most_in_flight, 2u) << "the stream never read ahead, so the bound was never tested";
    }
  }
}

TEST_P(ReadStreamTest, AdaptiveDistanceGrowsOnASlowDeviceWithinItsMaximum) {
  constexpr uint32_t kMaxDistance = 8;
  for (uint64_t page = 0; page < kPages; ++page) SlowPage(page, /*delay_us=*/1000);
  std::unique_ptr<IoQueue> queue = NewQueue(kMaxDistance);
  ASSERT_NE(queue, nullptr);
  std::unique_ptr<ReadStream> stream =
      NewStream(*queue, Range(0, kPages), Options(ReadStreamPolicy::kAdaptive, kMaxDistance, 1));
  ASSERT_NE(stream, nullptr);
  EXPECT_EQ(stream->distance(), 1u) << "adaptive starts at 1";
  uint32_t most = 0;
  for (uint64_t page = 0; page < kPages; ++page) {
    ASSERT_NO_FATAL_FAILURE(ExpectNext(*stream, page, page));
    EXPECT_GE(stream->distance(), 1u);
    EXPECT_LE(stream->distance(), kMaxDistance);
    EXPECT_LE(stream->reads_in_flight(), kMaxDistance);
    most = std::max(most, stream->distance());
  }
  ASSERT_NO_FATAL_FAILURE(ExpectEnd(*stream));
  EXPECT_GT(most, 1u) << "a consumer that always waited never raised the distance";
  EXPECT_GT(stream->stats().consumer_waits, 0u);
}

TEST_P(ReadStreamTest, AdaptiveDistanceStaysAtOneWhenEveryPageIsResident) {
  for (uint64_t page = 0; page < kPages; ++page) {
    ASSERT_OK_AND_ASSIGN(PageGuard guard, manager_->Fetch(*file_, page));
  }
  std::unique_ptr<IoQueue> queue = NewQueue();
  ASSERT_NE(queue, nullptr);
  std::unique_ptr<ReadStream> stream =
      NewStream(*queue, Range(0, kPages), Options(ReadStreamPolicy::kAdaptive, kQueueDepth, 4));
  ASSERT_NE(stream, nullptr);
  for (uint64_t page = 0; page < kPages; ++page) {
    ASSERT_NO_FATAL_FAILURE(ExpectNext(*stream, page, page));
    EXPECT_EQ(stream->distance(), 1u) << "after page " << page;
  }
  ASSERT_NO_FATAL_FAILURE(ExpectEnd(*stream));
  EXPECT_EQ(stream->stats().reads, 0u);
  EXPECT_EQ(stream->stats().hits, kPages);
}

// The two distances' rules (read_stream.h, "adaptive"), each in its own test.

// Combine distance: every read issued doubles the pages the next one gathers, up to
// io_combine, whether or not the consumer waited.
TEST_P(ReadStreamTest, CombineDistanceDoublesAfterEachReadUpToIoCombine) {
  constexpr uint32_t kCombine = 8;
  std::unique_ptr<IoQueue> queue = NewQueue();
  ASSERT_NE(queue, nullptr);
  std::unique_ptr<ReadStream> stream =
      NewStream(*queue, Range(0, kPages), Options(ReadStreamPolicy::kAdaptive, kQueueDepth, kCombine));
  ASSERT_NE(stream, nullptr);
  EXPECT_EQ(stream->combine_distance(), 1u) << "adaptive starts at one page per read";
  uint32_t previous = 1;
  for (uint64_t page = 0; page < kPages; ++page) {
    ASSERT_NO_FATAL_FAILURE(ExpectNext(*stream, page, page));
    EXPECT_GE(stream->combine_distance(), previous) << "a stream of misses never shrinks its reads";
    EXPECT_LE(stream->combine_distance(), kCombine);
    previous = stream->combine_distance();
  }
  ASSERT_NO_FATAL_FAILURE(ExpectEnd(*stream));
  const ReadStreamStats& stats = stream->stats();
  EXPECT_EQ(previous, kCombine);
  EXPECT_GE(stats.reads_by_pages[1], 1u) << "the first read is of one page";
  EXPECT_GE(stats.reads_by_pages[kCombine], 1u) << "reads grew to io_combine";
  EXPECT_EQ(PagesInReads(stats), kPages);
}

// Read-ahead distance: it grows when the consumer waits, not merely because reads happen
// (nor when they complete inline). A consumer slower than the device finds its pages read
// and never waits after the first.
TEST_P(ReadStreamTest, ReadAheadDistanceGrowsOnlyWhenTheConsumerWaits) {
  constexpr uint64_t kPagesRead = 24;
  std::unique_ptr<IoQueue> queue = NewQueue();
  ASSERT_NE(queue, nullptr);
  std::unique_ptr<ReadStream> stream =
      NewStream(*queue, Range(0, kPagesRead), Options(ReadStreamPolicy::kAdaptive, kQueueDepth, 1));
  ASSERT_NE(stream, nullptr);
  uint32_t most = 0;
  for (uint64_t page = 0; page < kPagesRead; ++page) {
    ASSERT_NO_FATAL_FAILURE(ExpectNext(*stream, page, page));
    most = std::max(most, stream->distance());
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // The slow consumer.
  }
  const ReadStreamStats& stats = stream->stats();
  // Each wait at most doubles the distance; the latency floor needs 1 + latency / 2 ms.
  uint32_t bound = 1;
  for (uint64_t w = 0; w < stats.consumer_waits && bound < kQueueDepth; ++w) bound *= 2;
  EXPECT_LE(most, std::max(bound, 2u)) << stats.consumer_waits << " waits, " << stats.inline_completions
                                       << " inline completions";
}

// Decay: once a stream that read (and raised both distances) turns into a run of hits
// longer than the hold-off, both distances fall back to 1: a cached stream needs no
// depth, and the latency of its last reads must not hold the distance up.
TEST_P(ReadStreamTest, ALongRunOfHitsAfterReadsDecaysBothDistancesToOne) {
  constexpr uint32_t kMaxDistance = 8;
  constexpr uint32_t kCombine = 4;
  constexpr uint64_t kMisses = 24;
  for (uint64_t page = kMisses; page < kPages; ++page) {
    ASSERT_OK_AND_ASSIGN(PageGuard guard, manager_->Fetch(*file_, page));  // Resident.
  }
  for (uint64_t page = 0; page < kMisses; ++page) SlowPage(page, /*delay_us=*/2000);
  std::unique_ptr<IoQueue> queue = NewQueue(kMaxDistance);
  ASSERT_NE(queue, nullptr);
  std::unique_ptr<ReadStream> stream =
      NewStream(*queue, Range(0, kPages), Options(ReadStreamPolicy::kAdaptive, kMaxDistance, kCombine));
  ASSERT_NE(stream, nullptr);
  uint32_t most_distance = 0;
  uint32_t most_combine = 0;
  for (uint64_t page = 0; page < kMisses; ++page) {
    ASSERT_NO_FATAL_FAILURE(ExpectNext(*stream, page, page));
    most_distance = std::max(most_distance, stream->distance());
    most_combine = std::max(most_combine, stream->combine_distance());
  }
  EXPECT_GT(most_distance, 1u) << "a consumer waiting for slow reads raises the distance";
  EXPECT_EQ(most_combine, kCombine);
  for (uint64_t page = kMisses; page < kPages; ++page) ASSERT_NO_FATAL_FAILURE(ExpectNext(*stream, page, page));
  ASSERT_NO_FATAL_FAILURE(ExpectEnd(*stream));
  EXPECT_EQ(stream->distance(), 1u) << "a long run of hits needs no read-ahead";
  EXPECT_EQ(stream->combine_distance(), 1u);
}

TEST_P(ReadStreamTest, IoErrorSurfacesAtItsPositionAndTheStreamGoesOn) {
  constexpr uint64_t kBad = 10;
  constexpr uint32_t kFrames = 16;
  ASSERT_NO_FATAL_FAILURE(NewPool(kFrames));  // Small, so the failed frame is needed again below.
  FailPage(kBad, /*times=*/1);
  {
    std::unique_ptr<IoQueue> queue = NewQueue();
    ASSERT_NE(queue, nullptr);
    std::unique_ptr<ReadStream> stream = NewStream(*queue, Range(0, kPages), Options(ReadStreamPolicy::kFixed, 4, 1));
    ASSERT_NE(stream, nullptr);
    for (uint64_t page = 0; page < kPages; ++page) {
      if (page == kBad) {
        ASSERT_NO_FATAL_FAILURE(ExpectNextFails(*stream, StatusCode::kIoError, kBad, path_));
        continue;
      }
      ASSERT_NO_FATAL_FAILURE(ExpectNext(*stream, page, page));
    }
    ASSERT_NO_FATAL_FAILURE(ExpectEnd(*stream));
    EXPECT_EQ(PinnedFrames(*manager_), "");
  }
  EXPECT_EQ(faults_.fired(), 1u);
  EXPECT_EQ(manager_->stats().read_failures, 1u);
  // Not left mapped: read again, correctly. Then every frame (the failed one among them)
  // holds a page at once.
  const uint64_t read_before = manager_->stats().pages_read;
  {
    ASSERT_OK_AND_ASSIGN(PageGuard again, manager_->Fetch(*file_, kBad));
    EXPECT_TRUE(CheckPage(again.data(), kBad));
    EXPECT_EQ(manager_->stats().pages_read, read_before + 1);
  }
  std::vector<PageGuard> all;
  for (uint64_t page = 0; page < kFrames; ++page) {
    ASSERT_OK_AND_ASSIGN(PageGuard guard, manager_->Fetch(*file_, page));
    EXPECT_TRUE(CheckPage(guard.data(), page));
    all.push_back(std::move(guard));
  }
}

// With combining, the failed read may hold neighbours of the bad page: each of those comes
// back either whole or with the read's error naming itself; pages beyond io_combine of
// the bad one cannot share its read and must come back whole.
TEST_P(ReadStreamTest, IoErrorInACombinedReadStaysInsideThatRead) {
  constexpr uint64_t kBad = 21;
  constexpr uint32_t kCombine = 4;
  FailPage(kBad, /*times=*/1);
  std::unique_ptr<IoQueue> queue = NewQueue();
  ASSERT_NE(queue, nullptr);
  std::unique_ptr<ReadStream> stream =
      NewStream(*queue, Range(0, kPages), Options(ReadStreamPolicy::kFixed, 4, kCombine));
  ASSERT_NE(stream, nullptr);
  for (uint64_t page = 0; page < kPages; ++page) {
    const bool may_share = page + kCombine > kBad && page < kBad + kCombine;
    if (page == kBad) {
      ASSERT_NO_FATAL_FAILURE(ExpectNextFails(*stream, StatusCode::kIoError, kBad, path_));
    } else if (!may_share) {
      ASSERT_NO_FATAL_FAILURE(ExpectNext(*stream, page, page));
    } else {
      auto next = stream->Next();
      if (next.has_value()) {
        ASSERT_TRUE(next->has_value());
        EXPECT_EQ((**next).page_no(), page);
        EXPECT_TRUE(CheckPage((**next).data(), page));
      } else {
        EXPECT_EQ(next.error().code(), StatusCode::kIoError) << next.error().ToString();
        EXPECT_NE(next.error().message().find("page " + std::to_string(page) + " "), std::string::npos)
            << next.error().message();
      }
    }
  }
  ASSERT_NO_FATAL_FAILURE(ExpectEnd(*stream));
  EXPECT_EQ(PinnedFrames(*manager_), "");
}

TEST_P(ReadStreamTest, CorruptPageSurfacesAtItsPosition) {
  constexpr uint64_t kBad = 12;
  ASSERT_OK(FlipByte(path_, kBad * kTestPageBytes + 2000));
  std::unique_ptr<IoQueue> queue = NewQueue();
  ASSERT_NE(queue, nullptr);
  // One combined read holds the bad page and its neighbours; only it fails.
  std::unique_ptr<ReadStream> stream = NewStream(*queue, Range(0, kPages), Options(ReadStreamPolicy::kFixed, 4, 8));
  ASSERT_NE(stream, nullptr);
  for (uint64_t page = 0; page < kPages; ++page) {
    if (page == kBad) {
      ASSERT_NO_FATAL_FAILURE(ExpectNextFails(*stream, StatusCode::kCorruption, kBad, path_));
      continue;
    }
    ASSERT_NO_FATAL_FAILURE(ExpectNext(*stream, page, page));
  }
  ASSERT_NO_FATAL_FAILURE(ExpectEnd(*stream));
  EXPECT_EQ(manager_->stats().read_failures, 1u);
  EXPECT_EQ(PinnedFrames(*manager_), "");
}

TEST_P(ReadStreamTest, PagesPastEndOfFileAreInvalidArgumentAtTheirPositions) {
  std::unique_ptr<IoQueue> queue = NewQueue();
  ASSERT_NE(queue, nullptr);
  std::unique_ptr<ReadStream> stream =
      NewStream(*queue, {kPages - 2, kPages - 1, kPages, kPages + 1, 0}, Options(ReadStreamPolicy::kFixed, 4, 8));
  ASSERT_NE(stream, nullptr);
  ASSERT_NO_FATAL_FAILURE(ExpectNext(*stream, kPages - 2, 0));
  ASSERT_NO_FATAL_FAILURE(ExpectNext(*stream, kPages - 1, 1));
  ASSERT_NO_FATAL_FAILURE(ExpectNextFails(*stream, StatusCode::kInvalidArgument, kPages, path_));
  ASSERT_NO_FATAL_FAILURE(ExpectNextFails(*stream, StatusCode::kInvalidArgument, kPages + 1, path_));
  ASSERT_NO_FATAL_FAILURE(ExpectNext(*stream, 0, 4));
  ASSERT_NO_FATAL_FAILURE(ExpectEnd(*stream));
  EXPECT_EQ(PinnedFrames(*manager_), "");
}

// Two threads, each with its own queue and stream, read the same list through one pool:
// each keeps finding pages the other is reading and must wait for them while completing
// its own. Both get every page; the pool reads each page once in all.
TEST_P(ReadStreamTest, TwoStreamsOnTwoThreadsShareOnePool) {
  constexpr int kRounds = 3;
  for (uint64_t page = 0; page < kPages; page += 5) SlowPage(page, /*delay_us=*/300);
  std::mt19937_64 rng(7);
  std::vector<uint64_t> random = Range(0, kPages);
  std::shuffle(random.begin(), random.end(), rng);
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const std::vector<uint64_t> pages = round == 1 ? random : Range(0, kPages);
    const ReadStreamOptions options =
        Options(round == 2 ? ReadStreamPolicy::kAdaptive : ReadStreamPolicy::kFixed, 4, round == 0 ? 4 : 1);
    ASSERT_OK(manager_->DropFile(*file_));
    const uint64_t read_before = manager_->stats().pages_read;
    std::vector<ReadStreamStats> stats(2);
    std::vector<std::thread> threads;
    for (size_t t = 0; t < 2; ++t) {
      threads.emplace_back([&, t] {
        // Made, used and destroyed on this thread (io_uring's single issuer).
        std::unique_ptr<IoQueue> queue = NewQueue();
        if (queue == nullptr) return;
        std::unique_ptr<ReadStream> stream = NewStream(*queue, pages, options);
        if (stream == nullptr) return;
        for (size_t i = 0; i < pages.size(); ++i) {
          ExpectNext(*stream, pages[i], i);
          if (::testing::Test::HasFailure()) return;
        }
        ExpectEnd(*stream);
        stats[t] = stream->stats();
      });
    }
    for (std::thread& thread : threads) thread.join();
    ASSERT_FALSE(HasFailure());
    EXPECT_EQ(stats[0].pages + stats[1].pages, 2 * kPages);
    EXPECT_EQ(stats[0].misses + stats[1].misses, kPages) << "a page was read by both streams";
    EXPECT_EQ(manager_->stats().pages_read - read_before, kPages);
    EXPECT_EQ(PinnedFrames(*manager_), "");
  }
}

TEST_P(ReadStreamTest, DestroyingAStreamMidwayFinishesItsReadsAndReleasesItsPins) {
  for (uint64_t page = 0; page < kPages; ++page) SlowPage(page, /*delay_us=*/2000);
  uint64_t misses = 0;
  {
    std::unique_ptr<IoQueue> queue = NewQueue();
    ASSERT_NE(queue, nullptr);
    std::unique_ptr<ReadStream> stream = NewStream(*queue, Range(0, kPages), Options(ReadStreamPolicy::kFixed, 6, 2));
    ASSERT_NE(stream, nullptr);
    for (uint64_t page = 0; page < 3; ++page) ASSERT_NO_FATAL_FAILURE(ExpectNext(*stream, page, page));
    ASSERT_GT(stream->reads_in_flight(), 0u) << "nothing in flight: the test would prove nothing";
    ASSERT_GT(stream->pinned_pages(), 0u);
    misses = stream->stats().misses;
  }
  EXPECT_EQ(PinnedFrames(*manager_), "");
  // Every read the stream issued finished (each page read became valid), none was dropped
  // in its reading state: the pool holds exactly those pages, and serves them as hits.
  EXPECT_EQ(manager_->stats().pages_read, misses);
  EXPECT_EQ(manager_->FrameCountResident(), misses);
  for (uint64_t page = 0; page < misses; ++page) {
    ASSERT_OK_AND_ASSIGN(PageGuard guard, manager_->Fetch(*file_, page));
    EXPECT_TRUE(CheckPage(guard.data(), page));
  }
  EXPECT_EQ(manager_->stats().pages_read, misses) << "a page the stream read was read again";
}

TEST_P(ReadStreamTest, GuardOutlivesItsStream) {
  std::unique_ptr<IoQueue> queue = NewQueue();
  ASSERT_NE(queue, nullptr);
  std::unique_ptr<ReadStream> stream = NewStream(*queue, Range(0, kPages), Options(ReadStreamPolicy::kFixed, 4, 4));
  ASSERT_NE(stream, nullptr);
  auto next = stream->Next();
  ASSERT_OK(next);
  ASSERT_TRUE(next->has_value());
  PageGuard kept = std::move(**next);
  stream.reset();
  EXPECT_EQ(manager_->PinCount(kept.frame()), 1u);
  EXPECT_TRUE(CheckPage(kept.data(), 0));
  kept.Release();
  EXPECT_EQ(PinnedFrames(*manager_), "");
}

// The refusal loses no page: the one whose read could not start, and the one already
// taken from the source behind it, both come back once a frame is free.
TEST_P(ReadStreamTest, EveryFramePinnedIsResourceExhaustedThenTheStreamResumes) {
  ASSERT_NO_FATAL_FAILURE(NewPool(kMinFrames));
  std::vector<PageGuard> guards;
  for (uint64_t page = 0; page < kMinFrames; ++page) {
    ASSERT_OK_AND_ASSIGN(PageGuard guard, manager_->Fetch(*file_, page));
    guards.push_back(std::move(guard));
  }
  std::unique_ptr<IoQueue> queue = NewQueue();
  ASSERT_NE(queue, nullptr);
  ReadStreamOptions options = Options(ReadStreamPolicy::kFixed, 2, 2);
  options.max_pinned_pages = 3;  // Room to take page 50 from the source behind page 40.
  std::unique_ptr<ReadStream> stream = NewStream(*queue, {40, 50, 51}, options);
  ASSERT_NE(stream, nullptr);
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto refused = stream->Next();
    ASSERT_FALSE(refused.has_value()) << "read with every frame pinned";
    EXPECT_EQ(refused.error().code(), StatusCode::kResourceExhausted) << refused.error().ToString();
  }
  guards.pop_back();
  ASSERT_NO_FATAL_FAILURE(ExpectNext(*stream, 40, 0));
  ASSERT_NO_FATAL_FAILURE(ExpectNext(*stream, 50, 1));
  ASSERT_NO_FATAL_FAILURE(ExpectNext(*stream, 51, 2));
  ASSERT_NO_FATAL_FAILURE(ExpectEnd(*stream));
  stream.reset();
  EXPECT_EQ(PinnedFrames(*manager_), "0:1 1:1 2:1 ");
}

TEST_P(ReadStreamTest, EmptySourceEndsAtOnce) {
  std::unique_ptr<IoQueue> queue = NewQueue();
  ASSERT_NE(queue, nullptr);
  std::unique_ptr<ReadStream> stream = NewStream(*queue, {}, Options(ReadStreamPolicy::kAdaptive, 4, 4));
  ASSERT_NE(stream, nullptr);
  ASSERT_NO_FATAL_FAILURE(ExpectEnd(*stream));
  EXPECT_EQ(stream->stats().reads, 0u);
}

TEST_P(ReadStreamTest, CreateRejectsBadOptions) {
  std::unique_ptr<IoQueue> queue = NewQueue();
  ASSERT_NE(queue, nullptr);
  struct Case {
    ReadStreamOptions options;
    const char* message;
  };
  const std::vector<Case> cases = {
      {Options(ReadStreamPolicy::kFixed, 0, 4), "distance 0 must be between 1 and the queue depth 8"},
      {Options(ReadStreamPolicy::kAdaptive, kQueueDepth + 1, 4), "distance 9 must be between 1"},
      {Options(ReadStreamPolicy::kFixed, 4, 0), "io_combine 0 must be a multiple of the page size 4096"},
      {[] {
         ReadStreamOptions options = Options(ReadStreamPolicy::kFixed, 4, 1);
         options.io_combine_bytes = kTestPageBytes + 512;
         return options;
       }(),
       "io_combine 4608 must be"},
      {Options(ReadStreamPolicy::kFixed, 4, kMaxCombineBytes / kTestPageBytes + 1), "up to 1048576"},
  };
  for (const Case& c : cases) {
    const auto created = ReadStream::Create(*manager_, *queue, *file_, ListSource({1}), c.options);
    ASSERT_FALSE(created.has_value()) << c.message;
    EXPECT_EQ(created.error().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(created.error().message().find(c.message), std::string::npos) << created.error().message();
  }
  const auto no_source =
      ReadStream::Create(*manager_, *queue, *file_, PageSource(), Options(ReadStreamPolicy::kFixed, 4, 4));
  ASSERT_FALSE(no_source.has_value());
  EXPECT_NE(no_source.error().message().find("page source"), std::string::npos) << no_source.error().message();
  // The limits themselves are accepted.
  EXPECT_OK(ReadStream::Create(*manager_, *queue, *file_, ListSource({1}),
                               Options(ReadStreamPolicy::kFixed, kQueueDepth, kMaxCombineBytes / kTestPageBytes)));
  EXPECT_OK(ReadStream::Create(*manager_, *queue, *file_, ListSource({1}), Options(ReadStreamPolicy::kFixed, 1, 1)));
}

}  // namespace
}  // namespace iodepth::testutil
