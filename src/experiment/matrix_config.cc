#include "experiment/matrix_config.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include <fmt/format.h>

#include "common/units.h"
#include "experiment/checks.h"

namespace iodepth {

namespace {

struct WorkloadInfo {
  std::string_view name;
  std::string_view suite;
  std::string_view cell_prefix;  // Kept cells' ids start with this ("" = every cell of the suite).
  bool in_default = true;        // Part of the default matrix.
};

// The write suite's workloads are not in the default matrix (they would more than double
// its time); a config or profile names them (profiles/write.json).
constexpr WorkloadInfo kWorkloads[] = {
    {"io_patterns", "io_patterns", ""},
    {"seq_read_qd", "qd", "seq_read_qd"},
    {"rand_read_qd", "qd", "rand_read_qd"},
    {"bm_seq_read", "bm", "bm_seq_read_qd"},
    {"bm_rand_read", "bm", "bm_rand_read_qd"},
    {"bm_seq_read_adaptive", "bm", "bm_seq_read_adaptive"},
    {"multistream_scan", "scan", "multistream_scan_qd"},
    {"wal_commit", "write", "wal_commit_qd", false},
    {"bm_rand_rw", "write", "bm_rand_rw_qd", false},
    {"checkpoint", "write", "checkpoint_qd", false},
};

bool UsesPool(std::string_view suite) { return suite == "bm" || suite == "scan" || suite == "write"; }

const WorkloadInfo* FindWorkload(std::string_view name) {
  for (const WorkloadInfo& w : kWorkloads) {
    if (w.name == name) return &w;
  }
  return nullptr;
}

std::string WorkloadList() {
  std::string out;
  for (const WorkloadInfo& w : kWorkloads) out += (out.empty() ? "" : ", ") + std::string(w.name);
  return out;
}

Status KeyError(std::string_view source, std::string_view key, std::string_view problem) {
  return Status::InvalidArgument(fmt::format("{}: \"{}\": {}", source, key, problem));
}

// Reads a list of strings, each turned into T by `parse` (whose errors gain the key).
template <typename T, typename Parse>
Result<std::vector<T>> ParseList(const nlohmann::json& value, std::string_view source, std::string_view key,
                                 Parse parse) {
  if (!value.is_array()) return KeyError(source, key, "must be a list, e.g. [\"a\", \"b\"]");
  std::vector<T> out;
  for (const nlohmann::json& item : value) {
    Result<T> parsed = parse(item);
    if (!parsed.has_value()) return KeyError(source, key, parsed.error().message());
    out.push_back(*parsed);
  }
  return out;
}

Result<std::string> AsString(const nlohmann::json& item) {
  if (!item.is_string()) return Status::InvalidArgument(fmt::format("{} is not a string", item.dump()));
  return item.get<std::string>();
}

Result<uint64_t> AsSize(const nlohmann::json& item, std::string_view key) {
  if (item.is_number_unsigned()) return item.get<uint64_t>();
  if (item.is_string()) return ParseSize(item.get<std::string>(), key);
  return Status::InvalidArgument(fmt::format("{} is not a size (e.g. \"256MiB\" or a number of bytes)", item.dump()));
}

Result<uint32_t> AsCount(const nlohmann::json& item) {
  if (item.is_number_integer() && item.get<int64_t>() >= 0 && item.get<int64_t>() <= UINT32_MAX) {
    return static_cast<uint32_t>(item.get<int64_t>());
  }
  return Status::InvalidArgument(fmt::format("{} is not a whole number >= 0", item.dump()));
}

// The keys holding lists, each parsed into the config.
Status ParseListKey(const std::string& key, const nlohmann::json& value, std::string_view source, MatrixConfig& c) {
  if (key == "workloads") {
    IODEPTH_ASSIGN_OR_RETURN(c.workloads, ParseList<std::string>(value, source, key, AsString));
  } else if (key == "depths") {
    IODEPTH_ASSIGN_OR_RETURN(c.depths, ParseList<uint32_t>(value, source, key, AsCount));
  } else if (key == "modes") {
    auto parse = [](const nlohmann::json& v) -> Result<CacheMode> {
      IODEPTH_ASSIGN_OR_RETURN(const std::string name, AsString(v));
      return ParseCacheMode(name);
    };
    IODEPTH_ASSIGN_OR_RETURN(c.modes, ParseList<CacheMode>(value, source, key, parse));
  } else if (key == "backends") {
    auto parse = [](const nlohmann::json& v) -> Result<Backend> {
      IODEPTH_ASSIGN_OR_RETURN(const std::string name, AsString(v));
      IODEPTH_ASSIGN_OR_RETURN(const Backend backend, ParseBackend(name));
      if (backend == Backend::kAuto) return Status::InvalidArgument("name io_uring, worker or sync, not auto");
      return backend;
    };
    IODEPTH_ASSIGN_OR_RETURN(c.backends, ParseList<Backend>(value, source, key, parse));
  } else if (key == "regimes") {
    auto parse = [](const nlohmann::json& v) -> Result<Regime> {
      IODEPTH_ASSIGN_OR_RETURN(const std::string name, AsString(v));
      return ParseRegime(name);
    };
    IODEPTH_ASSIGN_OR_RETURN(c.regimes, ParseList<Regime>(value, source, key, parse));
  } else if (key == "memory_ratios") {
    auto parse = [](const nlohmann::json& v) -> Result<double> {
      if (!v.is_number() || v.get<double>() <= 0 || !std::isfinite(v.get<double>())) {
        return Status::InvalidArgument(
            fmt::format("{} is not a ratio above 0 (working set / memory: 0.5, 2, 8)", v.dump()));
      }
      return v.get<double>();
    };
    IODEPTH_ASSIGN_OR_RETURN(c.memory_ratios, ParseList<double>(value, source, key, parse));
  } else {
    auto parse = [](const nlohmann::json& v) -> Result<uint64_t> {
      if (v.is_number_unsigned()) return v.get<uint64_t>();
      IODEPTH_ASSIGN_OR_RETURN(const std::string text, AsString(v));
      return ParseCap(text, "memory_caps");
    };
    IODEPTH_ASSIGN_OR_RETURN(c.memory_caps, ParseList<uint64_t>(value, source, key, parse));
  }
  return Status::OK();
}

// The keys holding one value.
Status ParseScalarKey(const std::string& key, const nlohmann::json& value, std::string_view source, MatrixConfig& c) {
  auto wrap = [&](Status status) { return status.ok() ? status : KeyError(source, key, status.message()); };
  auto size = [&](uint64_t& out) -> Status {
    Result<uint64_t> parsed = AsSize(value, key);
    if (!parsed.has_value()) return wrap(parsed.error());
    out = *parsed;
    return Status::OK();
  };
  auto duration = [&](int64_t& out) -> Status {
    if (!value.is_string()) return KeyError(source, key, "must be a duration string such as \"500ms\" or \"2s\"");
    Result<int64_t> parsed = ParseDurationNs(value.get<std::string>(), key);
    if (!parsed.has_value()) return wrap(parsed.error());
    out = *parsed;
    return Status::OK();
  };
  auto count = [&](uint32_t& out) -> Status {
    Result<uint32_t> parsed = AsCount(value);
    if (!parsed.has_value()) return wrap(parsed.error());
    out = *parsed;
    return Status::OK();
  };
  if (key == "repetitions") return count(c.repetitions);
  if (key == "max_repetitions") return count(c.max_repetitions);
  if (key == "repetition_step") return count(c.repetition_step);
  if (key == "budget") return duration(c.budget_ns);
  if (key == "runtime") return duration(c.runtime_ns);
  if (key == "ramp_time") return duration(c.ramp_ns);
  if (key == "size") return size(c.file_size_bytes);
  if (key == "bs") return size(c.block_size);
  if (key == "memory") return size(c.memory_bytes);
  if (key == "streams") return count(c.streams);
  if (key == "work") return count(c.work);
  if (key == "seed") return size(c.seed);
  if (key == "page_size") {
    uint64_t bytes = 0;
    IODEPTH_RETURN_IF_ERROR(size(bytes));
    Result<PageSize> page = PageSizeFromBytes(bytes);
    if (!page.has_value()) return wrap(page.error());
    c.page_size = *page;
    return Status::OK();
  }
  if (key == "io_combine") {
    uint64_t bytes = 0;
    IODEPTH_RETURN_IF_ERROR(size(bytes));
    if (bytes > kMaxCombineBytes)
      return KeyError(source, key, fmt::format("at most {}", FormatBytes(kMaxCombineBytes)));
    c.io_combine_bytes = static_cast<uint32_t>(bytes);
    return Status::OK();
  }
  if (key == "uring_async" || key == "strategy") {
    if (!value.is_string()) return KeyError(source, key, "must be a string");
    if (key == "uring_async") {
      Result<UringAsync> rule = ParseUringAsync(value.get<std::string>());
      if (!rule.has_value()) return wrap(rule.error());
      c.uring_async = *rule;
    } else {
      Result<ScanStrategy> strategy = ParseScanStrategy(value.get<std::string>());
      if (!strategy.has_value()) return wrap(strategy.error());
      c.scan_strategy = *strategy;
    }
    return Status::OK();
  }
  if (key == "verify") {
    if (!value.is_boolean()) return KeyError(source, key, "must be true or false");
    c.verify = value.get<bool>();
    return Status::OK();
  }
  if (key == "directory") {
    if (!value.is_string()) return KeyError(source, key, "must be a path string");
    c.directory = value.get<std::string>();
    return Status::OK();
  }
  return KeyError(source, key,
                  "unknown key; known keys: workloads, depths, modes, backends, regimes, memory_caps, repetitions, "
                  "max_repetitions, repetition_step, budget, runtime, ramp_time, size, bs, memory, page_size, "
                  "io_combine, uring_async, strategy, streams, work, seed, verify, directory");
}

bool NeedsPool(const MatrixConfig& c) {
  return std::any_of(c.workloads.begin(), c.workloads.end(), [](const std::string& w) {
    const WorkloadInfo* info = FindWorkload(w);
    return info && UsesPool(info->suite);
  });
}

Status ValidateCaps(const MatrixConfig& c) {
  IODEPTH_RETURN_IF_ERROR(RejectRepeats(c.memory_caps, "\"memory_caps\""));
  IODEPTH_RETURN_IF_ERROR(RejectRepeats(c.memory_ratios, "\"memory_ratios\""));
  const bool inherited = std::find(c.memory_caps.begin(), c.memory_caps.end(), kInheritCap) != c.memory_caps.end();
  if (inherited && !c.memory_ratios.empty()) {
    return Status::InvalidArgument(
        "\"memory_ratios\" beside \"inherit\": under an inherited limit no cap of the memory axis could be made "
        "inside it reliably; pass --memory-ratios=none, or list caps instead of inherit");
  }
  const bool inherit = std::find(c.memory_caps.begin(), c.memory_caps.end(), kInheritCap) != c.memory_caps.end();
  const bool none = std::find(c.memory_caps.begin(), c.memory_caps.end(), 0) != c.memory_caps.end();
  if (inherit && none) {
    return Status::InvalidArgument(
        "\"memory_caps\" lists both \"inherit\" and \"none\": under an inherited limit the whole process is capped, "
        "so no cell could run uncapped; list only \"inherit\"");
  }
  const uint64_t pool = NeedsPool(c) ? c.memory_bytes : 0;
  const uint64_t reserve = CapReserveBytes(pool, PageSizeBytes(c.page_size));
  const uint64_t need = pool + reserve;
  for (uint64_t cap : c.memory_caps) {
    if (cap == 0 || cap == kInheritCap || cap >= need) continue;
    return Status::InvalidArgument(fmt::format(
        "memory cap {} is below what a cell needs: {} ({} for the process{}); raise the cap to at least {} or lower "
        "\"memory\"",
        FormatBytes(cap), FormatBytes(need), FormatBytes(reserve),
        pool ? fmt::format(" plus the {} buffer pool of the bm and scan cells", FormatBytes(pool)) : "",
        FormatBytes(need)));
  }
  return Status::OK();
}

}  // namespace

const std::vector<std::string_view>& MatrixWorkloadNames() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> out;
    for (const WorkloadInfo& w : kWorkloads) out.push_back(w.name);
    return out;
  }();
  return names;
}

MatrixConfig DefaultMatrixConfig() {
  MatrixConfig c;
  for (const WorkloadInfo& w : kWorkloads) {
    if (w.in_default) c.workloads.emplace_back(w.name);
  }
  c.depths = {1, 4, 16, 32};
  c.modes = {CacheMode::kBuffered, CacheMode::kDirect};
  c.backends = {Backend::kIoUring, Backend::kSync};
  c.regimes = {Regime::kHot, Regime::kPressure, Regime::kThrash};
  c.memory_caps = {0, 128ull << 20};
  // The working set twice the memory, 2x and 8x larger: in memory, beside it, far beyond.
  c.memory_ratios = {0.5, 2, 8};
  // Five repetitions: a percentile bootstrap over three pairs is little more than their
  // range and covers the true ratio far less often than its nominal 95%.
  c.repetitions = 5;
  // Then up to 21 for a comparison still undecided, 4 at a time, within 8 minutes.
  c.max_repetitions = 21;
  c.repetition_step = 4;
  c.budget_ns = 8 * 60'000'000'000LL;
  c.runtime_ns = 400'000'000;
  c.ramp_ns = 200'000'000;
  c.file_size_bytes = 256ull << 20;
  c.block_size = 4096;
  c.memory_bytes = 64ull << 20;
  c.page_size = kDefaultPageSize;
  c.io_combine_bytes = 128 * 1024;
  c.streams = 4;
  return c;
}

Result<MatrixConfig> ParseMatrixConfig(const nlohmann::json& json, const MatrixConfig& base, std::string_view source) {
  if (!json.is_object()) return Status::InvalidArgument(fmt::format("{}: the config must be a JSON object", source));
  MatrixConfig c = base;
  static const std::set<std::string> kListKeys = {"workloads", "depths",      "modes",        "backends",
                                                  "regimes",   "memory_caps", "memory_ratios"};
  for (const auto& [key, value] : json.items()) {
    if (key.starts_with("_")) continue;  // "_comment" and the like: notes for people.
    if (kListKeys.contains(key)) {
      IODEPTH_RETURN_IF_ERROR(ParseListKey(key, value, source, c));
    } else {
      IODEPTH_RETURN_IF_ERROR(ParseScalarKey(key, value, source, c));
    }
  }
  return c;
}

Result<MatrixConfig> ReadMatrixConfigFile(const std::string& path, const MatrixConfig& base) {
  std::ifstream in(path);
  if (!in) return Status::PosixError(fmt::format("open matrix config {}", path), errno);
  const nlohmann::json json = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false, /*ignore_comments=*/true);
  if (json.is_discarded()) {
    return Status::InvalidArgument(fmt::format("{} is not valid JSON (// and /* */ comments are allowed)", path));
  }
  return ParseMatrixConfig(json, base, path);
}

nlohmann::json MatrixConfigToJson(const MatrixConfig& c) {
  std::vector<std::string> modes, backends, regimes, caps;
  for (CacheMode m : c.modes) modes.emplace_back(CacheModeName(m));
  for (Backend b : c.backends) backends.emplace_back(BackendName(b));
  for (Regime r : c.regimes) regimes.emplace_back(RegimeName(r));
  for (uint64_t cap : c.memory_caps)
    caps.push_back(cap == 0 ? "none" : cap == kInheritCap ? "inherit" : std::to_string(cap));
  const std::string runtime = FormatDuration(c.runtime_ns, DurationStyle::kParseable);
  const std::string ramp_time = FormatDuration(c.ramp_ns, DurationStyle::kParseable);
  return {{"workloads", c.workloads},
          {"depths", c.depths},
          {"modes", modes},
          {"backends", backends},
          {"regimes", regimes},
          {"memory_caps", caps},
          {"memory_ratios", c.memory_ratios},
          {"repetitions", c.repetitions},
          {"max_repetitions", MaxRepetitions(c)},
          {"repetition_step", c.repetition_step},
          {"budget", FormatDuration(c.budget_ns, DurationStyle::kParseable)},
          {"runtime", runtime},
          {"ramp_time", ramp_time},
          {"size", c.file_size_bytes},
          {"bs", c.block_size},
          {"memory", c.memory_bytes},
          {"page_size", PageSizeBytes(c.page_size)},
          {"io_combine", c.io_combine_bytes},
          {"uring_async", std::string(UringAsyncName(c.uring_async))},
          {"strategy", std::string(ScanStrategyName(c.scan_strategy))},
          {"streams", c.streams},
          {"work", c.work},
          {"seed", c.seed},
          {"verify", c.verify},
          {"directory", c.directory}};
}

nlohmann::json MatrixFingerprint(const MatrixConfig& c, const std::string& data_dir, const std::string& out_dir) {
  nlohmann::json json = MatrixConfigToJson(c);
  // Lists only select cells; the re-measuring bounds only say how long to keep measuring.
  for (const char* selector : {"workloads", "depths", "modes", "backends", "regimes", "memory_caps", "memory_ratios",
                               "max_repetitions", "repetition_step", "budget"}) {
    json.erase(selector);
  }
  // Keys added later are left out at their defaults, so a journal written before them
  // still resumes under the config that measured the same thing.
  if (c.uring_async == UringAsync::kNever) json.erase("uring_async");
  if (c.scan_strategy == ScanStrategy::kAuto) json.erase("strategy");
  std::error_code ec;
  const std::filesystem::path absolute = std::filesystem::absolute(data_dir, ec).lexically_normal();
  json["directory"] = ec ? data_dir : absolute.string();
  if (!ec && !out_dir.empty()) {
    const std::filesystem::path out = std::filesystem::absolute(out_dir, ec).lexically_normal();
    const std::filesystem::path inside = absolute.lexically_relative(out);
    if (!ec && !inside.empty() && *inside.begin() != "..") {
      json["directory"] = fmt::format("{}/{}", kOutDirPrefix, inside.string());
    }
  }
  return json;
}

Status ValidateMatrixConfig(const MatrixConfig& c) {
  if (c.workloads.empty())
    return Status::InvalidArgument(fmt::format("\"workloads\" is empty; name some of: {}", WorkloadList()));
  for (const std::string& w : c.workloads) {
    if (!FindWorkload(w)) {
      return Status::InvalidArgument(fmt::format("unknown workload \"{}\"; known workloads: {}", w, WorkloadList()));
    }
  }
  IODEPTH_RETURN_IF_ERROR(RejectRepeats(c.workloads, "\"workloads\""));
  IODEPTH_RETURN_IF_ERROR(RejectRepeats(c.depths, "\"depths\""));
  IODEPTH_RETURN_IF_ERROR(RejectRepeats(c.modes, "\"modes\""));
  IODEPTH_RETURN_IF_ERROR(RejectRepeats(c.backends, "\"backends\""));
  IODEPTH_RETURN_IF_ERROR(RejectRepeats(c.regimes, "\"regimes\""));
  IODEPTH_RETURN_IF_ERROR(RejectOutOfRange(c.depths, 1, IoQueue::kMaxDepth, "\"depths\": queue depth "));
  if (c.depths.empty() || c.modes.empty() || c.backends.empty() || c.regimes.empty() || c.memory_caps.empty()) {
    return Status::InvalidArgument(
        "\"depths\", \"modes\", \"backends\", \"regimes\" and \"memory_caps\" must each name at least one value "
        "(memory_caps: \"none\" for no cap)");
  }
  if (c.repetitions == 0) return Status::InvalidArgument("\"repetitions\" must be at least 1");
  if (c.repetition_step == 0 || c.repetition_step % 2 != 0) {
    return Status::InvalidArgument(fmt::format(
        "\"repetition_step\" {} must be a positive even number: re-measured pairs run in ABBA order, which only "
        "cancels drift in blocks of two",
        c.repetition_step));
  }
  if (c.budget_ns < 0) return Status::InvalidArgument("\"budget\" must not be negative");
  if (c.runtime_ns <= 0) return Status::InvalidArgument("\"runtime\" must be longer than 0");
  IODEPTH_RETURN_IF_ERROR(RejectOutOfRange(c.streams, 1, kMaxScanStreams, "\"streams\" "));
  const uint64_t page = PageSizeBytes(c.page_size);
  if (c.io_combine_bytes < page || c.io_combine_bytes % page != 0) {
    return Status::InvalidArgument(
        fmt::format("\"io_combine\" {} must be a multiple of \"page_size\" {}", c.io_combine_bytes, page));
  }
  return ValidateCaps(c);
}

uint32_t MaxRepetitions(const MatrixConfig& c) { return std::max(c.max_repetitions, c.repetitions); }

uint64_t MemoryRatioBudget(uint64_t working_set_bytes, double ratio) {
  constexpr uint64_t kMiB = 1ull << 20;
  const double bytes = std::ceil(static_cast<double>(working_set_bytes) / ratio / static_cast<double>(kMiB));
  return std::max<uint64_t>(1, static_cast<uint64_t>(bytes)) * kMiB;
}

uint64_t CapReserveBytes(uint64_t pool_bytes, uint64_t page_bytes) {
  constexpr uint64_t kMiB = 1ull << 20;
  const uint64_t frames = page_bytes == 0 ? 0 : pool_bytes / page_bytes;
  const uint64_t bookkeeping = (frames * kCapReservePerFrameBytes + kMiB - 1) / kMiB * kMiB;
  return kCapReserveBytes + bookkeeping;
}

uint64_t MemoryRatioCap(uint64_t working_set_bytes, double ratio, uint64_t pool_page_bytes) {
  const uint64_t budget = MemoryRatioBudget(working_set_bytes, ratio);
  return budget + CapReserveBytes(pool_page_bytes == 0 ? 0 : budget, pool_page_bytes);
}

std::string CapLabel(uint64_t cap) {
  if (cap == 0) return "none";
  if (cap == kInheritCap) return "inherit";
  return FormatBytes(cap);
}

std::string CapFileTag(uint64_t cap) {
  if (cap == 0) return "nocap";
  if (cap == kInheritCap) return "capinherit";
  constexpr uint64_t kMiB = 1ull << 20;
  constexpr uint64_t kGiB = 1ull << 30;
  if (cap % kGiB == 0) return fmt::format("cap{}GiB", cap / kGiB);
  if (cap % kMiB == 0) return fmt::format("cap{}MiB", cap / kMiB);
  return fmt::format("cap{}", cap);
}

Result<uint64_t> ParseCap(std::string_view text, std::string_view what) {
  if (text == "none" || text == "0") return uint64_t{0};
  if (text == "inherit") return kInheritCap;
  return ParseSize(text, what);
}

std::vector<MatrixGroup> MatrixGroups(const MatrixConfig& c, const std::string& data_dir) {
  std::vector<MatrixGroup> groups;
  for (std::string_view suite : {"io_patterns", "qd", "bm", "scan", "write"}) {
    MatrixGroup group;
    SuiteConfig& s = group.suite;
    s.suite = std::string(suite);
    bool wanted = false;
    for (const WorkloadInfo& w : kWorkloads) {
      if (w.suite != suite || std::find(c.workloads.begin(), c.workloads.end(), w.name) == c.workloads.end()) continue;
      if (!w.cell_prefix.empty()) s.only.emplace_back(w.cell_prefix);
      wanted = true;
    }
    if (!wanted) continue;
    group.needs_pool = UsesPool(suite);
    s.adaptive = std::find(c.workloads.begin(), c.workloads.end(), "bm_seq_read_adaptive") != c.workloads.end();
    // bm and scan read one table; the others each have their own file (io_patterns writes;
    // the write suite updates its table in place, which the read suites would refuse).
    const bool shares_table = suite == "bm" || suite == "scan";
    s.filename = fmt::format("{}/{}.dat", data_dir,
                             shares_table       ? "table"
                             : suite == "write" ? "rw-table"
                                                : std::string(suite));
    // table.dat is the matrix's own file in its data directory, so a table of another shape
    // there (a run with another --memory, or another profile sharing --directory) is
    // replaced; a file iodepth did not make is still refused (storage/heap_table.h).
    s.overwrite_table = group.needs_pool;
    s.file_size_bytes = c.file_size_bytes;
    s.block_size = c.block_size;
    s.runtime_ns = c.runtime_ns;
    s.ramp_ns = c.ramp_ns;
    s.repetitions = c.repetitions;
    s.seed = c.seed;
    s.verify = c.verify;
    s.depths = c.depths;
    s.modes = c.modes;
    s.backends = c.backends;
    s.regimes = c.regimes;
    s.memory_bytes = c.memory_bytes;
    s.page_size = c.page_size;
    s.io_combine_bytes = c.io_combine_bytes;
    s.queue.uring_async = c.uring_async;
    s.scan_strategy = c.scan_strategy;
    s.streams = c.streams;
    s.work = c.work;
    groups.push_back(group);
    if (!shares_table) continue;  // The memory axis is the read suites'.
    // The memory axis: the same table, the memory split per mode (suite.h).
    for (double ratio : c.memory_ratios) {
      MatrixGroup axis = group;
      const uint64_t working_set = MemoryAxisWorkingSetBytes(axis.suite);
      axis.memory_ratio = ratio;
      axis.suite.memory_budget_bytes = MemoryRatioBudget(working_set, ratio);
      axis.memory_axis_cap = MemoryRatioCap(working_set, ratio, PageSizeBytes(axis.suite.page_size));
      groups.push_back(std::move(axis));
    }
  }
  return groups;
}

}  // namespace iodepth
