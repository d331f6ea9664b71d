#include "io/fault_injector.h"

#include <algorithm>

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
  if (sync_failures_ == 0) return 0;
  if (sync_failures_ > 0) --sync_failures_;
  ++fired_;
  return sync_error_;
}

uint64_t FaultInjector::fired() const {
  std::lock_guard lock(mutex_);
  return fired_;
}

}  // namespace iodepth
