#include "buffer/buffer_manager.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "buffer/buffer_ring.h"
#include "common/assert.h"
#include "common/units.h"
#include "io/request_pump.h"

namespace iodepth {

namespace {

// A frame's state; changes are published with release stores and waited on with
// std::atomic::wait (a futex), see the diagram in the header.
enum FrameState : uint32_t { kEmpty = 0, kReading = 1, kValid = 2, kFailed = 3, kWriting = 4 };

// Frames are aligned for direct I/O on any device with sectors up to 4 KiB.
constexpr size_t kArenaAlignment = 4096;
constexpr uint32_t kMaxPageBytes = 1u << 20;

}  // namespace

struct BufferManager::Frame {
  std::atomic<uint32_t> pins{0};
  std::atomic<uint32_t> state{kEmpty};
  std::atomic<uint8_t> usage{0};
  std::atomic<bool> dirty{false};
  std::atomic<bool> queued{false};  // Waiting in the background writer's queue.
  // The fields below change only while the changer holds the frame's only pin (a claim)
  // and, for a mapped frame, its shard's lock; anyone else reads them only while holding
  // a pin taken after that (through the table or a later claim), which orders the reads
  // after the writes.
  bool mapped = false;
  PageKey key{};
  File* file = nullptr;
  Status error;  // Set before state becomes kFailed.
};

struct alignas(64) BufferManager::Shard {
  std::mutex mutex;
  std::unordered_map<PageKey, uint32_t, PageKeyHash> map;  // Guarded by mutex.
  uint64_t lookups = 0;                                    // Guarded by mutex.
  uint64_t hits = 0;                                       // Guarded by mutex.
};

struct BufferManager::Writer {
  std::mutex mutex;
  std::condition_variable wake;  // Victims queued, or stop.
  std::condition_variable idle;  // The queue drained and no batch is being written.
  std::deque<uint32_t> victims;  // Guarded by mutex, as are the fields below.
  size_t max_queued = 0;
  bool stop = false;
  bool busy = false;  // A batch is being written.
  Status error;       // The first failure since the last DrainBackgroundWriter().
  std::string backend;
  std::thread thread;
};

size_t BufferManager::PageKeyHash::operator()(const PageKey& key) const {
  // Fibonacci hashing of the mixed key spreads consecutive pages over the shards and
  // the buckets alike.
  const uint64_t mixed = (key.page_no ^ (key.file_id * 0xD6E8FEB86659FD93ull)) * 0x9E3779B97F4A7C15ull;
  return static_cast<size_t>(mixed ^ (mixed >> 32));
}

PageGuard& PageGuard::operator=(PageGuard&& other) noexcept {
  if (this != &other) {
    Release();
    manager_ = other.manager_;
    frame_ = other.frame_;
    other.manager_ = nullptr;
  }
  return *this;
}

uint64_t PageGuard::page_no() const { return manager_->frames_[frame_].key.page_no; }
std::span<const std::byte> PageGuard::data() const { return manager_->FrameData(frame_); }
std::span<std::byte> PageGuard::mutable_data() const {
  manager_->WaitWhileWriting(frame_);
  return manager_->FrameData(frame_);
}
void PageGuard::MarkDirty() const { manager_->frames_[frame_].dirty.store(true, std::memory_order_release); }

void PageGuard::Release() {
  if (manager_ == nullptr) return;
  manager_->Unpin(frame_);
  manager_ = nullptr;
}

Result<std::unique_ptr<BufferManager>> BufferManager::Create(const BufferManagerOptions& options) {
  const uint32_t page = options.page_bytes;
  if (page < 512 || page > kMaxPageBytes || (page & (page - 1)) != 0) {
    return Status::InvalidArgument(
        fmt::format("buffer page size {} must be a power of two between 512 and {}", page, kMaxPageBytes));
  }
  const uint64_t frames = options.memory_bytes / page;
  if (frames < kMinFrames) {
    return Status::InvalidArgument(fmt::format("a buffer pool of {} holds {} pages of {} bytes; it needs at least {}",
                                               FormatBytes(options.memory_bytes), frames, page, kMinFrames));
  }
  if (frames > UINT32_MAX / 2) {
    return Status::InvalidArgument(fmt::format("a buffer pool of {} pages is too large; use larger pages", frames));
  }
  if (static_cast<bool>(options.page_lsn) != static_cast<bool>(options.flush_log)) {
    return Status::InvalidArgument("the write-ahead rule needs both a page LSN reader and a log flusher, or neither");
  }
  IODEPTH_ASSIGN_OR_RETURN(AlignedBuffer arena, AlignedBuffer::Allocate(frames * page, kArenaAlignment));
  std::unique_ptr<BufferManager> manager(new BufferManager(options, std::move(arena), static_cast<uint32_t>(frames)));
  const BackgroundWriterOptions& writer = options.background_writer;
  if (writer.enabled) {
    std::string notice;
    Result<std::unique_ptr<IoQueue>> queue = MakeIoQueue(writer.queue, &notice);
    if (!queue.has_value()) return queue.error().WithContext("the buffer pool's background writer");
    manager->writer_ = std::make_unique<Writer>();
    manager->writer_->max_queued =
        writer.max_queued != 0 ? writer.max_queued : std::max<size_t>(16, size_t{4} * writer.queue.depth);
    manager->writer_->backend = std::string((*queue)->backend_name());
    // The queue is used and destroyed only on the writer's thread from here on.
    manager->writer_->thread =
        std::thread([m = manager.get(), q = std::move(*queue)]() mutable { m->WriterLoop(std::move(q)); });
  }
  return manager;
}

BufferManager::BufferManager(const BufferManagerOptions& options, AlignedBuffer arena, uint32_t frames)
    : page_bytes_(options.page_bytes),
      frames_count_(frames),
      frames_per_region_(static_cast<uint32_t>(kArenaRegionBytes / options.page_bytes)),
      verify_(options.verify),
      page_lsn_(options.page_lsn),
      flush_log_(options.flush_log),
      arena_(std::move(arena)),
      frames_(std::make_unique<Frame[]>(frames)),
      shards_(std::make_unique<Shard[]>(kShards)) {
  for (uint32_t s = 0; s < kShards; ++s) shards_[s].map.reserve(frames / kShards * 2 + 16);
}

BufferManager::~BufferManager() {
  if (writer_ != nullptr) {
    {
      std::lock_guard lock(writer_->mutex);
      writer_->stop = true;
    }
    writer_->wake.notify_all();
    writer_->thread.join();
  }
  for (uint32_t f = 0; f < frames_count_; ++f) {
    IODEPTH_CHECK(frames_[f].pins.load() == 0, "buffer manager destroyed while a page is pinned");
  }
}

BufferManager::Shard& BufferManager::ShardOf(const PageKey& key) const { return shards_[PageKeyHash{}(key) % kShards]; }

std::span<std::byte> BufferManager::FrameData(uint32_t frame, uint32_t pages) const {
  IODEPTH_CHECK(frame + pages <= frames_count_, "frame range outside the arena");
  return arena_.span(size_t{frame} * page_bytes_, size_t{pages} * page_bytes_);
}

void BufferManager::BumpUsage(uint32_t frame) const {
  // Plain load and store: a lost increment between two pinners only ages a page a
  // little early, and skipping the store at the cap keeps hot frames' lines clean.
  std::atomic<uint8_t>& usage = frames_[frame].usage;
  const uint8_t u = usage.load(std::memory_order_relaxed);
  if (u < kMaxUsage) usage.store(static_cast<uint8_t>(u + 1), std::memory_order_relaxed);
}

PinResult BufferManager::Pin(const File& file, uint64_t page_no) {
  const PageKey key{file.id(), page_no};
  Shard& shard = ShardOf(key);
  uint32_t frame = 0;
  {
    std::lock_guard lock(shard.mutex);
    ++shard.lookups;
    const auto it = shard.map.find(key);
    if (it == shard.map.end()) return {};
    frame = it->second;
    // Under the shard lock, so an evictor (which unmaps under the same lock only while
    // it holds the sole pin) either sees this pin or has already unmapped the page.
    frames_[frame].pins.fetch_add(1, std::memory_order_acquire);
    ++shard.hits;
  }
  BumpUsage(frame);
  const uint32_t state = frames_[frame].state.load(std::memory_order_acquire);
  const bool readable = state == kValid || state == kWriting;
  return {readable ? PinOutcome::kResident : PinOutcome::kInProgress, frame};
}

void BufferManager::Unpin(uint32_t frame) {
  const uint32_t before = frames_[frame].pins.fetch_sub(1, std::memory_order_release);
  IODEPTH_CHECK(before > 0, "unpinned a frame that was not pinned");
}

uint32_t BufferManager::PinCount(uint32_t frame) const { return frames_[frame].pins.load(std::memory_order_acquire); }

bool BufferManager::IsValid(uint32_t frame) const {
  const uint32_t state = frames_[frame].state.load(std::memory_order_acquire);
  return state == kValid || state == kWriting;  // A page being written is readable.
}

void BufferManager::WaitWhileWriting(uint32_t frame) const {
  const std::atomic<uint32_t>& state = frames_[frame].state;
  for (uint32_t now = state.load(std::memory_order_acquire); now == kWriting;
       now = state.load(std::memory_order_acquire)) {
    state.wait(now, std::memory_order_acquire);
  }
}

Status BufferManager::WaitForRead(uint32_t frame, const std::function<Status()>& progress) {
  IODEPTH_CHECK(PinCount(frame) > 0, "WaitForRead on an unpinned frame");
  std::atomic<uint32_t>& state = frames_[frame].state;
  for (;;) {
    const uint32_t now = state.load(std::memory_order_acquire);
    if (now == kValid || now == kWriting) return Status::OK();
    if (now == kFailed) return frames_[frame].error;
    if (!progress) {
      state.wait(now, std::memory_order_acquire);
      continue;
    }
    // The caller's own reads may be what another waiter needs: complete them, then look
    // again rather than sleeping on a read that may depend on us.
    IODEPTH_RETURN_IF_ERROR(progress());
    if (state.load(std::memory_order_acquire) == now) std::this_thread::yield();
  }
}

void BufferManager::FailFrame(uint32_t frame, Status error) {
  Frame& fr = frames_[frame];
  {
    Shard& shard = ShardOf(fr.key);
    std::lock_guard lock(shard.mutex);
    const auto it = shard.map.find(fr.key);
    if (it != shard.map.end() && it->second == frame) shard.map.erase(it);
    fr.mapped = false;
  }
  fr.error = std::move(error);
  fr.dirty.store(false, std::memory_order_relaxed);
  read_failures_.fetch_add(1, std::memory_order_relaxed);
  fr.state.store(kFailed, std::memory_order_release);
  fr.state.notify_all();
}

void BufferManager::ReleaseClaimed(uint32_t frame) {
  Frame& fr = frames_[frame];
  fr.mapped = false;
  fr.state.store(kEmpty, std::memory_order_relaxed);
  fr.usage.store(0, std::memory_order_relaxed);
  Unpin(frame);
}

Status BufferManager::WriteBack(uint32_t frame) {
  Frame& fr = frames_[frame];
  {
    // Only the claimer may hold a pin, so no one is changing the page; `writing` makes
    // anyone who pins it from now on wait until the write is done.
    std::lock_guard lock(ShardOf(fr.key).mutex);
    if (fr.pins.load(std::memory_order_acquire) != 1) return Status::OK();
    fr.state.store(kWriting, std::memory_order_release);
  }
  Status logged = page_lsn_ ? EnsureLogDurable(page_lsn_(FrameData(frame)), fr.key.page_no) : Status::OK();
  if (!logged.ok()) {
    fr.state.store(kValid, std::memory_order_release);
    fr.state.notify_all();
    return logged;
  }
  const uint64_t offset = fr.key.page_no * page_bytes_;
  const Result<size_t> written = fr.file->WriteAt(offset, FrameData(frame));
  if (written.has_value()) {
    WroteFrame(frame, evictor_writebacks_);
  }
  fr.state.store(kValid, std::memory_order_release);
  fr.state.notify_all();
  if (!written.has_value()) {
    writeback_failures_.fetch_add(1, std::memory_order_relaxed);
    return written.error().WithContext(fmt::format("write back page {} of {}", fr.key.page_no, fr.file->path()));
  }
  return Status::OK();
}

Result<bool> BufferManager::TryClaim(uint32_t frame, bool hand_off_dirty) {
  Frame& fr = frames_[frame];
  if (fr.pins.load(std::memory_order_relaxed) != 0) return false;
  uint8_t usage = fr.usage.load(std::memory_order_relaxed);
  if (usage > 0) {
    fr.usage.compare_exchange_weak(usage, static_cast<uint8_t>(usage - 1), std::memory_order_relaxed);
    return false;
  }
  uint32_t expected = 0;
  if (!fr.pins.compare_exchange_strong(expected, 1, std::memory_order_acquire)) return false;
  if (fr.mapped && fr.dirty.load(std::memory_order_acquire)) {
    // The writer claims a victim with a pin of its own, so the claim is dropped before
    // the hand-off. With the writer's queue full the victim is passed by for now; in the
    // second half of a claim's sweeps it is written here.
    if (hand_off_dirty && writer_ != nullptr) {
      Unpin(frame);
      OfferToWriter(frame);
      return false;
    }
    const Status written = WriteBack(frame);
    if (!written.ok()) {
      Unpin(frame);
      return written;
    }
  }
  return UnmapClaimed(frame);
}

bool BufferManager::UnmapClaimed(uint32_t frame) {
  Frame& fr = frames_[frame];
  if (fr.mapped) {
    Shard& shard = ShardOf(fr.key);
    std::lock_guard lock(shard.mutex);
    // Someone pinned it (through the table) since the claim, or dirtied it again: keep it.
    if (fr.pins.load(std::memory_order_acquire) != 1 || fr.dirty.load(std::memory_order_acquire)) {
      Unpin(frame);
      return false;
    }
    shard.map.erase(fr.key);
    fr.mapped = false;
    evictions_.fetch_add(1, std::memory_order_relaxed);
  }
  fr.state.store(kEmpty, std::memory_order_relaxed);
  fr.error = Status::OK();
  return true;
}

ReadRun BufferManager::ClaimFromRing(BufferRing& ring, uint32_t wanted) {
  if (!ring.full()) return ReadRun{};  // PostgreSQL's rule: a ring grows from the clock until full.
  const bool oldest = ring.order() == RingOrder::kOldestFirst;
  // Newest first looks as far back as it must: the newest runs are the stream's pins, and
  // going to the clock instead would take a frame from another scan's share. It prefers a
  // run long enough for the whole read (a shorter one splits the read, and reads of a page
  // or two cost the device its bandwidth), then any.
  const size_t candidates = oldest ? 1 : ring.runs();
  for (const uint32_t least : {oldest ? 1u : wanted, 1u}) {
    for (size_t c = 0; c < candidates; ++c) {
      const size_t i = oldest ? 0 : ring.runs() - 1 - c;
      if (ring.RunAt(i).pages < least || !LooksUnpinned(ring.RunAt(i).first_frame, least)) continue;
      const ReadRun run = ReuseFront(ring.RunAt(i), wanted, /*honour_usage=*/oldest);
      if (run.pages == 0) continue;
      ring.TakeFront(i, run.pages);
      ring.stats_.reused_pages += run.pages;
      return run;
    }
    if (least == 1) break;
  }
  ++ring.stats_.rejected_runs;
  // An oldest run in use by someone is theirs now: the clock may have it.
  if (oldest) ring.DropOldest();
  return ReadRun{};
}

bool BufferManager::LooksUnpinned(uint32_t first_frame, uint32_t frames) const {
  // A hint, read without claiming: the claims that follow decide.
  for (uint32_t f = first_frame; f < first_frame + frames; ++f) {
    if (frames_[f].pins.load(std::memory_order_relaxed) != 0) return false;
  }
  return true;
}

ReadRun BufferManager::ReuseFront(const ReadRun& candidate, uint32_t wanted, bool honour_usage) {
  // Frames from the run's start, contiguous, while each can be recycled: a read needs
  // adjacent frames, and the ring's runs were claimed adjacent.
  const uint32_t limit = std::min(wanted, candidate.pages);
  ReadRun run{.first_frame = candidate.first_frame, .pages = 0};
  while (run.pages < limit && TryReuseRingFrame(candidate.first_frame + run.pages, honour_usage)) ++run.pages;
  return run;
}

bool BufferManager::TryReuseRingFrame(uint32_t frame, bool honour_usage) {
  Frame& fr = frames_[frame];
  // Pinned, or dirty (write-back is the clock's and the writer's business, as in
  // PostgreSQL's bulk-read ring): not ours to recycle. A small oldest-first ring also
  // leaves a page used by someone besides its reader since it was read (usage above the
  // 1 a read sets) to the clock. A share ring does not: its own reader's hits on the
  // pages it keeps raise their usage too, and refusing those would send the reader to the
  // clock, which takes frames from the other scans' shares.
  if (fr.pins.load(std::memory_order_relaxed) != 0 || fr.dirty.load(std::memory_order_acquire) ||
      (honour_usage && fr.usage.load(std::memory_order_relaxed) > 1)) {
    return false;
  }
  uint32_t expected = 0;
  if (!fr.pins.compare_exchange_strong(expected, 1, std::memory_order_acquire)) return false;
  return UnmapClaimed(frame);
}

Result<ReadRun> BufferManager::ClaimRun(uint32_t wanted) {
  // A sweep can come back empty-handed while other threads hold frames only for a
  // moment (their own claims, a read about to be handed over), which on a small pool
  // under load can look like every frame pinned. Sweep again a few times, giving those
  // threads the processor, before calling the pool exhausted: a pool really full of
  // pinned frames still fails within microseconds, never a hang.
  constexpr int kSweeps = 8;
  for (int sweep = 0; sweep < kSweeps; ++sweep) {
    // Dirty victims go to the background writer in the first half of the sweeps; after
    // that the claim writes one itself rather than fail for want of a clean frame.
    IODEPTH_ASSIGN_OR_RETURN(const ReadRun run, SweepForRun(wanted, /*hand_off_dirty=*/sweep < kSweeps / 2));
    if (run.pages > 0) return run;
    if (sweep < kSweeps / 2) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  }
  return Status::ResourceExhausted(fmt::format(
      "all {} buffer frames ({} of {}-byte pages) are pinned, so no page can be read: give the buffer pool more "
      "memory, or lower the read-ahead distance or the number of concurrent streams",
      frames_count_, FormatBytes(uint64_t{frames_count_} * page_bytes_), page_bytes_));
}

Result<ReadRun> BufferManager::SweepForRun(uint32_t wanted, bool hand_off_dirty) {
  IODEPTH_CHECK(wanted >= 1, "claim of zero frames");
  wanted = std::min(wanted, frames_count_);
  // Enough steps for the hand to age every frame from kMaxUsage to 0 and come round once
  // more; only constant re-pinning by other threads can exhaust it.
  const uint64_t max_steps = uint64_t{frames_count_} * (kMaxUsage + 2);
  uint64_t pinned_in_a_row = 0;
  for (uint64_t steps = 0; steps < max_steps;) {
    // A run stays inside the arena and inside one registered region. The hand advances
    // by the chunk actually swept, not by `wanted`: a chunk cut short at the end of the
    // arena would otherwise skip the first frames, which then could never be claimed
    // by runs of that length, and the skipped visits would count as pinned frames.
    uint64_t hand = clock_hand_.load(std::memory_order_relaxed);
    uint32_t start = 0;
    uint32_t length = 0;
    do {
      start = static_cast<uint32_t>(hand % frames_count_);
      length = std::min({wanted, frames_count_ - start, frames_per_region_ - start % frames_per_region_});
    } while (!clock_hand_.compare_exchange_weak(hand, hand + length, std::memory_order_relaxed));
    steps += length;
    ReadRun run;
    bool run_closed = false;
    for (uint32_t f = start; f < start + length; ++f) {
      if (run_closed) {
        uint8_t usage = frames_[f].usage.load(std::memory_order_relaxed);
        if (usage > 0 && frames_[f].pins.load(std::memory_order_relaxed) == 0) {
          frames_[f].usage.compare_exchange_weak(usage, static_cast<uint8_t>(usage - 1), std::memory_order_relaxed);
        }
        continue;
      }
      const Result<bool> claimed = TryClaim(f, hand_off_dirty);
      if (!claimed.has_value()) {
        for (uint32_t i = 0; i < run.pages; ++i) ReleaseClaimed(run.first_frame + i);
        return claimed.error();
      }
      if (*claimed) {
        if (run.pages == 0) run.first_frame = f;
        ++run.pages;
        pinned_in_a_row = 0;
        continue;
      }
      run_closed = run.pages > 0;
      pinned_in_a_row = frames_[f].pins.load(std::memory_order_relaxed) > 0 ? pinned_in_a_row + 1 : 0;
      if (pinned_in_a_row >= frames_count_) break;
    }
    if (run.pages > 0) return run;
    if (pinned_in_a_row >= frames_count_) break;
  }
  return ReadRun{};  // Nothing claimable in this sweep.
}

Result<ReadRun> BufferManager::BeginRead(File& file, uint64_t page_no, uint32_t pages, BufferRing* ring) {
  IODEPTH_CHECK(pages >= 1, "BeginRead of zero pages");
  ReadRun run = ring != nullptr ? ClaimFromRing(*ring, pages) : ReadRun{};
  const bool from_clock = run.pages == 0;
  if (from_clock) {
    IODEPTH_ASSIGN_OR_RETURN(run, ClaimRun(pages));
  }
  uint32_t mapped = 0;
  for (; mapped < run.pages; ++mapped) {
    const uint32_t f = run.first_frame + mapped;
    Frame& fr = frames_[f];
    // The frame is claimed and unmapped: no one else can see these writes until the
    // mapping below publishes it under the shard lock.
    fr.key = PageKey{file.id(), page_no + mapped};
    fr.file = &file;
    fr.dirty.store(false, std::memory_order_relaxed);
    fr.usage.store(1, std::memory_order_relaxed);
    fr.state.store(kReading, std::memory_order_relaxed);
    Shard& shard = ShardOf(fr.key);
    std::lock_guard lock(shard.mutex);
    if (!shard.map.emplace(fr.key, f).second) break;  // Resident meanwhile: someone else read it.
    fr.mapped = true;
  }
  for (uint32_t i = mapped; i < run.pages; ++i) ReleaseClaimed(run.first_frame + i);
  run.pages = mapped;
  if (ring != nullptr) {
    if (from_clock) ring->stats_.clock_pages += run.pages;
    ring->Add(run);
  }
  return run;
}

void BufferManager::FinishRead(const ReadRun& run, uint64_t page_no, const Status& status, size_t bytes_done) {
  for (uint32_t i = 0; i < run.pages; ++i) {
    const uint32_t f = run.first_frame + i;
    Frame& fr = frames_[f];
    IODEPTH_CHECK(fr.state.load(std::memory_order_relaxed) == kReading, "FinishRead of a frame not being read");
    const uint64_t page = page_no + i;
    Status page_status;
    if (!status.ok()) {
      page_status = status.WithContext(fmt::format("read page {} of {}", page, fr.file->path()));
    } else if (bytes_done < size_t{i + 1} * page_bytes_) {
      page_status = Status::InvalidArgument(
          fmt::format("page {} of {} lies past the end of the file (the read returned {} of {} bytes); the table "
                      "has fewer pages than asked for",
                      page, fr.file->path(), bytes_done, size_t{run.pages} * page_bytes_));
    } else if (verify_) {
      page_status = verify_(FrameData(f), page, *fr.file);
    }
    if (!page_status.ok()) {
      FailFrame(f, std::move(page_status));
      continue;
    }
    pages_read_.fetch_add(1, std::memory_order_relaxed);
    fr.state.store(kValid, std::memory_order_release);
    fr.state.notify_all();
  }
}

Result<PageGuard> BufferManager::Fetch(File& file, uint64_t page_no, bool* did_read) {
  if (did_read != nullptr) *did_read = false;
  for (;;) {
    const PinResult pin = Pin(file, page_no);
    uint32_t frame = pin.frame;
    if (pin.outcome == PinOutcome::kMiss) {
      IODEPTH_ASSIGN_OR_RETURN(const ReadRun run, BeginRead(file, page_no, /*pages=*/1));
      if (run.pages == 0) continue;  // Another thread mapped it first: pin theirs.
      frame = run.first_frame;
      if (did_read != nullptr) *did_read = true;
      const Result<size_t> bytes = file.ReadAt(page_no * page_bytes_, FrameData(frame));
      FinishRead(run, page_no, bytes.has_value() ? Status::OK() : bytes.error(), bytes.has_value() ? *bytes : 0);
    }
    const Status ready = WaitForRead(frame);
    if (!ready.ok()) {
      Unpin(frame);
      return ready;
    }
    return PageGuard(this, frame);
  }
}

Status BufferManager::EnsureLogDurable(uint64_t lsn, uint64_t page_no) {
  if (lsn <= log_durable_lsn_.load(std::memory_order_acquire)) return Status::OK();
  const Status flushed = flush_log_(lsn);
  if (!flushed.ok()) {
    return flushed.WithContext(
        fmt::format("page {} (LSN {}) not written: the log could not be made durable up to its LSN (write-ahead rule)",
                    page_no, lsn));
  }
  uint64_t seen = log_durable_lsn_.load(std::memory_order_relaxed);
  while (seen < lsn && !log_durable_lsn_.compare_exchange_weak(seen, lsn, std::memory_order_acq_rel)) {
  }
  return Status::OK();
}

void BufferManager::WroteFrame(uint32_t frame, std::atomic<uint64_t>& by_way) {
  Frame& fr = frames_[frame];
  // The write-ahead rule, checked where it matters: the page just written carries no LSN
  // the log has not confirmed durable.
  IODEPTH_CHECK(!page_lsn_ || page_lsn_(FrameData(frame)) <= log_durable_lsn_.load(std::memory_order_acquire),
                "a page was written before the log was durable up to its LSN");
  fr.dirty.store(false, std::memory_order_release);
  by_way.fetch_add(1, std::memory_order_relaxed);
}

Status BufferManager::WriteFramesAtDepth(const std::vector<uint32_t>& frames, IoQueue& queue,
                                         LatencyHistogram* latency_ns) {
  size_t next = 0;
  return PumpRequests(
      queue,
      [&]() -> std::optional<IoRequest> {
        if (next == frames.size()) return std::nullopt;
        const uint32_t frame = frames[next++];
        const Frame& fr = frames_[frame];
        return IoRequest{IoOp::kWrite, fr.file, fr.key.page_no * page_bytes_, FrameData(frame), frame};
      },
      [&](const IoCompletion& done) {
        const auto frame = static_cast<uint32_t>(done.tag);
        const Status error = CompletionError(done);
        if (error.ok()) {
          WroteFrame(frame, flush_writebacks_);
          if (latency_ns != nullptr) latency_ns->Record(static_cast<uint64_t>(done.completed_ns - done.submitted_ns));
          return Status::OK();
        }
        writeback_failures_.fetch_add(1, std::memory_order_relaxed);
        const Frame& fr = frames_[frame];
        return error.WithContext(fmt::format("write back page {} of {}", fr.key.page_no, fr.file->path()));
      });
}

Status BufferManager::FlushAll(IoQueue* queue, LatencyHistogram* write_latency_ns) {
  std::vector<uint32_t> pinned;
  for (uint32_t s = 0; s < kShards; ++s) {
    std::lock_guard lock(shards_[s].mutex);
    for (const auto& [key, frame] : shards_[s].map) {
      if (!frames_[frame].dirty.load(std::memory_order_acquire)) continue;
      frames_[frame].pins.fetch_add(1, std::memory_order_acquire);
      pinned.push_back(frame);
    }
  }
  std::vector<uint32_t> to_write;
  uint64_t max_lsn = 0;
  uint64_t max_lsn_page = 0;
  for (const uint32_t frame : pinned) {
    // A write the background writer has in flight may fail and leave the page dirty:
    // wait for it, then look again.
    WaitWhileWriting(frame);
    const Frame& fr = frames_[frame];
    if (fr.state.load(std::memory_order_acquire) != kValid || !fr.dirty.load(std::memory_order_acquire)) continue;
    to_write.push_back(frame);
    const uint64_t lsn = page_lsn_ ? page_lsn_(FrameData(frame)) : 0;
    if (lsn >= max_lsn) {
      max_lsn = lsn;
      max_lsn_page = fr.key.page_no;
    }
  }
  // One log flush covers every page of the checkpoint.
  Status status = page_lsn_ && !to_write.empty() ? EnsureLogDurable(max_lsn, max_lsn_page) : Status::OK();
  if (status.ok() && !to_write.empty()) {
    std::unique_ptr<IoQueue> one_at_a_time;
    if (queue == nullptr) {
      Result<std::unique_ptr<IoQueue>> made = MakeIoQueue(IoQueueOptions{.backend = Backend::kSync, .depth = 1});
      status = made.has_value() ? Status::OK() : made.error();
      if (made.has_value()) one_at_a_time = std::move(*made);
      queue = one_at_a_time.get();
    }
    if (status.ok()) status = WriteFramesAtDepth(to_write, *queue, write_latency_ns);
  }
  for (const uint32_t frame : pinned) Unpin(frame);
  return status;
}

bool BufferManager::OfferToWriter(uint32_t frame) {
  Frame& fr = frames_[frame];
  if (fr.queued.load(std::memory_order_acquire)) return true;  // Already waiting for the writer.
  {
    std::lock_guard lock(writer_->mutex);
    // After a failure the evictors write themselves, so the error reaches a caller.
    if (writer_->stop || !writer_->error.ok() || writer_->victims.size() >= writer_->max_queued) return false;
    fr.queued.store(true, std::memory_order_release);
    writer_->victims.push_back(frame);
  }
  dirty_victims_queued_.fetch_add(1, std::memory_order_relaxed);
  writer_->wake.notify_one();
  return true;
}

bool BufferManager::ClaimForWrite(uint32_t frame) {
  Frame& fr = frames_[frame];
  uint32_t expected = 0;
  if (!fr.pins.compare_exchange_strong(expected, 1, std::memory_order_acquire)) return false;  // In use.
  // The only pin is ours, so mapped, key and file hold still; a page that was evicted,
  // written or failed meanwhile needs nothing.
  if (!fr.mapped || !fr.dirty.load(std::memory_order_acquire) || fr.state.load(std::memory_order_acquire) != kValid) {
    Unpin(frame);
    return false;
  }
  // `writing` is set under the shard lock that Pin() takes, as WriteBack does: a reader
  // that pinned after the claim either shows in the pin count here (then the write waits
  // for a later pass) or pins after the store and finds the page writing, so its
  // mutable_data() waits. Without the lock a reader could pin between the claim and the
  // store, see the page valid, and change it under the write (seen by TSan).
  std::lock_guard lock(ShardOf(fr.key).mutex);
  if (fr.pins.load(std::memory_order_acquire) != 1) {
    Unpin(frame);
    return false;
  }
  fr.state.store(kWriting, std::memory_order_release);
  return true;
}

void BufferManager::EndWrite(uint32_t frame) {
  Frame& fr = frames_[frame];
  fr.state.store(kValid, std::memory_order_release);
  fr.state.notify_all();
  Unpin(frame);
}

void BufferManager::NoteWriteError(const Status& error) {
  writeback_failures_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(writer_->mutex);
  if (writer_->error.ok()) writer_->error = error;
}

std::optional<IoRequest> BufferManager::NextWriterRequest() {
  for (;;) {
    uint32_t frame = 0;
    {
      std::lock_guard lock(writer_->mutex);
      if (writer_->victims.empty() || writer_->stop) return std::nullopt;
      frame = writer_->victims.front();
      writer_->victims.pop_front();
    }
    Frame& fr = frames_[frame];
    fr.queued.store(false, std::memory_order_release);
    if (!ClaimForWrite(frame)) continue;
    if (page_lsn_) {
      const Status logged = EnsureLogDurable(page_lsn_(FrameData(frame)), fr.key.page_no);
      if (!logged.ok()) {
        NoteWriteError(logged);
        EndWrite(frame);
        continue;
      }
    }
    return IoRequest{IoOp::kWrite, fr.file, fr.key.page_no * page_bytes_, FrameData(frame), frame};
  }
}

void BufferManager::WriterLoop(std::unique_ptr<IoQueue> queue) {
  for (;;) {
    {
      std::unique_lock lock(writer_->mutex);
      writer_->wake.wait(lock, [this] { return writer_->stop || !writer_->victims.empty(); });
      if (writer_->stop) break;
      writer_->busy = true;
    }
    // A failed write leaves its page dirty and stops this batch; the error is kept for
    // DrainBackgroundWriter and turns later victims back to the evictors.
    const Status batch = PumpRequests(
        *queue, [this] { return NextWriterRequest(); },
        [this](const IoCompletion& done) {
          const auto frame = static_cast<uint32_t>(done.tag);
          const Status error = CompletionError(done);
          if (error.ok()) {
            WroteFrame(frame, background_writebacks_);
          } else {
            const Frame& fr = frames_[frame];
            NoteWriteError(error.WithContext(
                fmt::format("background write-back of page {} of {}", fr.key.page_no, fr.file->path())));
          }
          EndWrite(frame);
          return error;
        });
    std::lock_guard lock(writer_->mutex);
    if (!batch.ok() && writer_->error.ok()) writer_->error = batch;
    writer_->busy = false;
    if (writer_->victims.empty()) writer_->idle.notify_all();
  }
  // Victims left behind stay dirty; FlushAll or an evictor writes them.
  std::lock_guard lock(writer_->mutex);
  for (const uint32_t frame : writer_->victims) frames_[frame].queued.store(false, std::memory_order_relaxed);
  writer_->victims.clear();
  writer_->busy = false;
  writer_->idle.notify_all();
  // The queue is destroyed here, on the thread that used it, after draining.
}

Status BufferManager::DrainBackgroundWriter() {
  if (writer_ == nullptr) return Status::OK();
  std::unique_lock lock(writer_->mutex);
  writer_->idle.wait(lock, [this] { return writer_->victims.empty() && !writer_->busy; });
  return std::exchange(writer_->error, Status::OK());
}

std::string BufferManager::background_writer_backend() const {
  return writer_ != nullptr ? writer_->backend : std::string();
}

Status BufferManager::DropFile(const File& file) {
  IODEPTH_RETURN_IF_ERROR(FlushAll());
  uint64_t busy = 0;
  for (uint32_t s = 0; s < kShards; ++s) {
    std::lock_guard lock(shards_[s].mutex);
    for (auto it = shards_[s].map.begin(); it != shards_[s].map.end();) {
      Frame& fr = frames_[it->second];
      uint32_t expected = 0;
      if (it->first.file_id != file.id() || !fr.pins.compare_exchange_strong(expected, 1, std::memory_order_acquire)) {
        busy += it->first.file_id == file.id() ? 1u : 0u;
        ++it;
        continue;
      }
      fr.mapped = false;
      fr.state.store(kEmpty, std::memory_order_relaxed);
      fr.usage.store(0, std::memory_order_relaxed);
      it = shards_[s].map.erase(it);
      Unpin(static_cast<uint32_t>(&fr - frames_.get()));
    }
  }
  if (busy > 0) {
    return Status::FailedPrecondition(
        fmt::format("{} pages of {} are still pinned; release them before dropping the file", busy, file.path()));
  }
  return Status::OK();
}

Status BufferManager::RegisterWith(IoQueue& queue) const {
  std::vector<std::span<std::byte>> regions;
  const uint64_t region_bytes = uint64_t{frames_per_region_} * page_bytes_;
  for (uint64_t offset = 0; offset < arena_.size(); offset += region_bytes) {
    regions.push_back(arena_.span(offset, std::min<uint64_t>(region_bytes, arena_.size() - offset)));
  }
  return queue.RegisterBuffers(regions);
}

uint64_t BufferManager::FrameCountResident() const {
  uint64_t resident = 0;
  for (uint32_t s = 0; s < kShards; ++s) {
    std::lock_guard lock(shards_[s].mutex);
    for (const auto& [key, frame] : shards_[s].map) {
      resident += IsValid(frame) ? 1u : 0u;
    }
  }
  return resident;
}

BufferStats BufferManager::stats() const {
  BufferStats stats;
  for (uint32_t s = 0; s < kShards; ++s) {
    std::lock_guard lock(shards_[s].mutex);
    stats.lookups += shards_[s].lookups;
    stats.hits += shards_[s].hits;
  }
  stats.pages_read = pages_read_.load(std::memory_order_relaxed);
  stats.evictions = evictions_.load(std::memory_order_relaxed);
  stats.read_failures = read_failures_.load(std::memory_order_relaxed);
  stats.background_writebacks = background_writebacks_.load(std::memory_order_relaxed);
  stats.evictor_writebacks = evictor_writebacks_.load(std::memory_order_relaxed);
  // The total is the sum of the ways, not a fourth counter, so a snapshot taken while the
  // background writer runs never shows a total that disagrees with its parts.
  stats.writebacks =
      stats.background_writebacks + stats.evictor_writebacks + flush_writebacks_.load(std::memory_order_relaxed);
  stats.dirty_victims_queued = dirty_victims_queued_.load(std::memory_order_relaxed);
  stats.writeback_failures = writeback_failures_.load(std::memory_order_relaxed);
  return stats;
}

}  // namespace iodepth
