#include "harness/cache_state.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "io/aligned_buffer.h"
#include "io/file.h"

namespace iodepth {

std::string_view CacheStateName(CacheState state) {
  switch (state) {
    case CacheState::kNotApplicable: return "n/a";
    case CacheState::kCold: return "cold";
    case CacheState::kWarm: return "warm";
  }
  return "unknown";
}

Result<CacheState> ParseCacheState(std::string_view name) {
  if (name == "cold") return CacheState::kCold;
  if (name == "warm") return CacheState::kWarm;
  return Status::InvalidArgument(fmt::format("--cache_state={}: choose cold or warm", name));
}

Status DropFileCache(const std::string& path, bool use_drop_caches) {
  IODEPTH_ASSIGN_OR_RETURN(std::unique_ptr<File> file, File::Open(path, OpenOptions{}));
  // Dirty pages cannot be dropped; write them back first.
  IODEPTH_RETURN_IF_ERROR(file->DataSync());
  const int rc = posix_fadvise(file->fd(), 0, 0, POSIX_FADV_DONTNEED);
  if (rc != 0) return Status::PosixError(fmt::format("posix_fadvise(DONTNEED) on {}", path), rc);
  if (!use_drop_caches) return Status::OK();
  if (geteuid() != 0) {
    return Status::FailedPrecondition("--drop_caches needs root (it writes /proc/sys/vm/drop_caches); run as root or drop the flag");
  }
  ::sync();
  std::ofstream drop("/proc/sys/vm/drop_caches");
  drop << "1\n";
  drop.close();
  if (!drop) return Status::PosixError("write 1 to /proc/sys/vm/drop_caches", errno);
  return Status::OK();
}

Status WarmFileCache(const std::string& path, uint64_t bytes) {
  IODEPTH_ASSIGN_OR_RETURN(std::unique_ptr<File> file, File::Open(path, OpenOptions{}));
  constexpr size_t kChunk = 1 << 20;
  IODEPTH_ASSIGN_OR_RETURN(AlignedBuffer chunk, AlignedBuffer::Allocate(kChunk, 4096));
  for (uint64_t offset = 0; offset < bytes; offset += kChunk) {
    const size_t length = static_cast<size_t>(std::min<uint64_t>(kChunk, bytes - offset));
    IODEPTH_ASSIGN_OR_RETURN(size_t got, file->ReadAt(offset, chunk.span(0, length)));
    if (got < length) break;  // End of file.
  }
  return Status::OK();
}

Result<double> ResidentFraction(const std::string& path, uint64_t bytes) {
  if (bytes == 0) return 0.0;
  IODEPTH_ASSIGN_OR_RETURN(std::unique_ptr<File> file, File::Open(path, OpenOptions{}));
  IODEPTH_ASSIGN_OR_RETURN(const uint64_t size, file->Size());
  bytes = std::min(bytes, size);
  if (bytes == 0) return 0.0;
  void* map = mmap(nullptr, bytes, PROT_READ, MAP_SHARED, file->fd(), 0);
  if (map == MAP_FAILED) return Status::PosixError(fmt::format("mmap {} to count cached pages", path), errno);
  const auto page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> resident((bytes + page - 1) / page);
  const int rc = mincore(map, bytes, resident.data());
  const int saved_errno = errno;
  munmap(map, bytes);
  if (rc != 0) return Status::PosixError(fmt::format("mincore on {}", path), saved_errno);
  uint64_t in_cache = 0;
  for (unsigned char r : resident) in_cache += r & 1;
  return static_cast<double>(in_cache) / static_cast<double>(resident.size());
}

}  // namespace iodepth
