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
#include "sys/free_space.h"

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

// A new data file: filled under its partial name, synced, then renamed into place (io/file.h
// "Atomic creation"), so a failed or killed fill leaves nothing at `path`.
Status CreateFilled(const std::string& path, uint64_t file_id, uint64_t size_bytes) {
  const std::string partial = PartialPath(path);
  OpenOptions options{.access = AccessMode::kReadWrite, .create = true, .truncate = true};
  Status status = [&]() -> Status {
    IODEPTH_ASSIGN_OR_RETURN(std::unique_ptr<File> file, File::Open(partial, options));
    IODEPTH_RETURN_IF_ERROR(FillRange(*file, file_id, 0, size_bytes));
    IODEPTH_RETURN_IF_ERROR(file->Close());
    return PublishFile(partial, path);
  }();
  if (!status.ok()) DiscardPartial(partial);
  return std::move(status).WithContext(fmt::format("make data file {}", path));
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
  if (!exists) {
    // Room is checked before the file is made: a size the filesystem cannot hold creates
    // nothing. A partial file a killed run left is replaced, so its space counts as free.
    struct stat partial {};
    const uint64_t left = ::stat(PartialPath(request.path).c_str(), &partial) == 0 ? partial.st_size : 0;
    IODEPTH_RETURN_IF_ERROR(
        CheckRoomToGrow(request.path, request.size_bytes - std::min(left, request.size_bytes), "size"));
    DataFileInfo info{.file_id = NewFileId(), .ours = true, .created = true, .size_bytes = request.size_bytes};
    IODEPTH_RETURN_IF_ERROR(CreateFilled(request.path, info.file_id, request.size_bytes));
    return info;
  }
  OpenOptions options{.access = request.will_write ? AccessMode::kReadWrite : AccessMode::kReadOnly};
  IODEPTH_ASSIGN_OR_RETURN(std::unique_ptr<File> file, File::Open(request.path, options));

  DataFileInfo info;
  info.size_bytes = static_cast<uint64_t>(st.st_size);
  if (info.size_bytes >= 24) {
    IODEPTH_ASSIGN_OR_RETURN(AlignedBuffer head, AlignedBuffer::Allocate(4096, 4096));
    IODEPTH_ASSIGN_OR_RETURN(size_t got, file->ReadAt(0, head.span()));
    uint64_t block_offset = 0;
    info.ours = ReadPatternHeader(head.span(0, got), &info.file_id, &block_offset) && block_offset == 0;
  }
  if (!info.ours) {
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
  if (info.size_bytes < request.size_bytes) {
    if (options.access == AccessMode::kReadOnly) {  // Ours but opened read-only: reopen to grow it.
      file.reset();
      options.access = AccessMode::kReadWrite;
      IODEPTH_ASSIGN_OR_RETURN(file, File::Open(request.path, options));
    }
    // Growing a file needs the same room as making one.
    IODEPTH_RETURN_IF_ERROR(CheckRoomToGrow(request.path, request.size_bytes - info.size_bytes, "size"));
    // Rewrite from the last whole block so a torn tail of an interrupted fill is healed.
    const uint64_t from = info.size_bytes / kPatternBlockBytes * kPatternBlockBytes;
    IODEPTH_RETURN_IF_ERROR(FillRange(*file, info.file_id, from, request.size_bytes)
                                .WithContext(fmt::format("fill data file {}", request.path)));
    info.extended_from = info.size_bytes;
    info.size_bytes = request.size_bytes;
  }
  IODEPTH_RETURN_IF_ERROR(file->Close());
  return info;
}

}  // namespace iodepth
