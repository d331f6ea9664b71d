#include "harness/data_file.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <random>

#include <fmt/format.h>

#include "common/block_pattern.h"
#include "common/units.h"
#include "io/aligned_buffer.h"
#include "io/file.h"

namespace iodepth {

namespace {

constexpr size_t kFillChunkBytes = 4 << 20;

// Writes pattern content over [from, to) with large buffered writes, then syncs and drops
// the new pages from the page cache.
Status FillRange(File& file, uint64_t file_id, uint64_t from, uint64_t to) {
  IODEPTH_ASSIGN_OR_RETURN(AlignedBuffer chunk, AlignedBuffer::Allocate(kFillChunkBytes, 4096));
  for (uint64_t offset = from; offset < to; offset += kFillChunkBytes) {
    const size_t length = static_cast<size_t>(std::min<uint64_t>(kFillChunkBytes, to - offset));
    std::span<std::byte> data = chunk.span(0, length);
    FillPattern(data, offset, file_id);
    auto written = file.WriteAt(offset, data);
    if (!written.has_value()) return written.error();
  }
  IODEPTH_RETURN_IF_ERROR(file.DataSync());
  // Advice only: a failure costs a warmer cache, not correctness.
  posix_fadvise(file.fd(), static_cast<off_t>(from), static_cast<off_t>(to - from), POSIX_FADV_DONTNEED);
  return Status::OK();
}

uint64_t NewFileId() {
  std::random_device device;
  return (uint64_t{device()} << 32 | device()) | 1;  // Never 0, which means "not ours".
}

}  // namespace

Result<DataFileInfo> EnsureDataFile(const DataFileRequest& request) {
  if (request.size_bytes == 0)
    return Status::InvalidArgument("the data file size must be larger than 0").WithSetting("size");
  struct stat st {};
  const bool exists = ::stat(request.path.c_str(), &st) == 0;
  if (exists && !S_ISREG(st.st_mode)) {
    return Status::InvalidArgument(fmt::format(
        "{} is not a regular file; iodepth benchmarks files (block devices are not supported yet)", request.path));
  }
  OpenOptions options{.access = AccessMode::kReadWrite, .create = !exists};
  if (exists && !request.will_write) options.access = AccessMode::kReadOnly;
  IODEPTH_ASSIGN_OR_RETURN(std::unique_ptr<File> file, File::Open(request.path, options));

  DataFileInfo info;
  info.size_bytes = exists ? static_cast<uint64_t>(st.st_size) : 0;
  if (exists && info.size_bytes >= 24) {
    IODEPTH_ASSIGN_OR_RETURN(AlignedBuffer head, AlignedBuffer::Allocate(4096, 4096));
    IODEPTH_ASSIGN_OR_RETURN(size_t got, file->ReadAt(0, head.span()));
    uint64_t block_offset = 0;
    info.ours = ReadPatternHeader(head.span(0, got), &info.file_id, &block_offset) && block_offset == 0;
  }
  if (exists && !info.ours) {
    if (request.will_write) {
      return Status::FailedPrecondition(
                 fmt::format("{} exists and was not made by iodepth; a write workload would destroy its contents. "
                             "Give a new file name (iodepth creates it) or delete the file first",
                             request.path))
          .WithSetting("filename");
    }
    if (request.need_pattern) {
      return Status::FailedPrecondition(
                 fmt::format("{} was not made by iodepth, so verification has nothing to check it against; give a "
                             "new file name or turn verification off",
                             request.path))
          .WithSetting("filename,verify");
    }
    if (info.size_bytes < request.size_bytes) {
      return Status::InvalidArgument(
                 fmt::format("{} holds {} but the size asked for is {}; ask for {} bytes or less (iodepth never writes "
                             "a file it did not make)",
                             request.path, FormatBytes(info.size_bytes), FormatBytes(request.size_bytes),
                             info.size_bytes))
          .WithSetting("size");
    }
    return info;
  }
  if (!exists) {
    info.created = true;
    info.ours = true;
    info.file_id = NewFileId();
  }
  if (info.size_bytes < request.size_bytes) {
    if (options.access == AccessMode::kReadOnly) {  // Ours but opened read-only: reopen to grow it.
      file.reset();
      options.access = AccessMode::kReadWrite;
      IODEPTH_ASSIGN_OR_RETURN(file, File::Open(request.path, options));
    }
    // Rewrite from the last whole block so a torn tail of an interrupted fill is healed.
    const uint64_t from = info.size_bytes / kPatternBlockBytes * kPatternBlockBytes;
    IODEPTH_RETURN_IF_ERROR(FillRange(*file, info.file_id, from, request.size_bytes)
                                .WithContext(fmt::format("fill data file {}", request.path)));
    if (exists) info.extended_from = info.size_bytes;
    info.size_bytes = request.size_bytes;
  }
  IODEPTH_RETURN_IF_ERROR(file->Close());
  return info;
}

}  // namespace iodepth
