// Tests of harness/job.h: the offsets a job visits, and RunJob against every backend in
// buffered and direct mode on a small data file made by EnsureDataFile.
#include "harness/job.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "harness/data_file.h"
#include "test_files.h"
#include "testutil/io_printers.h"
#include "testutil/status_macros.h"
#include "testutil/temp_dir.h"

namespace iodepth {
namespace {

using testutil::FlipBytes;
using testutil::TempDir;

constexpr uint64_t kBlockBytes = 4096;
constexpr uint64_t kMiB4 = uint64_t{4} << 20;
constexpr uint64_t kMiB64 = uint64_t{64} << 20;
constexpr RwPattern kAllPatterns[] = {RwPattern::kRead, RwPattern::kRandRead, RwPattern::kWrite, RwPattern::kRandWrite};

JobSpec OffsetSpec(RwPattern rw, uint64_t size_bytes, uint64_t block_size, uint64_t seed = 1) {
  JobSpec spec;
  spec.rw = rw;
  spec.size_bytes = size_bytes;
  spec.block_size = block_size;
  spec.seed = seed;
  return spec;
}

std::vector<uint64_t> Offsets(const JobSpec& spec, size_t count) {
  OffsetGenerator generator(spec);
  std::vector<uint64_t> offsets(count);
  for (uint64_t& offset : offsets) offset = generator.Next();
  return offsets;
}

// ---- OffsetGenerator ----

TEST(OffsetGeneratorTest, EveryOffsetIsAWholeBlockInsideTheRange) {
  struct Shape {
    uint64_t block_size;
    uint64_t size_bytes;
  };
  // Sizes that are and are not multiples of the block size, down to a single block.
  const Shape shapes[] = {{4096, 1 << 20},     {4096, (1 << 20) + 100}, {4096, 4096},     {4096, 3 * 4096 + 4095},
                          {512, 7 * 4096 + 1}, {8192, 5 * 8192 - 1},    {65536, 1 << 20}, {1, 1000}};
  for (const Shape& shape : shapes) {
    for (RwPattern rw : kAllPatterns) {
      const JobSpec spec = OffsetSpec(rw, shape.size_bytes, shape.block_size);
      for (uint64_t offset : Offsets(spec, 5000)) {
        ASSERT_EQ(offset % shape.block_size, 0u) << RwPatternName(rw) << " bs " << shape.block_size;
        ASSERT_LT(offset, shape.size_bytes) << RwPatternName(rw) << " bs " << shape.block_size;
        // A request reads the whole block, so the block must end inside the range too.
        ASSERT_LE(offset + shape.block_size, shape.size_bytes)
            << RwPatternName(rw) << " bs " << shape.block_size << " size " << shape.size_bytes;
      }
    }
  }
}

TEST(OffsetGeneratorTest, AnOffsetShiftsTheRangeItCovers) {
  for (RwPattern rw : kAllPatterns) {
    JobSpec spec = OffsetSpec(rw, 64 * 4096, 4096);
    spec.offset_bytes = 100 * 4096;
    std::vector<uint64_t> seen = Offsets(spec, 5000);
    for (uint64_t offset : seen) {
      ASSERT_GE(offset, spec.offset_bytes) << RwPatternName(rw);
      ASSERT_LE(offset + 4096, spec.offset_bytes + spec.size_bytes) << RwPatternName(rw);
    }
    EXPECT_EQ(*std::min_element(seen.begin(), seen.end()), spec.offset_bytes) << RwPatternName(rw);
    EXPECT_EQ(*std::max_element(seen.begin(), seen.end()), spec.offset_bytes + 63 * 4096) << RwPatternName(rw);
  }
}

TEST(OffsetGeneratorTest, SequentialAscendsAndWrapsToZeroAfterTheLastWholeBlock) {
  for (RwPattern rw : {RwPattern::kRead, RwPattern::kWrite}) {
    for (uint64_t size_bytes : {5 * kBlockBytes, 5 * kBlockBytes + 100, 6 * kBlockBytes - 1}) {
      const std::vector<uint64_t> offsets = Offsets(OffsetSpec(rw, size_bytes, kBlockBytes), 17);
      for (size_t i = 0; i < offsets.size(); ++i) {
        EXPECT_EQ(offsets[i], (i % 5) * kBlockBytes) << RwPatternName(rw) << " size " << size_bytes << " #" << i;
      }
    }
  }
}

TEST(OffsetGeneratorTest, SequentialOverOneBlockRepeatsOffsetZero) {
  for (uint64_t offset : Offsets(OffsetSpec(RwPattern::kRead, kBlockBytes, kBlockBytes), 10)) EXPECT_EQ(offset, 0u);
}

TEST(OffsetGeneratorTest, RandomWithTheSameSeedRepeatsTheSequence) {
  for (RwPattern rw : {RwPattern::kRandRead, RwPattern::kRandWrite}) {
    const JobSpec spec = OffsetSpec(rw, kMiB64, kBlockBytes, /*seed=*/42);
    EXPECT_EQ(Offsets(spec, 10000), Offsets(spec, 10000)) << RwPatternName(rw);
  }
  // randread and randwrite draw the same offsets from the same seed.
  EXPECT_EQ(Offsets(OffsetSpec(RwPattern::kRandRead, kMiB64, kBlockBytes, 7), 1000),
            Offsets(OffsetSpec(RwPattern::kRandWrite, kMiB64, kBlockBytes, 7), 1000));
}

TEST(OffsetGeneratorTest, RandomWithDifferentSeedsDiffers) {
  const std::vector<uint64_t> one = Offsets(OffsetSpec(RwPattern::kRandRead, kMiB4, kBlockBytes, 1), 10000);
  const std::vector<uint64_t> two = Offsets(OffsetSpec(RwPattern::kRandRead, kMiB4, kBlockBytes, 2), 10000);
  // 1024 blocks: two independent sequences agree at about 10 of 10000 positions.
  size_t same = 0;
  for (size_t i = 0; i < one.size(); ++i) {
    if (one[i] == two[i]) ++same;
  }
  EXPECT_LT(same, 50u);
}

TEST(OffsetGeneratorTest, RandomIsNotSequential) {
  const std::vector<uint64_t> offsets = Offsets(OffsetSpec(RwPattern::kRandRead, kMiB4, kBlockBytes), 1000);
  size_t ascending_steps = 0;
  for (size_t i = 1; i < offsets.size(); ++i) {
    if (offsets[i] == offsets[i - 1] + kBlockBytes) ++ascending_steps;
  }
  EXPECT_LT(ascending_steps, 20u);
}

// Pearson's chi-square of the block counts against a uniform expectation.
double ChiSquare(const std::vector<uint64_t>& counts, double expected) {
  double sum = 0;
  for (uint64_t count : counts) {
    const double diff = static_cast<double>(count) - expected;
    sum += diff * diff / expected;
  }
  return sum;
}

TEST(OffsetGeneratorTest, RandomCoversEveryBlockRoughlyUniformly) {
  // 100 blocks (not a power of two, where a biased reduction would show) and 1000 draws
  // per block. Chi-square with 99 degrees of freedom has mean 99 and sd 14; 200 is far
  // out in the tail, yet a generator that favours or skips blocks lands well above it.
  constexpr uint64_t kBlocks = 100;
  constexpr size_t kDraws = kBlocks * 1000;
  for (uint64_t seed : {1u, 20240601u}) {
    const JobSpec spec = OffsetSpec(RwPattern::kRandRead, kBlocks * kBlockBytes, kBlockBytes, seed);
    std::vector<uint64_t> counts(kBlocks, 0);
    for (uint64_t offset : Offsets(spec, kDraws)) ++counts[offset / kBlockBytes];
    EXPECT_EQ(std::count(counts.begin(), counts.end(), 0u), 0) << "seed " << seed << ": a block was never drawn";
    EXPECT_LT(ChiSquare(counts, 1000.0), 200.0) << "seed " << seed;
  }
}

TEST(OffsetGeneratorTest, RandomReachesBothEndsOfALargeRange) {
  // 1 TiB of 4 KiB blocks: draws land in the first and the last eighth alike.
  const uint64_t size_bytes = uint64_t{1} << 40;
  size_t low = 0, high = 0;
  for (uint64_t offset : Offsets(OffsetSpec(RwPattern::kRandRead, size_bytes, kBlockBytes), 8000)) {
    if (offset < size_bytes / 8) ++low;
    if (offset >= size_bytes / 8 * 7) ++high;
  }
  EXPECT_GT(low, 800u);
  EXPECT_GT(high, 800u);
}

// ---- Parameter validation: refused before the file is touched ----

class JobValidationTest : public ::testing::Test {
 protected:
  // A valid read spec on a file that does not exist: only validation can fail first.
  JobSpec ValidSpec() const {
    JobSpec spec;
    spec.filename = dir_.File("never-created.dat");
    spec.rw = RwPattern::kRead;
    spec.size_bytes = 1 << 20;
    spec.number_ios = 10;
    return spec;
  }

  // RunJob must fail with InvalidArgument whose message names `flag`, and create nothing.
  // The refusal names `setting` (Status::WithSetting), which the CLI turns into its flag.
  void ExpectRefused(const JobSpec& spec, const std::string& setting) {
    const Result<JobResult> result = RunJob(spec);
    ASSERT_FALSE(result.has_value()) << setting;
    EXPECT_EQ(result.error().code(), StatusCode::kInvalidArgument) << result.error().ToString();
    const std::string settings = "," + std::string(result.error().setting()) + ",";
    EXPECT_NE(settings.find("," + setting + ","), std::string::npos)
        << result.error().ToString() << " names settings \"" << result.error().setting() << "\"";
    struct stat st {};
    EXPECT_NE(::stat(spec.filename.c_str(), &st), 0) << "a refused job created " << spec.filename;
  }

  TempDir dir_;
};

TEST_F(JobValidationTest, ZeroBlockSizeNamesBlockSize) {
  JobSpec spec = ValidSpec();
  spec.block_size = 0;
  ExpectRefused(spec, "block_size");
}

TEST_F(JobValidationTest, SizeSmallerThanOneBlockNamesSize) {
  JobSpec spec = ValidSpec();
  spec.block_size = 8192;
  spec.size_bytes = 8191;
  ExpectRefused(spec, "size");
  ExpectRefused(spec, "block_size");
}

TEST_F(JobValidationTest, JobsOutsideOneToTheMostNameNumjobs) {
  JobSpec spec = ValidSpec();
  spec.jobs = 0;
  ExpectRefused(spec, "numjobs");
  spec.jobs = kMaxJobs + 1;
  ExpectRefused(spec, "numjobs");
}

TEST_F(JobValidationTest, SeveralJobsOnTheSynchronousPathNameNumjobs) {
  JobSpec spec = ValidSpec();
  spec.sync_path = true;
  spec.jobs = 2;
  ExpectRefused(spec, "numjobs");
}

TEST_F(JobValidationTest, SequentialJobsWithLessThanABlockEachNameSizeAndNumjobs) {
  JobSpec spec = ValidSpec();
  spec.size_bytes = 3 * 4096;
  spec.jobs = 4;  // 3 blocks cannot give 4 sequential jobs a slice each.
  ExpectRefused(spec, "numjobs");
  ExpectRefused(spec, "size");
}

TEST_F(JobValidationTest, AnOffsetOffTheBlockSizeNamesOffset) {
  JobSpec spec = ValidSpec();
  spec.offset_bytes = 100;
  ExpectRefused(spec, "offset");
}

TEST_F(JobValidationTest, NeitherRuntimeNorNumberIosNamesBoth) {
  JobSpec spec = ValidSpec();
  spec.number_ios = 0;
  spec.runtime_ns = 0;
  ExpectRefused(spec, "runtime");
  ExpectRefused(spec, "number_ios");
}

TEST_F(JobValidationTest, VerifyWithWritesNamesVerify) {
  for (RwPattern rw : {RwPattern::kWrite, RwPattern::kRandWrite}) {
    JobSpec spec = ValidSpec();
    spec.rw = rw;
    spec.verify = true;
    spec.file_id = 1;
    ExpectRefused(spec, "verify");
  }
}

TEST_F(JobValidationTest, ValidSpecGetsPastValidationToTheMissingFile) {
  // The control for the tests above: the same spec, unchanged, fails only at open.
  const Result<JobResult> result = RunJob(ValidSpec());
  ASSERT_FALSE(result.has_value());
  EXPECT_NE(result.error().code(), StatusCode::kInvalidArgument) << result.error().ToString();
}

// ---- RunJob against every backend, buffered and direct ----

constexpr uint64_t kFileBytes = 2 << 20;  // 512 blocks.
constexpr uint64_t kNumberIos = 2000;     // Wraps the sequential jobs about four times.
constexpr uint32_t kAsyncDepth = 8;

// A fresh data file made by EnsureDataFile, and job specs against it. Shared by the
// queue fixture (backend x mode) and the synchronous-path fixture (mode only).
class JobFile {
 protected:
  void MakeDataFile() {
    path_ = dir_.File("data.dat");
    ASSERT_OK_AND_ASSIGN(const DataFileInfo info,
                         EnsureDataFile(DataFileRequest{.path = path_, .size_bytes = kFileBytes}));
    ASSERT_TRUE(info.created);
    ASSERT_NE(info.file_id, 0u);
    file_id_ = info.file_id;
  }

  JobSpec MakeSpec(Backend backend, uint32_t depth, CacheMode cache, RwPattern rw, uint64_t number_ios) const {
    JobSpec spec;
    spec.filename = path_;
    spec.rw = rw;
    spec.block_size = kBlockBytes;
    spec.cache = cache;
    spec.queue.backend = backend;
    spec.queue.depth = depth;
    spec.size_bytes = kFileBytes;
    spec.number_ios = number_ios;
    spec.file_id = file_id_;
    return spec;
  }

  TempDir dir_;
  std::string path_;
  uint64_t file_id_ = 0;
};

using JobParam = std::tuple<Backend, CacheMode>;

class RunJobTest : public ::testing::TestWithParam<JobParam>, protected JobFile {
 protected:
  void SetUp() override {
    if (backend() == Backend::kIoUring) {
      const Status probe = ProbeIoUring();
      if (!probe.ok()) GTEST_SKIP() << "io_uring unavailable: " << probe.ToString();
    }
    MakeDataFile();
  }

  Backend backend() const { return std::get<0>(GetParam()); }
  CacheMode cache() const { return std::get<1>(GetParam()); }
  uint32_t depth() const { return backend() == Backend::kSync ? 1 : kAsyncDepth; }

  JobSpec Spec(RwPattern rw, uint64_t number_ios = kNumberIos) const {
    return MakeSpec(backend(), depth(), cache(), rw, number_ios);
  }

  // Runs a verified sequential read of every block of the file.
  Result<JobResult> VerifyWholeFile() const {
    JobSpec spec = Spec(RwPattern::kRead, kFileBytes / kBlockBytes);
    spec.verify = true;
    return RunJob(spec);
  }
};

TEST_P(RunJobTest, CountsExactlyNumberIos) {
  for (RwPattern rw : kAllPatterns) {
    SCOPED_TRACE(RwPatternName(rw));
    ASSERT_OK_AND_ASSIGN(const JobResult result, RunJob(Spec(rw)));
    EXPECT_EQ(result.backend, BackendName(backend()));
    EXPECT_EQ(result.direct, cache() == CacheMode::kDirect);
    EXPECT_EQ(result.ios, kNumberIos);
    EXPECT_EQ(result.bytes, kNumberIos * kBlockBytes);
    EXPECT_EQ(result.clat_ns.count(), kNumberIos);
    EXPECT_GT(result.window_ns, 0);
    // No ramp: every request issued is inside the window, and every one is reaped.
    EXPECT_EQ(result.queue_stats.submitted, result.queue_stats.reaped);
    EXPECT_EQ(result.queue_stats.reaped, kNumberIos);
    EXPECT_EQ(result.verified_bytes, 0u) << "verify was off";
  }
}

TEST_P(RunJobTest, RefillsEverySlotAndKeepsTheDepthInFlight) {
  // Direct reads only for the depth bound: a buffered read served from the page cache,
  // like a buffered write, finishes inside Submit() (each refill is submitted at once,
  // fio's iodepth_batch_submit=1), so the job's own refill time legitimately shows as a
  // shallower time-averaged queue. refills_short proves the depth was kept either way.
  for (RwPattern rw : {RwPattern::kRead, RwPattern::kRandRead}) {
    SCOPED_TRACE(RwPatternName(rw));
    ASSERT_OK_AND_ASSIGN(const JobResult result, RunJob(Spec(rw)));
    EXPECT_EQ(result.refills_short, 0u) << "a reaped slot was not refilled at once";
    EXPECT_LE(result.mean_in_flight, depth() + 0.01);
    if (depth() > 1 && cache() == CacheMode::kDirect) {
      // A direct read takes tens of microseconds, a refill a few, so most of the time all
      // slots are out. Half the depth is the bound, not depth - 1: under TSan the job's
      // own refill work is ten times slower (seen: 6.8 of 8), and tests never assert on speed.
      EXPECT_GE(result.mean_in_flight, depth() / 2.0)
          << "the job did not keep the depth (Little's-law depth " << result.littles_law_depth() << ")";
    }
  }
  for (RwPattern rw : {RwPattern::kWrite, RwPattern::kRandWrite}) {
    ASSERT_OK_AND_ASSIGN(const JobResult result, RunJob(Spec(rw)));
    EXPECT_EQ(result.refills_short, 0u) << RwPatternName(rw);
    EXPECT_LE(result.mean_in_flight, depth() + 0.01) << RwPatternName(rw);
  }
}

TEST_P(RunJobTest, MeanInFlightIsAtLeastTheLittlesLawDepth) {
  // Every counted request is in flight (handed to Submit() and not yet reaped) for at
  // least its completion latency, and with no ramp all of that lies inside the window,
  // so the time-averaged count can never be below IOPS x mean latency.
  for (RwPattern rw : kAllPatterns) {
    SCOPED_TRACE(RwPatternName(rw));
    ASSERT_OK_AND_ASSIGN(const JobResult result, RunJob(Spec(rw)));
    EXPECT_GE(result.mean_in_flight, 0.98 * result.littles_law_depth())
        << "depth " << depth() << ", mean latency " << result.clat_ns.mean() << " ns";
  }
}

TEST_P(RunJobTest, NumberIosIsExactWithARamp) {
  // Requests issued during the ramp and completing inside the window count too, and
  // several completions can arrive in one reap; the window must still close at exactly
  // number_ios. Whether the last reap holds more than one completion is up to timing,
  // so each count runs a few times: a miscount shows in nearly every round.
  for (uint64_t number_ios : {kNumberIos, uint64_t{5}}) {
    for (int round = 0; round < 3; ++round) {
      SCOPED_TRACE(testing::Message() << "number_ios " << number_ios << ", round " << round);
      JobSpec spec = Spec(RwPattern::kRandRead, number_ios);
      spec.ramp_ns = 2'000'000;
      ASSERT_OK_AND_ASSIGN(const JobResult result, RunJob(spec));
      EXPECT_EQ(result.ios, number_ios);
      EXPECT_EQ(result.clat_ns.count(), number_ios);
      EXPECT_EQ(result.bytes, number_ios * kBlockBytes);
      EXPECT_EQ(result.queue_stats.submitted, result.queue_stats.reaped);
      EXPECT_GE(result.queue_stats.reaped, number_ios);
    }
  }
}

TEST_P(RunJobTest, MeanInFlightCountsTheFirstRequestsBeforeAnyCompletes) {
  // A job of exactly `depth` requests: all of them are in flight from the first submit,
  // and at least one stays in flight until the last is reaped, so the time average over
  // the window is close to 1 or more, never near 0.
  if (depth() == 1) GTEST_SKIP() << "needs a depth above 1; the sync backend has depth 1";
  ASSERT_OK_AND_ASSIGN(const JobResult result, RunJob(Spec(RwPattern::kRandRead, /*number_ios=*/depth())));
  EXPECT_EQ(result.ios, depth());
  EXPECT_GE(result.mean_in_flight, 0.5) << "window " << result.window_ns << " ns";
}

TEST_P(RunJobTest, VerifyPassesOnAGoodFileAndChecksEveryByte) {
  for (RwPattern rw : {RwPattern::kRead, RwPattern::kRandRead}) {
    SCOPED_TRACE(RwPatternName(rw));
    JobSpec spec = Spec(rw);
    spec.verify = true;
    ASSERT_OK_AND_ASSIGN(const JobResult result, RunJob(spec));
    EXPECT_EQ(result.ios, kNumberIos);
    EXPECT_EQ(result.verified_bytes, result.ios * kBlockBytes);
  }
}

TEST_P(RunJobTest, VerifyCatchesACorruptedBlockAndNamesItsOffset) {
  const uint64_t corrupt_offset = kFileBytes / 2 + 7 * kBlockBytes;  // A block in the middle.
  FlipBytes(path_, corrupt_offset, kBlockBytes);
  const Result<JobResult> result = VerifyWholeFile();
  ASSERT_FALSE(result.has_value()) << "the corrupted block at " << corrupt_offset << " was not caught";
  EXPECT_EQ(result.error().code(), StatusCode::kCorruption) << result.error().ToString();
  EXPECT_NE(result.error().message().find(std::to_string(corrupt_offset)), std::string::npos)
      << result.error().ToString();
}

// ---- Several jobs at once (JobSpec::jobs, fio's numjobs) ----

TEST_P(RunJobTest, SeveralJobsEachCountTheirNumberIosAndTheResultAddsThemUp) {
  constexpr uint32_t kJobs = 3;
  for (RwPattern rw : kAllPatterns) {
    SCOPED_TRACE(RwPatternName(rw));
    JobSpec spec = Spec(rw);
    spec.jobs = kJobs;
    ASSERT_OK_AND_ASSIGN(const JobResult result, RunJob(spec));
    EXPECT_EQ(result.jobs, kJobs);
    EXPECT_EQ(result.ios, kJobs * kNumberIos);
    EXPECT_EQ(result.bytes, kJobs * kNumberIos * kBlockBytes);
    EXPECT_EQ(result.clat_ns.count(), kJobs * kNumberIos);
    EXPECT_EQ(result.queue_stats.submitted, kJobs * kNumberIos) << "each job's queue, summed";
    EXPECT_EQ(result.queue_stats.reaped, result.queue_stats.submitted);
    ASSERT_EQ(result.job_iops.size(), kJobs);
    for (double iops : result.job_iops) EXPECT_GT(iops, 0);
    EXPECT_GT(result.window_ns, 0);
    EXPECT_EQ(result.refills_short, 0u);
  }
}

TEST_P(RunJobTest, SequentialJobsVerifyTheWholeFileBetweenThemEachInItsOwnSlice) {
  constexpr uint32_t kJobs = 4;
  JobSpec spec = Spec(RwPattern::kRead, kFileBytes / kBlockBytes / kJobs);  // Each job reads its slice once.
  spec.verify = true;
  spec.jobs = kJobs;
  ASSERT_OK_AND_ASSIGN(const JobResult result, RunJob(spec));
  EXPECT_EQ(result.verified_bytes, kFileBytes);
  // The last slice is read too: a bad last block is caught, by offset.
  const uint64_t last_block = kFileBytes - kBlockBytes;
  FlipBytes(path_, last_block, kBlockBytes);
  const Result<JobResult> bad = RunJob(spec);
  ASSERT_FALSE(bad.has_value()) << "no job read the last block";
  EXPECT_EQ(bad.error().code(), StatusCode::kCorruption) << bad.error().ToString();
  EXPECT_NE(bad.error().message().find(std::to_string(last_block)), std::string::npos) << bad.error().ToString();
}

TEST_P(RunJobTest, AFailingJobStopsTheOthersAndItsErrorIsReturned) {
  FlipBytes(path_, 0, kFileBytes);  // Every block is bad: the first verified read of any job fails.
  JobSpec spec = Spec(RwPattern::kRandRead, /*number_ios=*/0);
  spec.runtime_ns = 60'000'000'000;  // Only the failure can end it before the test's timeout.
  spec.verify = true;
  spec.jobs = 3;
  const Result<JobResult> result = RunJob(spec);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code(), StatusCode::kCorruption) << result.error().ToString();
}

TEST_P(RunJobTest, AStopRequestEndsEveryJobAndKeepsWhatWasMeasured) {
  std::atomic<bool> stop{false};
  JobSpec spec = Spec(RwPattern::kRandRead, /*number_ios=*/0);
  spec.runtime_ns = 60'000'000'000;
  spec.jobs = 2;
  spec.stop = &stop;
  std::jthread stopper([&stop] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    stop.store(true);
  });
  ASSERT_OK_AND_ASSIGN(const JobResult result, RunJob(spec));
  EXPECT_TRUE(result.stopped);
  EXPECT_GT(result.ios, 0u);
  EXPECT_EQ(result.queue_stats.reaped, result.queue_stats.submitted) << "every job drained its queue";
}

TEST_P(RunJobTest, VerifyNamesTheFirstBadByteInsideABlock) {
  const uint64_t block = kFileBytes / 4;
  const uint64_t bad_byte = block + 1234;  // Not 8-byte aligned, deep inside the block.
  FlipBytes(path_, bad_byte, 1);
  const Result<JobResult> result = VerifyWholeFile();
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code(), StatusCode::kCorruption) << result.error().ToString();
  EXPECT_NE(result.error().message().find("offset " + std::to_string(bad_byte)), std::string::npos)
      << result.error().ToString();
}

TEST_P(RunJobTest, VerifyWithAnotherFilesIdFails) {
  JobSpec spec = Spec(RwPattern::kRandRead, /*number_ios=*/10);
  spec.verify = true;
  spec.file_id = file_id_ ^ 0x100;
  const Result<JobResult> result = RunJob(spec);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code(), StatusCode::kCorruption) << result.error().ToString();
}

TEST_P(RunJobTest, WritesKeepTheFileVerifiable) {
  // Damage two blocks, then write every block: the writes must put the file's own pattern
  // back, so the verified read afterwards passes.
  FlipBytes(path_, 3 * kBlockBytes, kBlockBytes);
  FlipBytes(path_, kFileBytes - kBlockBytes, kBlockBytes);
  ASSERT_FALSE(VerifyWholeFile().has_value()) << "the damage was not seen; this test would prove nothing";
  ASSERT_OK_AND_ASSIGN(const JobResult written, RunJob(Spec(RwPattern::kWrite, kFileBytes / kBlockBytes)));
  EXPECT_EQ(written.ios, kFileBytes / kBlockBytes);
  ASSERT_OK(RunJob(Spec(RwPattern::kRandWrite, 500)));
  ASSERT_OK_AND_ASSIGN(const JobResult verified, VerifyWholeFile());
  EXPECT_EQ(verified.verified_bytes, kFileBytes);
}

TEST_P(RunJobTest, SizeLargerThanTheFileIsAnErrorNotAShortCount) {
  // The job's range runs past the end of the file: the first read there comes back short
  // and the job must say so rather than count it.
  JobSpec spec = Spec(RwPattern::kRead, 2 * kFileBytes / kBlockBytes);
  spec.size_bytes = 2 * kFileBytes;
  const Result<JobResult> result = RunJob(spec);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code(), StatusCode::kFailedPrecondition) << result.error().ToString();
  EXPECT_NE(result.error().message().find("shorter than the size asked for"), std::string::npos)
      << result.error().ToString();
  EXPECT_EQ(result.error().setting(), "size");
}

std::string JobParamName(const ::testing::TestParamInfo<JobParam>& info) {
  const Backend backend = std::get<0>(info.param);
  const char* name = backend == Backend::kIoUring ? "IoUring" : backend == Backend::kWorker ? "Worker" : "Sync";
  return std::string(name) + "_" + CacheModeLabel(std::get<1>(info.param));
}

INSTANTIATE_TEST_SUITE_P(Backends, RunJobTest,
                         ::testing::Combine(::testing::Values(Backend::kIoUring, Backend::kWorker, Backend::kSync),
                                            ::testing::Values(CacheMode::kBuffered, CacheMode::kDirect)),
                         JobParamName);

// ---- The synchronous path (io_patterns): File::ReadAt/WriteAt, no queue ----

class SyncPathJobTest : public ::testing::TestWithParam<CacheMode>, protected JobFile {
 protected:
  void SetUp() override { MakeDataFile(); }

  CacheMode cache() const { return GetParam(); }

  // The queue settings must not matter on this path: give it ones that would fail.
  JobSpec Spec(RwPattern rw, uint64_t number_ios) const {
    JobSpec spec = MakeSpec(Backend::kSync, /*depth=*/8, cache(), rw, number_ios);
    spec.sync_path = true;
    return spec;
  }
};

TEST_P(SyncPathJobTest, ReadsOneRequestAtATime) {
  for (RwPattern rw : {RwPattern::kRead, RwPattern::kRandRead}) {
    SCOPED_TRACE(RwPatternName(rw));
    JobSpec spec = Spec(rw, kNumberIos);
    spec.verify = true;
    ASSERT_OK_AND_ASSIGN(const JobResult result, RunJob(spec));
    EXPECT_EQ(result.backend, "syncpath");
    EXPECT_EQ(result.direct, cache() == CacheMode::kDirect);
    EXPECT_EQ(result.ios, kNumberIos);
    EXPECT_EQ(result.bytes, kNumberIos * kBlockBytes);
    EXPECT_EQ(result.verified_bytes, kNumberIos * kBlockBytes);
    EXPECT_EQ(result.clat_ns.count(), kNumberIos);
    EXPECT_EQ(result.queue_stats.submitted, kNumberIos);
    EXPECT_EQ(result.queue_stats.reaped, kNumberIos);
    EXPECT_EQ(result.refills_short, 0u);
    EXPECT_GT(result.mean_in_flight, 0.0);
    EXPECT_LE(result.mean_in_flight, 1.0 + 1e-9) << "one request at a time";
  }
}

TEST_P(SyncPathJobTest, WritesKeepTheFileVerifiable) {
  FlipBytes(path_, 5 * kBlockBytes, kBlockBytes);
  JobSpec verify = Spec(RwPattern::kRead, kFileBytes / kBlockBytes);
  verify.verify = true;
  ASSERT_FALSE(RunJob(verify).has_value()) << "the damage was not seen; this test would prove nothing";

  ASSERT_OK_AND_ASSIGN(const JobResult written, RunJob(Spec(RwPattern::kWrite, kFileBytes / kBlockBytes)));
  EXPECT_EQ(written.backend, "syncpath");
  EXPECT_EQ(written.ios, kFileBytes / kBlockBytes);
  EXPECT_EQ(written.bytes, kFileBytes);
  ASSERT_OK_AND_ASSIGN(const JobResult random, RunJob(Spec(RwPattern::kRandWrite, 500)));
  EXPECT_EQ(random.ios, 500u);

  ASSERT_OK_AND_ASSIGN(const JobResult verified, RunJob(verify));
  EXPECT_EQ(verified.verified_bytes, kFileBytes);
}

TEST_P(SyncPathJobTest, VerifyCatchesACorruptedBlock) {
  const uint64_t corrupt_offset = kFileBytes / 2;
  FlipBytes(path_, corrupt_offset, kBlockBytes);
  JobSpec spec = Spec(RwPattern::kRead, kFileBytes / kBlockBytes);
  spec.verify = true;
  const Result<JobResult> result = RunJob(spec);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code(), StatusCode::kCorruption) << result.error().ToString();
  EXPECT_NE(result.error().message().find(std::to_string(corrupt_offset)), std::string::npos)
      << result.error().ToString();
}

std::string ModeName(const ::testing::TestParamInfo<CacheMode>& param) { return CacheModeLabel(param.param); }

INSTANTIATE_TEST_SUITE_P(Modes, SyncPathJobTest, ::testing::Values(CacheMode::kBuffered, CacheMode::kDirect), ModeName);

}  // namespace
}  // namespace iodepth
