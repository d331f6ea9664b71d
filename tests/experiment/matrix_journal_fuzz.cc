// Fuzz target: a matrix journal (<out>/journal.jsonl), as a resume or `--collect` reads
// it: its recorded config, the journal opened against a fingerprint, and, when it opens,
// its units collected into results files that must read back. Any input must end in
// results or a clear error. Driven by testutil/fuzz_main.cc, or by libFuzzer.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "experiment/journal_fill.h"
#include "experiment/matrix.h"

namespace {

// One scratch directory per process, under the working directory (ctest runs targets in
// the build tree), removed at exit.
const std::string& Scratch() {
  // Never destroyed: the exit handler that removes the directory runs after static
  // destructors would have freed it.
  static const std::string* const dir = [] {
    auto* path = new std::string(
        (std::filesystem::current_path() / ("matrix_journal_fuzz." + std::to_string(::getpid()))).string());
    std::filesystem::create_directories(*path);
    std::atexit([] { std::filesystem::remove_all(Scratch()); });
    return path;
  }();
  return *dir;
}

void RequireMessage(const iodepth::Status& status, const char* what) {
  if (!status.ok() && status.message().empty()) {
    std::cerr << what << " refused an input without saying why\n";
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string out = Scratch() + "/m";
  std::filesystem::remove_all(out);
  std::filesystem::create_directories(out);
  {
    std::ofstream journal(out + "/journal.jsonl", std::ios::binary | std::ios::trunc);
    journal.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  const iodepth::Result<nlohmann::json> recorded = iodepth::MatrixJournal::ReadConfig(out);
  if (recorded.has_value() && recorded->is_object()) {
    const auto parsed = iodepth::ParseMatrixConfig(*recorded, iodepth::DefaultMatrixConfig(), "fuzzed journal");
    if (!parsed.has_value()) RequireMessage(parsed.error(), "the journal's config reader");
  } else if (!recorded.has_value()) {
    RequireMessage(recorded.error(), "the journal's config reader");
  }
  const iodepth::MatrixConfig config = iodepth::testutil::SeedJournalConfig();
  iodepth::Result<iodepth::MatrixJournal> journal =
      iodepth::MatrixJournal::Open(out, iodepth::MatrixFingerprint(config, out + "/data", out), /*fresh=*/false);
  if (!journal.has_value()) {
    RequireMessage(journal.error(), "the journal reader");
    return 0;
  }
  iodepth::MatrixOptions options;
  options.out_dir = out;
  const iodepth::Result<iodepth::MatrixOutcome> written = iodepth::WriteMatrixResults(config, *journal, options, out);
  if (!written.has_value()) {
    RequireMessage(written.error(), "collecting the journal");
    return 0;
  }
  for (const std::string& file : written->results_files) {
    const iodepth::Status read = iodepth::ReadResultsFile(file).status();
    if (!read.ok()) {
      std::cerr << "a results file collected from a journal does not read back: " << read.ToString() << "\n";
      std::abort();
    }
  }
  return 0;
}
