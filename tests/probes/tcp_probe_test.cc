#include "probes/tcp_probe.h"

#include <gtest/gtest.h>

#include "net/event_loop.h"
#include "probes/probe_resources.h"
#include "tests/net/loop_check.h"
#include "tests/probes/probe_harness.h"
#include "tests/probes/responders.h"
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
