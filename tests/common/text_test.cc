#include "common/text.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace iodepth {
namespace {

TEST(TextTest, TrimDropsSpacesTabsAndNewlinesAtBothEndsOnly) {
  EXPECT_EQ(Trim("  a b\t\n"), "a b");
  EXPECT_EQ(Trim("\n\r\t "), "");
  EXPECT_EQ(Trim(""), "");
}

TEST(TextTest, ParseU64TakesADecimalNumberWithSpacesAroundAndNothingElse) {
  EXPECT_EQ(ParseU64(" 42\n"), std::optional<uint64_t>(42));
  EXPECT_EQ(ParseU64("18446744073709551615"), std::optional<uint64_t>(UINT64_MAX));
  EXPECT_FALSE(ParseU64("18446744073709551616").has_value()) << "overflow";
  EXPECT_FALSE(ParseU64("").has_value());
  EXPECT_FALSE(ParseU64("-1").has_value());
  EXPECT_FALSE(ParseU64("12abc").has_value());
}

TEST(TextTest, SplitWordsSplitsAtRunsOfSpacesAndTabs) {
  EXPECT_EQ(SplitWords("cpu  10 2\t\t3 "), (std::vector<std::string_view>{"cpu", "10", "2", "3"}));
  EXPECT_EQ(SplitWords("  one"), (std::vector<std::string_view>{"one"}));
  EXPECT_TRUE(SplitWords("").empty());
  EXPECT_TRUE(SplitWords(" \t ").empty());
}

TEST(TextTest, ForEachLineGivesEveryLineWithoutItsNewline) {
  std::vector<std::string> lines;
  ForEachLine("a\n\nb c\nlast", [&](std::string_view line) { lines.emplace_back(line); });
  EXPECT_EQ(lines, (std::vector<std::string>{"a", "", "b c", "last"}));
  lines.clear();
  ForEachLine("one\n", [&](std::string_view line) { lines.emplace_back(line); });
  EXPECT_EQ(lines, (std::vector<std::string>{"one"})) << "a final newline ends the last line, no empty line after";
}

TEST(TextTest, JoinPathNeverDoublesTheSlash) {
  EXPECT_EQ(JoinPath("/sys/fs/cgroup", "memory"), "/sys/fs/cgroup/memory");
  EXPECT_EQ(JoinPath("/sys/fs/cgroup/", "memory"), "/sys/fs/cgroup/memory");
}

TEST(TextTest, UnescapeOctalDecodesMountinfoEscapesAndKeepsOtherBackslashes) {
  EXPECT_EQ(UnescapeOctal("/mnt/my\\040disk"), "/mnt/my disk");
  EXPECT_EQ(UnescapeOctal("a\\134b\\011c"), "a\\b\tc");
  EXPECT_EQ(UnescapeOctal("end\\04"), "end\\04") << "an escape cut short by the end is kept";
  EXPECT_EQ(UnescapeOctal("x\\089"), "x\\089") << "8 and 9 are not octal";
}

TEST(TextTest, PathExistsForDirectoriesAndNotForMissingPaths) {
  EXPECT_TRUE(PathExists("/"));
  EXPECT_FALSE(PathExists("/no/such/path/iodepth"));
}

}  // namespace
}  // namespace iodepth
