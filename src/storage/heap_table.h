// HeapTable: a table file of heap pages with deterministic content, the bulk loader that
// writes one through an IoQueue, and the verifier that reads one back.
//
// File layout. Page i lives at byte offset i x page_size; every data page is an
// ordinary sealed heap page (storage/page.h) with the table's column count, and rows
// fill the pages in order, so table row r is slot r % capacity of page r / capacity,
// where capacity = HeapPageCapacityRows(page size, columns). Only the last data page may
// be partly full. After the data pages comes one trailer page that describes the table:
//
//   offset 0         page_size              (P-1) x page_size      P x page_size   (P+1) x page_size
//   +----------------+----------------+-----+----------------------+----------------+
//   | page 0         | page 1         | ... | page P-1             | trailer page P |
//   | rows 0..cap-1  | rows cap..     |     | (1..cap rows,        | (the table's   |
//   | (full)         | (full)         |     |  rest zero)          |  description)  |
//   +----------------+----------------+-----+----------------------+----------------+
//
// The trailer page (format kTableTrailerVersion) has the page header of page.h with type
// kTableTrailer, page id P, cols = the table's columns, rowcount 0; its body holds
//
//   64       68       72                 80                 88                 96
//   +--------+--------+------------------+------------------+------------------+----------+
//   |version | flags  |       rows       |       seed       |   data pages P   | zero ... |
//   +--------+--------+------------------+------------------+------------------+----------+
//
// (flags: 0 as loaded; kTableUpdatedFlag once a workload has updated rows in place, see
// "Updates" below)
//
// and the page checksum covers it all. So a file knows its own shape: a reader finds the
// trailer in the file's last page (whichever page size its header names), and the file
// must be exactly (P + 1) x page_size bytes with P = TablePageCount(shape). Any other
// length (a table cut short on a page boundary, or grown) has no trailer at its end and
// is refused as damaged, never read as a smaller table. A table of 0 rows is the trailer
// page alone. Why a trailer and not a header page: page i stays at offset i x page_size,
// so the buffer manager and the scans address pages exactly as before, and the trailer,
// written last, doubles as the mark that the load finished.
//
// Content. Row r, column c of a table with seed s is ExpectedValue(s, r, c), a pure
// function (see ExpectedValue below), so any reader can check any value without the
// loader's help, and queries over a table have answers known in advance
// (ExpectedColumnSum, ExpectedCountLessThan).
//
// Loading (LoadHeapTable). A ring of `depth` aligned write buffers, each one write of
// up to write_bytes (a run of consecutive pages):
//
//   fill + seal pages -> [slot: in flight][slot: in flight]...[slot: free] -> reap -> refill
//
// The loader keeps up to depth writes in flight, reaps at least one when the ring is
// full, and reuses the reaped slot's buffer. Pages are built in place in the slot
// (BuildHeapTablePage: each value written once, one checksum per page), so filling
// takes a fraction of one core at the device's sequential write bandwidth and one
// thread keeps the device busy. After the last write it fdatasyncs, so the
// reported bandwidth includes making the data durable. The table is written under
// <path>.iodepth-partial and renamed into place once synced (io/file.h "Atomic
// creation"), after a free-space check (sys/free_space.h). The storage layer only writes
// what it is asked to; the backend, cache mode and depth are the caller's choices.
//
// Updates (the bm_rand_rw workload, docs/BENCHMARKS.md). A table is changed in place only
// after MarkTableUpdated has set kTableUpdatedFlag in its trailer and synced it, so a
// table whose rows may differ from the loaded values always says so: ReadTableShape and
// HeapTableMatches refuse it (scans and known answers need the loaded values; load it
// again to restore it), ReadUpdatedTableShape accepts it. The k-th update (k = 1, 2, ...)
// of a data page rewrites the last column of slot (k - 1) mod n, n = the page's rows, to
// UpdatedValue(seed, row, k), and sets the page's LSN to k: the workload keeps no log, so
// the LSN field counts the page's updates (and, like an LSN, only grows). Every value is
// still a pure function, of (seed, row, column, the page's LSN), and CheckTablePage
// checks an updated page as exactly as a loaded one:
//
//   slot s of a page at update count k holds, in its last column,
//     ExpectedValue(seed, row, last)                 when k <= s (never updated)
//     UpdatedValue(seed, row, s + 1 + n x floor((k - 1 - s) / n))   otherwise
//
// Threading: each call is self-contained (its own file, queue and buffers) and may run on
// any thread; two calls on the same path at once are the caller's mistake.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "common/result.h"
#include "common/status.h"
#include "io/file.h"
#include "io/io_queue.h"
#include "storage/page.h"

namespace iodepth {

// Bounds that keep every known-answer sum inside int64: values are < 2^32 and rows
// < 2^31, so a column sum is < 2^63.
inline constexpr uint64_t kMaxTableRows = uint64_t{1} << 31;
// Column 0's values lie in [0, kColumn0Range): `c0 < x` selects about x / kColumn0Range
// of the rows.
inline constexpr int64_t kColumn0Range = 1000;
// Column 1 is the group key row % kGroupCount.
inline constexpr int64_t kGroupCount = 16;

// What a table holds; enough to compute any of its values or its file size.
struct TableShape {
  uint64_t rows = 0;     // 0..kMaxTableRows
  uint32_t columns = 4;  // kMinColumns..kMaxColumns
  PageSize page_size = kDefaultPageSize;
  uint64_t seed = 1;

  friend bool operator==(const TableShape&, const TableShape&) = default;
};

// The trailer page's own format version (the body layout above).
inline constexpr uint32_t kTableTrailerVersion = 1;

// Checks the bounds above; InvalidArgument naming the field otherwise.
Status ValidateTableShape(const TableShape& shape);

// "12345 rows x 6 columns, 8 KiB pages, seed 7 (1029 pages)": for messages that name a
// table, e.g. both shapes when a load refuses to replace one with another.
std::string DescribeTableShape(const TableShape& shape);

// Rows per page, and pages in the table: ceil(rows / rows per page), 0 for 0 rows.
// REQUIRES (both): ValidateTableShape(shape) is OK.
uint32_t TableRowsPerPage(const TableShape& shape);
uint64_t TablePageCount(const TableShape& shape);
// The file's length: (TablePageCount + 1) x page size, the trailer included.
uint64_t TableFileBytes(const TableShape& shape);

// Formats `page` as the trailer page of the table `shape` (page id TablePageCount(shape))
// and seals it. REQUIRES: ValidateTableShape(shape) is OK;
// page.size() == PageSizeBytes(shape.page_size); page.data() 8-byte aligned.
void BuildTableTrailerPage(std::span<std::byte> page, const TableShape& shape, uint32_t flags = 0);

// What is at a path, as far as tables go, read from its first and last pages only.
enum class TableFileKind {
  kAbsent,        // No file.
  kEmpty,         // A 0-byte file.
  kTable,         // A table with a valid trailer and the length it records: `shape`.
  kOlderTable,    // iodepth pages without a trailer, of the format before it existed.
  kDamagedTable,  // iodepth pages, but no valid trailer at the end (truncated, grown,
                  // a torn or corrupt trailer, or a page format this build does not read).
  kForeign,       // Anything else: not made by iodepth.
};
struct TableFileInfo {
  TableFileKind kind = TableFileKind::kAbsent;
  TableShape shape;         // kTable: the recorded shape. kOlderTable: rows, columns and
                            // page size worked out from its pages (the seed is unknown).
  uint64_t size_bytes = 0;  // The file's length.
  std::string why;          // Unless kTable/kAbsent/kEmpty: what is wrong, a sentence
                            // naming the path, with what to do ("load it again with ...").
  bool updated = false;     // kTable: its trailer carries kTableUpdatedFlag.
};
// Errors: the I/O error when the file exists but cannot be opened or read.
Result<TableFileInfo> InspectTableFile(const std::string& path);

// The shape `path` records. FailedPrecondition with InspectTableFile's `why` for any
// file that is not a table (absent: NotFound; empty: FailedPrecondition), naming the
// path and what to do.
Result<TableShape> ReadTableShape(const std::string& path);
// The same, but a table updated in place (kTableUpdatedFlag) is accepted too.
Result<TableShape> ReadUpdatedTableShape(const std::string& path);

// The trailer flag of a table whose rows have been updated in place.
inline constexpr uint32_t kTableUpdatedFlag = 1;
// The value the k-th update of a page writes into a row's last column (k >= 1): a mix of
// the row's and k's, below 2^32.
int64_t UpdatedValue(uint64_t seed, uint64_t row, uint64_t update);
// Applies the next update to data page `page_id` of `shape` (see "Updates") and reseals it.
// REQUIRES: the page passed VerifyPage and CheckTablePage; page.data() 8-byte aligned.
void ApplyTableUpdate(std::span<std::byte> page, const TableShape& shape, uint64_t page_id);
// Sets kTableUpdatedFlag in the trailer of the table `shape` at `path` and fdatasyncs it;
// nothing else of the file changes. FailedPrecondition unless `path` holds that table.
Status MarkTableUpdated(const std::string& path, const TableShape& shape);

// The value of row `row`, column `column` of a table with seed `seed`. With the row's
// mix m = SplitMix64(seed + G x (row + 1)), G = 0x9E3779B97F4A7C15 (all mod 2^64):
//   column 0:    (m mod 2^32) mod kColumn0Range  (filter column: predictable selectivity)
//   column 1:    row mod kGroupCount              (group key, independent of the seed)
//   column 2:    m div 2^32                       (payload)
//   column >= 3: SplitMix64(m + G x column) mod 2^32   (payload)
// Every value is non-negative and below 2^32. SplitMix64 is the finaliser of Steele et
// al.'s SplittableRandom: z ^= z >> 30; z *= 0xBF58476D1CE4E5B9; z ^= z >> 27;
// z *= 0x94D049BB133111EB; z ^= z >> 31. Pure: the same arguments give the same value
// on every machine. One mix serves columns 0 and 2, so a 4-column row costs two mixes.
int64_t ExpectedValue(uint64_t seed, uint64_t row, uint32_t column);

// Formats `page` as page `page_id` of the table `shape`: its rows are table rows
// [page_id x capacity, min(rows, (page_id + 1) x capacity)), filled in place with
// ExpectedValue (AppendRows, one row count update per page), then sealed. The loader
// builds every page with it; its bytes equal those of InitHeapPage, AppendRow of each
// row's ExpectedValues, and SealPage.
// REQUIRES: ValidateTableShape(shape) is OK; page_id < TablePageCount(shape);
//           page.size() == PageSizeBytes(shape.page_size); page.data() 8-byte aligned.
void BuildHeapTablePage(std::span<std::byte> page, const TableShape& shape, uint64_t page_id);

// Known answers over all of a table's rows. COUNT(*) is shape.rows.
// SUM(column): closed form for column 1, one pass of ExpectedValue (a few ns per row)
// otherwise. REQUIRES: ValidateTableShape(shape) is OK; column < shape.columns.
int64_t ExpectedColumnSum(const TableShape& shape, uint32_t column);
// COUNT(*) WHERE column < bound. Closed form for column 1, one pass otherwise.
uint64_t ExpectedCountLessThan(const TableShape& shape, uint32_t column, int64_t bound);

struct LoadOptions {
  std::string path;
  TableShape shape;
  CacheMode cache = CacheMode::kBuffered;
  // Backend and depth (writes in flight). The sync backend requires depth 1.
  IoQueueOptions queue;
  // Bytes per write request: a run of consecutive pages. A multiple of the page size,
  // 1 page..kMaxWriteBytes; the last write of the table may be shorter.
  uint32_t write_bytes = 128 * 1024;
  // Reserve the file's blocks up front (fallocate), as fio does by default; ignored
  // where the filesystem cannot.
  bool preallocate = true;
  // Replace an iodepth table of another shape, of the older format, or damaged (see
  // LoadHeapTable). A file iodepth did not make is never replaced.
  bool overwrite = false;
  // Test hook: the file's writes consult it (io/fault_injector.h). Borrowed; nullptr: none.
  FaultInjector* fault_injector = nullptr;
};
inline constexpr uint32_t kMaxWriteBytes = 8u << 20;
// The write ring (depth x write_bytes) is allocated whole; this bounds its memory.
inline constexpr uint64_t kMaxLoadRingBytes = uint64_t{256} << 20;

struct LoadStats {
  uint64_t pages = 0;      // Data pages; the trailer page comes on top.
  uint64_t bytes = 0;      // Bytes written: TableFileBytes, the trailer included.
  int64_t elapsed_ns = 0;  // From opening the file to the end of fdatasync.
  double mib_per_s = 0;    // bytes / 2^20 / elapsed seconds (fio's "MiB/s").
  std::string backend;     // The queue's backend name, as resolved from kAuto.
};

// Writes the table `options.shape` (its data pages, then its trailer) under
// options.path's partial name, fdatasyncs it and renames it over options.path. What is
// at options.path already (InspectTableFile) decides whether it may be replaced:
//   absent, empty, or a table of the same shape:      replaced;
//   a table of another shape, of the older format,
//   or a damaged table:                               only with options.overwrite;
//                                                     FailedPrecondition naming both
//                                                     shapes (or what is wrong) otherwise;
//   anything else (not made by iodepth):              never; FailedPrecondition.
// So a mistyped path cannot destroy a foreign file, and a user's table is not replaced
// by a benchmark's. (The check and the rename are two steps; a file swapped in between
// is not detected.)
// Errors: InvalidArgument for bad options; ResourceExhausted when the filesystem lacks the
// room (nothing is written); the first failed write's or sync's status (the load stops,
// the in-flight writes are drained, the partial file is removed, and whatever was at
// options.path before is still there).
Result<LoadStats> LoadHeapTable(const LoadOptions& options);

// Checks a page of the table `shape` that already passed VerifyPage: its column and row
// counts and every value against ExpectedValue (and UpdatedValue, for a page whose LSN
// counts updates, see "Updates"); kCorruption naming page, row, column and `path`
// otherwise. What VerifyHeapTable does per page, for readers that fetched it.
Status CheckTablePage(std::span<const std::byte> page, const TableShape& shape, uint64_t page_id,
                      const std::string& path);

// Reads every page of the table at `path` (buffered, synchronously), checks it with
// VerifyPage, checks its column and row counts against `shape`, and checks every value
// against ExpectedValue. The file must be a table (InspectTableFile) whose trailer
// records exactly `shape`.
// The first discrepancy is returned as kCorruption naming the page and the file, e.g.
// "page 3 of t.tbl: row 5 (table row 767) column 2 is 17, expected 18".
Status VerifyHeapTable(const std::string& path, const TableShape& shape);

// A cheap check for reusing an existing table file (benchmarks load once, run many
// times): true when `path` is a table whose trailer records `shape` and whose first,
// middle and last data pages pass VerifyPage and hold `shape`'s rows and values; false
// for anything else (absent, another shape, another format, damage in a sampled page).
// A false answer is for LoadHeapTable to act on: it refuses what it may not replace.
// It reads at most five pages (buffered), so it does not prove the rest of the file:
// VerifyHeapTable does.
// Errors: InvalidArgument for a bad shape; the I/O error when the file exists but
// cannot be opened or read.
Result<bool> HeapTableMatches(const std::string& path, const TableShape& shape);

}  // namespace iodepth
