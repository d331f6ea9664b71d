#include "harness/wal_job.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "common/clock.h"
#include "common/histogram.h"

namespace iodepth {
namespace {

constexpr uint32_t kMaxCommitters = 256;

// Counters that the window subtracts: read once at its start and once at its end.
struct Snapshot {
  WalStats wal;
  CpuTimes cpu;
  int64_t now_ns = 0;
};

Snapshot Take(const WalWriter& writer) { return {writer.stats(), ProcessCpuTimes(), NowNs()}; }

WalJobResult Summarise(const WalJobOptions& options, const Snapshot& start, const Snapshot& end,
                       const LatencyHistogram& latency, const std::string& backend) {
  WalJobResult result;
  result.committers = options.committers;
  result.backend = backend;
  result.commits = latency.count();
  result.seconds = static_cast<double>(end.now_ns - start.now_ns) / 1e9;
  const double commits = static_cast<double>(std::max<uint64_t>(result.commits, 1));
  result.commits_per_s = result.seconds > 0 ? static_cast<double>(result.commits) / result.seconds : 0;
  result.latency_ns_p50 = latency.Percentile(50);
  result.latency_ns_p95 = latency.Percentile(95);
  result.latency_ns_p99 = latency.Percentile(99);
  result.latency_ns_max = latency.max();
  result.latency_ns_mean = latency.mean();
  const uint64_t flushes = end.wal.flushes - start.wal.flushes;
  result.commits_per_flush = flushes > 0 ? static_cast<double>(result.commits) / static_cast<double>(flushes) : 0;
  result.syncs_per_commit = static_cast<double>(end.wal.syncs - start.wal.syncs) / commits;
  result.bytes_written_per_commit = static_cast<double>(end.wal.bytes_written - start.wal.bytes_written) / commits;
  const int64_t cpu_ns = (end.cpu.user_ns + end.cpu.system_ns) - (start.cpu.user_ns + start.cpu.system_ns);
  result.cpu_us_per_commit = static_cast<double>(cpu_ns) / 1e3 / commits;
  result.max_write_depth = end.wal.max_write_depth;
  result.window_ns = end.now_ns - start.now_ns;
  result.latency_ns = latency;
  result.cpu = CpuTimes{.user_ns = end.cpu.user_ns - start.cpu.user_ns,
                        .system_ns = end.cpu.system_ns - start.cpu.system_ns,
                        .context_switches = end.cpu.context_switches - start.cpu.context_switches};
  result.bytes_written = end.wal.bytes_written - start.wal.bytes_written;
  return result;
}

// The committers: each appends and commits until `stop`, recording the latency of the
// commits that finished after `measure_from_ns`.
Status RunCommitters(WalWriter& writer, const WalJobOptions& options, std::atomic<int64_t>& measure_from_ns,
                     std::atomic<bool>& stop, LatencyHistogram* merged) {
  std::mutex mutex;
  Status first_error;
  std::vector<std::thread> threads;
  for (uint32_t t = 0; t < options.committers; ++t) {
    threads.emplace_back([&, t] {
      LatencyHistogram latency;
      std::vector<std::byte> payload(options.record_bytes, static_cast<std::byte>(t));
      Status status;
      while (!stop.load(std::memory_order_relaxed)) {
        const int64_t begin_ns = NowNs();
        auto appended = writer.Append(payload);
        if (!appended) {
          status = appended.error();
          break;
        }
        status = writer.Commit(appended->end_lsn);
        if (!status.ok()) break;
        const int64_t done_ns = NowNs();
        if (begin_ns >= measure_from_ns.load(std::memory_order_relaxed)) {
          latency.Record(static_cast<uint64_t>(done_ns - begin_ns));
        }
      }
      std::lock_guard lock(mutex);
      merged->Merge(latency);
      if (first_error.ok() && !status.ok()) first_error = status;
      if (!status.ok()) stop = true;
    });
  }
  for (auto& thread : threads) thread.join();
  return first_error;
}

Status Validate(const WalJobOptions& options) {
  if (options.committers == 0 || options.committers > kMaxCommitters) {
    return Status::InvalidArgument(
               fmt::format("committers must be 1 to {}, not {}", kMaxCommitters, options.committers))
        .WithSetting("committers");
  }
  if (options.record_bytes == 0)
    return Status::InvalidArgument("records must be at least 1 byte").WithSetting("record_bytes");
  if (options.runtime_ns <= 0) return Status::InvalidArgument("the runtime must be positive").WithSetting("runtime");
  return Status::OK();
}

}  // namespace

Result<WalJobResult> RunWalCommitJob(const WalJobOptions& options) {
  IODEPTH_RETURN_IF_ERROR(Validate(options));
  std::error_code error;
  if (!std::filesystem::is_directory(options.parent, error)) {
    return Status::NotFound(
               fmt::format("{} is not a directory: give a directory on the device to measure", options.parent))
        .WithSetting("directory");
  }
  // A directory of the job's own, so nothing the user has is ever touched or removed.
  const std::string directory = fmt::format("{}/iodepth-wal-{}-{}", options.parent, ::getpid(), NowNs());
  WalOptions wal = options.wal;
  wal.directory = directory;
  Result<WalJobResult> outcome = [&]() -> Result<WalJobResult> {
    IODEPTH_ASSIGN_OR_RETURN(auto writer, WalWriter::Open(wal));
    std::atomic<int64_t> measure_from_ns{NowNs() + options.ramp_ns};
    std::atomic<bool> stop{false};
    LatencyHistogram latency;
    Status committed;
    Snapshot start;
    Snapshot end;
    std::thread timer([&] {
      // The window's edges: its start once the ramp is over, its end at the runtime.
      std::this_thread::sleep_for(std::chrono::nanoseconds(options.ramp_ns));
      start = Take(*writer);
      measure_from_ns = start.now_ns;
      const int64_t until_ns = start.now_ns + options.runtime_ns;
      while (!stop.load() && NowNs() < until_ns) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      end = Take(*writer);
      stop = true;
    });
    committed = RunCommitters(*writer, options, measure_from_ns, stop, &latency);
    timer.join();
    IODEPTH_RETURN_IF_ERROR(committed);
    IODEPTH_RETURN_IF_ERROR(writer->Close());
    return Summarise(options, start, end, latency, writer->queue_backend());
  }();
  std::filesystem::remove_all(directory, error);
  return outcome;
}

}  // namespace iodepth
