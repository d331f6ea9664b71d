// Presenting job results: fio-shaped JSON for scripts, and an aligned table for people.
//
// JSON field names follow fio's JSON output wherever they mean the same thing (iops,
// bw_bytes, io_bytes, total_ios, runtime in ms, clat_ns with "50.000000"-style
// percentile keys, usr_cpu/sys_cpu as percent of job_runtime), so a script written for
// fio reads iodepth's output unchanged. iodepth's own additions sit beside them.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/job.h"

namespace iodepth {

// Percentiles reported everywhere (JSON keys and the table).
inline constexpr double kReportedPercentiles[] = {1, 5, 10, 50, 90, 95, 99, 99.9};

nlohmann::json JobToJson(const JobSpec& spec, const JobResult& result);
// {"iodepth_version": ..., "jobs": [...]}
nlohmann::json RunToJson(const std::vector<nlohmann::json>& jobs);

// A human-readable table: one header, one row per job.
std::string FormatJobTable(const std::vector<std::pair<JobSpec, JobResult>>& jobs);

}  // namespace iodepth
