// An example engine built against the installed iodepth package (find_package(iodepth)):
// it opens a table made by `iodepth load`, reads an `iodepth advise` document (JSON,
// docs/ADVICE.md), configures its two access paths from it, and runs them:
//
//   sequential_scan -> SeqScan over every page, pipelined through a ReadStream
//                      (or page by page where the advice says backend sync)
//   random_read     -> a batch of random page reads through a ReadStream
//
// Each path picks one `classes` entry: its class, the regime its working set has in the
// pool (hot / pressure / thrash; raw-request entries, regime "", where none matches),
// then the memory_cap closest to the engine's memory. From it: O_DIRECT when direct_io is
// true (never on "either" or "unknown"), the backend, the read-ahead distance
// (prefetch_distance, else queue_depth) and io_combine_bytes. Every page it reads is
// checked against the values the table was loaded with, and the scan's answer against the
// oracle, so the output says what it chose, what it did and that the data was right.
//
//   example_engine TABLE ADVICE.json [MEMORY_BYTES] [RANDOM_READS]
//
// Single-threaded; errors end it with a message and exit status 1.

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "buffer/buffer_manager.h"
#include "buffer/read_stream.h"
#include "common/random.h"
#include "common/result.h"
#include "common/status.h"
#include "exec/operators.h"
#include "io/file.h"
#include "io/io_queue.h"
#include "storage/heap_table.h"
#include "storage/page.h"

namespace {

using namespace iodepth;  // NOLINT: an example reads better with the library's names bare.

// What one access path runs with, from its advice entry.
struct PathConfig {
  std::string cls;
  bool direct = false;
  Backend backend = Backend::kAuto;
  uint32_t distance = 16;
  uint32_t io_combine_bytes = 128 * 1024;
  std::string source;  // Which entry decided, for the output.
};

// hot: at most half the pool, pressure: up to 1.5 times, thrash: more (docs/ADVICE.md).
std::string RegimeOf(uint64_t working_set_bytes, uint64_t pool_bytes) {
  if (working_set_bytes * 2 <= pool_bytes) return "hot";
  if (working_set_bytes * 2 <= pool_bytes * 3) return "pressure";
  return "thrash";
}

// The entry of `cls` in `regime` whose memory_cap is closest to `memory_bytes` (a cap of 0,
// no limit, counts as unbounded); nullptr when there is none.
const nlohmann::json* ClosestEntry(const nlohmann::json& advice, const std::string& cls, const std::string& regime,
                                   uint64_t memory_bytes) {
  const nlohmann::json* best = nullptr;
  uint64_t best_gap = UINT64_MAX;
  for (const nlohmann::json& entry : advice.at("classes")) {
    if (entry.at("class") != cls || entry.value("regime", "") != regime) continue;
    const uint64_t cap = entry.at("memory_cap").get<uint64_t>();
    const uint64_t have = cap == 0 ? UINT64_MAX : cap;
    const uint64_t gap = have > memory_bytes ? have - memory_bytes : memory_bytes - have;
    if (best == nullptr || gap < best_gap) best = &entry, best_gap = gap;
  }
  return best;
}

// `entry`'s `key`, or null where the entry leaves it out (TOML-made documents drop nulls).
nlohmann::json Field(const nlohmann::json& entry, const char* key) {
  return entry.contains(key) ? entry.at(key) : nlohmann::json();
}

// A page-size multiple from 1 page to kMaxCombineBytes: the read stream's own bounds.
uint32_t CombineBytes(const nlohmann::json& entry, uint32_t page_bytes) {
  const nlohmann::json value = Field(entry, "io_combine_bytes");
  const uint64_t asked = value.is_number_unsigned() ? value.get<uint64_t>() : 128 * 1024;
  const uint64_t bounded = std::clamp<uint64_t>(asked, page_bytes, kMaxCombineBytes);
  return static_cast<uint32_t>(bounded / page_bytes * page_bytes);
}

Result<PathConfig> Configure(const nlohmann::json& advice, const std::string& cls, const std::string& regime,
                             uint64_t memory_bytes, uint32_t page_bytes) {
  const nlohmann::json* entry = ClosestEntry(advice, cls, regime, memory_bytes);
  std::string used_regime = regime;
  if (entry == nullptr) entry = ClosestEntry(advice, cls, used_regime = "", memory_bytes);
  if (entry == nullptr) return Status::NotFound(fmt::format("the advice has no entry of class {}", cls));
  PathConfig config;
  config.cls = cls;
  const nlohmann::json& direct = entry->at("direct_io");
  config.direct = direct.is_boolean() && direct.get<bool>();  // "either", "unknown": stay buffered.
  IODEPTH_ASSIGN_OR_RETURN(config.backend, ParseBackend(entry->at("backend").get<std::string>()));
  const nlohmann::json prefetch = Field(*entry, "prefetch_distance");
  const nlohmann::json distance = prefetch.is_null() ? Field(*entry, "queue_depth") : prefetch;
  if (!distance.is_number_unsigned()) {
    return Status::InvalidArgument(fmt::format("the {} entry has neither prefetch_distance nor queue_depth", cls));
  }
  // The sync backend keeps one read in flight; other depths stay within 1..256, so that a
  // damaged document cannot ask for an unbounded queue.
  config.distance = config.backend == Backend::kSync ? 1 : std::clamp<uint32_t>(distance.get<uint32_t>(), 1, 256);
  config.io_combine_bytes = CombineBytes(*entry, page_bytes);
  config.source = fmt::format("suite {} regime '{}' memory_cap {} direct_io {}", entry->value("suite", "?"),
                              used_regime, entry->at("memory_cap").get<uint64_t>(), direct.dump());
  return config;
}

// The queue a read stream runs on: the advised backend at depth = distance; where that
// backend cannot start here (no io_uring in a container), the best one that can.
Result<std::unique_ptr<IoQueue>> MakeQueue(const PathConfig& config) {
  IoQueueOptions options{.backend = config.backend, .depth = config.distance};
  Result<std::unique_ptr<IoQueue>> queue = MakeIoQueue(options);
  if (queue.has_value()) return queue;
  std::cout << config.cls << ": note: " << BackendName(config.backend) << " unavailable here ("
            << queue.error().message() << "); using auto\n";
  options.backend = Backend::kAuto;
  return MakeIoQueue(options);
}

Result<std::unique_ptr<File>> OpenTable(const std::string& path, const PathConfig& config) {
  OpenOptions options;
  options.cache = config.direct ? CacheMode::kDirect : CacheMode::kBuffered;
  options.direct_fallback = true;  // tmpfs refuses O_DIRECT: run buffered and say so below.
  return File::Open(path, options);
}

void PrintConfig(const PathConfig& config, const File& file) {
  std::cout << fmt::format("{}: advice [{}] -> mode {}, backend {}, distance {}, io_combine {} bytes\n", config.cls,
                           config.source, CacheModeName(file.cache_mode()), BackendName(config.backend),
                           config.distance, config.io_combine_bytes);
}

Status RunScan(BufferManager& pool, const std::string& path, const TableShape& shape, const PathConfig& config) {
  IODEPTH_ASSIGN_OR_RETURN(std::unique_ptr<File> file, OpenTable(path, config));
  PrintConfig(config, *file);
  ScanOptions options;
  std::unique_ptr<IoQueue> queue;
  if (config.backend == Backend::kSync) {
    options.mode = ScanMode::kSync;  // One read at a time: a queue would add nothing.
  } else {
    IODEPTH_ASSIGN_OR_RETURN(queue, MakeQueue(config));
    options.stream = ReadStreamOptions{.distance = config.distance, .io_combine_bytes = config.io_combine_bytes};
  }
  const uint64_t pages = TablePageCount(shape);
  IODEPTH_ASSIGN_OR_RETURN(std::unique_ptr<SeqScan> scan,
                           SeqScan::Create(pool, *file, queue.get(), shape.columns, 0, pages, options));
  const QuerySpec query{.aggs = {{.kind = AggKind::kCount}, {.kind = AggKind::kSum, .column = 2}}};
  ScanStats stats;
  IODEPTH_ASSIGN_OR_RETURN(QueryAnswer answer, RunQuery(std::move(scan), query, &stats));
  const bool match = answer == ExpectedAnswer(shape, 0, shape.rows, query);
  std::cout << fmt::format("sequential_scan: {} pages, {} rows, {} reads ({} bytes), {} hits, answer {}, check {}\n",
                           stats.pages, stats.rows, stats.reads, stats.read_bytes, stats.hits,
                           FormatAnswer(answer, std::nullopt), match ? "MATCH" : "MISMATCH");
  if (!match) return Status::Corruption("the scan's answer differs from the table's");
  return Status::OK();
}

Status RunRandomReads(BufferManager& pool, const std::string& path, const TableShape& shape, PathConfig config,
                      uint64_t count) {
  config.io_combine_bytes = pool.page_bytes();  // Random pages gain nothing from combining: one page per read.
  IODEPTH_ASSIGN_OR_RETURN(std::unique_ptr<File> file, OpenTable(path, config));
  PrintConfig(config, *file);
  IODEPTH_ASSIGN_OR_RETURN(std::unique_ptr<IoQueue> queue, MakeQueue(config));
  const uint64_t pages = TablePageCount(shape);
  uint64_t state = 42, issued = 0;  // The same pages on every run.
  PageSource source = [&]() -> std::optional<uint64_t> {
    if (issued == count) return std::nullopt;
    ++issued;
    return SplitMix64Next(state) % pages;
  };
  const ReadStreamOptions options{.distance = config.distance, .io_combine_bytes = config.io_combine_bytes};
  IODEPTH_ASSIGN_OR_RETURN(std::unique_ptr<ReadStream> stream,
                           ReadStream::Create(pool, *queue, *file, std::move(source), options));
  uint64_t verified = 0, expected_state = 42;
  for (;;) {
    IODEPTH_ASSIGN_OR_RETURN(std::optional<PageGuard> page, stream->Next());
    if (!page.has_value()) break;
    const uint64_t page_no = SplitMix64Next(expected_state) % pages;
    IODEPTH_RETURN_IF_ERROR(CheckTablePage(page->data(), shape, page_no, path));
    ++verified;
  }
  const ReadStreamStats& s = stream->stats();
  std::cout << fmt::format("random_read: {} pages, {} verified, {} reads, {} hits, backend {}\n", s.pages, verified,
                           s.reads, s.hits, queue->backend_name());
  return Status::OK();
}

Status Run(const std::string& table, const std::string& advice_path, uint64_t memory_bytes, uint64_t reads) {
  IODEPTH_ASSIGN_OR_RETURN(TableShape shape, ReadTableShape(table));
  std::ifstream in(advice_path);
  if (!in) return Status::NotFound(fmt::format("cannot open the advice {}", advice_path));
  const nlohmann::json advice = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!advice.is_discarded() && advice.is_object() && advice.contains("host_classes") && !advice.contains("classes")) {
    // A fleet document: one recommendation per host class. Each host_classes entry has the
    // classes of a one-host document, so this machine's entry is what the engine reads.
    return Status::InvalidArgument(
        fmt::format("{} is a fleet document (one recommendation per host class, docs/ADVICE.md); give the engine the "
                    "host_classes entry of this machine's device model and kernel, e.g. jq '.host_classes[] | "
                    "select(.device_model == \"MODEL\" and .kernel == \"KERNEL\")' {}",
                    advice_path, advice_path));
  }
  if (advice.is_discarded() || !advice.contains("classes")) {
    return Status::InvalidArgument(fmt::format("{} is no `iodepth advise` JSON document", advice_path));
  }
  const uint32_t page_bytes = PageSizeBytes(shape.page_size);
  BufferManagerOptions pool_options{.page_bytes = page_bytes, .memory_bytes = memory_bytes};
  pool_options.verify = [](std::span<const std::byte> page, uint64_t page_no, const File& f) {
    return VerifyPage(page, page_no, f.path());
  };
  IODEPTH_ASSIGN_OR_RETURN(std::unique_ptr<BufferManager> pool, BufferManager::Create(pool_options));
  const std::string regime = RegimeOf(TableFileBytes(shape), memory_bytes);
  std::cout << fmt::format("table {}: {} rows, {} pages of {} bytes; pool {} bytes: regime {}\n", table, shape.rows,
                           TablePageCount(shape), page_bytes, memory_bytes, regime);
  IODEPTH_ASSIGN_OR_RETURN(PathConfig scan, Configure(advice, "sequential_scan", regime, memory_bytes, page_bytes));
  IODEPTH_RETURN_IF_ERROR(RunScan(*pool, table, shape, scan));
  IODEPTH_ASSIGN_OR_RETURN(PathConfig random, Configure(advice, "random_read", regime, memory_bytes, page_bytes));
  return RunRandomReads(*pool, table, shape, random, reads);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || argc > 5) {
    std::cerr << "usage: example_engine TABLE ADVICE.json [MEMORY_BYTES (64 MiB)] [RANDOM_READS (1000)]\n"
                 "  TABLE from `iodepth load`, ADVICE.json from `iodepth advise`\n";
    return 2;
  }
  const uint64_t memory_bytes = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 64ull << 20;
  const uint64_t reads = argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 1000;
  Status status;
  try {
    status = Run(argv[1], argv[2], memory_bytes, reads);
  } catch (const nlohmann::json::exception& e) {  // A field of the wrong type or missing.
    status = Status::InvalidArgument(fmt::format("{}: not the advice's format: {}", argv[2], e.what()));
  }
  if (!status.ok()) {
    std::cerr << "example_engine: " << status.ToString() << "\n";
    return 1;
  }
  return 0;
}
