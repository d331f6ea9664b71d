// The matrix: config parsing and its errors, the plan's units, the journal (resume, torn
// lines, fingerprints) and whole small runs that are stopped part way and resumed.
#include "experiment/matrix.h"
#include "experiment/journal_fill.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "fake_cgroup.h"
#include "testutil/status_macros.h"
#include "testutil/temp_dir.h"

namespace iodepth {
namespace {

using testutil::ReadText;
using testutil::TempDir;
using testutil::WriteText;

Status ParseError(const nlohmann::json& json) {
  Result<MatrixConfig> parsed = ParseMatrixConfig(json, DefaultMatrixConfig(), "test.json");
  if (parsed.has_value()) return ValidateMatrixConfig(*parsed);
  return parsed.error();
}

void ExpectErrorNaming(const nlohmann::json& json, const std::vector<std::string>& texts) {
  const Status error = ParseError(json);
  ASSERT_FALSE(error.ok()) << json.dump();
  EXPECT_EQ(error.code(), StatusCode::kInvalidArgument) << error.ToString();
  for (const std::string& text : texts) EXPECT_NE(error.message().find(text), std::string::npos) << error.ToString();
}

// ---- config ----

TEST(MatrixConfigTest, DefaultIsValidAndRoundTrips) {
  const MatrixConfig config = DefaultMatrixConfig();
  EXPECT_OK(ValidateMatrixConfig(config));
  const nlohmann::json json = MatrixConfigToJson(config);
  ASSERT_OK_AND_ASSIGN(const MatrixConfig back, ParseMatrixConfig(json, MatrixConfig{}, "round trip"));
  EXPECT_EQ(MatrixConfigToJson(back), json);
  EXPECT_EQ(json["memory_caps"], nlohmann::json::array({"none", "134217728"}));
}

TEST(MatrixConfigTest, KeysReplaceTheBaseAndOthersKeepIt) {
  const nlohmann::json json = {
      {"depths", {2, 8}}, {"runtime", "3s"}, {"memory_caps", {"none", "1GiB"}}, {"_comment", "ignored"}};
  ASSERT_OK_AND_ASSIGN(const MatrixConfig c, ParseMatrixConfig(json, DefaultMatrixConfig(), "t"));
  EXPECT_EQ(c.depths, (std::vector<uint32_t>{2, 8}));
  EXPECT_EQ(c.runtime_ns, 3'000'000'000);
  EXPECT_EQ(c.memory_caps, (std::vector<uint64_t>{0, 1ull << 30}));
  EXPECT_EQ(c.repetitions, DefaultMatrixConfig().repetitions);
}

TEST(MatrixConfigTest, UnknownWorkloadIsNamedWithTheKnownOnes) {
  ExpectErrorNaming({{"workloads", {"seq_read_qd", "seq_scan"}}}, {"\"seq_scan\"", "multistream_scan"});
}

TEST(MatrixConfigTest, QueueDepthZeroIsRefused) { ExpectErrorNaming({{"depths", {1, 0, 4}}}, {"depth 0", "1.."}); }

TEST(MatrixConfigTest, OutOfRangeMessagesReadAsBefore) {
  EXPECT_EQ(
      ParseError({{"depths", {1, IoQueue::kMaxDepth + 1}}}).message(),
      fmt::format("\"depths\": queue depth {} is out of range 1..{}", IoQueue::kMaxDepth + 1, IoQueue::kMaxDepth));
  EXPECT_EQ(ParseError({{"streams", 0}}).message(),
            fmt::format("\"streams\" 0 is out of range 1..{}", kMaxScanStreams));
}

TEST(MatrixConfigTest, CapBelowThePoolAndReserveIsRefusedWithTheNeed) {
  // bm needs its 64 MiB pool plus the reserve, 32 MiB and 1 MiB for the pool's 8 Ki frames:
  // 97 MiB.
  ExpectErrorNaming({{"memory_caps", {"80MiB"}}}, {"80 MiB", "97 MiB", "33 MiB", "64 MiB buffer pool"});
  // Without bm or scan only the reserve counts.
  EXPECT_OK(ParseError({{"memory_caps", {"80MiB"}}, {"workloads", {"seq_read_qd"}}}));
  ExpectErrorNaming({{"memory_caps", {"16MiB"}}, {"workloads", {"seq_read_qd"}}}, {"16 MiB", "32 MiB"});
}

TEST(MatrixConfigTest, MalformedValuesNameTheKey) {
  ExpectErrorNaming({{"runtime", 5}}, {"\"runtime\"", "duration"});
  ExpectErrorNaming({{"memory", "lots"}}, {"\"memory\""});
  ExpectErrorNaming({{"depths", "1,4"}}, {"\"depths\"", "list"});
  ExpectErrorNaming({{"modes", {"direct", "mmap"}}}, {"\"modes\"", "mmap"});
  ExpectErrorNaming({{"regimes", {"warm"}}}, {"\"regimes\"", "warm"});
  ExpectErrorNaming({{"backends", {"auto"}}}, {"\"backends\"", "not auto"});
  ExpectErrorNaming({{"repetition", 3}}, {"\"repetition\"", "unknown key", "repetitions"});
  ExpectErrorNaming({{"depths", {4, 4}}}, {"\"depths\"", "twice"});
  ExpectErrorNaming({{"memory_caps", {"none", "inherit"}}}, {"inherit", "none"});
  ExpectErrorNaming({{"repetitions", 0}}, {"repetitions"});
  ExpectErrorNaming(nlohmann::json::array({1}), {"test.json", "object"});
}

TEST(MatrixConfigTest, FileWithCommentsIsReadAndBadJsonIsNamed) {
  TempDir dir;
  WriteText(dir.File("m.json"), "// the small matrix\n{\"depths\": [1, 32] /* ends */}\n");
  ASSERT_OK_AND_ASSIGN(const MatrixConfig c, ReadMatrixConfigFile(dir.File("m.json"), DefaultMatrixConfig()));
  EXPECT_EQ(c.depths, (std::vector<uint32_t>{1, 32}));
  WriteText(dir.File("bad.json"), "{\"depths\": [1,}");
  const Result<MatrixConfig> bad = ReadMatrixConfigFile(dir.File("bad.json"), DefaultMatrixConfig());
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("bad.json"), std::string::npos) << bad.error().ToString();
}

TEST(MatrixConfigTest, CapFileTagsAreExactSoTwoCapsNeverShareAFile) {
  EXPECT_EQ(CapFileTag(0), "nocap");
  EXPECT_EQ(CapFileTag(kInheritCap), "capinherit");
  EXPECT_EQ(CapFileTag(128ull << 20), "cap128MiB");
  EXPECT_EQ(CapFileTag(2ull << 30), "cap2GiB");
  EXPECT_NE(CapFileTag(1100ull << 20), CapFileTag(1150ull << 20));
  EXPECT_EQ(CapFileTag(1'000'000'000), "cap1000000000");
}

TEST(MatrixConfigTest, FingerprintIgnoresSelectorsButNotMeasurementSettings) {
  MatrixConfig a = DefaultMatrixConfig();
  MatrixConfig b = a;
  b.depths = {1};
  b.workloads = {"io_patterns"};
  b.memory_caps = {0};
  EXPECT_EQ(MatrixFingerprint(a, "d"), MatrixFingerprint(b, "d"));
  EXPECT_NE(MatrixFingerprint(a, "d"), MatrixFingerprint(a, "/mnt/other")) << "another device is another run";
  b.runtime_ns += 1;
  EXPECT_NE(MatrixFingerprint(a, "d"), MatrixFingerprint(b, "d"));
}

TEST(MatrixConfigTest, UringAsyncAndStrategyReachEverySuiteAndTheFingerprint) {
  ASSERT_OK_AND_ASSIGN(const MatrixConfig c,
                       ParseMatrixConfig({{"uring_async", "auto"}, {"strategy", "ring"}}, DefaultMatrixConfig(), "t"));
  EXPECT_EQ(c.uring_async, UringAsync::kAuto);
  EXPECT_EQ(c.scan_strategy, ScanStrategy::kRing);
  const std::vector<MatrixGroup> groups = MatrixGroups(c, "d");
  ASSERT_FALSE(groups.empty());
  for (const MatrixGroup& group : groups) {
    EXPECT_EQ(group.suite.queue.uring_async, UringAsync::kAuto) << group.suite.suite;
    EXPECT_EQ(group.suite.scan_strategy, ScanStrategy::kRing) << group.suite.suite;
  }
  // Another rule measures another thing; at the defaults the fingerprint is the one
  // journals written before these keys existed carry, so they still resume.
  const nlohmann::json defaults = MatrixFingerprint(DefaultMatrixConfig(), "d");
  EXPECT_FALSE(defaults.contains("uring_async"));
  EXPECT_FALSE(defaults.contains("strategy"));
  EXPECT_NE(MatrixFingerprint(c, "d"), defaults);
  ASSERT_OK_AND_ASSIGN(const MatrixConfig back, ParseMatrixConfig(MatrixConfigToJson(c), MatrixConfig{}, "round trip"));
  EXPECT_EQ(back.uring_async, UringAsync::kAuto);
  EXPECT_EQ(back.scan_strategy, ScanStrategy::kRing);
  ExpectErrorNaming({{"uring_async", "sometimes"}}, {"\"uring_async\"", "sometimes"});
  ExpectErrorNaming({{"strategy", 3}}, {"\"strategy\"", "string"});
}

// ---- plan ----

MatrixConfig SmallConfig() {
  MatrixConfig c = DefaultMatrixConfig();
  c.workloads = {"seq_read_qd", "rand_read_qd"};
  c.depths = {1, 4};
  c.backends = {Backend::kIoUring, Backend::kSync};
  c.memory_caps = {0};
  c.memory_ratios = {};
  c.repetitions = 2;
  c.runtime_ns = 20'000'000;
  c.ramp_ns = 0;
  c.file_size_bytes = 4ull << 20;
  return c;
}

// SmallConfig narrowed to one unit: rand_read_qd4 on io_uring, buffered and direct.
MatrixConfig OneRandReadUnit() {
  MatrixConfig config = SmallConfig();
  config.workloads = {"rand_read_qd"};
  config.depths = {4};
  config.backends = {Backend::kIoUring};
  return config;
}

TEST(MatrixPlanTest, UnitsPairTheModesOfOneCellUnderEachCap) {
  MatrixConfig c = SmallConfig();
  c.memory_caps = {0, 64ull << 20};
  ASSERT_OK_AND_ASSIGN(const MatrixPlan plan, PlanMatrix(c, "/data"));
  // 2 workloads x (qd1 io_uring, qd1 sync, qd4 io_uring) x 2 caps.
  ASSERT_EQ(plan.units.size(), 2u * 3u * 2u);
  std::set<std::string> keys;
  for (const MatrixUnit& unit : plan.units) {
    EXPECT_TRUE(keys.insert(unit.key).second) << "duplicate unit " << unit.key;
    ASSERT_EQ(unit.cells.size(), 2u) << unit.key;
    EXPECT_EQ(unit.cells[0].record.mode, "buffered");
    EXPECT_EQ(unit.cells[1].record.mode, "direct");
    EXPECT_EQ(unit.cells[0].record.qd, unit.cells[1].record.qd);
    EXPECT_EQ(unit.cells[0].record.backend, unit.cells[1].record.backend);
    for (const CellPlan& cell : unit.cells) EXPECT_EQ(cell.record.memory_cap, unit.memory_cap);
  }
  EXPECT_TRUE(keys.contains("qd:seq_read_qd4/io_uring@nocap"));
  EXPECT_TRUE(keys.contains("qd:rand_read_qd1/sync@cap67108864"));
  EXPECT_EQ(plan.groups.size(), 1u);
  EXPECT_EQ(plan.groups[0].suite.filename, "/data/qd.dat");
}

TEST(MatrixPlanTest, MemoryAxisRunsTheQdCellsUnderCapsSizedFromTheWorkingSet) {
  MatrixConfig c = SmallConfig();
  c.workloads = {"rand_read_qd", "bm_rand_read"};
  c.memory_caps = {0};
  c.memory_ratios = {0.5, 2, 8};
  c.file_size_bytes = 256ull << 20;
  // W / r, whole MiB, plus the reserve: 512 + 32, 128 + 32, 32 + 32 MiB.
  EXPECT_EQ(MemoryRatioCap(c.file_size_bytes, 0.5), (512ull + 32) << 20);
  EXPECT_EQ(MemoryRatioCap(c.file_size_bytes, 8), (32ull + 32) << 20);
  EXPECT_EQ(MemoryRatioBudget(3ull << 20, 2), 2ull << 20) << "rounded up to a whole MiB";
  // A cell with a pool needs room for the pool's bookkeeping too, per frame.
  EXPECT_EQ(CapReserveBytes(0, 8192), kCapReserveBytes);
  EXPECT_EQ(CapReserveBytes(64ull << 20, 8192), kCapReserveBytes + (1ull << 20)) << "8 Ki frames: 1 MiB, rounded up";
  EXPECT_EQ(CapReserveBytes(4ull << 30, 8192), kCapReserveBytes + (64ull << 20)) << "512 Ki frames x 128 bytes";
  EXPECT_EQ(MemoryRatioCap(c.file_size_bytes, 0.5, 8192), (512ull + 32 + 8) << 20);
  ASSERT_OK_AND_ASSIGN(const MatrixPlan plan, PlanMatrix(c, "/data"));
  std::map<std::string, std::set<uint64_t>> caps_by_suite;
  for (const MatrixUnit& unit : plan.units) caps_by_suite[unit.cells[0].record.suite].insert(unit.memory_cap);
  EXPECT_EQ(caps_by_suite["qd"], (std::set<uint64_t>{0, 544ull << 20, 160ull << 20, 64ull << 20}));
  // bm's working set is its table's, 4 x the 64 MiB pool: the same 256 MiB, the same
  // budgets, and a reserve larger by direct's pool's bookkeeping (128 bytes per frame).
  EXPECT_EQ(caps_by_suite["bm"], (std::set<uint64_t>{0, 552ull << 20, 162ull << 20, 65ull << 20}));
}

// The bm and scan cells of the memory axis: one working set (the table's), and T = W / r of
// memory split as each mode's engine would: direct all in its pool, buffered min(M, T) in
// its pool and the rest to the page cache, under one cap of T + the reserve.
TEST(MatrixPlanTest, MemoryAxisGivesDirectTheWholeBudgetAndBufferedThePoolAndTheCache) {
  MatrixConfig c = SmallConfig();
  c.workloads = {"bm_rand_read", "multistream_scan"};
  c.regimes = {Regime::kHot, Regime::kThrash};
  c.memory_bytes = 16ull << 20;  // M; W = 4 M = 64 MiB.
  c.memory_ratios = {0.5, 8};    // T = 128 MiB and 8 MiB.
  ASSERT_OK_AND_ASSIGN(const MatrixPlan plan, PlanMatrix(c, "/d"));
  std::map<double, size_t> axis_units;
  for (const MatrixUnit& unit : plan.units) {
    if (unit.memory_ratio == 0) {
      EXPECT_EQ(unit.memory_cap, 0u) << unit.key;
      EXPECT_NE(unit.cells[0].record.regime, "memory") << unit.key;
      continue;
    }
    ++axis_units[unit.memory_ratio];
    const uint64_t budget = unit.memory_ratio == 0.5 ? 128ull << 20 : 8ull << 20;
    EXPECT_EQ(unit.memory_cap, budget + CapReserveBytes(budget, 8192)) << unit.key << ": direct's pool holds T";
    EXPECT_NE(unit.key.find("/memory@cap"), std::string::npos) << unit.key;
    ASSERT_EQ(unit.cells.size(), 2u) << unit.key;
    for (const CellPlan& cell : unit.cells) {
      EXPECT_EQ(cell.record.regime, "memory") << cell.record.id;
      EXPECT_TRUE(cell.record.id.ends_with("/memory")) << cell.record.id;
      const bool direct = cell.record.mode == "direct";
      const uint64_t pool = direct ? budget : std::min<uint64_t>(16ull << 20, budget);
      const uint64_t working_set = cell.bm ? cell.bm->working_set_bytes : cell.scan->working_set_bytes;
      EXPECT_EQ(cell.bm ? cell.bm->memory_bytes : cell.scan->memory_bytes, pool) << cell.record.id;
      EXPECT_EQ(working_set, 64ull << 20) << cell.record.id << ": the working set is the table's in both modes";
      EXPECT_EQ(cell.spec.size_bytes, 64ull << 20) << cell.record.id << ": the cache state is set over W";
    }
  }
  // bm_rand_read at qd 1 (io_uring, sync) and qd 4, and the scans the same: 6 units a ratio,
  // whichever regimes the rest of the matrix runs.
  EXPECT_EQ(axis_units, (std::map<double, size_t>{{0.5, 6}, {8, 6}}));
}

TEST(MatrixConfigTest, MemoryRatiosMustBePositiveAndNotBesideInherit) {
  ExpectErrorNaming({{"memory_ratios", {2, 0}}}, {"memory_ratios", "0", "above 0"});
  ExpectErrorNaming({{"memory_ratios", {2, 2}}}, {"memory_ratios"});
  ExpectErrorNaming({{"memory_caps", {"inherit"}}, {"memory_ratios", {2}}}, {"inherit", "--memory-ratios=none"});
}

TEST(MatrixRunTest, ResultsOfTheMemoryAxisSayTheirRatioAndBudget) {
  TempDir dir;
  MatrixConfig config = OneRandReadUnit();
  config.memory_caps = {0};
  config.memory_ratios = {2};
  MatrixOptions options{
      .out_dir = dir.File("m"), .fresh = false, .cgroup_fs = {}, .command_line = "t", .stop = nullptr};
  // No cgroup is made here: the journal is filled by hand and only collected.
  ASSERT_OK_AND_ASSIGN(
      MatrixJournal journal,
      MatrixJournal::Open(options.out_dir, MatrixFingerprint(config, options.out_dir + "/data"), false));
  ASSERT_OK_AND_ASSIGN(const MatrixPlan plan, PlanMatrix(config, options.out_dir + "/data"));
  ASSERT_OK(testutil::FillJournal(journal, plan));
  ASSERT_OK_AND_ASSIGN(const MatrixOutcome outcome, WriteMatrixResults(config, journal, options, options.out_dir));
  ASSERT_EQ(outcome.results_files.size(), 2u);
  for (const std::string& file : outcome.results_files) {
    ASSERT_OK_AND_ASSIGN(const ResultsDocument document, ReadResultsFile(file));
    if (document.config["memory_cap"] == 0) {
      EXPECT_TRUE(document.config["memory_ratio"].is_null()) << file;
    } else {
      EXPECT_EQ(document.config["memory_ratio"], 2.0) << file;
      EXPECT_EQ(document.config["memory_budget_bytes"], 2ull << 20) << file << ": W = 4 MiB, r = 2";
    }
  }
}

TEST(MatrixRunTest, BmUnitsOfTheMemoryAxisGetAFileOfTheirOwnEvenUnderACapTheOthersUse) {
  TempDir dir;
  MatrixConfig config = SmallConfig();
  config.workloads = {"bm_rand_read"};
  config.depths = {4};
  config.backends = {Backend::kIoUring};
  config.regimes = {Regime::kThrash};
  config.memory_bytes = 16ull << 20;      // W = 64 MiB.
  config.memory_ratios = {2};             // T = 32 MiB: the cap 65 MiB (1 MiB for 4 Ki frames) ...
  config.memory_caps = {0, 65ull << 20};  // ... which the ordinary units run under too.
  MatrixOptions options{
      .out_dir = dir.File("m"), .fresh = false, .cgroup_fs = {}, .command_line = "t", .stop = nullptr};
  ASSERT_OK_AND_ASSIGN(
      MatrixJournal journal,
      MatrixJournal::Open(options.out_dir, MatrixFingerprint(config, options.out_dir + "/data"), false));
  ASSERT_OK_AND_ASSIGN(const MatrixPlan plan, PlanMatrix(config, options.out_dir + "/data"));
  ASSERT_EQ(plan.units.size(), 3u);
  ASSERT_OK(testutil::FillJournal(journal, plan));
  // Read back from the journal file, as a resumed run or --collect would.
  ASSERT_OK_AND_ASSIGN(
      MatrixJournal reopened,
      MatrixJournal::Open(options.out_dir, MatrixFingerprint(config, options.out_dir + "/data"), false));
  ASSERT_OK_AND_ASSIGN(const MatrixOutcome outcome, WriteMatrixResults(config, reopened, options, options.out_dir));
  std::set<std::string> names;
  for (const std::string& file : outcome.results_files) {
    names.insert(std::filesystem::path(file).filename().string());
    ASSERT_OK_AND_ASSIGN(const ResultsDocument document, ReadResultsFile(file));
    ASSERT_EQ(document.cells.size(), 2u) << file;
    const bool axis = file.ends_with("-ratio2.json");
    EXPECT_EQ(document.cells[0].regime, axis ? "memory" : "thrash") << file;
    if (!axis) {
      EXPECT_TRUE(document.config["memory_ratio"].is_null()) << file;
      continue;
    }
    EXPECT_EQ(document.config["memory_ratio"], 2.0) << file;
    EXPECT_EQ(document.config["memory_budget_bytes"], 32ull << 20) << file;
    EXPECT_EQ(document.config["memory_axis"]["direct_pool_bytes"], 32ull << 20) << file;
    EXPECT_EQ(document.config["memory_axis"]["buffered_pool_bytes"], 16ull << 20) << file;
    EXPECT_EQ(document.config["memory_axis"]["working_set_bytes"], 64ull << 20) << file;
  }
  EXPECT_EQ(names, (std::set<std::string>{"bm-nocap.json", "bm-cap65MiB.json", "bm-cap65MiB-ratio2.json"}));
}

TEST(MatrixPlanTest, BmWorkloadsShareOneTableAndAdaptiveIsItsOwnWorkload) {
  MatrixConfig c = SmallConfig();
  c.workloads = {"bm_seq_read", "multistream_scan"};
  c.regimes = {Regime::kThrash};
  ASSERT_OK_AND_ASSIGN(const MatrixPlan plan, PlanMatrix(c, "/d"));
  ASSERT_EQ(plan.groups.size(), 2u);
  EXPECT_EQ(plan.groups[0].suite.filename, "/d/table.dat");
  EXPECT_EQ(plan.groups[1].suite.filename, "/d/table.dat");
  for (const MatrixUnit& unit : plan.units) {
    EXPECT_EQ(unit.key.find("adaptive"), std::string::npos) << unit.key;
    EXPECT_EQ(unit.key.find("bm_rand"), std::string::npos) << unit.key;
  }
  c.workloads = {"bm_seq_read_adaptive"};
  ASSERT_OK_AND_ASSIGN(const MatrixPlan adaptive, PlanMatrix(c, "/d"));
  ASSERT_FALSE(adaptive.units.empty());
  for (const MatrixUnit& unit : adaptive.units) EXPECT_NE(unit.key.find("adaptive"), std::string::npos) << unit.key;
}

TEST(MatrixPlanTest, WriteWorkloadsAreNamedOnlyAndUpdateATableOfTheirOwnWithoutTheMemoryAxis) {
  for (const std::string& w : DefaultMatrixConfig().workloads) {
    EXPECT_TRUE(w != "wal_commit" && w != "bm_rand_rw" && w != "checkpoint") << w << " is in the default matrix";
  }
  MatrixConfig c = SmallConfig();
  c.workloads = {"bm_rand_read", "wal_commit", "bm_rand_rw", "checkpoint"};
  c.regimes = {Regime::kThrash};
  c.memory_ratios = {2};
  ASSERT_OK_AND_ASSIGN(const MatrixPlan plan, PlanMatrix(c, "/d"));
  size_t write_groups = 0;
  for (const MatrixGroup& group : plan.groups) {
    if (group.suite.suite != "write") {
      EXPECT_EQ(group.suite.filename, "/d/table.dat");
      continue;
    }
    ++write_groups;
    EXPECT_EQ(group.suite.filename, "/d/rw-table.dat") << "the read suites would refuse an updated table";
    EXPECT_EQ(group.suite.memory_budget_bytes, 0u) << "the memory axis is the read suites'";
  }
  EXPECT_EQ(write_groups, 1u);
  std::set<std::string> workloads;
  for (const MatrixUnit& unit : plan.units) {
    if (!unit.key.starts_with("write:")) continue;
    const std::string& workload = unit.cells[0].record.workload;
    workloads.insert(workload.substr(0, workload.rfind("_qd")));
    // wal_commit's fdatasync cells pair buffered with direct; dsync is direct's alone.
    if (unit.key.find("/dsync") != std::string::npos) {
      ASSERT_EQ(unit.cells.size(), 1u) << unit.key;
      EXPECT_EQ(unit.cells[0].record.mode, "direct");
    } else {
      EXPECT_EQ(unit.cells.size(), 2u) << unit.key;
    }
  }
  EXPECT_EQ(workloads, (std::set<std::string>{"wal_commit", "bm_rand_rw", "checkpoint"}));
}

// ---- journal ----

JournalUnit UnitNamed(const std::string& name, const std::string& status = "ok") {
  CellRecord cell;
  cell.id = name + "/direct/io_uring";
  cell.status = status;
  return JournalUnit{.unit = name, .suite = "qd", .memory_cap = 0, .finished_utc = "now", .cells = {cell}};
}

TEST(MatrixJournalTest, AppendedUnitsAreDoneAfterReopening) {
  TempDir dir;
  const nlohmann::json fingerprint = {{"runtime", "1s"}};
  {
    ASSERT_OK_AND_ASSIGN(MatrixJournal journal, MatrixJournal::Open(dir.File("m"), fingerprint, false));
    EXPECT_FALSE(journal.Done("a", {}));
    ASSERT_OK(journal.Append(UnitNamed("a")));
    ASSERT_OK(journal.Append(UnitNamed("b")));
  }
  ASSERT_OK_AND_ASSIGN(MatrixJournal journal, MatrixJournal::Open(dir.File("m"), fingerprint, false));
  EXPECT_TRUE(journal.Done("a", {}));
  EXPECT_TRUE(journal.Done("b", {}));
  EXPECT_FALSE(journal.Done("c", {}));
  ASSERT_EQ(journal.Units().size(), 2u);
  EXPECT_EQ(journal.Units()[1].cells[0].id, "b/direct/io_uring");
}

// A results directory moved or copied whole (its data inside it) resumes where it lies,
// and its journal says the settings it ran with, so they need not be repeated.
TEST(MatrixJournalTest, ACopiedResultsDirectoryResumesAndRemembersItsSettings) {
  TempDir dir;
  const MatrixConfig config = OneRandReadUnit();
  const std::string first = dir.File("first"), copy = dir.File("copy");
  {
    ASSERT_OK_AND_ASSIGN(MatrixJournal journal,
                         MatrixJournal::Open(first, MatrixFingerprint(config, first + "/data", first), false,
                                             MatrixConfigToJson(config)));
    ASSERT_OK(journal.Append(UnitNamed("u1")));
  }
  EXPECT_EQ(MatrixFingerprint(config, first + "/data", first)["directory"], "<out>/data");
  std::filesystem::copy(first, copy, std::filesystem::copy_options::recursive);
  std::filesystem::remove_all(first);
  ASSERT_OK_AND_ASSIGN(const MatrixJournal moved,
                       MatrixJournal::Open(copy, MatrixFingerprint(config, copy + "/data", copy), false));
  EXPECT_NE(moved.Find("u1"), nullptr);
  ASSERT_OK_AND_ASSIGN(const nlohmann::json recorded, MatrixJournal::ReadConfig(copy));
  EXPECT_EQ(recorded, MatrixConfigToJson(config));
  ASSERT_OK_AND_ASSIGN(const MatrixConfig back, ParseMatrixConfig(recorded, DefaultMatrixConfig(), "journal"));
  EXPECT_EQ(MatrixConfigToJson(back), MatrixConfigToJson(config));
  ASSERT_OK_AND_ASSIGN(const nlohmann::json none, MatrixJournal::ReadConfig(dir.File("nothing-here")));
  EXPECT_TRUE(none.is_null());
}

TEST(MatrixJournalTest, AnOlderJournalWithAnAbsoluteDataDirectoryStillResumesInPlace) {
  TempDir dir;
  const MatrixConfig config = OneRandReadUnit();
  const std::string out = dir.File("m");
  {  // Before relative directories: the absolute path, and no config in the header.
    ASSERT_OK_AND_ASSIGN(MatrixJournal journal,
                         MatrixJournal::Open(out, MatrixFingerprint(config, out + "/data"), false));
    ASSERT_OK(journal.Append(UnitNamed("u1")));
  }
  ASSERT_OK_AND_ASSIGN(const MatrixJournal journal,
                       MatrixJournal::Open(out, MatrixFingerprint(config, out + "/data", out), false));
  EXPECT_NE(journal.Find("u1"), nullptr);
  ASSERT_OK_AND_ASSIGN(const nlohmann::json recorded, MatrixJournal::ReadConfig(out));
  EXPECT_TRUE(recorded.is_null());
  EXPECT_FALSE(MatrixJournal::Open(out, MatrixFingerprint(config, "/elsewhere/data", out), false).has_value())
      << "another data directory is another run";
}

// A data directory outside --out that moved: named again (directory_moved), the journal
// opens; any other setting that differs is still refused, naming it.
TEST(MatrixJournalTest, AMovedDataDirectoryOutsideOutIsFoundAgainWithItsOtherSettingsChecked) {
  TempDir dir;
  MatrixConfig config = OneRandReadUnit();
  const std::string out = dir.File("m");
  {
    ASSERT_OK_AND_ASSIGN(MatrixJournal journal,
                         MatrixJournal::Open(out, MatrixFingerprint(config, "/mnt/old/data", out), false));
    ASSERT_OK(journal.Append(UnitNamed("u1")));
  }
  const nlohmann::json moved = MatrixFingerprint(config, "/mnt/new/data", out);
  EXPECT_FALSE(MatrixJournal::Open(out, moved, false).has_value()) << "not without saying it moved";
  ASSERT_OK_AND_ASSIGN(const MatrixJournal journal,
                       MatrixJournal::Open(out, moved, false, nullptr, /*directory_moved=*/true));
  EXPECT_NE(journal.Find("u1"), nullptr);
  config.runtime_ns *= 2;
  const Result<MatrixJournal> other =
      MatrixJournal::Open(out, MatrixFingerprint(config, "/mnt/new/data", out), false, nullptr, true);
  ASSERT_FALSE(other.has_value());
  EXPECT_NE(other.error().message().find("runtime"), std::string::npos) << other.error().message();
}

TEST(MatrixJournalTest, TornLastLineIsDroppedAndTheNextAppendStartsCleanly) {
  TempDir dir;
  const nlohmann::json fingerprint = {{"runtime", "1s"}};
  {
    ASSERT_OK_AND_ASSIGN(MatrixJournal journal, MatrixJournal::Open(dir.File("m"), fingerprint, false));
    ASSERT_OK(journal.Append(UnitNamed("a")));
  }
  const std::string path = dir.File("m") + "/journal.jsonl";
  const std::string torn = "{\"unit\":\"b\",\"suite\":\"qd\",\"cel";
  std::ofstream(path, std::ios::app) << torn;
  {
    ASSERT_OK_AND_ASSIGN(MatrixJournal journal, MatrixJournal::Open(dir.File("m"), fingerprint, false));
    EXPECT_EQ(journal.dropped_torn_bytes(), torn.size());
    EXPECT_TRUE(journal.Done("a", {}));
    EXPECT_FALSE(journal.Done("b", {}));
    ASSERT_OK(journal.Append(UnitNamed("b")));
  }
  ASSERT_OK_AND_ASSIGN(MatrixJournal journal, MatrixJournal::Open(dir.File("m"), fingerprint, false));
  EXPECT_TRUE(journal.Done("b", {}));
  EXPECT_EQ(journal.Units().size(), 2u);
}

TEST(MatrixJournalTest, OtherSettingsAreRefusedNamingTheDifference) {
  TempDir dir;
  ASSERT_OK(MatrixJournal::Open(dir.File("m"), {{"runtime", "1s"}, {"size", 4}}, false).status());
  const Result<MatrixJournal> other = MatrixJournal::Open(dir.File("m"), {{"runtime", "2s"}, {"size", 4}}, false);
  ASSERT_FALSE(other.has_value());
  EXPECT_EQ(other.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(other.error().message().find("runtime (journal: \"1s\", now: \"2s\")"), std::string::npos)
      << other.error().ToString();
  EXPECT_EQ(other.error().message().find("size"), std::string::npos) << "size did not change";
}

TEST(MatrixJournalTest, FreshKeepsTheOldJournalAsABackup) {
  TempDir dir;
  const nlohmann::json fingerprint = {{"runtime", "1s"}};
  {
    ASSERT_OK_AND_ASSIGN(MatrixJournal journal, MatrixJournal::Open(dir.File("m"), fingerprint, false));
    ASSERT_OK(journal.Append(UnitNamed("a")));
  }
  ASSERT_OK_AND_ASSIGN(MatrixJournal journal, MatrixJournal::Open(dir.File("m"), {{"runtime", "2s"}}, true));
  EXPECT_FALSE(journal.Done("a", {}));
  ASSERT_FALSE(journal.backup_path().empty());
  EXPECT_NE(ReadText(journal.backup_path()).find("\"unit\":\"a\""), std::string::npos);
}

TEST(MatrixJournalTest, FailedUnitIsNotDoneSoARerunRetriesIt) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(MatrixJournal journal, MatrixJournal::Open(dir.File("m"), {{"x", 1}}, false));
  ASSERT_OK(journal.Append(UnitNamed("bad", "error")));
  ASSERT_OK(journal.Append(UnitNamed("gone", "unsupported")));
  EXPECT_FALSE(journal.Done("bad", {}));
  EXPECT_TRUE(journal.Done("gone", {}));
}

TEST(MatrixJournalTest, UnitMissingAPlannedCellIsNotDone) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(MatrixJournal journal, MatrixJournal::Open(dir.File("m"), {{"x", 1}}, false));
  ASSERT_OK(journal.Append(UnitNamed("a")));  // Holds a/direct/io_uring only.
  EXPECT_TRUE(journal.Done("a", {"a/direct/io_uring"}));
  EXPECT_FALSE(journal.Done("a", {"a/buffered/io_uring", "a/direct/io_uring"}));
}

TEST(MatrixJournalTest, GarbageLineIsAnErrorNamingTheLine) {
  TempDir dir;
  ASSERT_OK(MatrixJournal::Open(dir.File("m"), {{"x", 1}}, false).status());
  std::ofstream(dir.File("m") + "/journal.jsonl", std::ios::app) << "not json\n";
  const Result<MatrixJournal> reopened = MatrixJournal::Open(dir.File("m"), {{"x", 1}}, false);
  ASSERT_FALSE(reopened.has_value());
  EXPECT_NE(reopened.error().message().find("line 2"), std::string::npos) << reopened.error().ToString();
}

// ---- whole runs ----

// Asks the runner to stop once `after` runs have been reported.
class StopAfter final : public MatrixObserver {
 public:
  StopAfter(std::atomic<bool>* stop, size_t after) : stop_(stop), after_(after) {}
  void OnStart(const MatrixPlan&, size_t pending, int64_t) override { pending_ = pending; }
  void OnRun(const MatrixUnit&, const CellRecord& cell, uint32_t, const RepetitionRecord&, size_t done, size_t,
             int64_t) override {
    runs_.push_back(cell.id);
    if (done >= after_) stop_->store(true);
  }
  void OnUnitDone(const MatrixUnit&, const JournalUnit&, size_t, size_t) override { ++units_done_; }

  size_t pending_ = 0;
  size_t units_done_ = 0;
  std::vector<std::string> runs_;

 private:
  std::atomic<bool>* stop_;
  size_t after_;
};

std::vector<CellRecord> CellsOf(const MatrixOutcome& outcome) {
  std::vector<CellRecord> cells;
  for (const std::string& file : outcome.results_files) {
    Result<ResultsDocument> document = ReadResultsFile(file);
    EXPECT_TRUE(document.has_value()) << file;
    if (document.has_value()) cells.insert(cells.end(), document->cells.begin(), document->cells.end());
  }
  return cells;
}

TEST(MatrixRunTest, StoppedRunResumesToACompleteSetWithoutDuplicates) {
  TempDir dir;
  const MatrixConfig config = SmallConfig();
  ASSERT_OK_AND_ASSIGN(const MatrixPlan plan, PlanMatrix(config, dir.File("m") + "/data"));
  std::atomic<bool> stop{false};
  MatrixOptions options{
      .out_dir = dir.File("m"), .fresh = false, .cgroup_fs = {}, .command_line = "test", .stop = &stop};
  // Stop in the middle of the third unit (each unit is 2 modes x 2 repetitions = 4 runs).
  StopAfter first(&stop, 10);
  ASSERT_OK_AND_ASSIGN(const MatrixOutcome partial, RunMatrix(config, options, &first));
  EXPECT_TRUE(partial.interrupted);
  EXPECT_EQ(partial.units_run, 2u);
  EXPECT_EQ(CellsOf(partial).size(), 4u) << "two finished units of two cells; the third was dropped";

  stop.store(false);
  StopAfter second(&stop, SIZE_MAX);
  ASSERT_OK_AND_ASSIGN(const MatrixOutcome resumed, RunMatrix(config, options, &second));
  EXPECT_FALSE(resumed.interrupted);
  EXPECT_EQ(resumed.units_skipped, 2u);
  EXPECT_EQ(resumed.units_run, plan.units.size() - 2);
  EXPECT_EQ(second.pending_, plan.units.size() - 2);
  const std::vector<CellRecord> cells = CellsOf(resumed);
  std::set<std::string> ids;
  for (const CellRecord& cell : cells) {
    EXPECT_TRUE(ids.insert(cell.id).second) << "duplicate cell " << cell.id;
    EXPECT_EQ(cell.status, "ok") << cell.id << ": " << cell.reason;
    EXPECT_EQ(cell.repetitions.size(), config.repetitions) << cell.id;
    EXPECT_GT(cell.median.iops, 0) << cell.id;
  }
  EXPECT_EQ(cells.size(), plan.units.size() * 2);

  // A third run has nothing left to do and runs nothing.
  StopAfter third(&stop, SIZE_MAX);
  ASSERT_OK_AND_ASSIGN(const MatrixOutcome again, RunMatrix(config, options, &third));
  EXPECT_EQ(again.units_run, 0u);
  EXPECT_TRUE(third.runs_.empty());
  EXPECT_EQ(CellsOf(again).size(), cells.size());
}

TEST(MatrixRunTest, RunWithMoreModesRerunsUnitsWholeSoTwinsStayPaired) {
  TempDir dir;
  MatrixConfig config = OneRandReadUnit();
  std::atomic<bool> stop{false};
  MatrixOptions options{.out_dir = dir.File("m"), .fresh = false, .cgroup_fs = {}, .command_line = "t", .stop = &stop};
  MatrixConfig direct_only = config;
  direct_only.modes = {CacheMode::kDirect};
  ASSERT_OK_AND_ASSIGN(const MatrixOutcome first, RunMatrix(direct_only, options, nullptr));
  EXPECT_EQ(first.units_run, 1u);
  StopAfter observer(&stop, SIZE_MAX);
  ASSERT_OK_AND_ASSIGN(const MatrixOutcome both, RunMatrix(config, options, &observer));
  EXPECT_EQ(both.units_run, 1u) << "the unit lacked its buffered twin";
  EXPECT_EQ(observer.runs_.size(), 2u * config.repetitions) << "both twins ran again, interleaved";
  const std::vector<CellRecord> cells = CellsOf(both);
  ASSERT_EQ(cells.size(), 2u);
  for (const CellRecord& cell : cells) EXPECT_EQ(cell.repetitions.size(), config.repetitions) << cell.id;
}

TEST(MatrixRunTest, RepetitionsInterleaveBufferedAndDirectInAbbaOrder) {
  TempDir dir;
  MatrixConfig config = OneRandReadUnit();
  config.repetitions = 3;
  std::atomic<bool> stop{false};
  MatrixOptions options{.out_dir = dir.File("m"), .fresh = false, .cgroup_fs = {}, .command_line = "t", .stop = &stop};
  StopAfter observer(&stop, SIZE_MAX);
  ASSERT_OK(RunMatrix(config, options, &observer).status());
  const std::string a = "rand_read_qd4/buffered/io_uring", b = "rand_read_qd4/direct/io_uring";
  EXPECT_EQ(observer.runs_, (std::vector<std::string>{a, b, b, a, a, b}));
}

// ---- repetitions until decided ----

MatrixConfig OneUnitConfig() {
  MatrixConfig config = OneRandReadUnit();
  config.repetitions = 2;
  config.max_repetitions = 8;
  config.repetition_step = 4;
  config.budget_ns = 0;
  return config;
}

TEST(MatrixRemeasureTest, UndecidedUnitGetsStepsOfRepetitionsUpToTheMostInAbbaOrder) {
  TempDir dir;
  const MatrixConfig config = OneUnitConfig();
  std::atomic<bool> stop{false};
  MatrixOptions options{.out_dir = dir.File("m"), .fresh = false, .cgroup_fs = {}, .command_line = "t", .stop = &stop};
  std::vector<size_t> looks;  // Repetitions the results held at each look.
  options.find_undecided = [&](const std::vector<std::string>& files) -> Result<std::vector<UndecidedComparison>> {
    EXPECT_EQ(files.size(), 1u);
    Result<ResultsDocument> document = ReadResultsFile(files.at(0));
    if (!document.has_value()) return document.error();
    looks.push_back(document->cells.at(0).repetitions.size());
    return std::vector<UndecidedComparison>{{.direct_id = "rand_read_qd4/direct/io_uring",
                                             .buffered_id = "rand_read_qd4/buffered/io_uring",
                                             .memory_cap = 0}};
  };
  StopAfter observer(&stop, SIZE_MAX);
  ASSERT_OK_AND_ASSIGN(const MatrixOutcome outcome, RunMatrix(config, options, &observer));
  EXPECT_EQ(looks, (std::vector<size_t>{2, 6, 8})) << "base 2, then +4, then capped at 8";
  EXPECT_EQ(outcome.remeasure_rounds, 2u);
  EXPECT_EQ(outcome.units_remeasured, 1u);
  EXPECT_EQ(outcome.still_undecided, 1u);
  EXPECT_FALSE(outcome.budget_spent);
  const std::string a = "rand_read_qd4/buffered/io_uring", b = "rand_read_qd4/direct/io_uring";
  EXPECT_EQ(observer.runs_, (std::vector<std::string>{a, b, b, a, a, b, b, a, a, b, b, a, a, b, b, a}))
      << "the ABBA order goes on across rounds";
  for (const CellRecord& cell : CellsOf(outcome)) EXPECT_EQ(cell.repetitions.size(), 8u) << cell.id;
  // A rerun finds the unit done and at its most: it measures nothing more.
  StopAfter again(&stop, SIZE_MAX);
  ASSERT_OK_AND_ASSIGN(const MatrixOutcome rerun, RunMatrix(config, options, &again));
  EXPECT_TRUE(again.runs_.empty());
  EXPECT_EQ(rerun.remeasure_rounds, 0u);
}

TEST(MatrixRemeasureTest, DecidedUnitsAndAnEmptyBudgetMeasureNothingMore) {
  TempDir dir;
  MatrixConfig config = OneUnitConfig();
  std::atomic<bool> stop{false};
  MatrixOptions options{.out_dir = dir.File("m"), .fresh = false, .cgroup_fs = {}, .command_line = "t", .stop = &stop};
  size_t calls = 0;
  options.find_undecided = [&](const std::vector<std::string>&) -> Result<std::vector<UndecidedComparison>> {
    ++calls;
    return std::vector<UndecidedComparison>{};
  };
  StopAfter decided(&stop, SIZE_MAX);
  ASSERT_OK_AND_ASSIGN(const MatrixOutcome first, RunMatrix(config, options, &decided));
  EXPECT_EQ(calls, 1u);
  EXPECT_EQ(decided.runs_.size(), 4u);
  EXPECT_EQ(first.remeasure_rounds, 0u);

  TempDir other;
  config.budget_ns = 1;  // Less than one run costs.
  options.out_dir = other.File("m");
  options.find_undecided = [&](const std::vector<std::string>&) -> Result<std::vector<UndecidedComparison>> {
    return std::vector<UndecidedComparison>{{.direct_id = "rand_read_qd4/direct/io_uring",
                                             .buffered_id = "rand_read_qd4/buffered/io_uring",
                                             .memory_cap = 0}};
  };
  StopAfter spent(&stop, SIZE_MAX);
  ASSERT_OK_AND_ASSIGN(const MatrixOutcome second, RunMatrix(config, options, &spent));
  EXPECT_EQ(spent.runs_.size(), 4u) << "only the base repetitions";
  EXPECT_TRUE(second.budget_spent);
}

TEST(MatrixRemeasureTest, FailingDeciderStopsTheRunWithItsErrorAndKeepsTheBaseUnits) {
  TempDir dir;
  const MatrixConfig config = OneUnitConfig();
  std::atomic<bool> stop{false};
  MatrixOptions options{.out_dir = dir.File("m"), .fresh = false, .cgroup_fs = {}, .command_line = "t", .stop = &stop};
  options.find_undecided = [](const std::vector<std::string>&) -> Result<std::vector<UndecidedComparison>> {
    return Status::FailedPrecondition("decider broke");
  };
  const Result<MatrixOutcome> outcome = RunMatrix(config, options, nullptr);
  ASSERT_FALSE(outcome.has_value());
  EXPECT_NE(outcome.error().message().find("decider broke"), std::string::npos);
  ASSERT_OK_AND_ASSIGN(
      const MatrixJournal journal,
      MatrixJournal::Open(options.out_dir, MatrixFingerprint(config, options.out_dir + "/data"), false));
  EXPECT_EQ(journal.Units().size(), 1u);
}

TEST(MatrixLockTest, SecondRunIntoTheSameOutIsRefusedNamingTheHolder) {
  TempDir dir;
  const MatrixConfig config = OneUnitConfig();
  ASSERT_OK_AND_ASSIGN(const RunLock held, LockMatrixOut(dir.File("m")));
  MatrixOptions options{
      .out_dir = dir.File("m"), .fresh = false, .cgroup_fs = {}, .command_line = "t", .stop = nullptr};
  StopAfter observer(nullptr, SIZE_MAX);
  const Result<MatrixOutcome> refused = RunMatrix(config, options, &observer);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.error().message().find(fmt::format("pid {}", getpid())), std::string::npos)
      << refused.error().ToString();
  EXPECT_NE(refused.error().message().find("another --out"), std::string::npos);
  EXPECT_TRUE(observer.runs_.empty());
}

// The capped path on a fake cgroup v1 tree: where no real cgroup may be made (CI without
// root), the runner still enters, samples and leaves the cap for every capped run.
class MatrixFakeCgroupTest : public ::testing::Test, protected testutil::FakeCgroupTree {
 protected:
  MatrixConfig CappedConfig() const {
    MatrixConfig config = SmallConfig();
    config.workloads = {"rand_read_qd"};
    config.depths = {4};
    config.backends = {Backend::kIoUring};
    config.memory_caps = {0, 128ull << 20};
    return config;
  }
  MatrixOptions Options(std::atomic<bool>* stop) const {
    return MatrixOptions{
        .out_dir = dir_.File("m"), .fresh = false, .cgroup_fs = fs(), .command_line = "t", .stop = stop};
  }
};

TEST_F(MatrixFakeCgroupTest, CappedCellsCarryTheCapAndTheCgroupsCounters) {
  BuildV1();
  const MatrixConfig config = CappedConfig();
  std::atomic<bool> stop{false};
  StopAfter observer(&stop, SIZE_MAX);
  ASSERT_OK_AND_ASSIGN(const MatrixOutcome outcome, RunMatrix(config, Options(&stop), &observer));
  EXPECT_EQ(outcome.units_run, 2u);
  const std::vector<CellRecord> cells = CellsOf(outcome);
  ASSERT_EQ(cells.size(), 4u);
  size_t capped = 0;
  for (const CellRecord& cell : cells) {
    ASSERT_EQ(cell.status, "ok") << cell.id << ": " << cell.reason;
    if (cell.memory_cap == 0) {
      for (const RepetitionRecord& r : cell.repetitions) EXPECT_FALSE(r.memory.has_value()) << cell.id;
      continue;
    }
    ++capped;
    EXPECT_EQ(cell.memory_cap, 128ull << 20);
    ASSERT_EQ(cell.repetitions.size(), config.repetitions);
    for (const RepetitionRecord& r : cell.repetitions) {
      ASSERT_TRUE(r.memory.has_value()) << cell.id;
      EXPECT_EQ(r.memory->cgroup, "v1");
      EXPECT_EQ(r.memory->cap_bytes, 128ull << 20);
      // The planted counters: max_usage 4 MiB (ResetPeak wrote "0" over it), total_cache 3 MiB.
      EXPECT_EQ(r.memory->page_cache_bytes, 3145728u);
      EXPECT_EQ(r.memory->refaults, 0u) << "counters that did not move give a delta of 0";
    }
    ASSERT_TRUE(cell.median.memory.has_value()) << cell.id;
  }
  EXPECT_EQ(capped, 2u);
  // Every capped run entered (the fake pid written to the cap) and left (written back).
  EXPECT_EQ(ReadText(Child("cgroup.procs")), "4242\n");
  EXPECT_EQ(ReadText(Own("cgroup.procs")), "4242\n");
  EXPECT_EQ(ReadText(Child("memory.max_usage_in_bytes")), "0") << "the peak is reset before each run";
}

TEST_F(MatrixFakeCgroupTest, FailingToLeaveTheCapStopsTheMatrixAndSavesNothingUnderAFalseLabel) {
  BuildV1();
  // Leaving writes the pid to the own cgroup's cgroup.procs: a directory there refuses it.
  std::filesystem::remove(Own("cgroup.procs"));
  std::filesystem::create_directory(Own("cgroup.procs"));
  MatrixConfig config = CappedConfig();
  config.memory_caps = {128ull << 20, 0};  // The capped unit first: nothing may run after it.
  std::atomic<bool> stop{false};
  StopAfter observer(&stop, SIZE_MAX);
  const Result<MatrixOutcome> outcome = RunMatrix(config, Options(&stop), &observer);
  ASSERT_FALSE(outcome.has_value());
  EXPECT_EQ(outcome.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(outcome.error().message().find("false label"), std::string::npos) << outcome.error().ToString();
  EXPECT_TRUE(observer.runs_.empty()) << "the failed run is not reported, and no uncapped run follows it";
  EXPECT_EQ(ReadText(dir_.File("m") + "/journal.jsonl").find("\"unit\""), std::string::npos);
}

TEST_F(MatrixFakeCgroupTest, ALimitOnTheOwnCgroupIsRecordedBesideTheUncappedCells) {
  BuildV1();
  WriteText(Own("memory.stat"), "hierarchical_memory_limit 536870912\n");
  MatrixConfig config = CappedConfig();
  config.memory_caps = {0};
  std::atomic<bool> stop{false};
  ASSERT_OK_AND_ASSIGN(const MatrixOutcome outcome, RunMatrix(config, Options(&stop), nullptr));
  EXPECT_EQ(outcome.inherited_limit, std::optional<uint64_t>(512ull << 20));
  ASSERT_EQ(outcome.results_files.size(), 1u);
  ASSERT_OK_AND_ASSIGN(const ResultsDocument document, ReadResultsFile(outcome.results_files[0]));
  EXPECT_EQ(document.config["inherited_memory_limit"], 512ull << 20) << document.config.dump();
  EXPECT_EQ(document.cells[0].memory_cap, 0u) << "the label stays: the limit is recorded beside it";
}

TEST_F(MatrixFakeCgroupTest, CapThatCannotBeMadeStopsTheMatrixBeforeAnyRun) {
  BuildV1();
  // The v1 memory hierarchy vanishes from mountinfo: no memory controller is reachable.
  WriteText(fs().mountinfo, "22 1 8:1 / / rw,relatime - ext4 /dev/vda rw\n");
  std::atomic<bool> stop{false};
  StopAfter observer(&stop, SIZE_MAX);
  const Result<MatrixOutcome> outcome = RunMatrix(CappedConfig(), Options(&stop), &observer);
  ASSERT_FALSE(outcome.has_value());
  EXPECT_NE(outcome.error().message().find("memory cap 128 MiB"), std::string::npos) << outcome.error().ToString();
  EXPECT_NE(outcome.error().message().find("nothing was run"), std::string::npos) << outcome.error().ToString();
  EXPECT_TRUE(observer.runs_.empty()) << "not even the uncapped cells ran";
}

}  // namespace
}  // namespace iodepth
