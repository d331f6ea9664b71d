#include "sys/direct_alignment.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <charconv>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "sys/host_file.h"

namespace iodepth {

namespace {

// The logical block size of the block device holding `st`, read from sysfs; 0 if unknown.
// Partitions have no queue/ directory of their own, so their parent disk's is tried too.
uint32_t LogicalBlockSize(const struct stat& st) {
  const std::string base = fmt::format("/sys/dev/block/{}:{}", major(st.st_dev), minor(st.st_dev));
  for (const char* suffix : {"/queue/logical_block_size", "/../queue/logical_block_size"}) {
    const std::optional<std::string> text = ReadTrimmedHostFile(base + suffix);
    uint32_t value = 0;
    if (!text) continue;
    const auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (error == std::errc() && end == text->data() + text->size() && value > 0) return value;
  }
  return 0;
}

}  // namespace

DirectAlignment DiscoverDirectAlignment(int fd) {
  DirectAlignment alignment;
  struct statx stx {};
  if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 && (stx.stx_mask & STATX_DIOALIGN) != 0 &&
      stx.stx_dio_mem_align != 0 && stx.stx_dio_offset_align != 0) {
    alignment.memory_bytes = stx.stx_dio_mem_align;
    alignment.offset_bytes = stx.stx_dio_offset_align;
    alignment.source = "statx";
    return alignment;
  }
  struct stat st {};
  if (fstat(fd, &st) == 0) {
    if (const uint32_t block = LogicalBlockSize(st); block != 0) {
      alignment.memory_bytes = block;
      alignment.offset_bytes = block;
      alignment.source = "logical_block_size";
    }
  }
  return alignment;
}

}  // namespace iodepth
