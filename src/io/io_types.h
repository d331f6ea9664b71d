// Small vocabulary types shared by the file and queue headers.
#pragma once

#include <cstdint>
#include <string_view>

namespace iodepth {

enum class IoOp : uint8_t { kRead, kWrite };

inline std::string_view IoOpName(IoOp op) { return op == IoOp::kRead ? "read" : "write"; }

}  // namespace iodepth
