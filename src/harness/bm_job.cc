#include "harness/bm_job.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <latch>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "buffer/buffer_manager.h"
#include "common/clock.h"
#include "common/enum_names.h"
#include "harness/window_counters.h"
#include "storage/page.h"

namespace iodepth {

namespace {

__extension__ using Uint128 = unsigned __int128;

// In the hot regime a fetch takes tens of nanoseconds, so the clock is read only every
// this many fetches there; elsewhere every fetch may wait for the device and is timed.
constexpr uint64_t kHotClockStride = 256;

// One consumer's share of a bm job and where its window lies: the pages it asks for
// ([first_page, first_page + pages)), its seed, the time its ramp starts, and whether it
// reads the process's counters itself (the only consumer) or leaves them to
// RunConsumers; `abort` (a consumer of several) ends its loop at the next clock read.
struct Consumer {
  uint64_t first_page = 0;
  uint64_t pages = 0;
  uint64_t seed = 1;
  int64_t start_ns = 0;
  bool own_counters = true;
  const std::atomic<bool>* abort = nullptr;
  int64_t window_start_ns = 0;  // Out: when its window opened.
};

// The page numbers a consumer asks for, in order. Two copies for the same consumer give
// the same sequence: one feeds the stream, the other says which page each fetch must be.
class PageSequence {
 public:
  PageSequence(const BmSpec& spec, const Consumer& c)
      : random_(spec.random), first_(c.first_page), pages_(c.pages), rng_(c.seed) {}
  uint64_t Next() {
    if (random_) return first_ + static_cast<uint64_t>((static_cast<Uint128>(rng_()) * pages_) >> 64);
    const uint64_t page = next_;
    next_ = next_ + 1 == pages_ ? 0 : next_ + 1;
    return first_ + page;
  }

 private:
  bool random_;
  uint64_t first_;
  uint64_t pages_;
  uint64_t next_ = 0;
  std::mt19937_64 rng_;
};

bool Aborted(const Consumer& c) { return c.abort != nullptr && c.abort->load(std::memory_order_relaxed); }

// bm_rand_rw: which fetches update their page (a draw from the seed per fetch), and the
// update count each page must carry when it is fetched again.
class PageUpdater {
 public:
  PageUpdater(const BmSpec& spec, uint64_t pages)
      : spec_(spec), rng_(spec.seed ^ 0xA24BAED4963EE407ull), counts_(spec.update_fraction > 0 ? pages : 0, kUnknown) {}

  bool enabled() const { return spec_.update_fraction > 0; }

  // Checks the page against the count this job last gave it (a page not seen yet is
  // taken as it is: an earlier run may have updated it), then updates it when drawn.
  // Returns whether it updated the page.
  Result<bool> Visit(const PageGuard& guard, uint64_t page_no) {
    uint64_t& count = counts_[page_no];
    const uint64_t on_page = PageLsn(guard.data());
    if (count != kUnknown && on_page != count) {
      return Status::Corruption(fmt::format(
          "page {} of {} carries update {}, but this run last wrote update {} to it: a write-back was lost or a "
          "stale page was read",
          page_no, spec_.table_path, on_page, count));
    }
    // 53 random bits as a fraction in [0, 1): the same draws on every machine.
    const double draw = static_cast<double>(rng_() >> 11) * 0x1.0p-53;
    if (draw >= spec_.update_fraction) {
      count = on_page;
      return false;
    }
    ApplyTableUpdate(guard.mutable_data(), spec_.shape, page_no);
    guard.MarkDirty();
    count = on_page + 1;
    return true;
  }

 private:
  static constexpr uint64_t kUnknown = UINT64_MAX;
  const BmSpec& spec_;
  std::mt19937_64 rng_;
  std::vector<uint64_t> counts_;
};

Status ValidateBmSpec(const BmSpec& spec, uint64_t table_pages, uint64_t working_set_pages) {
  IODEPTH_RETURN_IF_ERROR(ValidateTableShape(spec.shape));
  if (!(spec.update_fraction >= 0 && spec.update_fraction <= 1)) {
    return Status::InvalidArgument(
               fmt::format("update fraction {} is outside 0..1 (0.1: one fetch in ten updates its page)",
                           spec.update_fraction))
        .WithSetting("update_fraction");
  }
  if (spec.update_fraction > 0 && !spec.random) {
    return Status::InvalidArgument("updates are defined for random page reads (bm_rand_rw) only")
        .WithSetting("update_fraction");
  }
  if (spec.writeback_depth > IoQueue::kMaxDepth) {
    return Status::InvalidArgument(
               fmt::format("write-back depth {} is out of range 0..{}", spec.writeback_depth, IoQueue::kMaxDepth))
        .WithSetting("writeback_depth");
  }
  if (spec.runtime_ns <= 0) return Status::InvalidArgument("a bm job needs a runtime above 0").WithSetting("runtime");
  if (spec.jobs == 0 || spec.jobs > kMaxJobs) {
    return Status::InvalidArgument(fmt::format("{} consumers: give 1 to {}", spec.jobs, kMaxJobs))
        .WithSetting("numjobs");
  }
  if (spec.jobs > 1 && spec.update_fraction > 0) {
    return Status::InvalidArgument("updates (bm_rand_rw) run one consumer; several consumers are for page reads")
        .WithSetting("numjobs");
  }
  if (spec.jobs > 1 && !spec.random && working_set_pages < spec.jobs) {
    return Status::InvalidArgument(fmt::format("{} sequential consumers each scan their own part of the working set, "
                                               "and its {} pages leave less than one each; give fewer consumers",
                                               spec.jobs, working_set_pages))
        .WithSetting("numjobs");
  }
  if (spec.distance < 1 || spec.distance > IoQueue::kMaxDepth) {
    return Status::InvalidArgument(fmt::format("distance {} is out of range 1..{}", spec.distance, IoQueue::kMaxDepth));
  }
  if (spec.sync_path && spec.distance != 1) {
    return Status::InvalidArgument("the sync path reads one page at a time: use distance (qd) 1 with it");
  }
  if (working_set_pages > table_pages) {
    return Status::InvalidArgument(fmt::format(
        "the {} needs a working set of {} pages but the table {} has {}; load a larger table or lower the "
        "memory budget",
        spec.working_set_bytes ? std::string("working set asked") : fmt::format("{} regime", RegimeName(spec.regime)),
        working_set_pages, spec.table_path, table_pages));
  }
  return Status::OK();
}

// Checks that a fetched page is the one asked for, and with `verify` every value in it.
Status CheckFetchedPage(const BmSpec& spec, std::span<const std::byte> page, uint64_t expected_page) {
  if (PageId(page) != expected_page) {
    return Status::Corruption(
        fmt::format("asked for page {} of {} and got page {}", expected_page, spec.table_path, PageId(page)));
  }
  if (!spec.verify) return Status::OK();
  return CheckTablePage(page, spec.shape, expected_page, spec.table_path);
}

// The measured window: ramp first, then runtime; a fetch counts if it returns inside.
struct Window {
  int64_t ramp_end_ns = 0;
  int64_t end_ns = 0;
  bool open = false;
};

void FinishWindow(const BmSpec& spec, const Consumer& c, BmResult& result, const WindowSample& opened,
                  const BufferManager& pool, const BufferStats& pool_opened) {
  result.job.window_ns = NowNs() - c.window_start_ns;
  if (c.own_counters) CloseWindowCounters(opened, spec.device, result.job);
  result.job.bytes = result.job.ios * result.buffer.page_bytes;
  result.buffer.fetches = result.job.ios;
  const BufferStats now = pool.stats();
  result.buffer.pages_written = now.writebacks - pool_opened.writebacks;
  result.buffer.background_writebacks = now.background_writebacks - pool_opened.background_writebacks;
  result.buffer.evictor_writebacks = now.evictor_writebacks - pool_opened.evictor_writebacks;
  result.buffer.dirty_victims_queued = now.dirty_victims_queued - pool_opened.dirty_victims_queued;
}

// bm_rand_rw's end: every dirty page written (the background writer's queue first), so
// the table on disk holds what this run gave it. Not timed.
Status WriteBackAll(BufferManager& pool, IoQueue* queue) {
  IODEPTH_RETURN_IF_ERROR(pool.DrainBackgroundWriter());
  return pool.FlushAll(queue);
}

Result<std::unique_ptr<IoQueue>> MakeStreamQueue(const BmSpec& spec, const BufferManager& pool, JobResult& job) {
  IoQueueOptions options = spec.queue;
  options.depth = spec.distance;
  // The pool's arena is registered as fixed buffers with io_uring, as an engine would:
  // no per-read page pinning in the kernel.
  options.uring_fixed_buffers = true;
  std::string notice;
  IODEPTH_ASSIGN_OR_RETURN(std::unique_ptr<IoQueue> queue, MakeIoQueue(options, &notice));
  if (!notice.empty()) job.notices.push_back(notice);
  const Status registered = pool.RegisterWith(*queue);
  if (registered.ok()) return queue;
  job.notices.push_back(fmt::format("fixed buffers not used: {}", registered.message()));
  options.uring_fixed_buffers = false;
  return MakeIoQueue(options);
}

// The stream path: one ReadStream keeps up to `distance` reads in flight.
Status RunStreamLoop(const BmSpec& spec, BufferManager& pool, File& file, Consumer& c, BmResult& result) {
  IODEPTH_ASSIGN_OR_RETURN(std::unique_ptr<IoQueue> queue, MakeStreamQueue(spec, pool, result.job));
  result.job.backend = std::string(queue->backend_name());
  result.job.backend_features = queue->features();
  PageSequence source(spec, c);
  PageSequence expected(spec, c);
  const ReadStreamOptions options{.policy = spec.policy,
                                  .distance = spec.distance,
                                  .io_combine_bytes = spec.io_combine_bytes,
                                  .max_pinned_pages = 0};
  IODEPTH_ASSIGN_OR_RETURN(
      std::unique_ptr<ReadStream> stream,
      ReadStream::Create(
          pool, *queue, file, [&source]() -> std::optional<uint64_t> { return source.Next(); }, options));
  Window window{.ramp_end_ns = c.start_ns + spec.ramp_ns, .end_ns = c.start_ns + spec.ramp_ns + spec.runtime_ns};
  const uint64_t stride = spec.regime == Regime::kHot ? kHotClockStride : 1;
  WindowSample opened;
  BufferStats pool_opened;
  IoQueueStats queue_start;
  PageUpdater updater(spec, c.pages);
  for (uint64_t n = 0;; ++n) {
    if (n % stride == 0) {
      const int64_t now = NowNs();
      if (!window.open && now >= window.ramp_end_ns) {
        window.open = true;
        c.window_start_ns = now;
        if (c.own_counters) opened = SampleWindow(spec.device);
        pool_opened = pool.stats();
        queue_start = queue->stats();
        stream->ResetStats();
      }
      if (now >= window.end_ns || Aborted(c)) break;
    }
    IODEPTH_ASSIGN_OR_RETURN(std::optional<PageGuard> page, stream->Next());
    const uint64_t page_no = expected.Next();
    IODEPTH_RETURN_IF_ERROR(CheckFetchedPage(spec, page->data(), page_no));
    bool updated = false;
    if (updater.enabled()) {
      IODEPTH_ASSIGN_OR_RETURN(updated, updater.Visit(*page, page_no));
    }
    if (window.open) {
      ++result.job.ios;
      if (updated) ++result.buffer.updates;
      if (spec.verify) result.job.verified_bytes += page->data().size();
    }
  }
  FinishWindow(spec, c, result, opened, pool, pool_opened);
  const ReadStreamStats& s = stream->stats();
  result.job.clat_ns = s.read_latency_ns;
  result.job.queue_stats = queue->stats() - queue_start;
  result.job.mean_in_flight =
      result.job.window_ns > 0 ? s.in_flight_area_ns / static_cast<double>(result.job.window_ns) : 0;
  BmStats& b = result.buffer;
  b.policy = std::string(ReadStreamPolicyName(spec.policy));
  b.hits = s.hits;
  b.misses = s.misses;
  b.reads = s.reads;
  b.read_bytes = s.read_bytes;
  b.reads_by_pages = s.reads_by_pages;
  b.consumer_waits = s.consumer_waits;
  b.wait_ns = s.wait_ns;
  const double fetched = static_cast<double>(s.pages);
  b.mean_distance = s.pages > 0 ? static_cast<double>(s.distance_sum) / fetched : 0;
  b.mean_combine_pages = s.pages > 0 ? static_cast<double>(s.combine_sum) / fetched : 0;
  b.mean_pinned_pages = s.pages > 0 ? static_cast<double>(s.pinned_sum) / fetched : 0;
  stream.reset();  // Completes its reads and drops its pins before the queue goes.
  return updater.enabled() ? WriteBackAll(pool, queue.get()) : Status::OK();
}

// The sync path: BufferManager::Fetch, one pread per miss.
Status RunSyncLoop(const BmSpec& spec, BufferManager& pool, File& file, Consumer& c, BmResult& result) {
  result.job.backend = "sync";
  PageSequence sequence(spec, c);
  Window window{.ramp_end_ns = c.start_ns + spec.ramp_ns, .end_ns = c.start_ns + spec.ramp_ns + spec.runtime_ns};
  const bool timed = spec.regime != Regime::kHot;
  WindowSample opened;
  BufferStats pool_opened;
  PageUpdater updater(spec, c.pages);
  BmStats& b = result.buffer;
  b.policy = "sync";
  b.reads_by_pages.assign(2, 0);
  for (uint64_t n = 0;; ++n) {
    if (timed || n % kHotClockStride == 0) {
      const int64_t now = NowNs();
      if (!window.open && now >= window.ramp_end_ns) {
        window.open = true;
        c.window_start_ns = now;
        if (c.own_counters) opened = SampleWindow(spec.device);
        pool_opened = pool.stats();
      }
      if (now >= window.end_ns || Aborted(c)) break;
    }
    const uint64_t page_no = sequence.Next();
    const int64_t before = timed ? NowNs() : 0;
    bool did_read = false;
    IODEPTH_ASSIGN_OR_RETURN(PageGuard page, pool.Fetch(file, page_no, &did_read));
    if (window.open) {
      ++result.job.ios;
      if (did_read) {
        const int64_t took = NowNs() - before;
        result.job.clat_ns.Record(static_cast<uint64_t>(took));
        ++b.misses;
        ++b.reads;
        ++b.reads_by_pages[1];
        ++b.consumer_waits;
        b.wait_ns += took;
      } else {
        ++b.hits;
      }
    }
    IODEPTH_RETURN_IF_ERROR(CheckFetchedPage(spec, page.data(), page_no));
    bool updated = false;
    if (updater.enabled()) {
      IODEPTH_ASSIGN_OR_RETURN(updated, updater.Visit(page, page_no));
    }
    if (window.open && updated) ++b.updates;
    if (window.open && spec.verify) result.job.verified_bytes += page.data().size();
  }
  FinishWindow(spec, c, result, opened, pool, pool_opened);
  b.read_bytes = b.misses * pool.page_bytes();
  b.mean_distance = 1;
  // One read at a time, in flight exactly while the consumer waits for it.
  result.job.mean_in_flight =
      result.job.window_ns > 0 ? static_cast<double>(b.wait_ns) / static_cast<double>(result.job.window_ns) : 0;
  return updater.enabled() ? WriteBackAll(pool, nullptr) : Status::OK();
}

Status RunConsumer(const BmSpec& spec, BufferManager& pool, File& file, Consumer& c, BmResult& result) {
  return spec.sync_path ? RunSyncLoop(spec, pool, file, c, result) : RunStreamLoop(spec, pool, file, c, result);
}

// Adds one consumer's figures to the group's (bm_job.h, "Several consumers").
void AddConsumer(BmResult& group, const BmResult& one) {
  AddGroupMember(group.job, one.job);
  BmStats& g = group.buffer;
  const BmStats& b = one.buffer;
  const auto weighted = [&](double group_mean, double mean) {
    const double total = static_cast<double>(g.fetches + b.fetches);
    return total > 0 ? (group_mean * static_cast<double>(g.fetches) + mean * static_cast<double>(b.fetches)) / total
                     : 0.0;
  };
  g.mean_distance = weighted(g.mean_distance, b.mean_distance);
  g.mean_combine_pages = weighted(g.mean_combine_pages, b.mean_combine_pages);
  g.mean_pinned_pages = weighted(g.mean_pinned_pages, b.mean_pinned_pages);
  g.policy = b.policy;
  g.fetches += b.fetches;
  g.hits += b.hits;
  g.misses += b.misses;
  g.reads += b.reads;
  g.read_bytes += b.read_bytes;
  if (g.reads_by_pages.size() < b.reads_by_pages.size()) g.reads_by_pages.resize(b.reads_by_pages.size(), 0);
  for (size_t i = 0; i < b.reads_by_pages.size(); ++i) g.reads_by_pages[i] += b.reads_by_pages[i];
  g.consumer_waits += b.consumer_waits;
  g.wait_ns += b.wait_ns;
}

// spec.jobs consumers over one pool at once (bm_job.h, "Several consumers"). `base` holds
// the figures every consumer shares (the pool's and the file's).
Result<BmResult> RunConsumers(const BmSpec& spec, BufferManager& pool, File& file, uint64_t pages,
                              const BmResult& base) {
  const uint32_t n = spec.jobs;
  std::atomic<bool> abort{false};
  std::latch ready(n + 1);  // Every consumer started, and this thread.
  std::latch done(n);       // Every consumer's loop ended.
  std::vector<Consumer> consumers(n);
  std::vector<BmResult> results(n, base);
  std::vector<Status> statuses(n);
  const uint64_t slice = pages / n;
  for (uint32_t i = 0; i < n; ++i) {
    consumers[i] = Consumer{.first_page = spec.random ? 0 : i * slice,
                            .pages = spec.random ? pages : slice,
                            .seed = spec.seed + (spec.random ? i : 0),
                            .own_counters = false,
                            .abort = &abort};
  }
  const int64_t start_ns = NowNs();
  for (Consumer& c : consumers) c.start_ns = start_ns;
  JobResult counters;
  {
    std::vector<std::jthread> threads;
    threads.reserve(n);
    for (uint32_t i = 0; i < n; ++i) {
      threads.emplace_back([&, i] {
        ready.arrive_and_wait();
        statuses[i] = RunConsumer(spec, pool, file, consumers[i], results[i]);
        if (!statuses[i].ok()) abort.store(true);
        done.count_down();
      });
    }
    // The process's counters around the consumers' windows: read when the ramp ends (each
    // consumer opens its window at its first clock read after it) and when the last ends.
    ready.arrive_and_wait();
    while (NowNs() < start_ns + spec.ramp_ns && !abort.load()) {
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    const WindowSample opened = SampleWindow(spec.device);
    done.wait();
    CloseWindowCounters(opened, spec.device, counters);
  }
  for (const Status& status : statuses) IODEPTH_RETURN_IF_ERROR(status);
  BmResult group = base;
  group.job.backend = results.front().job.backend;
  group.job.backend_features = results.front().job.backend_features;
  int64_t first_open = INT64_MAX;
  int64_t last_close = 0;
  for (uint32_t i = 0; i < n; ++i) {
    AddConsumer(group, results[i]);
    first_open = std::min(first_open, consumers[i].window_start_ns);
    last_close = std::max(last_close, consumers[i].window_start_ns + results[i].job.window_ns);
  }
  group.job.window_ns = last_close - first_open;
  group.job.cpu = counters.cpu;
  group.job.device = counters.device;
  return group;
}

// Hot regime: every page of the working set fetched once, untimed, so the run only hits.
Status WarmPool(BufferManager& pool, File& file, uint64_t pages) {
  for (uint64_t page = 0; page < pages; ++page) {
    IODEPTH_ASSIGN_OR_RETURN(PageGuard guard, pool.Fetch(file, page));
  }
  return Status::OK();
}

constexpr EnumName<Regime> kRegimeNames[] = {
    {Regime::kHot, "hot"}, {Regime::kPressure, "pressure"}, {Regime::kThrash, "thrash"}};

}  // namespace

std::string_view RegimeName(Regime regime) { return NameOf(kRegimeNames, regime); }

Result<Regime> ParseRegime(std::string_view name) { return ParseNamed(kRegimeNames, name, "regime", "regime"); }

double RegimeWorkingSetFactor(Regime regime) {
  switch (regime) {
    case Regime::kHot: return 0.5;
    case Regime::kPressure: return 1.5;
    case Regime::kThrash: return 4.0;
  }
  return 1.0;
}

uint64_t BmWorkingSetPages(const BmSpec& spec) {
  const double bytes = spec.working_set_bytes
                           ? static_cast<double>(spec.working_set_bytes)
                           : RegimeWorkingSetFactor(spec.regime) * static_cast<double>(spec.memory_bytes);
  const double pages = bytes / PageSizeBytes(spec.shape.page_size);
  return std::max<uint64_t>(1, static_cast<uint64_t>(std::llround(pages)));
}

Result<TablePool> OpenTablePool(const std::string& path, const TableShape& shape, CacheMode cache,
                                uint64_t memory_bytes, uint64_t warm_pages, const BackgroundWriterOptions& writer,
                                bool writable) {
  OpenOptions open;
  open.cache = cache;
  if (writable || writer.enabled) open.access = AccessMode::kReadWrite;
  TablePool opened;
  IODEPTH_ASSIGN_OR_RETURN(opened.file, File::Open(path, open));
  BufferManagerOptions options;
  options.page_bytes = PageSizeBytes(shape.page_size);
  options.memory_bytes = memory_bytes;
  options.background_writer = writer;
  options.verify = [](std::span<const std::byte> page, uint64_t page_no, const File& f) {
    return VerifyPage(page, page_no, f.path());
  };
  IODEPTH_ASSIGN_OR_RETURN(opened.pool, BufferManager::Create(options));
  IODEPTH_RETURN_IF_ERROR(WarmPool(*opened.pool, *opened.file, warm_pages));
  return opened;
}

Result<BmResult> RunBmJob(const BmSpec& spec) {
  const uint64_t pages = BmWorkingSetPages(spec);
  IODEPTH_RETURN_IF_ERROR(ValidateBmSpec(spec, TablePageCount(spec.shape), pages));
  const bool updates = spec.update_fraction > 0;
  // Marked before any page changes, so the table says it no longer holds the loaded values.
  if (updates) IODEPTH_RETURN_IF_ERROR(MarkTableUpdated(spec.table_path, spec.shape));
  BackgroundWriterOptions writer;
  writer.enabled = updates && spec.writeback_depth > 0;
  writer.queue = spec.queue;
  // The sync path reads one page at a time; its write-back may still run at depth.
  if (writer.queue.backend == Backend::kSync) writer.queue.backend = Backend::kWorker;
  writer.queue.depth = std::max<uint32_t>(spec.writeback_depth, 1);
  writer.queue.worker_threads = 0;
  IODEPTH_ASSIGN_OR_RETURN(TablePool opened,
                           OpenTablePool(spec.table_path, spec.shape, spec.cache, spec.memory_bytes,
                                         spec.regime == Regime::kHot ? pages : 0, writer, /*writable=*/updates));
  File* const file = opened.file.get();
  BufferManager* const pool = opened.pool.get();
  BmResult result;
  result.job.direct = file->direct();
  result.job.alignment = file->alignment();
  result.buffer.memory_bytes = spec.memory_bytes;
  result.buffer.working_set_bytes = pages * pool->page_bytes();
  result.buffer.page_bytes = pool->page_bytes();
  result.buffer.update_fraction = spec.update_fraction;
  result.buffer.writeback_depth = spec.writeback_depth;
  if (spec.jobs > 1) return RunConsumers(spec, *pool, *file, pages, result);
  Consumer only{.pages = pages, .seed = spec.seed, .start_ns = NowNs()};
  IODEPTH_RETURN_IF_ERROR(RunConsumer(spec, *pool, *file, only, result));
  return result;
}

}  // namespace iodepth
