// buffer/: the buffer manager. It owns page frames in memory, the map from (file, page)
// to frame, pins, eviction and write-back, and the read streams that keep several page
// reads in flight. It never calls pread itself on the asynchronous path (reads go
// through an io/ IoQueue the caller owns) and it knows nothing of a page's layout: a
// PageVerifier supplied from above (storage/) checks every page read from disk.
//
// BufferManager: a fixed pool of page frames shared by any number of threads.
//
//   arena (one aligned allocation, registered as io_uring fixed buffers on request)
//   +---------+---------+---------+---------+-----+---------+
//   | frame 0 | frame 1 | frame 2 | frame 3 | ... | frame n-1|   n = memory budget / page size
//   +---------+---------+---------+---------+-----+---------+
//        ^ clock hand sweeps in chunks, ages usage counts, claims unpinned frames
//
//   page table: 64 shards, each a mutex and a hash map (file id, page) -> frame
//
// A frame's life:
//
//   empty --claim--> reading --read done, page verified--> valid --evicted--> empty
//                       |                                    |  ^
//                       +--read failed / bad checksum-->     |  +-- write-back done
//                           failed (unmapped; the error      v
//                           goes to every pinner) --last     writing (dirty; the background
//                           unpin--> claimable again         writer's or an evictor's write)
//
// Rules:
// - A pinned frame is never evicted. Pins are counted per frame; PageGuard is the RAII
//   pin. A claim is itself a pin taken with compare-and-swap from 0, so two evictors
//   can never take the same frame and a lookup that pins first always wins.
// - One read per page: the miss that maps a page into the table does the read; any other
//   thread asking for it finds the mapping, pins the frame and waits for the read.
// - A failed read unmaps its page at once, so the next request reads it again, and hands
//   the error to every thread waiting on it; the frame is reusable after the last unpin.
// - When a sweep sees every frame pinned, the request fails with ResourceExhausted
//   (naming the pool size and what to change) instead of waiting for a pin that may
//   never be released.
// - Write-back. A page being written is still readable: pinning it does not wait, only
//   mutable_data() does (a page must not change under its own write). Dirty pages are
//   written three ways:
//     background writer (BackgroundWriterOptions): an evictor that meets a dirty victim
//       hands it to the writer's bounded queue and takes the next clean frame instead,
//       so a reader never waits for a write it does not need. The writer thread owns an
//       IoQueue and keeps up to its depth of writes in flight (io/request_pump.h); a
//       written page is clean and the next pass of the hand claims it without I/O.
//     evictor: with no writer, or once half of a claim's sweeps found nothing clean (the
//       writer's queue full, say), the evictor writes a victim itself, synchronously.
//     FlushAll(): a checkpoint; every dirty page, up to a queue's depth in flight.
// - The write-ahead rule (when the options give page_lsn and flush_log): before any
//   dirty page is written, the log is made durable up to the LSN the page records;
//   FlushAll makes it durable once, up to the largest. A log that cannot be made durable
//   leaves the page dirty and unwritten, and the write-back returns the log's error.
//
// Eviction is a clock sweep over chunks: the hand advances by the number of frames wanted,
// and inside that chunk the first claimable frame starts a run of contiguous claimable
// frames; the rest of the chunk is only aged. Contiguous runs let a read stream read
// several adjacent pages with one request into adjacent frames, without vectored I/O or a
// copy. A frame's usage count (0..kMaxUsage) is raised on every pin and lowered by each
// pass of the hand, so pages used often survive longer than pages a scan used once.
//
// Threading: every public member may be called from any thread at once. A PageGuard
// belongs to one thread at a time. Modifying a page's bytes (mutable_data) needs the
// caller's own exclusion against other readers of that page; the manager only promises
// that a page is not written back while anyone but the evictor holds a pin.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/histogram.h"
#include "common/result.h"
#include "common/status.h"
#include "io/aligned_buffer.h"
#include "io/file.h"
#include "io/io_queue.h"

namespace iodepth {

// Checks a page image just read from `file` at page number `page_no`; anything but OK
// marks the read failed with that status (storage/ supplies one built on VerifyPage).
// Called on the thread that completes the read; must be safe to call concurrently.
using PageVerifier = std::function<Status(std::span<const std::byte> page, uint64_t page_no, const File& file)>;

// The write-ahead rule's two halves, supplied from above so buffer/ knows neither a
// page's layout nor the log: PageLsnReader returns the LSN a page image records (storage/
// reads its header); LogFlusher makes the log durable up to an LSN (the WAL's Commit) and
// returns its error otherwise. Both may be called from any thread.
using PageLsnReader = std::function<uint64_t(std::span<const std::byte> page)>;
using LogFlusher = std::function<Status(uint64_t lsn)>;

// The background writer (see "Write-back" above). Bounded: at most `queue.depth` writes in
// flight and `max_queued` victims waiting; beyond that evictors write themselves.
struct BackgroundWriterOptions {
  bool enabled = false;
  IoQueueOptions queue{.depth = 8};  // Backend and write-back depth.
  uint32_t max_queued = 0;           // Victims waiting; 0: 4 x depth, at least 16.
};

struct BufferManagerOptions {
  uint32_t page_bytes = 8192;           // A power of two, 512..1 MiB.
  uint64_t memory_bytes = 64ull << 20;  // The budget M: frames = memory_bytes / page_bytes.
  PageVerifier verify;                  // Empty: pages are used unchecked (tests only).
  // The write-ahead rule: when both are set, no dirty page is written before the log is
  // durable up to the LSN the page records. Both or neither.
  PageLsnReader page_lsn;
  LogFlusher flush_log;
  BackgroundWriterOptions background_writer;
};

inline constexpr uint32_t kMinFrames = 4;
inline constexpr uint8_t kMaxUsage = 5;
// io_uring limits one registered buffer to 1 GiB, so the arena is registered in regions
// of this size and a contiguous run never crosses a region boundary.
inline constexpr uint64_t kArenaRegionBytes = 1ull << 30;

// Counters over the manager's life, summed from per-shard counts.
struct BufferStats {
  uint64_t lookups = 0;                // Pin() calls (hits, waits and misses).
  uint64_t hits = 0;                   // Found resident, or being read by someone else.
  uint64_t pages_read = 0;             // Pages read from disk (misses served).
  uint64_t evictions = 0;              // Valid pages dropped to make room.
  uint64_t writebacks = 0;             // Dirty pages written, all three ways: the two below
                                       // and FlushAll's.
  uint64_t background_writebacks = 0;  // By the background writer.
  uint64_t evictor_writebacks = 0;     // By an evictor itself, synchronously.
  uint64_t dirty_victims_queued = 0;   // Dirty victims an evictor handed to the writer.
  uint64_t writeback_failures = 0;     // Writes (or their log flushes) that failed.
  uint64_t read_failures = 0;
};

class BufferManager;
class BufferRing;

// A pin on one frame; the page cannot be evicted while it lives. Move-only.
class PageGuard {
 public:
  PageGuard() = default;
  PageGuard(const PageGuard&) = delete;
  PageGuard& operator=(const PageGuard&) = delete;
  PageGuard(PageGuard&& other) noexcept : manager_(other.manager_), frame_(other.frame_) { other.manager_ = nullptr; }
  PageGuard& operator=(PageGuard&& other) noexcept;
  ~PageGuard() { Release(); }

  bool valid() const { return manager_ != nullptr; }
  uint32_t frame() const { return frame_; }
  uint64_t page_no() const;
  std::span<const std::byte> data() const;
  // Waits for a write-back of this page in flight to finish (the write must not see the
  // page change under it) and returns its bytes.
  // REQUIRES: the caller excludes other users of this page while it writes.
  std::span<std::byte> mutable_data() const;
  // The page will be written back before its frame is reused (or by FlushAll).
  void MarkDirty() const;
  void Release();

 private:
  friend class BufferManager;
  PageGuard(BufferManager* manager, uint32_t frame) : manager_(manager), frame_(frame) {}
  BufferManager* manager_ = nullptr;
  uint32_t frame_ = 0;
};

// What Pin() found.
enum class PinOutcome : uint8_t {
  kMiss,        // Not resident; nothing pinned.
  kResident,    // Pinned and valid.
  kInProgress,  // Pinned, and another caller's read of it is still in flight.
};

struct PinResult {
  PinOutcome outcome = PinOutcome::kMiss;
  uint32_t frame = 0;  // Meaningful unless kMiss.
};

// A run of contiguous frames holding consecutive pages, claimed by BeginRead.
struct ReadRun {
  uint32_t first_frame = 0;
  uint32_t pages = 0;  // 0: the first page became resident meanwhile; Pin() it instead.
};

class BufferManager {
 public:
  friend class PageGuard;
  static Result<std::unique_ptr<BufferManager>> Create(const BufferManagerOptions& options);

  BufferManager(const BufferManager&) = delete;
  BufferManager& operator=(const BufferManager&) = delete;
  // Stops the background writer (its writes in flight finish first).
  // REQUIRES: no guard or read is outstanding. Dirty pages are not written: call FlushAll.
  ~BufferManager();

  // --- The synchronous path: one page, read with one pread on a miss. ---
  // Returns the page pinned. Errors: the read's error, the verifier's (Corruption naming
  // page and file), InvalidArgument for a page past the end of the file,
  // ResourceExhausted when every frame is pinned.
  // *did_read (when given) says whether this call read the page itself.
  Result<PageGuard> Fetch(File& file, uint64_t page_no, bool* did_read = nullptr);

  // --- Building blocks of asynchronous miss paths (ReadStream). ---
  // Looks `page_no` up and pins its frame if it is there (resident or being read).
  PinResult Pin(const File& file, uint64_t page_no);
  // Claims up to `pages` contiguous frames and maps pages page_no.. into them, each
  // pinned once for the caller and in state reading. Stops early at the first page that
  // became resident meanwhile or at the end of a contiguous run. The caller reads
  // run.pages x page_bytes at page_no x page_bytes into FrameData(run.first_frame, ...)
  // and then calls FinishRead with the outcome. Errors: ResourceExhausted (nothing is
  // claimed), or a failed write-back of a dirty victim.
  // With a `ring` (buffer_ring.h; the caller's, used by this thread only), the frames
  // come from the ring's oldest run when the ring is full and that run can be reused, and
  // otherwise from the clock, joining the ring.
  // REQUIRES: 1 <= pages; the pages lie in one file.
  Result<ReadRun> BeginRead(File& file, uint64_t page_no, uint32_t pages, BufferRing* ring = nullptr);
  // Completes a BeginRead: `bytes_done` of the run were read, or `status` is the
  // request's error. Each page is verified and becomes valid, or failed with its own error
  // (the read's, a checksum mismatch, past the end of file). Wakes every waiter. The
  // caller keeps its pins.
  void FinishRead(const ReadRun& run, uint64_t page_no, const Status& status, size_t bytes_done);
  // Waits until a pinned frame's read has finished; OK if the page is valid, else the
  // read's error. While it waits it calls `progress` (when given) so a caller that has
  // reads of its own in flight can complete them: two streams each waiting for the
  // other's page must not deadlock. A non-OK status from `progress` ends the wait with it.
  // REQUIRES: the caller holds a pin on `frame`.
  Status WaitForRead(uint32_t frame, const std::function<Status()>& progress = nullptr);
  // Whether a pinned frame's page is valid now (no waiting).
  bool IsValid(uint32_t frame) const;
  // Wraps one of the caller's pins into a guard, or drops it.
  PageGuard AdoptPin(uint32_t frame) { return PageGuard(this, frame); }
  void Unpin(uint32_t frame);

  // --- Whole-pool operations. ---
  // Writes every dirty page (a checkpoint's write-back): first the log, once, up to the
  // largest page LSN among them (the write-ahead rule), then the pages, through `queue`
  // up to its depth in flight, or one at a time with pwrite when `queue` is null.
  // Each write's latency (submit to completion) goes into `write_latency_ns` when given.
  // REQUIRES: nobody modifies pages meanwhile; `queue` has nothing prepared or in flight
  // and belongs to the calling thread.
  Status FlushAll(IoQueue* queue = nullptr, LatencyHistogram* write_latency_ns = nullptr);
  // Waits until the background writer has written every victim handed to it so far (for
  // tests and for a job's end). Returns the writer's first error since the last call; OK
  // without a writer.
  Status DrainBackgroundWriter();
  // The writer queue's backend name ("io_uring", "worker", "sync"), or "" without one.
  std::string background_writer_backend() const;
  // Forgets every page of `file` (writing dirty ones first). Call before closing a file
  // whose pages may be cached. FailedPrecondition if one of its pages is pinned.
  Status DropFile(const File& file);
  // Registers the arena with `queue` as fixed buffers (io_uring; others ignore it).
  // REQUIRES: `queue` has nothing prepared or in flight.
  Status RegisterWith(IoQueue& queue) const;

  std::span<std::byte> FrameData(uint32_t frame, uint32_t pages = 1) const;
  uint32_t page_bytes() const { return page_bytes_; }
  uint32_t capacity() const { return frames_count_; }
  uint64_t FrameCountResident() const;      // Frames holding a valid page (a scan; for tests and reports).
  uint32_t PinCount(uint32_t frame) const;  // For tests and assertions.
  BufferStats stats() const;

 private:
  struct Frame;
  struct Shard;
  struct Writer;
  struct PageKey {
    uint64_t file_id;
    uint64_t page_no;
    bool operator==(const PageKey&) const = default;
  };
  struct PageKeyHash {
    size_t operator()(const PageKey& key) const;
  };
  static constexpr uint32_t kShards = 64;

  BufferManager(const BufferManagerOptions& options, AlignedBuffer arena, uint32_t frames);
  Shard& ShardOf(const PageKey& key) const;
  Result<ReadRun> ClaimRun(uint32_t wanted);
  // One sweep of ClaimRun: a run, or an empty run when nothing was claimable.
  // `hand_off_dirty`: dirty victims go to the background writer (when there is one and
  // its queue has room) instead of being written here.
  Result<ReadRun> SweepForRun(uint32_t wanted, bool hand_off_dirty);
  // Tries to make frame f free and claimed by the caller (pin 1, unmapped, empty).
  // Returns false (nothing held) when f is pinned, recently used, handed to the writer,
  // or a race was lost.
  Result<bool> TryClaim(uint32_t frame, bool hand_off_dirty);
  // The end of a claim: unmaps the claimed frame's page unless someone pinned or dirtied
  // it meanwhile (then the claim is dropped and false returned), and empties the frame.
  bool UnmapClaimed(uint32_t frame);
  // Up to `wanted` contiguous frames recycled from the ring's oldest run (buffer_ring.h);
  // an empty run when the ring is not full or its oldest frame is in use.
  ReadRun ClaimFromRing(BufferRing& ring, uint32_t wanted);
  // Claims the first frames of a ring's `candidate` run, up to `wanted`, while each can be
  // recycled; an empty run when the first cannot.
  ReadRun ReuseFront(const ReadRun& candidate, uint32_t wanted, bool honour_usage);
  // Whether frames [first_frame, first_frame + frames) are unpinned now (a hint).
  bool LooksUnpinned(uint32_t first_frame, uint32_t frames) const;
  // `honour_usage`: refuse a frame someone used since it was read (usage above 1).
  bool TryReuseRingFrame(uint32_t frame, bool honour_usage);
  Status WriteBack(uint32_t frame);
  // The background writer: Offer queues a dirty victim (false: no room, or the writer
  // has failed); WriterLoop is its thread; ClaimForWrite takes a queued frame for writing
  // (pin 1, state writing) if it is still an unpinned dirty page; EndWrite releases it.
  bool OfferToWriter(uint32_t frame);
  void WriterLoop(std::unique_ptr<IoQueue> queue);
  std::optional<IoRequest> NextWriterRequest();
  bool ClaimForWrite(uint32_t frame);
  void EndWrite(uint32_t frame);
  void NoteWriteError(const Status& error);
  // Waits while a pinned frame is being written back.
  void WaitWhileWriting(uint32_t frame) const;
  // The write-ahead rule for pages up to `lsn`: OK once the log is durable there.
  Status EnsureLogDurable(uint64_t lsn, uint64_t page_no);
  Status WriteFramesAtDepth(const std::vector<uint32_t>& frames, IoQueue& queue, LatencyHistogram* latency_ns);
  // Marks the page clean and counts the write under the way it was written.
  void WroteFrame(uint32_t frame, std::atomic<uint64_t>& by_way);
  void ReleaseClaimed(uint32_t frame);
  void FailFrame(uint32_t frame, Status error);
  void BumpUsage(uint32_t frame) const;

  const uint32_t page_bytes_;
  const uint32_t frames_count_;
  const uint32_t frames_per_region_;
  const PageVerifier verify_;
  const PageLsnReader page_lsn_;
  const LogFlusher flush_log_;
  std::atomic<uint64_t> log_durable_lsn_{0};  // The largest LSN flush_log_ confirmed.
  AlignedBuffer arena_;
  std::unique_ptr<Frame[]> frames_;
  std::unique_ptr<Shard[]> shards_;
  std::atomic<uint64_t> clock_hand_{0};
  std::atomic<uint64_t> evictions_{0};
  std::atomic<uint64_t> pages_read_{0};
  std::atomic<uint64_t> read_failures_{0};
  std::atomic<uint64_t> background_writebacks_{0};
  std::atomic<uint64_t> evictor_writebacks_{0};
  std::atomic<uint64_t> flush_writebacks_{0};  // By FlushAll (a checkpoint).
  std::atomic<uint64_t> dirty_victims_queued_{0};
  std::atomic<uint64_t> writeback_failures_{0};
  std::unique_ptr<Writer> writer_;  // Null without a background writer.
};

}  // namespace iodepth
