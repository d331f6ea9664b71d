// The driver of the fuzz targets (tests/<layer>/<reader>_fuzz.cc) where libFuzzer is not
// linked (the GCC builds, so the sanitizer builds of CI run them too):
//
//   <reader>_fuzz [--mutations=N] [--seed=S] [--seconds=T] PATH...
//
// Each PATH (a file, or every file in a directory, in name order) is fed to the target
// as it is, then N seeded mutations of it (testutil/mutator.h: flips, cuts, erased and
// repeated spans, extreme numbers, hostile JSON tokens), until T seconds have passed.
// A crash, a hang (ctest's timeout) or a sanitizer report fails the run; anything the
// target returns is fine. It prints the inputs tried per file, and the seed and
// iteration of the input it is on before each, so a failure names what reproduces it.
// With libFuzzer (IODEPTH_FUZZ=ON, clang) this file is not linked: libFuzzer's own main
// replays and explores the same corpus (scripts/fuzz.sh).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "testutil/mutator.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

struct Options {
  uint64_t mutations = 0;
  uint64_t seed = 20261202;
  double seconds = 30;
  std::vector<std::string> paths;
};

bool ParseNumber(std::string_view arg, std::string_view flag, double& out) {
  if (!arg.starts_with(flag)) return false;
  out = std::strtod(std::string(arg.substr(flag.size())).c_str(), nullptr);
  return true;
}

Options ParseArgs(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    double value = 0;
    if (ParseNumber(arg, "--mutations=", value)) {
      options.mutations = static_cast<uint64_t>(value);
    } else if (ParseNumber(arg, "--seed=", value)) {
      options.seed = static_cast<uint64_t>(value);
    } else if (ParseNumber(arg, "--seconds=", value)) {
      options.seconds = value;
    } else if (arg.starts_with("--")) {
      std::cerr << "fuzz driver: unknown flag " << arg << "; use --mutations=N --seed=S --seconds=T PATH...\n";
      std::exit(2);
    } else {
      options.paths.emplace_back(arg);
    }
  }
  return options;
}

std::vector<std::string> InputFiles(const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  for (const std::string& path : paths) {
    if (std::filesystem::is_directory(path)) {
      std::vector<std::string> in_dir;
      for (const auto& entry : std::filesystem::directory_iterator(path)) {
        if (entry.is_regular_file()) in_dir.push_back(entry.path().string());
      }
      std::sort(in_dir.begin(), in_dir.end());
      files.insert(files.end(), in_dir.begin(), in_dir.end());
    } else if (std::filesystem::is_regular_file(path)) {
      files.push_back(path);
    } else {
      std::cerr << "fuzz driver: " << path << " is neither a file nor a directory\n";
      std::exit(2);
    }
  }
  return files;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

void Feed(const std::string& input) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = ParseArgs(argc, argv);
  const std::vector<std::string> files = InputFiles(options.paths);
  if (files.empty()) {
    std::cerr << "fuzz driver: no input files in the paths given; name a corpus directory or files\n";
    return 2;
  }
  const auto deadline =
      std::chrono::steady_clock::now() +
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(options.seconds));
  // Each file gets an equal share of the time, so a slow reader cannot starve the others.
  const auto share = (deadline - std::chrono::steady_clock::now()) / static_cast<int64_t>(files.size());
  uint64_t total = 0;
  for (size_t f = 0; f < files.size(); ++f) {
    const std::string original = ReadAll(files[f]);
    Feed(original);
    const auto file_deadline = std::min(deadline, std::chrono::steady_clock::now() + share);
    iodepth::testutil::Mutator mutator(options.seed + f);
    uint64_t tried = 1;
    for (uint64_t i = 0; i < options.mutations && std::chrono::steady_clock::now() < file_deadline; ++i, ++tried) {
      Feed(mutator.Mutate(original));
    }
    total += tried;
    std::cout << files[f] << ": " << tried << " inputs (seed " << options.seed + f << ")\n";
  }
  std::cout << "fuzz driver: " << total << " inputs from " << files.size() << " files, no crash\n";
  return 0;
}
