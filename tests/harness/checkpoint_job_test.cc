// RunCheckpointJob on a small table, every backend, buffered and direct: checkpoints that
// write the dirty pages at the depth asked and sync them, a reader timed during and
// between them, a table that holds every update afterwards, and a spec refused with the
// setting to change. No test asserts on speed.
#include "harness/checkpoint_job.h"

#include <cstdint>
#include <string>
#include <tuple>

#include <gtest/gtest.h>

#include "bm_table.h"
#include "io/aligned_buffer.h"
#include "io/file.h"
#include "storage/heap_table.h"
#include "storage/page.h"
#include "sys/io_uring_probe.h"
#include "testutil/io_printers.h"
#include "testutil/status_macros.h"
#include "testutil/temp_dir.h"

namespace iodepth::testutil {
namespace {

constexpr uint64_t kTablePages = 256;
constexpr uint64_t kMemoryBytes = 64 * 8192;  // 64 frames of 8 KiB.

using CheckpointParam = std::tuple<Backend, CacheMode>;

class CheckpointJobTest : public ::testing::TestWithParam<CheckpointParam> {
 protected:
  void SetUp() override {
    if (std::get<0>(GetParam()) == Backend::kIoUring) {
      const Status probe = ProbeIoUring();
      if (!probe.ok()) GTEST_SKIP() << "io_uring unavailable: " << probe.ToString();
    }
    path_ = dir_.File("ckpt.tbl");
    ASSERT_OK(LoadTable(path_, SmallShape(kTablePages)));
  }

  CheckpointSpec Spec(uint32_t depth) const {
    CheckpointSpec spec;
    spec.table_path = path_;
    spec.shape = SmallShape(kTablePages);
    spec.cache = std::get<1>(GetParam());
    spec.queue.backend = std::get<0>(GetParam());
    spec.depth = std::get<0>(GetParam()) == Backend::kSync ? 1 : depth;
    spec.memory_bytes = kMemoryBytes;
    spec.dirty_pages = 16;
    spec.runtime_ns = 60'000'000;
    spec.ramp_ns = 0;
    spec.seed = 3;
    return spec;
  }

  TempDir dir_;
  std::string path_;
};

INSTANTIATE_TEST_SUITE_P(Backends, CheckpointJobTest,
                         ::testing::Combine(::testing::Values(Backend::kIoUring, Backend::kWorker, Backend::kSync),
                                            ::testing::Values(CacheMode::kBuffered, CacheMode::kDirect)),
                         [](const auto& param_info) {
                           return std::string(BackendName(std::get<0>(param_info.param))) + "_" +
                                  std::string(CacheModeLabel(std::get<1>(param_info.param)));
                         });

TEST_P(CheckpointJobTest, CheckpointsWriteTheDirtyPagesAtDepthAndTheReaderIsTimed) {
  const CheckpointSpec spec = Spec(/*depth=*/8);
  auto result = RunCheckpointJob(spec);
  if (!result.has_value() && result.error().code() == StatusCode::kNotSupported)
    GTEST_SKIP() << result.error().ToString();
  ASSERT_OK(result);
  const CheckpointStats& c = result->checkpoint;
  ASSERT_GT(c.checkpoints, 0u);
  EXPECT_EQ(c.dirty_pages, 16u);
  // The reader's evictions may write a dirty page before the checkpoint does, never more.
  EXPECT_LE(result->job.ios, c.checkpoints * spec.dirty_pages);
  EXPECT_GT(result->job.ios, 0u);
  EXPECT_EQ(result->job.bytes, result->job.ios * 8192);
  EXPECT_EQ(result->job.clat_ns.count(), result->job.ios) << "one latency per page the checkpoints wrote";
  EXPECT_GT(result->job.window_ns, 0);
  EXPECT_GT(c.mean_checkpoint_ns, 0);
  EXPECT_GT(c.reader_during_ns.count() + c.reader_between_ns.count(), 0u) << "the reader never ran";
  EXPECT_LE(c.sync_ns, result->job.window_ns);
  ASSERT_OK(VerifyHeapTable(path_, spec.shape)) << "every value is still a pure function of its page's count";
  EXPECT_GE(UpdatesOnDisk(path_, spec.shape), c.checkpoints * spec.dirty_pages)
      << "a checkpoint's update did not reach the disk";
  const auto refused = ReadTableShape(path_);
  EXPECT_FALSE(refused.has_value()) << "the checkpoint's table is not marked updated";
}

TEST_P(CheckpointJobTest, WithoutTheReaderOnlyTheCheckpointRuns) {
  CheckpointSpec spec = Spec(/*depth=*/4);
  spec.reader = false;
  auto result = RunCheckpointJob(spec);
  if (!result.has_value() && result.error().code() == StatusCode::kNotSupported)
    GTEST_SKIP() << result.error().ToString();
  ASSERT_OK(result);
  EXPECT_EQ(result->job.ios, result->checkpoint.checkpoints * spec.dirty_pages)
      << "with no reader to evict them, every checkpoint writes all D pages";
  EXPECT_EQ(result->checkpoint.reader_during_ns.count() + result->checkpoint.reader_between_ns.count(), 0u);
}

TEST(CheckpointJobSpecTest, DirtyPagesThatDoNotFitThePoolAreRefusedNamingTheSetting) {
  TempDir dir;
  const std::string path = dir.File("t.tbl");
  ASSERT_OK(LoadTable(path, SmallShape(kTablePages)));
  CheckpointSpec spec;
  spec.table_path = path;
  spec.shape = SmallShape(kTablePages);
  spec.queue.backend = Backend::kWorker;
  spec.memory_bytes = kMemoryBytes;
  spec.dirty_pages = 64;
  spec.runtime_ns = 10'000'000;
  const auto refused = RunCheckpointJob(spec);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.error().setting(), "dirty_pages") << refused.error().ToString();
  EXPECT_NE(refused.error().message().find("at most 62"), std::string::npos) << refused.error().message();
  ASSERT_OK(ReadTableShape(path)) << "a refused spec marked the table";
}

}  // namespace
}  // namespace iodepth::testutil
