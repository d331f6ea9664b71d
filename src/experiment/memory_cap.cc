#include "experiment/memory_cap.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "common/text.h"
#include "sys/host_file.h"
#include "sys/mountinfo.h"

namespace iodepth {

namespace {

// Characters of a leftover cgroup's process list quoted in an error message.
constexpr size_t kMaxQuotedChars = 200;
// rmdir of a cgroup that was just emptied can fail with EBUSY for a while (seen here once
// in about 20 runs; container runtimes report up to ~200 ms). Waits 1, 2, 4 ... ms
// between tries: at most 255 ms in all, spent only when the kernel says busy.
constexpr int kRemoveAttempts = 9;

// ---- Text ----

// A limit as the kernel prints it: a byte count, or v2's "max" (read as UINT64_MAX).
std::optional<uint64_t> ParseLimit(std::string_view text) {
  if (Trim(text) == "max") return UINT64_MAX;
  return ParseU64(text);
}

// The value of `key` in a flat-keyed file of "key value" lines (memory.stat,
// memory.events, memory.oom_control).
std::optional<uint64_t> KeyedValue(std::string_view text, std::string_view key) {
  std::optional<uint64_t> value;
  ForEachLine(text, [&](std::string_view line) {
    const size_t space = line.find(' ');
    if (value || space == std::string_view::npos || line.substr(0, space) != key) return;
    value = ParseU64(line.substr(space + 1));
  });
  return value;
}

// The first of `keys` present, in order of preference.
std::optional<uint64_t> FirstKeyedValue(std::string_view text, std::initializer_list<std::string_view> keys) {
  for (const std::string_view key : keys) {
    if (const std::optional<uint64_t> value = KeyedValue(text, key)) return value;
  }
  return std::nullopt;
}

// Whether `token` is one of the `separator`-separated items of `list`.
bool HasToken(std::string_view list, std::string_view token, char separator) {
  list = Trim(list);
  while (!list.empty()) {
    const size_t end = list.find(separator);
    if (Trim(list.substr(0, end)) == token) return true;
    if (end == std::string_view::npos) break;
    list.remove_prefix(end + 1);
  }
  return false;
}

// ---- Files ----

Result<uint64_t> ReadNumber(const std::string& path) {
  IODEPTH_ASSIGN_OR_RETURN(const std::string text, ReadHostFile(path));
  const std::optional<uint64_t> value = ParseU64(text);
  if (!value) return Status::NotSupported(fmt::format("{} holds \"{}\", not a byte count", path, Trim(text)));
  return *value;
}

uint64_t PageBytes() { return static_cast<uint64_t>(::sysconf(_SC_PAGESIZE)); }

std::string PidText(int pid) { return fmt::format("{}\n", pid); }

bool ListsPid(std::string_view procs, int pid) {
  bool found = false;
  ForEachLine(procs, [&](std::string_view line) { found = found || ParseU64(line) == static_cast<uint64_t>(pid); });
  return found;
}

// ---- What a person can do about a failure ----

// systemd's size syntax: K, M, G, T are powers of 1024.
std::string SystemdSize(uint64_t bytes) {
  static constexpr char kSuffixes[] = "TGMK";
  for (int i = 0; i < 4; ++i) {
    const uint64_t unit = uint64_t{1} << (10 * (4 - i));
    if (bytes % unit == 0) return fmt::format("{}{}", bytes / unit, kSuffixes[i]);
  }
  return std::to_string(bytes);
}

struct Remedies {
  bool systemd = false;             // systemd is PID 1: it can make the limited cgroup.
  std::string cap_text = "<size>";  // The cap in systemd's syntax.

  std::string SystemdCommand() const {
    return fmt::format("systemd-run --scope -p MemoryMax={} -p MemorySwapMax=0 -- iodepth ... --memory-cap=inherit",
                       cap_text);
  }
  // ", or ..." when systemd can help, else "".
  std::string SystemdAlternative() const {
    return systemd ? fmt::format(", or let systemd make the limited cgroup: `{}`", SystemdCommand()) : std::string();
  }
  std::string Privilege() const {
    return fmt::format("The memory cap creates a cgroup and moves iodepth into it: run iodepth as root{}.",
                       SystemdAlternative());
  }
  std::string Layout() const {
    return fmt::format(
        "The cgroup filesystem is not where /proc/self/cgroup and /proc/self/mountinfo place it; check that the "
        "memory controller is mounted{}.",
        SystemdAlternative());
  }
  std::string EnableController() const {
    return fmt::format(
        "Enable the memory controller: on cgroup v2 boot without cgroup_disable=memory and have the parent cgroup "
        "delegate it (`echo +memory > <parent>/cgroup.subtree_control`); on cgroup v1 mount it (`mount -t cgroup -o "
        "memory cgroup /sys/fs/cgroup/memory`){}.",
        SystemdAlternative());
  }
};

Remedies MakeRemedies(const CgroupFs& fs, std::optional<uint64_t> cap_bytes) {
  Remedies remedies;
  remedies.systemd = PathExists(fs.systemd_marker);
  if (cap_bytes) remedies.cap_text = SystemdSize(*cap_bytes);
  return remedies;
}

std::string ErrnoName(int error_number) {
  const char* name = ::strerrorname_np(error_number);
  return name != nullptr ? std::string(name) : fmt::format("errno {}", error_number);
}

// A failed system call on the cgroup filesystem, with the fix that fits its errno.
Status CallFailed(std::string_view what, int error_number, const Remedies& remedies) {
  const std::string cause =
      fmt::format("memory cap: {}: {} ({})", what, std::strerror(error_number), ErrnoName(error_number));
  switch (error_number) {
    case EACCES:
    case EPERM:
    case EROFS: return Status::FailedPrecondition(cause + ". " + remedies.Privilege());
    case ENOENT:
    case ENOTDIR: return Status::NotSupported(cause + ". " + remedies.Layout());
    default: return Status::PosixError(fmt::format("memory cap: {}", what), error_number);
  }
}

Status WriteOrExplain(const std::string& path, std::string_view text, const Remedies& remedies) {
  const int error_number = WriteHostFile(path, text);
  if (error_number == 0) return Status::OK();
  return CallFailed(fmt::format("write \"{}\" to {}", Trim(text), path), error_number, remedies);
}

// ---- Finding the own memory cgroup ----

// The lines of /proc/self/cgroup ("id:controllers:path") that matter here.
struct Membership {
  std::optional<std::string> v2_path;         // "0::/path".
  std::optional<std::string> v1_memory_path;  // "N:...,memory,...:/path".
};

Membership ParseMembership(std::string_view text) {
  Membership membership;
  ForEachLine(text, [&](std::string_view line) {
    const size_t first = line.find(':');
    const size_t second = first == std::string_view::npos ? first : line.find(':', first + 1);
    if (second == std::string_view::npos) return;
    const std::string_view controllers = line.substr(first + 1, second - first - 1);
    const std::string path(Trim(line.substr(second + 1)));
    if (line.substr(0, first) == "0" && controllers.empty()) membership.v2_path = path;
    if (HasToken(controllers, "memory", ',')) membership.v1_memory_path = path;
  });
  return membership;
}

// Where `cgroup_path` is under a mount of the cgroup filesystem whose root is
// `mount_root`, or nullopt when that mount does not reach it.
std::optional<std::string> DirUnderMount(const std::string& mount_point, std::string_view mount_root,
                                         std::string_view cgroup_path) {
  if (mount_root == "/") return cgroup_path == "/" ? mount_point : mount_point + std::string(cgroup_path);
  if (cgroup_path == mount_root) return mount_point;
  if (!cgroup_path.starts_with(mount_root) || cgroup_path[mount_root.size()] != '/') return std::nullopt;
  return mount_point + std::string(cgroup_path.substr(mount_root.size()));
}

// The directory of `cgroup_path` on the last mount accepted by `is_hierarchy`.
template <typename MountFilter>
std::optional<std::string> FindCgroupDir(const std::vector<MountInfo>& mounts, std::string_view cgroup_path,
                                         MountFilter&& is_hierarchy) {
  std::optional<std::string> dir;
  for (const MountInfo& mount : mounts) {
    if (!is_hierarchy(mount)) continue;
    const std::string root = LastRootAt(mounts, mount.mount_point);
    if (std::optional<std::string> found = DirUnderMount(mount.mount_point, root, cgroup_path)) dir = std::move(found);
  }
  return dir;
}

struct OwnCgroup {
  CgroupVersion version;
  std::string cgroup_path;  // As /proc/self/cgroup names it.
  std::string dir;          // Its directory in this mount namespace.
};

// The own cgroup on v2 when it can have memory, else nullopt and `why_not`.
std::optional<OwnCgroup> TryV2(const Membership& membership, const std::vector<MountInfo>& mounts,
                               std::string* why_not) {
  if (!membership.v2_path) {
    *why_not = "/proc/self/cgroup has no cgroup v2 line (\"0::/path\")";
    return std::nullopt;
  }
  const std::string& path = *membership.v2_path;
  const std::optional<std::string> dir =
      FindCgroupDir(mounts, path, [](const MountInfo& m) { return m.fs_type == "cgroup2"; });
  if (!dir) {
    *why_not = fmt::format("the cgroup v2 cgroup {} is on no mounted cgroup2 filesystem", path);
    return std::nullopt;
  }
  const std::string controllers_file = JoinPath(*dir, "cgroup.controllers");
  const Result<std::string> controllers = ReadHostFile(controllers_file);
  if (!controllers) {
    *why_not = fmt::format("cgroup v2: {}", controllers.error().message());
    return std::nullopt;
  }
  if (!HasToken(*controllers, "memory", ' ')) {
    *why_not = fmt::format("the cgroup v2 cgroup {} has no \"memory\" controller in {} (it has \"{}\")", path,
                           controllers_file, Trim(*controllers));
    return std::nullopt;
  }
  return OwnCgroup{CgroupVersion::kV2, path, *dir};
}

// The own cgroup in a v1 memory hierarchy, else nullopt and `why_not`.
std::optional<OwnCgroup> TryV1(const Membership& membership, const std::vector<MountInfo>& mounts,
                               std::string* why_not) {
  if (!membership.v1_memory_path) {
    *why_not = "/proc/self/cgroup has no cgroup v1 line whose controllers include \"memory\"";
    return std::nullopt;
  }
  const std::string& path = *membership.v1_memory_path;
  const std::optional<std::string> dir = FindCgroupDir(mounts, path, [](const MountInfo& m) {
    return m.fs_type == "cgroup" && HasToken(m.super_options, "memory", ',');
  });
  if (!dir) {
    *why_not = fmt::format(
        "the cgroup v1 memory cgroup {} is on no mounted cgroup filesystem with the \"memory\" option", path);
    return std::nullopt;
  }
  return OwnCgroup{CgroupVersion::kV1, path, *dir};
}

Result<OwnCgroup> FindOwnMemoryCgroup(const CgroupFs& fs, const Remedies& remedies) {
  const Result<std::string> membership_text = ReadHostFile(fs.proc_self_cgroup);
  if (!membership_text) {
    return Status::NotSupported(fmt::format("memory cap: {}; this kernel shows no cgroups. {}",
                                            membership_text.error().message(), remedies.EnableController()));
  }
  const Result<std::string> mountinfo = ReadHostFile(fs.mountinfo);
  if (!mountinfo) return mountinfo.error().WithContext("memory cap: find the cgroup filesystem");
  const Membership membership = ParseMembership(*membership_text);
  const std::vector<MountInfo> mounts = ParseMountInfo(*mountinfo);
  std::string why_not_v2;
  std::string why_not_v1;
  if (std::optional<OwnCgroup> own = TryV2(membership, mounts, &why_not_v2)) return std::move(*own);
  if (std::optional<OwnCgroup> own = TryV1(membership, mounts, &why_not_v1)) return std::move(*own);
  return Status::NotSupported(
      fmt::format("memory cap: no memory cgroup controller is available to this process: {}; {}. {}", why_not_v2,
                  why_not_v1, remedies.EnableController()));
}

// ---- Making the cap cgroup ----

std::string LimitFile(CgroupVersion version, const std::string& dir) {
  return JoinPath(dir, version == CgroupVersion::kV2 ? "memory.max" : "memory.limit_in_bytes");
}

// v2 gives a child a controller only when its parent lists it in cgroup.subtree_control.
Status EnableMemoryForChildren(const OwnCgroup& own, const Remedies& remedies) {
  const std::string file = JoinPath(own.dir, "cgroup.subtree_control");
  const Result<std::string> enabled = ReadHostFile(file);
  if (!enabled) return CallFailed("read " + file, enabled.error().error_number(), remedies);
  if (HasToken(*enabled, "memory", ' ')) return Status::OK();
  const int error_number = WriteHostFile(file, "+memory");
  if (error_number != EBUSY) {
    return error_number == 0 ? Status::OK()
                             : CallFailed(fmt::format("write \"+memory\" to {}", file), error_number, remedies);
  }
  return Status::FailedPrecondition(fmt::format(
      "memory cap: write \"+memory\" to {}: {} (EBUSY). This is cgroup v2's no-internal-processes rule: a cgroup "
      "that holds processes (the cgroup {} holds iodepth itself) cannot hand the memory controller to child "
      "cgroups. Start iodepth in a cgroup of its own that carries the limit and pass --memory-cap=inherit{}, or "
      "move the processes of {} into a leaf cgroup first.",
      file, std::strerror(EBUSY), own.cgroup_path,
      remedies.systemd ? fmt::format(" (`{}`)", remedies.SystemdCommand()) : std::string(), own.cgroup_path));
}

// A cgroup left by a crashed run with the same pid: made again when it is empty, so its
// counters start at zero; reused when the kernel will not remove it.
Status ReclaimLeftover(const std::string& dir, const Remedies& remedies) {
  const std::string procs_file = JoinPath(dir, "cgroup.procs");
  const Result<std::string> procs = ReadHostFile(procs_file);
  if (!procs) return CallFailed("read " + procs_file, procs.error().error_number(), remedies);
  if (!Trim(*procs).empty()) {
    std::string pids(Trim(*procs).substr(0, kMaxQuotedChars));
    std::replace(pids.begin(), pids.end(), '\n', ' ');
    return Status::FailedPrecondition(fmt::format(
        "memory cap: the cgroup {} already exists, left by an earlier run, and still holds processes ({}); end "
        "them, or move them out and rmdir it",
        dir, pids));
  }
  if (::rmdir(dir.c_str()) != 0) {
    // EBUSY: it has child cgroups; ENOTEMPTY: a plain directory (a test's fake tree).
    if (errno == EBUSY || errno == ENOTEMPTY) return Status::OK();
    return CallFailed("rmdir the leftover cgroup " + dir, errno, remedies);
  }
  if (::mkdir(dir.c_str(), 0755) != 0) return CallFailed("mkdir " + dir, errno, remedies);
  return Status::OK();
}

// Removes the empty caps of earlier runs that were killed (a second Ctrl-C, an OOM kill):
// each is named after a process that no longer exists. Best effort: a cap still holding
// a process, or one the kernel will not remove yet, stays.
void RemoveStaleCaps(const std::string& own_dir, int own_pid) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(own_dir, ec)) {
    const std::string name = entry.path().filename().string();
    constexpr std::string_view kPrefix = "iodepth-";
    if (!name.starts_with(kPrefix)) continue;
    int pid = 0;
    const char* digits = name.data() + kPrefix.size();
    const auto [end, error] = std::from_chars(digits, name.data() + name.size(), pid);
    const bool cap_name = error == std::errc() && end == name.data() + name.size();
    if (!cap_name || pid == own_pid || pid <= 0 || !entry.is_directory(ec)) continue;
    if (::kill(pid, 0) == 0 || errno != ESRCH) continue;  // Alive, or not ours to judge.
    const Result<std::string> procs = ReadHostFile(JoinPath(entry.path().string(), "cgroup.procs"));
    if (procs && Trim(*procs).empty()) ::rmdir(entry.path().c_str());
  }
}

// Removes a cgroup directory, retrying while the kernel reports it busy; gives up
// silently, as a leftover is reclaimed by a later run (ReclaimLeftover).
void RemoveCgroupDir(const std::string& dir) {
  auto delay = std::chrono::milliseconds(1);
  for (int attempt = 1; attempt <= kRemoveAttempts; ++attempt) {
    if (::rmdir(dir.c_str()) == 0 || errno != EBUSY || attempt == kRemoveAttempts) return;
    std::this_thread::sleep_for(delay);
    delay *= 2;
  }
}

Status MakeCgroupDir(const std::string& dir, const Remedies& remedies) {
  if (::mkdir(dir.c_str(), 0755) == 0) return Status::OK();
  if (errno != EEXIST) return CallFailed("mkdir " + dir, errno, remedies);
  return ReclaimLeftover(dir, remedies);
}

Status WriteLimit(CgroupVersion version, const std::string& dir, uint64_t cap_bytes, const Remedies& remedies) {
  const std::string cap_text = std::to_string(cap_bytes);
  if (version == CgroupVersion::kV2) {
    IODEPTH_RETURN_IF_ERROR(WriteOrExplain(LimitFile(version, dir), cap_text, remedies));
    // Without this, anonymous memory could swap out and leave more room for the cache.
    const std::string swap_file = JoinPath(dir, "memory.swap.max");
    if (PathExists(swap_file)) IODEPTH_RETURN_IF_ERROR(WriteOrExplain(swap_file, "0", remedies));
    return Status::OK();
  }
  // v1 keeps memsw >= limit at every step: raise memsw (a reused cgroup may hold a lower
  // one), set the limit, then lower memsw to just above it (MemswLimitBytes says why).
  const std::string memsw_file = JoinPath(dir, "memory.memsw.limit_in_bytes");
  const bool has_memsw = PathExists(memsw_file);
  if (has_memsw) IODEPTH_RETURN_IF_ERROR(WriteOrExplain(memsw_file, "-1", remedies));
  IODEPTH_RETURN_IF_ERROR(WriteOrExplain(LimitFile(version, dir), cap_text, remedies));
  if (has_memsw) {
    IODEPTH_RETURN_IF_ERROR(WriteOrExplain(memsw_file, std::to_string(MemswLimitBytes(cap_bytes)), remedies));
  }
  return Status::OK();
}

// The limit the kernel kept: cap_bytes, or cap_bytes rounded down to a page.
Result<uint64_t> ReadBackLimit(CgroupVersion version, const std::string& dir, uint64_t cap_bytes,
                               const Remedies& remedies) {
  const std::string file = LimitFile(version, dir);
  const Result<std::string> text = ReadHostFile(file);
  if (!text) return CallFailed("read back " + file, text.error().error_number(), remedies);
  const std::optional<uint64_t> limit = ParseLimit(*text);
  const uint64_t page_bytes = PageBytes();
  if (limit && *limit <= cap_bytes && cap_bytes - *limit < page_bytes) return *limit;
  return Status::Corruption(fmt::format(
      "memory cap: wrote {} to {} but it reads back \"{}\": the kernel did not take the limit (it may only round "
      "down to a {}-byte page). Is another process managing this cgroup?",
      cap_bytes, file, Trim(*text), page_bytes));
}

}  // namespace

uint64_t MemswLimitBytes(uint64_t cap_bytes) { return cap_bytes + kMemswHeadroomPages * PageBytes(); }

std::string_view CgroupVersionName(CgroupVersion version) {
  switch (version) {
    case CgroupVersion::kV1: return "v1";
    case CgroupVersion::kV2: return "v2";
  }
  return "unknown";
}

MemoryCap::MemoryCap(const CgroupFs& fs, CgroupVersion version, std::string path, std::string cgroup_path,
                     std::string original_path, bool inherited)
    : fs_(fs),
      pid_(fs.pid != 0 ? fs.pid : static_cast<int>(::getpid())),
      version_(version),
      path_(std::move(path)),
      cgroup_path_(std::move(cgroup_path)),
      original_path_(std::move(original_path)),
      inherited_(inherited) {}

std::optional<uint64_t> InheritedMemoryLimit(const CgroupFs& fs) {
  const Result<OwnCgroup> own = FindOwnMemoryCgroup(fs, MakeRemedies(fs, std::nullopt));
  if (!own.has_value()) return std::nullopt;
  std::optional<uint64_t> smallest;
  const auto keep = [&](std::optional<uint64_t> limit) {
    if (limit && *limit <= MemoryCap::kMaxCapBytes && (!smallest || *limit < *smallest)) smallest = limit;
  };
  if (own->version == CgroupVersion::kV1) {
    // v1 sums the ancestors up for us: the smallest limit on the path to the root.
    const Result<std::string> stat = ReadHostFile(JoinPath(own->dir, "memory.stat"));
    if (stat) keep(KeyedValue(*stat, "hierarchical_memory_limit"));
    return smallest;
  }
  // v2: every cgroup but the root has memory.max; walk up until it is missing. The bound
  // only guarantees the walk ends (cgroup trees are a handful of levels deep).
  constexpr int kMaxLevels = 64;
  std::string dir = own->dir;
  for (int level = 0; level < kMaxLevels; ++level) {
    const Result<std::string> text = ReadHostFile(JoinPath(dir, "memory.max"));
    if (!text) break;
    keep(ParseLimit(*text));
    const size_t slash = dir.rfind('/');
    if (slash == std::string::npos || slash == 0) break;
    dir.resize(slash);
  }
  return smallest;
}

Result<std::unique_ptr<MemoryCap>> MemoryCap::Create(uint64_t cap_bytes, const CgroupFs& fs) {
  if (cap_bytes < kMinCapBytes || cap_bytes > kMaxCapBytes) {
    return Status::InvalidArgument(
        fmt::format("memory cap: {} bytes is outside [{}, {}]", cap_bytes, kMinCapBytes, kMaxCapBytes));
  }
  const Remedies remedies = MakeRemedies(fs, cap_bytes);
  IODEPTH_ASSIGN_OR_RETURN(const OwnCgroup own, FindOwnMemoryCgroup(fs, remedies));
  if (own.version == CgroupVersion::kV2) IODEPTH_RETURN_IF_ERROR(EnableMemoryForChildren(own, remedies));
  const int pid = fs.pid != 0 ? fs.pid : static_cast<int>(::getpid());
  RemoveStaleCaps(own.dir, pid);
  const std::string name = fmt::format("iodepth-{}", pid);
  const std::string dir = JoinPath(own.dir, name);
  IODEPTH_RETURN_IF_ERROR(MakeCgroupDir(dir, remedies));
  // The cap owns the directory from here: any failure below removes it again.
  std::unique_ptr<MemoryCap> cap(
      new MemoryCap(fs, own.version, dir, JoinPath(own.cgroup_path, name), own.dir, /*inherited=*/false));
  IODEPTH_RETURN_IF_ERROR(WriteLimit(own.version, dir, cap_bytes, remedies));
  IODEPTH_ASSIGN_OR_RETURN(cap->cap_bytes_, ReadBackLimit(own.version, dir, cap_bytes, remedies));
  cap->OpenPeak();
  return cap;
}

Result<std::unique_ptr<MemoryCap>> MemoryCap::Inherit(const CgroupFs& fs) {
  const Remedies remedies = MakeRemedies(fs, std::nullopt);
  IODEPTH_ASSIGN_OR_RETURN(const OwnCgroup own, FindOwnMemoryCgroup(fs, remedies));
  const std::string file = LimitFile(own.version, own.dir);
  const Result<std::string> text = ReadHostFile(file);
  if (!text) return CallFailed("read " + file, text.error().error_number(), remedies);
  const std::optional<uint64_t> limit = ParseLimit(*text);
  if (!limit || *limit > kMaxCapBytes) {
    return Status::FailedPrecondition(fmt::format(
        "memory cap: --memory-cap=inherit needs a memory limit on the cgroup iodepth runs in, but {} (cgroup {}) "
        "holds \"{}\": no limit. Start iodepth under one ({}), or give the cap itself: --memory-cap=<size>.",
        file, own.cgroup_path, Trim(*text),
        remedies.systemd ? fmt::format("`{}`", remedies.SystemdCommand())
                         : std::string("a cgroup with memory.max or memory.limit_in_bytes set")));
  }
  std::unique_ptr<MemoryCap> cap(new MemoryCap(fs, own.version, own.dir, own.cgroup_path, own.dir, /*inherited=*/true));
  cap->cap_bytes_ = *limit;
  cap->OpenPeak();
  return cap;
}

MemoryCap::~MemoryCap() {
  if (inside_) Leave().IgnoreError();
  if (peak_fd_ >= 0) ::close(peak_fd_);
  if (!inherited_) RemoveCgroupDir(path_);
}

void MemoryCap::OpenPeak() {
  if (version_ != CgroupVersion::kV2) return;
  const std::string file = JoinPath(path_, "memory.peak");
  // Before Linux 6.12 memory.peak has no write handler and refuses O_RDWR (EACCES).
  peak_fd_ = ::open(file.c_str(), O_RDWR | O_CLOEXEC | O_NOCTTY);
  peak_resettable_ = peak_fd_ >= 0;
  if (peak_fd_ < 0) peak_fd_ = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
}

Status MemoryCap::Enter() {
  if (inherited_) return Status::OK();
  if (inside_) return Status::FailedPrecondition("memory cap: Enter() while already inside " + path_);
  const std::string procs_file = JoinPath(path_, "cgroup.procs");
  const int error_number = WriteHostFile(procs_file, PidText(pid_));
  if (error_number != 0) {
    return CallFailed(fmt::format("move pid {} into the cap cgroup: write {}", pid_, procs_file), error_number,
                      MakeRemedies(fs_, cap_bytes_));
  }
  inside_ = true;
  Status verified = VerifyInside();
  if (!verified.ok()) Leave().IgnoreError();  // The caller sees the verification failure.
  return verified;
}

Status MemoryCap::VerifyInside() const {
  const std::string procs_file = JoinPath(path_, "cgroup.procs");
  const Result<std::string> procs = ReadHostFile(procs_file);
  if (!procs) return procs.error().WithContext("memory cap: verify the move");
  if (!ListsPid(*procs, pid_)) {
    return Status::FailedPrecondition(fmt::format(
        "memory cap: wrote pid {} to {} but the cgroup does not list it afterwards (it holds \"{}\"); refusing to "
        "run under a false label",
        pid_, procs_file, Trim(*procs).substr(0, kMaxQuotedChars)));
  }
  // Only our own process's view can be checked from here; a fake pid has none.
  if (fs_.pid != 0) return Status::OK();
  const Result<std::string> membership_text = ReadHostFile(fs_.proc_self_cgroup);
  if (!membership_text) return membership_text.error().WithContext("memory cap: verify the move");
  const Membership membership = ParseMembership(*membership_text);
  const std::optional<std::string>& now =
      version_ == CgroupVersion::kV2 ? membership.v2_path : membership.v1_memory_path;
  if (now == cgroup_path_) return Status::OK();
  return Status::FailedPrecondition(fmt::format(
      "memory cap: after the move {} names the memory cgroup \"{}\", not the cap cgroup \"{}\"; refusing to run "
      "under a false label",
      fs_.proc_self_cgroup, now.value_or("none"), cgroup_path_));
}

Status MemoryCap::Leave() {
  if (inherited_) return Status::OK();
  if (!inside_) return Status::FailedPrecondition("memory cap: Leave() while not inside " + path_);
  const std::string procs_file = JoinPath(original_path_, "cgroup.procs");
  const int error_number = WriteHostFile(procs_file, PidText(pid_));
  if (error_number != 0) {
    return CallFailed(fmt::format("move pid {} back to its own cgroup: write {}", pid_, procs_file), error_number,
                      MakeRemedies(fs_, cap_bytes_));
  }
  inside_ = false;
  return Status::OK();
}

Status MemoryCap::ResetPeak() {
  if (version_ == CgroupVersion::kV1) {
    return WriteOrExplain(JoinPath(path_, "memory.max_usage_in_bytes"), "0", MakeRemedies(fs_, cap_bytes_));
  }
  if (!peak_resettable_) return Status::OK();  // Peak since creation; see the header.
  // Any non-empty write starts a new peak for reads through this open file.
  static constexpr std::string_view kReset = "reset\n";
  ssize_t n = -1;
  if (::lseek(peak_fd_, 0, SEEK_SET) == 0) {
    do {
      n = ::write(peak_fd_, kReset.data(), kReset.size());
    } while (n < 0 && errno == EINTR);
  }
  if (n < 0) return Status::PosixError("memory cap: reset " + JoinPath(path_, "memory.peak"), errno);
  return Status::OK();
}

Status MemoryCap::Reclaim() {
  if (inherited_) return Status::OK();
  if (inside_) return Status::FailedPrecondition("memory cap: Reclaim while inside the cap; Leave first");
  // v1 force_empty reclaims every page of a cgroup without tasks; v2 memory.reclaim
  // reclaims up to the amount written. A file the kernel lacks, or a reclaim it could
  // not finish (EAGAIN, EBUSY), leaves the charges where they are: the next run then
  // starts with them, which the peak shows.
  const bool v1 = version_ == CgroupVersion::kV1;
  const std::string file = JoinPath(path_, v1 ? "memory.force_empty" : "memory.reclaim");
  const int error_number = WriteHostFile(file, v1 ? "0" : std::to_string(cap_bytes_));
  if (error_number == 0 || error_number == ENOENT || error_number == EAGAIN || error_number == EBUSY) {
    return Status::OK();
  }
  return Status::PosixError("memory cap: reclaim through " + file, error_number);
}

Result<MemorySample> MemoryCap::Sample() const { return version_ == CgroupVersion::kV2 ? SampleV2() : SampleV1(); }

Result<MemorySample> MemoryCap::SampleV2() const {
  MemorySample sample;
  IODEPTH_ASSIGN_OR_RETURN(sample.usage_bytes, ReadNumber(JoinPath(path_, "memory.current")));
  if (peak_fd_ >= 0) {
    const std::string peak_file = JoinPath(path_, "memory.peak");
    IODEPTH_ASSIGN_OR_RETURN(const std::string peak_text, RereadHostFile(peak_fd_, peak_file));
    const std::optional<uint64_t> peak = ParseU64(peak_text);
    if (!peak) {
      return Status::NotSupported(fmt::format("{} holds \"{}\", not a byte count", peak_file, Trim(peak_text)));
    }
    sample.peak_bytes = *peak;
  }
  const std::string stat_file = JoinPath(path_, "memory.stat");
  IODEPTH_ASSIGN_OR_RETURN(const std::string stat, ReadHostFile(stat_file));
  const std::optional<uint64_t> file_bytes = KeyedValue(stat, "file");
  if (!file_bytes) return Status::NotSupported(fmt::format("memory cap: {} has no \"file\" line", stat_file));
  sample.page_cache_bytes = *file_bytes;
  sample.refaults = FirstKeyedValue(stat, {"workingset_refault_file", "workingset_refault"}).value_or(0);
  IODEPTH_ASSIGN_OR_RETURN(const std::string events, ReadHostFile(JoinPath(path_, "memory.events")));
  sample.limit_events = KeyedValue(events, "max").value_or(0);
  sample.oom_kills = KeyedValue(events, "oom_kill").value_or(0);
  return sample;
}

Result<MemorySample> MemoryCap::SampleV1() const {
  MemorySample sample;
  IODEPTH_ASSIGN_OR_RETURN(sample.usage_bytes, ReadNumber(JoinPath(path_, "memory.usage_in_bytes")));
  IODEPTH_ASSIGN_OR_RETURN(sample.peak_bytes, ReadNumber(JoinPath(path_, "memory.max_usage_in_bytes")));
  const std::string stat_file = JoinPath(path_, "memory.stat");
  IODEPTH_ASSIGN_OR_RETURN(const std::string stat, ReadHostFile(stat_file));
  const std::optional<uint64_t> cache_bytes = FirstKeyedValue(stat, {"total_cache", "cache"});
  if (!cache_bytes) {
    return Status::NotSupported(
        fmt::format("memory cap: {} has neither a \"total_cache\" nor a \"cache\" line", stat_file));
  }
  sample.page_cache_bytes = *cache_bytes;
  sample.refaults =
      FirstKeyedValue(stat, {"total_workingset_refault_file", "workingset_refault_file", "workingset_refault"})
          .value_or(0);
  IODEPTH_ASSIGN_OR_RETURN(sample.limit_events, ReadNumber(JoinPath(path_, "memory.failcnt")));
  // A charge fails at one counter only, so the two counts add. Older kernels count hits
  // of the memsw limit here; recent ones (6.18 here) count them nowhere (see
  // kMemswHeadroomPages).
  const std::string memsw_failcnt_file = JoinPath(path_, "memory.memsw.failcnt");
  if (PathExists(memsw_failcnt_file)) {
    IODEPTH_ASSIGN_OR_RETURN(const uint64_t memsw_hits, ReadNumber(memsw_failcnt_file));
    sample.limit_events += memsw_hits;
  }
  IODEPTH_ASSIGN_OR_RETURN(const std::string oom_control, ReadHostFile(JoinPath(path_, "memory.oom_control")));
  sample.oom_kills = KeyedValue(oom_control, "oom_kill").value_or(0);
  return sample;
}

}  // namespace iodepth
