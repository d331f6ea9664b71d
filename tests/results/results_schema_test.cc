// Writes results files through the C++ writer (records built by MakeRepetitionRecord,
// MakeBmRepetitionRecord and MakeScanRepetitionRecord, summarised by SummariseCell,
// serialised by ToJson), one file per kind of record it can produce, so that ctest
// results_schema_check can validate them against schema/results.schema.json with
// report/schema.py: the writer and the one definition of the format are checked against
// each other on every test run, and a field added on one side only fails there.
//
//   qd.json           queue-depth cells: direct (resident_before -1), buffered cold, sync,
//                     and an unsupported dontcache cell
//   io_patterns.json  syncpath cells, a read and a write
//   bm.json           buffer-manager cells with buffer records: fixed, adaptive, sync
//   scan.json         a multistream scan cell with buffer and scan records
//   capped.json       cells with memory records: a 128 MiB cap, and the inherited cap
//   error.json        a cell whose run failed (status error, repetitions dropped)
//   crosscheck.json   a fio_crosscheck entry beside its cell, one ratio null
//
// The files go to $IODEPTH_SCHEMA_DOCUMENTS_DIR when it is set (the ctest fixture sets it),
// else to a scratch directory. Each file is also read back with ReadResultsFile, so this
// test fails on its own when the C++ reader refuses what the C++ writer wrote.
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "results/results.h"
#include "sys/environment.h"
#include "testutil/corpus.h"
#include "testutil/mutator.h"
#include "testutil/status_macros.h"
#include "testutil/temp_dir.h"

namespace iodepth {
namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;
// What the matrix records as the cap of a cell run under its own cgroup's limit
// (experiment/matrix_config.h kInheritCap, a layer this test does not link).
constexpr uint64_t kInheritedCap = std::numeric_limits<uint64_t>::max();
constexpr int64_t kWindowNs = 50'000'000;

// Where the documents go: the fixture's directory, or a scratch one for a plain run.
class DocumentDir {
 public:
  DocumentDir() {
    const char* wanted = std::getenv("IODEPTH_SCHEMA_DOCUMENTS_DIR");
    if (wanted != nullptr && wanted[0] != '\0') {
      path_ = wanted;
    } else {
      scratch_ = std::make_unique<testutil::TempDir>();
      path_ = scratch_->path();
    }
    std::filesystem::create_directories(path_);
  }

  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::unique_ptr<testutil::TempDir> scratch_;
  std::string path_;
};

// A job result with every counter non-zero, so no field of the record is a default.
JobResult SampleJob(uint64_t ios, uint64_t block_bytes) {
  JobResult job;
  job.backend = "io_uring";
  job.ios = ios;
  job.bytes = ios * block_bytes;
  job.window_ns = kWindowNs;
  for (uint64_t i = 1; i <= ios; ++i) job.clat_ns.Record(10'000 + 37 * i);
  job.cpu = CpuTimes{.user_ns = 2'000'000, .system_ns = 3'000'000};
  job.mean_in_flight = 3.5;
  job.queue_stats =
      IoQueueStats{.submit_calls = ios / 2, .submitted = ios, .reap_calls = ios / 4, .reaped = ios, .resubmits = 1};
  job.verified_bytes = job.bytes;
  return job;
}

JobSpec Spec(uint32_t depth, bool sync_path) {
  JobSpec spec;
  spec.queue.depth = depth;
  spec.sync_path = sync_path;
  return spec;
}

BmStats SampleBuffer(uint64_t fetches, uint32_t page_bytes) {
  BmStats b;
  b.memory_bytes = 64 * kMiB;
  b.working_set_bytes = 256 * kMiB;
  b.page_bytes = page_bytes;
  b.fetches = fetches;
  b.hits = fetches / 4;
  b.misses = fetches - b.hits;
  b.reads = b.misses / 8;
  b.read_bytes = b.misses * page_bytes;
  b.reads_by_pages = std::vector<uint64_t>(17, 0);
  b.reads_by_pages[16] = b.reads - 1;
  b.reads_by_pages[3] = 1;
  b.consumer_waits = fetches / 10;
  b.wait_ns = kWindowNs / 5;
  b.mean_distance = 3.75;
  return b;
}

CellRecord Cell(const std::string& suite, const std::string& workload, const std::string& mode,
                const std::string& backend, uint32_t qd) {
  CellRecord cell;
  cell.suite = suite;
  cell.workload = workload;
  cell.rw = workload.find("rand") != std::string::npos ? "randread" : "read";
  cell.qd = qd;
  cell.mode = mode;
  cell.backend = backend;
  cell.cache_state = mode == "direct" ? "n/a" : "cold";
  cell.id = workload + "/" + mode + "/" + backend;
  return cell;
}

CellRecord BmCell(const std::string& workload, const std::string& mode, const std::string& backend, uint32_t qd,
                  const std::string& regime, const std::string& policy) {
  CellRecord cell = Cell("bm", workload, mode, backend, qd);
  cell.bs = 8192;
  cell.regime = regime;
  cell.policy = policy;
  cell.id += "/" + regime;
  return cell;
}

double Resident(const CellRecord& cell) { return cell.mode == "direct" ? -1 : 0.01; }

// Fills `cell` with `n` repetitions of a plain queue job and summarises it.
void AddRepetitions(CellRecord& cell, int n) {
  for (int i = 0; i < n; ++i) {
    JobResult job = SampleJob(/*ios=*/1000 + 10 * static_cast<uint64_t>(i), cell.bs);
    cell.repetitions.push_back(MakeRepetitionRecord(Spec(cell.qd, cell.backend == "syncpath"), job, Resident(cell)));
  }
  SummariseCell(cell);
}

void AddBmRepetitions(CellRecord& cell, int n) {
  for (int i = 0; i < n; ++i) {
    BmResult result{.job = SampleJob(/*ios=*/4000 + 100 * static_cast<uint64_t>(i), cell.bs),
                    .buffer = SampleBuffer(4000 + 100 * static_cast<uint64_t>(i), static_cast<uint32_t>(cell.bs))};
    cell.repetitions.push_back(MakeBmRepetitionRecord(Spec(cell.qd, cell.backend == "sync"), result, Resident(cell)));
  }
  SummariseCell(cell);
}

MemoryRecord SampleMemory(const std::string& cgroup, uint64_t cap_bytes) {
  return MemoryRecord{.cgroup = cgroup,
                      .cap_bytes = cap_bytes,
                      .peak_bytes = 100 * kMiB,
                      .page_cache_bytes = 60 * kMiB,
                      .refaults = 500,
                      .limit_events = 2,
                      .oom_kills = 0};
}

ResultsDocument Document(const std::string& suite, const std::string& data_path) {
  ResultsDocument d;
  d.iodepth_version = IODEPTH_VERSION;
  d.git_commit = "0123456789abcdef0123456789abcdef01234567";
  d.created_utc = "2026-11-24T18:20:00Z";
  d.command = "iodepth suite " + suite + " --runtime=50ms";
  d.config = {{"suite", suite}, {"depths", {1, 4}},        {"modes", {"buffered", "direct"}},
              {"verify", true}, {"runtime_ns", kWindowNs}, {"cache_state", "cold"}};
  d.environment = CollectEnvironment(data_path);
  return d;
}

// Writes `document` as the C++ writer does and reads it back through the C++ reader.
void WriteAndReadBack(const DocumentDir& dir, const std::string& name, const ResultsDocument& document) {
  const std::string path = dir.File(name);
  {
    std::ofstream out(path, std::ios::trunc);
    ASSERT_TRUE(out) << "cannot create " << path;
    out << ToJson(document).dump(2) << "\n";
    ASSERT_TRUE(out.good()) << "cannot write " << path;
  }
  ASSERT_OK_AND_ASSIGN(const ResultsDocument read, ReadResultsFile(path));
  EXPECT_EQ(ToJson(read), ToJson(document)) << path << " does not read back as the document written";
}

class ResultsSchemaDocumentsTest : public ::testing::Test {
 protected:
  DocumentDir dir_;
};

TEST_F(ResultsSchemaDocumentsTest, QdCellsOfEveryModeAndAnUnsupportedOne) {
  ResultsDocument d = Document("qd", dir_.File("qd.dat"));
  for (const char* mode : {"direct", "buffered"}) {
    d.cells.push_back(Cell("qd", "rand_read_qd4", mode, "io_uring", 4));
    AddRepetitions(d.cells.back(), 3);
  }
  d.cells.push_back(Cell("qd", "seq_read_qd1", "direct", "sync", 1));
  AddRepetitions(d.cells.back(), 2);
  CellRecord unsupported = Cell("qd", "seq_read_qd1", "dontcache", "io_uring", 1);
  unsupported.status = "unsupported";
  unsupported.reason = "RWF_DONTCACHE is not supported by this kernel (Linux 6.14+)";
  SummariseCell(unsupported);
  d.cells.push_back(unsupported);
  ASSERT_NE(d.cells[0].repetitions[0].resident_before, d.cells[1].repetitions[0].resident_before);
  WriteAndReadBack(dir_, "qd.json", d);
}

TEST_F(ResultsSchemaDocumentsTest, IoPatternsCellsOnTheSyncPath) {
  ResultsDocument d = Document("io_patterns", dir_.File("io_patterns.dat"));
  d.cells.push_back(Cell("io_patterns", "seq_read", "buffered", "syncpath", 1));
  AddRepetitions(d.cells.back(), 3);
  CellRecord write = Cell("io_patterns", "rand_write", "direct", "syncpath", 1);
  write.rw = "randwrite";
  AddRepetitions(write, 3);
  d.cells.push_back(write);
  ASSERT_EQ(d.cells[0].repetitions[0].depth.target, 1u);
  WriteAndReadBack(dir_, "io_patterns.json", d);
}

TEST_F(ResultsSchemaDocumentsTest, BmCellsWithBufferRecords) {
  ResultsDocument d = Document("bm", dir_.File("table.dat"));
  d.cells.push_back(BmCell("bm_seq_read_qd4", "direct", "io_uring", 4, "thrash", "fixed"));
  d.cells.push_back(BmCell("bm_seq_read_adaptive", "buffered", "io_uring", 32, "pressure", "adaptive"));
  d.cells.push_back(BmCell("bm_rand_read_qd1", "direct", "sync", 1, "hot", "sync"));
  for (CellRecord& cell : d.cells) AddBmRepetitions(cell, 3);
  ASSERT_TRUE(d.cells[0].repetitions[0].buffer.has_value());
  ASSERT_TRUE(d.cells[0].median.buffer.has_value());
  ASSERT_FALSE(d.cells[0].repetitions[0].buffer->reads_by_pages.empty());
  WriteAndReadBack(dir_, "bm.json", d);
}

TEST_F(ResultsSchemaDocumentsTest, ScanCellWithBufferAndScanRecords) {
  ResultsDocument d = Document("scan", dir_.File("table.dat"));
  CellRecord cell = BmCell("multistream_scan_qd4", "direct", "io_uring", 4, "pressure", "fixed");
  cell.suite = "scan";
  for (int i = 0; i < 3; ++i) {
    ScanJobResult result{.job = SampleJob(/*ios=*/8000, cell.bs),
                         .buffer = SampleBuffer(8000, 8192),
                         .streams = {},
                         .rows = 8000 * 200,
                         .passes_checked = 12};
    for (int s = 0; s < 4; ++s) {
      result.streams.push_back(ScanStreamResult{
          .pages = 2000, .rows = 400'000, .passes_checked = 3, .wait_ns = kWindowNs / 8, .bw_bytes = 3.0e8 + 1e7 * s});
    }
    cell.repetitions.push_back(MakeScanRepetitionRecord(Spec(4 * 4, /*sync_path=*/false), result, -1));
  }
  SummariseCell(cell);
  d.cells.push_back(cell);
  ASSERT_TRUE(d.cells[0].repetitions[0].scan.has_value());
  ASSERT_TRUE(d.cells[0].median.scan.has_value());
  WriteAndReadBack(dir_, "scan.json", d);
}

TEST_F(ResultsSchemaDocumentsTest, WriteSuiteCellsWithWriteRecords) {
  ResultsDocument d = Document("write", dir_.File("rw.tbl"));
  // wal_commit: commits as ios, commit latency as clat, the group-commit figures.
  CellRecord wal = Cell("write", "wal_commit_qd4", "direct", "io_uring", 4);
  wal.policy = "dsync";
  wal.id += "/dsync";
  for (int i = 0; i < 3; ++i) {
    WalJobResult result;
    result.committers = 4;
    result.commits = 20'000 + static_cast<uint64_t>(i);
    result.commits_per_flush = 2.1;
    result.syncs_per_commit = 0;
    result.bytes_written_per_commit = 1950;
    result.max_write_depth = 2;
    result.window_ns = kWindowNs;
    result.bytes_written = result.commits * 1950;
    for (uint64_t c = 0; c < 1000; ++c) result.latency_ns.Record(300'000 + c * 100);
    result.cpu = CpuTimes{.user_ns = 40'000'000, .system_ns = 90'000'000};
    wal.repetitions.push_back(MakeWalRepetitionRecord(Spec(4, /*sync_path=*/false), result, "dsync", -1));
  }
  SummariseCell(wal);
  d.cells.push_back(wal);
  // bm_rand_rw: the bm records plus the updates and their write-back.
  CellRecord rw = BmCell("bm_rand_rw_qd4", "buffered", "io_uring", 4, "pressure", "fixed");
  rw.suite = "write";
  rw.rw = "randrw";
  for (int i = 0; i < 3; ++i) {
    BmResult result{.job = SampleJob(/*ios=*/4000, rw.bs), .buffer = SampleBuffer(4000, 8192)};
    result.buffer.update_fraction = 0.1;
    result.buffer.writeback_depth = 8;
    result.buffer.updates = 400;
    result.buffer.pages_written = 300;
    result.buffer.background_writebacks = 290;
    result.buffer.evictor_writebacks = 10;
    rw.repetitions.push_back(MakeBmRepetitionRecord(Spec(4, /*sync_path=*/false), result, Resident(rw)));
  }
  SummariseCell(rw);
  d.cells.push_back(rw);
  // checkpoint: pages written at depth, and the reader's two latencies.
  CellRecord checkpoint = Cell("write", "checkpoint_qd8", "direct", "worker", 8);
  checkpoint.rw = "randwrite";
  checkpoint.bs = 8192;
  for (int i = 0; i < 3; ++i) {
    CheckpointResult result{.job = SampleJob(/*ios=*/3000, 8192), .checkpoint = {}};
    result.checkpoint.dirty_pages = 1000;
    result.checkpoint.checkpoints = 3;
    result.checkpoint.mean_checkpoint_ns = 2e7;
    result.checkpoint.sync_ns = 3'000'000;
    for (uint64_t f = 0; f < 50; ++f) result.checkpoint.reader_during_ns.Record(200'000 + f);
    checkpoint.repetitions.push_back(MakeCheckpointRepetitionRecord(Spec(8, /*sync_path=*/false), result, -1));
  }
  SummariseCell(checkpoint);
  d.cells.push_back(checkpoint);
  ASSERT_TRUE(d.cells[0].repetitions[0].write.has_value());
  EXPECT_EQ(d.cells[0].repetitions[0].write->sync, "dsync");
  EXPECT_EQ(d.cells[0].repetitions[0].total_ios, 20'000u);
  EXPECT_EQ(d.cells[1].repetitions[0].write->background_writebacks, 290u);
  EXPECT_EQ(d.cells[2].repetitions[0].write->reader_during_ns.N, 50u);
  EXPECT_EQ(d.cells[2].repetitions[0].write->reader_between_ns.N, 0u);
  WriteAndReadBack(dir_, "write.json", d);
}

TEST_F(ResultsSchemaDocumentsTest, CappedCellsWithMemoryRecords) {
  ResultsDocument d = Document("bm", dir_.File("table.dat"));
  CellRecord capped = BmCell("bm_rand_read_qd4", "buffered", "io_uring", 4, "thrash", "fixed");
  capped.memory_cap = 128 * kMiB;
  CellRecord inherited = BmCell("bm_rand_read_qd4", "direct", "io_uring", 4, "thrash", "fixed");
  inherited.memory_cap = kInheritedCap;
  for (CellRecord* cell : {&capped, &inherited}) {
    AddBmRepetitions(*cell, 3);
    for (RepetitionRecord& r : cell->repetitions) {
      r.memory = cell == &capped ? SampleMemory("v2", 128 * kMiB) : SampleMemory("inherited", 1024 * kMiB);
    }
    SummariseCell(*cell);
    d.cells.push_back(*cell);
  }
  d.config["memory_cap"] = capped.memory_cap;
  d.config["inherited_memory_limit"] = nullptr;
  ASSERT_TRUE(d.cells[0].median.memory.has_value());
  WriteAndReadBack(dir_, "capped.json", d);
}

TEST_F(ResultsSchemaDocumentsTest, ErrorCellHasItsReasonAndNoRepetitions) {
  ResultsDocument d = Document("qd", dir_.File("qd.dat"));
  CellRecord failed = Cell("qd", "rand_read_qd16", "direct", "worker", 16);
  failed.memory_cap = 128 * kMiB;
  failed.repetitions.push_back(MakeRepetitionRecord(Spec(16, /*sync_path=*/false), SampleJob(1000, 4096), -1));
  // As the matrix does when a later run fails: the cell is summarised once, after its
  // runs, without the ones that ran (a partial set would look like a result).
  failed.status = "error";
  failed.reason = "read of 4096 bytes at offset 8192 of qd.dat: Input/output error";
  failed.repetitions.clear();
  SummariseCell(failed);
  ASSERT_TRUE(failed.flags.empty());
  d.cells.push_back(failed);
  WriteAndReadBack(dir_, "error.json", d);
}

TEST_F(ResultsSchemaDocumentsTest, FioCrossCheckEntryBesideItsCell) {
  ResultsDocument d = Document("qd", dir_.File("qd.dat"));
  d.cells.push_back(Cell("qd", "rand_read_qd32", "direct", "io_uring", 32));
  AddRepetitions(d.cells.back(), 3);
  const CellRecord& cell = d.cells.back();
  d.fio_crosscheck.push_back(FioCrossCheckRecord{
      .cell = cell.id,
      .fio = {{"iops", 21000.5},
              {"clat_ns_p95", 120000},
              {"cpu_ns_per_io", 0.0},
              {"cv", {{"iops", 0.02}}},
              {"job", "--rw=randread --direct=1 --ioengine=io_uring --iodepth=32"},
              {"fio_version", "fio-3.33"},
              {"notes", nlohmann::json::array()},
              {"repetitions", nlohmann::json::array()}},
      // fio's CPU per I/O was 0, so that ratio has no value.
      .ratio = {{"iops", cell.median.iops / 21000.5}, {"clat_ns_p95", 0.97}, {"cpu_ns_per_io", nullptr}}});
  WriteAndReadBack(dir_, "crosscheck.json", d);
}

// ---- Untrusted input: the reader on damaged copies of what the writer wrote ----

// Thousands of seeded mutations (testutil/mutator.h) of a document holding every record
// kind (qd, bm, scan cells, memory, device and fio records): ReadResultsFile must parse
// each or refuse it with a message, never crash, hang or trip a sanitizer. Bounded by a
// count and by time (sanitizer builds run many times slower). A failure names the seed
// and iteration, which reproduce it.
TEST(ResultsReaderMutationTest, DamagedResultsFilesParseOrFailCleanly) {
  ResultsDocument d = Document("bm", "/nonexistent/table.dat");
  d.cells.push_back(Cell("qd", "rand_read_qd4", "direct", "io_uring", 4));
  AddRepetitions(d.cells.back(), 2);
  d.cells.push_back(BmCell("bm_rand_read_qd4", "buffered", "io_uring", 4, "thrash", "fixed"));
  d.cells.back().memory_cap = 128 * kMiB;
  AddBmRepetitions(d.cells.back(), 2);
  for (RepetitionRecord& r : d.cells.back().repetitions) r.memory = SampleMemory("v1", 128 * kMiB);
  SummariseCell(d.cells.back());
  d.fio_crosscheck.push_back(
      FioCrossCheckRecord{.cell = d.cells[0].id, .fio = {{"iops", 1000.0}}, .ratio = {{"iops", 1.01}}});
  const std::string original = ToJson(d).dump(1);
  testutil::WriteSeed("results", "bm_and_qd.json", original);
  testutil::TempDir dir;
  const std::string path = dir.File("mutated.json");
  constexpr uint64_t kSeed = 20261202;
  testutil::Mutator mutator(kSeed);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  int parsed = 0, refused = 0;
  for (int i = 0; i < 3000 && std::chrono::steady_clock::now() < deadline; ++i) {
    const std::string text = mutator.Mutate(original);
    {
      std::ofstream out(path, std::ios::trunc | std::ios::binary);
      out << text;
    }
    const Result<ResultsDocument> read = ReadResultsFile(path);
    if (read.has_value()) {
      ++parsed;
      // What parses writes back out without throwing.
      EXPECT_FALSE(ToJson(*read).dump().empty());
    } else {
      ++refused;
      EXPECT_FALSE(read.error().message().empty()) << "seed " << kSeed << " iteration " << i;
    }
  }
  EXPECT_GT(parsed + refused, 100) << "too few inputs tried";
  EXPECT_GT(refused, 0) << "mutations that break a file must be refused";
  std::cout << "results reader: " << parsed + refused << " mutated inputs, " << parsed << " parsed, " << refused
            << " refused\n";
}

}  // namespace
}  // namespace iodepth
