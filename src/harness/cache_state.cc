#include "harness/cache_state.h"

#include <algorithm>
#include <memory>

#include <fmt/format.h>

#include "common/enum_names.h"
#include "io/aligned_buffer.h"
#include "io/file.h"
#include "sys/host_file.h"

namespace iodepth {

namespace {

// "n/a" (buffered state of a direct cell) is an outcome, never a choice.
constexpr EnumName<CacheState> kCacheStateNames[] = {
    {CacheState::kCold, "cold"}, {CacheState::kWarm, "warm"}, {CacheState::kNotApplicable, "n/a", false}};

}  // namespace

std::string_view CacheStateName(CacheState state) { return NameOf(kCacheStateNames, state); }

Result<CacheState> ParseCacheState(std::string_view name) {
  return ParseNamed(kCacheStateNames, name, "cache state", "cache_state");
}

Status DropFileCache(const std::string& path, bool use_drop_caches) {
  IODEPTH_ASSIGN_OR_RETURN(std::unique_ptr<File> file, File::Open(path, OpenOptions{}));
  IODEPTH_RETURN_IF_ERROR(file->DropCachedPages());
  if (!use_drop_caches) return Status::OK();
  return DropAllCleanCaches().WithSetting("drop_caches");
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
  return file->CachedFraction(bytes);
}

}  // namespace iodepth
