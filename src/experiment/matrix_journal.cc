#include "experiment/matrix_journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "common/clock.h"
#include "experiment/matrix_config.h"

namespace iodepth {

namespace {

constexpr const char* kJournalName = "iodepth-matrix";
constexpr int kJournalVersion = 1;

// Writes all of `text` at the end of `path` and makes it durable.
Status AppendDurably(const std::string& path, const std::string& text) {
  const int fd = open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::PosixError(fmt::format("open journal {}", path), errno);
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      close(fd);
      return Status::PosixError(fmt::format("append to journal {}", path), err);
    }
    done += static_cast<size_t>(n);
  }
  if (fdatasync(fd) != 0) {
    const int err = errno;
    close(fd);
    return Status::PosixError(fmt::format("fdatasync journal {}", path), err);
  }
  if (close(fd) != 0) return Status::PosixError(fmt::format("close journal {}", path), errno);
  return Status::OK();
}

// The settings whose values differ between two fingerprints, for the error message.
std::string Differences(const nlohmann::json& had, const nlohmann::json& want) {
  std::string out;
  for (const auto& [key, value] : want.items()) {
    if (had.contains(key) && had[key] == value) continue;
    out += fmt::format("{}{} (journal: {}, now: {})", out.empty() ? "" : ", ", key,
                       had.contains(key) ? had[key].dump() : "absent", value.dump());
  }
  return out.empty() ? "fields the journal has and this version does not" : out;
}

Result<JournalUnit> ParseUnit(const nlohmann::json& line) {
  if (!line.is_object() || !line.contains("unit") || !line["unit"].is_string() || !line.contains("cells") ||
      !line["cells"].is_array()) {
    return Status::InvalidArgument("a line is not a unit record (needs \"unit\" and \"cells\")");
  }
  // Each optional field is checked for its type: json::value() throws on a mismatch, and
  // a journal is untrusted input (edited by hand, damaged).
  const auto field = [&](const char* key, auto check) { return !line.contains(key) || check(line[key]); };
  const bool typed = field("suite", [](const nlohmann::json& v) { return v.is_string(); }) &&
                     field("memory_cap", [](const nlohmann::json& v) { return v.is_number_unsigned(); }) &&
                     field("memory_ratio",
                           [](const nlohmann::json& v) {
                             return v.is_number() && v.get<double>() >= 0 && std::isfinite(v.get<double>());
                           }) &&
                     field("finished_utc", [](const nlohmann::json& v) { return v.is_string(); });
  if (!typed) {
    return Status::InvalidArgument(
        "a unit record with a mistyped field (suite and finished_utc are strings, memory_cap a count, memory_ratio a "
        "number >= 0)");
  }
  JournalUnit unit;
  unit.unit = line["unit"].get<std::string>();
  unit.suite = line.value("suite", "");
  unit.memory_cap = line.value("memory_cap", uint64_t{0});
  unit.memory_ratio = line.value("memory_ratio", 0.0);
  unit.finished_utc = line.value("finished_utc", "");
  for (const nlohmann::json& cell : line["cells"]) {
    IODEPTH_ASSIGN_OR_RETURN(CellRecord record, ParseCell(cell));
    unit.cells.push_back(std::move(record));
  }
  return unit;
}

nlohmann::json Header(const nlohmann::json& fingerprint, const nlohmann::json& config) {
  nlohmann::json header = {
      {"journal", kJournalName}, {"version", kJournalVersion}, {"fingerprint", fingerprint}, {"created_utc", UtcNow()}};
  if (config.is_object()) header["config"] = config;
  return header;
}

// The fingerprint as a journal before relative directories recorded it: "<out>/data" as the
// absolute path of `dir`/data.
nlohmann::json WithAbsoluteDirectory(nlohmann::json fingerprint, const std::string& dir) {
  if (!fingerprint.is_object() || !fingerprint.contains("directory") || !fingerprint["directory"].is_string()) {
    return fingerprint;
  }
  const std::string directory = fingerprint["directory"].get<std::string>();
  if (!directory.starts_with(kOutDirPrefix)) return fingerprint;
  std::error_code ec;
  const std::filesystem::path out = std::filesystem::absolute(dir, ec).lexically_normal();
  if (ec) return fingerprint;
  const std::string inside = directory.size() > kOutDirPrefix.size() ? directory.substr(kOutDirPrefix.size() + 1) : "";
  fingerprint["directory"] = (out / inside).lexically_normal().string();
  return fingerprint;
}

}  // namespace

nlohmann::json JournalUnitToJson(const JournalUnit& unit) {
  nlohmann::json cells = nlohmann::json::array();
  for (const CellRecord& c : unit.cells) cells.push_back(CellToJson(c));
  nlohmann::json json = {{"unit", unit.unit},
                         {"suite", unit.suite},
                         {"memory_cap", unit.memory_cap},
                         {"finished_utc", unit.finished_utc},
                         {"cells", cells}};
  if (unit.memory_ratio > 0) json["memory_ratio"] = unit.memory_ratio;
  return json;
}

Result<MatrixJournal> MatrixJournal::Open(const std::string& dir, const nlohmann::json& fingerprint, bool fresh,
                                          const nlohmann::json& config, bool directory_moved) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::InvalidArgument(fmt::format("cannot create matrix directory {}: {}", dir, ec.message()));
  MatrixJournal journal;
  journal.path_ = dir + "/journal.jsonl";
  const bool exists = std::filesystem::exists(journal.path_, ec);
  if (exists && fresh) {
    // A unique name: an earlier backup of the same second is never replaced.
    journal.backup_path_ = fmt::format("{}.{}.bak", journal.path_, UtcNow("%Y%m%d-%H%M%S"));
    for (int n = 2; std::filesystem::exists(journal.backup_path_, ec); ++n) {
      journal.backup_path_ = fmt::format("{}.{}-{}.bak", journal.path_, UtcNow("%Y%m%d-%H%M%S"), n);
    }
    std::filesystem::rename(journal.path_, journal.backup_path_, ec);
    if (ec) return Status::InvalidArgument(fmt::format("cannot move {} aside: {}", journal.path_, ec.message()));
  }
  journal.config_ = config;
  if (!exists || fresh) {
    IODEPTH_RETURN_IF_ERROR(AppendDurably(journal.path_, Header(fingerprint, config).dump() + "\n"));
    return journal;
  }
  IODEPTH_RETURN_IF_ERROR(journal.Load(fingerprint, dir, directory_moved));
  return journal;
}

Result<nlohmann::json> MatrixJournal::ReadConfig(const std::string& dir) {
  const std::string path = dir + "/journal.jsonl";
  std::ifstream in(path, std::ios::binary);
  if (!in) return nlohmann::json(nullptr);
  std::string line;
  std::getline(in, line);
  const nlohmann::json header = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded() || !header.is_object() || !header.contains("journal") ||
      header["journal"] != kJournalName) {
    return Status::InvalidArgument(
        fmt::format("{} line 1 is not the header of an iodepth matrix journal; pass another --out, or --fresh to "
                    "set it aside",
                    path));
  }
  return header.contains("config") && header["config"].is_object() ? header["config"] : nlohmann::json(nullptr);
}

Status MatrixJournal::Load(const nlohmann::json& fingerprint, const std::string& dir, bool directory_moved) {
  std::ifstream in(path_, std::ios::binary);
  if (!in) return Status::PosixError(fmt::format("open journal {}", path_), errno);
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  // A crash mid-append leaves a last line without its newline: cut it off so the next
  // append starts on a line of its own.
  const size_t end = text.rfind('\n');
  const size_t keep = end == std::string::npos ? 0 : end + 1;
  if (keep < text.size()) {
    dropped_torn_bytes_ = text.size() - keep;
    text.resize(keep);
    std::error_code ec;
    std::filesystem::resize_file(path_, keep, ec);
    if (ec) return Status::InvalidArgument(fmt::format("cut the torn last line of {}: {}", path_, ec.message()));
  }
  if (text.empty()) {  // Even the header was torn: begin the journal again.
    return AppendDurably(path_, Header(fingerprint, config_).dump() + "\n");
  }
  std::istringstream lines(text);
  std::string line;
  size_t number = 0;
  while (std::getline(lines, line)) {
    ++number;
    const nlohmann::json json = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    const auto where = [&](std::string_view what) {
      return Status::InvalidArgument(
          fmt::format("{} line {}: {}; fix or remove the line, or start over with --fresh "
                      "(the old journal is kept as a .bak file)",
                      path_, number, what));
    };
    if (json.is_discarded()) return where("not valid JSON");
    if (number == 1) {
      const bool named = json.is_object() && json.contains("journal") && json["journal"] == kJournalName;
      if (!named || !json.contains("fingerprint")) return where("not an iodepth matrix journal");
      if (!json.contains("version") || json["version"] != kJournalVersion) {
        return where("a journal version this iodepth does not read");
      }
      nlohmann::json recorded = WithAbsoluteDirectory(json["fingerprint"], dir);
      nlohmann::json asked = WithAbsoluteDirectory(fingerprint, dir);
      if (directory_moved && recorded.is_object() && asked.is_object()) {
        recorded.erase("directory");
        asked.erase("directory");
      }
      if (recorded != asked) {
        return Status::FailedPrecondition(fmt::format(
            "{} holds a matrix run with other settings: {}. Resume it with the same settings, pass --out to start "
            "another directory, or --fresh to set it aside (kept as a .bak file) and begin again",
            path_, Differences(json["fingerprint"], fingerprint)));
      }
      continue;
    }
    Result<JournalUnit> unit = ParseUnit(json);
    if (!unit.has_value()) return where(unit.error().message());
    if (!units_.contains(unit->unit)) order_.push_back(unit->unit);
    units_[unit->unit] = std::move(*unit);
  }
  return Status::OK();
}

const JournalUnit* MatrixJournal::Find(const std::string& key) const {
  const auto it = units_.find(key);
  return it == units_.end() ? nullptr : &it->second;
}

Status MatrixJournal::Append(const JournalUnit& unit) {
  IODEPTH_RETURN_IF_ERROR(AppendDurably(path_, JournalUnitToJson(unit).dump() + "\n"));
  if (!units_.contains(unit.unit)) order_.push_back(unit.unit);
  units_[unit.unit] = unit;
  return Status::OK();
}

bool MatrixJournal::Done(const std::string& unit, const std::vector<std::string>& cell_ids) const {
  auto it = units_.find(unit);
  if (it == units_.end()) return false;
  // A unit that failed is run again; one the machine cannot run is done.
  for (const CellRecord& cell : it->second.cells) {
    if (cell.status == "error") return false;
  }
  for (const std::string& id : cell_ids) {
    const auto& cells = it->second.cells;
    if (std::none_of(cells.begin(), cells.end(), [&](const CellRecord& c) { return c.id == id; })) return false;
  }
  return true;
}

std::vector<JournalUnit> MatrixJournal::Units() const {
  std::vector<JournalUnit> out;
  for (const std::string& key : order_) out.push_back(units_.at(key));
  return out;
}

}  // namespace iodepth
