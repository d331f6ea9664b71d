// PumpRequests: the one loop that keeps an IoQueue full from a stream of requests. Every
// caller that writes or reads "up to depth in flight, stop issuing at the first error,
// drain what is in flight" (the buffer manager's write-back and checkpoint, the log's
// flush) runs this instead of its own copy:
//
//   room in the queue? --yes--> next() --request--> Prepare ... Submit (one batch)
//          ^    |                  |
//          |    no / next() empty  +--nothing--> (in flight == 0: done)
//          |    v
//          +-- Reap (at least 1) --> done(completion) for each
//
// Rules:
// - next() is asked only while prepared + in flight < depth, so it may claim resources
//   (pin a frame, mark it being written) for the request it returns: every request it
//   returns reaches done() exactly once, with its real completion or, when the queue
//   refused or failed it, a completion carrying that error. Nothing is leaked to the
//   queue: when PumpRequests returns, nothing it issued is in flight.
// - After the first error (a completion's, done()'s, or the queue's own) next() is not
//   asked again; the requests in flight are reaped and handed to done(); the first error
//   is returned.
// - Tags are the caller's; those of the requests outstanding at one time must differ.
//
// Threading: runs on the calling thread, which must own `queue` (io/io_queue.h).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "common/status.h"
#include "io/io_queue.h"

namespace iodepth {

// The next request to issue, or nothing (for now: the pump ends once the queue drains).
using NextRequest = std::function<std::optional<IoRequest>()>;
// One request's outcome. A non-OK return stops new requests, as a failed completion does.
using CompletionHandler = std::function<Status(const IoCompletion&)>;

struct PumpStats {
  uint64_t requests = 0;       // Requests next() returned.
  uint32_t max_in_flight = 0;  // The most in flight after a Submit().
};

// A completion that was not a full transfer as an error (a short write, or a read past
// the end of file where the caller needs every byte), naming what and where.
Status CompletionError(const IoCompletion& completion);

// See the header comment. `stats` (when given) is filled in.
Status PumpRequests(IoQueue& queue, const NextRequest& next, const CompletionHandler& done, PumpStats* stats = nullptr);

}  // namespace iodepth
