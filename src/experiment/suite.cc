#include "experiment/suite.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <filesystem>

#include <fmt/format.h>

#include "common/clock.h"
#include "common/units.h"
#include "experiment/checks.h"

#include "harness/data_file.h"

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

// The suites whose cells read a heap table through a buffer pool (the write suite's is
// its own, updated in place).
bool UsesTable(const std::string& suite) { return suite == "bm" || suite == "scan" || suite == "write"; }

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

Status ValidateConfig(const SuiteConfig& config) {
  if (config.suite != "io_patterns" && config.suite != "qd" && !UsesTable(config.suite)) {
    return Status::InvalidArgument(
        fmt::format("unknown suite '{}'; choose io_patterns, qd, bm, scan or write", config.suite));
  }
  if (config.suite == "write") {
    if (!(config.update_fraction > 0 && config.update_fraction <= 1)) {
      return Status::InvalidArgument(fmt::format(
          "--update-fraction={} must lie in (0, 1]: 0.1 updates the page on one fetch in ten", config.update_fraction));
    }
    IODEPTH_RETURN_IF_ERROR(RejectOutOfRange(config.writeback_depth, 0, IoQueue::kMaxDepth, "--writeback-depth="));
    IODEPTH_RETURN_IF_ERROR(RejectOutOfRange(config.wal_record_bytes, 1, 1u << 20, "--record-bytes="));
    for (const CacheMode mode : config.modes) {
      if (mode == CacheMode::kDontcache) {
        return Status::InvalidArgument("the write suite runs buffered and direct only; drop dontcache from --modes");
      }
    }
  }
  if (config.suite == "scan") {
    IODEPTH_RETURN_IF_ERROR(RejectOutOfRange(config.streams, 1, kMaxScanStreams, "--streams="));
  }
  if (UsesTable(config.suite)) {
    IODEPTH_RETURN_IF_ERROR(RejectRepeats(config.regimes, "--regimes"));
    if (config.memory_budget_bytes != 0 && config.memory_budget_bytes < PageSizeBytes(config.page_size)) {
      return Status::InvalidArgument(
          fmt::format("the memory axis's budget {} is less than one page", FormatBytes(config.memory_budget_bytes)));
    }
    if (config.regimes.empty()) return Status::InvalidArgument("--regimes must name at least one regime");
  }
  if (config.memory_budget_bytes != 0 && config.suite != "bm" && config.suite != "scan") {
    return Status::InvalidArgument("a memory budget (the memory axis) is for the bm and scan suites only");
  }
  if (config.repetitions == 0) return Status::InvalidArgument("--repetitions must be at least 1");
  IODEPTH_RETURN_IF_ERROR(RejectOutOfRange(config.jobs, 1, kMaxJobs, "--numjobs="));
  if (config.jobs > 1 && config.suite != "qd" && config.suite != "bm") {
    return Status::InvalidArgument(
        fmt::format("--numjobs={} is for the qd and bm suites; the {} suite runs one queue per cell (scan: "
                    "--streams runs several scans)",
                    config.jobs, config.suite));
  }
  if (config.working_set_bytes > config.file_size_bytes) {
    return Status::InvalidArgument(
        fmt::format("--working_set={} is larger than --size={}; make it at most the file size",
                    config.working_set_bytes, config.file_size_bytes));
  }
  IODEPTH_RETURN_IF_ERROR(RejectRepeats(config.depths, "--depths"));
  IODEPTH_RETURN_IF_ERROR(RejectRepeats(config.modes, "--modes"));
  IODEPTH_RETURN_IF_ERROR(RejectRepeats(config.backends, "--backends"));
  IODEPTH_RETURN_IF_ERROR(RejectOutOfRange(config.depths, 1, IoQueue::kMaxDepth, "--depths: "));
  if (config.modes.empty() || (config.suite != "io_patterns" && (config.depths.empty() || config.backends.empty()))) {
    return Status::InvalidArgument("--modes, --depths and --backends must each name at least one value");
  }
  return Status::OK();
}

// The regimes whose cells run: the memory axis has one working set (the thrash regime's).
std::vector<Regime> CellRegimes(const SuiteConfig& config) {
  return config.memory_budget_bytes ? std::vector<Regime>{Regime::kThrash} : config.regimes;
}

std::string RegimeLabel(const SuiteConfig& config, Regime regime) {
  return std::string(config.memory_budget_bytes ? kMemoryAxisRegime : RegimeName(regime));
}

// One bm cell: the BmSpec it runs and the record and JobSpec that describe it.
CellPlan MakeBmCell(const SuiteConfig& config, bool random, Regime regime, uint32_t qd, CacheMode mode, Backend backend,
                    ReadStreamPolicy policy) {
  const bool sync_path = backend == Backend::kSync;
  const std::string base = random ? "bm_rand_read" : "bm_seq_read";
  const std::string workload =
      policy == ReadStreamPolicy::kAdaptive ? base + "_adaptive" : fmt::format("{}_qd{}", base, qd);
  CellPlan cell = MakeCell(config, Workload{"", random ? RwPattern::kRandRead : RwPattern::kRead}, workload, qd, mode,
                           backend, /*sync_path=*/false);
  BmSpec bm;
  bm.table_path = config.filename;
  bm.shape = BmTableShape(config);
  bm.random = random;
  bm.regime = regime;
  bm.cache = mode;
  bm.sync_path = sync_path;
  bm.queue = config.queue;
  bm.queue.backend = backend;
  bm.policy = policy;
  bm.distance = qd;
  bm.io_combine_bytes = config.io_combine_bytes;
  bm.memory_bytes = CellPoolBytes(config, mode);
  if (config.memory_budget_bytes) bm.working_set_bytes = MemoryAxisWorkingSetBytes(config);
  bm.runtime_ns = config.runtime_ns;
  bm.ramp_ns = config.ramp_ns;
  bm.seed = config.seed;
  bm.verify = config.verify;
  bm.jobs = config.jobs;
  CellRecord& r = cell.record;
  r.backend = sync_path ? "sync" : std::string(BackendName(backend));
  r.regime = RegimeLabel(config, regime);
  r.id = fmt::format("{}/{}/{}/{}", workload, CacheModeName(mode), r.backend, r.regime);
  r.bs = PageSizeBytes(config.page_size);
  r.policy = sync_path ? "sync" : std::string(ReadStreamPolicyName(policy));
  cell.spec.sync_path = sync_path;
  cell.spec.jobs = config.jobs;
  cell.spec.block_size = r.bs;
  cell.spec.size_bytes = BmWorkingSetPages(bm) * r.bs;  // The cache state is set over W.
  cell.bm = std::move(bm);
  return cell;
}

void AddBmCells(const SuiteConfig& config, std::vector<CellPlan>& cells) {
  const uint32_t max_qd = *std::max_element(config.depths.begin(), config.depths.end());
  for (const bool random : {false, true}) {
    for (Regime regime : CellRegimes(config)) {
      for (uint32_t qd : config.depths) {
        for (Backend backend : config.backends) {
          if (backend == Backend::kSync && qd != 1) continue;
          for (CacheMode mode : config.modes) {
            cells.push_back(MakeBmCell(config, random, regime, qd, mode, backend, ReadStreamPolicy::kFixed));
          }
        }
      }
      if (random || !config.adaptive || config.memory_budget_bytes) continue;
      for (Backend backend : config.backends) {
        if (backend == Backend::kSync) continue;
        for (CacheMode mode : config.modes) {
          cells.push_back(MakeBmCell(config, random, regime, max_qd, mode, backend, ReadStreamPolicy::kAdaptive));
        }
      }
    }
  }
}

// One multistream scan cell.
CellPlan MakeScanCell(const SuiteConfig& config, Regime regime, uint32_t qd, CacheMode mode, Backend backend) {
  const bool sync = backend == Backend::kSync;
  const std::string workload = fmt::format("multistream_scan_qd{}", qd);
  CellPlan cell = MakeCell(config, Workload{"", RwPattern::kRead}, workload, qd, mode, backend, /*sync_path=*/false);
  ScanJobSpec scan;
  scan.table_path = config.filename;
  scan.shape = BmTableShape(config);
  scan.regime = regime;
  scan.cache = mode;
  scan.streams = config.streams;
  scan.mode = sync ? ScanMode::kSync : ScanMode::kPipelined;
  scan.queue = config.queue;
  scan.queue.backend = sync ? Backend::kIoUring : backend;
  scan.distance = qd;
  scan.io_combine_bytes = config.io_combine_bytes;
  scan.strategy = config.scan_strategy;
  scan.memory_bytes = CellPoolBytes(config, mode);
  if (config.memory_budget_bytes) scan.working_set_bytes = MemoryAxisWorkingSetBytes(config);
  scan.runtime_ns = config.runtime_ns;
  scan.ramp_ns = config.ramp_ns;
  scan.query = DefaultScanQuery(config.work);
  CellRecord& r = cell.record;
  r.backend = sync ? "sync" : std::string(BackendName(backend));
  r.regime = RegimeLabel(config, regime);
  r.id = fmt::format("{}/{}/{}/{}", workload, CacheModeName(mode), r.backend, r.regime);
  r.bs = PageSizeBytes(config.page_size);
  r.policy = sync ? "sync" : "fixed";
  // Every scan keeps qd reads in flight: the depth asked of the device is S x qd.
  cell.spec.queue.depth = qd * config.streams;
  cell.spec.block_size = r.bs;
  BmSpec sizing;
  sizing.shape = scan.shape;
  sizing.regime = regime;
  sizing.memory_bytes = scan.memory_bytes;
  sizing.working_set_bytes = scan.working_set_bytes;
  cell.spec.size_bytes = BmWorkingSetPages(sizing) * r.bs;
  cell.scan = std::move(scan);
  return cell;
}

void AddScanCells(const SuiteConfig& config, std::vector<CellPlan>& cells) {
  for (Regime regime : CellRegimes(config)) {
    for (uint32_t qd : config.depths) {
      for (Backend backend : config.backends) {
        if (backend == Backend::kSync && qd != 1) continue;
        for (CacheMode mode : config.modes) cells.push_back(MakeScanCell(config, regime, qd, mode, backend));
      }
    }
  }
}

// The write suite's cells (see suite.h).
void AddWriteCells(const SuiteConfig& config, std::vector<CellPlan>& cells) {
  const std::string parent = std::filesystem::path(config.filename).parent_path().string();
  for (uint32_t qd : config.depths) {
    for (Backend backend : config.backends) {
      for (CacheMode mode : config.modes) {
        std::vector<WalSyncMethod> syncs = {WalSyncMethod::kFdatasync};
        if (mode == CacheMode::kDirect) syncs.push_back(WalSyncMethod::kDsync);
        for (const WalSyncMethod sync : syncs) {
          const std::string workload = fmt::format("wal_commit_qd{}", qd);
          CellPlan cell = MakeCell(config, Workload{"", RwPattern::kWrite}, workload, qd, mode, backend, false);
          WalJobOptions wal;
          wal.parent = parent.empty() ? "." : parent;
          wal.wal.cache = mode;
          wal.wal.sync = sync;
          wal.wal.queue = config.queue;
          wal.wal.queue.backend = backend;
          wal.wal.queue.depth = backend == Backend::kSync ? 1 : 8;
          wal.committers = qd;
          wal.record_bytes = config.wal_record_bytes;
          wal.runtime_ns = config.runtime_ns;
          wal.ramp_ns = config.ramp_ns;
          CellRecord& r = cell.record;
          r.policy = std::string(WalSyncMethodName(sync));
          r.id = fmt::format("{}/{}/{}/{}", workload, CacheModeName(mode), r.backend, r.policy);
          r.bs = wal.wal.geometry.block_bytes;
          cell.spec.block_size = r.bs;
          cell.wal = std::move(wal);
          cell.wal_sync = r.policy;
          cells.push_back(std::move(cell));
        }
      }
    }
  }
  for (Regime regime : config.regimes) {
    for (uint32_t qd : config.depths) {
      for (Backend backend : config.backends) {
        if (backend == Backend::kSync && qd != 1) continue;
        for (CacheMode mode : config.modes) {
          CellPlan cell = MakeBmCell(config, /*random=*/true, regime, qd, mode, backend, ReadStreamPolicy::kFixed);
          cell.bm->update_fraction = config.update_fraction;
          cell.bm->writeback_depth = config.writeback_depth;
          CellRecord& r = cell.record;
          r.workload = fmt::format("bm_rand_rw_qd{}", qd);
          r.rw = "randrw";
          r.id = fmt::format("{}/{}/{}/{}", r.workload, CacheModeName(mode), r.backend, r.regime);
          cells.push_back(std::move(cell));
        }
      }
    }
  }
  for (uint32_t qd : config.depths) {
    for (Backend backend : config.backends) {
      if (backend == Backend::kSync && qd != 1) continue;
      for (CacheMode mode : config.modes) {
        const std::string workload = fmt::format("checkpoint_qd{}", qd);
        CellPlan cell = MakeCell(config, Workload{"", RwPattern::kRandWrite}, workload, qd, mode, backend, false);
        CheckpointSpec checkpoint;
        checkpoint.table_path = config.filename;
        checkpoint.shape = BmTableShape(config);
        checkpoint.cache = mode;
        checkpoint.queue = config.queue;
        checkpoint.queue.backend = backend;
        checkpoint.depth = qd;
        checkpoint.memory_bytes = config.memory_bytes;
        checkpoint.runtime_ns = config.runtime_ns;
        checkpoint.ramp_ns = config.ramp_ns;
        checkpoint.seed = config.seed;
        checkpoint.reader = config.checkpoint_reader;
        CellRecord& r = cell.record;
        r.bs = PageSizeBytes(config.page_size);
        cell.spec.block_size = r.bs;
        // The dirty half of the pool is what the cache state is set over.
        cell.spec.size_bytes = config.memory_bytes / 2 / r.bs * r.bs;
        cell.checkpoint = std::move(checkpoint);
        cells.push_back(std::move(cell));
      }
    }
  }
}

// Reuses the table at config.filename when it already has the shape, loads it otherwise
// (LoadHeapTable refuses to replace a table of another shape unless overwrite_table).
// The write suite's table may carry its earlier runs' updates: any table of the shape,
// updated or not, is reused (its pages are checked by their update counts).
Status EnsureBmTable(const SuiteConfig& config) {
  const TableShape shape = BmTableShape(config);
  IODEPTH_ASSIGN_OR_RETURN(const bool matches, HeapTableMatches(config.filename, shape));
  if (matches) return Status::OK();
  if (config.suite == "write") {
    IODEPTH_ASSIGN_OR_RETURN(const TableFileInfo info, InspectTableFile(config.filename));
    if (info.kind == TableFileKind::kTable && info.shape == shape) return Status::OK();
  }
  LoadOptions load;
  load.path = config.filename;
  load.shape = shape;
  load.cache = CacheMode::kDirect;
  load.queue.backend = Backend::kAuto;
  load.queue.depth = 16;
  load.overwrite = config.overwrite_table;
  return LoadHeapTable(load).error();
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

// One repetition of one cell, whichever kind it is.
// The repetition's device record: the counters its window read, named; for storage that
// is memory without a block device (tmpfs) zeros, which is what the device did.
std::optional<DeviceRecord> MakeDeviceRecord(const DataFileInfo& file, std::optional<DeviceRecord> measured) {
  if (measured) {
    measured->name = file.device ? file.device->name : "unknown";
    measured->kind = file.storage.kind;
    return measured;
  }
  if (!file.device && file.storage.kind == "memory") return DeviceRecord{.name = file.storage.holder, .kind = "memory"};
  return std::nullopt;
}

Result<RepetitionRecord> RunCell(const CellPlan& cell, double resident_before) {
  if (cell.wal) {
    IODEPTH_ASSIGN_OR_RETURN(WalJobResult result, RunWalCommitJob(*cell.wal));
    return MakeWalRepetitionRecord(cell.spec, result, cell.wal_sync, resident_before);
  }
  if (cell.checkpoint) {
    IODEPTH_ASSIGN_OR_RETURN(CheckpointResult result, RunCheckpointJob(*cell.checkpoint));
    return MakeCheckpointRepetitionRecord(cell.spec, result, resident_before);
  }
  if (cell.bm) {
    IODEPTH_ASSIGN_OR_RETURN(BmResult result, RunBmJob(*cell.bm));
    return MakeBmRepetitionRecord(cell.spec, result, resident_before);
  }
  if (cell.scan) {
    IODEPTH_ASSIGN_OR_RETURN(ScanJobResult result, RunScanJob(*cell.scan));
    return MakeScanRepetitionRecord(cell.spec, result, resident_before);
  }
  IODEPTH_ASSIGN_OR_RETURN(JobResult result, RunJob(cell.spec));
  return MakeRepetitionRecord(cell.spec, result, resident_before);
}

}  // namespace

TableShape BmTableShape(const SuiteConfig& config) {
  // Sized for the largest regime whichever regimes run, so a run of one regime and a run
  // of another share one table file instead of reloading it.
  const double factor = RegimeWorkingSetFactor(Regime::kThrash);
  TableShape shape;
  shape.page_size = config.page_size;
  shape.seed = config.seed;
  const uint64_t page_bytes = PageSizeBytes(config.page_size);
  const auto pages = static_cast<uint64_t>(
      std::ceil(factor * static_cast<double>(config.memory_bytes) / static_cast<double>(page_bytes)));
  shape.rows = std::max<uint64_t>(pages, 1) * TableRowsPerPage(shape);
  return shape;
}

uint64_t MemoryAxisWorkingSetBytes(const SuiteConfig& config) {
  BmSpec sizing;
  sizing.shape = BmTableShape(config);
  sizing.regime = Regime::kThrash;
  sizing.memory_bytes = config.memory_bytes;
  return BmWorkingSetPages(sizing) * PageSizeBytes(config.page_size);
}

uint64_t CellPoolBytes(const SuiteConfig& config, CacheMode mode) {
  if (!config.memory_budget_bytes) return config.memory_bytes;
  if (mode == CacheMode::kDirect) return config.memory_budget_bytes;
  return std::min(config.memory_bytes, config.memory_budget_bytes);
}

nlohmann::json SuiteConfigToJson(const SuiteConfig& config) {
  std::vector<std::string> modes, backends;
  for (CacheMode m : config.modes) modes.emplace_back(CacheModeName(m));
  for (Backend b : config.backends) backends.emplace_back(BackendName(b));
  nlohmann::json json = {{"suite", config.suite},
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
                         {"numjobs", config.jobs},
                         {"uring_sqpoll", config.queue.uring_sqpoll},
                         {"uring_register_files", config.queue.uring_register_files},
                         {"uring_fixed_buffers", config.queue.uring_fixed_buffers},
                         {"uring_async", std::string(UringAsyncName(config.queue.uring_async))}};
  if (UsesTable(config.suite)) {
    std::vector<std::string> regimes;
    for (Regime r : config.regimes) regimes.emplace_back(RegimeName(r));
    json["memory"] = config.memory_bytes;
    json["regimes"] = regimes;
    json["page_size"] = PageSizeBytes(config.page_size);
    json["io_combine"] = config.io_combine_bytes;
    json["adaptive"] = config.adaptive;
    json["table_rows"] = BmTableShape(config).rows;
    json["backends"] = backends;
    json["depths"] = config.depths;
    if (config.memory_budget_bytes) {
      json["regimes"] = std::vector<std::string>{std::string(kMemoryAxisRegime)};
      json["adaptive"] = false;
      json["memory_axis"] = {{"budget_bytes", config.memory_budget_bytes},
                             {"working_set_bytes", MemoryAxisWorkingSetBytes(config)},
                             {"direct_pool_bytes", CellPoolBytes(config, CacheMode::kDirect)},
                             {"buffered_pool_bytes", CellPoolBytes(config, CacheMode::kBuffered)}};
    }
    if (config.suite == "write") {
      json["update_fraction"] = config.update_fraction;
      json["writeback_depth"] = config.writeback_depth;
      json["wal_record_bytes"] = config.wal_record_bytes;
      json["checkpoint_reader"] = config.checkpoint_reader;
    }
    if (config.suite == "scan") {
      json["streams"] = config.streams;
      json["work"] = config.work;
      json["strategy"] = std::string(ScanStrategyName(config.scan_strategy));
      json["query"] = "SELECT count(*), sum(c2) FROM t WHERE c0 < 500";
    }
  }
  return json;
}

Result<std::vector<CellPlan>> PlanSuite(const SuiteConfig& config) {
  IODEPTH_RETURN_IF_ERROR(ValidateConfig(config));
  std::vector<CellPlan> cells;
  if (config.suite == "io_patterns") {
    for (const Workload& w : kPatternWorkloads) {
      for (CacheMode mode : config.modes) cells.push_back(MakeCell(config, w, w.name, 1, mode, Backend::kSync, true));
    }
  } else if (config.suite == "bm") {
    AddBmCells(config, cells);
  } else if (config.suite == "scan") {
    AddScanCells(config, cells);
  } else if (config.suite == "write") {
    AddWriteCells(config, cells);
  } else {
    for (const Workload& w : kQdWorkloads) {
      for (uint32_t qd : config.depths) {
        for (Backend backend : config.backends) {
          if (backend == Backend::kSync && qd != 1) continue;  // sync is depth 1 by definition.
          for (CacheMode mode : config.modes) {
            CellPlan cell = MakeCell(config, w, fmt::format("{}_qd{}", w.name, qd), qd, mode, backend, false);
            cell.spec.jobs = config.jobs;
            cells.push_back(std::move(cell));
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

Result<DataFileInfo> PrepareSuiteFiles(const SuiteConfig& config, const std::vector<CellPlan>& cells) {
  DataFileInfo info;
  if (UsesTable(config.suite)) {
    IODEPTH_RETURN_IF_ERROR(EnsureBmTable(config));
  } else {
    bool writes = false;
    for (const CellPlan& c : cells) writes = writes || IsWrite(c.spec.rw);
    IODEPTH_ASSIGN_OR_RETURN(info, EnsureDataFile(DataFileRequest{.path = config.filename,
                                                                  .size_bytes = config.file_size_bytes,
                                                                  .will_write = writes,
                                                                  .need_pattern = config.verify}));
  }
  info.device = BlockDeviceUnder(config.filename);
  info.storage = ClassifyStorage(config.filename);
  return info;
}

Result<RepetitionRecord> RunCellRepetition(const SuiteConfig& config, const CellPlan& cell, const DataFileInfo& file) {
  CellPlan run = cell;
  run.spec.file_id = file.file_id;
  run.spec.device = file.device;
  if (run.bm) run.bm->device = file.device;
  if (run.scan) run.scan->device = file.device;
  IODEPTH_ASSIGN_OR_RETURN(const double resident, PrepareCacheState(config, run));
  IODEPTH_ASSIGN_OR_RETURN(RepetitionRecord record, RunCell(run, resident));
  record.device = MakeDeviceRecord(file, record.device);
  return record;
}

namespace {

// The document of what has run: every cell summarised over the repetitions it has. A suite
// that has not finished says so in config.partial (rounds done of those asked, and why).
ResultsDocument SuiteDocument(const SuiteConfig& config, const std::vector<CellPlan>& cells, uint32_t rounds_done,
                              const std::string& why_partial) {
  ResultsDocument document;
  document.iodepth_version = IODEPTH_VERSION;
  document.created_utc = UtcNow();
  document.command = config.command_line;
  document.config = SuiteConfigToJson(config);
  if (!why_partial.empty()) {
    document.config["partial"] = {
        {"rounds_done", rounds_done}, {"rounds_asked", config.repetitions}, {"why", why_partial}};
  }
  for (const CellPlan& cell : cells) {
    document.cells.push_back(cell.record);
    SummariseCell(document.cells.back());
  }
  return document;
}

bool StopAsked(const std::atomic<bool>* stop) { return stop != nullptr && stop->load(); }

}  // namespace

Result<ResultsDocument> RunSuite(const SuiteConfig& config, SuiteObserver* observer, const std::atomic<bool>* stop) {
  IODEPTH_ASSIGN_OR_RETURN(std::vector<CellPlan> cells, PlanSuite(config));
  IODEPTH_ASSIGN_OR_RETURN(const DataFileInfo file, PrepareSuiteFiles(config, cells));
  const int64_t per_run_ns = config.ramp_ns + config.runtime_ns;
  const size_t total = cells.size() * config.repetitions;
  if (observer) observer->OnStart(config, cells.size(), static_cast<int64_t>(total) * per_run_ns);
  size_t done = 0;
  const int64_t started_ns = NowNs();
  for (uint32_t rep = 0; rep < config.repetitions; ++rep) {
    for (CellPlan& cell : cells) {
      if (StopAsked(stop)) return SuiteDocument(config, cells, rep, "stopped by a signal before it finished");
      ++done;
      if (cell.record.status != "ok") continue;  // Unsupported on an earlier repetition.
      Result<RepetitionRecord> record = RunCellRepetition(config, cell, file);
      if (!record.has_value()) {
        if (!IsUnsupported(record.error())) {
          // The rounds already finished are kept before the error is returned.
          const Status failed = record.error().WithContext(cell.record.id);
          if (observer) {
            observer->OnRound(SuiteDocument(config, cells, rep, "stopped by an error: " + failed.message()))
                .IgnoreError();
          }
          return failed;
        }
        cell.record.status = "unsupported";
        cell.record.reason = record.error().message();
        if (observer) observer->OnUnsupported(cell, cell.record.reason);
        continue;
      }
      cell.record.repetitions.push_back(std::move(*record));
      const int64_t elapsed = NowNs() - started_ns;
      const auto eta = static_cast<int64_t>(static_cast<double>(elapsed) / static_cast<double>(done) *
                                            static_cast<double>(total - done));
      if (observer) observer->OnRepetition(cell, rep, cell.record.repetitions.back(), done, total, eta);
    }
    if (observer && rep + 1 < config.repetitions) {
      IODEPTH_RETURN_IF_ERROR(observer->OnRound(SuiteDocument(config, cells, rep + 1, "still running")));
    }
  }
  return SuiteDocument(config, cells, config.repetitions, "");
}

}  // namespace iodepth
