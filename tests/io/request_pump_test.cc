// PumpRequests (io/request_pump.h) over every backend and cache mode: every request a
// source yields reaches done() exactly once, the queue never holds more than its depth,
// an error stops new requests and drains the rest, and a request the queue refuses still
// comes back to done() with the refusal.
#include "io/request_pump.h"

#include <cerrno>
#include <cstdint>
#include <optional>
#include <vector>

#include <gtest/gtest.h>

#include "io/fault_injector.h"
#include "queue_fixture.h"
#include "testutil/status_macros.h"

namespace iodepth::testutil {
namespace {

class RequestPumpTest : public IoQueueTest {
 protected:
  // Reads of kReads x `bytes`, in order; `next` hands them out one by one.
  static constexpr size_t kReads = 40;
  void MakeReads(size_t bytes) {
    arena_ = StaleBuffer(ArenaBytes(kReads, bytes));
    for (size_t i = 0; i < kReads; ++i) {
      requests_.push_back(Read(i * bytes * 2 / unit() * unit(), arena_.span(i * (bytes + kArenaSlack), bytes), i));
    }
  }
  NextRequest Source() {
    return [this]() -> std::optional<IoRequest> {
      if (next_ == requests_.size()) return std::nullopt;
      return requests_[next_++];
    };
  }

  AlignedBuffer arena_;
  std::vector<IoRequest> requests_;
  size_t next_ = 0;
};

TEST_P(RequestPumpTest, EveryRequestCompletesOnceWithinTheDepth) {
  MakeReads(4096);
  ASSERT_OK_AND_ASSIGN(auto queue, NewQueue(Depth(8)));
  std::vector<IoCompletion> completions;
  PumpStats stats;
  ASSERT_OK(PumpRequests(
      *queue, Source(),
      [&](const IoCompletion& done) {
        EXPECT_LE(queue->in_flight() + queue->prepared(), queue->depth());
        completions.push_back(done);
        return Status::OK();
      },
      &stats));
  EXPECT_EQ(stats.requests, kReads);
  EXPECT_LE(stats.max_in_flight, queue->depth());
  EXPECT_EQ(queue->in_flight(), 0u);
  ExpectAllDone(requests_, completions);
}

TEST_P(RequestPumpTest, AnErrorStopsNewRequestsAndDrainsTheRest) {
  MakeReads(4096);
  ASSERT_OK_AND_ASSIGN(auto queue, NewQueue(Depth(4)));
  std::vector<uint64_t> done_tags;
  const Status pumped = PumpRequests(*queue, Source(), [&](const IoCompletion& done) {
    done_tags.push_back(done.tag);
    return done.tag == 5 ? Status::PosixError("checking request 5", EIO) : Status::OK();
  });
  EXPECT_EQ(pumped.error_number(), EIO) << pumped.ToString();
  EXPECT_NE(pumped.message().find("request 5"), std::string::npos) << pumped.message();
  EXPECT_EQ(queue->in_flight(), 0u);
  EXPECT_LT(next_, kReads) << "requests were still issued after the error";
  EXPECT_EQ(done_tags.size(), next_) << "every request handed out must come back once";
}

TEST_P(RequestPumpTest, AFailedCompletionIsTheResult) {
  MakeReads(4096);
  FaultInjector faults;
  FaultRule rule;
  rule.offset = requests_[3].offset;
  rule.times = 1;
  faults.Add(rule);
  file_->SetFaultInjector(&faults);
  ASSERT_OK_AND_ASSIGN(auto queue, NewQueue(Depth(4)));
  size_t done_count = 0;
  const Status pumped = PumpRequests(*queue, Source(), [&](const IoCompletion&) {
    ++done_count;
    return Status::OK();
  });
  file_->SetFaultInjector(nullptr);
  EXPECT_EQ(pumped.error_number(), EIO) << pumped.ToString();
  EXPECT_EQ(done_count, next_);
}

TEST_P(RequestPumpTest, ARefusedRequestComesBackToDoneWithTheRefusal) {
  if (!direct()) GTEST_SKIP() << "only direct I/O refuses a misaligned request";
  MakeReads(4096);
  requests_[2].offset += 1;  // Misaligned for direct I/O: Prepare refuses it.
  ASSERT_OK_AND_ASSIGN(auto queue, NewQueue(Depth(4)));
  std::vector<IoCompletion> completions;
  const Status pumped = PumpRequests(*queue, Source(), [&](const IoCompletion& done) {
    completions.push_back(done);
    return Status::OK();
  });
  EXPECT_FALSE(pumped.ok());
  const IoCompletion* refused = FindTag(completions, 2);
  ASSERT_NE(refused, nullptr) << "the refused request never reached done()";
  EXPECT_FALSE(refused->status.ok());
  EXPECT_EQ(completions.size(), next_);
  EXPECT_EQ(queue->in_flight(), 0u);
}

TEST(CompletionErrorTest, AShortTransferIsAnErrorNamingWhereItStopped) {
  IoCompletion done;
  done.op = IoOp::kWrite;
  done.offset = 8192;
  done.length = 4096;
  done.bytes_done = 512;
  const Status error = CompletionError(done);
  EXPECT_EQ(error.error_number(), EIO);
  EXPECT_NE(error.message().find("write at offset 8192 stopped after 512 of 4096 bytes"), std::string::npos)
      << error.message();
  done.bytes_done = 4096;
  EXPECT_OK(CompletionError(done));
}

INSTANTIATE_TEST_SUITE_P(Backends, RequestPumpTest, AllBackendsAndCacheModes(), QueueParamName);

}  // namespace
}  // namespace iodepth::testutil
