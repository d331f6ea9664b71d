#include "io/aligned_buffer.h"

#include <cstdint>
#include <utility>

#include <gtest/gtest.h>

#include "testutil/status_macros.h"

namespace iodepth {
namespace {

bool IsAligned(const void* address, size_t alignment) { return reinterpret_cast<uintptr_t>(address) % alignment == 0; }

TEST(AlignedBufferTest, AllocatesZeroedAlignedMemory) {
  for (size_t alignment : {size_t{8}, size_t{512}, size_t{4096}, size_t{1} << 21}) {
    ASSERT_OK_AND_ASSIGN(AlignedBuffer buffer, AlignedBuffer::Allocate(10'000, alignment));
    ASSERT_NE(buffer.data(), nullptr);
    EXPECT_TRUE(IsAligned(buffer.data(), alignment)) << alignment;
    EXPECT_EQ(buffer.size(), 10'000u);
    EXPECT_EQ(buffer.alignment(), alignment);
    for (std::byte b : buffer.span()) ASSERT_EQ(b, std::byte{0});
  }
}

TEST(AlignedBufferTest, RefusesAlignmentThatIsNotAPowerOfTwoOrTooSmall) {
  for (size_t alignment : {size_t{0}, size_t{3}, size_t{4}, size_t{12}, size_t{4095}}) {
    const Result<AlignedBuffer> buffer = AlignedBuffer::Allocate(4096, alignment);
    ASSERT_FALSE(buffer.has_value()) << alignment;
    EXPECT_EQ(buffer.error().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(buffer.error().message().find(std::to_string(alignment)), std::string::npos) << buffer.error().message();
  }
}

TEST(AlignedBufferTest, ZeroSizeIsAnEmptyBuffer) {
  ASSERT_OK_AND_ASSIGN(AlignedBuffer buffer, AlignedBuffer::Allocate(0, 4096));
  EXPECT_EQ(buffer.size(), 0u);
  EXPECT_TRUE(buffer.span().empty());
}

TEST(AlignedBufferTest, MoveTransfersOwnership) {
  ASSERT_OK_AND_ASSIGN(AlignedBuffer source, AlignedBuffer::Allocate(4096, 4096));
  std::byte* const memory = source.data();
  memory[5] = std::byte{7};
  AlignedBuffer moved(std::move(source));
  EXPECT_EQ(moved.data(), memory);
  EXPECT_EQ(moved.size(), 4096u);
  EXPECT_EQ(moved.data()[5], std::byte{7});
  EXPECT_EQ(source.data(), nullptr);  // NOLINT(bugprone-use-after-move): the moved-from state is the contract.
  EXPECT_EQ(source.size(), 0u);

  ASSERT_OK_AND_ASSIGN(AlignedBuffer other, AlignedBuffer::Allocate(512, 512));
  other = std::move(moved);  // Frees other's old memory (ASan would report a leak otherwise).
  EXPECT_EQ(other.data(), memory);
  EXPECT_EQ(other.alignment(), 4096u);
}

TEST(AlignedBufferTest, SubSpanCoversTheRequestedRange) {
  ASSERT_OK_AND_ASSIGN(AlignedBuffer buffer, AlignedBuffer::Allocate(8192, 4096));
  const std::span<std::byte> middle = buffer.span(4096, 100);
  EXPECT_EQ(middle.data(), buffer.data() + 4096);
  EXPECT_EQ(middle.size(), 100u);
  EXPECT_EQ(buffer.span(8192, 0).size(), 0u) << "an empty span at the end is in range";
}

TEST(AlignedBufferDeathTest, SubSpanOutOfRangeIsAProgrammerError) {
  ASSERT_OK_AND_ASSIGN(AlignedBuffer buffer, AlignedBuffer::Allocate(8192, 4096));
  EXPECT_DEATH((void)buffer.span(4096, 4097), "out of range");
  EXPECT_DEATH((void)buffer.span(8193, 0), "out of range");
}

}  // namespace
}  // namespace iodepth
