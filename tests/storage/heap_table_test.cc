#include "storage/heap_table.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <ostream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "io/aligned_buffer.h"
#include "io/fault_injector.h"
#include "sys/free_space.h"
#include "testutil/corpus.h"
#include "testutil/io_printers.h"
#include "testutil/status_macros.h"
#include "testutil/temp_dir.h"

namespace iodepth {

// Lets GoogleTest print "8192" rather than the enum's raw bytes.
inline void PrintTo(PageSize size, std::ostream* os) { *os << PageSizeBytes(size); }

namespace {

using testutil::TempDir;

constexpr uint64_t kRows = 10'000;
constexpr uint32_t kColumns = 4;

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

uint64_t FileSize(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return ~uint64_t{0};
  return static_cast<uint64_t>(st.st_size);
}

// Flips one byte of the file with plain POSIX calls, outside the code under test.
void FlipByte(const std::string& path, uint64_t offset) {
  const int fd = ::open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  unsigned char byte = 0;
  ASSERT_EQ(::pread(fd, &byte, 1, static_cast<off_t>(offset)), 1);
  byte ^= 0x5A;
  ASSERT_EQ(::pwrite(fd, &byte, 1, static_cast<off_t>(offset)), 1);
  ::close(fd);
}

LoadOptions SmallLoad(const std::string& path, uint64_t rows = kRows) {
  LoadOptions options;
  options.path = path;
  options.shape.rows = rows;
  options.shape.columns = kColumns;
  options.shape.seed = 42;
  options.queue.backend = Backend::kWorker;
  options.queue.depth = 4;
  return options;
}

// ---- Content ----

TEST(HeapTableContentTest, ExpectedValueIsDeterministicAndInRange) {
  for (uint64_t r = 0; r < 5000; ++r) {
    EXPECT_EQ(ExpectedValue(7, r, 0), ExpectedValue(7, r, 0));
    EXPECT_GE(ExpectedValue(7, r, 0), 0);
    EXPECT_LT(ExpectedValue(7, r, 0), kColumn0Range);
    EXPECT_EQ(ExpectedValue(7, r, 1), static_cast<int64_t>(r % kGroupCount));
    EXPECT_GE(ExpectedValue(7, r, 2), 0);
    EXPECT_LE(ExpectedValue(7, r, 2), int64_t{0xFFFFFFFF});
  }
}

TEST(HeapTableContentTest, SeedsAndColumnsGiveDifferentValues) {
  int same_seed = 0;
  int same_column = 0;
  for (uint64_t r = 0; r < 1000; ++r) {
    same_seed += ExpectedValue(1, r, 2) == ExpectedValue(2, r, 2) ? 1 : 0;
    same_column += ExpectedValue(1, r, 2) == ExpectedValue(1, r, 3) ? 1 : 0;
  }
  EXPECT_LT(same_seed, 5);
  EXPECT_LT(same_column, 5);
}

TEST(HeapTableContentTest, Column0SelectivityIsAboutBoundOverRange) {
  const TableShape shape{.rows = 100'000, .columns = 4, .page_size = kDefaultPageSize, .seed = 3};
  const uint64_t count = ExpectedCountLessThan(shape, 0, /*bound=*/100);
  EXPECT_NEAR(static_cast<double>(count) / static_cast<double>(shape.rows), 0.1, 0.01);
}

TEST(HeapTableContentTest, ClosedFormsForGroupColumnMatchASum) {
  for (uint64_t rows : {0ull, 1ull, 15ull, 16ull, 17ull, 1001ull}) {
    const TableShape shape{.rows = rows, .columns = 2, .page_size = kDefaultPageSize, .seed = 9};
    int64_t sum = 0;
    uint64_t below5 = 0;
    for (uint64_t r = 0; r < rows; ++r) {
      sum += ExpectedValue(shape.seed, r, 1);
      below5 += ExpectedValue(shape.seed, r, 1) < 5 ? 1u : 0u;
    }
    EXPECT_EQ(ExpectedColumnSum(shape, 1), sum) << rows;
    EXPECT_EQ(ExpectedCountLessThan(shape, 1, 5), below5) << rows;
    EXPECT_EQ(ExpectedCountLessThan(shape, 1, -3), 0u);
    EXPECT_EQ(ExpectedCountLessThan(shape, 1, 99), rows);
  }
}

TEST(HeapTableContentTest, PageCountRoundsUp) {
  TableShape shape{.rows = 0, .columns = 4, .page_size = PageSize::k8KiB, .seed = 1};
  const uint32_t capacity = TableRowsPerPage(shape);
  EXPECT_EQ(capacity, (8192u - 64u) / 32u);
  EXPECT_EQ(TablePageCount(shape), 0u);
  shape.rows = 1;
  EXPECT_EQ(TablePageCount(shape), 1u);
  shape.rows = capacity;
  EXPECT_EQ(TablePageCount(shape), 1u);
  shape.rows = capacity + 1;
  EXPECT_EQ(TablePageCount(shape), 2u);
}

TEST(HeapTableContentTest, ShapeOutOfBoundsIsRejected) {
  EXPECT_EQ(ValidateTableShape({.rows = kMaxTableRows + 1}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateTableShape({.columns = 0}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateTableShape({.columns = kMaxColumns + 1}).code(), StatusCode::kInvalidArgument);
  EXPECT_OK(ValidateTableShape({.columns = kMaxColumns}));
}

// ---- Load and verify, every backend x cache mode x page size ----

using LoadParam = std::tuple<Backend, CacheMode, PageSize>;

class HeapTableLoadTest : public ::testing::TestWithParam<LoadParam> {
 protected:
  void SetUp() override {
    if (backend() == Backend::kIoUring) {
      const Status probe = ProbeIoUring();
      if (!probe.ok()) GTEST_SKIP() << "io_uring unavailable: " << probe.ToString();
    }
  }
  Backend backend() const { return std::get<0>(GetParam()); }
  CacheMode cache() const { return std::get<1>(GetParam()); }
  PageSize page_size() const { return std::get<2>(GetParam()); }

  LoadOptions Options(uint64_t rows) const {
    LoadOptions options = SmallLoad(dir_.File("t.tbl"), rows);
    options.cache = cache();
    options.shape.page_size = page_size();
    options.queue.backend = backend();
    options.queue.depth = backend() == Backend::kSync ? 1 : 8;
    // Two pages per write, so both full runs and a short last run are exercised.
    options.write_bytes = 2 * PageSizeBytes(page_size());
    return options;
  }

  TempDir dir_;
};

TEST_P(HeapTableLoadTest, LoadsEveryRowAndVerifies) {
  const LoadOptions options = Options(kRows);
  ASSERT_OK_AND_ASSIGN(const LoadStats stats, LoadHeapTable(options));
  const uint64_t pages = TablePageCount(options.shape);
  EXPECT_EQ(stats.pages, pages);
  EXPECT_EQ(stats.bytes, (pages + 1) * PageSizeBytes(page_size())) << "the data pages and the trailer";
  EXPECT_EQ(FileSize(options.path), stats.bytes);
  EXPECT_GT(stats.elapsed_ns, 0);
  EXPECT_EQ(stats.backend, BackendName(backend()));
  // 10,000 rows never fill the last page exactly at these page sizes and 4 columns.
  ASSERT_NE(kRows % TableRowsPerPage(options.shape), 0u);
  EXPECT_OK(VerifyHeapTable(options.path, options.shape));
}

TEST_P(HeapTableLoadTest, LastPageExactlyFull) {
  LoadOptions options = Options(0);
  options.shape.rows = 3 * uint64_t{TableRowsPerPage(options.shape)};
  ASSERT_OK(LoadHeapTable(options));
  EXPECT_EQ(FileSize(options.path), 4 * uint64_t{PageSizeBytes(page_size())});
  EXPECT_OK(VerifyHeapTable(options.path, options.shape));
  ASSERT_OK_AND_ASSIGN(const TableShape shape, ReadTableShape(options.path));
  EXPECT_EQ(shape, options.shape);
}

TEST_P(HeapTableLoadTest, OneRowTable) {
  const LoadOptions options = Options(1);
  ASSERT_OK(LoadHeapTable(options));
  EXPECT_EQ(FileSize(options.path), 2 * PageSizeBytes(page_size()));
  EXPECT_OK(VerifyHeapTable(options.path, options.shape));
  ASSERT_OK_AND_ASSIGN(const TableShape shape, ReadTableShape(options.path));
  EXPECT_EQ(shape, options.shape) << "the trailer records the shape at every page size";
}

INSTANTIATE_TEST_SUITE_P(AllBackends, HeapTableLoadTest,
                         ::testing::Combine(::testing::Values(Backend::kIoUring, Backend::kWorker, Backend::kSync),
                                            ::testing::Values(CacheMode::kBuffered, CacheMode::kDirect),
                                            ::testing::Values(PageSize::k4KiB, PageSize::k8KiB, PageSize::k16KiB)),
                         [](const ::testing::TestParamInfo<LoadParam>& param_info) {
                           std::string backend(BackendName(std::get<0>(param_info.param)));
                           if (backend == "io_uring") backend = "IoUring";
                           backend[0] = static_cast<char>(std::toupper(backend[0]));
                           return backend + CacheModeLabel(std::get<1>(param_info.param)) +
                                  std::to_string(PageSizeBytes(std::get<2>(param_info.param)) / 1024) + "KiB";
                         });

// ---- Building pages ----

// The reference a table page must equal: the row-at-a-time path, each value from
// ExpectedValue column by column.
void BuildPageRowByRow(std::span<std::byte> page, const TableShape& shape, uint64_t page_id) {
  const uint32_t capacity = TableRowsPerPage(shape);
  InitHeapPage(page, page_id, shape.columns);
  const uint64_t end_row = std::min(shape.rows, (page_id + 1) * capacity);
  std::vector<int64_t> row(shape.columns);
  for (uint64_t r = page_id * capacity; r < end_row; ++r) {
    for (uint32_t c = 0; c < shape.columns; ++c) row[c] = ExpectedValue(shape.seed, r, c);
    ASSERT_TRUE(AppendRow(page, row));
  }
  SealPage(page);
}

class BuildHeapTablePageTest : public ::testing::TestWithParam<PageSize> {};

// Every column count, a full first page and a partly full last page: the bulk fill must
// write exactly what AppendRow of the expected values writes.
TEST_P(BuildHeapTablePageTest, SameBytesAsAppendRowForFullAndPartlyFullPages) {
  for (uint32_t columns = kMinColumns; columns <= kMaxColumns; ++columns) {
    TableShape shape{.rows = 0, .columns = columns, .page_size = GetParam(), .seed = 77};
    shape.rows = 2 * uint64_t{TableRowsPerPage(shape)} + 5;  // Page 2 holds 5 rows.
    ASSERT_OK_AND_ASSIGN(AlignedBuffer bulk, AlignedBuffer::Allocate(PageSizeBytes(GetParam()), 4096));
    ASSERT_OK_AND_ASSIGN(AlignedBuffer by_row, AlignedBuffer::Allocate(PageSizeBytes(GetParam()), 4096));
    for (uint64_t page_id : {0u, 2u}) {
      BuildHeapTablePage(bulk.span(), shape, page_id);
      BuildPageRowByRow(by_row.span(), shape, page_id);
      ASSERT_TRUE(std::equal(bulk.span().begin(), bulk.span().end(), by_row.span().begin()))
          << columns << " columns, page " << page_id;
    }
    EXPECT_EQ(RowCount(bulk.span()), 5u) << columns << " columns";
    EXPECT_OK(VerifyPage(bulk.span(), /*expected_page_id=*/2, "t.tbl"));
  }
}

INSTANTIATE_TEST_SUITE_P(AllPageSizes, BuildHeapTablePageTest,
                         ::testing::Values(PageSize::k4KiB, PageSize::k8KiB, PageSize::k16KiB),
                         [](const ::testing::TestParamInfo<PageSize>& param_info) {
                           return std::to_string(PageSizeBytes(param_info.param) / 1024) + "KiB";
                         });

// ---- Free space ----

// A table larger than the room beside the filesystem's reserve is refused before the file
// is made (skipped where the largest table fits, which needs about 100 GiB free).
TEST(HeapTableLoadSpaceTest, TableBeyondTheFreeSpaceIsRefusedAndNothingIsMade) {
  TempDir dir;
  LoadOptions options = SmallLoad(dir.File("huge.tbl"));
  options.shape.rows = kMaxTableRows;
  options.shape.columns = kMaxColumns;
  const uint64_t bytes = TableFileBytes(options.shape);
  ASSERT_OK_AND_ASSIGN(const FreeSpace space, FreeSpaceAt(options.path));
  if (CheckRoomToGrow(space, options.path, bytes, "size").ok()) {
    GTEST_SKIP() << "the largest table (" << bytes << " bytes) fits in the free space here";
  }
  const Result<LoadStats> loaded = LoadHeapTable(options);
  ASSERT_FALSE(loaded.has_value());
  EXPECT_EQ(loaded.error().code(), StatusCode::kResourceExhausted) << loaded.error().message();
  struct stat st {};
  EXPECT_NE(::stat(options.path.c_str(), &st), 0) << "nothing was created";
}

// ---- Atomic creation ----

// A load that fails part way (ENOSPC on the third page's write, on every backend) leaves
// nothing at the path: no partial table that looks finished and no partial file.
TEST(HeapTableAtomicLoadTest, LoadFailingPartWayLeavesNothingAndTheRetrySucceeds) {
  for (Backend backend : {Backend::kIoUring, Backend::kWorker, Backend::kSync}) {
    SCOPED_TRACE(BackendName(backend));
    TempDir dir;
    LoadOptions options = SmallLoad(dir.File("t.tbl"));
    options.queue.backend = backend;
    options.queue.depth = backend == Backend::kSync ? 1 : 4;
    options.write_bytes = PageSizeBytes(options.shape.page_size);
    FaultInjector faults;
    faults.Add(FaultRule{.kind = FaultKind::kError,
                         .offset = 2 * uint64_t{PageSizeBytes(options.shape.page_size)},
                         .any_op = false,
                         .op = IoOp::kWrite,
                         .error_number = ENOSPC,
                         .times = 1});
    options.fault_injector = &faults;
    const Result<LoadStats> failed = LoadHeapTable(options);
    ASSERT_FALSE(failed.has_value());
    EXPECT_EQ(failed.error().error_number(), ENOSPC) << failed.error().message();
    struct stat st {};
    EXPECT_NE(::stat(options.path.c_str(), &st), 0) << "no table at the path";
    EXPECT_NE(::stat(PartialPath(options.path).c_str(), &st), 0) << "no partial file left";
    options.fault_injector = nullptr;
    ASSERT_OK(LoadHeapTable(options));
    EXPECT_OK(VerifyHeapTable(options.path, options.shape));
  }
}

// EIO on the final fdatasync: the kernel may have dropped the written pages, so the load
// fails, naming the sync, and nothing that looks complete is left.
TEST(HeapTableAtomicLoadTest, FailedSyncFailsTheLoadAndLeavesNothing) {
  TempDir dir;
  LoadOptions options = SmallLoad(dir.File("t.tbl"));
  FaultInjector faults;
  faults.FailSyncs(1, EIO);
  options.fault_injector = &faults;
  const Result<LoadStats> failed = LoadHeapTable(options);
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().error_number(), EIO);
  EXPECT_NE(failed.error().message().find("fdatasync"), std::string::npos) << failed.error().message();
  struct stat st {};
  EXPECT_NE(::stat(options.path.c_str(), &st), 0);
  EXPECT_NE(::stat(PartialPath(options.path).c_str(), &st), 0);
}

TEST(HeapTableAtomicLoadTest, FailedReloadKeepsTheOldTableWhole) {
  TempDir dir;
  LoadOptions options = SmallLoad(dir.File("t.tbl"));
  ASSERT_OK(LoadHeapTable(options));
  LoadOptions other = options;
  other.shape.seed = 7;
  FaultInjector faults;
  faults.Add(FaultRule{
      .kind = FaultKind::kError, .offset = 0, .any_op = false, .op = IoOp::kWrite, .error_number = EIO, .times = 1});
  other.fault_injector = &faults;
  ASSERT_FALSE(LoadHeapTable(other).has_value());
  EXPECT_OK(VerifyHeapTable(options.path, options.shape)) << "the table before the failed load is still there";
}

TEST(HeapTableAtomicLoadTest, PartialFileAKilledLoadLeftDoesNotBlockTheRetry) {
  TempDir dir;
  const LoadOptions options = SmallLoad(dir.File("t.tbl"));
  {  // A killed load: its partial file, empty (killed before the first write).
    std::ofstream partial(PartialPath(options.path));
  }
  ASSERT_OK(LoadHeapTable(options));
  EXPECT_OK(VerifyHeapTable(options.path, options.shape));
  struct stat st {};
  EXPECT_NE(::stat(PartialPath(options.path).c_str(), &st), 0);
}

// ---- Matching an existing table ----

TEST(HeapTableMatchesTest, TrueForTheTableJustLoaded) {
  TempDir dir;
  const LoadOptions options = SmallLoad(dir.File("t.tbl"));
  ASSERT_OK(LoadHeapTable(options));
  ASSERT_OK_AND_ASSIGN(const bool matches, HeapTableMatches(options.path, options.shape));
  EXPECT_TRUE(matches);
}

TEST(HeapTableMatchesTest, FalseWhenTheFileIsAbsent) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(const bool matches, HeapTableMatches(dir.File("missing.tbl"), SmallLoad("").shape));
  EXPECT_FALSE(matches);
}

TEST(HeapTableMatchesTest, FalseForAnotherShape) {
  TempDir dir;
  const LoadOptions options = SmallLoad(dir.File("t.tbl"));
  ASSERT_OK(LoadHeapTable(options));
  // Same file size but other content, then other sizes.
  const uint32_t capacity = TableRowsPerPage(options.shape);
  std::vector<std::pair<std::string, TableShape>> others;
  TableShape shape = options.shape;
  shape.seed += 1;
  others.emplace_back("seed", shape);
  shape = options.shape;
  shape.rows -= 1;  // Same page count, one row fewer on the last page.
  ASSERT_EQ(TablePageCount(shape), TablePageCount(options.shape));
  others.emplace_back("rows on the last page", shape);
  shape = options.shape;
  shape.rows += capacity;
  others.emplace_back("one more page", shape);
  shape = options.shape;
  shape.columns = 2;
  shape.rows = options.shape.rows * 2 - 7;
  others.emplace_back("columns", shape);
  shape = options.shape;
  shape.page_size = PageSize::k4KiB;
  others.emplace_back("page size", shape);
  for (const auto& [what, other] : others) {
    ASSERT_OK_AND_ASSIGN(const bool matches, HeapTableMatches(options.path, other));
    EXPECT_FALSE(matches) << "another " << what;
  }
}

TEST(HeapTableMatchesTest, FalseForATruncatedFile) {
  TempDir dir;
  const LoadOptions options = SmallLoad(dir.File("t.tbl"));
  ASSERT_OK(LoadHeapTable(options));
  ASSERT_EQ(::truncate(options.path.c_str(), static_cast<off_t>(FileSize(options.path) - 4096)), 0);
  ASSERT_OK_AND_ASSIGN(const bool matches, HeapTableMatches(options.path, options.shape));
  EXPECT_FALSE(matches);
}

TEST(HeapTableMatchesTest, FalseWhenTheMiddlePageIsCorrupt) {
  TempDir dir;
  const LoadOptions options = SmallLoad(dir.File("t.tbl"));
  ASSERT_OK(LoadHeapTable(options));
  const uint64_t page_bytes = PageSizeBytes(options.shape.page_size);
  FlipByte(options.path, /*offset=*/TablePageCount(options.shape) / 2 * page_bytes + 100);
  ASSERT_OK_AND_ASSIGN(const bool matches, HeapTableMatches(options.path, options.shape));
  EXPECT_FALSE(matches);
}

TEST(HeapTableMatchesTest, TrueForAZeroRowTable) {
  TempDir dir;
  const LoadOptions options = SmallLoad(dir.File("empty.tbl"), /*rows=*/0);
  ASSERT_OK(LoadHeapTable(options));
  ASSERT_OK_AND_ASSIGN(const bool matches, HeapTableMatches(options.path, options.shape));
  EXPECT_TRUE(matches);
}

TEST(HeapTableMatchesTest, PathThatCannotBeOpenedIsAnError) {
  TempDir dir;
  const LoadOptions options = SmallLoad(dir.File("t.tbl"));
  ASSERT_OK(LoadHeapTable(options));
  // A regular file used as a directory: ENOTDIR, an I/O error rather than "absent".
  const Result<bool> matches = HeapTableMatches(options.path + "/t.tbl", options.shape);
  ASSERT_FALSE(matches.has_value());
  EXPECT_EQ(matches.error().error_number(), ENOTDIR) << matches.error().ToString();
}

TEST(HeapTableMatchesTest, BadShapeIsInvalidArgument) {
  TableShape shape;
  shape.columns = 0;
  EXPECT_EQ(HeapTableMatches("/nonexistent/t.tbl", shape).error().code(), StatusCode::kInvalidArgument);
}

// ---- Boundaries and refusals ----

TEST(HeapTableTest, ZeroRowsIsATrailerAlone) {
  TempDir dir;
  const LoadOptions options = SmallLoad(dir.File("empty.tbl"), /*rows=*/0);
  ASSERT_OK_AND_ASSIGN(const LoadStats stats, LoadHeapTable(options));
  EXPECT_EQ(stats.pages, 0u);
  EXPECT_EQ(stats.bytes, PageSizeBytes(options.shape.page_size));
  EXPECT_EQ(FileSize(options.path), PageSizeBytes(options.shape.page_size));
  EXPECT_OK(VerifyHeapTable(options.path, options.shape));
  ASSERT_OK_AND_ASSIGN(const TableShape shape, ReadTableShape(options.path));
  EXPECT_EQ(shape, options.shape);
}

TEST(HeapTableTest, DepthLargerThanTheTable) {
  TempDir dir;
  LoadOptions options = SmallLoad(dir.File("t.tbl"), /*rows=*/300);
  options.queue.depth = 64;
  options.write_bytes = PageSizeBytes(options.shape.page_size);
  ASSERT_OK(LoadHeapTable(options));
  EXPECT_OK(VerifyHeapTable(options.path, options.shape));
}

TEST(HeapTableTest, RefusesToOverwriteAForeignFile) {
  TempDir dir;
  const std::string path = dir.File("notes.txt");
  ASSERT_OK(testutil::WritePatternFile(path, /*size_bytes=*/20'000, testutil::kTestFileId));
  const std::string before = ReadWholeFile(path);
  const auto loaded = LoadHeapTable(SmallLoad(path));
  ASSERT_FALSE(loaded.has_value());
  EXPECT_EQ(loaded.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(loaded.error().message().find("not an iodepth table"), std::string::npos) << loaded.error().ToString();
  EXPECT_EQ(ReadWholeFile(path), before);
}

TEST(HeapTableTest, RefusesAFileShorterThanAMagic) {
  TempDir dir;
  const std::string path = dir.File("tiny");
  ASSERT_OK(testutil::WritePatternFile(path, /*size_bytes=*/3, testutil::kTestFileId));
  const auto loaded = LoadHeapTable(SmallLoad(path));
  ASSERT_FALSE(loaded.has_value());
  EXPECT_EQ(loaded.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(FileSize(path), 3u);
}

TEST(HeapTableTest, ReplacesATableOfTheSameShape) {
  TempDir dir;
  const LoadOptions options = SmallLoad(dir.File("t.tbl"));
  ASSERT_OK(LoadHeapTable(options));
  ASSERT_OK(LoadHeapTable(options));
  EXPECT_OK(VerifyHeapTable(options.path, options.shape));
}

// A user's table is not replaced by one of another shape unless told to: the refusal
// names both shapes and the flag, and leaves the file as it was.
TEST(HeapTableTest, ReplacesATableOfAnotherShapeOnlyWithOverwrite) {
  TempDir dir;
  LoadOptions options = SmallLoad(dir.File("t.tbl"));
  options.shape.columns = 6;
  options.shape.seed = 7;
  ASSERT_OK(LoadHeapTable(options));
  const std::string before = ReadWholeFile(options.path);
  LoadOptions other = SmallLoad(options.path, /*rows=*/500);  // Shorter: the old tail must not survive.
  const Result<LoadStats> refused = LoadHeapTable(other);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), StatusCode::kFailedPrecondition);
  const std::string message = refused.error().message();
  EXPECT_NE(message.find(DescribeTableShape(options.shape)), std::string::npos) << message;
  EXPECT_NE(message.find(DescribeTableShape(other.shape)), std::string::npos) << message;
  EXPECT_NE(message.find("--overwrite"), std::string::npos) << message;
  EXPECT_EQ(ReadWholeFile(options.path), before);
  other.overwrite = true;
  ASSERT_OK(LoadHeapTable(other));
  EXPECT_EQ(FileSize(other.path), TableFileBytes(other.shape));
  EXPECT_OK(VerifyHeapTable(other.path, other.shape));
}

// --overwrite replaces iodepth tables only: a foreign file is refused with it too.
TEST(HeapTableTest, OverwriteNeverReplacesAForeignFile) {
  TempDir dir;
  const std::string path = dir.File("notes.txt");
  ASSERT_OK(testutil::WritePatternFile(path, /*size_bytes=*/3 * 8192, testutil::kTestFileId));
  const std::string before = ReadWholeFile(path);
  LoadOptions options = SmallLoad(path);
  options.overwrite = true;
  const auto loaded = LoadHeapTable(options);
  ASSERT_FALSE(loaded.has_value());
  EXPECT_NE(loaded.error().message().find("not an iodepth table"), std::string::npos) << loaded.error().ToString();
  EXPECT_EQ(ReadWholeFile(path), before);
}

TEST(HeapTableTest, CorruptedPageIsNamed) {
  TempDir dir;
  const LoadOptions options = SmallLoad(dir.File("t.tbl"));
  ASSERT_OK(LoadHeapTable(options));
  const uint64_t page_bytes = PageSizeBytes(options.shape.page_size);
  FlipByte(options.path, /*offset=*/2 * page_bytes + 1000);
  const Status verified = VerifyHeapTable(options.path, options.shape);
  EXPECT_EQ(verified.code(), StatusCode::kCorruption);
  EXPECT_NE(verified.message().find("page 2 of " + options.path), std::string::npos) << verified.ToString();
}

TEST(HeapTableTest, WrongSeedIsDetectedAsAValueMismatch) {
  TempDir dir;
  LoadOptions options = SmallLoad(dir.File("t.tbl"));
  ASSERT_OK(LoadHeapTable(options));
  const TableShape loaded = options.shape;
  options.shape.seed += 1;
  const Status verified = VerifyHeapTable(options.path, options.shape);
  EXPECT_EQ(verified.code(), StatusCode::kCorruption);
  EXPECT_NE(verified.message().find("holds a table of " + DescribeTableShape(loaded)), std::string::npos)
      << verified.ToString();
}

// The trailer says seed 42; pages rewritten with another seed's values (resealed, so
// each verifies on its own) are still caught value by value.
TEST(HeapTableTest, PagesOfAnotherSeedBehindAValidTrailerAreAValueMismatch) {
  TempDir dir;
  const LoadOptions options = SmallLoad(dir.File("t.tbl"));
  ASSERT_OK(LoadHeapTable(options));
  TableShape other = options.shape;
  other.seed += 1;
  const uint32_t page_bytes = PageSizeBytes(options.shape.page_size);
  ASSERT_OK_AND_ASSIGN(AlignedBuffer page, AlignedBuffer::Allocate(page_bytes, 4096));
  BuildHeapTablePage(page.span(), other, /*page_id=*/0);
  const int fd = ::open(options.path.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::pwrite(fd, page.span().data(), page_bytes, 0), static_cast<ssize_t>(page_bytes));
  ::close(fd);
  const Status verified = VerifyHeapTable(options.path, options.shape);
  EXPECT_EQ(verified.code(), StatusCode::kCorruption);
  EXPECT_NE(verified.message().find("page 0 of"), std::string::npos) << verified.ToString();
  EXPECT_NE(verified.message().find("column 0"), std::string::npos) << verified.ToString();
}

TEST(HeapTableTest, TruncatedFileIsDetected) {
  TempDir dir;
  const LoadOptions options = SmallLoad(dir.File("t.tbl"));
  ASSERT_OK(LoadHeapTable(options));
  ASSERT_EQ(::truncate(options.path.c_str(), static_cast<off_t>(FileSize(options.path) - 4096)), 0);
  EXPECT_EQ(VerifyHeapTable(options.path, options.shape).code(), StatusCode::kCorruption);
}

// ---- The trailer: what a file says about itself ----

TEST(TableFileTest, ATableRecordsItsShape) {
  TempDir dir;
  LoadOptions options = SmallLoad(dir.File("t.tbl"));
  options.shape.columns = 6;
  options.shape.seed = 7;
  ASSERT_OK(LoadHeapTable(options));
  ASSERT_OK_AND_ASSIGN(const TableFileInfo info, InspectTableFile(options.path));
  EXPECT_EQ(info.kind, TableFileKind::kTable);
  EXPECT_EQ(info.shape, options.shape);
  EXPECT_EQ(info.size_bytes, TableFileBytes(options.shape));
}

// Cut exactly on a page boundary, every data page still verifies: only the missing
// trailer tells. Before the trailer existed such a table read as a smaller one.
TEST(TableFileTest, TableCutOnAPageBoundaryIsDamagedNotSmaller) {
  TempDir dir;
  const LoadOptions options = SmallLoad(dir.File("t.tbl"));
  ASSERT_OK(LoadHeapTable(options));
  const uint64_t page_bytes = PageSizeBytes(options.shape.page_size);
  for (const uint64_t cut_pages : {uint64_t{1}, uint64_t{2}, TablePageCount(options.shape)}) {
    SCOPED_TRACE(cut_pages);
    ASSERT_OK(LoadHeapTable(options));
    ASSERT_EQ(::truncate(options.path.c_str(), static_cast<off_t>(FileSize(options.path) - cut_pages * page_bytes)), 0);
    ASSERT_OK_AND_ASSIGN(const TableFileInfo info, InspectTableFile(options.path));
    EXPECT_EQ(info.kind, TableFileKind::kDamagedTable);
    EXPECT_NE(info.why.find("without its trailer page"), std::string::npos) << info.why;
    const Result<TableShape> shape = ReadTableShape(options.path);
    ASSERT_FALSE(shape.has_value());
    EXPECT_NE(shape.error().message().find(options.path), std::string::npos) << shape.error().message();
    ASSERT_OK_AND_ASSIGN(const bool matches, HeapTableMatches(options.path, options.shape));
    EXPECT_FALSE(matches);
    // Damaged: replaced only when told to.
    const Result<LoadStats> refused = LoadHeapTable(options);
    ASSERT_FALSE(refused.has_value());
    EXPECT_NE(refused.error().message().find("--overwrite"), std::string::npos) << refused.error().message();
    LoadOptions overwrite = options;
    overwrite.overwrite = true;
    ASSERT_OK(LoadHeapTable(overwrite));
  }
}

TEST(TableFileTest, TableGrownPastItsTrailerIsDamaged) {
  TempDir dir;
  const LoadOptions options = SmallLoad(dir.File("t.tbl"));
  ASSERT_OK(LoadHeapTable(options));
  ASSERT_EQ(::truncate(options.path.c_str(), static_cast<off_t>(FileSize(options.path) + 8192)), 0);
  ASSERT_OK_AND_ASSIGN(const TableFileInfo info, InspectTableFile(options.path));
  EXPECT_EQ(info.kind, TableFileKind::kDamagedTable);
  EXPECT_EQ(VerifyHeapTable(options.path, options.shape).code(), StatusCode::kCorruption);
}

TEST(TableFileTest, CorruptTrailerIsDamaged) {
  TempDir dir;
  const LoadOptions options = SmallLoad(dir.File("t.tbl"));
  ASSERT_OK(LoadHeapTable(options));
  const uint64_t page_bytes = PageSizeBytes(options.shape.page_size);
  FlipByte(options.path, /*offset=*/TablePageCount(options.shape) * page_bytes + 64 + 8);  // The row count.
  ASSERT_OK_AND_ASSIGN(const TableFileInfo info, InspectTableFile(options.path));
  EXPECT_EQ(info.kind, TableFileKind::kDamagedTable);
  EXPECT_NE(info.why.find("checksum mismatch"), std::string::npos) << info.why;
}

// A table made before the trailer: version-1 pages, no trailer. Its reader is told which
// command makes it again, with the rows, columns and page size its pages imply.
TEST(TableFileTest, TableOfTheOlderFormatSaysHowToLoadItAgain) {
  TempDir dir;
  const std::string path = dir.File("old.tbl");
  TableShape shape{.rows = 300, .columns = 6, .page_size = PageSize::k4KiB, .seed = 5};
  const uint32_t page_bytes = PageSizeBytes(shape.page_size);
  ASSERT_OK_AND_ASSIGN(AlignedBuffer page, AlignedBuffer::Allocate(page_bytes, 4096));
  {
    std::ofstream out(path, std::ios::binary);
    for (uint64_t id = 0; id < TablePageCount(shape); ++id) {
      BuildHeapTablePage(page.span(), shape, id);
      page.span()[4] = std::byte{kPageFormatVersionWithoutTrailer};
      SealPage(page.span());
      out.write(reinterpret_cast<const char*>(page.span().data()), page_bytes);
    }
  }
  testutil::WriteSeed("table_file", "older_format.tbl", ReadWholeFile(path));
  ASSERT_OK_AND_ASSIGN(const TableFileInfo info, InspectTableFile(path));
  EXPECT_EQ(info.kind, TableFileKind::kOlderTable);
  EXPECT_NE(info.why.find("made by an older iodepth"), std::string::npos) << info.why;
  EXPECT_NE(info.why.find(fmt::format("iodepth load --filename={} --rows=300 --columns=6 --page-size=4096", path)),
            std::string::npos)
      << info.why;
  const Result<TableShape> read = ReadTableShape(path);
  ASSERT_FALSE(read.has_value());
  EXPECT_EQ(read.error().message(), info.why);
  LoadOptions options = SmallLoad(path);
  EXPECT_FALSE(LoadHeapTable(options).has_value()) << "replaced only with --overwrite";
  options.overwrite = true;
  ASSERT_OK(LoadHeapTable(options));
  EXPECT_OK(VerifyHeapTable(path, options.shape));
}

TEST(TableFileTest, AbsentEmptyAndForeignFiles) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(const TableFileInfo absent, InspectTableFile(dir.File("none.tbl")));
  EXPECT_EQ(absent.kind, TableFileKind::kAbsent);
  EXPECT_EQ(ReadTableShape(dir.File("none.tbl")).error().code(), StatusCode::kNotFound);
  { std::ofstream empty(dir.File("empty.tbl")); }
  ASSERT_OK_AND_ASSIGN(const TableFileInfo empty, InspectTableFile(dir.File("empty.tbl")));
  EXPECT_EQ(empty.kind, TableFileKind::kEmpty);
  ASSERT_OK(testutil::WritePatternFile(dir.File("notes.txt"), /*size_bytes=*/5 * 8192, testutil::kTestFileId));
  ASSERT_OK_AND_ASSIGN(const TableFileInfo foreign, InspectTableFile(dir.File("notes.txt")));
  EXPECT_EQ(foreign.kind, TableFileKind::kForeign);
  EXPECT_NE(foreign.why.find("not an iodepth table"), std::string::npos) << foreign.why;
}

TEST(HeapTableTest, BadWriteSizeIsRejected) {
  TempDir dir;
  LoadOptions options = SmallLoad(dir.File("t.tbl"));
  options.write_bytes = PageSizeBytes(options.shape.page_size) + 512;
  EXPECT_EQ(LoadHeapTable(options).error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(FileSize(options.path), ~uint64_t{0});  // Nothing was created.
}

TEST(HeapTableTest, WriteRingOverItsBoundIsRejected) {
  TempDir dir;
  LoadOptions options = SmallLoad(dir.File("t.tbl"));
  options.queue.depth = 4096;
  options.write_bytes = 1 << 20;
  EXPECT_EQ(LoadHeapTable(options).error().code(), StatusCode::kInvalidArgument);
}

// ---- Updates in place ----

TEST(HeapTableUpdateTest, EveryUpdateKeepsThePageCheckableAcrossWrapsOfItsSlots) {
  TableShape shape;
  shape.rows = 1000;
  shape.columns = 3;
  shape.seed = 9;
  const uint32_t page_bytes = PageSizeBytes(shape.page_size);
  ASSERT_OK_AND_ASSIGN(AlignedBuffer page, AlignedBuffer::Allocate(page_bytes, 4096));
  const uint64_t page_id = TablePageCount(shape) - 1;  // The partly full last page.
  BuildHeapTablePage(page.span(), shape, page_id);
  const uint32_t rows = RowCount(page.span());
  ASSERT_GT(rows, 1u);
  for (uint64_t k = 1; k <= 3 * rows + 1; ++k) {
    ApplyTableUpdate(page.span(), shape, page_id);
    ASSERT_EQ(PageLsn(page.span()), k);
    ASSERT_OK(VerifyPage(page.span(), page_id, "t"));
    ASSERT_OK(CheckTablePage(page.span(), shape, page_id, "t")) << "after update " << k;
  }
  // The slot the last update wrote holds that update's value; others their own last one.
  const uint64_t first_row = page_id * TableRowsPerPage(shape);
  EXPECT_EQ(RowAt(page.span(), 0)[2], UpdatedValue(shape.seed, first_row, 3 * rows + 1));
  EXPECT_EQ(RowAt(page.span(), 1)[2], UpdatedValue(shape.seed, first_row + 1, 2 * rows + 2));
  EXPECT_EQ(RowAt(page.span(), 1)[0], ExpectedValue(shape.seed, first_row + 1, 0)) << "only the last column changes";
  // A lost update (the LSN says one more than the rows hold) is caught.
  SetPageLsn(page.span(), PageLsn(page.span()) + 1);
  SealPage(page.span());
  const Status stale = CheckTablePage(page.span(), shape, page_id, "t");
  EXPECT_EQ(stale.code(), StatusCode::kCorruption);
  EXPECT_NE(stale.message().find("column 2"), std::string::npos) << stale.message();
}

TEST(HeapTableUpdateTest, AMarkedTableIsRefusedByReadersOfLoadedValuesUntilLoadedAgain) {
  TempDir dir;
  const LoadOptions options = SmallLoad(dir.File("rw.tbl"));
  ASSERT_OK(LoadHeapTable(options));
  ASSERT_OK(MarkTableUpdated(options.path, options.shape));
  ASSERT_OK_AND_ASSIGN(const TableFileInfo info, InspectTableFile(options.path));
  EXPECT_EQ(info.kind, TableFileKind::kTable);
  EXPECT_TRUE(info.updated);
  const auto refused = ReadTableShape(options.path);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.error().message().find("updated in place"), std::string::npos) << refused.error().message();
  EXPECT_NE(refused.error().message().find("iodepth load --filename=" + options.path), std::string::npos)
      << refused.error().message();
  ASSERT_OK_AND_ASSIGN(const TableShape shape, ReadUpdatedTableShape(options.path));
  EXPECT_EQ(shape, options.shape);
  ASSERT_OK_AND_ASSIGN(const bool matches, HeapTableMatches(options.path, options.shape));
  EXPECT_FALSE(matches) << "a suite must not reuse an updated table as a loaded one";
  ASSERT_OK(VerifyHeapTable(options.path, options.shape)) << "no page changed, only the trailer's flag";
  ASSERT_OK(LoadHeapTable(options));
  ASSERT_OK(ReadTableShape(options.path));
}

TEST(HeapTableUpdateTest, MarkingRefusesAnotherShapeAndAForeignFile) {
  TempDir dir;
  const LoadOptions options = SmallLoad(dir.File("rw.tbl"));
  ASSERT_OK(LoadHeapTable(options));
  TableShape other = options.shape;
  other.rows += 1;
  EXPECT_EQ(MarkTableUpdated(options.path, other).code(), StatusCode::kFailedPrecondition);
  const std::string foreign = dir.File("foreign");
  ASSERT_OK(testutil::WritePatternFile(foreign, /*size_bytes=*/20'000, testutil::kTestFileId));
  const std::string before = ReadWholeFile(foreign);
  EXPECT_FALSE(MarkTableUpdated(foreign, options.shape).ok());
  EXPECT_EQ(ReadWholeFile(foreign), before) << "a file iodepth did not make was written";
  ASSERT_OK_AND_ASSIGN(const bool matches, HeapTableMatches(options.path, options.shape));
  EXPECT_TRUE(matches) << "a refused mark changed the table";
}

}  // namespace
}  // namespace iodepth
