// `iodepth load`: writes a heap table of deterministic rows (storage/heap_table.h) through
// the asynchronous write path, with fio's flag names where fio has one, and reports the
// bandwidth the way fio does (MiB/s, including the final fdatasync), optionally followed
// by a full read-back verification.
#include <algorithm>
#include <iostream>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/cli_support.h"
#include "cli/commands.h"
#include "common/clock.h"
#include "common/units.h"
#include "storage/heap_table.h"

namespace iodepth::tools {

namespace {

struct LoadFlags {
  std::string filename;
  uint64_t rows = 0;
  std::string size;
  uint32_t columns = 4;
  std::string page_size = "8KiB";
  uint64_t seed = 1;
  int direct = 1;
  std::string engine = "auto";
  uint32_t iodepth = 16;
  std::string bs = "128KiB";
  bool verify = false;
  bool overwrite = false;
  std::string output_format = "normal";
};

// --page-size as a PageSize; the error names the flag and the accepted values.
Result<PageSize> ParsePageSizeFlag(const std::string& text) {
  IODEPTH_ASSIGN_OR_RETURN(const uint64_t bytes, ParseSize(text, "--page-size"));
  Result<PageSize> size = PageSizeFromBytes(bytes);
  if (!size.has_value()) {
    return Status::InvalidArgument(
        fmt::format("--page-size {} ({} bytes) is not a page size; use 4KiB, 8KiB or 16KiB", text, bytes));
  }
  return size;
}

// The table's row count from --rows or --size (exactly one of them). --size must be a
// whole number of pages; the table then fills every one of them.
Result<uint64_t> TableRowsFromFlags(const LoadFlags& flags, const TableShape& shape) {
  const bool have_rows = flags.rows != 0;
  const bool have_size = !flags.size.empty();
  if (have_rows == have_size) {
    return Status::InvalidArgument(
        "give exactly one of --rows N (rows to write, at least 1) or --size BYTES (bytes of pages to fill, "
        "e.g. 256MiB)");
  }
  if (have_rows) return flags.rows;
  IODEPTH_ASSIGN_OR_RETURN(const uint64_t size_bytes, ParseSize(flags.size, "--size"));
  const uint64_t page_bytes = PageSizeBytes(shape.page_size);
  // Bounds the multiplication below; ValidateTableShape then applies the real row limit.
  if (size_bytes / page_bytes > kMaxTableRows) {
    return Status::InvalidArgument(
        fmt::format("--size {} is too large: a table holds at most {} rows", flags.size, kMaxTableRows));
  }
  if (size_bytes == 0 || size_bytes % page_bytes != 0) {
    const uint64_t suggestion = std::max(page_bytes, size_bytes / page_bytes * page_bytes);
    return Status::InvalidArgument(
        fmt::format("--size {} ({} bytes) must be a positive multiple of the page size "
                    "({} bytes); e.g. --size {}",
                    flags.size, size_bytes, page_bytes, suggestion));
  }
  return size_bytes / page_bytes * TableRowsPerPage(shape);
}

// --bs as a write size the loader accepts, checked here so the error names the flag.
Result<uint32_t> WriteBytesFromFlag(const std::string& text, PageSize page_size) {
  IODEPTH_ASSIGN_OR_RETURN(const uint64_t bytes, ParseSize(text, "--bs"));
  const uint64_t page_bytes = PageSizeBytes(page_size);
  if (bytes < page_bytes || bytes > kMaxWriteBytes || bytes % page_bytes != 0) {
    return Status::InvalidArgument(
        fmt::format("--bs {} ({} bytes) must be a multiple of the page size ({} bytes) "
                    "from {} to {}",
                    text, bytes, page_bytes, FormatBytes(page_bytes), FormatBytes(kMaxWriteBytes)));
  }
  return static_cast<uint32_t>(bytes);
}

// The loader's queue limits, said in terms of the flags that set them.
Status CheckQueueFlags(const LoadOptions& options) {
  if (options.queue.backend == Backend::kSync && options.queue.depth != 1) {
    return Status::InvalidArgument(
        fmt::format("--ioengine=sync runs one request at a time; use --iodepth=1 with it (got {}), "
                    "or --ioengine=io_uring or worker",
                    options.queue.depth));
  }
  const uint64_t ring_bytes = uint64_t{options.queue.depth} * options.write_bytes;
  if (ring_bytes > kMaxLoadRingBytes) {
    return Status::InvalidArgument(
        fmt::format("--iodepth {} x --bs {} needs {} of write buffers, over the loader's "
                    "limit of {}; lower --iodepth or --bs",
                    options.queue.depth, FormatBytes(options.write_bytes), FormatBytes(ring_bytes),
                    FormatBytes(kMaxLoadRingBytes)));
  }
  return Status::OK();
}

Result<LoadOptions> BuildLoadOptions(const LoadFlags& flags) {
  LoadOptions options;
  options.path = flags.filename;
  options.shape.columns = flags.columns;
  options.shape.seed = flags.seed;
  options.overwrite = flags.overwrite;
  IODEPTH_ASSIGN_OR_RETURN(options.shape.page_size, ParsePageSizeFlag(flags.page_size));
  // The column count must be valid before rows per page can be computed from it.
  const Status shape_ok = ValidateTableShape(options.shape);
  if (!shape_ok.ok()) return shape_ok.WithContext("--columns");
  IODEPTH_ASSIGN_OR_RETURN(options.shape.rows, TableRowsFromFlags(flags, options.shape));
  const Status rows_ok = ValidateTableShape(options.shape);
  if (!rows_ok.ok()) return rows_ok.WithContext("--rows/--size");
  options.cache = flags.direct != 0 ? CacheMode::kDirect : CacheMode::kBuffered;
  IODEPTH_ASSIGN_OR_RETURN(options.queue.backend, ParseBackend(flags.engine));
  options.queue.depth = flags.iodepth;
  IODEPTH_ASSIGN_OR_RETURN(options.write_bytes, WriteBytesFromFlag(flags.bs, options.shape.page_size));
  IODEPTH_RETURN_IF_ERROR(CheckQueueFlags(options));
  return options;
}

// The verification pass, when asked for: how long it took.
struct VerifyOutcome {
  bool ran = false;
  int64_t elapsed_ns = 0;
};

// Process CPU time spent during the load (every thread, io_uring's workers included):
// says whether a slow load was waiting on the device or on filling pages.
struct LoadCpu {
  int64_t user_ns = 0;
  int64_t system_ns = 0;
};

nlohmann::json LoadToJson(const LoadOptions& options, const LoadStats& stats, const LoadCpu& cpu,
                          const VerifyOutcome& verify) {
  nlohmann::json doc = {
      {"iodepth_version", IODEPTH_VERSION},
      {"command", CommandLine()},
      {"filename", options.path},
      {"rows", options.shape.rows},
      {"columns", options.shape.columns},
      {"page_size", PageSizeBytes(options.shape.page_size)},
      {"seed", options.shape.seed},
      {"direct", options.cache == CacheMode::kDirect},
      {"iodepth", options.queue.depth},
      {"bs", options.write_bytes},
      {"backend", stats.backend},
      {"pages", stats.pages},
      {"bytes", stats.bytes},
      {"elapsed_ns", stats.elapsed_ns},
      {"elapsed_s", static_cast<double>(stats.elapsed_ns) / 1e9},
      {"mib_per_s", stats.mib_per_s},
      {"cpu_user_ns", cpu.user_ns},
      {"cpu_system_ns", cpu.system_ns},
  };
  doc["verify"] = verify.ran ? nlohmann::json{{"ok", true}, {"elapsed_ns", verify.elapsed_ns}} : nlohmann::json();
  return doc;
}

std::string LoadToText(const LoadOptions& options, const LoadStats& stats, const LoadCpu& cpu,
                       const VerifyOutcome& verify) {
  std::string text = fmt::format(
      "table:    {} rows x {} columns, seed {}, {} pages\n"
      "pages:    {}\n"
      "bytes:    {} ({})\n"
      "elapsed:  {:.3f} s (open to fdatasync)\n"
      "MiB/s:    {:.1f}\n"
      "backend:  {} ({}, iodepth {}, bs {})\n"
      "cpu:      {:.3f} s user, {:.3f} s system ({:.2f} of one core)\n",
      options.shape.rows, options.shape.columns, options.shape.seed,
      FormatBytes(PageSizeBytes(options.shape.page_size)), stats.pages, stats.bytes, FormatBytes(stats.bytes),
      static_cast<double>(stats.elapsed_ns) / 1e9, stats.mib_per_s, stats.backend,
      options.cache == CacheMode::kDirect ? "direct" : "buffered", options.queue.depth,
      FormatBytes(options.write_bytes), static_cast<double>(cpu.user_ns) / 1e9,
      static_cast<double>(cpu.system_ns) / 1e9,
      stats.elapsed_ns > 0 ? static_cast<double>(cpu.user_ns + cpu.system_ns) / static_cast<double>(stats.elapsed_ns)
                           : 0.0);
  if (verify.ran) {
    text += fmt::format("verify:   ok, every value checked ({:.3f} s)\n", static_cast<double>(verify.elapsed_ns) / 1e9);
  }
  return text;
}

Status RunLoad(const LoadFlags& flags) {
  IODEPTH_ASSIGN_OR_RETURN(const LoadOptions options, BuildLoadOptions(flags));
  const bool human = flags.output_format == "normal";
  if (human) {
    std::cerr << fmt::format("iodepth load: {} rows to {} ({}, {} engine, iodepth {}, bs {})\n", options.shape.rows,
                             options.path, flags.direct != 0 ? "direct" : "buffered", flags.engine, options.queue.depth,
                             FormatBytes(options.write_bytes));
  }
  const CpuTimes cpu_before = ProcessCpuTimes();
  // Its errors name the file already.
  Result<LoadStats> stats = LoadHeapTable(options);
  IODEPTH_RETURN_IF_ERROR(stats.status());
  const CpuTimes cpu_after = ProcessCpuTimes();
  const LoadCpu cpu{.user_ns = cpu_after.user_ns - cpu_before.user_ns,
                    .system_ns = cpu_after.system_ns - cpu_before.system_ns};
  VerifyOutcome verify;
  if (flags.verify) {
    const int64_t start_ns = NowNs();
    IODEPTH_RETURN_IF_ERROR(VerifyHeapTable(options.path, options.shape));
    verify = VerifyOutcome{.ran = true, .elapsed_ns = NowNs() - start_ns};
  }
  const std::string report =
      human ? LoadToText(options, *stats, cpu, verify) : LoadToJson(options, *stats, cpu, verify).dump(2) + "\n";
  std::cout << report << std::flush;
  return Status::OK();
}

}  // namespace

void AddLoadCommand(CLI::App& app) {
  auto flags = std::make_shared<LoadFlags>();
  CLI::App* load = app.add_subcommand(
      "load", "Write a table of deterministic rows through the async write path and report its bandwidth");
  load->add_option("--filename", flags->filename,
                   "Table file to create, or replace when it is an iodepth table of the same shape "
                   "(another shape, the older format or a damaged table: with --overwrite; anything else: never)")
      ->required();
  load->add_option("--rows", flags->rows, "Rows to write (give this or --size)");
  load->add_option("--size", flags->size, "Bytes of pages to fill, a multiple of the page size (256MiB, 1g, ...)");
  load->add_option("--columns", flags->columns, "int64 columns per row")
      ->check(CLI::Range(kMinColumns, kMaxColumns))
      ->capture_default_str();
  load->add_option("--page-size", flags->page_size, "4KiB, 8KiB or 16KiB")->capture_default_str();
  load->add_option("--seed", flags->seed, "Seed of the table's values")->capture_default_str();
  load->add_option("--direct", flags->direct, "1: O_DIRECT, 0: buffered")
      ->check(CLI::Range(0, 1))
      ->capture_default_str();
  load->add_option("--ioengine,--engine", flags->engine, "io_uring, worker, sync or auto")->capture_default_str();
  load->add_option("--iodepth", flags->iodepth, "Writes kept in flight")
      ->check(CLI::Range(1u, IoQueue::kMaxDepth))
      ->capture_default_str();
  load->add_option("--bs", flags->bs, "Bytes per write, a multiple of the page size")->capture_default_str();
  load->add_flag("--verify", flags->verify, "Read the whole table back afterwards and check every value");
  load->add_flag("--overwrite", flags->overwrite,
                 "Replace an iodepth table of another shape, of the older format, or damaged, at --filename");
  load->add_option("--output-format", flags->output_format, "normal or json")
      ->check(CLI::IsMember({"normal", "json"}))
      ->capture_default_str();
  load->callback([flags] { ExitOnError("load", RunLoad(*flags)); });
}

}  // namespace iodepth::tools
