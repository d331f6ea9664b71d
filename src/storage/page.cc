#include "storage/page.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

#include "common/assert.h"
#include "common/crc32c.h"
#include "common/little_endian.h"

namespace iodepth {
namespace {

// Header field offsets; the diagram in page.h is the authority.
constexpr size_t kMagicOffset = 0;
constexpr size_t kVersionOffset = 4;
constexpr size_t kTypeOffset = 6;
constexpr size_t kColumnsOffset = 7;
constexpr size_t kPageIdOffset = 8;
constexpr size_t kLsnOffset = 16;
constexpr size_t kChecksumOffset = 24;
constexpr size_t kPageSizeOffset = 28;
constexpr size_t kRowCountOffset = 32;
constexpr size_t kHeaderEndOffset = 34;
static_assert(kHeaderEndOffset <= kPageHeaderBytes);
// Rows start on a cache line, and a 16 KiB page of 1-column rows holds 2040 rows: the
// count fits the 16-bit field with room to spare.
static_assert(kPageHeaderBytes % 64 == 0);
static_assert((16384 - kPageHeaderBytes) / kColumnBytes <= UINT16_MAX);

bool IsPageSize(size_t size_bytes) {
  return size_bytes == PageSizeBytes(PageSize::k4KiB) || size_bytes == PageSizeBytes(PageSize::k8KiB) ||
         size_bytes == PageSizeBytes(PageSize::k16KiB);
}

void CheckPageBuffer(std::span<const std::byte> page) {
  IODEPTH_CHECK(IsPageSize(page.size()), "a page buffer must be 4, 8 or 16 KiB");
  // Rows are read in place as int64_t.
  IODEPTH_CHECK(reinterpret_cast<uintptr_t>(page.data()) % alignof(int64_t) == 0,
                "a page buffer must be 8-byte aligned");
}

uint32_t CapacityRows(size_t page_bytes, uint32_t column_count) {
  return static_cast<uint32_t>((page_bytes - kPageHeaderBytes) / (column_count * kColumnBytes));
}

const int64_t* RowData(std::span<const std::byte> page) {
  return reinterpret_cast<const int64_t*>(page.data() + kPageHeaderBytes);
}

Status PageCorruption(uint64_t page_id, std::string_view file_name, std::string_view what) {
  return Status::Corruption(fmt::format("page {} of {}: {}", page_id, file_name, what));
}

// The header fields a sealed page must hold, checked once its checksum has matched.
Status VerifyHeaderFields(std::span<const std::byte> page, uint64_t expected_page_id, std::string_view file_name,
                          PageType expected_type) {
  const auto version = LoadLe<uint16_t>(page, kVersionOffset);
  if (version == kPageFormatVersionWithoutTrailer) {
    return PageCorruption(expected_page_id, file_name,
                          fmt::format("page format version {}: made by an older iodepth, before tables carried a "
                                      "trailer page; load the table again",
                                      version));
  }
  if (version != kPageFormatVersion) {
    return PageCorruption(
        expected_page_id, file_name,
        fmt::format("unknown page format version {} (this build reads {})", version, kPageFormatVersion));
  }
  const auto type = LoadLe<uint8_t>(page, kTypeOffset);
  if (type != static_cast<uint8_t>(expected_type)) {
    const bool known =
        type == static_cast<uint8_t>(PageType::kHeap) || type == static_cast<uint8_t>(PageType::kTableTrailer);
    return PageCorruption(
        expected_page_id, file_name,
        known ? fmt::format("page type {} where a page of type {} belongs", type, static_cast<uint8_t>(expected_type))
              : fmt::format("unknown page type {}", type));
  }
  const auto stored_id = LoadLe<uint64_t>(page, kPageIdOffset);
  if (stored_id != expected_page_id) {
    return PageCorruption(expected_page_id, file_name,
                          fmt::format("holds page {} (a misplaced or misdirected write)", stored_id));
  }
  const auto columns = LoadLe<uint8_t>(page, kColumnsOffset);
  if (columns < kMinColumns || columns > kMaxColumns) {
    return PageCorruption(expected_page_id, file_name,
                          fmt::format("column count {} outside {}..{}", columns, kMinColumns, kMaxColumns));
  }
  const auto rows = LoadLe<uint16_t>(page, kRowCountOffset);
  const uint32_t capacity = expected_type == PageType::kHeap ? CapacityRows(page.size(), columns) : 0;
  if (rows > capacity) {
    return PageCorruption(expected_page_id, file_name,
                          fmt::format("row count {} exceeds the page's capacity of {} rows", rows, capacity));
  }
  return Status::OK();
}

}  // namespace

Result<PageSize> PageSizeFromBytes(uint64_t size_bytes) {
  if (!IsPageSize(size_bytes)) {
    return Status::InvalidArgument(
        fmt::format("page size {} bytes is not supported; use 4096, 8192 or 16384", size_bytes));
  }
  return static_cast<PageSize>(size_bytes);
}

uint32_t HeapPageCapacityRows(PageSize size, uint32_t column_count) {
  IODEPTH_CHECK(column_count >= kMinColumns && column_count <= kMaxColumns, "column count outside 1..16");
  return CapacityRows(PageSizeBytes(size), column_count);
}

void InitHeapPage(std::span<std::byte> page, uint64_t page_id, uint32_t column_count) {
  InitPage(page, PageType::kHeap, page_id, column_count);
}

void InitPage(std::span<std::byte> page, PageType type, uint64_t page_id, uint32_t column_count) {
  CheckPageBuffer(page);
  IODEPTH_CHECK(column_count >= kMinColumns && column_count <= kMaxColumns, "column count outside 1..16");
  // Free space and reserved bytes are zero so the checksum covers a defined image.
  std::fill(page.begin(), page.end(), std::byte{0});
  StoreLe<uint32_t>(page, kMagicOffset, kPageMagic);
  StoreLe<uint16_t>(page, kVersionOffset, kPageFormatVersion);
  StoreLe<uint8_t>(page, kTypeOffset, static_cast<uint8_t>(type));
  StoreLe<uint8_t>(page, kColumnsOffset, static_cast<uint8_t>(column_count));
  StoreLe<uint64_t>(page, kPageIdOffset, page_id);
  StoreLe<uint32_t>(page, kPageSizeOffset, static_cast<uint32_t>(page.size()));
}

bool AppendRow(std::span<std::byte> page, std::span<const int64_t> row) {
  const uint32_t columns = ColumnCount(page);
  IODEPTH_CHECK(row.size() == columns, "row width differs from the page's column count");
  const uint32_t rows = RowCount(page);
  const uint32_t capacity = CapacityRows(page.size(), columns);
  // A page never holds more rows than fit between the header and its end.
  IODEPTH_CHECK(rows <= capacity, "row count exceeds the page's capacity");
  if (rows == capacity) return false;
  const size_t row_bytes = columns * kColumnBytes;
  std::memcpy(page.data() + kPageHeaderBytes + rows * row_bytes, row.data(), row_bytes);
  StoreLe<uint16_t>(page, kRowCountOffset, static_cast<uint16_t>(rows + 1));
  return true;
}

uint32_t HeapPageFreeRows(std::span<const std::byte> page) {
  const uint32_t capacity = CapacityRows(page.size(), ColumnCount(page));
  const uint32_t rows = RowCount(page);
  // A page never holds more rows than fit between the header and its end.
  IODEPTH_CHECK(rows <= capacity, "row count exceeds the page's capacity");
  return capacity - rows;
}

std::span<int64_t> AppendRows(std::span<std::byte> page, uint32_t row_count) {
  CheckPageBuffer(page);
  // Checked in release builds too: the caller writes through the span, so a count past
  // the free rows would write past the page.
  IODEPTH_CHECK(row_count <= HeapPageFreeRows(page), "appending more rows than the page has room for");
  const uint32_t columns = ColumnCount(page);
  const uint32_t rows = RowCount(page);
  StoreLe<uint16_t>(page, kRowCountOffset, static_cast<uint16_t>(rows + row_count));
  auto* first = reinterpret_cast<int64_t*>(page.data() + kPageHeaderBytes) + size_t{rows} * columns;
  return {first, size_t{row_count} * columns};
}

std::span<std::byte> PageBody(std::span<std::byte> page) {
  IODEPTH_CHECK(page.size() > kPageHeaderBytes, "page shorter than its header");
  return page.subspan(kPageHeaderBytes);
}

std::span<const std::byte> PageBody(std::span<const std::byte> page) {
  IODEPTH_CHECK(page.size() > kPageHeaderBytes, "page shorter than its header");
  return page.subspan(kPageHeaderBytes);
}

PageHeaderFields PeekPageHeader(std::span<const std::byte> bytes) {
  IODEPTH_CHECK(bytes.size() >= kPageHeaderBytes, "fewer bytes than a page header");
  PageHeaderFields fields;
  fields.magic = LoadLe<uint32_t>(bytes, kMagicOffset);
  fields.version = LoadLe<uint16_t>(bytes, kVersionOffset);
  fields.type = LoadLe<uint8_t>(bytes, kTypeOffset);
  fields.columns = LoadLe<uint8_t>(bytes, kColumnsOffset);
  fields.page_id = LoadLe<uint64_t>(bytes, kPageIdOffset);
  fields.page_size = LoadLe<uint32_t>(bytes, kPageSizeOffset);
  fields.rows = LoadLe<uint16_t>(bytes, kRowCountOffset);
  return fields;
}

uint64_t PageId(std::span<const std::byte> page) { return LoadLe<uint64_t>(page, kPageIdOffset); }
uint64_t PageLsn(std::span<const std::byte> page) { return LoadLe<uint64_t>(page, kLsnOffset); }
void SetPageLsn(std::span<std::byte> page, uint64_t lsn) { StoreLe<uint64_t>(page, kLsnOffset, lsn); }
uint32_t StoredChecksum(std::span<const std::byte> page) { return LoadLe<uint32_t>(page, kChecksumOffset); }

uint32_t ColumnCount(std::span<const std::byte> page) {
  const uint32_t columns = LoadLe<uint8_t>(page, kColumnsOffset);
  IODEPTH_CHECK(columns >= kMinColumns && columns <= kMaxColumns, "page not initialised: column count outside 1..16");
  return columns;
}

uint32_t RowCount(std::span<const std::byte> page) { return LoadLe<uint16_t>(page, kRowCountOffset); }

std::span<const int64_t> RowAt(std::span<const std::byte> page, uint32_t row_index) {
  IODEPTH_CHECK(row_index < RowCount(page), "row index past the page's last row");
  const uint32_t columns = ColumnCount(page);
  // Every row handed out lies inside the page, whatever its header claims.
  IODEPTH_CHECK(kPageHeaderBytes + (size_t{row_index} + 1) * columns * kColumnBytes <= page.size(),
                "row lies past the end of the page");
  return {RowData(page) + size_t{row_index} * columns, columns};
}

std::span<const int64_t> Rows(std::span<const std::byte> page) {
  CheckPageBuffer(page);
  const uint32_t columns = ColumnCount(page);
  const uint32_t rows = RowCount(page);
  // The rows handed out lie inside the page: an unchecked count would read past it.
  IODEPTH_CHECK(rows <= CapacityRows(page.size(), columns), "row count exceeds the page's capacity");
  return {RowData(page), size_t{rows} * columns};
}

std::span<int64_t> MutableRows(std::span<std::byte> page) {
  const std::span<const int64_t> rows = Rows(page);
  // The page is the caller's writable buffer; Rows only viewed it as const.
  return {const_cast<int64_t*>(rows.data()), rows.size()};
}

void ReadRow(std::span<const std::byte> page, uint32_t row_index, std::span<int64_t> out) {
  const std::span<const int64_t> row = RowAt(page, row_index);
  IODEPTH_CHECK(out.size() == row.size(), "output width differs from the page's column count");
  std::copy(row.begin(), row.end(), out.begin());
}

uint32_t ComputePageChecksum(std::span<const std::byte> page) {
  IODEPTH_CHECK(page.size() >= kPageHeaderBytes, "page shorter than its header");
  constexpr std::array<std::byte, sizeof(uint32_t)> kZeroChecksum{};
  uint32_t crc = Crc32c(page.first(kChecksumOffset));
  crc = Crc32cExtend(crc, kZeroChecksum);
  return Crc32cExtend(crc, page.subspan(kChecksumOffset + sizeof(uint32_t)));
}

void SealPage(std::span<std::byte> page) {
  CheckPageBuffer(page);
  IODEPTH_CHECK(LoadLe<uint32_t>(page, kMagicOffset) == kPageMagic, "sealing a page that was never initialised");
  StoreLe<uint32_t>(page, kChecksumOffset, ComputePageChecksum(page));
}

Status VerifyPage(std::span<const std::byte> page, uint64_t expected_page_id, std::string_view file_name,
                  PageType type) {
  CheckPageBuffer(page);
  const auto magic = LoadLe<uint32_t>(page, kMagicOffset);
  if (magic != kPageMagic) {
    const bool all_zero = std::all_of(page.begin(), page.end(), [](std::byte b) { return b == std::byte{0}; });
    return PageCorruption(
        expected_page_id, file_name,
        all_zero ? std::string("all zeros: the page was never written")
                 : fmt::format("bad magic {:#010x} (expected {:#010x}): not an iodepth page", magic, kPageMagic));
  }
  // Checked before the checksum, which would fail too, to say why.
  const auto written_bytes = LoadLe<uint32_t>(page, kPageSizeOffset);
  if (written_bytes != page.size()) {
    return PageCorruption(expected_page_id, file_name,
                          fmt::format("written as a {}-byte page, read as {} bytes (wrong page size for this file?)",
                                      written_bytes, page.size()));
  }
  const uint32_t stored = StoredChecksum(page);
  const uint32_t computed = ComputePageChecksum(page);
  if (stored != computed) {
    return PageCorruption(expected_page_id, file_name,
                          fmt::format("checksum mismatch (stored {:#010x}, computed {:#010x})", stored, computed));
  }
  return VerifyHeaderFields(page, expected_page_id, file_name, type);
}

}  // namespace iodepth
