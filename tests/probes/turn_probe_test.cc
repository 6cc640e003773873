#include "probes/turn_probe.h"

extern "C" {
#include <stun/stunagent.h>
}

#include <gtest/gtest.h>

#include <array>
#include <list>
#include <set>
#include <string>

#include "net/event_loop.h"
#include "net/udp_socket.h"
#include "net/uv_handle.h"
#include "probes/probe_resources.h"
#include "probes/relay_probe.h"
#include "probes/stun_answer.h"
#include "probes/turn_framing.h"
#include "tests/net/loop_check.h"
#include "tests/probes/probe_harness.h"

namespace mediapath::probes {
namespace {

using namespace std::chrono_literals;

/// A hostile TURN server on loopback: answers every request with a 401 challenge whose REALM and
/// NONCE are as long as the test says (RFC 8489 wants fewer than 128 characters each) — or, with
/// `then_code`, every request after the first from each source with that error and no
/// MESSAGE-INTEGRITY (as coturn answers 437 to an Allocate from a 5-tuple it still remembers).
class ChallengingTurnPeer {
 public:
  ChallengingTurnPeer(uv_loop_t* loop, std::size_t realm_bytes, std::size_t nonce_bytes,
                      int then_code = 0)
      : socket_(loop), realm_(realm_bytes, 'r'), nonce_(nonce_bytes, 'n'), then_code_(then_code) {
    stun_agent_init(&agent_, STUN_ALL_KNOWN_ATTRIBUTES, STUN_COMPATIBILITY_RFC5389,
                    static_cast<StunAgentUsageFlags>(STUN_AGENT_USAGE_USE_FINGERPRINT |
                                                     STUN_AGENT_USAGE_IGNORE_CREDENTIALS));
    EXPECT_EQ(socket_.bind(*net::parseIpLiteral("127.0.0.1", 0)), 0);
    address_ = *socket_.localAddress();
    socket_.startReceive(
        [this](std::span<const std::uint8_t> data, const net::SocketAddress& from) {
          ++requests_;
          StunMessage request{};
          // The request's credentials are never checked: this peer only ever challenges.
          if (stun_agent_validate(&agent_, &request, data.data(), data.size(), nullptr, nullptr) !=
              STUN_VALIDATION_SUCCESS) {
            return;
          }
          std::array<std::uint8_t, 8192> buffer{};
          StunMessage reply{};
          bool first_from_there = sources_.insert(from.toString()).second;
          if (then_code_ != 0 && !first_from_there) {
            stun_agent_init_error(&agent_, &reply, buffer.data(), buffer.size(), &request,
                                  static_cast<StunError>(then_code_));
          } else {
            stun_agent_init_error(&agent_, &reply, buffer.data(), buffer.size(), &request,
                                  STUN_ERROR_UNAUTHORIZED);
            stun_message_append_bytes(&reply, STUN_ATTRIBUTE_REALM, realm_.data(), realm_.size());
            stun_message_append_bytes(&reply, STUN_ATTRIBUTE_NONCE, nonce_.data(), nonce_.size());
          }
          std::size_t len = stun_agent_finish_message(&agent_, &reply, nullptr, 0);
          ASSERT_GT(len, 0u);
          socket_.send(from, std::string(reinterpret_cast<const char*>(buffer.data()), len));
        });
  }
  const net::SocketAddress& address() const { return address_; }
  int requests() const { return requests_; }
  std::size_t sources() const { return sources_.size(); }

 private:
  StunAgent agent_{};
  std::set<std::string> sources_;
  net::UdpSocket socket_;
  net::SocketAddress address_;
  std::string realm_;
  std::string nonce_;
  int then_code_ = 0;
  int requests_ = 0;
};

/// A TURN server over TCP on loopback that misbehaves as the test says, on every connection:
/// closes it on the first message, answers with what is not TURN (an HTTP error page), or reads
/// and never answers. It frames what it reads as the server would (TurnStreamFramer) and counts
/// the messages.
class StreamTurnPeer {
 public:
  enum class Behaviour { kClose, kHttp, kSilent };

  StreamTurnPeer(uv_loop_t* loop, Behaviour behaviour) : behaviour_(behaviour) {
    uv_tcp_init(loop, listener_.get());
    listener_.markInitialized();
    listener_.get()->data = this;
    auto any = *net::parseIpLiteral("127.0.0.1", 0);
    EXPECT_EQ(uv_tcp_bind(listener_.get(), any.get(), 0), 0);
    EXPECT_EQ(uv_listen(reinterpret_cast<uv_stream_t*>(listener_.get()), 4, &onConnection), 0);
    sockaddr_storage bound{};
    int len = sizeof(bound);
    uv_tcp_getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&bound), &len);
    address_ = *net::SocketAddress::fromSockaddr(reinterpret_cast<sockaddr*>(&bound));
  }
  const net::SocketAddress& address() const { return address_; }
  int connections() const { return static_cast<int>(peers_.size()); }
  int messages() const { return messages_; }

 private:
  struct Peer {
    StreamTurnPeer* server = nullptr;
    net::UvHandle<uv_tcp_t> handle;
    TurnStreamFramer framer;
    std::array<char, 4096> buffer{};
  };

  static void onConnection(uv_stream_t* listener, int status) {
    auto* self = static_cast<StreamTurnPeer*>(listener->data);
    if (self == nullptr || status != 0) return;
    Peer& peer = self->peers_.emplace_back();
    peer.server = self;
    uv_tcp_init(listener->loop, peer.handle.get());
    peer.handle.markInitialized();
    peer.handle.get()->data = &peer;
    uv_accept(listener, reinterpret_cast<uv_stream_t*>(peer.handle.get()));
    uv_read_start(
        reinterpret_cast<uv_stream_t*>(peer.handle.get()),
        [](uv_handle_t* h, size_t, uv_buf_t* buf) {
          auto* p = static_cast<Peer*>(h->data);
          *buf = uv_buf_init(p->buffer.data(), static_cast<unsigned>(p->buffer.size()));
        },
        [](uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
          auto* p = static_cast<Peer*>(stream->data);
          if (p == nullptr || nread <= 0) return;
          p->framer.append(std::string_view(buf->base, static_cast<std::size_t>(nread)));
          while (p->framer.next()) p->server->onMessage(*p);
        });
  }

  void onMessage(Peer& peer) {
    ++messages_;
    switch (behaviour_) {
      case Behaviour::kClose:
        peer.handle.close();
        return;
      case Behaviour::kHttp: {
        static const std::string page = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
        auto* req = new uv_write_t{};
        uv_buf_t buf =
            uv_buf_init(const_cast<char*>(page.data()), static_cast<unsigned>(page.size()));
        uv_write(req, reinterpret_cast<uv_stream_t*>(peer.handle.get()), &buf, 1,
                 [](uv_write_t* r, int) { delete r; });
        return;
      }
      case Behaviour::kSilent:
        return;
    }
  }

  Behaviour behaviour_;
  net::UvHandle<uv_tcp_t> listener_;
  net::SocketAddress address_;
  std::list<Peer> peers_;  // stable addresses: each handle's data points at its Peer
  int messages_ = 0;
};

class TurnProbeTest : public testing::LoopTest {
 protected:
  ProbeTarget target(const ChallengingTurnPeer& peer) {
    ProbeTarget t = testing::burstTarget("turn-test", Kind::kTurn, peer.address(), 1);
    t.username = "agent";
    t.password = "secret";
    t.timeout = 5s;
    return t;
  }

  ProbeTarget target(const StreamTurnPeer& peer, Kind kind) {
    ProbeTarget t = testing::burstTarget("turn-tcp-test", kind, peer.address(), 1);
    t.username = "agent";
    t.password = "secret";
    t.transport = Transport::kTcp;
    t.timeout = 5s;
    t.stream = {5, 172, 20ms};
    return t;
  }

  ProbeResources resources_;  // after the loop, before the probes: outlives them
  ProbeContext context_{&loop_, nullptr, nullptr, nullptr, &resources_};
};

// Issue #19 item 11: a challenge with a 1,000-byte REALM made the agent send an empty datagram
// and report a timeout. Now the round fails at once, naming the attribute, after one request.
TEST_F(TurnProbeTest, OversizedChallengeFailsAtOnceNamingTheAttribute) {
  ChallengingTurnPeer peer(loop_.get(), 1000, 900);
  auto probe = makeTurnProbe(context_);
  auto started = std::chrono::steady_clock::now();
  auto result = testing::runRound(loop_, *probe, target(peer));
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->ok);
  EXPECT_EQ(result->error,
            "TURN 401 challenge cannot be answered: REALM is 1000 bytes (RFC 8489 allows fewer "
            "than 128 characters, at most 763 bytes)");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
  EXPECT_EQ(peer.requests(), 1);  // nothing more was sent
}

// Found by bench_relay: coturn's unauthenticated 437 to the authenticated Allocate was refused
// for want of MESSAGE-INTEGRITY, and the round timed out instead of naming it.
TEST_F(TurnProbeTest, UnauthenticatedAllocationMismatchIsNamedNotATimeout) {
  ChallengingTurnPeer peer(loop_.get(), 11, 16, STUN_ERROR_ALLOCATION_MISMATCH);
  for (auto make : {&makeTurnProbe, &makeRelayProbe}) {
    auto probe = make(context_);
    auto started = std::chrono::steady_clock::now();
    ProbeTarget t = target(peer);
    t.stream = {5, 172, 20ms};
    if (make == &makeRelayProbe) t.kind = Kind::kRelay;
    auto result = testing::runRound(loop_, *probe, t);
    ASSERT_TRUE(result);
    EXPECT_FALSE(result->ok);
    EXPECT_NE(result->error.find("TURN 437 Allocation Mismatch"), std::string::npos)
        << result->error;
    EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  }
  // The relay tried a new socket (a new 5-tuple) once before giving up: the turn round used
  // one source, the relay at least three (A twice, B): four in all.
  EXPECT_GE(peer.sources(), 4u);
}

// Only a 437, and only to the Allocate outstanding: any other unauthenticated error is still
// refused (the round times out).
TEST_F(TurnProbeTest, OtherUnauthenticatedErrorsAreStillRefused) {
  ChallengingTurnPeer peer(loop_.get(), 11, 16, STUN_ERROR_FORBIDDEN);
  auto probe = makeTurnProbe(context_);
  ProbeTarget t = target(peer);
  t.timeout = 300ms;
  auto result = testing::runRound(loop_, *probe, t);
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->ok);
  EXPECT_EQ(result->error.find("403"), std::string::npos) << result->error;
}

TEST_F(TurnProbeTest, OversizedNonceIsNamed) {
  ChallengingTurnPeer peer(loop_.get(), 20, 800);
  auto probe = makeTurnProbe(context_);
  auto result = testing::runRound(loop_, *probe, target(peer));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->error,
            "TURN 401 challenge cannot be answered: NONCE is 800 bytes (RFC 8489 allows fewer "
            "than 128 characters, at most 763 bytes)");
}

// Found by fuzz/stun_answer_fuzzer.cc: an empty REALM (or one of only quotes and NULs) made
// libnice's long-term key hashing read out of bounds and crash the agent. Refused before libnice.
TEST_F(TurnProbeTest, EmptyRealmIsRefusedBeforeLibniceSeesIt) {
  ChallengingTurnPeer peer(loop_.get(), 0, 16);
  auto probe = makeTurnProbe(context_);
  auto result = testing::runRound(loop_, *probe, target(peer));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->error,
            "TURN 401 challenge cannot be answered: REALM is empty (or only quotes and NULs)");
  EXPECT_EQ(peer.requests(), 1);
}

TEST_F(TurnProbeTest, CredentialsLibniceWouldStripToNothingAreRefused) {
  ChallengingTurnPeer peer(loop_.get(), 16, 16);
  auto probe = makeTurnProbe(context_);
  auto t = target(peer);
  t.password = "\"\"";
  auto result = testing::runRound(loop_, *probe, t);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->error,
            "TURN username or password is empty once quotes are stripped: cannot authenticate");
}

TEST(StunAnswerTest, EmptyOnceTrimmed) {
  EXPECT_TRUE(emptyOnceTrimmed(""));
  EXPECT_TRUE(emptyOnceTrimmed("\"\""));
  EXPECT_TRUE(emptyOnceTrimmed(std::string("\"\0\0", 3)));
  EXPECT_FALSE(emptyOnceTrimmed("\"example.org\""));
  EXPECT_FALSE(emptyOnceTrimmed("a"));
}

// 1,000 bytes each do not even fit the answer buffer: that, too, is said at once.
TEST_F(TurnProbeTest, AnswerLargerThanTheBufferFailsAtOnce) {
  ChallengingTurnPeer peer(loop_.get(), 1000, 1000);
  auto probe = makeTurnProbe(context_);
  auto result = testing::runRound(loop_, *probe, target(peer));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->error, "TURN answer of 2056 bytes (limit 2048)");
  EXPECT_EQ(peer.requests(), 1);
}

// A request that does not fit (here: a legal challenge, but a username longer than any server
// takes) is never sent as an empty datagram: the round fails with the reason.
TEST_F(TurnProbeTest, RequestThatCannotBeBuiltIsNeverSent) {
  ChallengingTurnPeer peer(loop_.get(), 100, 100);
  auto probe = makeTurnProbe(context_);
  auto t = target(peer);
  t.username = std::string(2000, 'u');
  auto result = testing::runRound(loop_, *probe, t);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->error, "cannot build the TURN request (too large)");
  EXPECT_EQ(peer.requests(), 1);  // the challenge request only
}

// A challenge within bounds counts characters, not bytes: 127 three-byte characters are legal.
TEST(StunAnswerTest, ChallengeBoundsCountCharacters) {
  std::array<std::uint8_t, 2048> buffer{};
  StunAgent agent{};
  stun_agent_init(&agent, STUN_ALL_KNOWN_ATTRIBUTES, STUN_COMPATIBILITY_RFC5389,
                  STUN_AGENT_USAGE_IGNORE_CREDENTIALS);
  StunMessage message{};
  ASSERT_TRUE(
      stun_agent_init_request(&agent, &message, buffer.data(), buffer.size(), STUN_ALLOCATE));
  std::string euro;
  for (int i = 0; i < 127; ++i) euro += "\xe2\x82\xac";  // 381 bytes, 127 characters
  stun_message_append_bytes(&message, STUN_ATTRIBUTE_REALM, euro.data(), euro.size());
  stun_message_append_bytes(&message, STUN_ATTRIBUTE_NONCE, "n", 1);
  EXPECT_EQ(checkChallenge(message), "");
  euro += "\xe2\x82\xac";  // the 128th character
  StunMessage longer{};
  ASSERT_TRUE(
      stun_agent_init_request(&agent, &longer, buffer.data(), buffer.size(), STUN_ALLOCATE));
  stun_message_append_bytes(&longer, STUN_ATTRIBUTE_REALM, euro.data(), euro.size());
  stun_message_append_bytes(&longer, STUN_ATTRIBUTE_NONCE, "n", 1);
  EXPECT_EQ(checkChallenge(longer),
            "REALM is 384 bytes (RFC 8489 allows fewer than 128 characters, at most 763 bytes)");
}

}  // namespace
}  // namespace mediapath::probes

namespace mediapath::probes {
namespace {

// TURN over TCP (RFC 8656 §2.1): a server that closes the connection ends the round at once with
// what happened, for turn and for either allocation of relay; nothing is left open.
TEST_F(TurnProbeTest, ServerClosingTheTcpConnectionIsAClearError) {
  StreamTurnPeer peer(loop_.get(), StreamTurnPeer::Behaviour::kClose);
  std::string to = "TCP connection to " + peer.address().toString() + ": ";
  auto turn = makeTurnProbe(context_);
  auto result = testing::runRound(loop_, *turn, target(peer, Kind::kTurn), 3s);
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->ok);
  EXPECT_EQ(result->error, to + "connection closed by peer");
  EXPECT_TRUE(result->connect_ms);
  EXPECT_EQ(peer.messages(), 1);

  auto relay = makeRelayProbe(context_);
  result = testing::runRound(loop_, *relay, target(peer, Kind::kRelay), 3s);
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->ok);
  // Both allocations' connections close; whichever the loop saw first is named.
  EXPECT_TRUE(result->error == "allocation A: " + to + "connection closed by peer" ||
              result->error == "allocation B: " + to + "connection closed by peer")
      << result->error;
  EXPECT_EQ(result->sent, 0);
  EXPECT_EQ(peer.connections(), 3);  // one for turn, one per allocation for relay
}

// Pointed at a web server: "HTTP/1.1 400" starts like ChannelData on channel 0x4854 with a
// 21,584-byte length; taken as such, the round would wait for its timeout. No channel was bound,
// so the stream fails at once.
TEST_F(TurnProbeTest, AnswerThatIsNotTurnFailsTheTcpStream) {
  StreamTurnPeer peer(loop_.get(), StreamTurnPeer::Behaviour::kHttp);
  auto probe = makeTurnProbe(context_);
  auto result = testing::runRound(loop_, *probe, target(peer, Kind::kTurn), 3s);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->error, "TCP connection to " + peer.address().toString() +
                               ": ChannelData on channel 0x4854, not bound by this client");
}

// RFC 8489 §6.2.2: over a reliable transport a request is sent once; the round's timeout still
// ends a silent server's round (over UDP the relay would have resent at 500 ms and 1.5 s).
TEST_F(TurnProbeTest, NoRetransmissionOverTcp) {
  StreamTurnPeer peer(loop_.get(), StreamTurnPeer::Behaviour::kSilent);
  auto probe = makeRelayProbe(context_);
  auto t = target(peer, Kind::kRelay);
  t.timeout = 1800ms;
  auto result = testing::runRound(loop_, *probe, t, 5s);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->error,
            "timeout after 1800ms (allocation A waiting for Allocate, allocation B waiting for "
            "Allocate)");
  EXPECT_EQ(peer.connections(), 2);
  EXPECT_EQ(peer.messages(), 2);  // one unauthenticated Allocate per allocation, never again
}

// A closed port is refused, in the same words as the sip and tcp kinds.
TEST_F(TurnProbeTest, ClosedTcpPortIsRefused) {
  net::SocketAddress closed;
  {
    StreamTurnPeer gone(loop_.get(), StreamTurnPeer::Behaviour::kSilent);
    closed = gone.address();
  }
  uv_run(loop_.get(), UV_RUN_NOWAIT);  // the listener's close completes
  ProbeTarget t = testing::burstTarget("turn-tcp-test", Kind::kTurn, closed, 1);
  t.transport = Transport::kTcp;
  t.username = "agent";
  t.password = "secret";
  auto probe = makeTurnProbe(context_);
  auto result = testing::runRound(loop_, *probe, t, 3s);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->error, "TCP connection to " + closed.toString() + ": connection refused");
}

}  // namespace
}  // namespace mediapath::probes
