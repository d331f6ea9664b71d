// The child of the kill -9 trials (wal_crash_test.cc): commits records from several
// threads until it is killed, and reports each acknowledged commit on stdout as one line
// "<thread> <counter> <end_lsn>", written only after Commit returned OK.
//
//   wal_crash_child <directory> <buffered|direct> <fdatasync|dsync> <backend> <threads>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "wal_fixture.h"

namespace {

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "wal_crash_child: %s\n", what.c_str());
  std::_Exit(3);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace iodepth;
  if (argc != 6) Die("usage: wal_crash_child DIR CACHE SYNC BACKEND THREADS");
  auto cache = ParseCacheMode(argv[2]);
  auto sync = ParseWalSyncMethod(argv[3]);
  auto backend = ParseBackend(argv[4]);
  if (!cache || !sync || !backend) Die("bad cache, sync or backend");
  const testutil::WalPath path{"child", *cache, *sync};
  auto writer = WalWriter::Open(testutil::TestWalOptions(argv[1], path, *backend));
  if (!writer) Die(writer.error().ToString());
  const int threads = std::atoi(argv[5]);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      uint64_t state = static_cast<uint64_t>(t) * 7919 + static_cast<uint64_t>(getpid());
      for (uint64_t counter = 0;; ++counter) {
        const size_t bytes = 24 + SplitMix64Next(state) % 3000;
        auto appended = (*writer)->Append(testutil::MakePayload(static_cast<uint32_t>(t), counter, bytes));
        if (!appended) Die(appended.error().ToString());
        if (Status committed = (*writer)->Commit(appended->end_lsn); !committed.ok()) Die(committed.ToString());
        // One write(2) per line: a pipe never interleaves writes this small.
        const std::string line =
            std::to_string(t) + " " + std::to_string(counter) + " " + std::to_string(appended->end_lsn) + "\n";
        if (::write(STDOUT_FILENO, line.data(), line.size()) != static_cast<ssize_t>(line.size())) std::_Exit(4);
      }
    });
  }
  for (auto& worker : workers) worker.join();
  return 0;
}
