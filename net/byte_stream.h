#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "net/socket_address.h"

namespace mediapath::net {

/// An outgoing, ordered byte stream on a libuv loop: plain TCP (TcpConnection) or TLS over TCP.
/// The sip, turn and relay probes speak their protocol over either without knowing which; the
/// transport is the target's `transport` setting.
///
/// Callbacks never run after close() or destruction, and each callback may destroy the stream.
///
/// Thread safety: none; owned by the thread running the loop.
class ByteStream {
 public:
  /// 0 once the stream is usable (for TLS: the handshake is done and the peer verified), or a
  /// negative libuv error. failureText() then says what went wrong in words a human can act on.
  using ConnectCallback = std::function<void(int status)>;
  /// Data as it arrives (`error` 0), or a final error/UV_EOF with empty data.
  using ReadCallback = std::function<void(int error, std::string_view data)>;

  virtual ~ByteStream() = default;

  /// Starts connecting. Returns 0 or a negative libuv error (then `callback` never runs).
  virtual int connect(const SocketAddress& remote, ConnectCallback callback) = 0;
  /// Queues `data` for writing (copied). Returns 0 or a negative libuv error. Write failures
  /// surface as read errors.
  virtual int write(std::string_view data) = 0;
  virtual int startRead(ReadCallback callback) = 0;
  virtual std::optional<SocketAddress> localAddress() const = 0;
  virtual void close() = 0;
  /// Why the last connect or read failed, beyond the libuv error ("certificate has expired",
  /// ...). Empty when the libuv error says it all.
  virtual std::string failureText() const { return {}; }
};

}  // namespace mediapath::net
