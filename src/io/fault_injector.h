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
// Attached to a File (File::SetFaultInjector), consulted by every backend before each
// attempt. Thread-safe: worker threads consult it concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "io/io_types.h"

namespace iodepth {

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

 private:
  mutable std::mutex mutex_;
  std::vector<FaultRule> rules_;  // GUARDED_BY(mutex_)
  int sync_failures_ = 0;         // GUARDED_BY(mutex_)
  int sync_error_ = 0;            // GUARDED_BY(mutex_)
  uint64_t fired_ = 0;            // GUARDED_BY(mutex_)
};

}  // namespace iodepth
