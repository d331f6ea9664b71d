// Tests of harness/bm_job.h: RunBmJob over a small heap table (4 MiB of 8 KiB pages) with a
// 1 MiB buffer pool (128 frames), so the thrash regime's working set (4 M) is the whole
// table. Every regime runs on the sync path (BufferManager::Fetch) and on read streams
// over the io_uring and worker backends, buffered and direct; the counters must agree
// with each other and with what the regime makes possible, and bad specs, a damaged
// page, a table of another shape and a table cut short must come back as errors naming
// what is wrong.
// Runs are 50 ms; nothing here asserts on speed. Without a ramp the window is open
// before the first fetch, so every run counts at least one fetch however slow the
// machine; one test adds a ramp, long next to a single read.
#include "harness/bm_job.h"

#include <cstdint>
#include <numeric>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <unistd.h>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "bm_table.h"
#include "io/aligned_buffer.h"
#include "io/file.h"
#include "storage/heap_table.h"
#include "storage/page.h"
#include "test_files.h"
#include "testutil/io_printers.h"
#include "testutil/status_macros.h"
#include "testutil/temp_dir.h"

namespace iodepth {
namespace {

using testutil::TempDir;

constexpr uint32_t kPageBytes = 8192;
constexpr uint64_t kMemoryBytes = 1 << 20;  // M: 128 frames.
constexpr uint64_t kFrames = kMemoryBytes / kPageBytes;
constexpr uint64_t kTablePages = 4 * kFrames;  // The thrash regime's W, exactly.
constexpr uint32_t kCombineBytes = 128 * 1024;
constexpr uint32_t kCombinePages = kCombineBytes / kPageBytes;
constexpr int64_t kRuntimeNs = 50'000'000;
// For runs that must fail: the error ends the run, so a long runtime costs nothing and
// makes sure the scan reaches the bad page however slow the machine.
constexpr int64_t kUntilErrorNs = 30'000'000'000;
// A read stream pins at most a quarter of the pool ahead of the consumer (read_stream.h),
// so the pages it looked up in the window differ from the pages fetched in it by at most
// this many at either end of the window.
constexpr uint64_t kMaxLookAheadPages = kFrames / 4;
constexpr uint64_t kSeed = 3;

TableShape SmallShape() { return testutil::SmallShape(kTablePages); }
using testutil::LoadTable;
using testutil::UpdatesOnDisk;

// The counters of a result on one line, for failure messages.
std::string Describe(const BmResult& r) {
  std::ostringstream out;
  const BmStats& b = r.buffer;
  out << "fetches=" << b.fetches << " hits=" << b.hits << " misses=" << b.misses << " reads=" << b.reads
      << " read_bytes=" << b.read_bytes << " waits=" << b.consumer_waits << " wait_ns=" << b.wait_ns
      << " mean_distance=" << b.mean_distance << " ios=" << r.job.ios << " bytes=" << r.job.bytes
      << " window_ns=" << r.job.window_ns << " mean_in_flight=" << r.job.mean_in_flight
      << " clat_n=" << r.job.clat_ns.count() << " reads_by_pages=[";
  for (size_t n = 0; n < b.reads_by_pages.size(); ++n) out << (n ? "," : "") << b.reads_by_pages[n];
  out << "]";
  return out.str();
}

uint64_t Sum(const std::vector<uint64_t>& values) { return std::accumulate(values.begin(), values.end(), uint64_t{0}); }

uint64_t PagesInReads(const std::vector<uint64_t>& reads_by_pages) {
  uint64_t pages = 0;
  for (size_t n = 0; n < reads_by_pages.size(); ++n) pages += n * reads_by_pages[n];
  return pages;
}

uint64_t AbsDiff(uint64_t a, uint64_t b) { return a > b ? a - b : b - a; }

// Backend::kSync stands for the sync path (BufferManager::Fetch, no queue).
using BmParam = std::tuple<Backend, CacheMode>;

class BmJobTest : public ::testing::TestWithParam<BmParam> {
 protected:
  void SetUp() override {
    if (backend() == Backend::kIoUring) {
      const Status probe = ProbeIoUring();
      if (!probe.ok()) GTEST_SKIP() << "io_uring unavailable: " << probe.ToString();
    }
    path_ = dir_.File("bm.tbl");
    ASSERT_OK(LoadTable(path_, SmallShape()));
  }

  Backend backend() const { return std::get<0>(GetParam()); }
  CacheMode cache() const { return std::get<1>(GetParam()); }
  bool sync_path() const { return backend() == Backend::kSync; }

  BmSpec Spec(Regime regime, bool random, uint32_t distance = 1) const {
    BmSpec spec;
    spec.table_path = path_;
    spec.shape = SmallShape();
    spec.random = random;
    spec.regime = regime;
    spec.cache = cache();
    spec.sync_path = sync_path();
    spec.queue.backend = sync_path() ? Backend::kWorker : backend();
    spec.policy = ReadStreamPolicy::kFixed;
    spec.distance = sync_path() ? 1 : distance;
    spec.io_combine_bytes = kCombineBytes;
    spec.memory_bytes = kMemoryBytes;
    spec.runtime_ns = kRuntimeNs;
    spec.ramp_ns = 0;
    // kSeed's random pages repeat one at the fifth draw (over W = 1.5 M and 4 M alike),
    // so a random run meets a hit within its first five fetches, not only after the
    // birthday bound of a few dozen.
    spec.seed = kSeed;
    spec.verify = true;
    return spec;
  }

  // Runs `spec`; a cache mode this filesystem refuses skips the test.
  Result<BmResult> Run(const BmSpec& spec) {
    Result<BmResult> result = RunBmJob(spec);
    if (!result.has_value() && result.error().code() == StatusCode::kNotSupported) {
      skipped_ = result.error().ToString();
    }
    return result;
  }

  // What must hold of any successful run, whatever the regime.
  void ExpectConsistent(const BmSpec& spec, const BmResult& r) const {
    SCOPED_TRACE(Describe(r));
    const BmStats& b = r.buffer;
    EXPECT_GT(b.fetches, 0u);
    EXPECT_EQ(b.fetches, r.job.ios);
    EXPECT_EQ(r.job.bytes, b.fetches * kPageBytes);
    EXPECT_EQ(b.page_bytes, kPageBytes);
    EXPECT_EQ(b.memory_bytes, kMemoryBytes);
    EXPECT_EQ(b.working_set_bytes, BmWorkingSetPages(spec) * kPageBytes);
    EXPECT_EQ(r.job.backend, sync_path() ? "sync" : BackendName(backend()));
    EXPECT_EQ(r.job.direct, cache() == CacheMode::kDirect);
    EXPECT_GT(r.job.window_ns, 0);
    // Reads by size: they add up to the reads and to the pages read, and none is larger
    // than io_combine (one page on the sync path).
    EXPECT_EQ(Sum(b.reads_by_pages), b.reads);
    EXPECT_EQ(PagesInReads(b.reads_by_pages), b.misses);
    const size_t largest = sync_path() ? 1 : spec.io_combine_bytes / kPageBytes;
    for (size_t n = largest + 1; n < b.reads_by_pages.size(); ++n) EXPECT_EQ(b.reads_by_pages[n], 0u) << n;
    EXPECT_EQ(b.reads_by_pages.empty() ? 0u : b.reads_by_pages[0], 0u) << "a read of no pages";
    EXPECT_EQ(b.read_bytes, b.misses * kPageBytes);
    EXPECT_LE(b.reads, b.misses);
    EXPECT_LE(b.consumer_waits, b.fetches);
    EXPECT_GE(b.wait_ns, 0);
    // Several consumers: each waits within its window, and each keeps its own reads in flight.
    EXPECT_EQ(r.job.jobs, spec.jobs);
    EXPECT_LE(b.wait_ns, r.job.window_ns * spec.jobs);
    EXPECT_GE(r.job.mean_in_flight, 0.0);
    EXPECT_LE(r.job.mean_in_flight, spec.distance * spec.jobs + 1e-9);
    if (sync_path()) {
      EXPECT_EQ(b.policy, "sync");
      // Every fetch either read its page or did not.
      EXPECT_EQ(b.hits + b.misses, b.fetches);
      EXPECT_EQ(b.reads, b.misses);
      EXPECT_EQ(b.consumer_waits, b.misses);
      EXPECT_EQ(r.job.clat_ns.count(), b.misses);
      EXPECT_EQ(b.mean_distance, 1.0);
    } else {
      EXPECT_EQ(b.policy, ReadStreamPolicyName(spec.policy));
      // Hits are counted as pages are taken, misses as their reads are issued (up to the
      // look-ahead before the consumer takes them): the sum differs from the fetches by at
      // most the look-ahead at each end of the window, and hits alone never exceed them.
      EXPECT_LE(b.hits, b.fetches);
      EXPECT_LE(AbsDiff(b.hits + b.misses, b.fetches), kMaxLookAheadPages * spec.jobs);
      // Latencies are recorded as reads complete: those in flight at either end of the
      // window make the difference.
      EXPECT_LE(AbsDiff(r.job.clat_ns.count(), b.reads), spec.distance * spec.jobs);
      if (spec.policy == ReadStreamPolicy::kFixed) {
        EXPECT_EQ(b.mean_distance, spec.distance);
      } else {
        EXPECT_GE(b.mean_distance, 1.0);
        EXPECT_LE(b.mean_distance, spec.distance);
      }
    }
  }

  TempDir dir_;
  std::string path_;
  std::string skipped_;
};

// Runs `spec` into `var`, skipping the test when the cache mode is refused.
#define RUN_BM_OR_SKIP(var, spec)                  \
  Result<BmResult> var##_result = Run(spec);       \
  if (!skipped_.empty()) GTEST_SKIP() << skipped_; \
  ASSERT_OK(var##_result);                         \
  const BmResult var = std::move(var##_result).value()

TEST_P(BmJobTest, HotRegimeOnlyHitsAfterWarmUp) {
  for (const bool random : {false, true}) {
    SCOPED_TRACE(random ? "random" : "sequential");
    const BmSpec spec = Spec(Regime::kHot, random);
    EXPECT_EQ(BmWorkingSetPages(spec), kFrames / 2);
    RUN_BM_OR_SKIP(r, spec);
    ExpectConsistent(spec, r);
    SCOPED_TRACE(Describe(r));
    EXPECT_EQ(r.buffer.misses, 0u);
    EXPECT_EQ(r.buffer.reads, 0u);
    EXPECT_EQ(r.buffer.read_bytes, 0u);
    EXPECT_EQ(r.buffer.consumer_waits, 0u);
    EXPECT_EQ(r.job.clat_ns.count(), 0u);
    EXPECT_GT(r.buffer.hits, 0u);
    EXPECT_EQ(r.buffer.hit_ratio(), 1.0);
  }
}

TEST_P(BmJobTest, PressureRegimeReadsAndRandomAlsoHits) {
  for (const bool random : {false, true}) {
    SCOPED_TRACE(random ? "random" : "sequential");
    const BmSpec spec = Spec(Regime::kPressure, random, /*distance=*/4);
    EXPECT_EQ(BmWorkingSetPages(spec), kFrames * 3 / 2);
    RUN_BM_OR_SKIP(r, spec);
    ExpectConsistent(spec, r);
    SCOPED_TRACE(Describe(r));
    // W = 1.5 M cannot be resident, so the run must read.
    EXPECT_GT(r.buffer.misses, 0u);
    EXPECT_GT(r.buffer.reads, 0u);
    // Uniform pages over 1.5 M with M resident: about two in three hit.
    if (random) {
      EXPECT_GT(r.buffer.hits, 0u);
    }
  }
}

TEST_P(BmJobTest, ThrashSequentialNeverHits) {
  // A scan of 4 M over a pool of M: by the time the scan comes back to a page, 3 M other
  // pages have been read since, so it cannot still be resident.
  const BmSpec spec = Spec(Regime::kThrash, /*random=*/false, /*distance=*/4);
  EXPECT_EQ(BmWorkingSetPages(spec), kTablePages);
  RUN_BM_OR_SKIP(r, spec);
  ExpectConsistent(spec, r);
  SCOPED_TRACE(Describe(r));
  EXPECT_EQ(r.buffer.hits, 0u);
  EXPECT_EQ(r.buffer.hit_ratio(), 0.0);
  EXPECT_GT(r.buffer.misses, 0u);
}

TEST_P(BmJobTest, ThrashRandomBothHitsAndMisses) {
  // Uniform pages over 4 M with at most M resident: about one in four hits.
  const BmSpec spec = Spec(Regime::kThrash, /*random=*/true, /*distance=*/4);
  RUN_BM_OR_SKIP(r, spec);
  ExpectConsistent(spec, r);
  SCOPED_TRACE(Describe(r));
  EXPECT_GT(r.buffer.hits, 0u);
  EXPECT_GT(r.buffer.misses, 0u);
  EXPECT_LT(r.buffer.hit_ratio(), 1.0);
}

TEST_P(BmJobTest, RampedRunCountsOnlyTheWindow) {
  // Fetches during the ramp are dropped with the stream's counters (ResetStats), so the
  // counters must still agree with the fetches counted after it.
  for (const bool random : {false, true}) {
    SCOPED_TRACE(random ? "random" : "sequential");
    BmSpec spec = Spec(Regime::kThrash, random, /*distance=*/4);
    spec.ramp_ns = 10'000'000;
    spec.runtime_ns = 100'000'000;
    RUN_BM_OR_SKIP(r, spec);
    ExpectConsistent(spec, r);  // Lookups and reads agree with the fetches in the window.
  }
}

TEST_P(BmJobTest, CorruptedPageIsReportedWithPageAndFile) {
  // The buffer manager verifies every page it reads: a flipped byte in a page the thrash
  // scan reaches in its first pass fails the run, with verify off (the job's own value
  // checks) so the pool's checksum is what catches it.
  constexpr uint64_t kBadPage = 37;
  testutil::FlipBytes(path_, kBadPage * kPageBytes + kPageBytes / 2, 1);
  BmSpec spec = Spec(Regime::kThrash, /*random=*/false, /*distance=*/4);
  spec.verify = false;
  spec.runtime_ns = kUntilErrorNs;
  const Result<BmResult> result = Run(spec);
  if (!skipped_.empty()) GTEST_SKIP() << skipped_;
  ASSERT_FALSE(result.has_value()) << Describe(*result);
  EXPECT_EQ(result.error().code(), StatusCode::kCorruption) << result.error().ToString();
  EXPECT_NE(result.error().message().find("page " + std::to_string(kBadPage) + " "), std::string::npos)
      << result.error().ToString();
  EXPECT_NE(result.error().message().find(path_), std::string::npos) << result.error().ToString();
}

TEST_P(BmJobTest, CorruptedPageInTheHotWorkingSetFailsTheWarmUp) {
  // The hot regime reads every page of W before the clock starts.
  constexpr uint64_t kBadPage = 50;
  testutil::FlipBytes(path_, kBadPage * kPageBytes + 100, 1);
  BmSpec spec = Spec(Regime::kHot, /*random=*/true);
  spec.verify = false;
  const Result<BmResult> result = Run(spec);
  if (!skipped_.empty()) GTEST_SKIP() << skipped_;
  ASSERT_FALSE(result.has_value()) << Describe(*result);
  EXPECT_EQ(result.error().code(), StatusCode::kCorruption) << result.error().ToString();
  EXPECT_NE(result.error().message().find("page " + std::to_string(kBadPage) + " "), std::string::npos)
      << result.error().ToString();
  EXPECT_NE(result.error().message().find(path_), std::string::npos) << result.error().ToString();
}

TEST_P(BmJobTest, TableOfAnotherSeedFailsVerification) {
  // Pages of another seed are sealed and carry the right ids, so only verify's value
  // checks can tell: without it the run succeeds, with it the run is Corruption.
  TableShape other = SmallShape();
  other.seed = SmallShape().seed + 1;
  BmSpec spec = Spec(Regime::kThrash, /*random=*/false);
  spec.shape = other;
  spec.verify = false;
  RUN_BM_OR_SKIP(unchecked, spec);
  EXPECT_GT(unchecked.buffer.fetches, 0u);
  spec.verify = true;
  spec.runtime_ns = kUntilErrorNs;
  const Result<BmResult> checked = Run(spec);
  ASSERT_FALSE(checked.has_value()) << Describe(*checked);
  EXPECT_EQ(checked.error().code(), StatusCode::kCorruption) << checked.error().ToString();
  EXPECT_NE(checked.error().message().find(path_), std::string::npos) << checked.error().ToString();
}

TEST_P(BmJobTest, TableOfAnotherColumnCountFailsVerification) {
  TableShape other = SmallShape();
  other.columns = SmallShape().columns + 2;
  other.rows = kTablePages * TableRowsPerPage(other);  // As many pages, wider rows.
  BmSpec spec = Spec(Regime::kThrash, /*random=*/false);
  spec.shape = other;
  spec.runtime_ns = kUntilErrorNs;
  const Result<BmResult> result = Run(spec);
  if (!skipped_.empty()) GTEST_SKIP() << skipped_;
  ASSERT_FALSE(result.has_value()) << Describe(*result);
  EXPECT_EQ(result.error().code(), StatusCode::kCorruption) << result.error().ToString();
  EXPECT_NE(result.error().message().find(path_), std::string::npos) << result.error().ToString();
}

TEST_P(BmJobTest, TableShorterThanItsShapeFailsAtTheFirstMissingPage) {
  // A table cut short behind the job's back: the shape still promises 4 M pages, so the
  // spec passes validation, and the scan's first pass runs into the end of the file.
  constexpr uint64_t kKeptPages = 300;
  ASSERT_EQ(::truncate(path_.c_str(), static_cast<off_t>(kKeptPages * kPageBytes)), 0);
  BmSpec spec = Spec(Regime::kThrash, /*random=*/false, /*distance=*/4);
  spec.runtime_ns = kUntilErrorNs;
  const Result<BmResult> result = Run(spec);
  if (!skipped_.empty()) GTEST_SKIP() << skipped_;
  ASSERT_FALSE(result.has_value()) << Describe(*result);
  EXPECT_EQ(result.error().code(), StatusCode::kInvalidArgument) << result.error().ToString();
  EXPECT_NE(result.error().message().find("page " + std::to_string(kKeptPages) + " "), std::string::npos)
      << result.error().ToString();
  EXPECT_NE(result.error().message().find(path_), std::string::npos) << result.error().ToString();
}

// ---- bm_rand_rw: updates, write-back, and a table that stays checkable ----

TEST_P(BmJobTest, RandRwWritesEveryUpdateBackAndLeavesTheTableCheckable) {
  uint64_t updates = 0;
  for (const uint32_t writeback_depth : {0u, 4u}) {
    SCOPED_TRACE("writeback_depth " + std::to_string(writeback_depth));
    BmSpec spec = Spec(Regime::kThrash, /*random=*/true, /*distance=*/4);
    spec.update_fraction = 0.25;
    spec.writeback_depth = writeback_depth;
    Result<BmResult> result = Run(spec);
    if (!skipped_.empty()) GTEST_SKIP() << skipped_;
    ASSERT_OK(result);
    const BmStats& b = result->buffer;
    SCOPED_TRACE(Describe(*result));
    EXPECT_GT(b.updates, 0u);
    EXPECT_GT(b.pages_written, 0u) << "a thrashing pool with dirty pages wrote none back";
    EXPECT_EQ(b.pages_written, b.background_writebacks + b.evictor_writebacks);
    if (writeback_depth == 0) {
      EXPECT_EQ(b.background_writebacks, 0u);
      EXPECT_EQ(b.dirty_victims_queued, 0u);
    } else {
      // Handed over, not necessarily written yet: in a 50 ms window on a loaded machine the
      // writer thread may not have run (its queue is written at the end, which the check
      // of every update on disk below covers).
      EXPECT_GT(b.dirty_victims_queued, 0u) << "no dirty victim went to the background writer";
    }
    updates += b.updates;
    // Every update reached the disk (the run ends by writing what is dirty), and every
    // value is still the pure function of its page's update count.
    EXPECT_EQ(UpdatesOnDisk(path_, spec.shape), updates);
    ASSERT_OK(VerifyHeapTable(path_, spec.shape));
  }
  const auto refused = ReadTableShape(path_);
  ASSERT_FALSE(refused.has_value()) << "an updated table still passes for a loaded one";
  EXPECT_NE(refused.error().message().find("updated in place"), std::string::npos) << refused.error().message();
}

TEST_P(BmJobTest, RandRwInTheHotRegimeDirtiesPagesWithoutEvictions) {
  BmSpec spec = Spec(Regime::kHot, /*random=*/true);
  spec.update_fraction = 0.5;
  spec.writeback_depth = 2;
  Result<BmResult> result = Run(spec);
  if (!skipped_.empty()) GTEST_SKIP() << skipped_;
  ASSERT_OK(result);
  EXPECT_GT(result->buffer.updates, 0u);
  EXPECT_EQ(result->buffer.pages_written, 0u) << "nothing is evicted in the hot regime";
  EXPECT_EQ(UpdatesOnDisk(path_, spec.shape), result->buffer.updates) << "the end-of-run write-back lost pages";
}

// ---- Several consumers over one pool (BmSpec::jobs) ----

TEST_P(BmJobTest, SeveralConsumersShareThePoolAndEveryCountAddsUp) {
  constexpr uint32_t kConsumers = 3;
  for (const Regime regime : {Regime::kHot, Regime::kThrash}) {
    for (const bool random : {false, true}) {
      SCOPED_TRACE(fmt::format("{} {}", RegimeName(regime), random ? "random" : "sequential"));
      BmSpec spec = Spec(regime, random, /*distance=*/4);
      spec.jobs = kConsumers;
      RUN_BM_OR_SKIP(r, spec);
      ExpectConsistent(spec, r);
      ASSERT_EQ(r.job.job_iops.size(), kConsumers);
      for (double rate : r.job.job_iops) EXPECT_GT(rate, 0) << "a consumer fetched nothing";
      if (regime == Regime::kHot) {
        EXPECT_EQ(r.buffer.misses, 0u) << "every consumer's pages were warmed into the one pool";
        EXPECT_EQ(r.buffer.hit_ratio(), 1.0);
      } else {
        EXPECT_GT(r.buffer.misses, 0u);
      }
    }
  }
}

TEST_P(BmJobTest, SequentialConsumersReachTheLastPartAndAFailureStopsTheOthers) {
  // Two sequential consumers scan [0, W/2) and [W/2, W): a bad page near the end of the
  // table is the second one's, and its error must end the first one's run too (the
  // runtime is long enough that only that can end it in time).
  constexpr uint64_t kBadPage = kTablePages - 3;
  testutil::FlipBytes(path_, kBadPage * kPageBytes + kPageBytes / 2, 1);
  BmSpec spec = Spec(Regime::kThrash, /*random=*/false, /*distance=*/4);
  spec.verify = false;
  spec.runtime_ns = kUntilErrorNs;
  spec.jobs = 2;
  const Result<BmResult> result = Run(spec);
  if (!skipped_.empty()) GTEST_SKIP() << skipped_;
  ASSERT_FALSE(result.has_value()) << Describe(*result);
  EXPECT_EQ(result.error().code(), StatusCode::kCorruption) << result.error().ToString();
  EXPECT_NE(result.error().message().find("page " + std::to_string(kBadPage) + " "), std::string::npos)
      << result.error().ToString();
}

std::string BmParamName(const ::testing::TestParamInfo<BmParam>& info) {
  const Backend backend = std::get<0>(info.param);
  const char* name = backend == Backend::kIoUring ? "IoUring" : backend == Backend::kWorker ? "Worker" : "SyncPath";
  return std::string(name) + "_" + CacheModeLabel(std::get<1>(info.param));
}

INSTANTIATE_TEST_SUITE_P(Paths, BmJobTest,
                         ::testing::Combine(::testing::Values(Backend::kIoUring, Backend::kWorker, Backend::kSync),
                                            ::testing::Values(CacheMode::kBuffered, CacheMode::kDirect)),
                         BmParamName);

// ---- The stream path only: combining, the distance and its policies ----

class BmStreamJobTest : public BmJobTest {};

TEST_P(BmStreamJobTest, SequentialMissesCombineUpToIoCombine) {
  // 128 KiB of 8 KiB pages: a scan's misses are adjacent, so reads are mostly full
  // 16-page runs (a run is cut short only where the pool has fewer contiguous free frames).
  const BmSpec spec = Spec(Regime::kThrash, /*random=*/false, /*distance=*/2);
  RUN_BM_OR_SKIP(r, spec);
  ExpectConsistent(spec, r);
  SCOPED_TRACE(Describe(r));
  ASSERT_EQ(r.buffer.reads_by_pages.size(), kCombinePages + 1);
  EXPECT_GT(r.buffer.reads_by_pages[kCombinePages] * 2, r.buffer.reads) << "most reads are 16 pages";
}

TEST_P(BmStreamJobTest, IoCombineOfOnePageReadsOnePageAtATime) {
  BmSpec spec = Spec(Regime::kThrash, /*random=*/false, /*distance=*/2);
  spec.io_combine_bytes = kPageBytes;
  RUN_BM_OR_SKIP(r, spec);
  ExpectConsistent(spec, r);
  SCOPED_TRACE(Describe(r));
  EXPECT_GT(r.buffer.reads, 0u);
  EXPECT_EQ(r.buffer.reads, r.buffer.misses);
  ASSERT_GE(r.buffer.reads_by_pages.size(), 2u);
  EXPECT_EQ(r.buffer.reads_by_pages[1], r.buffer.reads);
}

TEST_P(BmStreamJobTest, FixedDistanceBoundsTheReadsInFlight) {
  for (const uint32_t distance : {1u, 3u, 8u}) {
    for (const bool random : {false, true}) {
      SCOPED_TRACE("distance " + std::to_string(distance) + (random ? " random" : " sequential"));
      BmSpec spec = Spec(Regime::kThrash, random, distance);
      spec.runtime_ns = kRuntimeNs / 2;
      RUN_BM_OR_SKIP(r, spec);
      ExpectConsistent(spec, r);  // mean_in_flight <= distance, mean_distance == distance.
      EXPECT_GT(r.job.mean_in_flight, 0.0) << Describe(r);
    }
  }
}

TEST_P(BmStreamJobTest, AdaptiveDistanceStaysWithinOneAndTheMaximum) {
  for (const Regime regime : {Regime::kHot, Regime::kThrash}) {
    SCOPED_TRACE(RegimeName(regime));
    BmSpec spec = Spec(regime, /*random=*/false, /*distance=*/16);
    spec.policy = ReadStreamPolicy::kAdaptive;
    RUN_BM_OR_SKIP(r, spec);
    ExpectConsistent(spec, r);  // 1 <= mean_distance <= 16, policy "adaptive".
    EXPECT_EQ(r.buffer.policy, "adaptive") << Describe(r);
  }
}

// Hits are counted as the consumer takes a page (not as the stream looks ahead), so a
// run that only hits has exactly as many hits as fetches, even with no ramp, where the
// window opens before the look-ahead fills.
TEST_P(BmStreamJobTest, HotRegimeHitRatioIsExactlyOne) {
  for (const bool random : {false, true}) {
    SCOPED_TRACE(random ? "random" : "sequential");
    const BmSpec spec = Spec(Regime::kHot, random);
    ASSERT_EQ(spec.ramp_ns, 0);
    RUN_BM_OR_SKIP(r, spec);
    SCOPED_TRACE(Describe(r));
    EXPECT_EQ(r.buffer.hits, r.buffer.fetches);
    EXPECT_EQ(r.buffer.hit_ratio(), 1.0);
  }
}

std::string StreamParamName(const ::testing::TestParamInfo<BmParam>& info) { return BmParamName(info); }

INSTANTIATE_TEST_SUITE_P(Backends, BmStreamJobTest,
                         ::testing::Combine(::testing::Values(Backend::kIoUring, Backend::kWorker),
                                            ::testing::Values(CacheMode::kBuffered, CacheMode::kDirect)),
                         StreamParamName);

// ---- Bad specs ----

class BmJobSpecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.File("bm.tbl");
    ASSERT_OK(LoadTable(path_, SmallShape()));
  }

  BmSpec Spec() const {
    BmSpec spec;
    spec.table_path = path_;
    spec.shape = SmallShape();
    spec.regime = Regime::kPressure;
    spec.cache = CacheMode::kBuffered;
    spec.queue.backend = Backend::kWorker;
    spec.distance = 2;
    spec.memory_bytes = kMemoryBytes;
    spec.runtime_ns = kRuntimeNs / 5;
    spec.seed = kSeed;
    spec.verify = true;
    return spec;
  }

  void ExpectInvalid(const BmSpec& spec, const std::vector<std::string>& words) const {
    const Result<BmResult> result = RunBmJob(spec);
    ASSERT_FALSE(result.has_value()) << Describe(*result);
    EXPECT_EQ(result.error().code(), StatusCode::kInvalidArgument) << result.error().ToString();
    for (const std::string& word : words) {
      EXPECT_NE(result.error().message().find(word), std::string::npos) << word << " in " << result.error().ToString();
    }
  }

  TempDir dir_;
  std::string path_;
};

TEST_F(BmJobSpecTest, UpdatesAreForRandomReadsWithAFractionOfAtMostOne) {
  BmSpec spec = Spec();
  spec.random = false;
  spec.update_fraction = 0.1;
  const auto sequential = RunBmJob(spec);
  ASSERT_FALSE(sequential.has_value());
  EXPECT_EQ(sequential.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(sequential.error().message().find("bm_rand_rw"), std::string::npos) << sequential.error().message();
  spec.random = true;
  spec.update_fraction = 1.5;
  const auto too_many = RunBmJob(spec);
  ASSERT_FALSE(too_many.has_value());
  EXPECT_EQ(too_many.error().setting(), "update_fraction") << too_many.error().ToString();
  ASSERT_OK(ReadTableShape(spec.table_path)) << "a refused spec marked the table";
}

TEST_F(BmJobSpecTest, ConsumersAreOneToTheMostReadOnlyAndAtMostOnePerSequentialPage) {
  BmSpec spec = Spec();
  spec.jobs = 0;
  ExpectInvalid(spec, {"consumers"});
  spec.jobs = kMaxJobs + 1;
  ExpectInvalid(spec, {"consumers"});
  spec.jobs = 2;
  spec.random = true;
  spec.update_fraction = 0.1;
  ExpectInvalid(spec, {"one consumer"});
  ASSERT_OK(ReadTableShape(spec.table_path)) << "a refused spec marked the table";
  spec.update_fraction = 0;
  spec.random = false;
  spec.working_set_bytes = 3 * kPageBytes;
  spec.jobs = 4;
  ExpectInvalid(spec, {"4 sequential consumers", "3 pages"});
}

TEST_F(BmJobSpecTest, ValidSpecRuns) {
  // The baseline the refusals below differ from by one field.
  ASSERT_OK_AND_ASSIGN(const BmResult r, RunBmJob(Spec()));
  EXPECT_GT(r.buffer.fetches, 0u);
}

TEST_F(BmJobSpecTest, WorkingSetLargerThanTheTableIsRefused) {
  // Twice the memory: thrash wants 8 M' / 2 = 1024 pages of a 512-page table.
  BmSpec spec = Spec();
  spec.regime = Regime::kThrash;
  spec.memory_bytes = 2 * kMemoryBytes;
  ExpectInvalid(spec, {"thrash", path_, std::to_string(kTablePages), std::to_string(2 * kTablePages)});
  // The same memory fits the pressure regime (3 M' / 2 = 384 pages).
  spec.regime = Regime::kPressure;
  EXPECT_OK(RunBmJob(spec));
}

TEST_F(BmJobSpecTest, WorkingSetOfExactlyTheTableIsAccepted) {
  BmSpec spec = Spec();
  spec.regime = Regime::kThrash;
  ASSERT_EQ(BmWorkingSetPages(spec), kTablePages);
  EXPECT_OK(RunBmJob(spec));
  // One page more of memory makes W exceed the table by four pages.
  spec.memory_bytes += kPageBytes;
  ExpectInvalid(spec, {"thrash", path_});
}

TEST_F(BmJobSpecTest, SyncPathWithDistanceAboveOneIsRefused) {
  BmSpec spec = Spec();
  spec.sync_path = true;
  spec.distance = 4;
  ExpectInvalid(spec, {"sync", "1"});
  spec.distance = 1;
  EXPECT_OK(RunBmJob(spec));
}

TEST_F(BmJobSpecTest, RuntimeZeroIsRefused) {
  BmSpec spec = Spec();
  spec.runtime_ns = 0;
  ExpectInvalid(spec, {"runtime above 0"});
  spec.runtime_ns = -1;
  ExpectInvalid(spec, {"runtime above 0"});
}

TEST_F(BmJobSpecTest, DistanceOutOfRangeIsRefused) {
  BmSpec spec = Spec();
  spec.distance = 0;
  ExpectInvalid(spec, {"distance", "0"});
  spec.distance = IoQueue::kMaxDepth + 1;
  ExpectInvalid(spec, {"distance", std::to_string(IoQueue::kMaxDepth + 1)});
}

TEST(BmRegimeTest, NamesParseBackAndUnknownNamesAreRefused) {
  for (const Regime regime : {Regime::kHot, Regime::kPressure, Regime::kThrash}) {
    ASSERT_OK_AND_ASSIGN(const Regime parsed, ParseRegime(RegimeName(regime)));
    EXPECT_EQ(parsed, regime);
  }
  const Result<Regime> unknown = ParseRegime("warm");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.error().message().find("warm"), std::string::npos) << unknown.error().ToString();
}

TEST(BmRegimeTest, WorkingSetIsTheRegimeFactorTimesMemoryInPages) {
  BmSpec spec;
  spec.shape = SmallShape();
  spec.memory_bytes = kMemoryBytes;
  spec.regime = Regime::kHot;
  EXPECT_EQ(BmWorkingSetPages(spec), 64u);
  spec.regime = Regime::kPressure;
  EXPECT_EQ(BmWorkingSetPages(spec), 192u);
  spec.regime = Regime::kThrash;
  EXPECT_EQ(BmWorkingSetPages(spec), 512u);
  spec.regime = Regime::kHot;
  spec.memory_bytes = kPageBytes;  // Half a page rounds to the one-page minimum.
  EXPECT_EQ(BmWorkingSetPages(spec), 1u);
}

}  // namespace
}  // namespace iodepth
