#include "agent/config/probe_targets.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "agent/config/config_loader.h"
#include "tests/support/process.h"

namespace mediapath::agent {
namespace {

using std::chrono::milliseconds;

ProbingConfig defaults() {
  ProbingConfig p;
  p.interval = milliseconds(5000);
  p.timeout = milliseconds(2000);
  p.burst = {5, milliseconds(20)};
  return p;
}

TargetConfig target(const std::string& name, probes::Kind kind) {
  TargetConfig t;
  t.name = name;
  t.kind = kind;
  t.host = "proxy-a.example.net";
  t.port = 5060;
  return t;
}

TEST(ProbeTargetsTest, DefaultsComeFromTheProbingSection) {
  PlannedTarget p = planTarget(target("proxy-a", probes::Kind::kSip), defaults());
  EXPECT_EQ(p.interval, milliseconds(5000));
  EXPECT_EQ(p.target.name, "proxy-a");
  EXPECT_EQ(p.target.kind, probes::Kind::kSip);
  EXPECT_EQ(p.target.host, "proxy-a.example.net");
  EXPECT_EQ(p.target.port, 5060);
  EXPECT_EQ(p.target.timeout, milliseconds(2000));
  EXPECT_EQ(p.target.burst.packets, 5);
  EXPECT_EQ(p.target.burst.spacing, milliseconds(20));
}

TEST(ProbeTargetsTest, PerTargetOverridesWin) {
  TargetConfig t = target("stun-fra", probes::Kind::kStun);
  t.interval = milliseconds(10000);
  t.timeout = milliseconds(750);
  t.burst = BurstConfig{10, milliseconds(40)};
  PlannedTarget p = planTarget(t, defaults());
  EXPECT_EQ(p.interval, milliseconds(10000));
  EXPECT_EQ(p.target.timeout, milliseconds(750));
  EXPECT_EQ(p.target.burst.packets, 10);
  EXPECT_EQ(p.target.burst.spacing, milliseconds(40));
}

TEST(ProbeTargetsTest, OnlyUdpProbesSendBursts) {
  for (auto kind : {probes::Kind::kTcp, probes::Kind::kDns}) {
    EXPECT_EQ(planTarget(target("t", kind), defaults()).target.burst.packets, 1);
  }
  TargetConfig sip_tcp = target("sip-tcp", probes::Kind::kSip);
  sip_tcp.transport = probes::Transport::kTcp;
  EXPECT_EQ(planTarget(sip_tcp, defaults()).target.burst.packets, 1);
}

TEST(ProbeTargetsTest, TurnPasswordIsReadFromItsSource) {
  testing::TempDir dir;
  TargetConfig t = target("turn-fra", probes::Kind::kTurn);
  t.username = "agent";
  t.password.file = dir.write("turn-password", "from-a-file\n");
  PlannedTarget p = planTarget(t, defaults());
  EXPECT_EQ(p.target.username, "agent");
  EXPECT_EQ(p.target.password, "from-a-file");

  t.password = SecretRef{};
  t.password.env = "MEDIAPATH_PROBE_TARGETS_TEST_PASSWORD";
  ::setenv(t.password.env.c_str(), "from-the-env", 1);
  EXPECT_EQ(planTarget(t, defaults()).target.password, "from-the-env");
  ::unsetenv(t.password.env.c_str());
}

TEST(ProbeTargetsTest, MissingSecretNamesTheTargetAndTheSource) {
  TargetConfig t = target("turn-fra", probes::Kind::kTurn);
  t.password.env = "MEDIAPATH_PROBE_TARGETS_TEST_UNSET";
  ::unsetenv(t.password.env.c_str());
  try {
    planTarget(t, defaults());
    FAIL() << "expected TargetError";
  } catch (const TargetError& e) {
    EXPECT_EQ(std::string(e.what()),
              "target turn-fra: TURN password: environment variable "
              "MEDIAPATH_PROBE_TARGETS_TEST_UNSET is not set");
  }

  testing::TempDir dir;
  t.password = SecretRef{};
  t.password.file = dir.file("absent");
  try {
    planTarget(t, defaults());
    FAIL() << "expected TargetError";
  } catch (const TargetError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("target turn-fra"), std::string::npos) << msg;
    EXPECT_NE(msg.find(dir.file("absent")), std::string::npos) << msg;
  }
}

TEST(ProbeTargetsTest, PlansEveryTargetInConfigOrder) {
  Config c;
  c.probing = defaults();
  c.targets = {target("b", probes::Kind::kTcp), target("a", probes::Kind::kDns)};
  auto planned = planTargets(c);
  ASSERT_EQ(planned.size(), 2u);
  EXPECT_EQ(planned[0].target.name, "b");
  EXPECT_EQ(planned[1].target.name, "a");
}

TEST(ProbeTargetsTest, DnsServersInCaresSyntax) {
  DnsConfig dns;
  dns.servers = {{"10.0.0.53", 53}, {"2001:db8::53", 5353}};
  EXPECT_EQ(dnsServerList(dns), (std::vector<std::string>{"10.0.0.53:53", "[2001:db8::53]:5353"}));
  EXPECT_TRUE(dnsServerList(DnsConfig{}).empty());
}

}  // namespace
}  // namespace mediapath::agent

namespace mediapath::agent {
namespace {

TEST(ProbeTargetsTest, PeerTargetsAddressAndCredentialsReachTheProbe) {
  auto loaded = parseConfig(R"({"site": {"name": "s"}, "targets": [
    {"name": "stun-fra", "kind": "stun", "host": "127.0.0.1", "port": 3479},
    {"name": "turn-fra", "kind": "turn", "host": "127.0.0.2", "username": "peer-user",
     "password_env": "MEDIAPATH_TEST_PEER_PASSWORD"},
    {"name": "nat", "kind": "nat", "host": "127.0.0.1", "peer": "stun-fra"},
    {"name": "loop", "kind": "relay", "host": "127.0.0.1", "username": "a",
     "password_env": "MEDIAPATH_TEST_PEER_PASSWORD", "interval": "30s", "peer": "turn-fra"}]})",
                            "peer.json");
  ASSERT_TRUE(loaded.config) << (loaded.errors.empty() ? "" : loaded.errors[0].message);
  ::setenv("MEDIAPATH_TEST_PEER_PASSWORD", "peer-secret", 1);
  auto planned = planTargets(*loaded.config);
  ::unsetenv("MEDIAPATH_TEST_PEER_PASSWORD");
  ASSERT_EQ(planned.size(), 4u);
  const probes::ProbeTarget& nat = planned[2].target;
  EXPECT_EQ(nat.kind, probes::Kind::kNat);
  EXPECT_EQ(nat.port, 3478);  // the STUN default
  EXPECT_EQ(nat.burst.packets, 1);
  EXPECT_EQ(nat.peer_host, "127.0.0.1");
  EXPECT_EQ(nat.peer_port, 3479);
  EXPECT_EQ(nat.peer_password, "");  // a stun peer has no credentials
  const probes::ProbeTarget& relay = planned[3].target;
  EXPECT_EQ(relay.peer_host, "127.0.0.2");
  EXPECT_EQ(relay.peer_port, 3478);
  EXPECT_EQ(relay.peer_username, "peer-user");
  EXPECT_EQ(relay.peer_password, "peer-secret");
  EXPECT_EQ(relay.peer_name, "turn-fra");  // for errors: "allocation B (peer turn-fra): ..."
  EXPECT_TRUE(planned[0].target.peer_host.empty());
}

}  // namespace
}  // namespace mediapath::agent
