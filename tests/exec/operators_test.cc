// Operators: the scan returns every row of the pages asked for, in order, in sync and
// pipelined mode alike; Filter and Aggregate give the answers worked out by hand; every
// query over a real table equals ExpectedAnswer (itself checked against storage's known
// answers); concurrent scans sharing a small pool answer as they do alone; a corrupted
// page is an error naming it, never a wrong answer; bad queries are refused with a reason.
// Table tests run on the io_uring and worker backends, buffered and direct, against heap
// tables written by LoadHeapTable in a scratch directory.
#include "exec/operators.h"

#include <array>
#include <cstdint>
#include <latch>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "buffer/buffer_manager.h"
#include "buffer/buffer_test_util.h"
#include "io/file.h"
#include "io/io_queue.h"
#include "storage/heap_table.h"
#include "storage/page.h"
#include "testutil/io_printers.h"
#include "testutil/status_macros.h"
#include "testutil/temp_dir.h"

namespace iodepth {
namespace {

using testutil::TempDir;

// ---------------------------------------------------------------------------------------
// In-memory rows: Filter and Aggregate against answers worked out by hand.
// ---------------------------------------------------------------------------------------

// Hands out fixed batches (row-major values, `columns` per row), one per Next().
class VectorSource final : public Operator {
 public:
  VectorSource(uint32_t columns, std::vector<std::vector<int64_t>> batches)
      : columns_(columns), batches_(std::move(batches)) {}
  Result<bool> Next(RowBatch& batch) override {
    if (next_ == batches_.size()) return false;
    const std::vector<int64_t>& values = batches_[next_++];
    const auto rows = static_cast<uint32_t>(values.size() / columns_);
    batch =
        RowBatch{.values = values.data(), .columns = columns_, .rows = rows, .selection = nullptr, .selected = rows};
    return true;
  }

 private:
  uint32_t columns_;
  std::vector<std::vector<int64_t>> batches_;
  size_t next_ = 0;
};

std::unique_ptr<VectorSource> OneColumn(std::vector<int64_t> values) {
  return std::make_unique<VectorSource>(1, std::vector<std::vector<int64_t>>{std::move(values)});
}

// The live row indices of one batch.
std::vector<uint32_t> LiveRows(const RowBatch& batch) {
  if (batch.selection == nullptr) {
    std::vector<uint32_t> all(batch.rows);
    for (uint32_t i = 0; i < batch.rows; ++i) all[i] = i;
    return all;
  }
  return std::vector<uint32_t>(batch.selection, batch.selection + batch.selected);
}

// The rows of {-3, -1, 0, 1, 1, 2, 5} each operator keeps against 1.
TEST(FilterTest, KeepsExactlyTheRowsEachOperatorSelects) {
  const std::vector<int64_t> values = {-3, -1, 0, 1, 1, 2, 5};
  const std::vector<std::pair<CompareOp, std::vector<uint32_t>>> cases = {
      {CompareOp::kLess, {0, 1, 2}}, {CompareOp::kLessEqual, {0, 1, 2, 3, 4}},
      {CompareOp::kGreater, {5, 6}}, {CompareOp::kGreaterEqual, {3, 4, 5, 6}},
      {CompareOp::kEqual, {3, 4}},   {CompareOp::kNotEqual, {0, 1, 2, 5, 6}},
  };
  for (const auto& [op, expected] : cases) {
    Filter filter(OneColumn(values), Predicate{.column = 0, .op = op, .value = 1, .work = 0});
    RowBatch batch;
    ASSERT_OK_AND_ASSIGN(const bool more, filter.Next(batch));
    ASSERT_TRUE(more) << "op " << static_cast<int>(op);
    EXPECT_EQ(LiveRows(batch), expected) << "op " << static_cast<int>(op);
    EXPECT_EQ(batch.rows, values.size());
    ASSERT_OK_AND_ASSIGN(const bool after, filter.Next(batch));
    EXPECT_FALSE(after);
  }
}

TEST(FilterTest, SecondFilterEvaluatesOnlyTheFirstOnesSelection) {
  // Two columns; the first filter keeps c0 > 0 (rows 1, 3, 4), the second c1 == 7 of those.
  auto source = std::make_unique<VectorSource>(
      2, std::vector<std::vector<int64_t>>{{0, 7, /**/ 1, 7, /**/ -2, 7, /**/ 3, 8, /**/ 4, 7}});
  auto first =
      std::make_unique<Filter>(std::move(source), Predicate{.column = 0, .op = CompareOp::kGreater, .value = 0});
  Filter second(std::move(first), Predicate{.column = 1, .op = CompareOp::kEqual, .value = 7});
  RowBatch batch;
  ASSERT_OK_AND_ASSIGN(const bool more, second.Next(batch));
  ASSERT_TRUE(more);
  EXPECT_EQ(LiveRows(batch), (std::vector<uint32_t>{1, 4}));  // Rows 0 and 2 have c1 == 7 but c0 <= 0.
}

TEST(FilterTest, PerRowWorkRunsOnlyForRowsEvaluated) {
  const Predicate burn{.column = 1, .op = CompareOp::kGreaterEqual, .value = 0, .work = 5};
  // Over rows that an earlier filter narrowed to {c0 < 3} ...
  auto all = std::make_unique<VectorSource>(2, std::vector<std::vector<int64_t>>{{0, 10, 5, 11, 1, 12, 7, 13, 2, 14}});
  Filter narrowed(std::make_unique<Filter>(std::move(all), Predicate{.column = 0, .op = CompareOp::kLess, .value = 3}),
                  burn);
  // ... the work equals that over a source holding just those rows.
  Filter direct(std::make_unique<VectorSource>(2, std::vector<std::vector<int64_t>>{{0, 10, 1, 12, 2, 14}}), burn);
  ASSERT_OK(Aggregate(narrowed, {AggSpec{}}, std::nullopt));
  ASSERT_OK(Aggregate(direct, {AggSpec{}}, std::nullopt));
  EXPECT_NE(narrowed.work_sink(), 0u);
  EXPECT_EQ(narrowed.work_sink(), direct.work_sink());

  Filter idle(OneColumn({1, 2, 3}), Predicate{.column = 0, .op = CompareOp::kLess, .value = 9, .work = 0});
  ASSERT_OK(Aggregate(idle, {AggSpec{}}, std::nullopt));
  EXPECT_EQ(idle.work_sink(), 0u);
}

TEST(FilterTest, SkipsBatchesInWhichNoRowPasses) {
  Filter filter(std::make_unique<VectorSource>(1, std::vector<std::vector<int64_t>>{{1, 9}, {2, 3}, {9}}),
                Predicate{.column = 0, .op = CompareOp::kEqual, .value = 9});
  RowBatch batch;
  std::vector<std::vector<uint32_t>> seen;
  while (true) {
    ASSERT_OK_AND_ASSIGN(const bool more, filter.Next(batch));
    if (!more) break;
    seen.push_back(LiveRows(batch));
  }
  EXPECT_EQ(seen, (std::vector<std::vector<uint32_t>>{{1}, {0}}));
}

TEST(FilterTest, PredicateOnAMissingColumnIsInvalidArgument) {
  Filter filter(OneColumn({1, 2}), Predicate{.column = 3, .op = CompareOp::kLess, .value = 1});
  RowBatch batch;
  const Result<bool> next = filter.Next(batch);
  ASSERT_FALSE(next.has_value());
  EXPECT_EQ(next.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(next.error().message().find("c3"), std::string::npos) << next.error().message();
}

const std::vector<AggSpec> kAllKinds = {AggSpec{.kind = AggKind::kCount}, AggSpec{.kind = AggKind::kSum, .column = 1},
                                        AggSpec{.kind = AggKind::kMin, .column = 1},
                                        AggSpec{.kind = AggKind::kMax, .column = 1}};

TEST(AggregateTest, CountSumMinMaxOfKnownRows) {
  // Rows {key, value}, in two batches: values 4, -7, 10 | 2, 0.
  VectorSource source(2, {{0, 4, 1, -7, 0, 10}, {1, 2, 0, 0}});
  ASSERT_OK_AND_ASSIGN(const QueryAnswer answer, Aggregate(source, kAllKinds, std::nullopt));
  EXPECT_FALSE(answer.grouped);
  EXPECT_EQ(answer.keys, (std::vector<int64_t>{0}));
  EXPECT_EQ(answer.rows, (std::vector<uint64_t>{5}));
  EXPECT_EQ(answer.values, (std::vector<std::vector<int64_t>>{{5, 9, -7, 10}}));
}

TEST(AggregateTest, GroupByGivesOneRowPerKeyInKeyOrder) {
  VectorSource source(2, {{0, 4, 1, -7, 0, 10}, {1, 2, 0, 0}});
  ASSERT_OK_AND_ASSIGN(const QueryAnswer answer, Aggregate(source, kAllKinds, 0u));
  EXPECT_TRUE(answer.grouped);
  EXPECT_EQ(answer.keys, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(answer.rows, (std::vector<uint64_t>{3, 2}));
  EXPECT_EQ(answer.values, (std::vector<std::vector<int64_t>>{{3, 14, 0, 10}, {2, -5, -7, 2}}));
}

TEST(AggregateTest, KeysOutsideTheDirectRangeAreGroupedAndSortedToo) {
  // 63 is the last key of the direct array, 64 the first hashed one; negatives are hashed.
  VectorSource source(1, {{70, -5, 3, 63, 64, 3, -5, 1000000, -5}});
  ASSERT_OK_AND_ASSIGN(const QueryAnswer answer, Aggregate(source, {AggSpec{}}, 0u));
  EXPECT_EQ(answer.keys, (std::vector<int64_t>{-5, 3, 63, 64, 70, 1000000}));
  EXPECT_EQ(answer.rows, (std::vector<uint64_t>{3, 2, 1, 1, 1, 1}));
}

TEST(AggregateTest, UngroupedEmptyInputHasOneRowWithCountZero) {
  VectorSource source(2, {});
  ASSERT_OK_AND_ASSIGN(const QueryAnswer answer, Aggregate(source, kAllKinds, std::nullopt));
  EXPECT_EQ(answer.keys, (std::vector<int64_t>{0}));
  EXPECT_EQ(answer.rows, (std::vector<uint64_t>{0}));
  EXPECT_EQ(answer.values, (std::vector<std::vector<int64_t>>{{0, 0, 0, 0}}));
  EXPECT_EQ(FormatAnswer(answer, std::nullopt), "count=0 sum(c1)=0 min(c1)=none max(c1)=none");
}

TEST(AggregateTest, GroupedEmptyInputHasNoGroups) {
  VectorSource source(2, {});
  ASSERT_OK_AND_ASSIGN(const QueryAnswer answer, Aggregate(source, kAllKinds, 0u));
  EXPECT_TRUE(answer.grouped);
  EXPECT_TRUE(answer.keys.empty());
  EXPECT_TRUE(answer.values.empty());
}

std::vector<int64_t> Keys(int64_t count) {
  std::vector<int64_t> keys(static_cast<size_t>(count));
  for (int64_t k = 0; k < count; ++k) keys[static_cast<size_t>(k)] = k * 7 - 100;  // Direct and hashed keys.
  return keys;
}

TEST(AggregateTest, ExactlyMaxGroupsKeysAreAllowed) {
  VectorSource source(1, {Keys(kMaxGroups)});
  ASSERT_OK_AND_ASSIGN(const QueryAnswer answer, Aggregate(source, {AggSpec{}}, 0u));
  EXPECT_EQ(answer.keys.size(), kMaxGroups);
}

TEST(AggregateTest, OneKeyMoreThanMaxGroupsIsInvalidArgument) {
  VectorSource source(1, {Keys(kMaxGroups + 1)});
  const Result<QueryAnswer> answer = Aggregate(source, {AggSpec{}}, 0u);
  ASSERT_FALSE(answer.has_value());
  EXPECT_EQ(answer.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(answer.error().message().find(std::to_string(kMaxGroups)), std::string::npos) << answer.error().message();
}

TEST(AggregateTest, ColumnOutOfRangeIsInvalidArgumentNamingIt) {
  {
    VectorSource source(2, {{1, 2}});
    const Result<QueryAnswer> answer = Aggregate(source, {AggSpec{.kind = AggKind::kSum, .column = 5}}, std::nullopt);
    ASSERT_FALSE(answer.has_value());
    EXPECT_EQ(answer.error().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(answer.error().message().find("sum(c5)"), std::string::npos) << answer.error().message();
  }
  {
    VectorSource source(2, {{1, 2}});
    const Result<QueryAnswer> answer = Aggregate(source, {AggSpec{}}, 7u);
    ASSERT_FALSE(answer.has_value());
    EXPECT_NE(answer.error().message().find("GROUP BY"), std::string::npos) << answer.error().message();
    EXPECT_NE(answer.error().message().find("c7"), std::string::npos) << answer.error().message();
  }
}

TEST(AggregateTest, SumWrapsInsteadOfOverflowing) {
  VectorSource source(1, {{INT64_MAX, 1}});
  ASSERT_OK_AND_ASSIGN(const QueryAnswer answer, Aggregate(source, {AggSpec{.kind = AggKind::kSum}}, std::nullopt));
  EXPECT_EQ(answer.values[0][0], INT64_MIN);
}

// ---------------------------------------------------------------------------------------
// Parsing and printing.
// ---------------------------------------------------------------------------------------

TEST(ParsePredicateTest, AcceptsEveryOperatorAndSpacing) {
  const std::vector<std::pair<std::string, Predicate>> cases = {
      {"c0<500", {.column = 0, .op = CompareOp::kLess, .value = 500}},
      {" c2 >= 7 ", {.column = 2, .op = CompareOp::kGreaterEqual, .value = 7}},
      {"c1=3", {.column = 1, .op = CompareOp::kEqual, .value = 3}},
      {"c1==3", {.column = 1, .op = CompareOp::kEqual, .value = 3}},
      {"c0!=0", {.column = 0, .op = CompareOp::kNotEqual, .value = 0}},
      {"c3<=\t-12", {.column = 3, .op = CompareOp::kLessEqual, .value = -12}},
      {"C15>+4", {.column = 15, .op = CompareOp::kGreater, .value = 4}},
      {"c0 < -9223372036854775808", {.column = 0, .op = CompareOp::kLess, .value = INT64_MIN}},
  };
  for (const auto& [text, want] : cases) {
    ASSERT_OK_AND_ASSIGN(const Predicate got, ParsePredicate(text));
    EXPECT_EQ(got.column, want.column) << text;
    EXPECT_EQ(got.op, want.op) << text;
    EXPECT_EQ(got.value, want.value) << text;
    EXPECT_EQ(got.work, 0u) << text;
  }
}

TEST(ParsePredicateTest, RejectsMalformedPredicatesWithTheProblemAndAnExample) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "expected a column"},       {"x<5", "expected a column"},
      {"c<5", "column number"},        {"c16<1", "no column c16"},
      {"c0", "expected an operator"},  {"c0 ~ 5", "expected an operator"},
      {"c0<", "expected a number"},    {"c0<<5", "expected a number"},
      {"c0<5x", "unexpected \"x\""},   {"c0<99999999999999999999", "does not fit in int64"},
      {"c0<+-5", "expected a number"}, {"c0<5 and c1>2", "unexpected"},
  };
  for (const auto& [text, problem] : cases) {
    const Result<Predicate> parsed = ParsePredicate(text);
    ASSERT_FALSE(parsed.has_value()) << "\"" << text << "\" parsed";
    EXPECT_EQ(parsed.error().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(parsed.error().message().find(problem), std::string::npos) << parsed.error().message();
    EXPECT_NE(parsed.error().message().find("e.g. c0<500"), std::string::npos) << parsed.error().message();
  }
}

TEST(ParseColumnTest, AcceptsC0ToC15AndRejectsTheRest) {
  ASSERT_OK_AND_ASSIGN(const uint32_t c1, ParseColumn(" c1 "));
  EXPECT_EQ(c1, 1u);
  ASSERT_OK_AND_ASSIGN(const uint32_t c15, ParseColumn("C15"));
  EXPECT_EQ(c15, 15u);
  for (const std::string text : {"", "c", "1", "c16", "c1x", "c-1", "c1,c2"}) {
    const Result<uint32_t> parsed = ParseColumn(text);
    ASSERT_FALSE(parsed.has_value()) << "\"" << text << "\" parsed";
    EXPECT_EQ(parsed.error().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(parsed.error().message().find("e.g. c1"), std::string::npos) << parsed.error().message();
  }
}

TEST(ParseAggregatesTest, ParsesAListInOrder) {
  ASSERT_OK_AND_ASSIGN(const std::vector<AggSpec> aggs, ParseAggregates("count, sum(c2),min( c0 ),max(c3),count(*)"));
  EXPECT_EQ(aggs, (std::vector<AggSpec>{{.kind = AggKind::kCount},
                                        {.kind = AggKind::kSum, .column = 2},
                                        {.kind = AggKind::kMin, .column = 0},
                                        {.kind = AggKind::kMax, .column = 3},
                                        {.kind = AggKind::kCount}}));
  std::string names;
  for (const AggSpec& agg : aggs) names += AggName(agg) + ";";
  EXPECT_EQ(names, "count;sum(c2);min(c0);max(c3);count;");
}

TEST(ParseAggregatesTest, RejectsUnknownOrMalformedItemsNamingThem) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "empty item"},        {"count,,sum(c1)", "empty item"}, {"avg(c0)", "\"avg(c0)\""},
      {"sum(c)", "\"sum(c)\""},  {"sum(c0", "expected \")\""},     {"sum c0", "expected \"(\""},
      {"max(c16)", "no column"}, {"count,", "empty item"},
  };
  for (const auto& [text, problem] : cases) {
    const Result<std::vector<AggSpec>> parsed = ParseAggregates(text);
    ASSERT_FALSE(parsed.has_value()) << "\"" << text << "\" parsed";
    EXPECT_EQ(parsed.error().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(parsed.error().message().find(problem), std::string::npos) << parsed.error().message();
    EXPECT_NE(parsed.error().message().find("e.g. count,sum(c2)"), std::string::npos) << parsed.error().message();
  }
}

TEST(ParseAggregatesTest, MoreThanMaxAggregatesIsInvalidArgument) {
  std::string text = "count";
  for (size_t i = 1; i < kMaxAggregates; ++i) text += ",count";
  EXPECT_OK(ParseAggregates(text));
  EXPECT_FALSE(ParseAggregates(text + ",count").has_value());
}

TEST(FormatAnswerTest, GroupedIsOneLinePerGroup) {
  VectorSource source(2, {{3, 10, 1, 5, 3, 20}});
  ASSERT_OK_AND_ASSIGN(const QueryAnswer answer,
                       Aggregate(source, {AggSpec{}, AggSpec{.kind = AggKind::kSum, .column = 1}}, 0u));
  EXPECT_EQ(FormatAnswer(answer, 0u), "c0=1: count=1 sum(c1)=5\nc0=3: count=2 sum(c1)=30");
}

// ---------------------------------------------------------------------------------------
// The oracle against storage's own known answers.
// ---------------------------------------------------------------------------------------

TEST(ExpectedAnswerTest, AgreesWithStorageKnownAnswers) {
  const TableShape shape{.rows = 3001, .columns = 4, .page_size = PageSize::k4KiB, .seed = 9};
  QuerySpec spec;
  spec.where = Predicate{.column = 0, .op = CompareOp::kLess, .value = 500};
  spec.aggs = {AggSpec{.kind = AggKind::kCount}};
  EXPECT_EQ(ExpectedAnswer(shape, 0, shape.rows, spec).rows[0], ExpectedCountLessThan(shape, 0, 500));
  spec.where.reset();
  spec.aggs = {AggSpec{.kind = AggKind::kSum, .column = 2}, AggSpec{.kind = AggKind::kSum, .column = 1}};
  const QueryAnswer sums = ExpectedAnswer(shape, 0, shape.rows, spec);
  EXPECT_EQ(sums.values[0][0], ExpectedColumnSum(shape, 2));
  EXPECT_EQ(sums.values[0][1], ExpectedColumnSum(shape, 1));
  EXPECT_EQ(sums.rows[0], shape.rows);
}

// ---------------------------------------------------------------------------------------
// Scans over real tables.
// ---------------------------------------------------------------------------------------

constexpr PageSize kPageSize = PageSize::k4KiB;
constexpr uint32_t kPageBytes = PageSizeBytes(kPageSize);
constexpr uint32_t kColumns = 4;
constexpr uint64_t kPages = 40;

TableShape Shape(uint64_t rows) {
  return TableShape{.rows = rows, .columns = kColumns, .page_size = kPageSize, .seed = 42};
}
// 40 pages, the last one partly full; more rows than kMaxGroups, so c2 has too many keys.
const TableShape kShape = Shape(kPages * HeapPageCapacityRows(kPageSize, kColumns) - 50);
const uint64_t kRowsPerPage = HeapPageCapacityRows(kPageSize, kColumns);

Status LoadTable(const std::string& path, const TableShape& shape) {
  LoadOptions options;
  options.path = path;
  options.shape = shape;
  options.queue.backend = Backend::kSync;
  options.queue.depth = 1;
  options.write_bytes = 4 * kPageBytes;
  return LoadHeapTable(options).status();
}

ScanOptions Sync() { return ScanOptions{.mode = ScanMode::kSync, .stream = {}}; }
ScanOptions Pipelined(ReadStreamPolicy policy, uint32_t distance = 4, uint32_t max_pinned_pages = 0) {
  return ScanOptions{.mode = ScanMode::kPipelined,
                     .stream = ReadStreamOptions{.policy = policy,
                                                 .distance = distance,
                                                 .io_combine_bytes = 4 * kPageBytes,
                                                 .max_pinned_pages = max_pinned_pages}};
}
// The three ways every query is run.
const std::vector<std::pair<std::string, ScanOptions>> kModes = {
    {"sync", Sync()},
    {"fixed", Pipelined(ReadStreamPolicy::kFixed)},
    {"adaptive", Pipelined(ReadStreamPolicy::kAdaptive, /*distance=*/8)},
};

QuerySpec Query(const std::string& where, const std::string& aggs, std::optional<uint32_t> group_by = std::nullopt) {
  QuerySpec spec;
  if (!where.empty()) spec.where = *ParsePredicate(where);
  spec.aggs = *ParseAggregates(aggs);
  spec.group_by = group_by;
  return spec;
}

using ScanParam = std::tuple<Backend, CacheMode>;

class ScanTest : public ::testing::TestWithParam<ScanParam> {
 protected:
  static constexpr uint32_t kPoolFrames = 128;  // The whole table three times over.
  static constexpr uint32_t kQueueDepth = 8;

  void SetUp() override {
    if (backend() == Backend::kIoUring) {
      const Status probe = ProbeIoUring();
      if (!probe.ok()) GTEST_SKIP() << "io_uring unavailable: " << probe.ToString();
    }
    path_ = dir_.File("table");
    ASSERT_OK(LoadTable(path_, kShape));
    ASSERT_NO_FATAL_FAILURE(OpenTable(path_));
    ASSERT_NO_FATAL_FAILURE(NewPool(kPoolFrames));
  }

  Backend backend() const { return std::get<0>(GetParam()); }

  void OpenTable(const std::string& path) {
    OpenOptions options;
    options.cache = std::get<1>(GetParam());
    auto file = File::Open(path, options);
    if (!file.has_value() && file.error().code() == StatusCode::kNotSupported) GTEST_SKIP() << file.error().ToString();
    ASSERT_OK_AND_ASSIGN(file_, std::move(file));
  }

  void NewPool(uint32_t frames) {
    pool_.reset();
    BufferManagerOptions options;
    options.page_bytes = kPageBytes;
    options.memory_bytes = uint64_t{frames} * kPageBytes;
    options.verify = [](std::span<const std::byte> page, uint64_t page_no, const File& file) {
      return VerifyPage(page, page_no, file.path());
    };
    ASSERT_OK_AND_ASSIGN(pool_, BufferManager::Create(options));
  }

  // A queue of this test's backend, the pool's arena registered as its fixed buffers.
  // The io_uring backend binds to the thread that first submits: make it there.
  Result<std::unique_ptr<IoQueue>> NewQueue() const {
    IoQueueOptions options;
    options.backend = backend();
    options.depth = kQueueDepth;
    options.uring_fixed_buffers = true;
    IODEPTH_ASSIGN_OR_RETURN(std::unique_ptr<IoQueue> queue, MakeIoQueue(options));
    IODEPTH_RETURN_IF_ERROR(pool_->RegisterWith(*queue));
    return queue;
  }

  // Runs `spec` over pages [first, end) with a queue of its own (pipelined only).
  Result<QueryAnswer> Run(const ScanOptions& options, const QuerySpec& spec, uint64_t first = 0, uint64_t end = kPages,
                          ScanStats* stats = nullptr, uint32_t columns = kColumns) const {
    std::unique_ptr<IoQueue> queue;
    if (options.mode == ScanMode::kPipelined) {
      IODEPTH_ASSIGN_OR_RETURN(queue, NewQueue());
    }
    return RunOn(queue.get(), options, spec, first, end, stats, columns);
  }

  // The same on `queue` (null for sync scans).
  Result<QueryAnswer> RunOn(IoQueue* queue, const ScanOptions& options, const QuerySpec& spec, uint64_t first,
                            uint64_t end, ScanStats* stats = nullptr, uint32_t columns = kColumns) const {
    IODEPTH_ASSIGN_OR_RETURN(std::unique_ptr<SeqScan> scan,
                             SeqScan::Create(*pool_, *file_, queue, columns, first, end, options));
    return RunQuery(std::move(scan), spec, stats);
  }

  // ExpectedAnswer over pages [first, end) of kShape.
  static QueryAnswer Expected(const QuerySpec& spec, uint64_t first = 0, uint64_t end = kPages) {
    return ExpectedAnswer(kShape, first * kRowsPerPage, std::min(kShape.rows, end * kRowsPerPage), spec);
  }

  TempDir dir_;
  std::string path_;
  std::unique_ptr<File> file_;
  std::unique_ptr<BufferManager> pool_;
};

std::string ScanParamName(const ::testing::TestParamInfo<ScanParam>& info) {
  const char* backend = std::get<0>(info.param) == Backend::kIoUring ? "IoUring" : "Worker";
  return std::string(backend) + "_" + CacheModeLabel(std::get<1>(info.param));
}

INSTANTIATE_TEST_SUITE_P(Backends, ScanTest,
                         ::testing::Combine(::testing::Values(Backend::kIoUring, Backend::kWorker),
                                            ::testing::Values(CacheMode::kBuffered, CacheMode::kDirect)),
                         ScanParamName);

TEST_P(ScanTest, ScanReturnsEveryRowOfEveryPageInOrder) {
  for (const auto& [name, options] : kModes) {
    ASSERT_NO_FATAL_FAILURE(NewPool(kPoolFrames));
    std::unique_ptr<IoQueue> queue;
    if (options.mode == ScanMode::kPipelined) {
      ASSERT_OK_AND_ASSIGN(queue, NewQueue());
    }
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<SeqScan> scan,
                         SeqScan::Create(*pool_, *file_, queue.get(), kColumns, 0, kPages, options));
    uint64_t row = 0;
    RowBatch batch;
    for (uint64_t page = 0; page < kPages; ++page) {
      ASSERT_OK_AND_ASSIGN(const bool more, scan->Next(batch));
      ASSERT_TRUE(more) << name << ": ended before page " << page;
      ASSERT_EQ(batch.columns, kColumns);
      ASSERT_EQ(batch.selection, nullptr);
      ASSERT_EQ(batch.selected, batch.rows);
      ASSERT_EQ(batch.rows, page + 1 < kPages ? kRowsPerPage : kShape.rows - row) << name << " page " << page;
      for (uint32_t i = 0; i < batch.rows; ++i, ++row) {
        for (uint32_t c = 0; c < kColumns; ++c) {
          ASSERT_EQ(batch.values[size_t{i} * kColumns + c], ExpectedValue(kShape.seed, row, c))
              << name << " page " << page << " row " << i << " column " << c;
        }
      }
    }
    for (int i = 0; i < 2; ++i) {
      ASSERT_OK_AND_ASSIGN(const bool more, scan->Next(batch));
      EXPECT_FALSE(more) << name << ": a batch after the last page";
    }
    EXPECT_EQ(row, kShape.rows);
    EXPECT_EQ(scan->stats().pages, kPages) << name;
    EXPECT_EQ(scan->stats().rows, kShape.rows) << name;
  }
}

TEST_P(ScanTest, SyncAndPipelinedAnswersEqualExpectedAnswer) {
  const std::vector<QuerySpec> queries = {
      Query("", "count"),
      Query("c0<500", "count,sum(c2)"),
      Query("c0 >= 990", "count,sum(c3),min(c0),max(c2)"),
      Query("", "count,sum(c0),min(c2),max(c3)", 1u),
      Query("c1 != 3", "count,max(c0)", 1u),
  };
  for (const QuerySpec& spec : queries) {
    const QueryAnswer expected = Expected(spec);
    // Each query's answer depends on the data: an empty one would prove little.
    ASSERT_GT(expected.rows[0], 0u) << FormatAnswer(expected, spec.group_by);
    for (const auto& [name, options] : kModes) {
      ASSERT_NO_FATAL_FAILURE(NewPool(kPoolFrames));
      ASSERT_OK_AND_ASSIGN(const QueryAnswer answer, Run(options, spec));
      EXPECT_EQ(answer, expected) << name << ": " << FormatAnswer(answer, spec.group_by) << "\nexpected "
                                  << FormatAnswer(expected, spec.group_by);
    }
  }
}

TEST_P(ScanTest, SubRangeScanReadsOnlyThosePages) {
  const QuerySpec spec = Query("c0<700", "count,sum(c2),min(c3)");
  // A middle range, and one ending with the partly full last page.
  for (const auto& [first, end] : std::vector<std::pair<uint64_t, uint64_t>>{{7, 23}, {35, kPages}}) {
    for (const auto& [name, options] : kModes) {
      ASSERT_NO_FATAL_FAILURE(NewPool(kPoolFrames));
      ScanStats stats;
      ASSERT_OK_AND_ASSIGN(const QueryAnswer answer, Run(options, spec, first, end, &stats));
      EXPECT_EQ(answer, Expected(spec, first, end)) << name << " [" << first << ", " << end << ")";
      EXPECT_NE(answer, Expected(spec)) << "the range must differ from the whole table";
      EXPECT_EQ(stats.pages, end - first) << name;
      EXPECT_EQ(stats.pages_read, end - first) << name;
      EXPECT_EQ(pool_->stats().pages_read, end - first) << name << ": read a page outside the range";
    }
  }
}

TEST_P(ScanTest, EmptyPageRangeEndsAtOnce) {
  for (const auto& [name, options] : kModes) {
    std::unique_ptr<IoQueue> queue;
    if (options.mode == ScanMode::kPipelined) {
      ASSERT_OK_AND_ASSIGN(queue, NewQueue());
    }
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<SeqScan> scan,
                         SeqScan::Create(*pool_, *file_, queue.get(), kColumns, 5, 5, options));
    RowBatch batch;
    for (int i = 0; i < 2; ++i) {
      ASSERT_OK_AND_ASSIGN(const bool more, scan->Next(batch));
      EXPECT_FALSE(more) << name;
    }
    EXPECT_EQ(scan->stats().pages, 0u) << name;
    EXPECT_EQ(scan->stats().reads, 0u) << name;
    const QuerySpec spec = Query("", "count,min(c0)");
    ASSERT_OK_AND_ASSIGN(const QueryAnswer answer, Run(options, spec, 5, 5));
    EXPECT_EQ(answer, Expected(spec, 5, 5)) << name;
    EXPECT_EQ(answer.rows, (std::vector<uint64_t>{0})) << name;
  }
  EXPECT_EQ(pool_->stats().pages_read, 0u);
}

TEST_P(ScanTest, EmptyTableHasCountZeroAndNoGroups) {
  const TableShape empty = Shape(0);
  const std::string path = dir_.File("empty");
  ASSERT_OK(LoadTable(path, empty));
  ASSERT_NO_FATAL_FAILURE(OpenTable(path));
  ASSERT_EQ(TablePageCount(empty), 0u);
  for (const auto& [name, options] : kModes) {
    const QuerySpec ungrouped = Query("", "count,sum(c2),max(c0)");
    ASSERT_OK_AND_ASSIGN(const QueryAnswer answer, Run(options, ungrouped, 0, 0));
    EXPECT_EQ(answer, ExpectedAnswer(empty, 0, 0, ungrouped)) << name;
    EXPECT_EQ(FormatAnswer(answer, std::nullopt), "count=0 sum(c2)=0 max(c0)=none") << name;
    const QuerySpec grouped = Query("", "count", 1u);
    ASSERT_OK_AND_ASSIGN(const QueryAnswer groups, Run(options, grouped, 0, 0));
    EXPECT_EQ(groups, ExpectedAnswer(empty, 0, 0, grouped)) << name;
    EXPECT_TRUE(groups.keys.empty()) << name;
  }
}

TEST_P(ScanTest, PredicateMatchingNothingOrEverything) {
  for (const auto& [name, options] : kModes) {
    ASSERT_OK_AND_ASSIGN(const QueryAnswer none, Run(options, Query("c0<0", "count,sum(c2)")));
    EXPECT_EQ(none.rows, (std::vector<uint64_t>{0})) << name;
    EXPECT_EQ(none.values, (std::vector<std::vector<int64_t>>{{0, 0}})) << name;
    ASSERT_OK_AND_ASSIGN(const QueryAnswer no_groups, Run(options, Query("c0>=1000", "count", 1u)));
    EXPECT_TRUE(no_groups.keys.empty()) << name;
    const QuerySpec all_spec = Query("c0 != -1", "count,sum(c2)");
    ASSERT_OK_AND_ASSIGN(const QueryAnswer all, Run(options, all_spec));
    EXPECT_EQ(all.rows, (std::vector<uint64_t>{kShape.rows})) << name;
    EXPECT_EQ(all.values[0][1], ExpectedColumnSum(kShape, 2)) << name;
  }
}

TEST_P(ScanTest, GroupByC1GivesAllSixteenGroups) {
  const QuerySpec spec = Query("", "count,sum(c2),min(c0),max(c0)", 1u);
  for (const auto& [name, options] : kModes) {
    ASSERT_OK_AND_ASSIGN(const QueryAnswer answer, Run(options, spec));
    EXPECT_EQ(answer, Expected(spec)) << name;
    ASSERT_EQ(answer.keys.size(), static_cast<size_t>(kGroupCount)) << name;
    for (int64_t g = 0; g < kGroupCount; ++g) {
      const auto group = static_cast<size_t>(g);
      EXPECT_EQ(answer.keys[group], g);
      // Column 1 is row % 16: group g holds rows/16 rows, one more for g < rows % 16.
      const uint64_t rows = kShape.rows / kGroupCount + (static_cast<uint64_t>(g) < kShape.rows % kGroupCount ? 1 : 0);
      EXPECT_EQ(answer.rows[group], rows) << name << " group " << g;
      EXPECT_EQ(answer.values[group][0], static_cast<int64_t>(rows)) << name << " group " << g;
    }
  }
}

TEST_P(ScanTest, GroupByHighCardinalityColumnIsInvalidArgument) {
  for (const auto& [name, options] : kModes) {
    const Result<QueryAnswer> answer = Run(options, Query("", "count", 2u));
    ASSERT_FALSE(answer.has_value()) << name;
    EXPECT_EQ(answer.error().code(), StatusCode::kInvalidArgument) << name;
    EXPECT_NE(answer.error().message().find("GROUP BY c2"), std::string::npos) << answer.error().message();
  }
}

TEST_P(ScanTest, PerRowWorkDoesNotChangeAnswers) {
  QuerySpec spec = Query("c0<500", "count,sum(c2)", 1u);
  const QueryAnswer expected = Expected(spec);
  for (const auto& [name, options] : kModes) {
    for (const uint32_t work : {0u, 64u}) {
      spec.where->work = work;
      ASSERT_OK_AND_ASSIGN(const QueryAnswer answer, Run(options, spec));
      EXPECT_EQ(answer, expected) << name << " work " << work;
    }
  }
}

TEST_P(ScanTest, CorruptedPageIsReportedAsChecksumCorruptionNamingThePage) {
  constexpr uint64_t kBadPage = 13;
  // A byte in the middle of a row of page 13, flipped on disk behind the pool's back.
  ASSERT_OK(testutil::FlipByte(path_, kBadPage * kPageBytes + 1000));
  for (const auto& [name, options] : kModes) {
    ASSERT_NO_FATAL_FAILURE(NewPool(kPoolFrames));
    const Result<QueryAnswer> answer = Run(options, Query("c0<500", "count,sum(c2)"));
    ASSERT_FALSE(answer.has_value()) << name << " answered " << FormatAnswer(*answer, std::nullopt);
    EXPECT_EQ(answer.error().code(), StatusCode::kCorruption) << name << ": " << answer.error().ToString();
    EXPECT_NE(answer.error().message().find("page 13 "), std::string::npos) << answer.error().message();
    EXPECT_NE(answer.error().message().find("checksum"), std::string::npos) << answer.error().message();
    EXPECT_NE(answer.error().message().find(path_), std::string::npos) << answer.error().message();
    // The pages before it are fine: a scan that stops short of it answers.
    ASSERT_OK(Run(options, Query("", "count"), 0, kBadPage));
  }
}

TEST_P(ScanTest, WrongColumnCountIsCorruptionNamingThePage) {
  for (const auto& [name, options] : kModes) {
    const Result<QueryAnswer> answer = Run(options, Query("", "count"), 3, 9, nullptr, /*columns=*/3);
    ASSERT_FALSE(answer.has_value()) << name;
    EXPECT_EQ(answer.error().code(), StatusCode::kCorruption) << name;
    EXPECT_NE(answer.error().message().find("page 3 of " + path_), std::string::npos) << answer.error().message();
  }
}

TEST_P(ScanTest, FirstScanReadsEveryPageAndASecondOneHitsThem) {
  for (const auto& [name, options] : kModes) {
    ASSERT_NO_FATAL_FAILURE(NewPool(kPoolFrames));
    ScanStats cold;
    ASSERT_OK(Run(options, Query("", "count"), 0, kPages, &cold));
    EXPECT_EQ(cold.pages, kPages) << name;
    EXPECT_EQ(cold.rows, kShape.rows) << name;
    EXPECT_EQ(cold.pages_read, kPages) << name;
    EXPECT_EQ(cold.hits, 0u) << name;
    EXPECT_EQ(cold.read_bytes, kPages * kPageBytes) << name;
    EXPECT_GE(cold.reads, 1u) << name;
    EXPECT_LE(cold.reads, kPages) << name;
    if (options.mode == ScanMode::kSync) {
      EXPECT_EQ(cold.reads, kPages) << name << ": one pread per page";
    }
    EXPECT_EQ(cold.page_latency_ns.count(), kPages) << name;
    EXPECT_EQ(cold.read_latency_ns.count(), cold.reads) << name;
    ScanStats warm;
    ASSERT_OK(Run(options, Query("", "count"), 0, kPages, &warm));
    EXPECT_EQ(warm.pages, kPages) << name;
    EXPECT_EQ(warm.hits, kPages) << name;
    EXPECT_EQ(warm.pages_read, 0u) << name;
    EXPECT_EQ(warm.reads, 0u) << name;
    EXPECT_EQ(warm.wait_ns, 0) << name;
  }
}

TEST_P(ScanTest, ResetStatsZeroesTheCounters) {
  for (const auto& [name, options] : kModes) {
    ASSERT_NO_FATAL_FAILURE(NewPool(kPoolFrames));
    std::unique_ptr<IoQueue> queue;
    if (options.mode == ScanMode::kPipelined) {
      ASSERT_OK_AND_ASSIGN(queue, NewQueue());
    }
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<SeqScan> scan,
                         SeqScan::Create(*pool_, *file_, queue.get(), kColumns, 0, kPages, options));
    RowBatch batch;
    for (int i = 0; i < 5; ++i) ASSERT_OK(scan->Next(batch));
    EXPECT_EQ(scan->stats().pages, 5u) << name;
    scan->ResetStats();
    EXPECT_EQ(scan->stats().pages, 0u) << name;
    EXPECT_EQ(scan->stats().rows, 0u) << name;
    EXPECT_EQ(scan->stats().page_latency_ns.count(), 0u) << name;
    uint64_t rest = 0;
    while (true) {
      ASSERT_OK_AND_ASSIGN(const bool more, scan->Next(batch));
      if (!more) break;
      ++rest;
    }
    EXPECT_EQ(rest, kPages - 5) << name;
    EXPECT_EQ(scan->stats().pages, kPages - 5) << name;
  }
}

TEST_P(ScanTest, BadScanArgumentsAreInvalidArgument) {
  const Result<std::unique_ptr<SeqScan>> no_queue =
      SeqScan::Create(*pool_, *file_, nullptr, kColumns, 0, kPages, Pipelined(ReadStreamPolicy::kFixed));
  ASSERT_FALSE(no_queue.has_value());
  EXPECT_EQ(no_queue.error().code(), StatusCode::kInvalidArgument);
  const Result<std::unique_ptr<SeqScan>> reversed = SeqScan::Create(*pool_, *file_, nullptr, kColumns, 9, 3, Sync());
  ASSERT_FALSE(reversed.has_value());
  EXPECT_EQ(reversed.error().code(), StatusCode::kInvalidArgument);
  const Result<std::unique_ptr<SeqScan>> no_columns = SeqScan::Create(*pool_, *file_, nullptr, 0, 0, kPages, Sync());
  EXPECT_FALSE(no_columns.has_value());
}

// S = 4 scans on 4 threads share one pool smaller than the table, so they evict each
// other's pages; each scans its own quarter with its own queue and must answer exactly
// as it does alone. Kept small: it runs under TSan.
TEST_P(ScanTest, ConcurrentScansOnASharedSmallPoolMatchTheirSoloAnswers) {
  constexpr uint32_t kScans = 4;
  constexpr uint32_t kSmallPool = 32;  // < kPages; each stream pins at most 4 (+1 batch).
  constexpr uint64_t kPart = kPages / kScans;
  const QuerySpec spec = Query("c0<700", "count,sum(c2),max(c3)", 1u);
  const std::array<ScanOptions, kScans> modes = {Sync(), Pipelined(ReadStreamPolicy::kFixed, 4, 4),
                                                 Pipelined(ReadStreamPolicy::kAdaptive, 4, 4),
                                                 Pipelined(ReadStreamPolicy::kFixed, 2, 4)};
  ASSERT_NO_FATAL_FAILURE(NewPool(kSmallPool));
  std::array<std::optional<QueryAnswer>, kScans> solo;
  for (uint32_t s = 0; s < kScans; ++s) {
    ASSERT_OK_AND_ASSIGN(solo[s], Run(modes[s], spec, s * kPart, (s + 1) * kPart));
    ASSERT_EQ(*solo[s], Expected(spec, s * kPart, (s + 1) * kPart)) << "scan " << s;
  }
  const uint64_t evictions_before = pool_->stats().evictions;
  std::array<Status, kScans> errors;
  std::array<std::optional<QueryAnswer>, kScans> together;
  // Every thread makes its queue before any scan starts, and keeps it for both passes: the
  // scans overlap, and no io_uring ring is set up where a finished thread's ring was
  // (liburing maps rings with raw syscalls, so TSan would see the old ring's writes as
  // racing with the new one's).
  std::latch queues_made(kScans);
  std::vector<std::thread> threads;
  for (uint32_t s = 0; s < kScans; ++s) {
    threads.emplace_back([&, s] {
      std::unique_ptr<IoQueue> queue;
      if (modes[s].mode == ScanMode::kPipelined) {
        Result<std::unique_ptr<IoQueue>> made = NewQueue();
        if (made.has_value()) queue = std::move(*made);
        errors[s] = made.error();
      }
      queues_made.arrive_and_wait();
      for (int pass = 0; pass < 2 && errors[s].ok(); ++pass) {  // Two passes: more overlap.
        Result<QueryAnswer> answer = RunOn(queue.get(), modes[s], spec, s * kPart, (s + 1) * kPart);
        if (!answer.has_value()) {
          errors[s] = answer.error();
        } else if (!together[s].has_value() || *together[s] == *answer) {
          together[s] = std::move(*answer);
        } else {
          errors[s] = Status::Corruption("two passes of one scan answered differently");
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (uint32_t s = 0; s < kScans; ++s) {
    ASSERT_OK(errors[s]) << "scan " << s;
    EXPECT_EQ(*together[s], *solo[s]) << "scan " << s;
  }
  // 80 page fetches of 40 pages into 32 frames: pages must have been evicted.
  EXPECT_GT(pool_->stats().evictions, evictions_before);
}

}  // namespace
}  // namespace iodepth
