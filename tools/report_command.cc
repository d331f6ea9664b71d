// `iodepth report RESULTS.json...`: checks each results file against the schema, then
// runs tools/report.py (matplotlib, through Debian's /usr/bin/python3) to write the
// Markdown report and its PNG plots.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <vector>

#include <fmt/format.h>

#include "bench/results.h"
#include "tools/cli_support.h"
#include "tools/commands.h"

namespace iodepth::tools {

namespace {

struct ReportFlags {
  std::vector<std::string> inputs;
  std::string out_dir;
};

// Debian's interpreter: python3-matplotlib is installed for it, not for a pyenv python3
// that may come first on PATH.
constexpr const char* kPython = "/usr/bin/python3";

std::string ReportScript() {
  const char* over = std::getenv("IODEPTH_REPORT_SCRIPT");
  return over ? over : IODEPTH_REPORT_SCRIPT;
}

Status RunReport(const ReportFlags& flags) {
  for (const std::string& input : flags.inputs) IODEPTH_RETURN_IF_ERROR(ReadResultsFile(input).status());
  if (access(kPython, X_OK) != 0) {
    return Status::NotSupported("/usr/bin/python3 is missing; install it with: apt-get install python3 python3-matplotlib");
  }
  const std::string script = ReportScript();
  if (access(script.c_str(), R_OK) != 0) {
    return Status::NotFound(fmt::format("report script {} is missing; set IODEPTH_REPORT_SCRIPT to tools/report.py", script));
  }
  std::vector<std::string> args = {kPython, script};
  args.insert(args.end(), flags.inputs.begin(), flags.inputs.end());
  if (!flags.out_dir.empty()) {
    args.push_back("--out");
    args.push_back(flags.out_dir);
  }
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return Status::PosixError("fork the report script", errno);
  if (pid == 0) {
    execv(kPython, argv.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return Status::PosixError("wait for the report script", errno);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Status::FailedPrecondition(fmt::format("{} failed (see its message above)", script));
  }
  return Status::OK();
}

}  // namespace

void AddReportCommand(CLI::App& app) {
  auto flags = std::make_shared<ReportFlags>();
  CLI::App* cmd = app.add_subcommand("report", "Write a Markdown report with PNG plots from results JSON files");
  cmd->add_option("results", flags->inputs, "Results JSON files from `iodepth suite`")->required()->check(CLI::ExistingFile);
  cmd->add_option("--out", flags->out_dir, "Output directory (default: <first results file>-report)");
  cmd->callback([flags] {
    ExitOnError("report", RunReport(*flags));
  });
}

}  // namespace iodepth::tools
