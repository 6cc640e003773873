#pragma once

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "net/resolver.h"
#include "net/socket_address.h"
#include "net/udp_socket.h"
#include "net/uv_handle.h"
#include "net/uv_timer.h"

// In-process peers for the probes' unit tests: they run on the test's own loop, so every
// scenario (late, duplicate, foreign or malformed replies) is scripted and hermetic.

namespace mediapath::testing {

/// A STUN Binding responder (libnice's agent on the server side). `plan(n)` decides what to do
/// with the n-th request (0-based).
class StunResponder {
 public:
  enum class Action { kReply, kDrop, kReplyTwice, kForeignThenReply, kDelay };
  StunResponder(uv_loop_t* loop, const char* ip);
  ~StunResponder();
  const net::SocketAddress& address() const { return address_; }
  int requests() const { return requests_; }
  std::function<Action(int)> plan = [](int) { return Action::kReply; };
  std::chrono::milliseconds delay{0};
  /// Expect FINGERPRINT in requests and add it to answers (the stun probe's agent does both);
  /// false for clients that send none (the nat probe).
  bool fingerprint = true;

 private:
  void onRequest(std::span<const std::uint8_t> data, const net::SocketAddress& from);

  uv_loop_t* loop_;
  net::UdpSocket socket_;
  net::SocketAddress address_;
  int requests_ = 0;
  std::vector<std::unique_ptr<net::UvTimer>> delayed_;
};

/// Builds a SIP response to `request` (copies Via, From, To, Call-ID, CSeq).
std::string sipResponseFor(const std::string& request, int code, const std::string& reason);
/// The value of the first header `name` in a SIP message ("" if absent).
std::string sipHeader(const std::string& message, const std::string& name);

/// A SIP responder over UDP; `respond(request)` returns the datagrams to send back.
class SipUdpResponder {
 public:
  SipUdpResponder(uv_loop_t* loop, const char* ip);
  const net::SocketAddress& address() const { return address_; }
  std::function<std::vector<std::string>(const std::string&)> respond;
  std::vector<std::string> requests;

 private:
  net::UdpSocket socket_;
  net::SocketAddress address_;
};

/// A SIP responder over TCP (one connection at a time). Each response is written in two chunks
/// to exercise stream framing.
class SipTcpResponder {
 public:
  SipTcpResponder(uv_loop_t* loop, const char* ip);
  ~SipTcpResponder();
  const net::SocketAddress& address() const { return address_; }
  std::function<std::vector<std::string>(const std::string&)> respond;
  std::vector<std::string> requests;

 private:
  static void onConnection(uv_stream_t* server, int status);
  void write(const std::string& data);

  net::UvHandle<uv_tcp_t> listener_;
  net::UvHandle<uv_tcp_t> peer_;
  net::SocketAddress address_;
  std::string buffer_;
};

/// A scripted resolver: names in `answers` resolve (A) to the given IPs, others fail with
/// NXDOMAIN. Counts calls so tests can prove literals never reach it.
class FakeResolver final : public net::Resolver {
 public:
  void resolve(const std::string& name, net::RecordType type,
               net::ResolveCallback callback) override;
  void cancelAll() override {}
  std::map<std::string, std::string> answers;
  int calls = 0;
};

}  // namespace mediapath::testing
