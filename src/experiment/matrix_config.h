// The experiment matrix's description: which workloads, queue depths, modes, backends,
// regimes and memory caps to cross, and the measurement settings every cell shares. It is
// read from a JSON file (docs/BENCHMARKS.md "Matrix config"; comments allowed), narrowed
// by the `iodepth matrix` flags, validated, and turned into one SuiteConfig per suite.
//
//   workload               suite        cells it keeps
//   io_patterns            io_patterns  seq/rand read/write, sync 4 KiB, depth 1 (baseline)
//   seq_read_qd            qd           seq_read_qd{N}
//   rand_read_qd           qd           rand_read_qd{N}
//   bm_seq_read            bm           bm_seq_read_qd{N}
//   bm_rand_read           bm           bm_rand_read_qd{N}
//   bm_seq_read_adaptive   bm           bm_seq_read_adaptive
//   multistream_scan       scan         multistream_scan_qd{N}
//   wal_commit             write        wal_commit_qd{N}      (not in the default matrix:
//   bm_rand_rw             write        bm_rand_rw_qd{N}       name them, or use
//   checkpoint             write        checkpoint_qd{N}       profiles/write.json)
//
// Validation refuses what would measure nothing or the wrong thing, naming the key: an
// unknown workload, a depth of 0, a memory cap below what a cell needs (its pool plus
// kCapReserveBytes for the process), "inherit" beside "none". Pure; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "experiment/suite.h"

namespace iodepth {

// A cap of this value means "inherit": the process already runs in a limited cgroup
// (systemd-run --scope -p MemoryMax=...), whose limit is the cap.
inline constexpr uint64_t kInheritCap = UINT64_MAX;
// Memory a capped cell needs besides its buffer pool: the binary, heap, thread stacks,
// rings and I/O buffers. Measured peak of a capped qd cell here is about 12 MiB.
inline constexpr uint64_t kCapReserveBytes = 32ull << 20;
// ... plus, for a cell with a buffer pool, the pool's bookkeeping per frame: its frame
// record and its page-table entry, about 110 bytes. (A 4 GiB pool of 8 KiB pages, 512 Ki
// frames, overran a flat 32 MiB reserve and its cgroup killed the run.)
inline constexpr uint64_t kCapReservePerFrameBytes = 128;
// The reserve of a cell whose buffer pool holds pool_bytes in pages of page_bytes
// (pool_bytes 0: no pool): kCapReserveBytes + frames x kCapReservePerFrameBytes, rounded
// up to a whole MiB.
uint64_t CapReserveBytes(uint64_t pool_bytes, uint64_t page_bytes);

struct MatrixConfig {
  std::vector<std::string> workloads;
  std::vector<uint32_t> depths;
  std::vector<CacheMode> modes;
  std::vector<Backend> backends;
  std::vector<Regime> regimes;
  std::vector<uint64_t> memory_caps;  // 0: no cap; kInheritCap: the process's own limit.
  // The memory axis: working set / memory ratios. For each, the raw-request cells (qd
  // suite) run once more under a cap sized from their working set (MemoryRatioCap), and
  // the bm and scan cells once more with the memory split as each mode's engine would
  // (experiment/suite.h "Memory axis") under a cap sized from the table's working set.
  std::vector<double> memory_ratios;
  uint32_t repetitions = 3;
  // Repetitions until decided (matrix.h): a unit whose direct/buffered comparison is
  // undecided after `repetitions` gets `repetition_step` more (an even number, so the ABBA
  // order stays balanced) until decided, `max_repetitions` or `budget_ns` of re-measuring
  // is spent. max_repetitions <= repetitions: never re-measure.
  uint32_t max_repetitions = 0;
  uint32_t repetition_step = 4;
  int64_t budget_ns = 0;  // 0: no limit of time on re-measuring.
  int64_t runtime_ns = 0;
  int64_t ramp_ns = 0;
  uint64_t file_size_bytes = 0;  // The qd and io_patterns data files.
  uint64_t block_size = 0;       // Their request size.
  uint64_t memory_bytes = 0;     // bm, scan: the buffer pool M.
  PageSize page_size = kDefaultPageSize;
  uint32_t io_combine_bytes = 0;
  // Every io_uring queue's IOSQE_ASYNC rule for buffered reads (io/io_queue.h UringAsync):
  // run the matrix once per value to measure what it gains the buffered side.
  UringAsync uring_async = UringAsync::kNever;
  ScanStrategy scan_strategy = ScanStrategy::kAuto;  // How the scans share the pool.
  uint32_t streams = 0;
  uint32_t work = 0;
  uint64_t seed = 1;
  bool verify = false;
  std::string directory;  // Where the data files live; "" = <out>/data.
};

// The names in the table above, in run order.
const std::vector<std::string_view>& MatrixWorkloadNames();

// The default matrix (docs/BENCHMARKS.md): every workload, qd 1/4/16/32, buffered and
// direct, io_uring and sync, hot/pressure/thrash, with no cap and with a 128 MiB cap,
// 5 repetitions of 400 ms after 200 ms of ramp, a 256 MiB file and a 64 MiB pool.
MatrixConfig DefaultMatrixConfig();

// Reads a config document over `base`: keys present replace base's values, others keep
// them. Unknown keys and malformed values are errors naming the key and `source`.
Result<MatrixConfig> ParseMatrixConfig(const nlohmann::json& json, const MatrixConfig& base, std::string_view source);
Result<MatrixConfig> ReadMatrixConfigFile(const std::string& path, const MatrixConfig& base);

// The config as a document ParseMatrixConfig reads back to the same config.
nlohmann::json MatrixConfigToJson(const MatrixConfig& config);

// What makes two runs' cells comparable (runtime, sizes, seed, the data directory, so
// the device...): a journal refuses to be resumed under a config whose fingerprint
// differs. Lists, which only select cells, are not part of it. A data directory inside
// `out_dir` is recorded relative to it ("<out>/data"), so a results directory that is
// moved or copied whole resumes and collects where it lies; one outside is absolute.
nlohmann::json MatrixFingerprint(const MatrixConfig& config, const std::string& data_dir,
                                 const std::string& out_dir = "");
// The prefix of a directory recorded relative to the results directory.
inline constexpr std::string_view kOutDirPrefix = "<out>";

Status ValidateMatrixConfig(const MatrixConfig& config);

// The memory axis (docs/BENCHMARKS.md "Memory axis"). For raw requests, "memory" is what
// the cell's page cache may hold: a buffered cell's cache is charged to the cap, a direct
// cell uses none of it (only its I/O buffers, which the reserve covers). For a working set
// W and ratio r: memory M = W / r, rounded up to a whole MiB; cap = M + the reserve
// (CapReserveBytes: of a pool of M in pages of pool_page_bytes, the bm and scan cells,
// whose direct pool holds M; pool_page_bytes 0 for the raw-request cells, no pool).
uint64_t MemoryRatioBudget(uint64_t working_set_bytes, double ratio);
uint64_t MemoryRatioCap(uint64_t working_set_bytes, double ratio, uint64_t pool_page_bytes = 0);

// The most repetitions a unit may get: max_repetitions, or repetitions when that is larger.
uint32_t MaxRepetitions(const MatrixConfig& config);

// "none", "inherit" or "128 MiB"; the file-name form is "nocap", "capinherit", "cap128MiB"
// (exact: a cap that is not a whole number of MiB is named in bytes, "cap1000000000").
std::string CapLabel(uint64_t cap);
std::string CapFileTag(uint64_t cap);
Result<uint64_t> ParseCap(std::string_view text, std::string_view what);

// One suite's share of the matrix: the SuiteConfig whose plan holds its cells.
struct MatrixGroup {
  SuiteConfig suite;
  bool needs_pool = false;  // bm and scan: the cap must hold the pool.
  // bm, scan: a group of the memory axis, for this ratio (its suite's memory_budget_bytes
  // is MemoryRatioBudget of the table's working set); it runs under memory_axis_cap only.
  double memory_ratio = 0;
  uint64_t memory_axis_cap = 0;
};

// The groups the config's workloads need, in run order; data files under `data_dir`. The
// bm and scan groups are each followed by one group per memory ratio.
std::vector<MatrixGroup> MatrixGroups(const MatrixConfig& config, const std::string& data_dir);

}  // namespace iodepth
