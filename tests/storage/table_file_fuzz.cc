// Fuzz target: a table file and its pages, as `iodepth scan`, `load` and the bm and scan
// suites read them. The input is written as a file and inspected (InspectTableFile);
// what claims to be a table is verified page by page (VerifyHeapTable), and the input's
// first bytes are checked as a page of each size (VerifyPage, then its rows read only
// when it verified). Any input must end in a verdict or a clear error.
// Driven by testutil/fuzz_main.cc, or by libFuzzer (scripts/fuzz.sh).
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "io/aligned_buffer.h"
#include "storage/heap_table.h"
#include "storage/page.h"

namespace {

const std::string& ScratchFile() {
  // Never destroyed: the exit handler that removes the file runs after static destructors
  // would have freed it.
  static const std::string* const path = [] {
    auto* file = new std::string(
        (std::filesystem::current_path() / ("table_file_fuzz." + std::to_string(::getpid()) + ".tbl")).string());
    std::atexit([] { std::filesystem::remove(ScratchFile()); });
    return file;
  }();
  return *path;
}

void Fail(const std::string& why) {
  std::cerr << why << "\n";
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace iodepth;
  const std::string& path = ScratchFile();
  {
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    file.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  const Result<TableFileInfo> info = InspectTableFile(path);
  if (!info.has_value()) Fail("inspecting a readable file failed: " + info.error().ToString());
  const bool table = info->kind == TableFileKind::kTable;
  if (!table && info->kind != TableFileKind::kEmpty && info->kind != TableFileKind::kAbsent && info->why.empty()) {
    Fail("a file that is not a table was refused without saying why");
  }
  if (table) {
    if (info->size_bytes != TableFileBytes(info->shape)) Fail("a table's length differs from its trailer's");
    const Status verified = VerifyHeapTable(path, info->shape);
    if (!verified.ok() && verified.message().empty()) Fail("verification failed without saying why");
  }
  for (const PageSize page_size : {PageSize::k4KiB, PageSize::k8KiB, PageSize::k16KiB}) {
    const size_t page_bytes = PageSizeBytes(page_size);
    if (size < page_bytes) continue;
    Result<AlignedBuffer> page = AlignedBuffer::Allocate(page_bytes, 4096);
    if (!page.has_value()) Fail("no memory for a page");
    std::memcpy(page->span().data(), data, page_bytes);
    const Status verified = VerifyPage(page->span(), /*expected_page_id=*/0, path);
    if (verified.ok()) {
      const std::span<const int64_t> rows = Rows(page->span());
      int64_t sum = 0;
      for (const int64_t value : rows) sum ^= value;
      (void)sum;
    } else if (verified.message().empty()) {
      Fail("a page was refused without saying why");
    }
  }
  return 0;
}
