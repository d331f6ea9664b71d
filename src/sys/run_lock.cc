#include "sys/run_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

#include <fmt/format.h>

#include "common/text.h"
#include "sys/host_file.h"

namespace iodepth {

Result<RunLock> RunLock::TryAcquire(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return Status::PosixError(fmt::format("open lock file {}", path), errno);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    ::close(fd);
    if (error != EWOULDBLOCK) return Status::PosixError(fmt::format("lock {}", path), error);
    const std::optional<int> holder = HolderOf(path);
    return Status::ResourceExhausted(holder ? fmt::format("{} is held by process {}", path, *holder)
                                            : fmt::format("{} is held by another process", path));
  }
  const std::string pid = fmt::format("{}\n", ::getpid());
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    const int error = errno;
    ::close(fd);
    return Status::PosixError(fmt::format("write pid to lock file {}", path), error);
  }
  return RunLock(fd, path);
}

std::optional<int> RunLock::HolderOf(const std::string& path) {
  const std::optional<std::string> text = ReadTrimmedHostFile(path);
  if (!text) return std::nullopt;
  int pid = 0;
  const auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), pid);
  if (error != std::errc() || end != text->data() + text->size() || pid <= 0) return std::nullopt;
  return pid;
}

RunLock::RunLock(RunLock&& other) noexcept : fd_(other.fd_), path_(std::move(other.path_)) { other.fd_ = -1; }

RunLock& RunLock::operator=(RunLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    path_ = std::move(other.path_);
    other.fd_ = -1;
  }
  return *this;
}

RunLock::~RunLock() {
  if (fd_ >= 0) ::close(fd_);  // Closing the last descriptor releases the flock.
}

}  // namespace iodepth
