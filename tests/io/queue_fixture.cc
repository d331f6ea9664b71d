#include "queue_fixture.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <unordered_map>

#include "common/block_pattern.h"
#include "testutil/status_macros.h"

namespace iodepth::testutil {

namespace {

constexpr auto kProgressTimeout = std::chrono::seconds(30);

}  // namespace

void IoQueueTest::SetUp() {
  if (backend() == Backend::kIoUring) {
    const Status probe = ProbeIoUring();
    if (!probe.ok()) GTEST_SKIP() << "io_uring unavailable: " << probe.ToString();
  }
  path_ = dir_.File("data");
  ASSERT_OK(WritePatternFile(path_, kFileBytes, kTestFileId));
  auto file = OpenFile(path_);
  if (cache() == CacheMode::kDontcache && !file.has_value() && file.error().code() == StatusCode::kNotSupported) {
    GTEST_SKIP() << file.error().ToString();
  }
  ASSERT_OK_AND_ASSIGN(file_, std::move(file));
  ASSERT_EQ(file_->direct(), direct());
  ASSERT_LE(file_->alignment().memory_bytes, 4096u) << "StaleBuffer aligns to 4096";
}

Result<std::unique_ptr<IoQueue>> IoQueueTest::NewQueue(uint32_t depth, IoQueueOptions options) const {
  options.backend = backend();
  options.depth = depth;
  return MakeIoQueue(options);
}

Result<std::unique_ptr<File>> IoQueueTest::OpenFile(const std::string& path, bool create) const {
  OpenOptions options;
  options.access = AccessMode::kReadWrite;
  options.cache = cache();
  options.create = create;
  return File::Open(path, options);
}

AlignedBuffer IoQueueTest::StaleBuffer(size_t size_bytes) {
  AlignedBuffer buffer = AlignedBuffer::Allocate(size_bytes, 4096).value();
  std::fill(buffer.data(), buffer.data() + size_bytes, kStale);
  return buffer;
}

std::vector<IoRequest> IoQueueTest::RandomReads(uint64_t seed, size_t count, size_t max_bytes,
                                                const AlignedBuffer& arena) const {
  const size_t stride = max_bytes + kArenaSlack;
  EXPECT_GE(arena.size(), ArenaBytes(count, max_bytes));
  const uint64_t step = unit();
  std::mt19937_64 rng(seed);
  std::vector<IoRequest> requests;
  for (size_t i = 0; i < count; ++i) {
    const uint64_t length = step * (1 + rng() % (max_bytes / step));
    const uint64_t offset = step * (rng() % ((kFileBytes - length) / step + 1));
    // Buffered requests also get an odd buffer address; direct ones keep the arena's.
    const size_t skew = direct() ? 0 : static_cast<size_t>(rng() % 63);
    requests.push_back(Read(offset, arena.span(i * stride + skew, length), /*tag=*/i));
  }
  return requests;
}

void IoQueueTest::RunAll(IoQueue& queue, std::span<const IoRequest> requests, std::vector<IoCompletion>* out) {
  std::vector<IoCompletion> batch(queue.depth());
  size_t next = 0;
  while (next < requests.size() || queue.prepared() + queue.in_flight() > 0) {
    while (next < requests.size() && queue.prepared() + queue.in_flight() < queue.depth()) {
      ASSERT_OK(queue.Prepare(requests[next]));
      ++next;
      ASSERT_LE(queue.prepared() + queue.in_flight(), queue.depth());
    }
    ASSERT_OK_AND_ASSIGN(const uint32_t submitted, queue.Submit());
    ASSERT_EQ(queue.prepared(), 0u) << submitted << " submitted";
    ASSERT_OK_AND_ASSIGN(const uint32_t reaped, queue.Reap(batch, /*min_completions=*/1, kProgressTimeout));
    ASSERT_GT(reaped, 0u) << "no completion within 30 s; " << queue.in_flight() << " in flight";
    ASSERT_LE(reaped, batch.size());
    out->insert(out->end(), std::make_move_iterator(batch.begin()), std::make_move_iterator(batch.begin() + reaped));
  }
}

void IoQueueTest::ReapAll(IoQueue& queue, std::vector<IoCompletion>* out) { RunAll(queue, {}, out); }

void IoQueueTest::ExpectAllDone(std::span<const IoRequest> requests, std::span<const IoCompletion> completions,
                                uint64_t file_id) {
  ASSERT_EQ(completions.size(), requests.size());
  std::unordered_map<uint64_t, size_t> index_of_tag;
  for (size_t i = 0; i < requests.size(); ++i) index_of_tag[requests[i].tag] = i;
  ASSERT_EQ(index_of_tag.size(), requests.size()) << "the test gave two requests one tag";
  std::vector<int> seen(requests.size(), 0);
  for (const IoCompletion& done : completions) {
    const auto found = index_of_tag.find(done.tag);
    ASSERT_NE(found, index_of_tag.end()) << "completion with unknown tag " << done.tag;
    const IoRequest& request = requests[found->second];
    SCOPED_TRACE("tag " + std::to_string(done.tag) + ", offset " + std::to_string(request.offset) + ", length " +
                 std::to_string(request.buffer.size()));
    EXPECT_EQ(++seen[found->second], 1) << "completed twice";
    EXPECT_TRUE(done.status.ok()) << done.status.ToString();
    EXPECT_EQ(done.op, request.op);
    EXPECT_EQ(done.offset, request.offset);
    EXPECT_EQ(done.length, request.buffer.size());
    EXPECT_EQ(done.bytes_done, request.buffer.size());
    EXPECT_GT(done.submitted_ns, 0);
    EXPECT_LE(done.submitted_ns, done.completed_ns);
    if (request.op == IoOp::kRead) {
      EXPECT_EQ(FindPatternMismatch(request.buffer, request.offset, file_id), std::nullopt);
    }
  }
}

const IoCompletion* IoQueueTest::FindTag(std::span<const IoCompletion> completions, uint64_t tag) {
  const auto found =
      std::find_if(completions.begin(), completions.end(), [tag](const IoCompletion& c) { return c.tag == tag; });
  return found == completions.end() ? nullptr : &*found;
}

std::string QueueParamName(const ::testing::TestParamInfo<QueueParam>& param_info) {
  const Backend backend = std::get<0>(param_info.param);
  const char* backend_label = backend == Backend::kIoUring  ? "IoUring"
                              : backend == Backend::kWorker ? "Worker"
                                                            : "Sync";
  return std::string(backend_label) + "_" + CacheModeLabel(std::get<1>(param_info.param));
}

}  // namespace iodepth::testutil
