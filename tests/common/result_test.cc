#include "common/result.h"

#include <memory>
#include <string>
#include <utility>

#include <gtest/gtest.h>

namespace iodepth {
namespace {

TEST(ResultTest, HoldsAValue) {
  Result<std::string> result(std::string("value"));
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(static_cast<bool>(result));
  EXPECT_EQ(result.value(), "value");
  EXPECT_EQ(*result, "value");
  EXPECT_EQ(result->size(), 5u);
  EXPECT_TRUE(result.error().ok());
  EXPECT_TRUE(result.status().ok());
}

TEST(ResultTest, HoldsAnError) {
  const Result<int> result(Status::NotSupported("no io_uring"));
  EXPECT_FALSE(result.has_value());
  EXPECT_FALSE(static_cast<bool>(result));
  EXPECT_EQ(result.error().code(), StatusCode::kNotSupported);
  EXPECT_EQ(result.status().message(), "no io_uring");
}

TEST(ResultTest, MovesOutMoveOnlyValues) {
  Result<std::unique_ptr<int>> result(std::make_unique<int>(42));
  std::unique_ptr<int> value = std::move(result).value();
  ASSERT_NE(value, nullptr);
  EXPECT_EQ(*value, 42);
}

Result<int> Half(int value) {
  if (value % 2 != 0) return Status::InvalidArgument(std::to_string(value) + " is odd");
  return value / 2;
}

Result<int> Quarter(int value, bool* reached_end) {
  IODEPTH_ASSIGN_OR_RETURN(const int half, Half(value));
  IODEPTH_ASSIGN_OR_RETURN(int quarter, Half(half));
  *reached_end = true;
  return quarter;
}

TEST(ResultTest, AssignOrReturnPropagatesTheFirstError) {
  bool reached_end = false;
  const Result<int> ok = Quarter(12, &reached_end);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(*ok, 3);
  EXPECT_TRUE(reached_end);

  reached_end = false;
  const Result<int> failed = Quarter(6, &reached_end);  // 6 -> 3, then 3 is odd.
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().message(), "3 is odd");
  EXPECT_FALSE(reached_end);
}

TEST(ResultDeathTest, BuildingFromOkStatusIsAProgrammerError) {
  EXPECT_DEATH({ Result<int> result(Status::OK()); }, "OK status");
}

TEST(ResultDeathTest, ValueOfAnErrorIsAProgrammerError) {
  EXPECT_DEATH(
      {
        Result<int> result(Status::Corruption("x"));
        (void)result.value();
      },
      "error");
}

}  // namespace
}  // namespace iodepth
