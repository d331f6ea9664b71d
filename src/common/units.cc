#include "common/units.h"

#include <cctype>
#include <charconv>
#include <string>

#include <fmt/format.h>

namespace iodepth {

namespace {

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Splits "256MiB" into 256 and "mib". Fails on an empty or non-numeric head.
bool SplitNumber(std::string_view text, uint64_t* number, std::string* suffix) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *number);
  if (ec != std::errc() || ptr == text.data()) return false;
  *suffix = Lower(std::string_view(ptr, static_cast<size_t>(end - ptr)));
  return true;
}

}  // namespace

Result<uint64_t> ParseSize(std::string_view text, std::string_view what) {
  uint64_t number = 0;
  std::string suffix;
  if (!SplitNumber(text, &number, &suffix)) {
    return Status::InvalidArgument(fmt::format(
        "{}={}: not a size; write a whole number of bytes with an optional k, m, g or t suffix, e.g. 4k or 256m", what,
        text));
  }
  int shift = -1;
  if (suffix.empty() || suffix == "b") shift = 0;
  for (auto [letter, bits] : {std::pair{'k', 10}, {'m', 20}, {'g', 30}, {'t', 40}}) {
    const std::string l(1, letter);
    if (suffix == l || suffix == l + "b" || suffix == l + "ib") shift = bits;
  }
  if (shift < 0) {
    return Status::InvalidArgument(
        fmt::format("{}={}: unknown size suffix '{}'; use k, m, g or t (powers of 1024)", what, text, suffix));
  }
  if (shift > 0 && number > (UINT64_MAX >> shift)) {
    return Status::InvalidArgument(fmt::format("{}={}: too large", what, text));
  }
  return number << shift;
}

Result<int64_t> ParseDurationNs(std::string_view text, std::string_view what) {
  uint64_t number = 0;
  std::string suffix;
  if (!SplitNumber(text, &number, &suffix)) {
    return Status::InvalidArgument(fmt::format(
        "{}={}: not a duration; write a whole number with an optional unit us, ms, s, m or h, e.g. 10s", what, text));
  }
  int64_t unit_ns = 0;
  if (suffix.empty() || suffix == "s") unit_ns = 1'000'000'000;
  else if (suffix == "us") unit_ns = 1'000;
  else if (suffix == "ms") unit_ns = 1'000'000;
  else if (suffix == "m") unit_ns = 60'000'000'000;
  else if (suffix == "h") unit_ns = 3'600'000'000'000;
  else
    return Status::InvalidArgument(fmt::format("{}={}: unknown unit '{}'; use us, ms, s, m or h", what, text, suffix));
  if (number > static_cast<uint64_t>(INT64_MAX / unit_ns)) {
    return Status::InvalidArgument(fmt::format("{}={}: too long", what, text));
  }
  return static_cast<int64_t>(number) * unit_ns;
}

std::string FormatBytes(uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  const char* units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  double value = static_cast<double>(bytes) / 1024.0;
  int unit = 0;
  while (value >= 1024.0 && unit < 4) {
    value /= 1024.0;
    ++unit;
  }
  if (value == static_cast<double>(static_cast<uint64_t>(value)))
    return fmt::format("{} {}", static_cast<uint64_t>(value), units[unit]);
  return fmt::format("{:.1f} {}", value, units[unit]);
}

std::string FormatDuration(int64_t ns, DurationStyle style) {
  constexpr int64_t kNsPerSecond = 1'000'000'000;
  switch (style) {
    case DurationStyle::kParseable:
      if (ns % 1'000'000 == 0) return fmt::format("{}ms", ns / 1'000'000);
      return fmt::format("{}us", ns / 1'000);
    case DurationStyle::kTenthsBelowTenSeconds:
      if (ns < 10 * kNsPerSecond) return fmt::format("{:.1f}s", static_cast<double>(ns) / 1e9);
      break;
    case DurationStyle::kWholeSeconds: break;
  }
  const int64_t s = ns / kNsPerSecond;
  if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, s / 60 % 60);
  if (s >= 60) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

}  // namespace iodepth
