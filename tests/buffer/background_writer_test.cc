// The buffer manager's background writer: dirty victims handed off by evictors and
// written at depth through the writer's own IoQueue, the write-ahead rule on that path,
// a page that stays readable while it is written, failures that leave pages dirty, and
// many threads updating pages meanwhile. Every backend, buffered and direct.
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "buffer/buffer_manager.h"
#include "buffer_test_util.h"
#include "io/fault_injector.h"
#include "io/file.h"
#include "storage/page.h"
#include "sys/io_uring_probe.h"
#include "testutil/io_printers.h"
#include "testutil/status_macros.h"
#include "testutil/temp_dir.h"

namespace iodepth::testutil {
namespace {

using WriterParam = std::tuple<Backend, CacheMode>;

class BackgroundWriterTest : public ::testing::TestWithParam<WriterParam> {
 protected:
  static constexpr uint64_t kPages = 64;

  void SetUp() override {
    if (backend() == Backend::kIoUring) {
      const Status probe = ProbeIoUring();
      if (!probe.ok()) GTEST_SKIP() << "io_uring unavailable: " << probe.ToString();
    }
    path_ = dir_.File("table");
    ASSERT_OK(WriteTestTable(path_, kPages));
    OpenOptions options;
    options.access = AccessMode::kReadWrite;
    options.cache = std::get<1>(GetParam());
    auto file = File::Open(path_, options);
    if (!file.has_value() && file.error().code() == StatusCode::kNotSupported) GTEST_SKIP() << file.error().ToString();
    ASSERT_OK_AND_ASSIGN(file_, std::move(file));
    file_->SetFaultInjector(&faults_);
  }
  void TearDown() override {
    if (file_ != nullptr) file_->SetFaultInjector(nullptr);
  }

  Backend backend() const { return std::get<0>(GetParam()); }

  BufferManagerOptions WithWriter(BufferManagerOptions options) const {
    options.background_writer.enabled = true;
    options.background_writer.queue =
        IoQueueOptions{.backend = backend(), .depth = backend() == Backend::kSync ? 1u : 4u};
    return options;
  }

  static FaultRule WriteRule(FaultKind kind, uint64_t page_no) {
    FaultRule rule;
    rule.kind = kind;
    rule.offset = page_no * kTestPageBytes;
    rule.any_op = false;
    rule.op = IoOp::kWrite;
    rule.times = 1;
    return rule;
  }

  // Dirties `page` with `lsn` and releases it.
  void Dirty(BufferManager& manager, uint64_t page, uint64_t lsn) {
    ASSERT_OK_AND_ASSIGN(PageGuard guard, manager.Fetch(*file_, page));
    ChangeLsn(guard, lsn);
  }

  // Fetches pages [first, last) and checks each, enough to evict a small pool's pages.
  void Sweep(BufferManager& manager, uint64_t first, uint64_t last) {
    for (uint64_t page = first; page < last; ++page) {
      auto guard = manager.Fetch(*file_, page);
      ASSERT_OK(guard) << "page " << page;
      ASSERT_TRUE(CheckPage(guard->data(), page));
    }
  }

  // Waits (bounded) until the fault injector has seen `n` attempts it matched.
  void WaitForFaults(uint64_t n) const {
    for (int i = 0; i < 10000 && faults_.fired() < n; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ASSERT_GE(faults_.fired(), n) << "the background writer never issued the write";
  }

  TempDir dir_;
  std::string path_;
  FaultInjector faults_;
  std::unique_ptr<File> file_;
};

INSTANTIATE_TEST_SUITE_P(Backends, BackgroundWriterTest,
                         ::testing::Combine(::testing::Values(Backend::kIoUring, Backend::kWorker, Backend::kSync),
                                            ::testing::Values(CacheMode::kBuffered, CacheMode::kDirect)),
                         [](const auto& param_info) {
                           return std::string(BackendName(std::get<0>(param_info.param))) + "_" +
                                  std::string(CacheModeLabel(std::get<1>(param_info.param)));
                         });

TEST_P(BackgroundWriterTest, DirtyVictimsAreWrittenByTheWriterWhileReadersTakeCleanFrames) {
  ASSERT_OK_AND_ASSIGN(auto manager, BufferManager::Create(WithWriter(PoolOptions(8))));
  for (uint64_t page = 0; page < 4; ++page) ASSERT_NO_FATAL_FAILURE(Dirty(*manager, page, 100 + page));
  // A slow write of page 2 keeps its frame busy; the readers must not need it.
  FaultRule slow = WriteRule(FaultKind::kDelay, 2);
  slow.delay_us = 50'000;
  faults_.Add(slow);
  ASSERT_NO_FATAL_FAILURE(Sweep(*manager, 10, 40));
  ASSERT_OK(manager->DrainBackgroundWriter());
  const BufferStats stats = manager->stats();
  EXPECT_EQ(stats.evictor_writebacks, 0u) << "a reader wrote a dirty victim while clean frames were there";
  EXPECT_EQ(stats.background_writebacks, 4u);
  EXPECT_EQ(stats.writebacks, 4u);
  EXPECT_GE(stats.dirty_victims_queued, 4u);
  EXPECT_EQ(stats.writeback_failures, 0u);
  for (uint64_t page = 0; page < 4; ++page) EXPECT_EQ(LsnOnDisk(path_, page), 100 + page) << "page " << page;
  EXPECT_EQ(PinnedFrames(*manager), "");
  EXPECT_EQ(manager->background_writer_backend(), BackendName(backend()));
}

TEST_P(BackgroundWriterTest, APageBeingWrittenIsReadableAndOnlyAModifierWaitsForTheWrite) {
  ASSERT_OK_AND_ASSIGN(auto manager, BufferManager::Create(WithWriter(PoolOptions(8))));
  ASSERT_NO_FATAL_FAILURE(Dirty(*manager, 3, 33));
  FaultRule slow = WriteRule(FaultKind::kDelay, 3);
  slow.delay_us = 1'000'000;
  faults_.Add(slow);
  // Fill the pool until the evictor hands page 3 to the writer and its write has begun.
  for (uint64_t page = 10; faults_.fired() == 0 && page < 60; ++page)
    ASSERT_NO_FATAL_FAILURE(Sweep(*manager, page, page + 1));
  ASSERT_NO_FATAL_FAILURE(WaitForFaults(1));
  {
    bool did_read = true;
    ASSERT_OK_AND_ASSIGN(PageGuard reader, manager->Fetch(*file_, 3, &did_read));
    EXPECT_FALSE(did_read) << "the page was evicted while being written";
    EXPECT_EQ(PageLsn(reader.data()), 33u);
    EXPECT_EQ(LsnOnDisk(path_, 3), 0u) << "the reader waited for the write it did not need";
    // A modifier must not change the page under its own write: mutable_data waits.
    ChangeLsn(reader, 34);
    EXPECT_EQ(LsnOnDisk(path_, 3), 33u) << "the page changed before its write-back finished";
  }
  ASSERT_OK(manager->DrainBackgroundWriter());
  ASSERT_OK(manager->FlushAll());
  EXPECT_EQ(LsnOnDisk(path_, 3), 34u);
}

TEST_P(BackgroundWriterTest, WriteAheadRuleHoldsOnTheWritersPath) {
  FakeLog log{path_, /*watch=*/3};
  ASSERT_OK_AND_ASSIGN(auto manager, BufferManager::Create(WithWriter(log.Wire(PoolOptions(kMinFrames)))));
  ASSERT_NO_FATAL_FAILURE(Dirty(*manager, 3, 33));
  ASSERT_NO_FATAL_FAILURE(Sweep(*manager, 20, 40));
  ASSERT_OK(manager->DrainBackgroundWriter());
  std::lock_guard lock(log.mutex);
  ASSERT_FALSE(log.flushed_to.empty()) << "the dirty victim was written without asking the log";
  EXPECT_EQ(log.flushed_to[0], 33u);
  EXPECT_EQ(log.page_lsn_on_disk_then[0], 0u) << "the page reached disk before its log";
  EXPECT_EQ(LsnOnDisk(path_, 3), 33u);
}

TEST_P(BackgroundWriterTest, AFailedLogFlushLeavesThePageDirtyAndUnwritten) {
  FakeLog log{path_, /*watch=*/5};
  log.fail = true;
  ASSERT_OK_AND_ASSIGN(auto manager, BufferManager::Create(WithWriter(log.Wire(PoolOptions(8)))));
  ASSERT_NO_FATAL_FAILURE(Dirty(*manager, 5, 55));
  // Reads go on while clean frames last; the evictors then meet the log's error themselves.
  bool refused = false;
  for (uint64_t page = 20; page < 60 && !refused; ++page) refused = !manager->Fetch(*file_, page).has_value();
  const Status drained = manager->DrainBackgroundWriter();
  EXPECT_EQ(drained.error_number(), EIO) << drained.ToString();
  EXPECT_NE(drained.message().find("write-ahead rule"), std::string::npos) << drained.message();
  EXPECT_EQ(LsnOnDisk(path_, 5), 0u) << "a page must never reach disk ahead of its log";
  log.fail = false;
  ASSERT_OK(manager->FlushAll());
  EXPECT_EQ(LsnOnDisk(path_, 5), 55u);
}

TEST_P(BackgroundWriterTest, AFailedWriteIsReportedAndThePageWrittenLater) {
  ASSERT_OK_AND_ASSIGN(auto manager, BufferManager::Create(WithWriter(PoolOptions(8))));
  ASSERT_NO_FATAL_FAILURE(Dirty(*manager, 4, 44));
  faults_.Add(WriteRule(FaultKind::kError, 4));
  for (uint64_t page = 10; faults_.fired() == 0 && page < 60; ++page) {
    // Once the writer has failed, an evictor may meet the page and fail too: either is fine.
    const auto fetched = manager->Fetch(*file_, page);
    if (!fetched.has_value()) {
      EXPECT_EQ(fetched.error().error_number(), EIO) << fetched.error().ToString();
    }
  }
  ASSERT_NO_FATAL_FAILURE(WaitForFaults(1));
  const Status drained = manager->DrainBackgroundWriter();
  EXPECT_EQ(drained.error_number(), EIO) << drained.ToString();
  EXPECT_NE(drained.message().find("page 4"), std::string::npos) << drained.message();
  EXPECT_GE(manager->stats().writeback_failures, 1u);
  ASSERT_OK(manager->FlushAll()) << "the page stayed dirty and the fault fired once";
  EXPECT_EQ(LsnOnDisk(path_, 4), 44u);
  EXPECT_EQ(PinnedFrames(*manager), "");
}

TEST_P(BackgroundWriterTest, ConcurrentUpdatersLoseNoWrite) {
  // Each thread owns a range of pages (the exclusion a modifier needs: no one else reads
  // them) and reads and raises their LSNs at random, all through one small pool.
  constexpr uint64_t kThreads = 4;
  constexpr uint64_t kRange = kPages / kThreads;
  ASSERT_OK_AND_ASSIGN(auto manager, BufferManager::Create(WithWriter(PoolOptions(12))));
  std::vector<std::vector<uint64_t>> last_lsn(kThreads, std::vector<uint64_t>(kRange, 0));
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (uint64_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(t + 1);
      for (uint64_t i = 1; i <= 400; ++i) {
        const bool update = rng() % 4 == 0;
        const uint64_t page = t * kRange + rng() % kRange;
        auto guard = manager->Fetch(*file_, page);
        if (!guard.has_value()) {
          ADD_FAILURE() << "page " << page << ": " << guard.error().ToString();
          ++failures;
          continue;
        }
        if (!update) {
          if (!CheckPage(guard->data(), page)) ++failures;
          continue;
        }
        const uint64_t lsn = i * kThreads + t;
        ChangeLsn(*guard, lsn);
        last_lsn[t][page - t * kRange] = lsn;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  ASSERT_OK(manager->DrainBackgroundWriter());
  ASSERT_OK(manager->FlushAll());
  for (uint64_t t = 0; t < kThreads; ++t) {
    for (uint64_t i = 0; i < kRange; ++i) {
      EXPECT_EQ(LsnOnDisk(path_, t * kRange + i), last_lsn[t][i]) << "page " << t * kRange + i;
    }
  }
  EXPECT_EQ(PinnedFrames(*manager), "");
}

TEST(BackgroundWriterCreateTest, AQueueThatCannotBeMadeFailsCreateNamingTheWriter) {
  BufferManagerOptions options = PoolOptions(8);
  options.background_writer.enabled = true;
  options.background_writer.queue = IoQueueOptions{.backend = Backend::kSync, .depth = 4};
  const auto created = BufferManager::Create(options);
  ASSERT_FALSE(created.has_value());
  EXPECT_EQ(created.error().code(), StatusCode::kInvalidArgument) << created.error().ToString();
  EXPECT_NE(created.error().message().find("background writer"), std::string::npos) << created.error().message();
}

}  // namespace
}  // namespace iodepth::testutil
