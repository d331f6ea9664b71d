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
//     (BufferManager::ClaimRun) and they join the ring as its newest run.
//   - Once full, a read reuses the oldest run's frames, from its start and contiguous, as
//     long as each is unpinned, clean and used by nobody else since it was read (usage
//     count <= 1). What the read does not need stays oldest. A frame that cannot be reused
//     (another reader pinned or used the page, or dirtied it) ends that run's membership:
//     it is left to the clock, and the read takes frames from the clock instead.
//   - Pages of the ring stay in the page table while they wait: another scan that meets
//     them hits as usual (and its use keeps them from being recycled).
//
// So a scan never holds more than its ring plus its pins, and pages of other readers are
// evicted only while its ring fills. The ring must be larger than the pins of the stream
// that uses it, or its oldest run is always pinned and every read falls back to the clock:
// PagesFor() sizes it as PostgreSQL does, 256 KiB, or the stream's pins plus two reads
// when that is more.
//
// Frames are only borrowed: every claim goes through the pool's pins, so a ring listing a
// frame someone else has since claimed is harmless (the reuse test fails and the run is
// dropped). Threading: one ring belongs to one stream, on one thread; the pool it draws
// from is shared.
#pragma once

#include <cstdint>
#include <deque>

#include "buffer/buffer_manager.h"

namespace iodepth {

struct BufferRingStats {
  uint64_t reused_pages = 0;   // Pages read into frames recycled from the ring.
  uint64_t clock_pages = 0;    // Pages read into frames the clock gave the ring.
  uint64_t rejected_runs = 0;  // Oldest runs left to the clock because a frame was in use.
};

class BufferRing {
 public:
  // The bulk-read ring PostgreSQL uses, and the least this one holds.
  static constexpr uint64_t kMinRingBytes = 256 * 1024;

  // REQUIRES: max_pages >= 1.
  explicit BufferRing(uint32_t max_pages);
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;

  // The ring for a stream that pins at most `stream_pins` pages and reads at most
  // `combine_pages` per request: kMinRingBytes, or its pins plus two reads if more; never
  // more than the pool's `capacity` frames.
  static uint32_t PagesFor(uint32_t page_bytes, uint32_t stream_pins, uint32_t combine_pages, uint32_t capacity);

  uint32_t max_pages() const { return max_pages_; }
  uint32_t pages() const { return pages_; }  // Frames listed now.
  const BufferRingStats& stats() const { return stats_; }

 private:
  friend class BufferManager;
  // Lists `run` as the newest; forgets the oldest runs beyond max_pages (left to the clock).
  void Add(const ReadRun& run);
  // Takes the oldest run off the ring, if the ring is full: the candidate for reuse.
  bool TakeOldestIfFull(ReadRun* run);
  // Puts the part of the oldest run a read did not use back, as the oldest.
  void ReturnOldest(const ReadRun& rest);

  const uint32_t max_pages_;
  uint32_t pages_ = 0;
  std::deque<ReadRun> runs_;  // Oldest first; the sum of their pages is pages_.
  BufferRingStats stats_;
};

}  // namespace iodepth
