#include "cli/flag_hints.h"

#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace iodepth::tools {

namespace {

// One setting and the flag (or flag with value, "--direct=0") that changes it.
struct FlagForSetting {
  std::string_view setting;
  std::string_view flag;
};

// The flags most commands share (fio's names).
constexpr FlagForSetting kCommonFlags[] = {
    {"backend", "--engine=worker"},
    {"batch_submit", "--iodepth_batch_submit"},
    {"block_size", "--bs"},
    {"cache_state", "--cache_state"},
    {"direct", "--direct=0"},
    {"direct_fallback", "--direct_fallback"},
    {"drop_caches", "--drop_caches"},
    {"filename", "--filename"},
    {"fixed_buffers", "--fixedbufs"},
    {"number_ios", "--number_ios"},
    {"queue_depth", "--iodepth"},
    {"registered_files", "--registerfiles"},
    {"runtime", "--runtime"},
    {"rw", "--rw"},
    {"size", "--size"},
    {"streams", "--streams"},
    {"verify", "--verify"},
};

// Where a command names a setting's flag differently, it says so here first.
constexpr FlagForSetting kSuiteFlags[] = {{"backend", "--backends"},
                                          {"cache_mode", "--modes"},
                                          {"queue_depth", "--depths"},
                                          {"regime", "--regimes"},
                                          {"update_fraction", "--update-fraction"},
                                          {"writeback_depth", "--writeback-depth"},
                                          {"record_bytes", "--record-bytes"}};

// `iodepth wal` names the log's settings.
constexpr FlagForSetting kWalFlags[] = {{"wal_block_bytes", "--block-size"},
                                        {"wal_segment_bytes", "--segment-size"},
                                        {"wal_sync", "--sync"},
                                        {"wal_cache", "--direct"},
                                        {"wal_buffer_blocks", "--record-bytes"},
                                        {"wal_group_commit_delay_us", "--group-delay-us"},
                                        {"committers", "--committers"},
                                        {"record_bytes", "--record-bytes"},
                                        {"directory", "--directory"}};

std::span<const FlagForSetting> OverridesOf(std::string_view command) {
  if (command == "suite" || command == "matrix" || command == "advise") return kSuiteFlags;
  if (command == "wal") return kWalFlags;
  return {};
}

std::string_view FlagFor(std::string_view command, std::string_view setting) {
  for (const FlagForSetting& entry : OverridesOf(command)) {
    if (entry.setting == setting) return entry.flag;
  }
  for (const FlagForSetting& entry : kCommonFlags) {
    if (entry.setting == setting) return entry.flag;
  }
  return {};
}

}  // namespace

Status WithFlagHint(const Status& status, std::string_view command) {
  if (status.ok() || status.setting().empty()) return status;
  std::vector<std::string_view> flags;
  std::string_view settings = status.setting();
  while (!settings.empty()) {
    const size_t comma = settings.find(',');
    const std::string_view flag = FlagFor(command, settings.substr(0, comma));
    if (!flag.empty()) flags.push_back(flag);
    settings = comma == std::string_view::npos ? std::string_view() : settings.substr(comma + 1);
  }
  if (flags.empty()) return status;
  return status.WithSuffix(fmt::format(" (change {})", fmt::join(flags, ", ")));
}

}  // namespace iodepth::tools
