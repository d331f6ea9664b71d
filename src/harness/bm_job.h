// BmJob: one buffer-manager benchmark run (docs/BENCHMARKS.md, "Buffer manager: bm_*").
// A single consumer fetches pages of a heap table through a BufferManager of capacity M
// (the memory budget) and checks each page it gets; misses go to the device either one
// at a time (the sync path: BufferManager::Fetch, one pread) or through a ReadStream on an
// IoQueue keeping up to `distance` reads in flight, adjacent misses combined up to
// io_combine bytes.
//
//   bm_seq_read   the pages 0, 1, ..., W-1, 0, 1, ... (a scan repeated over the working set)
//   bm_rand_read  pages uniform in [0, W) from the seed
//   bm_rand_rw    bm_rand_read, and a fraction `update_fraction` of the fetches (drawn from
//                 the seed) update the page in place (storage's ApplyTableUpdate), so
//                 evictions write dirty pages back: synchronously by the evictor
//                 (writeback_depth 0) or by the pool's background writer with up to
//                 writeback_depth writes in flight on the stream's backend. The table is
//                 marked updated first (MarkTableUpdated): give it a table of its own.
//                 Every fetched page is checked to carry the update count this job last
//                 gave it, so a lost or stale write-back fails the run; at the end the
//                 job writes every dirty page (untimed), leaving the table consistent.
//
// The working set W is set by the regime relative to M: hot 0.5 M (every page fetched
// once first, untimed, so every measured fetch hits), pressure 1.5 M, thrash 4 M; or set
// outright (working_set_bytes), whatever M is: the memory axis gives the two modes pools
// of different sizes over one working set (experiment/suite.h).
//
// Measured like a Job (harness/job.h): a ramp, then a window; a fetch counts when it
// returns inside the window. The result reuses JobResult: ios = pages fetched, bytes =
// page bytes fetched, clat_ns = latency of each read request (submit to completion; on
// the sync path, the duration of each fetch that had to read). BmStats adds what only a
// buffer manager has: hits, reads, combined-read sizes, time the consumer waited.
//
// Several consumers (BmSpec::jobs, the bm suite's --numjobs): N threads fetch through the
// one pool at once, each with its own IoQueue and ReadStream (or Fetch on the sync path),
// random consumers over the whole working set with their own seeds (seed + index),
// sequential ones each over their own 1/N of it, all windows opened and closed at the same
// times. One result: fetches, hits, reads and latencies summed (AddGroupMember for the
// JobResult part), the stream means weighted by fetches, the process's CPU and the
// device's counters read once around the windows. Read-only: updates run one consumer.
//
// Runs on the calling thread (one consumer) or on N threads it starts and joins; each
// queue and stream lives and dies on its own thread; the pool on the calling thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "buffer/buffer_manager.h"
#include "buffer/read_stream.h"
#include "common/result.h"
#include "harness/job.h"
#include "storage/heap_table.h"

namespace iodepth {

enum class Regime { kHot, kPressure, kThrash };
std::string_view RegimeName(Regime regime);  // "hot", "pressure", "thrash"
Result<Regime> ParseRegime(std::string_view name);
// W / M: 0.5, 1.5, 4.
double RegimeWorkingSetFactor(Regime regime);

struct BmSpec {
  std::string table_path;
  TableShape shape;     // The table file's shape; it must hold at least W pages.
  bool random = false;  // bm_rand_read; otherwise bm_seq_read.
  Regime regime = Regime::kThrash;
  CacheMode cache = CacheMode::kDirect;
  bool sync_path = false;  // BufferManager::Fetch (one read at a time), no queue.
  IoQueueOptions queue;    // Backend; the depth is set to `distance`.
  ReadStreamPolicy policy = ReadStreamPolicy::kFixed;
  uint32_t distance = 1;  // fixed: reads in flight; adaptive: the most.
  uint32_t io_combine_bytes = 128 * 1024;
  uint64_t memory_bytes = 64ull << 20;  // M.
  uint64_t working_set_bytes = 0;       // W; 0: the regime's factor x M.
  int64_t runtime_ns = 0;
  int64_t ramp_ns = 0;
  uint64_t seed = 1;
  bool verify = false;                // Check every value of every fetched page, not only its id.
  double update_fraction = 0;         // bm_rand_rw: > 0 (at most 1). REQUIRES random.
  uint32_t writeback_depth = 0;       // bm_rand_rw: 0: the evictor writes; N: background writer.
  uint32_t jobs = 1;                  // Consumers at once (1..kMaxJobs), each with its own stream.
  std::optional<BlockDevice> device;  // Counted over the window (window_counters.h).
};

// The working set in pages: working_set_bytes, else RegimeWorkingSetFactor x M, over the
// page size, at least 1.
uint64_t BmWorkingSetPages(const BmSpec& spec);

struct BmStats {
  uint64_t memory_bytes = 0;
  uint64_t working_set_bytes = 0;
  uint32_t page_bytes = 0;
  std::string policy;    // "fixed", "adaptive", or "sync" for the sync path.
  uint64_t fetches = 0;  // = JobResult::ios
  uint64_t hits = 0;     // Fetches served without a read of their own.
  uint64_t misses = 0;   // Pages read.
  uint64_t reads = 0;    // Read requests (after combining).
  uint64_t read_bytes = 0;
  std::vector<uint64_t> reads_by_pages;  // [n]: reads of n pages.
  uint64_t consumer_waits = 0;           // Fetches that waited for I/O.
  int64_t wait_ns = 0;                   // Time the consumer waited.
  double mean_distance = 0;              // Mean read-ahead distance at each fetch.
  double mean_combine_pages = 0;         // Mean combine distance at each fetch (streams only).
  double mean_pinned_pages = 0;          // Mean pages pinned ahead at each fetch (streams only).
  // bm_rand_rw, over the window: pages updated, and how the dirty ones were written back.
  double update_fraction = 0;  // As asked (BmSpec).
  uint32_t writeback_depth = 0;
  uint64_t updates = 0;
  uint64_t pages_written = 0;
  uint64_t background_writebacks = 0;
  uint64_t evictor_writebacks = 0;
  uint64_t dirty_victims_queued = 0;  // Dirty victims an evictor handed to the background writer.
  double hit_ratio() const { return fetches ? static_cast<double>(hits) / static_cast<double>(fetches) : 0; }
};

struct BmResult {
  JobResult job;
  BmStats buffer;
};

// A table file opened in `cache` mode and a buffer pool of `memory_bytes` over it whose
// verifier is storage's VerifyPage; with `warm_pages` > 0 the pages [0, warm_pages) are
// fetched once first (the hot regime's untimed warm-up). Shared by the bm and scan jobs.
struct TablePool {
  std::unique_ptr<File> file;
  std::unique_ptr<BufferManager> pool;
};
// The file is opened read-write when `writer` is enabled or `writable`.
Result<TablePool> OpenTablePool(const std::string& path, const TableShape& shape, CacheMode cache,
                                uint64_t memory_bytes, uint64_t warm_pages, const BackgroundWriterOptions& writer = {},
                                bool writable = false);

// Errors: InvalidArgument for a bad spec, the first failed read or check (a checksum
// mismatch names the page and file), ResourceExhausted from the pool.
Result<BmResult> RunBmJob(const BmSpec& spec);

}  // namespace iodepth
