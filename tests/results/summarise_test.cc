// Tests of ParseCellsToSummarise (results/results.h), the reader behind `iodepth summarise`:
// cells as a script sends them (repetitions, no summary) are read, summarised by
// SummariseCell exactly as `iodepth suite` summarises them, and bad input is refused with a
// message naming the cell and the field.
#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "results/job_report.h"
#include "results/results.h"
#include "testutil/status_macros.h"

namespace iodepth {
namespace {

RepetitionRecord Repetition(double iops, uint32_t target, double littles_law, uint64_t p95_ns) {
  RepetitionRecord r;
  r.iops = iops;
  r.bw_bytes = iops * 4096;
  r.total_ios = static_cast<uint64_t>(iops);
  r.io_bytes = r.total_ios * 4096;
  r.runtime_ns = 1'000'000'000;
  r.clat_ns = LatencyRecord{
      .min = 1000, .max = 5 * p95_ns, .mean = 0.5 * static_cast<double>(p95_ns), .N = r.total_ios, .percentile = {}};
  for (double p : kReportedPercentiles) r.clat_ns.percentile[PercentileKey(p)] = p95_ns;
  r.cpu_ns_per_io = 700 + iops / 1000;
  r.depth = DepthRecord{
      .target = target, .mean_in_flight = littles_law, .utilization = littles_law / target, .littles_law = littles_law};
  r.resident_before = -1;
  return r;
}

CellRecord DirectCell(const std::string& id, uint32_t qd) {
  CellRecord cell;
  cell.id = id;
  cell.workload = id.substr(0, id.find('/'));
  cell.suite = "qd";
  cell.rw = "randread";
  cell.qd = qd;
  cell.mode = "direct";
  cell.backend = "io_uring";
  cell.cache_state = "n/a";
  return cell;
}

// The JSON a script sends: the cell's record without the fields SummariseCell fills.
nlohmann::json Unsummarised(const CellRecord& cell) {
  nlohmann::json json = CellToJson(cell);
  json.erase("median");
  json.erase("cv");
  json.erase("flags");
  return json;
}

std::vector<CellRecord> ParseAndSummarise(const std::vector<nlohmann::json>& cells) {
  const Result<std::vector<CellRecord>> parsed = ParseCellsToSummarise({{"cells", cells}});
  EXPECT_OK(parsed);
  if (!parsed.has_value()) return {};
  std::vector<CellRecord> out = *parsed;
  for (CellRecord& cell : out) SummariseCell(cell);
  return out;
}

bool HasFlag(const CellRecord& cell, const std::string& flag) {
  return std::find(cell.flags.begin(), cell.flags.end(), flag) != cell.flags.end();
}

TEST(SummariseTest, CellsWithoutASummaryComeOutAsSummariseCellMakesThem) {
  CellRecord cell = DirectCell("rand_read_qd4/direct/io_uring", 4);
  for (double iops : {1000.0, 3000.0, 2000.0}) cell.repetitions.push_back(Repetition(iops, 4, 3.9, 100'000));
  CellRecord expected = cell;
  SummariseCell(expected);

  const std::vector<CellRecord> out = ParseAndSummarise({Unsummarised(cell)});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(CellToJson(out[0]), CellToJson(expected));
  EXPECT_EQ(out[0].median.iops, 2000);
  EXPECT_GT(out[0].cv.iops, kCvFlagThreshold);
  EXPECT_TRUE(HasFlag(out[0], "cv_high"));
}

TEST(SummariseTest, AStaleSummaryInTheInputIsReplaced) {
  CellRecord cell = DirectCell("rand_read_qd1/direct/io_uring", 1);
  for (double iops : {1000.0, 1001.0}) cell.repetitions.push_back(Repetition(iops, 1, 1.0, 50'000));
  nlohmann::json json = CellToJson(cell);
  json["median"]["iops"] = 1;
  json["flags"] = {"cv_high", "depth_short"};

  const std::vector<CellRecord> out = ParseAndSummarise({json});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].median.iops, 1000.5);
  EXPECT_TRUE(out[0].flags.empty()) << nlohmann::json(out[0].flags);
}

TEST(SummariseTest, CellsKeepTheirInputOrder) {
  std::vector<nlohmann::json> cells;
  for (const char* id :
       {"seq_read_qd32/direct/io_uring", "rand_read_qd1/direct/io_uring", "rand_read_qd32/direct/io_uring"}) {
    CellRecord cell = DirectCell(id, 1);
    cell.repetitions.push_back(Repetition(1000, 1, 1.0, 50'000));
    cells.push_back(Unsummarised(cell));
  }
  const std::vector<CellRecord> out = ParseAndSummarise(cells);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].id, "seq_read_qd32/direct/io_uring");
  EXPECT_EQ(out[1].id, "rand_read_qd1/direct/io_uring");
  EXPECT_EQ(out[2].id, "rand_read_qd32/direct/io_uring");
}

// The depth a scan cell must keep is its repetitions' target (S scans x qd), not qd alone:
// the rule a second copy of the summariser got wrong.
TEST(SummariseTest, DepthShortComparesWithTheRepetitionsTargetWhenItExceedsQd) {
  CellRecord cell = DirectCell("multistream_scan_qd4/direct/io_uring/thrash", 4);
  cell.regime = "thrash";
  cell.repetitions.push_back(Repetition(1000, /*target=*/16, /*littles_law=*/8, 50'000));
  const std::vector<CellRecord> out = ParseAndSummarise({Unsummarised(cell)});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(HasFlag(out[0], "depth_short")) << "8 in flight of 16 asked for";
}

TEST(SummariseTest, HotAndAdaptiveCellsAreNeverDepthShort) {
  CellRecord hot = DirectCell("bm_rand_read_qd32/direct/io_uring/hot", 32);
  hot.regime = "hot";
  hot.policy = "fixed";
  hot.repetitions.push_back(Repetition(1000, 32, /*littles_law=*/0, 50'000));
  CellRecord adaptive = DirectCell("bm_seq_read_adaptive/direct/io_uring/thrash", 32);
  adaptive.regime = "thrash";
  adaptive.policy = "adaptive";
  adaptive.repetitions.push_back(Repetition(1000, 32, /*littles_law=*/3, 50'000));
  const std::vector<CellRecord> out = ParseAndSummarise({Unsummarised(hot), Unsummarised(adaptive)});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_FALSE(HasFlag(out[0], "depth_short"));
  EXPECT_FALSE(HasFlag(out[1], "depth_short"));
}

void ExpectRejectedNaming(const nlohmann::json& json, const std::vector<std::string>& texts) {
  const Result<std::vector<CellRecord>> parsed = ParseCellsToSummarise(json);
  ASSERT_FALSE(parsed.has_value()) << json.dump().substr(0, 200);
  EXPECT_EQ(parsed.error().code(), StatusCode::kInvalidArgument) << parsed.error().ToString();
  for (const std::string& text : texts) {
    EXPECT_NE(parsed.error().message().find(text), std::string::npos) << parsed.error().ToString();
  }
}

TEST(SummariseTest, InputWithoutACellsArrayIsRejected) {
  ExpectRejectedNaming(nlohmann::json::array(), {"\"cells\" array"});
  ExpectRejectedNaming({{"cell", nlohmann::json::array()}}, {"\"cells\" array"});
  ExpectRejectedNaming({{"cells", 3}}, {"\"cells\" array"});
}

TEST(SummariseTest, ABadCellIsNamedByIndexAndIdWithTheMissingField) {
  CellRecord cell = DirectCell("rand_read_qd1/direct/io_uring", 1);
  cell.repetitions.push_back(Repetition(1000, 1, 1.0, 50'000));
  nlohmann::json broken = Unsummarised(cell);
  broken.erase("repetitions");
  ExpectRejectedNaming({{"cells", {Unsummarised(cell), broken}}},
                       {"cells[1] (rand_read_qd1/direct/io_uring)", "repetitions"});
}

TEST(SummariseTest, ACellThatIsNotAnObjectIsNamedByIndex) {
  ExpectRejectedNaming({{"cells", {"rand_read_qd1/direct/io_uring"}}}, {"cells[0] is not a JSON object"});
}

TEST(SummariseTest, AMistypedFieldIsRejected) {
  CellRecord cell = DirectCell("rand_read_qd1/direct/io_uring", 1);
  cell.repetitions.push_back(Repetition(1000, 1, 1.0, 50'000));
  nlohmann::json json = Unsummarised(cell);
  json["repetitions"][0]["iops"] = "fast";
  ExpectRejectedNaming({{"cells", {json}}}, {"cells[0] (rand_read_qd1/direct/io_uring)", "number"});
}

TEST(SummariseTest, NoCellsIsAnEmptyAnswerNotAnError) {
  ASSERT_OK_AND_ASSIGN(const std::vector<CellRecord> cells,
                       ParseCellsToSummarise({{"cells", nlohmann::json::array()}}));
  EXPECT_TRUE(cells.empty());
}

}  // namespace
}  // namespace iodepth
