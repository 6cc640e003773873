// libFuzzer target for the hand-written SIP response parser (probes/sip_message.cc): any bytes
// a peer sends must be parsed or rejected without a crash, and the results must be consistent.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "probes/sip_message.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);

  auto response = mediapath::probes::parseSipResponse(input);
  if (response) {
    // Invariants the probe relies on.
    if (response->status_code < 100 || response->status_code > 699) std::abort();
    if (!response->vias.empty() && response->top_via_branch.size() > response->vias[0].size()) {
      std::abort();
    }
  }

  auto length = mediapath::probes::sipMessageLength(input, 4096);
  if (length && *length > size) std::abort();  // framing never claims bytes it does not have
  if (length && *length > 0) {
    // A framed message always parses as a response.
    if (!mediapath::probes::parseSipResponse(input.substr(0, *length))) std::abort();
  }
  return 0;
}
