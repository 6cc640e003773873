#include "probes/turn_framing.h"

#include <cstdio>

#include "probes/channel_data.h"

namespace mediapath::probes {
namespace {

constexpr std::size_t kStunHeaderBytes = 20;
constexpr std::uint32_t kMagicCookie = 0x2112A442;

std::size_t read16(std::span<const std::uint8_t> b, std::size_t at) {
  return static_cast<std::size_t>((b[at] << 8) | b[at + 1]);
}

std::string hex(std::size_t value, int digits) {
  char text[16];
  std::snprintf(text, sizeof(text), "0x%0*zX", digits, value);
  return text;
}

}  // namespace

void TurnStreamFramer::append(std::span<const std::uint8_t> data) {
  if (failed()) return;
  // Drop what next() already returned; what stays is less than one message.
  buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(start_));
  start_ = 0;
  buffer_.insert(buffer_.end(), data.begin(), data.end());
}

std::optional<std::span<const std::uint8_t>> TurnStreamFramer::next() {
  if (failed()) return std::nullopt;
  auto rest = std::span<const std::uint8_t>(buffer_).subspan(start_);
  if (rest.empty()) return std::nullopt;
  std::size_t length = 0;  // the message without padding
  std::size_t frame = 0;   // the bytes it takes on the stream
  switch (rest[0] >> 6) {
    case 0: {  // STUN
      if (rest.size() < kStunHeaderBytes) return std::nullopt;
      std::size_t body = read16(rest, 2);
      std::uint32_t cookie = static_cast<std::uint32_t>(read16(rest, 4) << 16 | read16(rest, 6));
      if (cookie != kMagicCookie) {
        fail("STUN message without the magic cookie");
        return std::nullopt;
      }
      if (body % 4 != 0) {
        fail("STUN message length " + std::to_string(body) + " is not a multiple of 4");
        return std::nullopt;
      }
      length = frame = kStunHeaderBytes + body;
      if (length > max_stun_) {
        fail("STUN message of " + std::to_string(length) + " bytes (limit " +
             std::to_string(max_stun_) + ")");
        return std::nullopt;
      }
      break;
    }
    case 1: {  // ChannelData
      if (rest.size() < kChannelDataHeaderBytes) return std::nullopt;
      std::size_t channel = read16(rest, 0);
      if (!channel_ || channel != *channel_) {
        fail("ChannelData on channel " + hex(channel, 4) + ", not bound by this client");
        return std::nullopt;
      }
      length = kChannelDataHeaderBytes + read16(rest, 2);
      frame = length + channelDataPadding(length);
      break;
    }
    default:
      fail("neither STUN nor ChannelData (first byte " + hex(rest[0], 2) + ")");
      return std::nullopt;
  }
  if (rest.size() < frame) return std::nullopt;
  start_ += frame;
  return rest.first(length);
}

void TurnStreamFramer::reset() {
  buffer_.clear();
  start_ = 0;
  error_.clear();
}

void TurnStreamFramer::fail(std::string why) {
  error_ = std::move(why);
  buffer_.clear();
  buffer_.shrink_to_fit();
  start_ = 0;
}

}  // namespace mediapath::probes
