// AlignedBuffer: an owned, zero-initialised byte region whose address is a multiple of a
// chosen power of two, as direct I/O requires of user memory.
//
// Move-only; the memory is freed in the destructor. The caller that hands a span of it to
// an IoQueue must keep the buffer alive until that request is reaped.
#pragma once

#include <cstddef>
#include <span>

#include "common/result.h"

namespace iodepth {

class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  // REQUIRES: alignment is a power of two >= sizeof(void*). size may be 0.
  static Result<AlignedBuffer> Allocate(size_t size_bytes, size_t alignment_bytes);

  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  AlignedBuffer(AlignedBuffer&& other) noexcept;
  AlignedBuffer& operator=(AlignedBuffer&& other) noexcept;
  ~AlignedBuffer();

  std::byte* data() const { return data_; }
  size_t size() const { return size_; }
  size_t alignment() const { return alignment_; }
  std::span<std::byte> span() const { return {data_, size_}; }
  // A sub-range; REQUIRES: offset + length <= size().
  std::span<std::byte> span(size_t offset, size_t length) const;

 private:
  std::byte* data_ = nullptr;
  size_t size_ = 0;
  size_t alignment_ = 0;
};

}  // namespace iodepth
