#include "probes/tcp_probe.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>

#include "net/event_loop.h"
#include "net/socket_budget.h"
#include "probes/probe_resources.h"
#include "tests/net/loop_check.h"
#include "tests/probes/probe_harness.h"
#include "tests/probes/responders.h"
#include "tests/support/probe_kit.h"
#include "tests/support/process.h"

namespace mediapath::probes {
namespace {

using namespace std::chrono_literals;

class TcpProbeTest : public testing::LoopTest {
 protected:
  ProbeTarget target(std::string host, std::uint16_t port) {
    ProbeTarget t;
    t.name = "tcp-test";
    t.kind = Kind::kTcp;
    t.host = std::move(host);
    t.port = port;
    t.timeout = 500ms;
    return t;
  }
  testing::FakeResolver resolver_;
  ProbeResources resources_;  // after the loop, before the probes: outlives them
  ProbeContext context_{&loop_, &resolver_, nullptr, nullptr, &resources_};
};

TEST_F(TcpProbeTest, ConnectTimeOverIPv4AndIPv6) {
  for (const char* ip : {"127.0.0.1", "::1"}) {
    testing::SipTcpResponder listener(loop_.get(), ip);
    auto probe = makeProbe(Kind::kTcp, context_);
    auto result = testing::runRound(loop_, *probe, target(ip, listener.address().port()));
    ASSERT_TRUE(result);
    EXPECT_TRUE(result->ok) << result->error;
    ASSERT_TRUE(result->connect_ms);
    EXPECT_GE(*result->connect_ms, 0.0);
    EXPECT_EQ(result->address, listener.address().toString());
  }
  EXPECT_EQ(resolver_.calls, 0);  // literals never reach the resolver
}

// The loop gets to the connect callback 20 ms late; connect_ms is the kernel's handshake RTT
// (TCP_INFO) regardless. With a clock that cannot be compared with kernel time the probe falls
// back to the loop's connect timing and says so.
TEST_F(TcpProbeTest, ConnectTimeIsTheKernelsHandshakeRttNotWhenTheLoopNoticed) {
  testing::SipTcpResponder listener(loop_.get(), "127.0.0.1");
  testing::LaggingLoop lagging(loop_.get(), 20ms, testing::LaggingLoop::Phase::kBeforePoll);
  auto probe = makeProbe(Kind::kTcp, context_);
  auto result = testing::runRound(loop_, *probe, target("127.0.0.1", listener.address().port()));
  ASSERT_TRUE(result);
  ASSERT_TRUE(result->ok) << result->error;
  EXPECT_EQ(result->timestamps, Timestamps::kKernel);
  ASSERT_TRUE(result->connect_ms);
  EXPECT_GT(*result->connect_ms, 0.0);
  EXPECT_LT(*result->connect_ms, 10.0);
  EXPECT_EQ(result->rtt_samples_ms, std::vector<double>{*result->connect_ms});

  testing::LoopTimedClock loop_clock;
  ProbeContext loop_timed{&loop_, &resolver_, &loop_clock, nullptr, &resources_};
  auto fallback = makeProbe(Kind::kTcp, loop_timed);
  result = testing::runRound(loop_, *fallback, target("127.0.0.1", listener.address().port()));
  ASSERT_TRUE(result);
  ASSERT_TRUE(result->ok) << result->error;
  EXPECT_EQ(result->timestamps, Timestamps::kLoop);
  ASSERT_TRUE(result->connect_ms);
  EXPECT_GE(*result->connect_ms, 19.0);
}

TEST_F(TcpProbeTest, ClosedPortIsConnectionRefused) {
  auto port = testing::freePort(testing::SocketType::kTcp);
  auto probe = makeProbe(Kind::kTcp, context_);
  auto result = testing::runRound(loop_, *probe, target("127.0.0.1", port));
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->ok);
  EXPECT_EQ(result->error, "connection refused");
}

TEST_F(TcpProbeTest, HostnamesGoThroughTheResolver) {
  testing::SipTcpResponder listener(loop_.get(), "127.0.0.1");
  resolver_.answers["proxy.example.test"] = "127.0.0.1";
  auto probe = makeProbe(Kind::kTcp, context_);
  auto result =
      testing::runRound(loop_, *probe, target("proxy.example.test", listener.address().port()));
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->ok) << result->error;
  ASSERT_TRUE(result->dns_ms);
  EXPECT_DOUBLE_EQ(*result->dns_ms, 1.5);
  EXPECT_EQ(result->address, listener.address().toString());
}

TEST_F(TcpProbeTest, IPv6OnlyNameFallsBackToAaaa) {
  testing::SipTcpResponder listener(loop_.get(), "::1");
  resolver_.answers["v6.example.test"] = "::1";
  auto probe = makeProbe(Kind::kTcp, context_);
  auto result =
      testing::runRound(loop_, *probe, target("v6.example.test", listener.address().port()));
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->ok) << result->error;
  EXPECT_EQ(resolver_.calls, 2);
}

TEST_F(TcpProbeTest, ResolutionFailureIsReported) {
  auto probe = makeProbe(Kind::kTcp, context_);
  auto result = testing::runRound(loop_, *probe, target("nowhere.example.test", 5060));
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->ok);
  EXPECT_EQ(result->error, "resolve nowhere.example.test: NXDOMAIN");
}

TEST_F(TcpProbeTest, NameWithoutResolverFailsClearly) {
  ProbeContext no_resolver{&loop_, nullptr, nullptr, nullptr, &resources_};
  auto probe = makeProbe(Kind::kTcp, no_resolver);
  bool inside_start = true;
  bool called_inside_start = false;
  std::optional<ProbeResult> result;
  probe->start(target("proxy.example.test", 5060), [&](ProbeResult r) {
    called_inside_start = inside_start;
    result = std::move(r);
  });
  inside_start = false;
  ASSERT_TRUE(testing::runLoopUntil(
      loop_, [&] { return result.has_value(); }, 5s, "the probe's result"));
  EXPECT_FALSE(called_inside_start);  // the callback always comes from the loop
  EXPECT_FALSE(result->ok);
  EXPECT_EQ(result->error, "cannot resolve \"proxy.example.test\": no resolver configured");
}

/// A listener whose accept queue is full (backlog 0, one connection waiting, never accepted):
/// Linux drops further SYNs, so a connect to it hangs until the probe's timeout.
class FullListener {
 public:
  FullListener() {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(listener_, 0), 0);
    socklen_t len = sizeof a;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    for (int& fd : fillers_) {
      fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    }
  }
  ~FullListener() {
    for (int fd : fillers_) ::close(fd);
    ::close(listener_);
  }
  FullListener(const FullListener&) = delete;
  FullListener& operator=(const FullListener&) = delete;
  std::uint16_t port() const { return port_; }

 private:
  int listener_ = -1;
  std::array<int, 2> fillers_{};
  std::uint16_t port_ = 0;
};

TEST_F(TcpProbeTest, OneProbeReusedForManyRoundsReportsEachAndReleasesItsSocket) {
  testing::SipTcpResponder listener(loop_.get(), "127.0.0.1");
  net::SocketBudget budget(4);
  ProbeResources resources(&budget);
  ProbeContext context{&loop_, nullptr, nullptr, nullptr, &resources};
  auto probe = makeProbe(Kind::kTcp, context);
  for (int round = 0; round < 50; ++round) {
    auto result = testing::runRound(loop_, *probe, target("127.0.0.1", listener.address().port()));
    ASSERT_TRUE(result) << "round " << round;
    EXPECT_TRUE(result->ok) << result->error;
    EXPECT_EQ(result->error, "");
    EXPECT_EQ(result->sent, 1);
    EXPECT_EQ(result->received, 1);
    EXPECT_EQ(result->loss, 0.0);
    ASSERT_TRUE(result->connect_ms);
    ASSERT_EQ(result->rtt_samples_ms.size(), 1u);
    EXPECT_EQ(result->rtt_samples_ms[0], *result->connect_ms);
    EXPECT_EQ(result->address, listener.address().toString());
    // The round's connection is closed when it reports, not kept for the next round.
    EXPECT_EQ(budget.inUse(), 0u) << "round " << round;
  }
}

TEST_F(TcpProbeTest, AReusedProbeFollowsItsTargetWhenHostOrPortChanges) {
  // The probe keeps the parse of its last host and port; a changed one must be parsed again.
  testing::SipTcpResponder v4a(loop_.get(), "127.0.0.1");
  testing::SipTcpResponder v4b(loop_.get(), "127.0.0.1");
  testing::SipTcpResponder v6(loop_.get(), "::1");
  auto probe = makeProbe(Kind::kTcp, context_);
  struct Step {
    const char* host;
    const testing::SipTcpResponder* peer;
  };
  for (Step step : {Step{"127.0.0.1", &v4a}, Step{"127.0.0.1", &v4b}, Step{"::1", &v6},
                    Step{"[::1]", &v6}, Step{"127.0.0.1", &v4a}}) {
    auto result = testing::runRound(loop_, *probe, target(step.host, step.peer->address().port()));
    ASSERT_TRUE(result);
    EXPECT_TRUE(result->ok) << result->error;
    EXPECT_EQ(result->address, step.peer->address().toString()) << step.host;
  }
  EXPECT_EQ(resolver_.calls, 0);
}

TEST_F(TcpProbeTest, HangingConnectTimesOutAndCancelMidRoundAllowsANewRound) {
  FullListener full;
  testing::SipTcpResponder listener(loop_.get(), "127.0.0.1");
  net::SocketBudget budget(4);
  ProbeResources resources(&budget);
  ProbeContext context{&loop_, nullptr, nullptr, nullptr, &resources};
  auto probe = makeProbe(Kind::kTcp, context);
  ProbeTarget hanging = target("127.0.0.1", full.port());
  hanging.timeout = 100ms;

  auto timed_out = testing::runRound(loop_, *probe, hanging);
  ASSERT_TRUE(timed_out);
  EXPECT_FALSE(timed_out->ok);
  EXPECT_EQ(timed_out->error, "timeout after 100ms");
  EXPECT_EQ(timed_out->loss, 1.0);
  EXPECT_EQ(budget.inUse(), 0u);

  // Cancelled while the connect is in flight: no callback, the socket is released, and the
  // next round on the same probe is a normal one.
  int calls = 0;
  probe->start(hanging, [&](const ProbeResult&) { ++calls; });
  ASSERT_TRUE(testing::runLoopUntil(
      loop_, [&] { return budget.inUse() == 1; }, 5s, "the hanging connect to start"));
  probe->cancel();
  EXPECT_EQ(budget.inUse(), 0u);
  auto result = testing::runRound(loop_, *probe, target("127.0.0.1", listener.address().port()));
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->ok) << result->error;
  EXPECT_EQ(calls, 0);
}

TEST(RegistryTest, EveryUdpTcpKindHasAProbe) {
  net::EventLoop loop;
  {
    ProbeResources resources;
    ProbeContext context{&loop, nullptr, nullptr, nullptr, &resources};
    for (Kind kind : {Kind::kStun, Kind::kTurn, Kind::kSip, Kind::kTcp}) {
      EXPECT_NE(makeProbe(kind, context), nullptr) << kindName(kind);
    }
  }
  EXPECT_EQ(testing::openHandleCount(loop), 0);
  EXPECT_EQ(loop.close(), 0);
}

}  // namespace
}  // namespace mediapath::probes
