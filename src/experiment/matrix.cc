#include "experiment/matrix.h"

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "common/clock.h"
#include "harness/cache_state.h"
#include "io/file.h"
#include "sys/environment.h"

namespace iodepth {

namespace {

// Time a run costs besides ramp and runtime (cache drop, pool set-up), for the estimate.
constexpr int64_t kRunOverheadNs = 150'000'000;

// The cell id without its mode part: "bm_seq_read_qd16/direct/io_uring/thrash" ->
// "bm_seq_read_qd16/io_uring/thrash". Twins share it.
std::string WithoutMode(const std::string& id) {
  const size_t first = id.find('/');
  if (first == std::string::npos) return id;
  const size_t second = id.find('/', first + 1);
  return id.substr(0, first) + (second == std::string::npos ? "" : id.substr(second));
}

// The adaptive cells' id does not name their distance limit (the largest depth): the key
// does, so a run with other depths measures them again rather than reusing them.
std::string UnitKey(const CellPlan& cell, uint64_t cap) {
  const std::string cap_part = cap == 0 ? "nocap" : cap == kInheritCap ? "capinherit" : fmt::format("cap{}", cap);
  const bool adaptive = cell.record.policy == "adaptive";
  const std::string limit = adaptive ? fmt::format("~max{}", cell.record.qd) : "";
  return fmt::format("{}:{}{}@{}", cell.record.suite, WithoutMode(cell.record.id), limit, cap_part);
}

std::vector<std::string> CellIds(const MatrixUnit& unit) {
  std::vector<std::string> ids;
  for (const CellPlan& cell : unit.cells) ids.push_back(cell.record.id);
  return ids;
}

// Cells of one group turned into units under one cap, keeping the plan's order.
void AddUnits(const std::vector<CellPlan>& cells, size_t group, uint64_t cap, double ratio,
              std::vector<MatrixUnit>& units) {
  std::map<std::string, size_t> index;
  for (const CellPlan& cell : cells) {
    const std::string key = UnitKey(cell, cap);
    auto [it, added] = index.try_emplace(key, units.size());
    if (added) {
      units.push_back(MatrixUnit{.key = key, .group = group, .memory_cap = cap, .memory_ratio = ratio, .cells = {}});
    }
    units[it->second].cells.push_back(cell);
    units[it->second].cells.back().record.memory_cap = cap;
  }
}

std::string DataDir(const MatrixConfig& config, const MatrixOptions& options) {
  return config.directory.empty() ? options.out_dir + "/data" : config.directory;
}

Result<std::unique_ptr<MemoryCap>> MakeCap(uint64_t cap, const CgroupFs& fs) {
  if (cap == kInheritCap) return MemoryCap::Inherit(fs);
  return MemoryCap::Create(cap, fs);
}

// Makes and removes every cap the pending units need, before anything runs.
Status ProbeCaps(const std::vector<const MatrixUnit*>& pending, const CgroupFs& fs) {
  std::vector<uint64_t> probed;
  for (const MatrixUnit* unit : pending) {
    if (unit->memory_cap == 0 || std::find(probed.begin(), probed.end(), unit->memory_cap) != probed.end()) continue;
    Result<std::unique_ptr<MemoryCap>> cap = MakeCap(unit->memory_cap, fs);
    if (!cap.has_value()) {
      return cap.error().WithContext(
          fmt::format("memory cap {} (nothing was run; to run only the uncapped cells, "
                      "pass --memory-caps=none)",
                      CapLabel(unit->memory_cap)));
    }
    probed.push_back(unit->memory_cap);
  }
  return Status::OK();
}

MemoryRecord MakeMemoryRecord(const MemoryCap& cap, const MemorySample& before, const MemorySample& after) {
  const auto delta = [](uint64_t a, uint64_t b) { return b >= a ? b - a : 0; };
  return MemoryRecord{.cgroup = cap.inherited() ? "inherited" : std::string(CgroupVersionName(cap.version())),
                      .cap_bytes = cap.cap_bytes(),
                      .peak_bytes = after.peak_bytes,
                      .page_cache_bytes = after.page_cache_bytes,
                      .refaults = delta(before.refaults, after.refaults),
                      .limit_events = delta(before.limit_events, after.limit_events),
                      .oom_kills = delta(before.oom_kills, after.oom_kills)};
}

// What the cap may still hold between runs and count as released.
constexpr uint64_t kSettledBytes = 8ull << 20;
constexpr int64_t kSettleTimeoutNs = 5'000'000'000;

// Waits until the charges of the run that just left the cap are gone. An io_uring ring is
// torn down asynchronously by the kernel, and until it is, the memory the run used (its
// whole buffer pool) can stay charged to the cap: the next run would then start with
// that much less and could be OOM-killed. A sync-path run releases at once.
Status WaitForRelease(MemoryCap& cap) {
  const int64_t deadline = NowNs() + kSettleTimeoutNs;
  while (true) {
    IODEPTH_ASSIGN_OR_RETURN(const MemorySample sample, cap.Sample());
    if (sample.usage_bytes <= kSettledBytes) return Status::OK();
    if (NowNs() > deadline) {
      // Not an error: the next run's peak shows what was left, and a cap that is too tight
      // for it fails that cell. Reclaim once more and go on.
      return cap.Reclaim();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// A failure of the cap itself (entering, sampling, leaving it): it stops the matrix,
// since a run after it could be measured under the wrong label.
Status CapFailure(const Status& status, const MemoryCap& cap) {
  return Status::FailedPrecondition(
      fmt::format("memory cap {} ({}): {}; the matrix stopped so that no cell runs "
                  "under a false label; finished units are saved",
                  CapLabel(cap.cap_bytes()), cap.path(), status.message()));
}

// One repetition of one cell, inside the cap when there is one: the cell's own outcome
// goes to `out`; the returned Status is a failure of the cap (see CapFailure). The
// process leaves the cap whatever the cell did, so the runner itself never runs capped.
Status RunCapped(const SuiteConfig& suite, const CellPlan& cell, const DataFileInfo& file, MemoryCap* cap,
                 Result<RepetitionRecord>& out) {
  if (!cap) {
    out = RunCellRepetition(suite, cell, file);
    return Status::OK();
  }
  if (const Status entered = cap->Enter(); !entered.ok()) return CapFailure(entered, *cap);
  // Pages a twin's buffered run left in the cache stay charged to the cap: dropped, they
  // count against neither this run's peak nor its page cache (a direct run does not read
  // them anyway; a buffered one sets its own cache state next).
  const Status dropped = DropFileCache(suite.filename, /*use_drop_caches=*/false);
  Status sampled = cap->ResetPeak();
  Result<MemorySample> before = sampled.ok() ? cap->Sample() : Result<MemorySample>(sampled);
  if (!before.has_value()) sampled = before.error();
  if (!dropped.ok()) {
    out = dropped;
  } else if (before.has_value()) {
    out = RunCellRepetition(suite, cell, file);
    Result<MemorySample> after = cap->Sample();
    if (!after.has_value()) sampled = after.error();
    if (after.has_value() && out.has_value()) out->memory = MakeMemoryRecord(*cap, *before, *after);
  }
  if (const Status left = cap->Leave(); !left.ok()) return CapFailure(left, *cap);
  if (!sampled.ok()) return CapFailure(sampled, *cap);
  if (const Status reclaimed = cap->Reclaim(); !reclaimed.ok()) return CapFailure(reclaimed, *cap);
  if (const Status settled = WaitForRelease(*cap); !settled.ok()) return CapFailure(settled, *cap);
  return Status::OK();
}

struct RunState {
  const MatrixOptions* options;
  MatrixObserver* observer;
  size_t runs_done = 0;
  size_t runs_total = 0;
  int64_t started_ns = 0;
  bool interrupted = false;
  size_t cells_failed = 0;
};

bool StopAsked(const RunState& state) { return state.options->stop && state.options->stop->load(); }

// The repetitions a unit's record holds: its most repeated cell's count.
uint32_t RepetitionsHeld(const JournalUnit& record) {
  size_t held = 0;
  for (const CellRecord& cell : record.cells) held = std::max(held, cell.repetitions.size());
  return static_cast<uint32_t>(held);
}

// Runs repetitions [first, first + count) of a unit into `out`, the modes in ABBA order:
// an even repetition runs the cells in the unit's order, an odd one in reverse. Returns
// false when stopped part way, an error when the cap failed.
Result<bool> RunRepetitions(const MatrixUnit& unit, const SuiteConfig& suite, const DataFileInfo& file, MemoryCap* cap,
                            uint32_t first, uint32_t count, RunState& state, JournalUnit& out) {
  for (uint32_t rep = first; rep < first + count; ++rep) {
    for (size_t k = 0; k < unit.cells.size(); ++k) {
      const size_t i = rep % 2 == 0 ? k : unit.cells.size() - 1 - k;
      if (StopAsked(state)) return false;
      CellRecord& record = out.cells[i];
      ++state.runs_done;
      if (record.status != "ok") continue;
      Result<RepetitionRecord> run = Status::FailedPrecondition("not run");
      IODEPTH_RETURN_IF_ERROR(RunCapped(suite, unit.cells[i], file, cap, run));
      if (!run.has_value()) {
        const bool unsupported = run.error().code() == StatusCode::kNotSupported;
        record.status = unsupported ? "unsupported" : "error";
        record.reason = run.error().message();
        state.cells_failed += unsupported ? 0 : 1;
        continue;
      }
      record.repetitions.push_back(std::move(*run));
      const int64_t elapsed = NowNs() - state.started_ns;
      const auto eta = static_cast<int64_t>(static_cast<double>(elapsed) / static_cast<double>(state.runs_done) *
                                            static_cast<double>(state.runs_total - state.runs_done));
      if (state.observer) {
        state.observer->OnRun(unit, record, rep, record.repetitions.back(), state.runs_done, state.runs_total, eta);
      }
    }
  }
  for (CellRecord& record : out.cells) {
    if (record.status == "error") record.repetitions.clear();  // A partial set would look like a result.
    SummariseCell(record);
  }
  out.finished_utc = UtcNow();
  return true;
}

// A unit's base repetitions, into a new record.
Result<bool> RunUnit(const MatrixUnit& unit, const SuiteConfig& suite, const DataFileInfo& file, MemoryCap* cap,
                     RunState& state, JournalUnit& out) {
  out = JournalUnit{.unit = unit.key,
                    .suite = suite.suite,
                    .memory_cap = unit.memory_cap,
                    .memory_ratio = unit.memory_ratio,
                    .finished_utc = "",
                    .cells = {}};
  for (const CellPlan& cell : unit.cells) out.cells.push_back(cell.record);
  return RunRepetitions(unit, suite, file, cap, 0, suite.repetitions, state, out);
}

// One results file per (suite, cap, memory ratio of a bm or scan group; 0 otherwise).
struct DocumentKey {
  std::string suite;
  uint64_t cap = 0;
  double ratio = 0;
  auto operator<=>(const DocumentKey&) const = default;
};
using Documents = std::map<DocumentKey, ResultsDocument>;

// "<out>/bm-cap160MiB.json"; a group of the memory axis adds its ratio: "-ratio2".
std::string ResultsPath(const std::string& out_dir, const DocumentKey& key) {
  const std::string ratio = key.ratio > 0 ? fmt::format("-ratio{:g}", key.ratio) : "";
  return fmt::format("{}/{}-{}{}.json", out_dir, key.suite, CapFileTag(key.cap), ratio);
}

// Results files of an earlier run (before --fresh, or of caps no longer in the journal)
// would be read beside the new ones by a report over <out>/*.json: they go.
Status RemoveStaleResults(const std::string& out_dir, const Documents& documents) {
  std::set<std::string> current;
  for (const auto& [key, document] : documents) current.insert(ResultsPath(out_dir, key));
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(out_dir, ec)) {
    const std::string name = entry.path().filename().string();
    const bool ours = name.ends_with(".json") && (name.starts_with("io_patterns-") || name.starts_with("qd-") ||
                                                  name.starts_with("bm-") || name.starts_with("scan-"));
    if (!ours || current.contains(out_dir + "/" + name)) continue;
    std::filesystem::remove(entry.path(), ec);
    if (ec)
      return Status::InvalidArgument(
          fmt::format("remove stale results file {}: {}", entry.path().string(), ec.message()));
  }
  return Status::OK();
}

// Visits `units` in run order: group by group (its data files prepared once, outside any
// cap) and, within a group, cap by cap (each cap made when its first unit comes up and
// removed after its last). `visit` returns false to stop the walk.
using UnitVisitor = std::function<Result<bool>(const MatrixUnit&, const SuiteConfig&, const DataFileInfo&, MemoryCap*)>;

Status VisitUnits(const MatrixPlan& plan, const std::vector<const MatrixUnit*>& units, const CgroupFs& cgroup_fs,
                  const UnitVisitor& visit) {
  for (size_t g = 0; g < plan.groups.size(); ++g) {
    const SuiteConfig& suite = plan.groups[g].suite;
    std::vector<CellPlan> cells;
    for (const MatrixUnit* unit : units) {
      if (unit->group == g) cells.insert(cells.end(), unit->cells.begin(), unit->cells.end());
    }
    if (cells.empty()) continue;
    IODEPTH_ASSIGN_OR_RETURN(const DataFileInfo file, PrepareSuiteFiles(suite, cells));
    std::vector<uint64_t> caps;  // The group's caps, in plan order.
    for (const MatrixUnit* unit : units) {
      if (unit->group == g && std::find(caps.begin(), caps.end(), unit->memory_cap) == caps.end()) {
        caps.push_back(unit->memory_cap);
      }
    }
    for (uint64_t cap_bytes : caps) {
      std::unique_ptr<MemoryCap> cap;
      for (const MatrixUnit* unit : units) {
        if (unit->group != g || unit->memory_cap != cap_bytes) continue;
        if (cap_bytes != 0 && !cap) {
          IODEPTH_ASSIGN_OR_RETURN(cap, MakeCap(cap_bytes, cgroup_fs));
        }
        IODEPTH_ASSIGN_OR_RETURN(const bool go_on, visit(*unit, suite, file, cap.get()));
        if (!go_on) return Status::OK();
      }
    }
  }
  return Status::OK();
}

// The units of `undecided` that may get more repetitions (held in the journal, fewer than
// `most`), each once, in plan order.
std::vector<const MatrixUnit*> UnitsToRemeasure(const MatrixPlan& plan, const MatrixJournal& journal,
                                                const std::vector<UndecidedComparison>& undecided, uint32_t most) {
  std::set<std::pair<std::string, uint64_t>> wanted;
  for (const UndecidedComparison& u : undecided) {
    wanted.emplace(u.direct_id, u.memory_cap);
    wanted.emplace(u.buffered_id, u.memory_cap);
  }
  std::vector<const MatrixUnit*> units;
  for (const MatrixUnit& unit : plan.units) {
    const bool named = std::any_of(unit.cells.begin(), unit.cells.end(), [&](const CellPlan& c) {
      return wanted.contains({c.record.id, unit.memory_cap});
    });
    const JournalUnit* record = named ? journal.Find(unit.key) : nullptr;
    if (record != nullptr && RepetitionsHeld(*record) < most) units.push_back(&unit);
  }
  return units;
}

// Repetitions until decided (matrix.h): rounds of "look, then give every undecided unit
// `step` more repetitions" within the budget.
Status Remeasure(const MatrixConfig& config, const MatrixOptions& options, const MatrixPlan& plan,
                 MatrixJournal& journal, const std::string& data_path, RunState& state, MatrixOutcome& outcome) {
  const uint32_t most = MaxRepetitions(config);
  if (!options.find_undecided || most <= config.repetitions) return Status::OK();
  const int64_t started_ns = NowNs();
  const int64_t per_run_ns = config.ramp_ns + config.runtime_ns + kRunOverheadNs;
  std::set<std::string> remeasured;
  for (size_t round = 1;; ++round) {
    IODEPTH_ASSIGN_OR_RETURN(const MatrixOutcome written, WriteMatrixResults(config, journal, options, data_path));
    IODEPTH_ASSIGN_OR_RETURN(const std::vector<UndecidedComparison> undecided,
                             options.find_undecided(written.results_files));
    outcome.still_undecided = undecided.size();
    const std::vector<const MatrixUnit*> units = UnitsToRemeasure(plan, journal, undecided, most);
    if (units.empty() || StopAsked(state)) return Status::OK();
    const int64_t left_ns = config.budget_ns > 0 ? config.budget_ns - (NowNs() - started_ns) : INT64_MAX;
    if (state.observer) state.observer->OnRemeasure(round, units.size(), left_ns);
    outcome.remeasure_rounds = round;
    for (const MatrixUnit* unit : units) {
      state.runs_total += unit->cells.size() * std::min(config.repetition_step, most - config.repetitions);
    }
    bool stopped = false;
    const auto remeasure_unit = [&](const MatrixUnit& unit, const SuiteConfig& suite, const DataFileInfo& file,
                                    MemoryCap* cap) -> Result<bool> {
      JournalUnit record = *journal.Find(unit.key);
      const uint32_t first = RepetitionsHeld(record);
      const uint32_t count = std::min(config.repetition_step, most - first);
      const int64_t cost_ns = static_cast<int64_t>(unit.cells.size() * count) * per_run_ns;
      if (config.budget_ns > 0 && NowNs() - started_ns + cost_ns > config.budget_ns) {
        outcome.budget_spent = stopped = true;
        return false;
      }
      IODEPTH_ASSIGN_OR_RETURN(const bool finished,
                               RunRepetitions(unit, suite, file, cap, first, count, state, record));
      if (!finished) {
        state.interrupted = stopped = true;
        return false;
      }
      IODEPTH_RETURN_IF_ERROR(journal.Append(record));
      remeasured.insert(unit.key);
      outcome.units_remeasured = remeasured.size();
      return true;
    };
    IODEPTH_RETURN_IF_ERROR(VisitUnits(plan, units, options.cgroup_fs, remeasure_unit));
    if (stopped) return Status::OK();
  }
}

}  // namespace

Result<RunLock> LockMatrixOut(const std::string& out_dir) {
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec)
    return Status::InvalidArgument(fmt::format("cannot create the output directory {}: {}", out_dir, ec.message()));
  Result<RunLock> lock = RunLock::TryAcquire(out_dir + "/.lock");
  if (lock.has_value() || lock.error().code() != StatusCode::kResourceExhausted) return lock;
  const std::optional<int> holder = RunLock::HolderOf(out_dir + "/.lock");
  return Status::FailedPrecondition(fmt::format(
      "another iodepth matrix ({}) is writing into {}: two runs into one --out spoil each other's numbers and cache "
      "state; wait for it to finish, or pass another --out",
      holder ? fmt::format("pid {}", *holder) : "a process", out_dir));
}

Result<MatrixPlan> PlanMatrix(const MatrixConfig& config, const std::string& data_dir) {
  IODEPTH_RETURN_IF_ERROR(ValidateMatrixConfig(config));
  MatrixPlan plan;
  plan.groups = MatrixGroups(config, data_dir);
  for (size_t g = 0; g < plan.groups.size(); ++g) {
    Result<std::vector<CellPlan>> cells = PlanSuite(plan.groups[g].suite);
    if (!cells.has_value()) {
      return Status::InvalidArgument(fmt::format(
          "suite {}: no cell matches the selection (workloads, depths, backends, modes, regimes): {}; `iodepth "
          "matrix --list` with fewer restrictions shows the units there are",
          plan.groups[g].suite.suite, cells.error().message()));
    }
    const MatrixGroup& group = plan.groups[g];
    // A group of the memory axis (bm, scan) runs under its own cap alone; its cells' regime
    // label ("memory") keeps their keys apart from the other groups'.
    if (group.memory_ratio > 0) {
      AddUnits(*cells, g, group.memory_axis_cap, group.memory_ratio, plan.units);
      continue;
    }
    for (uint64_t cap : config.memory_caps) AddUnits(*cells, g, cap, 0, plan.units);
    // The memory axis: the raw-request cells again under caps sized from their working set.
    if (group.suite.suite != "qd") continue;
    for (double ratio : config.memory_ratios) {
      const uint64_t cap = MemoryRatioCap(config.file_size_bytes, ratio);
      if (std::find(config.memory_caps.begin(), config.memory_caps.end(), cap) == config.memory_caps.end()) {
        AddUnits(*cells, g, cap, 0, plan.units);
      }
    }
  }
  return plan;
}

Result<MatrixOutcome> RunMatrix(const MatrixConfig& config, const MatrixOptions& options, MatrixObserver* observer) {
  const std::string data_dir = DataDir(config, options);
  IODEPTH_ASSIGN_OR_RETURN(const MatrixPlan plan, PlanMatrix(config, data_dir));
  // Caps are probed before the journal is opened, so a run that cannot start changes
  // nothing on disk (not even with --fresh). Which caps are needed depends on the
  // journal, so the probe covers every capped unit planned.
  std::vector<const MatrixUnit*> planned;
  for (const MatrixUnit& unit : plan.units) planned.push_back(&unit);
  IODEPTH_RETURN_IF_ERROR(ProbeCaps(planned, options.cgroup_fs));
  IODEPTH_ASSIGN_OR_RETURN(const RunLock lock, LockMatrixOut(options.out_dir));
  IODEPTH_ASSIGN_OR_RETURN(MatrixJournal journal,
                           MatrixJournal::Open(options.out_dir, MatrixFingerprint(config, data_dir, options.out_dir),
                                               options.fresh, MatrixConfigToJson(config), options.directory_moved));
  std::vector<const MatrixUnit*> pending;
  for (const MatrixUnit& unit : plan.units) {
    if (!journal.Done(unit.key, CellIds(unit))) pending.push_back(&unit);
  }
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return Status::InvalidArgument(fmt::format("cannot create data directory {}: {}", data_dir, ec.message()));

  RunState state{.options = &options, .observer = observer, .started_ns = NowNs()};
  for (const MatrixUnit* unit : pending) state.runs_total += unit->cells.size() * config.repetitions;
  if (observer) {
    const int64_t per_run = config.ramp_ns + config.runtime_ns + kRunOverheadNs;
    observer->OnStart(plan, pending.size(), static_cast<int64_t>(state.runs_total) * per_run);
  }
  MatrixOutcome outcome;
  outcome.units_total = plan.units.size();
  outcome.units_skipped = plan.units.size() - pending.size();
  const auto run_unit = [&](const MatrixUnit& unit, const SuiteConfig& suite, const DataFileInfo& file,
                            MemoryCap* cap) -> Result<bool> {
    JournalUnit record;
    IODEPTH_ASSIGN_OR_RETURN(const bool finished, RunUnit(unit, suite, file, cap, state, record));
    if (!finished) {
      state.interrupted = true;
      return false;
    }
    IODEPTH_RETURN_IF_ERROR(journal.Append(record));
    ++outcome.units_run;
    if (observer) observer->OnUnitDone(unit, record, outcome.units_run, pending.size());
    return true;
  };
  IODEPTH_RETURN_IF_ERROR(VisitUnits(plan, pending, options.cgroup_fs, run_unit));
  const std::string data_path = plan.groups.empty() ? data_dir : plan.groups.front().suite.filename;
  if (!state.interrupted) {
    IODEPTH_RETURN_IF_ERROR(Remeasure(config, options, plan, journal, data_path, state, outcome));
  }
  outcome.interrupted = state.interrupted;
  outcome.cells_failed = state.cells_failed;
  IODEPTH_ASSIGN_OR_RETURN(MatrixOutcome written, WriteMatrixResults(config, journal, options, data_path));
  outcome.inherited_limit = written.inherited_limit;
  outcome.results_files = std::move(written.results_files);
  outcome.csv_file = std::move(written.csv_file);
  return outcome;
}

Result<MatrixOutcome> WriteMatrixResults(const MatrixConfig& config, const MatrixJournal& journal,
                                         const MatrixOptions& options, const std::string& data_path) {
  // The suites' configs as this matrix defines them, whichever workloads this run named.
  MatrixConfig all = config;
  all.workloads.clear();
  for (std::string_view w : MatrixWorkloadNames()) all.workloads.emplace_back(w);
  std::map<std::pair<std::string, double>, SuiteConfig> suites;  // By (suite, memory ratio).
  for (const MatrixGroup& g : MatrixGroups(all, DataDir(config, options))) {
    suites[{g.suite.suite, g.memory_ratio}] = g.suite;
  }

  const nlohmann::json environment = CollectEnvironment(data_path, options.load_since);
  // Cells "without a cap" still run under whatever limits the process's own cgroup: the
  // files say so, so a reader of a container's results is not misled by the label.
  MatrixOutcome outcome;
  outcome.inherited_limit = InheritedMemoryLimit(options.cgroup_fs);
  Documents documents;
  for (const JournalUnit& unit : journal.Units()) {
    ResultsDocument& d = documents[{unit.suite, unit.memory_cap, unit.memory_ratio}];
    if (d.created_utc.empty()) {
      d.iodepth_version = IODEPTH_VERSION;
      d.created_utc = UtcNow();
      d.command = options.command_line;
      d.environment = environment;
      d.git_commit = environment.value("git_commit", "unknown");
      const auto suite = suites.find({unit.suite, unit.memory_ratio});
      d.config = suite != suites.end() ? SuiteConfigToJson(suite->second) : nlohmann::json::object();
      d.config["only"] = nlohmann::json::array();
      d.config["memory_cap"] = unit.memory_cap;
      // A cap of the memory axis says which ratio it stands for and the memory it leaves.
      d.config["memory_ratio"] = nullptr;
      if (unit.memory_ratio > 0) {
        d.config["memory_ratio"] = unit.memory_ratio;
        if (suite != suites.end()) d.config["memory_budget_bytes"] = suite->second.memory_budget_bytes;
      }
      for (double ratio : config.memory_ratios) {
        if (unit.suite == "qd" && MemoryRatioCap(config.file_size_bytes, ratio) == unit.memory_cap) {
          d.config["memory_ratio"] = ratio;
          d.config["memory_budget_bytes"] = MemoryRatioBudget(config.file_size_bytes, ratio);
        }
      }
      d.config["inherited_memory_limit"] =
          outcome.inherited_limit ? nlohmann::json(*outcome.inherited_limit) : nlohmann::json(nullptr);
      d.config["matrix"] = MatrixConfigToJson(config);
      d.config["journal"] = journal.path();
    }
    d.cells.insert(d.cells.end(), unit.cells.begin(), unit.cells.end());
  }
  IODEPTH_RETURN_IF_ERROR(RemoveStaleResults(options.out_dir, documents));
  std::string csv = CsvHeader();
  for (const auto& [key, document] : documents) {
    const std::string path = ResultsPath(options.out_dir, key);
    IODEPTH_RETURN_IF_ERROR(WriteFileAtomically(path, ToJson(document).dump(2) + "\n"));
    outcome.results_files.push_back(path);
    for (const CellRecord& cell : document.cells) csv += CsvRow(cell);
  }
  outcome.csv_file = options.out_dir + "/matrix.csv";
  IODEPTH_RETURN_IF_ERROR(WriteFileAtomically(outcome.csv_file, csv));
  return outcome;
}

}  // namespace iodepth
