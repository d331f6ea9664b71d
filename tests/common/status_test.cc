#include "common/status.h"

#include <cerrno>
#include <set>
#include <string>
#include <utility>

#include <gtest/gtest.h>

namespace iodepth {
namespace {

TEST(StatusTest, DefaultIsOkAndEmpty) {
  const Status status;
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kOk);
  EXPECT_EQ(status.error_number(), 0);
  EXPECT_EQ(status.message(), "");
  EXPECT_EQ(status.ToString(), "OK");
  EXPECT_TRUE(Status::OK().ok());
}

TEST(StatusTest, EachFactoryCarriesItsCodeAndMessage) {
  const std::pair<Status, StatusCode> cases[] = {
      {Status::InvalidArgument("m"), StatusCode::kInvalidArgument},
      {Status::NotSupported("m"), StatusCode::kNotSupported},
      {Status::QueueFull("m"), StatusCode::kQueueFull},
      {Status::FailedPrecondition("m"), StatusCode::kFailedPrecondition},
      {Status::Corruption("m"), StatusCode::kCorruption},
      {Status::NotFound("m"), StatusCode::kNotFound},
      {Status::ResourceExhausted("m"), StatusCode::kResourceExhausted},
  };
  for (const auto& [status, code] : cases) {
    EXPECT_FALSE(status.ok());
    EXPECT_EQ(status.code(), code);
    EXPECT_EQ(status.message(), "m");
    EXPECT_EQ(status.error_number(), 0);
    EXPECT_EQ(status.ToString(), std::string(StatusCodeName(code)) + ": m");
  }
}

TEST(StatusTest, CodeNamesAreDistinct) {
  const StatusCode codes[] = {StatusCode::kOk,           StatusCode::kInvalidArgument, StatusCode::kIoError,
                              StatusCode::kNotSupported, StatusCode::kQueueFull,       StatusCode::kFailedPrecondition,
                              StatusCode::kCorruption,   StatusCode::kNotFound,        StatusCode::kResourceExhausted};
  std::set<std::string_view> names;
  for (StatusCode code : codes) {
    EXPECT_FALSE(StatusCodeName(code).empty());
    names.insert(StatusCodeName(code));
  }
  EXPECT_EQ(names.size(), std::size(codes));
  EXPECT_EQ(StatusCodeName(StatusCode::kIoError), "IoError");
}

TEST(StatusTest, PosixErrorNamesContextAndErrno) {
  const Status status = Status::PosixError("read 4096 bytes at offset 8192 of t.dat", EIO);
  EXPECT_EQ(status.code(), StatusCode::kIoError);
  EXPECT_EQ(status.error_number(), EIO);
  EXPECT_EQ(status.message(), "read 4096 bytes at offset 8192 of t.dat: Input/output error");
  EXPECT_EQ(status.ToString(), "IoError: read 4096 bytes at offset 8192 of t.dat: Input/output error");
}

TEST(StatusTest, PosixErrorKeepsIoErrorForEinvalAndEnotsup) {
  for (int error_number : {EINVAL, ENOTSUP, ENOSPC}) {
    const Status status = Status::PosixError("open f", error_number);
    EXPECT_EQ(status.code(), StatusCode::kIoError) << error_number;
    EXPECT_EQ(status.error_number(), error_number);
  }
}

TEST(StatusTest, WithContextPrefixesAndKeepsCodeAndErrno) {
  const Status inner = Status::PosixError("pread", ENOSPC);
  const Status outer = inner.WithContext("open t.dat");
  EXPECT_EQ(outer.code(), StatusCode::kIoError);
  EXPECT_EQ(outer.error_number(), ENOSPC);
  EXPECT_EQ(outer.message(), "open t.dat: " + inner.message());
  EXPECT_EQ(inner.message().rfind("pread", 0), 0u) << "the original must be left alone";
}

TEST(StatusTest, WithContextOnOkStaysOk) { EXPECT_TRUE(Status::OK().WithContext("anything").ok()); }

TEST(StatusTest, WithSettingNamesTheSettingAndWithContextKeepsIt) {
  const Status plain = Status::InvalidArgument("block size 0 must be above 0");
  EXPECT_EQ(plain.setting(), "");
  const Status named = Status::InvalidArgument("block size 0 must be above 0").WithSetting("block_size");
  EXPECT_EQ(named.setting(), "block_size");
  EXPECT_EQ(named.message(), "block size 0 must be above 0");
  const Status outer = named.WithContext("job t.dat");
  EXPECT_EQ(outer.setting(), "block_size");
  EXPECT_EQ(outer.message(), "job t.dat: block size 0 must be above 0");
  const Status copied = outer;  // NOLINT(performance-unnecessary-copy-initialization): the copy is the test.
  EXPECT_EQ(copied.setting(), "block_size");
}

TEST(StatusTest, WithSuffixKeepsCodeErrnoAndSetting) {
  const Status inner = Status::PosixError("read t.dat", EIO).WithSetting("filename");
  const Status outer = inner.WithSuffix(" (change --filename)");
  EXPECT_EQ(outer.code(), StatusCode::kIoError);
  EXPECT_EQ(outer.error_number(), EIO);
  EXPECT_EQ(outer.setting(), "filename");
  EXPECT_EQ(outer.message(), inner.message() + " (change --filename)");
  EXPECT_TRUE(Status::OK().WithSuffix("x").ok());
}

TEST(StatusTest, WithSettingOnOkStaysOkWithNoSetting) {
  const Status ok = Status::OK().WithSetting("block_size");
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(ok.setting(), "");
}

TEST(StatusTest, CopiesAreIndependentValues) {
  Status original = Status::Corruption("block 7");
  Status copy = original;
  EXPECT_EQ(copy.code(), StatusCode::kCorruption);
  EXPECT_EQ(copy.message(), "block 7");
  original = Status::OK();
  EXPECT_FALSE(copy.ok()) << "assigning to the original must not change the copy";
  const Status& alias = copy;
  copy = alias;  // Self-assignment keeps the value.
  EXPECT_EQ(copy.message(), "block 7");
  Status assigned;
  assigned = copy;
  EXPECT_EQ(assigned.ToString(), copy.ToString());
}

TEST(StatusTest, MoveCarriesTheFailure) {
  Status source = Status::NotFound("f");
  Status moved = std::move(source);
  EXPECT_EQ(moved.code(), StatusCode::kNotFound);
  EXPECT_EQ(moved.message(), "f");
}

Status ReturnIfError(const Status& first, bool* reached_end) {
  IODEPTH_RETURN_IF_ERROR(first);
  *reached_end = true;
  return Status::OK();
}

TEST(StatusTest, ReturnIfErrorReturnsEarlyOnlyOnFailure) {
  bool reached_end = false;
  EXPECT_TRUE(ReturnIfError(Status::OK(), &reached_end).ok());
  EXPECT_TRUE(reached_end);
  reached_end = false;
  const Status status = ReturnIfError(Status::QueueFull("full"), &reached_end);
  EXPECT_EQ(status.code(), StatusCode::kQueueFull);
  EXPECT_FALSE(reached_end);
}

}  // namespace
}  // namespace iodepth
