// FaultInjector: makes chosen requests fail, transfer short or stall, so tests can prove
// that every backend routes a fault to exactly the request it belongs to and finishes
// short transfers itself.
//
// A rule matches an attempt (one pread/pwrite or one io_uring SQE) whose byte range
// [offset, offset + length) contains the rule's offset. What it does to that attempt:
//   kError          the attempt fails with `error_number` (EIO by default), nothing moves.
//   kShortTransfer  at most `short_bytes` move; the backend must resubmit the rest. With
//                   direct I/O, short_bytes must keep the remainder aligned.
//   kDelay          the attempt starts `delay_us` later.
// A rule fires at most `times` times (negative: without limit). Syncs (fsync, fdatasync)
// are not attempts of a range: FailSyncs makes them fail.
//
// Power loss (the crash journal). While the journal is on, every write attempt keeps the
// bytes it replaces, until a sync of its file completes (or, on a file opened O_DSYNC,
// until the write itself completes): those are the writes a power failure may lose.
// ArmCrash(n) makes the n-th write attempt from then on the moment the power fails: that
// write lands (it was on its way to the device), and it and every later write or sync
// fails with EIO and moves nothing. Once the writers are gone, ApplyCrash() decides for
// each remembered write what the device kept: all of it, none of it (its old bytes are
// put back), or a torn mix of 512-byte sectors (the unit a disk writes atomically), at
// random from a seed; where writes overlap, the newest decides each sector.
//
//   write A --- sync --- write B --- write C --- [crash: write D lands, fails] --- E fails
//   durable            (B, C and D each kept, dropped or torn by ApplyCrash)
//
// Attached to a File (File::SetFaultInjector), consulted by every backend before each
// attempt (OnAttempt) and told when a write or a sync completes. Thread-safe: worker
// threads consult it concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.h"
#include "io/io_types.h"

namespace iodepth {

class File;

inline constexpr size_t kTornSectorBytes = 512;

// What ApplyCrash did.
struct CrashOutcome {
  uint64_t writes_kept = 0;
  uint64_t writes_dropped = 0;
  uint64_t writes_torn = 0;
  uint64_t sectors_restored = 0;  // Sectors given back their bytes from before the crash.
};

enum class FaultKind { kError, kShortTransfer, kDelay };

struct FaultRule {
  FaultKind kind = FaultKind::kError;
  uint64_t offset = 0;
  bool any_op = true;  // When false, only `op` matches.
  IoOp op = IoOp::kRead;
  int error_number = 5;  // EIO
  size_t short_bytes = 0;
  int64_t delay_us = 0;
  int times = -1;
};

// What to do to one attempt; the default is "nothing".
struct FaultDecision {
  int error_number = 0;
  size_t max_bytes = SIZE_MAX;
  int64_t delay_ns = 0;
};

class FaultInjector {
 public:
  FaultInjector() = default;
  FaultInjector(const FaultInjector&) = delete;
  FaultInjector& operator=(const FaultInjector&) = delete;

  void Add(const FaultRule& rule);
  // Decides the fate of one attempt and counts the rules that fired.
  FaultDecision Decide(IoOp op, uint64_t offset, size_t length);
  // Makes the next `times` syncs (File::Sync, File::DataSync) of the file fail with
  // `error_number` (EIO by default), as a device that lost the dirty pages reports it;
  // negative: every one. Counted in fired().
  void FailSyncs(int times, int error_number = 5);
  // The errno the next sync fails with, or 0.
  int DecideSync();
  // How many times rules have fired in total.
  uint64_t fired() const;

  // ---- power loss (see the header comment) ----
  void StartCrashJournal();
  // REQUIRES: the journal is on. The `after_writes`-th write attempt from now (0: the next
  // one) is where the power fails.
  void ArmCrash(uint64_t after_writes);
  bool crashed() const;
  // Writes the journal still remembers (not yet made durable).
  size_t unsynced_writes() const;
  // REQUIRES: no I/O on the files any more (the writers are closed). Puts back what the
  // crash loses, through each file's path, and empties the journal.
  Result<CrashOutcome> ApplyCrash(uint64_t seed);

  // ---- hooks for io/'s backends ----
  // The fate of one attempt of `length` bytes at `offset` (data: the bytes a write is
  // about to write): the rules' decision, plus the crash journal's.
  FaultDecision OnAttempt(const File& file, IoOp op, uint64_t offset, const std::byte* data, size_t length);
  // A write attempt moved `bytes` at `offset`.
  void OnWriteDone(const File& file, uint64_t offset, size_t bytes);
  // Called as a sync of `file` starts; pass the result to OnSyncDone when it succeeded.
  uint64_t SyncMark() const;
  void OnSyncDone(const File& file, uint64_t mark);

 private:
  struct JournalEntry {
    uint64_t sequence = 0;  // Attempt order.
    uint64_t file_id = 0;
    std::string path;
    uint64_t offset = 0;
    std::vector<std::byte> before;  // What the range held before the write.
  };
  void Remember(const File& file, uint64_t offset, size_t length);  // REQUIRES: mutex_ held.

  mutable std::mutex mutex_;
  std::vector<FaultRule> rules_;       // GUARDED_BY(mutex_)
  int sync_failures_ = 0;              // GUARDED_BY(mutex_)
  int sync_error_ = 0;                 // GUARDED_BY(mutex_)
  uint64_t fired_ = 0;                 // GUARDED_BY(mutex_)
  bool journal_on_ = false;            // GUARDED_BY(mutex_)
  bool armed_ = false;                 // GUARDED_BY(mutex_)
  bool crashed_ = false;               // GUARDED_BY(mutex_)
  uint64_t crash_at_ = 0;              // GUARDED_BY(mutex_): the write attempt that crashes.
  uint64_t writes_seen_ = 0;           // GUARDED_BY(mutex_): write attempts since the journal began.
  std::vector<JournalEntry> journal_;  // GUARDED_BY(mutex_), in attempt order.
};

}  // namespace iodepth
