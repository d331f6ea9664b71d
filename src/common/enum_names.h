// enum_names: one table per enum maps its values to the names users type and read
// ("buffered", "io_uring", "thrash"), so each enum's Name and Parse pair is a lookup in
// one table instead of a switch and an if-chain kept equal by hand.
//
//   constexpr EnumName<CacheMode> kCacheModeNames[] = {
//       {CacheMode::kBuffered, "buffered"}, {CacheMode::kDirect, "direct"}, ...};
//
// The first entry of a value gives its name; later entries of the same value are aliases
// that parse but are neither printed nor offered as choices. An entry with parses = false
// names a value that is printed but cannot be asked for (an outcome such as "n/a").
// Tables are constexpr and immutable: any thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "common/result.h"

namespace iodepth {

template <typename E>
struct EnumName {
  E value;
  std::string_view name;
  bool parses = true;
};

// The name of `value`: its first entry's; "unknown" for a value the table lacks.
template <typename E, size_t N>
constexpr std::string_view NameOf(const EnumName<E> (&table)[N], E value) {
  for (const EnumName<E>& entry : table) {
    if (entry.value == value) return entry.name;
  }
  return "unknown";
}

// The value `name` names (aliases included), or nullopt.
template <typename E, size_t N>
constexpr std::optional<E> ValueNamed(const EnumName<E> (&table)[N], std::string_view name) {
  for (const EnumName<E>& entry : table) {
    if (entry.parses && entry.name == name) return entry.value;
  }
  return std::nullopt;
}

// The choices a user may type, each value once under its name: "a, b or c".
template <typename E, size_t N>
std::string ChoicesOf(const EnumName<E> (&table)[N]) {
  std::string text;
  size_t listed = 0;
  size_t total = 0;
  for (size_t i = 0; i < N; ++i) total += table[i].parses && NameOf(table, table[i].value) == table[i].name;
  for (size_t i = 0; i < N; ++i) {
    if (!table[i].parses || NameOf(table, table[i].value) != table[i].name) continue;
    if (listed > 0) text += listed + 1 == total ? " or " : ", ";
    text += table[i].name;
    ++listed;
  }
  return text;
}

// The value `name` names, or InvalidArgument "unknown <what> '<name>'; choose <choices>",
// naming `setting` (Status::WithSetting) so the caller can say which flag to change.
template <typename E, size_t N>
Result<E> ParseNamed(const EnumName<E> (&table)[N], std::string_view name, std::string_view what,
                     std::string_view setting) {
  if (const std::optional<E> value = ValueNamed(table, name)) return *value;
  return Status::InvalidArgument(fmt::format("unknown {} '{}'; choose {}", what, name, ChoicesOf(table)))
      .WithSetting(setting);
}

}  // namespace iodepth
