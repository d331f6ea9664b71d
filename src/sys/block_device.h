// block_device: the block device under a path, what it did (the I/O counters of its sysfs
// "stat" file), and whether what holds the path is memory rather than a device.
//
//   path -> nearest existing ancestor -> stat(): st_dev -> /sys/dev/block/MAJ:MIN
//        -> the partition (vda1) or whole disk (zram0) -> <dir>/stat
//
// The counters are the device's, not the process's: every process's I/O to that device
// shows in them, which is the point (a cell's reads that the page cache absorbed do not,
// a neighbour's do; environment.h's "load" says whether anything else ran). Sectors in
// the stat file are always 512 bytes, whatever the device's block size.
//
// Storage kind: "memory" where no device's speed can show: tmpfs, ramfs, zram, brd's
// /dev/ramN, or a loop device whose backing file lies on one of those; "device" for any
// other block device; "unknown" where it cannot be told (no mount visible, as in some
// containers). Pure reads of /proc/self/mountinfo and /sys; any thread.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sys/mountinfo.h"

namespace iodepth {

struct BlockDevice {
  std::string name;       // "vda1", "zram0": the partition when the path is on one.
  std::string stat_path;  // "/sys/devices/.../vda1/stat".
};

struct BlockCounters {
  uint64_t read_ios = 0;  // Completed requests, after merging.
  uint64_t read_bytes = 0;
  uint64_t write_ios = 0;
  uint64_t write_bytes = 0;
};

// after - before, field by field (0 where a counter went backwards: a device reset).
BlockCounters CountersBetween(const BlockCounters& before, const BlockCounters& after);

struct StorageKind {
  std::string kind;    // "memory", "device" or "unknown".
  std::string reason;  // "tmpfs at /dev/shm", "block device vda1", "no mount holds ...".
  std::string holder;  // What holds the data: "tmpfs", "zram0", "vda1"; "" when unknown.
};

// The resolved path of `path`, or of its nearest existing ancestor when it does not exist
// yet; nullopt only when not even "/" or "." resolves.
std::optional<std::string> NearestExistingPath(const std::string& path);

// The sysfs directory of the block device holding `st`: the device itself when `st` is a
// block device; else the filesystem's device number; else, for filesystems that report an
// anonymous one (btrfs), the device named as the mount's source.
std::optional<std::string> FindBlockDeviceDir(const struct stat& st, const MountInfo* mount);

// The block device under `path` (or its nearest existing ancestor); nullopt when there is
// none (tmpfs, overlay without a device) or it cannot be found.
std::optional<BlockDevice> BlockDeviceUnder(const std::string& path);

// The counters of a sysfs or /proc/diskstats-style stat line (the fields after the name
// for diskstats); nullopt when it has fewer than the 7 fields needed.
std::optional<BlockCounters> ParseBlockStat(std::string_view text);
std::optional<BlockCounters> ReadBlockCounters(const BlockDevice& device);

// What holds `path`, with `mounts` as /proc/self/mountinfo lists them.
StorageKind ClassifyStorage(const std::string& path, const std::vector<MountInfo>& mounts);
StorageKind ClassifyStorage(const std::string& path);  // Reads the mounts itself.

// Device names whose contents live in RAM: zram*, ram* (brd).
bool IsMemoryDeviceName(std::string_view name);

}  // namespace iodepth
