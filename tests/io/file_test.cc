#include "io/file.h"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "common/block_pattern.h"
#include "io/aligned_buffer.h"
#include "io/fault_injector.h"
#include "testutil/io_printers.h"
#include "testutil/status_macros.h"
#include "testutil/temp_dir.h"

namespace iodepth {
namespace {

using testutil::kTestFileId;

// Offsets and lengths in the tests are multiples of this; the suite assumes a direct-I/O
// alignment no larger (checked in SetUp), true of every common device.
constexpr uint64_t kBlock = 4096;
constexpr std::byte kStale{0xAB};  // Pre-filled into read buffers to prove what a read wrote.

bool IsPowerOfTwo(uint64_t value) { return value != 0 && (value & (value - 1)) == 0; }

bool AllBytesAre(std::span<const std::byte> bytes, std::byte value) {
  return std::all_of(bytes.begin(), bytes.end(), [value](std::byte b) { return b == value; });
}

std::string Hex(uintptr_t value) {
  std::ostringstream out;
  out << std::hex << value;
  return out.str();
}

// A buffer aligned for any direct I/O in these tests, filled with kStale.
AlignedBuffer StaleBuffer(size_t size_bytes) {
  AlignedBuffer buffer = AlignedBuffer::Allocate(size_bytes, kBlock).value();
  std::fill(buffer.data(), buffer.data() + size_bytes, kStale);
  return buffer;
}

class FileTest : public ::testing::Test {
 protected:
  // Writes a pattern file of `size_bytes` and returns its path.
  std::string PatternFile(uint64_t size_bytes, std::string_view name = "data") {
    const std::string path = dir_.File(name);
    EXPECT_OK(testutil::WritePatternFile(path, size_bytes, kTestFileId));
    return path;
  }

  static OpenOptions Options(AccessMode access, CacheMode cache, bool create = false) {
    OpenOptions options;
    options.access = access;
    options.cache = cache;
    options.create = create;
    return options;
  }

  testutil::TempDir dir_;
};

// Tests that hold in both cache modes; offsets and lengths are block multiples so the
// same request is legal with O_DIRECT.
class FileCacheTest : public FileTest, public ::testing::WithParamInterface<CacheMode> {
 protected:
  void SetUp() override {
    path_ = PatternFile(kFileBytes);
    auto file = File::Open(path_, Options(AccessMode::kReadWrite, GetParam()));
    if (GetParam() == CacheMode::kDontcache && !file.has_value() && file.error().code() == StatusCode::kNotSupported) {
      GTEST_SKIP() << file.error().ToString();
    }
    ASSERT_OK_AND_ASSIGN(file_, std::move(file));
    ASSERT_EQ(file_->direct(), GetParam() == CacheMode::kDirect);
    ASSERT_EQ(file_->cache_mode(), GetParam());
    ASSERT_EQ(file_->rw_flags() != 0, GetParam() == CacheMode::kDontcache);
    ASSERT_LE(file_->alignment().offset_bytes, kBlock);
    ASSERT_LE(file_->alignment().memory_bytes, kBlock);
  }

  // Reads [offset, offset + length) through file_ and checks it is all there and correct.
  void ExpectReadsPattern(uint64_t offset, size_t length) {
    AlignedBuffer buffer = StaleBuffer(length);
    ASSERT_OK_AND_ASSIGN(const size_t done, file_->ReadAt(offset, buffer.span()));
    EXPECT_EQ(done, length);
    EXPECT_EQ(FindPatternMismatch(buffer.span(), offset, kTestFileId), std::nullopt);
  }

  static constexpr uint64_t kFileBytes = 16 * kBlock;
  std::string path_;
  std::unique_ptr<File> file_;
  FaultInjector faults_;
};

TEST_F(FileTest, OpeningAMissingFileWithoutCreateFails) {
  const std::string path = dir_.File("missing");
  const auto file = File::Open(path, Options(AccessMode::kReadOnly, CacheMode::kBuffered));
  ASSERT_FALSE(file.has_value());
  EXPECT_EQ(file.error().error_number(), ENOENT);
  EXPECT_NE(file.error().message().find(path), std::string::npos) << file.error().message();
}

TEST_F(FileTest, CreateMakesAnEmptyFile) {
  const std::string path = dir_.File("new");
  ASSERT_OK_AND_ASSIGN(auto file, File::Open(path, Options(AccessMode::kReadWrite, CacheMode::kBuffered, true)));
  EXPECT_GE(file->fd(), 0);
  EXPECT_EQ(file->path(), path);
  EXPECT_FALSE(file->direct());
  EXPECT_TRUE(file->direct_fallback_reason().empty());
  ASSERT_OK_AND_ASSIGN(const uint64_t size, file->Size());
  EXPECT_EQ(size, 0u);
  EXPECT_EQ(::access(path.c_str(), F_OK), 0);
}

TEST_F(FileTest, TruncateOptionEmptiesAnExistingFile) {
  const std::string path = PatternFile(3 * kBlock);
  OpenOptions options = Options(AccessMode::kWriteOnly, CacheMode::kBuffered);
  options.truncate = true;
  ASSERT_OK_AND_ASSIGN(auto file, File::Open(path, options));
  ASSERT_OK_AND_ASSIGN(const uint64_t size, file->Size());
  EXPECT_EQ(size, 0u);
}

TEST_F(FileTest, ReadOnlyFileRefusesWrites) {
  ASSERT_OK_AND_ASSIGN(auto file,
                       File::Open(PatternFile(kBlock), Options(AccessMode::kReadOnly, CacheMode::kBuffered)));
  const std::vector<std::byte> zeros(100);
  const auto written = file->WriteAt(0, zeros);
  ASSERT_FALSE(written.has_value());
  EXPECT_EQ(written.error().code(), StatusCode::kIoError);
  EXPECT_EQ(written.error().error_number(), EBADF);
  AlignedBuffer buffer = StaleBuffer(kBlock);
  ASSERT_OK(file->ReadAt(0, buffer.span()));
  EXPECT_EQ(FindPatternMismatch(buffer.span(), 0, kTestFileId), std::nullopt) << "the failed write changed data";
}

TEST_F(FileTest, WriteOnlyFileRefusesReads) {
  ASSERT_OK_AND_ASSIGN(auto file,
                       File::Open(PatternFile(kBlock), Options(AccessMode::kWriteOnly, CacheMode::kBuffered)));
  AlignedBuffer buffer = StaleBuffer(100);
  const auto read = file->ReadAt(0, buffer.span());
  ASSERT_FALSE(read.has_value());
  EXPECT_EQ(read.error().error_number(), EBADF);
}

TEST_F(FileTest, BufferedFileAcceptsAnyOffsetLengthAndAddress) {
  ASSERT_OK_AND_ASSIGN(auto file,
                       File::Open(PatternFile(3 * kBlock), Options(AccessMode::kReadOnly, CacheMode::kBuffered)));
  AlignedBuffer buffer = StaleBuffer(5000);
  std::span<std::byte> odd = buffer.span(1, 4321);
  EXPECT_OK(file->CheckDirectIo(/*offset=*/77, odd.data(), odd.size()));
  ASSERT_OK_AND_ASSIGN(const size_t done, file->ReadAt(77, odd));
  EXPECT_EQ(done, odd.size());
  EXPECT_EQ(FindPatternMismatch(odd, 77, kTestFileId), std::nullopt);
  EXPECT_EQ(buffer.data()[0], kStale) << "wrote before the span";
  EXPECT_EQ(buffer.data()[4322], kStale) << "wrote past the span";
}

TEST_F(FileTest, DirectAlignmentIsDiscoveredWithStatx) {
  ASSERT_OK_AND_ASSIGN(auto file, File::Open(PatternFile(kBlock), Options(AccessMode::kReadOnly, CacheMode::kDirect)));
  ASSERT_TRUE(file->direct());
  const DirectAlignment& alignment = file->alignment();
  EXPECT_STREQ(alignment.source, "statx") << "this suite runs on ext4, which reports STATX_DIOALIGN";
  EXPECT_TRUE(IsPowerOfTwo(alignment.memory_bytes)) << alignment.memory_bytes;
  EXPECT_TRUE(IsPowerOfTwo(alignment.offset_bytes)) << alignment.offset_bytes;
  const DirectAlignment again = DiscoverDirectAlignment(file->fd());
  EXPECT_EQ(again.memory_bytes, alignment.memory_bytes);
  EXPECT_EQ(again.offset_bytes, alignment.offset_bytes);
  EXPECT_STREQ(again.source, alignment.source);
}

TEST_F(FileTest, DirectMisuseIsRefusedBeforeTheKernel) {
  ASSERT_OK_AND_ASSIGN(auto file,
                       File::Open(PatternFile(8 * kBlock), Options(AccessMode::kReadWrite, CacheMode::kDirect)));
  ASSERT_TRUE(file->direct());
  const DirectAlignment alignment = file->alignment();
  ASSERT_GE(alignment.memory_bytes, 2u) << "no misaligned address exists";
  ASSERT_GE(alignment.offset_bytes, 2u) << "no misaligned offset exists";
  // The injector counts every attempt that reaches the transfer loop; misuse must not.
  FaultInjector faults;
  for (uint64_t offset = 0; offset < 8 * kBlock; offset += 512)
    faults.Add({.kind = FaultKind::kDelay, .offset = offset});
  file->SetFaultInjector(&faults);

  AlignedBuffer buffer = StaleBuffer(2 * kBlock);
  struct Misuse {
    const char* what;
    uint64_t offset;
    std::span<std::byte> span;
    std::string value;   // How the message must name the offending value.
    uint32_t alignment;  // The alignment the message must name.
  };
  std::byte* const odd_address = buffer.data() + alignment.memory_bytes / 2;
  const uint64_t odd_offset = 3 * kBlock + alignment.offset_bytes / 2 + 1;
  const size_t odd_length = kBlock + alignment.offset_bytes / 2 + 1;
  const Misuse cases[] = {
      {"buffer address",
       0,
       {odd_address, kBlock},
       Hex(reinterpret_cast<uintptr_t>(odd_address)),
       alignment.memory_bytes},
      {"offset", odd_offset, buffer.span(0, kBlock), std::to_string(odd_offset), alignment.offset_bytes},
      {"length", kBlock, buffer.span(0, odd_length), std::to_string(odd_length), alignment.offset_bytes},
  };
  for (const Misuse& misuse : cases) {
    SCOPED_TRACE(misuse.what);
    const Status checked = file->CheckDirectIo(misuse.offset, misuse.span.data(), misuse.span.size());
    const auto read = file->ReadAt(misuse.offset, misuse.span);
    const auto written = file->WriteAt(misuse.offset, misuse.span);
    for (const Status& status : {checked, read.error(), written.error()}) {
      EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.ToString();
      EXPECT_NE(status.message().find(misuse.value), std::string::npos) << status.message();
      EXPECT_NE(status.message().find(std::to_string(misuse.alignment)), std::string::npos) << status.message();
    }
  }
  EXPECT_TRUE(AllBytesAre(buffer.span(), kStale)) << "a refused read wrote into the buffer";
  EXPECT_EQ(faults.fired(), 0u) << "a refused request reached the transfer loop";
  ASSERT_OK(file->ReadAt(0, buffer.span(0, kBlock)));
  EXPECT_GT(faults.fired(), 0u) << "the injector does see attempts, so the zero above means something";
}

TEST_F(FileTest, FilesystemRefusingDirectIoIsReportedClearly) {
  const auto file = File::Open("/proc/self/status", Options(AccessMode::kReadOnly, CacheMode::kDirect));
  ASSERT_FALSE(file.has_value()) << "procfs accepted O_DIRECT";
  const StatusCode code = file.error().code();
  EXPECT_TRUE(code == StatusCode::kNotSupported || code == StatusCode::kIoError) << file.error().ToString();
  EXPECT_NE(file.error().message().find("O_DIRECT"), std::string::npos) << file.error().message();
}

TEST_F(FileTest, DirectFallbackOpensBufferedAndSaysWhy) {
  OpenOptions options = Options(AccessMode::kReadOnly, CacheMode::kDirect);
  options.direct_fallback = true;
  ASSERT_OK_AND_ASSIGN(auto file, File::Open("/proc/self/status", options));
  EXPECT_FALSE(file->direct());
  EXPECT_EQ(file->cache_mode(), CacheMode::kBuffered);
  EXPECT_FALSE(file->direct_fallback_reason().empty());
  std::vector<std::byte> buffer(4096, kStale);
  ASSERT_OK_AND_ASSIGN(const size_t done, file->ReadAt(0, buffer));
  ASSERT_GT(done, 5u);
  EXPECT_EQ(std::memcmp(buffer.data(), "Name:", 5), 0) << "the buffered fallback must really read the file";
}

TEST_F(FileTest, DirectFallbackIsUnusedWhereDirectIoWorks) {
  OpenOptions options = Options(AccessMode::kReadOnly, CacheMode::kDirect);
  options.direct_fallback = true;
  ASSERT_OK_AND_ASSIGN(auto file, File::Open(PatternFile(kBlock), options));
  EXPECT_TRUE(file->direct());
  EXPECT_TRUE(file->direct_fallback_reason().empty());
}

TEST_F(FileTest, DontcacheIsHonouredOrRefusedNeverSilentlyBuffered) {
  const auto file = File::Open(PatternFile(kBlock), Options(AccessMode::kReadOnly, CacheMode::kDontcache));
  if (!file.has_value()) {
    EXPECT_EQ(file.error().code(), StatusCode::kNotSupported) << file.error().ToString();
    EXPECT_NE(file.error().message().find("RWF_DONTCACHE"), std::string::npos) << file.error().message();
    return;
  }
  EXPECT_EQ((*file)->cache_mode(), CacheMode::kDontcache);
  EXPECT_NE((*file)->rw_flags(), 0);
  EXPECT_FALSE((*file)->direct());
}

TEST(CacheModeTest, NamesParseBack) {
  for (CacheMode mode : {CacheMode::kBuffered, CacheMode::kDirect, CacheMode::kDontcache}) {
    ASSERT_OK_AND_ASSIGN(const CacheMode parsed, ParseCacheMode(CacheModeName(mode)));
    EXPECT_EQ(parsed, mode);
  }
  EXPECT_EQ(CacheModeName(CacheMode::kDontcache), "dontcache");
  const auto unknown = ParseCacheMode("O_DIRECT");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.error().message().find("O_DIRECT"), std::string::npos) << unknown.error().message();
}

TEST_F(FileTest, SizeFollowsWritesAndTruncate) {
  ASSERT_OK_AND_ASSIGN(auto file,
                       File::Open(dir_.File("f"), Options(AccessMode::kReadWrite, CacheMode::kBuffered, true)));
  std::vector<std::byte> data(10'000);
  FillPattern(data, 0, kTestFileId);
  ASSERT_OK_AND_ASSIGN(const size_t written, file->WriteAt(0, data));
  EXPECT_EQ(written, data.size());
  EXPECT_OK(file->Sync());
  EXPECT_OK(file->DataSync());
  ASSERT_OK_AND_ASSIGN(uint64_t size, file->Size());
  EXPECT_EQ(size, 10'000u);

  ASSERT_OK(file->Truncate(5'000));
  ASSERT_OK_AND_ASSIGN(size, file->Size());
  EXPECT_EQ(size, 5'000u);
  ASSERT_OK(file->Truncate(20'000));
  std::vector<std::byte> back(20'000, kStale);
  ASSERT_OK_AND_ASSIGN(const size_t done, file->ReadAt(0, back));
  EXPECT_EQ(done, 20'000u);
  EXPECT_EQ(FindPatternMismatch(std::span(back).first(5'000), 0, kTestFileId), std::nullopt);
  EXPECT_TRUE(AllBytesAre(std::span(back).subspan(5'000), std::byte{0})) << "truncated bytes came back";
  EXPECT_OK(file->Close());
}

TEST_F(FileTest, AllocateExtendsTheFileAndKeepsItsData) {
  ASSERT_OK_AND_ASSIGN(auto file,
                       File::Open(PatternFile(kBlock), Options(AccessMode::kReadWrite, CacheMode::kBuffered)));
  ASSERT_OK(file->Allocate(0, 64 * kBlock));
  ASSERT_OK_AND_ASSIGN(const uint64_t size, file->Size());
  EXPECT_EQ(size, 64 * kBlock);
  std::vector<std::byte> back(2 * kBlock, kStale);
  ASSERT_OK_AND_ASSIGN(const size_t done, file->ReadAt(0, back));
  EXPECT_EQ(done, back.size());
  EXPECT_EQ(FindPatternMismatch(std::span(back).first(kBlock), 0, kTestFileId), std::nullopt);
  EXPECT_TRUE(AllBytesAre(std::span(back).subspan(kBlock), std::byte{0}));
}

TEST_P(FileCacheTest, WrittenBytesReadBack) {
  ASSERT_OK_AND_ASSIGN(auto file, File::Open(dir_.File("w"), Options(AccessMode::kReadWrite, GetParam(), true)));
  AlignedBuffer data = StaleBuffer(3 * kBlock);
  FillPattern(data.span(), 5 * kBlock, kTestFileId);
  ASSERT_OK_AND_ASSIGN(const size_t written, file->WriteAt(5 * kBlock, data.span()));
  EXPECT_EQ(written, data.size());
  AlignedBuffer back = StaleBuffer(3 * kBlock);
  ASSERT_OK_AND_ASSIGN(const size_t done, file->ReadAt(5 * kBlock, back.span()));
  EXPECT_EQ(done, back.size());
  EXPECT_EQ(FindPatternMismatch(back.span(), 5 * kBlock, kTestFileId), std::nullopt);
  ASSERT_OK_AND_ASSIGN(const size_t hole, file->ReadAt(0, back.span()));
  EXPECT_EQ(hole, back.size()) << "the hole before the data is part of the file";
  EXPECT_TRUE(AllBytesAre(back.span(), std::byte{0}));
}

TEST_P(FileCacheTest, ReadAtOrPastEndOfFileReturnsZeroAndZeroesTheBuffer) {
  for (uint64_t offset : {kFileBytes, kFileBytes + kBlock, 1000 * kFileBytes}) {
    AlignedBuffer buffer = StaleBuffer(2 * kBlock);
    ASSERT_OK_AND_ASSIGN(const size_t done, file_->ReadAt(offset, buffer.span()));
    EXPECT_EQ(done, 0u) << offset;
    EXPECT_TRUE(AllBytesAre(buffer.span(), std::byte{0})) << "stale bytes left past end of file at " << offset;
  }
}

TEST_P(FileCacheTest, ShortReadAtEndOfFileIsNotAnError) {
  // Tails off the direct alignment (1, 1000), on it but not on a page (1536), and none.
  for (uint64_t tail : {uint64_t{1}, uint64_t{1000}, uint64_t{1536}, uint64_t{0}}) {
    SCOPED_TRACE("tail " + std::to_string(tail));
    const uint64_t size = 3 * kBlock + tail;
    ASSERT_OK_AND_ASSIGN(auto file, File::Open(PatternFile(size, "tail"), Options(AccessMode::kReadOnly, GetParam())));
    AlignedBuffer buffer = StaleBuffer(4 * kBlock);
    ASSERT_OK_AND_ASSIGN(const size_t done, file->ReadAt(2 * kBlock, buffer.span()));
    EXPECT_EQ(done, kBlock + tail) << "exactly the bytes that exist";
    EXPECT_EQ(FindPatternMismatch(buffer.span(0, done), 2 * kBlock, kTestFileId), std::nullopt);
    EXPECT_TRUE(AllBytesAre(buffer.span(done, buffer.size() - done), std::byte{0})) << "tail not zeroed";
  }
}

TEST_P(FileCacheTest, InjectedErrorFailsOnlyTheReadCoveringItsOffset) {
  faults_.Add({.kind = FaultKind::kError, .offset = 5 * kBlock + 100});
  file_->SetFaultInjector(&faults_);
  EXPECT_EQ(file_->fault_injector(), &faults_);
  AlignedBuffer buffer = StaleBuffer(2 * kBlock);
  const auto failed = file_->ReadAt(4 * kBlock, buffer.span());
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().code(), StatusCode::kIoError);
  EXPECT_EQ(failed.error().error_number(), EIO);
  EXPECT_NE(failed.error().message().find(path_), std::string::npos) << failed.error().message();
  EXPECT_GT(faults_.fired(), 0u);
  ExpectReadsPattern(6 * kBlock, 2 * kBlock);
  ExpectReadsPattern(0, 5 * kBlock);
  file_->SetFaultInjector(nullptr);
  ExpectReadsPattern(4 * kBlock, 2 * kBlock);
}

TEST_P(FileCacheTest, RuleFiresOnlyItsNumberOfTimes) {
  faults_.Add({.kind = FaultKind::kError, .offset = 0, .times = 1});
  file_->SetFaultInjector(&faults_);
  AlignedBuffer buffer = StaleBuffer(kBlock);
  EXPECT_FALSE(file_->ReadAt(0, buffer.span()).has_value());
  ExpectReadsPattern(0, kBlock);
  EXPECT_EQ(faults_.fired(), 1u);
}

TEST_P(FileCacheTest, InjectedShortTransfersStillReadEverything) {
  // Direct I/O needs every piece aligned; buffered I/O gets deliberately odd pieces.
  const size_t piece = GetParam() == CacheMode::kDirect ? kBlock : 1000;
  for (uint64_t offset = kBlock; offset < 4 * kBlock; offset += piece) {
    faults_.Add({.kind = FaultKind::kShortTransfer, .offset = offset, .short_bytes = piece});
  }
  file_->SetFaultInjector(&faults_);
  ExpectReadsPattern(kBlock, 6 * kBlock);
  EXPECT_GE(faults_.fired(), 3u) << "the short transfers never happened";
}

TEST_P(FileCacheTest, InjectedShortTransfersStillWriteEverything) {
  const size_t piece = GetParam() == CacheMode::kDirect ? kBlock : 1000;
  faults_.Add({.kind = FaultKind::kShortTransfer, .offset = 0, .short_bytes = piece});
  faults_.Add({.kind = FaultKind::kShortTransfer, .offset = piece, .short_bytes = piece});
  file_->SetFaultInjector(&faults_);
  AlignedBuffer data = StaleBuffer(4 * kBlock);
  FillPattern(data.span(), 0, kTestFileId + 1);
  ASSERT_OK_AND_ASSIGN(const size_t written, file_->WriteAt(0, data.span()));
  EXPECT_EQ(written, data.size());
  EXPECT_GE(faults_.fired(), 2u);
  file_->SetFaultInjector(nullptr);
  AlignedBuffer back = StaleBuffer(4 * kBlock);
  ASSERT_OK(file_->ReadAt(0, back.span()));
  EXPECT_EQ(FindPatternMismatch(back.span(), 0, kTestFileId + 1), std::nullopt);
}

TEST_P(FileCacheTest, WriteOnlyFaultLeavesReadsAlone) {
  faults_.Add({.kind = FaultKind::kError, .offset = 0, .any_op = false, .op = IoOp::kWrite, .error_number = ENOSPC});
  file_->SetFaultInjector(&faults_);
  ExpectReadsPattern(0, 2 * kBlock);
  AlignedBuffer data = StaleBuffer(kBlock);
  const auto written = file_->WriteAt(0, data.span());
  ASSERT_FALSE(written.has_value());
  EXPECT_EQ(written.error().error_number(), ENOSPC);
  file_->SetFaultInjector(nullptr);
  ExpectReadsPattern(0, 2 * kBlock);  // Nothing moved.
}

INSTANTIATE_TEST_SUITE_P(CacheModes, FileCacheTest,
                         ::testing::Values(CacheMode::kBuffered, CacheMode::kDirect, CacheMode::kDontcache),
                         [](const ::testing::TestParamInfo<CacheMode>& param_info) {
                           return std::string(CacheModeLabel(param_info.param));
                         });

}  // namespace
}  // namespace iodepth
