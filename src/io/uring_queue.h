// The io_uring backend (liburing). One ring per queue, sized to the queue's depth.
//
// Each request owns a slot for its whole life; the SQE's user_data is the slot's index.
// A slot has at most one SQE or kernel request outstanding at any time, so a ring of
// `depth` entries can never run out of submission space and its completion ring (twice
// as large) can never overflow.
//
//   slot:  free -> prepared -> issued --CQE--> short? --yes--> issued again (rest of range)
//                                         |                  (counted in stats().resubmits)
//                                         +--no--> finished -> copied to the caller -> free
//
// Buffered reads may carry IOSQE_ASYNC (IoQueueOptions::uring_async): a read of cached
// pages otherwise completes inline, inside the submitting io_uring_enter, so a batch of
// them is copied one after another on this thread; marked, each goes to io_uring's
// worker threads. stats().inline_completions counts completions posted during a submit.
//
// Ring setup, best first: SINGLE_ISSUER | DEFER_TASKRUN (completion work runs only when
// this thread asks for events: no interrupts of the submitter), else COOP_TASKRUN, else
// plain; with SQPOLL when asked (Reap() then spins on the completion ring, up to 1 ms,
// before it sleeps in io_uring_enter). The ring starts disabled (R_DISABLED) and is enabled by
// the first Submit(), which makes the thread that submits the ring's single issuer.
// Registered files and fixed buffers are options (IoQueueOptions).
//
// Faults from a File's FaultInjector are applied per attempt: an error becomes a NOP
// whose completion carries the error, a short transfer shortens the SQE's length (the
// real resubmission path then finishes it), a delay is a timeout SQE issued first.
#pragma once

#include <memory>

#include "common/result.h"
#include "io/io_queue.h"

namespace iodepth {

// NotSupported (with the reason and what to do) when the kernel refuses io_uring.
Result<std::unique_ptr<IoQueue>> MakeUringQueue(const IoQueueOptions& options);

}  // namespace iodepth
