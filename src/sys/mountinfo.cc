#include "sys/mountinfo.h"

#include <algorithm>
#include <optional>

#include "common/text.h"

namespace iodepth {

namespace {

std::vector<std::string_view> SplitFields(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t start = line.find_first_not_of(' ');
  while (start != std::string_view::npos) {
    const size_t end = line.find(' ', start);
    fields.push_back(line.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    start = end == std::string_view::npos ? end : line.find_first_not_of(' ', end);
  }
  return fields;
}

std::optional<MountInfo> ParseMountLine(std::string_view line) {
  // id parent major:minor root mount_point options [optional fields...] - type source super_options
  const std::vector<std::string_view> fields = SplitFields(line);
  if (fields.size() < 10) return std::nullopt;
  const auto dash = std::find(fields.begin() + 6, fields.end(), "-");
  if (fields.end() - dash < 4) return std::nullopt;
  return MountInfo{.major_minor = std::string(fields[2]),
                   .root = UnescapeOctal(fields[3]),
                   .mount_point = UnescapeOctal(fields[4]),
                   .mount_options = std::string(fields[5]),
                   .fs_type = UnescapeOctal(dash[1]),
                   .source = UnescapeOctal(dash[2]),
                   .super_options = std::string(dash[3])};
}

bool IsAtOrBelow(std::string_view path, std::string_view mount_point) {
  if (mount_point == "/") return !path.empty() && path.front() == '/';
  return path.starts_with(mount_point) && (path.size() == mount_point.size() || path[mount_point.size()] == '/');
}

}  // namespace

std::vector<MountInfo> ParseMountInfo(std::string_view text) {
  std::vector<MountInfo> mounts;
  ForEachLine(text, [&](std::string_view line) {
    if (std::optional<MountInfo> mount = ParseMountLine(line)) mounts.push_back(std::move(*mount));
  });
  return mounts;
}

const MountInfo* FindMount(const std::vector<MountInfo>& mounts, std::string_view path) {
  const MountInfo* best = nullptr;
  for (const MountInfo& mount : mounts) {
    if (!IsAtOrBelow(path, mount.mount_point)) continue;
    // ">=": of two mounts at one place the later one is on top.
    if (best == nullptr || mount.mount_point.size() >= best->mount_point.size()) best = &mount;
  }
  return best;
}

std::string LastRootAt(const std::vector<MountInfo>& mounts, std::string_view mount_point) {
  std::string root = "/";
  for (const MountInfo& mount : mounts) {
    if (mount.mount_point == mount_point) root = mount.root;
  }
  return root;
}

}  // namespace iodepth
