#include "wal/log_format.h"

#include <array>
#include <vector>

#include <gtest/gtest.h>

#include "testutil/status_macros.h"

namespace iodepth {
namespace {

constexpr WalGeometry kGeometry{.block_bytes = 4096, .segment_bytes = 64 * 1024};

std::vector<WalFragmentPlacement> Place(Lsn pos, size_t bytes, Lsn* end) {
  std::vector<WalFragmentPlacement> fragments;
  *end = PlaceWalRecord(kGeometry, pos, bytes, [&](const WalFragmentPlacement& f) { fragments.push_back(f); }).second;
  return fragments;
}

TEST(WalGeometryTest, AcceptsPowerOfTwoBlocksAndWholeSegments) {
  EXPECT_OK(kGeometry.Validate());
  EXPECT_EQ((WalGeometry{.block_bytes = 3000, .segment_bytes = 30000}).Validate().setting(), "wal_block_bytes");
  EXPECT_EQ((WalGeometry{.block_bytes = 4096, .segment_bytes = 4096 * 3}).Validate().setting(), "wal_segment_bytes");
  EXPECT_EQ((WalGeometry{.block_bytes = 4096, .segment_bytes = 4096 * 4 + 1}).Validate().setting(),
            "wal_segment_bytes");
  EXPECT_EQ((WalGeometry{.block_bytes = 1u << 17, .segment_bytes = 1u << 20}).Validate().setting(), "wal_block_bytes");
}

TEST(WalSegmentNameTest, RoundTripsAndRejectsOtherNames) {
  EXPECT_EQ(WalSegmentFileName(42), "wal-000000000000002a.seg");
  EXPECT_EQ(ParseWalSegmentFileName("wal-000000000000002a.seg"), 42u);
  EXPECT_FALSE(ParseWalSegmentFileName("wal-000000000000002A.seg"));
  EXPECT_FALSE(ParseWalSegmentFileName("wal-000000000000002a.seg.abandoned"));
  EXPECT_FALSE(ParseWalSegmentFileName("wal-000000000000002a.seg.iodepth-partial"));
  EXPECT_FALSE(ParseWalSegmentFileName("wal-2a.seg"));
}

TEST(WalSegmentHeaderTest, RoundTripsAndNamesWhatIsWrong) {
  const WalSegmentHeader header{kGeometry, /*log_id=*/0x1234, /*segment_no=*/3, /*prev_end_lsn=*/3 * 65536};
  std::array<std::byte, kWalSegmentHeaderBytes> bytes{};
  EncodeWalSegmentHeader(header, bytes);
  ASSERT_OK_AND_ASSIGN(const WalSegmentHeader decoded, DecodeWalSegmentHeader(bytes, 3));
  EXPECT_EQ(decoded, header);
  EXPECT_TRUE(decoded.ContinuesPrevious());

  auto wrong_number = DecodeWalSegmentHeader(bytes, 4);
  ASSERT_FALSE(wrong_number);
  EXPECT_NE(wrong_number.error().message().find("segment 3"), std::string::npos);

  auto flipped = bytes;
  flipped[kWalSegmentHeaderBytes - 30] ^= std::byte{1};  // Inside the checksummed fields.
  auto bad = DecodeWalSegmentHeader(flipped, 3);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("checksum"), std::string::npos);

  std::array<std::byte, kWalSegmentHeaderBytes> zeros{};
  EXPECT_NE(DecodeWalSegmentHeader(zeros, 3).error().message().find("magic"), std::string::npos);
}

TEST(WalPlacementTest, SmallRecordIsOneFullFragmentAfterTheSegmentHeader) {
  Lsn end = 0;
  const auto fragments = Place(0, 100, &end);
  ASSERT_EQ(fragments.size(), 1u);
  EXPECT_EQ(fragments[0].lsn, kWalSegmentHeaderBytes);
  EXPECT_EQ(fragments[0].type, WalFragmentType::kFull);
  EXPECT_EQ(end, kWalSegmentHeaderBytes + kWalFragmentHeaderBytes + 100);
}

TEST(WalPlacementTest, RecordEndsExactlyAtBlockBoundary) {
  Lsn end = 0;
  const size_t fits = 4096 - kWalSegmentHeaderBytes - kWalFragmentHeaderBytes;
  ASSERT_EQ(Place(kWalSegmentHeaderBytes, fits, &end).size(), 1u);
  EXPECT_EQ(end, 4096u);
  const auto next = Place(end, 10, &end);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].lsn, 4096u) << "the next record starts the next block";
}

TEST(WalPlacementTest, FewerThanAHeaderLeftInABlockIsSkipped) {
  EXPECT_EQ(NextFragmentLsn(kGeometry, 4096 - 15), 4096u);
  EXPECT_EQ(NextFragmentLsn(kGeometry, 4096 - 16), 4096u - 16) << "exactly a header's room is used";
  EXPECT_EQ(NextFragmentLsn(kGeometry, 65536 - 8), 65536u + kWalSegmentHeaderBytes);
}

TEST(WalPlacementTest, RecordSpansBlocksAndSegments) {
  Lsn end = 0;
  const Lsn start = 65536 - 4096 + 100;  // In the last block of segment 0.
  const auto fragments = Place(start, 3 * 4096, &end);
  ASSERT_GE(fragments.size(), 4u);
  EXPECT_EQ(fragments.front().type, WalFragmentType::kFirst);
  EXPECT_EQ(fragments.back().type, WalFragmentType::kLast);
  EXPECT_EQ(fragments[1].lsn, 65536u + kWalSegmentHeaderBytes) << "segment 1 starts with its header";
  size_t bytes = 0;
  for (const auto& f : fragments) {
    EXPECT_LE(f.lsn % 4096 + kWalFragmentHeaderBytes + f.payload_bytes, 4096u) << "no fragment crosses a block";
    EXPECT_EQ(f.payload_offset, bytes);
    bytes += f.payload_bytes;
  }
  EXPECT_EQ(bytes, 3u * 4096);
  EXPECT_EQ(end, fragments.back().lsn + kWalFragmentHeaderBytes + fragments.back().payload_bytes);
}

TEST(WalFragmentTest, ChecksMagicLengthTypeLsnAndChecksum) {
  std::vector<std::byte> block(256);
  const std::vector<std::byte> payload(40, std::byte{7});
  EncodeWalFragment(WalFragmentType::kFull, 4160, payload, block);
  WalFragmentView view;
  ASSERT_EQ(CheckWalFragment(block, 4160, &view), WalFragmentCheck::kValid);
  EXPECT_EQ(view.type, WalFragmentType::kFull);
  EXPECT_EQ(view.payload.size(), 40u);
  EXPECT_EQ(CheckWalFragment(block, 8192, nullptr), WalFragmentCheck::kWrongLsn);
  EXPECT_EQ(CheckWalFragment(std::span(block).first(40), 4160, nullptr), WalFragmentCheck::kBadLength);
  auto torn = block;
  torn[30] ^= std::byte{0x40};
  EXPECT_EQ(CheckWalFragment(torn, 4160, nullptr), WalFragmentCheck::kChecksumMismatch);
  std::vector<std::byte> zeros(64);
  EXPECT_EQ(CheckWalFragment(zeros, 0, nullptr), WalFragmentCheck::kZeroed);
}

}  // namespace
}  // namespace iodepth
