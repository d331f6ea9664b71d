#include "harness/job.h"

#include <algorithm>
#include <latch>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "common/block_pattern.h"
#include "common/enum_names.h"
#include "harness/window_counters.h"
#include "io/aligned_buffer.h"

namespace iodepth {

namespace {
__extension__ using Uint128 = unsigned __int128;
}  // namespace

OffsetGenerator::OffsetGenerator(const JobSpec& spec)
    : random_(IsRandom(spec.rw)),
      block_size_(spec.block_size),
      first_block_(spec.offset_bytes / spec.block_size),
      blocks_(spec.size_bytes / spec.block_size),
      rng_(spec.seed) {}

uint64_t OffsetGenerator::Next() {
  if (random_) {
    // Lemire's multiply-shift: a uniform index in [0, blocks_) without a division.
    const auto index = static_cast<uint64_t>((static_cast<Uint128>(rng_()) * blocks_) >> 64);
    return (first_block_ + index) * block_size_;
  }
  const uint64_t offset = (first_block_ + next_) * block_size_;
  next_ = next_ + 1 == blocks_ ? 0 : next_ + 1;
  return offset;
}

namespace {

constexpr EnumName<RwPattern> kRwPatternNames[] = {{RwPattern::kRead, "read"},
                                                   {RwPattern::kRandRead, "randread"},
                                                   {RwPattern::kWrite, "write"},
                                                   {RwPattern::kRandWrite, "randwrite"}};

}  // namespace

Result<RwPattern> ParseRwPattern(std::string_view name) {
  return ParseNamed(kRwPatternNames, name, "access pattern", "rw");
}

std::string_view RwPatternName(RwPattern rw) { return NameOf(kRwPatternNames, rw); }

namespace {

Status ValidateSpec(const JobSpec& spec) {
  if (spec.block_size == 0)
    return Status::InvalidArgument("the block size must be larger than 0").WithSetting("block_size");
  if (spec.block_size > (64u << 20)) {
    return Status::InvalidArgument(fmt::format("block size {} is larger than 64 MiB", spec.block_size))
        .WithSetting("block_size");
  }
  if (spec.size_bytes < spec.block_size) {
    return Status::InvalidArgument(fmt::format("size {} is smaller than one block ({} bytes); make the size at least "
                                               "the block size",
                                               spec.size_bytes, spec.block_size))
        .WithSetting("size,block_size");
  }
  if (spec.runtime_ns <= 0 && spec.number_ios == 0) {
    return Status::InvalidArgument("give a runtime or a number of I/Os so the job knows when to stop")
        .WithSetting("runtime,number_ios");
  }
  if (IsWrite(spec.rw) && spec.file_id == 0) {
    return Status::InvalidArgument("a write job needs the data file's pattern id (from EnsureDataFile)");
  }
  if (spec.jobs == 0 || spec.jobs > kMaxJobs) {
    return Status::InvalidArgument(fmt::format("{} jobs: give 1 to {} (fio's numjobs)", spec.jobs, kMaxJobs))
        .WithSetting("numjobs");
  }
  if (spec.jobs > 1 && spec.sync_path) {
    return Status::InvalidArgument(
               "the synchronous path (io_patterns) is the single-threaded baseline; run it with "
               "one job")
        .WithSetting("numjobs");
  }
  if (spec.offset_bytes % spec.block_size != 0) {
    return Status::InvalidArgument(
               fmt::format("offset {} is not a multiple of the block size {}", spec.offset_bytes, spec.block_size))
        .WithSetting("offset");
  }
  if (spec.jobs > 1 && !IsRandom(spec.rw) && spec.size_bytes / spec.jobs < spec.block_size) {
    return Status::InvalidArgument(fmt::format("{} sequential jobs each read their own slice of the size, and {} "
                                               "bytes leave less than a block ({}) each; give a larger size or fewer "
                                               "jobs",
                                               spec.jobs, spec.size_bytes, spec.block_size))
        .WithSetting("size,numjobs");
  }
  if (spec.batch_submit == 0) {
    return Status::InvalidArgument("the submit batch must be at least 1 request").WithSetting("batch_submit");
  }
  if (spec.verify && IsWrite(spec.rw)) {
    return Status::InvalidArgument("verification checks reads; use it with the read or randread pattern")
        .WithSetting("verify,rw");
  }
  return Status::OK();
}

// Tracks the time-averaged number of requests in flight inside the measured window.
class InFlightIntegral {
 public:
  void Reset(int64_t now_ns, uint32_t in_flight) {
    area_ = 0;
    last_ns_ = now_ns;
    last_in_flight_ = in_flight;
  }
  void Update(int64_t now_ns, uint32_t in_flight) {
    area_ += static_cast<double>(last_in_flight_) * static_cast<double>(now_ns - last_ns_);
    last_ns_ = now_ns;
    last_in_flight_ = in_flight;
  }
  double Mean(int64_t window_ns) const { return window_ns > 0 ? area_ / static_cast<double>(window_ns) : 0; }

 private:
  double area_ = 0;
  int64_t last_ns_ = 0;
  uint32_t last_in_flight_ = 0;
};

// The measured window, shared by the queue runner and the synchronous loop: when it
// opens and closes, what counts, and the CPU time spent inside it.
//
//   Begin() ... [ramp] ... Open (first tick at/after window_start) ... Close (end reached)
//
// One of several jobs at once (`group_closed` given) leaves the process's counters to the
// calling thread (RunJobs) and counts `group_closed` down when its window closes.
class WindowMeter {
 public:
  WindowMeter(const JobSpec& spec, JobResult* result, std::latch* group_closed = nullptr)
      : spec_(spec), result_(result), group_closed_(group_closed) {}

  void Begin(int64_t now_ns, uint32_t in_flight) {
    window_start_ns_ = now_ns + spec_.ramp_ns;
    window_end_ns_ = spec_.number_ios > 0 ? INT64_MAX : window_start_ns_ + spec_.runtime_ns;
    if (spec_.ramp_ns == 0) Open(now_ns, in_flight);
  }
  // Called after every step of the run; opens or closes the window as time passes.
  void Tick(int64_t now_ns, uint32_t in_flight) {
    if (!open_ && !closed_ && now_ns >= window_start_ns_) Open(now_ns, in_flight);
    if (open_ && !closed_) in_flight_.Update(now_ns, in_flight);
    const bool count_reached = spec_.number_ios > 0 && result_->ios >= spec_.number_ios;
    const bool stopped = spec_.stop != nullptr && spec_.stop->load(std::memory_order_relaxed);
    if (stopped && !closed_) result_->stopped = true;
    if (!closed_ && (now_ns >= window_end_ns_ || count_reached || stopped)) Close(now_ns, in_flight);
  }
  void Finish(int64_t now_ns, uint32_t in_flight) {
    if (!closed_) Close(now_ns, in_flight);
  }
  // Counts a successful completion if it finished inside the window.
  void Record(const IoCompletion& done) {
    if (!open_ || closed_ || done.completed_ns < window_start_ns_) return;
    // Requests issued during the ramp may still complete in one reap batch; the window
    // counts exactly number_ios of them.
    if (spec_.number_ios > 0 && result_->ios >= spec_.number_ios) return;
    ++result_->ios;
    result_->bytes += done.bytes_done;
    result_->clat_ns.Record(static_cast<uint64_t>(std::max<int64_t>(0, done.completed_ns - done.submitted_ns)));
  }
  // Whether another request may be issued: not after the window closed, and with
  // number_ios, not more than that many inside the window.
  bool MayIssue() {
    if (closed_) return false;
    if (spec_.number_ios > 0 && open_) return issued_in_window_++ < spec_.number_ios;
    return true;
  }
  bool closed() const { return closed_; }
  // When the window opened and closed (NowNs()); meaningful once closed.
  int64_t window_start_ns() const { return window_start_ns_; }
  int64_t window_end_ns() const { return window_start_ns_ + result_->window_ns; }

 private:
  void Open(int64_t now_ns, uint32_t in_flight) {
    open_ = true;
    window_start_ns_ = now_ns;
    if (group_closed_ == nullptr) opened_ = SampleWindow(spec_.device);
    in_flight_.Reset(now_ns, in_flight);
  }
  void Close(int64_t now_ns, uint32_t in_flight) {
    if (!open_) Open(now_ns, in_flight);
    closed_ = true;
    in_flight_.Update(now_ns, in_flight);
    result_->window_ns = now_ns - window_start_ns_;
    result_->mean_in_flight = in_flight_.Mean(result_->window_ns);
    if (group_closed_ == nullptr) {
      CloseWindowCounters(opened_, spec_.device, *result_);
    } else {
      group_closed_->count_down();
    }
  }

  const JobSpec& spec_;
  JobResult* result_;
  std::latch* group_closed_;
  bool open_ = false;
  bool closed_ = false;
  int64_t window_start_ns_ = 0;
  int64_t window_end_ns_ = 0;
  uint64_t issued_in_window_ = 0;
  WindowSample opened_;
  InFlightIntegral in_flight_;
};

// Checks one completion: its status, a short read, and (with verify) its content.
Status CheckCompletion(const JobSpec& spec, const File& file, const IoCompletion& done, std::span<const std::byte> data,
                       JobResult* result) {
  if (!done.status.ok()) return done.status;
  if (done.op == IoOp::kRead && done.bytes_done < done.length) {
    return Status::FailedPrecondition(fmt::format("read at offset {} of {} returned {} of {} bytes: the file is "
                                                  "shorter than the size asked for; recreate it or ask for less",
                                                  done.offset, file.path(), done.bytes_done, done.length))
        .WithSetting("size");
  }
  if (spec.verify && done.op == IoOp::kRead) {
    if (auto bad = FindPatternMismatch(data.first(done.bytes_done), done.offset, spec.file_id)) {
      return Status::Corruption(
          fmt::format("verify: byte at offset {} of {} does not hold what iodepth wrote there (read of {} bytes at {})",
                      *bad, file.path(), done.length, done.offset));
    }
    result->verified_bytes += done.bytes_done;
  }
  return Status::OK();
}

// Keeps queue.depth() requests outstanding on an IoQueue, refilling each slot (the tag)
// as soon as its completion is reaped.
class QueueRunner {
 public:
  QueueRunner(const JobSpec& spec, File& file, IoQueue& queue, AlignedBuffer& buffers, JobResult* result,
              std::latch* group_closed = nullptr)
      : spec_(spec),
        file_(file),
        queue_(queue),
        buffers_(buffers),
        offsets_(spec),
        result_(result),
        meter_(spec, result, group_closed) {}

  const WindowMeter& meter() const { return meter_; }
  // Closes the window if Run() returned before it closed (an error), so a group waiting
  // for every window is never left waiting.
  void EnsureClosed() { meter_.Finish(NowNs(), 0); }

  Status Run() {
    meter_.Begin(NowNs(), 0);
    for (uint32_t slot = 0; slot < queue_.depth(); ++slot) IODEPTH_RETURN_IF_ERROR(Issue(slot));
    IODEPTH_RETURN_IF_ERROR(queue_.Submit().status());  // The rest of a partial batch.
    std::vector<IoCompletion> done(queue_.depth());
    while (queue_.in_flight() > 0) {
      IODEPTH_ASSIGN_OR_RETURN(const uint32_t got, queue_.Reap(done, /*min_completions=*/1));
      meter_.Tick(NowNs(), Outstanding());
      for (uint32_t i = 0; i < got; ++i) {
        IODEPTH_RETURN_IF_ERROR(CheckCompletion(spec_, file_, done[i], SlotBuffer(done[i].tag), result_));
        meter_.Record(done[i]);
      }
      meter_.Tick(NowNs(), Outstanding());
      for (uint32_t i = 0; i < got; ++i) IODEPTH_RETURN_IF_ERROR(Issue(static_cast<uint32_t>(done[i].tag)));
      IODEPTH_RETURN_IF_ERROR(queue_.Submit().status());  // The rest of a partial batch.
      // Exactly depth outstanding while issuing: every reaped slot was refilled.
      if (!stopped_issuing_ && queue_.in_flight() < queue_.depth()) ++result_->refills_short;
    }
    meter_.Finish(NowNs(), 0);
    result_->queue_stats = queue_.stats();
    return Status::OK();
  }

 private:
  // Requests whose latency clock runs: submitted, or prepared (their submitted_ns is the
  // next Submit(), which follows at once). The depth the time-average integrates.
  uint32_t Outstanding() const { return queue_.in_flight() + queue_.prepared(); }

  std::span<std::byte> SlotBuffer(uint64_t slot) const {
    return buffers_.span(static_cast<size_t>(slot) * spec_.block_size, spec_.block_size);
  }

  Status Issue(uint32_t slot) {
    if (!meter_.MayIssue()) {
      stopped_issuing_ = true;  // The run is ending: the queue drains from here.
      return Status::OK();
    }
    const uint64_t offset = offsets_.Next();
    std::span<std::byte> buffer = SlotBuffer(slot);
    const IoOp op = IsWrite(spec_.rw) ? IoOp::kWrite : IoOp::kRead;
    if (op == IoOp::kWrite) FillPattern(buffer, offset, spec_.file_id);  // Keep the file self-verifying.
    IODEPTH_RETURN_IF_ERROR(
        queue_.Prepare(IoRequest{.op = op, .file = &file_, .offset = offset, .buffer = buffer, .tag = slot}));
    meter_.Tick(NowNs(), Outstanding());
    if (queue_.prepared() >= spec_.batch_submit) return queue_.Submit().status();
    return Status::OK();
  }

  const JobSpec& spec_;
  File& file_;
  IoQueue& queue_;
  AlignedBuffer& buffers_;
  OffsetGenerator offsets_;
  JobResult* result_;
  WindowMeter meter_;
  bool stopped_issuing_ = false;
};

// The synchronous path (io_patterns): one request at a time through File::ReadAt/WriteAt
// on the calling thread, no queue at all. The baseline every queue result is compared with.
Status RunSyncLoop(const JobSpec& spec, File& file, AlignedBuffer& buffer, JobResult* result) {
  OffsetGenerator offsets(spec);
  WindowMeter meter(spec, result);
  const IoOp op = IsWrite(spec.rw) ? IoOp::kWrite : IoOp::kRead;
  std::span<std::byte> data = buffer.span(0, spec.block_size);
  meter.Begin(NowNs(), 0);
  while (meter.MayIssue()) {
    IoCompletion done;
    done.op = op;
    done.offset = offsets.Next();
    done.length = spec.block_size;
    if (op == IoOp::kWrite) FillPattern(data, done.offset, spec.file_id);
    done.submitted_ns = NowNs();
    auto moved = op == IoOp::kRead ? file.ReadAt(done.offset, data) : file.WriteAt(done.offset, data);
    done.completed_ns = NowNs();
    if (moved.has_value()) {
      done.bytes_done = *moved;
    } else {
      done.status = moved.error();
    }
    IODEPTH_RETURN_IF_ERROR(CheckCompletion(spec, file, done, data, result));
    meter.Record(done);
    meter.Tick(done.completed_ns, 0);
  }
  meter.Finish(NowNs(), 0);
  result->mean_in_flight = result->window_ns > 0
                               ? static_cast<double>(result->clat_ns.mean()) * static_cast<double>(result->ios) /
                                     static_cast<double>(result->window_ns)
                               : 0;  // Busy fraction: the only depth a loop has.
  result->queue_stats = IoQueueStats{
      .submit_calls = result->ios, .submitted = result->ios, .reap_calls = result->ios, .reaped = result->ios};
  return Status::OK();
}

}  // namespace

namespace {

// What one job runs on. Declared in this order so the queue is destroyed first, draining
// anything still in flight (an early error return) before the buffers are freed.
struct JobResources {
  std::unique_ptr<File> file;
  AlignedBuffer buffers;
  std::unique_ptr<IoQueue> queue;  // None on the sync path.
};

// Opens the job's file, allocates its buffers and builds its queue (on the calling
// thread, which the io_uring queue then belongs to); fills the result's file and backend
// fields.
Result<JobResources> OpenJob(const JobSpec& spec, JobResult& result) {
  JobResources job;
  const OpenOptions open_options{.access = IsWrite(spec.rw) ? AccessMode::kReadWrite : AccessMode::kReadOnly,
                                 .cache = spec.cache,
                                 .direct_fallback = spec.direct_fallback};
  IODEPTH_ASSIGN_OR_RETURN(job.file, File::Open(spec.filename, open_options));
  result.direct = job.file->direct();
  result.alignment = job.file->alignment();
  if (!job.file->direct_fallback_reason().empty()) result.notices.push_back(job.file->direct_fallback_reason());
  if (job.file->direct() && spec.block_size % job.file->alignment().offset_bytes != 0) {
    return Status::InvalidArgument(fmt::format("block size {} is not a multiple of {} bytes, the direct-I/O alignment "
                                               "of {} (from {}); use a multiple of it or buffered I/O",
                                               spec.block_size, job.file->alignment().offset_bytes, spec.filename,
                                               job.file->alignment().source))
        .WithSetting("block_size,direct");
  }
  const size_t alignment = std::max<size_t>(4096, job.file->alignment().memory_bytes);
  const uint32_t slots = spec.sync_path ? 1 : spec.queue.depth;
  IODEPTH_ASSIGN_OR_RETURN(job.buffers,
                           AlignedBuffer::Allocate(static_cast<size_t>(spec.block_size) * slots, alignment));
  if (spec.sync_path) {
    result.backend = "syncpath";
    result.backend_features = "File::ReadAt/WriteAt, depth 1";
    return job;
  }
  std::string notice;
  IODEPTH_ASSIGN_OR_RETURN(job.queue, MakeIoQueue(spec.queue, &notice));
  if (!notice.empty()) result.notices.push_back(notice);
  result.backend = std::string(job.queue->backend_name());
  result.backend_features = job.queue->features();
  const std::span<std::byte> region = job.buffers.span();
  IODEPTH_RETURN_IF_ERROR(job.queue->RegisterBuffers(std::span(&region, 1)));
  return job;
}

// Job `index` of a group of spec.jobs: its own seed (random) or its own slice (sequential).
JobSpec MemberSpec(const JobSpec& spec, uint32_t index, const std::atomic<bool>* stop) {
  JobSpec member = spec;
  member.jobs = 1;
  member.stop = stop;
  member.device.reset();  // The group reads the device once for all.
  if (IsRandom(spec.rw)) {
    member.seed = spec.seed + index;
  } else {
    const uint64_t slice = spec.size_bytes / spec.jobs / spec.block_size * spec.block_size;
    member.offset_bytes = spec.offset_bytes + index * slice;
    member.size_bytes = slice;
  }
  return member;
}

// What each job of a group hands back to the thread that merges them.
struct MemberOutcome {
  Result<JobResult> result = Status::FailedPrecondition("the job did not run");
  int64_t window_start_ns = 0;
  int64_t window_end_ns = 0;
};

// The group's result: every job added up (AddGroupMember), the window from the first
// opening to the last closing; the first error (in job order) instead when any failed.
Result<JobResult> MergeMembers(std::vector<MemberOutcome>& members) {
  for (MemberOutcome& m : members) {
    if (!m.result.has_value()) return m.result.error();
  }
  const JobResult& first = *members.front().result;
  JobResult merged;
  merged.backend = first.backend;
  merged.backend_features = first.backend_features;
  merged.direct = first.direct;
  merged.alignment = first.alignment;
  int64_t first_open = members.front().window_start_ns;
  int64_t last_close = members.front().window_end_ns;
  for (MemberOutcome& m : members) {
    AddGroupMember(merged, *m.result);
    first_open = std::min(first_open, m.window_start_ns);
    last_close = std::max(last_close, m.window_end_ns);
  }
  merged.window_ns = last_close - first_open;
  return merged;
}

// spec.jobs jobs at once (job.h, "Several jobs at once").
Result<JobResult> RunJobs(const JobSpec& spec) {
  const uint32_t n = spec.jobs;
  std::atomic<bool> stop{false};
  std::latch ready(n + 1);  // Every job's queue built, and this thread.
  std::latch closed(n);     // Every job's window closed.
  std::vector<MemberOutcome> members(n);
  {
    std::vector<std::jthread> threads;
    threads.reserve(n);
    for (uint32_t i = 0; i < n; ++i) {
      threads.emplace_back([&, i] {
        const JobSpec member = MemberSpec(spec, i, &stop);
        JobResult result;
        Result<JobResources> job = OpenJob(member, result);
        if (!job.has_value()) {
          members[i].result = job.error();
          stop.store(true);
          ready.count_down();
          closed.count_down();
          return;
        }
        ready.arrive_and_wait();
        QueueRunner runner(member, *job->file, *job->queue, job->buffers, &result, &closed);
        const Status run = runner.Run();
        runner.EnsureClosed();
        if (!run.ok()) stop.store(true);
        members[i].window_start_ns = runner.meter().window_start_ns();
        members[i].window_end_ns = runner.meter().window_end_ns();
        members[i].result = run.ok() ? Result<JobResult>(std::move(result)) : Result<JobResult>(run);
      });
    }
    // The process's counters around the jobs' windows: read when the ramp ends (the jobs
    // open theirs within microseconds of it) and when the last window closes.
    ready.arrive_and_wait();
    const int64_t open_at = NowNs() + spec.ramp_ns;
    auto relay_stop = [&] {
      if (spec.stop != nullptr && spec.stop->load(std::memory_order_relaxed)) stop.store(true);
    };
    while (NowNs() < open_at && !stop.load()) {
      relay_stop();
      std::this_thread::sleep_for(std::chrono::microseconds(std::min<int64_t>(2000, (open_at - NowNs()) / 1000 + 1)));
    }
    const WindowSample opened = SampleWindow(spec.device);
    while (!closed.try_wait()) {
      relay_stop();
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    JobResult counters;
    CloseWindowCounters(opened, spec.device, counters);
    for (std::jthread& t : threads) t.join();
    IODEPTH_ASSIGN_OR_RETURN(JobResult merged, MergeMembers(members));
    merged.cpu = counters.cpu;
    merged.device = counters.device;
    return merged;
  }
}

}  // namespace

void AddGroupMember(JobResult& group, const JobResult& member) {
  group.job_iops.push_back(member.iops());
  group.jobs = static_cast<uint32_t>(group.job_iops.size());
  group.ios += member.ios;
  group.bytes += member.bytes;
  group.clat_ns.Merge(member.clat_ns);
  group.mean_in_flight += member.mean_in_flight;
  group.queue_stats += member.queue_stats;
  group.verified_bytes += member.verified_bytes;
  group.refills_short += member.refills_short;
  group.stopped = group.stopped || member.stopped;
  for (const std::string& notice : member.notices) {
    if (std::find(group.notices.begin(), group.notices.end(), notice) == group.notices.end()) {
      group.notices.push_back(notice);
    }
  }
}

Result<JobResult> RunJob(const JobSpec& spec) {
  IODEPTH_RETURN_IF_ERROR(ValidateSpec(spec));
  if (spec.jobs > 1) return RunJobs(spec);
  JobResult result;
  IODEPTH_ASSIGN_OR_RETURN(JobResources job, OpenJob(spec, result));
  if (spec.sync_path) {
    IODEPTH_RETURN_IF_ERROR(RunSyncLoop(spec, *job.file, job.buffers, &result));
    return result;
  }
  QueueRunner runner(spec, *job.file, *job.queue, job.buffers, &result);
  IODEPTH_RETURN_IF_ERROR(runner.Run());
  return result;
}

}  // namespace iodepth
