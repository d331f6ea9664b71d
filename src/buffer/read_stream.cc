#include "buffer/read_stream.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include <fmt/format.h>

#include "common/assert.h"
#include "common/clock.h"

namespace iodepth {

namespace {

constexpr double kEwmaWeight = 1.0 / 8;
// While foreign reads are awaited, our own reaps block at most this long, so the wait
// checks the foreign page again soon.
constexpr std::chrono::microseconds kForeignWaitSlice{50};

// Pages a stream may pin per read it may have in flight: twice a full read, so reads that
// finish before the oldest one (which the consumer waits for) can be replaced at once
// instead of holding their pins and the depth down until the consumer catches up.
constexpr uint32_t kPinsPerRead = 2;

double Ewma(double average, double sample) {
  return average == 0 ? sample : average + kEwmaWeight * (sample - average);
}

}  // namespace

std::string_view ReadStreamPolicyName(ReadStreamPolicy policy) {
  return policy == ReadStreamPolicy::kFixed ? "fixed" : "adaptive";
}

Result<std::unique_ptr<ReadStream>> ReadStream::Create(BufferManager& manager, IoQueue& queue, File& file,
                                                       PageSource source, const ReadStreamOptions& options) {
  const uint32_t page = manager.page_bytes();
  if (options.distance < 1 || options.distance > queue.depth()) {
    return Status::InvalidArgument(fmt::format("read-ahead distance {} must be between 1 and the queue depth {}",
                                               options.distance, queue.depth()));
  }
  if (options.io_combine_bytes < page || options.io_combine_bytes > kMaxCombineBytes ||
      options.io_combine_bytes % page != 0) {
    return Status::InvalidArgument(fmt::format("io_combine {} must be a multiple of the page size {} up to {}",
                                               options.io_combine_bytes, page, kMaxCombineBytes));
  }
  if (!source) return Status::InvalidArgument("a read stream needs a page source");
  return std::unique_ptr<ReadStream>(new ReadStream(manager, queue, file, std::move(source), options));
}

ReadStream::ReadStream(BufferManager& manager, IoQueue& queue, File& file, PageSource source,
                       const ReadStreamOptions& options)
    : manager_(manager),
      queue_(queue),
      file_(file),
      source_(std::move(source)),
      options_(options),
      combine_pages_(options.io_combine_bytes / manager.page_bytes()),
      max_pinned_(PinLimit(options, manager)),
      distance_(options.policy == ReadStreamPolicy::kFixed ? options.distance : 1),
      combine_(options.policy == ReadStreamPolicy::kFixed ? combine_pages_ : 1),
      reads_(options.distance),
      completions_(options.distance) {
  for (uint32_t i = options.distance; i > 0; --i) free_reads_.push_back(i - 1);
  stats_.reads_by_pages.assign(combine_pages_ + 1, 0);
  last_change_ns_ = NowNs();
}

uint32_t ReadStream::PinLimit(const ReadStreamOptions& options, const BufferManager& manager) {
  if (options.max_pinned_pages > 0) return options.max_pinned_pages;
  const uint32_t combine_pages = options.io_combine_bytes / manager.page_bytes();
  return std::max<uint32_t>(1, std::min(kPinsPerRead * options.distance * combine_pages, manager.capacity() / 4));
}

ReadStream::~ReadStream() {
  // Complete our reads first: their frames must reach a final state before the pins go.
  while (in_flight_ > 0) {
    const Status reaped = Reap(/*min_completions=*/in_flight_, std::nullopt);
    IODEPTH_CHECK(reaped.ok(), "a read stream could not reap its reads while closing");
  }
  for (const Entry& entry : entries_) {
    if (entry.kind != Kind::kPending) manager_.Unpin(entry.frame);
  }
}

void ReadStream::NoteInFlightChange(int64_t now_ns) {
  stats_.in_flight_area_ns += static_cast<double>(in_flight_) * static_cast<double>(now_ns - last_change_ns_);
  last_change_ns_ = now_ns;
}

bool ReadStream::LookAheadHasRoom() const {
  if (entries_.size() >= max_pinned_) return false;
  // The adaptive distance also bounds the pages looked ahead, so a stream of hits (which
  // costs no reads) shrinks its pins along with its distance.
  if (options_.policy == ReadStreamPolicy::kAdaptive &&
      entries_.size() >= size_t{kPinsPerRead} * distance_ * combine_pages_) {
    return false;
  }
  // Room for the pending read (or a new one) to be issued.
  return in_flight_ < distance_;
}

Result<bool> ReadStream::AddPage(uint64_t page) {
  const PinResult pin = manager_.Pin(file_, page);
  if (pin.outcome != PinOutcome::kMiss) {
    // A hit ends the pending read even when adjacent to it: the pending entries must stay
    // the newest ones (IssuePending finds them there), so that read is issued first.
    if (pending_pages_ > 0) {
      const Status issued = IssuePending(/*force=*/false);
      if (!issued.ok() || pending_pages_ > 0) {
        manager_.Unpin(pin.frame);
        if (!issued.ok()) return issued;
        return false;
      }
    }
    entries_.push_back(Entry{.page = page, .frame = pin.frame, .kind = Kind::kHit});
    AdaptOnHit();
    return true;
  }
  const bool extends = pending_pages_ > 0 && page == pending_first_ + pending_pages_ && pending_pages_ < combine_;
  if (!extends) {
    pending_first_ = page;
    pending_pages_ = 0;
  }
  entries_.push_back(Entry{.page = page, .frame = 0, .kind = Kind::kPending});
  ++pending_pages_;
  return true;
}

Status ReadStream::Fill() {
  while (LookAheadHasRoom()) {
    std::optional<uint64_t> page;
    if (stashed_) {
      page = std::exchange(stashed_, std::nullopt);
    } else if (!source_done_) {
      page = source_();
      source_done_ = !page;
    }
    if (!page) break;
    // A page that cannot join the pending read ends it: issue that read first, so the
    // entries stay in source order. If it cannot all be issued yet, or that fails, keep
    // the page: it was taken from the source and must not be lost.
    const bool adjacent = pending_pages_ > 0 && *page == pending_first_ + pending_pages_;
    if (pending_pages_ > 0 && (!adjacent || pending_pages_ >= combine_)) {
      const Status issued = IssuePending(/*force=*/false);
      if (!issued.ok() || pending_pages_ > 0) {
        stashed_ = page;
        IODEPTH_RETURN_IF_ERROR(issued);
        break;
      }
    }
    const Result<bool> added = AddPage(*page);
    if (!added.has_value() || !*added) {
      stashed_ = page;
      if (!added.has_value()) return added.error();
      break;
    }
  }
  // Like read_stream.c, a pending read that could still grow waits for the next Fill:
  // issuing it now, because one page was consumed, would shrink every read to one page.
  // It goes now when full, when the source has ended, or when nothing else is pinned.
  const bool ended = source_done_ && !stashed_;
  if (pending_pages_ > 0 && (pending_pages_ >= combine_ || ended || entries_.size() == pending_pages_)) {
    IODEPTH_RETURN_IF_ERROR(IssuePending(/*force=*/false));
  }
  if (queue_.prepared() > 0) {
    IODEPTH_RETURN_IF_ERROR(SubmitPrepared());
    NoteInFlightChange(NowNs());
  }
  return Status::OK();
}

Status ReadStream::SubmitPrepared() {
  if (queue_.prepared() == 0) return Status::OK();
  const IoQueueStats& queue_stats = queue_.stats();
  const uint64_t inline_before = queue_stats.inline_completions;
  const int64_t submit_ns_before = queue_stats.submit_ns;
  const Result<uint32_t> submitted = queue_.Submit();
  if (!submitted.has_value()) return submitted.error();
  const uint64_t inline_completions = queue_stats.inline_completions - inline_before;
  stats_.inline_completions += inline_completions;
  // Reads completed inside the submitting call (a buffered io_uring read of cached pages is
  // copied there) cost the consumer their time as surely as a wait does, so that time, as
  // the queue timed it, counts as waiting; inside Next()'s wait it is timed already.
  //
  // Unlike PostgreSQL 19 the read-ahead distance does not grow for them: an inline read
  // runs on this thread whatever the depth, so more of them in flight only pin more pages
  // (measured: buffered bm_seq_read adaptive fell to 0.87-0.91x of the best fixed distance
  // with that rule, docs/BENCHMARKS.md).
  if (inline_completions == 0) return Status::OK();
  if (!waiting_) stats_.wait_ns += queue_stats.submit_ns - submit_ns_before;
  // Take the finished reads now (their completions are already in the queue: no system
  // call), so their pages are valid before the consumer reaches them. Left for a later
  // reap, the consumer would find its head page still being read, count a wait, and the
  // read-ahead distance would grow for reads that never kept anyone waiting (measured:
  // buffered adaptive streams settled at a distance of 23-24 where 1 is best).
  return Reap(/*min_completions=*/0, std::chrono::nanoseconds(0));
}

Status ReadStream::StartRead(const ReadRun& run) {
  IODEPTH_CHECK(!free_reads_.empty(), "more reads than the stream's distance");
  const uint32_t tag = free_reads_.back();
  IoRequest request;
  request.op = IoOp::kRead;
  request.file = &file_;
  request.offset = pending_first_ * manager_.page_bytes();
  request.buffer = manager_.FrameData(run.first_frame, run.pages);
  request.tag = tag;
  const Status prepared = queue_.Prepare(request);
  if (!prepared.ok()) {
    manager_.FinishRead(run, pending_first_, prepared, 0);
    return prepared;
  }
  free_reads_.pop_back();
  reads_[tag] = Read{.first_page = pending_first_, .run = run, .busy = true};
  NoteInFlightChange(NowNs());
  ++in_flight_;
  ++stats_.reads;
  stats_.misses += run.pages;
  stats_.read_bytes += uint64_t{run.pages} * manager_.page_bytes();
  ++stats_.reads_by_pages[run.pages];
  pages_per_read_ewma_ = Ewma(pages_per_read_ewma_, run.pages);
  AdaptOnRead();
  // Hand each read to the device the moment it exists, as fio does by default
  // (iodepth_batch_submit=1): holding reads back to submit several at once cost about
  // 15% of random-read throughput on virtio (docs/BENCHMARKS.md, qd suite).
  return SubmitPrepared();
}

Status ReadStream::ResolveResidentPending() {
  // The first pending page was mapped by someone else since we looked: pin theirs.
  Entry& entry = entries_[entries_.size() - pending_pages_];
  const PinResult pin = manager_.Pin(file_, pending_first_);
  if (pin.outcome == PinOutcome::kMiss) return Status::OK();  // Evicted again meanwhile: retry the read.
  entry.frame = pin.frame;
  entry.kind = Kind::kHit;
  ++pending_first_;
  --pending_pages_;
  return Status::OK();
}

Status ReadStream::IssuePending(bool force) {
  while (pending_pages_ > 0 && (in_flight_ < distance_ || (force && in_flight_ < options_.distance))) {
    const Result<ReadRun> run = manager_.BeginRead(file_, pending_first_, pending_pages_, options_.ring);
    if (!run.has_value()) {
      // No frame free: if reads or pins of ours will free some, wait for the consumer.
      const bool holds_frames = in_flight_ > 0 || entries_.size() > pending_pages_;
      if (run.error().code() == StatusCode::kResourceExhausted && holds_frames && !force) return Status::OK();
      return run.error();
    }
    if (run->pages == 0) {
      IODEPTH_RETURN_IF_ERROR(ResolveResidentPending());
      continue;
    }
    const size_t first_entry = entries_.size() - pending_pages_;
    for (uint32_t i = 0; i < run->pages; ++i) {
      entries_[first_entry + i].frame = run->first_frame + i;
      entries_[first_entry + i].kind = Kind::kRead;
    }
    // Started or not, these entries are no longer pending: a read that could not be
    // queued has failed its pages with its error, which Next() returns at their positions.
    // (Leaving them counted as pending would map them again over the pinned entries.)
    const Status started = StartRead(*run);
    pending_first_ += run->pages;
    pending_pages_ -= run->pages;
    started.IgnoreError();
  }
  return Status::OK();
}

Status ReadStream::Reap(uint32_t min_completions, std::optional<std::chrono::nanoseconds> timeout) {
  IODEPTH_RETURN_IF_ERROR(SubmitPrepared());
  const Result<uint32_t> reaped = queue_.Reap(completions_, min_completions, timeout);
  if (!reaped.has_value()) return reaped.error();
  pages_since_reap_ = 0;
  const int64_t now = NowNs();
  if (*reaped > 0) NoteInFlightChange(now);
  for (uint32_t i = 0; i < *reaped; ++i) {
    const IoCompletion& c = completions_[i];
    Read& read = reads_[c.tag];
    IODEPTH_CHECK(read.busy, "completion for a read slot that is not in flight");
    manager_.FinishRead(read.run, read.first_page, c.status, c.bytes_done);
    const int64_t latency = c.completed_ns - c.submitted_ns;
    const auto latency_ns = static_cast<uint64_t>(std::max<int64_t>(latency, 0));
    stats_.read_latency_ns.Record(latency_ns);
    for (uint32_t p = 0; p < read.run.pages; ++p) stats_.page_latency_ns.Record(latency_ns);
    latency_ewma_ns_ = Ewma(latency_ewma_ns_, static_cast<double>(latency));
    read.busy = false;
    free_reads_.push_back(static_cast<uint32_t>(c.tag));
    --in_flight_;
  }
  return Status::OK();
}

Status ReadStream::WaitForHead(const Entry& head) {
  if (head.kind == Kind::kPending) {
    // Only the newest entries are pending, so the oldest being pending means nothing
    // older holds a read of ours: issue it regardless of the distance, then submit.
    IODEPTH_RETURN_IF_ERROR(IssuePending(/*force=*/true));
    IODEPTH_CHECK(head.kind != Kind::kPending, "the oldest entry stayed unissued");
    return Reap(/*min_completions=*/0, std::chrono::nanoseconds(0));
  }
  // Our own read: reap until it is done (completions come in any order). Someone
  // else's read (or ours, looked up as a hit on a page we were reading): wait for it,
  // completing our own reads meanwhile, or just sleep when we have none.
  std::function<Status()> progress;
  if (in_flight_ > 0) {
    const bool ours = head.kind == Kind::kRead;
    progress = [this, ours]() -> Status {
      if (in_flight_ == 0) return Status::OK();
      IODEPTH_RETURN_IF_ERROR(ours ? Reap(/*min_completions=*/1, std::nullopt)
                                   : Reap(/*min_completions=*/1, kForeignWaitSlice));
      // Reads after the head may have finished first: reuse their slots at once, or the
      // depth sags while the head is late. A failure here belongs to a later page; the
      // next Fill() meets it again.
      Fill().IgnoreError();
      return Status::OK();
    };
  }
  return manager_.WaitForRead(head.frame, progress);
}

void ReadStream::AdaptOnRead() {
  if (options_.policy != ReadStreamPolicy::kAdaptive) return;
  // Combine distance: any I/O says the next pages are likely misses too, so gather more of
  // them per read, up to io_combine. It costs no depth, only look-ahead.
  combine_ = std::min(combine_pages_, combine_ * 2);
  // Hold the decay off for a window's worth of pages: hits between reads of a stream that
  // still misses must not shrink the distance its reads need.
  decay_holdoff_pages_ = distance_ * combine_;
}

void ReadStream::AdaptOnHit() {
  if (options_.policy != ReadStreamPolicy::kAdaptive) return;
  if (decay_holdoff_pages_ > 0) {
    --decay_holdoff_pages_;
    return;
  }
  // A run of hits longer than the hold-off: the stream is cached, needs no depth.
  if (distance_ > 1) --distance_;
  if (distance_ == 1) combine_ = 1;
}

void ReadStream::AdaptOnConsume(bool waited, int64_t called_ns) {
  if (options_.policy != ReadStreamPolicy::kAdaptive) return;
  // A cached stream at its floor: nothing to learn, nothing to change.
  if (!waited && in_flight_ == 0 && distance_ == 1) return;
  if (last_return_ns_ > 0 && called_ns > 0) {
    // What the consumer did with the previous page, between our return and this call.
    consume_ewma_ns_ = Ewma(consume_ewma_ns_, static_cast<double>(std::max<int64_t>(called_ns - last_return_ns_, 1)));
  }
  const uint32_t most = options_.distance;
  if (waited) {
    // Read-ahead distance: only a consumer that waited shows the reads in flight were too
    // few to hide the latency.
    distance_ = std::min(most, distance_ * 2);
    pages_since_wait_ = 0;
  } else {
    ++pages_since_wait_;
  }
  // The latency floor (Little's law: reads in flight = latency / time per read consumed)
  // holds only while reads are in flight. With none there is no latency to hide, and the
  // estimates of the last reads must not hold the distance up: a stream whose reads all
  // complete inside their submission (buffered, from the page cache) never waits and
  // never has a read in flight, and decays to 1 like a cached one.
  uint32_t need = 1;
  if (in_flight_ > 0 && latency_ewma_ns_ > 0 && consume_ewma_ns_ > 0) {
    const double need_reads =
        std::ceil(latency_ewma_ns_ / (consume_ewma_ns_ * std::max(pages_per_read_ewma_, 1.0))) + 1;
    need = static_cast<uint32_t>(std::clamp(need_reads, 1.0, static_cast<double>(most)));
  }
  if (need > distance_) {
    distance_ = need;
  } else if (distance_ > need && pages_since_wait_ >= uint64_t{distance_} * combine_) {
    --distance_;
    pages_since_wait_ = 0;
  }
}

void ReadStream::ResetStats() {
  const size_t sizes = stats_.reads_by_pages.size();
  stats_ = ReadStreamStats{};
  stats_.reads_by_pages.assign(sizes, 0);
  last_change_ns_ = NowNs();
}

Result<std::optional<PageGuard>> ReadStream::Next() {
  // The clock is read only when it is needed: a fetch that hits costs tens of
  // nanoseconds, and a clock read about twenty. The adaptive controller needs the
  // consumer's time per page only while reads are in flight (with none, there is no
  // latency to hide), and a wait is timed when it happens.
  const bool timing = options_.policy == ReadStreamPolicy::kAdaptive && in_flight_ > 0;
  const int64_t called_ns = timing ? NowNs() : 0;
  // Reads finish in any order, and the consumer only waits (and so reaps) for the oldest.
  // Reap what is done about once per read's worth of pages, without blocking, so finished
  // reads free their slots for new ones while the consumer works: the device keeps its
  // depth, at one system call per read rather than per page.
  if (in_flight_ > 0 && ++pages_since_reap_ >= pages_per_read_ewma_) {
    IODEPTH_RETURN_IF_ERROR(Reap(/*min_completions=*/0, std::chrono::nanoseconds(0)));
  }
  IODEPTH_RETURN_IF_ERROR(Fill());
  if (entries_.empty()) return std::optional<PageGuard>();
  const Entry& head = entries_.front();
  const bool waited = head.kind == Kind::kPending || !manager_.IsValid(head.frame);
  Status ready;
  if (waited) {
    const int64_t wait_start_ns = NowNs();
    waiting_ = true;
    while (ready.ok() && (head.kind == Kind::kPending || !manager_.IsValid(head.frame))) ready = WaitForHead(head);
    waiting_ = false;
    stats_.wait_ns += NowNs() - wait_start_ns;
    ++stats_.consumer_waits;
  }
  if (!ready.ok() && head.kind == Kind::kPending) return ready;  // Could not even start the read.
  // `head` dies with pop_front(): keep what is needed of it.
  const uint32_t frame = head.frame;
  const bool hit = head.kind == Kind::kHit;
  entries_.pop_front();
  if (!ready.ok()) {
    // The page's read failed: its error takes the page's place; the stream goes on.
    manager_.Unpin(frame);
    return ready;
  }
  ++stats_.pages;
  // Counted as the consumer takes the page, like `pages`, so hits <= pages always.
  if (hit) ++stats_.hits;
  stats_.distance_sum += distance_;
  stats_.combine_sum += combine_;
  stats_.pinned_sum += entries_.size();
  AdaptOnConsume(waited, called_ns);
  // Start the reads after this page before handing it over. A failure here belongs to a
  // later page, not this one (returning it would drop this page and leak its pin): the
  // next call's Fill() meets it again and reports it there.
  Fill().IgnoreError();
  last_return_ns_ = options_.policy == ReadStreamPolicy::kAdaptive && in_flight_ > 0 ? NowNs() : 0;
  return std::optional<PageGuard>(manager_.AdoptPin(frame));
}

}  // namespace iodepth
