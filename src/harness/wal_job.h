// WalCommitJob: the log's commit path at a chosen concurrency. N committer threads each
// append a record and commit it, one after another, for a fixed time; the job measures
// how many commits the log acknowledged per second, the latency of each (from Append to
// Commit's return), and what group commit made of them (commits per flush, syncs and
// bytes written per commit).
//
//   committer 1: [append][commit ........ wait ........][append][commit ... wait ...]
//   committer N: [append][commit ... wait ...][append][commit ........ wait ........]
//   flusher:         [write blocks][fdatasync]   [write blocks][fdatasync]
//
// It writes a fresh log in a directory of its own that it makes under `parent` and removes
// afterwards (a directory iodepth made for this purpose and nothing else), with the free
// space checked before each segment is created (wal/). One job runs on the calling
// thread plus its committers; not reentrant with itself on the same directory.
#pragma once

#include <cstdint>
#include <string>

#include "common/clock.h"
#include "common/histogram.h"
#include "common/result.h"
#include "wal/log_writer.h"

namespace iodepth {

struct WalJobOptions {
  std::string parent;       // The job's log directory is made inside it.
  WalOptions wal;           // directory is set by the job.
  uint32_t committers = 1;  // 1..256
  size_t record_bytes = 128;
  int64_t runtime_ns = 2'000'000'000;
  int64_t ramp_ns = 200'000'000;  // Commits before this are not measured.
};

struct WalJobResult {
  uint32_t committers = 0;
  uint64_t commits = 0;  // In the measured window.
  double seconds = 0;
  double commits_per_s = 0;
  uint64_t latency_ns_p50 = 0;
  uint64_t latency_ns_p95 = 0;
  uint64_t latency_ns_p99 = 0;
  uint64_t latency_ns_max = 0;
  double latency_ns_mean = 0;
  double commits_per_flush = 0;
  double syncs_per_commit = 0;
  double bytes_written_per_commit = 0;
  double cpu_us_per_commit = 0;  // Process CPU time (all threads) over the window.
  uint64_t max_write_depth = 0;
  std::string backend;
  // The window's raw figures, for results records (results/results.h).
  int64_t window_ns = 0;
  LatencyHistogram latency_ns;  // Each measured commit, Append to Commit's return.
  CpuTimes cpu;                 // Process CPU time over the window.
  uint64_t bytes_written = 0;   // Log bytes written in the window.
};

Result<WalJobResult> RunWalCommitJob(const WalJobOptions& options);

}  // namespace iodepth
