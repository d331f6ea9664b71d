#include "experiment/memory_cap.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fake_cgroup.h"
#include "testutil/status_macros.h"
#include "testutil/temp_dir.h"

namespace iodepth {
namespace {

using testutil::Exists;
using testutil::kFakePid;
using testutil::kV1Unlimited;
using testutil::ReadText;
using testutil::WriteText;

using ::testing::HasSubstr;
using ::testing::Not;

constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kCapBytes = 128 * kMiB;

// The fake trees (FakeCgroupTree) and file helpers come from fake_cgroup.h.
class FakeCgroupTest : public ::testing::Test, protected testutil::FakeCgroupTree {};

// ---- cgroup v2 ----

TEST_F(FakeCgroupTest, V2LimitIsWrittenAndReadBack) {
  BuildV2();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<MemoryCap> cap, MemoryCap::Create(kCapBytes, fs_));
  EXPECT_EQ(cap->version(), CgroupVersion::kV2);
  EXPECT_EQ(CgroupVersionName(cap->version()), "v2");
  EXPECT_EQ(cap->path(), Own("iodepth-4242"));
  EXPECT_EQ(cap->cap_bytes(), kCapBytes);
  EXPECT_FALSE(cap->inherited());
  EXPECT_EQ(ReadText(Child("memory.max")), "134217728");
  EXPECT_EQ(ReadText(Child("memory.swap.max")), "0");
  EXPECT_EQ(ReadText(Own("cgroup.subtree_control")), "+memory");
}

TEST_F(FakeCgroupTest, V2MemoryAlreadyInSubtreeControlIsNotWrittenAgain) {
  BuildV2();
  WriteText(Own("cgroup.subtree_control"), "cpu memory\n");
  ASSERT_OK(MemoryCap::Create(kCapBytes, fs_));
  EXPECT_EQ(ReadText(Own("cgroup.subtree_control")), "cpu memory\n");
}

TEST_F(FakeCgroupTest, V2EnterWritesThePidToTheCapAndLeaveToTheOriginal) {
  BuildV2();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<MemoryCap> cap, MemoryCap::Create(kCapBytes, fs_));
  ASSERT_OK(cap->Enter());
  EXPECT_TRUE(cap->inside());
  EXPECT_EQ(ReadText(Child("cgroup.procs")), "4242\n");
  EXPECT_EQ(ReadText(Own("cgroup.procs")), "1\n");
  ASSERT_OK(cap->Leave());
  EXPECT_FALSE(cap->inside());
  EXPECT_EQ(ReadText(Own("cgroup.procs")), "4242\n");
}

TEST_F(FakeCgroupTest, V2SampleParsesPlantedCounters) {
  BuildV2();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<MemoryCap> cap, MemoryCap::Create(kCapBytes, fs_));
  ASSERT_OK_AND_ASSIGN(const MemorySample sample, cap->Sample());
  EXPECT_EQ(sample.usage_bytes, 1048576u);
  EXPECT_EQ(sample.peak_bytes, 2097152u);
  EXPECT_EQ(sample.page_cache_bytes, 3145728u);
  EXPECT_EQ(sample.refaults, 17u);
  EXPECT_EQ(sample.limit_events, 5u);
  EXPECT_EQ(sample.oom_kills, 2u);
}

TEST_F(FakeCgroupTest, V2OlderKernelRefaultKeyIsUsedWhenFileKeyIsAbsent) {
  BuildV2();
  WriteText(Child("memory.stat"), "anon 4096\nfile 8192\nworkingset_refault 23\n");
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<MemoryCap> cap, MemoryCap::Create(kCapBytes, fs_));
  ASSERT_OK_AND_ASSIGN(const MemorySample sample, cap->Sample());
  EXPECT_EQ(sample.refaults, 23u);
  EXPECT_EQ(sample.page_cache_bytes, 8192u);
}

TEST_F(FakeCgroupTest, V2ResetPeakWritesToTheHeldPeakFile) {
  BuildV2();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<MemoryCap> cap, MemoryCap::Create(kCapBytes, fs_));
  ASSERT_OK(cap->ResetPeak());
  EXPECT_TRUE(ReadText(Child("memory.peak")).starts_with("reset")) << ReadText(Child("memory.peak"));
  // Rewriting in place keeps the inode, so the held file sees the new value.
  WriteText(Child("memory.peak"), "999424\n");
  ASSERT_OK_AND_ASSIGN(const MemorySample sample, cap->Sample());
  EXPECT_EQ(sample.peak_bytes, 999424u);
}

TEST_F(FakeCgroupTest, V2WithoutMemoryPeakReportsZeroPeak) {
  BuildV2();
  std::filesystem::remove(Child("memory.peak"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<MemoryCap> cap, MemoryCap::Create(kCapBytes, fs_));
  EXPECT_OK(cap->ResetPeak());
  ASSERT_OK_AND_ASSIGN(const MemorySample sample, cap->Sample());
  EXPECT_EQ(sample.peak_bytes, 0u);
  EXPECT_EQ(sample.usage_bytes, 1048576u);
  EXPECT_FALSE(Exists(Child("memory.peak")));
}

TEST_F(FakeCgroupTest, V2WithoutSwapMaxWritesOnlyTheLimit) {
  BuildV2();
  std::filesystem::remove(Child("memory.swap.max"));
  ASSERT_OK(MemoryCap::Create(kCapBytes, fs_));
  EXPECT_EQ(ReadText(Child("memory.max")), "134217728");
  EXPECT_FALSE(Exists(Child("memory.swap.max")));
}

// ---- cgroup v1 ----

TEST_F(FakeCgroupTest, V1LimitIsWrittenAndReadBack) {
  BuildV1();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<MemoryCap> cap, MemoryCap::Create(kCapBytes, fs_));
  // The cgroup2 mount lacks memory, so the v1 hierarchy is the one used.
  EXPECT_EQ(cap->version(), CgroupVersion::kV1);
  EXPECT_EQ(CgroupVersionName(cap->version()), "v1");
  EXPECT_EQ(cap->path(), Own("iodepth-4242"));
  EXPECT_EQ(cap->cap_bytes(), kCapBytes);
  EXPECT_EQ(ReadText(Child("memory.limit_in_bytes")), "134217728");
  const uint64_t page_bytes = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  EXPECT_EQ(MemswLimitBytes(kCapBytes), kCapBytes + kMemswHeadroomPages * page_bytes);
  EXPECT_EQ(ReadText(Child("memory.memsw.limit_in_bytes")), std::to_string(MemswLimitBytes(kCapBytes)));
}

TEST_F(FakeCgroupTest, V1WithoutMemswWritesOnlyTheLimit) {
  BuildV1();
  std::filesystem::remove(Child("memory.memsw.limit_in_bytes"));
  ASSERT_OK(MemoryCap::Create(kCapBytes, fs_));
  EXPECT_EQ(ReadText(Child("memory.limit_in_bytes")), "134217728");
  EXPECT_FALSE(Exists(Child("memory.memsw.limit_in_bytes")));
}

TEST_F(FakeCgroupTest, V1EnterWritesThePidToTheCapAndLeaveToTheOriginal) {
  BuildV1();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<MemoryCap> cap, MemoryCap::Create(kCapBytes, fs_));
  ASSERT_OK(cap->Enter());
  EXPECT_EQ(ReadText(Child("cgroup.procs")), "4242\n");
  EXPECT_EQ(ReadText(Own("cgroup.procs")), "1\n");
  ASSERT_OK(cap->Leave());
  EXPECT_EQ(ReadText(Own("cgroup.procs")), "4242\n");
}

TEST_F(FakeCgroupTest, V1SampleParsesPlantedCountersPreferringHierarchicalTotals) {
  BuildV1();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<MemoryCap> cap, MemoryCap::Create(kCapBytes, fs_));
  ASSERT_OK_AND_ASSIGN(const MemorySample sample, cap->Sample());
  EXPECT_EQ(sample.usage_bytes, 1052672u);
  EXPECT_EQ(sample.peak_bytes, 4194304u);
  EXPECT_EQ(sample.page_cache_bytes, 3145728u);
  EXPECT_EQ(sample.refaults, 19u);
  EXPECT_EQ(sample.limit_events, 9u) << "memory.failcnt 7 + memory.memsw.failcnt 2";
  EXPECT_EQ(sample.oom_kills, 3u);
}

TEST_F(FakeCgroupTest, V1SampleFallsBackToLocalCacheWithoutTotals) {
  BuildV1();
  WriteText(Child("memory.stat"), "cache 1000\nrss 2000\nworkingset_refault 5\n");
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<MemoryCap> cap, MemoryCap::Create(kCapBytes, fs_));
  ASSERT_OK_AND_ASSIGN(const MemorySample sample, cap->Sample());
  EXPECT_EQ(sample.page_cache_bytes, 1000u);
  EXPECT_EQ(sample.refaults, 5u);
}

TEST_F(FakeCgroupTest, V1ResetPeakWritesZeroToMaxUsage) {
  BuildV1();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<MemoryCap> cap, MemoryCap::Create(kCapBytes, fs_));
  ASSERT_OK(cap->ResetPeak());
  EXPECT_EQ(ReadText(Child("memory.max_usage_in_bytes")), "0");
}

TEST_F(FakeCgroupTest, V1MountRootIsStrippedFromTheCgroupPath) {
  BuildV1();
  // A container that bind-mounted only /batch of the memory hierarchy, at a path with a
  // space (escaped as \040 in mountinfo).
  const std::string mount_point = dir_.File("mem ory");
  WriteText(fs_.mountinfo, "35 31 0:32 /batch " + dir_.File("mem\\040ory") + " rw - cgroup cgroup rw,memory\n");
  WriteText(mount_point + "/job/iodepth-4242/cgroup.procs", "");
  WriteText(mount_point + "/job/iodepth-4242/memory.limit_in_bytes", kV1Unlimited);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<MemoryCap> cap, MemoryCap::Create(kCapBytes, fs_));
  EXPECT_EQ(cap->path(), mount_point + "/job/iodepth-4242");
  EXPECT_EQ(ReadText(mount_point + "/job/iodepth-4242/memory.limit_in_bytes"), "134217728");
}

// ---- Enter / Leave contracts ----

TEST_F(FakeCgroupTest, EnterFailsWhenThePidDoesNotShowUpInTheCapCgroup) {
  BuildV2();
  // Writes vanish and reads are empty: the kernel did not move the process.
  std::filesystem::remove(Child("cgroup.procs"));
  std::filesystem::create_symlink("/dev/null", Child("cgroup.procs"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<MemoryCap> cap, MemoryCap::Create(kCapBytes, fs_));
  const Status status = cap->Enter();
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition) << status.ToString();
  EXPECT_THAT(status.message(), HasSubstr("false label"));
  EXPECT_THAT(status.message(), HasSubstr(Child("cgroup.procs")));
  EXPECT_FALSE(cap->inside());
  EXPECT_EQ(ReadText(Own("cgroup.procs")), "4242\n") << "the failed Enter must move the process back";
}

TEST_F(FakeCgroupTest, EnterTwiceAndLeaveOutsideAreFailedPreconditions) {
  BuildV2();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<MemoryCap> cap, MemoryCap::Create(kCapBytes, fs_));
  EXPECT_EQ(cap->Leave().code(), StatusCode::kFailedPrecondition);
  ASSERT_OK(cap->Enter());
  EXPECT_EQ(cap->Enter().code(), StatusCode::kFailedPrecondition);
  EXPECT_OK(cap->Leave());
}

TEST_F(FakeCgroupTest, DestructorLeavesWhenStillInside) {
  BuildV2();
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<MemoryCap> cap, MemoryCap::Create(kCapBytes, fs_));
    ASSERT_OK(cap->Enter());
  }
  EXPECT_EQ(ReadText(Own("cgroup.procs")), "4242\n");
}

// ---- Inherit ----

TEST_F(FakeCgroupTest, InheritUsesTheOwnLimitAndNeverMoves) {
  BuildV2();
  WriteText(Own("memory.max"), "268435456\n");
  WriteText(Own("memory.current"), "65536\n");
  WriteText(Own("memory.stat"), "file 12288\n");
  WriteText(Own("memory.events"), "max 1\noom_kill 0\n");
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<MemoryCap> cap, MemoryCap::Inherit(fs_));
  EXPECT_TRUE(cap->inherited());
  EXPECT_EQ(cap->cap_bytes(), 256 * kMiB);
  EXPECT_EQ(cap->path(), own_dir_);
  ASSERT_OK(cap->Enter());
  ASSERT_OK(cap->Leave());
  EXPECT_EQ(ReadText(Own("cgroup.procs")), "1\n");
  EXPECT_EQ(ReadText(Child("cgroup.procs")), "");
  ASSERT_OK_AND_ASSIGN(const MemorySample sample, cap->Sample());
  EXPECT_EQ(sample.page_cache_bytes, 12288u);
  EXPECT_EQ(sample.limit_events, 1u);
}

TEST_F(FakeCgroupTest, InheritWithoutALimitFailsOnV2) {
  BuildV2();
  const Result<std::unique_ptr<MemoryCap>> cap = MemoryCap::Inherit(fs_);
  ASSERT_FALSE(cap.has_value());
  EXPECT_EQ(cap.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(cap.error().message(), HasSubstr(Own("memory.max")));
  EXPECT_THAT(cap.error().message(), HasSubstr("\"max\": no limit"));
  EXPECT_THAT(cap.error().message(), HasSubstr("--memory-cap=<size>"));
}

TEST_F(FakeCgroupTest, InheritWithTheV1UnlimitedValueFails) {
  BuildV1();
  const Result<std::unique_ptr<MemoryCap>> cap = MemoryCap::Inherit(fs_);
  ASSERT_FALSE(cap.has_value());
  EXPECT_EQ(cap.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(cap.error().message(), HasSubstr(Own("memory.limit_in_bytes")));
  EXPECT_THAT(cap.error().message(), HasSubstr("9223372036854771712"));
}

TEST_F(FakeCgroupTest, InheritWithAV1LimitUsesIt) {
  BuildV1();
  WriteText(Own("memory.limit_in_bytes"), "536870912\n");
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<MemoryCap> cap, MemoryCap::Inherit(fs_));
  EXPECT_EQ(cap->version(), CgroupVersion::kV1);
  EXPECT_EQ(cap->cap_bytes(), 512 * kMiB);
}

// ---- Failures name the cause and the fix ----

TEST_F(FakeCgroupTest, CapOutsideTheBoundsIsInvalidArgument) {
  BuildV2();
  EXPECT_EQ(MemoryCap::Create(0, fs_).error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(MemoryCap::Create(MemoryCap::kMinCapBytes - 1, fs_).error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(MemoryCap::Create(MemoryCap::kMaxCapBytes + 1, fs_).error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadText(Child("memory.max")), "max\n") << "nothing may be written for a rejected cap";
}

TEST_F(FakeCgroupTest, NoMemoryControllerAnywhereSaysHowToEnableIt) {
  BuildV2();
  WriteText(Own("cgroup.controllers"), "cpu io\n");
  WriteText(fs_.proc_self_cgroup, "1:cpu:/\n0::/user/app\n");
  const Result<std::unique_ptr<MemoryCap>> cap = MemoryCap::Create(kCapBytes, fs_);
  ASSERT_FALSE(cap.has_value());
  EXPECT_EQ(cap.error().code(), StatusCode::kNotSupported);
  EXPECT_THAT(cap.error().message(), HasSubstr("no memory cgroup controller"));
  EXPECT_THAT(cap.error().message(), HasSubstr("no cgroup v1 line whose controllers include \"memory\""));
  EXPECT_THAT(cap.error().message(), HasSubstr("mount -t cgroup -o memory"));
  EXPECT_THAT(cap.error().message(), HasSubstr("+memory"));
}

TEST_F(FakeCgroupTest, V2MemoryMissingFromControllersNamesTheFile) {
  BuildV2();
  WriteText(Own("cgroup.controllers"), "cpu io\n");
  const Result<std::unique_ptr<MemoryCap>> cap = MemoryCap::Create(kCapBytes, fs_);
  ASSERT_FALSE(cap.has_value());
  EXPECT_EQ(cap.error().code(), StatusCode::kNotSupported);
  EXPECT_THAT(cap.error().message(), HasSubstr(Own("cgroup.controllers")));
  EXPECT_THAT(cap.error().message(), HasSubstr("no \"memory\" controller"));
  EXPECT_THAT(cap.error().message(), HasSubstr("\"cpu io\""));
  EXPECT_EQ(ReadText(Own("cgroup.subtree_control")), "") << "nothing may be enabled without the controller";
}

TEST_F(FakeCgroupTest, V1MemoryLineWithoutAMemoryMountSaysSo) {
  BuildV1();
  WriteText(fs_.mountinfo, "32 31 0:29 / " + dir_.File("cpu") + " rw,relatime - cgroup cgroup rw,cpu\n");
  const Result<std::unique_ptr<MemoryCap>> cap = MemoryCap::Create(kCapBytes, fs_);
  ASSERT_FALSE(cap.has_value());
  EXPECT_EQ(cap.error().code(), StatusCode::kNotSupported);
  EXPECT_THAT(cap.error().message(), HasSubstr("/batch/job is on no mounted cgroup filesystem"));
}

TEST_F(FakeCgroupTest, SystemdHintAppearsOnlyWhenSystemdIsRunning) {
  BuildV2();
  WriteText(Own("cgroup.controllers"), "cpu\n");
  const Result<std::unique_ptr<MemoryCap>> without = MemoryCap::Create(kCapBytes, fs_);
  ASSERT_FALSE(without.has_value());
  EXPECT_THAT(without.error().message(), Not(HasSubstr("systemd-run")));

  WriteText(fs_.systemd_marker + "/.keep", "");
  const Result<std::unique_ptr<MemoryCap>> with = MemoryCap::Create(kCapBytes, fs_);
  ASSERT_FALSE(with.has_value());
  EXPECT_THAT(with.error().message(), HasSubstr("systemd-run --scope -p MemoryMax=128M -p MemorySwapMax=0 -- "
                                                "iodepth ... --memory-cap=inherit"));
}

TEST_F(FakeCgroupTest, MkdirUnderARegularFileFailsWithENOTDIR) {
  BuildV1();
  // The own cgroup is a plain file, so mkdir of the child below it fails with ENOTDIR.
  std::filesystem::remove_all(own_dir_);
  WriteText(own_dir_, "not a directory\n");
  const Result<std::unique_ptr<MemoryCap>> cap = MemoryCap::Create(kCapBytes, fs_);
  ASSERT_FALSE(cap.has_value());
  EXPECT_EQ(cap.error().code(), StatusCode::kNotSupported);
  EXPECT_THAT(cap.error().message(), HasSubstr("mkdir " + Own("iodepth-4242")));
  EXPECT_THAT(cap.error().message(), HasSubstr("ENOTDIR"));
  EXPECT_THAT(cap.error().message(), HasSubstr("check that the memory controller is mounted"));
}

// Clears the immutable flag it set, so TempDir can remove the directory.
class ImmutableDir {
 public:
  explicit ImmutableDir(const std::string& path) : fd_(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
    int flags = 0;
    if (fd_ < 0 || ::ioctl(fd_, FS_IOC_GETFLAGS, &flags) != 0) return;
    flags |= FS_IMMUTABLE_FL;
    set_ = ::ioctl(fd_, FS_IOC_SETFLAGS, &flags) == 0;
    if (!set_) error_ = errno;
  }
  ImmutableDir(const ImmutableDir&) = delete;
  ImmutableDir& operator=(const ImmutableDir&) = delete;
  ~ImmutableDir() {
    int flags = 0;
    if (set_ && ::ioctl(fd_, FS_IOC_GETFLAGS, &flags) == 0) {
      flags &= ~FS_IMMUTABLE_FL;
      ::ioctl(fd_, FS_IOC_SETFLAGS, &flags);
    }
    if (fd_ >= 0) ::close(fd_);
  }
  bool set() const { return set_; }
  int error() const { return error_; }

 private:
  int fd_;
  bool set_ = false;
  int error_ = 0;
};

// Root passes permission checks, but not the immutable flag: mkdir in an immutable
// directory fails with EPERM, the error an unprivileged user gets from cgroupfs.
TEST_F(FakeCgroupTest, PermissionDeniedOnMkdirSaysRunAsRoot) {
  BuildV1();
  std::filesystem::remove_all(Own("iodepth-4242"));
  const ImmutableDir immutable(own_dir_);
  if (!immutable.set()) {
    GTEST_SKIP() << "cannot set the immutable flag on " << own_dir_ << ": " << std::strerror(immutable.error());
  }
  const Result<std::unique_ptr<MemoryCap>> cap = MemoryCap::Create(kCapBytes, fs_);
  ASSERT_FALSE(cap.has_value());
  EXPECT_EQ(cap.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(cap.error().message(), HasSubstr("mkdir " + Own("iodepth-4242")));
  EXPECT_THAT(cap.error().message(), HasSubstr("EPERM"));
  EXPECT_THAT(cap.error().message(), HasSubstr("run iodepth as root"));
}

TEST_F(FakeCgroupTest, LimitFileMissingIsNotSupportedAndNeverCreated) {
  BuildV2();
  std::filesystem::remove(Child("memory.max"));
  const Result<std::unique_ptr<MemoryCap>> cap = MemoryCap::Create(kCapBytes, fs_);
  ASSERT_FALSE(cap.has_value());
  EXPECT_EQ(cap.error().code(), StatusCode::kNotSupported);
  EXPECT_THAT(cap.error().message(), HasSubstr(Child("memory.max")));
  EXPECT_THAT(cap.error().message(), HasSubstr("ENOENT"));
  EXPECT_FALSE(Exists(Child("memory.max")));
}

// The fake links memory.swap.max to memory.max, so the swap write that follows the limit
// leaves "0" in memory.max: what a kernel that did not keep the limit would show.
TEST_F(FakeCgroupTest, LimitReadBackDifferentFromWrittenIsCorruption) {
  BuildV2();
  std::filesystem::remove(Child("memory.swap.max"));
  std::filesystem::create_symlink(Child("memory.max"), Child("memory.swap.max"));
  const Result<std::unique_ptr<MemoryCap>> cap = MemoryCap::Create(kCapBytes, fs_);
  ASSERT_FALSE(cap.has_value());
  EXPECT_EQ(cap.error().code(), StatusCode::kCorruption);
  EXPECT_THAT(cap.error().message(), HasSubstr("wrote 134217728 to " + Child("memory.max")));
  EXPECT_THAT(cap.error().message(), HasSubstr("reads back \"0\""));
}

TEST_F(FakeCgroupTest, LeftoverCgroupWithProcessesIsNotReused) {
  BuildV2();
  WriteText(Child("cgroup.procs"), "999\n1001\n");
  const Result<std::unique_ptr<MemoryCap>> cap = MemoryCap::Create(kCapBytes, fs_);
  ASSERT_FALSE(cap.has_value());
  EXPECT_EQ(cap.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(cap.error().message(), HasSubstr(Own("iodepth-4242")));
  EXPECT_THAT(cap.error().message(), HasSubstr("999 1001"));
  EXPECT_EQ(ReadText(Child("memory.max")), "max\n");
}

// ---- The real cgroup filesystem ----

// Writes `size_bytes` through the page cache (when `write`) and reads the file back,
// buffered; any error fails the test.
void WriteAndReadBack(const std::string& path, uint64_t size_bytes, bool write) {
  std::vector<char> block(kMiB, 'x');
  if (write) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0) << path << ": " << std::strerror(errno);
    for (uint64_t done = 0; done < size_bytes; done += kMiB) {
      ASSERT_EQ(::write(fd, block.data(), kMiB), static_cast<ssize_t>(kMiB)) << std::strerror(errno);
    }
    ASSERT_EQ(::fsync(fd), 0);
    ::close(fd);
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0) << path << ": " << std::strerror(errno);
  uint64_t total = 0;
  for (ssize_t n = 0; (n = ::read(fd, block.data(), kMiB)) > 0;) total += static_cast<uint64_t>(n);
  ::close(fd);
  EXPECT_EQ(total, size_bytes);
}

// Create on the real cgroupfs, or skip when this machine or user cannot have one.
std::unique_ptr<MemoryCap> CreateRealOrSkip(uint64_t cap_bytes, std::string* skip_reason) {
  Result<std::unique_ptr<MemoryCap>> cap = MemoryCap::Create(cap_bytes);
  if (cap.has_value()) return std::move(cap).value();
  const StatusCode code = cap.error().code();
  if (code == StatusCode::kNotSupported || code == StatusCode::kFailedPrecondition) {
    *skip_reason = cap.error().ToString();
  } else {
    ADD_FAILURE() << cap.error().ToString();
  }
  return nullptr;
}

TEST_F(FakeCgroupTest, InheritedLimitOnV1IsTheHierarchicalOne) {
  BuildV1();
  EXPECT_EQ(InheritedMemoryLimit(fs_), std::nullopt) << "no memory.stat: nothing known, no limit";
  WriteText(Own("memory.stat"), "cache 0\nhierarchical_memory_limit 536870912\ntotal_cache 0\n");
  EXPECT_EQ(InheritedMemoryLimit(fs_), std::optional<uint64_t>(512 * kMiB));
  WriteText(Own("memory.stat"), std::string("hierarchical_memory_limit ") + kV1Unlimited);
  EXPECT_EQ(InheritedMemoryLimit(fs_), std::nullopt) << "v1's unlimited value is no limit";
}

TEST_F(FakeCgroupTest, InheritedLimitOnV2IsTheSmallestOnThePathToTheRoot) {
  BuildV2();  // The own cgroup /user/app has memory.max "max".
  EXPECT_EQ(InheritedMemoryLimit(fs_), std::nullopt);
  WriteText(dir_.File("cg") + "/user/memory.max", "1073741824\n");
  EXPECT_EQ(InheritedMemoryLimit(fs_), std::optional<uint64_t>(1024 * kMiB)) << "the parent's limit binds";
  WriteText(Own("memory.max"), "2147483648\n");
  EXPECT_EQ(InheritedMemoryLimit(fs_), std::optional<uint64_t>(1024 * kMiB)) << "the smaller of the two";
}

TEST_F(FakeCgroupTest, InheritedLimitWithoutAMemoryControllerIsNone) {
  WriteText(fs_.mountinfo, "22 1 8:1 / / rw,relatime - ext4 /dev/vda rw\n");
  WriteText(fs_.proc_self_cgroup, "0::/\n");
  EXPECT_EQ(InheritedMemoryLimit(fs_), std::nullopt);
}

class RealCgroupTest : public ::testing::Test {
 protected:
  testutil::TempDir dir_;
};

TEST_F(RealCgroupTest, PageCacheIsChargedToTheCapAndStaysUnderIt) {
  const uint64_t page_bytes = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  std::string skip_reason;
  // Not a page multiple: the kernel rounds it down, and Create must accept that.
  std::unique_ptr<MemoryCap> cap = CreateRealOrSkip(64 * kMiB + 100, &skip_reason);
  if (cap == nullptr) GTEST_SKIP() << skip_reason;
  EXPECT_EQ(cap->cap_bytes(), 64 * kMiB);
  const std::string cap_dir = cap->path();
  ASSERT_TRUE(Exists(cap_dir + "/cgroup.procs"));
  if (cap->version() == CgroupVersion::kV1 && Exists(cap_dir + "/memory.memsw.limit_in_bytes")) {
    EXPECT_EQ(ReadText(cap_dir + "/memory.memsw.limit_in_bytes"), std::to_string(MemswLimitBytes(64 * kMiB)) + "\n");
  }

  ASSERT_OK(cap->Enter());
  ASSERT_OK(cap->ResetPeak());
  WriteAndReadBack(dir_.File("data"), 32 * kMiB, /*write=*/true);
  ASSERT_OK_AND_ASSIGN(const MemorySample sample, cap->Sample());
  ASSERT_OK(cap->Leave());

  EXPECT_GT(sample.page_cache_bytes, 0u);
  EXPECT_LE(sample.page_cache_bytes, cap->cap_bytes());
  EXPECT_LE(sample.usage_bytes, cap->cap_bytes() + page_bytes);
  EXPECT_EQ(sample.oom_kills, 0u);
  const std::string membership = ReadText("/proc/self/cgroup");
  const std::string cap_name = std::filesystem::path(cap_dir).filename().string();
  EXPECT_THAT(membership, Not(HasSubstr(cap_name))) << membership;
  cap.reset();
  EXPECT_FALSE(Exists(cap_dir)) << "the destructor must remove " << cap_dir;
}

// A cap left by a run that was killed (named after a pid that is gone, no processes in
// it) is removed by the next Create; one whose process is alive is left alone.
TEST_F(RealCgroupTest, CapsOfDeadRunsAreRemovedAndLiveOnesKept) {
  std::string skip_reason;
  std::unique_ptr<MemoryCap> cap = CreateRealOrSkip(64 * kMiB, &skip_reason);
  if (cap == nullptr) GTEST_SKIP() << skip_reason;
  const std::string parent = std::filesystem::path(cap->path()).parent_path().string();
  cap.reset();
  const pid_t dead = ::fork();
  ASSERT_GE(dead, 0);
  if (dead == 0) ::_exit(0);
  int status = 0;
  ASSERT_EQ(::waitpid(dead, &status, 0), dead);
  const std::string stale = parent + "/iodepth-" + std::to_string(dead);
  const std::string live = parent + "/iodepth-1";  // PID 1 is always alive.
  ASSERT_EQ(::mkdir(stale.c_str(), 0755), 0) << stale << ": " << std::strerror(errno);
  const bool made_live = ::mkdir(live.c_str(), 0755) == 0;
  cap = CreateRealOrSkip(64 * kMiB, &skip_reason);
  ASSERT_NE(cap, nullptr) << skip_reason;
  EXPECT_FALSE(Exists(stale)) << "the dead run's cap must be removed";
  if (made_live) {
    EXPECT_TRUE(Exists(live)) << "a cap named after a live process is not ours to remove";
    ::rmdir(live.c_str());
  }
}

// The point of the module: a file twice the cap, read buffered inside, leaves at most
// the cap in page cache, and the kernel reports that usage hit the limit.
TEST_F(RealCgroupTest, ReadingTwiceTheCapKeepsThePageCacheUnderIt) {
  const uint64_t page_bytes = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  const uint64_t file_bytes = 128 * kMiB;
  // Written and dropped from the cache outside the cap, so only the read is charged.
  WriteAndReadBack(dir_.File("data"), file_bytes, /*write=*/true);
  const int fd = ::open(dir_.File("data").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
  ::close(fd);

  std::string skip_reason;
  std::unique_ptr<MemoryCap> cap = CreateRealOrSkip(64 * kMiB, &skip_reason);
  if (cap == nullptr) GTEST_SKIP() << skip_reason;
  ASSERT_OK(cap->Enter());
  ASSERT_OK_AND_ASSIGN(const MemorySample before, cap->Sample());
  WriteAndReadBack(dir_.File("data"), file_bytes, /*write=*/false);
  ASSERT_OK_AND_ASSIGN(const MemorySample after, cap->Sample());
  ASSERT_OK(cap->Leave());

  EXPECT_LE(after.page_cache_bytes, cap->cap_bytes());
  EXPECT_LE(after.peak_bytes, cap->cap_bytes() + page_bytes);
  EXPECT_GT(after.limit_events, before.limit_events) << "usage never reached the limit";
  EXPECT_EQ(after.oom_kills, before.oom_kills);
}

}  // namespace
}  // namespace iodepth
