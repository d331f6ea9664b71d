#include "common/random.h"

#include <cstdint>

#include <gtest/gtest.h>

namespace iodepth {
namespace {

// The published first outputs of SplitMix64 seeded with 0 (Vigna's splitmix64.c).
constexpr uint64_t kSeedZeroOutputs[] = {0xE220A8397B1DCDAFull, 0x6E789E6AA1B965F4ull, 0x06C45D188009454Full,
                                         0xF88BB8A8724C81ECull};

TEST(SplitMix64Test, SeedZeroGivesTheReferenceSequence) {
  uint64_t state = 0;
  for (const uint64_t expected : kSeedZeroOutputs) EXPECT_EQ(SplitMix64Next(state), expected);
  EXPECT_EQ(state, 4 * kSplitMix64Gamma) << "each step advances the state by one increment";
}

TEST(SplitMix64Test, MixOfTheKthStateIsTheKthOutput) {
  // The heap table mixes seed + G x (row + 1) directly instead of stepping a generator.
  for (uint64_t k = 0; k < 4; ++k) EXPECT_EQ(SplitMix64Mix((k + 1) * kSplitMix64Gamma), kSeedZeroOutputs[k]) << k;
}

TEST(SplitMix64Test, MixOfZeroIsZero) {
  // The finaliser fixes 0; it is the increment, added before mixing, that keeps a zero
  // seed from starting the sequence with 0.
  EXPECT_EQ(SplitMix64Mix(0), 0u);
}

TEST(SplitMix64Test, IsUsableAtCompileTime) {
  constexpr uint64_t first = [] {
    uint64_t state = 0;
    return SplitMix64Next(state);
  }();
  static_assert(first == 0xE220A8397B1DCDAFull);
  EXPECT_EQ(first, kSeedZeroOutputs[0]);
}

}  // namespace
}  // namespace iodepth
