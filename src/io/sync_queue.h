// The sync backend: each request runs to completion inside Submit(), through the same
// blocking path as File::ReadAt. Depth 1. It is the baseline the asynchronous backends
// are measured against, and the simplest possible correct IoQueue.
#pragma once

#include <memory>

#include "common/result.h"
#include "io/io_queue.h"

namespace iodepth {

// Runs one request to its end on the calling thread (TransferAll: retries, short
// transfers, end of file) and returns its completion. Shared by the sync and worker
// backends, so both finish requests in exactly the same way.
IoCompletion RunRequestBlocking(const IoRequest& request, int64_t submitted_ns);

// REQUIRES: options.depth == 1 (else InvalidArgument saying so).
Result<std::unique_ptr<IoQueue>> MakeSyncQueue(const IoQueueOptions& options);

}  // namespace iodepth
