// The operators of exec/operators.h: SeqScan (sync and pipelined), Filter, Aggregate,
// the query parsers and the known-answer oracle.
#include "exec/operators.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>
#include <map>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>

#include "common/assert.h"
#include "common/clock.h"
#include "common/random.h"
#include "common/text.h"
#include "storage/page.h"

namespace iodepth {

namespace {

// One round of per-row work: a SplitMix64 step. Each round depends on the one before, so
// the rounds cannot be folded or run in parallel, and each costs a few cycles.
inline uint64_t MixRound(uint64_t z) { return SplitMix64Next(z); }

// Calls fn(row index) for every live row of `batch`, in ascending order.
template <typename Fn>
inline void ForEachLiveRow(const RowBatch& batch, Fn&& fn) {
  if (batch.selection == nullptr) {
    for (uint32_t i = 0; i < batch.rows; ++i) fn(i);
  } else {
    for (uint32_t k = 0; k < batch.selected; ++k) fn(batch.selection[k]);
  }
}

// "column c9 is out of range: the rows have 4 columns (c0..c3)", for `what` ("sum(c9)").
Status CheckColumn(std::string_view what, uint32_t column, uint32_t columns) {
  if (column < columns) return Status::OK();
  return Status::InvalidArgument(fmt::format("{}: column c{} is out of range: the rows have {} columns (c0..c{})", what,
                                             column, columns, columns == 0 ? 0 : columns - 1));
}

}  // namespace

// ---------------------------------------------------------------------------------------
// SeqScan
// ---------------------------------------------------------------------------------------

std::string_view ScanModeName(ScanMode mode) {
  switch (mode) {
    case ScanMode::kSync: return "sync";
    case ScanMode::kPipelined: return "pipelined";
  }
  return "unknown";
}

// The scan's state. It lives behind a unique_ptr, so its address is fixed and the read
// stream's page source may point at it.
struct SeqScan::Impl {
  Impl(BufferManager& pool_in, File& file_in, uint32_t columns_in, uint64_t first_page, uint64_t end_page_in,
       ScanMode mode_in)
      : pool(pool_in),
        file(file_in),
        columns(columns_in),
        end_page(end_page_in),
        mode(mode_in),
        next_page(first_page),
        source_page(first_page) {}

  Result<std::optional<PageGuard>> NextPage();
  Result<std::optional<PageGuard>> FetchSync();
  void RecordSyncRead(int64_t took_ns);
  Status CheckColumns(const PageGuard& page) const;
  void RefreshFromStream() const;

  BufferManager& pool;
  File& file;
  const uint32_t columns;
  const uint64_t end_page;
  const ScanMode mode;
  uint64_t next_page;                  // The page the consumer gets next.
  uint64_t source_page;                // Pipelined: the page the stream's source hands out next.
  std::unique_ptr<ReadStream> stream;  // Pipelined only.
  // The page the last batch points into: pinned until the next Next() call.
  PageGuard current;
  // Sync: kept up to date as pages are fetched. Pipelined: pages and rows are, the rest
  // is copied from the stream's counters when stats() is read (copying two histograms
  // per page would cost more than the scan).
  mutable ScanStats stats;
};

Result<std::optional<PageGuard>> SeqScan::Impl::NextPage() {
  if (mode == ScanMode::kSync) return FetchSync();
  IODEPTH_ASSIGN_OR_RETURN(std::optional<PageGuard> page, stream->Next());
  if (!page.has_value()) return page;
  // The stream hands pages back in source order; a page out of place is its bug.
  IODEPTH_CHECK(page->page_no() == next_page, "read stream returned a page out of order");
  ++next_page;
  return page;
}

Result<std::optional<PageGuard>> SeqScan::Impl::FetchSync() {
  if (next_page >= end_page) return std::optional<PageGuard>();
  // Advance first: after a failed page the scan can go on with the next, as a stream does.
  const uint64_t page_no = next_page++;
  const int64_t start_ns = NowNs();
  bool did_read = false;
  IODEPTH_ASSIGN_OR_RETURN(PageGuard page, pool.Fetch(file, page_no, &did_read));
  if (did_read) {
    RecordSyncRead(NowNs() - start_ns);
  } else {
    ++stats.hits;
  }
  return std::optional<PageGuard>(std::move(page));
}

// One pread of one page, during which the consumer waited: the sync path's whole depth.
void SeqScan::Impl::RecordSyncRead(int64_t took_ns) {
  ++stats.pages_read;
  ++stats.reads;
  stats.read_bytes += pool.page_bytes();
  stats.wait_ns += took_ns;
  stats.page_latency_ns.Record(static_cast<uint64_t>(took_ns));
  stats.read_latency_ns.Record(static_cast<uint64_t>(took_ns));
  // Exactly one read is in flight while the consumer waits for it, and none otherwise.
  stats.in_flight_area_ns += static_cast<double>(took_ns);
}

Status SeqScan::Impl::CheckColumns(const PageGuard& page) const {
  const uint32_t found = ColumnCount(page.data());
  if (found == columns) return Status::OK();
  return Status::Corruption(fmt::format("page {} of {}: holds rows of {} columns, the scan expects {}", page.page_no(),
                                        file.path(), found, columns));
}

void SeqScan::Impl::RefreshFromStream() const {
  const ReadStreamStats& s = stream->stats();
  stats.hits = s.hits;
  stats.pages_read = s.misses;
  stats.reads = s.reads;
  stats.read_bytes = s.read_bytes;
  stats.wait_ns = s.wait_ns;
  stats.page_latency_ns = s.page_latency_ns;
  stats.read_latency_ns = s.read_latency_ns;
  stats.in_flight_area_ns = s.in_flight_area_ns;
}

Result<std::unique_ptr<SeqScan>> SeqScan::Create(BufferManager& pool, File& file, IoQueue* queue, uint32_t columns,
                                                 uint64_t first_page, uint64_t end_page, const ScanOptions& options) {
  if (columns < kMinColumns || columns > kMaxColumns) {
    return Status::InvalidArgument(
        fmt::format("scan of {}: {} columns; a table has {}..{}", file.path(), columns, kMinColumns, kMaxColumns));
  }
  if (first_page > end_page) {
    return Status::InvalidArgument(
        fmt::format("scan of {}: page range [{}, {}) ends before it starts", file.path(), first_page, end_page));
  }
  auto impl = std::make_unique<Impl>(pool, file, columns, first_page, end_page, options.mode);
  if (options.mode == ScanMode::kPipelined) {
    if (queue == nullptr) {
      return Status::InvalidArgument(
          fmt::format("pipelined scan of {} needs an IoQueue; pass one, or use ScanMode::kSync", file.path()));
    }
    Impl* const state = impl.get();
    PageSource source = [state]() -> std::optional<uint64_t> {
      if (state->source_page >= state->end_page) return std::nullopt;
      return state->source_page++;
    };
    IODEPTH_ASSIGN_OR_RETURN(impl->stream, ReadStream::Create(pool, *queue, file, std::move(source), options.stream));
  }
  return std::unique_ptr<SeqScan>(new SeqScan(std::move(impl)));
}

SeqScan::SeqScan(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SeqScan::~SeqScan() {
  // The batch's pin goes first, then the stream completes its reads and drops its pins.
  impl_->current.Release();
  impl_->stream.reset();
}

Result<bool> SeqScan::Next(RowBatch& batch) {
  Impl& s = *impl_;
  // Unpin the previous page before asking for the next: in a small pool the next read
  // may need its frame.
  s.current.Release();
  IODEPTH_ASSIGN_OR_RETURN(std::optional<PageGuard> page, s.NextPage());
  if (!page.has_value()) return false;
  IODEPTH_RETURN_IF_ERROR(s.CheckColumns(*page));
  s.current = std::move(*page);
  const std::span<const std::byte> data = s.current.data();
  const uint32_t rows = RowCount(data);
  batch =
      RowBatch{.values = Rows(data).data(), .columns = s.columns, .rows = rows, .selection = nullptr, .selected = rows};
  ++s.stats.pages;
  s.stats.rows += rows;
  return true;
}

const ScanStats& SeqScan::stats() const {
  if (impl_->stream != nullptr) impl_->RefreshFromStream();
  return impl_->stats;
}

void SeqScan::ResetStats() {
  impl_->stats = ScanStats{};
  if (impl_->stream != nullptr) impl_->stream->ResetStats();
}

// ---------------------------------------------------------------------------------------
// Predicates and Filter
// ---------------------------------------------------------------------------------------

namespace {

// What a valid predicate looks like, appended to every parse error.
constexpr std::string_view kPredicateHelp =
    "a predicate is COLUMN OP NUMBER, e.g. c0<500 or \"c2 >= -7\" (columns c0..c15; ops < <= > >= = == !=)";

// A left-to-right reader of a query fragment, skipping spaces and tabs.
struct Cursor {
  std::string_view text;
  size_t pos = 0;

  void SkipSpace() {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) ++pos;
  }
  bool AtEnd() const { return pos == text.size(); }
  bool Consume(std::string_view token) {
    if (text.substr(pos, token.size()) != token) return false;
    pos += token.size();
    return true;
  }
  // What is left, quoted for an error message, or "the end".
  std::string Rest() const { return AtEnd() ? "the end" : fmt::format("\"{}\"", text.substr(pos)); }
};

// "c<digits>" naming a column c0..c15 (either case of c). The error says what was found.
Result<uint32_t> ParseColumnName(Cursor& in) {
  if (in.AtEnd() || (in.text[in.pos] != 'c' && in.text[in.pos] != 'C')) {
    return Status::InvalidArgument(fmt::format("expected a column name (c0..c15) at {}", in.Rest()));
  }
  const size_t start = in.pos;
  ++in.pos;
  uint32_t column = 0;
  const char* first = in.text.data() + in.pos;
  const char* last = in.text.data() + in.text.size();
  const auto [end, error] = std::from_chars(first, last, column);
  if (error != std::errc() || end == first) {
    return Status::InvalidArgument(fmt::format("expected a column number after \"c\" at {}", in.Rest()));
  }
  in.pos += static_cast<size_t>(end - first);
  if (column >= kMaxColumns) {
    return Status::InvalidArgument(
        fmt::format("no column {}: columns are c0..c{}", in.text.substr(start, in.pos - start), kMaxColumns - 1));
  }
  return column;
}

// The comparison operator; two-character operators are tried first.
Result<CompareOp> ParseCompareOp(Cursor& in) {
  static constexpr std::pair<std::string_view, CompareOp> kOps[] = {
      {"<=", CompareOp::kLessEqual}, {">=", CompareOp::kGreaterEqual}, {"==", CompareOp::kEqual},
      {"!=", CompareOp::kNotEqual},  {"<", CompareOp::kLess},          {">", CompareOp::kGreater},
      {"=", CompareOp::kEqual},
  };
  for (const auto& [token, op] : kOps) {
    if (in.Consume(token)) return op;
  }
  return Status::InvalidArgument(fmt::format("expected an operator (< <= > >= = == !=) at {}", in.Rest()));
}

// A decimal int64 with an optional sign.
Result<int64_t> ParseInteger(Cursor& in) {
  const bool plus = in.pos < in.text.size() && in.text[in.pos] == '+';
  if (plus) ++in.pos;  // from_chars takes '-' but not '+'.
  int64_t value = 0;
  const char* first = in.text.data() + in.pos;
  const char* last = in.text.data() + in.text.size();
  const auto [end, error] = std::from_chars(first, last, value);
  if (error == std::errc::result_out_of_range) {
    return Status::InvalidArgument(fmt::format("the number at {} does not fit in int64", in.Rest()));
  }
  if (error != std::errc() || end == first || (plus && *first == '-')) {
    return Status::InvalidArgument(fmt::format("expected a number at {}", in.Rest()));
  }
  in.pos += static_cast<size_t>(end - first);
  return value;
}

Result<Predicate> ParsePredicateParts(Cursor& in) {
  Predicate predicate;
  in.SkipSpace();
  IODEPTH_ASSIGN_OR_RETURN(predicate.column, ParseColumnName(in));
  in.SkipSpace();
  IODEPTH_ASSIGN_OR_RETURN(predicate.op, ParseCompareOp(in));
  in.SkipSpace();
  IODEPTH_ASSIGN_OR_RETURN(predicate.value, ParseInteger(in));
  in.SkipSpace();
  if (!in.AtEnd()) return Status::InvalidArgument(fmt::format("unexpected {} after the number", in.Rest()));
  return predicate;
}

// The rows of `in` whose `column` passes `pass`, written to `out` (ascending); returns
// how many. Branch-free: every row's index is written and kept only if it passes.
template <typename Pass>
uint32_t SelectWith(const RowBatch& in, uint32_t column, Pass pass, uint32_t* out) {
  const int64_t* values = in.values + column;
  const size_t stride = in.columns;
  uint32_t kept = 0;
  ForEachLiveRow(in, [&](uint32_t i) {
    out[kept] = i;
    kept += pass(values[i * stride]) ? 1u : 0u;
  });
  return kept;
}

uint32_t SelectRows(const RowBatch& in, const Predicate& p, uint32_t* out) {
  const int64_t x = p.value;
  switch (p.op) {
    case CompareOp::kLess:
      return SelectWith(
          in, p.column, [x](int64_t v) { return v < x; }, out);
    case CompareOp::kLessEqual:
      return SelectWith(
          in, p.column, [x](int64_t v) { return v <= x; }, out);
    case CompareOp::kGreater:
      return SelectWith(
          in, p.column, [x](int64_t v) { return v > x; }, out);
    case CompareOp::kGreaterEqual:
      return SelectWith(
          in, p.column, [x](int64_t v) { return v >= x; }, out);
    case CompareOp::kEqual:
      return SelectWith(
          in, p.column, [x](int64_t v) { return v == x; }, out);
    case CompareOp::kNotEqual:
      return SelectWith(
          in, p.column, [x](int64_t v) { return v != x; }, out);
  }
  IODEPTH_CHECK(false, "unknown CompareOp");
  return 0;
}

// `work` mixing rounds per live row, seeded by the row's value, folded into one word.
uint64_t BurnWork(const RowBatch& in, uint32_t column, uint32_t work) {
  const int64_t* values = in.values + column;
  const size_t stride = in.columns;
  uint64_t folded = 0;
  ForEachLiveRow(in, [&](uint32_t i) {
    uint64_t z = static_cast<uint64_t>(values[i * stride]);
    for (uint32_t round = 0; round < work; ++round) z = MixRound(z);
    folded += z;
  });
  return folded;
}

}  // namespace

Result<Predicate> ParsePredicate(std::string_view text) {
  Cursor in{.text = text};
  Result<Predicate> predicate = ParsePredicateParts(in);
  if (predicate.has_value()) return predicate;
  return Status::InvalidArgument(
      fmt::format("bad predicate \"{}\": {}; {}", text, predicate.error().message(), kPredicateHelp));
}

Result<uint32_t> ParseColumn(std::string_view text) {
  Cursor in{.text = text};
  in.SkipSpace();
  Result<uint32_t> column = ParseColumnName(in);
  in.SkipSpace();
  if (column.has_value() && in.AtEnd()) return column;
  const std::string problem =
      column.has_value() ? fmt::format("unexpected {} after the column", in.Rest()) : column.error().message();
  return Status::InvalidArgument(fmt::format("bad column \"{}\": {}; a column is c0..c15, e.g. c1", text, problem));
}

bool Matches(const Predicate& predicate, int64_t value) {
  switch (predicate.op) {
    case CompareOp::kLess: return value < predicate.value;
    case CompareOp::kLessEqual: return value <= predicate.value;
    case CompareOp::kGreater: return value > predicate.value;
    case CompareOp::kGreaterEqual: return value >= predicate.value;
    case CompareOp::kEqual: return value == predicate.value;
    case CompareOp::kNotEqual: return value != predicate.value;
  }
  IODEPTH_CHECK(false, "unknown CompareOp");
  return false;
}

Filter::Filter(std::unique_ptr<Operator> child, const Predicate& predicate)
    : child_(std::move(child)), predicate_(predicate) {
  IODEPTH_CHECK(child_ != nullptr, "Filter needs a child");
}

Result<bool> Filter::Next(RowBatch& batch) {
  // Batches with no row left are skipped, so the consumer never sees an empty one; the
  // loop ends with the child's batches.
  for (;;) {
    IODEPTH_ASSIGN_OR_RETURN(const bool more, child_->Next(batch));
    if (!more) return false;
    IODEPTH_RETURN_IF_ERROR(CheckColumn("WHERE", predicate_.column, batch.columns));
    // The selection can only shrink: never more entries than the batch has rows.
    if (selection_.size() < batch.rows) selection_.resize(batch.rows);
    if (predicate_.work != 0) sink_ += BurnWork(batch, predicate_.column, predicate_.work);
    const uint32_t kept = SelectRows(batch, predicate_, selection_.data());
    IODEPTH_CHECK(kept <= batch.selected, "a filter kept more rows than it was given");
    batch.selection = selection_.data();
    batch.selected = kept;
    if (kept != 0) return true;
  }
}

// ---------------------------------------------------------------------------------------
// Aggregates
// ---------------------------------------------------------------------------------------

namespace {

constexpr std::string_view kAggregateHelp =
    "aggregates are a comma-separated list of count, sum(cN), min(cN), max(cN), e.g. count,sum(c2)";

// One trimmed item of an aggregate list: "count", "count(*)", "sum(c2)", "min(c0)", "max(c3)".
Result<AggSpec> ParseAggregateItem(std::string_view item) {
  static constexpr std::pair<std::string_view, AggKind> kKinds[] = {
      {"sum", AggKind::kSum}, {"min", AggKind::kMin}, {"max", AggKind::kMax}};
  if (item == "count" || item == "count(*)") return AggSpec{.kind = AggKind::kCount, .column = 0};
  for (const auto& [name, kind] : kKinds) {
    Cursor in{.text = item};
    if (!in.Consume(name)) continue;
    in.SkipSpace();
    if (!in.Consume("(")) return Status::InvalidArgument(fmt::format("expected \"(\" after {}", name));
    in.SkipSpace();
    IODEPTH_ASSIGN_OR_RETURN(const uint32_t column, ParseColumnName(in));
    in.SkipSpace();
    if (!in.Consume(")") || (in.SkipSpace(), !in.AtEnd())) {
      return Status::InvalidArgument(fmt::format("expected \")\" closing {}(c{}), found {}", name, column, in.Rest()));
    }
    return AggSpec{.kind = kind, .column = column};
  }
  return Status::InvalidArgument("unknown aggregate");
}

// Adds one group to `answer` in the shape QueryAnswer promises: count is the group's
// rows, and min/max of an empty group (only the ungrouped answer has one) are 0. Both
// Aggregate and ExpectedAnswer build their answers through it, so equal data gives
// equal answers.
void AppendGroup(QueryAnswer& answer, int64_t key, uint64_t rows, std::vector<int64_t> values) {
  IODEPTH_CHECK(values.size() == answer.aggs.size(), "one value per aggregate");
  for (size_t a = 0; a < values.size(); ++a) {
    const AggKind kind = answer.aggs[a].kind;
    if (kind == AggKind::kCount) values[a] = static_cast<int64_t>(rows);
    if (rows == 0 && (kind == AggKind::kMin || kind == AggKind::kMax)) values[a] = 0;
  }
  answer.keys.push_back(key);
  answer.rows.push_back(rows);
  answer.values.push_back(std::move(values));
}

// An aggregate's starting value: the identity of its combining step.
int64_t InitialValue(AggKind kind) {
  switch (kind) {
    case AggKind::kCount:
    case AggKind::kSum: return 0;
    case AggKind::kMin: return std::numeric_limits<int64_t>::max();
    case AggKind::kMax: return std::numeric_limits<int64_t>::min();
  }
  return 0;
}

// One value into one aggregate. Sums wrap (two's complement) instead of overflowing:
// heap tables' sums fit by construction, and foreign data must not be undefined behaviour.
inline int64_t Combine(AggKind kind, int64_t acc, int64_t value) {
  switch (kind) {
    case AggKind::kCount: return acc;  // Taken from the group's row count at the end.
    case AggKind::kSum: return static_cast<int64_t>(static_cast<uint64_t>(acc) + static_cast<uint64_t>(value));
    case AggKind::kMin: return std::min(acc, value);
    case AggKind::kMax: return std::max(acc, value);
  }
  return acc;
}

template <typename Op>
int64_t FoldWith(const RowBatch& batch, uint32_t column, int64_t acc, Op op) {
  const int64_t* values = batch.values + column;
  const size_t stride = batch.columns;
  ForEachLiveRow(batch, [&](uint32_t i) { acc = op(acc, values[i * stride]); });
  return acc;
}

// `acc` combined with the aggregate's column of every live row of `batch` (Combine's rule).
int64_t FoldColumn(const AggSpec& agg, int64_t acc, const RowBatch& batch) {
  switch (agg.kind) {
    case AggKind::kCount: return acc;
    case AggKind::kSum:
      return FoldWith(batch, agg.column, acc, [](int64_t a, int64_t v) { return Combine(AggKind::kSum, a, v); });
    case AggKind::kMin: return FoldWith(batch, agg.column, acc, [](int64_t a, int64_t v) { return std::min(a, v); });
    case AggKind::kMax: return FoldWith(batch, agg.column, acc, [](int64_t a, int64_t v) { return std::max(a, v); });
  }
  return acc;
}

// GroupTable: the running aggregates of every group, a slot per group. Keys in
// [0, kDirectKeys) (the table's group key c1 is 0..15) find their slot in a direct array
// without hashing; other keys go through a hash map. At most kMaxGroups slots.
class GroupTable {
  static_assert(kMaxGroups <= static_cast<size_t>(std::numeric_limits<int32_t>::max()), "slots are int32_t");

 public:
  GroupTable(const std::vector<AggSpec>& aggs, std::optional<uint32_t> group_by) : aggs_(aggs), group_by_(group_by) {
    direct_.fill(-1);
    // Ungrouped, the one row of the answer exists even when no row arrives.
    if (!group_by_.has_value()) AddSlot(0);
  }
  GroupTable(const GroupTable&) = delete;
  GroupTable& operator=(const GroupTable&) = delete;

  // Folds the live rows of `batch` into their groups.
  Status AddBatch(const RowBatch& batch);
  QueryAnswer Finish() const;

 private:
  static constexpr int64_t kDirectKeys = 64;

  // The fast path: the slot of a key in [0, kDirectKeys) that has one, else -1.
  int32_t DirectSlot(int64_t key) const {
    return static_cast<uint64_t>(key) < kDirectKeys ? direct_[static_cast<size_t>(key)] : -1;
  }
  // Every other case: a hashed key, or a key's first row. InvalidArgument past kMaxGroups.
  Result<uint32_t> SlowSlot(int64_t key) {
    if (static_cast<uint64_t>(key) >= kDirectKeys) {
      const auto found = hashed_.find(key);
      if (found != hashed_.end()) return found->second;
    }
    return NewSlot(key);
  }
  Result<uint32_t> NewSlot(int64_t key);
  uint32_t AddSlot(int64_t key);
  void AddRow(uint32_t slot, const int64_t* row) {
    ++rows_[slot];
    int64_t* acc = &acc_[size_t{slot} * aggs_.size()];
    for (size_t a = 0; a < aggs_.size(); ++a) acc[a] = Combine(aggs_[a].kind, acc[a], row[aggs_[a].column]);
  }

  const std::vector<AggSpec>& aggs_;
  const std::optional<uint32_t> group_by_;
  std::array<int32_t, kDirectKeys> direct_{};     // key -> slot; -1 when the key has none.
  std::unordered_map<int64_t, uint32_t> hashed_;  // Other keys -> slot.
  std::vector<int64_t> keys_;                     // By slot.
  std::vector<uint64_t> rows_;                    // By slot.
  std::vector<int64_t> acc_;                      // [slot x aggs + a].
};

Result<uint32_t> GroupTable::NewSlot(int64_t key) {
  if (keys_.size() >= kMaxGroups) {
    return Status::InvalidArgument(fmt::format(
        "GROUP BY c{} met more than {} distinct keys; group by a column with fewer values, e.g. c1 ({} groups)",
        *group_by_, kMaxGroups, kGroupCount));
  }
  return AddSlot(key);
}

uint32_t GroupTable::AddSlot(int64_t key) {
  const auto slot = static_cast<uint32_t>(keys_.size());
  if (static_cast<uint64_t>(key) < kDirectKeys) {
    direct_[static_cast<size_t>(key)] = static_cast<int32_t>(slot);
  } else {
    hashed_.emplace(key, slot);
  }
  keys_.push_back(key);
  rows_.push_back(0);
  for (const AggSpec& agg : aggs_) acc_.push_back(InitialValue(agg.kind));
  return slot;
}

Status GroupTable::AddBatch(const RowBatch& batch) {
  for (const AggSpec& agg : aggs_) {
    // The name is built only for the message: this runs once per page.
    if (agg.kind != AggKind::kCount && agg.column >= batch.columns) {
      return CheckColumn(AggName(agg), agg.column, batch.columns);
    }
  }
  if (!group_by_.has_value()) {
    // One group: column at a time, each aggregate's kind decided once per batch rather
    // than once per row, so each loop is a plain fold the compiler can unroll.
    rows_[0] += batch.selection == nullptr ? batch.rows : batch.selected;
    for (size_t a = 0; a < aggs_.size(); ++a) acc_[a] = FoldColumn(aggs_[a], acc_[a], batch);
    return Status::OK();
  }
  const uint32_t key_column = *group_by_;
  IODEPTH_RETURN_IF_ERROR(CheckColumn("GROUP BY", key_column, batch.columns));
  Status status;
  ForEachLiveRow(batch, [&](uint32_t i) {
    if (!status.ok()) return;  // Too many groups: the rest of the batch is not counted.
    const int64_t* row = batch.values + size_t{i} * batch.columns;
    const int64_t key = row[key_column];
    int32_t slot = DirectSlot(key);
    if (slot < 0) {
      Result<uint32_t> found = SlowSlot(key);
      if (!found.has_value()) {
        status = found.error();
        return;
      }
      slot = static_cast<int32_t>(*found);
    }
    AddRow(static_cast<uint32_t>(slot), row);
  });
  return status;
}

QueryAnswer GroupTable::Finish() const {
  std::vector<uint32_t> order(keys_.size());
  for (uint32_t s = 0; s < order.size(); ++s) order[s] = s;
  std::sort(order.begin(), order.end(), [this](uint32_t a, uint32_t b) { return keys_[a] < keys_[b]; });
  QueryAnswer answer;
  answer.aggs = aggs_;
  answer.grouped = group_by_.has_value();
  const size_t width = aggs_.size();
  for (const uint32_t slot : order) {
    const auto first = acc_.begin() + static_cast<std::ptrdiff_t>(size_t{slot} * width);
    const auto last = first + static_cast<std::ptrdiff_t>(width);
    AppendGroup(answer, keys_[slot], rows_[slot], std::vector<int64_t>(first, last));
  }
  return answer;
}

}  // namespace

Result<std::vector<AggSpec>> ParseAggregates(std::string_view text) {
  std::vector<AggSpec> aggs;
  std::string_view rest = text;
  while (true) {
    if (aggs.size() == kMaxAggregates) {
      return Status::InvalidArgument(fmt::format("bad aggregates \"{}\": more than {} items", text, kMaxAggregates));
    }
    const size_t comma = rest.find(',');
    const std::string_view item = Trim(rest.substr(0, comma));
    if (item.empty()) {
      return Status::InvalidArgument(fmt::format("bad aggregates \"{}\": an empty item; {}", text, kAggregateHelp));
    }
    Result<AggSpec> agg = ParseAggregateItem(item);
    if (!agg.has_value()) {
      return Status::InvalidArgument(
          fmt::format("bad aggregate \"{}\" in \"{}\": {}; {}", item, text, agg.error().message(), kAggregateHelp));
    }
    aggs.push_back(*agg);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return aggs;
}

std::string AggName(const AggSpec& agg) {
  switch (agg.kind) {
    case AggKind::kCount: return "count";
    case AggKind::kSum: return fmt::format("sum(c{})", agg.column);
    case AggKind::kMin: return fmt::format("min(c{})", agg.column);
    case AggKind::kMax: return fmt::format("max(c{})", agg.column);
  }
  return "unknown";
}

Status ValidateQuery(const QuerySpec& spec, uint32_t columns) {
  if (spec.where.has_value()) IODEPTH_RETURN_IF_ERROR(CheckColumn("WHERE", spec.where->column, columns));
  for (const AggSpec& agg : spec.aggs) {
    if (agg.kind != AggKind::kCount) IODEPTH_RETURN_IF_ERROR(CheckColumn(AggName(agg), agg.column, columns));
  }
  if (spec.group_by.has_value()) IODEPTH_RETURN_IF_ERROR(CheckColumn("GROUP BY", *spec.group_by, columns));
  return Status::OK();
}

Result<QueryAnswer> Aggregate(Operator& child, const std::vector<AggSpec>& aggs, std::optional<uint32_t> group_by) {
  GroupTable table(aggs, group_by);
  RowBatch batch;
  while (true) {
    IODEPTH_ASSIGN_OR_RETURN(const bool more, child.Next(batch));
    if (!more) break;
    IODEPTH_RETURN_IF_ERROR(table.AddBatch(batch));
  }
  return table.Finish();
}

Result<QueryAnswer> RunQuery(std::unique_ptr<SeqScan> scan, const QuerySpec& spec, ScanStats* scan_stats) {
  IODEPTH_CHECK(scan != nullptr, "RunQuery needs a scan");
  SeqScan* const source = scan.get();
  std::unique_ptr<Operator> top = std::move(scan);
  if (spec.where.has_value()) top = std::make_unique<Filter>(std::move(top), *spec.where);
  Result<QueryAnswer> answer = Aggregate(*top, spec.aggs, spec.group_by);
  // Also on error: what the scan did up to the failure is worth reporting.
  if (scan_stats != nullptr) *scan_stats = source->stats();
  return answer;
}

// ---------------------------------------------------------------------------------------
// The oracle and printing
// ---------------------------------------------------------------------------------------

QueryAnswer ExpectedAnswer(const TableShape& shape, uint64_t first_row, uint64_t end_row, const QuerySpec& spec) {
  IODEPTH_CHECK(first_row <= end_row && end_row <= shape.rows, "ExpectedAnswer: rows outside the table");
  IODEPTH_CHECK(ValidateQuery(spec, shape.columns).ok(), "ExpectedAnswer: a column outside the table");
  // Deliberately not the operators' code: a plain loop over ExpectedValue and an ordered
  // map, so a bug in the fast paths cannot hide in the oracle too.
  struct Group {
    uint64_t rows = 0;
    std::vector<int64_t> values;
  };
  std::map<int64_t, Group> groups;
  auto group_of = [&](int64_t key) -> Group& {
    auto [it, inserted] = groups.try_emplace(key);
    if (inserted) {
      for (const AggSpec& agg : spec.aggs) it->second.values.push_back(InitialValue(agg.kind));
    }
    return it->second;
  };
  if (!spec.group_by.has_value()) group_of(0);
  for (uint64_t row = first_row; row < end_row; ++row) {
    if (spec.where.has_value() && !Matches(*spec.where, ExpectedValue(shape.seed, row, spec.where->column))) continue;
    Group& group = group_of(spec.group_by.has_value() ? ExpectedValue(shape.seed, row, *spec.group_by) : 0);
    ++group.rows;
    for (size_t a = 0; a < spec.aggs.size(); ++a) {
      const AggSpec& agg = spec.aggs[a];
      if (agg.kind == AggKind::kCount) continue;
      group.values[a] = Combine(agg.kind, group.values[a], ExpectedValue(shape.seed, row, agg.column));
    }
  }
  QueryAnswer answer;
  answer.aggs = spec.aggs;
  answer.grouped = spec.group_by.has_value();
  for (auto& [key, group] : groups) AppendGroup(answer, key, group.rows, std::move(group.values));
  return answer;
}

namespace {

// "count=12 sum(c2)=34"; min/max of an empty group print as "none".
std::string FormatValues(const QueryAnswer& answer, size_t group) {
  if (answer.aggs.empty()) return fmt::format("rows={}", answer.rows[group]);
  std::string line;
  for (size_t a = 0; a < answer.aggs.size(); ++a) {
    const AggSpec& agg = answer.aggs[a];
    const bool undefined = answer.rows[group] == 0 && (agg.kind == AggKind::kMin || agg.kind == AggKind::kMax);
    if (a != 0) line += ' ';
    line += AggName(agg) + "=";
    line += undefined ? std::string("none") : std::to_string(answer.values[group][a]);
  }
  return line;
}

}  // namespace

std::string FormatAnswer(const QueryAnswer& answer, std::optional<uint32_t> group_by) {
  if (!answer.grouped) return answer.keys.empty() ? std::string("(no answer)") : FormatValues(answer, 0);
  if (answer.keys.empty()) return "(no groups: no row passed)";
  const std::string key_name = group_by.has_value() ? fmt::format("c{}", *group_by) : std::string("key");
  std::string text;
  for (size_t g = 0; g < answer.keys.size(); ++g) {
    if (g != 0) text += '\n';
    text += fmt::format("{}={}: {}", key_name, answer.keys[g], FormatValues(answer, g));
  }
  return text;
}

}  // namespace iodepth
