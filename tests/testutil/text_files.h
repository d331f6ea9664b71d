// Plain text files for tests that fake what the kernel shows (/proc, /sys, cgroupfs):
// write one, creating its directories, or read one back whole. Written with the standard
// library, never with the code under test.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>

#include <gtest/gtest.h>

namespace iodepth::testutil {

// Writes `text` to `path`, creating its parent directories.
inline void WriteText(const std::string& path, const std::string& text) {
  std::error_code error;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), error);
  ASSERT_FALSE(error) << "mkdir for " << path << ": " << error.message();
  std::ofstream out(path, std::ios::trunc);
  out << text;
  ASSERT_TRUE(out.good()) << "write " << path;
}

inline std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace iodepth::testutil
