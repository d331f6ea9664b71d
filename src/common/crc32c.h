// CRC32C (Castagnoli, polynomial 0x1EDC6F41, reflected 0x82F63B78): the checksum of
// iSCSI, ext4 metadata and most storage engines' pages, chosen because x86 (SSE4.2
// `crc32`) and ARMv8 (`crc32c*`) compute it in hardware.
//
// The work is done by ISA-L's crc32_iscsi (Debian's libisal), which picks the fastest
// code this CPU supports at run time (PCLMULQDQ folding, SSE4.2, or a table) and is
// tested against every one of them by its own authors. This file only adapts its
// conventions to the usual ones: ISA-L neither inverts the CRC on entry nor on exit, and
// takes an `int` length; here the value is the standard CRC32C ("123456789" ->
// 0xE3069283) and any length is accepted.
//
//   Crc32c(a ++ b) == Crc32cExtend(Crc32c(a), b)
//
// Pure functions of their arguments: any thread may call them at any time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace iodepth {

// The CRC32C of `data`; 0 for empty input.
uint32_t Crc32c(std::span<const std::byte> data);

// The CRC32C of the bytes whose CRC32C is `crc`, followed by `data`. Lets a checksum be
// computed in pieces (for example around a field that must count as zero).
uint32_t Crc32cExtend(uint32_t crc, std::span<const std::byte> data);

}  // namespace iodepth
