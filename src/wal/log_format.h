// wal/: the write-ahead log. It owns the log's on-disk format, the writer that makes
// records durable with group commit, and the reader that recovers them after a crash. It
// moves bytes only through io/ (File, IoQueue); it knows nothing of pages, tables or the
// buffer manager, which ask it "is the log durable up to LSN x?" and never the reverse.
//
// The log is one byte stream cut into fixed-size segment files, each cut into fixed-size
// blocks. An LSN (log sequence number) is a byte offset into that stream: segment
// n holds LSNs [n x S, (n + 1) x S), so where an LSN lives is arithmetic, and a page can
// record "the log must be durable up to here" as one integer.
//
//   segment file wal-<16 hex digits of n>.seg, S bytes (preallocated, zero-filled)
//   +-----------------+------------------+------------------+-----+------------------+
//   | block 0         | block 1          | block 2          | ... | block S/B - 1    |
//   | [seg hdr][frag] | [frag][frag][pad]| [frag ...      ] |     |                  |
//   +-----------------+------------------+------------------+-----+------------------+
//
//   segment header (64 bytes at offset 0 of every segment; little-endian)
//    0        4        6        8          12         16                24
//    +--------+--------+--------+----------+----------+-----------------+------------
//    | magic  | version| hdr    | block    | reserved | segment bytes   | log id ...
//    | "IDWL" | u16 = 1| u16 =64| bytes u32| u32 = 0  | u64             | u64
//    +--------+--------+--------+----------+----------+-----------------+------------
//    24                32                40        44                          64
//    +-----------------+-----------------+---------+---------------------------+
//    | segment no u64  | prev end LSN u64| crc u32 | zero                      |
//    +-----------------+-----------------+---------+---------------------------+
//    crc = CRC32C of bytes [0, 40). "prev end LSN" says where the log continues from:
//    the segment's own first LSN when the writer ran straight into it from the segment
//    before, or the end of the last whole record a recovery found when a writer reopened
//    the log after a crash (it never writes into a segment it did not finish: see below).
//
//   fragment header (16 bytes; a fragment never crosses a block boundary)
//    0        4        6       7          8                 16
//    +--------+--------+-------+----------+-----------------+---------------------+
//    | crc u32| length | type  | reserved | LSN u64         | payload (length B)  |
//    |        | u16    | u8    | u8 = 0   | (its own offset)|                     |
//    +--------+--------+-------+----------+-----------------+---------------------+
//    crc = CRC32C of bytes [4, 16 + length): header fields and payload.
//    type: 1 full record, 2 first, 3 middle, 4 last fragment of a record that spans
//    blocks (and perhaps segments); 0 is never written, so zeroed space reads as the end.
//
// A record is the payload of one full fragment, or of a first, middles and a last. Its LSN
// is the offset of its first fragment's header; its end LSN is the offset just past its
// last payload byte, and that is the LSN a committer waits for. When fewer than 16 bytes
// are left in a block, they stay zero and the next fragment starts the next block.
//
// Why each field:
// - The LSN inside each fragment makes stale bytes harmless: a fragment is valid only at
//   the offset it names, so bytes left from an earlier life of the space never read as
//   records.
// - Blocks bound the damage of a torn write: a device tears a write at sector
//   granularity, and no fragment spans two blocks, so one torn block loses only the
//   fragments inside it, and a reader re-synchronises at the next block start.
// - The segment header records the geometry, so a reader needs no options, and "prev end
//   LSN" lets a reopened log continue past a torn tail without a reader ever mistaking
//   the abandoned bytes after that tail for records.
//
// Everything here is a pure function of its arguments: any thread may call it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "common/result.h"

namespace iodepth {

using Lsn = uint64_t;

inline constexpr uint32_t kWalSegmentHeaderBytes = 64;
inline constexpr uint32_t kWalFragmentHeaderBytes = 16;
inline constexpr uint32_t kWalMagic = 0x4C574449;  // "IDWL" read as little-endian bytes.
inline constexpr uint16_t kWalFormatVersion = 1;
inline constexpr uint32_t kWalMinBlockBytes = 512;
inline constexpr uint32_t kWalMaxBlockBytes = 65536;  // The u16 length must hold B - 16.
inline constexpr uint64_t kWalMaxSegmentBytes = 1ull << 30;
inline constexpr uint32_t kWalMinBlocksPerSegment = 4;

enum class WalFragmentType : uint8_t { kZero = 0, kFull = 1, kFirst = 2, kMiddle = 3, kLast = 4 };

// The block and segment sizes of one log; recorded in every segment header.
struct WalGeometry {
  uint32_t block_bytes = 4096;
  uint64_t segment_bytes = 16ull << 20;

  bool operator==(const WalGeometry&) const = default;
  // OK when the block is a power of two in [512, 64 KiB] and the segment a multiple of it,
  // at least 4 blocks and at most 1 GiB; otherwise InvalidArgument naming the setting
  // ("wal_block_bytes" or "wal_segment_bytes").
  Status Validate() const;

  uint64_t SegmentOf(Lsn lsn) const { return lsn / segment_bytes; }
  Lsn SegmentStart(uint64_t segment_no) const { return segment_no * segment_bytes; }
  // The LSN of the first fragment a segment can hold (just past its header).
  Lsn FirstRecordLsn(uint64_t segment_no) const { return SegmentStart(segment_no) + kWalSegmentHeaderBytes; }
  Lsn BlockFloor(Lsn lsn) const { return lsn - lsn % block_bytes; }
  Lsn BlockCeil(Lsn lsn) const { return BlockFloor(lsn + block_bytes - 1); }
  // The largest payload one fragment can carry.
  uint32_t MaxFragmentPayload() const { return block_bytes - kWalFragmentHeaderBytes; }
};

// "wal-000000000000002a.seg" for segment 42; ParseSegmentFileName is its inverse and
// rejects any other name (so a reader never opens a file that is not a segment).
std::string WalSegmentFileName(uint64_t segment_no);
std::optional<uint64_t> ParseWalSegmentFileName(std::string_view name);

struct WalSegmentHeader {
  WalGeometry geometry;
  uint64_t log_id = 0;
  uint64_t segment_no = 0;
  Lsn prev_end_lsn = 0;

  bool operator==(const WalSegmentHeader&) const = default;
  // Whether the writer ran straight into this segment from the one before.
  bool ContinuesPrevious() const { return prev_end_lsn == geometry.SegmentStart(segment_no); }
};

// REQUIRES: out.size() >= kWalSegmentHeaderBytes. Writes all 64 bytes.
void EncodeWalSegmentHeader(const WalSegmentHeader& header, std::span<std::byte> out);
// Corruption naming what is wrong (magic, version, checksum, geometry) when `in` is not a
// segment header, or not one of segment `expected_segment_no`.
Result<WalSegmentHeader> DecodeWalSegmentHeader(std::span<const std::byte> in, uint64_t expected_segment_no);

// Where the next fragment goes when the log has been written up to `pos`: `pos` itself,
// or the next block start when fewer than 16 bytes are left in its block, moved past the
// segment header when that is a segment start.
Lsn NextFragmentLsn(const WalGeometry& geometry, Lsn pos);

// One fragment of a record being placed; see PlaceWalRecord.
struct WalFragmentPlacement {
  Lsn lsn = 0;  // Where its header goes.
  WalFragmentType type = WalFragmentType::kFull;
  size_t payload_offset = 0;  // Its part of the record's payload.
  size_t payload_bytes = 0;
};

// Lays a record of `payload_bytes` out after `pos`: calls `visit` (when not null) with each
// fragment in order and returns {record LSN, end LSN}. The writer's placement and its
// space accounting both use it, so they cannot disagree.
template <typename Visit>
std::pair<Lsn, Lsn> PlaceWalRecord(const WalGeometry& geometry, Lsn pos, size_t payload_bytes, Visit&& visit);

// Writes one fragment (header and payload) at the start of `out`.
// REQUIRES: out.size() >= 16 + payload.size(); payload.size() <= MaxFragmentPayload().
void EncodeWalFragment(WalFragmentType type, Lsn lsn, std::span<const std::byte> payload, std::span<std::byte> out);

// What a reader finds at one fragment position.
enum class WalFragmentCheck {
  kValid,
  kZeroed,            // The header is all zero: space never written, the log's end.
  kBadLength,         // The length runs past the block.
  kBadType,           // Type 0 with other bytes set, or a type above 4.
  kWrongLsn,          // A well-formed fragment from another place or an earlier life.
  kChecksumMismatch,  // Torn or corrupted.
};
std::string_view WalFragmentCheckName(WalFragmentCheck check);

struct WalFragmentView {
  WalFragmentType type = WalFragmentType::kZero;
  std::span<const std::byte> payload;
};
// Checks the fragment whose header starts `in` (which runs to the end of its block) and
// should sit at `lsn`. *view is set only for kValid.
WalFragmentCheck CheckWalFragment(std::span<const std::byte> in, Lsn lsn, WalFragmentView* view);

// ---- template implementation -------------------------------------------------------

template <typename Visit>
std::pair<Lsn, Lsn> PlaceWalRecord(const WalGeometry& geometry, Lsn pos, size_t payload_bytes, Visit&& visit) {
  Lsn at = NextFragmentLsn(geometry, pos);
  const Lsn record_lsn = at;
  size_t placed = 0;
  bool first = true;
  for (;;) {
    const size_t room = geometry.block_bytes - at % geometry.block_bytes - kWalFragmentHeaderBytes;
    const size_t take = payload_bytes - placed < room ? payload_bytes - placed : room;
    const bool last = placed + take == payload_bytes;
    WalFragmentType type = WalFragmentType::kMiddle;
    if (first && last) type = WalFragmentType::kFull;
    else if (first) type = WalFragmentType::kFirst;
    else if (last) type = WalFragmentType::kLast;
    if constexpr (!std::is_same_v<std::decay_t<Visit>, std::nullptr_t>) {
      visit(WalFragmentPlacement{at, type, placed, take});
    }
    placed += take;
    at += kWalFragmentHeaderBytes + take;
    if (last) return {record_lsn, at};
    at = NextFragmentLsn(geometry, at);
    first = false;
  }
}

}  // namespace iodepth
