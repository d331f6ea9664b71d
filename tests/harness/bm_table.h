// The small heap table the bm and scan job tests run on: 8 KiB pages of 4 columns with
// seed 7, `pages` pages long, loaded buffered through a worker queue (the loader's own
// tests cover the other paths). Shared so both suites test the same table.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "io/io_queue.h"
#include "storage/heap_table.h"

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

}  // namespace iodepth::testutil
