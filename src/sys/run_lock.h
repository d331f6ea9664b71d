// run_lock: an exclusive advisory lock (flock) on a file, held for the life of the object,
// with the holder's pid written in the file so that whoever finds it taken can say who
// has it. The kernel drops the lock when the holder exits however it exits (a kill -9
// included), so a stale lock file never blocks anyone; the file itself stays, which is
// harmless. Used for "one measuring run per results directory" and "one measuring run
// per machine" (experiment/, cli/). Not thread-safe per object; any thread.
#pragma once

#include <optional>
#include <string>

#include "common/result.h"

namespace iodepth {

class RunLock {
 public:
  // Takes the lock on `path` (created 0644 when missing) without waiting. kUnavailable
  // when another process holds it: its message names the pid found in the file.
  static Result<RunLock> TryAcquire(const std::string& path);
  // The pid written in `path` by its holder, when the file names one.
  static std::optional<int> HolderOf(const std::string& path);

  RunLock(RunLock&& other) noexcept;
  RunLock& operator=(RunLock&& other) noexcept;
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;
  ~RunLock();

  const std::string& path() const { return path_; }

 private:
  RunLock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  std::string path_;
};

}  // namespace iodepth
