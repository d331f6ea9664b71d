#include "cli/cli_support.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <fmt/format.h>

namespace iodepth::tools {

namespace {

// Static storage: the signal handler may only read plain memory and call unlink/_exit.
char g_temp_path[4096] = {0};
std::string g_command_line;

void RemoveTempFileOnSignal(int signal_number) {
  if (g_temp_path[0] != '\0') unlink(g_temp_path);
  _exit(128 + signal_number);
}

}  // namespace

TempDataFile::TempDataFile(const std::string& given, const std::string& tag) {
  if (!given.empty()) {
    path_ = given;
    return;
  }
  const char* dir = std::getenv("IODEPTH_TMPDIR");
  path_ = fmt::format("{}/iodepth-{}-{}.dat", dir ? dir : "/var/tmp", tag, getpid());
  temporary_ = true;
  std::snprintf(g_temp_path, sizeof(g_temp_path), "%s", path_.c_str());
  signal(SIGINT, RemoveTempFileOnSignal);
  signal(SIGTERM, RemoveTempFileOnSignal);
}

TempDataFile::~TempDataFile() {
  if (!temporary_) return;
  if (!keep_) unlink(path_.c_str());
  g_temp_path[0] = '\0';
}

void QueueFlags::AddTo(CLI::App& command) {
  command.add_option("--worker_threads", worker_threads, "worker engine: threads (0: one per unit of depth, max 64)");
  command.add_option("--iodepth_batch_submit", batch_submit,
                     "Submit once this many requests are prepared (fio's name; 1 = each at once)")
      ->check(CLI::Range(1u, 4096u))->capture_default_str();
  command.add_option("--sqthread_poll", sqthread_poll, "io_uring: 1 = kernel SQ polling thread")->check(CLI::Range(0, 1));
  command.add_option("--registerfiles", registerfiles, "io_uring: 1 = registered files")->check(CLI::Range(0, 1));
  command.add_option("--fixedbufs", fixedbufs, "io_uring: 1 = registered (fixed) buffers")->check(CLI::Range(0, 1));
}

void QueueFlags::ApplyTo(IoQueueOptions& queue) const {
  queue.worker_threads = worker_threads;
  queue.uring_sqpoll = sqthread_poll != 0;
  queue.uring_register_files = registerfiles != 0;
  queue.uring_fixed_buffers = fixedbufs != 0;
}

void SetCommandLine(int argc, char** argv) {
  g_command_line.clear();
  for (int i = 0; i < argc; ++i) {
    if (i > 0) g_command_line += ' ';
    g_command_line += i == 0 ? "iodepth" : argv[i];
  }
}

const std::string& CommandLine() { return g_command_line; }

Status WriteTextFile(const std::string& path, const std::string& text) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) return Status::PosixError(fmt::format("create directory {}", parent.string()), ec.value());
  std::ofstream out(path);
  out << text;
  out.close();
  if (!out) return Status::PosixError(fmt::format("write {}", path), errno);
  return Status::OK();
}

namespace {

// Debian's interpreter: python3-matplotlib is installed for it, not for a pyenv python3
// that may come first on PATH.
constexpr const char* kPython = "/usr/bin/python3";

std::string ToolScriptPath(const std::string& script) {
  const char* report = std::getenv("IODEPTH_REPORT_SCRIPT");
  if (script == "report.py" && report) return report;
  const char* dir = std::getenv("IODEPTH_REPORT_DIR");
  return fmt::format("{}/{}", dir ? dir : IODEPTH_REPORT_DIR, script);
}

}  // namespace

namespace {

std::atomic<bool> g_matrix_stop{false};

void StopMatrixOnSignal(int signal_number) {
  // The first signal asks for a clean stop after the current run; a second one kills.
  g_matrix_stop.store(true);
  signal(signal_number, SIG_DFL);
}

}  // namespace

void StopMatrixOnSignals() {
  signal(SIGINT, StopMatrixOnSignal);
  signal(SIGTERM, StopMatrixOnSignal);
}

const std::atomic<bool>& MatrixStopFlag() { return g_matrix_stop; }

Status RunToolScript(const std::string& script, const std::vector<std::string>& args) {
  if (access(kPython, X_OK) != 0) {
    return Status::NotSupported("/usr/bin/python3 is missing; install it with: apt-get install python3 python3-matplotlib");
  }
  const std::string path = ToolScriptPath(script);
  if (access(path.c_str(), R_OK) != 0) {
    return Status::NotFound(fmt::format("{} is missing; set IODEPTH_REPORT_DIR to the source tree's report/", path));
  }
  std::vector<std::string> all = {kPython, path};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::cout << std::flush;
  const pid_t pid = fork();
  if (pid < 0) return Status::PosixError(fmt::format("fork {}", script), errno);
  if (pid == 0) {
    execv(kPython, argv.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return Status::PosixError(fmt::format("wait for {}", script), errno);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Status::FailedPrecondition(fmt::format("{} failed (see its message above)", path));
  }
  return Status::OK();
}

Status RunReportScript(const std::vector<std::string>& inputs, const std::string& out_dir) {
  std::vector<std::string> args = inputs;
  if (!out_dir.empty()) {
    args.push_back("--out");
    args.push_back(out_dir);
  }
  return RunToolScript("report.py", args);
}

void ExitOnError(std::string_view command, const Status& status) {
  if (status.ok()) return;
  std::cerr << fmt::format("iodepth {}: error: {}\n", command, status.message());
  std::exit(1);
}

}  // namespace iodepth::tools
