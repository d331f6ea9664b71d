#include "sys/environment.h"

#include <fcntl.h>
#include <liburing.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "common/clock.h"
#include "common/text.h"

#include "sys/block_device.h"
#include "sys/direct_alignment.h"
#include "sys/git.h"
#include "sys/host_file.h"
#include "sys/io_uring_probe.h"
#include "sys/mountinfo.h"

#ifndef IODEPTH_VERSION
#define IODEPTH_VERSION "unknown"  // The library target defines it; a hand build may not.
#endif

namespace iodepth {

namespace {

nlohmann::json TextOr(const std::string& path, const char* fallback) {
  const std::optional<std::string> text = ReadTrimmedHostFile(path);
  return text ? nlohmann::json(*text) : nlohmann::json(fallback);
}

// An integer file (sysctl, sysfs attribute) as a number, or "unknown".
nlohmann::json NumberOr(const std::string& path) {
  const std::optional<std::string> text = ReadTrimmedHostFile(path);
  int64_t value = 0;
  if (!text) return "unknown";
  const auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (error != std::errc() || end != text->data() + text->size()) return "unknown";
  return value;
}

// ---- Machine ----

std::string CpuModel() {
  std::string model = "unknown";
  const std::optional<std::string> cpuinfo = ReadHostFileIfAny("/proc/cpuinfo");
  if (!cpuinfo) return model;
  bool found = false;
  ForEachLine(*cpuinfo, [&](std::string_view line) {
    const size_t colon = line.find(':');
    if (found || colon == std::string_view::npos || Trim(line.substr(0, colon)) != "model name") return;
    const std::string_view value = Trim(line.substr(colon + 1));
    if (!value.empty()) model = std::string(value);
    found = true;
  });
  return model;
}

void AddMachine(nlohmann::json& env) {
  utsname names{};
  const bool named = ::uname(&names) == 0;
  env["kernel"] = named ? std::string(names.release) : "unknown";
  env["uname"] =
      named ? fmt::format("{} {} {} {} {}", names.sysname, names.nodename, names.release, names.version, names.machine)
            : "unknown";
  char host[HOST_NAME_MAX + 1] = {};
  env["hostname"] = ::gethostname(host, sizeof(host) - 1) == 0 && host[0] != '\0' ? std::string(host) : "unknown";
  env["cpu_model"] = CpuModel();
  const long online = ::sysconf(_SC_NPROCESSORS_ONLN);
  env["cpu_count"] = online >= 1 ? nlohmann::json(online) : nlohmann::json("unknown");
  // A cgroup cpuset or taskset can leave this process fewer CPUs than are online.
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  const bool affinity = ::sched_getaffinity(0, sizeof(allowed), &allowed) == 0;
  env["cpus_allowed"] = affinity ? nlohmann::json(CPU_COUNT(&allowed)) : nlohmann::json("unknown");
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page_bytes = ::sysconf(_SC_PAGESIZE);
  env["memory_total_bytes"] = pages > 0 && page_bytes > 0
                                  ? nlohmann::json(static_cast<uint64_t>(pages) * static_cast<uint64_t>(page_bytes))
                                  : nlohmann::json("unknown");
}

// ---- Storage under the data path ----

// An object whose every key holds `word`: "none" when the thing does not exist here (no
// block device under tmpfs or overlay), "unknown" when it could not be read.
nlohmann::json Filled(std::span<const char* const> keys, const char* word) {
  nlohmann::json object = nlohmann::json::object();
  for (const char* key : keys) object[key] = word;
  return object;
}

constexpr const char* kFilesystemKeys[] = {"type", "mount_point", "device", "mount_options", "super_options"};
constexpr const char* kAlignmentKeys[] = {"memory_bytes", "offset_bytes", "source"};
constexpr const char* kDeviceKeys[] = {"name",      "partition",   "major_minor",        "model",
                                       "vendor",    "rotational",  "logical_block_size", "physical_block_size",
                                       "scheduler", "nr_requests", "read_ahead_kb",      "max_sectors_kb"};

// A filesystem that cannot be told says why ("reason"), as a container or a chroot whose
// root is not in mountinfo leaves it.
nlohmann::json FilesystemJson(const MountInfo* mount, std::string_view reason = "") {
  if (mount == nullptr) {
    nlohmann::json unknown = Filled(kFilesystemKeys, "unknown");
    unknown["reason"] = reason.empty() ? "no mount in /proc/self/mountinfo holds the path (a container or a chroot "
                                         "can hide it, or /proc is not mounted)"
                                       : std::string(reason);
    return unknown;
  }
  return {{"type", mount->fs_type},
          {"mount_point", mount->mount_point},
          {"device", mount->source},
          {"mount_options", mount->mount_options},
          {"super_options", mount->super_options}};
}

nlohmann::json FlagOr(const std::string& path) {
  const std::optional<std::string> text = ReadTrimmedHostFile(path);
  if (text == "0") return false;
  if (text == "1") return true;
  return "unknown";
}

nlohmann::json DeviceJson(const std::string& sys_dir) {
  // A partition's directory sits inside its disk's and has no device/ or queue/ of its own.
  const bool partition = PathExists(JoinPath(sys_dir, "partition"));
  const std::string disk = partition ? ParentDir(sys_dir) : sys_dir;
  const std::string queue = JoinPath(disk, "queue");
  const std::optional<std::string> scheduler = ReadTrimmedHostFile(JoinPath(queue, "scheduler"));
  return {{"name", BaseName(disk)},
          {"partition", partition ? BaseName(sys_dir) : "none"},
          {"major_minor", TextOr(JoinPath(disk, "dev"), "unknown")},
          {"model", TextOr(JoinPath(disk, "device/model"), "unknown")},  // virtio-blk has none.
          {"vendor", TextOr(JoinPath(disk, "device/vendor"), "unknown")},
          {"rotational", FlagOr(JoinPath(queue, "rotational"))},
          {"logical_block_size", NumberOr(JoinPath(queue, "logical_block_size"))},
          {"physical_block_size", NumberOr(JoinPath(queue, "physical_block_size"))},
          {"scheduler", scheduler ? BracketedChoice(*scheduler) : "unknown"},
          {"nr_requests", NumberOr(JoinPath(queue, "nr_requests"))},
          {"read_ahead_kb", NumberOr(JoinPath(queue, "read_ahead_kb"))},
          {"max_sectors_kb", NumberOr(JoinPath(queue, "max_sectors_kb"))}};
}

nlohmann::json DirectAlignmentJson(const std::string& path, const struct stat& st) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; statx ignores the flag.
  int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
  if (S_ISDIR(st.st_mode)) flags |= O_DIRECTORY;
  int fd = ::open(path.c_str(), flags);
  // statx and fstat need no read access: O_PATH still answers for a file this process may
  // not read (or a device its cgroup forbids opening).
  if (fd < 0 && (errno == EACCES || errno == EPERM)) fd = ::open(path.c_str(), O_PATH | O_CLOEXEC);
  if (fd < 0) return Filled(kAlignmentKeys, "unknown");
  const DirectAlignment alignment = DiscoverDirectAlignment(fd);
  ::close(fd);
  return {
      {"memory_bytes", alignment.memory_bytes}, {"offset_bytes", alignment.offset_bytes}, {"source", alignment.source}};
}

void AddStorage(nlohmann::json& env, const std::string& data_path, const std::vector<MountInfo>& mounts) {
  env["data_path"] = data_path;
  const std::optional<std::string> inspected = NearestExistingPath(data_path);
  struct stat st {};
  const bool known = inspected && ::stat(inspected->c_str(), &st) == 0;
  env["inspected_path"] = known ? *inspected : "unknown";
  if (!known) {
    env["filesystem"] = FilesystemJson(nullptr, "the path and every directory above it could not be read");
    env["device"] = Filled(kDeviceKeys, "unknown");
    env["direct_io_alignment"] = Filled(kAlignmentKeys, "unknown");
    return;
  }
  const MountInfo* mount = FindMount(mounts, *inspected);
  env["filesystem"] = FilesystemJson(mount);
  const std::optional<std::string> sys_dir = FindBlockDeviceDir(st, mount);
  env["device"] = sys_dir ? DeviceJson(*sys_dir) : Filled(kDeviceKeys, "none");
  env["direct_io_alignment"] = DirectAlignmentJson(*inspected, st);
}

nlohmann::json StorageKindJson(const std::string& data_path, const std::vector<MountInfo>& mounts) {
  const StorageKind kind = ClassifyStorage(data_path, mounts);
  return {{"kind", kind.kind}, {"reason", kind.reason}};
}

// ---- io_uring ----

// IORING_FEAT_* names by bit number. Bits 13 to 17 are newer than liburing 2.3's header;
// their names and values are the kernel uapi's.
constexpr const char* kUringFeatureNames[] = {
    "SINGLE_MMAP", "NODROP",          "SUBMIT_STABLE",   "RW_CUR_POS",     "CUR_PERSONALITY", "FAST_POLL",
    "POLL_32BITS", "SQPOLL_NONFIXED", "EXT_ARG",         "NATIVE_WORKERS", "RSRC_TAGS",       "CQE_SKIP",
    "LINKED_FILE", "REG_REG_RING",    "RECVSEND_BUNDLE", "MIN_TIMEOUT",    "RW_ATTR",         "NO_IOWAIT"};
static_assert(IORING_FEAT_SINGLE_MMAP == 1U << 0 && IORING_FEAT_FAST_POLL == 1U << 5 &&
                  IORING_FEAT_LINKED_FILE == 1U << 12,
              "kUringFeatureNames is indexed by bit number");

// The names of the bits set in `features`; a bit newer than the table is still listed,
// by number, so nothing the kernel reports is dropped.
nlohmann::json FeatureNames(uint32_t features) {
  nlohmann::json names = nlohmann::json::array();
  for (uint32_t index = 0; index < 32; ++index) {
    if ((features & (1U << index)) == 0) continue;
    names.push_back(index < std::size(kUringFeatureNames) ? fmt::format("IORING_FEAT_{}", kUringFeatureNames[index])
                                                          : fmt::format("IORING_FEAT_BIT_{}", index));
  }
  return names;
}

nlohmann::json OpcodeSupport(const io_uring_probe& probe) {
  return {{"READ", io_uring_opcode_supported(&probe, IORING_OP_READ) != 0},
          {"WRITE", io_uring_opcode_supported(&probe, IORING_OP_WRITE) != 0},
          {"READ_FIXED", io_uring_opcode_supported(&probe, IORING_OP_READ_FIXED) != 0},
          {"WRITE_FIXED", io_uring_opcode_supported(&probe, IORING_OP_WRITE_FIXED) != 0}};
}

// Sets up a one-entry ring to read the kernel's feature bits and opcode table.
void AddRingFeatures(nlohmann::json& out) {
  io_uring ring{};
  io_uring_params params{};
  if (io_uring_queue_init_params(1, &ring, &params) < 0) return;
  out["features"] = FeatureNames(params.features);
  // The ring just made answers the probe; io_uring_get_probe() would set up another.
  io_uring_probe* probe = io_uring_get_probe_ring(&ring);
  if (probe != nullptr) {
    out["opcodes"] = OpcodeSupport(*probe);
    io_uring_free_probe(probe);
  }
  io_uring_queue_exit(&ring);
}

bool RingSetupWorks(uint32_t flags) {
  io_uring ring{};
  io_uring_params params{};
  params.flags = flags;
  if (io_uring_queue_init_params(1, &ring, &params) < 0) return false;
  io_uring_queue_exit(&ring);
  return true;
}

nlohmann::json IoUringJson() {
  const Status probe = ProbeIoUring();
  nlohmann::json out = {{"available", probe.ok()},
                        {"reason", probe.ok() ? std::string("none") : probe.message()},
                        {"io_uring_disabled", NumberOr("/proc/sys/kernel/io_uring_disabled")},
                        {"features", "unknown"},
                        {"opcodes", "unknown"}};
  if (probe.ok()) AddRingFeatures(out);
  // The io_uring backend asks for both (Linux 6.1+); without them it runs, more slowly.
  out["single_issuer_defer_taskrun"] =
      probe.ok() && RingSetupWorks(IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN);
  return out;
}

// ---- Limits, cgroup, VM ----

nlohmann::json LimitJson(int resource) {
  rlimit limit{};
  if (::getrlimit(resource, &limit) != 0) return "unknown";
  if (limit.rlim_cur == RLIM_INFINITY) return "unlimited";
  return static_cast<uint64_t>(limit.rlim_cur);
}

// Controllers -> path, from /proc/self/cgroup lines "id:controllers:path". The v2
// hierarchy has no controllers in that list; it is keyed "unified".
nlohmann::json CgroupPaths() {
  const std::optional<std::string> text = ReadHostFileIfAny("/proc/self/cgroup");
  if (!text) return "unknown";
  nlohmann::json paths = nlohmann::json::object();
  ForEachLine(*text, [&](std::string_view line) {
    const size_t first = line.find(':');
    const size_t second = first == std::string_view::npos ? first : line.find(':', first + 1);
    if (second == std::string_view::npos) return;
    const std::string controllers(line.substr(first + 1, second - first - 1));
    paths[controllers.empty() ? std::string("unified") : controllers] = std::string(line.substr(second + 1));
  });
  return paths;
}

nlohmann::json CgroupJson(const std::vector<MountInfo>& mounts) {
  bool v1 = false;
  const MountInfo* unified = nullptr;
  for (const MountInfo& mount : mounts) {
    if (mount.fs_type == "cgroup") v1 = true;
    if (mount.fs_type == "cgroup2" && unified == nullptr) unified = &mount;
  }
  nlohmann::json version = "unknown";
  // cgroup.controllers at the root means v2 is the whole tree. A v2 mount beside v1
  // controllers (systemd's /sys/fs/cgroup/unified) is the hybrid layout.
  if (PathExists("/sys/fs/cgroup/cgroup.controllers")) {
    version = 2;
  } else if (v1) {
    version = unified != nullptr ? nlohmann::json("hybrid") : nlohmann::json(1);
  } else if (unified != nullptr) {
    version = 2;
  }
  nlohmann::json cgroup = {{"version", version},
                           {"unified_mount", unified != nullptr ? unified->mount_point : std::string("none")},
                           {"paths", CgroupPaths()}};
  if (version == "unknown") {
    cgroup["reason"] = mounts.empty() ? "/proc/self/mountinfo could not be read"
                                      : "no cgroup or cgroup2 filesystem is mounted where this process can see it "
                                        "(a container or a chroot can hide it); memory caps cannot be made here";
  }
  return cgroup;
}

nlohmann::json ChoiceOr(const std::string& path) {
  const std::optional<std::string> text = ReadTrimmedHostFile(path);
  return text ? nlohmann::json(BracketedChoice(*text)) : nlohmann::json("unknown");
}

// ---- Tool ----

// json::dump() throws on invalid UTF-8, and a device model or a mount point holds
// whatever bytes the kernel has. A round trip through dump's replacing handler swaps bad
// sequences for U+FFFD by nlohmann's own rules, so no later dump can throw.
nlohmann::json ValidUtf8(nlohmann::json env) {
  const std::string text = env.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  nlohmann::json clean = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  return clean.is_discarded() ? env : clean;
}

}  // namespace

std::string BracketedChoice(std::string_view text) {
  const size_t open = text.find('[');
  const size_t close = open == std::string_view::npos ? open : text.find(']', open);
  if (close == std::string_view::npos) return std::string(Trim(text));
  return std::string(Trim(text.substr(open + 1, close - open - 1)));
}

std::optional<CpuSample> ParseProcStat(std::string_view text) {
  // "cpu  user nice system idle iowait irq softirq steal guest guest_nice", then "cpuN ..." per
  // CPU. guest and guest_nice are already inside user and nice, so they are not added.
  CpuSample sample;
  bool found = false;
  bool bad = false;
  ForEachLine(text, [&](std::string_view line) {
    if (!line.starts_with("cpu")) return;
    if (line.size() > 3 && line[3] >= '0' && line[3] <= '9') {
      ++sample.cpus;
      return;
    }
    if (found || line.size() < 4 || line[3] != ' ') return;
    std::vector<uint64_t> fields;
    for (const std::string_view word : SplitWords(line.substr(3))) {
      const std::optional<uint64_t> value = ParseU64(word);
      if (!value) {
        bad = true;
        return;
      }
      fields.push_back(*value);
    }
    if (fields.size() < 4) {
      bad = true;
      return;
    }
    fields.resize(std::max<size_t>(fields.size(), 8));
    sample.busy_ticks = fields[0] + fields[1] + fields[2];
    for (size_t i = 0; i < 8; ++i) sample.total_ticks += fields[i];
    found = true;
  });
  if (bad || !found || sample.cpus == 0) return std::nullopt;
  return sample;
}

std::optional<uint64_t> ParseSelfCpuTicks(std::string_view text) {
  // "pid (comm) state ppid ...": utime and stime are fields 14 and 15, the 12th and 13th
  // after the last ')' (the command name may hold both spaces and parentheses).
  const size_t close = text.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  const std::vector<std::string_view> words = SplitWords(text.substr(close + 1));
  if (words.size() < 13) return std::nullopt;
  const std::optional<uint64_t> utime = ParseU64(words[11]);
  const std::optional<uint64_t> stime = ParseU64(words[12]);
  if (!utime || !stime) return std::nullopt;
  return *utime + *stime;
}

std::optional<CpuSample> SampleCpu() {
  // The process's time first: the machine's then includes at least all of it.
  const std::optional<std::string> self_text = ReadHostFileIfAny("/proc/self/stat");
  const std::optional<std::string> stat_text = ReadHostFileIfAny("/proc/stat");
  if (!self_text || !stat_text) return std::nullopt;
  const std::optional<uint64_t> self = ParseSelfCpuTicks(*self_text);
  std::optional<CpuSample> sample = ParseProcStat(*stat_text);
  if (!self || !sample) return std::nullopt;
  sample->self_ticks = *self;
  return sample;
}

std::optional<OtherCpu> OtherCpuBetween(const CpuSample& from, const CpuSample& to) {
  if (to.total_ticks <= from.total_ticks || to.cpus == 0 || to.busy_ticks < from.busy_ticks ||
      to.self_ticks < from.self_ticks) {
    return std::nullopt;
  }
  const double busy = static_cast<double>(to.busy_ticks - from.busy_ticks);
  const double self = static_cast<double>(to.self_ticks - from.self_ticks);
  // The machine's ticks summed over its CPUs, divided by their number: the wall time.
  const double wall_ticks = static_cast<double>(to.total_ticks - from.total_ticks) / to.cpus;
  const long hz = ::sysconf(_SC_CLK_TCK);
  return OtherCpu{.cpus = std::max(0.0, (busy - self) / wall_ticks),
                  .seconds = wall_ticks / static_cast<double>(hz > 0 ? hz : 100)};
}

nlohmann::json LoadRecord(const std::optional<CpuSample>& since) {
  nlohmann::json load = nlohmann::json::object();
  const std::optional<std::string> text = ReadTrimmedHostFile("/proc/loadavg");
  double one_minute = 0;
  if (text && std::sscanf(text->c_str(), "%lf", &one_minute) == 1) {
    load["loadavg_1m"] = one_minute;
  } else {
    load["loadavg_1m"] = "unknown";
  }
  load["other_measurers"] = OtherMeasuringProcesses();
  load["other_cpus"] = "unknown";
  load["measured_s"] = "unknown";
  const std::optional<CpuSample> now = SampleCpu();
  const std::optional<OtherCpu> other = since && now ? OtherCpuBetween(*since, *now) : std::nullopt;
  if (other) {
    // Two decimals: a hundredth of a CPU is below what the ticks resolve over a short run.
    load["other_cpus"] = std::round(other->cpus * 100) / 100;
    load["measured_s"] = std::round(other->seconds * 10) / 10;
  }
  return load;
}

std::vector<int> OtherMeasuringProcesses() {
  std::vector<int> pids;
  const int self = ::getpid();
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    int pid = 0;
    const auto [end, error] = std::from_chars(name.data(), name.data() + name.size(), pid);
    if (error != std::errc() || end != name.data() + name.size() || pid == self) continue;
    const std::optional<std::string> comm = ReadTrimmedHostFile(entry.path().string() + "/comm");
    if (comm == "iodepth" || comm == "fio") pids.push_back(pid);
  }
  std::sort(pids.begin(), pids.end());
  return pids;
}

nlohmann::json CollectEnvironment(const std::string& data_path, const std::optional<CpuSample>& since) {
  nlohmann::json env = nlohmann::json::object();
  env["collected_utc"] = UtcNow();
  AddMachine(env);
  const std::optional<std::string> mountinfo = ReadHostFileIfAny("/proc/self/mountinfo");
  const std::vector<MountInfo> mounts = mountinfo ? ParseMountInfo(*mountinfo) : std::vector<MountInfo>();
  AddStorage(env, data_path, mounts);
  env["storage_kind"] = StorageKindJson(data_path, mounts);
  env["load"] = LoadRecord(since);
  env["io_uring"] = IoUringJson();
  env["memlock_limit_bytes"] = LimitJson(RLIMIT_MEMLOCK);
  env["open_files_limit"] = LimitJson(RLIMIT_NOFILE);
  env["cgroup"] = CgroupJson(mounts);
  env["transparent_hugepage"] = ChoiceOr("/sys/kernel/mm/transparent_hugepage/enabled");
  env["vm"] = {{"dirty_ratio", NumberOr("/proc/sys/vm/dirty_ratio")},
               {"dirty_background_ratio", NumberOr("/proc/sys/vm/dirty_background_ratio")},
               {"swappiness", NumberOr("/proc/sys/vm/swappiness")}};
  env["iodepth_version"] = IODEPTH_VERSION;
  env["git_commit"] = GitCommitOfExecutable();
  return ValidUtf8(std::move(env));
}

}  // namespace iodepth
