#include "io/io_queue.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/clock.h"
#include "common/enum_names.h"
#include "io/sync_queue.h"
#include "io/uring_queue.h"
#include "io/worker_queue.h"

namespace iodepth {

namespace {

// "uring" and "psync" are aliases (fio's ioengine names and a short form).
constexpr EnumName<Backend> kBackendNames[] = {{Backend::kIoUring, "io_uring"}, {Backend::kWorker, "worker"},
                                               {Backend::kSync, "sync"},        {Backend::kAuto, "auto"},
                                               {Backend::kIoUring, "uring"},    {Backend::kSync, "psync"}};

constexpr EnumName<UringAsync> kUringAsyncNames[] = {
    {UringAsync::kAuto, "auto"}, {UringAsync::kAlways, "always"}, {UringAsync::kNever, "never"}};

}  // namespace

Result<UringAsync> ParseUringAsync(std::string_view name) {
  return ParseNamed(kUringAsyncNames, name, "io_uring async mode", "uring_async");
}

std::string_view UringAsyncName(UringAsync mode) { return NameOf(kUringAsyncNames, mode); }

IoQueueStats& IoQueueStats::operator+=(const IoQueueStats& other) {
  submit_calls += other.submit_calls;
  submitted += other.submitted;
  reap_calls += other.reap_calls;
  reaped += other.reaped;
  resubmits += other.resubmits;
  inline_completions += other.inline_completions;
  submit_ns += other.submit_ns;
  async_issued += other.async_issued;
  return *this;
}

IoQueueStats operator-(IoQueueStats after, const IoQueueStats& before) {
  after.submit_calls -= before.submit_calls;
  after.submitted -= before.submitted;
  after.reap_calls -= before.reap_calls;
  after.reaped -= before.reaped;
  after.resubmits -= before.resubmits;
  after.inline_completions -= before.inline_completions;
  after.submit_ns -= before.submit_ns;
  after.async_issued -= before.async_issued;
  return after;
}

Result<Backend> ParseBackend(std::string_view name) { return ParseNamed(kBackendNames, name, "I/O engine", "backend"); }

std::string_view BackendName(Backend backend) { return NameOf(kBackendNames, backend); }

Status IoQueue::Prepare(const IoRequest& request) {
  if (request.file == nullptr) return Status::InvalidArgument("I/O request without a file");
  if (request.buffer.empty()) {
    return Status::InvalidArgument(fmt::format("I/O request of 0 bytes at offset {} of {}; give it a buffer",
                                               request.offset, request.file->path()));
  }
  if (prepared_ + in_flight_ >= depth_) {
    return Status::QueueFull(fmt::format(
        "{} queue is full: {} prepared and {} in flight of depth {}; reap completions before preparing more",
        backend_name(), prepared_, in_flight_, depth_));
  }
  IODEPTH_RETURN_IF_ERROR(request.file->CheckDirectIo(request.offset, request.buffer.data(), request.buffer.size()));
  IODEPTH_RETURN_IF_ERROR(DoPrepare(request));
  ++prepared_;
  return Status::OK();
}

Result<uint32_t> IoQueue::Submit() {
  if (prepared_ == 0) return uint32_t{0};
  const int64_t start_ns = NowNs();
  const Result<uint32_t> done = DoSubmit(start_ns);
  stats_.submit_ns += NowNs() - start_ns;
  if (!done.has_value()) return done.error();
  const uint32_t issued = *done;
  IODEPTH_CHECK(issued <= prepared_, "backend issued more requests than were prepared");
  prepared_ -= issued;
  in_flight_ += issued;
  if (issued > 0) {
    ++stats_.submit_calls;
    stats_.submitted += issued;
  }
  return issued;
}

Result<uint32_t> IoQueue::Reap(std::span<IoCompletion> out, uint32_t min_completions,
                               std::optional<std::chrono::nanoseconds> timeout) {
  if (out.empty() || in_flight_ == 0) return uint32_t{0};
  // Waiting for more completions than there are requests in flight would never end.
  const uint32_t wanted = std::min({min_completions, in_flight_, static_cast<uint32_t>(out.size())});
  const int64_t deadline_ns = timeout ? NowNs() + timeout->count() : -1;
  IODEPTH_ASSIGN_OR_RETURN(const uint32_t reaped,
                           DoReap(out.first(std::min<size_t>(out.size(), in_flight_)), wanted, deadline_ns));
  IODEPTH_CHECK(reaped <= in_flight_, "backend reaped more requests than were in flight");
  in_flight_ -= reaped;
  for (uint32_t i = 0; i < reaped; ++i) stats_.resubmits += out[i].attempts > 1 ? out[i].attempts - 1 : 0;
  if (reaped > 0) {
    ++stats_.reap_calls;
    stats_.reaped += reaped;
  }
  return reaped;
}

Status IoQueue::RegisterBuffers(std::span<const std::span<std::byte>> /*regions*/) {
  if (prepared_ != 0 || in_flight_ != 0) {
    return Status::FailedPrecondition("RegisterBuffers while requests are prepared or in flight");
  }
  return Status::OK();
}

Result<std::unique_ptr<IoQueue>> MakeIoQueue(const IoQueueOptions& options, std::string* notice) {
  if (options.depth == 0 || options.depth > IoQueue::kMaxDepth) {
    return Status::InvalidArgument(
        fmt::format("queue depth {} is out of range; choose 1 to {}", options.depth, IoQueue::kMaxDepth));
  }
  switch (options.backend) {
    case Backend::kSync: return MakeSyncQueue(options);
    case Backend::kWorker: return MakeWorkerQueue(options);
    case Backend::kIoUring: return MakeUringQueue(options);
    case Backend::kAuto: {
      auto uring = MakeUringQueue(options);
      if (uring.has_value()) return uring;
      if (uring.error().code() == StatusCode::kInvalidArgument) return uring;  // The options, not the kernel.
      if (notice != nullptr) {
        *notice = fmt::format("io_uring is unavailable ({}); using the worker backend", uring.error().message());
      }
      return MakeWorkerQueue(options);
    }
  }
  return Status::InvalidArgument("unknown backend");
}

}  // namespace iodepth
