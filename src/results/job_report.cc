#include "results/job_report.h"

#include <fmt/format.h>

#include "common/units.h"
#include "results/results.h"

namespace iodepth {

namespace {

nlohmann::json LatencyJson(const LatencyHistogram& histogram) {
  nlohmann::json percentiles = nlohmann::json::object();
  for (double p : kReportedPercentiles) percentiles[PercentileKey(p)] = histogram.Percentile(p);
  return {{"min", histogram.min()},
          {"max", histogram.max()},
          {"mean", histogram.mean()},
          {"N", histogram.count()},
          {"percentile", percentiles}};
}

// fio's per-direction block: the measured direction gets the numbers, the other zeros.
nlohmann::json DirectionJson(const JobResult& result, bool active) {
  const LatencyHistogram empty;
  const LatencyHistogram& clat = active ? result.clat_ns : empty;
  const double runtime_ms = static_cast<double>(result.window_ns) / 1e6;
  return {{"io_bytes", active ? result.bytes : 0},
          {"bw_bytes", active ? result.bw_bytes() : 0.0},
          {"bw", active ? result.bw_bytes() / 1024.0 : 0.0},  // fio: KiB/s.
          {"iops", active ? result.iops() : 0.0},
          {"runtime", active ? runtime_ms : 0.0},
          {"total_ios", active ? result.ios : 0},
          {"clat_ns", LatencyJson(clat)},
          // Submission is inside Submit(); iodepth has no separate slat, so lat == clat.
          {"lat_ns", LatencyJson(clat)}};
}

std::string JobName(const JobSpec& spec, const JobResult& result) {
  return fmt::format("{}-{}-qd{}{}-{}-{}", RwPatternName(spec.rw), FormatBytes(spec.block_size), spec.queue.depth,
                     result.jobs > 1 ? fmt::format("x{}", result.jobs) : "", result.direct ? "direct" : "buffered",
                     result.backend);
}

}  // namespace

nlohmann::json JobToJson(const JobSpec& spec, const JobResult& result) {
  const double window_s = static_cast<double>(result.window_ns) / 1e9;
  const auto cpu_percent = [&](int64_t ns) {
    return window_s > 0 ? 100.0 * static_cast<double>(ns) / 1e9 / window_s : 0.0;
  };
  const bool writes = IsWrite(spec.rw);
  const uint32_t target = spec.queue.depth * result.jobs;  // Every queue's depth: what the device was asked for.
  nlohmann::json job = {
      {"jobname", JobName(spec, result)},
      {"job options",
       {{"rw", std::string(RwPatternName(spec.rw))},
        {"bs", std::to_string(spec.block_size)},
        {"iodepth", std::to_string(spec.queue.depth)},
        {"direct", spec.cache == CacheMode::kDirect ? "1" : "0"},
        {"ioengine", std::string(BackendName(spec.queue.backend))},
        {"size", std::to_string(spec.size_bytes)},
        {"runtime_ns", std::to_string(spec.runtime_ns)},
        {"ramp_time_ns", std::to_string(spec.ramp_ns)},
        {"number_ios", std::to_string(spec.number_ios)},
        {"randseed", std::to_string(spec.seed)},
        {"filename", spec.filename},
        {"verify", spec.verify ? "1" : "0"},
        {"iodepth_batch_submit", std::to_string(spec.batch_submit)},
        {"numjobs", std::to_string(spec.jobs)}}},
      {"engine", result.backend},
      {"engine_features", result.backend_features},
      {"direct", result.direct},
      {"direct_alignment",
       {{"memory_bytes", result.alignment.memory_bytes},
        {"offset_bytes", result.alignment.offset_bytes},
        {"source", result.alignment.source}}},
      {"notices", result.notices},
      {"read", DirectionJson(result, !writes)},
      {"write", DirectionJson(result, writes)},
      {"job_runtime", static_cast<double>(result.window_ns) / 1e6},
      {"usr_cpu", cpu_percent(result.cpu.user_ns)},
      {"sys_cpu", cpu_percent(result.cpu.system_ns)},
      {"cpu_ns_per_io", result.cpu_ns_per_io()},
      {"context_switches", result.cpu.context_switches},
      {"depth",
       {{"target", target},
        {"jobs", result.jobs},
        {"job_iops", result.job_iops},
        {"mean_in_flight", result.mean_in_flight},
        {"littles_law", result.littles_law_depth()},
        {"utilization", target ? result.mean_in_flight / target : 0.0},
        {"submit_calls", result.queue_stats.submit_calls},
        {"submitted", result.queue_stats.submitted},
        {"reap_calls", result.queue_stats.reap_calls},
        {"reaped", result.queue_stats.reaped},
        {"resubmits", result.queue_stats.resubmits},
        {"refills_short", result.refills_short},
        {"inline_completions", result.queue_stats.inline_completions},
        {"async_issued", result.queue_stats.async_issued},
        {"submit_ns", result.queue_stats.submit_ns}}},
      {"verified_bytes", result.verified_bytes},
  };
  return job;
}

nlohmann::json RunToJson(const std::vector<nlohmann::json>& jobs) {
  return {{"iodepth_version", IODEPTH_VERSION}, {"jobs", jobs}};
}

std::string FormatJobTable(const std::vector<std::pair<JobSpec, JobResult>>& jobs) {
  std::string out = fmt::format(
      "{:<10} {:<9} {:>6} {:>6} {:<8} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10} {:>8} {:>7}\n", "engine", "rw", "bs",
      "qd", "mode", "IOPS", "MB/s", "mean us", "p50 us", "p95 us", "p99 us", "max us", "cpu/io", "depth");
  for (const auto& [spec, r] : jobs) {
    const auto us = [](double ns) { return ns / 1000.0; };
    out += fmt::format(
        "{:<10} {:<9} {:>6} {:>6} {:<8} {:>10.0f} {:>9.1f} {:>9.1f} {:>9.1f} {:>9.1f} {:>9.1f} {:>10.1f} {:>7.2f}u "
        "{:>7.1f}\n",
        r.backend, RwPatternName(spec.rw), FormatBytes(spec.block_size),
        r.jobs > 1 ? fmt::format("{}x{}", spec.queue.depth, r.jobs) : std::to_string(spec.queue.depth),
        r.direct ? "direct" : "buffered", r.iops(), r.bw_bytes() / 1e6, us(r.clat_ns.mean()),
        us(static_cast<double>(r.clat_ns.Percentile(50))), us(static_cast<double>(r.clat_ns.Percentile(95))),
        us(static_cast<double>(r.clat_ns.Percentile(99))), us(static_cast<double>(r.clat_ns.max())),
        us(r.cpu_ns_per_io()), r.littles_law_depth());
  }
  return out;
}

}  // namespace iodepth
