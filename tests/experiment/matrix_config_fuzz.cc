// Fuzz target: a matrix config file (`iodepth matrix --config`), parsed onto the default,
// validated and, when valid, planned. Any input must end in a plan or a clear error.
// Driven by testutil/fuzz_main.cc, or by libFuzzer (scripts/fuzz.sh).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iostream>

#include <nlohmann/json.hpp>

#include "experiment/matrix.h"

namespace {

void RequireMessage(const iodepth::Status& status, const char* what) {
  if (!status.ok() && status.message().empty()) {
    std::cerr << what << " refused an input without saying why\n";
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json json = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return 0;
  const iodepth::MatrixConfig base = iodepth::DefaultMatrixConfig();
  const iodepth::Result<iodepth::MatrixConfig> config = iodepth::ParseMatrixConfig(json, base, "fuzz");
  if (!config.has_value()) {
    RequireMessage(config.error(), "the config reader");
    return 0;
  }
  const iodepth::Status valid = iodepth::ValidateMatrixConfig(*config);
  RequireMessage(valid, "config validation");
  if (!valid.ok()) return 0;
  const iodepth::Result<iodepth::MatrixPlan> plan = iodepth::PlanMatrix(*config, "/nonexistent/data");
  if (!plan.has_value()) RequireMessage(plan.error(), "planning");
  (void)iodepth::MatrixConfigToJson(*config).dump();
  return 0;
}
