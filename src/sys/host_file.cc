#include "sys/host_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

#include "common/text.h"

namespace iodepth {

Result<std::string> ReadHostFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return Status::PosixError("read " + path, errno);
  std::string text;
  char chunk[4096];
  int error_number = 0;
  while (text.size() < kMaxHostFileBytes) {
    const ssize_t n = ::read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) error_number = errno;
    if (n <= 0) break;
    text.append(chunk, static_cast<size_t>(n));
  }
  ::close(fd);
  if (error_number != 0) return Status::PosixError("read " + path, error_number);
  return text;
}

std::optional<std::string> ReadHostFileIfAny(const std::string& path) {
  Result<std::string> text = ReadHostFile(path);
  if (!text) return std::nullopt;
  return std::move(*text);
}

std::optional<std::string> ReadTrimmedHostFile(const std::string& path) {
  const std::optional<std::string> text = ReadHostFileIfAny(path);
  if (!text) return std::nullopt;
  const std::string_view trimmed = Trim(*text);
  if (trimmed.empty()) return std::nullopt;
  return std::string(trimmed);
}

Result<std::string> RereadHostFile(int fd, const std::string& path) {
  if (::lseek(fd, 0, SEEK_SET) < 0) return Status::PosixError("seek " + path, errno);
  char buffer[128];
  ssize_t n = 0;
  do {
    n = ::read(fd, buffer, sizeof(buffer));
  } while (n < 0 && errno == EINTR);
  if (n < 0) return Status::PosixError("read " + path, errno);
  return std::string(buffer, static_cast<size_t>(n));
}

int WriteHostFile(const std::string& path, std::string_view text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return errno;
  ssize_t n = 0;
  do {
    n = ::write(fd, text.data(), text.size());
  } while (n < 0 && errno == EINTR);
  const int error_number = n < 0 ? errno : (static_cast<size_t>(n) != text.size() ? EIO : 0);
  ::close(fd);
  return error_number;
}

Status DropAllCleanCaches() {
  constexpr const char* kDropCaches = "/proc/sys/vm/drop_caches";
  if (::geteuid() != 0) {
    return Status::FailedPrecondition(fmt::format(
        "dropping the machine's page cache needs root (it writes {}); run as root or do without it", kDropCaches));
  }
  ::sync();
  const int error_number = WriteHostFile(kDropCaches, "1\n");
  if (error_number != 0) return Status::PosixError(fmt::format("write 1 to {}", kDropCaches), error_number);
  return Status::OK();
}

}  // namespace iodepth
