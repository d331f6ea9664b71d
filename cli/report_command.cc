// `iodepth report RESULTS.json...`: checks each results file against the schema, then
// runs the report package (`python3 -m report`: matplotlib, through Debian's
// /usr/bin/python3) to write the Markdown report and its PNG plots.
#include <string>
#include <vector>

#include "cli/cli_support.h"
#include "cli/commands.h"
#include "results/results.h"

namespace iodepth::tools {

namespace {

struct ReportFlags {
  std::vector<std::string> inputs;
  std::string out_dir;
};

Status RunReport(const ReportFlags& flags) {
  for (const std::string& input : flags.inputs) IODEPTH_RETURN_IF_ERROR(ReadResultsFile(input).status());
  return RunReportScript(flags.inputs, flags.out_dir);
}

}  // namespace

void AddReportCommand(CLI::App& app) {
  auto flags = std::make_shared<ReportFlags>();
  CLI::App* cmd = app.add_subcommand("report", "Write a Markdown report with PNG plots from results JSON files");
  cmd->add_option("results", flags->inputs, "Results JSON files from `iodepth suite`")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--out", flags->out_dir, "Output directory (default: <first results file>-report)");
  cmd->callback([flags] { ExitOnError("report", RunReport(*flags)); });
}

}  // namespace iodepth::tools
