#include "io/aligned_buffer.h"

#include <cstdlib>
#include <cstring>
#include <utility>

#include <fmt/format.h>

namespace iodepth {

Result<AlignedBuffer> AlignedBuffer::Allocate(size_t size_bytes, size_t alignment_bytes) {
  const bool power_of_two = alignment_bytes != 0 && (alignment_bytes & (alignment_bytes - 1)) == 0;
  if (!power_of_two || alignment_bytes < sizeof(void*)) {
    return Status::InvalidArgument(
        fmt::format("buffer alignment {} is not a power of two of at least {}", alignment_bytes, sizeof(void*)));
  }
  AlignedBuffer buffer;
  buffer.alignment_ = alignment_bytes;
  buffer.size_ = size_bytes;
  if (size_bytes == 0) return buffer;
  void* memory = nullptr;
  const int rc = posix_memalign(&memory, alignment_bytes, size_bytes);
  if (rc != 0)
    return Status::PosixError(fmt::format("allocate {} bytes aligned to {}", size_bytes, alignment_bytes), rc);
  std::memset(memory, 0, size_bytes);  // Touch every page now, not inside a measured window.
  buffer.data_ = static_cast<std::byte*>(memory);
  return buffer;
}

AlignedBuffer::AlignedBuffer(AlignedBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      alignment_(std::exchange(other.alignment_, 0)) {}

AlignedBuffer& AlignedBuffer::operator=(AlignedBuffer&& other) noexcept {
  if (this != &other) {
    std::free(data_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    alignment_ = std::exchange(other.alignment_, 0);
  }
  return *this;
}

AlignedBuffer::~AlignedBuffer() { std::free(data_); }

std::span<std::byte> AlignedBuffer::span(size_t offset, size_t length) const {
  IODEPTH_CHECK(offset <= size_ && length <= size_ - offset, "AlignedBuffer::span out of range");
  return {data_ + offset, length};
}

}  // namespace iodepth
