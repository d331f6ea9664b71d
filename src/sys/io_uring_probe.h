// io_uring_probe: whether this process may set up an io_uring ring here, and why not in
// terms a user can act on (kernel.io_uring_disabled, seccomp, the locked-memory limit).
// The io_uring backend (io/uring_queue) and the environment record both ask here. Any
// thread; the probe sets up and tears down a ring of one entry on the calling thread.
#pragma once

#include "common/status.h"

namespace iodepth {

// OK when a ring of one entry can be set up, else IoUringSetupError of the failure.
Status ProbeIoUring();

// NotSupported, explaining a failed io_uring_setup with errno `error_number`.
Status IoUringSetupError(int error_number);

}  // namespace iodepth
