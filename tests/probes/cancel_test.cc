// cancel() contract shared by every UDP/TCP probe kind: after cancel() no callback runs, even
// when timers or replies were pending, and the probe can start a new round afterwards.
#include <gtest/gtest.h>

#include "net/event_loop.h"
#include "probes/probe.h"
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

class CancelTest : public ::testing::TestWithParam<Case> {
 protected:
  void TearDown() override {
    EXPECT_EQ(testing::openHandleCount(loop_), 0);
    EXPECT_EQ(loop_.close(), 0);
  }
  void runFor(std::chrono::milliseconds duration) {
    net::UvTimer timer(loop_.get());
    bool done = false;
    timer.start(duration, [&] { done = true; });
    while (!done) uv_run(loop_.get(), UV_RUN_ONCE);
  }

  net::EventLoop loop_;
  ProbeContext context_{&loop_, nullptr, nullptr, nullptr};
};

TEST_P(CancelTest, NoCallbackAfterCancelAndTheProbeIsReusable) {
  // Peers that accept requests (UDP datagrams, TCP connections) and never answer.
  testing::SipUdpResponder udp_peer(loop_.get(), "127.0.0.1");
  testing::SipTcpResponder tcp_peer(loop_.get(), "127.0.0.1");
  const Case& c = GetParam();
  bool stream = c.kind == Kind::kTcp || (c.kind == Kind::kSip && c.transport == Transport::kTcp);
  ProbeTarget target;
  target.name = c.name;
  target.kind = c.kind;
  target.transport = c.transport;
  target.host = "127.0.0.1";
  target.port = stream ? tcp_peer.address().port() : udp_peer.address().port();
  target.timeout = 150ms;
  target.burst.packets = 3;
  target.burst.spacing = 10ms;
  target.username = "u";
  target.password = "p";

  auto probe = makeProbe(c.kind, context_);
  ASSERT_NE(probe, nullptr);
  int calls = 0;
  // Cancelled at once (before the address is even delivered) ...
  probe->start(target, [&](ProbeResult) { ++calls; });
  probe->cancel();
  runFor(50ms);
  // ... and in the middle of a round (requests sent, timeout pending). A loopback TCP connect
  // completes the tcp kind's round within the same loop iteration, so it has no "middle".
  if (c.kind != Kind::kTcp) {
    probe->start(target, [&](ProbeResult) { ++calls; });
    runFor(15ms);
    probe->cancel();
  }
  runFor(300ms);  // past every timeout the round had armed
  EXPECT_EQ(calls, 0);

  // A new round after cancel() runs normally. (The TCP kind succeeds: the peer accepts.)
  auto result = testing::runRound(loop_, *probe, target);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->ok, c.kind == Kind::kTcp) << result->error;
  if (c.kind != Kind::kTcp) {
    EXPECT_EQ(result->error.rfind("timeout after 150ms", 0), 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(AllKinds, CancelTest,
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
