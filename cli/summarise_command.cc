// `iodepth summarise [FILE]`: reads cells with their repetitions (JSON: {"cells": [...]},
// as `iodepth suite --json` writes them; FILE or "-" for stdin) and writes each one back
// on stdout, its median, cv and flags computed by SummariseCell (results/results.h).
//
// It exists so that a script merging the repetitions of several runs of a cell
// (fio/crosscheck.py) gets the very summary `iodepth suite` would have written, without
// keeping a second copy of the rule and its thresholds in another language. Cells come
// out in the order they came in; nothing else of the input is kept.

#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

#include <fmt/format.h>

#include "cli/cli_support.h"
#include "cli/commands.h"
#include "results/results.h"

namespace iodepth::tools {

namespace {

// What to give the command, appended to every complaint about its input.
constexpr const char* kInputHint =
    "give a JSON object {\"cells\": [...]} whose cells are records as `iodepth suite --json` writes them "
    "(median, cv and flags may be left out)";

struct SummariseFlags {
  std::string input = "-";
};

// The whole input as text: stdin for "-", else the file.
Result<std::string> ReadInput(const std::string& input) {
  if (input == "-") return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  std::ifstream in(input);
  if (!in) return Status::PosixError(fmt::format("open {}", input), errno);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Status::PosixError(fmt::format("read {}", input), errno);
  return text;
}

Status RunSummarise(const SummariseFlags& flags) {
  const std::string name = flags.input == "-" ? "stdin" : flags.input;
  IODEPTH_ASSIGN_OR_RETURN(const std::string text, ReadInput(flags.input));
  nlohmann::json json;
  // nlohmann_json reports where the text stops being JSON only by throwing; this is the
  // boundary where that becomes a message.
  try {
    json = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    return Status::InvalidArgument(
        fmt::format("{} is not valid JSON (at byte {}: {}); {}", name, e.byte, e.what(), kInputHint));
  }
  auto cells = ParseCellsToSummarise(json);
  if (!cells.has_value()) {
    return Status::InvalidArgument(fmt::format("{}: {}; {}", name, cells.error().message(), kInputHint));
  }
  nlohmann::json out = {{"cells", nlohmann::json::array()}};
  for (CellRecord& cell : *cells) {
    SummariseCell(cell);
    out["cells"].push_back(CellToJson(cell));
  }
  std::cout << out.dump(2) << "\n" << std::flush;
  if (!std::cout) return Status::PosixError("write the summarised cells to stdout", errno);
  return Status::OK();
}

}  // namespace

void AddSummariseCommand(CLI::App& app) {
  auto flags = std::make_shared<SummariseFlags>();
  CLI::App* cmd = app.add_subcommand(
      "summarise",
      "Write cells (JSON {\"cells\": [...]}) back with median, cv and flags computed from their repetitions");
  cmd->add_option("input", flags->input, "JSON file of cells, or - for stdin")->capture_default_str();
  cmd->callback([flags] { ExitOnError("summarise", RunSummarise(*flags)); });
}

}  // namespace iodepth::tools
