// Parsing and printing of sizes and durations the way fio users write them.
//
// Sizes: a whole number with an optional suffix; k, m, g, t (any case, with or without a
// trailing "b" or "ib") are powers of 1024, as fio's default kb_base=1024: "4k" = 4096,
// "256MiB" = 268435456. Durations: a number with an optional unit us, ms, s, m, h; a bare
// number is seconds, as in fio's runtime=. Durations are printed in one of the
// DurationStyles below, for people or to be parsed again.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace iodepth {

// `what` names the flag in the error message ("--bs").
Result<uint64_t> ParseSize(std::string_view text, std::string_view what);
Result<int64_t> ParseDurationNs(std::string_view text, std::string_view what);

// "4 KiB", "256 MiB", "1.5 GiB": exact below 1 KiB, one decimal above.
std::string FormatBytes(uint64_t bytes);

// How FormatDuration writes a duration; each caller names the one it prints.
enum class DurationStyle {
  // For people, truncated to whole seconds: "0s", "59s", "1m01s", "1h01m" (an hour or
  // more drops the seconds). Suite estimates and progress lines.
  kWholeSeconds,
  // As kWholeSeconds from 10 s on; below that one decimal, rounded: "0.0s", "0.4s",
  // "9.9s". The matrix's runs are often under a second, which "0s" would hide.
  kTenthsBelowTenSeconds,
  // What ParseDurationNs reads back to the same value: "500ms", "2000ms", or "1500us"
  // when not a whole number of milliseconds (below a microsecond is dropped). Configs
  // written to be read again.
  kParseable,
};

// `ns` written in `style`. Any thread.
std::string FormatDuration(int64_t ns, DurationStyle style);

}  // namespace iodepth
