// The matrix's journal: the file that makes a long run resumable. Every finished unit
// (a cell's buffered and direct twins, all repetitions) is appended as one JSON line and
// fdatasync'd before the next unit starts, so an interrupted run (Ctrl-C, kill, crash,
// power loss) loses at most the unit it was in, and a rerun skips what the journal holds.
//
//   journal.jsonl
//   +--------------------------------------------------------------------------------+
//   | {"journal":"iodepth-matrix","version":1,"fingerprint":{...},"config":{...},...}  |  header
//   | {"unit":"qd:seq_read_qd4/io_uring@nocap","suite":"qd","memory_cap":0,"cells":[..]}|  unit
//   | {"unit":...}                                                                     |  ...
//   | {"unit":"bm:bm_rand_read_qd1/sync/hot@cap1342   <- torn by a crash: dropped      |
//   +--------------------------------------------------------------------------------+
//
// The header's fingerprint is the measurement settings (matrix_config.h): a journal is
// only continued under the same ones, so no result set mixes runtimes or file sizes. A
// torn last line is cut off on open. A unit written twice (it cannot be, but a journal
// edited by hand might) counts once: the later line wins. One thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "results/results.h"

namespace iodepth {

struct JournalUnit {
  std::string unit;
  std::string suite;
  uint64_t memory_cap = 0;
  // bm, scan units of the memory axis: the working set / memory ratio (their pools differ
  // from the other units'); 0 for every other unit (a qd unit's ratio is its cap's).
  double memory_ratio = 0;
  std::string finished_utc;
  std::vector<CellRecord> cells;
};

class MatrixJournal {
 public:
  // Opens (or creates) <dir>/journal.jsonl. With `fresh`, an existing journal is renamed
  // to journal.jsonl.<time>.bak (kept, never deleted) and a new one begun. A journal
  // whose fingerprint differs is an error naming the settings that differ.
  // A new journal's header also records `config` (the whole matrix config, when given),
  // so a resume or a --collect need not repeat the flags it ran with (ReadConfig). A
  // fingerprint naming the data directory relative to `dir` ("<out>/data") also matches
  // the absolute path an older journal recorded for that same place. With
  // `directory_moved` the data directory alone may differ from the recorded one: a data
  // directory outside `dir` that moved, named again with --directory (every other
  // setting is still checked), or a --collect, which reads no data file.
  static Result<MatrixJournal> Open(const std::string& dir, const nlohmann::json& fingerprint, bool fresh,
                                    const nlohmann::json& config = nullptr, bool directory_moved = false);
  // The config the journal in `dir` recorded, or null when there is no journal or its
  // header has none (journals before it did); an error for a header that is not one.
  static Result<nlohmann::json> ReadConfig(const std::string& dir);

  MatrixJournal(MatrixJournal&&) = default;
  MatrixJournal& operator=(MatrixJournal&&) = default;
  MatrixJournal(const MatrixJournal&) = delete;
  MatrixJournal& operator=(const MatrixJournal&) = delete;

  // Held with every cell in `cell_ids` and none failed. A unit whose cells ended in error
  // is run again on resume, and so is one missing a planned cell (a run with fewer modes
  // made it): the whole unit, so that its twins stay interleaved.
  bool Done(const std::string& unit, const std::vector<std::string>& cell_ids) const;
  // Appends the unit and makes it durable (write, fdatasync) before returning.
  Status Append(const JournalUnit& unit);
  // The unit held under `key` (its latest line), or nullptr.
  const JournalUnit* Find(const std::string& key) const;
  // Every unit held, in the order first written.
  std::vector<JournalUnit> Units() const;
  const std::string& path() const { return path_; }
  size_t dropped_torn_bytes() const { return dropped_torn_bytes_; }
  const std::string& backup_path() const { return backup_path_; }

 private:
  MatrixJournal() = default;
  Status Load(const nlohmann::json& fingerprint, const std::string& dir, bool directory_moved);

  std::string path_;
  std::string backup_path_;
  nlohmann::json config_;  // For a header written again (a torn one).
  size_t dropped_torn_bytes_ = 0;
  std::vector<std::string> order_;
  std::map<std::string, JournalUnit> units_;
};

nlohmann::json JournalUnitToJson(const JournalUnit& unit);

}  // namespace iodepth
