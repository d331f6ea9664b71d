// Tests of results/results.h (the results file, repetition records, cell summaries and
// flags, the CSV) and of the latency histogram's accuracy as the results report it.
#include "results/results.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/histogram.h"
#include "results/job_report.h"
#include "testutil/status_macros.h"
#include "testutil/temp_dir.h"

namespace iodepth {
namespace {

// ---- Building records ----

RepetitionRecord Repetition(double iops, double littles_law, double resident_before, uint64_t p95_ns) {
  RepetitionRecord r;
  r.iops = iops;
  r.bw_bytes = iops * 4096;
  r.total_ios = static_cast<uint64_t>(iops);
  r.io_bytes = r.total_ios * 4096;
  r.runtime_ns = 1'000'000'000;
  r.clat_ns = LatencyRecord{
      .min = 1000, .max = 5 * p95_ns, .mean = 0.5 * static_cast<double>(p95_ns), .N = r.total_ios, .percentile = {}};
  for (double p : kReportedPercentiles)
    r.clat_ns.percentile[PercentileKey(p)] = static_cast<uint64_t>(p / 95.0 * static_cast<double>(p95_ns));
  r.clat_ns.percentile[PercentileKey(95)] = p95_ns;
  r.usr_cpu_ns = 123'456;
  r.sys_cpu_ns = 654'321;
  r.cpu_ns_per_io = 777.25;
  r.depth = DepthRecord{.target = 4,
                        .mean_in_flight = 3.5,
                        .utilization = 0.875,
                        .littles_law = littles_law,
                        .submit_calls = 10,
                        .submitted = 40,
                        .reap_calls = 20,
                        .reaped = 40,
                        .avg_submit_batch = 4,
                        .avg_reap_batch = 2,
                        .resubmits = 1,
                        .refills_short = 0};
  r.resident_before = resident_before;
  r.verified_bytes = r.io_bytes;
  return r;
}

CellRecord Cell(const std::string& cache_state, uint32_t qd, const std::vector<double>& iops) {
  CellRecord cell;
  cell.id = "rand_read_qd" + std::to_string(qd) + "/buffered/worker";
  cell.workload = "rand_read_qd" + std::to_string(qd);
  cell.suite = "qd";
  cell.rw = "randread";
  cell.qd = qd;
  cell.mode = "buffered";
  cell.backend = "worker";
  cell.cache_state = cache_state;
  for (double value : iops) cell.repetitions.push_back(Repetition(value, qd, /*resident_before=*/0.01, 100'000));
  return cell;
}

bool HasFlag(const CellRecord& cell, const std::string& flag) {
  return std::find(cell.flags.begin(), cell.flags.end(), flag) != cell.flags.end();
}

ResultsDocument SampleDocument() {
  ResultsDocument d;
  d.iodepth_version = "0.1.0";
  d.git_commit = "0123456789abcdef0123456789abcdef01234567";
  d.created_utc = "2026-11-24T18:20:00Z";
  d.command = "iodepth suite qd --runtime=2s";
  d.config = {{"suite", "qd"}, {"depths", {1, 4}}, {"verify", true}, {"file_size", 268435456}};
  d.environment = {{"kernel", "6.18.0"}, {"cpu_count", 2}, {"io_uring", {{"available", true}}}};
  CellRecord ok = Cell("cold", 4, {1000.5, 1100.25, 0.1 + 0.2});
  ok.repetitions[1].resident_before = 0.0625;
  ok.repetitions[2].clat_ns.mean = 1e-7;
  SummariseCell(ok);
  d.cells.push_back(ok);
  CellRecord unsupported = Cell("cold", 1, {});
  unsupported.id = "seq_read_qd1/dontcache/io_uring";
  unsupported.mode = "dontcache";
  unsupported.status = "unsupported";
  unsupported.reason = "RWF_DONTCACHE needs Linux 6.14";
  d.cells.push_back(unsupported);
  d.fio_crosscheck.push_back(
      FioCrossCheckRecord{.cell = ok.id,
                          .fio = {{"iops", 1050.0}, {"clat_ns_p95", 98765}, {"cpu_ns_per_io", 812.5}},
                          .ratio = {{"iops", 1.0476190476190477}, {"clat_ns_p95", 0.98}, {"cpu_ns_per_io", 0.95}}});
  return d;
}

// ---- JSON ----

TEST(ResultsJsonTest, DocumentSurvivesDumpAndParse) {
  const nlohmann::json written = ToJson(SampleDocument());
  const nlohmann::json reread = nlohmann::json::parse(written.dump(2));
  ASSERT_OK_AND_ASSIGN(const ResultsDocument parsed, ParseResults(reread));
  EXPECT_EQ(ToJson(parsed), written);
  EXPECT_EQ(ToJson(parsed).dump(), written.dump());
  ASSERT_EQ(parsed.cells.size(), 2u);
  EXPECT_EQ(parsed.cells[0].repetitions.size(), 3u);
  EXPECT_EQ(parsed.cells[0].repetitions[2].clat_ns.mean, 1e-7);
  EXPECT_EQ(parsed.cells[0].repetitions[2].iops, 0.1 + 0.2) << "doubles keep every bit";
  EXPECT_EQ(parsed.cells[1].status, "unsupported");
  ASSERT_EQ(parsed.fio_crosscheck.size(), 1u);
  EXPECT_EQ(parsed.fio_crosscheck[0].ratio["iops"], 1.0476190476190477);
}

TEST(ResultsJsonTest, TopLevelFieldsFollowTheDocumentedSchema) {
  const nlohmann::json json = ToJson(SampleDocument());
  EXPECT_EQ(json["schema"], "iodepth-results");
  EXPECT_EQ(json["schema_version"], 3);
  EXPECT_EQ(json["schema_version"], kResultsSchemaVersion);
  for (const char* key : {"iodepth_version", "git_commit", "created_utc", "command", "config", "environment", "cells",
                          "fio_crosscheck"}) {
    EXPECT_TRUE(json.contains(key)) << key;
  }
  const nlohmann::json& cell = json["cells"][0];
  for (const char* key : {"id", "workload", "suite", "rw", "qd", "bs", "mode", "backend", "cache_state", "regime",
                          "policy", "memory_cap", "status", "reason", "flags", "median", "cv", "repetitions"}) {
    EXPECT_TRUE(cell.contains(key)) << key;
  }
  const nlohmann::json& rep = cell["repetitions"][0];
  EXPECT_TRUE(rep["clat_ns"]["percentile"].contains("99.900000")) << rep["clat_ns"];
  EXPECT_TRUE(rep["depth"].contains("refills_short"));
  EXPECT_TRUE(cell["median"]["depth"].contains("littles_law"));
  EXPECT_TRUE(cell["cv"].contains("clat_ns_p95"));
}

TEST(ResultsJsonTest, FioCrossCheckIsOptional) {
  nlohmann::json json = ToJson(SampleDocument());
  json.erase("fio_crosscheck");
  ASSERT_OK_AND_ASSIGN(const ResultsDocument parsed, ParseResults(json));
  EXPECT_TRUE(parsed.fio_crosscheck.empty());
}

Status ParseError(const nlohmann::json& json) {
  const Result<ResultsDocument> parsed = ParseResults(json);
  EXPECT_FALSE(parsed.has_value()) << json.dump().substr(0, 200);
  return parsed.has_value() ? Status::OK() : parsed.error();
}

void ExpectRejectedNaming(const nlohmann::json& json, const std::string& text) {
  const Status error = ParseError(json);
  EXPECT_EQ(error.code(), StatusCode::kInvalidArgument) << error.ToString();
  EXPECT_NE(error.message().find(text), std::string::npos) << error.ToString();
}

TEST(ResultsJsonTest, WrongSchemaIsRejected) {
  nlohmann::json json = ToJson(SampleDocument());
  json["schema"] = "fio-results";
  ExpectRejectedNaming(json, "schema");
  json.erase("schema");
  ExpectRejectedNaming(json, "schema");
  ExpectRejectedNaming(nlohmann::json::array({1, 2}), "schema");
}

TEST(ResultsJsonTest, WrongSchemaVersionIsRejectedNamingTheSupportedOne) {
  for (int version : {0, 1, 4, 99}) {
    nlohmann::json json = ToJson(SampleDocument());
    json["schema_version"] = version;
    ExpectRejectedNaming(json, fmt::format("versions {} to {}", kOldestReadableSchemaVersion, kResultsSchemaVersion));
  }
}

TEST(ResultsJsonTest, Version2FileIsReadAsCellsWithoutACap) {
  nlohmann::json json = ToJson(SampleDocument());
  json["schema_version"] = 2;
  for (nlohmann::json& cell : json["cells"]) {
    cell.erase("memory_cap");
    cell["median"].erase("memory");
    for (nlohmann::json& rep : cell["repetitions"]) rep.erase("memory");
  }
  ASSERT_OK_AND_ASSIGN(const ResultsDocument parsed, ParseResults(json));
  ASSERT_FALSE(parsed.cells.empty());
  EXPECT_EQ(parsed.cells[0].memory_cap, 0u);
  EXPECT_FALSE(parsed.cells[0].median.memory.has_value());
}

// Device records of three repetitions that asked for `requested` bytes each and the device read `read`.
void AddDevice(CellRecord& cell, uint64_t read, const std::string& kind = "device") {
  for (RepetitionRecord& r : cell.repetitions) {
    r.device = DeviceRecord{
        .name = "vda", .kind = kind, .read_bytes = read, .write_bytes = 0, .read_ios = read / 4096, .write_ios = 0};
  }
}

TEST(DeviceRecordTest, MediansRoundTripAndSayWhatTheCellAskedFor) {
  CellRecord cell = Cell("cold", 8, {100, 110, 120});
  AddDevice(cell, 4096 * 100);
  SummariseCell(cell);
  ASSERT_TRUE(cell.median.device.has_value());
  EXPECT_EQ(cell.median.device->read_bytes, 4096.0 * 100);
  EXPECT_EQ(cell.median.device->requested_bytes, static_cast<double>(cell.repetitions[1].io_bytes)) << "the median";
  ResultsDocument document = SampleDocument();
  document.cells = {cell};
  ASSERT_OK_AND_ASSIGN(const ResultsDocument parsed, ParseResults(ToJson(document)));
  ASSERT_TRUE(parsed.cells[0].repetitions[2].device.has_value());
  EXPECT_EQ(parsed.cells[0].repetitions[2].device->name, "vda");
  EXPECT_EQ(parsed.cells[0].median.device->read_bytes, 4096.0 * 100);
  const std::string row = CsvRow(parsed.cells[0]);
  EXPECT_NE(row.find(fmt::format(",{},0,{}\n", 4096 * 100, cell.repetitions[1].io_bytes)), std::string::npos) << row;
}

TEST(DeviceRecordTest, FilesWithoutDeviceRecordsReadAsNone) {
  nlohmann::json json = ToJson(SampleDocument());
  for (nlohmann::json& cell : json["cells"]) {
    cell["median"].erase("device");
    for (nlohmann::json& rep : cell["repetitions"]) rep.erase("device");
  }
  ASSERT_OK_AND_ASSIGN(const ResultsDocument parsed, ParseResults(json));
  for (const CellRecord& cell : parsed.cells) {
    EXPECT_FALSE(cell.median.device.has_value());
    for (const RepetitionRecord& r : cell.repetitions) EXPECT_FALSE(r.device.has_value());
  }
}

TEST(DeviceRecordTest, ColdBufferedReadTheDeviceBarelySawIsServedFromMemory) {
  CellRecord cached = Cell("cold", 8, {100, 110, 120});
  const uint64_t asked = cached.repetitions[0].io_bytes;
  AddDevice(cached, asked / 20);
  SummariseCell(cached);
  EXPECT_TRUE(HasFlag(cached, "served_from_memory"));

  CellRecord read = Cell("cold", 8, {100, 110, 120});
  AddDevice(read, asked);
  SummariseCell(read);
  EXPECT_FALSE(HasFlag(read, "served_from_memory")) << "the device read what was asked";

  CellRecord warm = Cell("warm", 8, {100, 110, 120});
  AddDevice(warm, 0);
  SummariseCell(warm);
  EXPECT_FALSE(HasFlag(warm, "served_from_memory")) << "a warm cell is meant to be served from memory";

  CellRecord unknown = Cell("cold", 8, {100, 110, 120});
  SummariseCell(unknown);
  EXPECT_FALSE(HasFlag(unknown, "served_from_memory")) << "no device records: nothing to judge by";
}

TEST(DeviceRecordTest, DataOnMemoryIsFlaggedWhateverTheMode) {
  CellRecord cell = Cell("cold", 8, {100, 110, 120});
  cell.mode = "direct";
  cell.cache_state = "n/a";
  AddDevice(cell, 0, "memory");
  SummariseCell(cell);
  EXPECT_TRUE(HasFlag(cell, "memory_device"));
  EXPECT_FALSE(HasFlag(cell, "served_from_memory")) << "a direct cell has no page cache to be served from";
}

TEST(ResultsJsonTest, MemoryRecordsRoundTripAndTheirMedianIsTaken) {
  CellRecord cell = Cell("cold", 8, {89, 100, 111});
  cell.memory_cap = 128ull << 20;
  const uint64_t peaks[] = {100, 300, 200};
  for (size_t i = 0; i < cell.repetitions.size(); ++i) {
    cell.repetitions[i].memory = MemoryRecord{.cgroup = "v1",
                                              .cap_bytes = cell.memory_cap,
                                              .peak_bytes = peaks[i],
                                              .page_cache_bytes = 10 * peaks[i],
                                              .refaults = i,
                                              .limit_events = 7,
                                              .oom_kills = 0};
  }
  SummariseCell(cell);
  ASSERT_TRUE(cell.median.memory.has_value());
  EXPECT_EQ(cell.median.memory->peak_bytes, 200);
  EXPECT_EQ(cell.median.memory->page_cache_bytes, 2000);
  EXPECT_EQ(cell.median.memory->refaults, 1);
  ResultsDocument document = SampleDocument();
  document.cells = {cell};
  ASSERT_OK_AND_ASSIGN(const ResultsDocument parsed, ParseResults(ToJson(document)));
  EXPECT_EQ(parsed.cells[0].memory_cap, 128ull << 20);
  ASSERT_TRUE(parsed.cells[0].repetitions[1].memory.has_value());
  EXPECT_EQ(parsed.cells[0].repetitions[1].memory->peak_bytes, 300u);
  EXPECT_EQ(parsed.cells[0].repetitions[1].memory->cgroup, "v1");
  EXPECT_EQ(parsed.cells[0].repetitions[1].memory->limit_events, 7u);
  const std::string row = CsvRow(parsed.cells[0]);
  EXPECT_NE(row.find(fmt::format(",{},200,2000,1,,,\n", 128ull << 20)), std::string::npos) << row;
}

TEST(ResultsJsonTest, MistypedSchemaFieldsAreAnErrorNotAnException) {
  // Parsing is the boundary where nlohmann's exceptions become a Status.
  nlohmann::json json = ToJson(SampleDocument());
  json["schema_version"] = "1";
  EXPECT_NO_THROW(ExpectRejectedNaming(json, "schema_version"));
  json = ToJson(SampleDocument());
  json["schema"] = 7;
  EXPECT_NO_THROW(ExpectRejectedNaming(json, "schema"));
}

TEST(ResultsJsonTest, MissingFieldIsRejectedNamingIt) {
  for (const char* key :
       {"iodepth_version", "git_commit", "created_utc", "command", "config", "environment", "cells"}) {
    nlohmann::json json = ToJson(SampleDocument());
    json.erase(key);
    ExpectRejectedNaming(json, key);
  }
  for (const char* key : {"median", "repetitions", "cache_state", "flags", "memory_cap"}) {
    nlohmann::json json = ToJson(SampleDocument());
    json["cells"][0].erase(key);
    ExpectRejectedNaming(json, key);
  }
  nlohmann::json json = ToJson(SampleDocument());
  json["cells"][0]["repetitions"][1]["depth"].erase("refills_short");
  ExpectRejectedNaming(json, "refills_short");
}

TEST(ResultsJsonTest, MistypedFieldIsRejected) {
  nlohmann::json json = ToJson(SampleDocument());
  json["cells"][0]["qd"] = "four";
  const Status error = ParseError(json);
  EXPECT_EQ(error.code(), StatusCode::kInvalidArgument) << error.ToString();
}

TEST(ResultsJsonTest, ReadResultsFileReadsWhatWasWritten) {
  testutil::TempDir dir;
  const std::string path = dir.File("results.json");
  const nlohmann::json written = ToJson(SampleDocument());
  {
    std::ofstream out(path);
    out << written.dump(2);
  }
  ASSERT_OK_AND_ASSIGN(const ResultsDocument parsed, ReadResultsFile(path));
  EXPECT_EQ(ToJson(parsed), written);
}

TEST(ResultsJsonTest, ReadResultsFileErrorsNameTheFile) {
  testutil::TempDir dir;
  const std::string missing = dir.File("missing.json");
  Result<ResultsDocument> result = ReadResultsFile(missing);
  ASSERT_FALSE(result.has_value());
  EXPECT_NE(result.error().message().find(missing), std::string::npos) << result.error().ToString();

  const std::string garbage = dir.File("garbage.json");
  {
    std::ofstream out(garbage);
    out << "{\"schema\": \"iodepth-results\", ";
  }
  result = ReadResultsFile(garbage);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(result.error().message().find(garbage), std::string::npos) << result.error().ToString();

  const std::string old_version = dir.File("old.json");
  {
    nlohmann::json json = ToJson(SampleDocument());
    json["schema_version"] = 0;
    std::ofstream out(old_version);
    out << json.dump();
  }
  result = ReadResultsFile(old_version);
  ASSERT_FALSE(result.has_value());
  EXPECT_NE(result.error().message().find(old_version), std::string::npos) << result.error().ToString();
}

// ---- MakeRepetitionRecord ----

TEST(MakeRepetitionRecordTest, CopiesTheJobsNumbersAndDerivesTheRatios) {
  JobSpec spec;
  spec.queue.depth = 8;
  JobResult result;
  result.ios = 1000;
  result.bytes = 1000 * 4096;
  result.window_ns = 500'000'000;  // 2000 IOPS.
  for (uint64_t v = 1; v <= 1000; ++v) result.clat_ns.Record(v * 1000);
  result.cpu = CpuTimes{.user_ns = 3'000'000, .system_ns = 1'000'000, .context_switches = 250};
  result.mean_in_flight = 6;
  result.queue_stats =
      IoQueueStats{.submit_calls = 250, .submitted = 1000, .reap_calls = 500, .reaped = 1000, .resubmits = 3};
  result.refills_short = 2;
  result.verified_bytes = 4096;

  const RepetitionRecord r = MakeRepetitionRecord(spec, result, 0.25);
  EXPECT_DOUBLE_EQ(r.iops, 2000);
  EXPECT_DOUBLE_EQ(r.bw_bytes, 2000.0 * 4096);
  EXPECT_EQ(r.total_ios, 1000u);
  EXPECT_EQ(r.io_bytes, 1000u * 4096);
  EXPECT_EQ(r.runtime_ns, 500'000'000);
  EXPECT_EQ(r.clat_ns.N, 1000u);
  EXPECT_EQ(r.clat_ns.min, 1000u);
  EXPECT_EQ(r.clat_ns.max, 1'000'000u);
  EXPECT_DOUBLE_EQ(r.clat_ns.mean, 500'500);
  EXPECT_EQ(r.clat_ns.percentile.size(), std::size(kReportedPercentiles));
  for (double p : kReportedPercentiles) {
    ASSERT_TRUE(r.clat_ns.percentile.contains(PercentileKey(p))) << p;
    EXPECT_EQ(r.clat_ns.percentile.at(PercentileKey(p)), result.clat_ns.Percentile(p)) << p;
  }
  EXPECT_EQ(r.usr_cpu_ns, 3'000'000);
  EXPECT_EQ(r.sys_cpu_ns, 1'000'000);
  EXPECT_DOUBLE_EQ(r.cpu_ns_per_io, 4000);
  EXPECT_EQ(r.depth.target, 8u);
  EXPECT_DOUBLE_EQ(r.depth.mean_in_flight, 6);
  EXPECT_DOUBLE_EQ(r.depth.utilization, 0.75);
  EXPECT_DOUBLE_EQ(r.depth.littles_law, 2000 * 500'500 / 1e9);
  EXPECT_EQ(r.depth.submit_calls, 250u);
  EXPECT_EQ(r.depth.submitted, 1000u);
  EXPECT_EQ(r.depth.reap_calls, 500u);
  EXPECT_EQ(r.depth.reaped, 1000u);
  EXPECT_DOUBLE_EQ(r.depth.avg_submit_batch, 4);
  EXPECT_DOUBLE_EQ(r.depth.avg_reap_batch, 2);
  EXPECT_EQ(r.depth.resubmits, 3u);
  EXPECT_EQ(r.depth.refills_short, 2u);
  EXPECT_DOUBLE_EQ(r.depth.context_switches_per_io, 0.25);
  EXPECT_EQ(r.resident_before, 0.25);
  EXPECT_EQ(r.verified_bytes, 4096u);
}

TEST(MakeRepetitionRecordTest, SyncPathTargetsDepthOne) {
  JobSpec spec;
  spec.queue.depth = 32;
  spec.sync_path = true;
  JobResult result;
  result.mean_in_flight = 0.5;
  const RepetitionRecord r = MakeRepetitionRecord(spec, result, -1);
  EXPECT_EQ(r.depth.target, 1u);
  EXPECT_DOUBLE_EQ(r.depth.utilization, 0.5);
  EXPECT_EQ(r.resident_before, -1);
}

TEST(MakeRepetitionRecordTest, EmptyJobHasNoDivisionByZero) {
  const RepetitionRecord r = MakeRepetitionRecord(JobSpec{}, JobResult{}, -1);
  EXPECT_EQ(r.iops, 0);
  EXPECT_EQ(r.cpu_ns_per_io, 0);
  EXPECT_EQ(r.depth.avg_submit_batch, 0);
  EXPECT_EQ(r.depth.avg_reap_batch, 0);
  EXPECT_EQ(r.depth.littles_law, 0);
  EXPECT_EQ(r.depth.context_switches_per_io, 0);
}

// ---- SummariseCell ----

TEST(SummariseCellTest, MedianOfAnOddCountIsTheMiddleValue) {
  CellRecord cell = Cell("n/a", 1, {300, 100, 200});
  cell.repetitions[0].clat_ns.percentile[PercentileKey(95)] = 9;
  cell.repetitions[1].clat_ns.percentile[PercentileKey(95)] = 7;
  cell.repetitions[2].clat_ns.percentile[PercentileKey(95)] = 8;
  SummariseCell(cell);
  EXPECT_EQ(cell.median.iops, 200);
  EXPECT_EQ(cell.median.bw_bytes, 200.0 * 4096);
  EXPECT_EQ(cell.median.clat_ns.percentile[PercentileKey(95)], 8u);
}

TEST(SummariseCellTest, MedianOfAnEvenCountIsTheMeanOfTheMiddleTwo) {
  CellRecord cell = Cell("n/a", 1, {400, 100, 300, 200});
  SummariseCell(cell);
  EXPECT_EQ(cell.median.iops, 250);
  EXPECT_EQ(cell.median.bw_bytes, 250.0 * 4096);
}

TEST(SummariseCellTest, MedianCoversEveryReportedMetric) {
  CellRecord cell = Cell("n/a", 4, {100, 200, 300});
  for (size_t i = 0; i < 3; ++i) {
    RepetitionRecord& r = cell.repetitions[i];
    const double k = static_cast<double>(i + 1);
    r.clat_ns.mean = 10 * k;
    r.clat_ns.max = static_cast<uint64_t>(20 * k);
    r.cpu_ns_per_io = 30 * k;
    r.depth.mean_in_flight = 1 * k;
    r.depth.littles_law = 2 * k;
    r.depth.utilization = 0.1 * k;
    for (double p : kReportedPercentiles) r.clat_ns.percentile[PercentileKey(p)] = static_cast<uint64_t>(p * k);
  }
  SummariseCell(cell);
  EXPECT_EQ(cell.median.clat_ns.mean, 20);
  EXPECT_EQ(cell.median.clat_ns.max, 40u);
  EXPECT_EQ(cell.median.cpu_ns_per_io, 60);
  EXPECT_EQ(cell.median.depth.mean_in_flight, 2);
  EXPECT_EQ(cell.median.depth.littles_law, 4);
  EXPECT_DOUBLE_EQ(cell.median.depth.utilization, 0.2);
  for (double p : kReportedPercentiles) {
    EXPECT_EQ(cell.median.clat_ns.percentile[PercentileKey(p)], static_cast<uint64_t>(p * 2)) << p;
  }
}

TEST(SummariseCellTest, CvIsTheSampleStandardDeviationOverTheMean) {
  // Mean 5, squared deviations sum to 32, sample variance 32/7.
  CellRecord cell = Cell("n/a", 1, {2, 4, 4, 4, 5, 5, 7, 9});
  const uint64_t p95[] = {10, 10, 10, 10, 30, 30, 30, 30};  // Mean 20, sample sd sqrt(800/7).
  for (size_t i = 0; i < 8; ++i) cell.repetitions[i].clat_ns.percentile[PercentileKey(95)] = p95[i];
  SummariseCell(cell);
  EXPECT_DOUBLE_EQ(cell.cv.iops, std::sqrt(32.0 / 7.0) / 5.0);
  EXPECT_DOUBLE_EQ(cell.cv.bw_bytes, std::sqrt(32.0 / 7.0) / 5.0);
  EXPECT_DOUBLE_EQ(cell.cv.clat_ns_p95, std::sqrt(800.0 / 7.0) / 20.0);
}

TEST(SummariseCellTest, CvOfOneRepetitionOrAllEqualIsZero) {
  CellRecord one = Cell("n/a", 1, {1234});
  SummariseCell(one);
  EXPECT_EQ(one.cv.iops, 0);
  EXPECT_EQ(one.median.iops, 1234);
  CellRecord same = Cell("n/a", 1, {50, 50, 50});
  SummariseCell(same);
  EXPECT_EQ(same.cv.iops, 0);
  EXPECT_FALSE(HasFlag(same, "cv_high"));
}

TEST(SummariseCellTest, CvHighIsSetAboveTenPercentOnly) {
  // Deviations of 9, 10 and 11 around a mean of 100: CV 0.09, exactly 0.10, 0.11.
  CellRecord below = Cell("n/a", 1, {91, 100, 109});
  CellRecord at = Cell("n/a", 1, {90, 100, 110});
  CellRecord above = Cell("n/a", 1, {89, 100, 111});
  for (CellRecord* cell : {&below, &at, &above}) SummariseCell(*cell);
  EXPECT_DOUBLE_EQ(at.cv.iops, 0.10);
  EXPECT_FALSE(HasFlag(below, "cv_high")) << below.cv.iops;
  EXPECT_FALSE(HasFlag(at, "cv_high")) << "the flag is for more than 10%";
  EXPECT_TRUE(HasFlag(above, "cv_high")) << above.cv.iops;
}

TEST(SummariseCellTest, DepthShortWhenLittlesLawIsBelowEightyPercentOfTheTarget) {
  CellRecord short_cell = Cell("n/a", 8, {100, 100, 100});
  CellRecord full_cell = Cell("n/a", 8, {100, 100, 100});
  const double short_depth[] = {6.3, 6.0, 7.9};  // Median 6.3 < 6.4.
  const double full_depth[] = {6.5, 1.0, 8.0};   // Median 6.5 >= 6.4.
  for (size_t i = 0; i < 3; ++i) {
    short_cell.repetitions[i].depth.littles_law = short_depth[i];
    full_cell.repetitions[i].depth.littles_law = full_depth[i];
  }
  SummariseCell(short_cell);
  SummariseCell(full_cell);
  EXPECT_TRUE(HasFlag(short_cell, "depth_short"));
  EXPECT_FALSE(HasFlag(full_cell, "depth_short"));
}

TEST(SummariseCellTest, ColdButCachedWhenAColdRepetitionStartedMoreThanFivePercentCached) {
  CellRecord cached = Cell("cold", 1, {100, 100, 100});
  cached.repetitions[2].resident_before = 0.06;
  CellRecord at_threshold = Cell("cold", 1, {100, 100, 100});
  at_threshold.repetitions[1].resident_before = 0.05;
  CellRecord cold = Cell("cold", 1, {100, 100, 100});
  for (RepetitionRecord& r : cold.repetitions) r.resident_before = 0;
  CellRecord direct = Cell("n/a", 1, {100, 100, 100});
  for (RepetitionRecord& r : direct.repetitions) r.resident_before = 1.0;  // Not a cold claim.
  for (CellRecord* cell : {&cached, &at_threshold, &cold, &direct}) SummariseCell(*cell);
  EXPECT_TRUE(HasFlag(cached, "cold_but_cached"));
  EXPECT_EQ(std::count(cached.flags.begin(), cached.flags.end(), "cold_but_cached"), 1);
  EXPECT_FALSE(HasFlag(at_threshold, "cold_but_cached"));
  EXPECT_FALSE(HasFlag(cold, "cold_but_cached"));
  EXPECT_FALSE(HasFlag(direct, "cold_but_cached"));
}

TEST(SummariseCellTest, WarmNotCachedWhenAWarmRepetitionStartedBelowNinetyFivePercent) {
  CellRecord warm = Cell("warm", 1, {100, 100});
  for (RepetitionRecord& r : warm.repetitions) r.resident_before = 1.0;
  CellRecord uncached = Cell("warm", 1, {100, 100});
  uncached.repetitions[0].resident_before = 1.0;
  uncached.repetitions[1].resident_before = 0.9;
  SummariseCell(warm);
  SummariseCell(uncached);
  EXPECT_FALSE(HasFlag(warm, "warm_not_cached"));
  EXPECT_TRUE(HasFlag(uncached, "warm_not_cached"));
}

TEST(SummariseCellTest, UnsupportedCellGetsNoFlags) {
  CellRecord cell = Cell("cold", 32, {});
  cell.status = "unsupported";
  cell.reason = "no io_uring";
  SummariseCell(cell);
  EXPECT_TRUE(cell.flags.empty());
  EXPECT_EQ(cell.median.iops, 0);
}

TEST(SummariseCellTest, SummarisingTwiceGivesTheSameFlags) {
  CellRecord cell = Cell("cold", 8, {89, 100, 111});
  cell.repetitions[0].resident_before = 0.5;
  for (RepetitionRecord& r : cell.repetitions) r.depth.littles_law = 1;
  SummariseCell(cell);
  const std::vector<std::string> first = cell.flags;
  SummariseCell(cell);
  EXPECT_EQ(cell.flags, first);
  EXPECT_EQ(first.size(), 3u);
}

// ---- CSV ----

size_t FieldCount(const std::string& line) {
  return static_cast<size_t>(std::count(line.begin(), line.end(), ',')) + 1;
}

TEST(CsvTest, RowHasAsManyFieldsAsTheHeader) {
  const std::string header = CsvHeader();
  ASSERT_FALSE(header.empty());
  EXPECT_EQ(header.back(), '\n');
  EXPECT_EQ(FieldCount(header), 40u) << "docs/BENCHMARKS.md lists 40 columns";
  CellRecord flagged = Cell("cold", 8, {89, 100, 111});
  flagged.repetitions[0].resident_before = 0.5;
  SummariseCell(flagged);
  ASSERT_GE(flagged.flags.size(), 2u) << "the row must join several flags";
  CellRecord empty = Cell("cold", 1, {});
  empty.status = "unsupported";
  for (const CellRecord* cell : {&flagged, &empty}) {
    const std::string row = CsvRow(*cell);
    EXPECT_EQ(row.back(), '\n');
    EXPECT_EQ(std::count(row.begin(), row.end(), '\n'), 1) << row;
    EXPECT_EQ(FieldCount(row), FieldCount(header)) << row;
  }
}

TEST(CsvTest, RowHoldsTheCellsValuesInHeaderOrder) {
  CellRecord cell = Cell("cold", 8, {89, 100, 111});
  cell.repetitions[0].resident_before = 0.5;
  for (RepetitionRecord& r : cell.repetitions) r.depth.littles_law = 1;
  SummariseCell(cell);
  const std::string row = CsvRow(cell);
  std::vector<std::string> fields;
  size_t start = 0;
  for (size_t comma = row.find(','); comma != std::string::npos; comma = row.find(',', start)) {
    fields.push_back(row.substr(start, comma - start));
    start = comma + 1;
  }
  fields.push_back(row.substr(start, row.size() - start - 1));
  ASSERT_EQ(fields.size(), 40u);
  EXPECT_EQ(fields[0], cell.id);
  EXPECT_EQ(fields[3], "8");
  EXPECT_EQ(fields[4], "4096");
  EXPECT_EQ(fields[7], "cold");
  EXPECT_EQ(fields[8], "ok");
  EXPECT_EQ(fields[9], "cv_high;depth_short;cold_but_cached");
  EXPECT_EQ(fields[10], "100.0");
  EXPECT_EQ(fields[23], "3");
  for (size_t i = 24; i < 33; ++i) EXPECT_EQ(fields[i], "") << "column " << i << " is for bm cells only";
  EXPECT_EQ(fields[33], "0") << "memory_cap: no cap";
  for (size_t i = 34; i < 37; ++i) EXPECT_EQ(fields[i], "") << "column " << i << " is for capped cells only";
  for (size_t i = 37; i < 40; ++i) EXPECT_EQ(fields[i], "") << "column " << i << " is for cells with device records";
}

// ---- Histogram accuracy as reported: percentiles against exact order statistics ----

constexpr uint64_t kMinNs = 1'000;        // 1 us
constexpr uint64_t kMaxNs = 100'000'000;  // 100 ms
constexpr size_t kSamples = 100'000;

uint64_t Clamp(double value) {
  return static_cast<uint64_t>(std::clamp(value, static_cast<double>(kMinNs), static_cast<double>(kMaxNs)));
}

std::vector<uint64_t> UniformSamples(std::mt19937_64& rng) {
  std::vector<uint64_t> samples(kSamples);
  for (uint64_t& s : samples) s = kMinNs + rng() % (kMaxNs - kMinNs + 1);
  return samples;
}

// Exponential with a 200 us mean, by inversion of a uniform from the 64-bit generator.
std::vector<uint64_t> ExponentialSamples(std::mt19937_64& rng) {
  std::vector<uint64_t> samples(kSamples);
  for (uint64_t& s : samples) {
    const double u = (static_cast<double>(rng() >> 11) + 0.5) / 9007199254740992.0;  // (0, 1)
    s = Clamp(static_cast<double>(kMinNs) - 200'000.0 * std::log(u));
  }
  return samples;
}

// Log-uniform over the whole range: every octave equally likely.
std::vector<uint64_t> LogUniformSamples(std::mt19937_64& rng) {
  std::vector<uint64_t> samples(kSamples);
  const double span = std::log(static_cast<double>(kMaxNs) / static_cast<double>(kMinNs));
  for (uint64_t& s : samples) {
    const double u = static_cast<double>(rng() >> 11) / 9007199254740992.0;
    s = Clamp(static_cast<double>(kMinNs) * std::exp(u * span));
  }
  return samples;
}

// 95% fast (20-60 us, cached) and 5% slow (5-50 ms, a device stall): p90 and p99 sit on
// opposite sides of the gap.
std::vector<uint64_t> BimodalSamples(std::mt19937_64& rng) {
  std::vector<uint64_t> samples(kSamples);
  for (uint64_t& s : samples) {
    const bool slow = rng() % 100 < 5;
    s = slow ? 5'000'000 + rng() % 45'000'001 : 20'000 + rng() % 40'001;
  }
  return samples;
}

// The exact sample of rank ceil(p/100 * n) (1-based), with p in thousandths of a percent
// so the rank is computed in integers.
uint64_t ExactPercentile(const std::vector<uint64_t>& sorted, uint64_t p_milli) {
  const uint64_t n = sorted.size();
  const uint64_t rank = std::max<uint64_t>(1, (p_milli * n + 99'999) / 100'000);
  return sorted[rank - 1];
}

struct Distribution {
  const char* name;
  std::vector<uint64_t> (*make)(std::mt19937_64&);
};

TEST(HistogramAccuracyTest, PercentilesAreWithinOnePercentOfTheExactOrderStatistic) {
  const Distribution distributions[] = {{"uniform", UniformSamples},
                                        {"exponential", ExponentialSamples},
                                        {"log-uniform", LogUniformSamples},
                                        {"bimodal", BimodalSamples}};
  const uint64_t percentiles_milli[] = {50'000, 90'000, 95'000, 99'000, 99'900};
  for (const Distribution& distribution : distributions) {
    std::mt19937_64 rng(20261124);
    std::vector<uint64_t> samples = distribution.make(rng);
    LatencyHistogram histogram;
    uint64_t sum = 0;  // At most 1e5 samples of 1e8 ns: far from overflow.
    for (uint64_t s : samples) {
      histogram.Record(s);
      sum += s;
    }
    std::sort(samples.begin(), samples.end());
    EXPECT_EQ(histogram.count(), kSamples) << distribution.name;
    EXPECT_EQ(histogram.min(), samples.front()) << distribution.name;
    EXPECT_EQ(histogram.max(), samples.back()) << distribution.name;
    EXPECT_EQ(histogram.mean(), static_cast<double>(sum) / static_cast<double>(kSamples)) << distribution.name;
    for (uint64_t p_milli : percentiles_milli) {
      const double p = static_cast<double>(p_milli) / 1000.0;
      const double exact = static_cast<double>(ExactPercentile(samples, p_milli));
      const double reported = static_cast<double>(histogram.Percentile(p));
      EXPECT_LE(std::abs(reported - exact), 0.01 * exact)
          << distribution.name << " p" << PercentileKey(p) << ": reported " << reported << ", exact " << exact;
    }
  }
}

TEST(HistogramAccuracyTest, PercentileIsTheSampleOfRankCeilPTimesN) {
  // r samples at 10 us and the rest at 10 ms, with r = ceil(p/100 * n) computed exactly:
  // p must report the fast value, and with one fast sample fewer, the slow one. Every
  // reported percentile, at sample counts where p/100 * n is a whole number.
  for (uint64_t n : {1'000u, 10'000u, 100'000u, 1'000'000u}) {
    for (double p : kReportedPercentiles) {
      const auto p_milli = static_cast<uint64_t>(std::llround(p * 1000));
      const uint64_t rank = (p_milli * n + 99'999) / 100'000;
      for (uint64_t fast : {rank, rank - 1}) {
        LatencyHistogram histogram;
        for (uint64_t i = 0; i < n; ++i) histogram.Record(i < fast ? 10'000 : 10'000'000);
        const uint64_t reported = histogram.Percentile(p);
        const uint64_t expected = fast == rank ? 10'000 : 10'000'000;
        EXPECT_LE(std::abs(static_cast<double>(reported) - static_cast<double>(expected)),
                  0.01 * static_cast<double>(expected))
            << "n " << n << ", p" << PercentileKey(p) << " (rank " << rank << "), " << fast
            << " fast samples: reported " << reported;
      }
    }
  }
}

BmResult SampleBmResult() {
  BmResult result;
  result.job.ios = 1000;
  result.job.bytes = 1000 * 8192;
  result.job.window_ns = 1'000'000'000;
  for (int i = 0; i < 100; ++i) result.job.clat_ns.Record(200'000);
  BmStats& b = result.buffer;
  b.memory_bytes = 64 << 20;
  b.working_set_bytes = 256 << 20;
  b.page_bytes = 8192;
  b.policy = "fixed";
  b.fetches = 1000;
  b.hits = 200;
  b.misses = 800;
  b.reads = 100;
  b.read_bytes = 800 * 8192;
  b.reads_by_pages = {0, 0, 0, 0, 0, 0, 0, 0, 100};
  b.consumer_waits = 50;
  b.wait_ns = 250'000'000;
  b.mean_distance = 4;
  b.mean_combine_pages = 7.5;
  b.mean_pinned_pages = 30;
  return result;
}

TEST(MakeBmRepetitionRecordTest, BufferRecordHoldsTheStreamFiguresAndDepthCountsReads) {
  JobSpec spec;
  spec.queue.depth = 4;
  const RepetitionRecord r = MakeBmRepetitionRecord(spec, SampleBmResult(), -1);
  ASSERT_TRUE(r.buffer.has_value());
  EXPECT_DOUBLE_EQ(r.iops, 1000);
  EXPECT_DOUBLE_EQ(r.buffer->hit_ratio, 0.2);
  EXPECT_DOUBLE_EQ(r.buffer->mean_read_bytes, 8 * 8192);
  EXPECT_DOUBLE_EQ(r.buffer->wait_fraction, 0.25);
  EXPECT_EQ(r.buffer->reads_by_pages, (std::map<std::string, uint64_t>{{"8", 100}}));
  // Little's law over read requests: 100 reads/s x 200 us = 0.02, not fetches x latency.
  EXPECT_NEAR(r.depth.littles_law, 0.02, 1e-4);
  EXPECT_EQ(r.depth.target, 4u);
}

TEST(MakeBmRepetitionRecordTest, BufferRecordsSurviveJsonAndOtherCellsHaveNone) {
  ResultsDocument document = SampleDocument();
  CellRecord bm = document.cells[0];
  bm.id = "bm_seq_read_qd4/direct/io_uring/thrash";
  bm.regime = "thrash";
  bm.policy = "fixed";
  JobSpec spec;
  spec.queue.depth = 4;
  bm.repetitions = {MakeBmRepetitionRecord(spec, SampleBmResult(), -1)};
  SummariseCell(bm);
  document.cells.push_back(bm);
  const nlohmann::json json = ToJson(document);
  EXPECT_TRUE(json["cells"][0]["repetitions"][0]["buffer"].is_null());
  EXPECT_TRUE(json["cells"][0]["median"]["buffer"].is_null());
  ASSERT_OK_AND_ASSIGN(const ResultsDocument parsed, ParseResults(json));
  const CellRecord& back = parsed.cells.back();
  EXPECT_EQ(back.regime, "thrash");
  ASSERT_TRUE(back.median.buffer.has_value());
  EXPECT_DOUBLE_EQ(back.median.buffer->hit_ratio, 0.2);
  EXPECT_DOUBLE_EQ(back.median.buffer->reads_per_s, 100);
  ASSERT_TRUE(back.repetitions[0].buffer.has_value());
  EXPECT_EQ(back.repetitions[0].buffer->reads, 100u);
  EXPECT_FALSE(parsed.cells[0].repetitions[0].buffer.has_value());
  EXPECT_DOUBLE_EQ(back.repetitions[0].buffer->mean_combine_pages, 7.5);
  EXPECT_DOUBLE_EQ(back.median.buffer->mean_pinned_pages, 30);
  EXPECT_NE(CsvRow(back).find(",thrash,fixed,0.2000,65536,100.0,0.2500,4.00,7.50,30.00,0,,,,,,\n"), std::string::npos)
      << CsvRow(back);
}

TEST(MakeBmRepetitionRecordTest, OlderBufferRecordsLackTheStreamMeansAndACutRecordIsRefused) {
  ResultsDocument document = SampleDocument();
  CellRecord bm = document.cells[0];
  bm.id = "bm_seq_read_qd4/direct/io_uring/thrash";
  JobSpec spec;
  spec.queue.depth = 4;
  bm.repetitions = {MakeBmRepetitionRecord(spec, SampleBmResult(), -1)};
  SummariseCell(bm);
  document.cells = {bm};
  nlohmann::json json = ToJson(document);
  // A file from before the read streams counted their combine distance and pins.
  json["cells"][0]["repetitions"][0]["buffer"].erase("mean_combine_pages");
  json["cells"][0]["median"]["buffer"].erase("mean_pinned_pages");
  ASSERT_OK_AND_ASSIGN(const ResultsDocument older, ParseResults(json));
  EXPECT_DOUBLE_EQ(older.cells[0].repetitions[0].buffer->mean_combine_pages, 0);
  EXPECT_DOUBLE_EQ(older.cells[0].repetitions[0].buffer->mean_pinned_pages, 30);
  EXPECT_DOUBLE_EQ(older.cells[0].median.buffer->mean_pinned_pages, 0);
  // A field every version had is still required: a record cut short is refused, naming it.
  json["cells"][0]["repetitions"][0]["buffer"].erase("mean_distance");
  const Result<ResultsDocument> cut = ParseResults(json);
  ASSERT_FALSE(cut.has_value());
  EXPECT_NE(cut.error().ToString().find("mean_distance"), std::string::npos) << cut.error().ToString();
}

}  // namespace
}  // namespace iodepth
