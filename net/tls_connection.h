#pragma once

#include <uv.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "net/byte_stream.h"
#include "net/socket_address.h"
#include "net/socket_budget.h"
#include "net/tcp_connection.h"
#include "net/uv_idle.h"

// OpenSSL's types, declared here so that its headers stay inside tls_connection.cc.
struct ssl_ctx_st;
struct ssl_st;
struct bio_st;

namespace mediapath::net {

/// What a TLS client trusts: the system CAs plus an optional extra CA file, TLS 1.2 at least,
/// peer verification always on (there is no way to turn it off). Immutable once made; shared by
/// every connection that uses the same CA file.
///
/// Thread safety: immutable after create(); safe to share between threads.
class TlsClientContext {
 public:
  /// The context for `ca_file` ("" = system CAs only), made once and reused while the file's
  /// size and modification time stay the same (a replaced CA file is read again). Null, with
  /// `error` set ("TLS: cannot load ca_file \"/x.pem\": no certificate found"), when the file
  /// cannot be used.
  static std::shared_ptr<const TlsClientContext> forCaFile(const std::string& ca_file,
                                                           std::string& error);

  ~TlsClientContext();
  TlsClientContext(const TlsClientContext&) = delete;
  TlsClientContext& operator=(const TlsClientContext&) = delete;

  ssl_ctx_st* get() const { return ctx_; }

 private:
  explicit TlsClientContext(ssl_ctx_st* ctx) : ctx_(ctx) {}
  ssl_ctx_st* ctx_;
};

/// One outgoing TLS connection over TCP on a libuv loop (OpenSSL with memory BIOs fed from a
/// TcpConnection: nothing blocks). connect() reports after the handshake, once the peer's
/// certificate chain is verified against the context's CAs and its name against
/// `server_name` (a DNS name, or an IP literal checked against the certificate's IP SANs);
/// the name is also sent as SNI unless it is an IP literal.
///
/// A failed connect or read ends with a negative libuv error (UV_EPROTO for TLS failures) and
/// failureText() in words a human can act on: "TLS: certificate has expired", "TLS: certificate
/// does not match server name 'sip.example.net'", "TLS: certificate not trusted (unable to get
/// local issuer certificate)", "TLS handshake: wrong version number".
///
/// Bounded: decrypted data is handed to the read callback as it arrives; without one (before
/// startRead()), at most 64 KiB of the peer's bytes wait, beyond that the stream fails.
///
/// Callbacks never run after close() or destruction, and each callback may destroy the stream.
/// Thread safety: none; owned by the thread running `loop`.
class TlsConnection final : public ByteStream {
 public:
  struct Options {
    std::string server_name;  ///< required: the name (or IP literal) the certificate must match
    std::string ca_file;      ///< extra CA (PEM) beside the system's; "" = system CAs only
  };

  /// `budget` (may be null: not counted) must outlive the connection.
  TlsConnection(uv_loop_t* loop, Options options, SocketBudget* budget = nullptr);
  ~TlsConnection() override;

  TlsConnection(const TlsConnection&) = delete;
  TlsConnection& operator=(const TlsConnection&) = delete;

  /// As ByteStream::connect. Also fails at once (UV_EINVAL, failureText() says why) when the
  /// CA file cannot be loaded or server_name is empty.
  int connect(const SocketAddress& remote, ConnectCallback callback) override;
  /// UV_ENOTCONN before the handshake is done.
  int write(std::string_view data) override;
  int startRead(ReadCallback callback) override;
  std::optional<SocketAddress> localAddress() const override;
  void close() override;
  std::string failureText() const override { return failure_; }

  /// After a successful connect: the negotiated protocol ("TLSv1.3", "TLSv1.2"), else "".
  std::string tlsVersion() const;
  /// After a successful connect: the peer (leaf) certificate's notAfter.
  std::optional<std::chrono::system_clock::time_point> certNotAfter() const { return not_after_; }

 private:
  enum class State { kIdle, kConnecting, kHandshaking, kOpen, kClosed };

  void onTcpConnected(int status);
  void onTcpData(int error, std::string_view data);
  void continueHandshake();
  /// Decrypts what the read BIO holds and hands it to the read callback.
  void drain();
  /// Sends what OpenSSL wrote into the write BIO: 0 or the libuv error.
  int sendPending();
  /// sendPending(), failing the stream on error (then false).
  bool flush();
  /// Ends a connecting or open stream with `status` and `text` (connect or read callback).
  void fail(int status, std::string text);
  std::string handshakeFailureText(int ssl_error);

  Options options_;
  TcpConnection tcp_;
  UvIdle defer_;
  State state_ = State::kIdle;
  std::shared_ptr<const TlsClientContext> context_;
  ssl_st* ssl_ = nullptr;
  bio_st* network_in_ = nullptr;   ///< bytes from the peer, read by OpenSSL (owned by ssl_)
  bio_st* network_out_ = nullptr;  ///< bytes OpenSSL wants sent (owned by ssl_)
  ConnectCallback connect_callback_;
  ReadCallback read_callback_;
  std::string failure_;
  std::optional<std::chrono::system_clock::time_point> not_after_;
  // Set to false by close()/destruction: a callback that destroyed or closed the stream must
  // not let the caller touch it again.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace mediapath::net
