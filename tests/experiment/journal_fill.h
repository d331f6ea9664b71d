// Matrix journals made by hand, for the tests that only read or collect one: every unit
// of a plan appended as planned (the cells' identity, no measurements), with the config
// of the seed journal that the journal fuzz target and mutation test start from.
#pragma once

#include "common/status.h"
#include "experiment/matrix.h"

namespace iodepth::testutil {

// Appends every unit of `plan` to `journal`, each with its planned cells.
inline Status FillJournal(MatrixJournal& journal, const MatrixPlan& plan) {
  for (const MatrixUnit& unit : plan.units) {
    JournalUnit record{.unit = unit.key,
                       .suite = unit.cells.front().record.suite,
                       .memory_cap = unit.memory_cap,
                       .memory_ratio = unit.memory_ratio,
                       .finished_utc = "t",
                       .cells = {}};
    for (const CellPlan& cell : unit.cells) record.cells.push_back(cell.record);
    IODEPTH_RETURN_IF_ERROR(journal.Append(record));
  }
  return Status::OK();
}

// The seed journal's config (tests/corpus/matrix_journal/): raw requests and buffer-manager
// fetches at two depths with one memory ratio, so a journal of it has qd, bm and memory
// axis units.
inline MatrixConfig SeedJournalConfig() {
  MatrixConfig config = DefaultMatrixConfig();
  config.workloads = {"rand_read_qd", "bm_rand_read"};
  config.depths = {1, 4};
  config.memory_ratios = {2};
  return config;
}

}  // namespace iodepth::testutil
