// The checks a suite's flags and a matrix config share: no value listed twice, every
// value within its bounds. Each returns InvalidArgument with a message naming the flag
// or key the caller passes, so `iodepth suite` speaks of "--depths" and a matrix config
// of "\"depths\"" through one rule. Pure; any thread.
#pragma once

#include <cstddef>
#include <string_view>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "common/status.h"

namespace iodepth {

// A value listed twice would run the same cell twice under one id: an error naming `what`
// (a flag or a config key) and both entries.
template <typename T>
Status RejectRepeats(const std::vector<T>& values, std::string_view what) {
  for (size_t i = 0; i < values.size(); ++i) {
    for (size_t j = i + 1; j < values.size(); ++j) {
      if (values[i] == values[j]) {
        return Status::InvalidArgument(
            fmt::format("{} lists a value twice (entry {} and {}); list each once", what, i + 1, j + 1));
      }
    }
  }
  return Status::OK();
}

// `value` outside [lowest, highest]: "<lead><value> is out of range <lowest>..<highest>".
// `lead` is the text before the value, as the caller's message reads: "--streams=",
// "--depths: ", "\"depths\": queue depth ".
template <typename T>
Status RejectOutOfRange(T value, std::type_identity_t<T> lowest, std::type_identity_t<T> highest,
                        std::string_view lead) {
  if (value >= lowest && value <= highest) return Status::OK();
  return Status::InvalidArgument(fmt::format("{}{} is out of range {}..{}", lead, value, lowest, highest));
}

// The first of `values` outside [lowest, highest], as above.
template <typename T>
Status RejectOutOfRange(const std::vector<T>& values, std::type_identity_t<T> lowest, std::type_identity_t<T> highest,
                        std::string_view lead) {
  for (const T& value : values) IODEPTH_RETURN_IF_ERROR(RejectOutOfRange(value, lowest, highest, lead));
  return Status::OK();
}

}  // namespace iodepth
