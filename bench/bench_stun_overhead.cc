// bench_stun_overhead: what the agent's STUN probe on the libuv loop adds to a loopback RTT.
//
// Baseline: a minimal blocking client (sendto, then recvfrom) built with the same libnice calls
// the probe uses, against the same local responder, in the same run. The two alternate in
// blocks of `--block` samples so that a change in machine load hits both alike. Each sample is
// one Binding request/response; requests are `--spacing-ms` apart in both (the probe sends them
// as one burst per block). Method and figures: bench/README.md.
extern "C" {
#include <stun/stunagent.h>
#include <stun/usages/bind.h>
}

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "bench/bench_support.h"
#include "net/clock.h"
#include "net/event_loop.h"
#include "probes/probe_resources.h"
#include "probes/stun_probe.h"
#include "tests/support/probe_kit.h"

namespace bench = mediapath::bench;
namespace net = mediapath::net;
namespace probes = mediapath::probes;
using Steady = std::chrono::steady_clock;

namespace {

double msBetween(Steady::time_point a, Steady::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

class BlockingClient {
 public:
  explicit BlockingClient(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    to_.sin_family = AF_INET;
    to_.sin_port = htons(port);
    to_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    stun_agent_init(&agent_, STUN_ALL_KNOWN_ATTRIBUTES, STUN_COMPATIBILITY_RFC5389,
                    STUN_AGENT_USAGE_USE_FINGERPRINT);
  }
  ~BlockingClient() { ::close(fd_); }

  /// One request/response; the RTT in ms, or nullopt on timeout or an invalid reply.
  std::optional<double> once() {
    std::uint8_t req[512];
    StunMessage msg{};
    std::size_t len = stun_usage_bind_create(&agent_, &msg, req, sizeof req);
    auto t0 = Steady::now();
    if (::sendto(fd_, req, len, 0, reinterpret_cast<sockaddr*>(&to_), sizeof to_) < 0) {
      return std::nullopt;
    }
    std::uint8_t resp[1500];
    sockaddr_storage from{};
    socklen_t from_len = sizeof from;
    ssize_t n =
        ::recvfrom(fd_, resp, sizeof resp, 0, reinterpret_cast<sockaddr*>(&from), &from_len);
    auto t1 = Steady::now();
    if (n <= 0) {
      StunTransactionId id;
      stun_message_id(&msg, id);
      stun_agent_forget_transaction(&agent_, id);  // keep the agent's 200-entry table free
      return std::nullopt;
    }
    StunMessage reply{};
    if (stun_agent_validate(&agent_, &reply, resp, static_cast<std::size_t>(n), nullptr, nullptr) !=
        STUN_VALIDATION_SUCCESS) {
      return std::nullopt;
    }
    sockaddr_storage mapped{};
    socklen_t mapped_len = sizeof mapped;
    sockaddr_storage alt{};
    socklen_t alt_len = sizeof alt;
    if (stun_usage_bind_process(&reply, reinterpret_cast<sockaddr*>(&mapped), &mapped_len,
                                reinterpret_cast<sockaddr*>(&alt),
                                &alt_len) != STUN_USAGE_BIND_RETURN_SUCCESS) {
      return std::nullopt;
    }
    return msBetween(t0, t1);
  }

 private:
  int fd_ = -1;
  sockaddr_in to_{};
  StunAgent agent_{};
};

void printRow(const char* name, const std::vector<double>& ms) {
  std::printf("  %-22s %8.1f %8.1f %8.1f %8.1f   (%zu samples)\n", name,
              bench::percentile(ms, 50) * 1000, bench::percentile(ms, 90) * 1000,
              bench::percentile(ms, 99) * 1000, bench::percentile(ms, 100) * 1000, ms.size());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Agent STUN probe RTT overhead vs a blocking client, on loopback"};
  int samples = 2000;
  int block = 100;
  int spacing_ms = 1;
  std::string responder;
  bool loop_timing = false;
  app.add_option("--samples", samples, "samples per method")->capture_default_str();
  app.add_option("--block", block, "samples per alternating block (probe burst size, <= 150)")
      ->capture_default_str();
  app.add_option("--spacing-ms", spacing_ms, "time between requests")->capture_default_str();
  app.add_option("--responder", responder,
                 "existing STUN server PORT on 127.0.0.1 (default: start bench_stun_responder)");
  app.add_flag("--loop-timing", loop_timing,
               "time the agent's replies by the loop, not by kernel receive stamps (as before "
               "them)");
  CLI11_PARSE(app, argc, argv);
  block = std::clamp(block, 1, 150);  // the probe's STUN agent tracks at most 200 transactions

  std::string dir = bench::makeTempDir("bench-stun-overhead");
  std::unique_ptr<bench::Child> child;
  std::uint16_t port = 0;
  if (responder.empty()) {
    child = std::make_unique<bench::Child>(
        std::vector<std::string>{bench::responderBinary(), "--port-file", dir + "/port"},
        dir + "/responder.log");
    port = bench::waitForPortFile(dir + "/port", std::chrono::seconds(10));
  } else {
    port = static_cast<std::uint16_t>(std::stoi(responder));
  }
  if (port == 0) {
    std::fprintf(stderr, "bench_stun_overhead: the responder did not start (see %s)\n",
                 dir.c_str());
    return 1;
  }

  mediapath::testing::ProbeKit kit;
  mediapath::testing::LoopTimedClock loop_clock;
  probes::ProbeContext context = kit.context();
  if (loop_timing) context.clock = &loop_clock;
  auto probe = probes::makeStunProbe(context);
  probes::ProbeTarget target;
  target.name = "bench";
  target.host = "127.0.0.1";
  target.port = port;
  target.timeout = std::chrono::milliseconds(1000);
  target.burst = {block, std::chrono::milliseconds(spacing_ms)};

  BlockingClient baseline_client(port);
  std::vector<double> baseline;
  std::vector<double> agent;
  int baseline_failures = 0;
  int agent_failures = 0;

  // Warm-up: first packets pay for page faults, ARP-less route lookups, cache misses.
  for (int i = 0; i < 50; ++i) baseline_client.once();

  while (static_cast<int>(agent.size()) < samples) {
    for (int i = 0; i < block; ++i) {
      auto t0 = Steady::now();
      if (auto rtt = baseline_client.once()) {
        baseline.push_back(*rtt);
      } else {
        ++baseline_failures;
      }
      std::this_thread::sleep_until(t0 + std::chrono::milliseconds(spacing_ms));
    }
    bool done = false;
    probe->start(target, [&](probes::ProbeResult r) {
      agent.insert(agent.end(), r.rtt_samples_ms.begin(), r.rtt_samples_ms.end());
      agent_failures += r.sent - r.received;
      done = true;
    });
    while (!done) uv_run(kit.loop.get(), UV_RUN_ONCE);
  }
  probe.reset();

  double b50 = bench::percentile(baseline, 50) * 1000;
  double a50 = bench::percentile(agent, 50) * 1000;
  std::printf(
      "bench_stun_overhead: loopback STUN Binding RTT, %d requests %d ms apart per method\n",
      samples, spacing_ms);
  std::printf("  %-22s %8s %8s %8s %8s\n", "", "p50 us", "p90 us", "p99 us", "max us");
  printRow("baseline (blocking)", baseline);
  printRow("agent (stun probe)", agent);
  std::printf("  overhead p50: %+.1f us (agent/baseline p50 = %.2f), target <= +20 us: %s\n",
              a50 - b50, a50 / b50, a50 - b50 <= 20 ? "PASS" : "FAIL");
  std::printf("  failures: baseline %d, agent %d\n", baseline_failures, agent_failures);
  std::printf(
      "{\"bench\":\"stun_overhead\",\"baseline_p50_us\":%.1f,\"agent_p50_us\":%.1f,"
      "\"overhead_p50_us\":%.1f,\"ratio_p50\":%.3f,\"baseline_p99_us\":%.1f,"
      "\"agent_p99_us\":%.1f}\n",
      b50, a50, a50 - b50, a50 / b50, bench::percentile(baseline, 99) * 1000,
      bench::percentile(agent, 99) * 1000);
  return 0;
}
