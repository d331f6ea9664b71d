// The IoQueue conformance suite: the rules io/io_queue.h promises, checked against every
// backend in buffered and direct mode. Injected faults and shutdown are in
// io_queue_fault_test.cc; the shared fixture is queue_fixture.h.
#include "io/io_queue.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/block_pattern.h"
#include "common/clock.h"
#include "io/fault_injector.h"
#include "queue_fixture.h"
#include "testutil/status_macros.h"

namespace iodepth::testutil {
namespace {

using namespace std::chrono_literals;

constexpr size_t kMaxRandomBytes = 64 * 1024;

TEST_P(IoQueueTest, WhatIsWrittenIsWhatIsRead) {
  const uint64_t other_id = kTestFileId + 1;
  ASSERT_OK_AND_ASSIGN(auto file, OpenFile(dir_.File("written"), /*create=*/true));
  ASSERT_OK_AND_ASSIGN(auto queue, NewQueue(Depth(8)));
  constexpr size_t kBlocks = 24;
  constexpr size_t kBlockBytes = 16 * 1024;
  AlignedBuffer data = StaleBuffer(kBlocks * kBlockBytes);
  AlignedBuffer back = StaleBuffer(kBlocks * kBlockBytes);
  std::vector<IoRequest> writes, reads;
  for (size_t i = 0; i < kBlocks; ++i) {
    // Written out of order, so each block must land at its own offset.
    const uint64_t offset = ((i * 7) % kBlocks) * kBlockBytes;
    FillPattern(data.span(i * kBlockBytes, kBlockBytes), offset, other_id);
    writes.push_back(Request(IoOp::kWrite, file.get(), offset, data.span(i * kBlockBytes, kBlockBytes), i));
    reads.push_back(Request(IoOp::kRead, file.get(), offset, back.span(i * kBlockBytes, kBlockBytes), i));
  }
  std::vector<IoCompletion> written, read;
  ASSERT_NO_FATAL_FAILURE(RunAll(*queue, writes, &written));
  ExpectAllDone(writes, written, other_id);
  ASSERT_NO_FATAL_FAILURE(RunAll(*queue, reads, &read));
  ExpectAllDone(reads, read, other_id);
  // And through the synchronous path, which shares no code with the async backends.
  AlignedBuffer whole = StaleBuffer(kBlocks * kBlockBytes);
  ASSERT_OK_AND_ASSIGN(const size_t done, file->ReadAt(0, whole.span()));
  EXPECT_EQ(done, whole.size());
  EXPECT_EQ(FindPatternMismatch(whole.span(), 0, other_id), std::nullopt);
}

TEST_P(IoQueueTest, RandomMixedBatchesReadTheirOwnRanges) {
  ASSERT_OK_AND_ASSIGN(auto queue, NewQueue(Depth(16)));
  constexpr size_t kCount = 300;
  AlignedBuffer arena = StaleBuffer(ArenaBytes(kCount, kMaxRandomBytes));
  const std::vector<IoRequest> requests = RandomReads(/*seed=*/42, kCount, kMaxRandomBytes, arena);
  std::vector<IoCompletion> completions;
  ASSERT_NO_FATAL_FAILURE(RunAll(*queue, requests, &completions));
  ExpectAllDone(requests, completions);
  EXPECT_EQ(queue->stats().submitted, kCount);
  EXPECT_EQ(queue->stats().reaped, kCount);
  EXPECT_GE(queue->stats().submit_calls, kCount / queue->depth());
  EXPECT_LE(queue->stats().submit_calls, kCount);
  EXPECT_EQ(queue->prepared() + queue->in_flight(), 0u);
}

TEST_P(IoQueueTest, DepthsBeyondThirtyTwoKeepEveryRequestInFlightAtOnce) {
  // Depth 256 and the largest depth: the whole depth prepared and submitted in one batch
  // (an io_uring ring sized to the depth, a worker pool of its own size), every request
  // then in flight, every one reaped with its own bytes.
  for (const uint32_t wanted : {256u, IoQueue::kMaxDepth}) {
    SCOPED_TRACE(wanted);
    ASSERT_OK_AND_ASSIGN(auto queue, NewQueue(Depth(wanted)));
    const uint32_t depth = queue->depth();
    constexpr size_t kBlock = 512;  // kMaxDepth blocks of 512 bytes fit the 2 MiB file.
    const size_t block = cache() == CacheMode::kDirect ? 4096 : kBlock;
    const uint32_t count = std::min<uint32_t>(depth, static_cast<uint32_t>(kFileBytes / block));
    AlignedBuffer buffer = StaleBuffer(size_t{count} * block);
    std::vector<IoRequest> requests;
    for (uint32_t i = 0; i < count; ++i) {
      requests.push_back(Read(uint64_t{i} * block, buffer.span(size_t{i} * block, block), i));
      ASSERT_OK(queue->Prepare(requests.back()));
    }
    ASSERT_OK_AND_ASSIGN(const uint32_t submitted, queue->Submit());
    EXPECT_EQ(submitted, count);
    EXPECT_EQ(queue->in_flight(), count);
    std::vector<IoCompletion> completions;
    ASSERT_NO_FATAL_FAILURE(ReapAll(*queue, &completions));
    ExpectAllDone(requests, completions);
  }
}

TEST_P(IoQueueTest, TagsAreReturnedUntouched) {
  ASSERT_OK_AND_ASSIGN(auto queue, NewQueue(Depth(4)));
  const uint64_t tags[] = {0, UINT64_MAX, 0x8000000000000000ULL, 0xDEADBEEFCAFEF00DULL, 1, 0x7FFFFFFFFFFFFFFFULL};
  AlignedBuffer buffer = StaleBuffer(std::size(tags) * 4096);
  std::vector<IoRequest> requests;
  for (size_t i = 0; i < std::size(tags); ++i) requests.push_back(Read(i * 4096, buffer.span(i * 4096, 4096), tags[i]));
  std::vector<IoCompletion> completions;
  ASSERT_NO_FATAL_FAILURE(RunAll(*queue, requests, &completions));
  ExpectAllDone(requests, completions);
}

TEST_P(IoQueueTest, TimestampsLieBetweenSubmitAndReap) {
  ASSERT_OK_AND_ASSIGN(auto queue, NewQueue(Depth(4)));
  AlignedBuffer buffer = StaleBuffer(4 * 4096);
  for (uint32_t i = 0; i < queue->depth(); ++i)
    ASSERT_OK(queue->Prepare(Read(i * 4096, buffer.span(i * 4096, 4096), i)));
  const int64_t before_ns = NowNs();
  ASSERT_OK(queue->Submit());
  std::vector<IoCompletion> completions;
  ASSERT_NO_FATAL_FAILURE(ReapAll(*queue, &completions));
  const int64_t after_ns = NowNs();
  ASSERT_EQ(completions.size(), queue->depth());
  for (const IoCompletion& done : completions) {
    EXPECT_LE(before_ns, done.submitted_ns);
    EXPECT_LE(done.submitted_ns, done.completed_ns);
    EXPECT_LE(done.completed_ns, after_ns);
  }
}

TEST_P(IoQueueTest, ShortReadAtEndOfFileIsNotAnError) {
  // Tails off the direct alignment (1000), on it but off a page (1536), and none (0).
  for (uint64_t tail : {uint64_t{1000}, uint64_t{1536}, uint64_t{0}}) {
    SCOPED_TRACE("tail " + std::to_string(tail));
    const uint64_t size = 3 * 4096 + tail;
    const std::string path = dir_.File("tail" + std::to_string(tail));
    ASSERT_OK(WritePatternFile(path, size, kTestFileId));
    ASSERT_OK_AND_ASSIGN(auto file, OpenFile(path));
    ASSERT_OK_AND_ASSIGN(auto queue, NewQueue(Depth(4)));
    AlignedBuffer buffer = StaleBuffer(4 * 8192);
    const std::vector<IoRequest> requests = {
        Request(IoOp::kRead, file.get(), 2 * 4096, buffer.span(0, 8192), /*tag=*/0),          // Straddles EOF.
        Request(IoOp::kRead, file.get(), 3 * 4096, buffer.span(8192, 8192), /*tag=*/1),       // Starts in the tail.
        Request(IoOp::kRead, file.get(), 4 * 4096, buffer.span(16384, 8192), /*tag=*/2),      // Past EOF.
        Request(IoOp::kRead, file.get(), 1000 * 4096, buffer.span(24576, 8192), /*tag=*/3)};  // Far past EOF.
    const size_t expected_bytes[] = {4096 + tail, tail, 0, 0};
    std::vector<IoCompletion> completions;
    ASSERT_NO_FATAL_FAILURE(RunAll(*queue, requests, &completions));
    for (size_t i = 0; i < requests.size(); ++i) {
      const IoCompletion* done = FindTag(completions, i);
      ASSERT_NE(done, nullptr);
      EXPECT_TRUE(done->status.ok()) << done->status.ToString();
      EXPECT_EQ(done->bytes_done, expected_bytes[i]) << "request " << i;
      const std::span<std::byte> got = requests[i].buffer;
      EXPECT_EQ(FindPatternMismatch(got.first(done->bytes_done), requests[i].offset, kTestFileId), std::nullopt);
      EXPECT_TRUE(std::all_of(got.begin() + static_cast<ptrdiff_t>(done->bytes_done), got.end(),
                              [](std::byte b) { return b == std::byte{0}; }))
          << "request " << i << ": the part past end of file must be zeroed";
    }
  }
}

TEST_P(IoQueueTest, FullQueueRefusesAndQueuesNothing) {
  ASSERT_OK_AND_ASSIGN(auto queue, NewQueue(Depth(4)));
  const uint32_t depth = queue->depth();
  AlignedBuffer buffer = StaleBuffer((depth + 1) * 4096);
  const auto request = [&](uint32_t i) { return Read(i * 4096, buffer.span(i * 4096, 4096), i); };
  for (uint32_t i = 0; i < depth; ++i) ASSERT_OK(queue->Prepare(request(i)));
  const Status full = queue->Prepare(request(depth));
  EXPECT_EQ(full.code(), StatusCode::kQueueFull) << full.ToString();
  EXPECT_EQ(queue->prepared(), depth);
  ASSERT_OK_AND_ASSIGN(const uint32_t submitted, queue->Submit());
  EXPECT_EQ(submitted, depth) << "the refused request must not have been queued";
  EXPECT_EQ(queue->in_flight(), depth);
  EXPECT_EQ(queue->Prepare(request(depth)).code(), StatusCode::kQueueFull) << "in-flight requests count too";
  std::vector<IoCompletion> completions;
  ASSERT_NO_FATAL_FAILURE(ReapAll(*queue, &completions));
  ASSERT_EQ(completions.size(), depth);
  EXPECT_EQ(FindTag(completions, depth), nullptr);
  EXPECT_TRUE(std::all_of(buffer.data() + depth * 4096, buffer.data() + buffer.size(), [](std::byte b) {
    return b == kStale;
  })) << "the refused request was executed";
  EXPECT_OK(queue->Prepare(request(depth))) << "room again after reaping";
}

TEST_P(IoQueueTest, ReapDoesNotSubmitPreparedRequests) {
  ASSERT_OK_AND_ASSIGN(auto queue, NewQueue(Depth(2)));
  AlignedBuffer buffer = StaleBuffer(4096);
  ASSERT_OK(queue->Prepare(Read(0, buffer.span(), 7)));
  IoCompletion out[1];
  ASSERT_OK_AND_ASSIGN(const uint32_t reaped, queue->Reap(out, /*min_completions=*/1, 20ms));
  EXPECT_EQ(reaped, 0u);
  EXPECT_EQ(queue->prepared(), 1u);
  EXPECT_EQ(queue->in_flight(), 0u);
  EXPECT_EQ(buffer.data()[0], kStale);
  std::vector<IoCompletion> completions;
  ASSERT_NO_FATAL_FAILURE(ReapAll(*queue, &completions));
  ExpectAllDone(std::vector{Read(0, buffer.span(), 7)}, completions);
}

TEST_P(IoQueueTest, ReapOnAnIdleQueueReturnsAtOnce) {
  ASSERT_OK_AND_ASSIGN(auto queue, NewQueue(Depth(4)));
  IoCompletion out[4];
  const int64_t start_ns = NowNs();
  ASSERT_OK_AND_ASSIGN(const uint32_t reaped, queue->Reap(out, /*min_completions=*/1, 5s));
  EXPECT_EQ(reaped, 0u);
  EXPECT_LT(NowNs() - start_ns, 2'500'000'000) << "waited for a completion that could never come";
  ASSERT_OK_AND_ASSIGN(const uint32_t unbounded, queue->Reap(out, /*min_completions=*/1));  // Must not hang.
  EXPECT_EQ(unbounded, 0u);
}

TEST_P(IoQueueTest, PollingWithZeroTimeoutPicksUpFinishedRequests) {
  for (uint32_t min_completions : {0u, 1u}) {
    SCOPED_TRACE("min_completions " + std::to_string(min_completions));
    ASSERT_OK_AND_ASSIGN(auto queue, NewQueue(Depth(4)));
    AlignedBuffer buffer = StaleBuffer(8192);
    const std::vector<IoRequest> requests = {Read(0, buffer.span(), 1)};
    ASSERT_OK(queue->Prepare(requests[0]));
    ASSERT_OK(queue->Submit());
    std::vector<IoCompletion> out(1);
    uint32_t reaped = 0;
    // A poller that never blocks must still see the request finish (bounded: 5 s).
    for (int64_t give_up_ns = NowNs() + 5'000'000'000; reaped == 0 && NowNs() < give_up_ns;) {
      ASSERT_OK_AND_ASSIGN(reaped, queue->Reap(out, min_completions, 0ns));
      if (reaped == 0) std::this_thread::sleep_for(1ms);
    }
    ASSERT_EQ(reaped, 1u) << "a finished request never reached a zero-timeout Reap";
    ExpectAllDone(requests, out);
  }
}

TEST_P(IoQueueTest, MisalignedDirectRequestIsRefusedAtPrepare) {
  ASSERT_OK_AND_ASSIGN(auto queue, NewQueue(Depth(4)));
  AlignedBuffer buffer = StaleBuffer(6 * 4096);
  const std::vector<IoRequest> odd = {
      Read(4096 + 1, buffer.span(0, 4096), 0),         // Offset.
      Read(4096, buffer.span(2 * 4096, 4096 + 3), 1),  // Length.
      Read(4096, buffer.span(4 * 4096 + 1, 4096), 2),  // Buffer address.
  };
  if (!direct()) {  // Buffered I/O takes any of them.
    std::vector<IoCompletion> completions;
    ASSERT_NO_FATAL_FAILURE(RunAll(*queue, odd, &completions));
    ExpectAllDone(odd, completions);
    return;
  }
  for (const IoRequest& request : odd) {
    const Status status = queue->Prepare(request);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << "tag " << request.tag << ": " << status.ToString();
    EXPECT_EQ(queue->prepared(), 0u);
  }
  ASSERT_OK_AND_ASSIGN(const uint32_t submitted, queue->Submit());
  EXPECT_EQ(submitted, 0u);
}

TEST_P(IoQueueTest, MalformedRequestsAreRefusedAtPrepare) {
  ASSERT_OK_AND_ASSIGN(auto queue, NewQueue(Depth(4)));
  AlignedBuffer buffer = StaleBuffer(4096);
  const Status no_file = queue->Prepare(Request(IoOp::kRead, nullptr, 0, buffer.span(), 0));
  EXPECT_EQ(no_file.code(), StatusCode::kInvalidArgument) << no_file.ToString();
  EXPECT_EQ(queue->prepared(), 0u);
}

TEST_P(IoQueueTest, ManyQueuesOnManyThreadsShareOneFile) {
  constexpr int kThreads = 8;
  constexpr size_t kCount = 60;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t] {
      // The queue is made, used and destroyed on its own thread (io_uring's single issuer).
      auto queue = NewQueue(Depth(8));
      ASSERT_TRUE(queue.has_value()) << queue.error().ToString();
      AlignedBuffer arena = StaleBuffer(ArenaBytes(kCount, kMaxRandomBytes));
      const std::vector<IoRequest> requests =
          RandomReads(/*seed=*/1000 + static_cast<uint64_t>(t), kCount, kMaxRandomBytes, arena);
      std::vector<IoCompletion> completions;
      ASSERT_NO_FATAL_FAILURE(RunAll(**queue, requests, &completions));
      ExpectAllDone(requests, completions);
    });
  }
  for (std::thread& thread : threads) thread.join();
}

// io_uring's optional setups (other backends accept and ignore the options).
TEST_P(IoQueueTest, UringSetupOptionsStillReadCorrectly) {
  struct Setup {
    const char* name;
    bool register_files, fixed_buffers, sqpoll;
  };
  const Setup setups[] = {{"registered files and fixed buffers", true, true, false},
                          {"sqpoll", false, false, true},
                          {"sqpoll with registered files", true, false, true}};
  constexpr size_t kCount = 64;
  for (const Setup& setup : setups) {
    SCOPED_TRACE(setup.name);
    IoQueueOptions options;
    options.uring_register_files = setup.register_files;
    options.uring_fixed_buffers = setup.fixed_buffers;
    options.uring_sqpoll = setup.sqpoll;
    ASSERT_OK_AND_ASSIGN(auto queue, NewQueue(Depth(8), options));
    AlignedBuffer arena = StaleBuffer(ArenaBytes(kCount, kMaxRandomBytes));
    const std::span<std::byte> regions[] = {arena.span()};
    ASSERT_OK(queue->RegisterBuffers(regions));
    const std::vector<IoRequest> requests = RandomReads(/*seed=*/7, kCount, kMaxRandomBytes, arena);
    std::vector<IoCompletion> completions;
    ASSERT_NO_FATAL_FAILURE(RunAll(*queue, requests, &completions));
    ExpectAllDone(requests, completions);
  }
}

// A file closed after its requests were reaped may be followed by another that gets the
// same descriptor number; the queue must read the new file, not a stale registration.
TEST_P(IoQueueTest, RegisteredFilesFollowAReusedDescriptor) {
  IoQueueOptions options;
  options.uring_register_files = true;
  ASSERT_OK_AND_ASSIGN(auto queue, NewQueue(Depth(2), options));
  AlignedBuffer buffer = StaleBuffer(8192);
  std::optional<int> previous_fd;
  for (uint64_t file_id : {uint64_t{1}, uint64_t{2}, uint64_t{3}}) {
    SCOPED_TRACE("file id " + std::to_string(file_id));
    const std::string path = dir_.File("reused" + std::to_string(file_id));
    ASSERT_OK(WritePatternFile(path, 8192, file_id));
    ASSERT_OK_AND_ASSIGN(auto file, OpenFile(path));
    if (previous_fd) {
      EXPECT_EQ(file->fd(), *previous_fd) << "the kernel hands out the lowest free descriptor";
    }
    previous_fd = file->fd();
    const std::vector<IoRequest> requests = {Request(IoOp::kRead, file.get(), 0, buffer.span(), file_id)};
    std::vector<IoCompletion> completions;
    ASSERT_NO_FATAL_FAILURE(RunAll(*queue, requests, &completions));
    ExpectAllDone(requests, completions, file_id);
  }
}

// IOSQE_ASYNC changes where a buffered read runs, never what it reads.
TEST_P(IoQueueTest, EveryUringAsyncModeReadsTheSameBytes) {
  constexpr size_t kCount = 64;
  for (const UringAsync mode : {UringAsync::kNever, UringAsync::kAlways, UringAsync::kAuto}) {
    SCOPED_TRACE(std::string(UringAsyncName(mode)));
    IoQueueOptions options;
    options.uring_async = mode;
    ASSERT_OK_AND_ASSIGN(auto queue, NewQueue(Depth(16), options));
    AlignedBuffer arena = StaleBuffer(ArenaBytes(kCount, kMaxRandomBytes));
    const std::vector<IoRequest> requests = RandomReads(/*seed=*/11, kCount, kMaxRandomBytes, arena);
    std::vector<IoCompletion> completions;
    ASSERT_NO_FATAL_FAILURE(RunAll(*queue, requests, &completions));
    ExpectAllDone(requests, completions);
    const bool marks = backend() == Backend::kIoUring && !direct() && mode != UringAsync::kNever;
    EXPECT_EQ(queue->stats().async_issued > 0, marks) << queue->stats().async_issued;
  }
}

// One batch of 8 reads of cached pages: which are marked IOSQE_ASYNC, and which complete
// inside Submit(). The sync backend runs every request there and the worker backend none;
// io_uring (with DEFER_TASKRUN, where nothing else is posted during a submit) serves
// unmarked buffered reads of cached pages inline and marked ones in its workers.
TEST_P(IoQueueTest, InlineCompletionsAndAsyncMarksPerMode) {
  constexpr uint32_t kBatch = 8;
  const size_t bytes = direct() ? unit() : 4096;
  struct Case {
    UringAsync mode;
    uint32_t uring_buffered_async;  // Reads marked, of the batch, on io_uring buffered.
  };
  // auto marks a buffered read once more than kUringAsyncInFlight are in flight with it.
  const Case cases[] = {{UringAsync::kNever, 0}, {UringAsync::kAlways, kBatch}, {UringAsync::kAuto, kBatch - 4}};
  static_assert(kUringAsyncInFlight == 4 && kUringAsyncMinBytes > 4096, "the auto case assumes the rule's values");
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(UringAsyncName(c.mode)));
    IoQueueOptions options;
    options.uring_async = c.mode;
    ASSERT_OK_AND_ASSIGN(auto queue, NewQueue(Depth(kBatch), options));
    AlignedBuffer arena = StaleBuffer(kBatch * bytes);
    std::vector<IoRequest> requests;
    for (uint32_t i = 0; i < Depth(kBatch); ++i) requests.push_back(Read(i * bytes, arena.span(i * bytes, bytes), i));
    std::vector<IoCompletion> completions;
    ASSERT_NO_FATAL_FAILURE(RunAll(*queue, requests, &completions));  // Warms the page cache.
    const IoQueueStats before = queue->stats();
    completions.clear();
    for (const IoRequest& request : requests) ASSERT_OK(queue->Prepare(request));
    ASSERT_OK_AND_ASSIGN(const uint32_t submitted, queue->Submit());
    const IoQueueStats batch = queue->stats() - before;
    ASSERT_NO_FATAL_FAILURE(ReapAll(*queue, &completions));
    ExpectAllDone(requests, completions);
    EXPECT_GT(batch.submit_ns, 0);
    const bool uring_buffered = backend() == Backend::kIoUring && !direct();
    EXPECT_EQ(batch.async_issued, uring_buffered ? c.uring_buffered_async : 0u);
    if (backend() == Backend::kSync) {
      EXPECT_EQ(batch.inline_completions, submitted);
    }
    if (backend() == Backend::kWorker) {
      EXPECT_EQ(batch.inline_completions, 0u);
    }
    if (uring_buffered && queue->features().find("defer_taskrun") != std::string::npos) {
      EXPECT_EQ(batch.inline_completions, submitted - batch.async_issued);
    }
  }
}

TEST_P(IoQueueTest, RegisterBuffersRefusedWhileRequestsArePending) {
  ASSERT_OK_AND_ASSIGN(auto queue, NewQueue(Depth(2)));
  AlignedBuffer buffer = StaleBuffer(4096);
  ASSERT_OK(queue->Prepare(Read(0, buffer.span(), 0)));
  const std::span<std::byte> regions[] = {buffer.span()};
  EXPECT_FALSE(queue->RegisterBuffers(regions).ok());
  std::vector<IoCompletion> completions;
  ASSERT_NO_FATAL_FAILURE(ReapAll(*queue, &completions));
  EXPECT_EQ(completions.size(), 1u);
}

TEST_P(IoQueueTest, QueueNamesItsBackend) {
  ASSERT_OK_AND_ASSIGN(auto queue, NewQueue(Depth(4)));
  EXPECT_EQ(queue->backend_name(), BackendName(backend()));
  EXPECT_FALSE(queue->features().empty());
  EXPECT_EQ(queue->depth(), Depth(4));
}

INSTANTIATE_TEST_SUITE_P(Backends, IoQueueTest, AllBackendsAndCacheModes(), QueueParamName);

// Threads of this process other than io_uring's kernel workers (iou-wrk, iou-sqp), which
// come and go on their own.
int CountOwnThreads() {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(entry.path() / "comm");
    std::string name;
    std::getline(comm, name);
    if (name.rfind("iou-", 0) != 0) ++count;
  }
  return count;
}

TEST(WorkerQueueTest, WorkerThreadsOptionIsHonoured) {
  // {worker_threads, depth, expected threads}: 0 means one per unit of depth, at most 64.
  const uint32_t cases[][3] = {{3, 8, 3}, {0, 5, 5}, {0, 100, 64}, {1, 1, 1}};
  // ThreadSanitizer starts a helper thread along with a process's first other thread;
  // start it now so that it is not counted as a worker.
  std::thread([] {}).join();
  for (const auto& [worker_threads, depth, expected] : cases) {
    SCOPED_TRACE("worker_threads " + std::to_string(worker_threads) + ", depth " + std::to_string(depth));
    const int before = CountOwnThreads();
    IoQueueOptions options;
    options.backend = Backend::kWorker;
    options.depth = depth;
    options.worker_threads = worker_threads;
    ASSERT_OK_AND_ASSIGN(auto queue, MakeIoQueue(options));
    EXPECT_EQ(CountOwnThreads() - before, static_cast<int>(expected));
    EXPECT_NE(queue->features().find(std::to_string(expected)), std::string::npos) << queue->features();
    queue.reset();
    EXPECT_EQ(CountOwnThreads(), before) << "the destructor must join its threads";
  }
}

TEST(MakeIoQueueTest, RefusesDepthsOutOfRange) {
  for (Backend backend : {Backend::kAuto, Backend::kIoUring, Backend::kWorker, Backend::kSync}) {
    for (uint32_t depth : {0u, IoQueue::kMaxDepth + 1}) {
      IoQueueOptions options;
      options.backend = backend;
      options.depth = depth;
      const auto queue = MakeIoQueue(options);
      ASSERT_FALSE(queue.has_value()) << BackendName(backend) << " depth " << depth;
      EXPECT_EQ(queue.error().code(), StatusCode::kInvalidArgument);
      EXPECT_NE(queue.error().message().find(std::to_string(depth)), std::string::npos) << queue.error().message();
    }
  }
}

TEST(MakeIoQueueTest, SyncBackendRequiresDepthOne) {
  IoQueueOptions options;
  options.backend = Backend::kSync;
  options.depth = 2;
  const auto queue = MakeIoQueue(options);
  ASSERT_FALSE(queue.has_value());
  EXPECT_EQ(queue.error().code(), StatusCode::kInvalidArgument);
  options.depth = 1;
  EXPECT_OK(MakeIoQueue(options));
}

TEST(MakeIoQueueTest, AutoPrefersIoUringAndExplainsAFallback) {
  IoQueueOptions options;
  options.depth = 4;
  std::string notice;
  ASSERT_OK_AND_ASSIGN(auto queue, MakeIoQueue(options, &notice));
  if (ProbeIoUring().ok()) {
    EXPECT_EQ(queue->backend_name(), "io_uring");
    EXPECT_TRUE(notice.empty()) << notice;
  } else {
    EXPECT_EQ(queue->backend_name(), "worker");
    EXPECT_FALSE(notice.empty());
  }
}

TEST(ParseBackendTest, AcceptsEveryNameAndAlias) {
  const std::pair<std::string_view, Backend> cases[] = {{"auto", Backend::kAuto},     {"io_uring", Backend::kIoUring},
                                                        {"uring", Backend::kIoUring}, {"worker", Backend::kWorker},
                                                        {"sync", Backend::kSync},     {"psync", Backend::kSync}};
  for (const auto& [name, backend] : cases) {
    ASSERT_OK_AND_ASSIGN(const Backend parsed, ParseBackend(name));
    EXPECT_EQ(parsed, backend) << name;
    ASSERT_OK_AND_ASSIGN(const Backend round_trip, ParseBackend(BackendName(backend)));
    EXPECT_EQ(round_trip, backend);
  }
}

TEST(ParseUringAsyncTest, NamesRoundTripAndUnknownOnesAreRefused) {
  for (const UringAsync mode : {UringAsync::kAuto, UringAsync::kAlways, UringAsync::kNever}) {
    ASSERT_OK_AND_ASSIGN(const UringAsync parsed, ParseUringAsync(UringAsyncName(mode)));
    EXPECT_EQ(parsed, mode);
  }
  const auto parsed = ParseUringAsync("sometimes");
  ASSERT_FALSE(parsed.has_value());
  EXPECT_NE(parsed.error().message().find("never"), std::string::npos) << parsed.error().message();
}

TEST(ParseBackendTest, RejectsUnknownNamesSayingWhatIsAllowed) {
  for (std::string_view name : {"", "libaio", "IO_URING", "sync "}) {
    const auto parsed = ParseBackend(name);
    ASSERT_FALSE(parsed.has_value()) << "'" << name << "'";
    EXPECT_EQ(parsed.error().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(parsed.error().message().find("worker"), std::string::npos) << parsed.error().message();
  }
}

}  // namespace
}  // namespace iodepth::testutil
