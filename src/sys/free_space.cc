#include "sys/free_space.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include "common/units.h"

namespace iodepth {

Result<FreeSpace> FreeSpaceAt(const std::string& path) {
  std::filesystem::path at = std::filesystem::absolute(path);
  std::error_code ec;
  while (!std::filesystem::exists(at, ec) && at.has_parent_path() && at != at.parent_path()) at = at.parent_path();
  struct statvfs vfs {};
  if (::statvfs(at.c_str(), &vfs) != 0) {
    return Status::PosixError(fmt::format("statvfs {} (to check the free space for {})", at.string(), path), errno);
  }
  return FreeSpace{.mount_path = at.string(),
                   .total_bytes = static_cast<uint64_t>(vfs.f_blocks) * vfs.f_frsize,
                   .available_bytes = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize};
}

uint64_t FreeSpaceReserve(uint64_t total_bytes) {
  const auto fraction = static_cast<uint64_t>(std::ceil(kFreeSpaceReserveFraction * static_cast<double>(total_bytes)));
  return std::min(total_bytes, std::max(fraction, kFreeSpaceReserveMinBytes));
}

Status CheckRoomToGrow(const FreeSpace& space, const std::string& path, uint64_t grow_bytes, std::string_view setting) {
  if (grow_bytes == 0) return Status::OK();
  const uint64_t reserve = FreeSpaceReserve(space.total_bytes);
  const uint64_t room = space.available_bytes > reserve ? space.available_bytes - reserve : 0;
  if (grow_bytes <= room) return Status::OK();
  return Status::ResourceExhausted(
             fmt::format("{} would need {} more on the filesystem of {}, which has {} free of {}; iodepth keeps {} "
                         "free there (5% or 1 GiB, whichever is larger), so at most {} can be written; ask for a "
                         "smaller size, put the file on a filesystem with more room, or free space",
                         path, FormatBytes(grow_bytes), space.mount_path, FormatBytes(space.available_bytes),
                         FormatBytes(space.total_bytes), FormatBytes(reserve), FormatBytes(room)))
      .WithSetting(setting);
}

Status CheckRoomToGrow(const std::string& path, uint64_t grow_bytes, std::string_view setting) {
  if (grow_bytes == 0) return Status::OK();
  IODEPTH_ASSIGN_OR_RETURN(const FreeSpace space, FreeSpaceAt(path));
  return CheckRoomToGrow(space, path, grow_bytes, setting);
}

}  // namespace iodepth
