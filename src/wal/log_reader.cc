#include "wal/log_reader.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "common/assert.h"

namespace iodepth {
namespace {

// The reader reads a segment in windows this large (or the whole segment when smaller),
// so a 1 GiB segment never has to fit in memory at once.
constexpr uint64_t kReadChunkBytes = 256 * 1024;

WalStopReason ReasonOf(WalFragmentCheck check) {
  switch (check) {
    case WalFragmentCheck::kZeroed: return WalStopReason::kZeroed;
    case WalFragmentCheck::kBadLength: return WalStopReason::kBadLength;
    case WalFragmentCheck::kBadType: return WalStopReason::kBadType;
    case WalFragmentCheck::kWrongLsn: return WalStopReason::kWrongLsn;
    case WalFragmentCheck::kChecksumMismatch: return WalStopReason::kChecksumMismatch;
    case WalFragmentCheck::kValid: break;
  }
  IODEPTH_CHECK(false, "a valid fragment is not a reason to stop");
  return WalStopReason::kBadType;
}

std::string WhatStopped(WalStopReason reason) {
  switch (reason) {
    case WalStopReason::kNoSegments: return "the directory holds no log segment";
    case WalStopReason::kZeroed: return "the next fragment position is zeroed (never written)";
    case WalStopReason::kChecksumMismatch: return "the fragment there fails its checksum (torn or corrupted)";
    case WalStopReason::kBadLength: return "the fragment there runs past its block (torn or corrupted)";
    case WalStopReason::kBadType: return "the fragment there has an impossible type (torn or corrupted)";
    case WalStopReason::kWrongLsn: return "the fragment there belongs to another position (stale bytes)";
    case WalStopReason::kBadSequence: return "its fragments are out of order (damaged)";
    case WalStopReason::kSegmentEnd: return "its last segment ends there and no segment continues it";
    case WalStopReason::kNextSegmentBad: return "the segment after it cannot continue the log";
  }
  return "?";
}

Result<std::vector<uint64_t>> ListSegments(const std::string& directory) {
  std::error_code error;
  if (!std::filesystem::is_directory(directory, error)) {
    return Status::NotFound(fmt::format("log directory {} does not exist (or is not a directory)", directory));
  }
  std::vector<uint64_t> segments;
  for (const auto& entry : std::filesystem::directory_iterator(directory, error)) {
    if (const auto number = ParseWalSegmentFileName(entry.path().filename().string())) segments.push_back(*number);
  }
  if (error) return Status::PosixError(fmt::format("list log directory {}", directory), error.value());
  std::sort(segments.begin(), segments.end());
  return segments;
}

std::string SegmentPath(const std::string& directory, uint64_t segment_no) {
  return directory + "/" + WalSegmentFileName(segment_no);
}

// The header of segment `segment_no`, read from its own file.
Result<WalSegmentHeader> ReadSegmentHeader(const std::string& path, uint64_t segment_no) {
  IODEPTH_ASSIGN_OR_RETURN(auto file, File::Open(path, OpenOptions{}));
  std::vector<std::byte> bytes(kWalSegmentHeaderBytes);
  IODEPTH_ASSIGN_OR_RETURN(const size_t got, file->ReadAt(0, bytes));
  bytes.resize(got);
  auto header = DecodeWalSegmentHeader(bytes, segment_no);
  if (!header) return Status::Corruption(fmt::format("{}: {}", path, header.error().message()));
  return header;
}

}  // namespace

std::string_view WalStopReasonName(WalStopReason reason) {
  switch (reason) {
    case WalStopReason::kNoSegments: return "no_segments";
    case WalStopReason::kZeroed: return "zeroed";
    case WalStopReason::kChecksumMismatch: return "checksum_mismatch";
    case WalStopReason::kBadLength: return "bad_length";
    case WalStopReason::kBadType: return "bad_type";
    case WalStopReason::kWrongLsn: return "wrong_lsn";
    case WalStopReason::kBadSequence: return "bad_sequence";
    case WalStopReason::kSegmentEnd: return "segment_end";
    case WalStopReason::kNextSegmentBad: return "next_segment_bad";
  }
  return "?";
}

std::string WalReadEnd::Describe(const WalGeometry& geometry) const {
  if (reason == WalStopReason::kNoSegments) return "the log is empty: " + WhatStopped(reason);
  std::string text =
      fmt::format("the log ends at LSN {} (segment {}, offset {}) after {} records: {}", stop_lsn, last_segment,
                  stop_lsn - geometry.SegmentStart(last_segment), records, WhatStopped(reason));
  if (!detail.empty()) text += fmt::format(" ({})", detail);
  if (incomplete_record_lsn) {
    text += fmt::format("; the record begun at LSN {} is incomplete and not returned", *incomplete_record_lsn);
  }
  if (valid_blocks_after_stop > 0) {
    text += fmt::format(
        "; {} later blocks of that segment begin with a valid fragment (writes in flight at a crash, or damage)",
        valid_blocks_after_stop);
  }
  return text;
}

WalReader::WalReader(std::string directory, std::vector<uint64_t> segments)
    : directory_(std::move(directory)), segments_(std::move(segments)) {}

WalReader::~WalReader() = default;

Result<std::unique_ptr<WalReader>> WalReader::Open(const std::string& directory) {
  IODEPTH_ASSIGN_OR_RETURN(auto segments, ListSegments(directory));
  auto reader = std::unique_ptr<WalReader>(new WalReader(directory, std::move(segments)));
  if (reader->segments_.empty()) {
    reader->done_ = true;
    reader->end_.reason = WalStopReason::kNoSegments;
    return reader;
  }
  const uint64_t first = reader->segments_.front();
  WalSegmentHeader header;
  IODEPTH_RETURN_IF_ERROR(reader->OpenSegment(first, &header));
  reader->first_header_ = header;
  reader->geometry_ = header.geometry;
  reader->cursor_ = header.geometry.FirstRecordLsn(first);
  reader->end_.end_lsn = reader->cursor_;
  reader->end_.last_segment = first;
  return reader;
}

Status WalReader::OpenSegment(uint64_t segment_no, WalSegmentHeader* header) {
  const std::string path = SegmentPath(directory_, segment_no);
  IODEPTH_ASSIGN_OR_RETURN(*header, ReadSegmentHeader(path, segment_no));
  IODEPTH_ASSIGN_OR_RETURN(file_, File::Open(path, OpenOptions{}));
  segment_no_ = segment_no;
  chunk_bytes_ = 0;
  chunk_offset_ = 0;
  return Status::OK();
}

Result<std::span<const std::byte>> WalReader::BlockAt(Lsn lsn) {
  IODEPTH_CHECK(geometry_.SegmentOf(lsn) == segment_no_, "reading a block outside the open segment");
  const uint64_t offset = lsn - geometry_.SegmentStart(segment_no_);
  const uint64_t block_start = offset - offset % geometry_.block_bytes;
  if (block_start < chunk_offset_ || block_start + geometry_.block_bytes > chunk_offset_ + chunk_bytes_) {
    const uint64_t window = std::min<uint64_t>(kReadChunkBytes, geometry_.segment_bytes);
    chunk_offset_ = block_start - block_start % window;
    chunk_.resize(window);
    // A segment cut short reads as zeros past its end (ReadAt zeroes the rest): the log
    // simply ends there.
    IODEPTH_ASSIGN_OR_RETURN(const size_t got, file_->ReadAt(chunk_offset_, chunk_));
    static_cast<void>(got);
    chunk_bytes_ = window;
  }
  const size_t from = offset - chunk_offset_;
  const size_t to = block_start + geometry_.block_bytes - chunk_offset_;
  return std::span<const std::byte>(chunk_).subspan(from, to - from);
}

Result<bool> WalReader::EnterNextSegment(bool read_to_end) {
  const uint64_t next = segment_no_ + 1;
  if (!std::binary_search(segments_.begin(), segments_.end(), next)) return false;
  auto header = ReadSegmentHeader(SegmentPath(directory_, next), next);
  if (!header) {
    if (header.error().code() != StatusCode::kCorruption) return header.error();
    end_.detail = header.error().message();
    return false;
  }
  if (header->log_id != first_header_->log_id || !(header->geometry.block_bytes == geometry_.block_bytes &&
                                                   header->geometry.segment_bytes == geometry_.segment_bytes)) {
    end_.detail = fmt::format("{} belongs to another log (its log id or geometry differs)", WalSegmentFileName(next));
    return false;
  }
  const bool straight_on = read_to_end && header->ContinuesPrevious();
  const bool resumed = header->prev_end_lsn == end_.end_lsn;
  if (!straight_on && !resumed) return false;
  WalSegmentHeader opened;
  IODEPTH_RETURN_IF_ERROR(OpenSegment(next, &opened));
  // A writer that resumed after a recovery abandoned whatever record was begun: it is
  // not part of the log, and was never acknowledged.
  if (!straight_on) pending_.reset();
  cursor_ = geometry_.FirstRecordLsn(next);
  end_.detail.clear();
  return true;
}

Result<uint64_t> WalReader::CountValidBlocksAfter(Lsn stop_lsn) {
  uint64_t valid = 0;
  const Lsn segment_end = geometry_.SegmentStart(segment_no_ + 1);
  for (Lsn block = geometry_.BlockFloor(stop_lsn) + geometry_.block_bytes; block < segment_end;
       block += geometry_.block_bytes) {
    IODEPTH_ASSIGN_OR_RETURN(const auto bytes, BlockAt(block));
    if (CheckWalFragment(bytes, block, nullptr) == WalFragmentCheck::kValid) ++valid;
  }
  return valid;
}

Status WalReader::Finish(WalStopReason reason, Lsn stop_lsn) {
  done_ = true;
  end_.reason = reason;
  end_.stop_lsn = stop_lsn;
  end_.last_segment = segment_no_;
  if (pending_) end_.incomplete_record_lsn = pending_->lsn;
  if (geometry_.SegmentOf(stop_lsn) == segment_no_) {
    IODEPTH_ASSIGN_OR_RETURN(end_.valid_blocks_after_stop, CountValidBlocksAfter(stop_lsn));
  }
  for (const uint64_t segment : segments_) {
    if (segment > segment_no_) after_end_.push_back(segment);
  }
  return Status::OK();
}

Result<bool> WalReader::Next(WalRecord* record) {
  while (!done_) {
    const Lsn pos = NextFragmentLsn(geometry_, cursor_);
    if (geometry_.SegmentOf(pos) != segment_no_) {  // This segment was read to its end.
      IODEPTH_ASSIGN_OR_RETURN(const bool entered, EnterNextSegment(/*read_to_end=*/true));
      if (!entered) {
        const WalStopReason reason = end_.detail.empty() ? WalStopReason::kSegmentEnd : WalStopReason::kNextSegmentBad;
        IODEPTH_RETURN_IF_ERROR(Finish(reason, geometry_.SegmentStart(segment_no_ + 1)));
      }
      continue;
    }
    IODEPTH_ASSIGN_OR_RETURN(const auto bytes, BlockAt(pos));
    WalFragmentView fragment;
    const WalFragmentCheck check = CheckWalFragment(bytes, pos, &fragment);
    WalStopReason stop = WalStopReason::kZeroed;
    bool stops = check != WalFragmentCheck::kValid;
    if (stops) stop = ReasonOf(check);
    const bool begins = fragment.type == WalFragmentType::kFull || fragment.type == WalFragmentType::kFirst;
    if (!stops && begins == pending_.has_value()) {  // A new record inside one, or a continuation of none.
      stops = true;
      stop = WalStopReason::kBadSequence;
    }
    if (stops) {
      IODEPTH_ASSIGN_OR_RETURN(const bool entered, EnterNextSegment(/*read_to_end=*/false));
      if (!entered) IODEPTH_RETURN_IF_ERROR(Finish(stop, pos));
      continue;
    }
    if (begins) pending_ = WalRecord{pos, 0, {}};
    pending_->payload.insert(pending_->payload.end(), fragment.payload.begin(), fragment.payload.end());
    cursor_ = pos + kWalFragmentHeaderBytes + fragment.payload.size();
    if (fragment.type == WalFragmentType::kFull || fragment.type == WalFragmentType::kLast) {
      pending_->end_lsn = cursor_;
      *record = std::move(*pending_);
      pending_.reset();
      end_.end_lsn = cursor_;
      ++end_.records;
      return true;
    }
  }
  return false;
}

Result<WalReadEnd> ReadWal(const std::string& directory, const std::function<Status(const WalRecord&)>& visit) {
  IODEPTH_ASSIGN_OR_RETURN(auto reader, WalReader::Open(directory));
  WalRecord record;
  for (;;) {
    IODEPTH_ASSIGN_OR_RETURN(const bool got, reader->Next(&record));
    if (!got) break;
    if (visit) IODEPTH_RETURN_IF_ERROR(visit(record));
  }
  return reader->end();
}

}  // namespace iodepth
