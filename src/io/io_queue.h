// io/: the file layer. It owns files, aligned buffers and the asynchronous queues that
// move bytes between them and the device. It knows nothing of pages, tables or logs, and
// it never decides *what* to read: callers above it do.
//
// IoQueue: the asynchronous, batched interface. A caller prepares requests (read or
// write; file, offset, buffer, tag), submits them as a batch, and later reaps their
// completions, in any order. Three interchangeable backends implement it:
//
//   io_uring  liburing; the default where the kernel allows it.
//   worker    a pool of threads doing blocking pread/pwrite; portable.
//   sync      runs each request inside Submit(); depth 1; the baseline.
//
// Life of a request:
//
//   Prepare() --> [prepared] --Submit()--> [in flight] --(device)--> [done] --Reap()--> caller
//
// Rules every backend keeps (the conformance suite in tests/io checks each):
// - Depth: prepared + in flight never exceeds depth(). A full queue *refuses*: Prepare()
//   returns kQueueFull at once and nothing is queued; the caller reaps, then retries.
// - Two levels of results. Prepare()/Submit() fail only when the request could not be
//   queued (bad arguments, misaligned direct I/O, a full queue, a ring error); nothing was
//   queued then. Each request's own outcome (bytes done, or its error) arrives in its
//   IoCompletion.
// - A completion is final: the backend retries EINTR/EAGAIN and resubmits the rest of a
//   short transfer itself, so bytes_done < length only at end of file (the rest of a read
//   buffer is zeroed) or on error.
// - Destroying a queue waits for every request in flight first, so the kernel never
//   writes into a buffer the caller has freed. Prepared but unsubmitted requests are
//   dropped without being issued.
//
// Threading: one queue belongs to one thread at a time, like an io_uring ring. It is not
// safe to call one queue from two threads at once. The io_uring backend binds to the
// first thread that calls Submit() (IORING_SETUP_SINGLE_ISSUER) and must be used and
// destroyed there; the other backends may change threads between calls.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"
#include "io/file.h"
#include "io/io_types.h"
#include "sys/io_uring_probe.h"

namespace iodepth {

struct IoRequest {
  IoOp op = IoOp::kRead;
  File* file = nullptr;  // Borrowed; must stay open until the request is reaped.
  uint64_t offset = 0;
  std::span<std::byte> buffer;  // Must stay alive until the request is reaped.
  uint64_t tag = 0;             // The caller's; returned untouched.
};

struct IoCompletion {
  uint64_t tag = 0;
  IoOp op = IoOp::kRead;
  uint64_t offset = 0;
  size_t length = 0;         // The request's buffer size.
  Status status;             // This request's own outcome.
  size_t bytes_done = 0;     // < length only at end of file or on error.
  uint32_t attempts = 1;     // Kernel calls it took; > 1 when the backend resubmitted.
  int64_t submitted_ns = 0;  // NowNs() when Submit() handed it to the backend.
  int64_t completed_ns = 0;  // NowNs() when the backend saw it finish.
};

enum class Backend { kAuto, kIoUring, kWorker, kSync };

// io_uring: whether buffered reads are issued with IOSQE_ASYNC (see uring_queue.h). A
// buffered read whose pages are cached completes inline, inside the submitting system
// call, so a deep queue of them is copied one after another on the submitting thread;
// IOSQE_ASYNC sends each to io_uring's worker threads instead, where copies run in
// parallel and the submitter goes on.
//   auto    buffered reads when the queue has more than kUringAsyncInFlight requests in
//           flight with this one, or the read is at least kUringAsyncMinBytes;
//   always  every buffered read;  never  none.
// Direct I/O and writes are never marked: a direct read is already asynchronous in the
// block layer, and a worker would only add a thread hop.
enum class UringAsync { kAuto, kAlways, kNever };
inline constexpr uint32_t kUringAsyncInFlight = 4;
inline constexpr size_t kUringAsyncMinBytes = 64 * 1024;

// Accepts "auto", "always", "never".
Result<UringAsync> ParseUringAsync(std::string_view name);
std::string_view UringAsyncName(UringAsync mode);

// Accepts "auto", "io_uring" (or "uring"), "worker", "sync" (or fio's "psync").
Result<Backend> ParseBackend(std::string_view name);
std::string_view BackendName(Backend backend);

struct IoQueueOptions {
  Backend backend = Backend::kAuto;
  uint32_t depth = 32;          // 1..kMaxDepth; the sync backend requires 1.
  uint32_t worker_threads = 0;  // worker: 0 means one per unit of depth, at most 64.
  bool uring_sqpoll = false;    // io_uring: a kernel thread polls the submission ring.
  uint32_t uring_sqpoll_idle_ms = 1000;
  bool uring_register_files = false;  // io_uring: register each file once, use fixed-file slots.
  bool uring_fixed_buffers = false;   // io_uring: read/write_fixed for RegisterBuffers() regions.
  // io_uring: IOSQE_ASYNC for buffered reads. never by measurement: on the project's
  // 2-core machine every buffered cell, hot or cold, 4 KiB to 128 KiB, qd 1 to 32, ran
  // at 0.18x-0.92x with always and 0.40x-1.00x with auto (docs/BENCHMARKS.md).
  UringAsync uring_async = UringAsync::kNever;
};

struct IoQueueStats {
  uint64_t submit_calls = 0;  // Submit() calls that handed over at least one request.
  uint64_t submitted = 0;     // Requests handed over.
  uint64_t reap_calls = 0;    // Reap() calls that returned at least one completion.
  uint64_t reaped = 0;
  uint64_t resubmits = 0;  // Attempts beyond the first, over reaped requests (short transfer, EAGAIN).
  // Requests already complete when the Submit() that issued them returned: the sync
  // backend's every request, io_uring's buffered reads served from the page cache inline.
  // Their time was spent inside Submit(), on the submitting thread.
  uint64_t inline_completions = 0;
  int64_t submit_ns = 0;      // Time spent inside Submit() calls.
  uint64_t async_issued = 0;  // io_uring: requests issued with IOSQE_ASYNC.

  // Sums (several queues of one job) and differences (a window's share of a queue's life).
  IoQueueStats& operator+=(const IoQueueStats& other);
  friend IoQueueStats operator-(IoQueueStats after, const IoQueueStats& before);
};

class IoQueue {
 public:
  static constexpr uint32_t kMaxDepth = 4096;

  IoQueue(const IoQueue&) = delete;
  IoQueue& operator=(const IoQueue&) = delete;
  virtual ~IoQueue() = default;  // Each backend's destructor drains its requests in flight.

  // Queues one request locally; it reaches the device at the next Submit().
  Status Prepare(const IoRequest& request);
  // Hands every prepared request to the backend. Returns how many.
  Result<uint32_t> Submit();
  // Moves up to out.size() completions into `out`, waiting until at least
  // min(min_completions, in_flight()) are available or `timeout` passes (none: wait as
  // long as it takes; zero: do not wait). Returns how many were written; a timeout is
  // not an error. Prepared but unsubmitted requests are not submitted by Reap().
  Result<uint32_t> Reap(std::span<IoCompletion> out, uint32_t min_completions,
                        std::optional<std::chrono::nanoseconds> timeout = std::nullopt);

  // Declares memory regions that requests' buffers will come from, so the io_uring
  // backend can pin them once (fixed buffers). Other backends accept and ignore it.
  // REQUIRES: nothing prepared or in flight.
  virtual Status RegisterBuffers(std::span<const std::span<std::byte>> regions);

  uint32_t depth() const { return depth_; }
  uint32_t prepared() const { return prepared_; }
  uint32_t in_flight() const { return in_flight_; }  // Submitted and not yet reaped.
  const IoQueueStats& stats() const { return stats_; }
  virtual std::string_view backend_name() const = 0;
  // Backend details worth printing: ring setup flags, thread count.
  virtual std::string features() const = 0;

 protected:
  explicit IoQueue(uint32_t depth) : depth_(depth) {}

  // Stores a validated request; the base has checked depth and alignment.
  virtual Status DoPrepare(const IoRequest& request) = 0;
  // Issues every prepared request, stamping it `now_ns`. Returns how many were issued;
  // fewer than prepared() leaves the rest prepared.
  virtual Result<uint32_t> DoSubmit(int64_t now_ns) = 0;
  // Fills `out` as Reap() describes. deadline_ns < 0: no deadline.
  virtual Result<uint32_t> DoReap(std::span<IoCompletion> out, uint32_t min_completions, int64_t deadline_ns) = 0;
  // Backends count, from DoSubmit, the requests that finished inside it and those they
  // sent to io_uring's workers.
  void CountInlineCompletions(uint64_t n) { stats_.inline_completions += n; }
  void CountAsyncIssued(uint64_t n) { stats_.async_issued += n; }

 private:
  const uint32_t depth_;
  uint32_t prepared_ = 0;
  uint32_t in_flight_ = 0;
  IoQueueStats stats_;
};

// Builds a queue. With Backend::kAuto, io_uring is tried first and, if the kernel refuses
// it, the worker backend is used; *notice (when given) then says why, so the caller can
// print it. Asking for io_uring by name fails with the reason instead.
Result<std::unique_ptr<IoQueue>> MakeIoQueue(const IoQueueOptions& options, std::string* notice = nullptr);

// Whether io_uring can be set up here: ProbeIoUring() in sys/io_uring_probe.h, included
// above for the callers that choose a backend.

}  // namespace iodepth
