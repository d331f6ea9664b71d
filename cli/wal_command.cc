// `iodepth wal`: the write-ahead log's commit path (wal/, harness/wal_job.h) at several
// numbers of concurrent committers: commits per second, commit latency and what group
// commit made of them, for one durability path (buffered or direct; fdatasync or O_DSYNC).
// The log is written into a fresh directory of its own under --directory and removed
// afterwards.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/cli_support.h"
#include "cli/commands.h"
#include "common/units.h"
#include "harness/wal_job.h"

namespace iodepth::tools {

namespace {

struct WalFlags {
  std::string directory;
  std::vector<uint32_t> committers = {1, 4, 16, 32};
  std::string record_bytes = "128";
  int direct = 0;
  std::string sync = "fdatasync";
  std::string engine = "auto";
  uint32_t iodepth = 8;
  std::string block_size = "4KiB";
  std::string segment_size = "16MiB";
  uint32_t group_delay_us = 0;
  std::string runtime = "2s";
  std::string ramp_time = "200ms";
  std::string output_format = "normal";
};

Result<WalJobOptions> BuildOptions(const WalFlags& flags) {
  WalJobOptions options;
  options.parent = flags.directory;
  IODEPTH_ASSIGN_OR_RETURN(options.record_bytes, ParseSize(flags.record_bytes, "--record-bytes"));
  IODEPTH_ASSIGN_OR_RETURN(options.runtime_ns, ParseDurationNs(flags.runtime, "--runtime"));
  IODEPTH_ASSIGN_OR_RETURN(options.ramp_ns, ParseDurationNs(flags.ramp_time, "--ramp_time"));
  WalOptions& wal = options.wal;
  wal.cache = flags.direct != 0 ? CacheMode::kDirect : CacheMode::kBuffered;
  IODEPTH_ASSIGN_OR_RETURN(wal.sync, ParseWalSyncMethod(flags.sync));
  IODEPTH_ASSIGN_OR_RETURN(wal.queue.backend, ParseBackend(flags.engine));
  wal.queue.depth = wal.queue.backend == Backend::kSync ? 1 : flags.iodepth;
  IODEPTH_ASSIGN_OR_RETURN(const uint64_t block, ParseSize(flags.block_size, "--block-size"));
  IODEPTH_ASSIGN_OR_RETURN(wal.geometry.segment_bytes, ParseSize(flags.segment_size, "--segment-size"));
  wal.geometry.block_bytes = static_cast<uint32_t>(std::min<uint64_t>(block, UINT32_MAX));
  wal.group_commit_delay_us = flags.group_delay_us;
  return options;
}

std::string PathName(const WalOptions& wal) {
  return fmt::format("{}/{}", CacheModeName(wal.cache), WalSyncMethodName(wal.sync));
}

nlohmann::json ResultToJson(const WalJobOptions& options, const WalJobResult& r) {
  return {{"committers", r.committers},
          {"path", PathName(options.wal)},
          {"cache", CacheModeName(options.wal.cache)},
          {"sync", WalSyncMethodName(options.wal.sync)},
          {"backend", r.backend},
          {"record_bytes", options.record_bytes},
          {"block_bytes", options.wal.geometry.block_bytes},
          {"commits", r.commits},
          {"seconds", r.seconds},
          {"commits_per_s", r.commits_per_s},
          {"latency_us",
           {{"p50", static_cast<double>(r.latency_ns_p50) / 1e3},
            {"p95", static_cast<double>(r.latency_ns_p95) / 1e3},
            {"p99", static_cast<double>(r.latency_ns_p99) / 1e3},
            {"max", static_cast<double>(r.latency_ns_max) / 1e3},
            {"mean", r.latency_ns_mean / 1e3}}},
          {"commits_per_flush", r.commits_per_flush},
          {"syncs_per_commit", r.syncs_per_commit},
          {"bytes_written_per_commit", r.bytes_written_per_commit},
          {"cpu_us_per_commit", r.cpu_us_per_commit},
          {"max_write_depth", r.max_write_depth}};
}

std::string FormatRow(const WalJobResult& r) {
  return fmt::format("{:>10} {:>12.0f} {:>10.1f} {:>10.1f} {:>10.1f} {:>12.2f} {:>12.2f} {:>12.0f} {:>10.2f}\n",
                     r.committers, r.commits_per_s, static_cast<double>(r.latency_ns_p50) / 1e3,
                     static_cast<double>(r.latency_ns_p95) / 1e3, static_cast<double>(r.latency_ns_p99) / 1e3,
                     r.commits_per_flush, r.syncs_per_commit, r.bytes_written_per_commit, r.cpu_us_per_commit);
}

Status RunWal(const WalFlags& flags) {
  if (flags.directory.empty()) {
    return Status::InvalidArgument("give --directory: a directory on the device whose log writes to measure");
  }
  IODEPTH_ASSIGN_OR_RETURN(WalJobOptions options, BuildOptions(flags));
  const bool human = flags.output_format == "normal";
  if (human) {
    std::cerr << fmt::format(
        "iodepth wal: {} records, {} path, {} engine, flusher depth {}, {} + {} ramp each, in {}\n",
        FormatBytes(options.record_bytes), PathName(options.wal), flags.engine, options.wal.queue.depth, flags.runtime,
        flags.ramp_time, flags.directory);
    std::cout << fmt::format("{:>10} {:>12} {:>10} {:>10} {:>10} {:>12} {:>12} {:>12} {:>10}\n", "committers",
                             "commits/s", "p50 us", "p95 us", "p99 us", "per flush", "syncs/commit", "bytes/commit",
                             "cpu us/c");
  }
  StopOnSignals();
  nlohmann::json rows = nlohmann::json::array();
  for (const uint32_t committers : flags.committers) {
    if (StopFlag().load()) return Status::FailedPrecondition("interrupted (the rows above were measured)");
    options.committers = committers;
    IODEPTH_ASSIGN_OR_RETURN(const WalJobResult result, RunWalCommitJob(options));
    if (human) std::cout << FormatRow(result) << std::flush;
    rows.push_back(ResultToJson(options, result));
  }
  if (!human) std::cout << nlohmann::json{{"wal", rows}}.dump(2) << "\n" << std::flush;
  return Status::OK();
}

}  // namespace

void AddWalCommand(CLI::App& app) {
  auto flags = std::make_shared<WalFlags>();
  CLI::App* cmd = app.add_subcommand(
      "wal", "Measure the write-ahead log's commits (group commit) at several numbers of concurrent committers");
  cmd->add_option("--directory", flags->directory,
                  "Directory on the device to measure; the log goes into a new subdirectory, removed afterwards")
      ->required();
  cmd->add_option("--committers", flags->committers, "Concurrent committers, one job each (e.g. 1,4,16,32)")
      ->delimiter(',')
      ->check(CLI::Range(1u, 256u))
      ->capture_default_str();
  cmd->add_option("--record-bytes", flags->record_bytes, "Payload bytes per commit record")->capture_default_str();
  cmd->add_option("--direct", flags->direct, "1: O_DIRECT log writes, 0: buffered")
      ->check(CLI::Range(0, 1))
      ->capture_default_str();
  cmd->add_option("--sync", flags->sync, "fdatasync (write, then fdatasync) or dsync (segments opened O_DSYNC)")
      ->check(CLI::IsMember({"fdatasync", "dsync"}))
      ->capture_default_str();
  cmd->add_option("--engine,--ioengine", flags->engine, "io_uring, worker, sync or auto (the flusher's queue)")
      ->capture_default_str();
  cmd->add_option("--iodepth", flags->iodepth, "Log writes the flusher keeps in flight")
      ->check(CLI::Range(1u, 256u))
      ->capture_default_str();
  cmd->add_option("--block-size", flags->block_size, "Log block size (a power of two, 512 B to 64 KiB)")
      ->capture_default_str();
  cmd->add_option("--segment-size", flags->segment_size, "Log segment size")->capture_default_str();
  cmd->add_option("--group-delay-us", flags->group_delay_us, "Hold each flush back this long to gather commits")
      ->check(CLI::Range(0u, 100000u))
      ->capture_default_str();
  cmd->add_option("--runtime", flags->runtime, "Measured time per committer count")->capture_default_str();
  cmd->add_option("--ramp_time", flags->ramp_time, "Time run before measuring, excluded")->capture_default_str();
  cmd->add_option("--output-format", flags->output_format, "normal (a table) or json")
      ->check(CLI::IsMember({"normal", "json"}))
      ->capture_default_str();
  cmd->callback([flags] { ExitOnError("wal", RunWal(*flags)); });
}

}  // namespace iodepth::tools
