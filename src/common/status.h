// common/: what every layer shares and none owns: Status and Result, assertions, the
// clock, the latency histogram, units, text helpers, the block pattern data files carry,
// CRC32C. It depends on nothing of the project's and never does I/O (text.h's PathExists
// is a stat()).
//
// Status: the outcome of an operation that can fail, without exceptions.
//
// An OK status is a null pointer and costs nothing to create, copy or test. A failed
// status carries a code, the errno that caused it (0 when none) and a message with its
// context, for example "read 4096 bytes at offset 8192 of t.dat: Input/output error".
// Messages are written for the person who must act on them: what failed, the value that
// was wrong, and what would fix it.
//
// Status is a value type: copyable, movable, safe to hand between threads once built.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace iodepth {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // The caller asked for something malformed; nothing was done.
  kIoError,             // The operating system reported a failure (errno is set).
  kNotSupported,        // This machine, kernel or filesystem cannot do it.
  kQueueFull,           // A bounded queue is at its limit; reap before adding more.
  kFailedPrecondition,  // The object is in a state where the call cannot proceed.
  kCorruption,          // Data read back is not what was written.
  kNotFound,
  kResourceExhausted,  // Every unit of a bounded resource is in use (all buffer frames pinned).
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK.
  Status(const Status& other) : state_(other.state_ ? std::make_unique<State>(*other.state_) : nullptr) {}
  Status& operator=(const Status& other) {
    if (this != &other) state_ = other.state_ ? std::make_unique<State>(*other.state_) : nullptr;
    return *this;
  }
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;
  ~Status() = default;

  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string message) {
    return Status(StatusCode::kInvalidArgument, 0, std::move(message));
  }
  static Status NotSupported(std::string message) { return Status(StatusCode::kNotSupported, 0, std::move(message)); }
  static Status QueueFull(std::string message) { return Status(StatusCode::kQueueFull, 0, std::move(message)); }
  static Status FailedPrecondition(std::string message) {
    return Status(StatusCode::kFailedPrecondition, 0, std::move(message));
  }
  static Status Corruption(std::string message) { return Status(StatusCode::kCorruption, 0, std::move(message)); }
  static Status NotFound(std::string message) { return Status(StatusCode::kNotFound, 0, std::move(message)); }
  static Status ResourceExhausted(std::string message) {
    return Status(StatusCode::kResourceExhausted, 0, std::move(message));
  }
  // "context: strerror(error_number)". EINVAL, ENOTSUP and friends keep kIoError: the
  // errno says what happened and the context says where.
  static Status PosixError(std::string_view context, int error_number);

  bool ok() const { return state_ == nullptr; }
  StatusCode code() const { return state_ ? state_->code : StatusCode::kOk; }
  int error_number() const { return state_ ? state_->error_number : 0; }
  const std::string& message() const;
  // "IoError: read ... : Input/output error", or "OK".
  std::string ToString() const;

  // Returns a copy whose message is prefixed with `context` ("open t.dat: ...").
  Status WithContext(std::string_view context) const;

  // Returns a copy whose message ends with `suffix` (code, errno and setting kept).
  Status WithSuffix(std::string_view suffix) const;

  // Names the settings a failure concerns, in the failing layer's own terms
  // ("block_size", "queue_depth"; several separated by ','), so that whoever knows where
  // a setting came from (the CLI: a flag) can say which one to change. A layer below the
  // CLI never names a flag: it names the setting. Kept by WithContext. Returns *this.
  Status WithSetting(std::string_view setting) &&;
  // The settings named by WithSetting, or "" when none (and for OK).
  std::string_view setting() const { return state_ ? std::string_view(state_->setting) : std::string_view(); }

  // Makes dropping a status visible at the call site.
  void IgnoreError() const {}

 private:
  struct State {
    StatusCode code;
    int error_number;
    std::string message;
    std::string setting;  // See WithSetting.
  };
  Status(StatusCode code, int error_number, std::string message)
      : state_(std::make_unique<State>(State{code, error_number, std::move(message), {}})) {}

  std::unique_ptr<State> state_;
};

// Returns early from the enclosing function when `expr` yields a failed Status.
#define IODEPTH_RETURN_IF_ERROR(expr)                  \
  do {                                                 \
    ::iodepth::Status iodepth_status_ = (expr);        \
    if (!iodepth_status_.ok()) return iodepth_status_; \
  } while (false)

}  // namespace iodepth
