#pragma once

// Internal to probes/: the client-to-server leg of one TURN allocation, for the turn and relay
// probes. The target's `transport` picks UDP (a socket per allocation) or a stream (TCP or
// TLS, from openStream()) to the server, RFC 8656 §2.1; the relay itself is UDP either way. The
// probes hand it whole STUN or ChannelData messages and get whole messages back, whichever the
// transport.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "net/byte_stream.h"
#include "net/socket_address.h"
#include "net/udp_socket.h"
#include "probes/probe.h"
#include "probes/turn_framing.h"

namespace mediapath::probes {

/// One connection to a TURN server. Over UDP each datagram from the server's address is a
/// message. Over a stream the server's bytes are cut into messages (TurnStreamFramer), outgoing
/// ChannelData is padded to a multiple of 4 bytes (RFC 8656 §12.5), and a request is never sent
/// again (RFC 8489 §6.2.2: the transport is reliable; reliable() tells the probe).
///
/// Callbacks never run after close() or destruction, and each may destroy the connection.
///
/// Thread safety: loop thread only.
class TurnConnection {
 public:
  struct Callbacks {
    /// A message from the server (valid during the call).
    std::function<void(std::span<const std::uint8_t>)> message;
    /// Stream only, at most once: the connection cannot carry the round any further (connect
    /// failed, the server closed it, a frame could not be delimited). Nothing is received after.
    std::function<void(std::string error)> failed;
    /// Stream only: the connection is up (for the connect phase's time). May be empty.
    std::function<void()> connected;
  };

  TurnConnection() = default;
  TurnConnection(const TurnConnection&) = delete;
  TurnConnection& operator=(const TurnConnection&) = delete;

  /// Opens a connection to `server` over `target.transport` (closing any earlier one). Returns ""
  /// or why it could not start ("UDP socket: too many open files"). Messages sent before a
  /// stream's connect completes go out once it does. `channel`: the channel this client binds on
  /// the allocation, the only one ChannelData may come in on (over a stream, anything else fails
  /// it; over UDP the probe filters).
  std::string open(const ProbeContext& context, const ProbeTarget& target,
                   const net::SocketAddress& server, Callbacks callbacks,
                   std::optional<std::uint16_t> channel = std::nullopt);
  /// Sends one whole message. 0 or a negative libuv error (UV_ENOTCONN once a stream failed).
  int send(std::span<const std::uint8_t> message);
  /// True over a stream: requests are not retransmitted.
  bool reliable() const { return stream_ != nullptr; }
  /// Over TLS, once connected: copies the negotiated version and the server certificate's
  /// notAfter into `result` (probe_support.h noteTlsDetails); nothing over UDP or TCP.
  void noteTlsDetails(ProbeResult& result) const;
  void close();

  // Kernel receive timestamps (issue #16 item 4, DESIGN.md "Probes" → Timing), UDP only: a
  // stream has no per-message stamp (a message may span segments, several may share one, and TLS
  // records are decrypted in user space), so turn and relay over tcp/tls time by the loop.
  /// Over UDP, has the kernel stamp each datagram from now on (call right after open()). False
  /// over a stream or when the kernel refuses.
  bool enableReceiveTimestamps() { return udp_ && udp_->enableReceiveTimestamps() == 0; }
  /// When the kernel received the message being handed to Callbacks::message, on the steady
  /// clock; nullopt over a stream or without stamps. Valid only during that callback.
  std::optional<std::chrono::steady_clock::time_point> receivedAt() const {
    return udp_ ? udp_->receivedAt() : std::nullopt;
  }

 private:
  void onConnected(int status);
  void onRead(int error, std::string_view data);
  void fail(std::string error);

  net::SocketAddress server_;
  std::string label_;  ///< "TCP connection to 127.0.0.1:3478", for errors
  Callbacks callbacks_;
  std::unique_ptr<net::UdpSocket> udp_;
  std::unique_ptr<net::ByteStream> stream_;
  bool connected_ = false;
  bool failed_ = false;
  std::string unsent_;  ///< written before the stream was connected
  std::string out_;     ///< the message being written, with its padding
  TurnStreamFramer framer_;
  // Replaced by close(): a read callback that outlives its connection sees it expired.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace mediapath::probes
