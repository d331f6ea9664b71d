// Pages: the on-disk format of one fixed-size page of a table file, and the slotted heap
// page that holds a table's rows.
//
// storage/ owns the on-disk page and table formats. It never does I/O itself: every
// function here works on a page image in memory that the caller owns (a buffer-manager
// frame, a loader's write buffer). Reading and writing those images is buffer/'s and
// io/'s business.
//
// A database picks one page size (4, 8 or 16 KiB; 8 KiB by default) and every page of its
// files has that size. All integers are little-endian. Page layout:
//
//   0        4        6    7    8                16               24       28       32
//   +--------+--------+----+----+----------------+----------------+--------+--------+
//   | magic  |version |type|cols|    page id     |      LSN       |checksum|pagesize|
//   +--------+--------+----+----+----------------+----------------+--------+--------+
//   32       34                                                                     64
//   +--------+----------------------------------------------------------------------+
//   |rowcount|                      reserved (zero)                                 |
//   +--------+----------------------------------------------------------------------+
//   64
//   +-------------------+-------------------+-----+---------------------------------+
//   | row 0             | row 1             | ... | free space (zero)            ...|
//   | col 0 | ... | c-1 | col 0 | ... | c-1 |     |                                 |
//   +-------------------+-------------------+-----+---------------------------------+
//                                                                          page size
//
//   magic     0x47504449 ("IDPG" on disk): tells a page from zeros or foreign bytes.
//   version   kPageFormatVersion; a reader refuses versions it does not know. Version 2
//             pages belong to tables that end with a trailer page (storage/heap_table.h);
//             version 1 pages were written before tables had one and are refused with
//             a message saying so (the heap page layout itself did not change).
//   type      PageType::kHeap, or kTableTrailer for a table's last page.
//   cols      columns per row, 1..kMaxColumns, fixed per table.
//   page id   the page's index in its file; a page found at the wrong place is corrupt.
//   LSN       the log sequence number of the last change (0 until the log exists).
//   checksum  CRC32C of the whole page, computed with these 4 bytes taken as zero.
//   pagesize  the page size the page was written with, in bytes.
//   rowcount  rows stored, 0..HeapPageCapacityRows(page size, cols); 0 on a trailer page.
//
// Rows are fixed-width (cols x int64), so slot i lives at 64 + i * cols * 8 and needs
// no slot directory: no per-row pointer to store, none to follow, and a page's rows are
// one contiguous row-major int64 array that a scan walks at memory speed (Rows()).
// The header is one 64-byte cache line, so with a page buffer aligned to 64 bytes every
// row starts 8-byte aligned and row 0 starts a cache line.
//
// Lifecycle: InitHeapPage -> AppendRow... (or AppendRows) -> SealPage -> (written, read back) ->
// VerifyPage. Any change after SealPage leaves the checksum stale until the next
// SealPage. VerifyPage is the gate between bytes from disk and everything above: a page
// that fails it is never used.
//
// These are plain functions on memory: a page may be read from any number of threads at
// once; modifying it needs the caller's exclusive access (a buffer-manager latch).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "common/result.h"
#include "common/status.h"

namespace iodepth {

enum class PageSize : uint32_t {
  k4KiB = 4096,
  k8KiB = 8192,
  k16KiB = 16384,
};
inline constexpr PageSize kDefaultPageSize = PageSize::k8KiB;

constexpr uint32_t PageSizeBytes(PageSize size) { return static_cast<uint32_t>(size); }
// 4096, 8192 or 16384; any other value is InvalidArgument naming the value.
Result<PageSize> PageSizeFromBytes(uint64_t size_bytes);

enum class PageType : uint8_t {
  kHeap = 1,
  // The description of the table it ends (storage/heap_table.h): a header like a heap
  // page's, then the table's rows, seed and page count in the body, no rows.
  kTableTrailer = 2,
};

inline constexpr uint32_t kPageMagic = 0x47504449;  // "IDPG" in little-endian byte order.
inline constexpr uint16_t kPageFormatVersion = 2;
// The version written before tables carried a trailer page: named in the error a reader
// gives for it.
inline constexpr uint16_t kPageFormatVersionWithoutTrailer = 1;
inline constexpr size_t kPageHeaderBytes = 64;
inline constexpr size_t kColumnBytes = sizeof(int64_t);
inline constexpr uint32_t kMinColumns = 1;
inline constexpr uint32_t kMaxColumns = 16;

// Rows that fit in one heap page: (page size - header) / (columns x 8), rounded down.
// REQUIRES: kMinColumns <= column_count <= kMaxColumns.
uint32_t HeapPageCapacityRows(PageSize size, uint32_t column_count);

// Formats `page` as an empty heap page: zeroes it and writes the header (LSN 0, no
// checksum yet).
// REQUIRES: page.size() is a PageSize; page.data() is 8-byte aligned;
//           kMinColumns <= column_count <= kMaxColumns.
void InitHeapPage(std::span<std::byte> page, uint64_t page_id, uint32_t column_count);

// Formats `page` as an empty page of `type`: InitHeapPage for any type. The body (the
// bytes after the header, PageBody) is zero for the caller to fill before SealPage.
// REQUIRES: as InitHeapPage.
void InitPage(std::span<std::byte> page, PageType type, uint64_t page_id, uint32_t column_count);

// The bytes after the header: a heap page's rows, a trailer page's description.
// REQUIRES: page.size() > kPageHeaderBytes.
std::span<std::byte> PageBody(std::span<std::byte> page);
std::span<const std::byte> PageBody(std::span<const std::byte> page);

// The header fields of a page image as stored, unchecked: for telling what a file holds
// before its page size is known (a trailer page is found by its type and page size).
// Trust none of them until VerifyPage has passed.
struct PageHeaderFields {
  uint32_t magic = 0;
  uint16_t version = 0;
  uint8_t type = 0;
  uint8_t columns = 0;
  uint64_t page_id = 0;
  uint32_t page_size = 0;
  uint16_t rows = 0;
};
// REQUIRES: bytes.size() >= kPageHeaderBytes.
PageHeaderFields PeekPageHeader(std::span<const std::byte> bytes);

// Appends one row at the end of the page. Returns false, changing nothing, when the page
// already holds its capacity of rows.
// REQUIRES: `page` was initialised by InitHeapPage; row.size() == ColumnCount(page).
[[nodiscard]] bool AppendRow(std::span<std::byte> page, std::span<const int64_t> row);

// Appends `row_count` rows at once and returns their values, row-major and writable
// (row_count x ColumnCount(page) int64s), for the caller to fill in place: the bulk path
// of a loader, which writes each value once instead of building a row and copying it.
// The row count is stored once. The new rows hold what the free space held, which is
// zero on a page from InitHeapPage, until the caller writes them. The span borrows
// `page` and must be filled before SealPage.
// REQUIRES: `page` was initialised by InitHeapPage;
//           row_count <= HeapPageFreeRows(page).
std::span<int64_t> AppendRows(std::span<std::byte> page, uint32_t row_count);
// Rows that can still be appended: capacity minus RowCount(page).
// REQUIRES: `page` was initialised by InitHeapPage.
uint32_t HeapPageFreeRows(std::span<const std::byte> page);

// Header fields. REQUIRES (all): `page` was initialised, or passed VerifyPage.
uint64_t PageId(std::span<const std::byte> page);
uint64_t PageLsn(std::span<const std::byte> page);
void SetPageLsn(std::span<std::byte> page, uint64_t lsn);
uint32_t ColumnCount(std::span<const std::byte> page);
uint32_t RowCount(std::span<const std::byte> page);
uint32_t StoredChecksum(std::span<const std::byte> page);

// Zero-copy access to row `row_index`: ColumnCount(page) values. The span borrows `page`.
// REQUIRES: row_index < RowCount(page).
std::span<const int64_t> RowAt(std::span<const std::byte> page, uint32_t row_index);
// All rows at once, row-major: RowCount(page) x ColumnCount(page) values, for scans.
std::span<const int64_t> Rows(std::span<const std::byte> page);
// The same rows, writable: for a change in place (reseal the page afterwards).
std::span<int64_t> MutableRows(std::span<std::byte> page);
// Copies row `row_index` into `out`. REQUIRES: row_index < RowCount(page);
// out.size() == ColumnCount(page).
void ReadRow(std::span<const std::byte> page, uint32_t row_index, std::span<int64_t> out);

// The checksum the page should carry: CRC32C of the page with the checksum field as zero.
// REQUIRES: page.size() >= kPageHeaderBytes.
uint32_t ComputePageChecksum(std::span<const std::byte> page);
// Computes the checksum and stores it in the header; call last, before the page is written.
// REQUIRES: `page` was initialised.
void SealPage(std::span<std::byte> page);

// Checks a page image read from `file_name` at the place of page `expected_page_id`.
// OK only when the magic, page size, checksum, format version, type (`type`: a heap page
// unless told otherwise), page id, column count and row count (0 on a trailer) are all
// what a sealed page of that id holds. Anything else is
// kCorruption, with a message naming the page and the file:
//   "page 42 of t.tbl: checksum mismatch (stored 0x1a2b3c4d, computed 0x5e6f7a8b)".
// A page of zeros (never written) fails on its magic. Never reads past page.size().
// REQUIRES: page.size() is a PageSize; page.data() is 8-byte aligned.
Status VerifyPage(std::span<const std::byte> page, uint64_t expected_page_id, std::string_view file_name,
                  PageType type = PageType::kHeap);

}  // namespace iodepth
