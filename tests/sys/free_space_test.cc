// The free-space check: the reserve kept (5% or 1 GiB, whichever is larger), the room left
// beside it, and a refusal that names the path, the sizes and the setting to change.
#include "sys/free_space.h"

#include <gtest/gtest.h>

#include "testutil/status_macros.h"
#include "testutil/temp_dir.h"

namespace iodepth {
namespace {

constexpr uint64_t kGiB = 1ull << 30;

TEST(FreeSpaceTest, ReserveIsFivePercentOrOneGibWhicheverIsLargerAndNeverTheWholeDisk) {
  EXPECT_EQ(FreeSpaceReserve(10 * kGiB), 1 * kGiB);
  EXPECT_EQ(FreeSpaceReserve(100 * kGiB), 5 * kGiB);
  EXPECT_EQ(FreeSpaceReserve(kGiB / 2), kGiB / 2) << "a filesystem smaller than the floor keeps all of it";
}

TEST(FreeSpaceTest, GrowingUpToTheRoomBesideTheReserveIsAllowedAndOneByteMoreIsRefused) {
  const FreeSpace space{.mount_path = "/data", .total_bytes = 100 * kGiB, .available_bytes = 20 * kGiB};
  const uint64_t room = 20 * kGiB - 5 * kGiB;
  EXPECT_OK(CheckRoomToGrow(space, "/data/t.dat", room, "size"));
  EXPECT_OK(CheckRoomToGrow(space, "/data/t.dat", 0, "size"));
  const Status refused = CheckRoomToGrow(space, "/data/t.dat", room + 1, "size");
  EXPECT_EQ(refused.code(), StatusCode::kResourceExhausted);
  for (const char* part :
       {"/data/t.dat", "20 GiB free of 100 GiB", "keeps 5 GiB", "5% or 1 GiB", "at most 15 GiB", "smaller size"}) {
    EXPECT_NE(refused.message().find(part), std::string::npos) << part << " in: " << refused.message();
  }
  EXPECT_EQ(refused.setting(), "size");
  const FreeSpace full{.mount_path = "/data", .total_bytes = 100 * kGiB, .available_bytes = 4 * kGiB};
  EXPECT_EQ(CheckRoomToGrow(full, "/data/t.dat", 1, "size").code(), StatusCode::kResourceExhausted)
      << "less free than the reserve: no room at all";
}

TEST(FreeSpaceTest, ARealFilesystemIsMeasuredAtTheNearestExistingDirectory) {
  testutil::TempDir dir;
  ASSERT_OK_AND_ASSIGN(const FreeSpace space, FreeSpaceAt(dir.File("not/yet/there.dat")));
  EXPECT_EQ(space.mount_path, dir.path());
  EXPECT_GT(space.total_bytes, 0u);
  EXPECT_LE(space.available_bytes, space.total_bytes);
  const Status huge = CheckRoomToGrow(dir.File("x.dat"), space.total_bytes + 1, "size");
  EXPECT_EQ(huge.code(), StatusCode::kResourceExhausted) << huge.message();
}

}  // namespace
}  // namespace iodepth
