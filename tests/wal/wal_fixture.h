// Shared by the wal tests: self-checking record payloads, the durability paths and
// backends every writer test runs under, and small helpers to damage a log on disk.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <functional>

#include "common/random.h"
#include "io/io_queue.h"
#include "wal/log_reader.h"
#include "wal/log_writer.h"

namespace iodepth::testutil {

// A small geometry, so tests cross blocks and segments within a few records.
inline constexpr WalGeometry kTestGeometry{.block_bytes = 4096, .segment_bytes = 64 * 1024};

// A payload that carries who wrote it: writer `thread`'s record number `counter`, padded
// to `bytes` (>= 24) with bytes derived from both, so any damage is detected.
inline std::vector<std::byte> MakePayload(uint32_t thread, uint64_t counter, size_t bytes) {
  std::vector<std::byte> payload(std::max<size_t>(bytes, 24));
  const uint64_t size = payload.size();
  std::memcpy(payload.data(), &thread, 4);
  std::memcpy(payload.data() + 8, &counter, 8);
  std::memcpy(payload.data() + 16, &size, 8);
  uint64_t state = (uint64_t{thread} << 40) ^ counter;
  for (size_t i = 24; i < payload.size(); ++i) payload[i] = static_cast<std::byte>(SplitMix64Next(state));
  return payload;
}

struct PayloadId {
  uint32_t thread = 0;
  uint64_t counter = 0;
};

// The writer and record number of a payload MakePayload made, or nullopt when it is not one.
inline std::optional<PayloadId> CheckPayload(const std::vector<std::byte>& payload) {
  if (payload.size() < 24) return std::nullopt;
  PayloadId id;
  uint64_t size = 0;
  std::memcpy(&id.thread, payload.data(), 4);
  std::memcpy(&id.counter, payload.data() + 8, 8);
  std::memcpy(&size, payload.data() + 16, 8);
  if (size != payload.size() || MakePayload(id.thread, id.counter, size) != payload) return std::nullopt;
  return id;
}

// One way of making the log durable, as the writer tests name it.
struct WalPath {
  std::string name;
  CacheMode cache;
  WalSyncMethod sync;
};
inline void PrintTo(const WalPath& path, std::ostream* out) { *out << path.name; }
inline std::vector<WalPath> AllWalPaths() {
  return {{"buffered_fdatasync", CacheMode::kBuffered, WalSyncMethod::kFdatasync},
          {"direct_fdatasync", CacheMode::kDirect, WalSyncMethod::kFdatasync},
          {"direct_dsync", CacheMode::kDirect, WalSyncMethod::kDsync}};
}

// One durability path on one backend: the grid the writer and crash tests run on.
struct WalCase {
  WalPath path;
  Backend backend;
};
inline void PrintTo(const WalCase& param, std::ostream* out) {
  *out << param.path.name << "/" << BackendName(param.backend);
}
inline std::vector<WalCase> AllWalCases() {
  std::vector<WalCase> cases;
  for (const WalPath& path : AllWalPaths()) {
    for (const Backend backend : {Backend::kIoUring, Backend::kWorker, Backend::kSync}) {
      if (backend == Backend::kIoUring && !ProbeIoUring().ok()) continue;
      cases.push_back({path, backend});
    }
  }
  return cases;
}
inline std::string WalCaseName(const WalCase& param) {
  return param.path.name + "_" + std::string(BackendName(param.backend));
}

inline WalOptions TestWalOptions(const std::string& directory, const WalPath& path, Backend backend) {
  WalOptions options;
  options.directory = directory;
  options.cache = path.cache;
  options.sync = path.sync;
  options.geometry = kTestGeometry;
  options.buffer_blocks = 32;
  options.max_write_blocks = 4;
  options.queue.backend = backend;
  options.queue.depth = backend == Backend::kSync ? 1 : 8;
  options.queue.worker_threads = 4;
  return options;
}

// Overwrites `bytes` at `offset` of `path` (plain POSIX: the code under test never
// prepares its own damage). Returns false when it could not.
inline bool Scribble(const std::string& path, uint64_t offset, const std::vector<std::byte>& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY);
  if (fd < 0) return false;
  const bool ok =
      ::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset)) == static_cast<ssize_t>(bytes.size());
  ::close(fd);
  return ok;
}

// Every record of the log in `directory`, in order; *end gets where the reader stopped.
inline Result<std::vector<WalRecord>> ReadAllRecords(const std::string& directory, WalReadEnd* end) {
  std::vector<WalRecord> records;
  IODEPTH_ASSIGN_OR_RETURN(*end, ReadWal(directory, [&](const WalRecord& record) {
    records.push_back(record);
    return Status::OK();
  }));
  return records;
}

inline std::string SegmentPathIn(const std::string& directory, uint64_t segment) {
  return directory + "/" + WalSegmentFileName(segment);
}

}  // namespace iodepth::testutil
