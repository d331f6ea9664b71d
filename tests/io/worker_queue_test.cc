// The worker backend's pool sized to the load (io/worker_queue.h): the rule itself, and a
// queue settling at it for reads that never block (cached pages) and for reads that do (a
// delay injected into every read). The conformance suite (io_queue_test.cc) covers what
// the backend promises as an IoQueue.
#include "io/worker_queue.h"

#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "io/aligned_buffer.h"
#include "io/fault_injector.h"
#include "io/file.h"
#include "io/request_pump.h"
#include "testutil/status_macros.h"
#include "testutil/temp_dir.h"

namespace iodepth {
namespace {

TEST(WorkersForLoadTest, NoBlockingMeansOnePerCpuAndAllBlockingMeansEveryThread) {
  EXPECT_EQ(WorkersForLoad(0.0, 2, 32), 2u);
  EXPECT_EQ(WorkersForLoad(1.0, 2, 32), 32u);
  EXPECT_EQ(WorkersForLoad(0.5, 2, 32), 17u);
  EXPECT_EQ(WorkersForLoad(0.01, 2, 32), 3u) << "rounded up: a little blocking adds a thread";
}

TEST(WorkersForLoadTest, StaysWithinOneAndTheThreadsThereAre) {
  EXPECT_EQ(WorkersForLoad(0.0, 16, 4), 4u) << "more CPUs than threads";
  EXPECT_EQ(WorkersForLoad(0.0, 0, 8), 1u);
  EXPECT_EQ(WorkersForLoad(2.0, 2, 8), 8u);
  EXPECT_EQ(WorkersForLoad(-1.0, 2, 8), 2u);
  EXPECT_EQ(WorkersForLoad(1.0, 2, 0), 1u);
}

class SizedPoolTest : public ::testing::Test {
 protected:
  static constexpr uint32_t kDepth = 32;
  static constexpr size_t kBlock = 4096;
  static constexpr uint64_t kBlocks = 256;

  void SetUp() override {
    path_ = dir_.File("data");
    std::ofstream out(path_, std::ios::binary);
    const std::string block(kBlock, 'x');
    for (uint64_t i = 0; i < kBlocks; ++i) out << block;
  }

  // Reads `count` blocks at depth kDepth through a sized worker queue (every read of block
  // 0 when `same_block`), and returns the most workers it allowed at once at the end.
  uint32_t ActiveLimitAfterReads(File& file, uint64_t count, bool same_block) {
    IoQueueOptions options;
    options.backend = Backend::kWorker;
    options.depth = kDepth;
    auto made = MakeWorkerQueue(options);
    EXPECT_OK(made);
    if (!made.has_value()) return 0;
    IoQueue& queue = **made;
    auto buffers = AlignedBuffer::Allocate(kDepth * kBlock, kBlock);
    EXPECT_OK(buffers);
    if (!buffers.has_value()) return 0;
    uint64_t issued = 0;
    std::vector<uint32_t> free_slots;
    for (uint32_t s = 0; s < kDepth; ++s) free_slots.push_back(s);
    const Status pumped = PumpRequests(
        queue,
        [&]() -> std::optional<IoRequest> {
          if (issued == count) return std::nullopt;
          const uint32_t slot = free_slots.back();
          free_slots.pop_back();
          const uint64_t block = same_block ? 0 : (issued * 7) % kBlocks;
          ++issued;
          return IoRequest{IoOp::kRead, &file, block * kBlock, buffers->span(slot * kBlock, kBlock), slot};
        },
        [&](const IoCompletion& done) {
          free_slots.push_back(static_cast<uint32_t>(done.tag));
          return CompletionError(done);
        });
    EXPECT_OK(pumped);
    std::smatch match;
    const std::string features = queue.features();
    EXPECT_TRUE(std::regex_search(features, match, std::regex("(\\d+) running at most now"))) << features;
    return match.empty() ? 0 : static_cast<uint32_t>(std::stoul(match[1]));
  }

  testutil::TempDir dir_;
  std::string path_;
};

TEST_F(SizedPoolTest, ReadsOfCachedPagesNeverBlockSoFewWorkersRun) {
  ASSERT_OK_AND_ASSIGN(auto file, File::Open(path_, OpenOptions{}));  // Buffered; just written: cached.
  const uint32_t limit = ActiveLimitAfterReads(*file, 20'000, /*same_block=*/false);
  EXPECT_GE(limit, 1u);
  EXPECT_LT(limit, kDepth) << "a pool whose reads are memory copies kept a thread per request";
}

TEST_F(SizedPoolTest, ReadsThatBlockKeepAWorkerPerRequestInFlight) {
  ASSERT_OK_AND_ASSIGN(auto file, File::Open(path_, OpenOptions{}));
  FaultInjector faults;
  FaultRule delay;
  delay.kind = FaultKind::kDelay;
  delay.offset = 0;
  delay.delay_us = 100;  // Every read of block 0 sleeps: it blocks, as a device read does.
  faults.Add(delay);
  file->SetFaultInjector(&faults);
  const uint32_t limit = ActiveLimitAfterReads(*file, 2'000, /*same_block=*/true);
  file->SetFaultInjector(nullptr);
  EXPECT_GE(limit, kDepth - 2) << "a pool whose reads block dropped the threads that keep them in flight";
}

}  // namespace
}  // namespace iodepth
