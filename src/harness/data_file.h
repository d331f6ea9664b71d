// Data files: the benchmarks read and write files whose content verifies itself (see
// common/block_pattern.h), made by the tool when missing. A file the tool did not make is
// never written: a write workload on it is refused, so pointing --filename at real data
// loses nothing. Nothing is made or grown without room for it (sys/free_space.h: the
// filesystem keeps 5% or 1 GiB free), and a new file appears at its name only once it is
// complete and synced (io/file.h "Atomic creation").
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/result.h"
#include "sys/block_device.h"

namespace iodepth {

struct DataFileInfo {
  uint64_t file_id = 0;        // From the pattern header; 0 when the file is not ours.
  bool ours = false;           // Carries the iodepth pattern (made by this tool).
  bool created = false;        // Made by this call.
  uint64_t extended_from = 0;  // Old size when this call grew the file, else 0.
  uint64_t size_bytes = 0;     // Size after this call.
  // The storage under the file (filled by the suite, sys/block_device.h): the device whose
  // counters each window reads, and whether it is memory.
  std::optional<BlockDevice> device;
  StorageKind storage;
};

struct DataFileRequest {
  std::string path;
  uint64_t size_bytes = 0;    // The region the job will use: [0, size_bytes).
  bool will_write = false;    // The job writes: refuse files that are not ours.
  bool need_pattern = false;  // The job verifies reads: refuse files that are not ours.
};

// Makes sure `path` holds at least size_bytes of data the job can use: creates it with
// pattern content when missing, extends a file of ours that is too small, and checks a
// foreign file is large enough and will not be written. New content is synced and then
// dropped from the page cache, so a following run does not start with it cached.
Result<DataFileInfo> EnsureDataFile(const DataFileRequest& request);

}  // namespace iodepth
