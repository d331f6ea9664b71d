// The seed corpus of the fuzz targets (tests/corpus/<reader>/): real inputs, written by the
// tests that make them. With IODEPTH_WRITE_CORPUS=DIR set, WriteSeed also writes `text` to
// DIR/<reader>/<name>; without it, it does nothing. To refresh the corpus:
//   IODEPTH_WRITE_CORPUS=$PWD/tests/corpus ctest --test-dir build/dev -R 'MutationTest'
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace iodepth::testutil {

inline void WriteSeed(const std::string& reader, const std::string& name, const std::string& text) {
  const char* dir = std::getenv("IODEPTH_WRITE_CORPUS");
  if (dir == nullptr) return;
  const std::filesystem::path folder = std::filesystem::path(dir) / reader;
  std::filesystem::create_directories(folder);
  std::ofstream(folder / name, std::ios::binary | std::ios::trunc) << text;
}

}  // namespace iodepth::testutil
