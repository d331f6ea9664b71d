#include "storage/page.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ostream>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/crc32c.h"
#include "io/aligned_buffer.h"
#include "testutil/status_macros.h"

namespace iodepth {

// Lets GoogleTest print "8KiB" rather than the enum's raw bytes.
inline void PrintTo(PageSize size, std::ostream* os);

namespace {

constexpr char kFileName[] = "t.tbl";

// Deterministic, distinct per (page, row, column), and using all 64 bits (negative too).
int64_t CellValue(uint64_t page_id, uint32_t row, uint32_t column) {
  const uint64_t mixed = (page_id * 0x9E3779B97F4A7C15ull) ^ (uint64_t{row} << 20) ^ column;
  return static_cast<int64_t>(mixed * 0xBF58476D1CE4E5B9ull);
}

std::vector<int64_t> MakeRow(uint64_t page_id, uint32_t row, uint32_t columns) {
  std::vector<int64_t> values(columns);
  for (uint32_t c = 0; c < columns; ++c) values[c] = CellValue(page_id, row, c);
  return values;
}

AlignedBuffer NewPageBuffer(PageSize size) {
  Result<AlignedBuffer> buffer = AlignedBuffer::Allocate(PageSizeBytes(size), /*alignment_bytes=*/4096);
  EXPECT_TRUE(buffer.has_value()) << buffer.error().ToString();
  return std::move(buffer).value();
}

// Initialises page `page_id` and appends up to `rows` rows; returns how many it took.
uint32_t FillPage(std::span<std::byte> page, uint64_t page_id, uint32_t columns, uint32_t rows) {
  InitHeapPage(page, page_id, columns);
  uint32_t appended = 0;
  while (appended < rows && AppendRow(page, MakeRow(page_id, appended, columns))) ++appended;
  return appended;
}

void ExpectCorruption(const Status& status, const std::string& expected_text) {
  EXPECT_EQ(status.code(), StatusCode::kCorruption) << status.ToString();
  EXPECT_NE(status.message().find(expected_text), std::string::npos) << status.message();
}

std::string PageSizeLabel(PageSize size) { return std::to_string(PageSizeBytes(size) / 1024) + "KiB"; }
std::string PageSizeTestName(const ::testing::TestParamInfo<PageSize>& info) { return PageSizeLabel(info.param); }

TEST(PageSizeTest, FromBytesAcceptsExactlyTheThreeSizes) {
  EXPECT_EQ(*PageSizeFromBytes(4096), PageSize::k4KiB);
  EXPECT_EQ(*PageSizeFromBytes(8192), PageSize::k8KiB);
  EXPECT_EQ(*PageSizeFromBytes(16384), PageSize::k16KiB);
  for (uint64_t bad : {0ull, 512ull, 4095ull, 4097ull, 32768ull}) {
    const Result<PageSize> result = PageSizeFromBytes(bad);
    ASSERT_FALSE(result.has_value()) << bad;
    EXPECT_EQ(result.error().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(result.error().message().find(std::to_string(bad)), std::string::npos) << result.error().message();
  }
  EXPECT_EQ(kDefaultPageSize, PageSize::k8KiB);
}

// Figures worked out by hand from the diagram in page.h: (page - 64 header bytes) / (8 x columns).
TEST(PageCapacityTest, CapacityFollowsTheLayout) {
  EXPECT_EQ(HeapPageCapacityRows(PageSize::k4KiB, 1), 504u);    // 4032 / 8
  EXPECT_EQ(HeapPageCapacityRows(PageSize::k8KiB, 1), 1016u);   // 8128 / 8
  EXPECT_EQ(HeapPageCapacityRows(PageSize::k16KiB, 1), 2040u);  // 16320 / 8
  EXPECT_EQ(HeapPageCapacityRows(PageSize::k8KiB, 4), 254u);    // 8128 / 32
  EXPECT_EQ(HeapPageCapacityRows(PageSize::k8KiB, 3), 338u);    // 8128 / 24 = 338.67
  EXPECT_EQ(HeapPageCapacityRows(PageSize::k4KiB, 16), 31u);    // 4032 / 128 = 31.5
  EXPECT_EQ(HeapPageCapacityRows(PageSize::k16KiB, 16), 127u);  // 16320 / 128 = 127.5
}

TEST(PageDeathTest, ColumnCountZeroIsRefused) {
  EXPECT_DEATH((void)HeapPageCapacityRows(PageSize::k8KiB, 0), "column count");
}

TEST(PageDeathTest, ColumnCountSeventeenIsRefused) {
  AlignedBuffer page = NewPageBuffer(PageSize::k8KiB);
  EXPECT_DEATH(InitHeapPage(page.span(), /*page_id=*/0, /*column_count=*/17), "column count");
}

TEST(PageDeathTest, BufferOfNoPageSizeIsRefused) {
  AlignedBuffer page = NewPageBuffer(PageSize::k8KiB);
  EXPECT_DEATH(InitHeapPage(page.span(0, 8000), /*page_id=*/0, /*column_count=*/1), "4, 8 or 16 KiB");
}

TEST(PageDeathTest, RowOfWrongWidthIsRefused) {
  AlignedBuffer page = NewPageBuffer(PageSize::k8KiB);
  InitHeapPage(page.span(), /*page_id=*/0, /*column_count=*/4);
  EXPECT_DEATH((void)AppendRow(page.span(), MakeRow(0, 0, 3)), "column count");
}

TEST(PageDeathTest, ReadPastLastRowIsRefused) {
  AlignedBuffer page = NewPageBuffer(PageSize::k8KiB);
  FillPage(page.span(), /*page_id=*/0, /*columns=*/2, /*rows=*/3);
  EXPECT_DEATH((void)RowAt(page.span(), 3), "last row");
}

TEST(PageDeathTest, AppendRowsPastCapacityIsRefused) {
  AlignedBuffer page = NewPageBuffer(PageSize::k8KiB);
  FillPage(page.span(), /*page_id=*/0, /*columns=*/4, /*rows=*/10);
  const uint32_t free_rows = HeapPageCapacityRows(PageSize::k8KiB, 4) - 10;
  EXPECT_DEATH((void)AppendRows(page.span(), free_rows + 1), "more rows than the page has room for");
}

// Every test below runs for each page size.
class HeapPageTest : public ::testing::TestWithParam<PageSize> {
 protected:
  PageSize size() const { return GetParam(); }
};

TEST_P(HeapPageTest, NewPageIsEmptyAndCarriesItsHeader) {
  AlignedBuffer page = NewPageBuffer(size());
  InitHeapPage(page.span(), /*page_id=*/42, /*column_count=*/5);
  EXPECT_EQ(RowCount(page.span()), 0u);
  EXPECT_EQ(ColumnCount(page.span()), 5u);
  EXPECT_EQ(PageId(page.span()), 42u);
  EXPECT_EQ(PageLsn(page.span()), 0u);
  EXPECT_TRUE(Rows(page.span()).empty());
}

TEST_P(HeapPageTest, PageHoldsExactlyCapacityRows) {
  for (uint32_t columns = kMinColumns; columns <= kMaxColumns; ++columns) {
    AlignedBuffer page = NewPageBuffer(size());
    const uint32_t capacity = HeapPageCapacityRows(size(), columns);
    EXPECT_EQ(FillPage(page.span(), /*page_id=*/7, columns, capacity), capacity) << columns << " columns";
    EXPECT_EQ(RowCount(page.span()), capacity);
    // The last row ends no further than the page's last byte.
    EXPECT_LE(kPageHeaderBytes + capacity * columns * kColumnBytes, page.size());

    const std::vector<std::byte> before(page.span().begin(), page.span().end());
    EXPECT_FALSE(AppendRow(page.span(), MakeRow(7, capacity, columns))) << columns << " columns";
    EXPECT_EQ(RowCount(page.span()), capacity);
    EXPECT_TRUE(std::equal(before.begin(), before.end(), page.span().begin())) << "a refused append changed the page";
  }
}

TEST_P(HeapPageTest, RowsRoundTripThroughEveryAccessor) {
  for (uint32_t columns : {1u, 3u, 16u}) {
    AlignedBuffer page = NewPageBuffer(size());
    const uint32_t rows = FillPage(page.span(), /*page_id=*/9, columns, HeapPageCapacityRows(size(), columns));
    const std::span<const int64_t> all = Rows(page.span());
    ASSERT_EQ(all.size(), size_t{rows} * columns);
    std::vector<int64_t> copy(columns);
    for (uint32_t r = 0; r < rows; ++r) {
      const std::vector<int64_t> expected = MakeRow(9, r, columns);
      const std::span<const int64_t> view = RowAt(page.span(), r);
      ASSERT_TRUE(std::equal(view.begin(), view.end(), expected.begin(), expected.end())) << "row " << r;
      ReadRow(page.span(), r, copy);
      ASSERT_EQ(copy, expected) << "row " << r;
      ASSERT_TRUE(std::equal(expected.begin(), expected.end(), all.begin() + r * columns)) << "row " << r;
    }
  }
}

TEST_P(HeapPageTest, SealedPageVerifies) {
  AlignedBuffer page = NewPageBuffer(size());
  FillPage(page.span(), /*page_id=*/42, /*columns=*/4, /*rows=*/10);
  SetPageLsn(page.span(), 0xFEEDFACE12345678);
  SealPage(page.span());
  EXPECT_OK(VerifyPage(page.span(), /*expected_page_id=*/42, kFileName));
  EXPECT_EQ(PageLsn(page.span()), 0xFEEDFACE12345678u);
  EXPECT_EQ(StoredChecksum(page.span()), ComputePageChecksum(page.span()));
}

TEST_P(HeapPageTest, EmptySealedPageVerifies) {
  AlignedBuffer page = NewPageBuffer(size());
  InitHeapPage(page.span(), /*page_id=*/0, /*column_count=*/1);
  SealPage(page.span());
  EXPECT_OK(VerifyPage(page.span(), /*expected_page_id=*/0, kFileName));
}

// The checksum covers the whole page with its own field as zero, so it does not depend on
// what that field held before sealing.
TEST_P(HeapPageTest, ChecksumIsCrc32cOfPageWithChecksumFieldZeroed) {
  AlignedBuffer page = NewPageBuffer(size());
  FillPage(page.span(), /*page_id=*/3, /*columns=*/2, /*rows=*/5);
  SealPage(page.span());
  std::vector<std::byte> copy(page.span().begin(), page.span().end());
  std::fill(copy.begin() + 24, copy.begin() + 28, std::byte{0});
  EXPECT_EQ(StoredChecksum(page.span()), Crc32c(copy));
}

TEST_P(HeapPageTest, EveryFlippedBitIsDetected) {
  AlignedBuffer page = NewPageBuffer(size());
  FillPage(page.span(), /*page_id=*/42, /*columns=*/4, /*rows=*/10);
  SealPage(page.span());
  const std::span<std::byte> bytes = page.span();
  for (size_t bit = 0; bit < bytes.size() * 8; ++bit) {
    bytes[bit / 8] ^= static_cast<std::byte>(1u << (bit % 8));
    const Status status = VerifyPage(bytes, /*expected_page_id=*/42, kFileName);
    ASSERT_EQ(status.code(), StatusCode::kCorruption) << "flipped bit " << bit << ": " << status.ToString();
    bytes[bit / 8] ^= static_cast<std::byte>(1u << (bit % 8));
  }
  EXPECT_OK(VerifyPage(bytes, /*expected_page_id=*/42, kFileName));
}

// Damage that keeps a valid checksum (a buggy writer, or a forger): random values in the
// header, re-sealed by hand, must be refused by the header checks or verify only when
// they still describe a sane page; never read past the page. Seeded, thousands of tries.
TEST_P(HeapPageTest, ResealedRandomHeadersAreRefusedOrSane) {
  std::mt19937_64 rng(20261202);
  int refused = 0;
  for (int i = 0; i < 4000; ++i) {
    AlignedBuffer page = NewPageBuffer(size());
    FillPage(page.span(), /*page_id=*/7, /*columns=*/3, /*rows=*/9);
    SealPage(page.span());
    std::span<std::byte> bytes = page.span();
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) bytes[rng() % kPageHeaderBytes] = static_cast<std::byte>(rng());
    // The checksum of the damaged page, so only the header checks stand between it and use.
    std::fill(bytes.begin() + 24, bytes.begin() + 28, std::byte{0});
    const uint32_t crc = Crc32c(bytes);
    std::memcpy(bytes.data() + 24, &crc, sizeof(crc));
    const Status status = VerifyPage(bytes, /*expected_page_id=*/7, kFileName);
    if (!status.ok()) {
      ++refused;
      EXPECT_EQ(status.code(), StatusCode::kCorruption) << "iteration " << i << ": " << status.ToString();
      continue;
    }
    EXPECT_LE(RowCount(bytes), HeapPageCapacityRows(size(), ColumnCount(bytes))) << "iteration " << i;
    EXPECT_EQ(PageId(bytes), 7u) << "iteration " << i;
  }
  EXPECT_GT(refused, 0);
}

TEST_P(HeapPageTest, FlippedBitInLastByteIsAChecksumMismatch) {
  AlignedBuffer page = NewPageBuffer(size());
  FillPage(page.span(), /*page_id=*/42, /*columns=*/4, /*rows=*/10);
  SealPage(page.span());
  page.span().back() ^= std::byte{0x80};
  ExpectCorruption(VerifyPage(page.span(), /*expected_page_id=*/42, kFileName),
                   "page 42 of t.tbl: checksum mismatch (stored 0x");
}

TEST_P(HeapPageTest, FlippedBitInHeaderIsAChecksumMismatch) {
  AlignedBuffer page = NewPageBuffer(size());
  FillPage(page.span(), /*page_id=*/42, /*columns=*/4, /*rows=*/10);
  SealPage(page.span());
  page.span()[32] ^= std::byte{0x01};  // The row count.
  ExpectCorruption(VerifyPage(page.span(), /*expected_page_id=*/42, kFileName), "checksum mismatch");
}

TEST_P(HeapPageTest, ChecksumMismatchMessageNamesBothValues) {
  AlignedBuffer page = NewPageBuffer(size());
  FillPage(page.span(), /*page_id=*/42, /*columns=*/4, /*rows=*/10);
  SealPage(page.span());
  const uint32_t stored = StoredChecksum(page.span());
  page.span()[100] ^= std::byte{0x10};
  const uint32_t computed = ComputePageChecksum(page.span());
  char expected[96];
  std::snprintf(expected, sizeof(expected), "page 42 of t.tbl: checksum mismatch (stored 0x%08x, computed 0x%08x)",
                stored, computed);
  EXPECT_EQ(VerifyPage(page.span(), /*expected_page_id=*/42, kFileName).message(), expected);
}

TEST_P(HeapPageTest, ChangeAfterSealFailsVerifyUntilResealed) {
  AlignedBuffer page = NewPageBuffer(size());
  FillPage(page.span(), /*page_id=*/5, /*columns=*/2, /*rows=*/1);
  SealPage(page.span());
  ASSERT_TRUE(AppendRow(page.span(), MakeRow(5, 1, 2)));
  ExpectCorruption(VerifyPage(page.span(), /*expected_page_id=*/5, kFileName), "checksum mismatch");
  SealPage(page.span());
  EXPECT_OK(VerifyPage(page.span(), /*expected_page_id=*/5, kFileName));
}

TEST_P(HeapPageTest, WrongPageIdIsCorruption) {
  AlignedBuffer page = NewPageBuffer(size());
  FillPage(page.span(), /*page_id=*/42, /*columns=*/4, /*rows=*/10);
  SealPage(page.span());
  ExpectCorruption(VerifyPage(page.span(), /*expected_page_id=*/43, kFileName), "page 43 of t.tbl: holds page 42");
}

TEST_P(HeapPageTest, ZeroedPageIsCorruption) {
  AlignedBuffer page = NewPageBuffer(size());  // Zero-initialised, as a hole in a file reads.
  ExpectCorruption(VerifyPage(page.span(), /*expected_page_id=*/0, kFileName),
                   "page 0 of t.tbl: all zeros: the page was never written");
}

TEST_P(HeapPageTest, ForeignBytesAreBadMagic) {
  AlignedBuffer page = NewPageBuffer(size());
  FillPage(page.span(), /*page_id=*/1, /*columns=*/1, /*rows=*/1);
  SealPage(page.span());
  page.span()[0] = std::byte{'X'};
  ExpectCorruption(VerifyPage(page.span(), /*expected_page_id=*/1, kFileName), "bad magic");
}

// A sealed page with a valid checksum but a version this build does not know: a newer
// file format, refused rather than misread.
TEST_P(HeapPageTest, UnknownFormatVersionIsCorruption) {
  AlignedBuffer page = NewPageBuffer(size());
  FillPage(page.span(), /*page_id=*/1, /*columns=*/1, /*rows=*/1);
  page.span()[4] = std::byte{kPageFormatVersion + 1};
  SealPage(page.span());
  ExpectCorruption(VerifyPage(page.span(), /*expected_page_id=*/1, kFileName),
                   fmt::format("unknown page format version {}", kPageFormatVersion + 1));
}

// Version 1 pages are those of tables made before tables carried a trailer page: the
// error says so and what to do, rather than "unknown version".
TEST_P(HeapPageTest, FormatVersionOneSaysItIsFromAnOlderIodepth) {
  AlignedBuffer page = NewPageBuffer(size());
  FillPage(page.span(), /*page_id=*/1, /*columns=*/1, /*rows=*/1);
  page.span()[4] = std::byte{kPageFormatVersionWithoutTrailer};
  SealPage(page.span());
  ExpectCorruption(VerifyPage(page.span(), /*expected_page_id=*/1, kFileName), "made by an older iodepth");
}

// A trailer page is verified as one only when asked for: a heap reader never takes a
// table's description for rows, and a trailer's row count must be 0.
TEST_P(HeapPageTest, TrailerPagesVerifyOnlyAsTrailers) {
  AlignedBuffer page = NewPageBuffer(size());
  InitPage(page.span(), PageType::kTableTrailer, /*page_id=*/3, /*column_count=*/4);
  PageBody(page.span())[0] = std::byte{7};
  SealPage(page.span());
  EXPECT_OK(VerifyPage(page.span(), 3, kFileName, PageType::kTableTrailer));
  ExpectCorruption(VerifyPage(page.span(), 3, kFileName), "page type 2 where a page of type 1 belongs");
  const PageHeaderFields fields = PeekPageHeader(page.span());
  EXPECT_EQ(fields.type, static_cast<uint8_t>(PageType::kTableTrailer));
  EXPECT_EQ(fields.page_size, PageSizeBytes(size()));
  EXPECT_EQ(fields.page_id, 3u);
  EXPECT_EQ(fields.columns, 4u);
  page.span()[32] = std::byte{1};  // A row count on a trailer.
  SealPage(page.span());
  ExpectCorruption(VerifyPage(page.span(), 3, kFileName, PageType::kTableTrailer), "row count 1 exceeds");
}

TEST_P(HeapPageTest, RowCountPastCapacityIsCorruptionEvenWithValidChecksum) {
  AlignedBuffer page = NewPageBuffer(size());
  const uint32_t capacity = HeapPageCapacityRows(size(), 16);
  FillPage(page.span(), /*page_id=*/1, /*columns=*/16, capacity);
  const uint16_t too_many = static_cast<uint16_t>(capacity + 1);
  std::memcpy(page.span().data() + 32, &too_many, sizeof(too_many));
  SealPage(page.span());
  ExpectCorruption(VerifyPage(page.span(), /*expected_page_id=*/1, kFileName), "exceeds the page's capacity");
}

// Fills a page through AppendRows in `chunks` calls of about equal size, writing the
// same values FillPage's AppendRow calls would; returns the rows appended.
uint32_t FillPageInBulk(std::span<std::byte> page, uint64_t page_id, uint32_t columns, uint32_t rows, uint32_t chunks) {
  InitHeapPage(page, page_id, columns);
  uint32_t appended = 0;
  for (uint32_t chunk = 0; chunk < chunks; ++chunk) {
    const uint32_t end = rows * (chunk + 1) / chunks;
    const std::span<int64_t> values = AppendRows(page, end - appended);
    EXPECT_EQ(values.size(), size_t{end - appended} * columns);
    for (uint32_t r = appended; r < end; ++r) {
      const std::vector<int64_t> row = MakeRow(page_id, r, columns);
      std::copy(row.begin(), row.end(), values.begin() + size_t{r - appended} * columns);
    }
    appended = end;
  }
  return appended;
}

// The bulk path must be byte-for-byte the row-at-a-time path: a reader cannot tell them
// apart, checksum included. Covers full pages, partly full ones, and one call or several.
TEST_P(HeapPageTest, AppendRowsWritesTheSameBytesAsAppendRow) {
  for (uint32_t columns : {1u, 3u, 4u, 16u}) {
    const uint32_t capacity = HeapPageCapacityRows(size(), columns);
    for (uint32_t rows : {1u, capacity / 2 + 1, capacity - 1, capacity}) {
      for (uint32_t chunks : {1u, 3u}) {
        AlignedBuffer by_row = NewPageBuffer(size());
        AlignedBuffer in_bulk = NewPageBuffer(size());
        ASSERT_EQ(FillPage(by_row.span(), /*page_id=*/11, columns, rows), rows);
        ASSERT_EQ(FillPageInBulk(in_bulk.span(), /*page_id=*/11, columns, rows, std::min(chunks, rows)), rows);
        SealPage(by_row.span());
        SealPage(in_bulk.span());
        ASSERT_TRUE(std::equal(by_row.span().begin(), by_row.span().end(), in_bulk.span().begin()))
            << columns << " columns, " << rows << " rows, " << chunks << " calls";
        EXPECT_OK(VerifyPage(in_bulk.span(), /*expected_page_id=*/11, kFileName));
      }
    }
  }
}

TEST_P(HeapPageTest, AppendRowsContinuesAfterAppendRowAndCountsFreeRows) {
  AlignedBuffer page = NewPageBuffer(size());
  const uint32_t capacity = HeapPageCapacityRows(size(), /*column_count=*/2);
  FillPage(page.span(), /*page_id=*/5, /*columns=*/2, /*rows=*/3);
  EXPECT_EQ(HeapPageFreeRows(page.span()), capacity - 3);
  const std::span<int64_t> values = AppendRows(page.span(), /*row_count=*/2);
  ASSERT_EQ(values.size(), 4u);
  // The new rows start right after row 2 and hold zeros until written.
  EXPECT_EQ(values.data(), RowAt(page.span(), 3).data());
  EXPECT_TRUE(std::all_of(values.begin(), values.end(), [](int64_t v) { return v == 0; }));
  values[3] = 77;
  EXPECT_EQ(RowCount(page.span()), 5u);
  EXPECT_EQ(RowAt(page.span(), 4)[1], 77);
  EXPECT_EQ(HeapPageFreeRows(page.span()), capacity - 5);
}

TEST_P(HeapPageTest, AppendRowsOfZeroRowsChangesNothing) {
  AlignedBuffer page = NewPageBuffer(size());
  FillPage(page.span(), /*page_id=*/5, /*columns=*/4, /*rows=*/3);
  const std::vector<std::byte> before(page.span().begin(), page.span().end());
  EXPECT_TRUE(AppendRows(page.span(), /*row_count=*/0).empty());
  EXPECT_TRUE(std::equal(before.begin(), before.end(), page.span().begin()));
}

TEST_P(HeapPageTest, AppendRowsFillsExactlyToCapacity) {
  AlignedBuffer page = NewPageBuffer(size());
  InitHeapPage(page.span(), /*page_id=*/0, /*column_count=*/3);
  const uint32_t capacity = HeapPageCapacityRows(size(), 3);
  const std::span<int64_t> values = AppendRows(page.span(), capacity);
  // The last value ends no further than the page's last byte.
  EXPECT_LE(reinterpret_cast<const std::byte*>(values.data() + values.size()), page.span().data() + page.size());
  EXPECT_EQ(HeapPageFreeRows(page.span()), 0u);
  EXPECT_FALSE(AppendRow(page.span(), MakeRow(0, capacity, 3)));
  EXPECT_EQ(RowCount(page.span()), capacity);
}

INSTANTIATE_TEST_SUITE_P(AllPageSizes, HeapPageTest,
                         ::testing::Values(PageSize::k4KiB, PageSize::k8KiB, PageSize::k16KiB), PageSizeTestName);

// A 4 KiB page read into an 8 KiB buffer (the file opened with the wrong page size).
TEST(PageSizeMismatchTest, PageReadWithLargerPageSizeIsCorruption) {
  AlignedBuffer small = NewPageBuffer(PageSize::k4KiB);
  FillPage(small.span(), /*page_id=*/0, /*columns=*/2, /*rows=*/4);
  SealPage(small.span());
  AlignedBuffer large = NewPageBuffer(PageSize::k8KiB);
  std::copy(small.span().begin(), small.span().end(), large.span().begin());
  ExpectCorruption(VerifyPage(large.span(), /*expected_page_id=*/0, kFileName),
                   "page 0 of t.tbl: written as a 4096-byte page, read as 8192 bytes");
}

}  // namespace

inline void PrintTo(PageSize size, std::ostream* os) { *os << PageSizeLabel(size); }

}  // namespace iodepth
