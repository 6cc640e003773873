#pragma once

// Internal to probes/ (and fuzz/): TURN over a stream (TCP, TLS) to the server, RFC 8656 §11.5 /
// RFC 5766 §11.5. A stream has no datagram boundaries: each STUN message is delimited by its
// 20-byte header and the length in it, each ChannelData message by its 4-byte header and its
// length, padded to a multiple of 4 bytes. No sockets and no loop, so every byte a server sends
// over a stream goes through code a fuzz target (fuzz/turn_framing_fuzzer.cc) can call.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mediapath::probes {

/// The longest STUN message a TURN client takes from the server (the same limit as over UDP):
/// every answer the probes ask for fits in a few hundred bytes.
inline constexpr std::size_t kMaxTurnStunBytes = 2048;

/// ChannelData over a stream is padded to a multiple of 4 bytes (RFC 8656 §12.5; over UDP the
/// padding is optional). The padding bytes to send after a message of `size` bytes.
constexpr std::size_t channelDataPadding(std::size_t size) { return (4 - size % 4) % 4; }

/// Cuts the byte stream from a TURN server into messages: bytes go in as they arrive (partial
/// messages, several messages in one read), whole messages come out, STUN as sent and ChannelData
/// without its padding. A message that is neither STUN nor ChannelData (first two bits 0b00 /
/// 0b01, RFC 7983), a STUN message without the magic cookie or with a length that is not a
/// multiple of 4, ChannelData on any channel but `channel` (the one this client binds, if any: a
/// server sends ChannelData only on a bound channel, and an HTTP or TLS answer from something
/// that is not a TURN server starts like ChannelData, "HT" = channel 0x4854, with a length that
/// would hold the round until its timeout), or a STUN message longer than
/// `max_stun_bytes` cannot be delimited safely: the framer fails and stays failed (the stream is
/// unusable, as RFC 8656 §11.5 says a client can only close it). ChannelData is bounded by its
/// 16-bit length (65,539 bytes at most), so the buffer never holds much more than one read plus
/// one message.
///
/// Thread safety: none (one stream, one thread).
class TurnStreamFramer {
 public:
  explicit TurnStreamFramer(std::size_t max_stun_bytes = kMaxTurnStunBytes,
                            std::optional<std::uint16_t> channel = std::nullopt)
      : max_stun_(max_stun_bytes), channel_(channel) {}

  /// Takes the next bytes of the stream. Invalidates the spans next() returned.
  void append(std::span<const std::uint8_t> data);
  void append(std::string_view data) {
    append(std::span(reinterpret_cast<const std::uint8_t*>(data.data()), data.size()));
  }
  /// The next complete message (pointing into the framer, valid until the next append() or
  /// reset()), or nullopt when more bytes are needed or the stream failed (see error()).
  std::optional<std::span<const std::uint8_t>> next();
  bool failed() const { return !error_.empty(); }
  /// Why the stream can never be framed; contains no peer text beyond numbers.
  const std::string& error() const { return error_; }
  /// Bytes held and not yet returned by next().
  std::size_t buffered() const { return buffer_.size() - start_; }
  /// Forgets everything (a new connection).
  void reset();

 private:
  void fail(std::string why);

  std::size_t max_stun_;
  std::optional<std::uint16_t> channel_;
  std::vector<std::uint8_t> buffer_;
  std::size_t start_ = 0;  ///< buffer_ bytes before this were returned by next()
  std::string error_;
};

}  // namespace mediapath::probes
