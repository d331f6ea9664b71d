// experiment/: what to measure and in what order: the suites (the cells of io_patterns,
// qd, bm and scan), the experiment matrix that crosses them with memory caps, its config
// and resumable journal, and the memory cgroup a capped run enters. It decides the plan
// and hands each cell to the harness; it never moves a byte of data itself, and reads
// the host only through sys/.
//
// The experiment matrix runner: the suites' cells crossed with memory caps, run as units
// that can be resumed, written as one results file per (suite, cap), and per memory ratio
// for the bm and scan groups of the memory axis.
//
// A unit is one cell in each mode (the buffered and direct twins of, say,
// bm_seq_read_qd16/io_uring/thrash under a 128 MiB cap). Its repetitions interleave the
// modes in ABBA order (buffered, direct; direct, buffered; ...), so that drift of a noisy
// machine that is linear in time lands on both sides of the direct/buffered ratio alike
// and a mode never always runs second. A finished unit goes to the journal
// (matrix_journal.h) at once; a rerun skips it.
//
// Repetitions until decided: once every unit has its base repetitions, the matrix asks the
// decision rule (MatrixOptions::find_undecided; the CLI runs report/decide.py, the one
// place the rule lives) which comparisons are still inconclusive, gives each of their
// units repetition_step more repetitions (continuing the ABBA order), and asks again,
// until none is undecided, each has max_repetitions, the budget of time is spent, or it
// is stopped. The looks are a fixed schedule (repetitions, + step, ... up to the most),
// which the rule accounts for (docs/BENCHMARKS.md "Repetitions until decided").
//
//   for each suite (io_patterns, qd, bm, scan):     files made or reused, outside any cap
//     for each memory cap (none, 128 MiB, ...):     cgroup made (memory_cap.h)
//       for each unit not in the journal:
//         for rep in 1..R:  for mode in (buffered, direct):
//             enter cap -> cache state set -> run -> sample memory -> leave cap
//         append the unit to the journal (fdatasync)
//   write <out>/<suite>-<cap>.json and matrix.csv from everything the journal holds
//
// Every cap is made once up front (and removed) before any cell runs, so a cap that
// cannot be made stops the matrix before it measures anything under a false label. A
// cell the machine cannot run is recorded as unsupported; one that fails (an I/O error)
// is recorded as an error with its message, the matrix goes on, and a rerun retries it.
// Runs on the calling thread; `stop` (set from a signal handler) ends it between runs.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "experiment/matrix_config.h"
#include "experiment/matrix_journal.h"
#include "experiment/memory_cap.h"
#include "results/results.h"
#include "sys/environment.h"
#include "sys/run_lock.h"

namespace iodepth {

struct MatrixUnit {
  std::string key;   // "bm:bm_seq_read_qd16/io_uring/thrash@cap134217728"
  size_t group = 0;  // Index into the plan's groups.
  uint64_t memory_cap = 0;
  double memory_ratio = 0;      // Its group's (MatrixGroup::memory_ratio).
  std::vector<CellPlan> cells;  // One per mode, in the config's mode order.
};

struct MatrixPlan {
  std::vector<MatrixGroup> groups;
  std::vector<MatrixUnit> units;
};

// Validates the config and lists its units in run order.
Result<MatrixPlan> PlanMatrix(const MatrixConfig& config, const std::string& data_dir);

// A direct/buffered comparison the decision rule left inconclusive: the two cells' ids,
// under one memory cap.
struct UndecidedComparison {
  std::string direct_id;
  std::string buffered_id;
  uint64_t memory_cap = 0;
};

// Reads results files and says which comparisons are undecided.
using UndecidedFinder = std::function<Result<std::vector<UndecidedComparison>>(const std::vector<std::string>&)>;

struct MatrixOptions {
  std::string out_dir = "results/matrix";
  bool fresh = false;  // Set an existing journal aside and run everything.
  CgroupFs cgroup_fs;  // Where the cgroup files are (tests fake them).
  std::string command_line;
  const std::atomic<bool>* stop = nullptr;
  UndecidedFinder find_undecided;  // Empty: no re-measuring.
  // The data directory may differ from the one the journal recorded (it moved and
  // --directory names its new place): MatrixJournal::Open's directory_moved.
  bool directory_moved = false;
  // Taken when this run's measurements began (SampleCpu): the results files' environment
  // then says how busy the rest of the machine kept its CPUs over them. None: "unknown".
  std::optional<CpuSample> load_since;
};

// Told about progress; the CLI prints from it. Called on the running thread.
class MatrixObserver {
 public:
  virtual ~MatrixObserver() = default;
  virtual void OnStart(const MatrixPlan& plan, size_t units_pending, int64_t estimate_ns) = 0;
  virtual void OnRun(const MatrixUnit& unit, const CellRecord& cell, uint32_t repetition,
                     const RepetitionRecord& record, size_t runs_done, size_t runs_total, int64_t eta_ns) = 0;
  virtual void OnUnitDone(const MatrixUnit& unit, const JournalUnit& record, size_t units_done,
                          size_t units_pending) = 0;
  // A round of re-measuring begins: `units` undecided units get more repetitions.
  virtual void OnRemeasure(size_t round, size_t units, int64_t budget_left_ns) {
    (void)round, (void)units, (void)budget_left_ns;
  }
};

struct MatrixOutcome {
  size_t units_total = 0;
  size_t units_skipped = 0;  // Already in the journal.
  size_t units_run = 0;
  size_t cells_failed = 0;  // Status "error" (retried by a rerun).
  bool interrupted = false;
  size_t remeasure_rounds = 0;
  size_t units_remeasured = 0;  // Distinct units given more repetitions.
  size_t still_undecided = 0;   // Comparisons undecided at the last look.
  bool budget_spent = false;    // Re-measuring stopped for the budget.
  // The limit of the cgroup the process runs in (a container's, a slice's): cells labelled
  // "no cap" ran under it. nullopt: none, as the label says.
  std::optional<uint64_t> inherited_limit;
  std::vector<std::string> results_files;  // One per (suite, cap), from the whole journal.
  std::string csv_file;
};

Result<MatrixOutcome> RunMatrix(const MatrixConfig& config, const MatrixOptions& options, MatrixObserver* observer);

// Takes <out>/.lock, creating <out>: one run (or --collect) at a time writes into a results
// directory. A second one is refused at once, naming the pid that holds it: two runs into
// one directory would each spoil the other's numbers (and cache state) and each exit 0.
Result<RunLock> LockMatrixOut(const std::string& out_dir);

// Writes the results files from the journal's units (RunMatrix does this at its end;
// `iodepth matrix --collect` does it alone). Environment is collected for `data_path`.
Result<MatrixOutcome> WriteMatrixResults(const MatrixConfig& config, const MatrixJournal& journal,
                                         const MatrixOptions& options, const std::string& data_path);

}  // namespace iodepth
