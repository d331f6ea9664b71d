// GoogleTest helpers for Status and Result<T>: assertions that print the failed status,
// so a failing test says *why* an operation failed rather than "false is not true".
#pragma once

#include <ostream>
#include <utility>

#include <gtest/gtest.h>

#include "common/result.h"
#include "common/status.h"

namespace iodepth {

// Lets GoogleTest print a Status in failure messages.
inline void PrintTo(const Status& status, std::ostream* os) { *os << status.ToString(); }

namespace testutil {

inline Status ToStatus(const Status& status) { return status; }
template <typename T>
Status ToStatus(const Result<T>& result) {
  return result.error();
}

inline ::testing::AssertionResult IsOk(const char* expression, const Status& status) {
  if (status.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << expression << " failed: " << status.ToString();
}

}  // namespace testutil
}  // namespace iodepth

// Work on a Status or a Result<T>, and take a streamed message like any assertion.
#define EXPECT_OK(expr) EXPECT_PRED_FORMAT1(::iodepth::testutil::IsOk, ::iodepth::testutil::ToStatus(expr))
#define ASSERT_OK(expr) ASSERT_PRED_FORMAT1(::iodepth::testutil::IsOk, ::iodepth::testutil::ToStatus(expr))

// Declares or assigns `lhs` from the value of a Result expression, or fails the test.
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  IODEPTH_ASSERT_OK_AND_ASSIGN_IMPL(IODEPTH_CONCAT(iodepth_test_result_, __LINE__), lhs, expr)
#define IODEPTH_ASSERT_OK_AND_ASSIGN_IMPL(tmp, lhs, expr)                  \
  auto tmp = (expr);                                                       \
  ASSERT_TRUE(tmp.has_value()) << #expr << ": " << tmp.error().ToString(); \
  lhs = std::move(tmp).value()
