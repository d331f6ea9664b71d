// The block device under a path: its stat counters, what a cold and a warm read of a file
// cost the device, and which storage is memory (tmpfs, zram, a loop device over one).
#include "sys/block_device.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "testutil/temp_dir.h"

namespace iodepth {
namespace {

TEST(BlockStatTest, ParsesSectorsAsBytesOfFiveHundredTwelve) {
  // /sys/block/vda/stat: reads merges sectors ticks writes merges sectors ticks ...
  const std::optional<BlockCounters> c = ParseBlockStat(
      "    4253        0    34024     1200     17        3      136       20        0     1300     1220\n");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->read_ios, 4253u);
  EXPECT_EQ(c->read_bytes, 34024u * 512);
  EXPECT_EQ(c->write_ios, 17u);
  EXPECT_EQ(c->write_bytes, 136u * 512);
}

TEST(BlockStatTest, TooFewOrNonNumericFieldsAreNotCounters) {
  EXPECT_FALSE(ParseBlockStat("").has_value());
  EXPECT_FALSE(ParseBlockStat("1 2 3 4 5 6").has_value());
  EXPECT_FALSE(ParseBlockStat("1 2 x 4 5 6 7").has_value());
}

TEST(BlockStatTest, CountersBetweenNeverGoBelowZero) {
  const BlockCounters before{.read_ios = 10, .read_bytes = 4096, .write_ios = 5, .write_bytes = 100};
  const BlockCounters after{.read_ios = 12, .read_bytes = 12288, .write_ios = 1, .write_bytes = 100};
  const BlockCounters d = CountersBetween(before, after);
  EXPECT_EQ(d.read_ios, 2u);
  EXPECT_EQ(d.read_bytes, 8192u);
  EXPECT_EQ(d.write_ios, 0u) << "a counter that went backwards (a reset) counts nothing";
  EXPECT_EQ(d.write_bytes, 0u);
}

TEST(StorageKindTest, MemoryDeviceNamesAreNumberedZramAndRam) {
  EXPECT_TRUE(IsMemoryDeviceName("zram0"));
  EXPECT_TRUE(IsMemoryDeviceName("ram12"));
  EXPECT_FALSE(IsMemoryDeviceName("zram"));
  EXPECT_FALSE(IsMemoryDeviceName("vda"));
  EXPECT_FALSE(IsMemoryDeviceName("nvme0n1"));
  EXPECT_FALSE(IsMemoryDeviceName("ramdisk"));
}

TEST(StorageKindTest, TmpfsMountIsMemoryAndNamesItself) {
  // A mount table that puts the whole tree on tmpfs: whatever "/" is here, the table says.
  const std::vector<MountInfo> mounts = {MountInfo{.major_minor = "0:42",
                                                   .root = "/",
                                                   .mount_point = "/",
                                                   .mount_options = "rw",
                                                   .fs_type = "tmpfs",
                                                   .source = "tmpfs",
                                                   .super_options = "rw"}};
  const StorageKind kind = ClassifyStorage("/", mounts);
  EXPECT_EQ(kind.kind, "memory");
  EXPECT_EQ(kind.holder, "tmpfs");
  EXPECT_NE(kind.reason.find("tmpfs at /"), std::string::npos) << kind.reason;
}

TEST(StorageKindTest, NoVisibleMountIsUnknownWithTheReason) {
  const StorageKind kind = ClassifyStorage("/", std::vector<MountInfo>{});
  // With no mount table, a path on a real block device is still found through st_dev.
  if (kind.kind == "device") GTEST_SKIP() << "the root's device is visible through sysfs: " << kind.reason;
  EXPECT_EQ(kind.kind, "unknown");
  EXPECT_FALSE(kind.reason.empty());
}

TEST(StorageKindTest, DevShmIsMemoryWhereItIsTmpfs) {
  const StorageKind kind = ClassifyStorage("/dev/shm");
  if (kind.kind == "unknown") GTEST_SKIP() << "the mount of /dev/shm is not visible here: " << kind.reason;
  if (kind.holder != "tmpfs") GTEST_SKIP() << "/dev/shm is not tmpfs here: " << kind.reason;
  EXPECT_EQ(kind.kind, "memory");
}

// Reads `path` whole, buffered, and returns what the device read meanwhile.
std::optional<uint64_t> DeviceBytesOfRead(const BlockDevice& device, const std::string& path) {
  const std::optional<BlockCounters> before = ReadBlockCounters(device);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || !before) return std::nullopt;
  std::vector<char> chunk(1 << 20);
  while (::read(fd, chunk.data(), chunk.size()) > 0) {
  }
  ::close(fd);
  const std::optional<BlockCounters> after = ReadBlockCounters(device);
  if (!after) return std::nullopt;
  return CountersBetween(*before, *after).read_bytes;
}

TEST(DeviceAccountingTest, AColdReadCostsTheDeviceTheFileAndAWarmOneAlmostNothing) {
  testutil::TempDir dir;
  const std::string path = dir.File("data");
  const std::optional<BlockDevice> device = BlockDeviceUnder(path);
  if (!device) GTEST_SKIP() << "no block device under " << path << " (tmpfs?)";
  if (IsMemoryDeviceName(device->name)) GTEST_SKIP() << device->name << " is memory";
  constexpr size_t kBytes = 16 << 20;
  {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    std::vector<char> block(1 << 20, 'x');
    for (size_t done = 0; done < kBytes; done += block.size())
      ASSERT_EQ(::write(fd, block.data(), block.size()), 1 << 20);
    ASSERT_EQ(::fdatasync(fd), 0);
    ::close(fd);
  }
  // Cold: the file's pages dropped (written back above, so they can go).
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
  ::close(fd);
  const std::optional<uint64_t> cold = DeviceBytesOfRead(*device, path);
  ASSERT_TRUE(cold.has_value()) << device->stat_path;
  EXPECT_GE(*cold, kBytes * 9 / 10) << "a cold read goes to the device";
  // Warm: every page cached. The counters are the device's, so another test's reads can
  // land in the window; of three tries, one quiet enough is all that is asked.
  uint64_t warm = UINT64_MAX;
  for (int attempt = 0; attempt < 3 && warm >= kBytes / 4; ++attempt) {
    const std::optional<uint64_t> read = DeviceBytesOfRead(*device, path);
    ASSERT_TRUE(read.has_value());
    warm = std::min(warm, *read);
  }
  EXPECT_LT(warm, kBytes / 4) << "a warm read is served from the page cache";
}

}  // namespace
}  // namespace iodepth
