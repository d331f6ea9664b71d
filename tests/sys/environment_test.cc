#include "sys/environment.h"
#include "sys/git.h"
#include "sys/host_file.h"
#include "sys/mountinfo.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <gtest/gtest.h>

#include "testutil/temp_dir.h"
#include "testutil/text_files.h"

namespace iodepth {
namespace {

using testutil::WriteText;

constexpr char kCommit[] = "0123456789abcdef0123456789abcdef01234567";
constexpr char kOtherCommit[] = "b6abee25875f879a840f47b1f149a3ad57d56ea3";

bool IsPowerOfTwo(int64_t value) { return value > 0 && (value & (value - 1)) == 0; }

// At least 7 lowercase hex digits, the shortest commit name git prints.
bool IsCommitName(const std::string& text) {
  return text.size() >= 7 &&
         std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string RealPath(const std::string& path) {
  char resolved[PATH_MAX];
  return ::realpath(path.c_str(), resolved) != nullptr ? std::string(resolved) : std::string();
}

// Fails the test at the first null value, empty string or empty object, naming where.
void ExpectEveryFieldHasAValue(const nlohmann::json& value, const std::string& where) {
  EXPECT_FALSE(value.is_null()) << where << " is null";
  EXPECT_FALSE(value.is_string() && value.get<std::string>().empty()) << where << " is an empty string";
  EXPECT_FALSE(value.is_object() && value.empty()) << where << " is an empty object";
  if (!value.is_structured()) return;
  for (const auto& [key, item] : value.items()) ExpectEveryFieldHasAValue(item, where + "." + key);
}

class EnvironmentTest : public ::testing::Test {
 protected:
  testutil::TempDir dir_;
};

TEST_F(EnvironmentTest, KernelIsTheRunningKernelsRelease) {
  const nlohmann::json env = CollectEnvironment(dir_.path());
  utsname names{};
  ASSERT_EQ(::uname(&names), 0);
  ASSERT_TRUE(env["kernel"].is_string());
  EXPECT_FALSE(env["kernel"].get<std::string>().empty());
  EXPECT_EQ(env["kernel"], std::string(names.release));
  EXPECT_NE(env["uname"].get<std::string>().find(names.release), std::string::npos) << env["uname"];
}

TEST_F(EnvironmentTest, CpuCountIsAtLeastOne) {
  const nlohmann::json env = CollectEnvironment(dir_.path());
  ASSERT_TRUE(env["cpu_count"].is_number_integer()) << env["cpu_count"];
  EXPECT_GE(env["cpu_count"].get<int64_t>(), 1);
  ASSERT_TRUE(env["memory_total_bytes"].is_number_integer()) << env["memory_total_bytes"];
  EXPECT_GT(env["memory_total_bytes"].get<uint64_t>(), 0u);
}

// Whether a mount holding `path` is visible in this process's mountinfo: where none is (a
// container or a chroot whose root is not listed), the facts about it are unknown, with a
// reason, and the tests that need them skip saying so.
bool MountVisible(const std::string& path) {
  const std::optional<std::string> text = ReadHostFileIfAny("/proc/self/mountinfo");
  if (!text) return false;
  const std::vector<MountInfo> mounts = ParseMountInfo(*text);
  return FindMount(mounts, RealPath(path)) != nullptr;
}

TEST_F(EnvironmentTest, FilesystemOfTheWorkingDirectoryHasAType) {
  const nlohmann::json env = CollectEnvironment(".");
  EXPECT_EQ(env["inspected_path"], RealPath("."));
  if (!MountVisible(".")) {
    ASSERT_EQ(env["filesystem"]["type"], "unknown");
    ASSERT_TRUE(env["filesystem"]["reason"].is_string()) << env["filesystem"];
    GTEST_SKIP() << "no mount holding the working directory is visible here: " << env["filesystem"]["reason"];
  }
  const nlohmann::json& type = env["filesystem"]["type"];
  ASSERT_TRUE(type.is_string());
  EXPECT_FALSE(type.get<std::string>().empty());
  EXPECT_NE(type, "unknown");
  EXPECT_EQ(env["filesystem"]["mount_point"].get<std::string>().front(), '/');
}

TEST_F(EnvironmentTest, DirectIoOffsetAlignmentIsAPowerOfTwo) {
  const std::string file = dir_.File("data");
  WriteText(file, "some bytes");
  for (const std::string& path : {file, dir_.path()}) {
    const nlohmann::json alignment = CollectEnvironment(path)["direct_io_alignment"];
    ASSERT_TRUE(alignment["offset_bytes"].is_number_integer()) << path << ": " << alignment;
    EXPECT_TRUE(IsPowerOfTwo(alignment["offset_bytes"].get<int64_t>())) << path << ": " << alignment;
    EXPECT_TRUE(IsPowerOfTwo(alignment["memory_bytes"].get<int64_t>())) << path << ": " << alignment;
    EXPECT_NE(alignment["source"], "unknown") << path;
  }
}

TEST_F(EnvironmentTest, IoUringIsAvailableOrSaysWhyNot) {
  const nlohmann::json io_uring = CollectEnvironment(dir_.path())["io_uring"];
  ASSERT_TRUE(io_uring["available"].is_boolean()) << io_uring;
  if (io_uring["available"].get<bool>()) {
    EXPECT_EQ(io_uring["reason"], "none");
    ASSERT_TRUE(io_uring["features"].is_array()) << io_uring;
    ASSERT_TRUE(io_uring["opcodes"].is_object()) << io_uring;
    EXPECT_TRUE(io_uring["opcodes"]["READ"].is_boolean()) << io_uring;
  } else {
    ASSERT_TRUE(io_uring["reason"].is_string()) << io_uring;
    EXPECT_NE(io_uring["reason"], "none");
    EXPECT_FALSE(io_uring["reason"].get<std::string>().empty());
    EXPECT_EQ(io_uring["single_issuer_defer_taskrun"], false);
  }
}

TEST_F(EnvironmentTest, MissingFileIsInspectedThroughItsParentDirectory) {
  const std::string dir = RealPath(dir_.path());
  const nlohmann::json existing = CollectEnvironment(dir_.path());
  for (const std::string& missing : {dir_.File("not-yet.dat"), dir_.File("not/yet/either.dat")}) {
    const nlohmann::json env = CollectEnvironment(missing);
    EXPECT_EQ(env["data_path"], missing);
    EXPECT_EQ(env["inspected_path"], dir) << missing;
    EXPECT_EQ(env["filesystem"], existing["filesystem"]) << missing;
    EXPECT_EQ(env["device"], existing["device"]) << missing;
  }
}

TEST_F(EnvironmentTest, RelativeMissingPathIsInspectedFromTheWorkingDirectory) {
  EXPECT_EQ(CollectEnvironment("no-such-iodepth-file.dat")["inspected_path"], RealPath("."));
  EXPECT_EQ(CollectEnvironment("")["inspected_path"], RealPath("."));
}

TEST_F(EnvironmentTest, GitCommitIsAHexHashOrUnknown) {
  const nlohmann::json env = CollectEnvironment(dir_.path());
  ASSERT_TRUE(env["git_commit"].is_string()) << env["git_commit"];
  const std::string commit = env["git_commit"].get<std::string>();
  EXPECT_TRUE(commit == "unknown" || IsCommitName(commit)) << commit;
  EXPECT_EQ(env["iodepth_version"], IODEPTH_VERSION);
}

TEST_F(EnvironmentTest, EveryFieldHasAValue) {
  ExpectEveryFieldHasAValue(CollectEnvironment(dir_.File("missing.dat")), "env");
  ExpectEveryFieldHasAValue(CollectEnvironment("/proc/self/status"), "env(procfs)");
}

TEST_F(EnvironmentTest, FieldsAreTheSameOnAPseudoFilesystem) {
  const nlohmann::json on_disk = CollectEnvironment(dir_.path());
  const nlohmann::json on_proc = CollectEnvironment("/proc/self/status");
  EXPECT_EQ(on_proc["filesystem"]["type"], "proc");
  EXPECT_EQ(on_proc["device"]["name"], "none");  // procfs has no block device.
  for (const auto& [key, value] : on_disk.items()) EXPECT_TRUE(on_proc.contains(key)) << key;
  for (const auto& [key, value] : on_disk["device"].items()) EXPECT_TRUE(on_proc["device"].contains(key)) << key;
}

TEST_F(EnvironmentTest, DeviceBlockSizesArePowersOfTwo) {
  const nlohmann::json device = CollectEnvironment(dir_.path())["device"];
  if (device["name"] == "none") GTEST_SKIP() << "the test directory is on a filesystem without a block device";
  for (const char* key : {"logical_block_size", "physical_block_size"}) {
    ASSERT_TRUE(device[key].is_number_integer()) << key << ": " << device;
    EXPECT_TRUE(IsPowerOfTwo(device[key].get<int64_t>())) << key << ": " << device;
  }
  EXPECT_LE(device["logical_block_size"].get<int64_t>(), device["physical_block_size"].get<int64_t>());
}

TEST_F(EnvironmentTest, CgroupVersionIsRecognisedOrUnknownWithAReason) {
  const nlohmann::json cgroup = CollectEnvironment(dir_.path())["cgroup"];
  const nlohmann::json& version = cgroup["version"];
  if (version == "unknown") {
    ASSERT_TRUE(cgroup["reason"].is_string()) << cgroup;
    const std::optional<std::string> text = ReadHostFileIfAny("/proc/self/mountinfo");
    bool mounted = false;
    for (const MountInfo& mount : ParseMountInfo(text.value_or(""))) {
      mounted = mounted || mount.fs_type == "cgroup" || mount.fs_type == "cgroup2";
    }
    ASSERT_FALSE(mounted) << "a cgroup filesystem is visible, so its version must be told: " << cgroup;
    GTEST_SKIP() << "no cgroup filesystem is visible here: " << cgroup["reason"];
  }
  EXPECT_TRUE(version == 1 || version == 2 || version == "hybrid") << version;
  EXPECT_FALSE(cgroup.contains("reason")) << cgroup;
}

TEST_F(EnvironmentTest, ResultDumpsAndParsesBack) {
  const nlohmann::json env = CollectEnvironment(dir_.path());
  const nlohmann::json parsed = nlohmann::json::parse(env.dump(), nullptr, /*allow_exceptions=*/false);
  EXPECT_EQ(parsed, env);
}

// ---- mountinfo ----

constexpr char kMountInfo[] =
    "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard\n"
    "40 27 259:1 / /mnt rw,noatime shared:1 master:2 - xfs /dev/nvme0n1p1 rw,attr2\n"
    "41 40 0:38 / /mnt/my\\040disk rw - tmpfs my\\040source rw,size=4k\n"
    "this line is not mountinfo\n"
    "42 27 0:39 / /short rw - \n";

TEST(MountInfoTest, ParseDecodesEscapedSpacesAndSkipsOptionalFields) {
  const std::vector<MountInfo> mounts = ParseMountInfo(kMountInfo);
  ASSERT_EQ(mounts.size(), 3u);
  EXPECT_EQ(mounts[1].major_minor, "259:1");
  EXPECT_EQ(mounts[1].mount_point, "/mnt");
  EXPECT_EQ(mounts[1].mount_options, "rw,noatime");
  EXPECT_EQ(mounts[1].fs_type, "xfs");
  EXPECT_EQ(mounts[1].source, "/dev/nvme0n1p1");
  EXPECT_EQ(mounts[1].super_options, "rw,attr2");
  EXPECT_EQ(mounts[2].mount_point, "/mnt/my disk");
  EXPECT_EQ(mounts[2].source, "my source");
}

TEST(MountInfoTest, FindMountPicksTheLongestMountPointPrefix) {
  const std::vector<MountInfo> mounts = ParseMountInfo(kMountInfo);
  ASSERT_EQ(mounts.size(), 3u);
  EXPECT_EQ(FindMount(mounts, "/mnt/my disk/data.dat"), &mounts[2]);
  EXPECT_EQ(FindMount(mounts, "/mnt/my disk"), &mounts[2]);
  EXPECT_EQ(FindMount(mounts, "/mnt/data.dat"), &mounts[1]);
  EXPECT_EQ(FindMount(mounts, "/mnt"), &mounts[1]);
  EXPECT_EQ(FindMount(mounts, "/etc/fstab"), &mounts[0]);
}

TEST(MountInfoTest, MountPointMatchesOnlyWholePathComponents) {
  const std::vector<MountInfo> mounts = ParseMountInfo(kMountInfo);
  EXPECT_EQ(FindMount(mounts, "/mntx/file")->mount_point, "/");
  EXPECT_EQ(FindMount(mounts, "/mnt/my disks")->mount_point, "/mnt");
}

TEST(MountInfoTest, LaterMountAtTheSamePlaceHidesTheEarlier) {
  const std::vector<MountInfo> mounts = ParseMountInfo(
      "27 1 254:0 / / rw - ext4 /dev/vda rw\n"
      "50 27 0:40 / /data rw - ext4 /dev/vdb rw\n"
      "51 50 0:41 / /data rw - xfs /dev/vdc rw\n");
  ASSERT_EQ(mounts.size(), 3u);
  EXPECT_EQ(FindMount(mounts, "/data/file")->source, "/dev/vdc");
}

TEST(MountInfoTest, NoMountMatchesARelativePath) {
  EXPECT_EQ(FindMount(ParseMountInfo(kMountInfo), "relative/path"), nullptr);
  EXPECT_EQ(FindMount({}, "/"), nullptr);
}

TEST(BracketedChoiceTest, ReturnsTheBracketedWordOrTheWholeText) {
  EXPECT_EQ(BracketedChoice("none [mq-deadline] kyber bfq \n"), "mq-deadline");
  EXPECT_EQ(BracketedChoice("[none] mq-deadline"), "none");
  EXPECT_EQ(BracketedChoice("always [madvise] never"), "madvise");
  EXPECT_EQ(BracketedChoice("none\n"), "none");
  EXPECT_EQ(BracketedChoice(""), "");
}

// ---- load ----

constexpr char kProcStat[] =
    "cpu  100 5 40 800 30 7 3 2 9 1\n"
    "cpu0 50 2 20 400 15 4 2 1 5 0\n"
    "cpu1 50 3 20 400 15 3 1 1 4 1\n"
    "intr 12345 0 0\n"
    "ctxt 999\n";

TEST(CpuLoadTest, ParseProcStatSumsBusyAndEveryStateOfTheCpuLineAndCountsTheCpus) {
  const std::optional<CpuSample> sample = ParseProcStat(kProcStat);
  ASSERT_TRUE(sample.has_value());
  EXPECT_EQ(sample->busy_ticks, 100u + 5 + 40) << "user, nice and system; not irq, softirq or steal";
  EXPECT_EQ(sample->total_ticks, 100u + 5 + 40 + 800 + 30 + 7 + 3 + 2) << "guest is inside user already";
  EXPECT_EQ(sample->cpus, 2u);
  // An old kernel's four fields.
  const std::optional<CpuSample> old = ParseProcStat("cpu 1 2 3 4\ncpu0 1 2 3 4\n");
  ASSERT_TRUE(old.has_value());
  EXPECT_EQ(old->busy_ticks, 6u);
  EXPECT_EQ(old->total_ticks, 10u);
}

TEST(CpuLoadTest, ParseProcStatRefusesTextWithoutACpuLineOrWithBadNumbers) {
  EXPECT_FALSE(ParseProcStat("").has_value());
  EXPECT_FALSE(ParseProcStat("intr 1 2\n").has_value());
  EXPECT_FALSE(ParseProcStat("cpu  1 2 x 4\ncpu0 1 2 3 4\n").has_value());
  EXPECT_FALSE(ParseProcStat("cpu  1 2 3\ncpu0 1 2 3\n").has_value());
  EXPECT_FALSE(ParseProcStat("cpu  1 2 3 4\n").has_value()) << "no cpuN line: no CPU count";
}

TEST(CpuLoadTest, ParseSelfCpuTicksAddsUtimeAndStimeAfterAnyCommandName) {
  // Fields 14 and 15 (utime 700, stime 55); the command name holds a space and parentheses.
  const std::string stat = "4242 (my (odd) cmd) R 1 4242 4242 0 -1 4194304 100 0 0 0 700 55 0 0 20 0 3 0";
  EXPECT_EQ(ParseSelfCpuTicks(stat), std::optional<uint64_t>(755));
  EXPECT_FALSE(ParseSelfCpuTicks("4242 (short) R 1 2 3").has_value());
  EXPECT_FALSE(ParseSelfCpuTicks("no parenthesis").has_value());
  EXPECT_FALSE(ParseSelfCpuTicks("1 (x) R 1 1 1 0 -1 0 0 0 0 0 abc 5 0").has_value());
}

TEST(CpuLoadTest, OtherCpuIsTheMachinesBusyTimeLessThisProcessesOverTheWallTime) {
  const CpuSample from{.busy_ticks = 1000, .total_ticks = 10000, .cpus = 2, .self_ticks = 300};
  // 200 ticks of wall time on 2 CPUs (400 ticks in all); 250 busy, 150 of them this process's.
  const CpuSample to{.busy_ticks = 1250, .total_ticks = 10400, .cpus = 2, .self_ticks = 450};
  const std::optional<OtherCpu> other = OtherCpuBetween(from, to);
  ASSERT_TRUE(other.has_value());
  EXPECT_DOUBLE_EQ(other->cpus, 0.5);
  EXPECT_DOUBLE_EQ(other->seconds, 200.0 / static_cast<double>(::sysconf(_SC_CLK_TCK)));
  // This process counted more than the machine did (ticks are sampled apart): 0, not below.
  const CpuSample busy_self{.busy_ticks = 1250, .total_ticks = 10400, .cpus = 2, .self_ticks = 600};
  EXPECT_DOUBLE_EQ(OtherCpuBetween(from, busy_self)->cpus, 0.0);
  EXPECT_FALSE(OtherCpuBetween(from, from).has_value()) << "no tick passed";
  EXPECT_FALSE(OtherCpuBetween(to, from).has_value()) << "counters going backwards";
}

TEST(CpuLoadTest, TheLoadRecordMeasuresOtherCpusOnlyAgainstASample) {
  const nlohmann::json without = LoadRecord(std::nullopt);
  EXPECT_EQ(without["other_cpus"], "unknown");
  EXPECT_EQ(without["measured_s"], "unknown");
  EXPECT_TRUE(without["loadavg_1m"].is_number());
  const std::optional<CpuSample> since = SampleCpu();
  ASSERT_TRUE(since.has_value()) << "/proc/stat and /proc/self/stat are readable here";
  // Spin this process for a few ticks: its own time is not the machine's load.
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(150);
  volatile uint64_t spin = 0;
  while (std::chrono::steady_clock::now() < until) spin = spin + 1;
  const nlohmann::json with = CollectEnvironment("/", since)["load"];
  ASSERT_TRUE(with["other_cpus"].is_number()) << with.dump();
  EXPECT_GE(with["other_cpus"].get<double>(), 0.0);
  EXPECT_LE(with["other_cpus"].get<double>(), static_cast<double>(since->cpus));
  EXPECT_GT(with["measured_s"].get<double>(), 0.0);
}

// ---- git ----

class GitCommitTest : public ::testing::Test {
 protected:
  // A work tree at dir_/repo whose HEAD holds `head`.
  std::string Repo(const std::string& head) {
    const std::string repo = dir_.File("repo");
    WriteText(repo + "/.git/HEAD", head + "\n");
    return repo;
  }

  testutil::TempDir dir_;
};

TEST_F(GitCommitTest, LooseRefIsResolved) {
  const std::string repo = Repo("ref: refs/heads/main");
  WriteText(repo + "/.git/refs/heads/main", std::string(kCommit) + "\n");
  EXPECT_EQ(FindGitCommit(repo), kCommit);
}

TEST_F(GitCommitTest, PackedRefIsResolved) {
  const std::string repo = Repo("ref: refs/heads/feature/x");
  WriteText(repo + "/.git/packed-refs", "# pack-refs with: peeled fully-peeled sorted \n" + std::string(kOtherCommit) +
                                            " refs/heads/feature\n" + std::string(kCommit) + " refs/heads/feature/x\n" +
                                            "^" + std::string(kOtherCommit) + "\n");
  EXPECT_EQ(FindGitCommit(repo), kCommit);
}

TEST_F(GitCommitTest, LooseRefWinsOverAStalePackedRef) {
  const std::string repo = Repo("ref: refs/heads/main");
  WriteText(repo + "/.git/packed-refs", std::string(kOtherCommit) + " refs/heads/main\n");
  WriteText(repo + "/.git/refs/heads/main", kCommit);
  EXPECT_EQ(FindGitCommit(repo), kCommit);
}

TEST_F(GitCommitTest, DetachedHeadIsTheCommitItself) { EXPECT_EQ(FindGitCommit(Repo(kCommit)), kCommit); }

TEST_F(GitCommitTest, WorkTreeIsFoundFromASubdirectory) {
  const std::string repo = Repo(kCommit);
  const std::string deep = repo + "/build/dev/tests";
  std::error_code error;
  std::filesystem::create_directories(deep, error);
  ASSERT_FALSE(error) << error.message();
  EXPECT_EQ(FindGitCommit(deep), kCommit);
}

TEST_F(GitCommitTest, LinkedWorktreeFollowsGitdirAndCommondir) {
  // `git worktree add`: the work tree's .git is a file; its git dir shares refs through
  // commondir.
  const std::string main_git = dir_.File("main/.git");
  WriteText(main_git + "/refs/heads/topic", kCommit);
  WriteText(main_git + "/worktrees/wt/HEAD", "ref: refs/heads/topic\n");
  WriteText(main_git + "/worktrees/wt/commondir", "../..\n");
  WriteText(dir_.File("wt/.git"), "gitdir: " + main_git + "/worktrees/wt\n");
  EXPECT_EQ(FindGitCommit(dir_.File("wt")), kCommit);
}

TEST_F(GitCommitTest, HeadNamingAMissingRefIsUnknown) {
  // An unborn branch: the nearest work tree answers "unknown", rather than an outer
  // checkout (this test's scratch directory may itself sit inside one) answering for it.
  EXPECT_EQ(FindGitCommit(Repo("ref: refs/heads/unborn")), "unknown");
}

TEST_F(GitCommitTest, MalformedHeadIsUnknown) {
  EXPECT_EQ(FindGitCommit(Repo("not a commit")), "unknown");
  EXPECT_EQ(FindGitCommit(Repo("ref: ../../../etc/passwd")), "unknown");
}

TEST_F(GitCommitTest, SymbolicRefLoopEnds) {
  const std::string repo = Repo("ref: refs/heads/a");
  WriteText(repo + "/.git/refs/heads/a", "ref: refs/heads/b\n");
  WriteText(repo + "/.git/refs/heads/b", "ref: refs/heads/a\n");
  EXPECT_EQ(FindGitCommit(repo), "unknown");
}

}  // namespace
}  // namespace iodepth
