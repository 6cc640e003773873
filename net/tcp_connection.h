#pragma once

#include <uv.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "net/byte_stream.h"
#include "net/socket_address.h"
#include "net/socket_budget.h"
#include "net/uv_handle.h"

namespace mediapath::net {

/// One outgoing TCP connection on a libuv loop (uv_tcp_t). Callbacks never run after close() or
/// destruction, and each callback may destroy the connection.
///
/// Thread safety: none; owned by the thread running `loop`.
class TcpConnection final : public ByteStream {
 public:
  /// `budget` (may be null: not counted) must outlive the connection.
  explicit TcpConnection(uv_loop_t* loop, SocketBudget* budget = nullptr);
  ~TcpConnection() override = default;

  TcpConnection(const TcpConnection&) = delete;
  TcpConnection& operator=(const TcpConnection&) = delete;

  /// As ByteStream::connect; UV_EMFILE when the connection's SocketBudget is spent.
  int connect(const SocketAddress& remote, ConnectCallback callback) override;
  int write(std::string_view data) override;
  int startRead(ReadCallback callback) override;
  std::optional<SocketAddress> localAddress() const override;
  void close() override;
  /// The kernel's measure of the connection's handshake (SYN → SYN/ACK, from TCP_INFO), once
  /// connected: a loop that gets to the connect callback late does not inflate it. nullopt when
  /// the kernel has none, or when the SYN was sent again (Karn: the kernel then measures from
  /// the last copy, and the connect took the retransmission wait on top, which only the loop's
  /// timing shows).
  std::optional<std::chrono::microseconds> handshakeRtt() const;

 private:
  static void onConnect(uv_connect_t* req, int status);
  static void onAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void onRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);

  UvHandle<uv_tcp_t> handle_;
  SocketBudget* budget_;
  SocketSlot slot_;  // held from bind/connect until close or destruction
  ConnectCallback connect_callback_;
  ReadCallback read_callback_;
  // Allocated by startRead(): a connect-only user (the tcp probe, a connection per round) never
  // reads. A 16 KiB member, zeroed, made every connection a 16.5 KiB allocation, and with a few
  // per loop iteration glibc returned the heap top to the kernel and faulted it back in each
  // time: malloc, brk, page faults and memset were about 15% of the agent's CPU at 1,000 tcp
  // probes a second (bench/README.md, bench_tcp_probe).
  std::unique_ptr<char[]> buffer_;
  bool nodelay_ = false;  // TCP_NODELAY set (at the first write)
};

}  // namespace mediapath::net
