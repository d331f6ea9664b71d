#include "wal/log_reader.h"

#include <filesystem>
#include <vector>

#include <gtest/gtest.h>

#include "testutil/status_macros.h"
#include "testutil/temp_dir.h"
#include "wal/log_writer.h"
#include "wal_fixture.h"

namespace iodepth {
namespace {

using testutil::kTestGeometry;

struct Written {
  WalAppend where;
  std::vector<std::byte> payload;
};

// Writes records of the given sizes (each committed) into a fresh log and closes it.
std::vector<Written> WriteLog(const std::string& dir, const std::vector<size_t>& sizes, uint64_t first_counter = 0) {
  WalOptions options = testutil::TestWalOptions(dir, testutil::AllWalPaths()[0], Backend::kAuto);
  auto writer = WalWriter::Open(options);
  EXPECT_TRUE(writer.has_value()) << writer.error().ToString();
  std::vector<Written> written;
  for (size_t i = 0; i < sizes.size(); ++i) {
    Written w{{}, testutil::MakePayload(0, first_counter + i, sizes[i])};
    auto appended = (*writer)->Append(w.payload);
    EXPECT_TRUE(appended.has_value());
    w.where = *appended;
    EXPECT_OK((*writer)->Commit(w.where.end_lsn));
    written.push_back(std::move(w));
  }
  EXPECT_OK((*writer)->Close());
  return written;
}

std::vector<WalRecord> ReadAll(const std::string& dir, WalReadEnd* end) {
  auto records = testutil::ReadAllRecords(dir, end);
  EXPECT_TRUE(records.has_value()) << records.error().ToString();
  return records.has_value() ? std::move(*records) : std::vector<WalRecord>{};
}

void ExpectPrefix(const std::vector<WalRecord>& read, const std::vector<Written>& written, size_t count) {
  ASSERT_EQ(read.size(), count);
  for (size_t i = 0; i < count; ++i) {
    EXPECT_EQ(read[i].lsn, written[i].where.lsn) << "record " << i;
    EXPECT_EQ(read[i].end_lsn, written[i].where.end_lsn) << "record " << i;
    EXPECT_EQ(read[i].payload, written[i].payload) << "record " << i;
  }
}

uint64_t OffsetIn(Lsn lsn) { return lsn % kTestGeometry.segment_bytes; }

TEST(WalReaderTest, EmptyDirectoryIsAnEmptyLog) {
  testutil::TempDir dir;
  WalReadEnd end;
  EXPECT_TRUE(ReadAll(dir.path(), &end).empty());
  EXPECT_EQ(end.reason, WalStopReason::kNoSegments);
}

TEST(WalReaderTest, MissingDirectoryIsNotFound) {
  testutil::TempDir dir;
  auto reader = WalReader::Open(dir.File("nothing-here"));
  ASSERT_FALSE(reader);
  EXPECT_EQ(reader.error().code(), StatusCode::kNotFound);
}

TEST(WalReaderTest, ReadsBackEveryRecordAcrossBlocksAndSegments) {
  testutil::TempDir dir;
  std::vector<size_t> sizes;
  for (size_t i = 0; i < 60; ++i) sizes.push_back(24 + (i * 977) % 9000);  // Up to two blocks and more.
  const auto written = WriteLog(dir.path(), sizes);
  ASSERT_GT(kTestGeometry.SegmentOf(written.back().where.end_lsn), 1u) << "the test must cross segments";
  WalReadEnd end;
  ExpectPrefix(ReadAll(dir.path(), &end), written, written.size());
  EXPECT_EQ(end.reason, WalStopReason::kZeroed);
  EXPECT_TRUE(end.clean());
  EXPECT_EQ(end.end_lsn, written.back().where.end_lsn);
  EXPECT_FALSE(end.incomplete_record_lsn);
}

TEST(WalReaderTest, RecordEndsExactlyAtBlockBoundary) {
  testutil::TempDir dir;
  const size_t fill = 4096 - kWalSegmentHeaderBytes - kWalFragmentHeaderBytes;
  const auto written = WriteLog(dir.path(), {fill, 100});
  ASSERT_EQ(written[0].where.end_lsn, 4096u);
  ASSERT_EQ(written[1].where.lsn, 4096u);
  WalReadEnd end;
  ExpectPrefix(ReadAll(dir.path(), &end), written, 2);
  EXPECT_EQ(end.reason, WalStopReason::kZeroed);
}

TEST(WalReaderTest, ZeroedPreallocatedTailIsACleanEnd) {
  testutil::TempDir dir;
  const auto written = WriteLog(dir.path(), {100, 200, 300});
  WalReadEnd end;
  ExpectPrefix(ReadAll(dir.path(), &end), written, 3);
  EXPECT_EQ(end.reason, WalStopReason::kZeroed);
  EXPECT_EQ(end.stop_lsn, written.back().where.end_lsn);
  EXPECT_EQ(end.valid_blocks_after_stop, 0u);
  EXPECT_NE(end.Describe(kTestGeometry).find("zeroed"), std::string::npos) << end.Describe(kTestGeometry);
}

TEST(WalReaderTest, TornHeaderEndsTheLogAtTheLastWholeRecord) {
  testutil::TempDir dir;
  const auto written = WriteLog(dir.path(), {100, 200, 300});
  // Half of the third record's header written: its length and type, not its checksum.
  ASSERT_TRUE(testutil::Scribble(testutil::SegmentPathIn(dir.path(), 0), OffsetIn(written[2].where.lsn),
                                 std::vector<std::byte>(4, std::byte{0})));
  WalReadEnd end;
  ExpectPrefix(ReadAll(dir.path(), &end), written, 2);
  EXPECT_EQ(end.reason, WalStopReason::kChecksumMismatch);
  EXPECT_EQ(end.stop_lsn, written[2].where.lsn);
  EXPECT_EQ(end.end_lsn, written[1].where.end_lsn);
}

TEST(WalReaderTest, ChecksumMismatchMidSegmentStopsAndCountsTheBlocksAfter) {
  testutil::TempDir dir;
  const auto written = WriteLog(dir.path(), std::vector<size_t>(40, 1000));  // About 10 blocks.
  const uint64_t victim = 5;
  ASSERT_TRUE(testutil::Scribble(testutil::SegmentPathIn(dir.path(), 0), OffsetIn(written[victim].where.lsn) + 500,
                                 {std::byte{0xff}}));
  WalReadEnd end;
  ExpectPrefix(ReadAll(dir.path(), &end), written, victim);
  EXPECT_EQ(end.reason, WalStopReason::kChecksumMismatch);
  EXPECT_GT(end.valid_blocks_after_stop, 3u) << "the rest of the segment still holds valid fragments";
  EXPECT_NE(end.Describe(kTestGeometry).find("in flight at a crash, or damage"), std::string::npos);
}

TEST(WalReaderTest, StaleFragmentFromAnotherPositionIsNotARecord) {
  testutil::TempDir dir;
  const auto written = WriteLog(dir.path(), {100, 100});
  // Copy block 0's first record into the zeroed block 2, where it does not belong.
  std::vector<std::byte> copy(kWalFragmentHeaderBytes + 100);
  {
    ASSERT_OK_AND_ASSIGN(auto file, File::Open(testutil::SegmentPathIn(dir.path(), 0), OpenOptions{}));
    ASSERT_OK(file->ReadAt(written[0].where.lsn, copy).status());
  }
  // Make the log run up to block 2: a record filling the rest of block 0 and block 1.
  ASSERT_TRUE(testutil::Scribble(testutil::SegmentPathIn(dir.path(), 0), 8192, copy));
  WalReadEnd end;
  ExpectPrefix(ReadAll(dir.path(), &end), written, 2);
  EXPECT_EQ(end.reason, WalStopReason::kZeroed) << "the stale copy lies past the end, never reached";
  EXPECT_EQ(end.valid_blocks_after_stop, 0u) << "a fragment at the wrong LSN is not valid";
}

TEST(WalReaderTest, RecordSpanningASegmentSwitchAtTheTailIsIncomplete) {
  testutil::TempDir dir;
  std::vector<size_t> sizes(15, 4000);  // Segment 0 holds about 15.7 of these.
  sizes.push_back(6000);                // Begins in segment 0, ends in segment 1.
  const auto written = WriteLog(dir.path(), sizes);
  const WalAppend spanning = written.back().where;
  ASSERT_EQ(kTestGeometry.SegmentOf(spanning.lsn), 0u);
  ASSERT_EQ(kTestGeometry.SegmentOf(spanning.end_lsn), 1u);
  // The write of segment 1's first block never landed.
  ASSERT_TRUE(testutil::Scribble(testutil::SegmentPathIn(dir.path(), 1), kWalSegmentHeaderBytes,
                                 std::vector<std::byte>(4096 - kWalSegmentHeaderBytes, std::byte{0})));
  WalReadEnd end;
  ExpectPrefix(ReadAll(dir.path(), &end), written, written.size() - 1);
  EXPECT_EQ(end.reason, WalStopReason::kZeroed);
  EXPECT_EQ(end.last_segment, 1u);
  ASSERT_TRUE(end.incomplete_record_lsn);
  EXPECT_EQ(*end.incomplete_record_lsn, spanning.lsn);
  EXPECT_EQ(end.end_lsn, written[written.size() - 2].where.end_lsn);
}

TEST(WalReaderTest, MissingNextSegmentEndsTheLogWithTheRecordIncomplete) {
  testutil::TempDir dir;
  std::vector<size_t> sizes(15, 4000);
  sizes.push_back(6000);
  const auto written = WriteLog(dir.path(), sizes);
  std::filesystem::remove(testutil::SegmentPathIn(dir.path(), 1));
  std::filesystem::remove(testutil::SegmentPathIn(dir.path(), 2));
  WalReadEnd end;
  ExpectPrefix(ReadAll(dir.path(), &end), written, written.size() - 1);
  EXPECT_EQ(end.reason, WalStopReason::kSegmentEnd);
  ASSERT_TRUE(end.incomplete_record_lsn);
}

TEST(WalReaderTest, DamagedFirstSegmentHeaderIsAnError) {
  testutil::TempDir dir;
  WriteLog(dir.path(), {100});
  ASSERT_TRUE(testutil::Scribble(testutil::SegmentPathIn(dir.path(), 0), 0, std::vector<std::byte>(8, std::byte{1})));
  auto reader = WalReader::Open(dir.path());
  ASSERT_FALSE(reader);
  EXPECT_EQ(reader.error().code(), StatusCode::kCorruption);
  EXPECT_NE(reader.error().message().find(WalSegmentFileName(0)), std::string::npos) << reader.error().message();
}

TEST(WalReaderTest, ReopenedWriterResumesAfterATornTailAndItsLeftoversAreNeverRead) {
  testutil::TempDir dir;
  const auto first = WriteLog(dir.path(), std::vector<size_t>(30, 1500));
  // Tear record 10: everything after it in segment 0 is a torn tail's leftovers.
  ASSERT_TRUE(testutil::Scribble(testutil::SegmentPathIn(dir.path(), 0), OffsetIn(first[10].where.lsn) + 20,
                                 std::vector<std::byte>(64, std::byte{0x5a})));
  const auto second = WriteLog(dir.path(), std::vector<size_t>(5, 700), /*first_counter=*/100);
  ASSERT_EQ(kTestGeometry.SegmentOf(second.front().where.lsn), 1u) << "a reopened writer starts a new segment";
  std::vector<Written> expected(first.begin(), first.begin() + 10);
  expected.insert(expected.end(), second.begin(), second.end());
  WalReadEnd end;
  ExpectPrefix(ReadAll(dir.path(), &end), expected, expected.size());
  EXPECT_EQ(end.reason, WalStopReason::kZeroed);
  EXPECT_TRUE(std::filesystem::exists(testutil::SegmentPathIn(dir.path(), 1)));
}

}  // namespace
}  // namespace iodepth
