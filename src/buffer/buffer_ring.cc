#include "buffer/buffer_ring.h"

#include <algorithm>
#include <cstddef>

#include "common/assert.h"

namespace iodepth {

BufferRing::BufferRing(uint32_t max_pages, RingOrder order) : max_pages_(max_pages), order_(order) {
  IODEPTH_CHECK(max_pages >= 1, "a buffer ring of no frames");
}

uint32_t BufferRing::PagesFor(uint32_t page_bytes, uint32_t stream_pins, uint32_t combine_pages, uint32_t capacity) {
  const auto least = static_cast<uint32_t>(std::max<uint64_t>(1, kMinRingBytes / page_bytes));
  return std::max(1u, std::min(capacity, std::max(least, stream_pins + 2 * combine_pages)));
}

void BufferRing::Add(const ReadRun& run) {
  if (run.pages == 0) return;
  pages_ += run.pages;
  // A run that continues the newest one joins it: fewer, longer runs to search and to
  // recycle whole.
  if (!runs_.empty() && runs_.back().first_frame + runs_.back().pages == run.first_frame) {
    runs_.back().pages += run.pages;
  } else {
    runs_.push_back(run);
  }
  // Invariant: the ring lists at most max_pages_ frames, except a single run larger than
  // that (a read is never split to fit), which stays alone.
  while (pages_ > max_pages_ && runs_.size() > 1) {
    const size_t forget = order_ == RingOrder::kOldestFirst ? 0 : runs_.size() - 2;
    pages_ -= runs_[forget].pages;
    runs_.erase(runs_.begin() + static_cast<std::ptrdiff_t>(forget));
  }
}

void BufferRing::TakeFront(size_t i, uint32_t pages) {
  IODEPTH_CHECK(i < runs_.size() && pages <= runs_[i].pages, "taking frames the ring does not list");
  pages_ -= pages;
  if (pages == runs_[i].pages) {
    runs_.erase(runs_.begin() + static_cast<std::ptrdiff_t>(i));
    return;
  }
  runs_[i].first_frame += pages;
  runs_[i].pages -= pages;
}

void BufferRing::DropOldest() {
  if (runs_.empty()) return;
  pages_ -= runs_.front().pages;
  runs_.pop_front();
}

}  // namespace iodepth
