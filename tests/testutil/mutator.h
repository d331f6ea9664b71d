// Seeded mutations of real inputs, for the tests that feed every reader of untrusted input
// (results files, matrix configs and journals, table pages) thousands of damaged copies
// and require a clear error or a correct parse: never a crash, a hang or a sanitizer report.
//
// Each Mutate() applies one to three edits chosen from the seed, some aimed at bytes and
// some at the meaning of a JSON text:
//
//   flip       one byte XOR a random value          (anything: a torn or bit-rotted file)
//   cut        the text truncated at a random place  (a crash mid-write)
//   erase      a span of up to 16 bytes removed      (lost brackets, quotes, digits)
//   repeat     a span of up to 16 bytes doubled
//   number     a run of digits replaced by an extreme value: -1, 0, 1e999, 2^64, 2^63-1,
//              -9223372036854775808, 1e-400, a long run of nines
//   token      a token a JSON reader must survive inserted: null, [], {}, "", true,
//              a deep nest of brackets, a lone quote or backslash
//
// The same seed gives the same sequence, so a failure names the seed and the iteration
// that reproduce it. Not thread-safe.
#pragma once

#include <cctype>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace iodepth::testutil {

class Mutator {
 public:
  explicit Mutator(uint64_t seed) : rng_(seed) {}

  std::string Mutate(std::string text) {
    const int edits = 1 + static_cast<int>(Below(3));
    for (int i = 0; i < edits; ++i) text = Edit(std::move(text));
    return text;
  }

 private:
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : rng_() % n; }

  std::string Edit(std::string text) {
    if (text.empty()) return "{";
    const size_t at = Below(text.size());
    switch (Below(6)) {
      case 0:
        text[at] = static_cast<char>(static_cast<unsigned char>(text[at]) ^ static_cast<unsigned char>(1 + Below(255)));
        return text;
      case 1: text.resize(at); return text;
      case 2: return text.erase(at, 1 + Below(16));
      case 3: return text.insert(at, text.substr(at, 1 + Below(16)));
      case 4: return ReplaceNumber(std::move(text), at);
      default: return text.insert(at, Token());
    }
  }

  // The run of digits at or after `at` (the first one found, wrapping) made extreme.
  std::string ReplaceNumber(std::string text, size_t at) {
    static constexpr std::string_view kExtremes[] = {"-1",
                                                     "0",
                                                     "1e999",
                                                     "18446744073709551616",
                                                     "9223372036854775807",
                                                     "-9223372036854775808",
                                                     "1e-400",
                                                     "99999999999999999999999999999999999999"};
    size_t start = text.find_first_of("0123456789", at);
    if (start == std::string::npos) start = text.find_first_of("0123456789");
    if (start == std::string::npos) return text;
    size_t end = start;
    while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]))) ++end;
    return text.replace(start, end - start, kExtremes[Below(std::size(kExtremes))]);
  }

  std::string Token() {
    static constexpr std::string_view kTokens[] = {"null", "[]", "{}", "\"\"", "true", "\"", "\\", ",", ":", "-"};
    if (Below(8) == 0) return std::string(64, '[');  // Deep nesting.
    return std::string(kTokens[Below(std::size(kTokens))]);
  }

  std::mt19937_64 rng_;
};

}  // namespace iodepth::testutil
