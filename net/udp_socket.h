#pragma once

#include <uv.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>

#include "net/socket_address.h"
#include "net/socket_budget.h"
#include "net/uv_handle.h"

namespace mediapath::net {

/// A UDP socket on a libuv loop (uv_udp_t). Sends are synchronous (uv_udp_try_send: a probe
/// sends a few small datagrams, and a full socket buffer is reported as an error rather than
/// queued). After stopReceive(), close or destruction no receive callback runs; the receive
/// callback may destroy the socket.
///
/// Thread safety: none; owned by the thread running `loop`.
class UdpSocket {
 public:
  /// `data` is valid only during the call.
  using ReceiveCallback =
      std::function<void(std::span<const std::uint8_t> data, const SocketAddress& from)>;
  /// A negative libuv error the socket reported (UV_ECONNREFUSED after an ICMP port
  /// unreachable on a connected socket). The callback may destroy the socket.
  using ErrorCallback = std::function<void(int error)>;

  /// `budget` (may be null: not counted) must outlive the socket.
  explicit UdpSocket(uv_loop_t* loop, SocketBudget* budget = nullptr);
  ~UdpSocket() = default;

  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  /// Binds to `local` (port 0 picks a free port). Returns 0 or a negative libuv error
  /// (UV_EMFILE when the socket's SocketBudget is spent).
  int bind(const SocketAddress& local);
  /// The bound address (after bind()).
  std::optional<SocketAddress> localAddress() const;
  /// Connects to `remote` (after bind()): only its datagrams are received, and the kernel
  /// reports ICMP errors about it (port unreachable: UV_ECONNREFUSED) to the error callback and
  /// to the next send, which an unconnected socket never learns of.
  int connect(const SocketAddress& remote);
  /// Sends one datagram. Returns 0 or a negative libuv error. A connected socket sends only to
  /// its peer (UV_EISCONN for any other `to`).
  int send(const SocketAddress& to, std::span<const std::uint8_t> data);
  int send(const SocketAddress& to, std::string_view data);
  int startReceive(ReceiveCallback callback, ErrorCallback on_error = nullptr);
  /// From now on, asks the kernel when each received datagram arrived, for receivedAt() (after
  /// bind()). Opt-in: it costs a system call per datagram, which only RTT-timing users want.
  /// Returns 0 or a negative libuv error.
  int enableReceiveTimestamps();
  /// When the kernel received the datagram being handed to the receive callback, on
  /// std::chrono::steady_clock (net/kernel_timestamp.h), or nullopt (timestamps not enabled, or
  /// the kernel gave none). Valid only during that callback.
  std::optional<std::chrono::steady_clock::time_point> receivedAt() const { return received_at_; }
  void stopReceive();
  /// Closes the socket now (idempotent).
  void close();

 private:
  static void onAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void onReceive(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr,
                        unsigned flags);

  UvHandle<uv_udp_t> handle_;
  SocketBudget* budget_;
  SocketSlot slot_;  // held from bind/connect until close or destruction
  ReceiveCallback callback_;
  ErrorCallback on_error_;
  std::optional<SocketAddress> peer_;  // set by connect()
  bool timestamps_ = false;
  std::optional<std::chrono::steady_clock::time_point> received_at_;
};

/// libuv error code as text ("connection refused").
std::string uvErrorText(int error);

}  // namespace mediapath::net
