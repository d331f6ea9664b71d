// direct_alignment: the buffer and offset alignment O_DIRECT needs on a file, from statx
// (STATX_DIOALIGN, Linux 6.1+) or else the block device's logical block size in sysfs.
// Any thread.
#pragma once

#include <cstdint>

namespace iodepth {

// Direct-I/O alignment of one file, in bytes, and where the numbers came from.
struct DirectAlignment {
  uint32_t memory_bytes = 4096;    // Buffer address alignment.
  uint32_t offset_bytes = 4096;    // File offset and length alignment.
  const char* source = "default";  // "statx", "logical_block_size" or "default".
};

// The direct-I/O alignment of an open file descriptor (see DirectAlignment::source).
DirectAlignment DiscoverDirectAlignment(int fd);

}  // namespace iodepth
