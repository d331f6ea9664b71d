// `iodepth bench`: one fio-like job against one file, with fio's flag names.
#include <iostream>

#include <fmt/format.h>

#include "cli/cli_support.h"
#include "cli/commands.h"
#include "common/clock.h"
#include "common/units.h"
#include "harness/data_file.h"
#include "harness/job.h"
#include "results/job_report.h"

namespace iodepth::tools {

namespace {

struct BenchFlags {
  std::string filename;
  std::string rw = "randread";
  std::string bs = "4k";
  uint32_t iodepth = 32;
  uint32_t numjobs = 1;
  int direct = 1;
  std::string engine = "auto";
  std::string size = "256m";
  std::string runtime = "5s";
  std::string ramp_time = "1s";
  uint64_t number_ios = 0;
  uint64_t randseed = 1;
  int verify = 0;
  QueueFlags queue;
  bool direct_fallback = false;
  bool keep = false;
  std::string output_format = "normal";
  std::string output;
};

Result<JobSpec> BuildSpec(const BenchFlags& flags) {
  JobSpec spec;
  spec.filename = flags.filename;
  IODEPTH_ASSIGN_OR_RETURN(spec.rw, ParseRwPattern(flags.rw));
  IODEPTH_ASSIGN_OR_RETURN(spec.block_size, ParseSize(flags.bs, "--bs"));
  IODEPTH_ASSIGN_OR_RETURN(spec.size_bytes, ParseSize(flags.size, "--size"));
  IODEPTH_ASSIGN_OR_RETURN(spec.runtime_ns, ParseDurationNs(flags.runtime, "--runtime"));
  IODEPTH_ASSIGN_OR_RETURN(spec.ramp_ns, ParseDurationNs(flags.ramp_time, "--ramp_time"));
  spec.number_ios = flags.number_ios;
  spec.cache = flags.direct != 0 ? CacheMode::kDirect : CacheMode::kBuffered;
  spec.direct_fallback = flags.direct_fallback;
  spec.seed = flags.randseed;
  spec.verify = flags.verify != 0;
  IODEPTH_ASSIGN_OR_RETURN(spec.queue.backend, ParseBackend(flags.engine));
  spec.queue.depth = flags.iodepth;
  spec.jobs = flags.numjobs;
  flags.queue.ApplyTo(spec.queue);
  spec.batch_submit = flags.queue.batch_submit;
  if (spec.queue.backend == Backend::kSync && spec.queue.depth != 1) {
    return Status::InvalidArgument(fmt::format(
        "--engine=sync runs one request at a time; use --iodepth=1 with it (got {}), or --engine=io_uring or worker",
        spec.queue.depth));
  }
  return spec;
}

Status WriteOutput(const BenchFlags& flags, const std::string& text) {
  if (flags.output.empty()) {
    std::cout << text << std::flush;
    return Status::OK();
  }
  return WriteTextFile(flags.output, text);
}

Status RunBench(BenchFlags flags) {
  TempDataFile temp(flags.filename, "bench");
  if (flags.keep) temp.Keep();
  flags.filename = temp.path();
  IODEPTH_ASSIGN_OR_RETURN(JobSpec spec, BuildSpec(flags));
  const bool human = flags.output_format == "normal";
  if (human) {
    std::cerr << fmt::format(
        "iodepth bench: {} {} on {} ({}, {}), qd {}{}, {} engine, {} + {} ramp\n", flags.rw, flags.bs, flags.filename,
        FormatBytes(spec.size_bytes), spec.cache == CacheMode::kDirect ? "direct" : "buffered", spec.queue.depth,
        spec.jobs > 1 ? fmt::format(" x {} jobs", spec.jobs) : "", flags.engine,
        spec.number_ios ? fmt::format("{} I/Os", spec.number_ios) : flags.runtime, flags.ramp_time);
  }
  auto info = EnsureDataFile(DataFileRequest{.path = spec.filename,
                                             .size_bytes = spec.size_bytes,
                                             .will_write = IsWrite(spec.rw),
                                             .need_pattern = spec.verify});
  IODEPTH_RETURN_IF_ERROR(info.status());
  spec.file_id = info->file_id;
  // Ctrl-C (or SIGTERM) ends the window at once and prints what was measured, as fio does;
  // a second one ends the command.
  StopOnSignals();
  spec.stop = &StopFlag();
  Result<JobResult> result = RunJob(spec);
  IODEPTH_RETURN_IF_ERROR(result.status());
  for (const std::string& notice : result->notices) std::cerr << "iodepth: note: " << notice << "\n";
  if (result->stopped) {
    std::cerr << fmt::format("iodepth: interrupted: the figures below cover the {} measured before the signal{}\n",
                             FormatDuration(result->window_ns, DurationStyle::kTenthsBelowTenSeconds),
                             result->ios == 0 ? " (the ramp had not ended: nothing was measured)" : "");
  }
  if (human) {
    IODEPTH_RETURN_IF_ERROR(WriteOutput(flags, FormatJobTable({{spec, *result}})));
  } else {
    IODEPTH_RETURN_IF_ERROR(WriteOutput(flags, RunToJson({JobToJson(spec, *result)}).dump(2) + "\n"));
  }
  if (result->stopped) return Status::FailedPrecondition("interrupted before --runtime ended (figures above)");
  return Status::OK();
}

}  // namespace

void AddBenchCommand(CLI::App& app) {
  auto flags = std::make_shared<BenchFlags>();
  CLI::App* bench = app.add_subcommand("bench", "Run one fio-like job: keep --iodepth requests in flight on one file");
  bench->add_option("--filename", flags->filename,
                    "Data file; made with self-verifying content when missing (default: a temporary file in "
                    "$IODEPTH_TMPDIR or /var/tmp, removed afterwards)");
  bench->add_option("--rw", flags->rw, "read, randread, write or randwrite")->capture_default_str();
  bench->add_option("--bs", flags->bs, "Block size per request (4k, 128k, ...)")->capture_default_str();
  bench->add_option("--iodepth", flags->iodepth, "Requests kept in flight")
      ->check(CLI::Range(1u, 4096u))
      ->capture_default_str();
  bench
      ->add_option("--numjobs", flags->numjobs,
                   "Jobs at once, each on its own thread with its own queue of --iodepth (random: own seed; "
                   "sequential: own slice of --size); one result for all")
      ->check(CLI::Range(1u, kMaxJobs))
      ->capture_default_str();
  bench->add_option("--direct", flags->direct, "1: O_DIRECT, 0: buffered")
      ->check(CLI::Range(0, 1))
      ->capture_default_str();
  bench->add_option("--engine,--ioengine", flags->engine, "io_uring, worker, sync or auto")->capture_default_str();
  bench->add_option("--size", flags->size, "Bytes of the file the job uses")->capture_default_str();
  bench->add_option("--runtime", flags->runtime, "Measured time (10s, 500ms; a bare number is seconds)")
      ->capture_default_str();
  bench->add_option("--ramp_time", flags->ramp_time, "Time run before measuring, excluded")->capture_default_str();
  bench->add_option("--number_ios", flags->number_ios, "Stop after this many measured I/Os instead of --runtime");
  bench->add_option("--randseed", flags->randseed, "Seed of random offsets")->capture_default_str();
  bench->add_option("--verify", flags->verify, "1: check every read against the data file's pattern")
      ->check(CLI::Range(0, 1))
      ->capture_default_str();
  flags->queue.AddTo(*bench);
  bench->add_flag("--direct_fallback", flags->direct_fallback,
                  "Run buffered (and say so) when the filesystem refuses O_DIRECT, instead of failing");
  bench->add_flag("--keep", flags->keep, "Keep the temporary data file");
  bench->add_option("--output-format", flags->output_format, "normal (a table) or json (fio-shaped)")
      ->check(CLI::IsMember({"normal", "json"}))
      ->capture_default_str();
  bench->add_option("--output", flags->output, "Write the result here instead of stdout");
  bench->callback([flags] { ExitOnError("bench", RunBench(*flags)); });
}

}  // namespace iodepth::tools
