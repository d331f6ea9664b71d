#include "common/units.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include <gtest/gtest.h>

namespace iodepth {
namespace {

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = kKiB * 1024;
constexpr uint64_t kGiB = kMiB * 1024;
constexpr uint64_t kTiB = kGiB * 1024;

// A rejected input must say which flag was wrong and what the user typed.
template <typename T>
void ExpectRejected(const Result<T>& result, std::string_view flag, std::string_view text) {
  ASSERT_FALSE(result.has_value()) << "'" << text << "' was accepted as " << *result;
  EXPECT_EQ(result.error().code(), StatusCode::kInvalidArgument) << text;
  EXPECT_NE(result.error().message().find(flag), std::string::npos) << result.error().message();
  EXPECT_NE(result.error().message().find(text), std::string::npos) << result.error().message();
}

TEST(ParseSizeTest, AcceptsPlainNumbersAndBinarySuffixesInAnyCase) {
  const std::pair<std::string_view, uint64_t> cases[] = {
      {"0", 0},
      {"1", 1},
      {"4096", 4096},
      {"512b", 512},
      {"512B", 512},
      {"4k", 4 * kKiB},
      {"4K", 4 * kKiB},
      {"4kb", 4 * kKiB},
      {"4KiB", 4 * kKiB},
      {"4kib", 4 * kKiB},
      {"256m", 256 * kMiB},
      {"256MiB", 256 * kMiB},
      {"256MB", 256 * kMiB},
      {"1g", kGiB},
      {"3G", 3 * kGiB},
      {"2t", 2 * kTiB},
      {"2TiB", 2 * kTiB},
      {"16777215t", 16777215 * kTiB},
      {"18446744073709551615", UINT64_MAX},
  };
  for (const auto& [text, expected] : cases) {
    const Result<uint64_t> parsed = ParseSize(text, "--bs");
    ASSERT_TRUE(parsed.has_value()) << text << ": " << parsed.error().ToString();
    EXPECT_EQ(*parsed, expected) << text;
  }
}

TEST(ParseSizeTest, RejectsMalformedInputNamingTheFlag) {
  for (std::string_view text : {"", "k", "-1", "+4k", "1.5k", "4x", "4 k", " 4k", "4k ", "4kk", "4kibb", "4p", "0x10",
                                "18446744073709551616", "16777216t", "99999999999999999999k"}) {
    SCOPED_TRACE(std::string("input '") + std::string(text) + "'");
    ExpectRejected(ParseSize(text, "--bs"), "--bs", text);
  }
}

TEST(ParseDurationTest, AcceptsUnitsAndBareSeconds) {
  const std::pair<std::string_view, int64_t> cases[] = {
      {"0", 0},
      {"10", 10'000'000'000},
      {"10s", 10'000'000'000},
      {"10S", 10'000'000'000},
      {"250ms", 250'000'000},
      {"100us", 100'000},
      {"2m", 120'000'000'000},
      {"1h", 3'600'000'000'000},
      {"2562047h", 2562047 * int64_t{3'600'000'000'000}},
  };
  for (const auto& [text, expected] : cases) {
    const Result<int64_t> parsed = ParseDurationNs(text, "--runtime");
    ASSERT_TRUE(parsed.has_value()) << text << ": " << parsed.error().ToString();
    EXPECT_EQ(*parsed, expected) << text;
  }
}

TEST(ParseDurationTest, RejectsMalformedInputNamingTheFlag) {
  for (std::string_view text : {"", "s", "ms", "-5s", "1.5s", "10x", "10 s", "10sec", "5d", "10ns", "2562048h",
                                "9223372037s", "99999999999999999999"}) {
    SCOPED_TRACE(std::string("input '") + std::string(text) + "'");
    ExpectRejected(ParseDurationNs(text, "--runtime"), "--runtime", text);
  }
}

TEST(FormatBytesTest, ExactBelowOneKibibyteOneDecimalAbove) {
  EXPECT_EQ(FormatBytes(0), "0 B");
  EXPECT_EQ(FormatBytes(1023), "1023 B");
  EXPECT_EQ(FormatBytes(1024), "1 KiB");
  EXPECT_EQ(FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(FormatBytes(4 * kKiB), "4 KiB");
  EXPECT_EQ(FormatBytes(256 * kMiB), "256 MiB");
  EXPECT_EQ(FormatBytes(3 * kGiB / 2), "1.5 GiB");
  EXPECT_EQ(FormatBytes(2 * kTiB), "2 TiB");
}

TEST(FormatBytesTest, ParseSizeReadsBackWholeUnits) {
  for (uint64_t bytes : {uint64_t{4} * kKiB, 256 * kMiB, 8 * kGiB}) {
    std::string text = FormatBytes(bytes);
    std::erase(text, ' ');
    const Result<uint64_t> parsed = ParseSize(text, "--size");
    ASSERT_TRUE(parsed.has_value()) << text;
    EXPECT_EQ(*parsed, bytes);
  }
}

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSecond = 1'000 * kMs;

// The values the suite prints in its estimate and ETA lines.
TEST(FormatDurationTest, WholeSecondsTruncatesAndDropsSecondsFromAnHourOn) {
  const std::pair<int64_t, std::string_view> cases[] = {
      {0, "0s"},
      {400 * kMs, "0s"},
      {9'950 * kMs, "9s"},
      {10 * kSecond, "10s"},
      {59 * kSecond, "59s"},
      {60 * kSecond - 1, "59s"},
      {60 * kSecond, "1m00s"},
      {61 * kSecond, "1m01s"},
      {3'599 * kSecond, "59m59s"},
      {3'600 * kSecond, "1h00m"},
      {3'661 * kSecond, "1h01m"},
      {25 * 3'600 * kSecond + 59 * kSecond, "25h00m"},
  };
  for (const auto& [ns, expected] : cases) EXPECT_EQ(FormatDuration(ns, DurationStyle::kWholeSeconds), expected) << ns;
}

// The values the matrix prints in its estimate, progress and --list lines.
TEST(FormatDurationTest, TenthsBelowTenSecondsThenWholeSeconds) {
  const std::pair<int64_t, std::string_view> cases[] = {
      {0, "0.0s"},
      {200 * kMs, "0.2s"},
      {400 * kMs, "0.4s"},
      {2 * kSecond, "2.0s"},
      {9'950 * kMs, "9.9s"},   // 9.95 as a double lies just below 9.95, so it rounds down.
      {9'960 * kMs, "10.0s"},  // Below 10 s, so still in tenths, rounded up.
      {10 * kSecond, "10s"},
      {10 * kSecond + 999 * kMs, "10s"},
      {59 * kSecond, "59s"},
      {61 * kSecond, "1m01s"},
      {3'661 * kSecond, "1h01m"},
  };
  for (const auto& [ns, expected] : cases) {
    EXPECT_EQ(FormatDuration(ns, DurationStyle::kTenthsBelowTenSeconds), expected) << ns;
  }
}

// The values the matrix config dump (--print-config, the journal's fingerprint) holds.
TEST(FormatDurationTest, ParseableIsMillisecondsOrElseMicroseconds) {
  const std::pair<int64_t, std::string_view> cases[] = {
      {0, "0ms"},
      {1 * kMs, "1ms"},
      {400 * kMs, "400ms"},
      {2 * kSecond, "2000ms"},
      {61 * kSecond, "61000ms"},
      {3'661 * kSecond, "3661000ms"},
      {1'500'000, "1500us"},
      {1'500'000 + 999, "1500us"},  // Below a microsecond is dropped.
      {1'500, "1us"},
      {999, "0us"},
  };
  for (const auto& [ns, expected] : cases) EXPECT_EQ(FormatDuration(ns, DurationStyle::kParseable), expected) << ns;
}

TEST(FormatDurationTest, ParseDurationReadsParseableBack) {
  for (const int64_t ns : {int64_t{0}, 200 * kMs, 2 * kSecond, 3'661 * kSecond, int64_t{1'234'000}}) {
    const std::string text = FormatDuration(ns, DurationStyle::kParseable);
    const Result<int64_t> parsed = ParseDurationNs(text, "--runtime");
    ASSERT_TRUE(parsed.has_value()) << text << ": " << parsed.error().ToString();
    EXPECT_EQ(*parsed, ns) << text;
  }
}

}  // namespace
}  // namespace iodepth
