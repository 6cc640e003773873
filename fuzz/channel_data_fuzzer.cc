// libFuzzer target for the relay probe's media framing (probes/channel_data.cc): any datagram a
// TURN server (or anyone spoofing it) sends must be read or rejected without reading past it, and
// what is accepted must be what the writer would produce.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "probes/channel_data.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mediapath::probes;
  // An exact-size copy, so AddressSanitizer catches a read one byte past the datagram.
  std::vector<std::uint8_t> bytes(data, data + size);
  std::span<const std::uint8_t> datagram(bytes);
  auto frame = parseChannelData(datagram);
  if (!frame) return 0;
  if (!looksLikeChannelData(datagram)) std::abort();
  if (frame->channel < kMinChannel || frame->channel > kMaxChannel) std::abort();
  if (frame->payload.data() != bytes.data() + kChannelDataHeaderBytes) std::abort();
  if (kChannelDataHeaderBytes + frame->payload.size() > size) std::abort();
  if (size - kChannelDataHeaderBytes - frame->payload.size() > 3) std::abort();

  // Writing the same frame back gives the same header and a parse of the same payload.
  std::vector<std::uint8_t> again(kChannelDataHeaderBytes + frame->payload.size());
  if (writeChannelDataHeader(frame->channel, frame->payload.size(), again) != again.size()) {
    std::abort();
  }
  if (std::memcmp(again.data(), bytes.data(), kChannelDataHeaderBytes) != 0) std::abort();

  auto packet = readStreamPacket(frame->payload);
  if (packet.has_value() != (frame->payload.size() >= kStreamHeaderBytes)) std::abort();
  if (packet) {
    std::vector<std::uint8_t> payload(kStreamHeaderBytes);
    if (!writeStreamPacket(*packet, payload)) std::abort();
    if (std::memcmp(payload.data(), frame->payload.data(), kStreamHeaderBytes) != 0) std::abort();
  }
  return 0;
}
