// SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators",
// OOPSLA 2014; Vigna's splitmix64.c): a 64-bit state advanced by a fixed odd increment,
// each state passed through a bijective finaliser. The one definition in iodepth: the
// heap table derives its column values from it, and the scan's per-row work runs rounds
// of it, so a change here changes every table's contents and every known answer.
//
//   state_k = seed + k x kSplitMix64Gamma (mod 2^64)    output_k = SplitMix64Mix(state_k)
//
// Pure and constexpr; any thread.
#pragma once

#include <cstdint>

namespace iodepth {

// The increment: 2^64 divided by the golden ratio, rounded to odd, so the states visit
// all 2^64 values before repeating.
inline constexpr uint64_t kSplitMix64Gamma = 0x9E3779B97F4A7C15ull;

// The finaliser alone: a bijection of 64-bit values in which each input bit flips about
// half the output bits.
constexpr uint64_t SplitMix64Mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// One step of the generator: advances `state` and returns the next output. A state of 0
// yields 0xE220A8397B1DCDAF first, as the reference implementation does.
constexpr uint64_t SplitMix64Next(uint64_t& state) {
  state += kSplitMix64Gamma;
  return SplitMix64Mix(state);
}

}  // namespace iodepth
