#include <cstdio>

#include "cli/cli_support.h"
#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"iodepth: does direct I/O catch up with buffered I/O once many requests are in flight?"};
  app.set_version_flag("--version", IODEPTH_VERSION);
  app.require_subcommand(1);
  iodepth::tools::SetCommandLine(argc, argv);
  iodepth::tools::AddBenchCommand(app);
  iodepth::tools::AddSuiteCommand(app);
  iodepth::tools::AddReportCommand(app);
  iodepth::tools::AddCompareCommand(app);
  iodepth::tools::AddLoadCommand(app);
  iodepth::tools::AddScanCommand(app);
  iodepth::tools::AddMatrixCommand(app);
  iodepth::tools::AddAdviseCommand(app);
  iodepth::tools::AddSummariseCommand(app);
  iodepth::tools::AddWalCommand(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return 0;
}
