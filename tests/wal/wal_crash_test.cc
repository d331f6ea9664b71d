// Crash tests: the writer's durability promise against a killed process (kill -9) and
// against a simulated power failure (FaultInjector's crash journal), on every durability
// path and backend. Each trial checks what recovery returns against what was appended
// and acknowledged.
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "io/fault_injector.h"
#include "testutil/status_macros.h"
#include "testutil/temp_dir.h"
#include "wal/log_reader.h"
#include "wal/log_writer.h"
#include "wal_fixture.h"

extern char** environ;

namespace iodepth {
namespace {

using testutil::WalPath;

std::vector<WalRecord> Recover(const std::string& dir, WalReadEnd* end) {
  auto records = testutil::ReadAllRecords(dir, end);
  EXPECT_TRUE(records.has_value()) << records.error().ToString();
  return records.has_value() ? std::move(*records) : std::vector<WalRecord>{};
}

// ---- power loss ----------------------------------------------------------------------

using PowerParam = testutil::WalCase;

class WalPowerLossTest : public ::testing::TestWithParam<PowerParam> {};

constexpr int kPowerLossTrials = 25;
constexpr uint32_t kCommitters = 4;

// One trial: committers run until the simulated power failure stops the log; the crash
// then keeps, drops or tears every write not yet durable; recovery must return exactly a
// prefix of what was appended, holding every acknowledged commit; and a reopened writer
// must continue after it.
void PowerLossTrial(const PowerParam& param, uint64_t seed) {
  testutil::TempDir dir;
  FaultInjector faults;
  faults.StartCrashJournal();
  WalOptions options = testutil::TestWalOptions(dir.path(), param.path, param.backend);
  options.faults = &faults;
  ASSERT_OK_AND_ASSIGN(auto writer, WalWriter::Open(options));
  faults.ArmCrash(seed % 48);

  std::mutex mutex;
  std::map<Lsn, std::vector<std::byte>> appended;  // By LSN: the log's order.
  Lsn acked_end = 0;
  std::vector<std::thread> threads;
  for (uint32_t t = 0; t < kCommitters; ++t) {
    threads.emplace_back([&, t] {
      uint64_t state = seed * 31 + t;
      for (uint64_t c = 0; c < 5000; ++c) {
        auto payload = testutil::MakePayload(t, c, 24 + SplitMix64Next(state) % 6000);
        auto a = writer->Append(payload);
        if (!a) return;
        {
          std::lock_guard lock(mutex);
          appended[a->lsn] = std::move(payload);
        }
        if (!writer->Commit(a->end_lsn).ok()) return;
        std::lock_guard lock(mutex);
        acked_end = std::max(acked_end, a->end_lsn);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_FALSE(writer->Close().ok()) << "the crash must fail the log";
  ASSERT_TRUE(faults.crashed()) << "the trial never reached its crash point";
  ASSERT_OK_AND_ASSIGN(const CrashOutcome outcome, faults.ApplyCrash(seed));
  static_cast<void>(outcome);

  WalReadEnd end;
  const auto records = Recover(dir.path(), &end);
  auto expected = appended.begin();
  for (size_t i = 0; i < records.size(); ++i, ++expected) {
    ASSERT_NE(expected, appended.end()) << "recovered more records than were appended";
    ASSERT_EQ(records[i].lsn, expected->first)
        << "record " << i << " is not the prefix's; " << end.Describe(options.geometry);
    ASSERT_EQ(records[i].payload, expected->second) << "record " << i << " came back changed";
  }
  const Lsn recovered_end = records.empty() ? 0 : records.back().end_lsn;
  ASSERT_GE(recovered_end, acked_end) << "an acknowledged commit was lost: " << end.Describe(options.geometry);

  // The log goes on after the crash, and its leftovers never come back.
  WalOptions reopen = testutil::TestWalOptions(dir.path(), param.path, param.backend);
  ASSERT_OK_AND_ASSIGN(auto resumed, WalWriter::Open(reopen));
  ASSERT_OK_AND_ASSIGN(const WalAppend after, resumed->Append(testutil::MakePayload(99, 0, 500)));
  ASSERT_OK(resumed->Commit(after.end_lsn));
  ASSERT_OK(resumed->Close());
  const auto again = Recover(dir.path(), &end);
  ASSERT_EQ(again.size(), records.size() + 1);
  EXPECT_EQ(again.back().lsn, after.lsn);
}

TEST_P(WalPowerLossTest, RecoveryReturnsAPrefixHoldingEveryAcknowledgedCommit) {
  for (int trial = 0; trial < kPowerLossTrials; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    PowerLossTrial(GetParam(), 1000 + static_cast<uint64_t>(trial) * 7);
    if (HasFatalFailure()) return;
  }
}

INSTANTIATE_TEST_SUITE_P(PathsAndBackends, WalPowerLossTest, ::testing::ValuesIn(testutil::AllWalCases()),
                         [](const auto& param_info) { return testutil::WalCaseName(param_info.param); });

TEST(CrashJournalTest, DropsAndTearsOnlyWritesNotYetSynced) {
  testutil::TempDir dir;
  const std::string path = dir.File("f");
  FaultInjector faults;
  ASSERT_OK_AND_ASSIGN(auto file, File::Open(path, OpenOptions{.access = AccessMode::kReadWrite, .create = true}));
  file->SetFaultInjector(&faults);
  faults.StartCrashJournal();
  const std::vector<std::byte> ones(4096, std::byte{1});
  const std::vector<std::byte> twos(4096, std::byte{2});
  ASSERT_OK(file->WriteAt(0, ones).status());
  ASSERT_OK(file->DataSync());
  EXPECT_EQ(faults.unsynced_writes(), 0u) << "a sync makes its file's writes durable";
  ASSERT_OK(file->WriteAt(0, twos).status());
  faults.ArmCrash(0);
  EXPECT_FALSE(file->WriteAt(4096, twos).has_value()) << "the crash write fails";
  EXPECT_FALSE(file->DataSync().ok()) << "and so does every sync after it";
  EXPECT_EQ(faults.unsynced_writes(), 2u);
  ASSERT_OK(file->Close());
  // Over many seeds, every sector ends as written or as it was, never anything else, and
  // the synced first write is never lost.
  bool saw_restored = false;
  for (uint64_t seed = 0; seed < 8; ++seed) {
    ASSERT_OK_AND_ASSIGN(auto replay, File::Open(path, OpenOptions{.access = AccessMode::kReadWrite}));
    FaultInjector again;
    replay->SetFaultInjector(&again);
    again.StartCrashJournal();
    ASSERT_OK(replay->WriteAt(0, twos).status());
    again.ArmCrash(0);
    EXPECT_FALSE(replay->WriteAt(4096, twos).has_value());
    ASSERT_OK(replay->Close());
    ASSERT_OK_AND_ASSIGN(const CrashOutcome outcome, again.ApplyCrash(seed));
    saw_restored = saw_restored || outcome.sectors_restored > 0;
    std::vector<std::byte> bytes(8192);
    ASSERT_OK_AND_ASSIGN(auto check, File::Open(path, OpenOptions{}));
    ASSERT_OK(check->ReadAt(0, bytes).status());
    for (size_t i = 0; i < 4096; ++i) ASSERT_TRUE(bytes[i] == std::byte{1} || bytes[i] == std::byte{2});
  }
  EXPECT_TRUE(saw_restored) << "no seed dropped or tore anything: the simulation does nothing";
}

// ---- kill -9 -------------------------------------------------------------------------

constexpr int kKillTrials = 100;
constexpr int kKillThreads = 4;

struct Ack {
  uint32_t thread;
  uint64_t counter;
  Lsn end_lsn;
};

// Runs the child until it has acknowledged something, kills it after `delay`, and
// returns every acknowledgement it printed.
std::vector<Ack> RunAndKill(const std::string& dir, const WalPath& path, std::chrono::microseconds delay) {
  int pipe_fds[2];
  EXPECT_EQ(::pipe(pipe_fds), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  const std::string threads = std::to_string(kKillThreads);
  const std::string cache(CacheModeName(path.cache));
  const std::string sync(WalSyncMethodName(path.sync));
  std::vector<char*> argv = {const_cast<char*>(IODEPTH_WAL_CRASH_CHILD),
                             const_cast<char*>(dir.c_str()),
                             const_cast<char*>(cache.c_str()),
                             const_cast<char*>(sync.c_str()),
                             const_cast<char*>("auto"),
                             const_cast<char*>(threads.c_str()),
                             nullptr};
  pid_t pid = 0;
  EXPECT_EQ(posix_spawn(&pid, IODEPTH_WAL_CRASH_CHILD, &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);

  std::string text;
  char buffer[4096];
  bool killed = false;
  std::chrono::steady_clock::time_point kill_at{};
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    pollfd poller{pipe_fds[0], POLLIN, 0};
    ::poll(&poller, 1, 1);
    if ((poller.revents & (POLLIN | POLLHUP)) != 0) {
      const ssize_t n = ::read(pipe_fds[0], buffer, sizeof(buffer));
      if (n <= 0) break;  // The child is gone and the pipe drained.
      text.append(buffer, static_cast<size_t>(n));
      if (kill_at == std::chrono::steady_clock::time_point{}) kill_at = std::chrono::steady_clock::now() + delay;
    }
    const auto now = std::chrono::steady_clock::now();
    if (!killed && ((kill_at != std::chrono::steady_clock::time_point{} && now >= kill_at) || now >= give_up)) {
      ::kill(pid, SIGKILL);
      killed = true;
    }
  }
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the child died on its own: " << status;
  std::vector<Ack> acks;
  std::istringstream lines(text);
  Ack ack{};
  // A line cut short by the kill is not an acknowledgement anybody received whole;
  // only whole lines count.
  std::string line;
  while (std::getline(lines, line)) {
    if (lines.eof()) break;  // No newline: cut short.
    std::istringstream fields(line);
    if (fields >> ack.thread >> ack.counter >> ack.end_lsn) acks.push_back(ack);
  }
  return acks;
}

class WalKillTest : public ::testing::TestWithParam<WalPath> {};

TEST_P(WalKillTest, EveryAcknowledgedCommitSurvivesKill9) {
  uint64_t total_acks = 0;
  for (int trial = 0; trial < kKillTrials; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    testutil::TempDir dir;
    const auto acks = RunAndKill(dir.path(), GetParam(), std::chrono::microseconds(500 + (trial * 7919) % 30000));
    ASSERT_FALSE(acks.empty());
    total_acks += acks.size();
    WalReadEnd end;
    const auto records = Recover(dir.path(), &end);
    std::map<uint32_t, uint64_t> next_counter;
    std::map<std::pair<uint32_t, uint64_t>, Lsn> found;
    for (const WalRecord& record : records) {
      const auto id = testutil::CheckPayload(record.payload);
      ASSERT_TRUE(id) << "a recovered record is damaged at LSN " << record.lsn;
      // Each committer appends its records in order, one at a time: the log holds a
      // prefix of each committer's sequence.
      ASSERT_EQ(id->counter, next_counter[id->thread]++) << "a gap in committer " << id->thread << "'s records";
      found[{id->thread, id->counter}] = record.end_lsn;
    }
    for (const Ack& ack : acks) {
      const auto it = found.find({ack.thread, ack.counter});
      ASSERT_NE(it, found.end()) << "acknowledged commit " << ack.thread << "/" << ack.counter << " at LSN "
                                 << ack.end_lsn << " lost; " << end.Describe(testutil::kTestGeometry);
      EXPECT_EQ(it->second, ack.end_lsn);
    }
  }
  RecordProperty("acknowledged_commits", std::to_string(total_acks));
}

INSTANTIATE_TEST_SUITE_P(Paths, WalKillTest, ::testing::ValuesIn(testutil::AllWalPaths()),
                         [](const auto& param_info) { return param_info.param.name; });

}  // namespace
}  // namespace iodepth
