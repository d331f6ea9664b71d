// The write-ahead rule across a power failure: a buffer pool over a table and a log
// (wal/) wired together as an engine wires them (a page's LSN is the end of the log
// record describing its change; writing a page back first makes the log durable up to
// it), with one crash journal (io/fault_injector.h) on the table and every log segment.
// The power fails at a random write, anywhere: a log block, a page written back by an
// evictor or the background writer. After the crash, what the device kept must never hold
// a page whose LSN lies past the end of the log that recovery returns: the page reached
// the disk only after its log did. Pages and log are read back with plain reads, the
// log by wal's reader. Every durability path and backend, with and without the
// background writer.
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "bm_table.h"
#include "buffer/buffer_manager.h"
#include "buffer/buffer_test_util.h"
#include "io/aligned_buffer.h"
#include "io/fault_injector.h"
#include "io/file.h"
#include "storage/page.h"
#include "testutil/io_printers.h"
#include "testutil/status_macros.h"
#include "testutil/temp_dir.h"
#include "wal/log_reader.h"
#include "wal/log_writer.h"
#include "wal/wal_fixture.h"

namespace iodepth::testutil {
namespace {

constexpr uint64_t kTablePages = 96;
constexpr uint32_t kPageBytes = 8192;
constexpr uint32_t kFrames = 12;
constexpr int kTrials = 8;
constexpr int kUpdatesPerTrial = 240;

using CrashParam = std::tuple<WalCase, bool>;  // The log's path and backend; background writer.

std::string CrashParamName(const ::testing::TestParamInfo<CrashParam>& param_info) {
  return WalCaseName(std::get<0>(param_info.param)) + (std::get<1>(param_info.param) ? "_writer" : "_evictor");
}

// What one trial saw: how far it got, and what recovery then found.
struct Trial {
  int updates = 0;
  bool crashed = false;
  Lsn recovered_end = 0;
  uint64_t pages_checked = 0;
};

class WriteAheadCrashTest : public ::testing::TestWithParam<CrashParam> {
 protected:
  const WalCase& wal_case() const { return std::get<0>(GetParam()); }
  bool background_writer() const { return std::get<1>(GetParam()); }

  // One trial: load a table, update random pages through the pool with a log record per
  // change, crash at write `crash_at`, apply the crash, recover and check every page.
  void RunTrial(uint64_t seed, Trial& trial) {
    TempDir dir;
    const std::string table = dir.File("t.tbl");
    const std::string log_dir = dir.File("wal");
    ASSERT_OK(LoadTable(table, SmallShape(kTablePages)));
    FaultInjector faults;
    {
      WalOptions wal_options = TestWalOptions(log_dir, wal_case().path, wal_case().backend);
      wal_options.faults = &faults;
      auto wal_or = WalWriter::Open(wal_options);
      if (!wal_or.has_value() && wal_or.error().code() == StatusCode::kNotSupported) {
        GTEST_SKIP() << wal_or.error().ToString();
      }
      ASSERT_OK(wal_or);
      std::unique_ptr<WalWriter> wal = std::move(*wal_or);
      OpenOptions open;
      open.access = AccessMode::kReadWrite;
      open.cache = wal_case().path.cache;
      ASSERT_OK_AND_ASSIGN(std::unique_ptr<File> file, File::Open(table, open));
      file->SetFaultInjector(&faults);

      BufferManagerOptions options;
      options.page_bytes = kPageBytes;
      options.memory_bytes = uint64_t{kFrames} * kPageBytes;
      options.page_lsn = [](std::span<const std::byte> page) { return PageLsn(page); };
      options.flush_log = [&wal](uint64_t lsn) { return wal->Commit(lsn); };
      options.background_writer.enabled = background_writer();
      options.background_writer.queue = IoQueueOptions{.backend = Backend::kWorker, .depth = 4};
      ASSERT_OK_AND_ASSIGN(std::unique_ptr<BufferManager> pool, BufferManager::Create(options));

      std::mt19937_64 rng(seed);
      faults.StartCrashJournal();
      faults.ArmCrash(rng() % 160);
      for (; trial.updates < kUpdatesPerTrial; ++trial.updates) {
        const uint64_t page_no = rng() % kTablePages;
        Result<PageGuard> page = pool->Fetch(*file, page_no);
        if (!page.has_value()) break;  // The crash failed a write-back.
        std::vector<std::byte> record(32, std::byte{static_cast<unsigned char>(page_no)});
        Result<WalAppend> appended = wal->Append(record);
        if (!appended.has_value()) break;
        const std::span<std::byte> bytes = page->mutable_data();
        SetPageLsn(bytes, appended->end_lsn);
        SealPage(bytes);
        page->MarkDirty();
        // Some transactions commit; the rest reach the log only through the rule.
        if (rng() % 8 == 0 && !wal->Commit(appended->end_lsn).ok()) break;
      }
      // A checkpoint, if the power has not failed yet (it may fail during it).
      if (!faults.crashed()) pool->DrainBackgroundWriter().IgnoreError();
      if (!faults.crashed()) pool->FlushAll().IgnoreError();
      pool.reset();
      wal->Close().IgnoreError();
      file->SetFaultInjector(nullptr);
    }
    trial.crashed = faults.crashed();
    ASSERT_OK(faults.ApplyCrash(seed * 7 + 1));

    WalReadEnd end;
    ASSERT_OK(ReadAllRecords(log_dir, &end));
    trial.recovered_end = end.end_lsn;
    // The rule, as the device kept it: no page on disk is ahead of the recovered log,
    // torn pages included (the LSN lies in the page's first sector, written with it).
    const std::vector<std::byte> bytes = PosixRead(table, 0, kTablePages * kPageBytes);
    ASSERT_EQ(bytes.size(), kTablePages * kPageBytes);
    for (uint64_t p = 0; p < kTablePages; ++p) {
      const uint64_t lsn = PageLsn(std::span(bytes).subspan(p * kPageBytes, kPageBytes));
      ASSERT_LE(lsn, end.end_lsn) << "page " << p << " reached the disk with LSN " << lsn
                                  << " but the log recovered only to " << end.end_lsn << " ("
                                  << end.Describe(kTestGeometry)
                                  << "): the page was written before its log was durable";
      ++trial.pages_checked;
    }
  }
};

TEST_P(WriteAheadCrashTest, NoPageOnDiskIsAheadOfTheRecoveredLog) {
  int crashed = 0;
  int pages_ahead_possible = 0;
  for (int t = 0; t < kTrials; ++t) {
    SCOPED_TRACE("trial " + std::to_string(t));
    Trial trial;
    ASSERT_NO_FATAL_FAILURE(RunTrial(1000 + static_cast<uint64_t>(t) * 31, trial));
    if (IsSkipped()) return;
    EXPECT_EQ(trial.pages_checked, kTablePages);
    crashed += trial.crashed ? 1 : 0;
    pages_ahead_possible += trial.recovered_end > 0 ? 1 : 0;
  }
  // The trials must mostly crash mid-run, or they test nothing.
  EXPECT_GE(crashed, kTrials / 2) << "the crash point rarely fell inside the run";
  RecordProperty("crashed_trials", crashed);
  RecordProperty("trials_with_a_recovered_log", pages_ahead_possible);
}

std::vector<CrashParam> AllCrashParams() {
  std::vector<CrashParam> params;
  for (const WalCase& wal_case : AllWalCases()) {
    for (const bool writer : {false, true}) params.emplace_back(wal_case, writer);
  }
  return params;
}

INSTANTIATE_TEST_SUITE_P(PathsAndBackends, WriteAheadCrashTest, ::testing::ValuesIn(AllCrashParams()), CrashParamName);

}  // namespace
}  // namespace iodepth::testutil
