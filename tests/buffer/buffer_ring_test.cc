// The scan-resistant strategy (buffer/buffer_ring.h): a stream reading through a ring
// recycles the ring's frames instead of sweeping the pool, never holds more than its ring
// plus its pins, leaves other readers' pages alone, and leaves a frame someone else is
// using to the clock.
#include "buffer/buffer_ring.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "buffer/buffer_manager.h"
#include "buffer/read_stream.h"
#include "buffer_test_util.h"
#include "io/file.h"
#include "io/io_queue.h"
#include "testutil/status_macros.h"
#include "testutil/temp_dir.h"

namespace iodepth::testutil {
namespace {

constexpr uint64_t kTablePages = 256;
constexpr uint32_t kCombinePages = 2;
constexpr uint32_t kDistance = 2;
// The stream's pins (2 x distance x io_combine = 8) plus two reads: PagesFor's rule, so
// the ring's oldest run is never still pinned by the stream itself.
constexpr uint32_t kRingPages = 12;

class BufferRingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.File("table");
    ASSERT_OK(WriteTestTable(path_, kTablePages));
    ASSERT_OK_AND_ASSIGN(file_, File::Open(path_, OpenOptions{}));
  }

  void NewPool(uint32_t frames) { ASSERT_OK_AND_ASSIGN(pool_, BufferManager::Create(PoolOptions(frames))); }

  ReadStreamOptions StreamOptions(BufferRing* ring) const {
    ReadStreamOptions options;
    options.distance = kDistance;
    options.io_combine_bytes = kCombinePages * kTestPageBytes;
    options.ring = ring;
    return options;
  }

  // Reads `pages` in order through a stream (through `ring` when given), checking each.
  void Scan(const std::vector<uint64_t>& pages, BufferRing* ring) {
    IoQueueOptions queue_options;
    queue_options.backend = Backend::kWorker;
    queue_options.depth = kDistance;
    ASSERT_OK_AND_ASSIGN(auto queue, MakeIoQueue(queue_options));
    ASSERT_OK_AND_ASSIGN(auto stream,
                         ReadStream::Create(*pool_, *queue, *file_, ListSource(pages), StreamOptions(ring)));
    for (const uint64_t page : pages) {
      ASSERT_OK_AND_ASSIGN(auto next, stream->Next());
      ASSERT_TRUE(next.has_value());
      ASSERT_EQ(next->page_no(), page);
      ASSERT_TRUE(CheckPage(next->data(), page));
    }
  }

  // Fetches `pages` `times` times each, so each carries a usage count above a scan's.
  void UseOften(const std::vector<uint64_t>& pages, int times) {
    for (int t = 0; t < times; ++t) {
      for (const uint64_t page : pages) ASSERT_OK(pool_->Fetch(*file_, page));
    }
  }

  uint32_t Resident(const std::vector<uint64_t>& pages) {
    uint32_t resident = 0;
    for (const uint64_t page : pages) {
      const PinResult pin = pool_->Pin(*file_, page);
      if (pin.outcome == PinOutcome::kMiss) continue;
      ++resident;
      pool_->Unpin(pin.frame);
    }
    return resident;
  }

  TempDir dir_;
  std::string path_;
  std::unique_ptr<File> file_;
  std::unique_ptr<BufferManager> pool_;
};

TEST_F(BufferRingTest, PagesForIsAtLeast256KiBOrThePinsPlusTwoReadsWithinThePool) {
  EXPECT_EQ(BufferRing::PagesFor(/*page_bytes=*/8192, /*stream_pins=*/4, /*combine_pages=*/2, /*capacity=*/1024), 32u);
  EXPECT_EQ(BufferRing::PagesFor(8192, /*stream_pins=*/64, /*combine_pages=*/16, 1024), 96u);
  EXPECT_EQ(BufferRing::PagesFor(8192, 64, 16, /*capacity=*/40), 40u);
}

TEST_F(BufferRingTest, AScanNeverHoldsMoreThanItsRingPlusItsPins) {
  ASSERT_NO_FATAL_FAILURE(NewPool(128));
  BufferRing ring(/*max_pages=*/16);
  ASSERT_NO_FATAL_FAILURE(Scan(Range(0, kTablePages), &ring));
  // An empty pool, so every resident page is one the scan left: its ring's at most (a
  // read is never split, so the ring may briefly list one read more).
  EXPECT_LE(pool_->FrameCountResident(), ring.max_pages() + kCombinePages);
  EXPECT_EQ(ring.stats().reused_pages + ring.stats().clock_pages, kTablePages);
  EXPECT_GE(ring.stats().reused_pages, kTablePages - ring.max_pages() - kCombinePages);
  EXPECT_EQ(pool_->stats().pages_read, kTablePages);
  EXPECT_EQ(PinnedFrames(*pool_), "");
}

TEST_F(BufferRingTest, ARingScanLeavesOtherReadersPagesResident) {
  ASSERT_NO_FATAL_FAILURE(NewPool(64));
  const std::vector<uint64_t> hot = Range(200, 216);
  ASSERT_NO_FATAL_FAILURE(UseOften(hot, /*times=*/2));
  BufferRing ring(/*max_pages=*/16);
  ASSERT_NO_FATAL_FAILURE(Scan(Range(0, 200), &ring));
  EXPECT_EQ(Resident(hot), hot.size());
}

// The same scan through the clock sweeps the whole pool and evicts them: what the ring
// is for (and proof that the test above can fail).
TEST_F(BufferRingTest, AClockScanEvictsOtherReadersPages) {
  ASSERT_NO_FATAL_FAILURE(NewPool(64));
  const std::vector<uint64_t> hot = Range(200, 216);
  ASSERT_NO_FATAL_FAILURE(UseOften(hot, /*times=*/2));
  ASSERT_NO_FATAL_FAILURE(Scan(Range(0, 200), /*ring=*/nullptr));
  EXPECT_LT(Resident(hot), hot.size());
}

TEST_F(BufferRingTest, AFrameSomeoneElseIsUsingIsLeftToTheClock) {
  ASSERT_NO_FATAL_FAILURE(NewPool(128));
  BufferRing ring(kRingPages);
  ASSERT_NO_FATAL_FAILURE(Scan(Range(0, kRingPages), &ring));
  ASSERT_EQ(ring.pages(), kRingPages);
  // Page 0 heads the ring's oldest run; another reader pins it and keeps it.
  ASSERT_OK_AND_ASSIGN(PageGuard held, pool_->Fetch(*file_, 0));
  ASSERT_NO_FATAL_FAILURE(Scan(Range(kRingPages, 2 * kRingPages), &ring));
  EXPECT_EQ(ring.stats().rejected_runs, 1u);
  EXPECT_EQ(held.page_no(), 0u);
  EXPECT_TRUE(CheckPage(held.data(), 0));
  held.Release();
  EXPECT_EQ(Resident({0}), 1u);
}

TEST_F(BufferRingTest, AFullRingReusesItsOwnFramesInOrder) {
  ASSERT_NO_FATAL_FAILURE(NewPool(128));
  BufferRing ring(kRingPages);
  ASSERT_NO_FATAL_FAILURE(Scan(Range(0, kRingPages), &ring));
  EXPECT_EQ(ring.stats().clock_pages, kRingPages);
  EXPECT_EQ(ring.stats().reused_pages, 0u);
  ASSERT_NO_FATAL_FAILURE(Scan(Range(kRingPages, 3 * kRingPages), &ring));
  EXPECT_EQ(ring.stats().clock_pages, kRingPages);
  EXPECT_EQ(ring.stats().reused_pages, 2 * kRingPages);
  EXPECT_EQ(ring.stats().rejected_runs, 0u);
  // The first two ring-fuls were recycled away; the ring holds the last one.
  EXPECT_EQ(Resident(Range(0, 2 * kRingPages)), 0u);
  EXPECT_EQ(Resident(Range(2 * kRingPages, 3 * kRingPages)), kRingPages);
}

// A loop over 2 rings' worth of pages: a newest-first ring recycles the frames of what it
// read last, so the head of the loop is still resident when the scan comes round; an
// oldest-first ring has turned it over.
TEST_F(BufferRingTest, ANewestFirstRingKeepsTheHeadOfALoopResident) {
  for (const RingOrder order : {RingOrder::kNewestFirst, RingOrder::kOldestFirst}) {
    SCOPED_TRACE(order == RingOrder::kNewestFirst ? "newest first" : "oldest first");
    ASSERT_NO_FATAL_FAILURE(NewPool(128));
    BufferRing ring(kRingPages, order);
    ASSERT_NO_FATAL_FAILURE(Scan(Range(0, 2 * kRingPages), &ring));
    EXPECT_EQ(ring.stats().rejected_runs, 0u);
    EXPECT_EQ(ring.stats().reused_pages, kRingPages);
    // What stays of the first ring-ful: all but the frames recycled while the stream
    // still pinned the newest (at most its pins and a read) under newest first; nothing
    // under oldest first.
    const uint32_t head = Resident(Range(0, kRingPages));
    if (order == RingOrder::kNewestFirst) {
      EXPECT_GE(head, kRingPages - (2 * kDistance * kCombinePages + kCombinePages));
    } else {
      EXPECT_EQ(head, 0u);
    }
  }
}

}  // namespace
}  // namespace iodepth::testutil
