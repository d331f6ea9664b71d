#include "storage/heap_table.h"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "common/assert.h"
#include "common/clock.h"
#include "common/little_endian.h"
#include "common/random.h"
#include "io/aligned_buffer.h"
#include "sys/free_space.h"

namespace iodepth {
namespace {

// The per-row mix that columns 0, 2 and (through a second mix) 3.. derive from: the
// (row + 1)th output of a SplitMix64 generator seeded with `seed`.
uint64_t RowMix(uint64_t seed, uint64_t row) { return SplitMix64Mix(seed + kSplitMix64Gamma * (row + 1)); }

// ExpectedValue for every column of table rows [first_row, end_row), written row-major
// to `out` (columns values per row). Each row's mix is computed once: columns 0 and 2
// use it directly and columns 3.. each mix it once more, about half the mixing of
// calling ExpectedValue per column. This is the loader's hot loop; it writes each value
// exactly once, straight into the page.
void FillRowValues(int64_t* out, uint32_t columns, uint64_t seed, uint64_t first_row, uint64_t end_row) {
  for (uint64_t row = first_row; row < end_row; ++row, out += columns) {
    const uint64_t m = RowMix(seed, row);
    out[0] = static_cast<int64_t>((m & 0xFFFFFFFFull) % kColumn0Range);
    if (columns > 1) out[1] = static_cast<int64_t>(row % kGroupCount);
    if (columns > 2) out[2] = static_cast<int64_t>(m >> 32);
    for (uint32_t c = 3; c < columns; ++c) {
      out[c] = static_cast<int64_t>(SplitMix64Mix(m + kSplitMix64Gamma * c) & 0xFFFFFFFFull);
    }
  }
}

// Page buffers are aligned for direct I/O on any device we know of and to a cache line,
// which page.h needs for aligned rows.
constexpr size_t kBufferAlignment = 4096;

// The trailer body's field offsets, from the start of the body; heap_table.h's diagram is
// the authority.
constexpr size_t kTrailerVersionOffset = 0;
constexpr size_t kTrailerFlagsOffset = 4;
constexpr size_t kTrailerRowsOffset = 8;
constexpr size_t kTrailerSeedOffset = 16;
constexpr size_t kTrailerPagesOffset = 24;

constexpr std::array<PageSize, 3> kPageSizes = {PageSize::k4KiB, PageSize::k8KiB, PageSize::k16KiB};

// The `iodepth load` command that makes `shape` again at `path`, for messages.
std::string ReloadCommand(const std::string& path, const TableShape& shape, bool seed_known) {
  return fmt::format(
      "iodepth load --filename={} --rows={} --columns={} --page-size={} --seed={} --overwrite", path, shape.rows,
      shape.columns, PageSizeBytes(shape.page_size),
      seed_known ? fmt::format("{}", shape.seed) : std::string("<the seed it was loaded with, 1 by default>"));
}

// For a file of iodepth pages without a trailer in the format before trailers: the rows,
// columns and page size its pages imply (page 0's header names the last two; the row
// count is full pages' capacity plus the last page's count), or nullopt when its pages
// do not add up to a table.
std::optional<TableShape> OlderTableShape(File& file, uint64_t size_bytes, const PageHeaderFields& first) {
  const Result<PageSize> page_size = PageSizeFromBytes(first.page_size);
  if (!page_size.has_value() || first.columns < kMinColumns || first.columns > kMaxColumns) return std::nullopt;
  const uint64_t page_bytes = PageSizeBytes(*page_size);
  if (size_bytes % page_bytes != 0) return std::nullopt;
  std::array<std::byte, kPageHeaderBytes> head{};
  const Result<size_t> read = file.ReadAt(size_bytes - page_bytes, head);
  if (!read.has_value() || *read != head.size()) return std::nullopt;
  const PageHeaderFields last = PeekPageHeader(head);
  TableShape shape;
  shape.columns = first.columns;
  shape.page_size = *page_size;
  const uint64_t pages = size_bytes / page_bytes;
  shape.rows = (pages - 1) * TableRowsPerPage(shape) + last.rows;
  if (last.magic != kPageMagic || !ValidateTableShape(shape).ok() || TablePageCount(shape) != pages)
    return std::nullopt;
  return shape;
}

// Reads the trailer candidate that ends a file of `size_bytes` whose last `tail` bytes
// are given: the last page of whichever page size holds a trailer header naming that
// size. Fills `info` (kTable or kDamagedTable) and returns true when one is found.
bool ReadTrailer(std::span<const std::byte> tail, uint64_t size_bytes, const std::string& path, TableFileInfo& info) {
  for (const PageSize candidate : kPageSizes) {
    const uint64_t page_bytes = PageSizeBytes(candidate);
    if (size_bytes < page_bytes || size_bytes % page_bytes != 0 || tail.size() < page_bytes) continue;
    const std::span<const std::byte> page = tail.last(page_bytes);
    const PageHeaderFields fields = PeekPageHeader(page);
    if (fields.magic != kPageMagic || fields.type != static_cast<uint8_t>(PageType::kTableTrailer) ||
        fields.page_size != page_bytes) {
      continue;
    }
    const uint64_t position = size_bytes / page_bytes - 1;
    info.kind = TableFileKind::kDamagedTable;
    const Status verified = VerifyPage(page, position, path, PageType::kTableTrailer);
    if (!verified.ok()) {
      info.why = fmt::format(
          "{} is a damaged iodepth table: its trailer page does not verify ({}); load it again "
          "with --overwrite, or remove it",
          path, verified.message());
      return true;
    }
    const std::span<const std::byte> body = PageBody(page);
    const auto version = LoadLe<uint32_t>(body, kTrailerVersionOffset);
    if (version != kTableTrailerVersion) {
      info.why = fmt::format("{}: table trailer format {} is not one this build reads ({}): made by a newer iodepth?",
                             path, version, kTableTrailerVersion);
      return true;
    }
    TableShape shape;
    shape.rows = LoadLe<uint64_t>(body, kTrailerRowsOffset);
    shape.seed = LoadLe<uint64_t>(body, kTrailerSeedOffset);
    shape.columns = fields.columns;
    shape.page_size = candidate;
    const auto pages = LoadLe<uint64_t>(body, kTrailerPagesOffset);
    if (!ValidateTableShape(shape).ok() || pages != TablePageCount(shape) || pages != position) {
      info.why = fmt::format(
          "{} is a damaged iodepth table: its trailer records {} rows in {} pages, but the file "
          "holds {} pages before the trailer; load it again with --overwrite, or remove it",
          path, shape.rows, pages, position);
      return true;
    }
    info.kind = TableFileKind::kTable;
    info.shape = shape;
    info.updated = (LoadLe<uint32_t>(body, kTrailerFlagsOffset) & kTableUpdatedFlag) != 0;
    return true;
  }
  return false;
}

// The partial file a killed load left may be replaced when it is empty or starts with an
// iodepth page; anything else under that name is not ours. The file is not modified.
Status CheckPartialIsOurs(const std::string& partial) {
  auto file = File::Open(partial, OpenOptions{});
  if (!file.has_value()) {
    if (file.error().error_number() == ENOENT) return Status::OK();
    return file.error();
  }
  std::array<std::byte, sizeof(uint32_t)> head{};
  IODEPTH_ASSIGN_OR_RETURN(const size_t bytes, (*file)->ReadAt(/*offset=*/0, head));
  if (bytes == 0 || (bytes == head.size() && LoadLe<uint32_t>(head, 0) == kPageMagic)) return Status::OK();
  return Status::FailedPrecondition(
      fmt::format("refusing to overwrite {}: it exists and is not an iodepth table (no page magic at offset 0); "
                  "remove it or choose another path",
                  partial));
}

// Whether the load may replace what is at `path` (LoadHeapTable's rule); the file is not
// modified either way.
Status CheckReplaceable(const std::string& path, const TableShape& shape, bool overwrite) {
  IODEPTH_ASSIGN_OR_RETURN(const TableFileInfo info, InspectTableFile(path));
  switch (info.kind) {
    case TableFileKind::kAbsent:
    case TableFileKind::kEmpty: return Status::OK();
    case TableFileKind::kTable:
      if (info.shape == shape || overwrite) return Status::OK();
      return Status::FailedPrecondition(fmt::format(
          "refusing to replace {}: it holds a table of {}, and this load writes {}; pass --overwrite to replace it, "
          "or choose another path",
          path, DescribeTableShape(info.shape), DescribeTableShape(shape)));
    case TableFileKind::kOlderTable:
    case TableFileKind::kDamagedTable:
      if (overwrite) return Status::OK();
      return Status::FailedPrecondition(fmt::format("refusing to replace {}: {}", path, info.why));
    case TableFileKind::kForeign: break;
  }
  return Status::FailedPrecondition(fmt::format("refusing to overwrite {}: {}", path, info.why));
}

Status ValidateLoadOptions(const LoadOptions& options) {
  IODEPTH_RETURN_IF_ERROR(ValidateTableShape(options.shape));
  const uint32_t page_bytes = PageSizeBytes(options.shape.page_size);
  if (options.path.empty()) return Status::InvalidArgument("table path is empty");
  if (options.write_bytes < page_bytes || options.write_bytes > kMaxWriteBytes ||
      options.write_bytes % page_bytes != 0) {
    return Status::InvalidArgument(
        fmt::format("write size {} bytes must be a multiple of the page size {} "
                    "between {} and {} bytes",
                    options.write_bytes, page_bytes, page_bytes, kMaxWriteBytes));
  }
  const uint64_t ring_bytes = uint64_t{options.queue.depth} * options.write_bytes;
  if (options.queue.depth == 0 || ring_bytes > kMaxLoadRingBytes) {
    return Status::InvalidArgument(
        fmt::format("queue depth {} x write size {} bytes: the depth must be at least 1 "
                    "and the write buffers at most {} bytes",
                    options.queue.depth, options.write_bytes, kMaxLoadRingBytes));
  }
  return Status::OK();
}

// The loader's state across one load: the ring of write slots and the next page to build.
class Loader {
 public:
  Loader(const LoadOptions& options, File* file, IoQueue* queue, AlignedBuffer* ring)
      : options_(options),
        file_(file),
        queue_(queue),
        ring_(ring),
        page_bytes_(PageSizeBytes(options.shape.page_size)),
        pages_per_write_(options.write_bytes / page_bytes_),
        data_pages_(TablePageCount(options.shape)),
        total_pages_(data_pages_ + 1) {
    for (uint32_t slot = 0; slot < queue->depth(); ++slot) free_slots_.push_back(slot);
  }

  // Writes every page; returns the first write error. In-flight writes may remain on
  // error; the queue's destructor drains them.
  Status Run() {
    while (next_page_ < total_pages_ || queue_->in_flight() > 0) {
      while (!free_slots_.empty() && next_page_ < total_pages_) IODEPTH_RETURN_IF_ERROR(PrepareNextWrite());
      if (queue_->prepared() > 0) IODEPTH_RETURN_IF_ERROR(queue_->Submit().status());
      IODEPTH_RETURN_IF_ERROR(ReapSome());
    }
    return Status::OK();
  }

 private:
  // Builds the next run of pages into a free slot and prepares its write.
  Status PrepareNextWrite() {
    const uint32_t slot = free_slots_.back();
    const uint64_t pages = std::min<uint64_t>(pages_per_write_, total_pages_ - next_page_);
    const std::span<std::byte> buffer = ring_->span(size_t{slot} * options_.write_bytes, pages * page_bytes_);
    for (uint64_t i = 0; i < pages; ++i) {
      const std::span<std::byte> page = buffer.subspan(i * page_bytes_, page_bytes_);
      if (next_page_ + i < data_pages_) {
        BuildHeapTablePage(page, options_.shape, next_page_ + i);
      } else {
        BuildTableTrailerPage(page, options_.shape);  // Last, so a complete file ends with it.
      }
    }
    IODEPTH_RETURN_IF_ERROR(
        queue_->Prepare(IoRequest{IoOp::kWrite, file_, next_page_ * page_bytes_, buffer, /*tag=*/slot}));
    free_slots_.pop_back();
    next_page_ += pages;
    return Status::OK();
  }

  // Waits for at least one write, then returns every reaped slot to the free list. Run()
  // calls it only when the ring is full or every page is issued, so waiting is right.
  Status ReapSome() {
    std::array<IoCompletion, 64> done;
    IODEPTH_ASSIGN_OR_RETURN(const uint32_t count, queue_->Reap(done, /*min_completions=*/1));
    for (uint32_t i = 0; i < count; ++i) {
      const IoCompletion& c = done[i];
      if (!c.status.ok()) return c.status.WithContext(fmt::format("write table {}", options_.path));
      if (c.bytes_done != c.length) {
        // A backend finishes short writes itself, so a short one here is a device failure.
        return Status::PosixError(fmt::format("write of {} bytes at offset {} of {} stopped after {} bytes", c.length,
                                              c.offset, options_.path, c.bytes_done),
                                  EIO);
      }
      free_slots_.push_back(static_cast<uint32_t>(c.tag));
    }
    IODEPTH_CHECK(free_slots_.size() + queue_->in_flight() <= queue_->depth(), "a write slot was lost or duplicated");
    return Status::OK();
  }

  const LoadOptions& options_;
  File* const file_;
  IoQueue* const queue_;
  AlignedBuffer* const ring_;
  const uint64_t page_bytes_;
  const uint64_t pages_per_write_;
  const uint64_t data_pages_;
  const uint64_t total_pages_;  // The data pages and the trailer.
  uint64_t next_page_ = 0;
  std::vector<uint32_t> free_slots_;
};

// Checks one verified page's shape and values against the table's.
Status CheckPageRows(std::span<const std::byte> page, const TableShape& shape, uint64_t page_id,
                     const std::string& path) {
  const uint32_t capacity = TableRowsPerPage(shape);
  const uint64_t first_row = page_id * capacity;
  const uint64_t want_rows = std::min<uint64_t>(capacity, shape.rows - first_row);
  if (ColumnCount(page) != shape.columns || RowCount(page) != want_rows) {
    return Status::Corruption(fmt::format("page {} of {}: holds {} rows of {} columns, expected {} rows of {}", page_id,
                                          path, RowCount(page), ColumnCount(page), want_rows, shape.columns));
  }
  const std::span<const int64_t> values = Rows(page);
  const uint64_t updates = PageLsn(page);  // See "Updates" in the header.
  const uint32_t last = shape.columns - 1;
  for (uint32_t i = 0; i < want_rows; ++i) {
    for (uint32_t c = 0; c < shape.columns; ++c) {
      const int64_t got = values[size_t{i} * shape.columns + c];
      const int64_t want = c == last && updates > i ? UpdatedValue(shape.seed, first_row + i,
                                                                   i + 1 + want_rows * ((updates - 1 - i) / want_rows))
                                                    : ExpectedValue(shape.seed, first_row + i, c);
      if (got != want) {
        return Status::Corruption(fmt::format("page {} of {}: row {} (table row {}) column {} is {}, expected {}",
                                              page_id, path, i, first_row + i, c, got, want));
      }
    }
  }
  return Status::OK();
}

}  // namespace

Status ValidateTableShape(const TableShape& shape) {
  if (shape.rows > kMaxTableRows) {
    return Status::InvalidArgument(fmt::format("table rows {} exceeds the limit {}", shape.rows, kMaxTableRows));
  }
  if (shape.columns < kMinColumns || shape.columns > kMaxColumns) {
    return Status::InvalidArgument(
        fmt::format("table columns {} must be between {} and {}", shape.columns, kMinColumns, kMaxColumns));
  }
  return PageSizeFromBytes(PageSizeBytes(shape.page_size)).status();
}

std::string DescribeTableShape(const TableShape& shape) {
  return fmt::format("{} rows x {} columns, {} KiB pages, seed {} ({} pages)", shape.rows, shape.columns,
                     PageSizeBytes(shape.page_size) / 1024, shape.seed, TablePageCount(shape));
}

uint32_t TableRowsPerPage(const TableShape& shape) { return HeapPageCapacityRows(shape.page_size, shape.columns); }

uint64_t TablePageCount(const TableShape& shape) {
  const uint64_t capacity = TableRowsPerPage(shape);
  return (shape.rows + capacity - 1) / capacity;
}

uint64_t TableFileBytes(const TableShape& shape) {
  return (TablePageCount(shape) + 1) * PageSizeBytes(shape.page_size);
}

void BuildTableTrailerPage(std::span<std::byte> page, const TableShape& shape, uint32_t flags) {
  IODEPTH_CHECK(page.size() == PageSizeBytes(shape.page_size), "page buffer size differs from the table's page size");
  const uint64_t pages = TablePageCount(shape);
  InitPage(page, PageType::kTableTrailer, /*page_id=*/pages, shape.columns);
  const std::span<std::byte> body = PageBody(page);
  StoreLe<uint32_t>(body, kTrailerVersionOffset, kTableTrailerVersion);
  StoreLe<uint32_t>(body, kTrailerFlagsOffset, flags);
  StoreLe<uint64_t>(body, kTrailerRowsOffset, shape.rows);
  StoreLe<uint64_t>(body, kTrailerSeedOffset, shape.seed);
  StoreLe<uint64_t>(body, kTrailerPagesOffset, pages);
  SealPage(page);
}

Result<TableFileInfo> InspectTableFile(const std::string& path) {
  TableFileInfo info;
  Result<std::unique_ptr<File>> opened = File::Open(path, OpenOptions{});
  if (!opened.has_value()) {
    if (opened.error().error_number() == ENOENT) return info;
    return opened.error();
  }
  File& file = **opened;
  IODEPTH_ASSIGN_OR_RETURN(info.size_bytes, file.Size());
  if (info.size_bytes == 0) {
    info.kind = TableFileKind::kEmpty;
    info.why = fmt::format("{} is empty: not a table (load one with iodepth load)", path);
    return info;
  }
  // The last 16 KiB hold the trailer whatever the page size: read them once.
  constexpr uint64_t kTailBytes = PageSizeBytes(PageSize::k16KiB);
  const uint64_t tail_bytes = std::min(info.size_bytes, kTailBytes);
  IODEPTH_ASSIGN_OR_RETURN(AlignedBuffer tail, AlignedBuffer::Allocate(kTailBytes, kBufferAlignment));
  IODEPTH_ASSIGN_OR_RETURN(const size_t got, file.ReadAt(info.size_bytes - tail_bytes, tail.span(0, tail_bytes)));
  if (got == tail_bytes && ReadTrailer(tail.span(0, tail_bytes), info.size_bytes, path, info)) return info;

  // No trailer: whose pages are these?
  std::array<std::byte, kPageHeaderBytes> head{};
  IODEPTH_ASSIGN_OR_RETURN(const size_t head_bytes, file.ReadAt(/*offset=*/0, head));
  const PageHeaderFields first = PeekPageHeader(head);
  if (head_bytes < head.size() || first.magic != kPageMagic) {
    info.kind = TableFileKind::kForeign;
    info.why =
        fmt::format("{} is not an iodepth table (no page magic at offset 0); remove it or choose another path", path);
    return info;
  }
  if (first.version == kPageFormatVersionWithoutTrailer) {
    info.kind = TableFileKind::kOlderTable;
    const std::optional<TableShape> older = OlderTableShape(file, info.size_bytes, first);
    if (older.has_value()) info.shape = *older;
    info.why = older.has_value()
                   ? fmt::format("{} was made by an older iodepth (page format {}, no trailer page); load it again: {}",
                                 path, first.version, ReloadCommand(path, *older, /*seed_known=*/false))
                   : fmt::format(
                         "{} was made by an older iodepth (page format {}, no trailer page) and its pages do "
                         "not add up to a table; load it again with iodepth load ... --overwrite",
                         path, first.version);
    return info;
  }
  info.kind = TableFileKind::kDamagedTable;
  info.why = first.version == kPageFormatVersion
                 ? fmt::format(
                       "{} is a damaged iodepth table: it ends at byte {} without its trailer page (cut short, "
                       "or grown past its end); load it again with --overwrite, or remove it",
                       path, info.size_bytes)
                 : fmt::format("{}: page format version {} is not one this build reads ({}): made by a newer iodepth?",
                               path, first.version, kPageFormatVersion);
  return info;
}

namespace {

Result<TableShape> ReadShape(const std::string& path, bool accept_updated) {
  IODEPTH_ASSIGN_OR_RETURN(const TableFileInfo info, InspectTableFile(path));
  switch (info.kind) {
    case TableFileKind::kTable:
      if (info.updated && !accept_updated) {
        return Status::FailedPrecondition(fmt::format(
            "{} has been updated in place (by bm_rand_rw), so its rows no longer hold the values it was loaded "
            "with: load it again with `{}`, and give update workloads a table of their own",
            path, ReloadCommand(path, info.shape, /*seed_known=*/true)));
      }
      return info.shape;
    case TableFileKind::kAbsent:
      return Status::NotFound(fmt::format("{}: no such file (load a table there with iodepth load)", path));
    default: return Status::FailedPrecondition(info.why);
  }
}

}  // namespace

Result<TableShape> ReadTableShape(const std::string& path) { return ReadShape(path, /*accept_updated=*/false); }
Result<TableShape> ReadUpdatedTableShape(const std::string& path) { return ReadShape(path, /*accept_updated=*/true); }

int64_t UpdatedValue(uint64_t seed, uint64_t row, uint64_t update) {
  return static_cast<int64_t>(SplitMix64Mix(RowMix(seed, row) ^ (kSplitMix64Gamma * update)) & 0xFFFFFFFFull);
}

void ApplyTableUpdate(std::span<std::byte> page, const TableShape& shape, uint64_t page_id) {
  const uint64_t update = PageLsn(page) + 1;
  const uint32_t rows = RowCount(page);
  IODEPTH_CHECK(rows > 0 && ColumnCount(page) == shape.columns, "update of a page that is not the table's");
  const auto slot = static_cast<uint32_t>((update - 1) % rows);
  const uint64_t row = page_id * TableRowsPerPage(shape) + slot;
  MutableRows(page)[size_t{slot} * shape.columns + shape.columns - 1] = UpdatedValue(shape.seed, row, update);
  SetPageLsn(page, update);
  SealPage(page);
}

Status MarkTableUpdated(const std::string& path, const TableShape& shape) {
  IODEPTH_ASSIGN_OR_RETURN(const TableShape recorded, ReadUpdatedTableShape(path));
  if (recorded != shape) {
    return Status::FailedPrecondition(fmt::format("{} holds a table of {}, not the {} to be updated", path,
                                                  DescribeTableShape(recorded), DescribeTableShape(shape)));
  }
  OpenOptions open;
  open.access = AccessMode::kReadWrite;
  IODEPTH_ASSIGN_OR_RETURN(std::unique_ptr<File> file, File::Open(path, open));
  const uint64_t page_bytes = PageSizeBytes(shape.page_size);
  IODEPTH_ASSIGN_OR_RETURN(AlignedBuffer trailer, AlignedBuffer::Allocate(page_bytes, kBufferAlignment));
  BuildTableTrailerPage(trailer.span(), shape, kTableUpdatedFlag);
  IODEPTH_RETURN_IF_ERROR(file->WriteAt(TablePageCount(shape) * page_bytes, trailer.span()).status());
  return file->DataSync().WithContext(fmt::format("mark {} as updated in place", path));
}

int64_t ExpectedValue(uint64_t seed, uint64_t row, uint32_t column) {
  if (column == 1) return static_cast<int64_t>(row % kGroupCount);
  const uint64_t m = RowMix(seed, row);
  if (column == 0) return static_cast<int64_t>((m & 0xFFFFFFFFull) % kColumn0Range);
  if (column == 2) return static_cast<int64_t>(m >> 32);
  return static_cast<int64_t>(SplitMix64Mix(m + kSplitMix64Gamma * column) & 0xFFFFFFFFull);
}

void BuildHeapTablePage(std::span<std::byte> page, const TableShape& shape, uint64_t page_id) {
  const uint32_t capacity = TableRowsPerPage(shape);
  const uint64_t first_row = page_id * capacity;
  IODEPTH_CHECK(first_row < shape.rows, "page id past the table's last page");
  IODEPTH_CHECK(page.size() == PageSizeBytes(shape.page_size), "page buffer size differs from the table's page size");
  const uint64_t end_row = std::min(shape.rows, first_row + capacity);
  InitHeapPage(page, page_id, shape.columns);
  // One AppendRows for the whole page rather than AppendRow per row: the per-row path
  // re-reads the header, recomputes the capacity and copies each row from a scratch
  // array, which made filling, not the device, the loader's limit.
  const std::span<int64_t> values = AppendRows(page, static_cast<uint32_t>(end_row - first_row));
  FillRowValues(values.data(), shape.columns, shape.seed, first_row, end_row);
  SealPage(page);
}

int64_t ExpectedColumnSum(const TableShape& shape, uint32_t column) {
  IODEPTH_CHECK(column < shape.columns, "column out of range");
  if (column == 1) {
    const auto full = static_cast<int64_t>(shape.rows / kGroupCount);
    const auto rest = static_cast<int64_t>(shape.rows % kGroupCount);
    return full * (kGroupCount * (kGroupCount - 1) / 2) + rest * (rest - 1) / 2;
  }
  int64_t sum = 0;
  for (uint64_t r = 0; r < shape.rows; ++r) sum += ExpectedValue(shape.seed, r, column);
  return sum;
}

uint64_t ExpectedCountLessThan(const TableShape& shape, uint32_t column, int64_t bound) {
  IODEPTH_CHECK(column < shape.columns, "column out of range");
  if (column == 1) {
    const auto groups = static_cast<uint64_t>(std::clamp<int64_t>(bound, 0, kGroupCount));
    return (shape.rows / kGroupCount) * groups + std::min<uint64_t>(shape.rows % kGroupCount, groups);
  }
  uint64_t count = 0;
  for (uint64_t r = 0; r < shape.rows; ++r) count += ExpectedValue(shape.seed, r, column) < bound ? 1u : 0u;
  return count;
}

Result<LoadStats> LoadHeapTable(const LoadOptions& options) {
  IODEPTH_RETURN_IF_ERROR(ValidateLoadOptions(options));
  IODEPTH_RETURN_IF_ERROR(CheckReplaceable(options.path, options.shape, options.overwrite));
  const int64_t start_ns = NowNs();
  const uint64_t total_bytes = TableFileBytes(options.shape);
  // The table is written under its partial name and renamed over `path` once complete and
  // synced (io/file.h "Atomic creation"): a load that fails or is killed leaves the old
  // table (or nothing) at `path`, and its partial file never blocks the retry. Room is
  // checked first, for the whole new table (the old one stays until the rename), less
  // what a partial file a killed load left will give back.
  const std::string partial = PartialPath(options.path);
  IODEPTH_RETURN_IF_ERROR(CheckPartialIsOurs(partial));
  struct stat left {};
  const uint64_t left_bytes = ::stat(partial.c_str(), &left) == 0 ? static_cast<uint64_t>(left.st_size) : 0;
  IODEPTH_RETURN_IF_ERROR(CheckRoomToGrow(options.path, total_bytes - std::min(total_bytes, left_bytes), "size"));

  std::string backend;
  Status loaded = [&]() -> Status {
    OpenOptions open;
    open.access = AccessMode::kWriteOnly;
    open.cache = options.cache;
    open.create = true;
    open.truncate = true;
    IODEPTH_ASSIGN_OR_RETURN(std::unique_ptr<File> file, File::Open(partial, open));
    if (options.fault_injector) file->SetFaultInjector(options.fault_injector);
    if (options.preallocate) {
      const Status reserved = file->Allocate(/*offset=*/0, total_bytes);
      if (!reserved.ok() && reserved.code() != StatusCode::kNotSupported) return reserved;
    }
    // The ring is declared before the queue so the queue, destroyed first, drains every
    // write in flight before the buffers they point into are freed.
    const size_t ring_bytes = size_t{options.queue.depth} * options.write_bytes;
    IODEPTH_ASSIGN_OR_RETURN(AlignedBuffer ring, AlignedBuffer::Allocate(ring_bytes, kBufferAlignment));
    IODEPTH_ASSIGN_OR_RETURN(std::unique_ptr<IoQueue> queue, MakeIoQueue(options.queue));
    IODEPTH_RETURN_IF_ERROR(queue->RegisterBuffers(std::array{ring.span()}));
    backend = std::string(queue->backend_name());

    Loader loader(options, file.get(), queue.get(), &ring);
    IODEPTH_RETURN_IF_ERROR(loader.Run());
    IODEPTH_RETURN_IF_ERROR(file->DataSync());
    IODEPTH_RETURN_IF_ERROR(file->Close());
    return PublishFile(partial, options.path);
  }();
  if (!loaded.ok()) {
    DiscardPartial(partial);
    return loaded.WithContext(fmt::format("load table {} (nothing was left at that path by this load)", options.path));
  }

  LoadStats stats;
  stats.pages = TablePageCount(options.shape);
  stats.bytes = total_bytes;
  stats.elapsed_ns = NowNs() - start_ns;
  const double seconds = static_cast<double>(stats.elapsed_ns) / 1e9;
  stats.mib_per_s = seconds > 0 ? static_cast<double>(total_bytes) / (1 << 20) / seconds : 0;
  stats.backend = backend;
  return stats;
}

Status CheckTablePage(std::span<const std::byte> page, const TableShape& shape, uint64_t page_id,
                      const std::string& path) {
  return CheckPageRows(page, shape, page_id, path);
}

// The trailer `path` must carry for `shape`: kCorruption naming both shapes, or what is
// wrong with the file, otherwise.
Status CheckTrailerRecords(const std::string& path, const TableShape& shape) {
  IODEPTH_ASSIGN_OR_RETURN(const TableFileInfo info, InspectTableFile(path));
  if (info.kind != TableFileKind::kTable) {
    return Status::Corruption(info.kind == TableFileKind::kAbsent ? fmt::format("{}: no such file", path) : info.why);
  }
  if (info.shape != shape) {
    return Status::Corruption(fmt::format("{} holds a table of {}, not the {} expected", path,
                                          DescribeTableShape(info.shape), DescribeTableShape(shape)));
  }
  return Status::OK();
}

Status VerifyHeapTable(const std::string& path, const TableShape& shape) {
  IODEPTH_RETURN_IF_ERROR(ValidateTableShape(shape));
  IODEPTH_RETURN_IF_ERROR(CheckTrailerRecords(path, shape));
  IODEPTH_ASSIGN_OR_RETURN(std::unique_ptr<File> file, File::Open(path, OpenOptions{}));
  const uint64_t page_bytes = PageSizeBytes(shape.page_size);
  const uint64_t pages = TablePageCount(shape);
  IODEPTH_ASSIGN_OR_RETURN(AlignedBuffer page, AlignedBuffer::Allocate(page_bytes, kBufferAlignment));
  for (uint64_t id = 0; id < pages; ++id) {
    IODEPTH_ASSIGN_OR_RETURN(const size_t bytes, file->ReadAt(id * page_bytes, page.span()));
    if (bytes != page_bytes) {
      return Status::Corruption(fmt::format("page {} of {}: read {} of {} bytes", id, path, bytes, page_bytes));
    }
    IODEPTH_RETURN_IF_ERROR(VerifyPage(page.span(), id, path));
    IODEPTH_RETURN_IF_ERROR(CheckPageRows(page.span(), shape, id, path));
  }
  return Status::OK();
}

Result<bool> HeapTableMatches(const std::string& path, const TableShape& shape) {
  IODEPTH_RETURN_IF_ERROR(ValidateTableShape(shape));
  IODEPTH_ASSIGN_OR_RETURN(const TableFileInfo info, InspectTableFile(path));
  if (info.kind != TableFileKind::kTable || info.shape != shape || info.updated) return false;
  const uint64_t pages = TablePageCount(shape);
  if (pages == 0) return true;
  IODEPTH_ASSIGN_OR_RETURN(std::unique_ptr<File> file, File::Open(path, OpenOptions{}));
  const uint64_t page_bytes = PageSizeBytes(shape.page_size);
  IODEPTH_ASSIGN_OR_RETURN(AlignedBuffer page, AlignedBuffer::Allocate(page_bytes, kBufferAlignment));
  // The trailer vouches for the shape and length; the sampled pages for the content.
  for (const uint64_t id : {uint64_t{0}, pages / 2, pages - 1}) {
    IODEPTH_ASSIGN_OR_RETURN(const size_t bytes, file->ReadAt(id * page_bytes, page.span()));
    // A short read means the file shrank since it was inspected: not the table asked for.
    if (bytes != page_bytes) return false;
    if (!VerifyPage(page.span(), id, path).ok()) return false;
    if (!CheckPageRows(page.span(), shape, id, path).ok()) return false;
  }
  return true;
}

}  // namespace iodepth
