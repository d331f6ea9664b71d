// Result<T>: a value or the Status saying why there is none; shaped like std::expected
// (has_value, value, operator*, error) so it can be replaced by it once C++23 is the floor.
#pragma once

#include <utility>
#include <variant>

#include "common/assert.h"
#include "common/status.h"

namespace iodepth {

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : storage_(std::move(value)) {}  // NOLINT: implicit by design, as std::expected.
  // REQUIRES: !status.ok(); an OK status carries no value to return.
  Result(Status status) : storage_(std::move(status)) {  // NOLINT
    IODEPTH_CHECK(!std::get<Status>(storage_).ok(), "Result built from an OK status has no value");
  }

  bool has_value() const { return std::holds_alternative<T>(storage_); }
  explicit operator bool() const { return has_value(); }

  T& value() & {
    IODEPTH_CHECK(has_value(), "Result::value() on an error");
    return std::get<T>(storage_);
  }
  const T& value() const& {
    IODEPTH_CHECK(has_value(), "Result::value() on an error");
    return std::get<T>(storage_);
  }
  T&& value() && {
    IODEPTH_CHECK(has_value(), "Result::value() on an error");
    return std::get<T>(std::move(storage_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // The failure; OK when a value is present.
  Status error() const { return has_value() ? Status::OK() : std::get<Status>(storage_); }
  Status status() const { return error(); }

 private:
  std::variant<T, Status> storage_;
};

// Assigns the value of a Result expression to `lhs`, or returns its error.
#define IODEPTH_CONCAT_INNER(a, b) a##b
#define IODEPTH_CONCAT(a, b) IODEPTH_CONCAT_INNER(a, b)
#define IODEPTH_ASSIGN_OR_RETURN(lhs, expr) \
  IODEPTH_ASSIGN_OR_RETURN_IMPL(IODEPTH_CONCAT(iodepth_result_, __LINE__), lhs, expr)
#define IODEPTH_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.has_value()) return tmp.error();           \
  lhs = std::move(tmp).value()

}  // namespace iodepth
