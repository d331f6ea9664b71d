#include "common/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "common/assert.h"

namespace iodepth {

// Layout: indexes [0, kSubBuckets) hold the values themselves. Each octave e >= kSubBucketBits
// ([2^e, 2^(e+1))) then takes kSubBuckets/2 buckets of width 2^(e - kSubBucketBits + 1).
size_t LatencyHistogram::BucketIndex(uint64_t value) {
  if (value < kSubBuckets) return static_cast<size_t>(value);
  const int octave = static_cast<int>(std::bit_width(value)) - 1;  // >= kSubBucketBits
  const int shift = octave - kSubBucketBits + 1;
  const uint64_t sub = (value >> shift) - kSubBuckets / 2;  // in [0, kSubBuckets/2)
  return static_cast<size_t>(kSubBuckets + static_cast<uint64_t>(octave - kSubBucketBits) * (kSubBuckets / 2) + sub);
}

uint64_t LatencyHistogram::BucketLowerBound(size_t index) {
  if (index < kSubBuckets) return index;
  const uint64_t rel = index - kSubBuckets;
  const int octave = static_cast<int>(rel / (kSubBuckets / 2)) + kSubBucketBits;
  const uint64_t sub = rel % (kSubBuckets / 2);
  const int shift = octave - kSubBucketBits + 1;
  return (kSubBuckets / 2 + sub) << shift;
}

uint64_t LatencyHistogram::BucketWidth(size_t index) {
  if (index < kSubBuckets) return 1;
  const int octave = static_cast<int>((index - kSubBuckets) / (kSubBuckets / 2)) + kSubBucketBits;
  return uint64_t{1} << (octave - kSubBucketBits + 1);
}

void LatencyHistogram::Record(uint64_t value) {
  const size_t index = BucketIndex(value);
  IODEPTH_CHECK(index < buckets_.size(), "histogram bucket index out of range");
  ++buckets_[index];
  ++count_;
  sum_ += value;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

void LatencyHistogram::Clear() {
  std::fill(buckets_.begin(), buckets_.end(), 0);
  count_ = 0;
  sum_ = 0;
  min_ = UINT64_MAX;
  max_ = 0;
}

uint64_t LatencyHistogram::Percentile(double percent) const {
  if (count_ == 0) return 0;
  if (percent >= 100.0) return max_;  // The largest sample is known exactly.
  const double clamped = std::clamp(percent, 0.0, 100.0);
  // p * n / 100, not p / 100 * n: 99.9 / 100 rounds up to 0.9990000000000001 and would
  // push the rank one past the right sample.
  auto rank = static_cast<uint64_t>(std::ceil(clamped * static_cast<double>(count_) / 100.0));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen >= rank) {
      const uint64_t mid = BucketLowerBound(i) + (BucketWidth(i) - 1) / 2;
      return std::clamp(mid, min(), max_);
    }
  }
  return max_;
}

}  // namespace iodepth
