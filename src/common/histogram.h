// LatencyHistogram: constant-memory latency distribution with bounded relative error.
//
// Values (nanoseconds) are bucketed log-linearly: values below 2^kSubBucketBits each get
// their own bucket; above that, every power of two [2^e, 2^(e+1)) is split into
// 2^(kSubBucketBits-1) equal buckets. A bucket's width is therefore at most
// value / 2^(kSubBucketBits-1) (0.78% for 8 bits, inside the 1% per bucket the
// benchmarks promise), and a percentile reported at a bucket's midpoint is within half
// of that (0.39%).
//
//   value:   0 1 2 ... 255 | 256 258 ... 510 | 512 516 ... 1020 | ...
//   bucket:  one per value | 128 x width 2    | 128 x width 4     | ...
//
// Count, sum, min and max are kept exactly, so the mean is exact.
// Not thread-safe: keep one per thread and Merge() them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace iodepth {

class LatencyHistogram {
 public:
  static constexpr int kSubBucketBits = 8;
  static constexpr uint64_t kSubBuckets = uint64_t{1} << kSubBucketBits;
  // Buckets for the exact range plus (64 - kSubBucketBits) halved octaves.
  static constexpr size_t kBucketCount = kSubBuckets + (64 - kSubBucketBits) * (kSubBuckets / 2);

  LatencyHistogram() : buckets_(kBucketCount, 0) {}
  LatencyHistogram(const LatencyHistogram&) = default;
  LatencyHistogram& operator=(const LatencyHistogram&) = default;
  LatencyHistogram(LatencyHistogram&&) noexcept = default;
  LatencyHistogram& operator=(LatencyHistogram&&) noexcept = default;

  void Record(uint64_t value);
  void Merge(const LatencyHistogram& other);
  void Clear();

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ ? min_ : 0; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0; }
  // The value below or at which `percent` (0..100] of the samples lie: the midpoint of
  // the bucket holding the sample of rank ceil(percent/100 * count), clamped to
  // [min, max]; exactly max() at 100. 0 when empty.
  uint64_t Percentile(double percent) const;

  // Exposed for tests of the bucketing itself.
  static size_t BucketIndex(uint64_t value);
  static uint64_t BucketLowerBound(size_t index);
  static uint64_t BucketWidth(size_t index);

 private:
  std::vector<uint64_t> buckets_;
  uint64_t count_ = 0;
  __extension__ unsigned __int128 sum_ = 0;  // 128 bits: 2^64 samples of 2^64 ns never overflow it.
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

}  // namespace iodepth
