// The small heap table the bm and scan job tests run on: 8 KiB pages of 4 columns with
// seed 7, `pages` pages long, loaded buffered through a worker queue (the loader's own
// tests cover the other paths). Shared so both suites test the same table.
#pragma once

#include <cstdint>
#include <string>

#include <gtest/gtest.h>

#include "common/status.h"
#include "io/aligned_buffer.h"
#include "io/file.h"
#include "io/io_queue.h"
#include "storage/heap_table.h"
#include "storage/page.h"
#include "testutil/status_macros.h"

namespace iodepth::testutil {

inline TableShape SmallShape(uint64_t pages) {
  TableShape shape;
  shape.page_size = PageSize::k8KiB;
  shape.columns = 4;
  shape.seed = 7;
  shape.rows = pages * TableRowsPerPage(shape);
  return shape;
}

inline Status LoadTable(const std::string& path, const TableShape& shape) {
  LoadOptions load;
  load.path = path;
  load.shape = shape;
  load.cache = CacheMode::kBuffered;
  load.queue.backend = Backend::kWorker;
  load.queue.depth = 4;
  return LoadHeapTable(load).error();
}

// The sum of the update counts (page LSNs, storage/heap_table.h "Updates") of the data
// pages of the table `shape` at `path`, read from the file: what the updates that reached
// it add up to.
inline uint64_t UpdatesOnDisk(const std::string& path, const TableShape& shape) {
  const uint32_t page_bytes = PageSizeBytes(shape.page_size);
  auto file = File::Open(path, OpenOptions{});
  EXPECT_OK(file);
  auto page = AlignedBuffer::Allocate(page_bytes, 4096);
  EXPECT_OK(page);
  if (!file.has_value() || !page.has_value()) return 0;
  uint64_t sum = 0;
  for (uint64_t id = 0; id < TablePageCount(shape); ++id) {
    EXPECT_OK((*file)->ReadAt(id * page_bytes, page->span()));
    sum += PageLsn(page->span());
  }
  return sum;
}

}  // namespace iodepth::testutil
