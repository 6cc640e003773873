// The round every address-based kind (stun, turn, sip over UDP and TCP, tcp) shares through
// probes::AddressProbe: after cancel() no callback runs and the probe is reusable; a failed
// lookup ends the round the same way for each kind; the result callback may destroy the probe,
// from either end of a round (lookup failure or the kind's own exchange).
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <ostream>

#include "net/event_loop.h"
#include "net/uv_timer.h"
#include "probes/probe.h"
#include "probes/probe_resources.h"
#include "tests/net/loop_check.h"
#include "tests/probes/probe_harness.h"
#include "tests/probes/responders.h"

namespace mediapath::probes {
namespace {

using namespace std::chrono_literals;

struct Case {
  const char* name;
  Kind kind;
  Transport transport;
};
// Shown in test listings (and so in ctest's names) instead of the struct's raw bytes.
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class AddressProbeTest : public ::testing::TestWithParam<Case> {
 protected:
  void TearDown() override {
    EXPECT_EQ(testing::openHandleCount(loop_), 0);
    EXPECT_EQ(loop_.close(), 0);
  }

  bool stream() const {
    const Case& c = GetParam();
    return c.kind == Kind::kTcp || (c.kind == Kind::kSip && c.transport == Transport::kTcp);
  }

  ProbeTarget target(std::string host, std::uint16_t port) const {
    const Case& c = GetParam();
    ProbeTarget t;
    t.name = c.name;
    t.kind = c.kind;
    t.transport = c.transport;
    t.host = std::move(host);
    t.port = port;
    t.timeout = 100ms;
    t.burst.packets = 2;
    t.burst.spacing = 10ms;
    t.username = "u";
    t.password = "p";
    return t;
  }

  void runFor(std::chrono::milliseconds duration) {
    net::UvTimer timer(loop_.get());
    bool done = false;
    timer.start(duration, [&] { done = true; });
    while (!done) uv_run(loop_.get(), UV_RUN_ONCE);
  }

  /// Runs the loop until `result` is set or `limit` passes.
  void runUntil(const std::optional<ProbeResult>& result, std::chrono::milliseconds limit) {
    net::UvTimer guard(loop_.get());
    bool expired = false;
    guard.start(limit, [&] { expired = true; });
    while (!result && !expired) uv_run(loop_.get(), UV_RUN_ONCE);
  }

  net::EventLoop loop_;
  testing::FakeResolver resolver_;
  ProbeResources resources_;  // after the loop, before the probes: outlives them
  ProbeContext context_{&loop_, &resolver_, nullptr, nullptr, &resources_};
};

TEST_P(AddressProbeTest, NoCallbackAfterCancelAndTheProbeIsReusable) {
  // Peers that accept requests (UDP datagrams, TCP connections) and never answer.
  testing::SipUdpResponder udp_peer(loop_.get(), "127.0.0.1");
  testing::SipTcpResponder tcp_peer(loop_.get(), "127.0.0.1");
  const Case& c = GetParam();
  ProbeTarget t =
      target("127.0.0.1", stream() ? tcp_peer.address().port() : udp_peer.address().port());
  t.timeout = 150ms;
  t.burst.packets = 3;

  auto probe = makeProbe(c.kind, context_);
  ASSERT_NE(probe, nullptr);
  int calls = 0;
  // Cancelled at once (before the address is even delivered) ...
  probe->start(t, [&](ProbeResult) { ++calls; });
  probe->cancel();
  runFor(50ms);
  // ... and in the middle of a round (requests sent, timeout pending). A loopback TCP connect
  // completes the tcp kind's round within the same loop iteration, so it has no "middle".
  if (c.kind != Kind::kTcp) {
    probe->start(t, [&](ProbeResult) { ++calls; });
    runFor(15ms);
    probe->cancel();
  }
  runFor(300ms);  // past every timeout the round had armed
  EXPECT_EQ(calls, 0);

  // A new round after cancel() runs normally. (The TCP kind succeeds: the peer accepts.)
  auto result = testing::runRound(loop_, *probe, t);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->ok, c.kind == Kind::kTcp) << result->error;
  if (c.kind != Kind::kTcp) {
    EXPECT_EQ(result->error.rfind("timeout after 150ms", 0), 0u);
  }
}

TEST_P(AddressProbeTest, FailedLookupEndsTheRoundWithNothingSent) {
  auto probe = makeProbe(GetParam().kind, context_);
  std::optional<ProbeResult> result;
  int calls = 0;
  probe->start(target("nowhere.example.test", 5060), [&](ProbeResult r) {
    ++calls;
    result = std::move(r);
  });
  runUntil(result, 2s);
  ASSERT_TRUE(result);
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(result->ok);
  EXPECT_EQ(result->target, GetParam().name);
  EXPECT_EQ(result->kind, GetParam().kind);
  EXPECT_EQ(result->error, "resolve nowhere.example.test: NXDOMAIN");
  EXPECT_TRUE(result->address.empty());
  EXPECT_EQ(result->sent, 0);
  EXPECT_EQ(result->received, 0);
  EXPECT_TRUE(result->dns_ms.has_value());  // the resolver was asked
  EXPECT_EQ(resolver_.calls, 2);            // A, then AAAA for an IPv6-only name
}

TEST_P(AddressProbeTest, TheCallbackMayDestroyTheProbeAfterALookupFailure) {
  auto probe = makeProbe(GetParam().kind, context_);
  std::optional<ProbeResult> result;
  probe->start(target("nowhere.example.test", 5060), [&](ProbeResult r) {
    probe.reset();  // inside the lookup's deferred callback
    result = std::move(r);
  });
  runUntil(result, 2s);
  ASSERT_TRUE(result);
  EXPECT_EQ(probe, nullptr);
  EXPECT_EQ(result->error, "resolve nowhere.example.test: NXDOMAIN");
}

TEST_P(AddressProbeTest, TheCallbackMayDestroyTheProbeAfterItsExchange) {
  // Peers that accept requests (UDP datagrams, TCP connections) and never answer: the UDP kinds
  // end on their timeout; the tcp kind succeeds on connect.
  testing::SipUdpResponder udp_peer(loop_.get(), "127.0.0.1");
  testing::SipTcpResponder tcp_peer(loop_.get(), "127.0.0.1");
  std::uint16_t port = stream() ? tcp_peer.address().port() : udp_peer.address().port();
  auto probe = makeProbe(GetParam().kind, context_);
  std::optional<ProbeResult> result;
  int calls = 0;
  probe->start(target("127.0.0.1", port), [&](ProbeResult r) {
    ++calls;
    probe.reset();  // inside the exchange's own timer or socket callback
    result = std::move(r);
  });
  runUntil(result, 2s);
  ASSERT_TRUE(result);
  EXPECT_EQ(probe, nullptr);
  EXPECT_EQ(result->address, "127.0.0.1:" + std::to_string(port));
  EXPECT_GE(result->sent, 1);
  if (GetParam().kind == Kind::kTcp) {
    EXPECT_TRUE(result->ok) << result->error;
  } else {
    EXPECT_EQ(result->error.rfind("timeout after 100ms", 0), 0u) << result->error;
  }
  // Past every deadline the round had armed: the destroyed probe left nothing behind to fire.
  net::UvTimer later(loop_.get());
  later.start(300ms, [&] { uv_stop(loop_.get()); });
  uv_run(loop_.get(), UV_RUN_DEFAULT);
  EXPECT_EQ(calls, 1);
}

INSTANTIATE_TEST_SUITE_P(AllKinds, AddressProbeTest,
                         ::testing::Values(Case{"stun", Kind::kStun, Transport::kUdp},
                                           Case{"turn", Kind::kTurn, Transport::kUdp},
                                           Case{"sip_udp", Kind::kSip, Transport::kUdp},
                                           Case{"sip_tcp", Kind::kSip, Transport::kTcp},
                                           Case{"tcp", Kind::kTcp, Transport::kTcp}),
                         [](const ::testing::TestParamInfo<Case>& param_info) {
                           return std::string(param_info.param.name);
                         });

}  // namespace
}  // namespace mediapath::probes
