#include "common/crc32c.h"

#include <isa-l/crc.h>

#include <algorithm>
#include <climits>

namespace iodepth {
namespace {

// crc32_iscsi takes an `int` length; longer inputs are fed in pieces of this size.
constexpr size_t kMaxChunkBytes = size_t{1} << 30;
static_assert(kMaxChunkBytes <= static_cast<size_t>(INT_MAX));

}  // namespace

uint32_t Crc32cExtend(uint32_t crc, std::span<const std::byte> data) {
  // ISA-L's register holds the inverted CRC between calls; the standard value is its
  // complement, so invert on the way in and on the way out.
  uint32_t state = ~crc;
  while (!data.empty()) {
    const size_t chunk_bytes = std::min(data.size(), kMaxChunkBytes);
    // crc32_iscsi only reads the buffer; its parameter lacks the const.
    auto* bytes = const_cast<unsigned char*>(reinterpret_cast<const unsigned char*>(data.data()));
    state = crc32_iscsi(bytes, static_cast<int>(chunk_bytes), state);
    data = data.subspan(chunk_bytes);
  }
  return ~state;
}

uint32_t Crc32c(std::span<const std::byte> data) { return Crc32cExtend(/*crc=*/0, data); }

}  // namespace iodepth
