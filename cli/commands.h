// cli/: the `iodepth` command line. Thin: it parses flags, calls into src/, and turns
// every error into one message a person can act on and a non-zero exit. No exceptions
// and no internals leave this layer.
#pragma once

#include <CLI/CLI.hpp>

namespace iodepth::tools {

// Adds `iodepth bench` to `app`.
void AddBenchCommand(CLI::App& app);
// Adds `iodepth suite`.
void AddSuiteCommand(CLI::App& app);
// Adds `iodepth report`.
void AddReportCommand(CLI::App& app);
// Adds `iodepth compare`.
void AddCompareCommand(CLI::App& app);
// Adds `iodepth load`.
void AddLoadCommand(CLI::App& app);
// Adds `iodepth scan`.
void AddScanCommand(CLI::App& app);
// Adds `iodepth matrix`.
void AddMatrixCommand(CLI::App& app);
// Adds `iodepth advise`.
void AddAdviseCommand(CLI::App& app);
// Adds `iodepth summarise`.
void AddSummariseCommand(CLI::App& app);
// Adds `iodepth wal`.
void AddWalCommand(CLI::App& app);

}  // namespace iodepth::tools
