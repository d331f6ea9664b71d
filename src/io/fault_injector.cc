#include "io/fault_injector.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <set>

#include "common/assert.h"
#include "common/random.h"
#include "io/aligned_buffer.h"
#include "io/file.h"

namespace iodepth {

void FaultInjector::Add(const FaultRule& rule) {
  std::lock_guard lock(mutex_);
  rules_.push_back(rule);
}

FaultDecision FaultInjector::Decide(IoOp op, uint64_t offset, size_t length) {
  FaultDecision decision;
  std::lock_guard lock(mutex_);
  for (FaultRule& rule : rules_) {
    if (rule.times == 0) continue;
    if (!rule.any_op && rule.op != op) continue;
    if (rule.offset < offset || rule.offset - offset >= length) continue;
    if (rule.times > 0) --rule.times;
    ++fired_;
    switch (rule.kind) {
      case FaultKind::kError: decision.error_number = rule.error_number; break;
      case FaultKind::kShortTransfer: decision.max_bytes = std::min(decision.max_bytes, rule.short_bytes); break;
      case FaultKind::kDelay: decision.delay_ns += rule.delay_us * 1000; break;
    }
  }
  return decision;
}

void FaultInjector::FailSyncs(int times, int error_number) {
  std::lock_guard lock(mutex_);
  sync_failures_ = times;
  sync_error_ = error_number;
}

int FaultInjector::DecideSync() {
  std::lock_guard lock(mutex_);
  if (crashed_) {
    ++fired_;
    return EIO;  // The device is gone.
  }
  if (sync_failures_ == 0) return 0;
  if (sync_failures_ > 0) --sync_failures_;
  ++fired_;
  return sync_error_;
}

uint64_t FaultInjector::fired() const {
  std::lock_guard lock(mutex_);
  return fired_;
}

void FaultInjector::StartCrashJournal() {
  std::lock_guard lock(mutex_);
  journal_on_ = true;
  writes_seen_ = 0;
}

void FaultInjector::ArmCrash(uint64_t after_writes) {
  std::lock_guard lock(mutex_);
  IODEPTH_CHECK(journal_on_, "ArmCrash needs the crash journal on");
  armed_ = true;
  crash_at_ = writes_seen_ + after_writes;
}

bool FaultInjector::crashed() const {
  std::lock_guard lock(mutex_);
  return crashed_;
}

size_t FaultInjector::unsynced_writes() const {
  std::lock_guard lock(mutex_);
  return journal_.size();
}

void FaultInjector::Remember(const File& file, uint64_t offset, size_t length) {
  JournalEntry entry{writes_seen_ - 1, file.id(), file.path(), offset, {}};
  // The old bytes are read through the file's own descriptor, so a direct file needs an
  // aligned buffer (its writes are aligned, so the range is too).
  auto buffer = AlignedBuffer::Allocate(length, std::max<size_t>(file.alignment().memory_bytes, 4096));
  IODEPTH_CHECK(buffer.has_value(), "crash journal: no memory for a write's old bytes");
  size_t got = 0;
  while (got < length) {
    const ssize_t n = ::pread(file.fd(), buffer->data() + got, length - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // Past the end of the file: the old bytes are zeros (never written).
    got += static_cast<size_t>(n);
  }
  entry.before.assign(buffer->data(), buffer->data() + length);
  journal_.push_back(std::move(entry));
}

FaultDecision FaultInjector::OnAttempt(const File& file, IoOp op, uint64_t offset, const std::byte* data,
                                       size_t length) {
  FaultDecision decision = Decide(op, offset, length);
  if (op != IoOp::kWrite) return decision;
  std::lock_guard lock(mutex_);
  if (!journal_on_) return decision;
  if (crashed_) {
    decision.error_number = EIO;
    return decision;
  }
  const uint64_t attempt = writes_seen_++;
  if (decision.error_number != 0) return decision;  // A rule's failure moves nothing.
  const size_t moving = std::min(length, decision.max_bytes);
  Remember(file, offset, moving);
  if (armed_ && attempt == crash_at_) {
    crashed_ = true;
    // This write was on its way to the device when the power failed: it lands (perhaps
    // only in part: ApplyCrash decides), and its caller hears EIO, as after a real
    // failure it would hear nothing at all.
    size_t done = 0;
    while (done < moving) {
      const ssize_t n = ::pwrite(file.fd(), data + done, moving - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    decision.error_number = EIO;
  }
  return decision;
}

void FaultInjector::OnWriteDone(const File& file, uint64_t offset, size_t bytes) {
  if (!file.dsync() || bytes == 0) return;
  std::lock_guard lock(mutex_);
  // On an O_DSYNC file a completed write is durable: the crash can no longer take it.
  const auto it = std::find_if(journal_.begin(), journal_.end(), [&](const JournalEntry& entry) {
    return entry.file_id == file.id() && entry.offset == offset;
  });
  if (it != journal_.end()) journal_.erase(it);
}

uint64_t FaultInjector::SyncMark() const {
  std::lock_guard lock(mutex_);
  return writes_seen_;
}

void FaultInjector::OnSyncDone(const File& file, uint64_t mark) {
  std::lock_guard lock(mutex_);
  // A sync makes durable the writes issued before it began (the callers here reap their
  // writes before they sync, so those have completed too).
  std::erase_if(journal_,
                [&](const JournalEntry& entry) { return entry.file_id == file.id() && entry.sequence < mark; });
}

Result<CrashOutcome> FaultInjector::ApplyCrash(uint64_t seed) {
  std::lock_guard lock(mutex_);
  CrashOutcome outcome;
  uint64_t state = seed;
  std::map<std::string, std::set<uint64_t>> decided;  // Per path, sectors a newer write settled.
  for (auto entry = journal_.rbegin(); entry != journal_.rend(); ++entry) {
    const uint64_t fate = SplitMix64Next(state) % 3;  // 0 kept, 1 dropped, 2 torn.
    if (fate == 0) ++outcome.writes_kept;
    else if (fate == 1) ++outcome.writes_dropped;
    else ++outcome.writes_torn;
    auto file = File::Open(entry->path, OpenOptions{.access = AccessMode::kReadWrite});
    if (!file) {
      if (file.error().error_number() == ENOENT) continue;  // A partial file since removed.
      return file.error().WithContext("crash journal: put back old bytes");
    }
    std::set<uint64_t>& settled = decided[entry->path];
    const uint64_t end = entry->offset + entry->before.size();
    for (uint64_t sector = entry->offset / kTornSectorBytes; sector * kTornSectorBytes < end; ++sector) {
      if (!settled.insert(sector).second) continue;
      const bool restore = fate == 1 || (fate == 2 && (SplitMix64Next(state) & 1) != 0);
      if (!restore) continue;
      const uint64_t from = std::max(entry->offset, sector * kTornSectorBytes);
      const uint64_t to = std::min(end, (sector + 1) * kTornSectorBytes);
      const auto old = std::span<const std::byte>(entry->before).subspan(from - entry->offset, to - from);
      IODEPTH_RETURN_IF_ERROR((*file)->WriteAt(from, old).status());
      ++outcome.sectors_restored;
    }
  }
  journal_.clear();
  journal_on_ = armed_ = crashed_ = false;
  writes_seen_ = 0;
  return outcome;
}

}  // namespace iodepth
