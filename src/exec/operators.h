// exec/: query operators over heap tables. It owns turning pages into answers: a scan
// that pulls pages through the buffer manager (one at a time, or pipelined through a read
// stream), a filter, and an aggregate. It never does I/O itself (pages come from buffer/)
// and never decodes bytes itself (rows come from storage/'s page accessors).
//
// Operators are pulled, a batch at a time: Next() fills a RowBatch with the rows of one
// page (pointing into the pinned page, no copy) and, after a Filter, a selection vector
// naming the rows that passed. One virtual call per page, not per row, so per-row work
// is a tight loop over a contiguous int64 array.
//
//   Aggregate::Run --Next()--> Filter --Next()--> SeqScan --ReadStream::Next() / Fetch-->
//      (count, sum, min,         (selection      (one batch per page; the page stays
//       max, GROUP BY)            vector)         pinned until the next Next())
//
// Threading: an operator tree belongs to one thread. Several trees on several threads may
// share one BufferManager (each scan with its own IoQueue).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "buffer/buffer_manager.h"
#include "buffer/read_stream.h"
#include "common/histogram.h"
#include "common/result.h"
#include "io/file.h"
#include "io/io_queue.h"
#include "storage/heap_table.h"

namespace iodepth {

// Rows of one page: `rows` rows of `columns` int64 values, row-major, borrowed from the
// producing operator until its next Next() call. With a selection, only the `selected`
// rows whose indices it lists (ascending) are live; without one every row is.
struct RowBatch {
  const int64_t* values = nullptr;
  uint32_t columns = 0;
  uint32_t rows = 0;
  const uint32_t* selection = nullptr;  // nullptr: all rows are live.
  uint32_t selected = 0;                // == rows when selection is nullptr.
};

class Operator {
 public:
  Operator() = default;
  Operator(const Operator&) = delete;
  Operator& operator=(const Operator&) = delete;
  virtual ~Operator() = default;
  // Fills `batch` with the next batch and returns true, or returns false at the end.
  virtual Result<bool> Next(RowBatch& batch) = 0;
};

enum class ScanMode { kSync, kPipelined };
std::string_view ScanModeName(ScanMode mode);  // "sync", "pipelined"

struct ScanOptions {
  ScanMode mode = ScanMode::kPipelined;
  ReadStreamOptions stream;  // Pipelined only: policy, distance, io_combine.
};

// What a scan saw, for benchmarks. Times in nanoseconds.
struct ScanStats {
  uint64_t pages = 0;
  uint64_t rows = 0;
  uint64_t hits = 0;        // Pages found resident (no read by this scan).
  uint64_t pages_read = 0;  // Pages this scan read.
  uint64_t reads = 0;       // Read requests (pipelined: after combining).
  uint64_t read_bytes = 0;
  int64_t wait_ns = 0;               // Time Next() spent waiting for I/O.
  LatencyHistogram page_latency_ns;  // Per page read: its read's submit to completion.
  LatencyHistogram read_latency_ns;  // Per read request.
  double in_flight_area_ns = 0;      // Reads in flight integrated over time (pipelined).
};

// SeqScan: the pages [first_page, end_page) of the table file `file`, in order, one batch
// per page. Sync mode fetches each page when asked (BufferManager::Fetch: one pread per
// miss, the baseline); pipelined mode reads ahead through a ReadStream on `queue`.
// Each page's column count must be `columns`, else Corruption naming the page.
// An empty range [x, x) ends at once. After an error the next Next() goes on with the
// following page. Stats: pipelined, the stream's counters; sync, each Fetch that read
// counts as one read whose whole time the consumer waited (so in_flight_area_ns equals
// wait_ns), and every other Fetch as a hit.
// Borrowed: pool, file and queue (pipelined only; may be null in sync mode) outlive it.
class SeqScan final : public Operator {
 public:
  static Result<std::unique_ptr<SeqScan>> Create(BufferManager& pool, File& file, IoQueue* queue, uint32_t columns,
                                                 uint64_t first_page, uint64_t end_page, const ScanOptions& options);
  Result<bool> Next(RowBatch& batch) override;
  const ScanStats& stats() const;
  // Zeroes the counters (a benchmark's measured window starts).
  void ResetStats();
  ~SeqScan() override;

 private:
  struct Impl;
  explicit SeqScan(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

enum class CompareOp { kLess, kLessEqual, kGreater, kGreaterEqual, kEqual, kNotEqual };

// `column op value`, plus `work` extra rounds of integer mixing per row evaluated: a knob
// for per-row CPU cost that never changes which rows pass.
struct Predicate {
  uint32_t column = 0;
  CompareOp op = CompareOp::kLess;
  int64_t value = 0;
  uint32_t work = 0;
};
// "c0<500", "c2 >= 7", "c1=3", "c0!=0". Columns are c0..c15. InvalidArgument saying what
// is wrong and what a valid predicate looks like.
Result<Predicate> ParsePredicate(std::string_view text);
// "c1" -> 1 (for GROUP BY); columns are c0..c15. InvalidArgument with an example.
Result<uint32_t> ParseColumn(std::string_view text);
bool Matches(const Predicate& predicate, int64_t value);

// Filter: passes the rows of its child's batches that satisfy the predicate, as a
// selection vector. Only the rows the incoming batch has live (its own selection, if
// any) are evaluated, and only they cost `work`. Batches in which no row passes are
// skipped, so Next() never returns an empty one. A predicate column the batch does not
// have is InvalidArgument naming it. Owns its child.
class Filter final : public Operator {
 public:
  Filter(std::unique_ptr<Operator> child, const Predicate& predicate);
  Result<bool> Next(RowBatch& batch) override;
  // Folded from the per-row work, so the compiler cannot drop it; meaningless otherwise.
  uint64_t work_sink() const { return sink_; }

 private:
  std::unique_ptr<Operator> child_;
  Predicate predicate_;
  std::vector<uint32_t> selection_;
  uint64_t sink_ = 0;
};

enum class AggKind { kCount, kSum, kMin, kMax };
struct AggSpec {
  AggKind kind = AggKind::kCount;
  uint32_t column = 0;  // Ignored for count.
  bool operator==(const AggSpec&) const = default;
};
// "count,sum(c2),min(c0),max(c3)" (also "count(*)"; spaces around items are fine), at
// most kMaxAggregates items. InvalidArgument naming the bad item, with an example.
inline constexpr size_t kMaxAggregates = 32;
Result<std::vector<AggSpec>> ParseAggregates(std::string_view text);
std::string AggName(const AggSpec& agg);  // "count", "sum(c2)"

// The query an operator tree answers: SELECT aggs FROM t [WHERE where] [GROUP BY group_by].
struct QuerySpec {
  std::optional<Predicate> where;
  std::vector<AggSpec> aggs;
  std::optional<uint32_t> group_by;
};
inline constexpr size_t kMaxGroups = 4096;

// InvalidArgument naming the first column the query uses that rows of `columns` columns
// do not have ("sum(c9): column c9 is out of range: the rows have 4 columns (c0..c3)").
Status ValidateQuery(const QuerySpec& spec, uint32_t columns);

// One row per group, ascending by key (a single row with key 0 when not grouped). A group
// appears only if a row reached it; ungrouped, the single row always exists (count 0,
// sum 0, and min/max, meaningless then, set to 0 so equal inputs give equal answers;
// `rows` says so, and FormatAnswer prints them as "none").
struct QueryAnswer {
  std::vector<AggSpec> aggs;
  bool grouped = false;
  std::vector<int64_t> keys;
  std::vector<uint64_t> rows;                // Rows aggregated per group.
  std::vector<std::vector<int64_t>> values;  // values[group][agg].
  bool operator==(const QueryAnswer&) const = default;
};

// Aggregate: drains `child` and computes the answer. Errors: the child's, or
// InvalidArgument when GROUP BY meets more than kMaxGroups keys or a column is out of range.
Result<QueryAnswer> Aggregate(Operator& child, const std::vector<AggSpec>& aggs, std::optional<uint32_t> group_by);

// Builds Filter (when spec.where) + Aggregate over `scan` and runs it. Takes ownership of
// the scan; `scan_stats` (when given) receives the scan's stats at the end.
Result<QueryAnswer> RunQuery(std::unique_ptr<SeqScan> scan, const QuerySpec& spec, ScanStats* scan_stats = nullptr);

// The answer the query must give over table rows [first_row, end_row) of a table of
// `shape`, from ExpectedValue alone (no I/O): the oracle every scan is checked against.
// Its own plain loop, not the operators' code, but the same QueryAnswer for the same
// rows. It has no kMaxGroups limit (a group per distinct key, however many).
// REQUIRES: first_row <= end_row <= shape.rows; ValidateQuery(spec, shape.columns) is OK.
QueryAnswer ExpectedAnswer(const TableShape& shape, uint64_t first_row, uint64_t end_row, const QuerySpec& spec);

// "count=123 sum(c2)=456" or one line per group "c1=3: count=12 sum(c2)=34".
std::string FormatAnswer(const QueryAnswer& answer, std::optional<uint32_t> group_by);

}  // namespace iodepth
