#include "io/sync_queue.h"

#include <optional>

#include <fmt/format.h>

#include "common/clock.h"

namespace iodepth {

IoCompletion RunRequestBlocking(const IoRequest& request, int64_t submitted_ns) {
  IoCompletion done;
  done.tag = request.tag;
  done.op = request.op;
  done.offset = request.offset;
  done.length = request.buffer.size();
  done.submitted_ns = submitted_ns;
  auto moved = TransferAll(*request.file, request.op, request.offset, request.buffer, &done.attempts);
  done.completed_ns = NowNs();
  if (moved.has_value()) {
    done.bytes_done = *moved;
  } else {
    done.status = moved.error();
  }
  return done;
}

namespace {

class SyncQueue final : public IoQueue {
 public:
  SyncQueue() : IoQueue(/*depth=*/1) {}
  ~SyncQueue() override = default;  // Nothing is ever in flight outside Submit().

  std::string_view backend_name() const override { return "sync"; }
  std::string features() const override { return "pread/pwrite in the caller's thread"; }

 protected:
  Status DoPrepare(const IoRequest& request) override {
    pending_ = request;
    return Status::OK();
  }

  Result<uint32_t> DoSubmit(int64_t now_ns) override {
    done_ = RunRequestBlocking(*pending_, now_ns);
    pending_.reset();
    CountInlineCompletions(1);  // The request ran inside this call.
    return uint32_t{1};
  }

  Result<uint32_t> DoReap(std::span<IoCompletion> out, uint32_t /*min_completions*/, int64_t /*deadline_ns*/) override {
    if (!done_) return uint32_t{0};
    out[0] = std::move(*done_);
    done_.reset();
    return uint32_t{1};
  }

 private:
  std::optional<IoRequest> pending_;
  std::optional<IoCompletion> done_;
};

}  // namespace

Result<std::unique_ptr<IoQueue>> MakeSyncQueue(const IoQueueOptions& options) {
  if (options.depth != 1) {
    return Status::InvalidArgument(fmt::format(
        "the sync engine runs one request at a time, so its queue depth must be 1 (got {}); use io_uring or "
        "worker for deeper queues",
        options.depth));
  }
  return std::unique_ptr<IoQueue>(new SyncQueue());
}

}  // namespace iodepth
