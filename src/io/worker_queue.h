// The worker backend: a pool of threads doing blocking pread/pwrite, the portable way to
// keep several requests in flight where io_uring is unavailable.
//
//   owner thread                         worker threads (N)
//   Prepare() -> prepared_
//   Submit()  -> todo_ --(cv)--> pop, TransferAll (retries, short transfers, EOF)
//   Reap()    <- done_ <--(cv)-- push completion
//
// todo_ and done_ are guarded by one mutex; each holds at most depth() entries because
// the base class bounds prepared + in flight. The destructor waits until every submitted
// request has finished before it stops and joins the threads.
#pragma once

#include <memory>

#include "common/result.h"
#include "io/io_queue.h"

namespace iodepth {

Result<std::unique_ptr<IoQueue>> MakeWorkerQueue(const IoQueueOptions& options);

}  // namespace iodepth
