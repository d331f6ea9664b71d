#include "sys/git.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <optional>
#include <string_view>

#include "common/text.h"
#include "sys/host_file.h"

namespace iodepth {

namespace {

// Directory levels walked up from a path. Real paths are far shallower; the bound only
// guarantees the walk ends.
constexpr int kMaxAncestors = 512;
// Symbolic refs followed from HEAD; git itself gives up after 5.
constexpr int kMaxSymbolicRefs = 5;

bool IsCommitHash(std::string_view text) {
  // SHA-1 (40) or SHA-256 (64) repositories.
  return (text.size() == 40 || text.size() == 64) &&
         std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// The git directory `dir/.git` names: itself, or a "gitdir: <path>" file's target.
std::optional<std::string> GitDirAt(const std::string& dir) {
  const std::string dot_git = JoinPath(dir, ".git");
  struct stat st {};
  if (::stat(dot_git.c_str(), &st) != 0) return std::nullopt;
  if (S_ISDIR(st.st_mode)) return dot_git;
  const std::optional<std::string> text = ReadTrimmedHostFile(dot_git);
  if (!text || !text->starts_with("gitdir:")) return std::nullopt;
  const std::string target(Trim(std::string_view(*text).substr(7)));
  return target.starts_with('/') ? target : JoinPath(dir, target);
}

std::optional<std::string> PackedRef(const std::string& common_dir, std::string_view ref) {
  const std::optional<std::string> text = ReadHostFileIfAny(JoinPath(common_dir, "packed-refs"));
  if (!text) return std::nullopt;
  std::optional<std::string> hash;
  ForEachLine(*text, [&](std::string_view line) {
    // "<hash> <ref>"; '#' starts the header, '^' a peeled tag's target.
    const size_t space = line.find(' ');
    if (hash || line.empty() || line[0] == '#' || line[0] == '^' || space == std::string_view::npos) return;
    if (Trim(line.substr(space + 1)) == ref) hash = std::string(line.substr(0, space));
  });
  return hash;
}

// A ref's content: a loose file in the worktree's or the common git dir, else packed-refs.
std::optional<std::string> ReadRef(const std::string& git_dir, const std::string& common_dir, std::string_view ref) {
  if (ref.find("..") != std::string_view::npos) return std::nullopt;  // Never leave the git dir.
  if (std::optional<std::string> loose = ReadTrimmedHostFile(JoinPath(git_dir, ref))) return loose;
  if (std::optional<std::string> loose = ReadTrimmedHostFile(JoinPath(common_dir, ref))) return loose;
  return PackedRef(common_dir, ref);
}

std::string ResolveHead(const std::string& git_dir) {
  // A linked worktree keeps shared refs in the directory its "commondir" file names.
  const std::optional<std::string> common = ReadTrimmedHostFile(JoinPath(git_dir, "commondir"));
  const std::string common_dir = !common ? git_dir : common->starts_with('/') ? *common : JoinPath(git_dir, *common);
  std::optional<std::string> value = ReadTrimmedHostFile(JoinPath(git_dir, "HEAD"));
  for (int depth = 0; value && depth <= kMaxSymbolicRefs; ++depth) {
    if (IsCommitHash(*value)) return *value;
    if (!value->starts_with("ref:")) break;
    const std::string ref(Trim(std::string_view(*value).substr(4)));
    value = ReadRef(git_dir, common_dir, ref);
  }
  return "unknown";
}

}  // namespace

std::string FindGitCommit(const std::string& start_dir) {
  std::string dir = start_dir.empty() ? "." : start_dir;
  for (int level = 0; level < kMaxAncestors; ++level) {
    // The nearest work tree is the one the binary was built in; an unreadable one is
    // "unknown" rather than some outer repository's commit.
    if (const std::optional<std::string> git_dir = GitDirAt(dir)) return ResolveHead(*git_dir);
    const std::string parent = ParentDir(dir);
    if (parent == dir) break;
    dir = parent;
  }
  return "unknown";
}

std::string GitCommitOfExecutable() {
  char target[PATH_MAX];
  const ssize_t length = ::readlink("/proc/self/exe", target, sizeof(target) - 1);
  if (length <= 0) return "unknown";
  return FindGitCommit(ParentDir(std::string_view(target, static_cast<size_t>(length))));
}

}  // namespace iodepth
