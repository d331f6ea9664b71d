#include "sys/block_device.h"

#include <sys/sysmacros.h>

#include <climits>
#include <cstdlib>

#include <fmt/format.h>

#include "common/text.h"
#include "sys/host_file.h"

namespace iodepth {

namespace {

// Directory levels walked up from a path. Real paths are far shallower; the bound only
// guarantees the walk ends.
constexpr int kMaxAncestors = 512;
constexpr uint64_t kSectorBytes = 512;
// A loop device over a file on a loop device ...: followed this far.
constexpr int kMaxLoopNesting = 4;

std::optional<std::string> SysfsBlockDir(dev_t dev) {
  const std::string link = fmt::format("/sys/dev/block/{}:{}", major(dev), minor(dev));
  char resolved[PATH_MAX];
  if (::realpath(link.c_str(), resolved) == nullptr) return std::nullopt;
  return std::string(resolved);
}

bool IsMemoryFilesystem(std::string_view type) { return type == "tmpfs" || type == "ramfs" || type == "hugetlbfs"; }

StorageKind Classify(const std::string& path, const std::vector<MountInfo>& mounts, int nesting) {
  const std::optional<std::string> inspected = NearestExistingPath(path);
  struct stat st {};
  if (!inspected || ::stat(inspected->c_str(), &st) != 0) {
    return {"unknown", fmt::format("{} cannot be inspected", path), ""};
  }
  const MountInfo* mount = FindMount(mounts, *inspected);
  if (mount != nullptr && IsMemoryFilesystem(mount->fs_type)) {
    return {"memory", fmt::format("{} at {}", mount->fs_type, mount->mount_point), mount->fs_type};
  }
  const std::optional<std::string> dir = FindBlockDeviceDir(st, mount);
  if (!dir) {
    if (mount == nullptr) return {"unknown", fmt::format("no mount visible here holds {}", *inspected), ""};
    return {"unknown", fmt::format("{} at {} has no block device under it", mount->fs_type, mount->mount_point),
            mount->fs_type};
  }
  // A partition's directory sits inside its disk's; the disk's name says what it is.
  const std::string disk_dir = PathExists(JoinPath(*dir, "partition")) ? ParentDir(*dir) : *dir;
  const std::string disk = BaseName(disk_dir);
  if (IsMemoryDeviceName(disk)) {
    // zram is what scripts/fast-device.sh sets up on purpose: say so wherever this shows.
    const std::string_view what = disk.starts_with("zram") ? "zram (memory-backed, emulated fast device): " : "";
    return {"memory", fmt::format("{}block device {} keeps its data in RAM", what, disk), BaseName(*dir)};
  }
  if (disk.starts_with("loop")) {
    const std::optional<std::string> backing = ReadTrimmedHostFile(JoinPath(disk_dir, "loop/backing_file"));
    if (!backing || backing->empty()) {
      return {"unknown", fmt::format("loop device {} has no backing file", disk), BaseName(*dir)};
    }
    if (nesting >= kMaxLoopNesting) {
      return {"unknown", fmt::format("loop devices nested deeper than {}", nesting), BaseName(*dir)};
    }
    StorageKind under = Classify(*backing, mounts, nesting + 1);
    under.reason = fmt::format("loop device {} over {}: {}", disk, *backing, under.reason);
    under.holder = BaseName(*dir);
    return under;
  }
  return {"device", fmt::format("block device {}", BaseName(*dir)), BaseName(*dir)};
}

}  // namespace

BlockCounters CountersBetween(const BlockCounters& before, const BlockCounters& after) {
  const auto delta = [](uint64_t a, uint64_t b) { return b >= a ? b - a : 0; };
  return BlockCounters{.read_ios = delta(before.read_ios, after.read_ios),
                       .read_bytes = delta(before.read_bytes, after.read_bytes),
                       .write_ios = delta(before.write_ios, after.write_ios),
                       .write_bytes = delta(before.write_bytes, after.write_bytes)};
}

std::optional<std::string> NearestExistingPath(const std::string& path) {
  std::string candidate = path.empty() ? "." : path;
  for (int level = 0; level < kMaxAncestors; ++level) {
    char resolved[PATH_MAX];
    if (::realpath(candidate.c_str(), resolved) != nullptr) return std::string(resolved);
    const std::string parent = ParentDir(candidate);
    if (parent == candidate) return std::nullopt;
    candidate = parent;
  }
  return std::nullopt;
}

std::optional<std::string> FindBlockDeviceDir(const struct stat& st, const MountInfo* mount) {
  if (S_ISBLK(st.st_mode)) return SysfsBlockDir(st.st_rdev);
  if (std::optional<std::string> dir = SysfsBlockDir(st.st_dev)) return dir;
  struct stat source {};
  if (mount == nullptr || !mount->source.starts_with("/dev/")) return std::nullopt;
  if (::stat(mount->source.c_str(), &source) != 0 || !S_ISBLK(source.st_mode)) return std::nullopt;
  return SysfsBlockDir(source.st_rdev);
}

std::optional<BlockDevice> BlockDeviceUnder(const std::string& path) {
  const std::optional<std::string> inspected = NearestExistingPath(path);
  struct stat st {};
  if (!inspected || ::stat(inspected->c_str(), &st) != 0) return std::nullopt;
  const std::optional<std::string> mountinfo = ReadHostFileIfAny("/proc/self/mountinfo");
  const std::vector<MountInfo> mounts = mountinfo ? ParseMountInfo(*mountinfo) : std::vector<MountInfo>();
  const std::optional<std::string> dir = FindBlockDeviceDir(st, FindMount(mounts, *inspected));
  if (!dir || !PathExists(JoinPath(*dir, "stat"))) return std::nullopt;
  return BlockDevice{.name = BaseName(*dir), .stat_path = JoinPath(*dir, "stat")};
}

std::optional<BlockCounters> ParseBlockStat(std::string_view text) {
  // Fields: read ios, read merges, read sectors, read ticks, write ios, write merges,
  // write sectors, ... (Documentation/block/stat.rst).
  uint64_t fields[7] = {};
  size_t count = 0;
  size_t at = 0;
  while (count < 7) {
    while (at < text.size() && (text[at] == ' ' || text[at] == '\t')) ++at;
    if (at >= text.size() || text[at] < '0' || text[at] > '9') return std::nullopt;
    uint64_t value = 0;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
      value = value * 10 + static_cast<uint64_t>(text[at] - '0');
      ++at;
    }
    fields[count++] = value;
  }
  return BlockCounters{.read_ios = fields[0],
                       .read_bytes = fields[2] * kSectorBytes,
                       .write_ios = fields[4],
                       .write_bytes = fields[6] * kSectorBytes};
}

std::optional<BlockCounters> ReadBlockCounters(const BlockDevice& device) {
  const std::optional<std::string> text = ReadHostFileIfAny(device.stat_path);
  if (!text) return std::nullopt;
  return ParseBlockStat(*text);
}

bool IsMemoryDeviceName(std::string_view name) {
  const auto numbered = [&](std::string_view prefix) {
    if (!name.starts_with(prefix) || name.size() == prefix.size()) return false;
    for (char c : name.substr(prefix.size())) {
      if (c < '0' || c > '9') return false;
    }
    return true;
  };
  return numbered("zram") || numbered("ram");
}

StorageKind ClassifyStorage(const std::string& path, const std::vector<MountInfo>& mounts) {
  return Classify(path, mounts, 0);
}

StorageKind ClassifyStorage(const std::string& path) {
  const std::optional<std::string> mountinfo = ReadHostFileIfAny("/proc/self/mountinfo");
  if (!mountinfo) return {"unknown", "/proc/self/mountinfo cannot be read", ""};
  return Classify(path, ParseMountInfo(*mountinfo), 0);
}

}  // namespace iodepth
