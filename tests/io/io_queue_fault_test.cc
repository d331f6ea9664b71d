// IoQueue conformance under injected faults (io/fault_injector.h) and at shutdown: every
// backend, buffered and direct, must route an error to exactly its request, finish short
// transfers itself, keep tags matched under delays, and drain in its destructor.
#include <cerrno>
#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/block_pattern.h"
#include "common/clock.h"
#include "io/fault_injector.h"
#include "io/io_queue.h"
#include "queue_fixture.h"
#include "testutil/status_macros.h"

namespace iodepth::testutil {
namespace {

using namespace std::chrono_literals;

class IoQueueFaultTest : public IoQueueTest {
 protected:
  static constexpr size_t kCount = 8;
  static constexpr size_t kRequestBytes = 16 * 1024;
  static constexpr uint64_t kSpacing = 64 * 1024;  // Requests never share a byte.

  void SetUp() override {
    IoQueueTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    file_->SetFaultInjector(&faults_);
    arena_ = StaleBuffer(kCount * kRequestBytes);
  }
  void TearDown() override {
    if (file_ != nullptr) file_->SetFaultInjector(nullptr);
  }

  // kCount requests of kRequestBytes, request i at offset i * kSpacing, tag 100 + i.
  std::vector<IoRequest> Batch(IoOp op) const {
    std::vector<IoRequest> requests;
    for (size_t i = 0; i < kCount; ++i) {
      requests.push_back(
          Request(op, file_.get(), i * kSpacing, arena_.span(i * kRequestBytes, kRequestBytes), 100 + i));
    }
    return requests;
  }

  // A rule at `offset_in_request` bytes into request i.
  static FaultRule RuleIn(size_t i, FaultKind kind, uint64_t offset_in_request = 0) {
    FaultRule rule;
    rule.kind = kind;
    rule.offset = i * kSpacing + offset_in_request;
    return rule;
  }

  // Runs `requests`, then checks that request `failed` (by index) alone failed with
  // `error_number`, moving nothing, and that every other one completed correctly.
  void ExpectOnlyOneFailed(const std::vector<IoRequest>& requests, size_t failed, int error_number) {
    auto queue = NewQueue(Depth(kCount));
    ASSERT_OK(queue);
    std::vector<IoCompletion> completions;
    ASSERT_NO_FATAL_FAILURE(RunAll(**queue, requests, &completions));
    ASSERT_EQ(completions.size(), requests.size());
    EXPECT_GT(faults_.fired(), 0u) << "the fault never fired";
    std::vector<IoRequest> others;
    std::vector<IoCompletion> other_completions;
    for (size_t i = 0; i < requests.size(); ++i) {
      const IoCompletion* done = FindTag(completions, requests[i].tag);
      ASSERT_NE(done, nullptr) << "tag " << requests[i].tag;
      if (i != failed) {
        others.push_back(requests[i]);
        other_completions.push_back(*done);
        continue;
      }
      EXPECT_EQ(done->status.code(), StatusCode::kIoError) << done->status.ToString();
      EXPECT_EQ(done->status.error_number(), error_number) << done->status.ToString();
      EXPECT_NE(done->status.message().find(path_), std::string::npos) << "no context: " << done->status.message();
      EXPECT_EQ(done->bytes_done, 0u);
      EXPECT_EQ(done->offset, requests[i].offset);
    }
    ExpectAllDone(others, other_completions);
  }

  // Submits request 0 of Batch(kRead) on a fresh queue, its attempt delayed `delay_us`.
  void SubmitDelayedRead(int64_t delay_us, std::unique_ptr<IoQueue>* queue) {
    FaultRule rule = RuleIn(0, FaultKind::kDelay);
    rule.delay_us = delay_us;
    faults_.Add(rule);
    ASSERT_OK_AND_ASSIGN(*queue, NewQueue(Depth(4)));
    ASSERT_OK((*queue)->Prepare(Batch(IoOp::kRead)[0]));
    ASSERT_OK((*queue)->Submit());
  }

  // Reaps the rest of SubmitDelayedRead's request and checks it, with `reaped` so far.
  void ExpectDelayedReadFinishes(IoQueue& queue, std::span<const IoCompletion> reaped) {
    std::vector<IoCompletion> all(reaped.begin(), reaped.end());
    ASSERT_NO_FATAL_FAILURE(ReapAll(queue, &all));
    ExpectAllDone(std::vector{Batch(IoOp::kRead)[0]}, all);
  }

  FaultInjector faults_;
  AlignedBuffer arena_;
};

TEST_P(IoQueueFaultTest, ReadErrorReachesExactlyItsRequest) {
  faults_.Add(RuleIn(3, FaultKind::kError, /*offset_in_request=*/5 * 1024));
  ExpectOnlyOneFailed(Batch(IoOp::kRead), 3, EIO);
  EXPECT_EQ(arena_.data()[3 * kRequestBytes], kStale) << "a failed read must not deliver data";
}

TEST_P(IoQueueFaultTest, WriteErrorReachesExactlyItsRequest) {
  faults_.Add(
      {.kind = FaultKind::kError, .offset = 5 * kSpacing, .any_op = false, .op = IoOp::kWrite, .error_number = ENOSPC});
  std::vector<IoRequest> writes = Batch(IoOp::kWrite);
  for (const IoRequest& write : writes) FillPattern(write.buffer, write.offset, kTestFileId + 9);
  ExpectOnlyOneFailed(writes, 5, ENOSPC);
  // The failed write left the old content; the others replaced it.
  AlignedBuffer back = StaleBuffer(kRequestBytes);
  ASSERT_OK(file_->ReadAt(5 * kSpacing, back.span()));
  EXPECT_EQ(FindPatternMismatch(back.span(), 5 * kSpacing, kTestFileId), std::nullopt);
  ASSERT_OK(file_->ReadAt(4 * kSpacing, back.span()));
  EXPECT_EQ(FindPatternMismatch(back.span(), 4 * kSpacing, kTestFileId + 9), std::nullopt);
}

TEST_P(IoQueueFaultTest, ShortTransfersCompleteWhole) {
  // Two short attempts per request, the second continuing where the first stopped.
  const size_t piece = direct() ? unit() : 1000;
  for (size_t i = 0; i < kCount; ++i) {
    for (uint64_t at : {uint64_t{0}, uint64_t{piece}}) {
      FaultRule rule = RuleIn(i, FaultKind::kShortTransfer, at);
      rule.short_bytes = piece;
      faults_.Add(rule);
    }
  }
  for (IoOp op : {IoOp::kRead, IoOp::kWrite}) {
    SCOPED_TRACE(std::string(IoOpName(op)));
    std::vector<IoRequest> requests = Batch(op);
    for (const IoRequest& request : requests) FillPattern(request.buffer, request.offset, kTestFileId);
    ASSERT_OK_AND_ASSIGN(auto queue, NewQueue(Depth(kCount)));
    const uint64_t fired_before = faults_.fired();
    std::vector<IoCompletion> completions;
    ASSERT_NO_FATAL_FAILURE(RunAll(*queue, requests, &completions));
    ExpectAllDone(requests, completions);
    EXPECT_GE(faults_.fired() - fired_before, 2 * kCount) << "the short transfers never happened";
    if (async()) {
      EXPECT_GT(queue->stats().resubmits, 0u) << "the backend must count the attempts it reissued";
    }
  }
  file_->SetFaultInjector(nullptr);
  AlignedBuffer back = StaleBuffer(kFileBytes);
  ASSERT_OK(file_->ReadAt(0, back.span()));
  EXPECT_EQ(FindPatternMismatch(back.span(), 0, kTestFileId), std::nullopt) << "a short write left a hole";
}

TEST_P(IoQueueFaultTest, DelaysKeepTagsAndDataMatched) {
  const int64_t delays_us[kCount] = {80'000, 0, 30'000, 0, 5'000, 60'000, 0, 10'000};
  size_t rules = 0;
  for (size_t i = 0; i < kCount; ++i) {
    if (delays_us[i] == 0) continue;
    FaultRule rule = RuleIn(i, FaultKind::kDelay);
    rule.delay_us = delays_us[i];
    rule.times = 1;
    faults_.Add(rule);
    ++rules;
  }
  ASSERT_OK_AND_ASSIGN(auto queue, NewQueue(Depth(kCount)));
  const std::vector<IoRequest> requests = Batch(IoOp::kRead);
  std::vector<IoCompletion> completions;
  ASSERT_NO_FATAL_FAILURE(RunAll(*queue, requests, &completions));
  ExpectAllDone(requests, completions);
  EXPECT_EQ(faults_.fired(), rules);
  for (size_t i = 0; i < kCount; ++i) {
    const IoCompletion* done = FindTag(completions, requests[i].tag);
    ASSERT_NE(done, nullptr);
    // A lower bound only: a delayed attempt cannot finish before its delay has passed.
    EXPECT_GE(done->completed_ns - done->submitted_ns, delays_us[i] * 1000) << "tag " << done->tag;
  }
}

TEST_P(IoQueueFaultTest, ReapTimesOutWhenNothingCanComplete) {
  std::unique_ptr<IoQueue> queue;
  ASSERT_NO_FATAL_FAILURE(SubmitDelayedRead(/*delay_us=*/300'000, &queue));
  std::vector<IoCompletion> out(1);
  const int64_t start_ns = NowNs();
  ASSERT_OK_AND_ASSIGN(const uint32_t reaped, queue->Reap(out, /*min_completions=*/1, 50ms));
  const int64_t waited_ns = NowNs() - start_ns;
  if (async()) {
    EXPECT_EQ(reaped, 0u) << "the request was delayed 300 ms";
    EXPECT_GE(waited_ns, 45'000'000) << "returned long before the 50 ms timeout";
  } else {
    EXPECT_EQ(reaped, 1u) << "the sync backend finishes requests inside Submit()";
  }
  ExpectDelayedReadFinishes(*queue, std::span(out).first(reaped));
}

TEST_P(IoQueueFaultTest, ZeroTimeoutReapDoesNotBlock) {
  std::unique_ptr<IoQueue> queue;
  ASSERT_NO_FATAL_FAILURE(SubmitDelayedRead(/*delay_us=*/300'000, &queue));
  std::vector<IoCompletion> out(1);
  const int64_t start_ns = NowNs();
  ASSERT_OK_AND_ASSIGN(const uint32_t zero_timeout, queue->Reap(out, /*min_completions=*/1, 0ns));
  ASSERT_OK_AND_ASSIGN(const uint32_t zero_min, queue->Reap(out, /*min_completions=*/0));
  const int64_t took_ns = NowNs() - start_ns;
  // Sanity bound only: blocking would have meant waiting out the 300 ms delay.
  if (async()) {
    EXPECT_EQ(zero_timeout + zero_min, 0u);
    EXPECT_LT(took_ns, 250'000'000);
  }
  ExpectDelayedReadFinishes(*queue, std::span(out).first(zero_timeout + zero_min));
}

TEST_P(IoQueueFaultTest, DestructorWaitsForRequestsInFlight) {
  for (size_t i = 0; i < kCount; ++i) {
    FaultRule rule = RuleIn(i, FaultKind::kDelay);
    rule.delay_us = static_cast<int64_t>(50'000 + 20'000 * i);  // 50..190 ms.
    faults_.Add(rule);
  }
  const std::vector<IoRequest> requests = Batch(IoOp::kRead);
  {
    ASSERT_OK_AND_ASSIGN(auto queue, NewQueue(Depth(kCount)));
    for (uint32_t i = 0; i < queue->depth(); ++i) ASSERT_OK(queue->Prepare(requests[i]));
    ASSERT_OK(queue->Submit());
    const int64_t start_ns = NowNs();
    queue.reset();  // Without reaping.
    if (async()) {
      EXPECT_GE(NowNs() - start_ns, 45'000'000) << "returned before the first delay was over";
    }
  }
  const size_t submitted = async() ? kCount : 1;
  for (size_t i = 0; i < submitted; ++i) {
    EXPECT_EQ(FindPatternMismatch(requests[i].buffer, requests[i].offset, kTestFileId), std::nullopt)
        << "request " << i << " had not finished when the queue was gone";
  }
  EXPECT_EQ(faults_.fired(), submitted);
}

TEST_P(IoQueueFaultTest, DestructorDropsUnsubmittedRequests) {
  faults_.Add(RuleIn(0, FaultKind::kDelay));  // Counts any attempt on request 0.
  const std::vector<IoRequest> requests = Batch(IoOp::kRead);
  {
    ASSERT_OK_AND_ASSIGN(auto queue, NewQueue(Depth(kCount)));
    ASSERT_OK(queue->Prepare(requests[0]));
  }
  EXPECT_EQ(faults_.fired(), 0u) << "a prepared request was issued";
  EXPECT_EQ(requests[0].buffer[0], kStale);
}

INSTANTIATE_TEST_SUITE_P(Backends, IoQueueFaultTest, AllBackendsAndCacheModes(), QueueParamName);

}  // namespace
}  // namespace iodepth::testutil
