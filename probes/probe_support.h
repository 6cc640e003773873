#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "net/byte_stream.h"
#include "net/clock.h"
#include "net/socket_address.h"
#include "net/tcp_connection.h"
#include "net/text.h"
#include "net/uv_idle.h"
#include "net/uv_timer.h"
#include "probes/probe.h"

// Pieces every probe kind shares: finding the address to probe, time, error text.

namespace mediapath::probes {

/// "2s" for whole seconds, else "1500ms": the unit humans wrote in the config (the same text
/// the config loader prints).
using net::formatDuration;

/// Arms a probe's deadline once its exchange has started: `fail` gets `start_error` on the next
/// loop turn when the start failed (non-empty; never inside this call, so the probe's caller sees
/// the result from the loop as for any other failure), else "timeout after 2s" once `timeout` has
/// passed. Stopping `deadline` cancels either.
void armDeadline(net::UvTimer& deadline, std::chrono::milliseconds timeout, std::string start_error,
                 std::function<void(std::string)> fail);

/// The context's clock (or the steady clock when none was given).
using net::nowFrom;

double millisecondsBetween(std::chrono::steady_clock::time_point from,
                           std::chrono::steady_clock::time_point to);

/// Turns a target's host + port into the address to probe. An IP literal is parsed here and the
/// resolver is not called; a name goes to ProbeContext::resolver (A, then AAAA if there is no A
/// answer). The callback runs from the loop (net::UvIdle), never inside start(), and never after
/// cancel() or destruction.
///
/// Thread safety: loop thread only.
class AddressLookup {
 public:
  struct Outcome {
    bool ok = false;
    std::string error;
    net::SocketAddress address;
    std::optional<double> dns_ms;  ///< set when the resolver was used
  };
  using Callback = std::function<void(Outcome)>;

  explicit AddressLookup(const ProbeContext& context);
  ~AddressLookup();
  AddressLookup(const AddressLookup&) = delete;
  AddressLookup& operator=(const AddressLookup&) = delete;

  void start(const std::string& host, std::uint16_t port, Callback callback);
  void cancel();

 private:
  void resolveName(const std::string& host, std::uint16_t port, bool ipv6, std::string a_error);
  void deliver(Outcome outcome);

  ProbeContext context_;
  net::UvIdle defer_;
  Callback callback_;
  Outcome pending_;  ///< what deliver() hands to callback_ on the next loop turn
  // The last host and port start() was given, and their parse (nullopt: a name).
  bool parsed_ = false;
  std::string parsed_host_;
  std::uint16_t parsed_port_ = 0;
  std::optional<net::SocketAddress> literal_;
  // Resolver callbacks hold a weak reference and the generation they were issued in: a callback
  // from an earlier start(), or arriving after cancel()/destruction, is dropped.
  std::shared_ptr<std::uint64_t> generation_ = std::make_shared<std::uint64_t>(0);
};

/// A new, unconnected byte stream for the target's transport, counted against the loop's socket
/// budget: the one place that picks the ByteStream implementation for turn and relay over a
/// stream (`transport` tcp or tls). Null for udp, which is no stream.
std::unique_ptr<net::ByteStream> openStream(const ProbeContext& context, const ProbeTarget& target);

/// The byte stream `target`'s transport runs over: for Transport::kTls a net::TlsConnection
/// (verified against the system CAs plus target.ca_file; the certificate must match
/// target.server_name, or target.host when that is empty), else a plain net::TcpConnection.
/// Counted against the context's socket budget. The sip probe uses it, turn and relay through
/// openStream().
std::unique_ptr<net::ByteStream> makeByteStream(const ProbeContext& context,
                                                const ProbeTarget& target);

/// What a failed connect or read of `stream` with libuv status `status` reports: the stream's
/// own failureText() ("TLS: certificate has expired") when it has one, else the status's text
/// ("connection refused").
std::string streamErrorText(const net::ByteStream& stream, int status);

/// Copies a TLS stream's negotiated version and certificate notAfter into `result` (nothing for
/// a plain TCP stream). Call after a successful connect.
void noteTlsDetails(const net::ByteStream& stream, ProbeResult& result);

/// Fills the common fields of a result before a round starts.
ProbeResult newResult(const ProbeTarget& target);

/// An address's "ip:port" text, formatted again only when the address changes: at 10,000
/// targets a second an snprintf per round was a visible cost, and addresses rarely change.
class AddressText {
 public:
  const std::string& of(const net::SocketAddress& address) {
    if (text_.empty() || address != address_) {
      address_ = address;
      text_ = address.toString();
    }
    return text_;
  }

 private:
  net::SocketAddress address_;
  std::string text_;
};

/// The round every address-based kind (stun, turn, sip, tcp) runs: find the address of the
/// target's host:port with AddressLookup, then run the kind's exchange against it and report
/// once. As in Envoy's health checkers, the base owns the round's bookkeeping (target, result,
/// callback, lookup, cancel); a kind implements only exchange() and stopExchange().
///
/// A failed lookup ends the round with its error and nothing sent (sent 0; consumers read loss
/// only when something was sent).
///
/// Thread safety: loop thread only.
class AddressProbe : public Probe {
 public:
  void start(const ProbeTarget& target, ProbeCallback callback) final;
  void cancel() final;

 protected:
  explicit AddressProbe(const ProbeContext& context);

  /// Runs the round against `address`; result().address and dns_ms are already filled. Ends
  /// with report(), from a loop callback (never inside exchange() itself).
  virtual void exchange(const net::SocketAddress& address) = 0;
  /// Stops what an exchange has in flight (timers, connections, per-round state), without
  /// reporting. Called by cancel() and before every start().
  virtual void stopExchange() = 0;
  /// Ends the round: sets the result's error (empty: none) and hands the result to the callback.
  /// Does nothing when the round was cancelled. The callback may destroy this probe, so callers
  /// return right after.
  void report(std::string error);

  /// Opens a TCP connection to `address`, counted against the loop's socket budget, notes when
  /// the connect began in `started`, and arms `deadline` for it (armDeadline): `connected` gets
  /// the connect status, `fail` a failed start or the timeout. The sip-over-TCP and tcp kinds
  /// start their rounds this way.
  std::unique_ptr<net::TcpConnection> connectTcp(const net::SocketAddress& address,
                                                 net::UvTimer& deadline,
                                                 std::chrono::steady_clock::time_point& started,
                                                 std::function<void(int)> connected,
                                                 std::function<void(std::string)> fail);

  /// As connectTcp, over the stream the target's transport asks for (makeByteStream): TCP, or
  /// TLS, whose connect reports after the handshake and verification. A connect that fails at
  /// once reports the stream's failureText() when it has one.
  std::unique_ptr<net::ByteStream> connectStream(const net::SocketAddress& address,
                                                 net::UvTimer& deadline,
                                                 std::chrono::steady_clock::time_point& started,
                                                 std::function<void(int)> connected,
                                                 std::function<void(std::string)> fail);

  const ProbeContext& context() const { return context_; }
  const ProbeTarget& target() const { return target_; }
  ProbeResult& result() { return result_; }

 private:
  void onResolved(const AddressLookup::Outcome& outcome);
  void startConnect(net::ByteStream& stream, const net::SocketAddress& address,
                    net::UvTimer& deadline, std::chrono::steady_clock::time_point& started,
                    std::function<void(int)> connected, std::function<void(std::string)> fail);

  ProbeContext context_;
  AddressLookup lookup_;
  ProbeTarget target_;
  ProbeCallback callback_;
  ProbeResult result_;
  AddressText address_text_;
};

}  // namespace mediapath::probes
