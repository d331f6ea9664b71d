#include "wal/log_format.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include <fmt/format.h>

#include "common/assert.h"
#include "common/crc32c.h"
#include "common/little_endian.h"
#include "common/units.h"

namespace iodepth {
namespace {

// Segment header field offsets; the diagram in log_format.h is the authority.
constexpr size_t kMagicOffset = 0;
constexpr size_t kVersionOffset = 4;
constexpr size_t kHeaderBytesOffset = 6;
constexpr size_t kBlockBytesOffset = 8;
constexpr size_t kReservedOffset = 12;
constexpr size_t kSegmentBytesOffset = 16;
constexpr size_t kLogIdOffset = 24;
constexpr size_t kSegmentNoOffset = 32;
constexpr size_t kPrevEndOffset = 40;
constexpr size_t kHeaderCrcOffset = 48;
static_assert(kHeaderCrcOffset + 4 <= kWalSegmentHeaderBytes);

// Fragment header field offsets.
constexpr size_t kFragCrcOffset = 0;
constexpr size_t kFragLengthOffset = 4;
constexpr size_t kFragTypeOffset = 6;
constexpr size_t kFragReservedOffset = 7;
constexpr size_t kFragLsnOffset = 8;
static_assert(kFragLsnOffset + 8 == kWalFragmentHeaderBytes);

constexpr std::string_view kSegmentPrefix = "wal-";
constexpr std::string_view kSegmentSuffix = ".seg";
constexpr size_t kSegmentDigits = 16;

uint32_t FragmentCrc(std::span<const std::byte> header, std::span<const std::byte> payload) {
  return Crc32cExtend(Crc32c(header.subspan(kFragLengthOffset, kWalFragmentHeaderBytes - kFragLengthOffset)), payload);
}

}  // namespace

Status WalGeometry::Validate() const {
  if (block_bytes < kWalMinBlockBytes || block_bytes > kWalMaxBlockBytes || !std::has_single_bit(block_bytes)) {
    return Status::InvalidArgument(fmt::format("log block size {} is not a power of two between {} and {}",
                                               FormatBytes(block_bytes), FormatBytes(kWalMinBlockBytes),
                                               FormatBytes(kWalMaxBlockBytes)))
        .WithSetting("wal_block_bytes");
  }
  if (segment_bytes % block_bytes != 0 || segment_bytes < uint64_t{kWalMinBlocksPerSegment} * block_bytes ||
      segment_bytes > kWalMaxSegmentBytes) {
    return Status::InvalidArgument(
               fmt::format("log segment size {} must be a multiple of the {} block, at least {} blocks and at most {}",
                           FormatBytes(segment_bytes), FormatBytes(block_bytes), kWalMinBlocksPerSegment,
                           FormatBytes(kWalMaxSegmentBytes)))
        .WithSetting("wal_segment_bytes");
  }
  return Status::OK();
}

std::string WalSegmentFileName(uint64_t segment_no) {
  return fmt::format("{}{:016x}{}", kSegmentPrefix, segment_no, kSegmentSuffix);
}

std::optional<uint64_t> ParseWalSegmentFileName(std::string_view name) {
  if (name.size() != kSegmentPrefix.size() + kSegmentDigits + kSegmentSuffix.size()) return std::nullopt;
  if (!name.starts_with(kSegmentPrefix) || !name.ends_with(kSegmentSuffix)) return std::nullopt;
  uint64_t value = 0;
  for (const char c : name.substr(kSegmentPrefix.size(), kSegmentDigits)) {
    int digit;
    if (c >= '0' && c <= '9') digit = c - '0';
    else if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
    else return std::nullopt;  // Upper case is not a name the writer makes.
    value = value << 4 | static_cast<uint64_t>(digit);
  }
  return value;
}

void EncodeWalSegmentHeader(const WalSegmentHeader& header, std::span<std::byte> out) {
  IODEPTH_CHECK(out.size() >= kWalSegmentHeaderBytes, "segment header buffer too small");
  std::span<std::byte> bytes = out.first(kWalSegmentHeaderBytes);
  std::fill(bytes.begin(), bytes.end(), std::byte{0});
  StoreLe<uint32_t>(bytes, kMagicOffset, kWalMagic);
  StoreLe<uint16_t>(bytes, kVersionOffset, kWalFormatVersion);
  StoreLe<uint16_t>(bytes, kHeaderBytesOffset, static_cast<uint16_t>(kWalSegmentHeaderBytes));
  StoreLe<uint32_t>(bytes, kBlockBytesOffset, header.geometry.block_bytes);
  StoreLe<uint64_t>(bytes, kSegmentBytesOffset, header.geometry.segment_bytes);
  StoreLe<uint64_t>(bytes, kLogIdOffset, header.log_id);
  StoreLe<uint64_t>(bytes, kSegmentNoOffset, header.segment_no);
  StoreLe<uint64_t>(bytes, kPrevEndOffset, header.prev_end_lsn);
  StoreLe<uint32_t>(bytes, kHeaderCrcOffset, Crc32c(bytes.first(kHeaderCrcOffset)));
}

Result<WalSegmentHeader> DecodeWalSegmentHeader(std::span<const std::byte> in, uint64_t expected_segment_no) {
  if (in.size() < kWalSegmentHeaderBytes) {
    return Status::Corruption(fmt::format("it is {} bytes long, shorter than a segment header", in.size()));
  }
  const auto magic = LoadLe<uint32_t>(in, kMagicOffset);
  if (magic != kWalMagic)
    return Status::Corruption(fmt::format("it does not start with a log segment header (magic {:#010x})", magic));
  const auto version = LoadLe<uint16_t>(in, kVersionOffset);
  if (version != kWalFormatVersion) {
    return Status::Corruption(
        fmt::format("its log format version is {}; this iodepth reads version {}", version, kWalFormatVersion));
  }
  const auto stored_crc = LoadLe<uint32_t>(in, kHeaderCrcOffset);
  if (stored_crc != Crc32c(in.first(kHeaderCrcOffset))) {
    return Status::Corruption("its segment header fails its checksum");
  }
  if (LoadLe<uint16_t>(in, kHeaderBytesOffset) != kWalSegmentHeaderBytes ||
      LoadLe<uint32_t>(in, kReservedOffset) != 0) {
    return Status::Corruption("its segment header has a field this format does not allow");
  }
  WalSegmentHeader header;
  header.geometry.block_bytes = LoadLe<uint32_t>(in, kBlockBytesOffset);
  header.geometry.segment_bytes = LoadLe<uint64_t>(in, kSegmentBytesOffset);
  header.log_id = LoadLe<uint64_t>(in, kLogIdOffset);
  header.segment_no = LoadLe<uint64_t>(in, kSegmentNoOffset);
  header.prev_end_lsn = LoadLe<uint64_t>(in, kPrevEndOffset);
  if (Status valid = header.geometry.Validate(); !valid.ok()) {
    return Status::Corruption("its segment header records an impossible geometry: " + valid.message());
  }
  if (header.segment_no != expected_segment_no) {
    return Status::Corruption(
        fmt::format("its header says it is segment {}, but its name says {}", header.segment_no, expected_segment_no));
  }
  // A continuation never points forward: the log before this segment ends at or before
  // its start.
  if (header.prev_end_lsn > header.geometry.SegmentStart(header.segment_no)) {
    return Status::Corruption("its segment header says the log before it ends after it starts");
  }
  return header;
}

Lsn NextFragmentLsn(const WalGeometry& geometry, Lsn pos) {
  if (geometry.block_bytes - pos % geometry.block_bytes < kWalFragmentHeaderBytes) pos = geometry.BlockCeil(pos);
  if (pos % geometry.segment_bytes == 0) pos += kWalSegmentHeaderBytes;
  return pos;
}

void EncodeWalFragment(WalFragmentType type, Lsn lsn, std::span<const std::byte> payload, std::span<std::byte> out) {
  IODEPTH_CHECK(out.size() >= kWalFragmentHeaderBytes + payload.size(), "fragment buffer too small");
  IODEPTH_CHECK(payload.size() <= kWalMaxBlockBytes - kWalFragmentHeaderBytes, "fragment payload too long");
  std::span<std::byte> header = out.first(kWalFragmentHeaderBytes);
  StoreLe<uint16_t>(header, kFragLengthOffset, static_cast<uint16_t>(payload.size()));
  StoreLe<uint8_t>(header, kFragTypeOffset, static_cast<uint8_t>(type));
  StoreLe<uint8_t>(header, kFragReservedOffset, 0);
  StoreLe<uint64_t>(header, kFragLsnOffset, lsn);
  if (!payload.empty()) std::memcpy(out.data() + kWalFragmentHeaderBytes, payload.data(), payload.size());
  StoreLe<uint32_t>(header, kFragCrcOffset, FragmentCrc(header, payload));
}

std::string_view WalFragmentCheckName(WalFragmentCheck check) {
  switch (check) {
    case WalFragmentCheck::kValid: return "valid";
    case WalFragmentCheck::kZeroed: return "zeroed";
    case WalFragmentCheck::kBadLength: return "bad length";
    case WalFragmentCheck::kBadType: return "bad type";
    case WalFragmentCheck::kWrongLsn: return "wrong LSN";
    case WalFragmentCheck::kChecksumMismatch: return "checksum mismatch";
  }
  return "?";
}

WalFragmentCheck CheckWalFragment(std::span<const std::byte> in, Lsn lsn, WalFragmentView* view) {
  IODEPTH_CHECK(in.size() >= kWalFragmentHeaderBytes, "fragment position too close to its block's end");
  std::span<const std::byte> header = in.first(kWalFragmentHeaderBytes);
  if (std::all_of(header.begin(), header.end(), [](std::byte b) { return b == std::byte{0}; })) {
    return WalFragmentCheck::kZeroed;
  }
  const auto length = LoadLe<uint16_t>(header, kFragLengthOffset);
  const auto type = LoadLe<uint8_t>(header, kFragTypeOffset);
  if (kWalFragmentHeaderBytes + size_t{length} > in.size()) return WalFragmentCheck::kBadLength;
  std::span<const std::byte> payload = in.subspan(kWalFragmentHeaderBytes, length);
  // The checksum first: a torn header is most often a checksum failure, and a field that
  // looks wrong only matters once the bytes are known to be the ones written.
  if (LoadLe<uint32_t>(header, kFragCrcOffset) != FragmentCrc(header, payload)) {
    return WalFragmentCheck::kChecksumMismatch;
  }
  if (type == 0 || type > static_cast<uint8_t>(WalFragmentType::kLast) ||
      LoadLe<uint8_t>(header, kFragReservedOffset) != 0) {
    return WalFragmentCheck::kBadType;
  }
  if (LoadLe<uint64_t>(header, kFragLsnOffset) != lsn) return WalFragmentCheck::kWrongLsn;
  if (view != nullptr) *view = WalFragmentView{static_cast<WalFragmentType>(type), payload};
  return WalFragmentCheck::kValid;
}

}  // namespace iodepth
