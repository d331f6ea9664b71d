// Flag hints: the layers below the CLI name the settings a failure concerns in their own
// terms (Status::WithSetting: "block_size", "queue_depth"); the CLI knows which flag sets
// which setting in each command and adds that to the message, so the person reading it
// knows what to change. A message that names no setting, or only settings the command
// has no flag for, is left as it is. The table lives in flag_hints.cc, once.
#pragma once

#include <string_view>

#include "common/status.h"

namespace iodepth::tools {

// `status` with " (change <flag>[, <flag>...])" appended for the settings it names that
// `command` ("bench", "suite", ...) has flags for, in the order the status names them;
// `status` itself when it names none.
Status WithFlagHint(const Status& status, std::string_view command);

}  // namespace iodepth::tools
