// Support shared by the `iodepth` subcommands: the temporary data file, the command line
// as typed, writing result files, and turning a failed Status into a message and exit 1.
//
// TempDataFile: the data file a command uses when the user named none. It lives in
// $IODEPTH_TMPDIR or /var/tmp (not /tmp, which is often tmpfs, where "disk" reads are
// memory copies) and is removed when the command ends, on Ctrl-C and on SIGTERM, so an
// interrupted run leaves no hundreds of MiB behind. One at a time per process.
#pragma once

#include <atomic>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "common/result.h"
#include "common/status.h"
#include "io/io_queue.h"
#include "sys/run_lock.h"

namespace iodepth::tools {

class TempDataFile {
 public:
  // Uses `given` as is (and never removes it) when non-empty.
  TempDataFile(const std::string& given, const std::string& tag);
  TempDataFile(const TempDataFile&) = delete;
  TempDataFile& operator=(const TempDataFile&) = delete;
  ~TempDataFile();

  const std::string& path() const { return path_; }
  bool temporary() const { return temporary_; }
  void Keep() { keep_ = true; }

 private:
  std::string path_;
  bool temporary_ = false;
  bool keep_ = false;
};

// Queue-tuning flags shared by `bench` and `suite`, with fio's names where fio has one.
struct QueueFlags {
  uint32_t worker_threads = 0;
  uint32_t batch_submit = 1;
  int sqthread_poll = 0;
  int registerfiles = 0;
  int fixedbufs = 0;
  std::string uring_async = "never";  // IoQueueOptions::uring_async.

  // Registers --worker_threads, --iodepth_batch_submit, --sqthread_poll, --registerfiles,
  // --fixedbufs and --uring_async on `command`. The struct must outlive parsing.
  void AddTo(CLI::App& command);
  // Copies the io_uring and worker settings into `queue`.
  void ApplyTo(IoQueueOptions& queue) const;
};

// The command line as typed, for the results file; argv[0] also says how to run this binary
// again (RunReportModule's IODEPTH_BIN).
void SetCommandLine(int argc, char** argv);
const std::string& CommandLine();

// Writes `text` to `path`, creating its directory: under a partial name first, then
// renamed into place, so a reader (or a crash) never sees half a file; the error names
// the path.
Status WriteTextFile(const std::string& path, const std::string& text);

// Ctrl-C and SIGTERM ask a running matrix or suite to stop after its current run (a second
// one of either kills at once): StopOnSignals installs the handlers; StopFlag is what
// they set, for MatrixOptions::stop and RunSuite's stop.
void StopOnSignals();
const std::atomic<bool>& StopFlag();

// Runs `/usr/bin/python3 -m <module> ARGS...` for a module of the report package (report/,
// the Python package that reads results files: "report" writes the report, "report.guidance"
// the guidance and the advice) and waits for it. Debian's interpreter, because
// python3-matplotlib is installed for it. The package is the directory IODEPTH_REPORT_DIR
// (environment; default: the source tree's report/, compiled in, or where that is absent
// the installed <prefix>/share/iodepth/report); the child gets that
// directory's parent first on PYTHONPATH and PYTHONSAFEPATH=1, so it runs this package
// whatever the current directory holds, and IODEPTH_BIN naming this binary (as it was started),
// for a module that needs its `iodepth summarise`. The module prints its own errors; a failure here
// says which module failed, or what to install or set.
// REQUIRES: `module` is "report" or "report.<name>".
Status RunReportModule(const std::string& module, const std::vector<std::string>& args);
// The same, returning what the module wrote to stdout (its stderr still goes to ours).
Result<std::string> RunReportModuleOutput(const std::string& module, const std::vector<std::string>& args);
// `python3 -m report INPUTS... [--out DIR]`: the Markdown report and its plots.
Status RunReportScript(const std::vector<std::string>& inputs, const std::string& out_dir);

// One measuring run per machine: takes the machine-wide lock (IODEPTH_MACHINE_LOCK, default
// /run/lock/iodepth-measure.lock, else /tmp/iodepth-measure.lock), and when another iodepth
// holds it, says so (naming its pid) and waits for it, since two measuring runs at once
// spoil each other's numbers and cache states. Ctrl-C while waiting ends the command.
Result<RunLock> WaitForMachine(std::string_view command);

// Prints "iodepth <command>: error: <message>", with the flag to change for the settings the
// message names (cli/flag_hints.h), and exits 1 when `status` failed. Called
// at the very end of a subcommand, after its RAII cleanup (temporary files) has run.
void ExitOnError(std::string_view command, const Status& status);

}  // namespace iodepth::tools
