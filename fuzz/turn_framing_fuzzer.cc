// libFuzzer target for TURN over a stream (probes/turn_framing.cc): whatever a TURN server sends
// over TCP/TLS, cut at any points, is framed or fails without reading past what arrived; every
// message framed is a whole STUN or ChannelData message, and the cuts do not change the result.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "probes/channel_data.h"
#include "probes/turn_framing.h"

namespace {

using mediapath::probes::TurnStreamFramer;
using Messages = std::vector<std::vector<std::uint8_t>>;

// Checks each message next() returns and collects it.
void drain(TurnStreamFramer& f, std::optional<std::uint16_t> channel, Messages& out) {
  using namespace mediapath::probes;
  while (auto m = f.next()) {
    if (m->empty()) std::abort();
    if ((*m)[0] >> 6 == 0) {
      if (m->size() < 20 || m->size() > kMaxTurnStunBytes) std::abort();
      if (m->size() != 20u + (((*m)[2] << 8) | (*m)[3])) std::abort();
    } else {
      auto cd = parseChannelData(*m);
      if (!cd || cd->payload.size() + kChannelDataHeaderBytes != m->size()) std::abort();
      if (cd->channel != channel) std::abort();
    }
    out.emplace_back(m->begin(), m->end());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  // The first byte picks where reads are cut (a read of 1..16 bytes, repeating) and whether the
  // client bound channel 0x4000; the rest is the stream. Exact-size copies, so AddressSanitizer
  // catches a read past what arrived.
  std::size_t step = (data[0] & 0x0F) + 1;
  std::optional<std::uint16_t> channel;
  if ((data[0] & 0x10) != 0) channel = 0x4000;
  std::span<const std::uint8_t> stream(data + 1, size - 1);

  TurnStreamFramer whole(mediapath::probes::kMaxTurnStunBytes, channel);
  Messages at_once;
  {
    std::vector<std::uint8_t> copy(stream.begin(), stream.end());
    whole.append(copy);
    drain(whole, channel, at_once);
  }

  TurnStreamFramer cut(mediapath::probes::kMaxTurnStunBytes, channel);
  Messages in_pieces;
  for (std::size_t at = 0; at < stream.size(); at += step) {
    std::size_t n = std::min(step, stream.size() - at);
    std::vector<std::uint8_t> piece(stream.begin() + at, stream.begin() + at + n);
    cut.append(piece);
    drain(cut, channel, in_pieces);
  }
  // How the stream was cut into reads changes neither the messages nor the verdict.
  if (at_once != in_pieces || whole.error() != cut.error()) std::abort();
  if (cut.failed() && cut.buffered() != 0) std::abort();
  return 0;
}
