// `iodepth suite io_patterns|qd|bm`: a whole suite as one command, with a row per run while
// it goes, a progress line, a summary table, and the results as JSON and CSV.
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>

#include <fmt/format.h>

#include "cli/cli_support.h"
#include "cli/commands.h"
#include "common/clock.h"
#include "common/units.h"
#include "experiment/suite.h"
#include "storage/heap_table.h"
#include "sys/environment.h"

namespace iodepth::tools {

namespace {

struct SuiteFlags {
  std::string suite;
  std::string filename;
  std::string size = "256m";
  std::string working_set;
  std::string bs = "4k";
  std::string runtime = "2s";
  std::string ramp_time = "500ms";
  uint64_t number_ios = 0;
  uint32_t repetitions = 3;
  uint64_t randseed = 1;
  int verify = 0;
  std::vector<uint32_t> depths = {1, 4, 16, 32};
  uint32_t numjobs = 1;
  std::vector<std::string> modes = {"buffered", "direct"};
  std::vector<std::string> backends = {"io_uring", "worker", "sync"};
  std::string cache_state = "cold";
  bool drop_caches = false;
  bool overwrite = false;
  std::vector<std::string> only;
  bool list = false;
  std::string json_path;
  std::string csv_path;
  std::string output_dir = "results";
  QueueFlags queue;
  std::string command_line;
  std::string memory = "64MiB";
  std::vector<std::string> regimes = {"hot", "pressure", "thrash"};
  std::string page_size = "8KiB";
  std::string io_combine = "128KiB";
  int adaptive = 1;
  uint32_t streams = 4;
  std::string strategy = "auto";
  uint32_t work = 0;
  double update_fraction = 0.1;
  uint32_t writeback_depth = 8;
  uint32_t record_bytes = 128;
  int checkpoint_reader = 1;
};

Result<SuiteConfig> BuildConfig(const SuiteFlags& flags) {
  SuiteConfig config;
  config.suite = flags.suite;
  config.filename = flags.filename;
  IODEPTH_ASSIGN_OR_RETURN(config.file_size_bytes, ParseSize(flags.size, "--size"));
  if (!flags.working_set.empty()) {
    IODEPTH_ASSIGN_OR_RETURN(config.working_set_bytes, ParseSize(flags.working_set, "--working_set"));
  }
  IODEPTH_ASSIGN_OR_RETURN(config.block_size, ParseSize(flags.bs, "--bs"));
  IODEPTH_ASSIGN_OR_RETURN(config.runtime_ns, ParseDurationNs(flags.runtime, "--runtime"));
  IODEPTH_ASSIGN_OR_RETURN(config.ramp_ns, ParseDurationNs(flags.ramp_time, "--ramp_time"));
  config.number_ios = flags.number_ios;
  config.repetitions = flags.repetitions;
  config.seed = flags.randseed;
  config.verify = flags.verify != 0;
  config.depths = flags.depths;
  config.modes.clear();
  for (const std::string& m : flags.modes) {
    IODEPTH_ASSIGN_OR_RETURN(CacheMode mode, ParseCacheMode(m));
    config.modes.push_back(mode);
  }
  config.backends.clear();
  for (const std::string& b : flags.backends) {
    IODEPTH_ASSIGN_OR_RETURN(Backend backend, ParseBackend(b));
    if (backend == Backend::kAuto)
      return Status::InvalidArgument("--backends: name io_uring, worker or sync, not auto");
    config.backends.push_back(backend);
  }
  IODEPTH_ASSIGN_OR_RETURN(config.cache_state, ParseCacheState(flags.cache_state));
  config.drop_caches = flags.drop_caches;
  config.overwrite_table = flags.overwrite;
  config.only = flags.only;
  flags.queue.ApplyTo(config.queue);
  config.batch_submit = flags.queue.batch_submit;
  config.jobs = flags.numjobs;
  config.command_line = flags.command_line;
  IODEPTH_ASSIGN_OR_RETURN(config.memory_bytes, ParseSize(flags.memory, "--memory"));
  config.regimes.clear();
  for (const std::string& r : flags.regimes) {
    IODEPTH_ASSIGN_OR_RETURN(Regime regime, ParseRegime(r));
    config.regimes.push_back(regime);
  }
  IODEPTH_ASSIGN_OR_RETURN(const uint64_t page_bytes, ParseSize(flags.page_size, "--page-size"));
  IODEPTH_ASSIGN_OR_RETURN(config.page_size, PageSizeFromBytes(page_bytes));
  IODEPTH_ASSIGN_OR_RETURN(const uint64_t combine, ParseSize(flags.io_combine, "--io_combine"));
  if (combine < page_bytes || combine > kMaxCombineBytes || combine % page_bytes != 0) {
    return Status::InvalidArgument(fmt::format("--io_combine={} must be a multiple of --page-size={} up to {}",
                                               flags.io_combine, flags.page_size, FormatBytes(kMaxCombineBytes)));
  }
  config.io_combine_bytes = static_cast<uint32_t>(combine);
  config.adaptive = flags.adaptive != 0;
  config.streams = flags.streams;
  IODEPTH_ASSIGN_OR_RETURN(config.scan_strategy, ParseScanStrategy(flags.strategy));
  config.work = flags.work;
  config.update_fraction = flags.update_fraction;
  config.writeback_depth = flags.writeback_depth;
  config.wal_record_bytes = flags.record_bytes;
  config.checkpoint_reader = flags.checkpoint_reader != 0;
  return config;
}

std::string P(const std::map<std::string, uint64_t>& percentile, double p) {
  auto it = percentile.find(PercentileKey(p));
  return fmt::format("{:.1f}", it == percentile.end() ? 0.0 : static_cast<double>(it->second) / 1000.0);
}

// Prints a row per run as it finishes, and a progress line on stderr.
// The size the suite really uses: the data file's, or for bm and scan the table's (its
// shape follows the pool, not --size).
std::string SizeUsed(const SuiteConfig& config) {
  if (config.suite != "bm" && config.suite != "scan" && config.suite != "write") {
    return FormatBytes(config.file_size_bytes);
  }
  const TableShape shape = BmTableShape(config);
  const uint64_t pages = shape.rows / TableRowsPerPage(shape);
  return fmt::format("a table of {} pages, {}, beside a {} pool", pages,
                     FormatBytes(pages * PageSizeBytes(config.page_size)), FormatBytes(config.memory_bytes));
}

class ConsoleObserver final : public SuiteObserver {
 public:
  void OnStart(const SuiteConfig& config, size_t cells, int64_t estimate_ns) override {
    std::cerr << fmt::format("iodepth suite {}: {} cells x {} repetitions on {} ({}), about {}\n", config.suite, cells,
                             config.repetitions, config.filename, SizeUsed(config),
                             FormatDuration(estimate_ns, DurationStyle::kWholeSeconds));
    std::cout << fmt::format("{:<48} {:>3} {:>10} {:>9} {:>9} {:>9} {:>9} {:>8} {:>6} {:>9} {:>6}\n", "cell", "rep",
                             "IOPS", "MB/s", "mean us", "p95 us", "p99 us", "cpu/io", "depth", "cached", "hit%");
  }
  void OnRepetition(const CellPlan& cell, uint32_t repetition, const RepetitionRecord& r, size_t done, size_t total,
                    int64_t eta_ns) override {
    const std::string cached = r.resident_before < 0 ? "-" : fmt::format("{:.0f}%", 100 * r.resident_before);
    const std::string hit = r.buffer ? fmt::format("{:.1f}", 100 * r.buffer->hit_ratio) : "-";
    std::cout << fmt::format("{:<48} {:>3} {:>10.0f} {:>9.1f} {:>9.1f} {:>9} {:>9} {:>7.2f}u {:>6.1f} {:>9} {:>6}\n",
                             cell.record.id, repetition + 1, r.iops, r.bw_bytes / 1e6, r.clat_ns.mean / 1000.0,
                             P(r.clat_ns.percentile, 95), P(r.clat_ns.percentile, 99), r.cpu_ns_per_io / 1000.0,
                             r.depth.littles_law, cached, hit)
              << std::flush;
    const std::string eta = FormatDuration(eta_ns, DurationStyle::kWholeSeconds);
    if (isatty(STDERR_FILENO)) std::cerr << fmt::format("\r[{}/{}] ETA {}   ", done, total, eta);
    else if (done % 10 == 0 || done == total) std::cerr << fmt::format("[{}/{}] ETA {}\n", done, total, eta);
  }
  void OnUnsupported(const CellPlan& cell, const std::string& reason) override {
    std::cout << fmt::format("{:<48} unsupported: {}\n", cell.record.id, reason);
  }
};

std::string SummaryTable(const ResultsDocument& document) {
  std::string out = fmt::format("\n{:<48} {:>10} {:>9} {:>9} {:>9} {:>8} {:>6} {:>6} {:>6}  {}\n", "cell (median)",
                                "IOPS", "MB/s", "p50 us", "p95 us", "cpu/io", "depth", "cv", "hit%", "flags");
  for (const CellRecord& c : document.cells) {
    if (c.status != "ok") {
      out += fmt::format("{:<48} {}: {}\n", c.id, c.status, c.reason);
      continue;
    }
    std::string flags;
    for (const std::string& f : c.flags) flags += (flags.empty() ? "" : ",") + f;
    const std::string hit = c.median.buffer ? fmt::format("{:.1f}", 100 * c.median.buffer->hit_ratio) : "-";
    out += fmt::format("{:<48} {:>10.0f} {:>9.1f} {:>9} {:>9} {:>7.2f}u {:>6.1f} {:>5.1f}% {:>6}  {}\n", c.id,
                       c.median.iops, c.median.bw_bytes / 1e6, P(c.median.clat_ns.percentile, 50),
                       P(c.median.clat_ns.percentile, 95), c.median.cpu_ns_per_io / 1000.0, c.median.depth.littles_law,
                       100 * c.cv.iops, hit, flags);
  }
  return out;
}

std::string DefaultStem(const SuiteFlags& flags) {
  return fmt::format("{}/{}-{}", flags.output_dir, flags.suite, UtcNow("%Y%m%d-%H%M%S"));
}

// The CSV beside the JSON: the JSON's path with .csv for its extension.
std::string CsvBeside(const std::string& json_path) {
  std::filesystem::path path(json_path);
  path.replace_extension(".csv");
  return path.string();
}

// Writes the document's JSON and CSV (each atomically).
Status WriteSuiteFiles(const ResultsDocument& document, const std::string& json_path, const std::string& csv_path) {
  IODEPTH_RETURN_IF_ERROR(WriteTextFile(json_path, ToJson(document).dump(2) + "\n"));
  std::string csv = CsvHeader();
  for (const CellRecord& cell : document.cells) csv += CsvRow(cell);
  return WriteTextFile(csv_path, csv);
}

// The console, plus the results files rewritten after every round, so a crash or a kill
// loses at most the round in flight.
class SuiteFileObserver final : public SuiteObserver {
 public:
  SuiteFileObserver(std::string json_path, std::string csv_path, std::string data_path)
      : json_path_(std::move(json_path)), csv_path_(std::move(csv_path)), data_path_(std::move(data_path)) {}
  void OnStart(const SuiteConfig& config, size_t cells, int64_t estimate_ns) override {
    console_.OnStart(config, cells, estimate_ns);
  }
  void OnRepetition(const CellPlan& cell, uint32_t repetition, const RepetitionRecord& r, size_t done, size_t total,
                    int64_t eta_ns) override {
    console_.OnRepetition(cell, repetition, r, done, total, eta_ns);
  }
  void OnUnsupported(const CellPlan& cell, const std::string& reason) override { console_.OnUnsupported(cell, reason); }
  Status OnRound(const ResultsDocument& partial) override {
    ResultsDocument document = partial;
    document.environment = environment();
    document.git_commit = environment_.value("git_commit", "unknown");
    written_ = true;
    return WriteSuiteFiles(document, json_path_, csv_path_);
  }
  bool written() const { return written_; }
  // Collected once, at the first round; its "load" again each time, over the rounds so far.
  nlohmann::json environment() {
    if (environment_.is_null()) {
      environment_ = CollectEnvironment(data_path_, load_since_);
    } else {
      environment_["load"] = LoadRecord(load_since_);
    }
    return environment_;
  }

 private:
  ConsoleObserver console_;
  std::string json_path_, csv_path_, data_path_;
  // When the suite began: the environment's "load" measures the rest of the machine since.
  std::optional<CpuSample> load_since_ = SampleCpu();
  nlohmann::json environment_;
  bool written_ = false;
};

// Before anything is measured: the results files' directories exist (made if needed) and
// take a new file, so a run never ends with nowhere to put what it measured.
Status CheckWritable(const std::string& path) {
  const std::string probe = path + ".iodepth-probe";
  IODEPTH_RETURN_IF_ERROR(WriteTextFile(probe, "").WithContext(
      fmt::format("the results file {} could not be written (checked before measuring; pass --json/--csv or "
                  "--output-dir with a directory you can write)",
                  path)));
  std::filesystem::remove(probe);
  return Status::OK();
}

Status RunSuiteCommand(SuiteFlags flags) {
  TempDataFile temp(flags.filename, "suite");
  flags.filename = temp.path();
  IODEPTH_ASSIGN_OR_RETURN(SuiteConfig config, BuildConfig(flags));
  if (flags.list) {
    IODEPTH_ASSIGN_OR_RETURN(std::vector<CellPlan> cells, PlanSuite(config));
    for (const CellPlan& cell : cells) std::cout << cell.record.id << "\n";
    return Status::OK();
  }
  const std::string stem = DefaultStem(flags);
  const std::string json_path = flags.json_path.empty() ? stem + ".json" : flags.json_path;
  const std::string csv_path = flags.csv_path.empty() ? CsvBeside(json_path) : flags.csv_path;
  IODEPTH_RETURN_IF_ERROR(CheckWritable(json_path));
  IODEPTH_RETURN_IF_ERROR(CheckWritable(csv_path));
  IODEPTH_ASSIGN_OR_RETURN(const RunLock machine, WaitForMachine("suite"));
  StopOnSignals();  // Ctrl-C and SIGTERM end the suite after its current run, keeping what ran.
  SuiteFileObserver observer(json_path, csv_path, config.filename);
  Result<ResultsDocument> ran = RunSuite(config, &observer, &StopFlag());
  if (!ran.has_value()) {
    if (!observer.written()) return ran.error();
    return ran.error().WithSuffix(
        fmt::format("; the rounds finished before it are in {} and {} (config.partial)", json_path, csv_path));
  }
  ResultsDocument& document = *ran;
  document.environment = observer.environment();
  document.git_commit = document.environment.value("git_commit", "unknown");
  std::cout << SummaryTable(document);
  IODEPTH_RETURN_IF_ERROR(WriteSuiteFiles(document, json_path, csv_path));
  std::cerr << fmt::format("\nresults: {}\n         {}\n", json_path, csv_path);
  if (document.config.contains("partial")) {
    return Status::FailedPrecondition(fmt::format(
        "interrupted: {} of {} rounds finished; their results are in the files above, marked config.partial",
        document.config["partial"]["rounds_done"].get<uint32_t>(), config.repetitions));
  }
  return Status::OK();
}

}  // namespace

void AddSuiteCommand(CLI::App& app) {
  auto flags = std::make_shared<SuiteFlags>();
  CLI::App* cmd = app.add_subcommand(
      "suite", "Run a whole suite (io_patterns, qd, bm, scan or write) with repetitions; write JSON and CSV");
  cmd->add_option("suite", flags->suite,
                  "io_patterns (sync 4 KiB baseline), qd (queue-depth suites), bm (buffer manager and read "
                  "streams), scan (multistream_scan_qd: concurrent pipelined scans) or write (wal_commit, "
                  "bm_rand_rw, checkpoint: the write path; give it a table of its own)")
      ->required()
      ->check(CLI::IsMember({"io_patterns", "qd", "bm", "scan", "write"}));
  cmd->add_option("--filename", flags->filename,
                  "Data file (default: a temporary file in $IODEPTH_TMPDIR or /var/tmp)");
  cmd->add_option("--size", flags->size, "Data file size")->capture_default_str();
  cmd->add_option("--working_set", flags->working_set, "Bytes of the file the offsets cover (default: all)");
  cmd->add_option("--bs", flags->bs, "Request size")->capture_default_str();
  cmd->add_option("--runtime", flags->runtime, "Measured time per run")->capture_default_str();
  cmd->add_option("--ramp_time", flags->ramp_time, "Unmeasured warm-up per run")->capture_default_str();
  cmd->add_option("--number_ios", flags->number_ios, "Measure this many I/Os per run instead of --runtime");
  cmd->add_option("--repetitions", flags->repetitions, "Runs per cell (interleaved)")->capture_default_str();
  cmd->add_option("--randseed", flags->randseed, "Seed of random offsets")->capture_default_str();
  cmd->add_option("--verify", flags->verify, "1: check every read")->check(CLI::Range(0, 1))->capture_default_str();
  cmd->add_option("--depths", flags->depths, "qd: queue depths")->delimiter(',')->capture_default_str();
  cmd->add_option("--numjobs", flags->numjobs,
                  "qd, bm: queues at once, each on its own thread (fio's numjobs; qd: its own seed or slice of the "
                  "file; bm: its own read stream over the one pool); each cell's figures cover them all")
      ->capture_default_str();
  cmd->add_option("--modes", flags->modes, "buffered, direct, dontcache")->delimiter(',')->capture_default_str();
  cmd->add_option("--backends", flags->backends, "qd: io_uring, worker, sync")->delimiter(',')->capture_default_str();
  cmd->add_option("--cache_state", flags->cache_state, "Buffered cells start cold or warm")->capture_default_str();
  cmd->add_flag("--drop_caches", flags->drop_caches, "Cold cells also write /proc/sys/vm/drop_caches (root)");
  cmd->add_flag("--overwrite", flags->overwrite,
                "bm, scan: replace an iodepth table of another shape (or older or damaged) at --filename");
  cmd->add_option("--only", flags->only, "Run only cells whose id or workload starts with these")->delimiter(',');
  cmd->add_flag("--list", flags->list, "Print the cell ids and exit");
  cmd->add_option("--json", flags->json_path, "Results JSON (default: results/<suite>-<time>.json)");
  cmd->add_option("--csv", flags->csv_path, "Results CSV (default: beside the JSON, its name with .csv)");
  cmd->add_option("--output-dir", flags->output_dir, "Directory for the default result files")->capture_default_str();
  cmd->add_option("--memory", flags->memory, "bm, scan: buffer pool capacity M (the regimes size the table from it)")
      ->capture_default_str();
  cmd->add_option("--regimes", flags->regimes, "bm, scan: hot (W=0.5M), pressure (1.5M), thrash (4M)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--page-size", flags->page_size, "bm: table page size, 4KiB, 8KiB or 16KiB")->capture_default_str();
  cmd->add_option("--io_combine", flags->io_combine, "bm: largest combined read of adjacent pages")
      ->capture_default_str();
  cmd->add_option("--adaptive", flags->adaptive, "bm: 1 adds bm_seq_read_adaptive cells")
      ->check(CLI::Range(0, 1))
      ->capture_default_str();
  cmd->add_option("--streams", flags->streams, "scan: concurrent scans sharing the pool")->capture_default_str();
  cmd->add_option("--strategy", flags->strategy,
                  "scan: how pipelined scans take frames: share (a private ring of pool/streams each, newest "
                  "recycled first), ring (PostgreSQL's small ring, oldest first), clock (the shared pool), auto "
                  "(share when the working set exceeds the pool, else clock)")
      ->check(CLI::IsMember({"auto", "ring", "share", "clock"}))
      ->capture_default_str();
  cmd->add_option("--update-fraction", flags->update_fraction,
                  "write: fraction of bm_rand_rw's fetches that update their page")
      ->capture_default_str();
  cmd->add_option("--writeback-depth", flags->writeback_depth,
                  "write: bm_rand_rw's background writer's writes in flight (0: the evictor writes)")
      ->capture_default_str();
  cmd->add_option("--record-bytes", flags->record_bytes, "write: wal_commit's log record size")->capture_default_str();
  cmd->add_option("--checkpoint-reader", flags->checkpoint_reader,
                  "write: 1 runs a reader beside each checkpoint, timed (0: the checkpoint alone, as fio runs it)")
      ->check(CLI::Range(0, 1))
      ->capture_default_str();
  cmd->add_option("--work", flags->work, "scan: extra per-row work (rounds of integer mixing in the predicate)")
      ->capture_default_str();
  flags->queue.AddTo(*cmd);
  cmd->callback([flags] {
    flags->command_line = CommandLine();
    ExitOnError("suite", RunSuiteCommand(*flags));
  });
}

}  // namespace iodepth::tools
