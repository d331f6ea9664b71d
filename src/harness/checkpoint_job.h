// CheckpointJob: a checkpoint's write-back at depth, and what a reader sees meanwhile
// (docs/BENCHMARKS.md, "checkpoint_qd{N}"). Rounds of
//
//   dirty:       D pages of the table (its first D, resident in a pool of M) updated in
//                place (storage's ApplyTableUpdate), not timed
//   checkpoint:  BufferManager::FlushAll through an IoQueue of depth N, then fdatasync
//                of the table (a checkpoint is durable when it ends), timed
//
// repeat over a ramp and a window, while one reader thread fetches random pages of the
// rest of the table through the same pool (misses, mostly: the table is 4 M) and times
// each fetch, separately while a checkpoint runs and between checkpoints. A round that
// begins after the ramp is measured whole, and the run goes on past the window until at
// least one has been (a checkpoint may outlast a short window). The result reuses
// JobResult: ios = pages written by the measured checkpoints,
// bytes = their bytes, window_ns = the time those checkpoints took (so iops is the
// checkpoint's write rate), clat_ns = each write's latency; CheckpointStats adds the
// checkpoints, their mean duration and sync time, and the reader's two latencies.
//
// The table is marked updated first (MarkTableUpdated): give it a table of its own. At
// the end every page is written (the last checkpoint), so the table on disk holds what
// the job gave it. Runs on the calling thread plus the reader.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/histogram.h"
#include "common/result.h"
#include "harness/job.h"
#include "io/io_queue.h"
#include "storage/heap_table.h"
#include "sys/block_device.h"

namespace iodepth {

struct CheckpointSpec {
  std::string table_path;
  TableShape shape;  // At least dirty_pages + 1 pages.
  CacheMode cache = CacheMode::kDirect;
  IoQueueOptions queue;                 // Backend; the depth is set to `depth`.
  uint32_t depth = 1;                   // N: writes in flight.
  uint64_t memory_bytes = 64ull << 20;  // M.
  uint64_t dirty_pages = 0;             // D; 0: half the pool's frames.
  bool reader = true;                   // The concurrent reader.
  int64_t runtime_ns = 0;
  int64_t ramp_ns = 0;
  uint64_t seed = 1;
  std::optional<BlockDevice> device;  // Counted over the window (window_counters.h).
};

struct CheckpointStats {
  uint64_t dirty_pages = 0;  // D.
  uint64_t checkpoints = 0;  // Measured: begun after the ramp.
  double mean_checkpoint_ns = 0;
  int64_t sync_ns = 0;                 // Of which fdatasync, summed.
  LatencyHistogram reader_during_ns;   // Reader fetches while a checkpoint ran.
  LatencyHistogram reader_between_ns;  // Reader fetches between checkpoints.
};

struct CheckpointResult {
  JobResult job;
  CheckpointStats checkpoint;
};

// Errors: InvalidArgument for a bad spec (naming the setting), a failed read, write or
// sync, a page that fails its check.
Result<CheckpointResult> RunCheckpointJob(const CheckpointSpec& spec);

}  // namespace iodepth
