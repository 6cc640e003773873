// libFuzzer target for the config reader (agent/config/config_loader.cc on net/json_input.cc):
// any bytes become a Config or a list of diagnostics, never an exception, a crash, deep
// recursion or a sanitizer finding. Build and run with scripts/fuzz.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "agent/config/config_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  mediapath::agent::LoadResult r = mediapath::agent::parseConfig(text, "fuzz.json");
  // Exactly one of a config and diagnostics; every diagnostic prints as one line.
  if (r.config.has_value() == !r.errors.empty()) __builtin_trap();
  for (const auto& d : r.errors) {
    std::string line = mediapath::agent::formatDiagnostic("fuzz.json", d);
    if (line.find('\n') != std::string::npos) __builtin_trap();
  }
  return 0;
}
