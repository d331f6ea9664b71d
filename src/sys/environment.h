// Environment: a record of the machine a benchmark ran on, written beside its results so
// two runs can be compared, or their difference explained: kernel, CPU and memory; the
// filesystem, mount and block device under the data file, with the device's queue
// settings; the file's direct-I/O alignment; what io_uring offers here; the limits,
// cgroup and VM settings that change I/O behaviour; and the build that measured it.
//
// Everything is read from /proc, /sys and a few system calls at the moment of the call.
// Collecting never fails and never throws: a value that cannot be read is the string
// "unknown", and a thing that does not exist here (no block device under tmpfs or
// overlay) is "none". Every field is always present, so a script reading two files can
// compare them field by field. Strings are valid UTF-8 (invalid bytes are replaced), so
// dump() on the result cannot throw.
//
//   top level     collected_utc, hostname, kernel, uname, cpu_model, cpu_count,
//                 cpus_allowed, memory_total_bytes, data_path, inspected_path,
//                 memlock_limit_bytes, open_files_limit, transparent_hugepage,
//                 iodepth_version, git_commit
//   "filesystem"  the mount holding the data path: longest mount-point prefix in
//                 /proc/self/mountinfo.
//   "device"      the whole disk under that mount: /sys/dev/block/MAJ:MIN, a partition
//                 mapped to its parent disk (nvme0n1p1 -> nvme0n1).
//   "io_uring"    whether a ring can be set up (ProbeIoUring), the IORING_FEAT_* bits the
//                 kernel reports, and whether the read/write opcodes are supported.
//   "direct_io_alignment", "cgroup" (version 1, 2 or "hybrid"; paths), "vm" (dirty_ratio,
//                 dirty_background_ratio, swappiness).
//   "storage_kind" memory / device / unknown, with the reason (block_device.h).
//   "load"        what else ran: loadavg_1m, other_measurers (pids of other iodepth or fio
//                 processes running at the moment of the call), and, when the caller passes
//                 the CpuSample it took when its measurements began, other_cpus: the mean
//                 number of CPUs kept busy by everything but this process since then
//                 (user, nice and system time of /proc/stat less this process's own), over
//                 measured_s seconds; "unknown" without a sample. The load average alone
//                 cannot say whether the machine was busy: it counts this process's own
//                 threads blocked on I/O (a worker pool at depth 128 adds up to 128).
//
// Threading: any thread, any number at once. It shares no state; it briefly sets up and
// tears down io_uring rings of one entry, on the calling thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace iodepth {

// CPU time counters at one moment, in clock ticks (USER_HZ): the machine's, summed over its
// CPUs (/proc/stat's "cpu" line), and this process's own, all its threads, living and exited
// (/proc/self/stat utime + stime). Both count in the same ticks, so their differences over
// an interval can be subtracted.
struct CpuSample {
  uint64_t busy_ticks = 0;   // user + nice + system (guest time is inside user).
  uint64_t total_ticks = 0;  // Every state: user to steal, idle and iowait included.
  uint32_t cpus = 0;         // The cpuN lines: CPUs online.
  uint64_t self_ticks = 0;
};

// Describes this machine and the storage under `data_path`. The path may name a file
// that does not exist yet: its nearest existing ancestor directory is inspected instead
// ("inspected_path" says which). For a directory, the direct-I/O alignment is that of the
// filesystem and device, which is what a file created there would get.
// `since`, when given, is the CpuSample taken when the measurements began: "load" then
// says how busy the rest of the machine kept its CPUs over them.
nlohmann::json CollectEnvironment(const std::string& data_path, const std::optional<CpuSample>& since = std::nullopt);

// Now; nullopt where /proc cannot be read (a container without it).
std::optional<CpuSample> SampleCpu();

// The mean number of CPUs kept busy by everything but this process from `from` to `to`
// (never below 0), and the seconds between them; nullopt when no tick passed. Interrupt
// time is left out: the completions of this process's own I/O are counted there.
struct OtherCpu {
  double cpus = 0;
  double seconds = 0;
};
std::optional<OtherCpu> OtherCpuBetween(const CpuSample& from, const CpuSample& to);

// The "load" record (see the top of this file) now, against `since` when given.
nlohmann::json LoadRecord(const std::optional<CpuSample>& since);

// SampleCpu's parsers, exposed so tests can feed them fixtures. ParseProcStat fills
// busy_ticks, total_ticks and cpus from /proc/stat's text; ParseSelfCpuTicks returns utime +
// stime from /proc/<pid>/stat's (whose command name, in parentheses, may hold spaces and
// parentheses). Each nullopt for text it cannot read.
std::optional<CpuSample> ParseProcStat(std::string_view text);
std::optional<uint64_t> ParseSelfCpuTicks(std::string_view text);

// Pids of the other processes named iodepth or fio (their comm), ascending.
std::vector<int> OtherMeasuringProcesses();

// CollectEnvironment's sysfs-list parser, exposed so tests can feed it fixtures: the choice in brackets of a sysfs list
// ("none [mq-deadline] kyber" -> "mq-deadline"), the whole trimmed text when there are no brackets ("none"), or "" for
// empty text.
std::string BracketedChoice(std::string_view text);

}  // namespace iodepth
