// sys/: the one door to the host's own files and facts: /proc, /sys, the cgroup
// filesystem, mountinfo, the io_uring probe, the git checkout, the machine's environment.
// Nothing above it reads /proc or /sys or sets up an io_uring ring to ask what the kernel
// offers; it asks here. It owns no policy: it reads, parses and writes kernel files, and
// says what failed in terms of those files (path, errno). It knows nothing of queues,
// pages, tables, benchmarks or flags, and it never touches a user's data file.
//
// host_file: small kernel-made files (a sysctl, a sysfs attribute, a cgroup control file)
// read whole and written in one write(2). Reads are bounded, so a path that turns out not
// to be such a file cannot make a runaway read. Any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace iodepth {

// Reads stop here: kernel files are a few KiB; cgroup.procs of a busy cgroup can be
// longer. The bound only stops a runaway read of something that is not a kernel file.
inline constexpr size_t kMaxHostFileBytes = size_t{16} << 20;

// The whole file (at most kMaxHostFileBytes); the error carries the errno.
Result<std::string> ReadHostFile(const std::string& path);

// The whole file, or nullopt when it cannot be read.
std::optional<std::string> ReadHostFileIfAny(const std::string& path);

// The trimmed contents, or nullopt when unreadable or blank.
std::optional<std::string> ReadTrimmedHostFile(const std::string& path);

// Rereads an open file from its start, at most 128 bytes (cgroup counters such as
// memory.peak must be reread through the descriptor that reset them: they allow lseek,
// not pread).
Result<std::string> RereadHostFile(int fd, const std::string& path);

// Writes `text` in one write(2), as kernel control files take a value whole; never creates
// the file (a typo in a cgroupfs path must fail, not make a regular file). Returns 0 or
// the errno, which callers turn into an explanation of their own.
int WriteHostFile(const std::string& path, std::string_view text);

// Writes back every dirty page of the machine (sync) and then drops every clean page from
// the page cache (vm.drop_caches = 1). Needs root: without it the error says so.
Status DropAllCleanCaches();

}  // namespace iodepth
