#include "harness/checkpoint_job.h"

#include <algorithm>
#include <atomic>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "common/clock.h"
#include "harness/bm_job.h"
#include "harness/window_counters.h"
#include "storage/page.h"

namespace iodepth {

namespace {

__extension__ using Uint128 = unsigned __int128;

Status ValidateCheckpointSpec(const CheckpointSpec& spec, uint64_t frames) {
  IODEPTH_RETURN_IF_ERROR(ValidateTableShape(spec.shape));
  if (spec.runtime_ns <= 0) {
    return Status::InvalidArgument("a checkpoint job needs a runtime above 0").WithSetting("runtime");
  }
  if (spec.depth < 1 || spec.depth > IoQueue::kMaxDepth) {
    return Status::InvalidArgument(fmt::format("depth {} is out of range 1..{}", spec.depth, IoQueue::kMaxDepth))
        .WithSetting("iodepth");
  }
  const uint64_t dirty = spec.dirty_pages;
  if (dirty < 1 || dirty + 2 > frames) {
    return Status::InvalidArgument(
               fmt::format("{} dirty pages do not fit a pool of {} frames with room for the reader; "
                           "dirty at most {} pages, or give the pool more memory",
                           dirty, frames, frames > 2 ? frames - 2 : 0))
        .WithSetting("dirty_pages");
  }
  if (dirty + 1 > TablePageCount(spec.shape)) {
    return Status::InvalidArgument(
        fmt::format("the table {} has {} pages; a checkpoint of {} needs more: load a "
                    "larger table",
                    spec.table_path, TablePageCount(spec.shape), dirty));
  }
  return Status::OK();
}

// The reader: random pages of [first, pages) through the pool, each fetch timed into
// one of two histograms by whether a checkpoint is running. Stops on `stop` or an error.
struct Reader {
  BufferManager* pool = nullptr;
  File* file = nullptr;
  const CheckpointSpec* spec = nullptr;
  uint64_t first = 0;
  uint64_t pages = 0;
  std::atomic<bool>* stop = nullptr;
  std::atomic<bool>* checkpointing = nullptr;
  std::atomic<bool>* measuring = nullptr;
  LatencyHistogram during;
  LatencyHistogram between;
  Status error;

  void Run() {
    std::mt19937_64 rng(spec->seed ^ 0x3C6EF372FE94F82Bull);
    while (!stop->load(std::memory_order_relaxed)) {
      const uint64_t page_no = first + static_cast<uint64_t>((static_cast<Uint128>(rng()) * (pages - first)) >> 64);
      const bool during_checkpoint = checkpointing->load(std::memory_order_relaxed);
      const int64_t before = NowNs();
      Result<PageGuard> page = pool->Fetch(*file, page_no);
      const int64_t took = NowNs() - before;
      if (!page.has_value()) {
        error = page.error().WithContext("the checkpoint job's reader");
        return;
      }
      if (PageId(page->data()) != page_no) {
        error = Status::Corruption(fmt::format("the reader asked for page {} of {} and got page {}", page_no,
                                               spec->table_path, PageId(page->data())));
        return;
      }
      if (!measuring->load(std::memory_order_relaxed)) continue;
      (during_checkpoint && checkpointing->load(std::memory_order_relaxed) ? during : between)
          .Record(static_cast<uint64_t>(took));
    }
  }
};

}  // namespace

Result<CheckpointResult> RunCheckpointJob(const CheckpointSpec& given) {
  CheckpointSpec spec = given;
  const uint64_t page_bytes = PageSizeBytes(spec.shape.page_size);
  const uint64_t frames = spec.memory_bytes / page_bytes;
  if (spec.dirty_pages == 0) spec.dirty_pages = frames / 2;
  IODEPTH_RETURN_IF_ERROR(ValidateCheckpointSpec(spec, frames));
  IODEPTH_RETURN_IF_ERROR(MarkTableUpdated(spec.table_path, spec.shape));
  IODEPTH_ASSIGN_OR_RETURN(
      TablePool opened, OpenTablePool(spec.table_path, spec.shape, spec.cache, spec.memory_bytes,
                                      /*warm_pages=*/spec.dirty_pages, BackgroundWriterOptions{}, /*writable=*/true));
  BufferManager& pool = *opened.pool;
  File& file = *opened.file;
  IoQueueOptions queue_options = spec.queue;
  queue_options.depth = spec.depth;
  std::string notice;
  IODEPTH_ASSIGN_OR_RETURN(std::unique_ptr<IoQueue> queue, MakeIoQueue(queue_options, &notice));

  CheckpointResult result;
  result.job.backend = std::string(queue->backend_name());
  result.job.backend_features = queue->features();
  if (!notice.empty()) result.job.notices.push_back(notice);
  result.job.direct = file.direct();
  result.job.alignment = file.alignment();
  result.checkpoint.dirty_pages = spec.dirty_pages;

  std::atomic<bool> stop{false};
  std::atomic<bool> checkpointing{false};
  std::atomic<bool> measuring{false};
  Reader reader{.pool = &pool,
                .file = &file,
                .spec = &spec,
                .first = spec.dirty_pages,
                .pages = TablePageCount(spec.shape),
                .stop = &stop,
                .checkpointing = &checkpointing,
                .measuring = &measuring,
                .during = {},
                .between = {},
                .error = {}};
  std::thread reader_thread;
  if (spec.reader) reader_thread = std::thread([&reader] { reader.Run(); });

  const int64_t start_ns = NowNs();
  const int64_t ramp_end_ns = start_ns + spec.ramp_ns;
  const int64_t end_ns = ramp_end_ns + spec.runtime_ns;
  WindowSample opened_window;
  bool window_open = false;
  Status status;
  int64_t checkpoint_ns_sum = 0;
  for (;;) {
    const int64_t now = NowNs();
    if (!window_open && now >= ramp_end_ns) {
      window_open = true;
      opened_window = SampleWindow(spec.device);
      measuring.store(true, std::memory_order_relaxed);
    }
    // A checkpoint can outlast a short window: the run goes on until one has been measured.
    if (now >= end_ns && result.checkpoint.checkpoints > 0) break;
    // Dirty D pages (only this thread touches them: the reader stays above them).
    for (uint64_t page_no = 0; page_no < spec.dirty_pages && status.ok(); ++page_no) {
      Result<PageGuard> page = pool.Fetch(file, page_no);
      if (!page.has_value()) {
        status = page.error();
        break;
      }
      ApplyTableUpdate(page->mutable_data(), spec.shape, page_no);
      page->MarkDirty();
    }
    if (!status.ok()) break;
    LatencyHistogram writes;
    checkpointing.store(true, std::memory_order_relaxed);
    const int64_t began = NowNs();
    status = pool.FlushAll(queue.get(), &writes);
    const int64_t synced_from = NowNs();
    if (status.ok()) status = file.DataSync().WithContext(fmt::format("checkpoint fdatasync of {}", spec.table_path));
    const int64_t ended = NowNs();
    checkpointing.store(false, std::memory_order_relaxed);
    if (!status.ok()) break;
    if (window_open) {  // Began after the ramp: measured.
      // The checkpoint's own writes: the reader's evictions may write a dirty page meanwhile.
      const uint64_t written = writes.count();
      ++result.checkpoint.checkpoints;
      result.job.ios += written;
      result.job.bytes += written * page_bytes;
      result.job.window_ns += ended - began;
      result.job.clat_ns.Merge(writes);
      result.checkpoint.sync_ns += ended - synced_from;
      checkpoint_ns_sum += ended - began;
    }
  }
  stop.store(true);
  if (reader_thread.joinable()) reader_thread.join();
  if (window_open) CloseWindowCounters(opened_window, spec.device, result.job);
  IODEPTH_RETURN_IF_ERROR(status);
  IODEPTH_RETURN_IF_ERROR(reader.error);
  // What the reader's evictions wrote of the dirty pages is written already; the rest:
  IODEPTH_RETURN_IF_ERROR(pool.FlushAll(queue.get()));
  result.checkpoint.mean_checkpoint_ns =
      result.checkpoint.checkpoints > 0
          ? static_cast<double>(checkpoint_ns_sum) / static_cast<double>(result.checkpoint.checkpoints)
          : 0;
  result.checkpoint.reader_during_ns = std::move(reader.during);
  result.checkpoint.reader_between_ns = std::move(reader.between);
  result.job.mean_in_flight = result.job.littles_law_depth();
  return result;
}

}  // namespace iodepth
