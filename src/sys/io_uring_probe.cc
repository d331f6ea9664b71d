#include "sys/io_uring_probe.h"

#include <liburing.h>

#include <cstring>

#include <fmt/format.h>

#include "sys/host_file.h"

namespace iodepth {

Status IoUringSetupError(int error_number) {
  std::string reason = fmt::format("io_uring_setup failed: {}", std::strerror(error_number));
  const std::string disabled = ReadTrimmedHostFile("/proc/sys/kernel/io_uring_disabled").value_or("");
  if (disabled == "1" || disabled == "2") {
    reason += fmt::format(
        " (kernel.io_uring_disabled={}: io_uring is {}; an administrator can allow it with "
        "`sysctl kernel.io_uring_disabled=0`)",
        disabled, disabled == "2" ? "disabled for everyone" : "limited to a privileged group");
  } else if (error_number == ENOSYS) {
    reason += " (the kernel is older than 5.1, or a seccomp policy such as a container runtime's blocks io_uring)";
  } else if (error_number == EPERM) {
    reason += " (a seccomp policy or LSM forbids io_uring here)";
  } else if (error_number == ENOMEM) {
    reason += " (the locked-memory limit is too low for the ring; raise `ulimit -l` or lower the queue depth)";
  }
  return Status::NotSupported(reason + "; io_uring cannot be used here")
      .WithSetting(error_number == ENOMEM ? "backend,queue_depth" : "backend");
}

Status ProbeIoUring() {
  io_uring ring{};
  const int rc = io_uring_queue_init(1, &ring, 0);
  if (rc < 0) return IoUringSetupError(-rc);
  io_uring_queue_exit(&ring);
  return Status::OK();
}

}  // namespace iodepth
