// Tests of experiment/suite.h: which cells a suite plans, and RunSuite on a tiny configuration
// (a few hundred requests per run) so the whole file runs in seconds. Also the checks the
// suite shares with the matrix config (experiment/checks.h).
#include "experiment/suite.h"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <sys/stat.h>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "experiment/checks.h"
#include "harness/test_files.h"
#include "testutil/status_macros.h"
#include "testutil/temp_dir.h"

namespace iodepth {
namespace {

using testutil::TempDir;

SuiteConfig QdConfig() {
  SuiteConfig config;
  config.suite = "qd";
  config.filename = "unused-by-planning.dat";
  config.depths = {1, 4, 16};
  config.backends = {Backend::kIoUring, Backend::kWorker, Backend::kSync};
  config.modes = {CacheMode::kBuffered, CacheMode::kDirect};
  return config;
}

SuiteConfig PatternsConfig() {
  SuiteConfig config = QdConfig();
  config.suite = "io_patterns";
  return config;
}

std::vector<CellPlan> Plan(const SuiteConfig& config) {
  Result<std::vector<CellPlan>> cells = PlanSuite(config);
  EXPECT_TRUE(cells.has_value()) << cells.error().ToString();
  return cells.has_value() ? std::move(cells).value() : std::vector<CellPlan>{};
}

std::vector<std::string> Ids(const std::vector<CellPlan>& cells) {
  std::vector<std::string> ids;
  for (const CellPlan& cell : cells) ids.push_back(cell.record.id);
  return ids;
}

void ExpectUniqueIds(const std::vector<CellPlan>& cells) {
  const std::vector<std::string> ids = Ids(cells);
  const std::set<std::string> unique(ids.begin(), ids.end());
  EXPECT_EQ(unique.size(), ids.size()) << "duplicate cell ids";
}

// ---- PlanSuite ----

TEST(PlanSuiteTest, IoPatternsIsFourWorkloadsInEveryModeOnTheSyncPathAtDepthOne) {
  const std::vector<CellPlan> cells = Plan(PatternsConfig());
  ASSERT_EQ(cells.size(), 4u * 2u);
  const std::map<std::string, std::string> rw_of = {
      {"seq_read", "read"}, {"rand_read", "randread"}, {"seq_write", "write"}, {"rand_write", "randwrite"}};
  std::set<std::pair<std::string, std::string>> seen;
  for (const CellPlan& cell : cells) {
    const CellRecord& r = cell.record;
    SCOPED_TRACE(r.id);
    ASSERT_TRUE(rw_of.contains(r.workload));
    EXPECT_EQ(r.rw, rw_of.at(r.workload));
    EXPECT_EQ(r.suite, "io_patterns");
    EXPECT_EQ(r.backend, "syncpath");
    EXPECT_EQ(r.qd, 1u);
    EXPECT_EQ(r.id, r.workload + "/" + r.mode + "/syncpath");
    EXPECT_TRUE(cell.spec.sync_path);
    EXPECT_EQ(cell.spec.queue.depth, 1u);
    EXPECT_EQ(r.status, "ok");
    EXPECT_TRUE(r.repetitions.empty());
    seen.insert({r.workload, r.mode});
  }
  EXPECT_EQ(seen.size(), cells.size()) << "each workload once per mode";
  ExpectUniqueIds(cells);
}

TEST(PlanSuiteTest, IoPatternsIgnoresDepthsAndBackends) {
  SuiteConfig config = PatternsConfig();
  config.depths = {32};
  config.backends = {Backend::kWorker};
  config.modes = {CacheMode::kDirect};
  const std::vector<CellPlan> cells = Plan(config);
  ASSERT_EQ(cells.size(), 4u);
  for (const CellPlan& cell : cells) {
    EXPECT_EQ(cell.record.qd, 1u) << cell.record.id;
    EXPECT_TRUE(cell.spec.sync_path) << cell.record.id;
  }
}

TEST(PlanSuiteTest, IoPatternsVerifiesReadsOnly) {
  SuiteConfig config = PatternsConfig();
  config.verify = true;
  for (const CellPlan& cell : Plan(config)) {
    EXPECT_EQ(cell.spec.verify, !IsWrite(cell.spec.rw)) << cell.record.id;
  }
}

TEST(PlanSuiteTest, QdHasEveryDepthBackendAndModeWithSyncOnlyAtDepthOne) {
  const std::vector<CellPlan> cells = Plan(QdConfig());
  // Per workload: depth 1 x 3 backends + depths 4 and 16 x 2 backends, each in 2 modes.
  ASSERT_EQ(cells.size(), 2u * (3u + 2u + 2u) * 2u);
  for (const CellPlan& cell : cells) {
    const CellRecord& r = cell.record;
    SCOPED_TRACE(r.id);
    EXPECT_EQ(r.suite, "qd");
    EXPECT_TRUE(r.workload == "seq_read_qd" + std::to_string(r.qd) ||
                r.workload == "rand_read_qd" + std::to_string(r.qd));
    EXPECT_EQ(r.rw, r.workload.starts_with("seq") ? "read" : "randread");
    EXPECT_EQ(r.id, r.workload + "/" + r.mode + "/" + r.backend);
    EXPECT_EQ(cell.spec.queue.depth, r.qd);
    EXPECT_EQ(BackendName(cell.spec.queue.backend), r.backend);
    EXPECT_FALSE(cell.spec.sync_path);
    if (r.backend == "sync") {
      EXPECT_EQ(r.qd, 1u) << "sync is depth 1 by definition";
    }
    EXPECT_EQ(r.cache_state, r.mode == "direct" ? "n/a" : "cold");
    EXPECT_EQ(cell.cache_state, r.mode == "direct" ? CacheState::kNotApplicable : CacheState::kCold);
  }
  ExpectUniqueIds(cells);
}

TEST(PlanSuiteTest, SpecCarriesTheConfiguration) {
  SuiteConfig config = QdConfig();
  config.file_size_bytes = 64 << 20;
  config.working_set_bytes = 16 << 20;
  config.block_size = 8192;
  config.runtime_ns = 3'000'000'000;
  config.ramp_ns = 250'000'000;
  config.number_ios = 1234;
  config.seed = 77;
  config.cache_state = CacheState::kWarm;
  config.queue.worker_threads = 3;
  for (const CellPlan& cell : Plan(config)) {
    SCOPED_TRACE(cell.record.id);
    EXPECT_EQ(cell.spec.filename, config.filename);
    EXPECT_EQ(cell.spec.size_bytes, config.working_set_bytes);
    EXPECT_EQ(cell.spec.block_size, 8192u);
    EXPECT_EQ(cell.record.bs, 8192u);
    EXPECT_EQ(cell.spec.runtime_ns, config.runtime_ns);
    EXPECT_EQ(cell.spec.ramp_ns, config.ramp_ns);
    EXPECT_EQ(cell.spec.number_ios, 1234u);
    EXPECT_EQ(cell.spec.seed, 77u);
    EXPECT_EQ(cell.spec.queue.worker_threads, 3u);
    EXPECT_EQ(cell.spec.cache, cell.record.mode == "direct" ? CacheMode::kDirect : CacheMode::kBuffered);
    EXPECT_EQ(cell.record.cache_state, cell.record.mode == "direct" ? "n/a" : "warm");
  }
  config.working_set_bytes = 0;
  for (const CellPlan& cell : Plan(config)) EXPECT_EQ(cell.spec.size_bytes, config.file_size_bytes);
}

TEST(PlanSuiteTest, RepeatedSettingsDoNotRepeatCells) {
  // "--depths 4,4" or "--modes direct,direct": ids must stay unique in a run (the results
  // file keys cells by id), whether the repeat is refused or ignored.
  SuiteConfig config = QdConfig();
  config.depths = {4, 4};
  config.backends = {Backend::kWorker, Backend::kWorker};
  config.modes = {CacheMode::kDirect, CacheMode::kDirect};
  const Result<std::vector<CellPlan>> cells = PlanSuite(config);
  if (!cells.has_value()) {
    EXPECT_EQ(cells.error().code(), StatusCode::kInvalidArgument) << cells.error().ToString();
    return;
  }
  ExpectUniqueIds(*cells);
}

TEST(PlanSuiteTest, OnlyKeepsCellsWhoseIdStartsWithAPrefix) {
  SuiteConfig config = QdConfig();
  config.only = {"seq_read_qd4/direct"};
  std::vector<std::string> ids = Ids(Plan(config));
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"seq_read_qd4/direct/io_uring", "seq_read_qd4/direct/worker"}));

  config.only = {"rand_read_qd1/buffered/sync"};
  EXPECT_EQ(Ids(Plan(config)), std::vector<std::string>{"rand_read_qd1/buffered/sync"});

  config.only = {"rand"};
  const std::vector<CellPlan> rand = Plan(config);
  EXPECT_EQ(rand.size(), 14u);
  for (const CellPlan& cell : rand) EXPECT_EQ(cell.record.rw, "randread") << cell.record.id;
}

TEST(PlanSuiteTest, OnlyKeepsCellsOfANamedWorkload) {
  SuiteConfig config = QdConfig();
  config.only = {"rand_read_qd16"};
  const std::vector<CellPlan> cells = Plan(config);
  ASSERT_EQ(cells.size(), 4u);  // io_uring and worker, buffered and direct.
  for (const CellPlan& cell : cells) EXPECT_EQ(cell.record.workload, "rand_read_qd16");

  config = PatternsConfig();
  config.only = {"seq_write"};
  const std::vector<CellPlan> writes = Plan(config);
  ASSERT_EQ(writes.size(), 2u);
  for (const CellPlan& cell : writes) EXPECT_EQ(cell.record.workload, "seq_write");
}

TEST(PlanSuiteTest, OnlyWithSeveralValuesKeepsTheUnionInRunOrder) {
  SuiteConfig config = QdConfig();
  const std::vector<std::string> all = Ids(Plan(config));
  config.only = {"rand_read_qd4", "seq_read_qd1/direct"};
  const std::vector<std::string> some = Ids(Plan(config));
  EXPECT_EQ(some.size(), 4u + 3u);
  // A subsequence of the full plan: filtering never reorders.
  size_t matched = 0;
  for (const std::string& id : all) {
    if (matched < some.size() && some[matched] == id) ++matched;
  }
  EXPECT_EQ(matched, some.size());
}

void ExpectInvalid(const SuiteConfig& config, const std::vector<std::string>& words) {
  const Result<std::vector<CellPlan>> cells = PlanSuite(config);
  ASSERT_FALSE(cells.has_value());
  EXPECT_EQ(cells.error().code(), StatusCode::kInvalidArgument) << cells.error().ToString();
  for (const std::string& word : words) {
    EXPECT_NE(cells.error().message().find(word), std::string::npos) << word << " in " << cells.error().ToString();
  }
}

TEST(PlanSuiteTest, UnknownSuiteNamesTheChoices) {
  SuiteConfig config = QdConfig();
  config.suite = "latency";
  ExpectInvalid(config, {"latency", "io_patterns", "qd"});
}

TEST(PlanSuiteTest, DepthZeroIsRefused) {
  SuiteConfig config = QdConfig();
  config.depths = {1, 0, 4};
  ExpectInvalid(config, {"--depths", "0"});
  config.depths = {IoQueue::kMaxDepth + 1};
  ExpectInvalid(config, {"--depths", std::to_string(IoQueue::kMaxDepth + 1)});
}

TEST(PlanSuiteTest, DepthOutOfRangeMessageReadsAsBefore) {
  SuiteConfig config = QdConfig();
  config.depths = {1, IoQueue::kMaxDepth + 1};
  const Result<std::vector<CellPlan>> cells = PlanSuite(config);
  ASSERT_FALSE(cells.has_value());
  EXPECT_EQ(cells.error().message(),
            fmt::format("--depths: {} is out of range 1..{}", IoQueue::kMaxDepth + 1, IoQueue::kMaxDepth));
}

TEST(PlanSuiteTest, WorkingSetLargerThanTheFileIsRefused) {
  SuiteConfig config = QdConfig();
  config.file_size_bytes = 8 << 20;
  config.working_set_bytes = 16 << 20;
  ExpectInvalid(config, {"--working_set", "--size"});
}

TEST(PlanSuiteTest, OnlyMatchingNothingIsRefused) {
  SuiteConfig config = QdConfig();
  config.only = {"seq_read_qd64"};
  ExpectInvalid(config, {"--only"});
  config.only = {"read_qd1"};  // A substring, not a prefix.
  ExpectInvalid(config, {"--only"});
}

TEST(PlanSuiteTest, ZeroRepetitionsAndEmptyListsAreRefused) {
  SuiteConfig config = QdConfig();
  config.repetitions = 0;
  ExpectInvalid(config, {"--repetitions"});
  config = QdConfig();
  config.modes.clear();
  ExpectInvalid(config, {"--modes"});
  config = QdConfig();
  config.backends.clear();
  ExpectInvalid(config, {"--backends"});
}

// ---- RunSuite ----

// Remembers every call, in order.
class RecordingObserver : public SuiteObserver {
 public:
  struct Run {
    std::string id;
    uint32_t repetition;
    RepetitionRecord record;
    size_t runs_done;
    size_t runs_total;
  };

  void OnStart(const SuiteConfig&, size_t cells, int64_t estimate_ns) override {
    ++starts;
    start_cells = cells;
    EXPECT_GE(estimate_ns, 0);
  }
  void OnRepetition(const CellPlan& cell, uint32_t repetition, const RepetitionRecord& record, size_t runs_done,
                    size_t runs_total, int64_t eta_ns) override {
    EXPECT_GE(eta_ns, 0);
    runs.push_back(Run{cell.record.id, repetition, record, runs_done, runs_total});
  }
  void OnUnsupported(const CellPlan& cell, const std::string& reason) override { unsupported[cell.record.id] = reason; }

  int starts = 0;
  size_t start_cells = 0;
  std::vector<Run> runs;
  std::map<std::string, std::string> unsupported;
};

constexpr uint64_t kSuiteIos = 300;

class RunSuiteTest : public ::testing::Test {
 protected:
  // 8 MiB file, 300 requests a run, 2 repetitions, no ramp.
  SuiteConfig TinyConfig() const {
    SuiteConfig config;
    config.suite = "qd";
    config.filename = dir_.File("suite.dat");
    config.file_size_bytes = 8 << 20;
    config.number_ios = kSuiteIos;
    config.runtime_ns = 0;
    config.ramp_ns = 0;
    config.repetitions = 2;
    config.depths = {1, 4};
    config.backends = {Backend::kWorker, Backend::kSync};
    config.modes = {CacheMode::kBuffered, CacheMode::kDirect};
    config.verify = true;
    config.command_line = "iodepth suite qd --number_ios=300";
    return config;
  }

  TempDir dir_;
};

TEST_F(RunSuiteTest, EveryCellRunsEveryRepetitionInterleaved) {
  const SuiteConfig config = TinyConfig();
  const std::vector<std::string> planned = Ids(Plan(config));
  ASSERT_EQ(planned.size(), 2u * (2u + 1u) * 2u);  // Per workload: qd1 worker+sync, qd4 worker; 2 modes.
  RecordingObserver observer;
  ASSERT_OK_AND_ASSIGN(const ResultsDocument document, RunSuite(config, &observer));

  EXPECT_EQ(observer.starts, 1);
  EXPECT_EQ(observer.start_cells, planned.size());
  EXPECT_TRUE(observer.unsupported.empty());
  ASSERT_EQ(observer.runs.size(), planned.size() * 2);
  for (size_t i = 0; i < observer.runs.size(); ++i) {
    const RecordingObserver::Run& run = observer.runs[i];
    // Every cell once, then every cell again, in plan order.
    EXPECT_EQ(run.id, planned[i % planned.size()]) << i;
    EXPECT_EQ(run.repetition, i / planned.size()) << i;
    EXPECT_EQ(run.runs_done, i + 1);
    EXPECT_EQ(run.runs_total, planned.size() * 2);
  }

  ASSERT_EQ(Ids(Plan(config)), planned);
  ASSERT_EQ(document.cells.size(), planned.size());
  for (size_t i = 0; i < document.cells.size(); ++i) {
    const CellRecord& cell = document.cells[i];
    SCOPED_TRACE(cell.id);
    EXPECT_EQ(cell.id, planned[i]);
    EXPECT_EQ(cell.status, "ok");
    ASSERT_EQ(cell.repetitions.size(), 2u);
    for (uint32_t rep = 0; rep < 2; ++rep) {
      const RepetitionRecord& r = cell.repetitions[rep];
      EXPECT_EQ(r.total_ios, kSuiteIos);
      EXPECT_EQ(r.io_bytes, kSuiteIos * 4096);
      EXPECT_EQ(r.clat_ns.N, kSuiteIos);
      EXPECT_EQ(r.verified_bytes, kSuiteIos * 4096) << "--verify checks every read";
      EXPECT_EQ(r.depth.target, cell.qd);
      EXPECT_EQ(r.depth.refills_short, 0u);
      EXPECT_GT(r.iops, 0);
      // The observer saw the very record the document holds.
      const RecordingObserver::Run& seen = observer.runs[rep * planned.size() + i];
      EXPECT_EQ(seen.record.total_ios, r.total_ios);
      EXPECT_EQ(seen.record.iops, r.iops);
    }
    EXPECT_DOUBLE_EQ(cell.median.iops, (cell.repetitions[0].iops + cell.repetitions[1].iops) / 2);
    EXPECT_GT(cell.median.clat_ns.mean, 0);
    ASSERT_TRUE(cell.median.clat_ns.percentile.contains("95.000000"));
    EXPECT_GT(cell.median.clat_ns.percentile.at("95.000000"), 0u);
  }
}

TEST_F(RunSuiteTest, BufferedCellsAreColdAndMeasuredDirectCellsAreNot) {
  RecordingObserver observer;
  ASSERT_OK_AND_ASSIGN(const ResultsDocument document, RunSuite(TinyConfig(), &observer));
  size_t buffered = 0, direct = 0;
  for (const CellRecord& cell : document.cells) {
    SCOPED_TRACE(cell.id);
    for (const RepetitionRecord& r : cell.repetitions) {
      if (cell.mode == "buffered") {
        EXPECT_EQ(cell.cache_state, "cold");
        EXPECT_GE(r.resident_before, 0.0);
        EXPECT_LE(r.resident_before, 1.0);
        ++buffered;
      } else {
        EXPECT_EQ(cell.mode, "direct");
        EXPECT_EQ(cell.cache_state, "n/a");
        EXPECT_EQ(r.resident_before, -1.0);
        ++direct;
      }
    }
  }
  EXPECT_EQ(buffered, direct);
  EXPECT_GT(buffered, 0u);
}

TEST_F(RunSuiteTest, DocumentRecordsTheConfigAndParsesBack) {
  const SuiteConfig config = TinyConfig();
  ASSERT_OK_AND_ASSIGN(const ResultsDocument document, RunSuite(config, nullptr));
  EXPECT_EQ(document.command, config.command_line);
  EXPECT_FALSE(document.created_utc.empty());
  EXPECT_FALSE(document.iodepth_version.empty());
  EXPECT_EQ(document.config["suite"], "qd");
  EXPECT_EQ(document.config["number_ios"], kSuiteIos);
  EXPECT_EQ(document.config["repetitions"], 2);
  EXPECT_EQ(document.config["depths"], nlohmann::json({1, 4}));
  EXPECT_EQ(document.config["modes"], nlohmann::json({"buffered", "direct"}));
  EXPECT_EQ(document.config["backends"], nlohmann::json({"worker", "sync"}));
  const nlohmann::json json = ToJson(document);
  ASSERT_OK_AND_ASSIGN(const ResultsDocument parsed, ParseResults(nlohmann::json::parse(json.dump())));
  EXPECT_EQ(ToJson(parsed), json);
}

TEST_F(RunSuiteTest, DontcacheRunsOrIsRecordedUnsupportedNeverAnError) {
  SuiteConfig config = TinyConfig();
  config.modes = {CacheMode::kDontcache};
  config.depths = {1};
  RecordingObserver observer;
  ASSERT_OK_AND_ASSIGN(const ResultsDocument document, RunSuite(config, &observer));
  ASSERT_EQ(document.cells.size(), 4u);
  for (const CellRecord& cell : document.cells) {
    SCOPED_TRACE(cell.id);
    EXPECT_EQ(cell.mode, "dontcache");
    EXPECT_EQ(cell.cache_state, "cold");
    if (cell.status == "ok") {
      EXPECT_EQ(cell.repetitions.size(), 2u);
      for (const RepetitionRecord& r : cell.repetitions) {
        EXPECT_EQ(r.total_ios, kSuiteIos);
        EXPECT_GE(r.resident_before, 0.0);
        EXPECT_LE(r.resident_before, 1.0);
      }
      EXPECT_FALSE(observer.unsupported.contains(cell.id));
    } else {
      EXPECT_EQ(cell.status, "unsupported");
      EXPECT_FALSE(cell.reason.empty());
      EXPECT_TRUE(cell.repetitions.empty());
      EXPECT_TRUE(cell.flags.empty());
      ASSERT_TRUE(observer.unsupported.contains(cell.id));
      EXPECT_EQ(observer.unsupported.at(cell.id), cell.reason);
    }
  }
}

TEST_F(RunSuiteTest, IoPatternsWritesLeaveTheFileVerifiable) {
  // Write cells run between verified read cells, in both repetitions.
  SuiteConfig config = TinyConfig();
  config.suite = "io_patterns";
  RecordingObserver observer;
  ASSERT_OK_AND_ASSIGN(const ResultsDocument document, RunSuite(config, &observer));
  ASSERT_EQ(document.cells.size(), 8u);
  EXPECT_EQ(observer.runs.size(), 16u);
  for (const CellRecord& cell : document.cells) {
    SCOPED_TRACE(cell.id);
    EXPECT_EQ(cell.status, "ok");
    EXPECT_EQ(cell.backend, "syncpath");
    ASSERT_EQ(cell.repetitions.size(), 2u);
    const bool write = cell.rw == "write" || cell.rw == "randwrite";
    for (const RepetitionRecord& r : cell.repetitions) {
      EXPECT_EQ(r.total_ios, kSuiteIos);
      EXPECT_EQ(r.verified_bytes, write ? 0u : kSuiteIos * 4096);
      EXPECT_EQ(r.depth.target, 1u);
    }
  }
}

TEST_F(RunSuiteTest, WriteSuiteOnAFileNotMadeByIodepthFailsAndLeavesItAlone) {
  SuiteConfig config = TinyConfig();
  config.suite = "io_patterns";
  config.verify = false;
  const std::vector<unsigned char> content(config.file_size_bytes, 0x5A);
  testutil::WriteFileBytes(config.filename, content);
  RecordingObserver observer;
  const Result<ResultsDocument> document = RunSuite(config, &observer);
  ASSERT_FALSE(document.has_value());
  EXPECT_EQ(document.error().code(), StatusCode::kFailedPrecondition) << document.error().ToString();
  EXPECT_TRUE(observer.runs.empty());
  EXPECT_EQ(testutil::ReadFileBytes(config.filename), content);
}

TEST_F(RunSuiteTest, CorruptedDataFileStopsTheSuiteWithTheCellAndOffset) {
  SuiteConfig config = TinyConfig();
  config.only = {"seq_read_qd1/direct/sync"};
  config.repetitions = 1;
  config.number_ios = config.file_size_bytes / 4096;  // Every block once.
  ASSERT_OK(RunSuite(config, nullptr));               // Creates the file; it verifies.
  const uint64_t bad = 5 << 20;
  testutil::FlipBytes(config.filename, bad, 4096);
  const Result<ResultsDocument> document = RunSuite(config, nullptr);
  ASSERT_FALSE(document.has_value());
  EXPECT_EQ(document.error().code(), StatusCode::kCorruption) << document.error().ToString();
  EXPECT_NE(document.error().message().find("seq_read_qd1/direct/sync"), std::string::npos)
      << document.error().ToString();
  EXPECT_NE(document.error().message().find(std::to_string(bad)), std::string::npos) << document.error().ToString();
}

// ---- The bm suite ----

SuiteConfig BmConfig() {
  SuiteConfig config;
  config.suite = "bm";
  config.filename = "unused-by-planning.tbl";
  config.memory_bytes = 1 << 20;
  config.page_size = PageSize::k8KiB;
  config.regimes = {Regime::kHot, Regime::kPressure, Regime::kThrash};
  config.depths = {1, 4, 16};
  config.backends = {Backend::kIoUring, Backend::kWorker, Backend::kSync};
  config.modes = {CacheMode::kBuffered, CacheMode::kDirect};
  config.adaptive = true;
  return config;
}

TEST(PlanSuiteTest, BmHasEveryRegimeDepthBackendAndModePlusAdaptiveSequentialCells) {
  const std::vector<CellPlan> cells = Plan(BmConfig());
  // Per workload and regime: depth 1 x 3 backends + depths 4 and 16 x 2 stream backends,
  // each in 2 modes; plus, for the sequential workload only, adaptive x 2 stream
  // backends x 2 modes per regime.
  EXPECT_EQ(cells.size(), 2u * 3u * (3u + 2u * 2u) * 2u + 3u * 2u * 2u);
  ExpectUniqueIds(cells);
  const std::vector<std::string> ids = Ids(cells);
  const std::set<std::string> id_set(ids.begin(), ids.end());
  for (const char* id : {"bm_seq_read_qd1/direct/sync/hot", "bm_seq_read_qd1/buffered/io_uring/hot",
                         "bm_rand_read_qd16/buffered/io_uring/thrash", "bm_rand_read_qd1/direct/sync/pressure",
                         "bm_seq_read_qd4/direct/worker/pressure", "bm_seq_read_adaptive/direct/worker/pressure",
                         "bm_seq_read_adaptive/buffered/io_uring/thrash"}) {
    EXPECT_TRUE(id_set.contains(id)) << id;
  }
  for (const char* id : {"bm_seq_read_qd4/direct/sync/hot", "bm_rand_read_qd16/direct/sync/thrash",
                         "bm_seq_read_adaptive/direct/sync/hot", "bm_rand_read_adaptive/direct/worker/hot"}) {
    EXPECT_FALSE(id_set.contains(id)) << id;
  }
}

TEST(PlanSuiteTest, BmCellsCarryRegimePolicyAndTheirBmSpec) {
  const SuiteConfig config = BmConfig();
  const TableShape shape = BmTableShape(config);
  for (const CellPlan& cell : Plan(config)) {
    const CellRecord& r = cell.record;
    SCOPED_TRACE(r.id);
    ASSERT_TRUE(cell.bm.has_value());
    const BmSpec& bm = *cell.bm;
    EXPECT_EQ(r.suite, "bm");
    EXPECT_EQ(r.id, r.workload + "/" + r.mode + "/" + r.backend + "/" + r.regime);
    EXPECT_EQ(r.regime, RegimeName(bm.regime));
    EXPECT_EQ(r.bs, 8192u);
    const bool adaptive = r.workload.ends_with("_adaptive");
    const bool sync = r.backend == "sync";
    EXPECT_FALSE(adaptive && sync) << "the sync path has no read-ahead to adapt";
    EXPECT_EQ(r.policy, sync ? "sync" : adaptive ? "adaptive" : "fixed");
    EXPECT_EQ(bm.policy, adaptive ? ReadStreamPolicy::kAdaptive : ReadStreamPolicy::kFixed);
    EXPECT_EQ(bm.sync_path, sync);
    EXPECT_EQ(cell.spec.sync_path, sync);
    if (sync) {
      EXPECT_EQ(r.qd, 1u) << "the sync path reads one page at a time";
    } else {
      EXPECT_EQ(BackendName(bm.queue.backend), r.backend);
    }
    if (adaptive) {
      EXPECT_EQ(r.qd, 16u) << "adaptive runs up to the largest depth";
    } else {
      EXPECT_EQ(r.workload, (bm.random ? "bm_rand_read_qd" : "bm_seq_read_qd") + std::to_string(r.qd));
    }
    EXPECT_EQ(bm.distance, r.qd);
    EXPECT_EQ(r.rw, bm.random ? "randread" : "read");
    EXPECT_EQ(bm.cache, r.mode == "direct" ? CacheMode::kDirect : CacheMode::kBuffered);
    EXPECT_EQ(bm.table_path, config.filename);
    EXPECT_EQ(bm.shape.rows, shape.rows);
    EXPECT_EQ(bm.shape.seed, shape.seed);
    EXPECT_EQ(bm.shape.page_size, shape.page_size);
    EXPECT_EQ(bm.memory_bytes, config.memory_bytes);
    EXPECT_EQ(bm.io_combine_bytes, config.io_combine_bytes);
    EXPECT_EQ(bm.runtime_ns, config.runtime_ns);
    EXPECT_EQ(bm.ramp_ns, config.ramp_ns);
    // The cache state is set over the working set, which the table always holds.
    EXPECT_EQ(cell.spec.size_bytes, BmWorkingSetPages(bm) * 8192);
    EXPECT_LE(BmWorkingSetPages(bm), TablePageCount(shape));
  }
}

TEST(PlanSuiteTest, BmWithoutAdaptiveHasNoAdaptiveCells) {
  SuiteConfig config = BmConfig();
  config.adaptive = false;
  const std::vector<CellPlan> cells = Plan(config);
  EXPECT_EQ(cells.size(), 2u * 3u * (3u + 2u * 2u) * 2u);
  for (const CellPlan& cell : cells) {
    EXPECT_EQ(cell.record.id.find("adaptive"), std::string::npos) << cell.record.id;
    EXPECT_NE(cell.record.policy, "adaptive") << cell.record.id;
  }
}

TEST(PlanSuiteTest, BmRegimesListedTwiceOrNotAtAllAreRefused) {
  SuiteConfig config = BmConfig();
  config.regimes = {Regime::kHot, Regime::kThrash, Regime::kHot};
  ExpectInvalid(config, {"--regimes"});
  config.regimes.clear();
  ExpectInvalid(config, {"--regimes"});
  config.regimes = {Regime::kThrash};
  const std::vector<CellPlan> cells = Plan(config);
  EXPECT_EQ(cells.size(), 2u * (3u + 2u * 2u) * 2u + 2u * 2u);
  for (const CellPlan& cell : cells) EXPECT_EQ(cell.record.regime, "thrash") << cell.record.id;
}

TEST(PlanSuiteTest, BmTableHoldsFourTimesTheMemoryWhicheverRegimesRun) {
  SuiteConfig config = BmConfig();
  config.seed = 99;
  for (const std::vector<Regime>& regimes :
       {std::vector<Regime>{Regime::kHot}, std::vector<Regime>{Regime::kPressure}, std::vector<Regime>{Regime::kThrash},
        std::vector<Regime>{Regime::kHot, Regime::kPressure}}) {
    config.regimes = regimes;
    const TableShape shape = BmTableShape(config);
    EXPECT_EQ(TablePageCount(shape), 4u * 128u) << regimes.size();
    EXPECT_EQ(shape.rows % TableRowsPerPage(shape), 0u) << "every page full";
    EXPECT_EQ(shape.page_size, PageSize::k8KiB);
    EXPECT_EQ(shape.seed, 99u);
  }
  config.page_size = PageSize::k4KiB;
  EXPECT_EQ(TablePageCount(BmTableShape(config)), 4u * 256u);
  config.memory_bytes = 100 << 10;  // 25 pages of 4 KiB.
  EXPECT_EQ(TablePageCount(BmTableShape(config)), 100u);
}

class RunBmSuiteTest : public RunSuiteTest {
 protected:
  // M = 512 KiB (64 frames of 8 KiB), a 2 MiB table, 20 ms runs, 2 repetitions. No
  // ramp: the window is open before the first fetch, so each run counts at least one
  // fetch however slow the machine (a fetch straddling the end of a ramp delays the
  // window's opening, and one longer than the whole run would leave it empty).
  SuiteConfig BmTinyConfig() const {
    SuiteConfig config;
    config.suite = "bm";
    config.filename = dir_.File("bm.tbl");
    config.memory_bytes = 512 << 10;
    config.page_size = PageSize::k8KiB;
    config.regimes = {Regime::kThrash};
    config.depths = {1, 4};
    config.backends = {ProbeIoUring().ok() ? Backend::kIoUring : Backend::kWorker, Backend::kSync};
    config.modes = {CacheMode::kBuffered, CacheMode::kDirect};
    config.runtime_ns = 20'000'000;
    config.ramp_ns = 0;
    config.repetitions = 2;
    config.verify = true;
    config.command_line = "iodepth suite bm --memory=512k";
    return config;
  }

  // The file's identity and last modification, to tell a reused file from a rewritten one.
  static std::pair<ino_t, timespec> FileStamp(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return {st.st_ino, st.st_mtim};
  }
  static bool SameStamp(const std::pair<ino_t, timespec>& a, const std::pair<ino_t, timespec>& b) {
    return a.first == b.first && a.second.tv_sec == b.second.tv_sec && a.second.tv_nsec == b.second.tv_nsec;
  }
};

TEST_F(RunBmSuiteTest, EveryCellWritesABufferRecordForEveryRepetition) {
  const SuiteConfig config = BmTinyConfig();
  const std::vector<std::string> planned = Ids(Plan(config));
  // Per workload: qd1 on both backends, qd4 on the stream backend; 2 modes; plus the
  // sequential adaptive cell in 2 modes.
  ASSERT_EQ(planned.size(), 2u * 3u * 2u + 2u);
  RecordingObserver observer;
  ASSERT_OK_AND_ASSIGN(const ResultsDocument document, RunSuite(config, &observer));
  EXPECT_TRUE(observer.unsupported.empty());
  EXPECT_EQ(observer.runs.size(), planned.size() * 2);
  // The suite loaded the table it needs: 4 M of pages, every value as the shape says.
  const TableShape shape = BmTableShape(config);
  EXPECT_EQ(TablePageCount(shape), 256u);
  EXPECT_OK(VerifyHeapTable(config.filename, shape));

  EXPECT_EQ(document.config["suite"], "bm");
  EXPECT_EQ(document.config["regimes"], nlohmann::json({"thrash"}));
  EXPECT_EQ(document.config["memory"], config.memory_bytes);
  ASSERT_EQ(Ids(Plan(config)), planned);
  ASSERT_EQ(document.cells.size(), planned.size());
  for (size_t i = 0; i < document.cells.size(); ++i) {
    const CellRecord& cell = document.cells[i];
    SCOPED_TRACE(cell.id);
    EXPECT_EQ(cell.id, planned[i]);
    EXPECT_EQ(cell.status, "ok");
    EXPECT_EQ(cell.regime, "thrash");
    ASSERT_EQ(cell.repetitions.size(), 2u);
    for (const RepetitionRecord& r : cell.repetitions) {
      ASSERT_TRUE(r.buffer.has_value());
      const BufferRecord& b = *r.buffer;
      EXPECT_EQ(b.memory_bytes, config.memory_bytes);
      EXPECT_EQ(b.working_set_bytes, 4 * config.memory_bytes);
      EXPECT_EQ(b.page_bytes, 8192u);
      EXPECT_GT(b.fetches, 0u);
      EXPECT_EQ(b.fetches, r.total_ios);
      EXPECT_EQ(r.io_bytes, b.fetches * 8192);
      EXPECT_GT(b.misses, 0u) << "W = 4 M cannot be resident";
      EXPECT_EQ(b.read_bytes, b.misses * 8192);
      uint64_t reads = 0, pages = 0;
      for (const auto& [size, count] : b.reads_by_pages) {
        reads += count;
        pages += std::stoull(size) * count;
      }
      EXPECT_EQ(reads, b.reads);
      EXPECT_EQ(pages, b.misses);
      if (cell.workload.starts_with("bm_seq")) {
        EXPECT_EQ(b.hits, 0u) << "a scan of 4 M never finds its page still resident";
      }
      EXPECT_EQ(r.resident_before < 0, cell.mode == "direct");
    }
    ASSERT_TRUE(cell.median.buffer.has_value());
    EXPECT_GT(cell.median.buffer->reads_per_s, 0);
  }
  const nlohmann::json json = ToJson(document);
  ASSERT_OK_AND_ASSIGN(const ResultsDocument parsed, ParseResults(nlohmann::json::parse(json.dump())));
  EXPECT_EQ(ToJson(parsed), json);
}

TEST(PlanSuiteTest, WriteHasWalCommitPerSyncMethodRandRwPerRegimeAndCheckpoints) {
  SuiteConfig config;
  config.suite = "write";
  config.filename = "/var/tmp/rw.tbl";
  config.depths = {1, 4};
  config.backends = {Backend::kWorker, Backend::kSync};
  config.regimes = {Regime::kPressure};
  const std::vector<CellPlan> cells = Plan(config);
  ExpectUniqueIds(cells);
  const std::vector<std::string> ids = Ids(cells);
  auto has = [&](const std::string& id) { return std::find(ids.begin(), ids.end(), id) != ids.end(); };
  EXPECT_TRUE(has("wal_commit_qd4/buffered/worker/fdatasync"));
  EXPECT_TRUE(has("wal_commit_qd4/direct/worker/dsync"));
  EXPECT_TRUE(has("wal_commit_qd4/direct/sync/fdatasync")) << "committers are threads of their own";
  EXPECT_FALSE(has("wal_commit_qd4/buffered/worker/dsync")) << "dsync is the direct path's";
  EXPECT_TRUE(has("bm_rand_rw_qd4/direct/worker/pressure"));
  EXPECT_TRUE(has("bm_rand_rw_qd1/buffered/sync/pressure"));
  EXPECT_FALSE(has("bm_rand_rw_qd4/direct/sync/pressure"));
  EXPECT_TRUE(has("checkpoint_qd4/direct/worker"));
  EXPECT_FALSE(has("checkpoint_qd4/direct/sync"));
  // 2 depths x 2 backends x (buffered 1 + direct 2) wal cells; rand_rw and checkpoint 3 x 2 each.
  EXPECT_EQ(cells.size(), 12u + 6u + 6u);
  for (const CellPlan& cell : cells) {
    SCOPED_TRACE(cell.record.id);
    EXPECT_EQ(cell.record.suite, "write");
    if (cell.record.workload.starts_with("bm_rand_rw")) {
      ASSERT_TRUE(cell.bm.has_value());
      EXPECT_EQ(cell.bm->update_fraction, config.update_fraction);
      EXPECT_EQ(cell.bm->writeback_depth, config.writeback_depth);
      EXPECT_TRUE(cell.bm->random);
      EXPECT_EQ(cell.record.rw, "randrw");
    } else if (cell.record.workload.starts_with("wal_commit")) {
      ASSERT_TRUE(cell.wal.has_value());
      EXPECT_EQ(cell.wal->committers, cell.record.qd);
      EXPECT_EQ(cell.wal->parent, "/var/tmp");
      EXPECT_EQ(cell.wal_sync, cell.record.policy);
    } else {
      ASSERT_TRUE(cell.checkpoint.has_value());
      EXPECT_EQ(cell.checkpoint->depth, cell.record.qd);
      EXPECT_EQ(cell.checkpoint->table_path, config.filename);
    }
  }
}

TEST(PlanSuiteTest, WriteRefusesDontcacheAndAnUpdateFractionOutsideItsRange) {
  SuiteConfig config;
  config.suite = "write";
  config.filename = "/var/tmp/rw.tbl";
  config.modes = {CacheMode::kDontcache};
  EXPECT_NE(PlanSuite(config).error().message().find("dontcache"), std::string::npos);
  config.modes = {CacheMode::kDirect};
  for (const double fraction : {0.0, 1.5, -0.1}) {
    config.update_fraction = fraction;
    const auto planned = PlanSuite(config);
    ASSERT_FALSE(planned.has_value()) << fraction;
    EXPECT_NE(planned.error().message().find("--update-fraction"), std::string::npos) << planned.error().message();
  }
}

TEST_F(RunBmSuiteTest, WriteSuiteMeasuresEveryCellAndMarksItsTableSoReadSuitesReloadIt) {
  SuiteConfig config = BmTinyConfig();
  config.suite = "write";
  config.filename = dir_.File("rw.tbl");
  config.depths = {2};
  config.backends = {Backend::kWorker};
  config.repetitions = 1;
  config.runtime_ns = 50'000'000;
  config.update_fraction = 0.3;
  ASSERT_OK_AND_ASSIGN(const ResultsDocument document, RunSuite(config, nullptr));
  ASSERT_EQ(document.cells.size(), 3u + 2u + 2u);
  for (const CellRecord& cell : document.cells) {
    SCOPED_TRACE(cell.id);
    EXPECT_EQ(cell.status, "ok") << cell.reason;
    ASSERT_EQ(cell.repetitions.size(), 1u);
    const RepetitionRecord& r = cell.repetitions[0];
    ASSERT_TRUE(r.write.has_value());
    // How much fits in the window depends on the machine: only the bookkeeping is checked.
    if (cell.workload.starts_with("wal_commit")) {
      EXPECT_EQ(r.write->sync, cell.policy);
      if (r.total_ios > 0) EXPECT_GE(r.write->commits_per_flush, 1.0);
    } else if (cell.workload.starts_with("bm_rand_rw")) {
      EXPECT_GT(r.total_ios, 0u) << "the window is open before the first fetch";
      EXPECT_LE(r.write->updates, r.total_ios);
      EXPECT_EQ(r.write->pages_written, r.write->background_writebacks + r.write->evictor_writebacks);
      EXPECT_EQ(r.write->writeback_depth, config.writeback_depth);
    } else {
      EXPECT_EQ(r.write->pages_written, r.total_ios);
      EXPECT_LE(r.total_ios, r.write->checkpoints * r.write->dirty_pages);
    }
  }
  // The log directories were removed; the table is marked and still checks.
  size_t entries = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
    EXPECT_FALSE(entry.path().filename().string().starts_with("iodepth-wal-")) << entry.path();
    ++entries;
  }
  EXPECT_GE(entries, 1u);
  ASSERT_OK(VerifyHeapTable(config.filename, BmTableShape(config)));
  EXPECT_FALSE(ReadTableShape(config.filename).has_value()) << "the write suite's table is not marked";
  ASSERT_OK_AND_ASSIGN(const bool reusable, HeapTableMatches(config.filename, BmTableShape(config)));
  EXPECT_FALSE(reusable) << "a read suite would measure an updated table as a loaded one";
  // A second write run reuses its updated table.
  ASSERT_OK(RunSuite(config, nullptr));
}

TEST_F(RunBmSuiteTest, SecondRunReusesTheTableWhicheverRegimeItRuns) {
  SuiteConfig config = BmTinyConfig();
  config.only = {"bm_seq_read_qd1/direct/sync"};
  config.repetitions = 1;
  ASSERT_OK(RunSuite(config, nullptr));
  const auto loaded = FileStamp(config.filename);
  // Another regime needs no other table: BmTableShape does not depend on the regimes.
  config.regimes = {Regime::kHot};
  RecordingObserver observer;
  ASSERT_OK(RunSuite(config, &observer));
  EXPECT_EQ(observer.runs.size(), 1u);
  EXPECT_TRUE(SameStamp(FileStamp(config.filename), loaded)) << "the table was rewritten";
}

// A user's table of another shape (issue: `load --seed=7 --columns=6`, then `suite bm` on
// it replaced it) is refused, naming both shapes, and replaced only with overwrite_table.
TEST_F(RunBmSuiteTest, TableOfAnotherShapeIsReplacedOnlyWithOverwrite) {
  SuiteConfig config = BmTinyConfig();
  config.only = {"bm_seq_read_qd1/direct/sync"};
  config.repetitions = 1;
  ASSERT_OK(RunSuite(config, nullptr));
  const TableShape first = BmTableShape(config);
  const std::vector<unsigned char> before = testutil::ReadFileBytes(config.filename);
  for (const std::string_view change : {"seed", "memory"}) {
    SCOPED_TRACE(std::string(change));
    SuiteConfig other = config;
    if (change == "seed") other.seed += 1;
    if (change == "memory") other.memory_bytes *= 2;  // A larger table.
    RecordingObserver observer;
    const Result<ResultsDocument> refused = RunSuite(other, &observer);
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(refused.error().message().find(DescribeTableShape(first)), std::string::npos)
        << refused.error().message();
    EXPECT_NE(refused.error().message().find(DescribeTableShape(BmTableShape(other))), std::string::npos)
        << refused.error().message();
    EXPECT_TRUE(observer.runs.empty());
    EXPECT_EQ(testutil::ReadFileBytes(config.filename), before) << "the table is untouched";
    other.overwrite_table = true;
    ASSERT_OK(RunSuite(other, nullptr));
    EXPECT_OK(VerifyHeapTable(other.filename, BmTableShape(other)));
    config.overwrite_table = true;
    ASSERT_OK(RunSuite(config, nullptr));  // Back to the first shape for the next change.
    config.overwrite_table = false;
  }
}

TEST_F(RunBmSuiteTest, FileNotMadeByIodepthIsRefusedAndLeftAlone) {
  const SuiteConfig config = BmTinyConfig();
  const std::vector<unsigned char> content(64 << 10, 0x5A);
  testutil::WriteFileBytes(config.filename, content);
  RecordingObserver observer;
  const Result<ResultsDocument> document = RunSuite(config, &observer);
  ASSERT_FALSE(document.has_value());
  EXPECT_EQ(document.error().code(), StatusCode::kFailedPrecondition) << document.error().ToString();
  EXPECT_NE(document.error().message().find(config.filename), std::string::npos) << document.error().ToString();
  EXPECT_EQ(observer.starts, 0);
  EXPECT_TRUE(observer.runs.empty());
  EXPECT_EQ(testutil::ReadFileBytes(config.filename), content);
}

TEST_F(RunBmSuiteTest, CorruptedTablePageStopsTheSuiteWithTheCellAndPage) {
  // Reuse samples only the first, middle and last pages (HeapTableMatches), so damage
  // elsewhere is found by the buffer manager's checksum when the scan reads the page.
  SuiteConfig config = BmTinyConfig();
  config.only = {"bm_seq_read_qd4/direct"};
  config.repetitions = 1;
  ASSERT_OK(RunSuite(config, nullptr));
  constexpr uint64_t kBadPage = 37;
  testutil::FlipBytes(config.filename, kBadPage * 8192 + 100, 1);
  config.verify = false;  // The pool's check, not the job's value checks.
  // The error ends the run; the long runtime makes sure the scan gets to the bad page
  // however slow the machine.
  config.runtime_ns = 30'000'000'000;
  const Result<ResultsDocument> document = RunSuite(config, nullptr);
  ASSERT_FALSE(document.has_value());
  EXPECT_EQ(document.error().code(), StatusCode::kCorruption) << document.error().ToString();
  EXPECT_NE(document.error().message().find(Ids(Plan(config)).front()), std::string::npos)
      << document.error().ToString();
  EXPECT_NE(document.error().message().find("page " + std::to_string(kBadPage) + " "), std::string::npos)
      << document.error().ToString();
}

// ---- The scan suite ----

SuiteConfig ScanConfig() {
  SuiteConfig config;
  config.suite = "scan";
  config.filename = "unused-by-planning.tbl";
  config.memory_bytes = 1 << 20;
  config.page_size = PageSize::k8KiB;
  config.regimes = {Regime::kHot, Regime::kPressure, Regime::kThrash};
  config.depths = {1, 4, 16};
  config.backends = {Backend::kIoUring, Backend::kWorker, Backend::kSync};
  config.modes = {CacheMode::kBuffered, CacheMode::kDirect};
  config.streams = 4;
  return config;
}

TEST(PlanSuiteTest, ScanHasEveryRegimeDepthBackendAndModeWithSyncOnlyAtDepthOne) {
  const std::vector<CellPlan> cells = Plan(ScanConfig());
  // Per regime: depths 1, 4 and 16 x 2 stream backends + sync at depth 1, each in 2
  // modes. No adaptive cells: the scans keep a fixed distance.
  EXPECT_EQ(cells.size(), 3u * (3u * 2u + 1u) * 2u);
  ExpectUniqueIds(cells);
  const std::vector<std::string> ids = Ids(cells);
  const std::set<std::string> id_set(ids.begin(), ids.end());
  for (const char* id : {"multistream_scan_qd1/direct/sync/hot", "multistream_scan_qd1/buffered/sync/thrash",
                         "multistream_scan_qd1/buffered/io_uring/hot", "multistream_scan_qd4/direct/worker/pressure",
                         "multistream_scan_qd16/buffered/io_uring/thrash", "multistream_scan_qd16/direct/worker/hot"}) {
    EXPECT_TRUE(id_set.contains(id)) << id;
  }
  for (const char* id : {"multistream_scan_qd4/direct/sync/hot", "multistream_scan_qd16/buffered/sync/thrash",
                         "multistream_scan_adaptive/direct/worker/hot", "multistream_scan_qd1/direct/syncpath/hot"}) {
    EXPECT_FALSE(id_set.contains(id)) << id;
  }
}

TEST(PlanSuiteTest, ScanCellsCarryPolicyDepthAndTheirScanSpec) {
  // The depth asked of the device is S x qd: every scan keeps qd reads in flight.
  for (const uint32_t streams : {1u, 4u, kMaxScanStreams}) {
    SCOPED_TRACE(std::to_string(streams) + " streams");
    SuiteConfig config = ScanConfig();
    config.streams = streams;
    config.work = 7;
    const TableShape shape = BmTableShape(config);
    for (const CellPlan& cell : Plan(config)) {
      const CellRecord& r = cell.record;
      SCOPED_TRACE(r.id);
      ASSERT_TRUE(cell.scan.has_value());
      EXPECT_FALSE(cell.bm.has_value());
      const ScanJobSpec& scan = *cell.scan;
      const bool sync = r.backend == "sync";
      EXPECT_EQ(r.suite, "scan");
      EXPECT_EQ(r.workload, "multistream_scan_qd" + std::to_string(r.qd));
      EXPECT_EQ(r.id, r.workload + "/" + r.mode + "/" + r.backend + "/" + r.regime);
      EXPECT_EQ(r.rw, "read");
      EXPECT_EQ(r.bs, 8192u);
      EXPECT_EQ(r.regime, RegimeName(scan.regime));
      EXPECT_EQ(r.policy, sync ? "sync" : "fixed");
      EXPECT_EQ(scan.mode, sync ? ScanMode::kSync : ScanMode::kPipelined);
      EXPECT_EQ(scan.policy, ReadStreamPolicy::kFixed);
      if (sync) {
        EXPECT_EQ(r.qd, 1u) << "sync scans read one page at a time";
      } else {
        EXPECT_EQ(BackendName(scan.queue.backend), r.backend);
      }
      EXPECT_EQ(scan.distance, r.qd);
      EXPECT_EQ(scan.streams, streams);
      EXPECT_EQ(cell.spec.queue.depth, r.qd * streams);
      EXPECT_FALSE(cell.spec.sync_path);
      EXPECT_EQ(scan.cache, r.mode == "direct" ? CacheMode::kDirect : CacheMode::kBuffered);
      EXPECT_EQ(scan.table_path, config.filename);
      EXPECT_EQ(scan.shape.rows, shape.rows);
      EXPECT_EQ(scan.shape.seed, shape.seed);
      EXPECT_EQ(scan.shape.page_size, shape.page_size);
      EXPECT_EQ(scan.memory_bytes, config.memory_bytes);
      EXPECT_EQ(scan.io_combine_bytes, config.io_combine_bytes);
      EXPECT_EQ(scan.runtime_ns, config.runtime_ns);
      EXPECT_EQ(scan.ramp_ns, config.ramp_ns);
      ASSERT_TRUE(scan.query.where.has_value());
      EXPECT_EQ(scan.query.where->work, 7u);
      EXPECT_EQ(scan.query.aggs, DefaultScanQuery(7).aggs);
      // The cache state is set over the working set, which the table always holds.
      BmSpec sizing;
      sizing.shape = scan.shape;
      sizing.regime = scan.regime;
      sizing.memory_bytes = scan.memory_bytes;
      EXPECT_EQ(cell.spec.size_bytes, BmWorkingSetPages(sizing) * 8192);
      EXPECT_LE(BmWorkingSetPages(sizing), TablePageCount(shape));
    }
  }
}

TEST(PlanSuiteTest, ScanStreamsOutOfRangeAreRefused) {
  SuiteConfig config = ScanConfig();
  config.streams = 0;
  ExpectInvalid(config, {"--streams=0", "1.." + std::to_string(kMaxScanStreams)});
  config.streams = kMaxScanStreams + 1;
  ExpectInvalid(config, {"--streams=" + std::to_string(kMaxScanStreams + 1)});
  config.streams = kMaxScanStreams;
  EXPECT_FALSE(Plan(config).empty());
  // --streams means nothing to the other suites.
  SuiteConfig qd = QdConfig();
  qd.streams = 0;
  EXPECT_FALSE(Plan(qd).empty());
}

TEST(PlanSuiteTest, ScanStreamsOutOfRangeMessageReadsAsBefore) {
  SuiteConfig config = ScanConfig();
  config.streams = 0;
  const Result<std::vector<CellPlan>> cells = PlanSuite(config);
  ASSERT_FALSE(cells.has_value());
  EXPECT_EQ(cells.error().message(), fmt::format("--streams=0 is out of range 1..{}", kMaxScanStreams));
}

TEST(PlanSuiteTest, ScanRegimesListedTwiceOrNotAtAllAreRefused) {
  SuiteConfig config = ScanConfig();
  config.regimes = {Regime::kThrash, Regime::kThrash};
  ExpectInvalid(config, {"--regimes"});
  config.regimes.clear();
  ExpectInvalid(config, {"--regimes"});
}

class RunScanSuiteTest : public RunSuiteTest {
 protected:
  // M = 256 KiB (32 frames of 8 KiB), a 1 MiB table, 2 scans, 20 ms runs, 2 repetitions,
  // no ramp (the window is open before each scan's first page).
  SuiteConfig ScanTinyConfig() const {
    SuiteConfig config;
    config.suite = "scan";
    config.filename = dir_.File("scan.tbl");
    config.memory_bytes = 256 << 10;
    config.page_size = PageSize::k8KiB;
    config.regimes = {Regime::kHot, Regime::kThrash};
    config.depths = {1, 4};
    config.backends = {ProbeIoUring().ok() ? Backend::kIoUring : Backend::kWorker, Backend::kSync};
    config.modes = {CacheMode::kBuffered, CacheMode::kDirect};
    config.streams = 2;
    config.runtime_ns = 20'000'000;
    config.ramp_ns = 0;
    config.repetitions = 2;
    config.command_line = "iodepth suite scan --memory=256k --streams=2";
    return config;
  }
};

TEST_F(RunScanSuiteTest, EveryCellWritesScanAndBufferRecordsForEveryRepetition) {
  const SuiteConfig config = ScanTinyConfig();
  const std::vector<std::string> planned = Ids(Plan(config));
  // Per regime: qd1 on both backends, qd4 on the stream backend; 2 modes.
  ASSERT_EQ(planned.size(), 2u * 3u * 2u);
  RecordingObserver observer;
  ASSERT_OK_AND_ASSIGN(const ResultsDocument document, RunSuite(config, &observer));
  EXPECT_TRUE(observer.unsupported.empty());
  EXPECT_EQ(observer.runs.size(), planned.size() * 2);
  const TableShape shape = BmTableShape(config);
  EXPECT_EQ(TablePageCount(shape), 128u);
  EXPECT_OK(VerifyHeapTable(config.filename, shape));

  EXPECT_EQ(document.config["suite"], "scan");
  EXPECT_EQ(document.config["streams"], 2);
  EXPECT_EQ(document.config["memory"], config.memory_bytes);
  ASSERT_EQ(document.cells.size(), planned.size());
  for (size_t i = 0; i < document.cells.size(); ++i) {
    const CellRecord& cell = document.cells[i];
    SCOPED_TRACE(cell.id);
    EXPECT_EQ(cell.id, planned[i]);
    EXPECT_EQ(cell.status, "ok");
    EXPECT_EQ(cell.suite, "scan");
    ASSERT_EQ(cell.repetitions.size(), 2u);
    const bool hot = cell.regime == "hot";
    for (const RepetitionRecord& r : cell.repetitions) {
      ASSERT_TRUE(r.buffer.has_value());
      ASSERT_TRUE(r.scan.has_value());
      const BufferRecord& b = *r.buffer;
      const ScanRecord& scan = *r.scan;
      EXPECT_EQ(scan.streams, 2u);
      EXPECT_EQ(scan.stream_bw_bytes.size(), 2u);
      EXPECT_GT(scan.rows, 0u);
      EXPECT_GT(scan.rows_per_s, 0.0);
      // Every page of the table is full: a page taken is a page of rows.
      EXPECT_EQ(scan.rows, r.total_ios * TableRowsPerPage(shape));
      EXPECT_EQ(r.depth.target, cell.qd * 2) << "two scans of qd each";
      EXPECT_EQ(b.memory_bytes, config.memory_bytes);
      EXPECT_EQ(b.working_set_bytes, (hot ? 1 : 8) * config.memory_bytes / 2);
      EXPECT_EQ(b.page_bytes, 8192u);
      EXPECT_GT(b.fetches, 0u);
      EXPECT_EQ(b.fetches, r.total_ios);
      EXPECT_EQ(r.io_bytes, b.fetches * 8192);
      EXPECT_EQ(b.read_bytes, b.misses * 8192);
      if (hot) {
        EXPECT_EQ(b.misses, 0u);
        EXPECT_EQ(b.hit_ratio, 1.0);
      } else {
        EXPECT_GT(b.misses, 0u) << "W = 4 M cannot be resident";
      }
      EXPECT_EQ(r.resident_before < 0, cell.mode == "direct");
    }
    ASSERT_TRUE(cell.median.scan.has_value());
    EXPECT_GT(cell.median.scan->rows_per_s, 0.0);
    ASSERT_TRUE(cell.median.buffer.has_value());
    if (hot) {
      EXPECT_EQ(std::count(cell.flags.begin(), cell.flags.end(), "depth_short"), 0)
          << "a hot cell has no depth to keep";
    }
  }
  const nlohmann::json json = ToJson(document);
  ASSERT_OK_AND_ASSIGN(const ResultsDocument parsed, ParseResults(nlohmann::json::parse(json.dump())));
  EXPECT_EQ(ToJson(parsed), json);
  ASSERT_EQ(parsed.cells.size(), document.cells.size());
  ASSERT_TRUE(parsed.cells[0].repetitions[0].scan.has_value());
  EXPECT_EQ(parsed.cells[0].repetitions[0].scan->rows, document.cells[0].repetitions[0].scan->rows);
}

TEST_F(RunScanSuiteTest, CorruptedTablePageStopsTheSuiteWithTheCellAndPage) {
  // Reuse samples only the first, middle and last pages (HeapTableMatches), so damage
  // elsewhere is found by the buffer manager's checksum when a scan reads the page.
  SuiteConfig config = ScanTinyConfig();
  config.regimes = {Regime::kThrash};
  config.only = {"multistream_scan_qd4/direct"};
  config.repetitions = 1;
  ASSERT_OK(RunSuite(config, nullptr));
  constexpr uint64_t kBadPage = 37;  // In scan 0's share [0, 64).
  testutil::FlipBytes(config.filename, kBadPage * 8192 + 100, 1);
  // The scan meets the page within its first pass; a failed scan does not end the run
  // early (RunScanJob sleeps out the runtime), so this is no longer than it must be.
  config.runtime_ns = 2'000'000'000;
  const Result<ResultsDocument> document = RunSuite(config, nullptr);
  ASSERT_FALSE(document.has_value());
  EXPECT_EQ(document.error().code(), StatusCode::kCorruption) << document.error().ToString();
  EXPECT_NE(document.error().message().find(Ids(Plan(config)).front()), std::string::npos)
      << document.error().ToString();
  EXPECT_NE(document.error().message().find("page " + std::to_string(kBadPage) + " "), std::string::npos)
      << document.error().ToString();
  EXPECT_NE(document.error().message().find("scan 0"), std::string::npos) << document.error().ToString();
}

// ---- The shared checks ----

TEST(ChecksTest, RejectRepeatsNamesWhatAndBothEntries) {
  EXPECT_OK(RejectRepeats(std::vector<uint32_t>{1, 4, 16}, "--depths"));
  EXPECT_OK(RejectRepeats(std::vector<uint32_t>{}, "--depths"));
  const Status status = RejectRepeats(std::vector<uint32_t>{1, 4, 16, 4}, "--depths");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "--depths lists a value twice (entry 2 and 4); list each once");
}

TEST(ChecksTest, RejectOutOfRangeAcceptsBothBounds) {
  EXPECT_OK(RejectOutOfRange(uint32_t{1}, 1, 64, "--streams="));
  EXPECT_OK(RejectOutOfRange(uint32_t{64}, 1, 64, "--streams="));
  EXPECT_OK(RejectOutOfRange(std::vector<uint32_t>{1, 32, 64}, 1, 64, "--depths: "));
  EXPECT_OK(RejectOutOfRange(std::vector<uint32_t>{}, 1, 64, "--depths: "));
}

TEST(ChecksTest, RejectOutOfRangeWritesTheLeadThenTheValueAndTheBounds) {
  const Status below = RejectOutOfRange(uint32_t{0}, 1, 64, "--streams=");
  EXPECT_EQ(below.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(below.message(), "--streams=0 is out of range 1..64");
  EXPECT_EQ(RejectOutOfRange(uint32_t{65}, 1, 64, "\"streams\" ").message(), "\"streams\" 65 is out of range 1..64");
}

TEST(ChecksTest, RejectOutOfRangeOfAListNamesTheFirstValueOutside) {
  const Status status = RejectOutOfRange(std::vector<uint32_t>{4, 0, 100}, 1, 64, "\"depths\": queue depth ");
  EXPECT_EQ(status.message(), "\"depths\": queue depth 0 is out of range 1..64");
}

}  // namespace
}  // namespace iodepth
