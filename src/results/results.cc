#include "results/results.h"

#include <algorithm>
#include <cmath>
#include <concepts>
#include <fstream>
#include <sstream>
#include <type_traits>

#include <fmt/format.h>

#include "results/job_report.h"

// An absent optional record is written as null and read back from null.
namespace nlohmann {
template <typename T>
struct adl_serializer<std::optional<T>> {
  static void to_json(json& j, const std::optional<T>& value) {
    if (value) {
      j = *value;
    } else {
      j = nullptr;
    }
  }
  static void from_json(const json& j, std::optional<T>& value) {
    if (j.is_null()) {
      value.reset();
    } else {
      value = j.get<T>();
    }
  }
};
}  // namespace nlohmann

namespace iodepth {

// A record whose fields grew after its first version lists them once, in a Fields()
// template both directions share: `required` for the first version's fields (a file
// without one is refused, naming it), `added` for later ones (older files lack them and
// read as the given default).
namespace {
struct JsonWriter {
  nlohmann::json& j;
  template <typename T>
  void required(const char* key, const T& field) {
    j[key] = field;
  }
  template <typename T, typename D = T>
  void added(const char* key, const T& field, const D& /*absent*/ = D{}) {
    j[key] = field;
  }
};
struct JsonReader {
  const nlohmann::json& j;
  template <typename T>
  void required(const char* key, T& field) {
    j.at(key).get_to(field);
  }
  template <typename T, typename D = T>
  void added(const char* key, T& field, const D& absent = D{}) {
    const auto it = j.find(key);
    field = it == j.end() ? T(absent) : it->template get<T>();
  }
};
}  // namespace

template <typename R, typename F>
requires std::same_as<std::remove_const_t<R>, BufferRecord>
void Fields(R& r, F&& f) {
  f.required("memory_bytes", r.memory_bytes);
  f.required("working_set_bytes", r.working_set_bytes);
  f.required("page_bytes", r.page_bytes);
  f.required("fetches", r.fetches);
  f.required("hits", r.hits);
  f.required("misses", r.misses);
  f.required("hit_ratio", r.hit_ratio);
  f.required("reads", r.reads);
  f.required("read_bytes", r.read_bytes);
  f.required("mean_read_bytes", r.mean_read_bytes);
  f.required("reads_by_pages", r.reads_by_pages);
  f.required("consumer_waits", r.consumer_waits);
  f.required("wait_ns", r.wait_ns);
  f.required("wait_fraction", r.wait_fraction);
  f.required("mean_distance", r.mean_distance);
  f.added("mean_combine_pages", r.mean_combine_pages);
  f.added("mean_pinned_pages", r.mean_pinned_pages);
}
template <typename R, typename F>
requires std::same_as<std::remove_const_t<R>, MedianBufferRecord>
void Fields(R& r, F&& f) {
  f.required("hit_ratio", r.hit_ratio);
  f.required("mean_read_bytes", r.mean_read_bytes);
  f.required("reads_per_s", r.reads_per_s);
  f.required("wait_fraction", r.wait_fraction);
  f.required("mean_distance", r.mean_distance);
  f.added("mean_combine_pages", r.mean_combine_pages);
  f.added("mean_pinned_pages", r.mean_pinned_pages);
}
template <typename R, typename F>
requires std::same_as<std::remove_const_t<R>, ScanRecord>
void Fields(R& r, F&& f) {
  f.required("streams", r.streams);
  f.required("rows", r.rows);
  f.required("rows_per_s", r.rows_per_s);
  f.required("passes_checked", r.passes_checked);
  f.required("stream_bw_bytes", r.stream_bw_bytes);
  f.added("strategy", r.strategy, std::string("clock"));  // Before rings, every scan used the clock.
  f.added("ring_reused_pages", r.ring_reused_pages);
}
template <typename R, typename F>
requires std::same_as<std::remove_const_t<R>, DepthRecord>
void Fields(R& r, F&& f) {
  f.required("target", r.target);
  f.required("mean_in_flight", r.mean_in_flight);
  f.required("utilization", r.utilization);
  f.required("littles_law", r.littles_law);
  f.required("submit_calls", r.submit_calls);
  f.required("submitted", r.submitted);
  f.required("reap_calls", r.reap_calls);
  f.required("reaped", r.reaped);
  f.required("avg_submit_batch", r.avg_submit_batch);
  f.required("avg_reap_batch", r.avg_reap_batch);
  f.required("resubmits", r.resubmits);
  f.required("refills_short", r.refills_short);
  f.added("inline_completions", r.inline_completions);
  f.added("async_issued", r.async_issued);
  f.added("submit_ns_per_io", r.submit_ns_per_io);
  f.added("context_switches_per_io", r.context_switches_per_io);
  f.added("jobs", r.jobs, uint32_t{1});  // Before numjobs, every cell ran one queue.
}

#define IODEPTH_JSON_BY_FIELDS(Record)               \
  void to_json(nlohmann::json& j, const Record& r) { \
    j = nlohmann::json::object();                    \
    Fields(r, JsonWriter{j});                        \
  }                                                  \
  void from_json(const nlohmann::json& j, Record& r) { Fields(r, JsonReader{j}); }
IODEPTH_JSON_BY_FIELDS(BufferRecord)
IODEPTH_JSON_BY_FIELDS(MedianBufferRecord)
IODEPTH_JSON_BY_FIELDS(ScanRecord)
IODEPTH_JSON_BY_FIELDS(DepthRecord)
#undef IODEPTH_JSON_BY_FIELDS
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(MedianScanRecord, rows_per_s, min_stream_bw_bytes)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(LatencyRecord, min, max, mean, N, percentile)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(MemoryRecord, cgroup, cap_bytes, peak_bytes, page_cache_bytes, refaults,
                                   limit_events, oom_kills)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(MedianMemoryRecord, peak_bytes, page_cache_bytes, refaults)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(DeviceRecord, name, kind, read_bytes, write_bytes, read_ios, write_ios)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(MedianDeviceRecord, read_bytes, write_bytes, requested_bytes)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(WriteRecord, sync, commits_per_flush, syncs_per_commit, bytes_per_commit,
                                   max_write_depth, update_fraction, updates, writeback_depth, pages_written,
                                   background_writebacks, evictor_writebacks, dirty_pages, checkpoints,
                                   mean_checkpoint_ns, sync_ns, reader_during_ns, reader_between_ns)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(RepetitionRecord, iops, bw_bytes, total_ios, io_bytes, runtime_ns, clat_ns,
                                   usr_cpu_ns, sys_cpu_ns, cpu_ns_per_io, depth, resident_before, verified_bytes,
                                   buffer, scan, memory, device, write)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(MedianLatencyRecord, mean, max, percentile)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(MedianDepthRecord, mean_in_flight, littles_law, utilization)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(MedianRecord, iops, bw_bytes, clat_ns, cpu_ns_per_io, depth, buffer, scan, memory,
                                   device)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(CvRecord, iops, bw_bytes, clat_ns_p95)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(CellRecord, id, workload, suite, rw, qd, bs, mode, backend, cache_state, regime,
                                   policy, memory_cap, status, reason, flags, median, cv, repetitions)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(FioCrossCheckRecord, cell, fio, ratio)

std::string PercentileKey(double percent) { return fmt::format("{:.6f}", percent); }

namespace {

double Ratio(double a, double b) { return b > 0 ? a / b : 0; }

template <typename T, typename Get>
double Median(const std::vector<T>& items, Get get) {
  if (items.empty()) return 0;
  std::vector<double> values;
  for (const T& item : items) values.push_back(static_cast<double>(get(item)));
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// Coefficient of variation (sample standard deviation / mean); 0 with fewer than two.
template <typename T, typename Get>
double Cv(const std::vector<T>& items, Get get) {
  if (items.size() < 2) return 0;
  double sum = 0;
  for (const T& item : items) sum += static_cast<double>(get(item));
  const double mean = sum / static_cast<double>(items.size());
  if (mean == 0) return 0;
  double squares = 0;
  for (const T& item : items) squares += std::pow(static_cast<double>(get(item)) - mean, 2);
  return std::sqrt(squares / static_cast<double>(items.size() - 1)) / mean;
}

uint64_t PercentileOf(const RepetitionRecord& r, const std::string& key) {
  auto it = r.clat_ns.percentile.find(key);
  return it == r.clat_ns.percentile.end() ? 0 : it->second;
}

// Bytes a repetition needed from storage: what the pool read on its misses (bm, scan), or
// every byte it asked for (qd, io_patterns).
double RequestedBytes(const RepetitionRecord& r) {
  return static_cast<double>(r.buffer ? r.buffer->read_bytes : r.io_bytes);
}

// A cold buffered read cell that the device barely saw measured the page cache.
bool ServedFromMemory(const CellRecord& cell) {
  const bool cold_read = cell.cache_state == "cold" && (cell.rw == "read" || cell.rw == "randread");
  if (!cold_read || !cell.median.device || cell.median.device->requested_bytes <= 0) return false;
  return cell.median.device->read_bytes < kServedFromMemoryThreshold * cell.median.device->requested_bytes;
}

void AddFlags(CellRecord& cell) {
  cell.flags.clear();
  if (cell.cv.iops > kCvFlagThreshold) cell.flags.push_back("cv_high");
  // A hot bm cell does no I/O and an adaptive one treats its qd as a ceiling: neither
  // has a depth to keep.
  const bool keeps_depth = cell.regime != "hot" && cell.policy != "adaptive";
  // The depth asked for: qd, or for multistream scans S x qd (every scan keeps qd).
  const double target = std::max<double>(cell.qd, cell.repetitions.empty() ? 0 : cell.repetitions[0].depth.target);
  if (keeps_depth && cell.median.depth.littles_law < kDepthShortThreshold * target) cell.flags.push_back("depth_short");
  for (const RepetitionRecord& r : cell.repetitions) {
    if (r.resident_before < 0) continue;
    if (cell.cache_state == "cold" && r.resident_before > kColdResidentThreshold) {
      cell.flags.push_back("cold_but_cached");
      break;
    }
    if (cell.cache_state == "warm" && r.resident_before < kWarmResidentThreshold) {
      cell.flags.push_back("warm_not_cached");
      break;
    }
  }
  if (ServedFromMemory(cell)) cell.flags.push_back("served_from_memory");
  if (std::any_of(cell.repetitions.begin(), cell.repetitions.end(),
                  [](const RepetitionRecord& r) { return r.device && r.device->kind == "memory"; })) {
    cell.flags.push_back("memory_device");
  }
}

}  // namespace

LatencyRecord MakeLatencyRecord(const LatencyHistogram& histogram) {
  LatencyRecord record;
  record.min = histogram.min();
  record.max = histogram.max();
  record.mean = histogram.mean();
  record.N = histogram.count();
  for (double p : kReportedPercentiles) record.percentile[PercentileKey(p)] = histogram.Percentile(p);
  return record;
}

RepetitionRecord MakeRepetitionRecord(const JobSpec& spec, const JobResult& result, double resident_before) {
  RepetitionRecord r;
  r.iops = result.iops();
  r.bw_bytes = result.bw_bytes();
  r.total_ios = result.ios;
  r.io_bytes = result.bytes;
  r.runtime_ns = result.window_ns;
  r.clat_ns = MakeLatencyRecord(result.clat_ns);
  r.usr_cpu_ns = result.cpu.user_ns;
  r.sys_cpu_ns = result.cpu.system_ns;
  r.cpu_ns_per_io = result.cpu_ns_per_io();
  const IoQueueStats& q = result.queue_stats;
  const uint32_t target = (spec.sync_path ? 1 : spec.queue.depth) * result.jobs;
  r.depth =
      DepthRecord{.target = target,
                  .mean_in_flight = result.mean_in_flight,
                  .utilization = Ratio(result.mean_in_flight, target),
                  .littles_law = result.littles_law_depth(),
                  .submit_calls = q.submit_calls,
                  .submitted = q.submitted,
                  .reap_calls = q.reap_calls,
                  .reaped = q.reaped,
                  .avg_submit_batch = Ratio(static_cast<double>(q.submitted), static_cast<double>(q.submit_calls)),
                  .avg_reap_batch = Ratio(static_cast<double>(q.reaped), static_cast<double>(q.reap_calls)),
                  .resubmits = q.resubmits,
                  .refills_short = result.refills_short,
                  .inline_completions = q.inline_completions,
                  .async_issued = q.async_issued,
                  .submit_ns_per_io = Ratio(static_cast<double>(q.submit_ns), static_cast<double>(q.submitted)),
                  .context_switches_per_io =
                      Ratio(static_cast<double>(result.cpu.context_switches), static_cast<double>(result.ios)),
                  .jobs = result.jobs};
  r.resident_before = resident_before;
  r.verified_bytes = result.verified_bytes;
  if (result.device) {
    // Named by the caller, who knows which device the spec counted.
    r.device = DeviceRecord{.name = "",
                            .kind = "",
                            .read_bytes = result.device->read_bytes,
                            .write_bytes = result.device->write_bytes,
                            .read_ios = result.device->read_ios,
                            .write_ios = result.device->write_ios};
  }
  return r;
}

namespace {

// A write record with every figure 0 (the latencies of no samples, their keys present).
WriteRecord EmptyWriteRecord() {
  WriteRecord record;
  record.reader_during_ns = MakeLatencyRecord(LatencyHistogram{});
  record.reader_between_ns = record.reader_during_ns;
  return record;
}

}  // namespace

RepetitionRecord MakeBmRepetitionRecord(const JobSpec& spec, const BmResult& result, double resident_before) {
  RepetitionRecord r = MakeRepetitionRecord(spec, result.job, resident_before);
  const BmStats& b = result.buffer;
  const double seconds = static_cast<double>(result.job.window_ns) / 1e9;
  // Depth is about reads, not fetches: Little's law over read requests and their latency.
  r.depth.littles_law = seconds > 0 ? static_cast<double>(b.reads) / seconds * result.job.clat_ns.mean() / 1e9 : 0;
  BufferRecord buffer{.memory_bytes = b.memory_bytes,
                      .working_set_bytes = b.working_set_bytes,
                      .page_bytes = b.page_bytes,
                      .fetches = b.fetches,
                      .hits = b.hits,
                      .misses = b.misses,
                      .hit_ratio = b.hit_ratio(),
                      .reads = b.reads,
                      .read_bytes = b.read_bytes,
                      .mean_read_bytes = Ratio(static_cast<double>(b.read_bytes), static_cast<double>(b.reads)),
                      .reads_by_pages = {},
                      .consumer_waits = b.consumer_waits,
                      .wait_ns = b.wait_ns,
                      // Of each consumer's time: their waits over all their windows.
                      .wait_fraction = Ratio(static_cast<double>(b.wait_ns),
                                             static_cast<double>(result.job.window_ns) * result.job.jobs),
                      .mean_distance = b.mean_distance,
                      .mean_combine_pages = b.mean_combine_pages,
                      .mean_pinned_pages = b.mean_pinned_pages};
  for (size_t n = 1; n < b.reads_by_pages.size(); ++n) {
    if (b.reads_by_pages[n] > 0) buffer.reads_by_pages[std::to_string(n)] = b.reads_by_pages[n];
  }
  r.buffer = std::move(buffer);
  if (b.update_fraction > 0) {
    r.write = EmptyWriteRecord();
    r.write->update_fraction = b.update_fraction;
    r.write->updates = b.updates;
    r.write->writeback_depth = b.writeback_depth;
    r.write->pages_written = b.pages_written;
    r.write->background_writebacks = b.background_writebacks;
    r.write->evictor_writebacks = b.evictor_writebacks;
  }
  return r;
}

RepetitionRecord MakeWalRepetitionRecord(const JobSpec& spec, const WalJobResult& result, const std::string& sync,
                                         double resident_before) {
  JobResult job;
  job.backend = result.backend;
  job.ios = result.commits;
  job.bytes = result.bytes_written;
  job.window_ns = result.window_ns;
  job.clat_ns = result.latency_ns;
  job.cpu = result.cpu;
  // Commits in flight at once (Little's law over commits and their latency).
  job.mean_in_flight = job.littles_law_depth();
  RepetitionRecord r = MakeRepetitionRecord(spec, job, resident_before);
  r.write = EmptyWriteRecord();
  r.write->sync = sync;
  r.write->commits_per_flush = result.commits_per_flush;
  r.write->syncs_per_commit = result.syncs_per_commit;
  r.write->bytes_per_commit = result.bytes_written_per_commit;
  r.write->max_write_depth = result.max_write_depth;
  return r;
}

RepetitionRecord MakeCheckpointRepetitionRecord(const JobSpec& spec, const CheckpointResult& result,
                                                double resident_before) {
  RepetitionRecord r = MakeRepetitionRecord(spec, result.job, resident_before);
  const CheckpointStats& c = result.checkpoint;
  r.write = EmptyWriteRecord();
  r.write->pages_written = result.job.ios;
  r.write->dirty_pages = c.dirty_pages;
  r.write->checkpoints = c.checkpoints;
  r.write->mean_checkpoint_ns = c.mean_checkpoint_ns;
  r.write->sync_ns = c.sync_ns;
  r.write->reader_during_ns = MakeLatencyRecord(c.reader_during_ns);
  r.write->reader_between_ns = MakeLatencyRecord(c.reader_between_ns);
  return r;
}

RepetitionRecord MakeScanRepetitionRecord(const JobSpec& spec, const ScanJobResult& result, double resident_before) {
  RepetitionRecord r =
      MakeBmRepetitionRecord(spec, BmResult{.job = result.job, .buffer = result.buffer}, resident_before);
  // The consumers are the scans: their waiting is shared out over S of them.
  const double streams = static_cast<double>(std::max<size_t>(result.streams.size(), 1));
  r.buffer->wait_fraction =
      Ratio(static_cast<double>(result.buffer.wait_ns), static_cast<double>(result.job.window_ns) * streams);
  ScanRecord scan{
      .streams = static_cast<uint32_t>(result.streams.size()),
      .rows = result.rows,
      .rows_per_s = Ratio(static_cast<double>(result.rows) * 1e9, static_cast<double>(result.job.window_ns)),
      .passes_checked = result.passes_checked,
      .stream_bw_bytes = {},
      .strategy = std::string(ScanStrategyName(result.strategy)),
      .ring_reused_pages = result.ring.reused_pages};
  for (const ScanStreamResult& s : result.streams) scan.stream_bw_bytes.push_back(s.bw_bytes);
  r.scan = std::move(scan);
  return r;
}

void SummariseCell(CellRecord& cell) {
  const auto& reps = cell.repetitions;
  MedianRecord& m = cell.median;
  m.iops = Median(reps, [](const auto& r) { return r.iops; });
  m.bw_bytes = Median(reps, [](const auto& r) { return r.bw_bytes; });
  m.clat_ns.mean = Median(reps, [](const auto& r) { return r.clat_ns.mean; });
  m.clat_ns.max = static_cast<uint64_t>(Median(reps, [](const auto& r) { return r.clat_ns.max; }));
  m.clat_ns.percentile.clear();
  for (double p : kReportedPercentiles) {
    const std::string key = PercentileKey(p);
    m.clat_ns.percentile[key] =
        static_cast<uint64_t>(Median(reps, [&](const auto& r) { return PercentileOf(r, key); }));
  }
  m.cpu_ns_per_io = Median(reps, [](const auto& r) { return r.cpu_ns_per_io; });
  m.depth.mean_in_flight = Median(reps, [](const auto& r) { return r.depth.mean_in_flight; });
  m.depth.littles_law = Median(reps, [](const auto& r) { return r.depth.littles_law; });
  m.depth.utilization = Median(reps, [](const auto& r) { return r.depth.utilization; });
  m.buffer.reset();
  if (!reps.empty() && std::all_of(reps.begin(), reps.end(), [](const auto& r) { return r.buffer.has_value(); })) {
    m.buffer = MedianBufferRecord{
        .hit_ratio = Median(reps, [](const auto& r) { return r.buffer->hit_ratio; }),
        .mean_read_bytes = Median(reps, [](const auto& r) { return r.buffer->mean_read_bytes; }),
        .reads_per_s = Median(reps,
                              [](const auto& r) {
                                return Ratio(static_cast<double>(r.buffer->reads) * 1e9,
                                             static_cast<double>(r.runtime_ns));
                              }),
        .wait_fraction = Median(reps, [](const auto& r) { return r.buffer->wait_fraction; }),
        .mean_distance = Median(reps, [](const auto& r) { return r.buffer->mean_distance; }),
        .mean_combine_pages = Median(reps, [](const auto& r) { return r.buffer->mean_combine_pages; }),
        .mean_pinned_pages = Median(reps, [](const auto& r) { return r.buffer->mean_pinned_pages; })};
  }
  m.scan.reset();
  if (!reps.empty() && std::all_of(reps.begin(), reps.end(), [](const auto& r) { return r.scan.has_value(); })) {
    m.scan = MedianScanRecord{.rows_per_s = Median(reps, [](const auto& r) { return r.scan->rows_per_s; }),
                              .min_stream_bw_bytes = Median(reps, [](const auto& r) {
                                const auto& bw = r.scan->stream_bw_bytes;
                                return bw.empty() ? 0.0 : *std::min_element(bw.begin(), bw.end());
                              })};
  }
  m.memory.reset();
  if (!reps.empty() && std::all_of(reps.begin(), reps.end(), [](const auto& r) { return r.memory.has_value(); })) {
    m.memory =
        MedianMemoryRecord{.peak_bytes = Median(reps, [](const auto& r) { return r.memory->peak_bytes; }),
                           .page_cache_bytes = Median(reps, [](const auto& r) { return r.memory->page_cache_bytes; }),
                           .refaults = Median(reps, [](const auto& r) { return r.memory->refaults; })};
  }
  m.device.reset();
  if (!reps.empty() && std::all_of(reps.begin(), reps.end(), [](const auto& r) { return r.device.has_value(); })) {
    m.device = MedianDeviceRecord{.read_bytes = Median(reps, [](const auto& r) { return r.device->read_bytes; }),
                                  .write_bytes = Median(reps, [](const auto& r) { return r.device->write_bytes; }),
                                  .requested_bytes = Median(reps, [](const auto& r) { return RequestedBytes(r); })};
  }
  const std::string p95 = PercentileKey(95);
  cell.cv = CvRecord{.iops = Cv(reps, [](const auto& r) { return r.iops; }),
                     .bw_bytes = Cv(reps, [](const auto& r) { return r.bw_bytes; }),
                     .clat_ns_p95 = Cv(reps, [&](const auto& r) { return PercentileOf(r, p95); })};
  if (cell.status == "ok") AddFlags(cell);
}

nlohmann::json ToJson(const ResultsDocument& d) {
  return {{"schema", "iodepth-results"},
          {"schema_version", kResultsSchemaVersion},
          {"iodepth_version", d.iodepth_version},
          {"git_commit", d.git_commit},
          {"created_utc", d.created_utc},
          {"command", d.command},
          {"config", d.config},
          {"environment", d.environment},
          {"cells", d.cells},
          {"fio_crosscheck", d.fio_crosscheck}};
}

namespace {

// Files written before device accounting have no device records: null, as for a cell
// whose device could not be read.
void FillMissingDevice(nlohmann::json& cell) {
  if (!cell.is_object()) return;
  if (cell.contains("median") && cell["median"].is_object()) cell["median"].emplace("device", nullptr);
  if (!cell.contains("repetitions") || !cell["repetitions"].is_array()) return;
  for (nlohmann::json& rep : cell["repetitions"]) {
    // Files from before the write suite have no write records.
    if (rep.is_object()) {
      rep.emplace("device", nullptr);
      rep.emplace("write", nullptr);
    }
  }
}

// Numbers no field of a results file takes, refused before any is converted: a double
// outside what an integer field can hold turns into undefined behaviour when nlohmann
// converts it (inf, 1e19, -5.5 read into a uint64_t), and NaN or infinity pass any later
// range check. Every field is a count, a size, a time, a rate or a fraction, all >= 0;
// resident_before alone may be -1 (not applicable). Returns the JSON path of the first
// bad number, or "" when there is none.
std::string FirstNumberOutOfRange(const nlohmann::json& json, const std::string& path, std::string_view key) {
  if (json.is_number_float()) {
    const double v = json.get<double>();
    constexpr double kLimit = 9.2e18;  // Below 2^63: any integer field holds it.
    const bool allowed_negative = key == "resident_before" && v == -1.0;
    if (!std::isfinite(v) || v >= kLimit || (v < 0 && !allowed_negative && v <= -1.0)) return path;
    return "";
  }
  if (json.is_number_integer() && !json.is_number_unsigned()) {
    const int64_t v = json.get<int64_t>();
    return v < 0 && !(key == "resident_before" && v == -1) ? path : "";
  }
  if (json.is_object()) {
    for (const auto& [name, value] : json.items()) {
      std::string found = FirstNumberOutOfRange(value, path + "." + name, name);
      if (!found.empty()) return found;
    }
  } else if (json.is_array()) {
    for (size_t i = 0; i < json.size(); ++i) {
      std::string found = FirstNumberOutOfRange(json[i], fmt::format("{}[{}]", path, i), key);
      if (!found.empty()) return found;
    }
  }
  return "";
}

Status CheckNumbers(const nlohmann::json& json, std::string_view what) {
  const std::string bad = FirstNumberOutOfRange(json, std::string(what), "");
  if (bad.empty()) return Status::OK();
  return Status::InvalidArgument(fmt::format(
      "{} is out of range: no field of a results file takes a negative, non-finite or larger than 2^63 number "
      "there; regenerate the file with iodepth",
      bad));
}

// A version 2 file predates the memory cap: its cells ran without one. Filling the fields
// it lacks keeps the parse strict (any other missing field is still an error).
nlohmann::json UpgradeFromVersion2(nlohmann::json json) {
  if (!json.contains("cells") || !json["cells"].is_array()) return json;
  for (nlohmann::json& cell : json["cells"]) {
    if (!cell.is_object()) continue;
    cell.emplace("memory_cap", 0);
    if (cell.contains("median") && cell["median"].is_object()) cell["median"].emplace("memory", nullptr);
    if (!cell.contains("repetitions") || !cell["repetitions"].is_array()) continue;
    for (nlohmann::json& rep : cell["repetitions"]) {
      if (rep.is_object()) rep.emplace("memory", nullptr);
    }
  }
  return json;
}

}  // namespace

Result<ResultsDocument> ParseResults(const nlohmann::json& original) {
  const bool old = original.is_object() && original.contains("schema_version") &&
                   original["schema_version"].is_number_integer() && original["schema_version"].get<int>() == 2;
  nlohmann::json json = old ? UpgradeFromVersion2(original) : original;
  if (json.is_object() && json.contains("cells") && json["cells"].is_array()) {
    for (nlohmann::json& cell : json["cells"]) FillMissingDevice(cell);
  }
  const bool named = json.is_object() && json.contains("schema") && json["schema"].is_string() &&
                     json["schema"].get<std::string>() == "iodepth-results";
  if (!named) {
    return Status::InvalidArgument("not an iodepth results file (its \"schema\" is not \"iodepth-results\")");
  }
  const auto& version_field = json.contains("schema_version") ? json["schema_version"] : nlohmann::json();
  const int version = version_field.is_number_integer() ? version_field.get<int>() : 0;
  if (version < kOldestReadableSchemaVersion || version > kResultsSchemaVersion) {
    return Status::InvalidArgument(
        fmt::format("results schema_version {} is not supported; this iodepth reads versions {} to {}", version,
                    kOldestReadableSchemaVersion, kResultsSchemaVersion));
  }
  IODEPTH_RETURN_IF_ERROR(CheckNumbers(json.contains("cells") ? json["cells"] : nlohmann::json(), "cells"));
  if (json.contains("fio_crosscheck")) IODEPTH_RETURN_IF_ERROR(CheckNumbers(json["fio_crosscheck"], "fio_crosscheck"));
  // nlohmann_json reports a missing or mistyped field by throwing; turn it into a Status
  // naming the field, here at the boundary, so nothing above sees an exception.
  try {
    ResultsDocument d;
    json.at("iodepth_version").get_to(d.iodepth_version);
    json.at("git_commit").get_to(d.git_commit);
    json.at("created_utc").get_to(d.created_utc);
    json.at("command").get_to(d.command);
    d.config = json.at("config");
    d.environment = json.at("environment");
    json.at("cells").get_to(d.cells);
    if (json.contains("fio_crosscheck")) json.at("fio_crosscheck").get_to(d.fio_crosscheck);
    return d;
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidArgument(fmt::format("malformed results file: {}", e.what()));
  }
}

Result<ResultsDocument> ReadResultsFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::PosixError(fmt::format("open results file {}", path), errno);
  const nlohmann::json json = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return Status::InvalidArgument(fmt::format("{} is not valid JSON", path));
  auto parsed = ParseResults(json);
  if (!parsed.has_value()) return parsed.error().WithContext(path);
  return parsed;
}

nlohmann::json CellToJson(const CellRecord& cell) { return cell; }

Result<CellRecord> ParseCell(const nlohmann::json& json) {
  IODEPTH_RETURN_IF_ERROR(CheckNumbers(json, "cell"));
  try {
    return json.get<CellRecord>();
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidArgument(fmt::format("malformed cell record: {}", e.what()));
  }
}

Result<std::vector<CellRecord>> ParseCellsToSummarise(const nlohmann::json& json) {
  if (!json.is_object() || !json.contains("cells") || !json["cells"].is_array()) {
    return Status::InvalidArgument(
        "expected a JSON object with a \"cells\" array of cell records (as `iodepth suite --json` writes them)");
  }
  // The fields SummariseCell overwrites: a cell that lacks them still has all it needs.
  const nlohmann::json blank = CellToJson(CellRecord{});
  std::vector<CellRecord> cells;
  for (size_t index = 0; index < json["cells"].size(); ++index) {
    nlohmann::json cell = json["cells"][index];
    const bool named = cell.is_object() && cell.contains("id") && cell["id"].is_string();
    const std::string where =
        named ? fmt::format("cells[{}] ({})", index, cell["id"].get<std::string>()) : fmt::format("cells[{}]", index);
    if (!cell.is_object()) return Status::InvalidArgument(fmt::format("{} is not a JSON object", where));
    for (const char* field : {"median", "cv", "flags"}) cell.emplace(field, blank[field]);
    FillMissingDevice(cell);
    auto parsed = ParseCell(cell);
    if (!parsed.has_value()) return parsed.error().WithContext(where);
    cells.push_back(std::move(*parsed));
  }
  return cells;
}

std::string CsvHeader() {
  return "id,workload,rw,qd,bs,mode,backend,cache_state,status,flags,iops,bw_bytes,clat_ns_mean,clat_ns_p50,"
         "clat_ns_p95,clat_ns_p99,clat_ns_max,cpu_ns_per_io,mean_in_flight,utilization,littles_law,cv_iops,"
         "cv_clat_ns_p95,repetitions,regime,policy,hit_ratio,mean_read_bytes,reads_per_s,wait_fraction,mean_distance,"
         "mean_combine_pages,mean_pinned_pages,"
         "memory_cap,peak_bytes,page_cache_bytes,refaults,device_read_bytes,device_write_bytes,requested_bytes\n";
}

namespace {

// The bm columns; empty for cells without a buffer record. Starts with the comma.
std::string BufferCsvColumns(const CellRecord& c) {
  if (!c.median.buffer) return fmt::format(",{},{},,,,,,,", c.regime, c.policy);
  const MedianBufferRecord& b = *c.median.buffer;
  return fmt::format(",{},{},{:.4f},{:.0f},{:.1f},{:.4f},{:.2f},{:.2f},{:.2f}", c.regime, c.policy, b.hit_ratio,
                     b.mean_read_bytes, b.reads_per_s, b.wait_fraction, b.mean_distance, b.mean_combine_pages,
                     b.mean_pinned_pages);
}

// The memory-cap columns; the cap alone for cells without memory records. Starts with
// the comma.
std::string MemoryCsvColumns(const CellRecord& c) {
  if (!c.median.memory) return fmt::format(",{},,,", c.memory_cap);
  const MedianMemoryRecord& m = *c.median.memory;
  return fmt::format(",{},{:.0f},{:.0f},{:.0f}", c.memory_cap, m.peak_bytes, m.page_cache_bytes, m.refaults);
}

// The device columns, empty without device records. Starts with the comma, ends the row.
std::string DeviceCsvColumns(const CellRecord& c) {
  if (!c.median.device) return ",,,\n";
  const MedianDeviceRecord& d = *c.median.device;
  return fmt::format(",{:.0f},{:.0f},{:.0f}\n", d.read_bytes, d.write_bytes, d.requested_bytes);
}

}  // namespace

std::string CsvRow(const CellRecord& c) {
  std::string flags;
  for (const std::string& f : c.flags) flags += (flags.empty() ? "" : ";") + f;
  const auto pct = [&](double p) {
    auto it = c.median.clat_ns.percentile.find(PercentileKey(p));
    return it == c.median.clat_ns.percentile.end() ? 0 : it->second;
  };
  return fmt::format(
             "{},{},{},{},{},{},{},{},{},{},{:.1f},{:.0f},{:.0f},{},{},{},{},{:.0f},{:.2f},{:.3f},{:.2f},{:.4f},{:.4f},"
             "{}",
             c.id, c.workload, c.rw, c.qd, c.bs, c.mode, c.backend, c.cache_state, c.status, flags, c.median.iops,
             c.median.bw_bytes, c.median.clat_ns.mean, pct(50), pct(95), pct(99), c.median.clat_ns.max,
             c.median.cpu_ns_per_io, c.median.depth.mean_in_flight, c.median.depth.utilization,
             c.median.depth.littles_law, c.cv.iops, c.cv.clat_ns_p95, c.repetitions.size()) +
         BufferCsvColumns(c) + MemoryCsvColumns(c) + DeviceCsvColumns(c);
}

}  // namespace iodepth
