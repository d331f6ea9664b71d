#include "common/block_pattern.h"

#include <cstring>

namespace iodepth {

uint64_t PatternWord(uint64_t file_id, uint64_t word_offset) {
  switch (word_offset % kPatternBlockBytes) {
    case 0: return kPatternMagic;
    case 8: return file_id;
    case 16: return word_offset - 16;
    default: return (word_offset * kPatternMultiplier) ^ file_id;
  }
}

namespace {

// The byte at absolute `offset`, for the unaligned head and tail of a range.
std::byte PatternByte(uint64_t file_id, uint64_t offset) {
  const uint64_t word = PatternWord(file_id, offset & ~uint64_t{7});
  return static_cast<std::byte>((word >> (8 * (offset & 7))) & 0xff);
}

}  // namespace

void FillPattern(std::span<std::byte> buffer, uint64_t file_offset, uint64_t file_id) {
  size_t i = 0;
  // Head bytes up to the first word boundary.
  for (; i < buffer.size() && ((file_offset + i) & 7) != 0; ++i) buffer[i] = PatternByte(file_id, file_offset + i);
  // Whole words: the hot path for the benchmarks' writes, so no per-byte work.
  for (; i + 8 <= buffer.size(); i += 8) {
    const uint64_t word = PatternWord(file_id, file_offset + i);
    std::memcpy(buffer.data() + i, &word, sizeof(word));  // The host is little-endian (x86-64, arm64).
  }
  for (; i < buffer.size(); ++i) buffer[i] = PatternByte(file_id, file_offset + i);
}

std::optional<uint64_t> FindPatternMismatch(std::span<const std::byte> buffer, uint64_t file_offset, uint64_t file_id) {
  size_t i = 0;
  for (; i < buffer.size() && ((file_offset + i) & 7) != 0; ++i) {
    if (buffer[i] != PatternByte(file_id, file_offset + i)) return file_offset + i;
  }
  for (; i + 8 <= buffer.size(); i += 8) {
    uint64_t word = 0;
    std::memcpy(&word, buffer.data() + i, sizeof(word));
    if (word != PatternWord(file_id, file_offset + i)) break;  // The byte loop below names the byte.
  }
  for (; i < buffer.size(); ++i) {
    if (buffer[i] != PatternByte(file_id, file_offset + i)) return file_offset + i;
  }
  return std::nullopt;
}

bool ReadPatternHeader(std::span<const std::byte> block, uint64_t* file_id, uint64_t* block_offset) {
  if (block.size() < 24) return false;
  uint64_t words[3];
  std::memcpy(words, block.data(), sizeof(words));
  if (words[0] != kPatternMagic) return false;
  *file_id = words[1];
  *block_offset = words[2];
  return true;
}

}  // namespace iodepth
