// `iodepth compare DIR DIR... [--label NAME...] [--out OUT] [--json]`: sets two or more
// `iodepth matrix --out` directories side by side (two runs, two hosts, two kernels). It
// checks that each input is a directory holding results files, then runs the report
// package's comparison (`python3 -m report.compare`, report/compare.py, matplotlib through
// Debian's /usr/bin/python3), which decides every input with the report's one rule and
// writes the Markdown report with its plots, or with --json prints the comparison.
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "cli/cli_support.h"
#include "cli/commands.h"

namespace iodepth::tools {

namespace {

// What every complaint about an input ends with: what to give instead.
constexpr const char* kWhatToGive = "name the directory `iodepth matrix --out DIR` wrote";

struct CompareFlags {
  std::vector<std::string> inputs;
  std::vector<std::string> labels;
  std::string out_dir;
  bool json = false;
};

// OK when `dir` is a directory with at least one .json file in it. Which of those are the
// matrix's results files, and whether they follow the schema, report/compare.py decides and
// says (the file names and the schema live there and in schema/, not twice).
Status CheckInput(const std::string& dir) {
  std::error_code ec;
  const std::filesystem::file_status status = std::filesystem::status(dir, ec);
  if (!std::filesystem::exists(status)) {
    return Status::NotFound(fmt::format("{} does not exist: {}", dir, kWhatToGive));
  }
  if (!std::filesystem::is_directory(status)) {
    return Status::InvalidArgument(fmt::format(
        "{} is not a directory: {} (the one holding qd-nocap.json, bm-cap128MiB.json, ...), not a file in it", dir,
        kWhatToGive));
  }
  std::filesystem::directory_iterator entries(dir, ec);
  if (ec) return Status::PosixError(fmt::format("list {}", dir), ec.value());
  for (const std::filesystem::directory_entry& entry : entries) {
    if (entry.path().extension() == ".json" && entry.is_regular_file(ec)) return Status::OK();
  }
  return Status::InvalidArgument(
      fmt::format("{} holds no results files (*.json): {}, or write its results files from its journal with "
                  "`iodepth matrix --out {} --collect`",
                  dir, kWhatToGive, dir));
}

Status RunCompare(const CompareFlags& flags) {
  if (flags.inputs.size() < 2) {
    return Status::InvalidArgument(
        fmt::format("give two or more directories to compare (each one `iodepth matrix --out DIR` wrote), not {}",
                    flags.inputs.size()));
  }
  for (const std::string& input : flags.inputs) IODEPTH_RETURN_IF_ERROR(CheckInput(input));
  std::vector<std::string> args = flags.inputs;
  if (!flags.labels.empty()) {
    args.push_back("--label");
    args.insert(args.end(), flags.labels.begin(), flags.labels.end());
  }
  if (!flags.out_dir.empty()) {
    args.push_back("--out");
    args.push_back(flags.out_dir);
  }
  if (flags.json) args.push_back("--json");
  return RunReportModule("report.compare", args);
}

}  // namespace

void AddCompareCommand(CLI::App& app) {
  auto flags = std::make_shared<CompareFlags>();
  CLI::App* cmd = app.add_subcommand(
      "compare",
      "Compare two or more `iodepth matrix --out` directories side by side (Markdown report with PNG plots)");
  cmd->add_option("dirs", flags->inputs, "Directories `iodepth matrix --out` wrote (two runs, hosts or kernels)")
      ->required();
  cmd->add_option("--label", flags->labels,
                  "One name per directory, in their order, given after them (default: the directories' names)");
  cmd->add_option("--out", flags->out_dir,
                  "Output directory (default: compare-<label>-vs-<label> beside the first directory)");
  cmd->add_flag("--json", flags->json, "Print the comparison as one JSON object instead of writing the report");
  cmd->callback([flags] { ExitOnError("compare", RunCompare(*flags)); });
}

}  // namespace iodepth::tools
