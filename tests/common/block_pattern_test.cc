#include "common/block_pattern.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <unordered_set>
#include <vector>

#include <gtest/gtest.h>

namespace iodepth {
namespace {

constexpr uint64_t kId = 0x1D;

// The byte the format table in block_pattern.h puts at `offset`, computed independently
// of FillPattern: word = PatternWord(offset rounded down to 8), little-endian.
std::byte ExpectedByte(uint64_t file_id, uint64_t offset) {
  const uint64_t word = PatternWord(file_id, offset - offset % 8);
  return static_cast<std::byte>((word >> (8 * (offset % 8))) & 0xff);
}

std::vector<std::byte> Filled(uint64_t file_offset, size_t length, uint64_t file_id = kId) {
  std::vector<std::byte> buffer(length, std::byte{0xAB});
  FillPattern(buffer, file_offset, file_id);
  return buffer;
}

TEST(BlockPatternTest, WordsFollowTheFormatTable) {
  EXPECT_EQ(PatternWord(kId, 0), kPatternMagic);
  EXPECT_EQ(PatternWord(kId, 8), kId);
  EXPECT_EQ(PatternWord(kId, 16), 0u);
  EXPECT_EQ(PatternWord(kId, 3 * 4096), kPatternMagic);
  EXPECT_EQ(PatternWord(kId, 3 * 4096 + 8), kId);
  EXPECT_EQ(PatternWord(kId, 3 * 4096 + 16), 3u * 4096);
  EXPECT_EQ(PatternWord(kId, 24), (24 * kPatternMultiplier) ^ kId);
  EXPECT_EQ(PatternWord(kId, 4096 + 4088), ((4096 + 4088) * kPatternMultiplier) ^ kId);
  uint64_t magic = 0;
  std::memcpy(&magic, "IODEPTH1", 8);
  EXPECT_EQ(magic, kPatternMagic);
}

TEST(BlockPatternTest, BodyWordsNeverRepeatWithinAFile) {
  std::unordered_set<uint64_t> seen;
  for (uint64_t q = 0; q < 64 * 4096; q += 8) {
    if (q % 4096 < 24) continue;  // Header words repeat by design.
    EXPECT_TRUE(seen.insert(PatternWord(kId, q)).second) << "word at " << q;
  }
}

TEST(BlockPatternTest, FillMatchesTheTableAtEveryUnalignedOffsetAndLength) {
  for (uint64_t offset : {uint64_t{0}, uint64_t{1}, uint64_t{7}, uint64_t{8}, uint64_t{13}, uint64_t{4090},
                          uint64_t{4096}, uint64_t{8191}, uint64_t{1} << 40}) {
    for (size_t length = 0; length <= 40; ++length) {
      const std::vector<std::byte> buffer = Filled(offset, length);
      for (size_t i = 0; i < length; ++i) {
        ASSERT_EQ(buffer[i], ExpectedByte(kId, offset + i)) << "offset " << offset << " length " << length;
      }
    }
  }
}

TEST(BlockPatternTest, FillingInPiecesEqualsFillingAtOnce) {
  const uint64_t start = 4093;
  const std::vector<std::byte> whole = Filled(start, 3 * 4096 + 11);
  for (size_t split : {size_t{0}, size_t{1}, size_t{3}, size_t{5}, size_t{8}, size_t{4000}, whole.size()}) {
    std::vector<std::byte> pieces(whole.size());
    FillPattern(std::span(pieces).first(split), start, kId);
    FillPattern(std::span(pieces).subspan(split), start + split, kId);
    EXPECT_EQ(pieces, whole) << "split at " << split;
  }
}

TEST(BlockPatternTest, FilledDataVerifiesAtUnalignedRanges) {
  for (uint64_t offset : {uint64_t{0}, uint64_t{3}, uint64_t{4095}, uint64_t{12'345}, uint64_t{1} << 33}) {
    for (size_t length : {size_t{0}, size_t{1}, size_t{9}, size_t{4096}, size_t{3 * 4096 + 5}}) {
      const std::vector<std::byte> buffer = Filled(offset, length);
      EXPECT_EQ(FindPatternMismatch(buffer, offset, kId), std::nullopt) << offset << "+" << length;
    }
  }
}

TEST(BlockPatternTest, SingleFlippedByteIsFoundAtExactlyItsOffset) {
  const uint64_t start = 4096 * 5 - 13;  // Unaligned head, a block header inside, unaligned tail.
  std::vector<std::byte> buffer = Filled(start, 2 * 4096 + 29);
  for (size_t i = 0; i < buffer.size(); ++i) {
    buffer[i] ^= std::byte{0x10};
    const std::optional<uint64_t> mismatch = FindPatternMismatch(buffer, start, kId);
    buffer[i] ^= std::byte{0x10};
    ASSERT_TRUE(mismatch.has_value()) << "flip at index " << i << " missed";
    ASSERT_EQ(*mismatch, start + i);
  }
}

TEST(BlockPatternTest, FirstOfSeveralMismatchesIsReported) {
  const uint64_t start = 100;
  std::vector<std::byte> buffer = Filled(start, 1000);
  buffer[700] = ~buffer[700];
  buffer[301] = ~buffer[301];
  EXPECT_EQ(FindPatternMismatch(buffer, start, kId), start + 301);
}

TEST(BlockPatternTest, DataFromAnotherFileOrOffsetIsCaught) {
  const std::vector<std::byte> block = Filled(8192, 4096);
  EXPECT_EQ(FindPatternMismatch(block, 8192, kId), std::nullopt);
  EXPECT_EQ(FindPatternMismatch(block, 8192, kId + 1), std::optional<uint64_t>(8192 + 8)) << "header file id";
  // The offset word holds 0x2000 where 0x1000 belongs: they first differ in byte 1.
  EXPECT_EQ(FindPatternMismatch(block, 4096, kId), std::optional<uint64_t>(4096 + 16 + 1)) << "block offset";
  EXPECT_TRUE(FindPatternMismatch(std::span(block).subspan(8), 8192, kId).has_value()) << "shifted by one word";
  const std::vector<std::byte> zeros(4096);
  EXPECT_EQ(FindPatternMismatch(zeros, 0, kId), std::optional<uint64_t>(0));
}

TEST(BlockPatternTest, HeaderNamesFileAndBlockOffset) {
  const std::vector<std::byte> block = Filled(7 * 4096, 4096, /*file_id=*/99);
  uint64_t file_id = 0;
  uint64_t block_offset = 0;
  ASSERT_TRUE(ReadPatternHeader(block, &file_id, &block_offset));
  EXPECT_EQ(file_id, 99u);
  EXPECT_EQ(block_offset, 7u * 4096);
  ASSERT_TRUE(ReadPatternHeader(std::span(block).first(24), &file_id, &block_offset)) << "24 bytes are enough";
}

TEST(BlockPatternTest, HeaderIsRefusedWhenTooShortOrNotAPattern) {
  const std::vector<std::byte> block = Filled(0, 4096);
  uint64_t file_id = 123;
  uint64_t block_offset = 456;
  EXPECT_FALSE(ReadPatternHeader(std::span(block).first(23), &file_id, &block_offset));
  EXPECT_FALSE(ReadPatternHeader(std::vector<std::byte>(4096), &file_id, &block_offset));
  EXPECT_FALSE(ReadPatternHeader(std::span(block).subspan(8), &file_id, &block_offset)) << "not at a boundary";
  EXPECT_EQ(file_id, 123u) << "outputs untouched on failure";
  EXPECT_EQ(block_offset, 456u);
}

}  // namespace
}  // namespace iodepth
