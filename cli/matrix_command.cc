// `iodepth matrix`: the experiment matrix (experiment/matrix.h) from a config file narrowed by
// flags, with a line per run, a progress line, resumption, the results files and the
// report. Ctrl-C stops between runs, keeping every finished unit; a second Ctrl-C kills.
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include <fmt/format.h>

#include "cli/cli_support.h"
#include "cli/commands.h"
#include "common/units.h"
#include "experiment/matrix.h"
#include "sys/environment.h"

namespace iodepth::tools {

namespace {

// Durations on the console: tenths below 10 s, since a matrix run is often under a second.
constexpr DurationStyle kConsoleDurations = DurationStyle::kTenthsBelowTenSeconds;

struct MatrixFlags {
  std::string config_path;
  bool print_config = false;
  bool list = false;
  bool collect = false;
  bool fresh = false;
  int report = 1;
  std::string out_dir = "results/matrix";
  std::vector<std::string> workloads, modes, backends, regimes, memory_caps;
  std::vector<std::string> memory_ratios;
  std::vector<uint32_t> depths;
  std::string memory_cap;
  uint32_t repetitions = 0;
  uint32_t max_repetitions = 0;
  std::string budget;
  std::string runtime, ramp_time, size, memory, directory, uring_async, strategy;
  int verify = -1;
};

// Applies the narrowing flags over the config file's (or the default's) values.
Result<MatrixConfig> ApplyFlags(const MatrixFlags& f, MatrixConfig c) {
  nlohmann::json over = nlohmann::json::object();
  if (!f.workloads.empty()) over["workloads"] = f.workloads;
  if (!f.depths.empty()) over["depths"] = f.depths;
  if (!f.modes.empty()) over["modes"] = f.modes;
  if (!f.backends.empty()) over["backends"] = f.backends;
  if (!f.regimes.empty()) over["regimes"] = f.regimes;
  if (!f.memory_caps.empty()) over["memory_caps"] = f.memory_caps;
  if (!f.memory_cap.empty()) {
    over["memory_caps"] = {f.memory_cap};
    over["memory_ratios"] = nlohmann::json::array();  // "Every cell under this cap": no axis beside it.
  }
  if (!f.memory_ratios.empty()) {
    over["memory_ratios"] = nlohmann::json::array();
    for (const std::string& text : f.memory_ratios) {
      if (text == "none" && f.memory_ratios.size() == 1) break;
      char* end = nullptr;
      const double ratio = std::strtod(text.c_str(), &end);
      if (text.empty() || end != text.c_str() + text.size()) {
        return Status::InvalidArgument(fmt::format(
            "--memory-ratios: '{}' is not a number; give working set / memory ratios such as 0.5,2,8, or none", text));
      }
      over["memory_ratios"].push_back(ratio);
    }
  }
  if (f.repetitions) over["repetitions"] = f.repetitions;
  if (f.max_repetitions) over["max_repetitions"] = f.max_repetitions;
  if (!f.budget.empty()) over["budget"] = f.budget;
  if (!f.runtime.empty()) over["runtime"] = f.runtime;
  if (!f.ramp_time.empty()) over["ramp_time"] = f.ramp_time;
  if (!f.size.empty()) over["size"] = f.size;
  if (!f.memory.empty()) over["memory"] = f.memory;
  if (!f.directory.empty()) over["directory"] = f.directory;
  if (f.verify >= 0) over["verify"] = f.verify == 1;
  if (!f.uring_async.empty()) over["uring_async"] = f.uring_async;
  if (!f.strategy.empty()) over["strategy"] = f.strategy;
  return ParseMatrixConfig(over, c, "flags");
}

class ConsoleObserver final : public MatrixObserver {
 public:
  void OnStart(const MatrixPlan& plan, size_t pending, int64_t estimate_ns) override {
    std::cerr << fmt::format("iodepth matrix: {} units ({} done before, {} to run), about {}\n", plan.units.size(),
                             plan.units.size() - pending, pending, FormatDuration(estimate_ns, kConsoleDurations));
    std::cout << fmt::format("{:<52} {:>9} {:>3} {:>10} {:>9} {:>9} {:>8} {:>9}\n", "cell", "cap", "rep", "IOPS",
                             "MB/s", "p95 us", "cpu/io", "peak MiB");
  }
  void OnRun(const MatrixUnit& unit, const CellRecord& cell, uint32_t rep, const RepetitionRecord& r, size_t done,
             size_t total, int64_t eta_ns) override {
    const auto p95 = r.clat_ns.percentile.find(PercentileKey(95));
    const std::string peak =
        r.memory ? fmt::format("{:.0f}", static_cast<double>(r.memory->peak_bytes) / (1 << 20)) : "-";
    std::cout << fmt::format("{:<52} {:>9} {:>3} {:>10.0f} {:>9.1f} {:>9.1f} {:>7.2f}u {:>9}\n", cell.id,
                             CapLabel(unit.memory_cap), rep + 1, r.iops, r.bw_bytes / 1e6,
                             p95 == r.clat_ns.percentile.end() ? 0.0 : static_cast<double>(p95->second) / 1000.0,
                             r.cpu_ns_per_io / 1000.0, peak)
              << std::flush;
    runs_ = fmt::format("runs {}/{}, {}% done, about {} left", done, total, done * 100 / std::max<size_t>(total, 1),
                        FormatDuration(eta_ns, kConsoleDurations));
  }
  void OnUnitDone(const MatrixUnit& unit, const JournalUnit& record, size_t done, size_t pending) override {
    std::string failed;
    for (const CellRecord& c : record.cells) {
      if (c.status != "ok") failed += fmt::format("  {} {}: {}\n", c.id, c.status, c.reason);
    }
    std::cerr << failed << fmt::format("[units {}/{}; {}] {} saved\n", done, pending, runs_, unit.key);
  }
  void OnRemeasure(size_t round, size_t units, int64_t budget_left_ns) override {
    const std::string left = budget_left_ns == INT64_MAX
                                 ? "no time limit"
                                 : FormatDuration(budget_left_ns, kConsoleDurations) + " of budget left";
    std::cerr << fmt::format(
        "iodepth matrix: re-measuring, round {}: {} units whose direct/buffered comparison is still inconclusive get "
        "more repetitions ({})\n",
        round, units, left);
  }

 private:
  std::string runs_;
};

Status ListUnits(const MatrixConfig& config, const MatrixFlags& flags) {
  const std::string data_dir = config.directory.empty() ? flags.out_dir + "/data" : config.directory;
  IODEPTH_ASSIGN_OR_RETURN(const MatrixPlan plan, PlanMatrix(config, data_dir));
  size_t runs = 0;
  for (const MatrixUnit& unit : plan.units) {
    std::cout << unit.key << "\n";
    runs += unit.cells.size() * config.repetitions;
  }
  std::cerr << fmt::format("{} units, {} runs of {} + {} ramp\n", plan.units.size(), runs,
                           FormatDuration(config.runtime_ns, kConsoleDurations),
                           FormatDuration(config.ramp_ns, kConsoleDurations));
  return Status::OK();
}

// The decision rule's verdict on the results so far: `python3 -m report.decide --undecided`
// (report/decide.py holds the rule; nothing here decides).
Result<std::vector<UndecidedComparison>> FindUndecided(const std::vector<std::string>& files) {
  std::vector<std::string> args = files;
  args.push_back("--undecided");
  IODEPTH_ASSIGN_OR_RETURN(const std::string text, RunReportModuleOutput("report.decide", args));
  const nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object() || !json.contains("undecided") || !json["undecided"].is_array()) {
    return Status::FailedPrecondition(
        "python3 -m report.decide --undecided did not print a JSON object with an \"undecided\" list");
  }
  std::vector<UndecidedComparison> undecided;
  for (const nlohmann::json& item : json["undecided"]) {
    if (!item.is_object() || !item.contains("direct") || !item["direct"].is_string() || !item.contains("buffered") ||
        !item["buffered"].is_string() || !item.contains("memory_cap") || !item["memory_cap"].is_number_unsigned()) {
      return Status::FailedPrecondition(
          fmt::format("python3 -m report.decide --undecided: malformed entry {}", item.dump()));
    }
    undecided.push_back(UndecidedComparison{.direct_id = item["direct"].get<std::string>(),
                                            .buffered_id = item["buffered"].get<std::string>(),
                                            .memory_cap = item["memory_cap"].get<uint64_t>()});
  }
  return undecided;
}

Status RunMatrixCommand(const MatrixFlags& flags) {
  MatrixConfig config = DefaultMatrixConfig();
  // A run being resumed or collected starts from the settings its journal recorded, so
  // the flags it ran with need not be repeated (a --config file or flags given still apply
  // over them, and a change that alters the measurement is refused by the fingerprint).
  if (!flags.fresh && !flags.print_config && !flags.list) {
    IODEPTH_ASSIGN_OR_RETURN(const nlohmann::json recorded, MatrixJournal::ReadConfig(flags.out_dir));
    if (recorded.is_object()) {
      IODEPTH_ASSIGN_OR_RETURN(config, ParseMatrixConfig(recorded, config, flags.out_dir + "/journal.jsonl"));
      std::cerr << fmt::format("iodepth matrix: settings of the run in {} (from its journal); flags narrow them\n",
                               flags.out_dir);
      if (!flags.directory.empty() && recorded.contains("directory") && recorded["directory"] != flags.directory) {
        std::cerr << fmt::format(
            "iodepth matrix: its data directory moved: {} -> {}; the units still to run read their files there "
            "(made again when missing or of another shape)\n",
            recorded["directory"].is_string() && !recorded["directory"].get<std::string>().empty()
                ? recorded["directory"].get<std::string>()
                : "<out>/data",
            flags.directory);
      }
    }
  }
  if (!flags.config_path.empty()) {
    IODEPTH_ASSIGN_OR_RETURN(config, ReadMatrixConfigFile(flags.config_path, config));
  }
  IODEPTH_ASSIGN_OR_RETURN(config, ApplyFlags(flags, config));
  IODEPTH_RETURN_IF_ERROR(ValidateMatrixConfig(config));
  if (flags.print_config) {
    std::cout << MatrixConfigToJson(config).dump(2) << "\n";
    return Status::OK();
  }
  if (flags.list) return ListUnits(config, flags);
  MatrixOptions options;  // Assigned field by field: GCC 12 misreads a designated initializer here.
  options.out_dir = flags.out_dir;
  options.fresh = flags.fresh;
  options.command_line = CommandLine();
  options.stop = &StopFlag();
  // A data directory outside --out that moved is named again with --directory; a collect
  // reads no data file, so it need not be found at all.
  options.directory_moved = !flags.directory.empty() || flags.collect;
  MatrixOutcome outcome;
  if (flags.collect) {
    if (access((options.out_dir + "/journal.jsonl").c_str(), R_OK) != 0) {
      return Status::NotFound(
          fmt::format("{}/journal.jsonl does not exist: nothing to collect; pass the --out of a "
                      "matrix run",
                      options.out_dir));
    }
    const std::string data_dir = config.directory.empty() ? options.out_dir + "/data" : config.directory;
    IODEPTH_ASSIGN_OR_RETURN(const RunLock lock, LockMatrixOut(options.out_dir));
    IODEPTH_ASSIGN_OR_RETURN(const MatrixJournal journal,
                             MatrixJournal::Open(options.out_dir, MatrixFingerprint(config, data_dir, options.out_dir),
                                                 /*fresh=*/false, nullptr, options.directory_moved));
    IODEPTH_ASSIGN_OR_RETURN(outcome, WriteMatrixResults(config, journal, options, options.out_dir));
  } else {
    IODEPTH_ASSIGN_OR_RETURN(const RunLock machine, WaitForMachine("matrix"));
    StopOnSignals();
    ConsoleObserver observer;
    options.find_undecided = FindUndecided;
    options.load_since = SampleCpu();
    IODEPTH_ASSIGN_OR_RETURN(outcome, RunMatrix(config, options, &observer));
    if (outcome.remeasure_rounds > 0 || outcome.still_undecided > 0) {
      std::cerr << fmt::format("re-measured {} units in {} rounds; {} comparisons still inconclusive{}\n",
                               outcome.units_remeasured, outcome.remeasure_rounds, outcome.still_undecided,
                               outcome.budget_spent
                                   ? " (the --budget of re-measuring time was spent; a larger one, or a rerun, goes on)"
                               : outcome.still_undecided > 0 ? " (at --max-repetitions)"
                                                             : "");
    }
  }
  if (outcome.inherited_limit) {
    std::cerr << fmt::format(
        "note: iodepth runs in a cgroup limited to {}: cells labelled \"none\" ran under that "
        "limit, not unbounded (recorded as inherited_memory_limit in each results file)\n",
        FormatBytes(*outcome.inherited_limit));
  }
  for (const std::string& file : outcome.results_files) std::cerr << "results: " << file << "\n";
  std::cerr << "csv:     " << outcome.csv_file << "\n";
  if (outcome.interrupted) {
    return Status::FailedPrecondition(fmt::format(
        "interrupted: {} units finished and saved, the unit in progress was dropped; run the same command again to "
        "continue where it stopped",
        outcome.units_skipped + outcome.units_run));
  }
  if (flags.report && !outcome.results_files.empty()) {
    IODEPTH_RETURN_IF_ERROR(RunReportScript(outcome.results_files, flags.out_dir + "/report"));
  }
  if (outcome.cells_failed > 0) {
    return Status::FailedPrecondition(
        fmt::format("{} cells failed (listed above with their errors); their units were saved as "
                    "failed and a rerun of the same command retries them",
                    outcome.cells_failed));
  }
  return Status::OK();
}

}  // namespace

void AddMatrixCommand(CLI::App& app) {
  auto f = std::make_shared<MatrixFlags>();
  CLI::App* cmd = app.add_subcommand(
      "matrix",
      "Run the experiment matrix (workloads x qd x mode x regime x backend x memory cap), resumably, and "
      "write results and the report");
  cmd->add_option("--config", f->config_path, "Matrix config (JSON; see docs/BENCHMARKS.md); default: built in")
      ->check(CLI::ExistingFile);
  cmd->add_flag("--print-config", f->print_config, "Print the effective config as JSON and exit");
  cmd->add_flag("--list", f->list, "Print the units that would run and exit");
  cmd->add_option("--out", f->out_dir, "Directory for the journal, results, CSV and report")->capture_default_str();
  cmd->add_flag("--fresh", f->fresh, "Set the existing journal aside (kept as .bak) and run every unit again");
  cmd->add_flag("--collect", f->collect, "Run nothing: write results and report from the journal");
  cmd->add_option("--report", f->report, "1: write <out>/report at the end")
      ->check(CLI::Range(0, 1))
      ->capture_default_str();
  cmd->add_option("--workloads", f->workloads,
                  "io_patterns, seq_read_qd, rand_read_qd, bm_seq_read, bm_rand_read, "
                  "bm_seq_read_adaptive, multistream_scan (the default); wal_commit, bm_rand_rw, checkpoint (the "
                  "write path, by name only)")
      ->delimiter(',');
  cmd->add_option("--depths", f->depths, "Queue depths / prefetch distances")->delimiter(',');
  cmd->add_option("--modes", f->modes, "buffered, direct (dontcache where the kernel has it)")->delimiter(',');
  cmd->add_option("--backends", f->backends, "io_uring, worker, sync")->delimiter(',');
  cmd->add_option("--regimes", f->regimes, "bm, scan: hot, pressure, thrash")->delimiter(',');
  cmd->add_option("--memory-caps", f->memory_caps, "none, inherit or sizes, e.g. none,128MiB")->delimiter(',');
  cmd->add_option("--memory-cap", f->memory_cap, "Run every cell under this cap (a size, or inherit)");
  cmd->add_option("--memory-ratios", f->memory_ratios,
                  "Memory axis: working set / memory ratios the qd cells also run at, e.g. 0.5,2,8 (the default); "
                  "none: no axis")
      ->delimiter(',');
  cmd->add_option("--repetitions", f->repetitions, "Runs per cell (buffered and direct interleaved, ABBA)");
  cmd->add_option("--max-repetitions", f->max_repetitions,
                  "Re-measure inconclusive comparisons up to this many runs per cell (default 21; = --repetitions: "
                  "never)");
  cmd->add_option("--budget", f->budget, "Time re-measuring may take, e.g. 8m (default 8m; 0: no limit)");
  cmd->add_option("--runtime", f->runtime, "Measured time per run");
  cmd->add_option("--ramp_time", f->ramp_time, "Unmeasured warm-up per run");
  cmd->add_option("--size", f->size, "qd, io_patterns: data file size");
  cmd->add_option("--memory", f->memory, "bm, scan: buffer pool capacity M");
  cmd->add_option("--directory", f->directory, "Where the data files go (default: <out>/data)");
  cmd->add_option("--verify", f->verify, "1: check every read")->check(CLI::Range(0, 1));
  cmd->add_option("--uring_async", f->uring_async,
                  "io_uring: IOSQE_ASYNC for buffered reads: never (the default), always, auto");
  cmd->add_option("--strategy", f->strategy,
                  "scan: how the scans share the pool: auto (the default), share, ring, clock");
  cmd->callback([f] { ExitOnError("matrix", RunMatrixCommand(*f)); });
}

}  // namespace iodepth::tools
