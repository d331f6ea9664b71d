// A fake cgroup filesystem in a test's temporary directory, for the memory cap's code
// paths on machines (or CI runners) where no real cgroup may be made: a mountinfo, a
// /proc/self/cgroup, the own cgroup's directory, and a pre-made child "iodepth-4242"
// holding the files the kernel would have made (memory_cap.h never creates files). The
// CgroupFs it returns moves the fake pid 4242, so nothing real is moved. One test owns a
// tree; BuildV1 or BuildV2 lays it out.
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>

#include <gtest/gtest.h>

#include "experiment/memory_cap.h"
#include "testutil/temp_dir.h"
#include "testutil/text_files.h"

namespace iodepth::testutil {

constexpr int kFakePid = 4242;
// What v1 prints for "no limit": 2^63 - 1 rounded down to a 4 KiB page.
constexpr char kV1Unlimited[] = "9223372036854771712\n";

inline bool Exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// A fake cgroup tree in a temporary directory: a mountinfo, a /proc/self/cgroup, the own
// cgroup's directory and a pre-made child "iodepth-4242" with the files the kernel would
// have made (see memory_cap.h: Create never creates files).
class FakeCgroupTree {
 public:
  FakeCgroupTree() {
    fs_.proc_self_cgroup = dir_.File("proc_self_cgroup");
    fs_.mountinfo = dir_.File("mountinfo");
    fs_.systemd_marker = dir_.File("run_systemd_system");  // Absent unless a test makes it.
    fs_.pid = kFakePid;
  }

  const CgroupFs& fs() const { return fs_; }
  std::string Own(const std::string& name) const { return own_dir_ + "/" + name; }
  std::string Child(const std::string& name) const { return own_dir_ + "/iodepth-4242/" + name; }

  // cgroup2 at <tmp>/cg; the process in /user/app, which may have memory.
  void BuildV2() {
    own_dir_ = dir_.File("cg") + "/user/app";
    WriteText(fs_.mountinfo,
              "22 1 8:1 / / rw,relatime - ext4 /dev/vda rw\n"
              "30 22 0:26 / " +
                  dir_.File("cg") + " rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n");
    WriteText(fs_.proc_self_cgroup, "0::/user/app\n");
    WriteText(Own("cgroup.controllers"), "cpu memory\n");
    WriteText(Own("cgroup.subtree_control"), "");
    WriteText(Own("cgroup.procs"), "1\n");
    WriteText(Own("memory.max"), "max\n");
    WriteText(Child("cgroup.procs"), "");
    WriteText(Child("memory.max"), "max\n");
    WriteText(Child("memory.swap.max"), "max\n");
    WriteText(Child("memory.current"), "1048576\n");
    WriteText(Child("memory.peak"), "2097152\n");
    WriteText(Child("memory.stat"),
              "anon 4096\nfile 3145728\nkernel 8192\nworkingset_refault_anon 3\n"
              "workingset_refault_file 17\nworkingset_activate_file 2\n");
    WriteText(Child("memory.events"), "low 0\nhigh 0\nmax 5\noom 1\noom_kill 2\noom_group_kill 0\n");
  }

  // The layout of a hybrid machine: v1 memory at <tmp>/memory, the process in
  // /batch/job; cgroup2 at <tmp>/unified without memory, v1 cpu beside.
  void BuildV1() {
    own_dir_ = dir_.File("memory") + "/batch/job";
    WriteText(fs_.mountinfo, "32 31 0:29 / " + dir_.File("cpu") +
                                 " rw,relatime - cgroup cgroup rw,cpu\n"
                                 "35 31 0:32 / " +
                                 dir_.File("memory") +
                                 " rw,relatime - cgroup cgroup rw,memory\n"
                                 "41 31 0:38 / " +
                                 dir_.File("unified") + " rw,relatime - cgroup2 cgroup2 rw\n");
    WriteText(fs_.proc_self_cgroup, "9:name=systemd:/\n4:memory:/batch/job\n1:cpu:/\n0::/\n");
    WriteText(dir_.File("unified") + "/cgroup.controllers", "hugetlb\n");
    WriteText(Own("cgroup.procs"), "1\n");
    WriteText(Own("memory.limit_in_bytes"), kV1Unlimited);
    WriteText(Child("cgroup.procs"), "");
    WriteText(Child("memory.limit_in_bytes"), kV1Unlimited);
    WriteText(Child("memory.memsw.limit_in_bytes"), kV1Unlimited);
    WriteText(Child("memory.usage_in_bytes"), "1052672\n");
    WriteText(Child("memory.max_usage_in_bytes"), "4194304\n");
    // The hierarchical total_* lines differ from the local ones, so a test can tell
    // which one was taken.
    WriteText(Child("memory.stat"),
              "cache 1000\nrss 2000\nworkingset_refault_file 11\ntotal_cache 3145728\n"
              "total_rss 8192\ntotal_workingset_refault_file 19\n");
    WriteText(Child("memory.failcnt"), "7\n");
    WriteText(Child("memory.memsw.failcnt"), "2\n");
    WriteText(Child("memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
  }

 protected:
  TempDir dir_;
  CgroupFs fs_;
  std::string own_dir_;
};

}  // namespace iodepth::testutil
