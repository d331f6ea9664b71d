#include "buffer/buffer_ring.h"

#include <algorithm>

#include "common/assert.h"

namespace iodepth {

BufferRing::BufferRing(uint32_t max_pages) : max_pages_(max_pages) {
  IODEPTH_CHECK(max_pages >= 1, "a buffer ring of no frames");
}

uint32_t BufferRing::PagesFor(uint32_t page_bytes, uint32_t stream_pins, uint32_t combine_pages, uint32_t capacity) {
  const auto least = static_cast<uint32_t>(std::max<uint64_t>(1, kMinRingBytes / page_bytes));
  return std::max(1u, std::min(capacity, std::max(least, stream_pins + 2 * combine_pages)));
}

void BufferRing::Add(const ReadRun& run) {
  if (run.pages == 0) return;
  runs_.push_back(run);
  pages_ += run.pages;
  // Invariant: the ring lists at most max_pages_ frames, except a single run larger than
  // that (a read is never split to fit), which stays alone.
  while (pages_ > max_pages_ && runs_.size() > 1) {
    pages_ -= runs_.front().pages;
    runs_.pop_front();
  }
}

bool BufferRing::TakeOldestIfFull(ReadRun* run) {
  // PostgreSQL's rule: a ring that is not full yet grows from the clock.
  if (pages_ < max_pages_ || runs_.empty()) return false;
  *run = runs_.front();
  runs_.pop_front();
  pages_ -= run->pages;
  return true;
}

void BufferRing::ReturnOldest(const ReadRun& rest) {
  if (rest.pages == 0) return;
  runs_.push_front(rest);
  pages_ += rest.pages;
}

}  // namespace iodepth
