// The run lock between two processes: the second is refused at once, naming the first's
// pid, and gets the lock once the first has exited however it exited.
#include "sys/run_lock.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "testutil/status_macros.h"
#include "testutil/temp_dir.h"

namespace iodepth {
namespace {

TEST(RunLockTest, SecondProcessIsRefusedNamingTheHolderUntilItIsKilled) {
  testutil::TempDir dir;
  const std::string path = dir.File("lock");
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    Result<RunLock> lock = RunLock::TryAcquire(path);
    const char byte = lock.has_value() ? 'y' : 'n';
    if (::write(ready[1], &byte, 1) != 1) _exit(2);
    ::pause();  // Held until killed.
    _exit(0);
  }
  ::close(ready[1]);
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1);
  ::close(ready[0]);
  ASSERT_EQ(byte, 'y') << "the child could not take the lock";

  const Result<RunLock> refused = RunLock::TryAcquire(path);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(refused.error().message().find(fmt::format("process {}", child)), std::string::npos)
      << refused.error().ToString();
  EXPECT_EQ(RunLock::HolderOf(path), child);

  // kill -9: the kernel drops the lock with the process; the file left behind blocks nobody.
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_OK_AND_ASSIGN(const RunLock mine, RunLock::TryAcquire(path));
  EXPECT_EQ(RunLock::HolderOf(path), ::getpid());
}

TEST(RunLockTest, ReleasedWhenTheObjectGoesAndTakenAgain) {
  testutil::TempDir dir;
  const std::string path = dir.File("lock");
  {
    ASSERT_OK_AND_ASSIGN(const RunLock first, RunLock::TryAcquire(path));
    // A second open in the same process is a second holder too: flock is per open file.
    EXPECT_FALSE(RunLock::TryAcquire(path).has_value());
  }
  ASSERT_OK_AND_ASSIGN(RunLock again, RunLock::TryAcquire(path));
  RunLock moved = std::move(again);
  EXPECT_EQ(moved.path(), path);
  EXPECT_FALSE(RunLock::TryAcquire(path).has_value()) << "a moved lock is still held";
}

TEST(RunLockTest, UnopenableLockFileIsAnErrorNamingThePath) {
  const Result<RunLock> lock = RunLock::TryAcquire("/nonexistent-dir-of-iodepth/lock");
  ASSERT_FALSE(lock.has_value());
  EXPECT_NE(lock.error().message().find("/nonexistent-dir-of-iodepth/lock"), std::string::npos);
}

}  // namespace
}  // namespace iodepth
