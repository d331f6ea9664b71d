// Tests of harness/data_file.h: the tool makes and grows its own self-verifying data
// files, and never writes, nor lets a job verify against, a file it did not make.
#include "harness/data_file.h"

#include <sys/stat.h>

#include <cstdint>
#include <fstream>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/block_pattern.h"
#include "io/file.h"
#include "test_files.h"
#include "testutil/status_macros.h"
#include "testutil/temp_dir.h"

namespace iodepth {
namespace {

using testutil::ReadFileBytes;
using testutil::TempDir;

constexpr uint64_t kMiB = uint64_t{1} << 20;

// The offset of the first byte of `path` that is not the pattern of `file_id`, or -1.
int64_t FirstNonPatternByte(const std::string& path, uint64_t file_id) {
  const std::vector<unsigned char> bytes = ReadFileBytes(path);
  const auto mismatch = FindPatternMismatch(std::as_bytes(std::span(bytes)), /*file_offset=*/0, file_id);
  return mismatch ? static_cast<int64_t>(*mismatch) : -1;
}

std::vector<unsigned char> RandomBytes(size_t size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<unsigned char> bytes(size);
  for (unsigned char& byte : bytes) byte = static_cast<unsigned char>(rng());
  return bytes;
}

class DataFileTest : public ::testing::Test {
 protected:
  TempDir dir_;
};

TEST_F(DataFileTest, MissingFileIsCreatedWithThePatternOfANewId) {
  const std::string path = dir_.File("new.dat");
  ASSERT_OK_AND_ASSIGN(const DataFileInfo info, EnsureDataFile({.path = path, .size_bytes = 3 * kMiB + 4096}));
  EXPECT_TRUE(info.created);
  EXPECT_TRUE(info.ours);
  EXPECT_NE(info.file_id, 0u);
  EXPECT_EQ(info.extended_from, 0u);
  EXPECT_EQ(info.size_bytes, 3 * kMiB + 4096);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), 3 * kMiB + 4096);
  EXPECT_EQ(FirstNonPatternByte(path, info.file_id), -1);
}

TEST_F(DataFileTest, TwoNewFilesGetDifferentIds) {
  ASSERT_OK_AND_ASSIGN(const DataFileInfo one, EnsureDataFile({.path = dir_.File("one.dat"), .size_bytes = 4096}));
  ASSERT_OK_AND_ASSIGN(const DataFileInfo two, EnsureDataFile({.path = dir_.File("two.dat"), .size_bytes = 4096}));
  EXPECT_NE(one.file_id, two.file_id) << "a block read from the wrong file would verify";
}

TEST_F(DataFileTest, ExistingFileOfOursIsReusedUnchanged) {
  const std::string path = dir_.File("ours.dat");
  ASSERT_OK(testutil::WritePatternFile(path, 2 * kMiB, testutil::kTestFileId));
  const std::vector<unsigned char> before = ReadFileBytes(path);
  for (bool will_write : {false, true}) {
    ASSERT_OK_AND_ASSIGN(
        const DataFileInfo info,
        EnsureDataFile({.path = path, .size_bytes = kMiB, .will_write = will_write, .need_pattern = true}));
    EXPECT_TRUE(info.ours);
    EXPECT_FALSE(info.created);
    EXPECT_EQ(info.file_id, testutil::kTestFileId);
    EXPECT_EQ(info.size_bytes, 2 * kMiB) << "a larger file is used as it is, not truncated";
    EXPECT_EQ(info.extended_from, 0u);
  }
  EXPECT_EQ(ReadFileBytes(path), before);
}

TEST_F(DataFileTest, ShortFileOfOursIsExtendedAndATornTailHealed) {
  // An interrupted fill: the last block is cut short in the middle.
  const std::string path = dir_.File("short.dat");
  const uint64_t torn_size = kMiB + 1000;
  ASSERT_OK(testutil::WritePatternFile(path, torn_size, testutil::kTestFileId));
  ASSERT_OK_AND_ASSIGN(const DataFileInfo info, EnsureDataFile({.path = path, .size_bytes = 4 * kMiB}));
  EXPECT_FALSE(info.created);
  EXPECT_EQ(info.file_id, testutil::kTestFileId) << "extending keeps the file's own id";
  EXPECT_EQ(info.extended_from, torn_size);
  EXPECT_EQ(info.size_bytes, 4 * kMiB);
  EXPECT_EQ(ReadFileBytes(path).size(), 4 * kMiB);
  EXPECT_EQ(FirstNonPatternByte(path, testutil::kTestFileId), -1);
}

TEST_F(DataFileTest, WritesOnAFileNotMadeByIodepthAreRefusedAndTheFileIsUnchanged) {
  const std::string path = dir_.File("precious.dat");
  const std::vector<unsigned char> content = RandomBytes(2 * kMiB, 99);
  testutil::WriteFileBytes(path, content);
  for (uint64_t size_bytes : {kMiB, 2 * kMiB, 8 * kMiB}) {
    const Result<DataFileInfo> info = EnsureDataFile({.path = path, .size_bytes = size_bytes, .will_write = true});
    ASSERT_FALSE(info.has_value()) << "size " << size_bytes;
    EXPECT_EQ(info.error().code(), StatusCode::kFailedPrecondition) << info.error().ToString();
    EXPECT_NE(info.error().message().find(path), std::string::npos) << info.error().ToString();
  }
  EXPECT_EQ(ReadFileBytes(path), content);
}

TEST_F(DataFileTest, ForeignFileWithAPatternLikeStartIsStillForeign) {
  // A file whose first block carries a pattern header that is not at offset 0 of the
  // pattern (a block copied from elsewhere) is not ours.
  const std::string path = dir_.File("copied.dat");
  std::vector<unsigned char> content = RandomBytes(kMiB, 5);
  std::vector<std::byte> block(4096);
  FillPattern(block, /*file_offset=*/8192, testutil::kTestFileId);
  for (size_t i = 0; i < block.size(); ++i) content[i] = static_cast<unsigned char>(block[i]);
  testutil::WriteFileBytes(path, content);
  const Result<DataFileInfo> info = EnsureDataFile({.path = path, .size_bytes = kMiB, .will_write = true});
  ASSERT_FALSE(info.has_value());
  EXPECT_EQ(info.error().code(), StatusCode::kFailedPrecondition) << info.error().ToString();
  EXPECT_EQ(ReadFileBytes(path), content);
}

TEST_F(DataFileTest, VerifyOnAFileNotMadeByIodepthIsRefused) {
  const std::string path = dir_.File("foreign.dat");
  const std::vector<unsigned char> content = RandomBytes(kMiB, 3);
  testutil::WriteFileBytes(path, content);
  const Result<DataFileInfo> info = EnsureDataFile({.path = path, .size_bytes = kMiB, .need_pattern = true});
  ASSERT_FALSE(info.has_value());
  EXPECT_EQ(info.error().code(), StatusCode::kFailedPrecondition) << info.error().ToString();
  EXPECT_NE(info.error().message().find("turn verification off"), std::string::npos) << info.error().ToString();
  EXPECT_EQ(info.error().setting(), "filename,verify");
  EXPECT_EQ(ReadFileBytes(path), content);
}

TEST_F(DataFileTest, ReadsOfAForeignFileAreAllowedAndLeaveItAlone) {
  const std::string path = dir_.File("foreign.dat");
  const std::vector<unsigned char> content = RandomBytes(kMiB, 4);
  testutil::WriteFileBytes(path, content);
  ASSERT_OK_AND_ASSIGN(const DataFileInfo info, EnsureDataFile({.path = path, .size_bytes = kMiB / 2}));
  EXPECT_FALSE(info.ours);
  EXPECT_FALSE(info.created);
  EXPECT_EQ(info.file_id, 0u);
  EXPECT_EQ(info.size_bytes, kMiB);
  EXPECT_EQ(ReadFileBytes(path), content);
}

TEST_F(DataFileTest, ForeignFileSmallerThanTheSizeIsRefusedNotExtended) {
  const std::string path = dir_.File("small-foreign.dat");
  const std::vector<unsigned char> content = RandomBytes(kMiB, 6);
  testutil::WriteFileBytes(path, content);
  const Result<DataFileInfo> info = EnsureDataFile({.path = path, .size_bytes = 2 * kMiB});
  ASSERT_FALSE(info.has_value());
  EXPECT_EQ(info.error().code(), StatusCode::kInvalidArgument) << info.error().ToString();
  EXPECT_NE(info.error().message().find("ask for 1048576 bytes or less"), std::string::npos) << info.error().ToString();
  EXPECT_EQ(info.error().setting(), "size");
  EXPECT_EQ(ReadFileBytes(path), content);
}

// A new file is filled under its partial name and renamed into place: what a killed fill
// left there is replaced, and no partial file stays behind.
TEST_F(DataFileTest, PartialFileAKilledFillLeftIsReplacedAndGone) {
  const std::string path = dir_.File("new.dat");
  const std::vector<unsigned char> junk = RandomBytes(kMiB, 5);
  {
    std::ofstream partial(PartialPath(path), std::ios::binary);
    partial.write(reinterpret_cast<const char*>(junk.data()), static_cast<std::streamsize>(junk.size()));
  }
  ASSERT_OK_AND_ASSIGN(const DataFileInfo info, EnsureDataFile({.path = path, .size_bytes = 2 * kMiB}));
  EXPECT_TRUE(info.created);
  EXPECT_EQ(FirstNonPatternByte(path, info.file_id), -1);
  EXPECT_EQ(ReadFileBytes(path).size(), 2 * kMiB);
  struct stat st {};
  EXPECT_NE(::stat(PartialPath(path).c_str(), &st), 0);
}

// A size the filesystem cannot hold beside its reserve is refused before a byte is
// written: a new file is not made, and a file of ours is not grown (the same room).
TEST_F(DataFileTest, SizeBeyondTheFreeSpaceIsRefusedBeforeAnythingIsWritten) {
  constexpr uint64_t kPiB = uint64_t{1} << 50;
  const std::string path = dir_.File("huge.dat");
  const Result<DataFileInfo> made = EnsureDataFile({.path = path, .size_bytes = kPiB});
  ASSERT_FALSE(made.has_value());
  EXPECT_EQ(made.error().code(), StatusCode::kResourceExhausted) << made.error().message();
  EXPECT_EQ(made.error().setting(), "size");
  EXPECT_NE(made.error().message().find("free"), std::string::npos) << made.error().message();
  struct stat st {};
  EXPECT_NE(::stat(path.c_str(), &st), 0) << "nothing was created";

  const std::string ours = dir_.File("ours.dat");
  ASSERT_OK(testutil::WritePatternFile(ours, kMiB, testutil::kTestFileId));
  const std::vector<unsigned char> before = ReadFileBytes(ours);
  const Result<DataFileInfo> grown = EnsureDataFile({.path = ours, .size_bytes = kPiB});
  ASSERT_FALSE(grown.has_value());
  EXPECT_EQ(grown.error().code(), StatusCode::kResourceExhausted) << grown.error().message();
  EXPECT_EQ(ReadFileBytes(ours), before) << "not grown by a byte";
}

TEST_F(DataFileTest, ZeroSizeIsRefused) {
  const Result<DataFileInfo> info = EnsureDataFile({.path = dir_.File("zero.dat"), .size_bytes = 0});
  ASSERT_FALSE(info.has_value());
  EXPECT_EQ(info.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(info.error().message().find("size must be larger than 0"), std::string::npos) << info.error().ToString();
  EXPECT_EQ(info.error().setting(), "size");
}

TEST_F(DataFileTest, DirectoryIsRefused) {
  const Result<DataFileInfo> info = EnsureDataFile({.path = dir_.path(), .size_bytes = kMiB, .will_write = true});
  ASSERT_FALSE(info.has_value());
  EXPECT_EQ(info.error().code(), StatusCode::kInvalidArgument) << info.error().ToString();
}

}  // namespace
}  // namespace iodepth
