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

  // Stream framing, fed in chunks whose sizes the input's first byte picks: whatever the split,
  // memory stays bounded and every framed message parses as a response.
  constexpr std::size_t kMax = 4096;
  mediapath::probes::SipStreamFramer framer(kMax);
  std::size_t chunk = size == 0 ? 1 : data[0] % 64 + 1;
  for (std::size_t at = 0; at < size && !framer.failed(); at += chunk) {
    framer.append(input.substr(at, chunk));
    while (auto message = framer.next()) {
      if (message->size() > kMax) std::abort();
      if (!mediapath::probes::parseSipResponse(*message)) std::abort();
    }
    if (framer.buffered() > kMax + chunk) std::abort();
  }
  return 0;
}
