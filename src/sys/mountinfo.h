// mountinfo: the mounts this process sees, parsed from /proc/self/mountinfo text, and
// the mount that holds a path. Pure functions of their inputs; any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace iodepth {

// One line of /proc/self/mountinfo, with the octal escapes ("\040" for a space) decoded.
struct MountInfo {
  std::string major_minor;  // "254:0"; an anonymous "0:NN" for tmpfs, overlay, btrfs.
  std::string root;         // The directory of the filesystem mounted here: "/" unless a subtree was bind-mounted.
  std::string mount_point;
  std::string mount_options;  // Per-mount: "rw,relatime".
  std::string fs_type;        // "ext4", "cgroup2", ...
  std::string source;         // "/dev/vda", "overlay", ...
  std::string super_options;  // The filesystem's own: "rw,discard".
};

// Parses mountinfo text; malformed lines are skipped.
std::vector<MountInfo> ParseMountInfo(std::string_view text);

// The mount holding the absolute, symlink-free `path`: the longest mount point that is
// `path` or one of its ancestors; of equal ones the last, since a later mount hides an
// earlier one at the same place. nullptr when none matches. The pointer borrows from
// `mounts`.
const MountInfo* FindMount(const std::vector<MountInfo>& mounts, std::string_view path);

// The root of the last mount at `mount_point` (the one on top), "/" when none is there.
std::string LastRootAt(const std::vector<MountInfo>& mounts, std::string_view mount_point);

}  // namespace iodepth
