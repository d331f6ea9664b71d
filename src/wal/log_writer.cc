#include "wal/log_writer.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <future>
#include <random>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "common/assert.h"
#include "common/clock.h"
#include "common/units.h"
#include "io/fault_injector.h"
#include "io/request_pump.h"
#include "sys/free_space.h"

namespace iodepth {
namespace {

constexpr uint32_t kMinBufferBlocks = 8;
constexpr uint32_t kMaxBufferBlocks = 65536;
constexpr uint32_t kMaxGroupCommitDelayUs = 100'000;
constexpr size_t kZeroFillChunkBytes = 1 << 20;
constexpr std::string_view kAbandonedSuffix = ".abandoned";

Status ValidateOptions(const WalOptions& options) {
  IODEPTH_RETURN_IF_ERROR(options.geometry.Validate());
  if (options.directory.empty()) return Status::InvalidArgument("no log directory given").WithSetting("wal_directory");
  if (options.cache != CacheMode::kBuffered && options.cache != CacheMode::kDirect) {
    return Status::InvalidArgument(
               fmt::format("the log is written buffered or direct, not {}", CacheModeName(options.cache)))
        .WithSetting("wal_cache");
  }
  if (options.buffer_blocks < kMinBufferBlocks || options.buffer_blocks > kMaxBufferBlocks) {
    return Status::InvalidArgument(fmt::format("the log buffer must hold {} to {} blocks, not {}", kMinBufferBlocks,
                                               kMaxBufferBlocks, options.buffer_blocks))
        .WithSetting("wal_buffer_blocks");
  }
  if (options.max_write_blocks == 0 || options.max_write_blocks > options.buffer_blocks) {
    return Status::InvalidArgument(fmt::format("one log write must be 1 to {} blocks (the buffer), not {}",
                                               options.buffer_blocks, options.max_write_blocks))
        .WithSetting("wal_max_write_blocks");
  }
  if (options.group_commit_delay_us > kMaxGroupCommitDelayUs) {
    return Status::InvalidArgument(fmt::format("the group commit delay is at most {} us, not {}",
                                               kMaxGroupCommitDelayUs, options.group_commit_delay_us))
        .WithSetting("wal_group_commit_delay_us");
  }
  return Status::OK();
}

std::string SegmentPath(const std::string& directory, uint64_t segment_no) {
  return directory + "/" + WalSegmentFileName(segment_no);
}

uint64_t NewLogId() {
  std::random_device device;
  return (uint64_t{device()} << 32) ^ device() ^ static_cast<uint64_t>(NowNs());
}

Status SyncDirectory(const std::string& directory) {
  IODEPTH_ASSIGN_OR_RETURN(auto dir, File::Open(directory, OpenOptions{}));
  return dir->Sync();
}

// Whether segment `segment_no` holds any fragment (its first record position is written).
Result<bool> SegmentHoldsFragments(const std::string& path, uint64_t segment_no, const WalGeometry& geometry) {
  IODEPTH_ASSIGN_OR_RETURN(auto file, File::Open(path, OpenOptions{}));
  std::vector<std::byte> block(geometry.block_bytes);
  IODEPTH_ASSIGN_OR_RETURN(const size_t got, file->ReadAt(0, block));
  static_cast<void>(got);
  const Lsn first = geometry.FirstRecordLsn(segment_no);
  const auto at = std::span<const std::byte>(block).subspan(first - geometry.SegmentStart(segment_no));
  return CheckWalFragment(at, first, nullptr) != WalFragmentCheck::kZeroed;
}

// Moves the segments a recovery found past the log's end out of the way: renamed
// *.abandoned when they hold anything (kept for whoever wants to look), removed when
// they were only created ahead. Either way no reader will take them for the log.
Status SetAsideSegments(const std::string& directory, const std::vector<uint64_t>& segments,
                        const WalGeometry& geometry) {
  if (segments.empty()) return Status::OK();
  for (const uint64_t segment : segments) {
    const std::string path = SegmentPath(directory, segment);
    IODEPTH_ASSIGN_OR_RETURN(const bool holds, SegmentHoldsFragments(path, segment, geometry));
    std::error_code error;
    if (!holds) {
      std::filesystem::remove(path, error);
    } else {
      std::string target = path + std::string(kAbandonedSuffix);
      for (int n = 1; std::filesystem::exists(target, error); ++n) {
        target = fmt::format("{}{}.{}", path, kAbandonedSuffix, n);
      }
      std::filesystem::rename(path, target, error);
    }
    if (error) return Status::PosixError(fmt::format("set aside log segment {}", path), error.value());
  }
  return SyncDirectory(directory);
}

}  // namespace

std::string_view WalSyncMethodName(WalSyncMethod method) {
  return method == WalSyncMethod::kDsync ? "dsync" : "fdatasync";
}

Result<WalSyncMethod> ParseWalSyncMethod(std::string_view name) {
  if (name == "fdatasync") return WalSyncMethod::kFdatasync;
  if (name == "dsync" || name == "o_dsync") return WalSyncMethod::kDsync;
  return Status::InvalidArgument(fmt::format("unknown log sync method '{}': use fdatasync or dsync", name))
      .WithSetting("wal_sync");
}

WalWriter::WalWriter(const WalOptions& options) : options_(options) {}

WalWriter::~WalWriter() { Close().IgnoreError(); }

Result<std::unique_ptr<WalWriter>> WalWriter::Open(const WalOptions& options) {
  IODEPTH_RETURN_IF_ERROR(ValidateOptions(options));
  std::error_code error;
  std::filesystem::create_directories(options.directory, error);
  if (error) return Status::PosixError(fmt::format("create log directory {}", options.directory), error.value());
  IODEPTH_ASSIGN_OR_RETURN(auto reader, WalReader::Open(options.directory));
  WalRecord record;
  for (;;) {
    IODEPTH_ASSIGN_OR_RETURN(const bool got, reader->Next(&record));
    if (!got) break;
  }
  const WalReadEnd& end = reader->end();
  auto writer = std::unique_ptr<WalWriter>(new WalWriter(options));
  uint64_t log_id = 0;
  uint64_t resume_segment = 0;
  Lsn prev_end = 0;
  if (const auto& header = reader->first_header()) {
    const WalGeometry& found = header->geometry;
    if (found.block_bytes != options.geometry.block_bytes || found.segment_bytes != options.geometry.segment_bytes) {
      return Status::InvalidArgument(
                 fmt::format("the log in {} has {} blocks and {} segments; open it with those, not {} and {}",
                             options.directory, FormatBytes(found.block_bytes), FormatBytes(found.segment_bytes),
                             FormatBytes(options.geometry.block_bytes), FormatBytes(options.geometry.segment_bytes)))
          .WithSetting("wal_block_bytes,wal_segment_bytes");
    }
    log_id = header->log_id;
    resume_segment = end.last_segment + 1;
    prev_end = end.end_lsn;
    IODEPTH_RETURN_IF_ERROR(SetAsideSegments(options.directory, reader->segments_after_end(), found));
  } else {
    log_id = NewLogId();
  }
  IODEPTH_RETURN_IF_ERROR(writer->Start(end, log_id, resume_segment, prev_end));
  return writer;
}

Status WalWriter::Start(const WalReadEnd& recovered, uint64_t log_id, uint64_t resume_segment, Lsn prev_end) {
  recovery_ = recovered;
  log_id_ = log_id;
  const WalGeometry& geometry = options_.geometry;
  const size_t alignment = std::max<size_t>(4096, geometry.block_bytes);
  ring_bytes_ = uint64_t{options_.buffer_blocks} * geometry.block_bytes;
  IODEPTH_ASSIGN_OR_RETURN(ring_, AlignedBuffer::Allocate(ring_bytes_, alignment));
  IODEPTH_ASSIGN_OR_RETURN(tail_, AlignedBuffer::Allocate(geometry.block_bytes, alignment));
  IODEPTH_RETURN_IF_ERROR(EnsureSegment(resume_segment, prev_end));
  const File& first = *segments_.at(resume_segment);
  if (first.direct() &&
      (geometry.block_bytes % first.alignment().offset_bytes != 0 || alignment % first.alignment().memory_bytes != 0)) {
    return Status::InvalidArgument(fmt::format("log block size {} is not a multiple of the {}-byte direct I/O "
                                               "alignment of {} (from {}); use a block of at least that size",
                                               FormatBytes(geometry.block_bytes), first.alignment().offset_bytes,
                                               first.path(), first.alignment().source))
        .WithSetting("wal_block_bytes");
  }
  // The ring starts with the resumed segment's header, exactly as the file holds it: the
  // first flush rewrites block 0 whole.
  const Lsn segment_start = geometry.SegmentStart(resume_segment);
  std::span<std::byte> block = RingAt(segment_start, geometry.block_bytes);
  std::fill(block.begin(), block.end(), std::byte{0});
  EncodeWalSegmentHeader(WalSegmentHeader{geometry, log_id_, resume_segment, prev_end}, block);
  appended_ = durable_ = requested_ = geometry.FirstRecordLsn(resume_segment);

  std::promise<Status> started;
  std::future<Status> ready = started.get_future();
  flusher_ = std::thread([this, &started] { FlusherMain(&started); });
  Status status = ready.get();
  if (!status.ok()) {
    flusher_.join();
    closed_ = true;
  }
  return status;
}

std::span<std::byte> WalWriter::RingAt(Lsn lsn, size_t length) {
  const uint64_t offset = lsn % ring_bytes_;
  IODEPTH_CHECK(offset + length <= ring_bytes_, "a ring span wraps around");
  return ring_.span(offset, length);
}

Status WalWriter::EnsureSegment(uint64_t segment_no, Lsn prev_end) {
  if (segments_.count(segment_no) != 0) return Status::OK();
  const WalGeometry& geometry = options_.geometry;
  const std::string path = SegmentPath(options_.directory, segment_no);
  IODEPTH_RETURN_IF_ERROR(CheckRoomToGrow(options_.directory, geometry.segment_bytes, "wal_segment_bytes"));
  const std::string partial = PartialPath(path);
  Status status = [&]() -> Status {
    OpenOptions create{.access = AccessMode::kReadWrite, .create = true, .truncate = true};
    IODEPTH_ASSIGN_OR_RETURN(auto file, File::Open(partial, create));
    file->SetFaultInjector(options_.faults);
    if (options_.zero_fill_segments) {
      // Zeros written now make every later log write an overwrite of allocated blocks, so
      // fdatasync then flushes data only, not extent conversions (PostgreSQL's
      // wal_init_zero makes the same choice).
      std::vector<std::byte> zeros(std::min<uint64_t>(kZeroFillChunkBytes, geometry.segment_bytes));
      for (uint64_t at = 0; at < geometry.segment_bytes; at += zeros.size()) {
        IODEPTH_RETURN_IF_ERROR(file->WriteAt(at, zeros).status());
      }
    } else {
      IODEPTH_RETURN_IF_ERROR(file->Allocate(0, geometry.segment_bytes));
      IODEPTH_RETURN_IF_ERROR(file->Truncate(geometry.segment_bytes));
    }
    std::array<std::byte, kWalSegmentHeaderBytes> header{};
    EncodeWalSegmentHeader(WalSegmentHeader{geometry, log_id_, segment_no, prev_end}, header);
    IODEPTH_RETURN_IF_ERROR(file->WriteAt(0, header).status());
    IODEPTH_RETURN_IF_ERROR(file->Sync());
    return file->Close();
  }();
  if (status.ok()) status = PublishFile(partial, path);
  if (!status.ok()) {
    DiscardPartial(partial);
    return status.WithContext(fmt::format("create log segment {}", path));
  }
  OpenOptions open{.access = AccessMode::kReadWrite, .cache = options_.cache};
  open.dsync = options_.sync == WalSyncMethod::kDsync;
  IODEPTH_ASSIGN_OR_RETURN(auto file, File::Open(path, open));
  file->SetFaultInjector(options_.faults);
  segments_[segment_no] = std::move(file);
  return Status::OK();
}

Result<File*> WalWriter::SegmentFile(uint64_t segment_no) {
  // A segment the appenders reached before it was created ahead is created now; it
  // follows straight on from the one before.
  IODEPTH_RETURN_IF_ERROR(EnsureSegment(segment_no, options_.geometry.SegmentStart(segment_no)));
  return segments_.at(segment_no).get();
}

void WalWriter::CloseSegmentsBefore(uint64_t segment_no) {
  while (!segments_.empty() && segments_.begin()->first < segment_no) segments_.erase(segments_.begin());
}

void WalWriter::Fail(Status status) {
  if (failed_.ok()) failed_ = std::move(status);
  progress_.notify_all();
  flush_wanted_.notify_all();
}

Result<WalAppend> WalWriter::Append(std::span<const std::byte> payload) {
  const WalGeometry& geometry = options_.geometry;
  if (payload.size() > ring_bytes_ / 4) {
    return Status::InvalidArgument(fmt::format("a log record of {} is larger than a quarter of the {} log buffer",
                                               FormatBytes(payload.size()), FormatBytes(ring_bytes_)))
        .WithSetting("wal_buffer_blocks");
  }
  std::unique_lock lock(mutex_);
  for (;;) {
    if (!failed_.ok()) return failed_;
    if (closing_) return Status::FailedPrecondition("append to a log that is closing");
    const Lsn would_end = PlaceWalRecord(geometry, appended_, payload.size(), nullptr).second;
    // Room: every block from the one holding the durable end to the one holding this
    // record's end must fit in the ring, or the record would overwrite bytes a flush
    // still has to write.
    if (geometry.BlockCeil(would_end) - geometry.BlockFloor(durable_) <= ring_bytes_) break;
    ++stats_.append_waits;
    requested_ = std::max(requested_, appended_);
    flush_wanted_.notify_one();
    progress_.wait(lock);
  }
  const Lsn from = appended_;
  const auto [lsn, end] = PlaceWalRecord(geometry, from, payload.size(), nullptr);
  PlaceRecord(payload, from);
  IODEPTH_CHECK(appended_ == end, "placement and its accounting disagree");
  ++stats_.appends;
  stats_.append_bytes += payload.size();
  if (appended_ - durable_ >= ring_bytes_ / 2) flush_wanted_.notify_one();
  return WalAppend{lsn, end};
}

// REQUIRES: mutex_ held and room checked. Writes the record's fragments into the ring
// after `from`, zeroing each block it enters and starting each segment with its header.
void WalWriter::PlaceRecord(std::span<const std::byte> payload, Lsn from) {
  const WalGeometry& geometry = options_.geometry;
  // Blocks below this are initialised: the ring bytes from the appended end up to the end
  // of its block are zero (an invariant Start and every block entry keep).
  Lsn initialised = geometry.BlockCeil(from);
  const auto [lsn, end] = PlaceWalRecord(geometry, from, payload.size(), [&](const WalFragmentPlacement& fragment) {
    const Lsn block = geometry.BlockFloor(fragment.lsn);
    if (block >= initialised) {
      std::span<std::byte> bytes = RingAt(block, geometry.block_bytes);
      std::fill(bytes.begin(), bytes.end(), std::byte{0});
      if (block % geometry.segment_bytes == 0) {
        const uint64_t segment = geometry.SegmentOf(block);
        EncodeWalSegmentHeader(WalSegmentHeader{geometry, log_id_, segment, block}, bytes);
      }
      initialised = block + geometry.block_bytes;
    }
    EncodeWalFragment(fragment.type, fragment.lsn, payload.subspan(fragment.payload_offset, fragment.payload_bytes),
                      RingAt(fragment.lsn, kWalFragmentHeaderBytes + fragment.payload_bytes));
  });
  static_cast<void>(lsn);
  appended_ = end;
}

Status WalWriter::Commit(Lsn lsn) {
  std::unique_lock lock(mutex_);
  if (!failed_.ok()) return failed_;
  if (lsn > appended_) {
    return Status::InvalidArgument(fmt::format(
        "commit of LSN {} past the log's appended end {}: commit an end_lsn Append returned", lsn, appended_));
  }
  ++stats_.commits;
  if (durable_ >= lsn) return Status::OK();
  ++stats_.commits_waited;
  requested_ = std::max(requested_, lsn);
  flush_wanted_.notify_one();
  progress_.wait(lock, [&] { return durable_ >= lsn || !failed_.ok(); });
  return failed_;
}

Status WalWriter::Flush() {
  Lsn end;
  {
    std::lock_guard lock(mutex_);
    end = appended_;
  }
  return Commit(end);
}

Lsn WalWriter::appended_lsn() const {
  std::lock_guard lock(mutex_);
  return appended_;
}

Lsn WalWriter::durable_lsn() const {
  std::lock_guard lock(mutex_);
  return durable_;
}

WalStats WalWriter::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

Status WalWriter::Close() {
  if (closed_) {
    std::lock_guard lock(mutex_);
    return failed_;
  }
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
    requested_ = appended_;
    flush_wanted_.notify_all();
  }
  if (flusher_.joinable()) flusher_.join();
  closed_ = true;
  Status status;
  for (auto& [number, file] : segments_) {
    if (Status closed = file->Close(); status.ok() && !closed.ok()) status = closed;
  }
  segments_.clear();
  std::lock_guard lock(mutex_);
  if (!failed_.ok()) return failed_;
  if (!status.ok()) failed_ = status;
  return status;
}

// ---- the flusher -------------------------------------------------------------------

// What one flush did, added to the stats under the lock afterwards.
struct WalWriter::FlushCounters {
  uint64_t write_requests = 0;
  uint64_t bytes_written = 0;
  uint64_t syncs = 0;
  uint64_t max_depth = 0;
  uint64_t segments_created = 0;
};

namespace {

// One write of a flush: a run of blocks contiguous in the ring and in one segment.
struct WritePiece {
  uint64_t segment_no = 0;
  uint64_t offset = 0;  // In the segment.
  std::span<std::byte> buffer;
};

}  // namespace

void WalWriter::FlusherMain(std::promise<Status>* started) {
  auto made = MakeIoQueue(options_.queue);
  if (!made) {
    started->set_value(made.error().WithContext("log flusher queue"));
    return;
  }
  std::unique_ptr<IoQueue> queue = std::move(made).value();
  backend_name_ = std::string(queue->backend_name());
  started->set_value(Status::OK());  // `started` is gone after this.

  const WalGeometry& geometry = options_.geometry;
  std::unique_lock lock(mutex_);
  for (;;) {
    flush_wanted_.wait(lock, [&] {
      return closing_ || !failed_.ok() || requested_ > durable_ || appended_ - durable_ >= ring_bytes_ / 2;
    });
    if (!failed_.ok()) break;
    if (appended_ == durable_) {
      if (closing_) break;
      continue;
    }
    if (options_.group_commit_delay_us > 0 && !closing_) {
      // Gather more committers; whoever arrives meanwhile rides on this flush.
      flush_wanted_.wait_for(lock, std::chrono::microseconds(options_.group_commit_delay_us),
                             [&] { return closing_ || !failed_.ok(); });
    }
    const Lsn from = durable_;
    const Lsn to = appended_;
    if (to % geometry.block_bytes != 0) {
      // The partial tail block is copied under the lock: appenders go on filling it while
      // the flush writes, and the copy holds exactly the bytes before `to`, zeros after.
      const std::span<std::byte> tail = tail_.span();
      const size_t used = to % geometry.block_bytes;
      std::memcpy(tail.data(), RingAt(geometry.BlockFloor(to), used).data(), used);
      std::fill(tail.begin() + static_cast<std::ptrdiff_t>(used), tail.end(), std::byte{0});
    }
    lock.unlock();
    FlushCounters counters;
    Status status = FlushRange(*queue, from, to, &counters);
    if (status.ok() && to % geometry.segment_bytes > geometry.segment_bytes / 2) {
      // Create the next segment ahead, so the appenders rarely wait for one. A failure
      // here is not yet the log's: it returns, and counts, when the segment is needed.
      const uint64_t next = geometry.SegmentOf(to) + 1;
      if (segments_.count(next) == 0 && EnsureSegment(next, geometry.SegmentStart(next)).ok()) {
        ++counters.segments_created;
      }
    }
    CloseSegmentsBefore(geometry.SegmentOf(to));
    lock.lock();
    stats_.write_requests += counters.write_requests;
    stats_.bytes_written += counters.bytes_written;
    stats_.syncs += counters.syncs;
    stats_.max_write_depth = std::max(stats_.max_write_depth, counters.max_depth);
    stats_.segments_created += counters.segments_created;
    if (!status.ok()) {
      Fail(status.WithContext(fmt::format("log flush of LSN {} to {}", from, to)));
      break;
    }
    IODEPTH_CHECK(to > durable_, "the durable end never moves back");
    durable_ = to;
    ++stats_.flushes;
    progress_.notify_all();
  }
  lock.unlock();
  // The queue is destroyed here, on the thread that used it, after draining.
}

Status WalWriter::FlushRange(IoQueue& queue, Lsn from, Lsn to, FlushCounters* counters) {
  const WalGeometry& geometry = options_.geometry;
  const Lsn full_end = geometry.BlockFloor(to);  // Blocks below are whole; the one at it is the tail.
  std::vector<WritePiece> pieces;
  for (Lsn pos = geometry.BlockFloor(from); pos < full_end;) {
    const Lsn segment_end = geometry.SegmentStart(geometry.SegmentOf(pos) + 1);
    const Lsn ring_end = pos - pos % ring_bytes_ + ring_bytes_;
    const Lsn limit =
        std::min({full_end, segment_end, ring_end, pos + uint64_t{options_.max_write_blocks} * geometry.block_bytes});
    pieces.push_back({geometry.SegmentOf(pos), pos % geometry.segment_bytes, RingAt(pos, limit - pos)});
    pos = limit;
  }
  if (to % geometry.block_bytes != 0)
    pieces.push_back({geometry.SegmentOf(full_end), full_end % geometry.segment_bytes, tail_.span()});

  std::vector<File*> files;
  for (const WritePiece& piece : pieces) {
    IODEPTH_ASSIGN_OR_RETURN(File * file, SegmentFile(piece.segment_no));
    files.push_back(file);
  }
  // Up to the queue's depth in flight; after a failure nothing new is issued and what is
  // in flight is drained, so no request outlives this flush.
  size_t next = 0;
  PumpStats pumped;
  const Status written = PumpRequests(
      queue,
      [&]() -> std::optional<IoRequest> {
        if (next == pieces.size()) return std::nullopt;
        const WritePiece& piece = pieces[next];
        const IoRequest request{IoOp::kWrite, files[next], piece.offset, piece.buffer, next};
        ++next;
        return request;
      },
      [&](const IoCompletion& completion) {
        ++counters->write_requests;
        counters->bytes_written += completion.bytes_done;
        return CompletionError(completion).WithContext("log write");
      },
      &pumped);
  counters->max_depth = std::max<uint64_t>(counters->max_depth, pumped.max_in_flight);
  IODEPTH_RETURN_IF_ERROR(written);
  if (options_.sync == WalSyncMethod::kFdatasync) {
    for (uint64_t segment = pieces.front().segment_no; segment <= pieces.back().segment_no; ++segment) {
      IODEPTH_ASSIGN_OR_RETURN(File * file, SegmentFile(segment));
      ++counters->syncs;
      IODEPTH_RETURN_IF_ERROR(file->DataSync());
    }
  }
  return Status::OK();
}

}  // namespace iodepth
