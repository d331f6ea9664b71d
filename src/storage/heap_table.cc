#include "storage/heap_table.h"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "common/assert.h"
#include "common/clock.h"
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

// OK when `path` is absent, empty, or starts with an iodepth page; the file is not
// modified either way.
Status CheckOverwritable(const std::string& path) {
  auto file = File::Open(path, OpenOptions{});
  if (!file.has_value()) {
    if (file.error().error_number() == ENOENT) return Status::OK();
    return file.error();
  }
  std::array<std::byte, sizeof(uint32_t)> head{};
  IODEPTH_ASSIGN_OR_RETURN(const size_t bytes, (*file)->ReadAt(/*offset=*/0, head));
  if (bytes == 0) return Status::OK();
  uint32_t magic = 0;
  std::memcpy(&magic, head.data(), sizeof(magic));  // Little-endian host, as page.h assumes.
  if (bytes == head.size() && magic == kPageMagic) return Status::OK();
  return Status::FailedPrecondition(
      fmt::format("refusing to overwrite {}: it exists and is not an iodepth table (no page magic at offset 0); "
                  "remove it or choose another path",
                  path));
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
        total_pages_(TablePageCount(options.shape)) {
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
      BuildHeapTablePage(buffer.subspan(i * page_bytes_, page_bytes_), options_.shape, next_page_ + i);
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
  const uint64_t total_pages_;
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
  for (uint32_t i = 0; i < want_rows; ++i) {
    for (uint32_t c = 0; c < shape.columns; ++c) {
      const int64_t got = values[size_t{i} * shape.columns + c];
      const int64_t want = ExpectedValue(shape.seed, first_row + i, c);
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

uint32_t TableRowsPerPage(const TableShape& shape) { return HeapPageCapacityRows(shape.page_size, shape.columns); }

uint64_t TablePageCount(const TableShape& shape) {
  const uint64_t capacity = TableRowsPerPage(shape);
  return (shape.rows + capacity - 1) / capacity;
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
  IODEPTH_RETURN_IF_ERROR(CheckOverwritable(options.path));
  const int64_t start_ns = NowNs();
  const uint64_t total_bytes = TablePageCount(options.shape) * PageSizeBytes(options.shape.page_size);
  // The table is written under its partial name and renamed over `path` once complete and
  // synced (io/file.h "Atomic creation"): a load that fails or is killed leaves the old
  // table (or nothing) at `path`, and its partial file never blocks the retry. Room is
  // checked first, for the whole new table (the old one stays until the rename), less
  // what a partial file a killed load left will give back.
  const std::string partial = PartialPath(options.path);
  IODEPTH_RETURN_IF_ERROR(CheckOverwritable(partial));
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
    if (options.preallocate && total_bytes > 0) {
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

Status VerifyHeapTable(const std::string& path, const TableShape& shape) {
  IODEPTH_RETURN_IF_ERROR(ValidateTableShape(shape));
  IODEPTH_ASSIGN_OR_RETURN(std::unique_ptr<File> file, File::Open(path, OpenOptions{}));
  const uint64_t page_bytes = PageSizeBytes(shape.page_size);
  const uint64_t pages = TablePageCount(shape);
  IODEPTH_ASSIGN_OR_RETURN(const uint64_t size_bytes, file->Size());
  if (size_bytes != pages * page_bytes) {
    return Status::Corruption(fmt::format("{}: file is {} bytes, a table of {} pages of {} bytes is {} bytes", path,
                                          size_bytes, pages, page_bytes, pages * page_bytes));
  }
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
  Result<std::unique_ptr<File>> file = File::Open(path, OpenOptions{});
  if (!file.has_value()) {
    if (file.error().error_number() == ENOENT) return false;
    return file.error();
  }
  const uint64_t page_bytes = PageSizeBytes(shape.page_size);
  const uint64_t pages = TablePageCount(shape);
  IODEPTH_ASSIGN_OR_RETURN(const uint64_t size_bytes, (*file)->Size());
  if (size_bytes != pages * page_bytes) return false;
  if (pages == 0) return true;
  IODEPTH_ASSIGN_OR_RETURN(AlignedBuffer page, AlignedBuffer::Allocate(page_bytes, kBufferAlignment));
  // The first and last pages catch another row count or page size; all three catch
  // another seed, column count or format.
  for (const uint64_t id : {uint64_t{0}, pages / 2, pages - 1}) {
    IODEPTH_ASSIGN_OR_RETURN(const size_t bytes, (*file)->ReadAt(id * page_bytes, page.span()));
    // A short read means the file shrank since Size(): not the table asked for.
    if (bytes != page_bytes) return false;
    if (!VerifyPage(page.span(), id, path).ok()) return false;
    if (!CheckPageRows(page.span(), shape, id, path).ok()) return false;
  }
  return true;
}

}  // namespace iodepth
