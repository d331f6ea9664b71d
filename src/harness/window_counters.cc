#include "harness/window_counters.h"

namespace iodepth {

WindowSample SampleWindow(const std::optional<BlockDevice>& device) {
  WindowSample sample;
  sample.cpu = ProcessCpuTimes();
  if (device) sample.device = ReadBlockCounters(*device);
  return sample;
}

void CloseWindowCounters(const WindowSample& opened, const std::optional<BlockDevice>& device, JobResult& result) {
  const WindowSample closed = SampleWindow(device);
  result.cpu = CpuTimes{.user_ns = closed.cpu.user_ns - opened.cpu.user_ns,
                        .system_ns = closed.cpu.system_ns - opened.cpu.system_ns,
                        .context_switches = closed.cpu.context_switches - opened.cpu.context_switches};
  result.device.reset();
  if (opened.device && closed.device) result.device = CountersBetween(*opened.device, *closed.device);
}

}  // namespace iodepth
