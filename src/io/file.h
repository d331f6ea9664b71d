// File: one open file and the synchronous path to it (pread/pwrite, sync, size, truncate,
// preallocate), buffered or direct (O_DIRECT).
//
// The synchronous calls finish what the kernel leaves half done: they retry EINTR and
// EAGAIN and continue short transfers until the whole range has moved, end of file is
// reached, or an error occurs. End of file is a result, not an error: ReadAt returns the
// bytes that exist and zeroes the rest of the buffer, so a caller never sees stale memory
// as data.
//
// Direct I/O needs the buffer address, the offset and the length to be multiples of the
// file's alignment. The alignment is discovered per file (statx STATX_DIOALIGN, else the
// device's logical block size, else 4096), and misuse is refused before the kernel is
// asked, with an error naming the value and the alignment, rather than a bare EINVAL.
// A filesystem that refuses O_DIRECT at open (procfs, sysfs, older tmpfs) is reported as
// such; with OpenOptions::direct_fallback the file is opened buffered instead, and
// direct_fallback_reason() says so, so the caller can report it.
//
// A File is owned through std::unique_ptr so its address stays fixed: IoQueue requests
// point at it. All methods may be called from any thread; the OS serialises nothing for
// us, so concurrent overlapping writes are the caller's concern.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"
#include "io/io_types.h"
#include "sys/direct_alignment.h"

namespace iodepth {

class FaultInjector;

enum class AccessMode { kReadOnly, kWriteOnly, kReadWrite };
// kDontcache: buffered, but every read and write carries RWF_DONTCACHE (Linux 6.14+), so
// the kernel drops the pages once the I/O is done. Open() refuses it where the kernel or
// the filesystem lacks it (NotSupported), rather than silently running plain buffered.
enum class CacheMode { kBuffered, kDirect, kDontcache };

std::string_view CacheModeName(CacheMode mode);  // "buffered", "direct", "dontcache"
Result<CacheMode> ParseCacheMode(std::string_view name);

struct OpenOptions {
  AccessMode access = AccessMode::kReadOnly;
  CacheMode cache = CacheMode::kBuffered;
  bool create = false;           // O_CREAT
  bool truncate = false;         // O_TRUNC
  bool direct_fallback = false;  // Open buffered when the filesystem refuses O_DIRECT.
  mode_t permissions = 0644;
  bool dsync = false;  // O_DSYNC: each write is durable (data and the metadata to read it) when it returns.
};

class File {
 public:
  static Result<std::unique_ptr<File>> Open(const std::string& path, const OpenOptions& options);

  File(const File&) = delete;
  File& operator=(const File&) = delete;
  File(File&&) = delete;
  File& operator=(File&&) = delete;
  ~File();  // Closes; errors are ignored (call Close() to see them).

  // Reads up to buffer.size() bytes at `offset`. Returns the bytes read: fewer only at
  // end of file (0 at or past it); the rest of the buffer is zeroed.
  Result<size_t> ReadAt(uint64_t offset, std::span<std::byte> buffer);
  // Writes all of `buffer` at `offset` or fails.
  Result<size_t> WriteAt(uint64_t offset, std::span<const std::byte> buffer);

  Status Sync();      // fsync
  Status DataSync();  // fdatasync
  Result<uint64_t> Size() const;
  // Writes the file's dirty pages back, then asks the kernel to drop its cached pages
  // (posix_fadvise DONTNEED). Pages another process holds dirty may stay.
  Status DropCachedPages();
  // The fraction (0..1) of [0, bytes) of the file in the page cache now, counted with
  // mincore() on a read-only mapping; 0 for an empty range.
  Result<double> CachedFraction(uint64_t bytes) const;
  Status Truncate(uint64_t size_bytes);
  // Reserves blocks for [offset, offset + length) (fallocate, mode 0); NotSupported where
  // the filesystem cannot.
  Status Allocate(uint64_t offset, uint64_t length);
  Status Close();

  // OK when not direct, or when all three values meet the alignment; otherwise an
  // InvalidArgument naming the value at fault and the alignment required.
  Status CheckDirectIo(uint64_t offset, const void* buffer, size_t length) const;

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  bool direct() const { return direct_; }
  bool dsync() const { return dsync_; }
  // Unique among every File this process opens, never reused (unlike the fd number).
  uint64_t id() const { return id_; }
  CacheMode cache_mode() const { return cache_mode_; }
  // Per-request flags (preadv2/pwritev2, io_uring rw_flags): RWF_DONTCACHE or 0.
  int rw_flags() const { return rw_flags_; }
  const std::string& direct_fallback_reason() const { return fallback_reason_; }
  const DirectAlignment& alignment() const { return alignment_; }

  // Test hook: consult `faults` before every attempt on this file, in every backend.
  // Borrowed: it must outlive all I/O on this file. nullptr removes it.
  void SetFaultInjector(FaultInjector* faults) { faults_ = faults; }
  FaultInjector* fault_injector() const { return faults_; }

 private:
  File(int fd, std::string path, CacheMode mode, bool direct, DirectAlignment alignment, std::string fallback_reason);

  int fd_;
  uint64_t id_;
  std::string path_;
  CacheMode cache_mode_;
  bool direct_;
  bool dsync_ = false;
  int rw_flags_ = 0;
  DirectAlignment alignment_;
  std::string fallback_reason_;
  FaultInjector* faults_ = nullptr;
};

// Atomic creation: a file iodepth makes (a data file, a table) is written under the name
// `path` + kPartialSuffix in the same directory, synced, and renamed into place by
// PublishFile, which then syncs the directory so the new name survives a crash. Until then
// nothing at `path` looks finished; a failure removes the partial file (DiscardPartial),
// and one a kill left behind is iodepth's own, replaced by the next try.
inline constexpr std::string_view kPartialSuffix = ".iodepth-partial";
std::string PartialPath(const std::string& path);
// rename(partial, path), then fsync of the directory holding `path`.
Status PublishFile(const std::string& partial, const std::string& path);
// Removes `partial` (no error when it is already gone): the cleanup of a failed creation.
void DiscardPartial(const std::string& partial);
// A whole small file (a results file, a report) written that way: `text` under the partial
// name, fdatasync, PublishFile. A reader sees the old file or the new one, never half.
Status WriteFileAtomically(const std::string& path, std::string_view text);

// One attempt at a transfer, shared by File and the worker backend: pread or pwrite once
// (after consulting the fault injector), retrying EINTR/EAGAIN. Returns bytes moved
// (0 at end of file for reads) or a negative errno.
ssize_t TransferOnce(const File& file, IoOp op, uint64_t offset, std::byte* data, size_t length);

// The whole transfer: calls TransferOnce until done, end of file, or error. For a read,
// zeroes the part of the buffer past end of file. With direct I/O a short read that ends
// off alignment is end of file (a regular file's direct read stops short only there).
// *attempts (when given) receives the number of TransferOnce calls made.
Result<size_t> TransferAll(const File& file, IoOp op, uint64_t offset, std::span<std::byte> buffer,
                           uint32_t* attempts = nullptr);

}  // namespace iodepth
