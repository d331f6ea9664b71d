#include "common/status.h"

#include <cstring>

#include <fmt/format.h>

namespace iodepth {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "OK";
    case StatusCode::kInvalidArgument: return "InvalidArgument";
    case StatusCode::kIoError: return "IoError";
    case StatusCode::kNotSupported: return "NotSupported";
    case StatusCode::kQueueFull: return "QueueFull";
    case StatusCode::kFailedPrecondition: return "FailedPrecondition";
    case StatusCode::kCorruption: return "Corruption";
    case StatusCode::kNotFound: return "NotFound";
    case StatusCode::kResourceExhausted: return "ResourceExhausted";
  }
  return "Unknown";
}

Status Status::PosixError(std::string_view context, int error_number) {
  const StatusCode code = error_number == ENOENT ? StatusCode::kNotFound : StatusCode::kIoError;
  return Status(code, error_number, fmt::format("{}: {}", context, std::strerror(error_number)));
}

const std::string& Status::message() const {
  static const std::string kEmpty;
  return state_ ? state_->message : kEmpty;
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return fmt::format("{}: {}", StatusCodeName(state_->code), state_->message);
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return Status();
  Status status(state_->code, state_->error_number, fmt::format("{}: {}", context, state_->message));
  status.state_->setting = state_->setting;
  return status;
}

Status Status::WithSuffix(std::string_view suffix) const {
  if (ok()) return Status();
  Status status(state_->code, state_->error_number, fmt::format("{}{}", state_->message, suffix));
  status.state_->setting = state_->setting;
  return status;
}

Status Status::WithSetting(std::string_view setting) && {
  if (state_) state_->setting = std::string(setting);
  return std::move(*this);
}

}  // namespace iodepth
