// MemoryCap: runs benchmark cells inside a memory cgroup whose limit also counts the page
// cache, so buffered I/O gets no more memory than direct I/O does (`iodepth matrix
// --memory-cap 128MiB`).
//
// How: Create() makes a child cgroup "iodepth-<pid>" under the process's own memory
// cgroup and sets its limit; Enter() moves the process into it and Leave() moves it back.
//
//   own cgroup (as /proc/self/cgroup names it)      cgroup v1: memory.limit_in_bytes
//     +-- iodepth-<pid>   <- Enter() / Leave() ->                 memory.memsw.limit_in_bytes
//                                                   cgroup v2: memory.max, memory.swap.max = 0
//
// cgroup v2 is used when the own cgroup ("0::/path") sits on a cgroup2 mount and lists
// "memory" in its cgroup.controllers; v1 when a /proc/self/cgroup line's controllers
// include "memory" and a cgroup (v1) filesystem with the "memory" option is mounted.
// Inherit() instead uses the own cgroup as it is, for a process started inside an
// already limited one (`systemd-run --scope -p MemoryMax=...`); Enter/Leave then do
// nothing and the cgroup is never removed.
//
// A page is charged to the cgroup of the task that first brought it into memory, and the
// charge stays there when that task moves (v2 never moves charges; v1 does not by
// default). So a cell must warm its cache after Enter(): pages read before it are not
// counted against the cap, and pages read inside stay charged to the cap cgroup after
// Leave(), where the next repetition finds them. The limit counts everything the process
// allocates while inside, its I/O buffers included, not only the page cache.
//
// Files are only ever written, never created: every write opens an existing file with
// O_WRONLY | O_TRUNC, because the kernel makes a cgroup's files itself and a misspelt
// name must fail rather than leave a plain file behind. A directory "iodepth-<pid>" that
// already exists (left by a crashed run with the same pid) is removed and made again
// when it holds no processes, so its counters start at zero; if the kernel refuses the
// removal (EBUSY, or ENOTEMPTY on a plain directory), it is reused as it is. Tests build
// a fake cgroup tree in a temporary directory, pointed at through CgroupFs, and
// pre-create the child directory with its files, which takes that reuse path.
//
// Peak: v1 resets memory.max_usage_in_bytes by writing to it. v2's memory.peak can be
// reset only since Linux 6.12, and only for reads through the same open file: the cap
// keeps memory.peak open for its whole life. On an older kernel (the file opens
// read-only) ResetPeak does nothing and peak_bytes is the peak since the cgroup was
// made; without memory.peak (before Linux 5.19) peak_bytes is 0.
//
// Threading: one thread owns a MemoryCap. Enter and Leave move the whole process, every
// thread of it, so they must not run while another thread of it is mid-measurement.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/status.h"

namespace iodepth {

// Where the cgroup filesystem is found. Tests point these at a fake tree in a temp dir.
struct CgroupFs {
  std::string proc_self_cgroup = "/proc/self/cgroup";
  std::string mountinfo = "/proc/self/mountinfo";
  std::string systemd_marker = "/run/systemd/system";  // Exists when systemd is PID 1.
  // The process moved by Enter/Leave; 0 = getpid(). With 0, Enter also checks that
  // proc_self_cgroup names the cap cgroup afterwards; with another pid (a fake one in
  // tests) it checks only the cap cgroup's cgroup.procs.
  int pid = 0;
};

enum class CgroupVersion { kV1, kV2 };

// "v1", "v2".
std::string_view CgroupVersionName(CgroupVersion version);

// Counters of the capping cgroup at one moment. Counters only grow (except usage), so a
// cell's own share is the difference of a sample after it and one before it.
struct MemorySample {
  uint64_t usage_bytes = 0;       // v1 memory.usage_in_bytes; v2 memory.current.
  uint64_t peak_bytes = 0;        // v1 memory.max_usage_in_bytes; v2 memory.peak (0 if absent).
  uint64_t page_cache_bytes = 0;  // v1 memory.stat total_cache (or cache); v2 memory.stat file.
  // v1 total_workingset_refault_file (or workingset_refault_file, workingset_refault);
  // v2 workingset_refault_file (or workingset_refault); 0 when the kernel has none.
  uint64_t refaults = 0;
  // Times a charge hit the limit: v2 memory.events "max"; v1 memory.failcnt plus
  // memory.memsw.failcnt (where it exists).
  uint64_t limit_events = 0;
  uint64_t oom_kills = 0;  // v2 memory.events "oom_kill"; v1 memory.oom_control "oom_kill".
};

// Headroom of the v1 memsw (memory + swap) limit over the memory limit, in pages.
// v1 checks the memsw counter before the memory counter, and memsw usage is never below
// memory usage: with memsw equal to the limit, memsw is the counter that trips, and
// recent kernels count a memsw trip nowhere (only the memory counter keeps a failcnt;
// seen on 6.18, where memory.failcnt and memory.memsw.failcnt both stayed 0 while the
// limit held the page cache), so limit_events would stay 0. With this headroom the
// memory counter trips first while little is swapped. 1024 pages exceed one charge (a
// batch of 64 pages, or a 2 MiB folio = 512 pages of 4 KiB); swap can then hold at most
// that much more than the cap leaves free.
inline constexpr uint64_t kMemswHeadroomPages = 1024;

// The v1 memory.memsw.limit_in_bytes written for a cap: cap_bytes + the headroom.
uint64_t MemswLimitBytes(uint64_t cap_bytes);

// The memory limit this process already runs under, before any cap of ours: the smallest
// limit on its own memory cgroup and its ancestors (v1 memory.stat
// hierarchical_memory_limit; v2 memory.max walked up to the root). A container's or a
// systemd slice's limit shows here; cells run "without a cap" are then capped by it.
// nullopt: no limit, or no memory controller to ask. Never fails.
std::optional<uint64_t> InheritedMemoryLimit(const CgroupFs& fs = {});

class MemoryCap {
 public:
  // Bounds on cap_bytes. Below the minimum the process's own allocations alone would
  // meet the limit; from 2^62 up, v1 reads a limit back as "unlimited".
  static constexpr uint64_t kMinCapBytes = uint64_t{1} << 20;
  static constexpr uint64_t kMaxCapBytes = (uint64_t{1} << 62) - 1;

  // Makes the child cgroup "iodepth-<pid>" under the own memory cgroup and limits it to
  // cap_bytes: v2 memory.max (and memory.swap.max = 0 where that file exists); v1
  // memory.limit_in_bytes, then memory.memsw.limit_in_bytes = MemswLimitBytes(cap_bytes)
  // where it exists (v1 refuses a memsw limit below the memory limit, so memsw is raised
  // to unlimited first and lowered last). On v2 it enables "memory" in the own cgroup's
  // cgroup.subtree_control when it is not there yet. The limit is read back; the kernel
  // may round it down to a page, and cap_bytes() is what it kept.
  // Every failure says which file and errno, or which controller is missing, and what to
  // do. Codes: kInvalidArgument (cap_bytes out of bounds), kNotSupported (no usable
  // memory controller, or the cgroup files are not where mountinfo says),
  // kFailedPrecondition (not permitted: not root; the v2 no-internal-processes rule; a
  // leftover cgroup still holding processes), kCorruption (the limit read back is not
  // the one written), kIoError (any other errno).
  // REQUIRES: kMinCapBytes <= cap_bytes <= kMaxCapBytes.
  static Result<std::unique_ptr<MemoryCap>> Create(uint64_t cap_bytes, const CgroupFs& fs = {});

  // "--memory-cap=inherit": the process already runs in a limited cgroup. Uses the own
  // memory cgroup as it is; cap_bytes() is its limit. Fails (kFailedPrecondition) when
  // that cgroup has no limit: v2 memory.max "max", or a v1 limit of 2^62 or more.
  static Result<std::unique_ptr<MemoryCap>> Inherit(const CgroupFs& fs = {});

  // Leaves the cap cgroup if inside, then removes a created one (never an inherited
  // one), retrying for at most about 250 ms while the kernel says EBUSY, as it can just
  // after a cgroup empties. Errors are ignored: a directory left behind is reclaimed by
  // the next Create with the same pid. Charged pages do not block the removal.
  ~MemoryCap();
  MemoryCap(const MemoryCap&) = delete;
  MemoryCap& operator=(const MemoryCap&) = delete;
  MemoryCap(MemoryCap&&) = delete;
  MemoryCap& operator=(MemoryCap&&) = delete;

  // Moves the process (all its threads) into the cap cgroup by writing its pid to
  // cgroup.procs, then verifies the move (see CgroupFs::pid) so a cell never runs under
  // a false label; if the check fails, it moves the process back and reports why.
  // Inherited: does nothing. REQUIRES: not inside (else kFailedPrecondition).
  Status Enter();
  // Moves the process back to the cgroup it started in. Inherited: does nothing.
  // REQUIRES: inside (else kFailedPrecondition).
  Status Leave();
  // Starts a new peak: v1 writes "0" to memory.max_usage_in_bytes; v2 writes to the held
  // memory.peak file where the kernel allows it, else does nothing (see the top).
  Status ResetPeak();
  // Reads the counters of the capping cgroup (the created one, or the own one when
  // inherited). Absent optional keys read as 0; a missing usage or page cache figure is
  // an error.
  Result<MemorySample> Sample() const;
  // Reclaims what the cap cgroup still holds once the process has left it (v1
  // memory.force_empty, v2 memory.reclaim), so every capped run starts from an empty
  // cgroup rather than one holding the last run's page cache and lingering charges.
  // Inherited: does nothing. REQUIRES: not inside (else kFailedPrecondition).
  Status Reclaim();

  CgroupVersion version() const { return version_; }
  // The capping cgroup's directory on the cgroup filesystem.
  const std::string& path() const { return path_; }
  // The limit the kernel holds, in bytes.
  uint64_t cap_bytes() const { return cap_bytes_; }
  bool inherited() const { return inherited_; }
  bool inside() const { return inside_; }

 private:
  MemoryCap(const CgroupFs& fs, CgroupVersion version, std::string path, std::string cgroup_path,
            std::string original_path, bool inherited);

  // Opens memory.peak (v2) for Sample and ResetPeak; see the top for why it stays open.
  void OpenPeak();
  // Enter's check that the kernel now lists the process in the cap cgroup.
  Status VerifyInside() const;
  Result<MemorySample> SampleV1() const;
  Result<MemorySample> SampleV2() const;

  CgroupFs fs_;
  int pid_;
  CgroupVersion version_;
  std::string path_;           // Directory of the capping cgroup.
  std::string cgroup_path_;    // path_ as /proc/self/cgroup names it ("/user/app/iodepth-42").
  std::string original_path_;  // Directory of the cgroup the process started in.
  uint64_t cap_bytes_ = 0;
  bool inherited_;
  bool inside_ = false;
  int peak_fd_ = -1;  // v2 memory.peak, or -1.
  bool peak_resettable_ = false;
};

}  // namespace iodepth
