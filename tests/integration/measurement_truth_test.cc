// Measurement truth: the agent's STUN probe, through the impairment relay, against a real coturn.
// What the probe reports (mean RTT, loss, jitter) must agree with what the relay logged it
// applied — the relay is the ground truth, computed independently of the probe's own code.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "net/clock.h"
#include "net/event_loop.h"
#include "probes/probe_resources.h"
#include "probes/relay_probe.h"
#include "probes/stun_probe.h"
#include "tests/support/peers.h"
#include "tests/support/probe_kit.h"
#include "tests/support/process.h"
#include "tests/tools/relay_log.h"
#include "tools/impairment_relay/impairment_model.h"

namespace mediapath::testing {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

// The impairment relay in front of `coturn_port`, 20 ms ± 5 ms and `loss` each way, logging to
// relay.jsonl in `tmp`. `extra` adds options (e.g. --no-reorder).
std::vector<std::string> relayArgs(const TempDir& tmp, std::uint16_t coturn_port,
                                   const std::string& loss, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{MEDIAPATH_RELAY_BINARY,
                                "--listen",
                                "127.0.0.1:0",
                                "--upstream",
                                "127.0.0.1:" + std::to_string(coturn_port),
                                "--port-file",
                                tmp.file("port"),
                                "--seed",
                                "20261128",
                                "--up-delay",
                                "20ms",
                                "--up-jitter",
                                "5ms",
                                "--up-loss",
                                loss,
                                "--down-delay",
                                "20ms",
                                "--down-jitter",
                                "5ms",
                                "--down-loss",
                                loss,
                                "--log",
                                tmp.file("relay.jsonl")};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

std::uint16_t readPort(const std::string& path, std::chrono::milliseconds timeout) {
  auto deadline = Steady::now() + timeout;
  while (Steady::now() < deadline) {
    std::ifstream in(path);
    unsigned port = 0;
    if (in >> port && port != 0) return static_cast<std::uint16_t>(port);
    std::this_thread::sleep_for(20ms);
  }
  return 0;
}

// A quiet coturn (no per-request log line on its path) behind the impairment relay; `port` is
// where clients send (0 when the relay did not come up).
struct ImpairedCoturn {
  explicit ImpairedCoturn(const std::string& loss, std::vector<std::string> extra = {})
      : coturn(tmp, quiet()),
        relay(relayArgs(tmp, coturn.port(), loss, std::move(extra)), tmp.file("relay.out")),
        port(readPort(tmp.file("port"), 10s)) {}
  /// A target that sends through the relay, with coturn's credentials.
  probes::ProbeTarget target(probes::Kind kind, std::string name) const {
    probes::ProbeTarget t;
    t.name = std::move(name);
    t.kind = kind;
    t.host = "127.0.0.1";
    t.port = port;
    t.username = coturn.options().user;
    t.password = coturn.options().password;
    return t;
  }
  static Coturn::Options quiet() {
    Coturn::Options options;
    options.verbose = false;
    return options;
  }
  TempDir tmp;
  Coturn coturn;
  Subprocess relay;
  std::uint16_t port;
};

// `rounds` rounds of one Probe object, back to back, as the scheduler runs it (state such as a
// jitter estimate carries across rounds). Stops early, with fewer results, when a round does not
// report within `limit`.
std::vector<probes::ProbeResult> runRounds(ProbeKit& kit, probes::Probe& probe,
                                           const probes::ProbeTarget& target, int rounds,
                                           std::chrono::milliseconds limit) {
  std::vector<probes::ProbeResult> results;
  for (int round = 0; round < rounds; ++round) {
    bool done = false;
    probe.start(target, [&](probes::ProbeResult r) {
      results.push_back(std::move(r));
      done = true;
    });
    auto deadline = Steady::now() + limit;
    while (!done && Steady::now() < deadline) uv_run(kit.loop.get(), UV_RUN_ONCE);
    if (!done) {
      probe.cancel();
      ADD_FAILURE() << "round " << round << " did not finish";
      break;
    }
  }
  return results;
}

TEST(MeasurementTruth, StunProbeThroughRelayMatchesAppliedImpairment) {
  ImpairedCoturn peer("0.10");
  auto& tmp = peer.tmp;
  auto& relay = peer.relay;
  ASSERT_NE(peer.port, 0) << relay.log();

  testing::ProbeKit kit;
  auto probe = probes::makeStunProbe(kit.context());
  probes::ProbeTarget target = peer.target(probes::Kind::kStun, "stun-through-relay");
  target.timeout = 250ms;  // well above the largest possible RTT (2 x 25 ms + processing)
  target.burst = {10, 20ms};

  // 25 rounds of 10 requests: 250 STUN packets, about 10 s. One Probe object throughout, as the
  // scheduler uses it, so its jitter estimate carries across rounds.
  constexpr int kRounds = 25;
  std::vector<probes::ProbeResult> results = runRounds(kit, *probe, target, kRounds, 5s);
  ASSERT_EQ(results.size(), static_cast<std::size_t>(kRounds));
  probe.reset();
  relay.signal(SIGTERM);
  ASSERT_EQ(relay.wait(5s), 0) << relay.log();
  EXPECT_EQ(kit.loop.close(), 0);

  // What the probe reported.
  int sent = 0;
  int received = 0;
  std::vector<double> samples;
  for (const auto& r : results) {
    sent += r.sent;
    received += r.received;
    samples.insert(samples.end(), r.rtt_samples_ms.begin(), r.rtt_samples_ms.end());
    EXPECT_EQ(r.rtt_samples_ms.size(), static_cast<std::size_t>(r.received));
  }
  ASSERT_EQ(sent, kRounds * 10);
  ASSERT_TRUE(results.back().jitter_ms.has_value());
  double probe_mean =
      std::accumulate(samples.begin(), samples.end(), 0.0) / static_cast<double>(samples.size());
  double probe_loss = 1.0 - static_cast<double>(received) / sent;
  double probe_jitter = *results.back().jitter_ms;

  // What the relay applied: every request it saw, and the round trips that completed.
  auto log = readRelayLog(tmp.file("relay.jsonl"));
  int requests = 0;
  for (const auto& e : log) requests += e.dir == "up" && !e.stun_tid.empty() ? 1 : 0;
  ASSERT_EQ(requests, sent) << "every request crossed the relay once";
  auto trips = roundTrips(log);
  ASSERT_GT(trips.size(), 150u);
  double applied_mean = 0;
  double planned_mean = 0;
  tools::relay::JitterEstimator applied_jitter;  // the relay's own RFC 3550 implementation
  for (const auto& t : trips) {
    applied_mean += t.total();
    planned_mean += t.planned_ms;
    applied_jitter.add(t.total());
  }
  applied_mean /= static_cast<double>(trips.size());
  planned_mean /= static_cast<double>(trips.size());
  double applied_loss = 1.0 - static_cast<double>(trips.size()) / requests;

  std::printf("probe: mean %.3f ms, loss %.3f, jitter %.3f ms (%d/%d replies)\n", probe_mean,
              probe_loss, probe_jitter, received, sent);
  std::printf("relay: mean %.3f ms (planned %.3f), loss %.3f, jitter %.3f ms (%zu round trips)\n",
              applied_mean, planned_mean, applied_loss, applied_jitter.value(), trips.size());

  EXPECT_EQ(static_cast<std::size_t>(received), trips.size());
  EXPECT_NEAR(probe_mean, applied_mean, 2.0);
  EXPECT_GT(probe_mean, applied_mean);  // the probe also sees transport and coturn's own time
  EXPECT_NEAR(probe_loss, applied_loss, 0.05);
  // The configured impairment really happened: ~19% of round trips lose a leg, holds ~40 ms.
  EXPECT_NEAR(applied_loss, 1 - 0.9 * 0.9, 0.08);
  EXPECT_NEAR(planned_mean, 40.0, 1.5);   // 5 sigma of the mean of ~200 sums of two U(+-5 ms)
  EXPECT_GE(applied_mean, planned_mean);  // holds overrun (wake-ups), never run short
  EXPECT_NEAR(probe_jitter, applied_jitter.value(), 0.25 * applied_jitter.value());
  EXPECT_GT(applied_jitter.value(), 1.0);  // 2 x U(-5,5) ms: jitter is far from zero
}

// The relay loop's stream as the impairment relay saw it: per allocation pair (one round), each
// direction's ChannelData packets in the order the relay received them.
struct RelayRoundTruth {
  int sent = 0;       // A's stream packets that reached the impairment relay
  int reached_b = 0;  // of those, delivered to B (neither A's up leg nor B's down leg dropped)
  int back_at_a = 0;  // of B's reflections, delivered to A
  std::vector<double> one_way;          // applied holds A up + B down, in B's arrival order
  std::vector<double> rtt;              // + B up + A down, for packets that came back
  std::vector<double> planned_one_way;  // the drawn holds (one_way adds the relay's overrun)
  double jitter = 0;                    // RFC 3550 §A.8 over one_way, computed here
};

TEST(MeasurementTruth, RelayLoopThroughImpairmentMatchesAppliedImpairment) {
  // --no-reorder keeps each flow FIFO, so the n-th packet delivered on one leg is the n-th sent
  // on the next: the log pairs up without payload inspection.
  ImpairedCoturn peer("0.05", {"--no-reorder"});
  ASSERT_NE(peer.port, 0) << peer.relay.log();

  testing::ProbeKit kit;
  auto probe = probes::makeRelayProbe(kit.context());
  probes::ProbeTarget target = peer.target(probes::Kind::kRelay, "relay-through-impairment");
  target.timeout = 2s;  // set-up messages lost on the way are sent again (RTO 500 ms)
  target.stream = {50, 172, 20ms};

  constexpr int kRounds = 4;
  std::vector<probes::ProbeResult> results = runRounds(kit, *probe, target, kRounds, 15s);
  ASSERT_EQ(results.size(), static_cast<std::size_t>(kRounds));
  for (const auto& r : results) ASSERT_TRUE(r.ok) << r.error << "\n" << peer.relay.log();
  probe.reset();
  peer.relay.signal(SIGTERM);
  ASSERT_EQ(peer.relay.wait(5s), 0) << peer.relay.log();
  EXPECT_EQ(kit.loop.close(), 0);

  // Each round's two allocations are two new client flows; A's first packet (its Allocate)
  // leaves before B's, so sorting flows by their first packet pairs them A, B, A, B, ...
  auto log = readRelayLog(peer.tmp.file("relay.jsonl"));
  std::map<std::string, std::uint64_t> first_up;
  for (const auto& e : log) {
    if (e.dir != "up") continue;
    auto [it, inserted] = first_up.emplace(e.client, e.seq);
    if (!inserted) it->second = std::min(it->second, e.seq);
  }
  std::vector<std::pair<std::uint64_t, std::string>> flows;
  for (const auto& [client, seq] : first_up) flows.emplace_back(seq, client);
  std::sort(flows.begin(), flows.end());
  ASSERT_EQ(flows.size(), 2u * kRounds);

  const std::size_t stream_bytes = 4 + 172;  // ChannelData header + payload
  auto packets = [&](const std::string& client, const std::string& dir) {
    std::vector<const RelayLogEntry*> out;
    for (const auto& e : log) {
      if (e.client == client && e.dir == dir && e.bytes == stream_bytes && e.stun_tid.empty()) {
        out.push_back(&e);
      }
    }
    std::sort(out.begin(), out.end(), [](auto* x, auto* y) { return x->seq < y->seq; });
    return out;
  };
  std::vector<RelayRoundTruth> truth;
  for (int round = 0; round < kRounds; ++round) {
    const std::string& a = flows[2 * round].second;
    const std::string& b = flows[2 * round + 1].second;
    auto a_up = packets(a, "up");
    auto b_down = packets(b, "down");
    auto b_up = packets(b, "up");
    auto a_down = packets(a, "down");
    RelayRoundTruth t;
    t.sent = static_cast<int>(a_up.size());
    // coturn forwards every packet it got; the relay decides B's fate on its down leg.
    std::vector<const RelayLogEntry*> a_up_delivered;
    for (auto* e : a_up) {
      if (!e->dropped) a_up_delivered.push_back(e);
    }
    ASSERT_EQ(b_down.size(), a_up_delivered.size()) << "round " << round;
    std::vector<double> one_way_delivered;
    for (std::size_t k = 0; k < b_down.size(); ++k) {
      if (b_down[k]->dropped) continue;
      one_way_delivered.push_back(a_up_delivered[k]->delay_ms + b_down[k]->delay_ms);
      t.planned_one_way.push_back(a_up_delivered[k]->planned_ms + b_down[k]->planned_ms);
    }
    t.reached_b = static_cast<int>(one_way_delivered.size());
    t.one_way = one_way_delivered;
    // B reflects each packet it received once; the relay decides their fate on both legs back.
    ASSERT_EQ(b_up.size(), one_way_delivered.size()) << "round " << round;
    std::vector<std::size_t> b_up_delivered;
    for (std::size_t k = 0; k < b_up.size(); ++k) {
      if (!b_up[k]->dropped) b_up_delivered.push_back(k);
    }
    ASSERT_EQ(a_down.size(), b_up_delivered.size()) << "round " << round;
    for (std::size_t m = 0; m < a_down.size(); ++m) {
      if (a_down[m]->dropped) continue;
      std::size_t k = b_up_delivered[m];
      t.rtt.push_back(one_way_delivered[k] + b_up[k]->delay_ms + a_down[m]->delay_ms);
    }
    t.back_at_a = static_cast<int>(t.rtt.size());
    for (std::size_t k = 1; k < t.one_way.size(); ++k) {
      t.jitter += (std::abs(t.one_way[k] - t.one_way[k - 1]) - t.jitter) / 16.0;
    }
    truth.push_back(std::move(t));
  }

  // Per round, the probe counted exactly what the relay delivered.
  double probe_one_way = 0, probe_rtt = 0, probe_jitter = 0;
  double applied_one_way = 0, applied_rtt = 0, applied_jitter = 0, planned_one_way = 0;
  int sent = 0, reached_b = 0, back = 0;
  for (int round = 0; round < kRounds; ++round) {
    const auto& r = results[round];
    const auto& t = truth[round];
    EXPECT_EQ(r.sent, 50);
    EXPECT_EQ(t.sent, 50) << "every stream packet crossed the relay once";
    ASSERT_TRUE(r.loss_ab && r.loss_ba && r.one_way && r.rtt && r.jitter_ms);
    EXPECT_EQ(std::lround(r.sent * (1.0 - *r.loss_ab)), t.reached_b) << "round " << round;
    EXPECT_EQ(r.received, t.back_at_a) << "round " << round;
    EXPECT_EQ(r.reordered, 0);  // FIFO legs
    EXPECT_EQ(r.duplicated, 0);
    probe_one_way += r.one_way->avg_ms * t.reached_b;
    probe_rtt += r.rtt->avg_ms * r.received;
    probe_jitter += *r.jitter_ms / kRounds;
    for (double v : t.one_way) applied_one_way += v;
    for (double v : t.planned_one_way) planned_one_way += v;
    for (double v : t.rtt) applied_rtt += v;
    applied_jitter += t.jitter / kRounds;
    sent += t.sent;
    reached_b += t.reached_b;
    back += t.back_at_a;
  }
  probe_one_way /= reached_b;
  applied_one_way /= reached_b;
  planned_one_way /= reached_b;
  probe_rtt /= back;
  applied_rtt /= back;
  double loss_ab = 1.0 - static_cast<double>(reached_b) / sent;
  double loss_ba = 1.0 - static_cast<double>(back) / reached_b;
  std::printf("probe: one-way %.3f ms, rtt %.3f ms, jitter %.3f ms\n", probe_one_way, probe_rtt,
              probe_jitter);
  std::printf(
      "relay: one-way %.3f ms (planned %.3f), rtt %.3f ms, jitter %.3f ms, loss a>b %.3f b>a "
      "%.3f (%d sent, %d reached B, %d back)\n",
      applied_one_way, planned_one_way, applied_rtt, applied_jitter, loss_ab, loss_ba, sent,
      reached_b, back);

  // The same tolerances as the STUN truth test: the probe also sees transport and coturn.
  EXPECT_NEAR(probe_one_way, applied_one_way, 2.0);
  EXPECT_GT(probe_one_way, applied_one_way);
  EXPECT_NEAR(probe_rtt, applied_rtt, 2.0);
  EXPECT_GT(probe_rtt, applied_rtt);
  EXPECT_NEAR(probe_jitter, applied_jitter, 0.25 * applied_jitter);
  // The configured impairment really happened: each direction crosses two 5 % legs, the drawn
  // holds are ~40 ms one way (5 sigma of the mean of ~180 sums of two U(+-5 ms)), the relay's
  // overrun only adds to them, and the jitter is far from zero.
  EXPECT_NEAR(loss_ab, 1 - 0.95 * 0.95, 0.07);
  EXPECT_NEAR(loss_ba, 1 - 0.95 * 0.95, 0.07);
  EXPECT_NEAR(planned_one_way, 40.0, 1.6);
  EXPECT_GE(applied_one_way, planned_one_way);
  EXPECT_GT(applied_jitter, 1.0);
}

}  // namespace
}  // namespace mediapath::testing
