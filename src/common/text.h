// Small text and path helpers for reading the kernel's files (/proc, /sys, cgroupfs):
// trimming, walking lines, joining paths, mountinfo's octal escapes. Pure; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace iodepth {

// `text` without leading and trailing spaces, tabs, CRs and newlines.
std::string_view Trim(std::string_view text);

// `text` as a decimal unsigned 64-bit number, spaces and newlines around it allowed; nullopt
// for anything else (empty, a sign, other characters, overflow).
std::optional<uint64_t> ParseU64(std::string_view text);

// The words of `text`, split at runs of spaces and tabs ("cpu  1 2" -> "cpu", "1", "2").
std::vector<std::string_view> SplitWords(std::string_view text);

// Calls `on_line` with each line of `text`, without its newline.
template <typename OnLine>
void ForEachLine(std::string_view text, OnLine&& on_line) {
  while (!text.empty()) {
    const size_t end = text.find('\n');
    on_line(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
}

// "dir/name", with no doubled slash when dir ends in one.
std::string JoinPath(std::string_view dir, std::string_view name);

// Whether stat() finds `path` (any file type).
bool PathExists(const std::string& path);

// The directory part of a path: "/a/b" -> "/a", "/a" -> "/", "a" -> ".", "/" -> "/".
std::string ParentDir(std::string_view path);
// The last component: "/a/b" -> "b", "b" -> "b".
std::string BaseName(std::string_view path);

// Decodes mountinfo's "\ooo" escapes (space, tab, newline, backslash); anything else,
// including a backslash not followed by three octal digits, is kept as it is.
std::string UnescapeOctal(std::string_view text);

}  // namespace iodepth
