#include "tests/probes/responders.h"

extern "C" {
#include <stun/stunagent.h>
#include <stun/usages/bind.h>
}

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <sstream>

namespace mediapath::testing {
namespace {

std::string asText(std::span<const std::uint8_t> data) {
  return std::string(reinterpret_cast<const char*>(data.data()), data.size());
}

std::string stunSuccessFor(std::span<const std::uint8_t> request, const net::SocketAddress& from,
                           bool corrupt_id, bool fingerprint) {
  StunAgent agent{};
  stun_agent_init(
      &agent, STUN_ALL_KNOWN_ATTRIBUTES, STUN_COMPATIBILITY_RFC5389,
      static_cast<StunAgentUsageFlags>((fingerprint ? STUN_AGENT_USAGE_USE_FINGERPRINT : 0) |
                                       STUN_AGENT_USAGE_IGNORE_CREDENTIALS));
  StunMessage req{};
  if (stun_agent_validate(&agent, &req, request.data(), request.size(), nullptr, nullptr) !=
      STUN_VALIDATION_SUCCESS) {
    ADD_FAILURE() << "responder got an invalid STUN request";
    return {};
  }
  std::array<std::uint8_t, 512> out{};
  StunMessage resp{};
  stun_agent_init_response(&agent, &resp, out.data(), out.size(), &req);
  // Flip a transaction-id byte before finishing so the FINGERPRINT still verifies: the probe
  // must reject the reply because of the id, not because it is malformed.
  if (corrupt_id) out[10] ^= 0xff;
  stun_message_append_xor_addr(&resp, STUN_ATTRIBUTE_XOR_MAPPED_ADDRESS,
                               reinterpret_cast<const sockaddr_storage*>(&from.storage),
                               from.length);
  std::size_t len = stun_agent_finish_message(&agent, &resp, nullptr, 0);
  return std::string(reinterpret_cast<const char*>(out.data()), len);
}

}  // namespace

// --- STUN --------------------------------------------------------------------------------------

StunResponder::StunResponder(uv_loop_t* loop, const char* ip) : loop_(loop), socket_(loop) {
  EXPECT_EQ(socket_.bind(*net::parseIpLiteral(ip, 0)), 0);
  address_ = *socket_.localAddress();
  socket_.startReceive([this](std::span<const std::uint8_t> data, const net::SocketAddress& from) {
    onRequest(data, from);
  });
}

StunResponder::~StunResponder() = default;

void StunResponder::onRequest(std::span<const std::uint8_t> data, const net::SocketAddress& from) {
  int index = requests_++;
  Action action = plan(index);
  if (action == Action::kDrop) return;
  std::string reply = stunSuccessFor(data, from, false, fingerprint);
  switch (action) {
    case Action::kReplyTwice:
      socket_.send(from, reply);
      socket_.send(from, reply);
      return;
    case Action::kForeignThenReply:
      socket_.send(from, std::string_view("\x01\x01garbage that is not STUN"));
      socket_.send(from, stunSuccessFor(data, from, true, fingerprint));
      socket_.send(from, reply);
      return;
    case Action::kDelay: {
      auto timer = std::make_unique<net::UvTimer>(loop_);
      timer->start(delay, [this, from, reply] { socket_.send(from, reply); });
      delayed_.push_back(std::move(timer));
      return;
    }
    default:
      socket_.send(from, reply);
  }
}

// --- SIP ---------------------------------------------------------------------------------------

std::string sipHeader(const std::string& message, const std::string& name) {
  std::istringstream in(message);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.size() > name.size() && line.compare(0, name.size(), name) == 0 &&
        line[name.size()] == ':') {
      auto value = line.substr(name.size() + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      return value;
    }
  }
  return {};
}

std::string sipResponseFor(const std::string& request, int code, const std::string& reason) {
  std::string out = "SIP/2.0 " + std::to_string(code) + " " + reason + "\r\n";
  out += "Via: " + sipHeader(request, "Via") + "\r\n";
  out += "From: " + sipHeader(request, "From") + "\r\n";
  out += "To: " + sipHeader(request, "To") + ";tag=responder\r\n";
  out += "Call-ID: " + sipHeader(request, "Call-ID") + "\r\n";
  out += "CSeq: " + sipHeader(request, "CSeq") + "\r\n";
  out += "Content-Length: 0\r\n\r\n";
  return out;
}

SipUdpResponder::SipUdpResponder(uv_loop_t* loop, const char* ip) : socket_(loop) {
  EXPECT_EQ(socket_.bind(*net::parseIpLiteral(ip, 0)), 0);
  address_ = *socket_.localAddress();
  socket_.startReceive([this](std::span<const std::uint8_t> data, const net::SocketAddress& from) {
    requests.push_back(asText(data));
    if (!respond) return;
    for (const auto& reply : respond(requests.back())) socket_.send(from, reply);
  });
}

SipTcpResponder::SipTcpResponder(uv_loop_t* loop, const char* ip) {
  uv_tcp_init(loop, listener_.get());
  listener_.markInitialized();
  listener_.get()->data = this;
  auto address = *net::parseIpLiteral(ip, 0);
  EXPECT_EQ(uv_tcp_bind(listener_.get(), address.get(), 0), 0);
  EXPECT_EQ(
      uv_listen(reinterpret_cast<uv_stream_t*>(listener_.get()), 4, &SipTcpResponder::onConnection),
      0);
  sockaddr_storage bound{};
  int len = sizeof(bound);
  uv_tcp_getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&bound), &len);
  address_ = *net::SocketAddress::fromSockaddr(reinterpret_cast<sockaddr*>(&bound));
}

SipTcpResponder::~SipTcpResponder() = default;

void SipTcpResponder::onConnection(uv_stream_t* server, int status) {
  auto* self = static_cast<SipTcpResponder*>(server->data);
  if (self == nullptr || status != 0) return;
  self->peer_ = net::UvHandle<uv_tcp_t>();
  self->buffer_.clear();
  uv_tcp_init(server->loop, self->peer_.get());
  self->peer_.markInitialized();
  self->peer_.get()->data = self;
  uv_accept(server, reinterpret_cast<uv_stream_t*>(self->peer_.get()));
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(self->peer_.get()),
      [](uv_handle_t*, size_t, uv_buf_t* buf) {
        static char storage[8192];
        *buf = uv_buf_init(storage, sizeof(storage));
      },
      [](uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
        auto* me = static_cast<SipTcpResponder*>(stream->data);
        if (me == nullptr || nread <= 0) return;
        me->buffer_.append(buf->base, static_cast<size_t>(nread));
        auto end = me->buffer_.find("\r\n\r\n");
        if (end == std::string::npos) return;
        std::string request = me->buffer_.substr(0, end + 4);
        me->buffer_.erase(0, end + 4);
        me->requests.push_back(request);
        if (!me->respond) return;
        for (const auto& reply : me->respond(request)) {
          std::size_t half = reply.size() / 2;
          me->write(reply.substr(0, half));
          me->write(reply.substr(half));
        }
      });
}

void SipTcpResponder::write(const std::string& data) {
  auto* req = new uv_write_t{};
  auto* copy = new std::string(data);
  req->data = copy;
  uv_buf_t buf = uv_buf_init(copy->data(), static_cast<unsigned>(copy->size()));
  if (uv_write(req, reinterpret_cast<uv_stream_t*>(peer_.get()), &buf, 1, [](uv_write_t* r, int) {
        delete static_cast<std::string*>(r->data);
        delete r;
      }) != 0) {
    delete copy;
    delete req;
  }
}

// --- resolver ----------------------------------------------------------------------------------

void FakeResolver::resolve(const std::string& name, net::RecordType type,
                           net::ResolveCallback callback) {
  ++calls;
  net::ResolveResult result;
  auto it = answers.find(name);
  if (it == answers.end()) {
    result.error = "NXDOMAIN";
  } else if ((type == net::RecordType::kAAAA) != (it->second.find(':') != std::string::npos)) {
    result.error = type == net::RecordType::kA ? "no A records" : "no AAAA records";
  } else {
    result.ok = true;
    result.addresses = {it->second};
    result.lookup_time = std::chrono::microseconds(1500);
  }
  callback(result);
}

}  // namespace mediapath::testing
