#include "bench/suite.h"

#include <ctime>

#include <fmt/format.h>

#include "bench/data_file.h"

namespace iodepth {

namespace {

struct Workload {
  const char* name;
  RwPattern rw;
};

constexpr Workload kPatternWorkloads[] = {{"seq_read", RwPattern::kRead},
                                          {"rand_read", RwPattern::kRandRead},
                                          {"seq_write", RwPattern::kWrite},
                                          {"rand_write", RwPattern::kRandWrite}};
constexpr Workload kQdWorkloads[] = {{"seq_read", RwPattern::kRead}, {"rand_read", RwPattern::kRandRead}};

bool Selected(const SuiteConfig& config, const CellRecord& cell) {
  if (config.only.empty()) return true;
  for (const std::string& want : config.only) {
    if (cell.id.rfind(want, 0) == 0 || cell.workload == want) return true;
  }
  return false;
}

CellPlan MakeCell(const SuiteConfig& config, const Workload& workload, std::string workload_name, uint32_t qd,
                  CacheMode mode, Backend backend, bool sync_path) {
  CellPlan cell;
  const std::string backend_name = sync_path ? "syncpath" : std::string(BackendName(backend));
  cell.cache_state = mode == CacheMode::kDirect ? CacheState::kNotApplicable : config.cache_state;
  CellRecord& r = cell.record;
  r.workload = std::move(workload_name);
  r.id = fmt::format("{}/{}/{}", r.workload, CacheModeName(mode), backend_name);
  r.suite = config.suite;
  r.rw = std::string(RwPatternName(workload.rw));
  r.qd = qd;
  r.bs = config.block_size;
  r.mode = std::string(CacheModeName(mode));
  r.backend = backend_name;
  r.cache_state = std::string(CacheStateName(cell.cache_state));
  JobSpec& s = cell.spec;
  s.filename = config.filename;
  s.rw = workload.rw;
  s.block_size = config.block_size;
  s.cache = mode;
  s.queue = config.queue;
  s.queue.backend = backend;
  s.queue.depth = qd;
  s.size_bytes = config.working_set_bytes ? config.working_set_bytes : config.file_size_bytes;
  s.runtime_ns = config.runtime_ns;
  s.number_ios = config.number_ios;
  s.ramp_ns = config.ramp_ns;
  s.seed = config.seed;
  s.verify = config.verify && !IsWrite(workload.rw);
  s.sync_path = sync_path;
  s.batch_submit = config.batch_submit;
  return cell;
}

// A value listed twice would run the same cell twice under one id.
template <typename T>
Status RejectRepeats(const std::vector<T>& values, std::string_view flag) {
  for (size_t i = 0; i < values.size(); ++i) {
    for (size_t j = i + 1; j < values.size(); ++j) {
      if (values[i] == values[j]) {
        return Status::InvalidArgument(fmt::format("{} lists a value twice (entry {} and {}); list each once", flag,
                                                   i + 1, j + 1));
      }
    }
  }
  return Status::OK();
}

Status ValidateConfig(const SuiteConfig& config) {
  if (config.suite != "io_patterns" && config.suite != "qd") {
    return Status::InvalidArgument(fmt::format("unknown suite '{}'; choose io_patterns or qd", config.suite));
  }
  if (config.repetitions == 0) return Status::InvalidArgument("--repetitions must be at least 1");
  if (config.working_set_bytes > config.file_size_bytes) {
    return Status::InvalidArgument(fmt::format("--working_set={} is larger than --size={}; make it at most the file size",
                                               config.working_set_bytes, config.file_size_bytes));
  }
  IODEPTH_RETURN_IF_ERROR(RejectRepeats(config.depths, "--depths"));
  IODEPTH_RETURN_IF_ERROR(RejectRepeats(config.modes, "--modes"));
  IODEPTH_RETURN_IF_ERROR(RejectRepeats(config.backends, "--backends"));
  for (uint32_t qd : config.depths) {
    if (qd == 0 || qd > IoQueue::kMaxDepth) {
      return Status::InvalidArgument(fmt::format("--depths: {} is out of range 1..{}", qd, IoQueue::kMaxDepth));
    }
  }
  if (config.modes.empty() || (config.suite == "qd" && (config.depths.empty() || config.backends.empty()))) {
    return Status::InvalidArgument("--modes, --depths and --backends must each name at least one value");
  }
  return Status::OK();
}

std::string UtcNow() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

// Puts the page cache in the state the cell claims and returns the resident fraction
// measured just before the run (-1 when the cell does not depend on the cache).
Result<double> PrepareCacheState(const SuiteConfig& config, const CellPlan& cell) {
  if (cell.cache_state == CacheState::kNotApplicable) return -1.0;
  if (cell.cache_state == CacheState::kCold) {
    IODEPTH_RETURN_IF_ERROR(DropFileCache(config.filename, config.drop_caches));
  } else {
    IODEPTH_RETURN_IF_ERROR(WarmFileCache(config.filename, cell.spec.size_bytes));
  }
  return ResidentFraction(config.filename, cell.spec.size_bytes);
}

bool IsUnsupported(const Status& status) { return status.code() == StatusCode::kNotSupported; }

}  // namespace

nlohmann::json SuiteConfigToJson(const SuiteConfig& config) {
  std::vector<std::string> modes, backends;
  for (CacheMode m : config.modes) modes.emplace_back(CacheModeName(m));
  for (Backend b : config.backends) backends.emplace_back(BackendName(b));
  return {{"suite", config.suite},
          {"filename", config.filename},
          {"file_size", config.file_size_bytes},
          {"working_set", config.working_set_bytes ? config.working_set_bytes : config.file_size_bytes},
          {"bs", config.block_size},
          {"runtime_ns", config.runtime_ns},
          {"ramp_ns", config.ramp_ns},
          {"number_ios", config.number_ios},
          {"repetitions", config.repetitions},
          {"seed", config.seed},
          {"verify", config.verify},
          {"depths", config.suite == "qd" ? config.depths : std::vector<uint32_t>{1}},
          {"modes", modes},
          {"backends", config.suite == "qd" ? backends : std::vector<std::string>{"syncpath"}},
          {"cache_state", std::string(CacheStateName(config.cache_state))},
          {"drop_caches", config.drop_caches},
          {"only", config.only},
          {"worker_threads", config.queue.worker_threads},
          {"iodepth_batch_submit", config.batch_submit},
          {"uring_sqpoll", config.queue.uring_sqpoll},
          {"uring_register_files", config.queue.uring_register_files},
          {"uring_fixed_buffers", config.queue.uring_fixed_buffers}};
}

Result<std::vector<CellPlan>> PlanSuite(const SuiteConfig& config) {
  IODEPTH_RETURN_IF_ERROR(ValidateConfig(config));
  std::vector<CellPlan> cells;
  if (config.suite == "io_patterns") {
    for (const Workload& w : kPatternWorkloads) {
      for (CacheMode mode : config.modes) cells.push_back(MakeCell(config, w, w.name, 1, mode, Backend::kSync, true));
    }
  } else {
    for (const Workload& w : kQdWorkloads) {
      IODEPTH_RETURN_IF_ERROR(RejectRepeats(config.depths, "--depths"));
  IODEPTH_RETURN_IF_ERROR(RejectRepeats(config.modes, "--modes"));
  IODEPTH_RETURN_IF_ERROR(RejectRepeats(config.backends, "--backends"));
  for (uint32_t qd : config.depths) {
        for (Backend backend : config.backends) {
          if (backend == Backend::kSync && qd != 1) continue;  // sync is depth 1 by definition.
          for (CacheMode mode : config.modes) {
            cells.push_back(MakeCell(config, w, fmt::format("{}_qd{}", w.name, qd), qd, mode, backend, false));
          }
        }
      }
    }
  }
  std::erase_if(cells, [&](const CellPlan& c) { return !Selected(config, c.record); });
  if (cells.empty()) {
    return Status::InvalidArgument("no cell matches --only; run with --list to see the cell ids");
  }
  return cells;
}

Result<ResultsDocument> RunSuite(const SuiteConfig& config, SuiteObserver* observer) {
  IODEPTH_ASSIGN_OR_RETURN(std::vector<CellPlan> cells, PlanSuite(config));
  bool writes = false;
  for (const CellPlan& c : cells) writes = writes || IsWrite(c.spec.rw);
  IODEPTH_ASSIGN_OR_RETURN(DataFileInfo file, EnsureDataFile(DataFileRequest{.path = config.filename,
                                                                             .size_bytes = config.file_size_bytes,
                                                                             .will_write = writes,
                                                                             .need_pattern = config.verify}));
  const int64_t per_run_ns = config.ramp_ns + config.runtime_ns;
  const size_t total = cells.size() * config.repetitions;
  if (observer) observer->OnStart(config, cells.size(), static_cast<int64_t>(total) * per_run_ns);
  size_t done = 0;
  const int64_t started_ns = NowNs();
  for (uint32_t rep = 0; rep < config.repetitions; ++rep) {
    for (CellPlan& cell : cells) {
      ++done;
      if (cell.record.status != "ok") continue;  // Unsupported on an earlier repetition.
      cell.spec.file_id = file.file_id;
      auto resident = PrepareCacheState(config, cell);
      Result<JobResult> result = resident.has_value() ? RunJob(cell.spec) : Result<JobResult>(resident.error());
      if (!result.has_value()) {
        if (!IsUnsupported(result.error())) return result.error().WithContext(cell.record.id);
        cell.record.status = "unsupported";
        cell.record.reason = result.error().message();
        if (observer) observer->OnUnsupported(cell, cell.record.reason);
        continue;
      }
      cell.record.repetitions.push_back(MakeRepetitionRecord(cell.spec, *result, *resident));
      const int64_t elapsed = NowNs() - started_ns;
      const auto eta = static_cast<int64_t>(static_cast<double>(elapsed) / static_cast<double>(done) *
                                            static_cast<double>(total - done));
      if (observer) observer->OnRepetition(cell, rep, cell.record.repetitions.back(), done, total, eta);
    }
  }
  ResultsDocument document;
  document.iodepth_version = IODEPTH_VERSION;
  document.created_utc = UtcNow();
  document.command = config.command_line;
  document.config = SuiteConfigToJson(config);
  for (CellPlan& cell : cells) {
    SummariseCell(cell.record);
    document.cells.push_back(std::move(cell.record));
  }
  return document;
}

}  // namespace iodepth
