// `iodepth advise`: a machine-readable recommendation (direct I/O on or off per workload
// class, backend, queue depth / prefetch distance, io_combine) with its evidence. From
// results files or matrix directories when given (several hosts' make a fleet: one
// recommendation per host class, report/fleet.py); otherwise from a short calibration matrix
// run here first (experiment/matrix.h, resumable like any matrix). The rules live in one
// place, the report package (`python3 -m report.guidance --advise`, report/advice.py and
// decide.py), which the report uses too, so advice and report never disagree.

#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "cli/cli_support.h"
#include "cli/commands.h"
#include "common/clock.h"
#include "common/units.h"
#include "experiment/matrix.h"

namespace iodepth::tools {

namespace {

struct AdviseFlags {
  std::vector<std::string> results;
  std::string out = "advice.json";
  std::string format = "json";
  std::string calibration_dir = "results/calibration";
  std::vector<std::string> memory_caps = {"none", "128MiB"};
  std::string runtime = "300ms";
  std::string directory;
  std::string working_set, memory;  // The engine's own figures, answered for from the memory axis.
};

// The calibration: every workload class at each depth, buffered and direct, the regime
// that decides the question (thrash: the working set is 4x the pool), 3 repetitions.
Result<MatrixConfig> CalibrationConfig(const AdviseFlags& f) {
  const nlohmann::json over = {
      {"workloads", {"seq_read_qd", "rand_read_qd", "bm_seq_read", "bm_rand_read", "multistream_scan"}},
      {"regimes", {"thrash"}},
      {"memory_caps", f.memory_caps},
      {"runtime", f.runtime},
      {"ramp_time", "100ms"},
      {"directory", f.directory}};
  IODEPTH_ASSIGN_OR_RETURN(MatrixConfig config, ParseMatrixConfig(over, DefaultMatrixConfig(), "advise flags"));
  IODEPTH_RETURN_IF_ERROR(ValidateMatrixConfig(config));
  return config;
}

// A line per finished unit on stderr, so a calibration of several minutes is never silent.
class CalibrationProgress final : public MatrixObserver {
 public:
  void OnStart(const MatrixPlan& plan, size_t units_pending, int64_t estimate_ns) override {
    started_ns_ = NowNs();
    std::cerr << fmt::format("iodepth advise: {} calibration units ({} to run), about {}\n", plan.units.size(),
                             units_pending, FormatDuration(estimate_ns, DurationStyle::kWholeSeconds));
  }
  void OnRun(const MatrixUnit&, const CellRecord&, uint32_t, const RepetitionRecord&, size_t, size_t,
             int64_t eta_ns) override {
    eta_ns_ = eta_ns;
  }
  void OnUnitDone(const MatrixUnit& unit, const JournalUnit&, size_t units_done, size_t units_pending) override {
    std::cerr << fmt::format("[calibration {}/{}, {} elapsed, about {} left] {}\n", units_done, units_pending,
                             FormatDuration(NowNs() - started_ns_, DurationStyle::kWholeSeconds),
                             FormatDuration(eta_ns_, DurationStyle::kWholeSeconds), unit.key);
  }

 private:
  int64_t started_ns_ = 0;
  int64_t eta_ns_ = 0;
};

Result<std::vector<std::string>> Calibrate(const AdviseFlags& f) {
  IODEPTH_ASSIGN_OR_RETURN(const MatrixConfig config, CalibrationConfig(f));
  IODEPTH_ASSIGN_OR_RETURN(const RunLock machine, WaitForMachine("advise"));
  StopOnSignals();
  MatrixOptions options;  // Assigned field by field: GCC 12 misreads a designated initializer here.
  options.out_dir = f.calibration_dir;
  options.command_line = CommandLine();
  options.stop = &StopFlag();
  std::cerr << fmt::format("iodepth advise: calibrating into {} (rerun to resume; --results to skip)\n",
                           f.calibration_dir);
  CalibrationProgress progress;
  IODEPTH_ASSIGN_OR_RETURN(const MatrixOutcome outcome, RunMatrix(config, options, &progress));
  if (outcome.interrupted) {
    return Status::FailedPrecondition("calibration interrupted; run the same command again to continue it");
  }
  if (outcome.cells_failed > 0) {
    return Status::FailedPrecondition(
        fmt::format("{} calibration cells failed; see {}/matrix.csv, then rerun to retry them", outcome.cells_failed,
                    f.calibration_dir));
  }
  return outcome.results_files;
}

Status RunAdvise(const AdviseFlags& f) {
  std::vector<std::string> inputs = f.results;
  if (inputs.empty()) {
    IODEPTH_ASSIGN_OR_RETURN(inputs, Calibrate(f));
  }
  // A file is checked here, so a bad one is named before Python starts; a directory's files
  // are found and checked by the report package (fleet.load_inputs), as `iodepth compare` does.
  for (const std::string& input : inputs) {
    std::error_code ec;
    if (!std::filesystem::is_directory(input, ec)) IODEPTH_RETURN_IF_ERROR(ReadResultsFile(input).status());
  }
  std::vector<std::string> args = inputs;
  args.insert(args.end(), {"--advise", f.out, "--format", f.format});
  if (!f.working_set.empty()) args.insert(args.end(), {"--working-set", f.working_set});
  if (!f.memory.empty()) args.insert(args.end(), {"--memory", f.memory});
  IODEPTH_RETURN_IF_ERROR(RunReportModule("report.guidance", args));
  std::cerr << fmt::format("advice: {} (how to read it: docs/ADVICE.md)\n", f.out);
  return Status::OK();
}

}  // namespace

void AddAdviseCommand(CLI::App& app) {
  auto f = std::make_shared<AdviseFlags>();
  CLI::App* cmd = app.add_subcommand(
      "advise", "Recommend direct I/O on/off, backend, queue depth and io_combine per workload class (JSON or TOML)");
  cmd->add_option("--results", f->results,
                  "Results files or `iodepth matrix --out` directories to decide from; several hosts' give one "
                  "recommendation per host class (default: run a short calibration)")
      ->check(CLI::ExistingPath)
      ->delimiter(',');
  cmd->add_option("--out", f->out, "Where the recommendation goes")->capture_default_str();
  cmd->add_option("--format", f->format, "json or toml")->check(CLI::IsMember({"json", "toml"}))->capture_default_str();
  cmd->add_option("--calibration-dir", f->calibration_dir, "Calibration matrix directory (resumable)")
      ->capture_default_str();
  cmd->add_option("--memory-caps", f->memory_caps, "Calibration caps: none, inherit or sizes")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--runtime", f->runtime, "Calibration: measured time per run")->capture_default_str();
  cmd->add_option("--directory", f->directory, "Calibration data files (default: <calibration-dir>/data)");
  cmd->add_option("--working-set", f->working_set,
                  "The engine's working set (e.g. 24GiB): also answer for working set / --memory, from the measured "
                  "memory axis, without extrapolating");
  cmd->add_option("--memory", f->memory, "The engine's memory for its data (pool + page cache), e.g. 8GiB");
  cmd->callback([f] { ExitOnError("advise", RunAdvise(*f)); });
}

}  // namespace iodepth::tools
