// Tests of harness/cache_state.h: dropping and warming a file's page cache, and measuring
// what is resident, on a real file in the build tree's filesystem.
#include "harness/cache_state.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_files.h"
#include "testutil/status_macros.h"
#include "testutil/temp_dir.h"

namespace iodepth {
namespace {

constexpr uint64_t kFileBytes = uint64_t{16} << 20;

class CacheStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.File("data.dat");
    ASSERT_OK(testutil::WritePatternFile(path_, kFileBytes, testutil::kTestFileId));  // Written and synced.
  }

  double Resident(uint64_t bytes) const {
    Result<double> fraction = ResidentFraction(path_, bytes);
    EXPECT_TRUE(fraction.has_value()) << fraction.error().ToString();
    return fraction.has_value() ? *fraction : -1;
  }

  testutil::TempDir dir_;
  std::string path_;
};

TEST_F(CacheStateTest, DropThenWarmThenDropAgain) {
  ASSERT_OK(DropFileCache(path_, /*use_drop_caches=*/false));
  EXPECT_LT(Resident(kFileBytes), 0.5);
  ASSERT_OK(WarmFileCache(path_, kFileBytes));
  EXPECT_GT(Resident(kFileBytes), 0.9);
  ASSERT_OK(DropFileCache(path_, /*use_drop_caches=*/false));
  EXPECT_LT(Resident(kFileBytes), 0.5);
}

TEST_F(CacheStateTest, DropWritesBackDirtyPagesFirst) {
  // Freshly warmed and then dirtied by a buffered rewrite: dirty pages cannot be dropped
  // until written, so the drop must sync them before it advises.
  ASSERT_OK(WarmFileCache(path_, kFileBytes));
  ASSERT_OK(testutil::WritePatternFile(path_, kFileBytes, testutil::kTestFileId + 1));
  ASSERT_OK(DropFileCache(path_, /*use_drop_caches=*/false));
  EXPECT_LT(Resident(kFileBytes), 0.5);
}

TEST_F(CacheStateTest, WarmingAPrefixCachesAtLeastThatPrefix) {
  // Readahead may cache more than asked (8 MiB is a common read_ahead_kb), so only the
  // prefix itself is checked.
  ASSERT_OK(DropFileCache(path_, false));
  ASSERT_OK(WarmFileCache(path_, kFileBytes / 4));
  EXPECT_GT(Resident(kFileBytes / 4), 0.9);
}

TEST_F(CacheStateTest, ResidentFractionCountsOnlyTheRangeAsked) {
  ASSERT_OK(DropFileCache(path_, false));
  // Cache exactly the last quarter, reading it behind the code's back with readahead off.
  {
    const testutil::ScopedFd fd(::open(path_.c_str(), O_RDONLY));
    ASSERT_GE(fd.get(), 0);
    ASSERT_EQ(::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_RANDOM), 0);
    std::vector<char> chunk(64 << 10);
    for (uint64_t offset = kFileBytes / 4 * 3; offset < kFileBytes; offset += chunk.size()) {
      ASSERT_EQ(::pread(fd.get(), chunk.data(), chunk.size(), static_cast<off_t>(offset)),
                static_cast<ssize_t>(chunk.size()));
    }
  }
  EXPECT_LT(Resident(kFileBytes / 4), 0.1) << "the first quarter was not read";
  const double whole = Resident(kFileBytes);
  EXPECT_GT(whole, 0.2);
  EXPECT_LT(whole, 0.3);
}

TEST_F(CacheStateTest, ResidencyPastTheEndOfTheFileIsMeasuredOverTheFile) {
  ASSERT_OK(WarmFileCache(path_, kFileBytes));
  EXPECT_GT(Resident(4 * kFileBytes), 0.9);
  ASSERT_OK(WarmFileCache(path_, 4 * kFileBytes)) << "warming past the end stops at the end";
}

TEST_F(CacheStateTest, NothingIsResidentInAnEmptyRangeOrAnEmptyFile) {
  EXPECT_EQ(Resident(0), 0.0);
  const std::string empty = dir_.File("empty.dat");
  ASSERT_OK(testutil::WritePatternFile(empty, 0, testutil::kTestFileId));
  ASSERT_OK_AND_ASSIGN(const double fraction, ResidentFraction(empty, kFileBytes));
  EXPECT_EQ(fraction, 0.0);
  EXPECT_OK(WarmFileCache(empty, kFileBytes));
  EXPECT_OK(DropFileCache(empty, false));
}

TEST_F(CacheStateTest, MissingFileIsAnErrorEverywhere) {
  const std::string missing = dir_.File("missing.dat");
  EXPECT_FALSE(DropFileCache(missing, false).ok());
  EXPECT_FALSE(WarmFileCache(missing, kFileBytes).ok());
  EXPECT_FALSE(ResidentFraction(missing, kFileBytes).has_value());
}

TEST(CacheStateNameTest, NamesRoundTrip) {
  EXPECT_EQ(CacheStateName(CacheState::kNotApplicable), "n/a");
  for (CacheState state : {CacheState::kCold, CacheState::kWarm}) {
    ASSERT_OK_AND_ASSIGN(const CacheState parsed, ParseCacheState(CacheStateName(state)));
    EXPECT_EQ(parsed, state);
  }
  const Result<CacheState> bad = ParseCacheState("tepid");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.error().message().find("choose cold or warm"), std::string::npos) << bad.error().ToString();
  EXPECT_EQ(bad.error().setting(), "cache_state");
  EXPECT_FALSE(ParseCacheState("n/a").has_value()) << "n/a is an outcome, not a choice";
}

}  // namespace
}  // namespace iodepth
