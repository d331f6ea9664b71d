// `iodepth scan`: runs one query (SELECT aggs FROM table [WHERE ...] [GROUP BY ...]) over an
// iodepth table file through the buffer manager, synchronously (one pread per miss) or
// pipelined through a read stream, and reports the answer with what the scan cost. With
// --check it also compares the answer with the one the table's seed implies.
//
// The table's shape (rows, columns, page size, seed) comes from the file itself, its
// trailer page (storage/heap_table.h): a file cut short, grown, of the older format or
// not a table is refused with what to do.
#include <algorithm>
#include <charconv>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "buffer/buffer_manager.h"
#include "cli/cli_support.h"
#include "cli/commands.h"
#include "common/clock.h"
#include "common/units.h"
#include "exec/operators.h"
#include "io/aligned_buffer.h"
#include "storage/heap_table.h"
#include "storage/page.h"

namespace iodepth::tools {

namespace {

struct ScanFlags {
  std::string table;
  std::string where;
  std::string agg = "count";
  std::string group_by;
  std::string mode = "pipelined";
  std::string distance;  // "" (not given): 32 for pipelined scans.
  std::string io_combine = "128KiB";
  int direct = 1;
  std::string engine = "auto";
  std::string memory = "64MiB";
  uint32_t work = 0;
  std::string pages;
  bool check = false;
  std::optional<uint64_t> seed;  // Not given: the seed the table records.
  std::string output_format = "normal";
};

// What the table file says about itself (its trailer).
struct TableInfo {
  PageSize page_size = kDefaultPageSize;
  uint32_t columns = 0;
  uint64_t pages = 0;  // Data pages.
  uint64_t rows = 0;
  uint64_t seed = 1;
};

// Everything the flags decide, checked.
struct ScanPlan {
  QuerySpec query;
  ScanOptions scan;
  CacheMode cache = CacheMode::kDirect;
  Backend backend = Backend::kAuto;
  uint64_t memory_bytes = 0;
  uint64_t first_page = 0;
  uint64_t end_page = 0;
};

// What the run produced.
struct ScanOutcome {
  QueryAnswer answer;
  ScanStats stats;
  int64_t elapsed_ns = 0;
  std::string backend;  // "pread" for sync scans.
  std::string check;    // "" when not asked, else "MATCH".
};

std::string LoadHint(const std::string& path) {
  return fmt::format("create one with: iodepth load --filename={} --size=256MiB", path);
}

Result<TableInfo> InspectTable(const std::string& path) {
  Result<TableShape> shape = ReadTableShape(path);
  if (!shape.has_value()) {
    if (shape.error().code() == StatusCode::kNotFound) {
      return Status::NotFound(fmt::format("no table at {}; {}", path, LoadHint(path)));
    }
    return shape.error();
  }
  TableInfo info;
  info.page_size = shape->page_size;
  info.columns = shape->columns;
  info.pages = TablePageCount(*shape);
  info.rows = shape->rows;
  info.seed = shape->seed;
  if (info.rows == 0) {
    return Status::InvalidArgument(fmt::format("{} is a table of 0 rows: nothing to scan; {}", path, LoadHint(path)));
  }
  return info;
}

// --distance: "N" (fixed) or "adaptive" / "adaptive:N" (N the most, 1..kMaxDepth; 64 by
// default).
Status ParseDistance(const std::string& text, ReadStreamOptions& stream) {
  constexpr uint32_t kAdaptiveDefaultMax = 64;
  std::string_view digits = text;
  stream.policy = ReadStreamPolicy::kFixed;
  if (text == "adaptive") {
    stream.policy = ReadStreamPolicy::kAdaptive;
    stream.distance = kAdaptiveDefaultMax;
    return Status::OK();
  }
  if (digits.starts_with("adaptive:")) {
    stream.policy = ReadStreamPolicy::kAdaptive;
    digits.remove_prefix(std::string_view("adaptive:").size());
  }
  uint32_t distance = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), distance);
  if (error != std::errc() || end != digits.data() + digits.size() || distance < 1 || distance > IoQueue::kMaxDepth) {
    return Status::InvalidArgument(
        fmt::format("--distance {}: give reads in flight as a number 1..{} (e.g. 32), or adaptive, or adaptive:MAX",
                    text, IoQueue::kMaxDepth));
  }
  stream.distance = distance;
  return Status::OK();
}

// --pages A:B, either end optional ("A:" to the end, ":B" from the start).
Status ParsePageRange(const std::string& text, uint64_t pages, ScanPlan& plan) {
  plan.first_page = 0;
  plan.end_page = pages;
  if (text.empty()) return Status::OK();
  const size_t colon = text.find(':');
  auto parse = [&](std::string_view part, uint64_t& out) {
    if (part.empty()) return true;
    const auto [end, error] = std::from_chars(part.data(), part.data() + part.size(), out);
    return error == std::errc() && end == part.data() + part.size();
  };
  const bool ok = colon != std::string::npos && parse(std::string_view(text).substr(0, colon), plan.first_page) &&
                  parse(std::string_view(text).substr(colon + 1), plan.end_page);
  if (!ok || plan.first_page > plan.end_page || plan.end_page > pages) {
    return Status::InvalidArgument(
        fmt::format("--pages {}: give a page range A:B with 0 <= A <= B <= {} (the table's pages), e.g. 0:{}", text,
                    pages, std::max<uint64_t>(pages / 2, 1)));
  }
  return Status::OK();
}

Result<QuerySpec> BuildQuery(const ScanFlags& flags, uint32_t columns) {
  QuerySpec query;
  if (!flags.where.empty()) {
    IODEPTH_ASSIGN_OR_RETURN(query.where, ParsePredicate(flags.where));
    query.where->work = flags.work;
  }
  IODEPTH_ASSIGN_OR_RETURN(query.aggs, ParseAggregates(flags.agg));
  if (!flags.group_by.empty()) {
    IODEPTH_ASSIGN_OR_RETURN(query.group_by, ParseColumn(flags.group_by));
  }
  const Status valid = ValidateQuery(query, columns);
  if (!valid.ok()) return valid.WithContext("the table has fewer columns than the query uses");
  return query;
}

Result<ScanPlan> BuildPlan(const ScanFlags& flags, const TableInfo& table) {
  ScanPlan plan;
  IODEPTH_ASSIGN_OR_RETURN(plan.query, BuildQuery(flags, table.columns));
  plan.scan.mode = flags.mode == "sync" ? ScanMode::kSync : ScanMode::kPipelined;
  if (plan.scan.mode == ScanMode::kSync && !flags.distance.empty()) {
    return Status::InvalidArgument(fmt::format(
        "--distance {} has no effect with --mode sync, which reads one page at a time; drop --distance, or use "
        "--mode pipelined to keep that many reads in flight",
        flags.distance));
  }
  IODEPTH_RETURN_IF_ERROR(ParseDistance(flags.distance.empty() ? "32" : flags.distance, plan.scan.stream));
  IODEPTH_ASSIGN_OR_RETURN(const uint64_t combine_bytes, ParseSize(flags.io_combine, "--io_combine"));
  const uint32_t page_bytes = PageSizeBytes(table.page_size);
  if (combine_bytes < page_bytes || combine_bytes > kMaxCombineBytes || combine_bytes % page_bytes != 0) {
    return Status::InvalidArgument(fmt::format("--io_combine {}: a multiple of the page size ({}) from {} to {}",
                                               flags.io_combine, FormatBytes(page_bytes), FormatBytes(page_bytes),
                                               FormatBytes(kMaxCombineBytes)));
  }
  plan.scan.stream.io_combine_bytes = static_cast<uint32_t>(combine_bytes);
  plan.cache = flags.direct != 0 ? CacheMode::kDirect : CacheMode::kBuffered;
  IODEPTH_ASSIGN_OR_RETURN(plan.backend, ParseBackend(flags.engine));
  if (plan.backend == Backend::kSync && plan.scan.mode == ScanMode::kPipelined) {
    return Status::InvalidArgument(
        "--engine sync keeps one read in flight; use --mode sync for that, or --engine "
        "io_uring, worker or auto for a pipelined scan");
  }
  IODEPTH_ASSIGN_OR_RETURN(plan.memory_bytes, ParseSize(flags.memory, "--memory"));
  IODEPTH_RETURN_IF_ERROR(ParsePageRange(flags.pages, table.pages, plan));
  return plan;
}

// The pipelined scan's queue: depth = distance, the pool's arena registered as fixed
// buffers where the backend takes them (as bm jobs do).
Result<std::unique_ptr<IoQueue>> MakeScanQueue(const ScanPlan& plan, const BufferManager& pool) {
  IoQueueOptions options;
  options.backend = plan.backend;
  options.depth = plan.scan.stream.distance;
  options.uring_fixed_buffers = true;
  std::string notice;
  IODEPTH_ASSIGN_OR_RETURN(std::unique_ptr<IoQueue> queue, MakeIoQueue(options, &notice));
  if (!notice.empty()) std::cerr << "iodepth scan: note: " << notice << "\n";
  const Status registered = pool.RegisterWith(*queue);
  if (registered.ok()) return queue;
  std::cerr << "iodepth scan: note: fixed buffers not used: " << registered.message() << "\n";
  options.uring_fixed_buffers = false;
  return MakeIoQueue(options);
}

Result<std::unique_ptr<File>> OpenTableFile(const std::string& path, CacheMode cache) {
  OpenOptions options;
  options.cache = cache;
  Result<std::unique_ptr<File>> file = File::Open(path, options);
  if (!file.has_value() && file.error().code() == StatusCode::kNotSupported) {
    return file.error().WithContext("--direct 1 (use --direct 0 to read through the page cache)");
  }
  return file;
}

Result<ScanOutcome> RunScanQuery(const ScanPlan& plan, const TableInfo& table, const std::string& path) {
  IODEPTH_ASSIGN_OR_RETURN(std::unique_ptr<File> file, OpenTableFile(path, plan.cache));
  BufferManagerOptions pool_options;
  pool_options.page_bytes = PageSizeBytes(table.page_size);
  pool_options.memory_bytes = plan.memory_bytes;
  pool_options.verify = [](std::span<const std::byte> page, uint64_t page_no, const File& f) {
    return VerifyPage(page, page_no, f.path());
  };
  const Result<std::unique_ptr<BufferManager>> made_pool = BufferManager::Create(pool_options);
  if (!made_pool.has_value()) return made_pool.error().WithContext("--memory " + FormatBytes(plan.memory_bytes));
  BufferManager& pool = **made_pool;
  ScanOutcome outcome;
  outcome.backend = "pread";
  std::unique_ptr<IoQueue> queue;
  if (plan.scan.mode == ScanMode::kPipelined) {
    IODEPTH_ASSIGN_OR_RETURN(queue, MakeScanQueue(plan, pool));
    outcome.backend = std::string(queue->backend_name());
  }
  const int64_t start_ns = NowNs();
  IODEPTH_ASSIGN_OR_RETURN(std::unique_ptr<SeqScan> scan, SeqScan::Create(pool, *file, queue.get(), table.columns,
                                                                          plan.first_page, plan.end_page, plan.scan));
  IODEPTH_ASSIGN_OR_RETURN(outcome.answer, RunQuery(std::move(scan), plan.query, &outcome.stats));
  outcome.elapsed_ns = NowNs() - start_ns;
  return outcome;
}

// "c1=3: count=12 (expected 13)"-style lines for the groups whose answers differ.
std::string DiffAnswers(const QueryAnswer& got, const QueryAnswer& want, std::optional<uint32_t> group_by) {
  std::map<int64_t, std::pair<std::string, std::string>> groups;
  auto line = [&](const QueryAnswer& answer, size_t g) {
    QueryAnswer one;
    one.aggs = answer.aggs;
    one.keys = {answer.keys[g]};
    one.rows = {answer.rows[g]};
    one.values = {answer.values[g]};
    return FormatAnswer(one, group_by);
  };
  for (size_t g = 0; g < got.keys.size(); ++g) groups[got.keys[g]].first = line(got, g);
  for (size_t g = 0; g < want.keys.size(); ++g) groups[want.keys[g]].second = line(want, g);
  std::string diff;
  size_t shown = 0;
  for (const auto& [key, pair] : groups) {
    if (pair.first == pair.second) continue;
    if (++shown > 20) return diff + "\n  ...";
    const std::string label = group_by.has_value() ? fmt::format("c{}={}", *group_by, key) : std::string("answer");
    diff += fmt::format("\n  {}: got {}, expected {}", label, pair.first.empty() ? "nothing" : pair.first,
                        pair.second.empty() ? "nothing" : pair.second);
  }
  return diff;
}

Status CheckAnswer(const ScanPlan& plan, const TableInfo& table, ScanOutcome& outcome) {
  const TableShape shape{
      .rows = table.rows, .columns = table.columns, .page_size = table.page_size, .seed = table.seed};
  IODEPTH_RETURN_IF_ERROR(ValidateTableShape(shape));
  const uint64_t rows_per_page = TableRowsPerPage(shape);
  const uint64_t first_row = std::min(shape.rows, plan.first_page * rows_per_page);
  const uint64_t end_row = std::min(shape.rows, plan.end_page * rows_per_page);
  const QueryAnswer expected = ExpectedAnswer(shape, first_row, end_row, plan.query);
  if (outcome.answer == expected) {
    outcome.check = "MATCH";
    return Status::OK();
  }
  return Status::Corruption(
      fmt::format("--check: MISMATCH with the answer for a table loaded with seed {} "
                  "(rows {}..{}):{}\n(the table's pages were changed after it was loaded?)",
                  table.seed, first_row, end_row, DiffAnswers(outcome.answer, expected, plan.query.group_by)));
}

std::string ModeText(const ScanPlan& plan, const ScanOutcome& outcome) {
  if (plan.scan.mode == ScanMode::kSync) return "sync (one pread per miss)";
  return fmt::format("pipelined, {} distance {}, io_combine {}, {}", ReadStreamPolicyName(plan.scan.stream.policy),
                     plan.scan.stream.distance, FormatBytes(plan.scan.stream.io_combine_bytes), outcome.backend);
}

double Seconds(int64_t ns) { return static_cast<double>(ns) / 1e9; }
double PerSecond(double amount, int64_t ns) { return ns > 0 ? amount / Seconds(ns) : 0.0; }
// The share of the elapsed time the scan spent waiting for reads.
double WaitFraction(const ScanStats& stats, int64_t elapsed_ns) {
  return elapsed_ns > 0 ? static_cast<double>(stats.wait_ns) / static_cast<double>(elapsed_ns) : 0.0;
}

uint64_t RowsAggregated(const QueryAnswer& answer) {
  uint64_t rows = 0;
  for (const uint64_t r : answer.rows) rows += r;
  return rows;
}

std::string ScanToText(const ScanPlan& plan, const TableInfo& table, const ScanOutcome& out) {
  const ScanStats& s = out.stats;
  const uint64_t bytes = s.pages * PageSizeBytes(table.page_size);
  std::string text = FormatAnswer(out.answer, plan.query.group_by) + "\n\n";
  text += fmt::format(
      "rows:     {} scanned, {} aggregated\n"
      "pages:    {} [{}, {}) of {}, {}\n"
      "elapsed:  {:.3f} s\n"
      "MB/s:     {:.1f}\n"
      "rows/s:   {:.0f}\n"
      "hits:     {}\n"
      "reads:    {} ({} pages, {}, mean {} per read)\n"
      "wait:     {:.2f} of elapsed ({:.3f} s waiting for reads)\n"
      "mode:     {}; {}, pool {}\n",
      s.rows, RowsAggregated(out.answer), s.pages, plan.first_page, plan.end_page, table.pages, FormatBytes(bytes),
      Seconds(out.elapsed_ns), PerSecond(static_cast<double>(bytes) / 1e6, out.elapsed_ns),
      PerSecond(static_cast<double>(s.rows), out.elapsed_ns), s.hits, s.reads, s.pages_read, FormatBytes(s.read_bytes),
      FormatBytes(s.reads > 0 ? s.read_bytes / s.reads : 0), WaitFraction(s, out.elapsed_ns), Seconds(s.wait_ns),
      ModeText(plan, out), CacheModeName(plan.cache), FormatBytes(plan.memory_bytes));
  if (!out.check.empty()) text += fmt::format("check:    {}\n", out.check);
  return text;
}

nlohmann::json AnswerToJson(const QueryAnswer& answer) {
  nlohmann::json groups = nlohmann::json::array();
  for (size_t g = 0; g < answer.keys.size(); ++g) {
    nlohmann::json values = nlohmann::json::object();
    for (size_t a = 0; a < answer.aggs.size(); ++a) values[AggName(answer.aggs[a])] = answer.values[g][a];
    groups.push_back({{"key", answer.keys[g]}, {"rows", answer.rows[g]}, {"values", values}});
  }
  return groups;
}

nlohmann::json ScanToJson(const ScanFlags& flags, const ScanPlan& plan, const TableInfo& table,
                          const ScanOutcome& out) {
  const ScanStats& s = out.stats;
  const uint64_t bytes = s.pages * PageSizeBytes(table.page_size);
  return {
      {"iodepth_version", IODEPTH_VERSION},
      {"command", CommandLine()},
      {"table", flags.table},
      {"table_pages", table.pages},
      {"table_rows", table.rows},
      {"columns", table.columns},
      {"seed", table.seed},
      {"page_size", PageSizeBytes(table.page_size)},
      {"query", {{"where", flags.where}, {"agg", flags.agg}, {"group_by", flags.group_by}, {"work", flags.work}}},
      {"answer", AnswerToJson(out.answer)},
      {"answer_text", FormatAnswer(out.answer, plan.query.group_by)},
      {"mode", std::string(ScanModeName(plan.scan.mode))},
      {"policy",
       plan.scan.mode == ScanMode::kSync ? "sync" : std::string(ReadStreamPolicyName(plan.scan.stream.policy))},
      {"distance", plan.scan.stream.distance},
      {"io_combine_bytes", plan.scan.stream.io_combine_bytes},
      {"backend", out.backend},
      {"direct", plan.cache == CacheMode::kDirect},
      {"memory_bytes", plan.memory_bytes},
      {"first_page", plan.first_page},
      {"end_page", plan.end_page},
      {"pages", s.pages},
      {"rows", s.rows},
      {"bytes", bytes},
      {"elapsed_ns", out.elapsed_ns},
      {"mb_per_s", PerSecond(static_cast<double>(bytes) / 1e6, out.elapsed_ns)},
      {"rows_per_s", PerSecond(static_cast<double>(s.rows), out.elapsed_ns)},
      {"hits", s.hits},
      {"pages_read", s.pages_read},
      {"reads", s.reads},
      {"read_bytes", s.read_bytes},
      {"wait_ns", s.wait_ns},
      {"wait_fraction", WaitFraction(s, out.elapsed_ns)},
      {"page_latency_ns_p50", s.page_latency_ns.Percentile(50)},
      {"page_latency_ns_p99", s.page_latency_ns.Percentile(99)},
      {"check", out.check.empty() ? nlohmann::json() : nlohmann::json(out.check)},
  };
}

Status RunScan(const ScanFlags& flags) {
  IODEPTH_ASSIGN_OR_RETURN(const TableInfo table, InspectTable(flags.table));
  if (flags.seed.has_value() && *flags.seed != table.seed) {
    return Status::InvalidArgument(
        fmt::format("--seed {}: {} records that it was loaded with seed {}; drop --seed (the "
                    "table's own is used)",
                    *flags.seed, flags.table, table.seed));
  }
  IODEPTH_ASSIGN_OR_RETURN(const ScanPlan plan, BuildPlan(flags, table));
  const bool human = flags.output_format == "normal";
  if (human) {
    std::cerr << fmt::format("iodepth scan: {} ({} rows x {} columns, seed {}, {} pages of {}), {} mode, {}\n",
                             flags.table, table.rows, table.columns, table.seed, table.pages,
                             FormatBytes(PageSizeBytes(table.page_size)), flags.mode,
                             flags.direct != 0 ? "direct" : "buffered");
  }
  IODEPTH_ASSIGN_OR_RETURN(ScanOutcome outcome, RunScanQuery(plan, table, flags.table));
  // The answer is printed even when the check fails, so the mismatch can be looked at.
  const Status checked = flags.check ? CheckAnswer(plan, table, outcome) : Status::OK();
  if (human) {
    std::cout << ScanToText(plan, table, outcome) << std::flush;
  } else {
    std::cout << ScanToJson(flags, plan, table, outcome).dump(2) << "\n" << std::flush;
  }
  return checked;
}

}  // namespace

void AddScanCommand(CLI::App& app) {
  auto flags = std::make_shared<ScanFlags>();
  CLI::App* scan = app.add_subcommand(
      "scan", "Run a query (count/sum/min/max, WHERE, GROUP BY) over a table through the buffer manager");
  scan->add_option("--table", flags->table, "Table file written by iodepth load")->required();
  scan->add_option("--where", flags->where, "Predicate COLUMN OP NUMBER, e.g. 'c0<500' (ops < <= > >= = == !=)");
  scan->add_option("--agg", flags->agg, "Aggregates: count, sum(cN), min(cN), max(cN), comma-separated")
      ->capture_default_str();
  scan->add_option("--group-by", flags->group_by, "Group key column, e.g. c1 (at most 4096 distinct keys)");
  scan->add_option("--mode", flags->mode, "sync (one pread per miss) or pipelined (read stream)")
      ->check(CLI::IsMember({"sync", "pipelined"}))
      ->capture_default_str();
  scan->add_option("--distance", flags->distance,
                   "Pipelined: reads in flight N (default 32), or adaptive[:MAX] (chosen at run time up to MAX, "
                   "1..4096, default 64)")
      ->capture_default_str();
  scan->add_option("--io_combine", flags->io_combine, "Pipelined: largest read of adjacent pages")
      ->capture_default_str();
  scan->add_option("--direct", flags->direct, "1: O_DIRECT, 0: buffered")
      ->check(CLI::Range(0, 1))
      ->capture_default_str();
  scan->add_option("--engine,--ioengine", flags->engine, "Pipelined: io_uring, worker or auto")->capture_default_str();
  scan->add_option("--memory", flags->memory, "Buffer pool size")->capture_default_str();
  scan->add_option("--work", flags->work, "Extra mixing rounds per row the WHERE evaluates (CPU cost knob)")
      ->capture_default_str();
  scan->add_option("--pages", flags->pages, "Scan only pages A:B (B excluded); default all");
  scan->add_flag("--check", flags->check,
                 "Compare the answer with the one the table's recorded seed implies; exit 1 on a mismatch");
  scan->add_option("--seed", flags->seed,
                   "Optional: the seed you expect the table to record (refused when it records another)");
  scan->add_option("--output-format", flags->output_format, "normal or json")
      ->check(CLI::IsMember({"normal", "json"}))
      ->capture_default_str();
  scan->callback([flags] { ExitOnError("scan", RunScan(*flags)); });
}

}  // namespace iodepth::tools
