// Page-cache state of a data file, so every buffered cell can say what it started from
// and prove it:
//   cold  the file's pages were dropped before the cell (fdatasync, then
//         posix_fadvise DONTNEED; or, when asked and root, vm.drop_caches);
//   warm  the working set was read once, buffered, before the cell.
// Residency is measured with mincore() on a read-only mapping, so a "cold" cell whose
// pages were in fact still cached is caught and flagged rather than reported as cold.
// None of this runs inside a measured window. Safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace iodepth {

enum class CacheState { kNotApplicable, kCold, kWarm };

std::string_view CacheStateName(CacheState state);  // "n/a", "cold", "warm"
Result<CacheState> ParseCacheState(std::string_view name);

// Drops the file's cached pages. With use_drop_caches (root only) it also writes 1 to
// /proc/sys/vm/drop_caches, which drops every clean page on the machine.
Status DropFileCache(const std::string& path, bool use_drop_caches);

// Reads [0, bytes) of the file once through the page cache.
Status WarmFileCache(const std::string& path, uint64_t bytes);

// The fraction (0..1) of [0, bytes) of the file that is in the page cache now.
Result<double> ResidentFraction(const std::string& path, uint64_t bytes);

}  // namespace iodepth
