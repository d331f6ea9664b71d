// Fixed-width little-endian fields in byte buffers: the on-disk formats (pages, table
// trailers, log segments and fragments) read and write their headers with these, so a
// field is never read past its buffer and no format keeps its own copy of the helpers.
//
// The formats are little-endian and the fields are copied with memcpy, so the host must
// be little-endian too (asserted). Pure functions: any thread.
#pragma once

#include <bit>
#include <cstddef>
#include <cstring>
#include <span>

#include "common/assert.h"

namespace iodepth {

static_assert(std::endian::native == std::endian::little, "iodepth's on-disk formats are little-endian");

// The T stored at `offset`. REQUIRES: offset + sizeof(T) <= bytes.size() (checked).
template <typename T>
T LoadLe(std::span<const std::byte> bytes, size_t offset) {
  IODEPTH_CHECK(offset + sizeof(T) <= bytes.size(), "field past the end of its buffer");
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

// Stores `value` at `offset`. REQUIRES: offset + sizeof(T) <= bytes.size() (checked).
template <typename T>
void StoreLe(std::span<std::byte> bytes, size_t offset, T value) {
  IODEPTH_CHECK(offset + sizeof(T) <= bytes.size(), "field past the end of its buffer");
  std::memcpy(bytes.data() + offset, &value, sizeof(T));
}

}  // namespace iodepth
