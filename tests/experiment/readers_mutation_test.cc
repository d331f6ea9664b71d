// Untrusted input: the matrix's readers on thousands of damaged copies of real inputs.
//
//   config    MatrixConfigToJson of the default config, mutated, then parsed
//             (ParseMatrixConfig, ValidateMatrixConfig, PlanMatrix)
//   journal   a journal of real units, mutated, then opened (MatrixJournal::Open) and,
//             when it opens, collected into results files (WriteMatrixResults)
//
// Each must end in a parse or a clear error: never a crash, a hang, an exception or a
// sanitizer report. Seeded (testutil/mutator.h) and bounded by a count and by time; a
// failure names the seed and iteration that reproduce it.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "experiment/journal_fill.h"
#include "experiment/matrix.h"
#include "testutil/corpus.h"
#include "testutil/mutator.h"
#include "testutil/status_macros.h"
#include "testutil/temp_dir.h"

namespace iodepth {
namespace {

constexpr uint64_t kSeed = 20261202;
constexpr int kIterations = 2000;
constexpr auto kTimeBudget = std::chrono::seconds(20);

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(MatrixConfigMutationTest, DamagedConfigsParseOrFailCleanly) {
  const std::string original = MatrixConfigToJson(DefaultMatrixConfig()).dump(1);
  testutil::WriteSeed("matrix_config", "default.json", original);
  testutil::Mutator mutator(kSeed);
  const auto deadline = std::chrono::steady_clock::now() + kTimeBudget;
  int tried = 0, accepted = 0;
  for (int i = 0; i < kIterations && std::chrono::steady_clock::now() < deadline; ++i, ++tried) {
    const std::string text = mutator.Mutate(original);
    const nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded()) continue;
    const Result<MatrixConfig> config = ParseMatrixConfig(json, DefaultMatrixConfig(), "mutated");
    if (!config.has_value()) {
      EXPECT_FALSE(config.error().message().empty()) << "seed " << kSeed << " iteration " << i;
      continue;
    }
    if (!ValidateMatrixConfig(*config).ok()) continue;
    const Result<MatrixPlan> plan = PlanMatrix(*config, "/nonexistent/data");
    if (plan.has_value()) ++accepted;
  }
  EXPECT_GT(tried, 100);
  std::cout << "matrix config: " << tried << " mutated inputs, " << accepted << " planned\n";
}

TEST(MatrixJournalMutationTest, DamagedJournalsOpenOrFailCleanly) {
  testutil::TempDir dir;
  const MatrixConfig config = testutil::SeedJournalConfig();
  const std::string out = dir.File("m");
  ASSERT_OK_AND_ASSIGN(const MatrixPlan plan, PlanMatrix(config, out + "/data"));
  {
    ASSERT_OK_AND_ASSIGN(MatrixJournal journal, MatrixJournal::Open(out, MatrixFingerprint(config, out + "/data", out),
                                                                    false, MatrixConfigToJson(config)));
    ASSERT_OK(testutil::FillJournal(journal, plan));
  }
  const std::string original = ReadAll(out + "/journal.jsonl");
  testutil::WriteSeed("matrix_journal", "seed.jsonl", original);
  testutil::Mutator mutator(kSeed);
  const auto deadline = std::chrono::steady_clock::now() + kTimeBudget;
  int tried = 0, opened = 0;
  for (int i = 0; i < kIterations && std::chrono::steady_clock::now() < deadline; ++i, ++tried) {
    const std::string copy = dir.File("c");
    std::filesystem::remove_all(copy);
    std::filesystem::create_directories(copy);
    {
      std::ofstream f(copy + "/journal.jsonl", std::ios::binary | std::ios::trunc);
      f << mutator.Mutate(original);
    }
    const Result<nlohmann::json> recorded = MatrixJournal::ReadConfig(copy);
    if (recorded.has_value() && recorded->is_object()) {
      ParseMatrixConfig(*recorded, DefaultMatrixConfig(), "mutated journal").status().IgnoreError();
    }
    Result<MatrixJournal> journal =
        MatrixJournal::Open(copy, MatrixFingerprint(config, copy + "/data", copy), /*fresh=*/false);
    if (!journal.has_value()) {
      EXPECT_FALSE(journal.error().message().empty()) << "seed " << kSeed << " iteration " << i;
      continue;
    }
    ++opened;
    MatrixOptions options;
    options.out_dir = copy;
    const Result<MatrixOutcome> written = WriteMatrixResults(config, *journal, options, copy);
    if (written.has_value()) {
      for (const std::string& file : written->results_files) {
        EXPECT_OK(ReadResultsFile(file).status()) << "seed " << kSeed << " iteration " << i << ": " << file;
      }
    }
  }
  EXPECT_GT(tried, 100);
  EXPECT_GT(opened, 0) << "some damage (a torn tail) is repaired, not refused";
  std::cout << "matrix journal: " << tried << " mutated inputs, " << opened << " opened\n";
}

}  // namespace
}  // namespace iodepth
