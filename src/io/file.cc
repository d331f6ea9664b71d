#include "io/file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "common/enum_names.h"
#include "io/fault_injector.h"

namespace iodepth {

#ifndef RWF_DONTCACHE
#define RWF_DONTCACHE 0x00000080  // Linux 6.14 uapi; Debian 12's headers predate it.
#endif

namespace {

constexpr EnumName<CacheMode> kCacheModeNames[] = {
    {CacheMode::kBuffered, "buffered"}, {CacheMode::kDirect, "direct"}, {CacheMode::kDontcache, "dontcache"}};

}  // namespace

std::string_view CacheModeName(CacheMode mode) { return NameOf(kCacheModeNames, mode); }

Result<CacheMode> ParseCacheMode(std::string_view name) {
  return ParseNamed(kCacheModeNames, name, "I/O mode", "cache_mode");
}

namespace {

std::atomic<uint64_t> next_file_id{1};

// Asks the kernel whether this file takes RWF_DONTCACHE: a one-byte read with the flag
// (the flag is checked before any data moves; an empty file still answers).
Status ProbeDontcache(int fd, const std::string& path) {
  std::byte byte{};
  iovec iov{&byte, 1};
  ssize_t rc;
  do {
    rc = ::preadv2(fd, &iov, 1, 0, RWF_DONTCACHE);
  } while (rc < 0 && errno == EINTR);
  if (rc >= 0) return Status::OK();
  if (errno == EOPNOTSUPP || errno == EINVAL) {
    return Status::NotSupported(fmt::format(
        "RWF_DONTCACHE is not supported for {} (needs Linux 6.14+ and a filesystem that implements it); use "
        "buffered or direct",
        path));
  }
  return Status::PosixError(fmt::format("probe RWF_DONTCACHE on {}", path), errno);
}

int AccessFlags(AccessMode access) {
  switch (access) {
    case AccessMode::kReadOnly: return O_RDONLY;
    case AccessMode::kWriteOnly: return O_WRONLY;
    case AccessMode::kReadWrite: return O_RDWR;
  }
  return O_RDONLY;
}

int OpenFlags(const OpenOptions& options, bool direct) {
  int flags = AccessFlags(options.access) | O_CLOEXEC;
  if (options.create) flags |= O_CREAT;
  if (options.truncate) flags |= O_TRUNC;
  if (direct) flags |= O_DIRECT;
  if (options.dsync) flags |= O_DSYNC;
  return flags;
}

int RetryOpen(const std::string& path, int flags, mode_t permissions) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags, permissions);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

bool IsAligned(uint64_t value, uint64_t alignment) { return alignment == 0 || value % alignment == 0; }

}  // namespace

Result<std::unique_ptr<File>> File::Open(const std::string& path, const OpenOptions& options) {
  const bool want_direct = options.cache == CacheMode::kDirect;
  int fd = RetryOpen(path, OpenFlags(options, want_direct), options.permissions);
  std::string fallback_reason;
  if (fd < 0 && want_direct && errno == EINVAL) {
    // EINVAL from open() with O_DIRECT usually means the filesystem has no direct I/O.
    // Confirm by opening without it: if that works, O_DIRECT was the cause.
    const int buffered_fd = RetryOpen(path, OpenFlags(options, /*direct=*/false), options.permissions);
    if (buffered_fd < 0) return Status::PosixError(fmt::format("open {}", path), errno);
    const std::string why = fmt::format("the filesystem holding {} refuses O_DIRECT (open returned EINVAL)", path);
    if (!options.direct_fallback) {
      ::close(buffered_fd);
      return Status::NotSupported(
                 why +
                 "; put the file on a filesystem with direct I/O (ext4, xfs, btrfs), or allow buffered I/O "
                 "instead")
          .WithSetting("direct_fallback");
    }
    fd = buffered_fd;
    fallback_reason = why + "; opened buffered instead";
  }
  if (fd < 0) return Status::PosixError(fmt::format("open {}", path), errno);
  const bool direct = want_direct && fallback_reason.empty();
  const DirectAlignment alignment = DiscoverDirectAlignment(fd);
  auto file = std::unique_ptr<File>(new File(fd, path, options.cache, direct, alignment, std::move(fallback_reason)));
  file->dsync_ = options.dsync;
  if (options.cache == CacheMode::kDontcache && options.access != AccessMode::kWriteOnly) {
    IODEPTH_RETURN_IF_ERROR(ProbeDontcache(fd, path));
  }
  return file;
}

File::File(int fd, std::string path, CacheMode mode, bool direct, DirectAlignment alignment,
           std::string fallback_reason)
    : fd_(fd),
      id_(next_file_id.fetch_add(1, std::memory_order_relaxed)),
      path_(std::move(path)),
      cache_mode_(direct ? CacheMode::kDirect : (mode == CacheMode::kDirect ? CacheMode::kBuffered : mode)),
      direct_(direct),
      rw_flags_(mode == CacheMode::kDontcache ? RWF_DONTCACHE : 0),
      alignment_(alignment),
      fallback_reason_(std::move(fallback_reason)) {}

File::~File() { Close().IgnoreError(); }

Status File::Close() {
  if (fd_ < 0) return Status::OK();
  const int fd = std::exchange(fd_, -1);
  // Linux closes the descriptor even when close() fails, so it is never retried.
  if (::close(fd) != 0) return Status::PosixError(fmt::format("close {}", path_), errno);
  return Status::OK();
}

Status File::CheckDirectIo(uint64_t offset, const void* buffer, size_t length) const {
  if (!direct_) return Status::OK();
  const auto address = reinterpret_cast<uintptr_t>(buffer);
  if (!IsAligned(address, alignment_.memory_bytes)) {
    return Status::InvalidArgument(fmt::format(
        "direct I/O on {}: buffer address {:#x} is not a multiple of {} bytes (the memory alignment this file "
        "needs, from {}); allocate it with AlignedBuffer",
        path_, address, alignment_.memory_bytes, alignment_.source));
  }
  if (!IsAligned(offset, alignment_.offset_bytes)) {
    return Status::InvalidArgument(fmt::format(
        "direct I/O on {}: offset {} is not a multiple of {} bytes (the offset alignment this file needs, from {})",
        path_, offset, alignment_.offset_bytes, alignment_.source));
  }
  if (!IsAligned(length, alignment_.offset_bytes)) {
    return Status::InvalidArgument(fmt::format(
        "direct I/O on {}: length {} is not a multiple of {} bytes (the length alignment this file needs, from {})",
        path_, length, alignment_.offset_bytes, alignment_.source));
  }
  return Status::OK();
}

ssize_t TransferOnce(const File& file, IoOp op, uint64_t offset, std::byte* data, size_t length) {
  if (FaultInjector* faults = file.fault_injector()) {
    const FaultDecision decision = faults->OnAttempt(file, op, offset, data, length);
    if (decision.delay_ns > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(decision.delay_ns));
    if (decision.error_number != 0) return -decision.error_number;
    length = std::min(length, decision.max_bytes);
  }
  for (;;) {
    const auto off = static_cast<off_t>(offset);
    ssize_t n;
    if (file.rw_flags() == 0) {
      n = op == IoOp::kRead ? ::pread(file.fd(), data, length, off) : ::pwrite(file.fd(), data, length, off);
    } else {
      iovec iov{data, length};
      n = op == IoOp::kRead ? ::preadv2(file.fd(), &iov, 1, off, file.rw_flags())
                            : ::pwritev2(file.fd(), &iov, 1, off, file.rw_flags());
    }
    if (n >= 0) {
      if (op == IoOp::kWrite && file.fault_injector() != nullptr) {
        file.fault_injector()->OnWriteDone(file, offset, static_cast<size_t>(n));
      }
      return n;
    }
    if (errno == EINTR || errno == EAGAIN) continue;  // Some filesystems say EAGAIN on blocking files.
    return -errno;
  }
}

Result<size_t> TransferAll(const File& file, IoOp op, uint64_t offset, std::span<std::byte> buffer,
                           uint32_t* attempts) {
  size_t done = 0;
  uint32_t calls = 0;
  while (done < buffer.size()) {
    if (attempts != nullptr) *attempts = ++calls;
    const ssize_t n = TransferOnce(file, op, offset + done, buffer.data() + done, buffer.size() - done);
    if (n < 0) {
      return Status::PosixError(
          fmt::format("{} {} bytes at offset {} of {}", IoOpName(op), buffer.size() - done, offset + done, file.path()),
          static_cast<int>(-n));
    }
    if (n == 0) {
      if (op == IoOp::kWrite) {
        return Status::PosixError(fmt::format("write at offset {} of {} made no progress", offset + done, file.path()),
                                  EIO);
      }
      break;  // End of file.
    }
    done += static_cast<size_t>(n);
    // A direct read that stopped short off the alignment ended at end of file; asking
    // for the rest at an unaligned offset would only earn EINVAL.
    if (op == IoOp::kRead && file.direct() && done < buffer.size() &&
        !IsAligned(offset + done, file.alignment().offset_bytes)) {
      break;
    }
  }
  if (op == IoOp::kRead && done < buffer.size()) std::memset(buffer.data() + done, 0, buffer.size() - done);
  return done;
}

Result<size_t> File::ReadAt(uint64_t offset, std::span<std::byte> buffer) {
  IODEPTH_RETURN_IF_ERROR(CheckDirectIo(offset, buffer.data(), buffer.size()));
  return TransferAll(*this, IoOp::kRead, offset, buffer);
}

Result<size_t> File::WriteAt(uint64_t offset, std::span<const std::byte> buffer) {
  IODEPTH_RETURN_IF_ERROR(CheckDirectIo(offset, buffer.data(), buffer.size()));
  // pwrite never writes through its pointer; the cast only shares TransferAll with reads.
  std::span<std::byte> data(const_cast<std::byte*>(buffer.data()), buffer.size());
  return TransferAll(*this, IoOp::kWrite, offset, data);
}

Status File::Sync() {
  uint64_t mark = 0;
  if (faults_ != nullptr) {
    if (const int injected = faults_->DecideSync(); injected != 0) {
      return Status::PosixError(fmt::format("fsync {}", path_), injected);
    }
    mark = faults_->SyncMark();
  }
  if (::fsync(fd_) != 0) return Status::PosixError(fmt::format("fsync {}", path_), errno);
  if (faults_ != nullptr) faults_->OnSyncDone(*this, mark);
  return Status::OK();
}

Status File::DataSync() {
  uint64_t mark = 0;
  if (faults_ != nullptr) {
    if (const int injected = faults_->DecideSync(); injected != 0) {
      return Status::PosixError(fmt::format("fdatasync {}", path_), injected);
    }
    mark = faults_->SyncMark();
  }
  if (::fdatasync(fd_) != 0) return Status::PosixError(fmt::format("fdatasync {}", path_), errno);
  if (faults_ != nullptr) faults_->OnSyncDone(*this, mark);
  return Status::OK();
}

Result<uint64_t> File::Size() const {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return Status::PosixError(fmt::format("stat {}", path_), errno);
  return static_cast<uint64_t>(st.st_size);
}

Status File::Truncate(uint64_t size_bytes) {
  int rc;
  do {
    rc = ::ftruncate(fd_, static_cast<off_t>(size_bytes));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return Status::PosixError(fmt::format("truncate {} to {} bytes", path_, size_bytes), errno);
  return Status::OK();
}

Status File::Allocate(uint64_t offset, uint64_t length) {
  int rc;
  do {
    rc = ::fallocate(fd_, 0, static_cast<off_t>(offset), static_cast<off_t>(length));
  } while (rc != 0 && errno == EINTR);
  if (rc == 0) return Status::OK();
  if (errno == EOPNOTSUPP) {
    return Status::NotSupported(fmt::format("preallocate {}: the filesystem does not support fallocate", path_));
  }
  return Status::PosixError(fmt::format("preallocate {} bytes at offset {} of {}", length, offset, path_), errno);
}

Status File::DropCachedPages() {
  // Dirty pages cannot be dropped; write them back first.
  IODEPTH_RETURN_IF_ERROR(DataSync());
  const int rc = posix_fadvise(fd_, 0, 0, POSIX_FADV_DONTNEED);
  if (rc != 0) return Status::PosixError(fmt::format("posix_fadvise(DONTNEED) on {}", path_), rc);
  return Status::OK();
}

Result<double> File::CachedFraction(uint64_t bytes) const {
  if (bytes == 0) return 0.0;
  IODEPTH_ASSIGN_OR_RETURN(const uint64_t size, Size());
  bytes = std::min(bytes, size);
  if (bytes == 0) return 0.0;
  void* map = mmap(nullptr, bytes, PROT_READ, MAP_SHARED, fd_, 0);
  if (map == MAP_FAILED) return Status::PosixError(fmt::format("mmap {} to count cached pages", path_), errno);
  const auto page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> resident((bytes + page - 1) / page);
  const int rc = mincore(map, bytes, resident.data());
  const int saved_errno = errno;
  munmap(map, bytes);
  if (rc != 0) return Status::PosixError(fmt::format("mincore on {}", path_), saved_errno);
  uint64_t in_cache = 0;
  for (unsigned char r : resident) in_cache += r & 1;
  return static_cast<double>(in_cache) / static_cast<double>(resident.size());
}

std::string PartialPath(const std::string& path) { return path + std::string(kPartialSuffix); }

Status PublishFile(const std::string& partial, const std::string& path) {
  if (::rename(partial.c_str(), path.c_str()) != 0) {
    return Status::PosixError(fmt::format("rename {} to {}", partial, path), errno);
  }
  const size_t slash = path.rfind('/');
  const std::string directory = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::PosixError(fmt::format("open directory {} to sync it", directory), errno);
  const int synced = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (synced != 0) return Status::PosixError(fmt::format("fsync directory {}", directory), error);
  return Status::OK();
}

void DiscardPartial(const std::string& partial) { ::unlink(partial.c_str()); }

Status WriteFileAtomically(const std::string& path, std::string_view text) {
  const std::string partial = PartialPath(path);
  Status status = [&]() -> Status {
    IODEPTH_ASSIGN_OR_RETURN(
        std::unique_ptr<File> file,
        File::Open(partial, OpenOptions{.access = AccessMode::kWriteOnly, .create = true, .truncate = true}));
    const std::span<const std::byte> bytes = std::as_bytes(std::span(text.data(), text.size()));
    if (!bytes.empty()) IODEPTH_RETURN_IF_ERROR(file->WriteAt(0, bytes).status());
    IODEPTH_RETURN_IF_ERROR(file->DataSync());
    IODEPTH_RETURN_IF_ERROR(file->Close());
    return PublishFile(partial, path);
  }();
  if (!status.ok()) DiscardPartial(partial);
  return status;
}

}  // namespace iodepth
