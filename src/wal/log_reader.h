// WalReader: recovery's view of a log directory. It returns every record from the first
// segment present up to the last whole record, in LSN order, and then says exactly where
// it stopped and why, so a crash's torn tail ends the log cleanly instead of failing it.
//
//   segment k: [hdr][rec][rec][rec][first..][~~torn~~][0000000000]
//                                  ^ end LSN  ^ stop LSN: checksum mismatch
//   segment k+1: [hdr prev end = end LSN][rec][rec][0000]     <- a writer reopened here
//
// How it walks (log_format.h draws the format):
// - Fragment by fragment, checking each: a zeroed header is the log's end; a bad
//   checksum, length, type or LSN stops it too (torn or damaged: the reader cannot tell
//   which from one position, so it says what it saw and counts the blocks after the stop
//   that still begin with a valid fragment: writes that were in flight at a crash, or
//   damage).
// - A record begun and not finished (a first fragment without its last) is never
//   returned; its LSN is reported.
// - At the end of a segment it continues into the next one only when that segment's
//   header says it follows straight on; wherever it stopped, it continues into the next
//   segment when that segment says a reopened writer resumed at the end of the last whole
//   record. Anything else after the stop is not part of the log (segments_after_end()).
//
// Read errors (EIO) are errors, never an end. A reader belongs to one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "io/file.h"
#include "wal/log_format.h"

namespace iodepth {

struct WalRecord {
  Lsn lsn = 0;      // Its first fragment's offset.
  Lsn end_lsn = 0;  // Just past its last payload byte: what Commit() waited for.
  std::vector<std::byte> payload;
};

enum class WalStopReason {
  kNoSegments,        // The directory holds no segment: an empty log.
  kZeroed,            // The next fragment position was never written: a clean end.
  kChecksumMismatch,  // Torn or corrupted bytes.
  kBadLength,
  kBadType,
  kWrongLsn,        // Bytes from another position or an earlier life of the space.
  kBadSequence,     // Fragments out of order (a middle without a first...): damage.
  kSegmentEnd,      // The last segment was read to its end and nothing continues it.
  kNextSegmentBad,  // The segment that should continue the log is unreadable or foreign.
};
std::string_view WalStopReasonName(WalStopReason reason);

struct WalReadEnd {
  WalStopReason reason = WalStopReason::kNoSegments;
  Lsn stop_lsn = 0;  // Where the reader found what stopped it.
  Lsn end_lsn = 0;   // Just past the last whole record: where a reopened writer resumes.
  uint64_t records = 0;
  uint64_t last_segment = 0;                 // The segment holding stop_lsn.
  std::optional<Lsn> incomplete_record_lsn;  // A record begun, not finished, not returned.
  uint64_t valid_blocks_after_stop = 0;      // In the stop's segment, past its block.
  std::string detail;                        // What was wrong with the next segment, if that stopped it.

  // One sentence: "the log ends at LSN 8256 (segment 0, offset 8256) after 12 records:
  // the next fragment position is zeroed (never written)".
  std::string Describe(const WalGeometry& geometry) const;
  // A stop a crash explains: zeroed space, or a torn write at the tail.
  bool clean() const { return reason == WalStopReason::kZeroed || reason == WalStopReason::kSegmentEnd; }
};

class WalReader {
 public:
  // Lists `directory`'s segments and reads the first one's header. NotFound when the
  // directory does not exist; Corruption (naming the file) when its first segment is not a
  // log segment; a directory without segments opens as an empty log.
  static Result<std::unique_ptr<WalReader>> Open(const std::string& directory);

  WalReader(const WalReader&) = delete;
  WalReader& operator=(const WalReader&) = delete;
  ~WalReader();

  // The next record into *record: true, or false at the end (then end() says where).
  Result<bool> Next(WalRecord* record);
  // Valid once Next() has returned false.
  const WalReadEnd& end() const { return end_; }
  // The first segment's header (geometry, log id); nullopt for an empty log.
  const std::optional<WalSegmentHeader>& first_header() const { return first_header_; }
  // Segment files with numbers above end().last_segment that the log does not reach
  // (abandoned after a crash, or created ahead and never used). Valid after the end.
  const std::vector<uint64_t>& segments_after_end() const { return after_end_; }
  const std::string& directory() const { return directory_; }

 private:
  WalReader(std::string directory, std::vector<uint64_t> segments);
  Status OpenSegment(uint64_t segment_no, WalSegmentHeader* header);
  Result<std::span<const std::byte>> BlockAt(Lsn lsn);
  Result<bool> EnterNextSegment(bool read_to_end);
  Status Finish(WalStopReason reason, Lsn stop_lsn);
  Result<uint64_t> CountValidBlocksAfter(Lsn stop_lsn);

  std::string directory_;
  std::vector<uint64_t> segments_;  // Sorted segment numbers present.
  std::optional<WalSegmentHeader> first_header_;
  WalGeometry geometry_;
  uint64_t segment_no_ = 0;
  std::unique_ptr<File> file_;
  std::vector<std::byte> chunk_;      // A block-aligned window of the open segment.
  uint64_t chunk_offset_ = 0;         // Its offset in the segment.
  size_t chunk_bytes_ = 0;            // Bytes valid in it.
  Lsn cursor_ = 0;                    // Next byte to look at.
  std::optional<WalRecord> pending_;  // A record whose last fragment is still to come.
  bool done_ = false;
  WalReadEnd end_;
  std::vector<uint64_t> after_end_;
};

// Reads the whole log in `directory`: `visit` gets every record in order (an error from
// it stops the read and is returned); then the end. The writer's recovery and the tests
// use it.
Result<WalReadEnd> ReadWal(const std::string& directory, const std::function<Status(const WalRecord&)>& visit);

}  // namespace iodepth
