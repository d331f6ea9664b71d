// BufferManager: the synchronous Fetch path, pins, eviction, write-back and the pool-wide
// operations, in buffered and direct mode, against table files of real heap pages
// (buffer_test_util.h). Faults come in through the file's FaultInjector.
#include "buffer/buffer_manager.h"

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "buffer_test_util.h"
#include "io/fault_injector.h"
#include "io/file.h"
#include "storage/page.h"
#include "testutil/io_printers.h"
#include "testutil/status_macros.h"
#include "testutil/temp_dir.h"

namespace iodepth::testutil {
namespace {

class BufferManagerTest : public ::testing::TestWithParam<CacheMode> {
 protected:
  static constexpr uint64_t kPages = 64;

  void SetUp() override {
    path_ = dir_.File("table");
    ASSERT_OK(WriteTestTable(path_, kPages));
    auto file = Open(path_);
    if (!file.has_value() && file.error().code() == StatusCode::kNotSupported) GTEST_SKIP() << file.error().ToString();
    ASSERT_OK_AND_ASSIGN(file_, std::move(file));
    ASSERT_EQ(file_->direct(), GetParam() == CacheMode::kDirect);
    file_->SetFaultInjector(&faults_);
  }
  void TearDown() override {
    if (file_ != nullptr) file_->SetFaultInjector(nullptr);
  }

  Result<std::unique_ptr<File>> Open(const std::string& path) const {
    OpenOptions options;
    options.access = AccessMode::kReadWrite;
    options.cache = GetParam();
    return File::Open(path, options);
  }

  static std::unique_ptr<BufferManager> Pool(uint32_t frames) {
    auto manager = BufferManager::Create(PoolOptions(frames));
    EXPECT_OK(manager);
    return manager.has_value() ? std::move(*manager) : nullptr;
  }

  static FaultRule Rule(FaultKind kind, uint64_t page_no, int times) {
    FaultRule rule;
    rule.kind = kind;
    rule.offset = page_no * kTestPageBytes;
    rule.times = times;
    return rule;
  }

  // Fetches `page_no`, checks its content and releases it.
  void FetchAndCheck(BufferManager& manager, uint64_t page_no) {
    auto guard = manager.Fetch(*file_, page_no);
    ASSERT_OK(guard) << "page " << page_no;
    EXPECT_EQ(guard->page_no(), page_no);
    EXPECT_TRUE(CheckPage(guard->data(), page_no));
  }

  TempDir dir_;
  std::string path_;
  FaultInjector faults_;
  std::unique_ptr<File> file_;
};

INSTANTIATE_TEST_SUITE_P(CacheModes, BufferManagerTest, ::testing::Values(CacheMode::kBuffered, CacheMode::kDirect),
                         [](const auto& param_info) { return std::string(CacheModeLabel(param_info.param)); });

TEST_P(BufferManagerTest, FetchReturnsEveryPageOfTheFile) {
  auto manager = Pool(16);
  ASSERT_NE(manager, nullptr);
  for (uint64_t page = 0; page < kPages; ++page) ASSERT_NO_FATAL_FAILURE(FetchAndCheck(*manager, page));
  const BufferStats stats = manager->stats();
  EXPECT_EQ(stats.pages_read, kPages);
  EXPECT_EQ(stats.lookups, kPages);
  EXPECT_EQ(stats.hits, 0u);
  EXPECT_EQ(stats.read_failures, 0u);
  EXPECT_EQ(PinnedFrames(*manager), "");
}

TEST_P(BufferManagerTest, LastPageOfFileIsReadable) {
  auto manager = Pool(4);
  ASSERT_NE(manager, nullptr);
  ASSERT_NO_FATAL_FAILURE(FetchAndCheck(*manager, kPages - 1));
}

TEST_P(BufferManagerTest, HitDoesNotReadAgain) {
  auto manager = Pool(8);
  ASSERT_NE(manager, nullptr);
  // A zero delay changes nothing but counts every attempt to read page 5.
  faults_.Add(Rule(FaultKind::kDelay, /*page_no=*/5, /*times=*/-1));
  {
    ASSERT_OK_AND_ASSIGN(PageGuard first, manager->Fetch(*file_, 5));
    EXPECT_TRUE(CheckPage(first.data(), 5));
  }
  ASSERT_OK_AND_ASSIGN(PageGuard second, manager->Fetch(*file_, 5));
  EXPECT_TRUE(CheckPage(second.data(), 5));
  EXPECT_EQ(faults_.fired(), 1u) << "page 5 was read more than once";
  const BufferStats stats = manager->stats();
  EXPECT_EQ(stats.lookups, 2u);
  EXPECT_EQ(stats.hits, 1u);
  EXPECT_EQ(stats.pages_read, 1u);
  EXPECT_EQ(manager->FrameCountResident(), 1u);
}

TEST_P(BufferManagerTest, PinsCountEveryGuardOfAFrame) {
  auto manager = Pool(8);
  ASSERT_NE(manager, nullptr);
  ASSERT_OK_AND_ASSIGN(PageGuard first, manager->Fetch(*file_, 3));
  const uint32_t frame = first.frame();
  EXPECT_EQ(manager->PinCount(frame), 1u);
  ASSERT_OK_AND_ASSIGN(PageGuard second, manager->Fetch(*file_, 3));
  EXPECT_EQ(second.frame(), frame) << "one page, two frames";
  EXPECT_EQ(manager->PinCount(frame), 2u);

  PageGuard moved = std::move(second);
  EXPECT_FALSE(second.valid());  // NOLINT(bugprone-use-after-move): checking the moved-from state.
  EXPECT_EQ(manager->PinCount(frame), 2u) << "a move neither pins nor unpins";

  first.Release();
  EXPECT_FALSE(first.valid());
  EXPECT_EQ(manager->PinCount(frame), 1u);
  first.Release();  // A second release of an empty guard does nothing.
  EXPECT_EQ(manager->PinCount(frame), 1u);
  moved = PageGuard();  // Assigning over a guard releases its pin.
  EXPECT_EQ(manager->PinCount(frame), 0u);
}

TEST_P(BufferManagerTest, EvictionNeverTakesAPinnedFrame) {
  constexpr uint32_t kFrames = 8;
  auto manager = Pool(kFrames);
  ASSERT_NE(manager, nullptr);
  const std::vector<uint64_t> pinned_pages = {2, 30, 61};
  std::vector<PageGuard> pinned;
  for (const uint64_t page : pinned_pages) {
    ASSERT_OK_AND_ASSIGN(PageGuard guard, manager->Fetch(*file_, page));
    pinned.push_back(std::move(guard));
  }
  // Churn: every other page, five times over, through the five unpinned frames.
  for (int round = 0; round < 5; ++round) {
    for (uint64_t page = 0; page < kPages; ++page) {
      if (page == 2 || page == 30 || page == 61) continue;
      ASSERT_NO_FATAL_FAILURE(FetchAndCheck(*manager, page));
    }
  }
  EXPECT_GT(manager->stats().evictions, 5 * (kPages - 3) - kFrames) << "the churn did not go through the pool";
  const uint64_t read_before = manager->stats().pages_read;
  for (size_t i = 0; i < pinned.size(); ++i) {
    SCOPED_TRACE("page " + std::to_string(pinned_pages[i]));
    EXPECT_EQ(pinned[i].page_no(), pinned_pages[i]);
    EXPECT_TRUE(CheckPage(pinned[i].data(), pinned_pages[i]));
    EXPECT_EQ(manager->PinCount(pinned[i].frame()), 1u);
    // Still mapped to the same frame: fetching it again is a hit on that frame.
    ASSERT_OK_AND_ASSIGN(PageGuard again, manager->Fetch(*file_, pinned_pages[i]));
    EXPECT_EQ(again.frame(), pinned[i].frame());
  }
  EXPECT_EQ(manager->stats().pages_read, read_before);
  pinned.clear();
  EXPECT_EQ(PinnedFrames(*manager), "");
}

TEST_P(BufferManagerTest, AllFramesPinnedIsResourceExhaustedUntilOneIsReleased) {
  auto manager = Pool(kMinFrames);
  ASSERT_NE(manager, nullptr);
  std::vector<PageGuard> guards;
  for (uint64_t page = 0; page < kMinFrames; ++page) {
    ASSERT_OK_AND_ASSIGN(PageGuard guard, manager->Fetch(*file_, page));
    guards.push_back(std::move(guard));
  }
  // Bounded by the sweep, not by a pin being released: this returns, with an error.
  const auto refused = manager->Fetch(*file_, 10);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), StatusCode::kResourceExhausted) << refused.error().ToString();
  EXPECT_NE(refused.error().message().find("all 4 buffer frames"), std::string::npos) << refused.error().message();
  EXPECT_NE(refused.error().message().find("more memory"), std::string::npos) << refused.error().message();
  // Resident pages are still served: a hit needs no frame.
  ASSERT_NO_FATAL_FAILURE(FetchAndCheck(*manager, 1));

  guards.erase(guards.begin() + 2);  // Releases page 2's frame.
  ASSERT_NO_FATAL_FAILURE(FetchAndCheck(*manager, 10));
  for (size_t i = 0; i < guards.size(); ++i) EXPECT_TRUE(CheckPage(guards[i].data(), guards[i].page_no()));
}

// A claim of several frames starts at the clock hand and may reach the end of the arena
// part way; the frames it could not take there must still be found, not skipped, and a
// free frame must never be reported as pinned.
TEST_P(BufferManagerTest, RunClaimReachesFramesPastTheEndOfTheArena) {
  constexpr uint32_t kFrames = 10;  // Not a multiple of the run length below.
  auto manager = Pool(kFrames);
  ASSERT_NE(manager, nullptr);
  std::vector<PageGuard> guards;
  for (uint64_t page = 0; page < kFrames; ++page) {
    ASSERT_OK_AND_ASSIGN(PageGuard guard, manager->Fetch(*file_, page));
    guards.push_back(std::move(guard));
  }
  // Free two frames; whichever they are, runs of up to 4 must be able to claim them.
  const uint32_t free_a = guards[0].frame();
  const uint32_t free_b = guards[1].frame();
  guards.erase(guards.begin(), guards.begin() + 2);
  for (uint32_t attempt = 0; attempt < 2 * kFrames; ++attempt) {
    SCOPED_TRACE("attempt " + std::to_string(attempt));
    // Never resident before: each attempt needs frames.
    const uint64_t page_no = kFrames + 2 * attempt;
    auto run = manager->BeginRead(*file_, page_no, /*pages=*/4);
    ASSERT_OK(run);
    ASSERT_GE(run->pages, 1u);
    ASSERT_LE(run->pages, 2u);
    for (uint32_t i = 0; i < run->pages; ++i) {
      const uint32_t frame = run->first_frame + i;
      EXPECT_TRUE(frame == free_a || frame == free_b) << "claimed pinned frame " << frame;
    }
    const std::span<std::byte> frames = manager->FrameData(run->first_frame, run->pages);
    ASSERT_OK_AND_ASSIGN(const size_t bytes, file_->ReadAt(page_no * kTestPageBytes, frames));
    manager->FinishRead(*run, page_no, Status::OK(), bytes);
    for (uint32_t i = 0; i < run->pages; ++i) {
      EXPECT_TRUE(CheckPage(manager->FrameData(run->first_frame + i), page_no + i));
      manager->Unpin(run->first_frame + i);
    }
  }
}

TEST_P(BufferManagerTest, ConcurrentFetchesOfOneMissingPageReadItOnce) {
  constexpr uint32_t kThreads = 8;
  auto manager = Pool(16);
  ASSERT_NE(manager, nullptr);
  // The one read of page 9 stalls, so the other threads arrive while it is in flight.
  FaultRule slow = Rule(FaultKind::kDelay, /*page_no=*/9, /*times=*/-1);
  slow.delay_us = 100'000;
  faults_.Add(slow);
  std::atomic<uint32_t> ready{0};
  std::vector<uint32_t> frames(kThreads, UINT32_MAX);
  std::vector<std::thread> threads;
  for (uint32_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ready.fetch_add(1);
      while (ready.load() < kThreads) std::this_thread::yield();
      auto guard = manager->Fetch(*file_, 9);
      EXPECT_OK(guard) << "thread " << t;
      if (guard.has_value()) {
        EXPECT_TRUE(CheckPage(guard->data(), 9));
        frames[t] = guard->frame();
      }
      // Hold the pin until every thread has its page, so none can find it resident only
      // because another had already released it.
      ready.fetch_add(1);
      while (ready.load() < 2 * kThreads) std::this_thread::yield();
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(faults_.fired(), 1u) << "page 9 was read more than once";
  const BufferStats stats = manager->stats();
  EXPECT_EQ(stats.pages_read, 1u);
  // A thread that lost the race to map the page looks it up twice; every thread but the
  // reader ends with one hit.
  EXPECT_GE(stats.lookups, uint64_t{kThreads});
  EXPECT_EQ(stats.hits, uint64_t{kThreads - 1});
  for (uint32_t t = 1; t < kThreads; ++t) EXPECT_EQ(frames[t], frames[0]) << "thread " << t;
  EXPECT_EQ(PinnedFrames(*manager), "");
}

// Sized by iterations so it stays short under TSan: a pool a quarter of the file, threads
// each holding up to two pins, every fetched page checked.
TEST_P(BufferManagerTest, ConcurrentRandomFetchesKeepPagesIntactAndPinsBalanced) {
  constexpr uint32_t kThreads = 6;
  constexpr uint32_t kFetchesPerThread = 400;
  auto manager = Pool(kPages / 4);
  ASSERT_NE(manager, nullptr);
  std::vector<std::thread> threads;
  for (uint32_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(1234 + t);
      PageGuard held;  // A second pin kept across the next fetch.
      for (uint32_t i = 0; i < kFetchesPerThread; ++i) {
        const uint64_t page = rng() % kPages;
        auto guard = manager->Fetch(*file_, page);
        ASSERT_OK(guard) << "thread " << t << " fetch " << i << " of page " << page;
        ASSERT_EQ(guard->page_no(), page);
        ASSERT_TRUE(CheckPage(guard->data(), page)) << "thread " << t << " fetch " << i;
        if (held.valid()) {
          ASSERT_TRUE(CheckPage(held.data(), held.page_no())) << "a held page changed";
        }
        if (rng() % 2 == 0) held = std::move(*guard);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(PinnedFrames(*manager), "");
  const BufferStats stats = manager->stats();
  EXPECT_GE(stats.lookups, uint64_t{kThreads} * kFetchesPerThread);  // A lost race to map looks up twice.
  EXPECT_EQ(stats.read_failures, 0u);
  EXPECT_GT(stats.evictions, 0u) << "the pool never filled";
  EXPECT_LE(manager->FrameCountResident(), manager->capacity());
}

TEST_P(BufferManagerTest, CorruptPageIsCorruptionNamingPageAndFile) {
  auto manager = Pool(8);
  ASSERT_NE(manager, nullptr);
  constexpr uint64_t kBad = 5;
  const uint64_t offset = kBad * kTestPageBytes + 1000;  // Inside the rows.
  ASSERT_OK(FlipByte(path_, offset));

  const auto fetched = manager->Fetch(*file_, kBad);
  ASSERT_FALSE(fetched.has_value());
  EXPECT_EQ(fetched.error().code(), StatusCode::kCorruption) << fetched.error().ToString();
  EXPECT_NE(fetched.error().message().find("page 5"), std::string::npos) << fetched.error().message();
  EXPECT_NE(fetched.error().message().find(path_), std::string::npos) << fetched.error().message();
  EXPECT_EQ(manager->stats().read_failures, 1u);
  EXPECT_EQ(manager->stats().pages_read, 0u);
  for (const uint64_t page : {uint64_t{4}, uint64_t{6}, uint64_t{0}}) {
    ASSERT_NO_FATAL_FAILURE(FetchAndCheck(*manager, page));
  }
  // Not left mapped: the next fetch reads it again and fails again...
  const auto again = manager->Fetch(*file_, kBad);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), StatusCode::kCorruption);
  EXPECT_EQ(manager->stats().read_failures, 2u);
  // ...until the disk is repaired.
  ASSERT_OK(FlipByte(path_, offset));
  ASSERT_NO_FATAL_FAILURE(FetchAndCheck(*manager, kBad));
  EXPECT_EQ(PinnedFrames(*manager), "");
}

TEST_P(BufferManagerTest, ReadErrorGoesToTheRequesterAndLeavesNothingMapped) {
  auto manager = Pool(kMinFrames);
  ASSERT_NE(manager, nullptr);
  constexpr uint64_t kBad = 7;
  faults_.Add(Rule(FaultKind::kError, kBad, /*times=*/1));
  const auto fetched = manager->Fetch(*file_, kBad);
  ASSERT_FALSE(fetched.has_value());
  EXPECT_EQ(fetched.error().code(), StatusCode::kIoError) << fetched.error().ToString();
  EXPECT_EQ(fetched.error().error_number(), EIO);
  EXPECT_NE(fetched.error().message().find("page 7"), std::string::npos) << fetched.error().message();
  EXPECT_NE(fetched.error().message().find(path_), std::string::npos) << fetched.error().message();
  EXPECT_EQ(manager->FrameCountResident(), 0u);
  EXPECT_EQ(PinnedFrames(*manager), "");
  EXPECT_EQ(manager->stats().read_failures, 1u);

  // The fault fired once; the page is read again, not served from the failed frame.
  ASSERT_NO_FATAL_FAILURE(FetchAndCheck(*manager, kBad));
  EXPECT_EQ(manager->stats().pages_read, 1u);
  // Every frame, the failed one included, can hold a page again: pin them all at once.
  std::vector<PageGuard> guards;
  for (uint64_t page = 20; page < 20 + kMinFrames; ++page) {
    ASSERT_OK_AND_ASSIGN(PageGuard guard, manager->Fetch(*file_, page));
    EXPECT_TRUE(CheckPage(guard.data(), page));
    guards.push_back(std::move(guard));
  }
}

// Deterministic with the building blocks: this thread maps page 3 (BeginRead) and only
// fails the read once every other thread has found it in flight and is waiting on it.
TEST_P(BufferManagerTest, ReadErrorReachesEveryWaiterOfThatPage) {
  constexpr uint32_t kThreads = 4;
  auto manager = Pool(8);
  ASSERT_NE(manager, nullptr);
  ASSERT_OK_AND_ASSIGN(const ReadRun run, manager->BeginRead(*file_, /*page_no=*/3, /*pages=*/1));
  ASSERT_EQ(run.pages, 1u);
  std::vector<Status> results(kThreads);
  std::vector<std::thread> threads;
  for (uint32_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto guard = manager->Fetch(*file_, 3);
      results[t] = guard.has_value() ? Status::OK() : guard.error();
    });
  }
  // Each waiter's lookup pins the frame before it waits.
  while (manager->stats().lookups < kThreads) std::this_thread::yield();
  EXPECT_EQ(manager->PinCount(run.first_frame), 1u + kThreads);
  manager->FinishRead(run, /*page_no=*/3, Status::PosixError("injected", EIO), /*bytes_done=*/0);
  for (std::thread& thread : threads) thread.join();
  for (uint32_t t = 0; t < kThreads; ++t) {
    EXPECT_EQ(results[t].code(), StatusCode::kIoError) << "thread " << t << ": " << results[t].ToString();
    EXPECT_NE(results[t].message().find("page 3"), std::string::npos) << results[t].message();
  }
  EXPECT_EQ(manager->PinCount(run.first_frame), 1u) << "a waiter kept its pin";
  manager->Unpin(run.first_frame);
  EXPECT_EQ(manager->stats().read_failures, 1u);
  EXPECT_EQ(manager->stats().pages_read, 0u);
  ASSERT_NO_FATAL_FAILURE(FetchAndCheck(*manager, 3));
  EXPECT_EQ(PinnedFrames(*manager), "");
}

// The same, when the read succeeds: every waiter gets the one frame, read once.
TEST_P(BufferManagerTest, WaitersOfAPageBeingReadShareItsFrame) {
  constexpr uint32_t kThreads = 4;
  auto manager = Pool(8);
  ASSERT_NE(manager, nullptr);
  ASSERT_OK_AND_ASSIGN(const ReadRun run, manager->BeginRead(*file_, /*page_no=*/3, /*pages=*/1));
  ASSERT_EQ(run.pages, 1u);
  std::vector<uint32_t> frames(kThreads, UINT32_MAX);
  std::vector<std::thread> threads;
  for (uint32_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto guard = manager->Fetch(*file_, 3);
      EXPECT_OK(guard);
      if (!guard.has_value()) return;
      EXPECT_TRUE(CheckPage(guard->data(), 3));
      frames[t] = guard->frame();
    });
  }
  while (manager->stats().lookups < kThreads) std::this_thread::yield();
  ASSERT_OK_AND_ASSIGN(const size_t bytes, file_->ReadAt(3 * kTestPageBytes, manager->FrameData(run.first_frame)));
  manager->FinishRead(run, /*page_no=*/3, Status::OK(), bytes);
  for (std::thread& thread : threads) thread.join();
  for (uint32_t t = 0; t < kThreads; ++t) EXPECT_EQ(frames[t], run.first_frame) << "thread " << t;
  manager->Unpin(run.first_frame);
  EXPECT_EQ(manager->stats().pages_read, 1u);
  EXPECT_EQ(manager->stats().hits, uint64_t{kThreads});
  EXPECT_EQ(PinnedFrames(*manager), "");
}

TEST_P(BufferManagerTest, PageExactlyAtEndOfFileIsInvalidArgument) {
  auto manager = Pool(4);
  ASSERT_NE(manager, nullptr);
  for (const uint64_t page : {kPages, kPages + 1000}) {
    const auto fetched = manager->Fetch(*file_, page);
    ASSERT_FALSE(fetched.has_value()) << "page " << page;
    EXPECT_EQ(fetched.error().code(), StatusCode::kInvalidArgument) << fetched.error().ToString();
    EXPECT_NE(fetched.error().message().find("past the end of the file"), std::string::npos)
        << fetched.error().message();
  }
  EXPECT_EQ(manager->FrameCountResident(), 0u);
  EXPECT_EQ(PinnedFrames(*manager), "");
}

TEST_P(BufferManagerTest, PartialPageAtEndOfFileIsInvalidArgument) {
  ASSERT_OK(WriteTestTable(path_, kPages, /*tail_bytes=*/kTestPageBytes / 2));
  auto manager = Pool(4);
  ASSERT_NE(manager, nullptr);
  const auto fetched = manager->Fetch(*file_, kPages);
  ASSERT_FALSE(fetched.has_value());
  EXPECT_EQ(fetched.error().code(), StatusCode::kInvalidArgument) << fetched.error().ToString();
  ASSERT_NO_FATAL_FAILURE(FetchAndCheck(*manager, kPages - 1));
}

TEST_P(BufferManagerTest, DirtyPageIsWrittenBackWhenEvicted) {
  auto manager = Pool(kMinFrames);
  ASSERT_NE(manager, nullptr);
  {
    ASSERT_OK_AND_ASSIGN(PageGuard guard, manager->Fetch(*file_, 3));
    ChangeLsn(guard, 77);
  }
  EXPECT_EQ(LsnOnDisk(path_, 3), 0u) << "written before eviction";
  for (uint64_t page = 10; page < 30; ++page) ASSERT_NO_FATAL_FAILURE(FetchAndCheck(*manager, page));
  EXPECT_EQ(manager->stats().writebacks, 1u);
  EXPECT_EQ(LsnOnDisk(path_, 3), 77u);

  const uint64_t read_before = manager->stats().pages_read;
  ASSERT_OK_AND_ASSIGN(PageGuard again, manager->Fetch(*file_, 3));
  EXPECT_EQ(manager->stats().pages_read, read_before + 1) << "page 3 was never evicted";
  EXPECT_EQ(PageLsn(again.data()), 77u);
  EXPECT_OK(VerifyPage(again.data(), 3, path_));
}

TEST_P(BufferManagerTest, CleanPageIsNotWrittenBack) {
  auto manager = Pool(kMinFrames);
  ASSERT_NE(manager, nullptr);
  faults_.Add([] {
    FaultRule rule;  // Any write anywhere fails: a clean eviction must not write.
    rule.kind = FaultKind::kError;
    rule.any_op = false;
    rule.op = IoOp::kWrite;
    rule.offset = 3 * kTestPageBytes;
    return rule;
  }());
  ASSERT_NO_FATAL_FAILURE(FetchAndCheck(*manager, 3));
  for (uint64_t page = 10; page < 30; ++page) ASSERT_NO_FATAL_FAILURE(FetchAndCheck(*manager, page));
  EXPECT_EQ(manager->stats().writebacks, 0u);
  EXPECT_EQ(faults_.fired(), 0u);
}

TEST_P(BufferManagerTest, FlushAllWritesEveryDirtyPageOnce) {
  auto manager = Pool(16);
  ASSERT_NE(manager, nullptr);
  {
    ASSERT_OK_AND_ASSIGN(PageGuard held, manager->Fetch(*file_, 4));
    ChangeLsn(held, 40);
    ASSERT_OK_AND_ASSIGN(PageGuard released, manager->Fetch(*file_, 9));
    ChangeLsn(released, 90);
    released.Release();
    ASSERT_NO_FATAL_FAILURE(FetchAndCheck(*manager, 12));  // Clean.
    // A pinned dirty page is flushed too: FlushAll needs only that nobody writes it now.
    ASSERT_OK(manager->FlushAll());
    EXPECT_EQ(manager->stats().writebacks, 2u);
    EXPECT_EQ(LsnOnDisk(path_, 4), 40u);
    EXPECT_EQ(LsnOnDisk(path_, 9), 90u);
    EXPECT_EQ(LsnOnDisk(path_, 12), 0u);
  }
  ASSERT_OK(manager->FlushAll());
  EXPECT_EQ(manager->stats().writebacks, 2u) << "a flushed page stayed dirty";
  EXPECT_EQ(PinnedFrames(*manager), "");
}

TEST_P(BufferManagerTest, FlushAllReportsAWriteError) {
  auto manager = Pool(8);
  ASSERT_NE(manager, nullptr);
  FaultRule rule;
  rule.kind = FaultKind::kError;
  rule.any_op = false;
  rule.op = IoOp::kWrite;
  rule.offset = 6 * kTestPageBytes;
  rule.times = 1;
  faults_.Add(rule);
  {
    ASSERT_OK_AND_ASSIGN(PageGuard guard, manager->Fetch(*file_, 6));
    ChangeLsn(guard, 60);
  }
  const Status flushed = manager->FlushAll();
  EXPECT_EQ(flushed.code(), StatusCode::kIoError) << flushed.ToString();
  EXPECT_NE(flushed.message().find("page 6"), std::string::npos) << flushed.message();
  EXPECT_EQ(LsnOnDisk(path_, 6), 0u);
  // Still dirty: the next flush writes it.
  ASSERT_OK(manager->FlushAll());
  EXPECT_EQ(LsnOnDisk(path_, 6), 60u);
  EXPECT_EQ(PinnedFrames(*manager), "");
}

TEST_P(BufferManagerTest, WriteAheadRuleFlushesTheLogOnceBeforeACheckpointsPages) {
  FakeLog log{path_, /*watch=*/9};
  ASSERT_OK_AND_ASSIGN(auto manager, BufferManager::Create(log.Wire(PoolOptions(16))));
  for (const uint64_t page : {4u, 9u, 12u}) {
    ASSERT_OK_AND_ASSIGN(PageGuard guard, manager->Fetch(*file_, page));
    ChangeLsn(guard, page * 10);
  }
  ASSERT_OK_AND_ASSIGN(auto queue, MakeIoQueue(IoQueueOptions{.backend = Backend::kWorker, .depth = 4}));
  ASSERT_OK(manager->FlushAll(queue.get()));
  ASSERT_EQ(log.flushed_to, std::vector<uint64_t>{120}) << "one log flush, up to the largest page LSN";
  EXPECT_EQ(log.page_lsn_on_disk_then[0], 0u) << "the log was flushed before the pages were written";
  EXPECT_EQ(LsnOnDisk(path_, 9), 90u);
  EXPECT_EQ(LsnOnDisk(path_, 12), 120u);
  EXPECT_EQ(manager->stats().writebacks, 3u);
}

TEST_P(BufferManagerTest, PageIsNotWrittenWhenTheLogCannotBeMadeDurable) {
  FakeLog log{path_, /*watch=*/6};
  log.fail = true;
  ASSERT_OK_AND_ASSIGN(auto manager, BufferManager::Create(log.Wire(PoolOptions(8))));
  {
    ASSERT_OK_AND_ASSIGN(PageGuard guard, manager->Fetch(*file_, 6));
    ChangeLsn(guard, 60);
  }
  const Status flushed = manager->FlushAll();
  EXPECT_EQ(flushed.error_number(), EIO);
  EXPECT_NE(flushed.message().find("write-ahead rule"), std::string::npos) << flushed.message();
  EXPECT_EQ(LsnOnDisk(path_, 6), 0u) << "a page must never reach disk ahead of its log";
  // Eviction of the dirty page obeys the same rule: reading other pages through a small
  // pool needs its frame and must fail rather than write it.
  bool refused = false;
  for (uint64_t page = 20; page < 40 && !refused; ++page) refused = !manager->Fetch(*file_, page).has_value();
  EXPECT_TRUE(refused);
  EXPECT_EQ(LsnOnDisk(path_, 6), 0u);
  log.fail = false;
  ASSERT_OK(manager->FlushAll());
  EXPECT_EQ(LsnOnDisk(path_, 6), 60u);
}

TEST_P(BufferManagerTest, EvictingADirtyPageFlushesTheLogFirst) {
  FakeLog log{path_, /*watch=*/3};
  ASSERT_OK_AND_ASSIGN(auto manager, BufferManager::Create(log.Wire(PoolOptions(kMinFrames))));
  {
    ASSERT_OK_AND_ASSIGN(PageGuard guard, manager->Fetch(*file_, 3));
    ChangeLsn(guard, 33);
  }
  for (uint64_t page = 20; page < 40; ++page) ASSERT_NO_FATAL_FAILURE(FetchAndCheck(*manager, page));
  ASSERT_FALSE(log.flushed_to.empty()) << "the dirty victim was written without asking the log";
  EXPECT_EQ(log.flushed_to[0], 33u);
  EXPECT_EQ(log.page_lsn_on_disk_then[0], 0u);
  EXPECT_EQ(LsnOnDisk(path_, 3), 33u);
}

TEST(BufferManagerOptionsTest, WriteAheadRuleNeedsBothHalves) {
  BufferManagerOptions options = PoolOptions(8);
  options.flush_log = [](uint64_t) { return Status::OK(); };
  EXPECT_EQ(BufferManager::Create(options).error().code(), StatusCode::kInvalidArgument);
}

TEST_P(BufferManagerTest, DropFileRefusesWhilePinnedThenForgetsEveryPage) {
  auto manager = Pool(16);
  ASSERT_NE(manager, nullptr);
  const std::string other_path = dir_.File("other");
  ASSERT_OK(WriteTestTable(other_path, 8));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<File> other, Open(other_path));
  for (uint64_t page = 0; page < 4; ++page) ASSERT_NO_FATAL_FAILURE(FetchAndCheck(*manager, page));
  {
    ASSERT_OK_AND_ASSIGN(PageGuard other_page, manager->Fetch(*other, 2));
    EXPECT_TRUE(CheckPage(other_page.data(), 2));
  }
  {
    ASSERT_OK_AND_ASSIGN(PageGuard dirty, manager->Fetch(*file_, 1));
    ChangeLsn(dirty, 11);
  }
  {
    ASSERT_OK_AND_ASSIGN(PageGuard pinned, manager->Fetch(*file_, 2));
    const Status refused = manager->DropFile(*file_);
    EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition) << refused.ToString();
    EXPECT_NE(refused.message().find("pinned"), std::string::npos) << refused.message();
    EXPECT_NE(refused.message().find(path_), std::string::npos) << refused.message();
    EXPECT_TRUE(CheckPage(pinned.data(), 2)) << "a pinned page was dropped";
  }
  ASSERT_OK(manager->DropFile(*file_));
  EXPECT_EQ(LsnOnDisk(path_, 1), 11u) << "a dirty page was dropped unwritten";
  EXPECT_EQ(manager->FrameCountResident(), 1u) << "only the other file's page stays";
  const uint64_t read_before = manager->stats().pages_read;
  ASSERT_NO_FATAL_FAILURE(FetchAndCheck(*manager, 0));
  EXPECT_EQ(manager->stats().pages_read, read_before + 1) << "a dropped page was still resident";
  {
    ASSERT_OK_AND_ASSIGN(PageGuard other_page, manager->Fetch(*other, 2));
    EXPECT_EQ(manager->stats().pages_read, read_before + 1) << "the other file's page was dropped";
  }
  EXPECT_EQ(PinnedFrames(*manager), "");
}

TEST(BufferManagerCreateTest, RejectsPageSizesThatAreNotPowersOfTwoFrom512To1MiB) {
  for (const uint32_t page_bytes : {0u, 256u, 511u, 1000u, 4095u, 4097u, 2u << 20}) {
    BufferManagerOptions options;
    options.page_bytes = page_bytes;
    options.memory_bytes = 64ull << 20;
    const auto created = BufferManager::Create(options);
    ASSERT_FALSE(created.has_value()) << page_bytes;
    EXPECT_EQ(created.error().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(created.error().message().find("page size " + std::to_string(page_bytes)), std::string::npos)
        << created.error().message();
    EXPECT_NE(created.error().message().find("power of two"), std::string::npos) << created.error().message();
  }
}

TEST(BufferManagerCreateTest, AcceptsSmallestAndLargestPageSizes) {
  for (const uint32_t page_bytes : {512u, 1u << 20}) {
    BufferManagerOptions options;
    options.page_bytes = page_bytes;
    options.memory_bytes = uint64_t{page_bytes} * kMinFrames;
    ASSERT_OK_AND_ASSIGN(auto manager, BufferManager::Create(options));
    EXPECT_EQ(manager->capacity(), kMinFrames);
    EXPECT_EQ(manager->page_bytes(), page_bytes);
  }
}

TEST(BufferManagerCreateTest, BudgetOfExactlyMinFramesIsAccepted) {
  BufferManagerOptions options;
  options.page_bytes = 8192;
  options.memory_bytes = 8192 * kMinFrames;
  ASSERT_OK_AND_ASSIGN(auto manager, BufferManager::Create(options));
  EXPECT_EQ(manager->capacity(), kMinFrames);
}

TEST(BufferManagerCreateTest, BudgetOneByteShortOfMinFramesIsRejected) {
  BufferManagerOptions options;
  options.page_bytes = 8192;
  options.memory_bytes = 8192 * kMinFrames - 1;
  const auto created = BufferManager::Create(options);
  ASSERT_FALSE(created.has_value());
  EXPECT_EQ(created.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(created.error().message().find("holds 3 pages of 8192 bytes"), std::string::npos)
      << created.error().message();
  EXPECT_NE(created.error().message().find("at least 4"), std::string::npos) << created.error().message();
}

TEST(BufferManagerCreateTest, CapacityIsBudgetOverPageSizeRoundedDown) {
  BufferManagerOptions options;
  options.page_bytes = 4096;
  options.memory_bytes = 4096 * 10 + 4095;
  ASSERT_OK_AND_ASSIGN(auto manager, BufferManager::Create(options));
  EXPECT_EQ(manager->capacity(), 10u);
  EXPECT_EQ(manager->FrameCountResident(), 0u);
}

}  // namespace
}  // namespace iodepth::testutil
