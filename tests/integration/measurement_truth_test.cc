// Measurement truth: the agent's STUN probe, through the impairment relay, against a real coturn.
// What the probe reports (mean RTT, loss, jitter) must agree with what the relay logged it
// applied — the relay is the ground truth, computed independently of the probe's own code.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "net/clock.h"
#include "net/event_loop.h"
#include "probes/probe_resources.h"
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

TEST(MeasurementTruth, StunProbeThroughRelayMatchesAppliedImpairment) {
  TempDir tmp;
  Coturn::Options coturn_options;
  coturn_options.verbose = false;  // no per-request log line on coturn's path
  Coturn coturn(tmp, coturn_options);
  const std::uint16_t coturn_port = coturn.port();

  Subprocess relay({MEDIAPATH_RELAY_BINARY,
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
                    "0.10",
                    "--down-delay",
                    "20ms",
                    "--down-jitter",
                    "5ms",
                    "--down-loss",
                    "0.10",
                    "--log",
                    tmp.file("relay.jsonl")},
                   tmp.file("relay.out"));
  std::uint16_t relay_port = readPort(tmp.file("port"), 10s);
  ASSERT_NE(relay_port, 0) << relay.log();

  testing::ProbeKit kit;
  auto probe = probes::makeStunProbe(kit.context());
  probes::ProbeTarget target;
  target.name = "stun-through-relay";
  target.kind = probes::Kind::kStun;
  target.host = "127.0.0.1";
  target.port = relay_port;
  target.timeout = 250ms;  // well above the largest possible RTT (2 x 25 ms + processing)
  target.burst = {10, 20ms};

  // 25 rounds of 10 requests: 250 STUN packets, about 10 s. One Probe object throughout, as the
  // scheduler uses it, so its jitter estimate carries across rounds.
  constexpr int kRounds = 25;
  std::vector<probes::ProbeResult> results;
  for (int round = 0; round < kRounds; ++round) {
    bool done = false;
    probe->start(target, [&](probes::ProbeResult r) {
      results.push_back(std::move(r));
      done = true;
    });
    auto deadline = Steady::now() + 5s;
    while (!done && Steady::now() < deadline) uv_run(kit.loop.get(), UV_RUN_ONCE);
    ASSERT_TRUE(done) << "round " << round << " did not finish";
  }
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

}  // namespace
}  // namespace mediapath::testing
