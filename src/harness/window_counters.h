// window_counters: what a measured window counts besides requests: the CPU time the whole
// process spent and the I/O the block device under the data file did (block_device.h),
// each read once when the window opens and once when it closes. Every job (Job, bm_job,
// scan_job) takes its window's counters here, so they mean the same in every suite.
// Any thread; one sample per window edge.
#pragma once

#include <optional>

#include "common/clock.h"
#include "harness/job.h"
#include "sys/block_device.h"

namespace iodepth {

struct WindowSample {
  CpuTimes cpu;
  std::optional<BlockCounters> device;  // nullopt: no device named, or its stat unreadable.
};

WindowSample SampleWindow(const std::optional<BlockDevice>& device);

// Sets result.cpu and result.device to what happened between `opened` and now.
void CloseWindowCounters(const WindowSample& opened, const std::optional<BlockDevice>& device, JobResult& result);

}  // namespace iodepth
