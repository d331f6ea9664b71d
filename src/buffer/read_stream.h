// ReadStream: hands a consumer the pages it asked for, pinned and in order, while keeping
// reads of the pages it will want next in flight through an IoQueue. This is the
// buffer manager's prefetch window: what lets direct I/O hide device latency the way the
// kernel's read-ahead does for buffered reads.
//
// The consumer supplies a PageSource, a callback returning the next page number (or
// nothing at the end): sequential, strided, random, anything. It calls Next() for each
// page and gets a PageGuard; the stream looks ahead in the source as far as its limits
// allow.
//
// The look-ahead queue. Every page pulled from the source becomes an entry, in source
// order; the consumer always takes the oldest:
//
//        consumer takes                                   source supplies
//              v                                                v
//   +------+------+------+------+------+------+------+------+------+
//   | hit  | read | read | read |  hit | read | read | pend | pend |
//   | P17  | P18  | P19  | P20  | P41  | P42  | P43  | P44  | P45  |
//   +------+------+------+------+------+------+------+------+------+
//            \________ one 24 KiB read ____/       \_ read_/ \_ pending _/
//
//   hit      resident when looked up (or being read by another thread): pinned, no I/O.
//   read     mapped into a frame and pinned, its read in flight or done.
//   pend     a miss adjacent to the one before it, gathered into the pending read.
//
// Combining. Consecutive misses (page p, p+1, p+2 ...) gather into one pending read of up
// to io_combine bytes (default 128 KiB); the pending read is issued when the next page is
// not adjacent, is a hit, when it reaches io_combine, or when the look-ahead stops. The
// buffer manager gives it contiguous frames (BufferManager::BeginRead), so one request
// reads straight into them: no bounce buffer and no copy. When fewer contiguous frames
// are free the read is split, never merged across a gap: only pages adjacent on disk
// are ever read by one request.
//
// Limits. The look-ahead stops when either
//   - `distance` reads are in flight (the queue depth the stream keeps), or
//   - the stream pins max_pinned_pages pages (entries plus pending), which bounds the
//     memory one stream can hold in a shared pool (default: 2 x distance x io_combine
//     pages, at most a quarter of the pool: twice a full window, so reads that finish
//     before the oldest one can be replaced while the consumer waits for it).
//
// Policies for `distance`:
//   fixed     distance = N, always. The qd benchmarks use it: N reads in flight.
//   adaptive  two distances, each starting at 1 (PostgreSQL 19's read_stream.c rules,
//             and a measured floor beyond them):
//               - combine distance, the pages a read gathers before it is issued:
//                 doubles after every read issued, up to io_combine; back to 1 once the
//                 stream is cached (read-ahead distance 1 again);
//               - read-ahead distance, the reads in flight: doubles only when the
//                 consumer had to wait for one of our reads (not, unlike PostgreSQL 19,
//                 when a read completed inline inside its submission: that read ran on
//                 the consumer's thread whatever the depth, and more depth only pinned
//                 more pages; the inline time still counts as waiting in the stats); a hit
//                 lowers it by one, but only after a hold-off of distance x combine
//                 pages since the last read, so hits between the reads of a stream that
//                 still misses do not starve it;
//               - and, beyond read_stream.c, a Little's-law target from measurements:
//                 need = ceil(read latency / (consumer time per page x pages per read)) + 1,
//                 the reads that must be in flight for one to complete each time the
//                 consumer is ready for more. The distance is raised to `need` at once
//                 (no wait has to happen first), and when the consumer has not waited
//                 for a whole window of pages and distance > need, it steps down by one,
//                 so a slow consumer does not pin pages it will not reach for a while.
//               The read-ahead distance stays within 1..distance (the option is the
//               maximum); the look-ahead pins at most 2 x distance x io_combine pages.
//             Latency and consumer time are exponentially weighted moving averages
//             (weight 1/8) of each read's submit-to-complete time and of the time
//             between Next() calls minus the time Next() spent waiting.
//
// Waiting. When the oldest entry is not ready, Next() reaps this stream's queue (its own
// reads, topping the look-ahead up after each reap), or waits for another thread's read of that page while still
// reaping its own (two streams waiting for each other's pages would otherwise deadlock).
//
// Errors. A page whose read failed (an I/O error, a checksum mismatch, past end of file)
// is returned by Next() as that error when the consumer reaches it, not earlier; the
// stream can continue with the following pages. ResourceExhausted when no frame can be
// claimed and the stream holds nothing that would free one.
//
// Threading: one stream belongs to one thread, like its IoQueue. Several streams on
// several threads may share one BufferManager. The destructor completes every read in
// flight and releases every pin the stream holds.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "buffer/buffer_manager.h"
#include "buffer/buffer_ring.h"
#include "common/histogram.h"
#include "common/result.h"
#include "io/file.h"
#include "io/io_queue.h"

namespace iodepth {

// Returns the next page number the consumer will want, or nullopt at the end.
using PageSource = std::function<std::optional<uint64_t>()>;

enum class ReadStreamPolicy { kFixed, kAdaptive };
std::string_view ReadStreamPolicyName(ReadStreamPolicy policy);  // "fixed", "adaptive"

struct ReadStreamOptions {
  ReadStreamPolicy policy = ReadStreamPolicy::kFixed;
  uint32_t distance = 16;                  // fixed: reads in flight; adaptive: the most. 1..queue depth.
  uint32_t io_combine_bytes = 128 * 1024;  // A multiple of the page size, 1 page..kMaxCombineBytes.
  uint32_t max_pinned_pages = 0;           // 0: the default above.
  // Borrowed, may be null: the reads take their frames through this ring (buffer_ring.h,
  // the scan-resistant strategy) instead of straight from the clock. It must outlive the
  // stream and be used by no other stream meanwhile; it may serve successive streams of
  // one reader (a scan's passes). Size it with BufferRing::PagesFor(PinLimit(...)).
  BufferRing* ring = nullptr;
};
inline constexpr uint32_t kMaxCombineBytes = 1u << 20;

struct ReadStreamStats {
  uint64_t pages = 0;   // Returned by Next().
  uint64_t hits = 0;    // Pages returned that this stream did not read (resident,
                        // or read by another thread, when looked up).
  uint64_t misses = 0;  // Pages this stream read (counted as the reads are issued).
  uint64_t reads = 0;   // Read requests issued (after combining).
  uint64_t read_bytes = 0;
  uint64_t consumer_waits = 0;  // Next() calls that waited for I/O.
  // Time the consumer lost to I/O: Next() waiting for a read, plus the submissions that
  // completed reads inline (a buffered io_uring read of cached pages is copied inside the
  // submitting call; the sync backend reads there), which are waits by another name.
  int64_t wait_ns = 0;
  uint64_t inline_completions = 0;       // Reads complete when their submission returned.
  std::vector<uint64_t> reads_by_pages;  // [n] = reads of n pages.
  LatencyHistogram read_latency_ns;      // Submit to completion of each read.
  LatencyHistogram page_latency_ns;      // The same, once per page the read brought in.
  double in_flight_area_ns = 0;          // Integral of reads in flight over time (mean = area / time).
  // Sums over each Next() (mean = sum / pages); integers, so the hot path adds, not converts.
  uint64_t distance_sum = 0;  // The read-ahead distance.
  uint64_t combine_sum = 0;   // The combine distance, in pages.
  uint64_t pinned_sum = 0;    // The pages pinned ahead.
};

class ReadStream {
 public:
  // Borrowed: `manager`, `queue` and `file` must outlive the stream; `queue` is used only
  // by this stream while it lives. Errors: InvalidArgument naming the bad option.
  static Result<std::unique_ptr<ReadStream>> Create(BufferManager& manager, IoQueue& queue, File& file,
                                                    PageSource source, const ReadStreamOptions& options);
  ReadStream(const ReadStream&) = delete;
  ReadStream& operator=(const ReadStream&) = delete;
  ~ReadStream();

  // The next page, pinned; nullopt after the source's last page.
  Result<std::optional<PageGuard>> Next();

  uint32_t distance() const { return distance_; }
  uint32_t combine_distance() const { return combine_; }  // Pages a read gathers, at most.
  uint32_t reads_in_flight() const { return in_flight_; }
  uint32_t pinned_pages() const { return static_cast<uint32_t>(entries_.size()); }
  const ReadStreamStats& stats() const { return stats_; }
  // Zeroes the counters (a benchmark's window starts); reads in flight carry on.
  void ResetStats();
  // The most pages a stream with `options` pins in `manager` (max_pinned_pages, or the
  // default above).
  static uint32_t PinLimit(const ReadStreamOptions& options, const BufferManager& manager);

 private:
  enum class Kind : uint8_t { kPending, kRead, kHit };
  struct Entry {
    uint64_t page = 0;
    uint32_t frame = 0;  // Unset while kPending.
    Kind kind = Kind::kPending;
  };
  struct Read {
    uint64_t first_page = 0;
    ReadRun run;
    bool busy = false;
  };

  ReadStream(BufferManager& manager, IoQueue& queue, File& file, PageSource source, const ReadStreamOptions& options);
  Status Fill();
  bool LookAheadHasRoom() const;
  // Adds `page` as the newest entry. False, adding nothing, when it is resident but the
  // pending read before it cannot be issued yet: the caller keeps the page for later.
  Result<bool> AddPage(uint64_t page);
  Status IssuePending(bool force);
  Status ResolveResidentPending();
  Status StartRead(const ReadRun& run);
  Status Reap(uint32_t min_completions, std::optional<std::chrono::nanoseconds> timeout);
  // Submits what is prepared, counting reads completed inline (see wait_ns).
  Status SubmitPrepared();
  Status WaitForHead(const Entry& head);
  void NoteInFlightChange(int64_t now_ns);
  void AdaptOnConsume(bool waited, int64_t called_ns);
  void AdaptOnRead();
  void AdaptOnHit();

  BufferManager& manager_;
  IoQueue& queue_;
  File& file_;
  PageSource source_;
  const ReadStreamOptions options_;
  const uint32_t combine_pages_;
  const uint32_t max_pinned_;
  uint32_t distance_;
  uint32_t combine_;                  // The combine distance: a pending read is issued at this many pages.
  uint32_t decay_holdoff_pages_ = 0;  // Hits to ignore before the distance may decay.
  bool source_done_ = false;
  bool waiting_ = false;             // Inside Next()'s timed wait: submissions are already timed as waiting.
  std::optional<uint64_t> stashed_;  // Pulled from the source, not yet added.

  std::deque<Entry> entries_;
  uint64_t pending_first_ = 0;  // The pending read: the last pending_pages_ entries.
  uint32_t pending_pages_ = 0;
  std::vector<Read> reads_;  // By tag; at most `distance` busy.
  std::vector<uint32_t> free_reads_;
  uint32_t in_flight_ = 0;
  std::vector<IoCompletion> completions_;

  ReadStreamStats stats_;
  int64_t last_change_ns_ = 0;
  int64_t last_return_ns_ = 0;
  double latency_ewma_ns_ = 0;
  double consume_ewma_ns_ = 0;
  double pages_per_read_ewma_ = 1;
  uint64_t pages_since_wait_ = 0;
  double pages_since_reap_ = 0;
};

}  // namespace iodepth
