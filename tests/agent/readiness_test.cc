#include "agent/service/readiness.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "probes/quality.h"

namespace mediapath::agent {
namespace {

using probes::Kind;
using probes::Transport;

probes::ProbeTarget target(const std::string& name, Kind kind,
                           Transport transport = Transport::kUdp) {
  probes::ProbeTarget t;
  t.name = name;
  t.kind = kind;
  t.transport = transport;
  return t;
}

probes::ProbeResult burst(const std::string& name, std::vector<double> rtts, int sent,
                          double jitter) {
  probes::ProbeResult r;
  r.target = name;
  r.kind = Kind::kStun;
  r.ok = !rtts.empty();
  if (!r.ok) r.error = "timeout after 2s (0/5 replies)";
  r.sent = sent;
  r.received = static_cast<int>(rtts.size());
  r.rtt_samples_ms = std::move(rtts);
  r.jitter_ms = jitter;
  return r;
}

const ReadinessCheck* find(const std::vector<ReadinessCheck>& checks, const std::string& check,
                           const std::string& target) {
  for (const auto& c : checks) {
    if (c.check == check && c.target == target) return &c;
  }
  return nullptr;
}

const auto kNow = std::chrono::system_clock::time_point{};

TEST(Readiness, FiguresOverAllRoundsAgainstTheirThresholds) {
  ReadinessTally tally(ReadinessConfig{});
  tally.addTarget(target("stun-a", Kind::kStun));
  tally.add(burst("stun-a", {10, 20, 30, 40, 50}, 5, 4.0));
  tally.add(burst("stun-a", {60, 70, 80, 90}, 5, 8.0));  // one of ten lost
  auto checks = tally.checks(kNow);

  const auto* reach = find(checks, "reachable", "stun-a");
  ASSERT_NE(reach, nullptr);
  EXPECT_EQ(reach->result, Verdict::kPass);
  EXPECT_EQ(reach->figure, "2/2 rounds ok");

  const auto* rtt = find(checks, "rtt", "stun-a");
  ASSERT_NE(rtt, nullptr);
  EXPECT_DOUBLE_EQ(*rtt->value, 50.0);  // the mean of all nine replies, not of the round means
  EXPECT_EQ(rtt->result, Verdict::kPass);
  EXPECT_EQ(rtt->threshold, "< 100ms");

  const auto* loss = find(checks, "loss", "stun-a");
  ASSERT_NE(loss, nullptr);
  EXPECT_DOUBLE_EQ(*loss->value, 10.0);
  EXPECT_EQ(loss->result, Verdict::kFail);  // 10% against < 1%
  EXPECT_EQ(loss->figure, "10.00% (1/10 lost)");

  const auto* jitter = find(checks, "jitter", "stun-a");
  ASSERT_NE(jitter, nullptr);
  EXPECT_DOUBLE_EQ(*jitter->value, 6.0);
  EXPECT_EQ(jitter->result, Verdict::kPass);

  // MOS from the run's figures, not a mean of per-round scores.
  const auto* mos = find(checks, "mos", "stun-a");
  ASSERT_NE(mos, nullptr);
  EXPECT_DOUBLE_EQ(*mos->value, probes::estimateMos(50.0, 6.0, 0.1));
  EXPECT_EQ(overall(checks), Verdict::kFail);
}

TEST(Readiness, ThresholdsComeFromTheConfig) {
  ReadinessConfig config;
  config.max_rtt = Duration(40);
  config.max_loss = 0.2;
  ReadinessTally tally(config);
  tally.addTarget(target("stun-a", Kind::kStun));
  tally.add(burst("stun-a", {50, 50, 50, 50}, 5, 1.0));
  auto checks = tally.checks(kNow);
  EXPECT_EQ(find(checks, "rtt", "stun-a")->result, Verdict::kFail);
  EXPECT_EQ(find(checks, "rtt", "stun-a")->figure, "50.0 ms");
  EXPECT_EQ(find(checks, "loss", "stun-a")->result, Verdict::kFail);  // 20% is not < 20%
}

TEST(Readiness, AnUnreachableTargetFailsAndAFlakyOneWarns) {
  ReadinessTally tally(ReadinessConfig{});
  tally.addTarget(target("dead", Kind::kStun));
  tally.addTarget(target("flaky", Kind::kStun));
  tally.add(burst("dead", {}, 5, 0));
  tally.add(burst("flaky", {}, 5, 0));
  tally.add(burst("flaky", {1, 1, 1, 1, 1}, 5, 0));
  auto checks = tally.checks(kNow);
  const auto* dead = find(checks, "reachable", "dead");
  ASSERT_NE(dead, nullptr);
  EXPECT_EQ(dead->result, Verdict::kFail);
  EXPECT_EQ(dead->figure, "0/1 rounds ok; last error: timeout after 2s (0/5 replies)");
  EXPECT_EQ(find(checks, "rtt", "dead"), nullptr);  // nothing measured, nothing judged
  EXPECT_EQ(find(checks, "reachable", "flaky")->result, Verdict::kWarn);
}

TEST(Readiness, RelayLossIsTheWorseDirectionAndReorderIsJudged) {
  ReadinessTally tally(ReadinessConfig{});
  tally.addTarget(target("loop", Kind::kRelay));
  probes::ProbeResult r;
  r.target = "loop";
  r.kind = Kind::kRelay;
  r.ok = true;
  r.sent = 100;
  r.received = 96;   // 98 reached B, 96 came back: b>a lost 2 of 98
  r.loss_ab = 0.02;  // 2 of 100
  r.reordered = 1;
  r.rtt_samples_ms = std::vector<double>(96, 20.0);
  r.jitter_ms = 1.0;
  r.relayed_address = "127.0.0.1:50000";
  tally.add(r);
  auto checks = tally.checks(kNow);
  const auto* loss = find(checks, "loss", "loop");
  ASSERT_NE(loss, nullptr);
  EXPECT_NEAR(*loss->value, 100.0 * 2.0 / 98.0, 1e-9);
  EXPECT_EQ(loss->figure, "2.04% (a>b 2.00%, b>a 2.04%)");
  const auto* reorder = find(checks, "reorder", "loop");
  ASSERT_NE(reorder, nullptr);
  EXPECT_NEAR(*reorder->value, 100.0 / 98.0, 1e-9);
  EXPECT_EQ(reorder->result, Verdict::kFail);  // 1.02% against < 0.05%
}

TEST(Readiness, RelayedAddressesMustLieInsideTheMediaBlocks) {
  ReadinessConfig config;
  config.media_cidrs = {"52.129.96.0/20", "2001:db8::/32"};
  ReadinessTally tally(config);
  tally.addTarget(target("turn-in", Kind::kTurn));
  tally.addTarget(target("turn-out", Kind::kTurn));
  probes::ProbeResult in;
  in.target = "turn-in";
  in.kind = Kind::kTurn;
  in.ok = true;
  in.relayed_address = "52.129.100.7:49152";
  tally.add(in);
  probes::ProbeResult out = in;
  out.target = "turn-out";
  out.relayed_address = "52.129.112.1:49152";  // just past the /20
  tally.add(out);
  auto checks = tally.checks(kNow);
  EXPECT_EQ(find(checks, "relayed address", "turn-in")->result, Verdict::kPass);
  const auto* bad = find(checks, "relayed address", "turn-out");
  EXPECT_EQ(bad->result, Verdict::kFail);
  EXPECT_EQ(bad->figure, "outside: 52.129.112.1");
  EXPECT_EQ(find(checks, "rtt", "turn-in"), nullptr);  // an allocation time is not a path RTT

  ReadinessTally unset(ReadinessConfig{});
  unset.addTarget(target("turn-in", Kind::kTurn));
  unset.add(in);
  EXPECT_EQ(find(unset.checks(kNow), "relayed address", "turn-in")->result, Verdict::kWarn);
}

TEST(Readiness, RelayWithAPeerHasBothRelayedAddressesChecked) {
  ReadinessConfig config;
  config.media_cidrs = {"52.129.96.0/20"};
  ReadinessTally tally(config);
  tally.addTarget(target("loop", Kind::kRelay));
  probes::ProbeResult r;
  r.target = "loop";
  r.kind = Kind::kRelay;
  r.ok = true;
  r.relayed_address = "52.129.100.7:49152";    // A, on the target's server: inside
  r.relayed_address_b = "198.51.100.9:50000";  // B, on the peer's server: outside
  tally.add(r);
  auto checks = tally.checks(kNow);
  const auto* check = find(checks, "relayed address", "loop");
  ASSERT_NE(check, nullptr);
  EXPECT_EQ(check->result, Verdict::kFail);
  EXPECT_EQ(check->figure, "outside: 198.51.100.9");
}

TEST(Readiness, EachTurnTransportMustBeReachableSomewhere) {
  ReadinessTally tally(ReadinessConfig{});
  tally.addTarget(target("turn-udp", Kind::kTurn));
  tally.addTarget(target("loop-tcp", Kind::kRelay, Transport::kTcp));
  probes::ProbeResult ok;
  ok.target = "turn-udp";
  ok.kind = Kind::kTurn;
  ok.ok = true;
  tally.add(ok);
  probes::ProbeResult failed;
  failed.target = "loop-tcp";
  failed.kind = Kind::kRelay;
  failed.error = "TURN 401 Unauthorized (check username/password_env)";
  tally.add(failed);
  auto checks = tally.checks(kNow);
  EXPECT_EQ(find(checks, "turn over udp", "")->result, Verdict::kPass);
  EXPECT_EQ(find(checks, "turn over udp", "")->figure, "reachable: turn-udp");
  EXPECT_EQ(find(checks, "turn over tcp", "")->result, Verdict::kFail);
  EXPECT_EQ(overall(checks), Verdict::kFail);
}

TEST(Readiness, SipOverTcpHasAnRttButNoPathQuality) {
  ReadinessTally tally(ReadinessConfig{});
  tally.addTarget(target("proxy-tcp", Kind::kSip, Transport::kTcp));
  probes::ProbeResult r;
  r.target = "proxy-tcp";
  r.kind = Kind::kSip;
  r.ok = true;
  r.sent = 1;
  r.received = 1;
  r.rtt_samples_ms = {3.0};
  tally.add(r);
  auto checks = tally.checks(kNow);
  ASSERT_NE(find(checks, "rtt", "proxy-tcp"), nullptr);
  EXPECT_EQ(find(checks, "loss", "proxy-tcp"), nullptr);
  EXPECT_EQ(find(checks, "mos", "proxy-tcp"), nullptr);
}

TEST(Readiness, NatMappingMustBeEndpointIndependent) {
  ReadinessTally tally(ReadinessConfig{});
  for (const char* name : {"nat-eim", "nat-sym", "nat-unknown"}) {
    tally.addTarget(target(name, Kind::kNat));
  }
  auto nat = [](const std::string& name, const std::string& mapping) {
    probes::ProbeResult r;
    r.target = name;
    r.kind = Kind::kNat;
    r.ok = true;
    r.nat_mapping = mapping;
    r.nat_filtering = "address-and-port-dependent";
    r.hairpinning = false;
    return r;
  };
  tally.add(nat("nat-eim", "endpoint-independent"));
  tally.add(nat("nat-sym", "address-and-port-dependent"));
  tally.add(nat("nat-unknown", "unknown"));
  auto checks = tally.checks(kNow);
  const auto* eim = find(checks, "nat mapping", "nat-eim");
  ASSERT_NE(eim, nullptr);
  EXPECT_EQ(eim->result, Verdict::kPass);
  EXPECT_EQ(eim->figure,
            "endpoint-independent (filtering address-and-port-dependent, hairpinning no)");
  EXPECT_EQ(find(checks, "nat mapping", "nat-sym")->result, Verdict::kFail);
  EXPECT_EQ(find(checks, "nat mapping", "nat-unknown")->result, Verdict::kWarn);
}

TEST(Readiness, TlsCertificatesMustStayValidLongEnough) {
  using std::chrono::hours;
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
  ReadinessTally tally(ReadinessConfig{});
  tally.addTarget(target("proxy-tls", Kind::kSip, Transport::kTls));
  tally.addTarget(target("turn-tls", Kind::kTurn, Transport::kTls));
  probes::ProbeResult sip;
  sip.target = "proxy-tls";
  sip.kind = Kind::kSip;
  sip.ok = true;
  sip.cert_not_after = now + hours(24 * 30);
  tally.add(sip);
  sip.cert_not_after = now + hours(24 * 20);  // the earliest seen counts
  tally.add(sip);
  probes::ProbeResult turn;
  turn.target = "turn-tls";
  turn.kind = Kind::kTurn;
  turn.ok = true;
  turn.cert_not_after = now + hours(24 * 13);
  tally.add(turn);
  auto checks = tally.checks(now);
  const auto* good = find(checks, "certificate", "proxy-tls");
  ASSERT_NE(good, nullptr);
  EXPECT_EQ(good->result, Verdict::kPass);
  EXPECT_DOUBLE_EQ(*good->value, 20.0);
  EXPECT_EQ(good->threshold, ">= 14 days");
  const auto* soon = find(checks, "certificate", "turn-tls");
  ASSERT_NE(soon, nullptr);
  EXPECT_EQ(soon->result, Verdict::kFail);
  EXPECT_NE(soon->figure.find("(13.0 days)"), std::string::npos) << soon->figure;
  EXPECT_EQ(find(checks, "turn over tls", "")->result, Verdict::kPass);
}

TEST(Readiness, InsideCidr) {
  EXPECT_TRUE(insideCidr("10.1.2.3:5060", "10.0.0.0/8"));
  EXPECT_TRUE(insideCidr("10.1.2.3", "10.1.2.3/32"));
  EXPECT_FALSE(insideCidr("11.0.0.1:1", "10.0.0.0/8"));
  EXPECT_TRUE(insideCidr("[2001:db8::1]:3478", "2001:db8::/32"));
  EXPECT_FALSE(insideCidr("[2001:db9::1]:3478", "2001:db8::/32"));
  EXPECT_FALSE(insideCidr("10.0.0.1:1", "2001:db8::/32"));  // families never match
  EXPECT_TRUE(insideCidr("1.2.3.4:5", "0.0.0.0/0"));
  EXPECT_FALSE(insideCidr("not-an-ip", "0.0.0.0/0"));
}

TEST(Readiness, VerdictIsTheWorstCheck) {
  std::vector<ReadinessCheck> checks(3);
  EXPECT_EQ(overall(checks), Verdict::kPass);
  checks[1].result = Verdict::kWarn;
  EXPECT_EQ(overall(checks), Verdict::kWarn);
  checks[2].result = Verdict::kFail;
  EXPECT_EQ(overall(checks), Verdict::kFail);
  EXPECT_EQ(verdictName(Verdict::kWarn), "WARN");
}

}  // namespace
}  // namespace mediapath::agent
