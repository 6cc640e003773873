#include "probes/channel_data.h"

#include <algorithm>

namespace mediapath::probes {
namespace {

std::uint16_t read16(std::span<const std::uint8_t> b, std::size_t at) {
  return static_cast<std::uint16_t>((b[at] << 8) | b[at + 1]);
}

void write16(std::span<std::uint8_t> b, std::size_t at, std::uint16_t v) {
  b[at] = static_cast<std::uint8_t>(v >> 8);
  b[at + 1] = static_cast<std::uint8_t>(v & 0xff);
}

// RFC 8656 §12.5: over UDP the padding to a multiple of 4 is optional, so at most 3 bytes.
constexpr std::size_t kMaxPadding = 3;

}  // namespace

bool looksLikeChannelData(std::span<const std::uint8_t> datagram) {
  return !datagram.empty() && (datagram[0] & 0xC0) == 0x40;
}

std::optional<ChannelDataView> parseChannelData(std::span<const std::uint8_t> datagram) {
  if (datagram.size() < kChannelDataHeaderBytes) return std::nullopt;
  std::uint16_t channel = read16(datagram, 0);
  if (channel < kMinChannel || channel > kMaxChannel) return std::nullopt;
  std::size_t length = read16(datagram, 2);
  std::size_t available = datagram.size() - kChannelDataHeaderBytes;
  if (length > available || available - length > kMaxPadding) return std::nullopt;
  return ChannelDataView{channel, datagram.subspan(kChannelDataHeaderBytes, length)};
}

std::size_t writeChannelDataHeader(std::uint16_t channel, std::size_t payload_size,
                                   std::span<std::uint8_t> out) {
  if (channel < kMinChannel || channel > kMaxChannel || payload_size > 0xFFFF ||
      out.size() < kChannelDataHeaderBytes + payload_size) {
    return 0;
  }
  write16(out, 0, channel);
  write16(out, 2, static_cast<std::uint16_t>(payload_size));
  return kChannelDataHeaderBytes + payload_size;
}

bool writeStreamPacket(const StreamPacket& packet, std::span<std::uint8_t> out) {
  if (out.size() < kStreamHeaderBytes) return false;
  for (std::size_t i = 0; i < 8; ++i) {
    out[i] = static_cast<std::uint8_t>(packet.round_tag >> (56 - 8 * i));
  }
  for (std::size_t i = 0; i < 4; ++i) {
    out[8 + i] = static_cast<std::uint8_t>(packet.sequence >> (24 - 8 * i));
  }
  std::fill(out.begin() + kStreamHeaderBytes, out.end(), std::uint8_t{0});
  return true;
}

std::optional<StreamPacket> readStreamPacket(std::span<const std::uint8_t> payload) {
  if (payload.size() < kStreamHeaderBytes) return std::nullopt;
  StreamPacket p;
  for (std::size_t i = 0; i < 8; ++i) p.round_tag = (p.round_tag << 8) | payload[i];
  for (std::size_t i = 8; i < 12; ++i) p.sequence = (p.sequence << 8) | payload[i];
  return p;
}

}  // namespace mediapath::probes
