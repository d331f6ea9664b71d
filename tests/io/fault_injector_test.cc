#include "io/fault_injector.h"

#include <cerrno>
#include <cstdint>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace iodepth {
namespace {

FaultRule ErrorAt(uint64_t offset, int error_number = EIO) {
  FaultRule rule;
  rule.kind = FaultKind::kError;
  rule.offset = offset;
  rule.error_number = error_number;
  return rule;
}

TEST(FaultInjectorTest, NoRulesMeansNoFault) {
  FaultInjector faults;
  const FaultDecision decision = faults.Decide(IoOp::kRead, 0, 4096);
  EXPECT_EQ(decision.error_number, 0);
  EXPECT_EQ(decision.max_bytes, SIZE_MAX);
  EXPECT_EQ(decision.delay_ns, 0);
  EXPECT_EQ(faults.fired(), 0u);
}

TEST(FaultInjectorTest, RuleMatchesAttemptsWhoseHalfOpenRangeContainsItsOffset) {
  FaultInjector faults;
  faults.Add(ErrorAt(8192));
  EXPECT_EQ(faults.Decide(IoOp::kRead, 4096, 4096).error_number, 0) << "[4096, 8192) ends before the offset";
  EXPECT_EQ(faults.Decide(IoOp::kRead, 8193, 4096).error_number, 0) << "starts after the offset";
  EXPECT_EQ(faults.Decide(IoOp::kRead, 8192, 0).error_number, 0) << "an empty range contains nothing";
  EXPECT_EQ(faults.fired(), 0u);
  EXPECT_EQ(faults.Decide(IoOp::kRead, 8192, 1).error_number, EIO);
  EXPECT_EQ(faults.Decide(IoOp::kWrite, 4097, 4096).error_number, EIO);
  EXPECT_EQ(faults.fired(), 2u);
}

TEST(FaultInjectorTest, OpFilterLimitsTheRuleToOneDirection) {
  FaultInjector faults;
  FaultRule rule = ErrorAt(0, ENOSPC);
  rule.any_op = false;
  rule.op = IoOp::kWrite;
  faults.Add(rule);
  EXPECT_EQ(faults.Decide(IoOp::kRead, 0, 4096).error_number, 0);
  EXPECT_EQ(faults.Decide(IoOp::kWrite, 0, 4096).error_number, ENOSPC);
}

TEST(FaultInjectorTest, RuleFiresAtMostTimes) {
  FaultInjector faults;
  FaultRule rule = ErrorAt(0);
  rule.times = 2;
  faults.Add(rule);
  EXPECT_EQ(faults.Decide(IoOp::kRead, 0, 512).error_number, EIO);
  EXPECT_EQ(faults.Decide(IoOp::kRead, 0, 512).error_number, EIO);
  EXPECT_EQ(faults.Decide(IoOp::kRead, 0, 512).error_number, 0);
  EXPECT_EQ(faults.fired(), 2u);
}

TEST(FaultInjectorTest, MatchingRulesCombine) {
  FaultInjector faults;
  FaultRule short_a{.kind = FaultKind::kShortTransfer, .offset = 100, .short_bytes = 3000};
  FaultRule short_b{.kind = FaultKind::kShortTransfer, .offset = 200, .short_bytes = 1000};
  FaultRule delay_a{.kind = FaultKind::kDelay, .offset = 300, .delay_us = 5};
  FaultRule delay_b{.kind = FaultKind::kDelay, .offset = 400, .delay_us = 7};
  for (const FaultRule& rule : {short_a, short_b, delay_a, delay_b}) faults.Add(rule);
  const FaultDecision decision = faults.Decide(IoOp::kRead, 0, 4096);
  EXPECT_EQ(decision.max_bytes, 1000u) << "the tighter limit wins";
  EXPECT_EQ(decision.delay_ns, 12'000) << "delays add up";
  EXPECT_EQ(decision.error_number, 0);
  EXPECT_EQ(faults.fired(), 4u);
}

TEST(FaultInjectorTest, ConcurrentAttemptsNeverExceedTimes) {
  FaultInjector faults;
  FaultRule rule = ErrorAt(0);
  rule.times = 100;
  faults.Add(rule);
  std::vector<std::thread> threads;
  std::vector<int> errors(8, 0);
  for (size_t t = 0; t < errors.size(); ++t) {
    threads.emplace_back([&faults, &errors, t] {
      for (int i = 0; i < 1000; ++i) errors[t] += faults.Decide(IoOp::kRead, 0, 4096).error_number != 0 ? 1 : 0;
    });
  }
  for (std::thread& thread : threads) thread.join();
  int total = 0;
  for (int count : errors) total += count;
  EXPECT_EQ(total, 100);
  EXPECT_EQ(faults.fired(), 100u);
}

}  // namespace
}  // namespace iodepth
