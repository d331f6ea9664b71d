#include "harness/scan_job.h"

#include <algorithm>
#include <atomic>
#include <latch>
#include <thread>

#include <fmt/format.h>

#include "common/clock.h"
#include "common/enum_names.h"
#include "harness/window_counters.h"
#include "storage/page.h"

namespace iodepth {

namespace {

// The run's clock, shared by every scan thread: absolute times, fixed before they start.
struct ScanWindow {
  int64_t ramp_end_ns = 0;
  int64_t end_ns = 0;
};

// What one scan thread measured; written by that thread only, read after it is joined.
struct StreamState {
  ScanStreamResult result;
  ScanStats window_stats;  // Summed over the passes that reached the window.
  IoQueueStats queue_stats;
  std::unique_ptr<BufferRing> ring;  // The scan's own, across its passes; null under the clock.
  Status status;
  int64_t last_page_ns = 0;  // When the last page counted in the window was taken.
};

// Meter: between a SeqScan and the rest of the plan. It ends the pass when the run ends
// (or another scan failed), counts the pages and rows taken inside the window, and zeroes
// the scan's counters as the window opens, so they then cover the window only.
class Meter final : public Operator {
 public:
  Meter(std::unique_ptr<SeqScan> scan, const ScanWindow& window, const std::atomic<bool>& stop, StreamState& state)
      : scan_(std::move(scan)), window_(window), stop_(stop), state_(state) {}
  ~Meter() override {
    if (page_out_) state_.last_page_ns = NowNs();  // A pass given up on before its end.
  }
  Meter(const Meter&) = delete;
  Meter& operator=(const Meter&) = delete;

  Result<bool> Next(RowBatch& batch) override {
    const int64_t now = NowNs();
    // The page handed out last was done with by now: one clock read a page, not two (a
    // hot scan spent a tenth of its time reading the clock). A page asked for just before
    // the end may arrive after it; its wait is counted, so the window must stretch to it
    // (see RunScanJob), give or take the consumer's time on that one page.
    if (page_out_) {
      state_.last_page_ns = now;
      page_out_ = false;
    }
    if (now >= window_.end_ns || stop_.load(std::memory_order_relaxed)) {
      cut_ = true;
      return false;
    }
    if (!in_window_ && now >= window_.ramp_end_ns) {
      in_window_ = true;
      scan_->ResetStats();
    }
    IODEPTH_ASSIGN_OR_RETURN(const bool more, scan_->Next(batch));
    if (more && in_window_) {
      ++state_.result.pages;
      state_.result.rows += batch.rows;
      page_out_ = true;
    }
    return more;
  }

  const SeqScan& scan() const { return *scan_; }
  bool cut() const { return cut_; }
  bool in_window() const { return in_window_; }

 private:
  std::unique_ptr<SeqScan> scan_;
  const ScanWindow& window_;
  const std::atomic<bool>& stop_;
  StreamState& state_;
  bool cut_ = false;
  bool in_window_ = false;
  bool page_out_ = false;  // The last Next() handed out a page inside the window.
};

void AddScanStats(ScanStats& total, const ScanStats& pass) {
  total.pages += pass.pages;
  total.rows += pass.rows;
  total.hits += pass.hits;
  total.pages_read += pass.pages_read;
  total.reads += pass.reads;
  total.read_bytes += pass.read_bytes;
  total.wait_ns += pass.wait_ns;
  total.page_latency_ns.Merge(pass.page_latency_ns);
  total.read_latency_ns.Merge(pass.read_latency_ns);
  total.in_flight_area_ns += pass.in_flight_area_ns;
}

Result<std::unique_ptr<IoQueue>> MakeScanQueue(const ScanJobSpec& spec, const BufferManager& pool) {
  IoQueueOptions options = spec.queue;
  options.depth = spec.distance;
  options.uring_fixed_buffers = true;  // The pool's frames, as an engine would register them.
  IODEPTH_ASSIGN_OR_RETURN(std::unique_ptr<IoQueue> queue, MakeIoQueue(options));
  if (pool.RegisterWith(*queue).ok()) return queue;
  options.uring_fixed_buffers = false;  // The memlock limit refused them: plain reads.
  return MakeIoQueue(options);
}

// Sleeps until `deadline_ns`, waking early once a scan has failed (`stop`), so an error
// ends the run at once rather than after the whole runtime.
void SleepUntil(int64_t deadline_ns, const std::atomic<bool>& stop) {
  constexpr int64_t kSliceNs = 10'000'000;
  for (int64_t now = NowNs(); now < deadline_ns && !stop.load(); now = NowNs()) {
    std::this_thread::sleep_for(std::chrono::nanoseconds(std::min(deadline_ns - now, kSliceNs)));
  }
}

struct StreamPlan {
  uint32_t index = 0;
  uint64_t first_page = 0;
  uint64_t end_page = 0;
  QueryAnswer expected;
};

// A scan's read stream: each pins at most its share of half the pool (and at most the
// stream's own default), so S scans can never pin every frame between them.
ReadStreamOptions StreamOptions(const ScanJobSpec& spec, const BufferManager& pool, BufferRing* ring) {
  const uint32_t combine_pages = spec.io_combine_bytes / PageSizeBytes(spec.shape.page_size);
  const uint32_t share = std::max<uint32_t>(1, pool.capacity() / (2 * spec.streams));
  return ReadStreamOptions{.policy = spec.policy,
                           .distance = spec.distance,
                           .io_combine_bytes = spec.io_combine_bytes,
                           .max_pinned_pages = std::min(share, 2 * spec.distance * combine_pages),
                           .ring = ring};
}

// The ring of one scan: at least enough for its stream's pins and two reads; for share,
// the scan's share of the pool.
std::unique_ptr<BufferRing> MakeScanRing(const ScanJobSpec& spec, const BufferManager& pool, ScanStrategy strategy) {
  const ReadStreamOptions stream = StreamOptions(spec, pool, nullptr);
  const uint32_t least = BufferRing::PagesFor(pool.page_bytes(), ReadStream::PinLimit(stream, pool),
                                              spec.io_combine_bytes / pool.page_bytes(), pool.capacity());
  if (strategy == ScanStrategy::kRing) return std::make_unique<BufferRing>(least, RingOrder::kOldestFirst);
  return std::make_unique<BufferRing>(std::max(least, pool.capacity() / spec.streams), RingOrder::kNewestFirst);
}

// One pass over the stream's pages: runs the query and checks a complete pass's answer.
Status RunPass(const ScanJobSpec& spec, BufferManager& pool, File& file, IoQueue* queue, const StreamPlan& plan,
               const ScanWindow& window, const std::atomic<bool>& stop, StreamState& state) {
  const ScanOptions options{.mode = spec.mode, .stream = StreamOptions(spec, pool, state.ring.get())};
  IODEPTH_ASSIGN_OR_RETURN(std::unique_ptr<SeqScan> scan, SeqScan::Create(pool, file, queue, spec.shape.columns,
                                                                          plan.first_page, plan.end_page, options));
  auto meter = std::make_unique<Meter>(std::move(scan), window, stop, state);
  Meter* const metered = meter.get();
  std::unique_ptr<Operator> top = std::move(meter);
  if (spec.query.where) top = std::make_unique<Filter>(std::move(top), *spec.query.where);
  IODEPTH_ASSIGN_OR_RETURN(const QueryAnswer answer, Aggregate(*top, spec.query.aggs, spec.query.group_by));
  if (metered->in_window()) AddScanStats(state.window_stats, metered->scan().stats());
  if (metered->cut()) return Status::OK();
  if (answer != plan.expected) {
    return Status::Corruption(fmt::format("scan {} over pages [{}, {}) of {} answered {} but the table holds {}",
                                          plan.index, plan.first_page, plan.end_page, spec.table_path,
                                          FormatAnswer(answer, spec.query.group_by),
                                          FormatAnswer(plan.expected, spec.query.group_by)));
  }
  ++state.result.passes_checked;
  return Status::OK();
}

// A scan thread's body: its own queue, then passes until the run ends.
// The start line: every scan arrives at `ready` once its queue exists and waits at `go`,
// which the job opens once it has fixed the window, so no scan starts late into it.
struct StartLine {
  explicit StartLine(uint32_t scans) : ready(scans + 1) {}
  std::latch ready;
  std::latch go{1};
};

void RunStream(const ScanJobSpec& spec, BufferManager& pool, File& file, const StreamPlan& plan,
               const ScanWindow& window, std::atomic<bool>& stop, StreamState& state, StartLine& start) {
  std::unique_ptr<IoQueue> queue;
  if (spec.mode == ScanMode::kPipelined) {
    Result<std::unique_ptr<IoQueue>> made = MakeScanQueue(spec, pool);
    if (!made.has_value()) {
      state.status = made.error();
      stop.store(true);
      start.ready.count_down();
      return;
    }
    queue = std::move(*made);
  }
  start.ready.count_down();
  start.go.wait();
  while (NowNs() < window.end_ns && !stop.load(std::memory_order_relaxed)) {
    const Status pass = RunPass(spec, pool, file, queue.get(), plan, window, stop, state);
    if (!pass.ok()) {
      state.status = pass.WithContext(fmt::format("scan {}", plan.index));
      stop.store(true);
      break;
    }
  }
  if (queue) state.queue_stats = queue->stats();
}

Status ValidateScanSpec(const ScanJobSpec& spec, uint64_t working_set_pages) {
  IODEPTH_RETURN_IF_ERROR(ValidateTableShape(spec.shape));
  if (spec.streams < 1 || spec.streams > kMaxScanStreams) {
    return Status::InvalidArgument(fmt::format("{} streams is out of range 1..{}", spec.streams, kMaxScanStreams))
        .WithSetting("streams");
  }
  if (spec.runtime_ns <= 0) return Status::InvalidArgument("a scan job needs a runtime above 0").WithSetting("runtime");
  if (spec.mode == ScanMode::kSync && spec.distance != 1) {
    return Status::InvalidArgument("sync scans read one page at a time: use distance (qd) 1 with them");
  }
  if (spec.query.aggs.empty()) return Status::InvalidArgument("a scan query needs at least one aggregate");
  IODEPTH_RETURN_IF_ERROR(ValidateQuery(spec.query, spec.shape.columns));
  if (working_set_pages < spec.streams) {
    return Status::InvalidArgument(fmt::format("the {} regime's working set has {} pages, fewer than the {} scans",
                                               RegimeName(spec.regime), working_set_pages, spec.streams));
  }
  if (working_set_pages > TablePageCount(spec.shape)) {
    return Status::InvalidArgument(fmt::format("the {} regime needs {} pages but the table {} has {}",
                                               RegimeName(spec.regime), working_set_pages, spec.table_path,
                                               TablePageCount(spec.shape)));
  }
  return Status::OK();
}

std::vector<StreamPlan> PlanStreams(const ScanJobSpec& spec, uint64_t pages) {
  const uint64_t rows_per_page = TableRowsPerPage(spec.shape);
  std::vector<StreamPlan> plans(spec.streams);
  for (uint32_t s = 0; s < spec.streams; ++s) {
    StreamPlan& plan = plans[s];
    plan.index = s;
    plan.first_page = pages * s / spec.streams;
    plan.end_page = pages * (s + 1) / spec.streams;
    const uint64_t end_row = std::min(plan.end_page * rows_per_page, spec.shape.rows);
    plan.expected = ExpectedAnswer(spec.shape, plan.first_page * rows_per_page, end_row, spec.query);
  }
  return plans;
}

// Sums the scans' window figures into the job's result.
void CollectResults(const ScanJobSpec& spec, const std::vector<StreamState>& states, int64_t window_ns, uint64_t pages,
                    ScanJobResult& out) {
  const uint32_t page_bytes = PageSizeBytes(spec.shape.page_size);
  BmStats& b = out.buffer;
  b.memory_bytes = spec.memory_bytes;
  b.working_set_bytes = pages * page_bytes;
  b.page_bytes = page_bytes;
  b.policy = spec.mode == ScanMode::kSync ? "sync" : std::string(ReadStreamPolicyName(spec.policy));
  b.mean_distance = spec.distance;
  double area = 0;
  for (const StreamState& state : states) {
    ScanStreamResult stream = state.result;
    stream.wait_ns = state.window_stats.wait_ns;
    stream.bw_bytes =
        window_ns > 0 ? static_cast<double>(stream.pages) * page_bytes * 1e9 / static_cast<double>(window_ns) : 0;
    out.streams.push_back(stream);
    out.job.ios += stream.pages;
    out.rows += stream.rows;
    out.passes_checked += stream.passes_checked;
    if (state.ring) out.ring += state.ring->stats();
    b.hits += state.window_stats.hits;
    b.misses += state.window_stats.pages_read;
    b.reads += state.window_stats.reads;
    b.read_bytes += state.window_stats.read_bytes;
    b.wait_ns += state.window_stats.wait_ns;
    out.job.clat_ns.Merge(state.window_stats.page_latency_ns);
    area += state.window_stats.in_flight_area_ns;
    out.job.queue_stats += state.queue_stats;
  }
  b.fetches = out.job.ios;
  out.job.bytes = out.job.ios * page_bytes;
  out.job.window_ns = window_ns;
  // Sync scans have one read in flight exactly while they wait for it.
  out.job.mean_in_flight = window_ns <= 0 ? 0
                           : spec.mode == ScanMode::kSync
                               ? static_cast<double>(b.wait_ns) / static_cast<double>(window_ns)
                               : area / static_cast<double>(window_ns);
}

}  // namespace

constexpr EnumName<ScanStrategy> kScanStrategyNames[] = {{ScanStrategy::kAuto, "auto"},
                                                         {ScanStrategy::kRing, "ring"},
                                                         {ScanStrategy::kShare, "share"},
                                                         {ScanStrategy::kClock, "clock"}};

Result<ScanStrategy> ParseScanStrategy(std::string_view name) {
  return ParseNamed(kScanStrategyNames, name, "scan strategy", "strategy");
}

std::string_view ScanStrategyName(ScanStrategy strategy) { return NameOf(kScanStrategyNames, strategy); }

ScanStrategy ResolveScanStrategy(const ScanJobSpec& spec, uint64_t working_set_pages, uint32_t capacity) {
  if (spec.mode == ScanMode::kSync) return ScanStrategy::kClock;  // Fetch() has no ring.
  if (spec.strategy != ScanStrategy::kAuto) return spec.strategy;
  return working_set_pages > capacity ? ScanStrategy::kShare : ScanStrategy::kClock;
}

QuerySpec DefaultScanQuery(uint32_t work) {
  QuerySpec query;
  query.where = Predicate{.column = 0, .op = CompareOp::kLess, .value = kColumn0Range / 2, .work = work};
  query.aggs = {AggSpec{.kind = AggKind::kCount, .column = 0}, AggSpec{.kind = AggKind::kSum, .column = 2}};
  return query;
}

Result<ScanJobResult> RunScanJob(const ScanJobSpec& spec) {
  BmSpec sizing;
  sizing.shape = spec.shape;
  sizing.regime = spec.regime;
  sizing.memory_bytes = spec.memory_bytes;
  sizing.working_set_bytes = spec.working_set_bytes;
  const uint64_t pages = BmWorkingSetPages(sizing);
  IODEPTH_RETURN_IF_ERROR(ValidateScanSpec(spec, pages));
  IODEPTH_ASSIGN_OR_RETURN(TablePool opened, OpenTablePool(spec.table_path, spec.shape, spec.cache, spec.memory_bytes,
                                                           spec.regime == Regime::kHot ? pages : 0));
  std::unique_ptr<File>& file = opened.file;
  std::unique_ptr<BufferManager>& pool = opened.pool;
  const std::vector<StreamPlan> plans = PlanStreams(spec, pages);
  std::vector<StreamState> states(spec.streams);
  const ScanStrategy strategy = ResolveScanStrategy(spec, pages, pool->capacity());
  if (strategy == ScanStrategy::kRing || strategy == ScanStrategy::kShare) {
    for (StreamState& state : states) state.ring = MakeScanRing(spec, *pool, strategy);
  }
  std::atomic<bool> stop{false};
  ScanWindow window;
  StartLine start(spec.streams);
  std::vector<std::thread> threads;
  for (uint32_t s = 0; s < spec.streams; ++s) {
    threads.emplace_back(RunStream, std::cref(spec), std::ref(*pool), std::ref(*file), std::cref(plans[s]),
                         std::cref(window), std::ref(stop), std::ref(states[s]), std::ref(start));
  }
  // The clock starts once every scan has its queue: setting S of them up is not timed.
  start.ready.arrive_and_wait();
  const int64_t start_ns = NowNs();
  window = ScanWindow{.ramp_end_ns = start_ns + spec.ramp_ns, .end_ns = start_ns + spec.ramp_ns + spec.runtime_ns};
  start.go.count_down();
  // This thread only keeps the window's CPU time; the scans keep their own counts.
  SleepUntil(window.ramp_end_ns, stop);
  const WindowSample window_opened = SampleWindow(spec.device);
  SleepUntil(window.end_ns, stop);
  JobResult counters;
  CloseWindowCounters(window_opened, spec.device, counters);
  for (std::thread& t : threads) t.join();
  // The scans count the pages they ask for from ramp end to end, and the waits for them:
  // the window runs from ramp end to the last such page's arrival (never shorter than
  // the runtime). This thread's own wake-ups, late on a busy machine, only blur the CPU
  // figure.
  int64_t last_ns = window.end_ns;
  for (const StreamState& state : states) last_ns = std::max(last_ns, state.last_page_ns);
  const int64_t window_ns = last_ns - window.ramp_end_ns;
  for (const StreamState& state : states) IODEPTH_RETURN_IF_ERROR(state.status);

  ScanJobResult result;
  result.strategy = strategy;
  result.job.backend = spec.mode == ScanMode::kSync ? "sync" : std::string(BackendName(spec.queue.backend));
  result.job.direct = file->direct();
  result.job.alignment = file->alignment();
  result.job.cpu = counters.cpu;
  result.job.device = counters.device;
  CollectResults(spec, states, window_ns, pages, result);
  return result;
}

}  // namespace iodepth
