// results/: the records a measurement leaves: the results file (cells, repetitions, the
// flags a reader must see), the fio-style JSON of one job, and the CSV. It turns what the
// harness measured into documents and reads them back; it never measures, never runs a
// job and never touches the host (the environment record is collected by sys/). The one
// definition of the file's format is schema/results.schema.json, which the tests check
// this code against.
//
// The results file: plain records mirroring docs/BENCHMARKS.md ("Results file"), their
// JSON (de)serialisation, and the CSV. A record holds numbers only, so a results file read
// back is the same document written (the round trip is tested).
//
// Records are built from JobResults by MakeRepetitionRecord and SummariseCell (median and
// coefficient of variation over repetitions, and the flags a reader must see).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "harness/bm_job.h"
#include "harness/checkpoint_job.h"
#include "harness/job.h"
#include "harness/scan_job.h"
#include "harness/wal_job.h"

namespace iodepth {

// 2: regime, policy and buffer records (bm suite). 3: memory_cap and memory records
// (matrix --memory-cap). Version 2 files are still read, as cells without a cap.
inline constexpr int kResultsSchemaVersion = 3;
inline constexpr int kOldestReadableSchemaVersion = 2;
inline constexpr double kCvFlagThreshold = 0.10;        // cv_high: IOPS varies more than 10%.
inline constexpr double kDepthShortThreshold = 0.80;    // depth_short: Little's-law depth < 80% of target.
inline constexpr double kColdResidentThreshold = 0.05;  // cold_but_cached: > 5% of the set cached.
inline constexpr double kWarmResidentThreshold = 0.95;  // warm_not_cached: < 95% of the set cached.
// served_from_memory: a cold buffered read cell whose device read less than a tenth of what it
// asked for: it was served mostly from the page cache. Between a tenth and all of it, the cell
// was partly cached, which its memory condition (the cap against the working set) explains.
inline constexpr double kServedFromMemoryThreshold = 0.1;

struct LatencyRecord {
  uint64_t min = 0;
  uint64_t max = 0;
  double mean = 0;
  uint64_t N = 0;                              // NOLINT: fio's name.
  std::map<std::string, uint64_t> percentile;  // "95.000000" -> ns
};

struct DepthRecord {
  uint32_t target = 0;
  double mean_in_flight = 0;
  double utilization = 0;
  double littles_law = 0;
  uint64_t submit_calls = 0;
  uint64_t submitted = 0;
  uint64_t reap_calls = 0;
  uint64_t reaped = 0;
  double avg_submit_batch = 0;
  double avg_reap_batch = 0;
  uint64_t resubmits = 0;
  uint64_t refills_short = 0;          // Refills leaving fewer than target in flight (0 when depth was kept).
  uint64_t inline_completions = 0;     // Requests complete when their Submit() returned (IoQueueStats).
  uint64_t async_issued = 0;           // io_uring: requests issued with IOSQE_ASYNC.
  double submit_ns_per_io = 0;         // Time inside Submit() per request submitted.
  double context_switches_per_io = 0;  // The process's context switches in the window / ios.
  uint32_t jobs = 1;                   // Queues at once, each on its own thread (fio's numjobs); target = jobs x qd.
};

// Buffer-manager figures of one bm repetition (harness/bm_job.h).
struct BufferRecord {
  uint64_t memory_bytes = 0;       // M, the pool's capacity.
  uint64_t working_set_bytes = 0;  // W.
  uint32_t page_bytes = 0;
  uint64_t fetches = 0;
  uint64_t hits = 0;
  uint64_t misses = 0;
  double hit_ratio = 0;
  uint64_t reads = 0;  // Read requests, after combining.
  uint64_t read_bytes = 0;
  double mean_read_bytes = 0;                      // The combined-read size.
  std::map<std::string, uint64_t> reads_by_pages;  // "16" -> reads of 16 pages.
  uint64_t consumer_waits = 0;
  int64_t wait_ns = 0;
  double wait_fraction = 0;  // wait_ns / runtime_ns: how much of the run the consumer waited.
  double mean_distance = 0;
  double mean_combine_pages = 0;  // bm's read streams: the combine distance and the pages pinned
  double mean_pinned_pages = 0;   // ahead, averaged over fetches (0 for scans and the sync path).
};

// Scan figures of one multistream_scan repetition (harness/scan_job.h).
struct ScanRecord {
  uint32_t streams = 0;
  uint64_t rows = 0;
  double rows_per_s = 0;
  uint64_t passes_checked = 0;          // Complete passes whose answer was verified.
  std::vector<double> stream_bw_bytes;  // Per scan, page bytes per second.
  std::string strategy;                 // "ring" or "clock" (harness/scan_job.h), as run.
  uint64_t ring_reused_pages = 0;       // Pages read into frames recycled from the scans' rings.
};

// Write-path figures of one repetition of the write suite (experiment/suite.h): the log's
// group commit (wal_commit), updates and their write-back (bm_rand_rw), a checkpoint and
// the reader beside it (checkpoint). Figures a workload does not have are 0 ("" for sync).
struct WriteRecord {
  std::string sync;                    // wal_commit: "fdatasync" or "dsync".
  double commits_per_flush = 0;        // wal_commit: group commit's group size.
  double syncs_per_commit = 0;         // wal_commit
  double bytes_per_commit = 0;         // wal_commit: log bytes written per commit.
  uint64_t max_write_depth = 0;        // wal_commit: the most log writes in flight at once.
  double update_fraction = 0;          // bm_rand_rw
  uint64_t updates = 0;                // bm_rand_rw: pages updated in the window.
  uint32_t writeback_depth = 0;        // bm_rand_rw: 0: the evictor writes synchronously.
  uint64_t pages_written = 0;          // bm_rand_rw, checkpoint: pages written back.
  uint64_t background_writebacks = 0;  // bm_rand_rw: of which by the background writer,
  uint64_t evictor_writebacks = 0;     // and of which by an evictor, synchronously.
  uint64_t dirty_pages = 0;            // checkpoint: D.
  uint64_t checkpoints = 0;            // checkpoint: measured (begun after the ramp).
  double mean_checkpoint_ns = 0;       // checkpoint: FlushAll + fdatasync.
  int64_t sync_ns = 0;                 // checkpoint: of which fdatasync, summed.
  LatencyRecord reader_during_ns;      // checkpoint: reader fetches while one ran;
  LatencyRecord reader_between_ns;     // and between them.
};

// The memory cgroup a capped repetition ran in (experiment/memory_cap.h): what it was allowed
// and what it used. Counters are deltas over the repetition; peak is since its start.
struct MemoryRecord {
  std::string cgroup;  // "v1", "v2" or "inherited".
  uint64_t cap_bytes = 0;
  uint64_t peak_bytes = 0;
  uint64_t page_cache_bytes = 0;  // Charged to the cgroup at the end of the run.
  uint64_t refaults = 0;          // Evicted file pages read again (workingset refaults).
  uint64_t limit_events = 0;      // Times usage hit the cap (reclaim forced by it).
  uint64_t oom_kills = 0;
};

// What the block device under the data file did in a repetition's window
// (harness/window_counters.h). The device's counters, so other processes' I/O to it shows.
struct DeviceRecord {
  std::string name;  // "vda1"; the filesystem type ("tmpfs") where the storage is memory without a device.
  std::string kind;  // "memory", "device" or "unknown" (sys/block_device.h StorageKind).
  uint64_t read_bytes = 0;
  uint64_t write_bytes = 0;
  uint64_t read_ios = 0;
  uint64_t write_ios = 0;
};

struct MedianDeviceRecord {
  double read_bytes = 0;
  double write_bytes = 0;
  double requested_bytes = 0;  // What the cell needed from storage: io_bytes, or the pool's miss reads.
};

struct MedianMemoryRecord {
  double peak_bytes = 0;
  double page_cache_bytes = 0;
  double refaults = 0;
};

struct MedianScanRecord {
  double rows_per_s = 0;
  double min_stream_bw_bytes = 0;  // The slowest scan's bandwidth (fairness).
};

struct MedianBufferRecord {
  double hit_ratio = 0;
  double mean_read_bytes = 0;
  double reads_per_s = 0;
  double wait_fraction = 0;
  double mean_distance = 0;
  double mean_combine_pages = 0;
  double mean_pinned_pages = 0;
};

struct RepetitionRecord {
  double iops = 0;
  double bw_bytes = 0;
  uint64_t total_ios = 0;
  uint64_t io_bytes = 0;
  int64_t runtime_ns = 0;
  LatencyRecord clat_ns;
  int64_t usr_cpu_ns = 0;
  int64_t sys_cpu_ns = 0;
  double cpu_ns_per_io = 0;
  DepthRecord depth;
  double resident_before = -1;  // -1: not measured (direct cells).
  uint64_t verified_bytes = 0;
  std::optional<BufferRecord> buffer;  // bm and scan cells only.
  std::optional<ScanRecord> scan;      // scan cells only.
  std::optional<MemoryRecord> memory;  // Cells run under a memory cap only.
  std::optional<DeviceRecord> device;  // nullopt: no device could be read.
  std::optional<WriteRecord> write;    // write-suite cells only.
};

struct MedianLatencyRecord {
  double mean = 0;
  uint64_t max = 0;
  std::map<std::string, uint64_t> percentile;
};

struct MedianDepthRecord {
  double mean_in_flight = 0;
  double littles_law = 0;
  double utilization = 0;
};

struct MedianRecord {
  double iops = 0;
  double bw_bytes = 0;
  MedianLatencyRecord clat_ns;
  double cpu_ns_per_io = 0;
  MedianDepthRecord depth;
  std::optional<MedianBufferRecord> buffer;  // bm and scan cells only.
  std::optional<MedianScanRecord> scan;      // scan cells only.
  std::optional<MedianMemoryRecord> memory;  // Cells run under a memory cap only.
  std::optional<MedianDeviceRecord> device;  // When every repetition has a device record.
};

struct CvRecord {
  double iops = 0;
  double bw_bytes = 0;
  double clat_ns_p95 = 0;
};

struct CellRecord {
  std::string id;
  std::string workload;
  std::string suite;
  std::string rw;
  uint32_t qd = 1;
  uint64_t bs = 4096;
  std::string mode;
  std::string backend;
  std::string cache_state;
  std::string regime;         // bm cells: hot, pressure or thrash; "" otherwise.
  std::string policy;         // bm cells: fixed, adaptive or sync; "" otherwise.
  uint64_t memory_cap = 0;    // Bytes the cell's cgroup could use (page cache included); 0: no cap.
  std::string status = "ok";  // ok | unsupported | error
  std::string reason;
  std::vector<std::string> flags;
  MedianRecord median;
  CvRecord cv;
  std::vector<RepetitionRecord> repetitions;
};

struct FioCrossCheckRecord {
  std::string cell;
  nlohmann::json fio;
  nlohmann::json ratio;
};

struct ResultsDocument {
  std::string iodepth_version;
  std::string git_commit;
  std::string created_utc;
  std::string command;
  nlohmann::json config;
  nlohmann::json environment;
  std::vector<CellRecord> cells;
  std::vector<FioCrossCheckRecord> fio_crosscheck;
};

std::string PercentileKey(double percent);  // 95 -> "95.000000", as fio writes it.

RepetitionRecord MakeRepetitionRecord(const JobSpec& spec, const JobResult& result, double resident_before);
// The same for a bm job, with its buffer record; depth.littles_law counts read requests.
RepetitionRecord MakeBmRepetitionRecord(const JobSpec& spec, const BmResult& result, double resident_before);
// The same for a scan job: the buffer record summed over its scans, and the scan record.
RepetitionRecord MakeScanRepetitionRecord(const JobSpec& spec, const ScanJobResult& result, double resident_before);
// wal_commit: ios = commits, bytes = log bytes written, clat = commit latency; `sync` is
// the durability method ("fdatasync", "dsync").
RepetitionRecord MakeWalRepetitionRecord(const JobSpec& spec, const WalJobResult& result, const std::string& sync,
                                         double resident_before);
// checkpoint: ios = pages written by the checkpoints, clat = each write's latency.
RepetitionRecord MakeCheckpointRepetitionRecord(const JobSpec& spec, const CheckpointResult& result,
                                                double resident_before);
LatencyRecord MakeLatencyRecord(const LatencyHistogram& histogram);
// Fills median, cv and flags of `cell` from its repetitions; the cache flags compare
// each repetition's resident_before with the state the cell claims (cell.cache_state).
void SummariseCell(CellRecord& cell);

nlohmann::json ToJson(const ResultsDocument& document);
// Validates the schema name and version and every field; errors name what is wrong.
Result<ResultsDocument> ParseResults(const nlohmann::json& json);
Result<ResultsDocument> ReadResultsFile(const std::string& path);
// One cell alone (the matrix journal stores cells line by line); errors name the field.
nlohmann::json CellToJson(const CellRecord& cell);
Result<CellRecord> ParseCell(const nlohmann::json& json);
// The cells of {"cells": [CELL, ...]} (a results file is one) for SummariseCell, which
// `iodepth summarise` runs on them: each cell as CellToJson writes it, except that
// median, cv and flags, which SummariseCell recomputes, may be left out. Errors name the
// cell (its index, and its id when it has one) and the field.
Result<std::vector<CellRecord>> ParseCellsToSummarise(const nlohmann::json& json);

std::string CsvHeader();
std::string CsvRow(const CellRecord& cell);

}  // namespace iodepth
