// WalWriter: appends records to the log and makes them durable with group commit.
//
//   committers (any threads)                      flusher (one thread, owns the IoQueue)
//   Append(payload) -> {lsn, end_lsn}             waits for a commit, or a ring half full
//   Commit(end_lsn) -- waits --+                  target = appended end (one snapshot)
//                              |                  writes blocks [durable, target) at depth
//   ring of log blocks in memory:                 makes them durable (fdatasync, or the
//   [durable ... | ... appended | free ...]       writes were O_DSYNC), then
//                              +---------------   durable = target; wakes every committer
//                                                 whose end_lsn <= durable
//
// Group commit: while one flush is writing and syncing, later commits wait together and
// the next flush covers all of them, so N committers at once cost about one sync per
// flush, not one each. An optional delay (group_commit_delay_us) holds a flush back to
// gather more.
//
// What is durable when Commit(lsn) returns OK (DESIGN.md "The write-ahead log" says the
// same per path): every byte of the log before `lsn`, so every record whose end LSN is at
// most `lsn`, has been written and
// - buffered path: written with pwrite and then fdatasync'd on every segment it touched;
// - direct path: written with O_DIRECT whole-block writes and then fdatasync'd (the
//   device's volatile cache flushed), or, with WalSyncMethod::kDsync, written through a
//   file opened O_DSYNC so each write was durable when it completed.
// Both paths write the same whole blocks; the block holding the tail is rewritten in
// place by the next flush (not padded), so a commit costs one block, not a block per
// record, and LSNs stay dense. Rewriting is safe on a device that tears writes only
// between sectors, because the bytes already durable are rewritten with their own value:
// whichever sectors land, they hold what they held.
//
// Failure is permanent: once a write or a sync fails, every later Append, Commit and
// Close returns that error. After a failed fdatasync the kernel may have dropped the
// dirty pages and cleared the error, so a retry that "succeeds" could acknowledge lost
// data (PostgreSQL's fsyncgate, 2018). Reopen the log to recover from what is on disk.
//
// Opening a directory that holds a log recovers it (WalReader) and resumes in a new
// segment whose header names the end of the last whole record; segments after that end
// are renamed *.abandoned (when they hold any fragment) or removed (when empty), so a
// reader can never take a torn tail's leftovers for records.
//
// Bounds: the ring (buffer_blocks) bounds memory and the bytes in flight; max_write_blocks
// bounds one request; the queue depth bounds requests in flight; a record is at most a
// quarter of the ring; the group delay is at most 100 ms.
//
// Threading: Append, Commit, Flush and the accessors may be called from any threads at
// once. Close (and the destructor) must not race with them.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>

#include "common/result.h"
#include "io/aligned_buffer.h"
#include "io/file.h"
#include "io/io_queue.h"
#include "wal/log_format.h"
#include "wal/log_reader.h"

namespace iodepth {

class FaultInjector;

enum class WalSyncMethod {
  kFdatasync,  // Write, then fdatasync each segment written.
  kDsync,      // Segments opened O_DSYNC: each write is durable when it completes.
};
std::string_view WalSyncMethodName(WalSyncMethod method);  // "fdatasync", "dsync"
Result<WalSyncMethod> ParseWalSyncMethod(std::string_view name);

struct WalOptions {
  std::string directory;                   // Created if missing.
  CacheMode cache = CacheMode::kBuffered;  // kBuffered or kDirect.
  WalSyncMethod sync = WalSyncMethod::kFdatasync;
  WalGeometry geometry;                // Must match an existing log's.
  uint32_t buffer_blocks = 256;        // The ring: 1 MiB of 4 KiB blocks.
  uint32_t max_write_blocks = 16;      // One write request at most 64 KiB of 4 KiB blocks.
  IoQueueOptions queue{.depth = 8};    // The flusher's queue; sync needs depth 1.
  uint32_t group_commit_delay_us = 0;  // 0..100000.
  bool zero_fill_segments = true;      // Write new segments' zeros (else fallocate).
  FaultInjector* faults = nullptr;     // Test hook: attached to every segment file.
};

struct WalAppend {
  Lsn lsn = 0;      // The record's first fragment.
  Lsn end_lsn = 0;  // Pass this to Commit.
};

struct WalStats {
  uint64_t appends = 0;
  uint64_t append_bytes = 0;    // Payload bytes.
  uint64_t commits = 0;         // Commit() calls.
  uint64_t commits_waited = 0;  // Of those, the ones that had to wait for a flush.
  uint64_t flushes = 0;         // Flushes that wrote something.
  uint64_t syncs = 0;           // fdatasync calls.
  uint64_t write_requests = 0;
  uint64_t bytes_written = 0;    // Whole blocks, so the tail block counts each time.
  uint64_t max_write_depth = 0;  // Most write requests in flight at once.
  uint64_t segments_created = 0;
  uint64_t append_waits = 0;  // Appends that waited for room in the ring.
};

class WalWriter {
 public:
  // Validates the options, recovers the log in options.directory (if any) and starts the
  // flusher. Refuses (InvalidArgument, naming the setting) a geometry that differs from
  // the existing log's, a block size the direct path cannot align, and a segment the
  // filesystem has no room for (free_space.h's reserve).
  static Result<std::unique_ptr<WalWriter>> Open(const WalOptions& options);

  WalWriter(const WalWriter&) = delete;
  WalWriter& operator=(const WalWriter&) = delete;
  ~WalWriter();  // Close(), errors ignored.

  // Copies `payload` into the log after every record appended before it. Not durable
  // until a Commit covering its end_lsn returns. Waits while the ring has no room.
  Result<WalAppend> Append(std::span<const std::byte> payload);
  // Returns once every byte before `lsn` is durable (see the header comment), or the
  // writer's permanent error. An `lsn` past the appended end is an InvalidArgument.
  Status Commit(Lsn lsn);
  // Commit(appended end).
  Status Flush();
  // Makes everything appended durable, stops the flusher, closes the segments. Returns
  // the permanent error if there was one. Idempotent.
  Status Close();

  Lsn appended_lsn() const;
  Lsn durable_lsn() const;
  WalStats stats() const;
  // What Open found in the directory.
  const WalReadEnd& recovery() const { return recovery_; }
  const WalGeometry& geometry() const { return options_.geometry; }
  const std::string& queue_backend() const { return backend_name_; }

 private:
  explicit WalWriter(const WalOptions& options);
  Status Start(const WalReadEnd& recovered, uint64_t log_id, uint64_t resume_segment, Lsn prev_end);
  struct FlushCounters;
  void FlusherMain(std::promise<Status>* started);
  Status FlushRange(IoQueue& queue, Lsn from, Lsn to, FlushCounters* counters);
  Status EnsureSegment(uint64_t segment_no, Lsn prev_end);
  Result<File*> SegmentFile(uint64_t segment_no);
  void CloseSegmentsBefore(uint64_t segment_no);
  void PlaceRecord(std::span<const std::byte> payload, Lsn from);
  std::span<std::byte> RingAt(Lsn lsn, size_t length);
  void Fail(Status status);

  const WalOptions options_;
  WalReadEnd recovery_;
  uint64_t log_id_ = 0;
  std::string backend_name_;
  AlignedBuffer ring_;  // buffer_blocks blocks; LSN x lives at x % ring size.
  AlignedBuffer tail_;  // The flusher's copy of the partial tail block.
  uint64_t ring_bytes_ = 0;

  mutable std::mutex mutex_;
  std::condition_variable flush_wanted_;  // Wakes the flusher.
  std::condition_variable progress_;      // Wakes committers and appenders waiting for room.
  Lsn appended_ = 0;                      // GUARDED_BY(mutex_)
  Lsn durable_ = 0;                       // GUARDED_BY(mutex_)
  Lsn requested_ = 0;                     // GUARDED_BY(mutex_): the largest LSN a committer waits for.
  Status failed_;                         // GUARDED_BY(mutex_): permanent once set.
  bool closing_ = false;                  // GUARDED_BY(mutex_)
  bool closed_ = false;                   // Close() has run (only Close touches it).
  WalStats stats_;                        // GUARDED_BY(mutex_)

  // Flusher-thread state: segment files by number (the flusher opens, creates and closes
  // them; Open creates the first before the thread starts).
  std::map<uint64_t, std::unique_ptr<File>> segments_;
  std::thread flusher_;
};

}  // namespace iodepth
