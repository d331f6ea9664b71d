// Self-verifying file content: every byte is a pure function of (file id, file offset),
// so any read can be checked wherever it starts, and a block returned from the wrong
// place, a stale buffer or a short transfer resumed at the wrong offset is caught.
//
// The file is a sequence of 8-byte little-endian words; the word at offset q (q % 8 == 0):
//
//   q % 4096 == 0     kPatternMagic ("IODEPTH1")   | block header: each 4 KiB block
//   q % 4096 == 8     file id                      | names its file and its own offset
//   q % 4096 == 16    q - 16 (the block's offset)  |
//   otherwise         (q * kPatternMultiplier) ^ file id
//
// kPatternMultiplier is odd, so q -> q * k is a bijection: no two words in a file agree.
// Pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace iodepth {

inline constexpr uint64_t kPatternBlockBytes = 4096;
inline constexpr uint64_t kPatternMagic = 0x3148545045444f49ULL;  // "IODEPTH1" little-endian.
inline constexpr uint64_t kPatternMultiplier = 0x9E3779B97F4A7C15ULL;

// The 8-byte word stored at `word_offset` (a multiple of 8).
uint64_t PatternWord(uint64_t file_id, uint64_t word_offset);

// Fills `buffer` with the content that belongs at `file_offset`. Any offset and length.
void FillPattern(std::span<std::byte> buffer, uint64_t file_offset, uint64_t file_id);

// The file offset of the first byte in `buffer` that differs from the pattern that
// belongs at `file_offset`, or nullopt when all of it matches.
std::optional<uint64_t> FindPatternMismatch(std::span<const std::byte> buffer, uint64_t file_offset, uint64_t file_id);

// True when `block` (at least 24 bytes read from a 4 KiB boundary) carries a pattern
// header; sets *file_id and *block_offset from it.
bool ReadPatternHeader(std::span<const std::byte> block, uint64_t* file_id, uint64_t* block_offset);

}  // namespace iodepth
