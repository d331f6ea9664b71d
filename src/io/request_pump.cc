#include "io/request_pump.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <unordered_map>

#include <fmt/format.h>

namespace iodepth {

Status CompletionError(const IoCompletion& completion) {
  if (!completion.status.ok()) return completion.status;
  if (completion.bytes_done == completion.length) return Status::OK();
  return Status::PosixError(
      fmt::format("{} at offset {} stopped after {} of {} bytes", completion.op == IoOp::kWrite ? "write" : "read",
                  completion.offset, completion.bytes_done, completion.length),
      EIO);
}

Status PumpRequests(IoQueue& queue, const NextRequest& next, const CompletionHandler& done, PumpStats* stats) {
  PumpStats local;
  PumpStats& s = stats != nullptr ? *stats : local;
  s = PumpStats{};
  // What has been handed out and not yet reaped, so a request the queue refused or lost
  // still reaches done() with the error.
  std::unordered_map<uint64_t, IoRequest> outstanding;
  Status first_error;
  auto finish = [&](const IoCompletion& completion) {
    outstanding.erase(completion.tag);
    const Status handled = done(completion);
    if (first_error.ok()) first_error = handled.ok() ? completion.status : handled;
  };
  auto refuse = [&](const IoRequest& request, const Status& error) {
    IoCompletion failed;
    failed.tag = request.tag;
    failed.op = request.op;
    failed.offset = request.offset;
    failed.length = request.buffer.size();
    failed.status = error;
    finish(failed);
  };
  std::array<IoCompletion, 64> completions;
  bool exhausted = false;
  for (;;) {
    while (first_error.ok() && !exhausted && queue.prepared() + queue.in_flight() < queue.depth()) {
      const std::optional<IoRequest> request = next();
      if (!request.has_value()) {
        exhausted = true;
        break;
      }
      ++s.requests;
      outstanding.emplace(request->tag, *request);
      const Status prepared = queue.Prepare(*request);
      if (!prepared.ok()) refuse(*request, prepared);
    }
    if (queue.prepared() > 0) {
      const Result<uint32_t> submitted = queue.Submit();
      if (!submitted.has_value() && first_error.ok()) first_error = submitted.error();
    }
    s.max_in_flight = std::max(s.max_in_flight, queue.in_flight());
    if (queue.in_flight() == 0) break;
    const Result<uint32_t> got = queue.Reap(completions, 1);
    if (!got.has_value()) {
      if (first_error.ok()) first_error = got.error();
      break;  // The queue cannot say what finished; its destructor waits for the rest.
    }
    for (uint32_t i = 0; i < *got; ++i) finish(completions[i]);
  }
  // Whatever is still outstanding was never issued (a failed Submit) or cannot be reaped.
  const Status lost =
      first_error.ok() ? Status::FailedPrecondition("the queue stopped before this request was issued") : first_error;
  while (!outstanding.empty()) refuse(outstanding.begin()->second, lost);
  return first_error;
}

}  // namespace iodepth
