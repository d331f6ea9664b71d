#include "cli/cli_support.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include <fmt/format.h>

#include "cli/flag_hints.h"

#include "common/assert.h"
#include "io/file.h"

namespace iodepth::tools {

namespace {

// Static storage: the signal handler may only read plain memory, store an atomic and call
// unlink/_exit.
char g_temp_path[4096] = {0};
char g_temp_partial[4096] = {0};  // The temporary file's partial name while it is made.
std::string g_command_line;
// How this process was started (argv[0], made absolute when it is a path), so that a report
// module can run this very binary again: `iodepth summarise` for report/fleet.py.
std::string g_executable;
std::atomic<bool> g_stop_wanted{false};  // StopOnSignals was called: a first signal stops cleanly.
std::atomic<bool> g_stop{false};

// One handler for both duties: with StopOnSignals, the first SIGINT or SIGTERM only asks
// for a clean stop (the command ends after its current run, keeping what ran); any other
// signal, or a second one, removes the temporary data file (and its partial) and exits.
void OnSignal(int signal_number) {
  if (g_stop_wanted.load() && !g_stop.load()) {
    g_stop.store(true);
    return;
  }
  if (g_temp_path[0] != '\0') unlink(g_temp_path);
  if (g_temp_partial[0] != '\0') unlink(g_temp_partial);
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
  std::snprintf(g_temp_partial, sizeof(g_temp_partial), "%s", PartialPath(path_).c_str());
  signal(SIGINT, OnSignal);
  signal(SIGTERM, OnSignal);
}

TempDataFile::~TempDataFile() {
  if (!temporary_) return;
  if (!keep_) unlink(path_.c_str());
  unlink(g_temp_partial);
  g_temp_path[0] = '\0';
  g_temp_partial[0] = '\0';
}

void QueueFlags::AddTo(CLI::App& command) {
  command.add_option("--worker_threads", worker_threads, "worker engine: threads (0: one per unit of depth, max 64)");
  command
      .add_option("--iodepth_batch_submit", batch_submit,
                  "Submit once this many requests are prepared (fio's name; 1 = each at once)")
      ->check(CLI::Range(1u, 4096u))
      ->capture_default_str();
  command.add_option("--sqthread_poll", sqthread_poll, "io_uring: 1 = kernel SQ polling thread")
      ->check(CLI::Range(0, 1));
  command.add_option("--registerfiles", registerfiles, "io_uring: 1 = registered files")->check(CLI::Range(0, 1));
  command.add_option("--fixedbufs", fixedbufs, "io_uring: 1 = registered (fixed) buffers")->check(CLI::Range(0, 1));
  command
      .add_option("--uring_async", uring_async,
                  "io_uring: IOSQE_ASYNC for buffered reads: auto (more than 4 in flight, or 64 KiB and more), "
                  "always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
}

void QueueFlags::ApplyTo(IoQueueOptions& queue) const {
  queue.worker_threads = worker_threads;
  queue.uring_sqpoll = sqthread_poll != 0;
  queue.uring_register_files = registerfiles != 0;
  queue.uring_fixed_buffers = fixedbufs != 0;
  queue.uring_async = ParseUringAsync(uring_async).value();  // Checked by the option's IsMember.
}

void SetCommandLine(int argc, char** argv) {
  g_command_line.clear();
  g_executable.clear();
  if (argc > 0 && argv[0] != nullptr && *argv[0] != '\0') {
    // A bare name was found on PATH, which the child keeps; a relative path is made absolute
    // now, before anything could change the working directory.
    g_executable = argv[0];
    std::error_code ec;
    if (g_executable.find('/') != std::string::npos) {
      const std::filesystem::path absolute = std::filesystem::absolute(g_executable, ec);
      if (!ec) g_executable = absolute.lexically_normal().string();
    }
  }
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
  return WriteFileAtomically(path, text);
}

namespace {

// Debian's interpreter: python3-matplotlib is installed for it, not for a pyenv python3
// that may come first on PATH.
constexpr const char* kPython = "/usr/bin/python3";
// `python3 -m report...` finds the package by its directory's name.
constexpr std::string_view kReportPackage = "report";

// The report package's directory: $IODEPTH_REPORT_DIR, else the source tree's report/
// (IODEPTH_REPORT_DIR, compiled in by cli/CMakeLists.txt) where it is there, else the
// installed copy (IODEPTH_INSTALLED_REPORT_DIR: <prefix>/share/iodepth/report, what the
// Debian package holds, on a machine without the source tree); absolute, so that its
// parent can go on PYTHONPATH, and without a trailing separator, so that it has a name.
std::filesystem::path DefaultReportDir() {
  const std::filesystem::path tree = IODEPTH_REPORT_DIR;
  std::error_code ec;
  if (std::filesystem::exists(tree / "__init__.py", ec)) return tree;
  const std::filesystem::path installed = IODEPTH_INSTALLED_REPORT_DIR;
  return std::filesystem::exists(installed / "__init__.py", ec) ? installed : tree;
}

std::filesystem::path ReportPackageDir() {
  const char* given = std::getenv("IODEPTH_REPORT_DIR");
  const std::filesystem::path dir = (given != nullptr && *given != '\0') ? given : DefaultReportDir();
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(dir, ec);
  if (ec) absolute = dir;  // No current directory: the path as given still names the package.
  absolute = absolute.lexically_normal();
  return absolute.has_filename() ? absolute : absolute.parent_path();  // "/src/report/" -> "/src/report".
}

// The file `python3 -m module` runs: the package's __main__.py for "report", <name>.py for
// "report.<name>".
std::filesystem::path ModuleFile(const std::filesystem::path& package_dir, const std::string& module) {
  if (module == kReportPackage) return package_dir / "__main__.py";
  return package_dir / (module.substr(kReportPackage.size() + 1) + ".py");
}

// OK when `package_dir` is a report package holding `module`; else what to set.
Status CheckReportPackage(const std::filesystem::path& package_dir, const std::string& module) {
  if (package_dir.filename().string() != kReportPackage) {
    return Status::InvalidArgument(
        fmt::format("IODEPTH_REPORT_DIR is {}; it must name the source tree's report/ "
                    "(python3 -m {} finds the package by that name)",
                    package_dir.string(), kReportPackage));
  }
  for (const std::filesystem::path& file : {package_dir / "__init__.py", ModuleFile(package_dir, module)}) {
    if (access(file.c_str(), R_OK) != 0) {
      return Status::NotFound(
          fmt::format("{} is missing; set IODEPTH_REPORT_DIR to the source tree's report/", file.string()));
    }
  }
  return Status::OK();
}

// The child's environment: this process's, with the package's parent directory first on
// PYTHONPATH (any PYTHONPATH already set follows it) and PYTHONSAFEPATH=1, so that Python
// does not put the current directory first on sys.path, where a report/ of another checkout
// would shadow this one. Built before fork: the child only calls execve.
std::vector<std::string> ChildEnvironment(const std::filesystem::path& package_dir) {
  std::vector<std::string> env;
  std::string python_path = package_dir.parent_path().string();
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string_view var(*entry);
    if (var.starts_with("PYTHONPATH=")) {
      const std::string_view rest = var.substr(std::string_view("PYTHONPATH=").size());
      if (!rest.empty()) python_path += fmt::format(":{}", rest);
    } else if (!var.starts_with("PYTHONSAFEPATH=") && !var.starts_with("IODEPTH_BIN=")) {
      env.emplace_back(var);
    }
  }
  env.push_back("PYTHONPATH=" + python_path);
  env.push_back("PYTHONSAFEPATH=1");
  // The binary running the module, not one the environment names: its `iodepth summarise`
  // is the summary of the very version that reads these results (report/fleet.py pools
  // several hosts' repetitions with it).
  if (!g_executable.empty()) env.push_back("IODEPTH_BIN=" + g_executable);
  return env;
}

// NULL-terminated pointers into `strings`, which must outlive them, for execve.
std::vector<char*> ExecPointers(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (std::string& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

}  // namespace

void StopOnSignals() {
  g_stop_wanted.store(true);
  signal(SIGINT, OnSignal);
  signal(SIGTERM, OnSignal);
}

const std::atomic<bool>& StopFlag() { return g_stop; }

namespace {

// RunReportModule and RunReportModuleOutput: with `capture`, the child's stdout comes back
// through a pipe instead of going to ours.
Result<std::string> RunModule(const std::string& module, const std::vector<std::string>& args, bool capture) {
  IODEPTH_CHECK(module == kReportPackage || (module.starts_with(fmt::format("{}.", kReportPackage)) &&
                                             module.size() > kReportPackage.size() + 1),
                "RunReportModule runs modules of the report package only");
  if (access(kPython, X_OK) != 0) {
    return Status::NotSupported(
        "/usr/bin/python3 is missing; install it with: apt-get install python3 python3-matplotlib");
  }
  const std::filesystem::path package_dir = ReportPackageDir();
  IODEPTH_RETURN_IF_ERROR(CheckReportPackage(package_dir, module));
  const std::string command = fmt::format("{} -m {}", kPython, module);
  std::vector<std::string> argv_strings = {kPython, "-m", module};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<std::string> env_strings = ChildEnvironment(package_dir);
  const std::vector<char*> argv = ExecPointers(argv_strings);
  const std::vector<char*> envp = ExecPointers(env_strings);
  std::cout << std::flush;
  int pipe_fds[2] = {-1, -1};
  if (capture && pipe2(pipe_fds, O_CLOEXEC) != 0) return Status::PosixError(fmt::format("pipe for {}", command), errno);
  const pid_t pid = fork();
  if (pid < 0) {
    const int error = errno;
    if (capture) {
      close(pipe_fds[0]);
      close(pipe_fds[1]);
    }
    return Status::PosixError(fmt::format("fork for {}", command), error);
  }
  if (pid == 0) {
    if (capture && dup2(pipe_fds[1], STDOUT_FILENO) < 0) _exit(127);
    execve(kPython, argv.data(), envp.data());
    _exit(127);
  }
  std::string output;
  if (capture) {
    close(pipe_fds[1]);
    char chunk[4096];
    while (true) {
      const ssize_t n = read(pipe_fds[0], chunk, sizeof(chunk));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      output.append(chunk, static_cast<size_t>(n));
    }
    close(pipe_fds[0]);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return Status::PosixError(fmt::format("wait for {}", command), errno);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Status::FailedPrecondition(fmt::format("{} failed (see its message above)", command));
  }
  return output;
}

}  // namespace

Status RunReportModule(const std::string& module, const std::vector<std::string>& args) {
  Result<std::string> ran = RunModule(module, args, /*capture=*/false);
  return ran.has_value() ? Status::OK() : ran.error();
}

Result<std::string> RunReportModuleOutput(const std::string& module, const std::vector<std::string>& args) {
  return RunModule(module, args, /*capture=*/true);
}

Status RunReportScript(const std::vector<std::string>& inputs, const std::string& out_dir) {
  std::vector<std::string> args = inputs;
  if (!out_dir.empty()) {
    args.push_back("--out");
    args.push_back(out_dir);
  }
  return RunReportModule(std::string(kReportPackage), args);
}

Result<RunLock> WaitForMachine(std::string_view command) {
  const char* configured = std::getenv("IODEPTH_MACHINE_LOCK");
  std::string path = configured != nullptr && *configured != '\0' ? configured : "/run/lock/iodepth-measure.lock";
  if ((configured == nullptr || *configured == '\0') && access("/run/lock", W_OK) != 0) {
    path = "/tmp/iodepth-measure.lock";
  }
  bool told = false;
  while (true) {
    Result<RunLock> lock = RunLock::TryAcquire(path);
    if (lock.has_value()) return lock;
    if (lock.error().code() != StatusCode::kResourceExhausted) {
      return lock.error().WithContext("the machine-wide lock of measuring runs");
    }
    if (!told) {
      const std::optional<int> holder = RunLock::HolderOf(path);
      std::cerr << fmt::format(
          "iodepth {}: waiting for {} to finish measuring (two measuring runs on one machine spoil each other's "
          "numbers; lock {}); Ctrl-C to give up\n",
          command, holder ? fmt::format("iodepth pid {}", *holder) : "another iodepth", path);
      told = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

void ExitOnError(std::string_view command, const Status& status) {
  if (status.ok()) return;
  std::cerr << fmt::format("iodepth {}: error: {}\n", command, WithFlagHint(status, command).message());
  std::exit(1);
}

}  // namespace iodepth::tools
