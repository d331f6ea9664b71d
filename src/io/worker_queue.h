// The worker backend: a pool of threads doing blocking pread/pwrite, the portable way to
// keep several requests in flight where io_uring is unavailable.
//
//   owner thread                         worker threads (N; at most active_limit_ run at once)
//   Prepare() -> prepared_
//   Submit()  -> todo_ --(cv)--> pop, TransferAll (retries, short transfers, EOF)
//   Reap()    <- done_ <--(cv)-- push completion
//
// todo_ and done_ are guarded by one mutex; each holds at most depth() entries because
// the base class bounds prepared + in flight. The destructor waits until every submitted
// request has finished before it stops and joins the threads.
#pragma once

#include <cstdint>
#include <memory>

#include "common/result.h"
#include "io/io_queue.h"

namespace iodepth {

// With IoQueueOptions::worker_threads 0, min(depth, 64) threads are made and the number
// allowed to run a request at once follows the load: every few hundred requests it is set
// to WorkersForLoad of the share of watched requests whose thread blocked in the kernel. A
// device that keeps requests waiting (a disk) gets a thread per request in flight; one
// where a request is a memory copy (the page cache, zram) gets one per CPU, since more
// only add wake-ups (measured on zram, docs/BENCHMARKS.md "The worker backend"). A number
// given in worker_threads is used as it is.
Result<std::unique_ptr<IoQueue>> MakeWorkerQueue(const IoQueueOptions& options);

// The workers allowed to run at once: min(cpus, threads) when no request blocked,
// `threads` when every one did, in proportion between (blocked_share 0..1), rounded up.
uint32_t WorkersForLoad(double blocked_share, uint32_t cpus, uint32_t threads);

}  // namespace iodepth
