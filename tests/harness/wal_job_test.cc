#include "harness/wal_job.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "testutil/status_macros.h"
#include "testutil/temp_dir.h"

namespace iodepth {
namespace {

WalJobOptions ShortJob(const std::string& parent, uint32_t committers) {
  WalJobOptions options;
  options.parent = parent;
  options.committers = committers;
  options.record_bytes = 100;
  options.runtime_ns = 100'000'000;
  options.ramp_ns = 10'000'000;
  options.wal.geometry = {.block_bytes = 4096, .segment_bytes = 256 * 1024};
  return options;
}

TEST(WalJobTest, MeasuresCommitsAndRemovesItsLog) {
  testutil::TempDir dir;
  ASSERT_OK_AND_ASSIGN(const WalJobResult result, RunWalCommitJob(ShortJob(dir.path(), 4)));
  EXPECT_EQ(result.committers, 4u);
  EXPECT_GT(result.commits, 0u);
  EXPECT_GT(result.commits_per_s, 0);
  EXPECT_GE(result.commits_per_flush, 1.0) << "a flush acknowledges at least one commit";
  EXPECT_LE(result.latency_ns_p50, result.latency_ns_p99);
  EXPECT_LE(result.latency_ns_p99, result.latency_ns_max);
  EXPECT_GT(result.bytes_written_per_commit, 0);
  EXPECT_TRUE(std::filesystem::is_empty(dir.path())) << "the job's log directory is removed";
}

TEST(WalJobTest, OneCommitterSyncsOncePerCommit) {
  testutil::TempDir dir;
  ASSERT_OK_AND_ASSIGN(const WalJobResult result, RunWalCommitJob(ShortJob(dir.path(), 1)));
  // A lone committer always waits for its own flush: one flush, one sync per commit
  // (within the window's edges).
  EXPECT_NEAR(result.commits_per_flush, 1.0, 0.25);
  EXPECT_NEAR(result.syncs_per_commit, 1.0, 0.25);
}

TEST(WalJobTest, BadSettingsAreRefusedBeforeAnythingIsWritten) {
  testutil::TempDir dir;
  WalJobOptions options = ShortJob(dir.path(), 0);
  EXPECT_EQ(RunWalCommitJob(options).error().setting(), "committers");
  options = ShortJob(dir.File("missing"), 1);
  EXPECT_EQ(RunWalCommitJob(options).error().setting(), "directory");
  options = ShortJob(dir.path(), 1);
  options.wal.geometry.block_bytes = 3000;
  EXPECT_EQ(RunWalCommitJob(options).error().setting(), "wal_block_bytes");
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

}  // namespace
}  // namespace iodepth
