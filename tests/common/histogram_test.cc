#include "common/histogram.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace iodepth {
namespace {

using H = LatencyHistogram;

// Values that probe the bucketing: every small value, both sides of every power of two,
// and a log-uniform random sample over the whole 64-bit range.
std::vector<uint64_t> ProbeValues() {
  std::vector<uint64_t> values;
  for (uint64_t v = 0; v < 5000; ++v) values.push_back(v);
  for (int bit = 1; bit < 64; ++bit) {
    const uint64_t power = uint64_t{1} << bit;
    for (uint64_t v : {power - 1, power, power + 1, power + power / 3}) values.push_back(v);
  }
  values.push_back(UINT64_MAX);
  values.push_back(UINT64_MAX - 1);
  std::mt19937_64 rng(20240601);
  for (int i = 0; i < 200000; ++i) {
    const int bits = static_cast<int>(rng() % 64) + 1;
    values.push_back(rng() >> (64 - bits));
  }
  return values;
}

void ExpectWithinPercent(uint64_t actual, double expected, double percent) {
  EXPECT_LE(std::abs(static_cast<double>(actual) - expected), expected * percent / 100.0)
      << "actual " << actual << ", expected " << expected << " +- " << percent << "%";
}

TEST(LatencyHistogramTest, EveryValueFallsInsideItsBucket) {
  for (uint64_t value : ProbeValues()) {
    const size_t index = H::BucketIndex(value);
    ASSERT_LT(index, H::kBucketCount) << value;
    const uint64_t lower = H::BucketLowerBound(index);
    const uint64_t width = H::BucketWidth(index);
    ASSERT_LE(lower, value) << "index " << index;
    ASSERT_LE(value - lower, width - 1) << "value " << value << " past bucket " << index;
  }
}

TEST(LatencyHistogramTest, BucketWidthIsWithinOnePercentOfTheValue) {
  for (uint64_t value : ProbeValues()) {
    const uint64_t width = H::BucketWidth(H::BucketIndex(value));
    if (width == 1) continue;  // Exact bucket: no error at all.
    // The header promises width <= value / 2^(kSubBucketBits-1), i.e. 0.78%.
    ASSERT_LE(static_cast<double>(width), static_cast<double>(value) / 128.0 * 1.0000001) << value;
    ASSERT_LE(static_cast<double>(width - 1), 0.01 * static_cast<double>(value)) << value;
  }
}

TEST(LatencyHistogramTest, BucketsTileTheWholeRangeWithoutGapsOrOverlap) {
  EXPECT_EQ(H::BucketLowerBound(0), 0u);
  for (size_t i = 0; i + 1 < H::kBucketCount; ++i) {
    ASSERT_EQ(H::BucketLowerBound(i) + H::BucketWidth(i), H::BucketLowerBound(i + 1)) << "bucket " << i;
    ASSERT_EQ(H::BucketIndex(H::BucketLowerBound(i)), i);
    ASSERT_EQ(H::BucketIndex(H::BucketLowerBound(i) + H::BucketWidth(i) - 1), i);
  }
  const size_t last = H::kBucketCount - 1;
  EXPECT_EQ(H::BucketLowerBound(last) + (H::BucketWidth(last) - 1), UINT64_MAX);
  EXPECT_EQ(H::BucketIndex(UINT64_MAX), last);
}

TEST(LatencyHistogramTest, EmptyHistogramReportsZeros) {
  const H histogram;
  EXPECT_EQ(histogram.count(), 0u);
  EXPECT_EQ(histogram.min(), 0u);
  EXPECT_EQ(histogram.max(), 0u);
  EXPECT_EQ(histogram.mean(), 0.0);
  EXPECT_EQ(histogram.Percentile(50), 0u);
  EXPECT_EQ(histogram.Percentile(100), 0u);
}

TEST(LatencyHistogramTest, MeanMinAndMaxAreExact) {
  H histogram;
  const uint64_t values[] = {1'000'000'007, 3, 77'777, 123'456'789'012, 999};
  long double sum = 0;
  for (uint64_t v : values) {
    histogram.Record(v);
    sum += static_cast<long double>(v);
  }
  EXPECT_EQ(histogram.count(), 5u);
  EXPECT_EQ(histogram.min(), 3u);
  EXPECT_EQ(histogram.max(), 123'456'789'012u);
  EXPECT_DOUBLE_EQ(histogram.mean(), static_cast<double>(sum / 5));
}

TEST(LatencyHistogramTest, HugeValuesDoNotOverflowTheSum) {
  H histogram;
  for (int i = 0; i < 4; ++i) histogram.Record(UINT64_MAX);
  EXPECT_EQ(histogram.max(), UINT64_MAX);
  EXPECT_EQ(histogram.min(), UINT64_MAX);
  EXPECT_DOUBLE_EQ(histogram.mean(), static_cast<double>(UINT64_MAX));
  EXPECT_EQ(histogram.Percentile(50), UINT64_MAX) << "clamped to [min, max]";
}

TEST(LatencyHistogramTest, SingleValueIsEveryPercentileExactly) {
  H histogram;
  histogram.Record(123'456'789);
  for (double p : {0.1, 1.0, 50.0, 99.0, 99.99, 100.0}) EXPECT_EQ(histogram.Percentile(p), 123'456'789u) << p;
}

TEST(LatencyHistogramTest, UniformDistributionPercentilesWithinOnePercent) {
  H histogram;
  for (uint64_t v = 1; v <= 100'000; ++v) histogram.Record(v);
  EXPECT_EQ(histogram.count(), 100'000u);
  EXPECT_DOUBLE_EQ(histogram.mean(), 50'000.5);
  ExpectWithinPercent(histogram.Percentile(50), 50'000, 1);
  ExpectWithinPercent(histogram.Percentile(90), 90'000, 1);
  ExpectWithinPercent(histogram.Percentile(99), 99'000, 1);
  ExpectWithinPercent(histogram.Percentile(99.9), 99'900, 1);
  ExpectWithinPercent(histogram.Percentile(1), 1'000, 1);
  EXPECT_EQ(histogram.Percentile(100), 100'000u) << "the top bucket's midpoint, clamped to the maximum";
  EXPECT_EQ(histogram.Percentile(0.001), 1u) << "rank 1 is the minimum, exact below 256";
}

TEST(LatencyHistogramTest, PercentilesOfHugeValuesWithinOnePercent) {
  // 1000 values evenly spread over [2^60, 2^61): the top octave's buckets are 2^53 wide.
  H histogram;
  const uint64_t base = uint64_t{1} << 60;
  const uint64_t step = base / 1000;
  for (uint64_t i = 0; i < 1000; ++i) histogram.Record(base + i * step);
  ExpectWithinPercent(histogram.Percentile(50), static_cast<double>(base + 499 * step), 1);
  ExpectWithinPercent(histogram.Percentile(99), static_cast<double>(base + 989 * step), 1);
  // p100 is the top bucket's midpoint like any other percentile; only clamping to max
  // makes it exact, so it is within the bucket error of the maximum and never above it.
  ExpectWithinPercent(histogram.Percentile(100), static_cast<double>(histogram.max()), 1);
  EXPECT_LE(histogram.Percentile(100), histogram.max());
  EXPECT_EQ(histogram.min(), base);
}

TEST(LatencyHistogramTest, PercentilesFollowSampleRankAcrossModes) {
  // 900 samples at 1 ms and 100 at 1 s: rank 900 is the last fast one.
  H histogram;
  for (int i = 0; i < 900; ++i) histogram.Record(1'000'000);
  for (int i = 0; i < 100; ++i) histogram.Record(1'000'000'000);
  ExpectWithinPercent(histogram.Percentile(50), 1e6, 0.5);
  ExpectWithinPercent(histogram.Percentile(90), 1e6, 0.5);
  ExpectWithinPercent(histogram.Percentile(90.1), 1e9, 0.5);
  ExpectWithinPercent(histogram.Percentile(99), 1e9, 0.5);
}

TEST(LatencyHistogramTest, PercentilesOfExponentialDistributionWithinOnePercent) {
  std::mt19937_64 rng(7);
  std::exponential_distribution<double> exponential(1.0 / 250'000.0);  // Mean 250 us.
  std::vector<uint64_t> samples;
  H histogram;
  for (int i = 0; i < 200'000; ++i) {
    const auto v = static_cast<uint64_t>(exponential(rng)) + 1;
    samples.push_back(v);
    histogram.Record(v);
  }
  std::sort(samples.begin(), samples.end());
  for (double p : {10.0, 50.0, 95.0, 99.0, 99.9}) {
    const auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(samples.size())));
    ExpectWithinPercent(histogram.Percentile(p), static_cast<double>(samples[rank - 1]), 1);
  }
}

TEST(LatencyHistogramTest, MergeEqualsRecordingEverythingInOne) {
  H low, high, all;
  for (uint64_t v = 1; v <= 50'000; ++v) {
    low.Record(v * 7);
    all.Record(v * 7);
  }
  for (uint64_t v = 50'001; v <= 100'000; ++v) {
    high.Record(v * 7);
    all.Record(v * 7);
  }
  H merged = low;
  merged.Merge(high);
  EXPECT_EQ(merged.count(), all.count());
  EXPECT_EQ(merged.min(), all.min());
  EXPECT_EQ(merged.max(), all.max());
  EXPECT_DOUBLE_EQ(merged.mean(), all.mean());
  for (double p : {1.0, 25.0, 50.0, 75.0, 99.0, 100.0}) EXPECT_EQ(merged.Percentile(p), all.Percentile(p)) << p;
  EXPECT_EQ(low.count(), 50'000u) << "Merge must not change the copy it came from";
}

TEST(LatencyHistogramTest, MergingWithEmptyKeepsMinAndMax) {
  H empty, some;
  some.Record(500);
  some.Record(900);
  H a = some;
  a.Merge(empty);
  EXPECT_EQ(a.min(), 500u);
  EXPECT_EQ(a.max(), 900u);
  EXPECT_EQ(a.count(), 2u);
  H b;
  b.Merge(some);
  EXPECT_EQ(b.min(), 500u);
  EXPECT_EQ(b.max(), 900u);
  EXPECT_DOUBLE_EQ(b.mean(), 700.0);
  H c;
  c.Merge(empty);
  EXPECT_EQ(c.count(), 0u);
  EXPECT_EQ(c.min(), 0u);
}

TEST(LatencyHistogramTest, ClearForgetsEverything) {
  H histogram;
  histogram.Record(10);
  histogram.Record(1'000'000);
  histogram.Clear();
  EXPECT_EQ(histogram.count(), 0u);
  EXPECT_EQ(histogram.max(), 0u);
  EXPECT_EQ(histogram.Percentile(99), 0u);
  histogram.Record(42);
  EXPECT_EQ(histogram.min(), 42u);
  EXPECT_EQ(histogram.Percentile(99), 42u);
}

}  // namespace
}  // namespace iodepth
