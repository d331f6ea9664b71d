// harness/: the jobs that drive one cell and measure it: raw requests at a queue depth
// (Job), page fetches through the buffer manager (bm_job), concurrent scans (scan_job),
// the self-verifying data files they read, and the page-cache state a cell starts from.
// It drives io/, buffer/ and exec/ and never reaches past them to the kernel: every byte
// goes through a File or an IoQueue, and host files through sys/. It knows nothing of
// suites, the matrix or the results format.
//
// Job: one fio-like benchmark job. It keeps exactly `iodepth` requests outstanding on one
// IoQueue against one file, refilling each slot as soon as its completion is reaped, and
// measures what it saw.
//
//   ramp (excluded) | measured window: completions counted, latencies recorded | drain
//   ^start            ^window_start                                  ^window_end
//
// Refills are submitted every `batch_submit` requests (fio's iodepth_batch_submit).
// A completion counts when it *completes* inside the measured window; requests still in
// flight at the end are drained and not counted. Latency is the completion latency
// (submit to completion, fio's clat). Any failed request fails the job with its error;
// with `verify` every completed read is checked against the file's pattern and a
// mismatch fails the job, naming the offset.
//
// Several jobs at once (JobSpec::jobs, fio's numjobs): N threads, each with its own File,
// buffers, IoQueue and offsets, started together after every queue is built. Random jobs
// each cover the whole size with their own seed (seed + job index); sequential jobs each
// read or write their own 1/N slice, so no two jobs touch the same block. One result for
// all: I/Os, bytes and latencies summed and merged, mean_in_flight summed (the depth the
// device saw from all jobs), the window from the first job's opening to the last one's
// closing, and the process's CPU time and the device's counters read once around it by
// the calling thread (so the CPU covers every job, its queue's threads and io_uring's
// workers). job_iops gives each job's own rate. A failure in one job stops the others and
// is returned.
//
// Runs on the calling thread (one job) or on N threads it starts and joins; each queue
// lives and dies on its own thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/histogram.h"
#include "common/result.h"
#include "io/file.h"
#include "io/io_queue.h"
#include "sys/block_device.h"

namespace iodepth {

enum class RwPattern { kRead, kRandRead, kWrite, kRandWrite };

// fio's names: read, randread, write, randwrite.
Result<RwPattern> ParseRwPattern(std::string_view name);
std::string_view RwPatternName(RwPattern rw);
inline bool IsWrite(RwPattern rw) { return rw == RwPattern::kWrite || rw == RwPattern::kRandWrite; }
inline bool IsRandom(RwPattern rw) { return rw == RwPattern::kRandRead || rw == RwPattern::kRandWrite; }

struct JobSpec;

// The offsets of one job, all multiples of block_size inside [offset_bytes, offset_bytes +
// size_bytes): ascending and wrapping (read, write), or uniform from the seed (randread,
// randwrite), the same sequence for the same seed. One per job; not thread-safe.
class OffsetGenerator {
 public:
  explicit OffsetGenerator(const JobSpec& spec);
  uint64_t Next();

 private:
  bool random_;
  uint64_t block_size_;
  uint64_t first_block_;
  uint64_t blocks_;
  uint64_t next_ = 0;
  std::mt19937_64 rng_;
};

struct JobSpec {
  std::string filename;
  RwPattern rw = RwPattern::kRandRead;
  uint64_t block_size = 4096;
  CacheMode cache = CacheMode::kDirect;  // buffered, direct or dontcache.
  bool direct_fallback = false;
  IoQueueOptions queue;       // queue.depth is the job's iodepth.
  uint64_t size_bytes = 0;    // Offsets lie in [offset_bytes, offset_bytes + size_bytes).
  uint64_t offset_bytes = 0;  // fio's offset: where this job's range starts (a block multiple).
  uint32_t jobs = 1;          // fio's numjobs: jobs at once, each with its own queue (1..kMaxJobs).
  int64_t runtime_ns = 0;     // Measured window length (time based), or
  uint64_t number_ios = 0;    // a fixed count of measured requests (when > 0).
  int64_t ramp_ns = 0;        // Run first, not measured.
  uint64_t seed = 1;          // Random offsets; the same seed gives the same sequence.
  bool verify = false;
  uint64_t file_id = 0;    // The pattern's file id, needed for verify and writes.
  bool sync_path = false;  // io_patterns: File::ReadAt/WriteAt in a loop, no IoQueue.
  // Submit once this many requests are prepared (fio's iodepth_batch_submit). 1, the
  // default as in fio, hands each request to the device the moment its slot is refilled;
  // larger batches save system calls but hold requests back until the batch is full
  // (on virtio, 4 KiB random reads lost ~15% IOPS at qd 32 with whole-reap batches).
  uint32_t batch_submit = 1;
  // The block device under the file, whose counters the window reads (window_counters.h);
  // nullopt: none is counted.
  std::optional<BlockDevice> device;
  // Set from elsewhere (a signal handler): the window closes at the next step and the
  // result covers what ran until then (JobResult::stopped). nullptr: runs to its end.
  const std::atomic<bool>* stop = nullptr;
};

inline constexpr uint32_t kMaxJobs = 256;

struct JobResult {
  std::string backend;  // The backend that ran (auto resolved).
  std::string backend_features;
  std::vector<std::string> notices;  // Fallbacks and other things a user should know.
  bool direct = false;               // Whether the file was really opened O_DIRECT.
  DirectAlignment alignment;
  uint64_t ios = 0;  // Completed in the measured window.
  uint64_t bytes = 0;
  int64_t window_ns = 0;
  LatencyHistogram clat_ns;
  CpuTimes cpu;                         // Process CPU time spent in the window.
  std::optional<BlockCounters> device;  // What the spec's device did in the window.
  double mean_in_flight = 0;            // Time-averaged requests in flight in the window.
  IoQueueStats queue_stats;             // Over the whole job, ramp included.
  uint64_t verified_bytes = 0;
  uint64_t refills_short = 0;    // Refills after which fewer than depth were in flight (should be 0).
  bool stopped = false;          // JobSpec::stop ended the window early.
  uint32_t jobs = 1;             // Jobs that ran at once (JobSpec::jobs).
  std::vector<double> job_iops;  // Each job's own I/Os per second in its window (jobs > 1).

  double iops() const { return window_ns > 0 ? static_cast<double>(ios) * 1e9 / static_cast<double>(window_ns) : 0; }
  double bw_bytes() const {
    return window_ns > 0 ? static_cast<double>(bytes) * 1e9 / static_cast<double>(window_ns) : 0;
  }
  double cpu_ns_per_io() const {
    return ios > 0 ? static_cast<double>(cpu.user_ns + cpu.system_ns) / static_cast<double>(ios) : 0;
  }
  // Little's law: the depth the device saw = throughput x mean latency.
  double littles_law_depth() const { return iops() * clat_ns.mean() / 1e9; }
};

// Adds one more job of a group to `group` (a result several jobs ran at once): I/Os, bytes,
// queue counters and verified bytes summed, latencies merged, mean_in_flight summed (the
// depth the device saw from all), notices kept once, the job's own rate appended to
// job_iops. The window, CPU and device counters are the caller's: they cover the group.
// Shared by RunJob's jobs and the bm job's consumers.
void AddGroupMember(JobResult& group, const JobResult& member);

// Runs the job. The data file must already exist (see EnsureDataFile) and hold at least
// size_bytes. Errors: bad parameters (InvalidArgument, naming the flag), a failed request
// or a verify mismatch (the request's own error), or queue setup.
Result<JobResult> RunJob(const JobSpec& spec);

}  // namespace iodepth
