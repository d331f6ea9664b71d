// BufferRing: a bulk reader's private ring of buffer frames, the scan-resistant strategy.
//
// A sequential scan of a table larger than the pool, left to the clock sweep, evicts every
// other reader's pages and competes with other scans for the whole pool: on a pool under
// pressure the scan whose pages come round again first keeps its share while the others
// thrash. With a ring, a scan recycles a few frames of its own instead (PostgreSQL's
// BAS_BULKREAD gives a scan of a table over a quarter of shared_buffers such a ring):
//
//          oldest run                                     newest run
//             v                                               v
//   ring: [ f40..f55 ] [ f71..f86 ] [ f9..f24 ] ... [ f102..f117 ]     runs of contiguous frames,
//             |                                           ^            one per read
//             +-- reused for the next read when full -----+
//
//   - While the ring holds fewer than max_pages frames, a read takes frames from the clock
//     (BufferManager::ClaimRun) and they join the ring as its newest run (merged with it
//     when adjacent).
//   - Once full, a read recycles frames of one run, from its start and contiguous, as long
//     as each is unpinned and clean. Which run is the ring's order (RingOrder below):
//     oldest first (PostgreSQL's ring) takes the oldest, and leaves a frame someone else
//     used since it was read (usage count above 1) to the clock, dropping that run from
//     the ring; newest first takes the newest run the stream no longer pins, preferring
//     one long enough for the whole read, and looks as far back as it must. What the read
//     does not use of a run stays where it was.
//   - Pages of the ring stay in the page table while they wait: another scan that meets
//     them hits as usual.
//
// So a scan never holds more than its ring plus its pins, and pages of other readers are
// evicted only while its ring fills (or, oldest first, when its oldest run was taken from
// it). The ring must be larger than the pins of the stream that uses it, or every run is
// pinned and each read falls back to the clock: PagesFor() sizes a ring as PostgreSQL
// does, 256 KiB, or the stream's pins plus two reads when that is more.
//
// Frames are only borrowed: every claim goes through the pool's pins, so a ring listing a
// frame someone else has since claimed is harmless (its claim fails, or recycles a page
// that was read once). Threading: one ring belongs to one stream, on one thread; the
// pool it draws from is shared.
#pragma once

#include <cstdint>
#include <deque>

#include "buffer/buffer_manager.h"

namespace iodepth {

struct BufferRingStats {
  uint64_t reused_pages = 0;   // Pages read into frames recycled from the ring.
  uint64_t clock_pages = 0;    // Pages read into frames the clock gave the ring.
  uint64_t rejected_runs = 0;  // Reads that found no run to recycle and went to the clock.

  BufferRingStats& operator+=(const BufferRingStats& other) {
    reused_pages += other.reused_pages;
    clock_pages += other.clock_pages;
    rejected_runs += other.rejected_runs;
    return *this;
  }
};

// Which run a full ring recycles.
enum class RingOrder {
  // The oldest (PostgreSQL's ring): a small ring that turns over, so a scan leaves no
  // trace in the pool. A loop over more pages than the ring never hits in it.
  kOldestFirst,
  // The newest the stream no longer pins (most recently used first): a ring as large as a
  // scan's share of the pool keeps the first pages of a loop resident and recycles only
  // the frames of the pages it read last, so a scan that comes round again hits on its
  // whole share. For a cyclic scan larger than its memory this is the best any
  // replacement can do, and every scan gets the same share.
  kNewestFirst,
};

class BufferRing {
 public:
  // The bulk-read ring PostgreSQL uses, and the least this one holds.
  static constexpr uint64_t kMinRingBytes = 256 * 1024;
  // REQUIRES: max_pages >= 1.
  explicit BufferRing(uint32_t max_pages, RingOrder order = RingOrder::kOldestFirst);
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;

  // The ring for a stream that pins at most `stream_pins` pages and reads at most
  // `combine_pages` per request: kMinRingBytes, or its pins plus two reads if more; never
  // more than the pool's `capacity` frames.
  static uint32_t PagesFor(uint32_t page_bytes, uint32_t stream_pins, uint32_t combine_pages, uint32_t capacity);

  uint32_t max_pages() const { return max_pages_; }
  RingOrder order() const { return order_; }
  uint32_t pages() const { return pages_; }  // Frames listed now.
  const BufferRingStats& stats() const { return stats_; }

 private:
  friend class BufferManager;
  bool full() const { return pages_ >= max_pages_ && !runs_.empty(); }
  size_t runs() const { return runs_.size(); }
  const ReadRun& RunAt(size_t i) const { return runs_[i]; }  // 0: the oldest.
  // Lists `run` as the newest. Beyond max_pages, forgets a run (left to the clock): the
  // oldest, or for kNewestFirst the newest before `run`, so the resident head stays.
  void Add(const ReadRun& run);
  // Takes the first `pages` frames of run i off the ring (the run goes when emptied).
  void TakeFront(size_t i, uint32_t pages);
  void DropOldest();

  const uint32_t max_pages_;
  const RingOrder order_;
  uint32_t pages_ = 0;
  std::deque<ReadRun> runs_;  // Oldest first; the sum of their pages is pages_.
  BufferRingStats stats_;
};

}  // namespace iodepth
