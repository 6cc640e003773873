#pragma once

// Internal to probes/ (and fuzz/): the bytes of the relay probe's media stream — TURN ChannelData
// framing (RFC 8656 §12.4) and the probe's own packet inside it — without sockets or a loop, so
// every byte a TURN server (or anyone on the path) controls goes through code a fuzz target
// (fuzz/channel_data_fuzzer.cc) can call.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace mediapath::probes {

/// Channel numbers a client may bind (RFC 8656 §12: 0x4000-0x4FFF; 0x5000-0x7FFF are reserved).
inline constexpr std::uint16_t kMinChannel = 0x4000;
inline constexpr std::uint16_t kMaxChannel = 0x4FFF;
inline constexpr std::size_t kChannelDataHeaderBytes = 4;

/// True when a datagram from the server is ChannelData rather than STUN: its first two bits are
/// 0b01 (RFC 8656 §12; STUN messages start with 0b00, RFC 7983 demultiplexing).
bool looksLikeChannelData(std::span<const std::uint8_t> datagram);

struct ChannelDataView {
  std::uint16_t channel = 0;
  std::span<const std::uint8_t> payload;  ///< points into the datagram
};

/// Reads a ChannelData message: a channel number in 0x4000-0x4FFF and a length that the datagram
/// holds (over UDP the datagram may carry up to 3 bytes of padding after it, RFC 8656 §12.5,
/// which are ignored; any more trailing bytes make the message invalid). nullopt otherwise.
std::optional<ChannelDataView> parseChannelData(std::span<const std::uint8_t> datagram);

/// Writes the ChannelData header for `payload_size` bytes into the first 4 bytes of `out`; the
/// payload follows it. Returns the message size, 0 when `out` is too small, the channel is out of
/// range or the payload exceeds 65535 bytes.
std::size_t writeChannelDataHeader(std::uint16_t channel, std::size_t payload_size,
                                   std::span<std::uint8_t> out);

/// The probe's packet inside ChannelData, in network byte order: a 64-bit round tag (random per
/// round, so a late packet of an earlier round or anybody else's data is not counted) and a 32-bit
/// sequence number, then filler up to `stream.size`.
inline constexpr std::size_t kStreamHeaderBytes = 12;

struct StreamPacket {
  std::uint64_t round_tag = 0;
  std::uint32_t sequence = 0;
};

/// Fills `out` (at least kStreamHeaderBytes) with the packet header and zero filler. False when
/// `out` is too small.
bool writeStreamPacket(const StreamPacket& packet, std::span<std::uint8_t> out);
/// nullopt when the payload is shorter than kStreamHeaderBytes.
std::optional<StreamPacket> readStreamPacket(std::span<const std::uint8_t> payload);

}  // namespace mediapath::probes
