#include "wal/log_writer.h"

#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "io/fault_injector.h"
#include "testutil/status_macros.h"
#include "testutil/temp_dir.h"
#include "wal/log_reader.h"
#include "wal_fixture.h"

namespace iodepth {
namespace {

using testutil::WalPath;

using Param = testutil::WalCase;

class WalWriterTest : public ::testing::TestWithParam<Param> {
 protected:
  WalOptions Options() const { return testutil::TestWalOptions(dir_.path(), GetParam().path, GetParam().backend); }
  std::vector<WalRecord> ReadBack() const {
    WalReadEnd end;
    auto records = testutil::ReadAllRecords(dir_.path(), &end);
    EXPECT_TRUE(records.has_value()) << records.error().ToString();
    return records.has_value() ? std::move(*records) : std::vector<WalRecord>{};
  }
  testutil::TempDir dir_;
};

TEST_P(WalWriterTest, EveryCommittedRecordReadsBackInOrder) {
  ASSERT_OK_AND_ASSIGN(auto writer, WalWriter::Open(Options()));
  EXPECT_EQ(writer->queue_backend(), BackendName(GetParam().backend));
  std::vector<WalAppend> appended;
  for (uint64_t i = 0; i < 200; ++i) {
    ASSERT_OK_AND_ASSIGN(const WalAppend a, writer->Append(testutil::MakePayload(0, i, 24 + (i * 131) % 5000)));
    appended.push_back(a);
    if (i % 3 == 0) {
      ASSERT_OK(writer->Commit(a.end_lsn));
      EXPECT_GE(writer->durable_lsn(), a.end_lsn) << "Commit returned before its LSN was durable";
    }
  }
  ASSERT_OK(writer->Close());
  const auto records = ReadBack();
  ASSERT_EQ(records.size(), appended.size());
  for (size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(records[i].lsn, appended[i].lsn);
    const auto id = testutil::CheckPayload(records[i].payload);
    ASSERT_TRUE(id) << "record " << i << " is damaged";
    EXPECT_EQ(id->counter, i);
  }
}

TEST_P(WalWriterTest, GroupCommitNeedsFewerFlushesThanCommits) {
  ASSERT_OK_AND_ASSIGN(auto writer, WalWriter::Open(Options()));
  constexpr uint32_t kThreads = 8;
  constexpr uint64_t kPerThread = 40;
  std::mutex mutex;
  std::vector<std::pair<std::pair<uint32_t, uint64_t>, Lsn>> acked;
  std::vector<std::thread> threads;
  for (uint32_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t c = 0; c < kPerThread; ++c) {
        auto a = writer->Append(testutil::MakePayload(t, c, 200));
        ASSERT_TRUE(a.has_value());
        ASSERT_OK(writer->Commit(a->end_lsn));
        ASSERT_GE(writer->durable_lsn(), a->end_lsn);
        std::lock_guard lock(mutex);
        acked.push_back({{t, c}, a->end_lsn});
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const WalStats stats = writer->stats();
  ASSERT_OK(writer->Close());
  EXPECT_EQ(stats.commits, kThreads * kPerThread);
  EXPECT_LT(stats.flushes, stats.commits) << "every commit flushed alone: no group commit";
  if (GetParam().path.sync == WalSyncMethod::kFdatasync) {
    EXPECT_LE(stats.syncs, stats.flushes * 2);
  }
  std::map<std::pair<uint32_t, uint64_t>, bool> found;
  for (const auto& record : ReadBack()) {
    const auto id = testutil::CheckPayload(record.payload);
    ASSERT_TRUE(id);
    found[{id->thread, id->counter}] = true;
  }
  for (const auto& [key, lsn] : acked) EXPECT_TRUE(found.count(key)) << "acknowledged record lost";
}

TEST_P(WalWriterTest, AppendsBeyondTheBufferWaitForRoomWithoutCommits) {
  WalOptions options = Options();
  options.buffer_blocks = 8;  // 32 KiB: 200 records of 1 KiB wrap it several times.
  ASSERT_OK_AND_ASSIGN(auto writer, WalWriter::Open(options));
  for (uint64_t i = 0; i < 200; ++i) ASSERT_OK(writer->Append(testutil::MakePayload(1, i, 1000)).status());
  ASSERT_OK(writer->Close());
  EXPECT_EQ(ReadBack().size(), 200u);
}

TEST_P(WalWriterTest, FailedSyncIsPermanent) {
  if (GetParam().path.sync == WalSyncMethod::kDsync) GTEST_SKIP() << "the dsync path never calls fdatasync";
  FaultInjector faults;
  WalOptions options = Options();
  options.faults = &faults;
  ASSERT_OK_AND_ASSIGN(auto writer, WalWriter::Open(options));
  faults.FailSyncs(1);
  ASSERT_OK_AND_ASSIGN(const WalAppend a, writer->Append(testutil::MakePayload(0, 0, 100)));
  const Status failed = writer->Commit(a.end_lsn);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error_number(), EIO);
  // The next sync would succeed, but the writer must not try: the data may be gone.
  const auto again = writer->Append(testutil::MakePayload(0, 1, 100));
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().message(), failed.message());
  EXPECT_EQ(writer->Commit(a.end_lsn).message(), failed.message());
  EXPECT_EQ(writer->Close().message(), failed.message());
}

TEST_P(WalWriterTest, FailedWriteIsPermanent) {
  FaultInjector faults;
  WalOptions options = Options();
  options.faults = &faults;
  ASSERT_OK_AND_ASSIGN(auto writer, WalWriter::Open(options));
  faults.Add(FaultRule{.kind = FaultKind::kError, .offset = 0, .any_op = false, .op = IoOp::kWrite, .times = 1});
  ASSERT_OK_AND_ASSIGN(const WalAppend a, writer->Append(testutil::MakePayload(0, 0, 100)));
  const Status failed = writer->Commit(a.end_lsn);
  ASSERT_FALSE(failed.ok());
  EXPECT_LT(writer->durable_lsn(), a.end_lsn);
  EXPECT_EQ(writer->Flush().message(), failed.message());
}

INSTANTIATE_TEST_SUITE_P(PathsAndBackends, WalWriterTest, ::testing::ValuesIn(testutil::AllWalCases()),
                         [](const auto& param_info) { return testutil::WalCaseName(param_info.param); });

TEST(WalWriterOptionsTest, ReopeningWithAnotherGeometryIsRefused) {
  testutil::TempDir dir;
  WalOptions options = testutil::TestWalOptions(dir.path(), testutil::AllWalPaths()[0], Backend::kAuto);
  {
    ASSERT_OK_AND_ASSIGN(auto writer, WalWriter::Open(options));
    ASSERT_OK(writer->Append(testutil::MakePayload(0, 0, 100)).status());
    ASSERT_OK(writer->Close());
  }
  options.geometry.segment_bytes *= 2;
  auto reopened = WalWriter::Open(options);
  ASSERT_FALSE(reopened);
  EXPECT_EQ(reopened.error().setting(), "wal_block_bytes,wal_segment_bytes");
  EXPECT_NE(reopened.error().message().find("64 KiB segments"), std::string::npos) << reopened.error().message();
}

TEST(WalWriterOptionsTest, BadOptionsNameTheirSetting) {
  testutil::TempDir dir;
  WalOptions options = testutil::TestWalOptions(dir.path(), testutil::AllWalPaths()[0], Backend::kAuto);
  options.cache = CacheMode::kDontcache;
  EXPECT_EQ(WalWriter::Open(options).error().setting(), "wal_cache");
  options = testutil::TestWalOptions(dir.path(), testutil::AllWalPaths()[0], Backend::kAuto);
  options.buffer_blocks = 2;
  EXPECT_EQ(WalWriter::Open(options).error().setting(), "wal_buffer_blocks");
  options = testutil::TestWalOptions(dir.path(), testutil::AllWalPaths()[0], Backend::kAuto);
  options.group_commit_delay_us = 1'000'000;
  EXPECT_EQ(WalWriter::Open(options).error().setting(), "wal_group_commit_delay_us");
}

TEST(WalWriterOptionsTest, RecordLargerThanAQuarterOfTheBufferIsRefused) {
  testutil::TempDir dir;
  ASSERT_OK_AND_ASSIGN(
      auto writer, WalWriter::Open(testutil::TestWalOptions(dir.path(), testutil::AllWalPaths()[0], Backend::kAuto)));
  const auto big = writer->Append(std::vector<std::byte>(32 * 4096 / 4 + 1));
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().setting(), "wal_buffer_blocks");
  EXPECT_OK(writer->Close()) << "a refused append does not fail the log";
}

TEST(WalWriterOptionsTest, CommitPastTheAppendedEndIsAnError) {
  testutil::TempDir dir;
  ASSERT_OK_AND_ASSIGN(
      auto writer, WalWriter::Open(testutil::TestWalOptions(dir.path(), testutil::AllWalPaths()[0], Backend::kAuto)));
  EXPECT_EQ(writer->Commit(writer->appended_lsn() + 1).code(), StatusCode::kInvalidArgument);
  EXPECT_OK(writer->Close());
}

}  // namespace
}  // namespace iodepth
