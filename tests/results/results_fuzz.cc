// Fuzz target: a results file (JSON) read back, as `iodepth report` and `advise` do.
// Any input must end in a parse or a clear error; what parses must write back out.
// Driven by testutil/fuzz_main.cc, or by libFuzzer (scripts/fuzz.sh).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "results/results.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json json = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return 0;
  const iodepth::Result<iodepth::ResultsDocument> document = iodepth::ParseResults(json);
  if (!document.has_value()) {
    if (document.error().message().empty()) {
      std::cerr << "results reader refused an input without saying why\n";
      std::abort();
    }
    return 0;
  }
  (void)iodepth::ToJson(*document).dump();
  return 0;
}
