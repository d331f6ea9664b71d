// ScanJob: one multistream_scan_qd run (docs/BENCHMARKS.md, "scan"). S scans run at
// once, each on its own thread with its own IoQueue, all sharing one BufferManager of
// capacity M. The working set W (set by the regime, as for bm) is split into S equal
// page ranges, one per scan; each scan runs the query
//
//   SELECT count(*), sum(c2) FROM t WHERE c0 < 500      (by default; spec.query)
//
// over its range again and again until the run ends, and checks every complete pass's
// answer against ExpectedAnswer (exec/operators.h): a wrong answer fails the run. The last
// pass, cut off by the end of the run, is not checked.
//
//   thread 1: [scan pages 0..W/S) [again] [again] ...        each pass: SeqScan ->
//   thread 2: [scan pages W/S..2W/S) [again] ...               Meter -> Filter -> Aggregate
//   ...                    ^ramp end                 ^end
//
// Measured like the other jobs: a ramp, then a window; a page counts when a scan takes it
// inside the window. Pipelined scans read ahead with a ReadStream (distance N, fixed or
// adaptive); sync scans fetch each page when needed (one pread per miss).
//
// Strategy (pipelined scans): how a scan takes frames for its reads (buffer/buffer_ring.h).
//   clock  straight from the pool's clock sweep, shared by all: on a pool under pressure
//          the scan whose pages come round first keeps the pool while the others thrash.
//   ring   PostgreSQL's: a small private ring (256 KiB, or the stream's pins plus two
//          reads) recycled oldest first. Fair, and other readers' pages stay, but a scan
//          that comes round again never hits: every pass reads its range from storage.
//   share  a private ring of the scan's share of the pool (pool / S), recycled newest
//          first: each scan keeps the first part of its range resident and turns over only
//          the frames of what it read last, so every scan hits on an equal share.
//   auto   share when the working set is larger than the pool (where the clock is unfair),
//          the clock when it fits (every page stays resident and a ring would only throw
//          hits away; PostgreSQL's rule, a table over a quarter of the pool, would re-read
//          a table that fits from storage on every pass).
// Sync scans fetch through the clock (Fetch() takes no ring).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "buffer/buffer_ring.h"
#include "common/result.h"
#include "exec/operators.h"
#include "harness/bm_job.h"
#include "harness/job.h"

namespace iodepth {

enum class ScanStrategy { kAuto, kRing, kShare, kClock };
// Accepts "auto", "ring", "share", "clock".
Result<ScanStrategy> ParseScanStrategy(std::string_view name);
std::string_view ScanStrategyName(ScanStrategy strategy);

struct ScanJobSpec {
  std::string table_path;
  TableShape shape;
  Regime regime = Regime::kThrash;
  CacheMode cache = CacheMode::kDirect;
  uint32_t streams = 4;  // S, 1..kMaxScanStreams.
  ScanMode mode = ScanMode::kPipelined;
  IoQueueOptions queue;  // Pipelined: the backend; depth is set to `distance`.
  ReadStreamPolicy policy = ReadStreamPolicy::kFixed;
  ScanStrategy strategy = ScanStrategy::kAuto;  // Pipelined scans: see "Strategy" above.
  uint32_t distance = 1;
  uint32_t io_combine_bytes = 128 * 1024;
  uint64_t memory_bytes = 64ull << 20;
  uint64_t working_set_bytes = 0;  // As BmSpec's: 0, the regime's factor x memory_bytes.
  int64_t runtime_ns = 0;
  int64_t ramp_ns = 0;
  QuerySpec query;                    // Default set by DefaultScanQuery().
  std::optional<BlockDevice> device;  // Counted over the window (window_counters.h).
};
inline constexpr uint32_t kMaxScanStreams = 64;

// SELECT count(*), sum(c2) FROM t WHERE c0 < 500, with `work` rounds of per-row work.
QuerySpec DefaultScanQuery(uint32_t work);

struct ScanStreamResult {
  uint64_t pages = 0;  // In the window.
  uint64_t rows = 0;
  uint64_t passes_checked = 0;  // Complete passes whose answer matched (whole run).
  int64_t wait_ns = 0;          // Waiting for I/O, in the window.
  double bw_bytes = 0;
};

struct ScanJobResult {
  JobResult job;   // ios = pages taken in the window (all scans), clat = page latency.
  BmStats buffer;  // hits, reads, waits, summed over scans.
  std::vector<ScanStreamResult> streams;
  uint64_t rows = 0;
  uint64_t passes_checked = 0;
  ScanStrategy strategy = ScanStrategy::kClock;  // As run: auto resolved; sync scans use the clock.
  BufferRingStats ring;                          // Summed over the scans' rings (whole run).
};

// The strategy `spec` runs with: auto resolved for a working set of `working_set_pages`
// in a pool of `capacity` frames; the clock for sync scans.
ScanStrategy ResolveScanStrategy(const ScanJobSpec& spec, uint64_t working_set_pages, uint32_t capacity);

// Errors: InvalidArgument for a bad spec (naming the field), a failed read or checksum
// (naming page and file), or a wrong answer (Corruption naming the scan, its page range,
// and both answers).
Result<ScanJobResult> RunScanJob(const ScanJobSpec& spec);

}  // namespace iodepth
