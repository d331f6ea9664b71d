// Environment: a record of the machine a benchmark ran on, written beside its results so
// two runs can be compared, or their difference explained: kernel, CPU and memory; the
// filesystem, mount and block device under the data file, with the device's queue
// settings; the file's direct-I/O alignment; what io_uring offers here; the limits,
// cgroup and VM settings that change I/O behaviour; and the build that measured it.
//
// Everything is read from /proc, /sys and a few system calls at the moment of the call.
// Collecting never fails and never throws: a value that cannot be read is the string
// "unknown", and a thing that does not exist here (no block device under tmpfs or
// overlay) is "none". Every field is always present, so a script reading two files can
// compare them field by field. Strings are valid UTF-8 (invalid bytes are replaced), so
// dump() on the result cannot throw.
//
//   top level     collected_utc, hostname, kernel, uname, cpu_model, cpu_count,
//                 cpus_allowed, memory_total_bytes, data_path, inspected_path,
//                 memlock_limit_bytes, open_files_limit, transparent_hugepage,
//                 iodepth_version, git_commit
//   "filesystem"  the mount holding the data path: longest mount-point prefix in
//                 /proc/self/mountinfo.
//   "device"      the whole disk under that mount: /sys/dev/block/MAJ:MIN, a partition
//                 mapped to its parent disk (nvme0n1p1 -> nvme0n1).
//   "io_uring"    whether a ring can be set up (ProbeIoUring), the IORING_FEAT_* bits the
//                 kernel reports, and whether the read/write opcodes are supported.
//   "direct_io_alignment", "cgroup" (version 1, 2 or "hybrid"; paths), "vm" (dirty_ratio,
//                 dirty_background_ratio, swappiness).
//
// Threading: any thread, any number at once. It shares no state; it briefly sets up and
// tears down io_uring rings of one entry, on the calling thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace iodepth {

// Describes this machine and the storage under `data_path`. The path may name a file
// that does not exist yet: its nearest existing ancestor directory is inspected instead
// ("inspected_path" says which). For a directory, the direct-I/O alignment is that of the
// filesystem and device, which is what a file created there would get.
nlohmann::json CollectEnvironment(const std::string& data_path);

// The pieces below are CollectEnvironment's parsers, exposed so tests can feed them
// fixtures; they take text or paths and touch nothing else.

// One line of /proc/self/mountinfo, with the octal escapes ("\040" for a space) decoded.
struct MountInfo {
  std::string major_minor;    // "254:0"; an anonymous "0:NN" for tmpfs, overlay, btrfs.
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

// The choice in brackets of a sysfs list ("none [mq-deadline] kyber" -> "mq-deadline"),
// the whole trimmed text when there are no brackets ("none"), or "" for empty text.
std::string BracketedChoice(std::string_view text);

// The commit checked out in the nearest git work tree at or above `start_dir`: HEAD
// resolved through loose refs and packed-refs (and a worktree's or submodule's "gitdir:"
// file), as a full hex hash. "unknown" when there is no work tree or HEAD cannot be
// resolved (unborn branch, reftable storage). It says nothing of uncommitted changes.
std::string FindGitCommit(const std::string& start_dir);

}  // namespace iodepth
