// Suites: named sets of cells run as one command, each cell repeated, the whole written
// as one results document (results/results.h).
//
//   io_patterns   seq_read, rand_read, seq_write, rand_write: the synchronous File path,
//                 depth 1, each in every mode. The baseline; its definition never changes.
//   qd            seq_read_qd{N}, rand_read_qd{N} for each depth N, mode and backend
//                 (sync only at N = 1), through an IoQueue keeping exactly N outstanding.
//   bm            bm_seq_read_qd{N}, bm_rand_read_qd{N}: pages of a heap table fetched
//                 through a BufferManager of capacity --memory, misses read N at a time by
//                 a ReadStream (harness/bm_job.h), for each regime (hot, pressure, thrash),
//                 mode and backend (sync: BufferManager::Fetch, at N = 1), plus
//                 bm_seq_read_adaptive (the adaptive distance, at most the largest N).
//   scan          multistream_scan_qd{N}: --streams scans at once over one shared pool,
//                 each pipelined with distance N (harness/scan_job.h), for each regime, mode
//                 and backend (sync: scans fetching page by page, at N = 1).
//   write         the write path, for each mode and backend:
//                   wal_commit_qd{N}    N committers on a fresh log (harness/wal_job.h);
//                                       buffered: write + fdatasync; direct: fdatasync
//                                       and O_DSYNC, each a cell (policy names it)
//                   bm_rand_rw_qd{N}    bm_rand_read at distance N with update_fraction of
//                                       the fetches updating their page, written back by
//                                       the evictor (writeback_depth 0) or the background
//                                       writer at writeback_depth, for each regime
//                   checkpoint_qd{N}    D dirty pages written at depth N then fdatasync,
//                                       a reader timed beside it (harness/checkpoint_job.h)
//                 The table (filename) is the write suite's own: its rows are updated in
//                 place, so it is marked and no read suite reuses it; the log lives in a
//                 directory of its own beside it, removed after each run.
//
// Memory axis (bm, scan; `iodepth matrix` memory_ratios): with memory_budget_bytes T set,
// the cells fetch one working set W whatever the mode (the thrash regime's, 4 M pages, the
// table's whole size) under the regime label "memory", and each mode gets T of memory in
// all, spent as that mode's engine would spend it:
//
//   direct     pool T                 nothing in the page cache (O_DIRECT keeps no copy)
//   buffered   pool min(M, T)         the page cache may hold the rest, T - pool
//
// The matrix runs both under one cap of T plus the process's reserve (pool and page cache
// are both charged to it), so buffered never has more memory than direct. Other regimes
// and the adaptive cells do not run on the axis.
//
// Repetitions are interleaved: every cell runs once, then every cell again, so slow
// drift of a noisy machine lands on all cells alike rather than on whichever ran last.
// Before each repetition of a buffered or dontcache cell the page cache is put in the
// claimed state (cold or warm) and its residency measured; none of that is timed.
// Runs on the calling thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "harness/bm_job.h"
#include "harness/cache_state.h"
#include "harness/checkpoint_job.h"
#include "harness/data_file.h"
#include "harness/job.h"
#include "harness/scan_job.h"
#include "harness/wal_job.h"
#include "results/results.h"

namespace iodepth {

struct SuiteConfig {
  std::string suite = "qd";  // "io_patterns", "qd" or "bm"
  std::string filename;
  uint64_t file_size_bytes = 256ull << 20;
  uint64_t working_set_bytes = 0;  // 0: the whole file.
  uint64_t block_size = 4096;
  int64_t runtime_ns = 2'000'000'000;
  int64_t ramp_ns = 500'000'000;
  uint64_t number_ios = 0;
  uint32_t repetitions = 3;
  uint64_t seed = 1;
  bool verify = false;
  std::vector<uint32_t> depths = {1, 4, 16, 32};
  std::vector<CacheMode> modes = {CacheMode::kBuffered, CacheMode::kDirect};
  std::vector<Backend> backends = {Backend::kIoUring, Backend::kWorker, Backend::kSync};
  CacheState cache_state = CacheState::kCold;
  bool drop_caches = false;
  std::vector<std::string> only;  // Keep cells whose id or workload equals or starts with one of these.
  IoQueueOptions queue;           // Template: worker threads and io_uring options.
  uint32_t batch_submit = 1;      // fio's iodepth_batch_submit (JobSpec::batch_submit).
  // qd and bm: queues at once, each on its own thread (fio's numjobs; JobSpec::jobs,
  // BmSpec::jobs); every cell of the suite runs with this many. The sync path stays at 1.
  uint32_t jobs = 1;
  std::string command_line;
  // bm only. The table (filename) is loaded, or reused when it already has this shape.
  // An iodepth table of another shape there is replaced only with overwrite_table
  // (LoadHeapTable's rule; a file iodepth did not make never is).
  bool overwrite_table = false;
  uint64_t memory_bytes = 64ull << 20;  // M, the buffer pool's capacity.
  std::vector<Regime> regimes = {Regime::kHot, Regime::kPressure, Regime::kThrash};
  PageSize page_size = kDefaultPageSize;
  uint32_t io_combine_bytes = 128 * 1024;
  bool adaptive = true;  // Add the bm_seq_read_adaptive cells.
  // bm and scan: the memory axis (0: off); see "Memory axis" above.
  uint64_t memory_budget_bytes = 0;
  // scan only.
  uint32_t streams = 4;                              // S concurrent scans.
  uint32_t work = 0;                                 // Per-row work rounds in the scans' predicate.
  ScanStrategy scan_strategy = ScanStrategy::kAuto;  // Ring or clock (harness/scan_job.h).
  // write only.
  double update_fraction = 0.1;  // bm_rand_rw: fetches that update their page.
  uint32_t writeback_depth = 8;  // bm_rand_rw: 0: the evictor writes dirty victims itself.
  uint32_t wal_record_bytes = 128;
  bool checkpoint_reader = true;  // checkpoint: the reader beside it (off to compare with fio).
};

// bm: the table the suite needs: the thrash regime's W = 4 M pages (every regime fits).
TableShape BmTableShape(const SuiteConfig& config);

// The regime label of the memory axis's cells ("memory").
inline constexpr std::string_view kMemoryAxisRegime = "memory";
// bm, scan: the working set W of the memory axis (the thrash regime's under M), in bytes.
uint64_t MemoryAxisWorkingSetBytes(const SuiteConfig& config);
// bm, scan: the buffer pool a cell of `mode` gets: M, or on the memory axis T (direct) and
// min(M, T) (buffered, dontcache).
uint64_t CellPoolBytes(const SuiteConfig& config, CacheMode mode);

struct CellPlan {
  CellRecord record;  // Identity fields filled; results empty.
  JobSpec spec;       // Without file_id, set once the data file exists.
  CacheState cache_state = CacheState::kNotApplicable;
  std::optional<BmSpec> bm;                  // bm cells: what RunBmJob runs (spec then only describes it).
  std::optional<ScanJobSpec> scan;           // scan cells: what RunScanJob runs.
  std::optional<WalJobOptions> wal;          // wal_commit cells: what RunWalCommitJob runs,
  std::string wal_sync;                      // and its durability method's name.
  std::optional<CheckpointSpec> checkpoint;  // checkpoint cells.
};

// The configuration as recorded in the results file's "config".
nlohmann::json SuiteConfigToJson(const SuiteConfig& config);

// The cells of a suite, in run order. Errors name the bad setting (an unknown suite, a
// depth of 0, an --only that matches nothing).
Result<std::vector<CellPlan>> PlanSuite(const SuiteConfig& config);

// Told about progress; the CLI prints from it. Called on the running thread.
class SuiteObserver {
 public:
  virtual ~SuiteObserver() = default;
  virtual void OnStart(const SuiteConfig& config, size_t cells, int64_t estimate_ns) = 0;
  virtual void OnRepetition(const CellPlan& cell, uint32_t repetition, const RepetitionRecord& record, size_t runs_done,
                            size_t runs_total, int64_t eta_ns) = 0;
  virtual void OnUnsupported(const CellPlan& cell, const std::string& reason) = 0;
  // After each round but the last (every cell run once more), and before an error is
  // returned, with the document of what has run, marked config.partial; the CLI writes it,
  // so a crash or a kill loses at most the round in flight. An error returned stops the suite.
  virtual Status OnRound(const ResultsDocument& partial) {
    (void)partial;
    return Status::OK();
  }
};

// Makes or reuses the file the cells read: the data file (io_patterns, qd: its info is
// returned) or the heap table (bm, scan: reused when it already has the shape).
Result<DataFileInfo> PrepareSuiteFiles(const SuiteConfig& config, const std::vector<CellPlan>& cells);

// One repetition of one cell: puts the page cache in the state the cell claims (not
// timed), then runs it. kNotSupported means the machine cannot run this cell (the caller
// records it as unsupported); any other error is a failure of the run.
Result<RepetitionRecord> RunCellRepetition(const SuiteConfig& config, const CellPlan& cell, const DataFileInfo& file);

// Runs every cell `repetitions` times (interleaved) and returns the finished document
// (environment left for the caller to fill). A cell the machine cannot run (dontcache on
// an old kernel, io_uring disabled) is recorded as unsupported with the reason; any other
// failure (an I/O error, a verify mismatch) stops the suite with that error (the rounds
// finished go to OnRound first). When `stop` is set (a signal handler), the suite ends
// before its next run and returns what has run, config.partial saying so.
Result<ResultsDocument> RunSuite(const SuiteConfig& config, SuiteObserver* observer,
                                 const std::atomic<bool>* stop = nullptr);

}  // namespace iodepth
