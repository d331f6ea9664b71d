// free_space: whether the filesystem under a path has room for a file iodepth is about to
// create or grow, keeping a reserve free for everything else on it.
//
//   reserve = max(5% of the filesystem, 1 GiB)        (capped at the filesystem's size)
//   room    = available to unprivileged users (statvfs f_bavail) - reserve
//
// Available counts what a non-root user could use, so the blocks ext4 keeps for root are
// never spent either. The check is made before any byte is written; a file that grows by
// N bytes needs N bytes of room, whether it is new or already exists. It cannot see other
// writers filling the disk at the same time; the writes themselves still fail cleanly with
// ENOSPC then. Pure reads of statvfs; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace iodepth {

inline constexpr double kFreeSpaceReserveFraction = 0.05;
inline constexpr uint64_t kFreeSpaceReserveMinBytes = 1ull << 30;

struct FreeSpace {
  std::string mount_path;        // The path statvfs was asked about (the nearest existing one).
  uint64_t total_bytes = 0;      // f_blocks x f_frsize.
  uint64_t available_bytes = 0;  // f_bavail x f_frsize.
};

// The filesystem holding `path` (or, when it does not exist yet, its nearest existing
// ancestor).
Result<FreeSpace> FreeSpaceAt(const std::string& path);

// What is kept free on a filesystem of `total_bytes`: the larger of 5% and 1 GiB, and never
// more than the filesystem.
uint64_t FreeSpaceReserve(uint64_t total_bytes);

// OK when `path` may grow by `grow_bytes` and leave the reserve free; otherwise
// ResourceExhausted naming the path, the size asked, the space free and the reserve kept,
// with WithSetting(`setting`) (the setting that sized it, e.g. "size"). grow_bytes 0 is OK.
Status CheckRoomToGrow(const std::string& path, uint64_t grow_bytes, std::string_view setting);
// The same against an already measured FreeSpace (pure; tests use it).
Status CheckRoomToGrow(const FreeSpace& space, const std::string& path, uint64_t grow_bytes, std::string_view setting);

}  // namespace iodepth
