#include "common/crc32c.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace iodepth {
namespace {

// One bit at a time, straight from the definition (reflected polynomial 0x82F63B78):
// slow, obviously right, and shares no code with the accelerated paths ISA-L picks.
uint32_t BitwiseCrc32c(std::span<const std::byte> data) {
  uint32_t crc = 0xFFFFFFFF;
  for (std::byte b : data) {
    crc ^= static_cast<uint32_t>(b);
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0x82F63B78 & (0u - (crc & 1)));
  }
  return ~crc;
}

std::vector<std::byte> RandomBytes(size_t size_bytes, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::byte> bytes(size_bytes);
  for (auto& b : bytes) b = static_cast<std::byte>(rng() & 0xFF);
  return bytes;
}

std::span<const std::byte> AsBytes(std::string_view text) { return std::as_bytes(std::span(text)); }

// The test vectors of RFC 3720, appendix B.4.
TEST(Crc32cTest, ThirtyTwoZeroBytesMatchRfc3720) {
  std::array<std::byte, 32> data{};
  EXPECT_EQ(Crc32c(data), 0x8A9136AAu);
}

TEST(Crc32cTest, ThirtyTwoOnesBytesMatchRfc3720) {
  std::array<std::byte, 32> data;
  data.fill(std::byte{0xFF});
  EXPECT_EQ(Crc32c(data), 0x62A8AB43u);
}

TEST(Crc32cTest, AscendingBytesMatchRfc3720) {
  std::array<std::byte, 32> data;
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::byte>(i);
  EXPECT_EQ(Crc32c(data), 0x46DD794Eu);
}

TEST(Crc32cTest, DescendingBytesMatchRfc3720) {
  std::array<std::byte, 32> data;
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::byte>(31 - i);
  EXPECT_EQ(Crc32c(data), 0x113FDB5Cu);
}

TEST(Crc32cTest, CheckStringMatchesCatalogue) { EXPECT_EQ(Crc32c(AsBytes("123456789")), 0xE3069283u); }

TEST(Crc32cTest, EmptyInputIsZeroAndExtendsNothing) {
  EXPECT_EQ(Crc32c({}), 0u);
  EXPECT_EQ(Crc32cExtend(0xE3069283, {}), 0xE3069283u);
}

// Accelerated code handles heads, 8-byte words, folded blocks and tails separately: every
// length up to 300 at every start offset modulo 8 exercises each seam.
TEST(Crc32cTest, MatchesBitwiseReferenceForEveryLengthUpTo300AtEveryAlignment) {
  const std::vector<std::byte> bytes = RandomBytes(300 + 8, /*seed=*/1);
  for (size_t start = 0; start < 8; ++start) {
    for (size_t length = 0; length <= 300; ++length) {
      const auto data = std::span(bytes).subspan(start, length);
      ASSERT_EQ(Crc32c(data), BitwiseCrc32c(data)) << "start " << start << ", length " << length;
    }
  }
}

TEST(Crc32cTest, MatchesBitwiseReferenceOnPageSizedAndOddLargeInputs) {
  for (size_t length : {4096u, 8192u, 16384u, 65536u + 7u, 1048576u + 3u}) {
    const std::vector<std::byte> bytes = RandomBytes(length + 1, /*seed=*/static_cast<uint32_t>(length));
    const auto data = std::span(bytes).subspan(1);
    EXPECT_EQ(Crc32c(data), BitwiseCrc32c(data)) << "length " << length;
  }
}

TEST(Crc32cTest, ExtendAtEverySplitPointEqualsWhole) {
  const std::vector<std::byte> bytes = RandomBytes(300, /*seed=*/2);
  const std::span<const std::byte> all(bytes);
  const uint32_t whole = Crc32c(all);
  for (size_t split = 0; split <= all.size(); ++split) {
    ASSERT_EQ(Crc32cExtend(Crc32c(all.first(split)), all.subspan(split)), whole) << "split at " << split;
  }
}

TEST(Crc32cTest, OneFlippedBitChangesTheValue) {
  std::vector<std::byte> bytes = RandomBytes(64, /*seed=*/3);
  const uint32_t original = Crc32c(bytes);
  for (size_t bit = 0; bit < bytes.size() * 8; ++bit) {
    bytes[bit / 8] ^= static_cast<std::byte>(1u << (bit % 8));
    EXPECT_NE(Crc32c(bytes), original) << "bit " << bit;
    bytes[bit / 8] ^= static_cast<std::byte>(1u << (bit % 8));
  }
}

}  // namespace
}  // namespace iodepth
