// Parsing and printing of sizes and durations the way fio users write them.
//
// Sizes: a whole number with an optional suffix; k, m, g, t (any case, with or without a
// trailing "b" or "ib") are powers of 1024, as fio's default kb_base=1024: "4k" = 4096,
// "256MiB" = 268435456. Durations: a number with an optional unit us, ms, s, m, h; a bare
// number is seconds, as in fio's runtime=.
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

}  // namespace iodepth
