// The probes against real peers (coturn, kamailio) started on free loopback ports.
#include <gtest/gtest.h>

#include <cstdio>
#include <sstream>
#include <thread>

#include "net/event_loop.h"
#include "net/uv_timer.h"
#include "probes/probe.h"
#include "probes/probe_resources.h"
#include "tests/net/loop_check.h"
#include "tests/probes/probe_harness.h"
#include "tests/support/peers.h"
#include "tests/support/probe_kit.h"
#include "tests/support/process.h"
#include "tests/support/tls_pki.h"

namespace mediapath::probes {
namespace {

using namespace std::chrono_literals;

class ProbesPeersTest : public ::testing::Test {
 protected:
  ProbeTarget target(Kind kind, std::string host, std::uint16_t port) {
    ProbeTarget t;
    t.name = std::string(kindName(kind)) + "-peer";
    t.kind = kind;
    t.host = std::move(host);
    t.port = port;
    t.timeout = 2000ms;
    t.burst.packets = 5;
    t.burst.spacing = 20ms;
    return t;
  }
  std::optional<ProbeResult> run(const ProbeTarget& t) {
    auto probe = makeProbe(t.kind, context_);
    return testing::runRound(loop_, *probe, t);
  }
  /// The test CA and its certificates (good(): sip.test and 127.0.0.1), made on first use.
  const testing::TlsPki& pki() {
    if (!pki_) pki_.emplace(dir_);
    return *pki_;
  }
  /// coturn for TURN over `transport`: for tls it also listens for TLS, with pki().good().
  testing::Coturn::Options coturnFor(Transport transport) {
    testing::Coturn::Options options;
    if (transport == Transport::kTls) {
      options.tls_cert_file = pki().good().cert;
      options.tls_key_file = pki().good().key;
    }
    return options;
  }
  /// A `kind` target with the right credentials to `coturn` over `transport`; for tls its TLS
  /// port, trusting the test CA (the host, 127.0.0.1, is a name the certificate carries).
  ProbeTarget turnTarget(Kind kind, const testing::Coturn& coturn, Transport transport) {
    auto t =
        target(kind, "127.0.0.1", transport == Transport::kTls ? coturn.tls_port() : coturn.port());
    t.username = "test";
    t.password = "secret";
    t.transport = transport;
    if (transport == Transport::kTls) t.ca_file = pki().caFile();
    return t;
  }
  /// Over tls the result names the negotiated version and the certificate's notAfter (the
  /// readiness check and mediapath_tls_cert_not_after_timestamp_seconds read it); else neither.
  void expectTlsDetails(const ProbeResult& result, Transport transport) {
    if (transport == Transport::kTls) {
      // coturn 4.6.1 on Debian 12 negotiates TLS 1.2; a newer one may offer 1.3.
      EXPECT_TRUE(result.tls_version == "TLSv1.2" || result.tls_version == "TLSv1.3")
          << result.tls_version;
      EXPECT_EQ(result.cert_not_after, pki().goodNotAfter());
    } else {
      EXPECT_EQ(result.tls_version, "");
      EXPECT_FALSE(result.cert_not_after);
    }
  }
  /// A round whose TLS handshake with the server failed: its error is `connection`'s failure
  /// (relay: prefixed by the allocation whose handshake ended the round first; both fail alike),
  /// and it carries no TLS details.
  static void expectHandshakeFailed(const ProbeResult& result, const std::string& connection) {
    EXPECT_FALSE(result.ok);
    if (result.kind == Kind::kTurn) {
      EXPECT_EQ(result.error, connection);
    } else {
      EXPECT_TRUE(result.error == "allocation A: " + connection ||
                  result.error == "allocation B: " + connection)
          << result.error;
    }
    EXPECT_EQ(result.tls_version, "");
    EXPECT_FALSE(result.cert_not_after);
  }
  void turnAllocateThroughCoturn(Transport transport);
  void relayLoopThroughCoturn(Transport transport);
  void TearDown() override {
    EXPECT_EQ(testing::openHandleCount(loop_), 0);
    EXPECT_EQ(loop_.close(), 0);
  }

  testing::TempDir dir_;
  std::optional<testing::TlsPki> pki_;
  net::EventLoop loop_;
  net::SeededRandom random_{7};
  ProbeResources resources_;  // after the loop, before the probes: outlives them
  ProbeContext context_{&loop_, nullptr, nullptr, &random_, &resources_};
};

TEST_F(ProbesPeersTest, CoturnStunBindingGivesMappedAddress) {
  testing::Coturn coturn(dir_);
  auto result = run(target(Kind::kStun, "127.0.0.1", coturn.port()));
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->ok) << result->error << "\n" << coturn.log();
  EXPECT_EQ(result->sent, 5);
  EXPECT_EQ(result->received, 5);
  EXPECT_EQ(result->mapped_address.rfind("127.0.0.1:", 0), 0u) << result->mapped_address;
  ASSERT_TRUE(result->rtt);
  EXPECT_GT(result->rtt->min_ms, 0.0);
  EXPECT_TRUE(result->jitter_ms);
  ASSERT_TRUE(result->mos);
  EXPECT_GT(*result->mos, 4.0);
  std::printf("coturn STUN: rtt min/avg/max %.3f/%.3f/%.3f ms jitter %.4f ms mos %.3f\n",
              result->rtt->min_ms, result->rtt->avg_ms, result->rtt->max_ms, *result->jitter_ms,
              *result->mos);
}

TEST_F(ProbesPeersTest, CoturnOverIPv6) {
  testing::Coturn::Options options;
  options.ip = "::1";
  testing::Coturn coturn(dir_, options);
  auto stun = run(target(Kind::kStun, "::1", coturn.port()));
  ASSERT_TRUE(stun);
  EXPECT_TRUE(stun->ok) << stun->error << "\n" << coturn.log();
  EXPECT_EQ(stun->mapped_address.rfind("[::1]:", 0), 0u) << stun->mapped_address;
  auto t = target(Kind::kTurn, "::1", coturn.port());
  t.username = "test";
  t.password = "secret";
  auto turn = run(t);
  ASSERT_TRUE(turn);
  EXPECT_TRUE(turn->ok) << turn->error << "\n" << coturn.log();
  EXPECT_EQ(turn->relayed_address.rfind("[::1]:", 0), 0u) << turn->relayed_address;
  // The media loop over IPv6: IPv6 relays, and XOR-PEER-ADDRESS carrying IPv6 peers.
  t.kind = Kind::kRelay;
  t.stream = {10, 172, 10ms};
  auto relay = run(t);
  ASSERT_TRUE(relay);
  EXPECT_TRUE(relay->ok) << relay->error << "\n" << coturn.log();
  EXPECT_EQ(relay->relayed_address.rfind("[::1]:", 0), 0u) << relay->relayed_address;
  EXPECT_EQ(relay->received, 10);
}

// Counts `needle` in coturn's (--verbose) log.
int countInLog(const testing::Coturn& coturn, const std::string& needle) {
  std::string log = coturn.log();
  int count = 0;
  for (auto pos = log.find(needle); pos != std::string::npos; pos = log.find(needle, pos + 1)) {
    ++count;
  }
  return count;
}

// How many sessions of the user "test" coturn (--verbose) ran over `over` (tcp or tls): it logs
// the end of each TCP session ("user <test> ... reason: TCP connection closed by client") and
// the TLS method of each new TLS one ("new, ..., username=<test>, ..., method=TLSv1.2"). The
// fixture's own readiness checks are sessions of no user.
int streamSessions(const testing::Coturn& coturn, Transport over) {
  std::istringstream log(coturn.log());
  int n = 0;
  for (std::string line; std::getline(log, line);) {
    if (over == Transport::kTcp) {
      n += line.find("user <test>") != std::string::npos &&
           line.find("reason: TCP connection closed by client") != std::string::npos;
    } else {
      n += line.find(": new, ") != std::string::npos &&
           line.find("username=<test>") != std::string::npos &&
           line.find("method=TLSv1.") != std::string::npos;
    }
  }
  return n;
}

// turn through coturn, to the server over `transport`.
void ProbesPeersTest::turnAllocateThroughCoturn(Transport transport) {
  testing::Coturn coturn(dir_, coturnFor(transport));
  auto t = turnTarget(Kind::kTurn, coturn, transport);
  auto probe = makeProbe(Kind::kTurn, context_);
  // Two rounds with the same probe: the first allocation must have been released (a leaked
  // one would still work, so the log is checked below) and state must not leak between rounds.
  for (int round = 0; round < 2; ++round) {
    auto result = testing::runRound(loop_, *probe, t);
    ASSERT_TRUE(result);
    EXPECT_TRUE(result->ok) << result->error << "\n" << coturn.log();
    EXPECT_EQ(result->error, "");
    EXPECT_EQ(result->relayed_address.rfind("127.0.0.1:", 0), 0u) << result->relayed_address;
    EXPECT_NE(result->relayed_address, "127.0.0.1:0");
    EXPECT_EQ(result->sent, 2);  // challenge + authenticated Allocate (over TCP never resent)
    EXPECT_EQ(result->received, 2);
    ASSERT_TRUE(result->rtt);
    ASSERT_TRUE(result->mos);
    if (round == 1) {
      EXPECT_TRUE(result->jitter_ms);
    }
    // Over a stream the connect (with TLS, the handshake too) is its own phase, and not part of
    // the Allocate's RTT.
    EXPECT_EQ(result->connect_ms.has_value(), transport != Transport::kUdp);
    expectTlsDetails(*result, transport);
    // The Allocate's answer is timed by its kernel receive stamp over UDP; a stream has none.
    EXPECT_EQ(result->timestamps,
              transport == Transport::kUdp ? Timestamps::kKernel : Timestamps::kLoop);
    std::printf(
        "coturn TURN/%s round %d: relayed %s connect %.3f ms allocate rtt %.3f ms %s (%s)\n",
        std::string(transportName(transport)).c_str(), round, result->relayed_address.c_str(),
        result->connect_ms.value_or(0.0), result->rtt->avg_ms, result->tls_version.c_str(),
        std::string(timestampsName(result->timestamps)).c_str());
  }
  probe.reset();
  // Both allocations were released: coturn (--verbose) logs each Refresh with lifetime 0.
  auto released = [&] { return countInLog(coturn, "lifetime=0"); };
  auto deadline = std::chrono::steady_clock::now() + 3s;
  while (released() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(released(), 2) << coturn.log();
  EXPECT_NE(coturn.log().find("REFRESH processed, success"), std::string::npos);
  // Over the transport asked for.
  for (Transport over : {Transport::kTcp, Transport::kTls}) {
    SCOPED_TRACE(std::string("sessions over ") + std::string(transportName(over)));
    int expected = transport == over ? 2 : 0;
    while (streamSessions(coturn, over) < expected &&
           std::chrono::steady_clock::now() < deadline + 2s) {
      std::this_thread::sleep_for(50ms);
    }
    EXPECT_EQ(streamSessions(coturn, over), expected) << coturn.log();
  }
}

TEST_F(ProbesPeersTest, CoturnTurnAllocateWithRightCredentialsAndRelease) {
  turnAllocateThroughCoturn(Transport::kUdp);
}

// TURN over TCP (RFC 8656 §2.1; coturn listens on TCP on its port too): the same Allocate,
// relayed address and release, on a connection per round.
TEST_F(ProbesPeersTest, CoturnTurnOverTcpAllocatesAndReleases) {
  turnAllocateThroughCoturn(Transport::kTcp);
}

// Issue #16: TURN over TLS (RFC 8656 §2.1) to coturn's TLS listener, the certificate verified
// against the test CA: the same Allocate and release, and the result carries the TLS version and
// the certificate's notAfter.
TEST_F(ProbesPeersTest, CoturnTurnOverTlsAllocatesAndReleases) {
  turnAllocateThroughCoturn(Transport::kTls);
}

// turn and relay (which allocates as turn does) say the same; relay then streams nothing.
// Over UDP, TCP and TLS to the server alike.
TEST_F(ProbesPeersTest, CoturnTurnWrongPasswordIs401) {
  testing::Coturn coturn(dir_, coturnFor(Transport::kTls));
  for (auto [kind, transport] : {std::pair{Kind::kTurn, Transport::kUdp},
                                 {Kind::kRelay, Transport::kUdp},
                                 {Kind::kTurn, Transport::kTcp},
                                 {Kind::kRelay, Transport::kTcp},
                                 {Kind::kTurn, Transport::kTls},
                                 {Kind::kRelay, Transport::kTls}}) {
    SCOPED_TRACE(std::string(kindName(kind)) + " over " + std::string(transportName(transport)));
    auto t = turnTarget(kind, coturn, transport);
    t.password = "wrong";
    auto result = run(t);
    ASSERT_TRUE(result);
    EXPECT_FALSE(result->ok);
    EXPECT_EQ(result->error, "TURN 401 Unauthorized (check username/password_env)");
    EXPECT_EQ(result->relayed_address, "");
    EXPECT_FALSE(result->mos);
    if (kind == Kind::kRelay) {
      EXPECT_EQ(result->sent, 0);
      EXPECT_FALSE(result->rtt);
    }
  }
}

// The relay loop through coturn, the legs to the server over `transport` (the relay is UDP).
void ProbesPeersTest::relayLoopThroughCoturn(Transport transport) {
  testing::Coturn coturn(dir_, coturnFor(transport));
  auto t = turnTarget(Kind::kRelay, coturn, transport);
  t.stream = {25, 172, 20ms};
  auto probe = makeProbe(Kind::kRelay, context_);
  // Two rounds with the same probe: nothing of the first (allocations, channels, the stream's
  // round tag) may leak into the second.
  for (int round = 0; round < 2; ++round) {
    auto result = testing::runRound(loop_, *probe, t, 10s);
    ASSERT_TRUE(result);
    EXPECT_TRUE(result->ok) << result->error << "\n" << coturn.log();
    EXPECT_EQ(result->error, "");
    EXPECT_EQ(result->relayed_address.rfind("127.0.0.1:", 0), 0u) << result->relayed_address;
    EXPECT_EQ(result->relayed_address_b.rfind("127.0.0.1:", 0), 0u) << result->relayed_address_b;
    EXPECT_NE(result->relayed_address_b, result->relayed_address);
    // Every arrival is timed by its kernel receive stamp over UDP; a stream has none.
    EXPECT_EQ(result->timestamps,
              transport == Transport::kUdp ? Timestamps::kKernel : Timestamps::kLoop);
    EXPECT_EQ(result->sent, 25);
    EXPECT_EQ(result->received, 25);  // loopback: nothing is lost
    EXPECT_EQ(result->loss, 0.0);
    EXPECT_EQ(result->loss_ab, 0.0);
    EXPECT_EQ(result->loss_ba, 0.0);
    EXPECT_EQ(result->reordered, 0);
    EXPECT_EQ(result->duplicated, 0);
    ASSERT_TRUE(result->rtt);
    ASSERT_TRUE(result->one_way);
    ASSERT_TRUE(result->jitter_ms);
    ASSERT_TRUE(result->mos);
    EXPECT_EQ(result->rtt_samples_ms.size(), 25u);
    EXPECT_EQ(result->connect_ms.has_value(), transport != Transport::kUdp);
    expectTlsDetails(*result, transport);
    // Plausible loopback figures: positive, the one-way leg shorter than the loop, well under a
    // frame time even on a busy 2-core machine (over TCP, a Nagle/delayed-ACK stall would hold
    // packets for 40 ms).
    EXPECT_GT(result->rtt->min_ms, 0.0);
    EXPECT_LE(result->rtt->min_ms, result->rtt->avg_ms);
    EXPECT_LE(result->rtt->avg_ms, result->rtt->max_ms);
    EXPECT_LT(result->rtt->avg_ms, 20.0);
    EXPECT_GT(result->one_way->min_ms, 0.0);
    EXPECT_LT(result->one_way->avg_ms, result->rtt->avg_ms);
    EXPECT_LT(*result->jitter_ms, 10.0);
    EXPECT_GT(*result->mos, 4.3);
    std::printf(
        "coturn relay/%s round %d: relayed %s rtt %.3f/%.3f/%.3f ms one-way %.3f/%.3f/%.3f ms "
        "jitter %.4f ms mos %.3f loss %.3f connect %.3f ms %s (%s)\n",
        std::string(transportName(transport)).c_str(), round, result->relayed_address.c_str(),
        result->rtt->min_ms, result->rtt->avg_ms, result->rtt->max_ms, result->one_way->min_ms,
        result->one_way->avg_ms, result->one_way->max_ms, *result->jitter_ms, *result->mos,
        result->loss, result->connect_ms.value_or(0.0), result->tls_version.c_str(),
        std::string(timestampsName(result->timestamps)).c_str());
  }
  probe.reset();
  // coturn saw each step on both allocations of both rounds, and all four allocations were
  // released (Refresh lifetime 0).
  auto deadline = std::chrono::steady_clock::now() + 3s;
  while (countInLog(coturn, "lifetime=0") < 4 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(countInLog(coturn, "lifetime=0"), 4) << coturn.log();
  EXPECT_EQ(countInLog(coturn, "CREATE_PERMISSION processed, success"), 4) << coturn.log();
  EXPECT_EQ(countInLog(coturn, "CHANNEL_BIND processed, success"), 4) << coturn.log();
  // Both allocations of both rounds went over TLS when asked to.
  EXPECT_EQ(streamSessions(coturn, Transport::kTls), transport == Transport::kTls ? 4 : 0)
      << coturn.log();
}

TEST_F(ProbesPeersTest, CoturnRelayLoopStreamsThroughTheRelayAndReleases) {
  relayLoopThroughCoturn(Transport::kUdp);
}

TEST_F(ProbesPeersTest, CoturnRelayLoopOverTcpStreamsThroughTheRelayAndReleases) {
  relayLoopThroughCoturn(Transport::kTcp);
}

// Issue #16: both legs to coturn's TLS listener; the relay and the stream's figures as over TCP.
TEST_F(ProbesPeersTest, CoturnRelayLoopOverTlsStreamsThroughTheRelayAndReleases) {
  relayLoopThroughCoturn(Transport::kTls);
}

// TURN over TLS to a server whose CA the target does not trust (no ca_file, or another CA's):
// the round fails at the handshake, naming the connection and the certificate problem, for
// turn and relay alike, and carries no TLS details.
TEST_F(ProbesPeersTest, CoturnTlsUntrustedCertificateIsTheRoundsError) {
  testing::Coturn coturn(dir_, coturnFor(Transport::kTls));
  const std::string connection =
      "TLS connection to 127.0.0.1:" + std::to_string(coturn.tls_port()) +
      ": TLS: certificate not trusted (unable to get local issuer certificate)";
  for (auto [kind, ca_file] : {std::pair{Kind::kTurn, std::string()},
                               {Kind::kRelay, std::string()},
                               {Kind::kTurn, pki().otherCaFile()},
                               {Kind::kRelay, pki().otherCaFile()}}) {
    SCOPED_TRACE(std::string(kindName(kind)) + " with ca_file '" + ca_file + "'");
    auto t = turnTarget(kind, coturn, Transport::kTls);
    t.ca_file = ca_file;
    auto result = run(t);
    ASSERT_TRUE(result);
    expectHandshakeFailed(*result, connection);
    // turn counts its Allocate, queued for the connection, as lost (as sip over tls counts its
    // OPTIONS); relay counts stream packets, and none was sent.
    EXPECT_EQ(result->sent, kind == Kind::kTurn ? 1 : 0);
    EXPECT_EQ(result->received, 0);
    EXPECT_EQ(result->relayed_address, "");
    EXPECT_FALSE(result->connect_ms);
  }
  // coturn never saw an Allocate.
  EXPECT_EQ(countInLog(coturn, "ALLOCATE processed"), 0) << coturn.log();
}

// TURN over TLS with a server_name the certificate does not carry: the name error.
TEST_F(ProbesPeersTest, CoturnTlsWrongServerNameIsTheRoundsError) {
  testing::Coturn coturn(dir_, coturnFor(Transport::kTls));
  const std::string connection =
      "TLS connection to 127.0.0.1:" + std::to_string(coturn.tls_port()) +
      ": TLS: certificate does not match server name 'turn.example.net'";
  for (Kind kind : {Kind::kTurn, Kind::kRelay}) {
    SCOPED_TRACE(std::string(kindName(kind)));
    auto t = turnTarget(kind, coturn, Transport::kTls);
    t.server_name = "turn.example.net";
    auto result = run(t);
    ASSERT_TRUE(result);
    expectHandshakeFailed(*result, connection);
  }
  // The name the certificate does carry works on the same listener.
  auto t = turnTarget(Kind::kTurn, coturn, Transport::kTls);
  t.server_name = "sip.test";
  auto result = run(t);
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->ok) << result->error;
}

// coturn goes away in the middle of a relay stream over TCP: the round ends with what happened
// to which allocation, at once and without a crash or a leaked handle (TearDown checks).
TEST_F(ProbesPeersTest, CoturnStoppedMidStreamOverTcpIsAClearError) {
  testing::Coturn coturn(dir_);
  auto t = target(Kind::kRelay, "127.0.0.1", coturn.port());
  t.username = "test";
  t.password = "secret";
  t.transport = Transport::kTcp;
  t.stream = {100, 172, 20ms};  // 2 s
  auto probe = makeProbe(Kind::kRelay, context_);
  net::UvTimer stopper(loop_.get());
  stopper.start(700ms, [&] { coturn.stop(); });
  auto started = std::chrono::steady_clock::now();
  auto result = testing::runRound(loop_, *probe, t, 10s);
  auto took = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->ok);
  std::string to = ": TCP connection to 127.0.0.1:" + std::to_string(coturn.port()) + ": ";
  bool named = false;
  for (const char* leg : {"allocation A", "allocation B"}) {
    for (const char* what : {"connection closed by peer", "connection reset"}) {
      named = named || result->error == leg + to + what;
    }
  }
  EXPECT_TRUE(named) << result->error;
  EXPECT_LT(took, 2s);  // not the stream's end, nor a timeout
  std::printf("coturn stopped mid-stream: %s (%d sent)\n", result->error.c_str(), result->sent);
}

// --- relay with a peer: allocation B on a second TURN server (issue #16 item 1) ---

// Two coturn servers on two loopback addresses with different credentials; `relay` is A's server
// (the target's), `peer` B's. Both allow loopback peers (tests/support/peers.cc), so each relay
// may send to the other's relayed address.
struct TwoTurnServers {
  explicit TwoTurnServers(const testing::TempDir& dir)
      : a(dir, options("127.0.0.1", "test", "secret")),
        b(dir, options("127.0.0.2", "peer-user", "peer-secret")) {}
  static testing::Coturn::Options options(std::string ip, std::string user, std::string password) {
    testing::Coturn::Options o;
    o.ip = std::move(ip);
    o.user = std::move(user);
    o.password = std::move(password);
    return o;
  }
  testing::Coturn a;
  testing::Coturn b;
};

ProbeTarget relayWithPeer(const TwoTurnServers& servers) {
  ProbeTarget t;
  t.name = "relay-peer";
  t.kind = Kind::kRelay;
  t.host = "127.0.0.1";
  t.port = servers.a.port();
  t.timeout = 2000ms;
  t.username = "test";
  t.password = "secret";
  t.stream = {25, 172, 20ms};
  t.peer_name = "turn-b";
  t.peer_host = "127.0.0.2";
  t.peer_port = servers.b.port();
  t.peer_username = "peer-user";
  t.peer_password = "peer-secret";
  return t;
}

// Waits up to 3 s for `count` occurrences of `needle` in `coturn`'s log; how many there are.
int awaitInLog(const testing::Coturn& coturn, const std::string& needle, int count) {
  auto deadline = std::chrono::steady_clock::now() + 3s;
  while (countInLog(coturn, needle) < count && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  return countInLog(coturn, needle);
}

// The stream crosses both relays (A's on 127.0.0.1, B's on 127.0.0.2) without loss; each server
// made, bound and released one allocation per round. Timed by kernel stamps, then (a clock that
// cannot be compared with them) by the loop, for the figures.
TEST_F(ProbesPeersTest, CoturnRelayLoopThroughTwoServersWithPeer) {
  TwoTurnServers servers(dir_);
  auto t = relayWithPeer(servers);
  testing::LoopTimedClock loop_clock;
  ProbeContext loop_timed{&loop_, nullptr, &loop_clock, &random_, &resources_};
  for (bool kernel : {true, false}) {
    SCOPED_TRACE(kernel ? "kernel timestamps" : "loop timing");
    auto probe = makeProbe(Kind::kRelay, kernel ? context_ : loop_timed);
    auto result = testing::runRound(loop_, *probe, t, 10s);
    ASSERT_TRUE(result);
    EXPECT_TRUE(result->ok) << result->error << "\n" << servers.a.log() << servers.b.log();
    EXPECT_EQ(result->error, "");
    EXPECT_EQ(result->address, "127.0.0.1:" + std::to_string(servers.a.port()));
    EXPECT_EQ(result->relayed_address.rfind("127.0.0.1:", 0), 0u) << result->relayed_address;
    EXPECT_EQ(result->relayed_address_b.rfind("127.0.0.2:", 0), 0u) << result->relayed_address_b;
    EXPECT_EQ(result->timestamps, kernel ? Timestamps::kKernel : Timestamps::kLoop);
    EXPECT_EQ(result->sent, 25);
    EXPECT_EQ(result->received, 25);
    EXPECT_EQ(result->loss_ab, 0.0);
    EXPECT_EQ(result->loss_ba, 0.0);
    EXPECT_EQ(result->reordered, 0);
    ASSERT_TRUE(result->rtt);
    ASSERT_TRUE(result->one_way);
    ASSERT_TRUE(result->jitter_ms);
    EXPECT_GT(result->rtt->min_ms, 0.0);
    EXPECT_LT(result->rtt->avg_ms, 20.0);
    EXPECT_GT(result->one_way->min_ms, 0.0);
    EXPECT_LT(result->one_way->avg_ms, result->rtt->avg_ms);
    std::printf(
        "coturn relay via peer (%s): relayed %s + %s rtt %.3f/%.3f/%.3f ms one-way "
        "%.3f/%.3f/%.3f ms jitter %.4f ms\n",
        kernel ? "kernel" : "loop", result->relayed_address.c_str(),
        result->relayed_address_b.c_str(), result->rtt->min_ms, result->rtt->avg_ms,
        result->rtt->max_ms, result->one_way->min_ms, result->one_way->avg_ms,
        result->one_way->max_ms, *result->jitter_ms);
  }
  // Each server allocated, permitted and bound once per round, and released its allocation.
  for (const testing::Coturn* coturn : {&servers.a, &servers.b}) {
    EXPECT_EQ(awaitInLog(*coturn, "lifetime=0", 2), 2) << coturn->log();
    EXPECT_EQ(countInLog(*coturn, "CREATE_PERMISSION processed, success"), 2) << coturn->log();
    EXPECT_EQ(countInLog(*coturn, "CHANNEL_BIND processed, success"), 2) << coturn->log();
  }
}

// The peer's own credentials are used for B, and a wrong one names B (and no secret). A's
// allocation, when the server made it before B's 401 ended the round, is released: A's
// authenticated Allocate may still be in flight then, and its answer is awaited to release it.
// Five rounds, as which server answers first varies.
TEST_F(ProbesPeersTest, CoturnRelayPeerWrongPasswordNamesAllocationB) {
  TwoTurnServers servers(dir_);
  auto t = relayWithPeer(servers);
  t.peer_password = "wrong-peer-secret";
  auto probe = makeProbe(Kind::kRelay, context_);
  for (int round = 0; round < 5; ++round) {
    auto result = testing::runRound(loop_, *probe, t);
    ASSERT_TRUE(result);
    EXPECT_FALSE(result->ok);
    EXPECT_EQ(result->error,
              "allocation B (peer turn-b): TURN 401 Unauthorized (check username/password_env)");
    EXPECT_EQ(result->error.find("secret"), std::string::npos);
    EXPECT_EQ(result->sent, 0);
    EXPECT_EQ(result->relayed_address_b, "");
  }
  probe.reset();
  std::this_thread::sleep_for(300ms);  // coturn's log lags its answers a little
  int allocated = countInLog(servers.a, "ALLOCATE processed, success");
  EXPECT_EQ(awaitInLog(servers.a, "lifetime=0", allocated), allocated) << servers.a.log();
  EXPECT_EQ(countInLog(servers.b, "ALLOCATE processed, success"), 0) << servers.b.log();
  std::printf("A's allocations made before B's 401 ended the round, all released: %d of 5\n",
              allocated);
  // And the other way round: a wrong password for the target's own server names A.
  t.peer_password = "peer-secret";
  t.password = "wrong";
  auto result = run(t);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->error, "allocation A: TURN 401 Unauthorized (check username/password_env)");
}

// A peer that does not answer: the set-up times out naming B and what it waited for.
TEST_F(ProbesPeersTest, CoturnRelayDeadPeerTimesOutNamingAllocationB) {
  testing::Coturn coturn(dir_);
  ProbeTarget t = target(Kind::kRelay, "127.0.0.1", coturn.port());
  t.username = "test";
  t.password = "secret";
  t.timeout = 500ms;
  t.peer_name = "turn-b";
  t.peer_host = "127.0.0.2";
  t.peer_port = testing::freePort(testing::SocketType::kUdp);
  t.peer_username = "peer-user";
  t.peer_password = "peer-secret";
  auto result = run(t);
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->ok);
  EXPECT_EQ(result->error,
            "timeout after 500ms (allocation A waiting for the other allocation, allocation B "
            "(peer turn-b) waiting for Allocate)");
  EXPECT_EQ(awaitInLog(coturn, "lifetime=0", 1), 1) << coturn.log();
  // Over TCP the dead peer refuses at once.
  t.transport = Transport::kTcp;
  t.peer_port = testing::freePort(testing::SocketType::kTcp);
  result = run(t);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->error, "allocation B (peer turn-b): TCP connection to 127.0.0.2:" +
                               std::to_string(t.peer_port) + ": connection refused");
  // A peer named by a host name is resolved as the target's own host: here there is no resolver.
  t.peer_host = "turn-b.example.test";
  result = run(t);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->error,
            "allocation B (peer turn-b): cannot resolve \"turn-b.example.test\": no resolver "
            "configured");
}

TEST_F(ProbesPeersTest, DeadUdpPortTimesOut) {
  auto port = testing::freePort(testing::SocketType::kUdp);
  auto t = target(Kind::kTurn, "127.0.0.1", port);
  t.username = "test";
  t.password = "secret";
  t.timeout = 500ms;
  auto turn = run(t);
  ASSERT_TRUE(turn);
  EXPECT_FALSE(turn->ok);
  EXPECT_EQ(turn->error, "timeout after 500ms");
  auto stun_target = target(Kind::kStun, "127.0.0.1", port);
  stun_target.timeout = 500ms;
  auto stun = run(stun_target);
  ASSERT_TRUE(stun);
  EXPECT_FALSE(stun->ok);
  EXPECT_EQ(stun->error, "timeout after 500ms (0/5 replies)");
  EXPECT_DOUBLE_EQ(stun->loss, 1.0);
}

TEST_F(ProbesPeersTest, KamailioOptions200OverUdpAndTcp) {
  testing::Kamailio kamailio(dir_);
  auto udp = target(Kind::kSip, "127.0.0.1", kamailio.port());
  auto result = run(udp);
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->ok) << result->error << "\n" << kamailio.log();
  EXPECT_EQ(result->status_code, 200);
  EXPECT_EQ(result->received, 5);
  EXPECT_TRUE(result->mos);
  auto tcp = udp;
  tcp.transport = Transport::kTcp;
  auto over_tcp = run(tcp);
  ASSERT_TRUE(over_tcp);
  EXPECT_TRUE(over_tcp->ok) << over_tcp->error << "\n" << kamailio.log();
  EXPECT_EQ(over_tcp->status_code, 200);
  EXPECT_TRUE(over_tcp->connect_ms);
  std::printf("kamailio OPTIONS udp rtt avg %.3f ms, tcp connect %.3f ms rtt %.3f ms\n",
              result->rtt->avg_ms, *over_tcp->connect_ms, over_tcp->rtt->avg_ms);
}

TEST_F(ProbesPeersTest, KamailioOverIPv6) {
  testing::Kamailio::Options options;
  options.ip = "::1";
  testing::Kamailio kamailio(dir_, options);
  for (Transport transport : {Transport::kUdp, Transport::kTcp}) {
    auto t = target(Kind::kSip, "::1", kamailio.port());
    t.transport = transport;
    auto result = run(t);
    ASSERT_TRUE(result);
    EXPECT_TRUE(result->ok) << transportName(transport) << ": " << result->error << "\n"
                            << kamailio.log();
    EXPECT_EQ(result->status_code, 200);
    EXPECT_EQ(result->address, "[::1]:" + std::to_string(kamailio.port()));
  }
}

TEST_F(ProbesPeersTest, Kamailio503IsAFailure) {
  testing::Kamailio::Options options;
  options.options_code = 503;
  options.options_reason = "Service Unavailable";
  testing::Kamailio kamailio(dir_, options);
  for (Transport transport : {Transport::kUdp, Transport::kTcp}) {
    auto t = target(Kind::kSip, "127.0.0.1", kamailio.port());
    t.transport = transport;
    auto result = run(t);
    ASSERT_TRUE(result);
    EXPECT_FALSE(result->ok);
    EXPECT_EQ(result->error, "SIP 503 Service Unavailable") << transportName(transport);
    EXPECT_EQ(result->status_code, 503);
  }
}

TEST_F(ProbesPeersTest, ClosedTcpPortIsConnectionRefused) {
  auto port = testing::freePort(testing::SocketType::kTcp);
  auto tcp = run(target(Kind::kTcp, "127.0.0.1", port));
  ASSERT_TRUE(tcp);
  EXPECT_FALSE(tcp->ok);
  EXPECT_EQ(tcp->error, "connection refused");
  auto sip_target = target(Kind::kSip, "127.0.0.1", port);
  sip_target.transport = Transport::kTcp;
  auto sip = run(sip_target);
  ASSERT_TRUE(sip);
  EXPECT_EQ(sip->error, "connection refused");
}

TEST_F(ProbesPeersTest, TcpProbeConnectsToKamailio) {
  testing::Kamailio kamailio(dir_);
  auto result = run(target(Kind::kTcp, "127.0.0.1", kamailio.port()));
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->ok) << result->error;
  EXPECT_TRUE(result->connect_ms);
}

}  // namespace
}  // namespace mediapath::probes
