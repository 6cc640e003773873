// bench_stun_scale: many STUN targets on one loop through the agent's scheduler.
//
// N targets (default 10,000) against one local responder, each probed every `--interval-ms`
// (one packet per round, or a burst) for `--seconds`. Reports the agent process's CPU (% of one
// core, steady state after a warm-up), RSS (now and peak), rounds skipped or cut off, and how
// late each round started against the scheduler's own grid. The responder runs as a separate
// process answering exactly the same packets: its CPU is the baseline measured in the same run.
// Method and figures: bench/README.md.
#include <uv.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "agent/service/file_limit.h"
#include "agent/service/scheduler.h"
#include "bench/bench_support.h"
#include "net/clock.h"
#include "net/event_loop.h"
#include "probes/probe_resources.h"
#include "probes/stun_probe.h"
#include "tests/support/probe_kit.h"

namespace bench = mediapath::bench;
namespace net = mediapath::net;
namespace probes = mediapath::probes;
namespace agent = mediapath::agent;
using Steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

/// Where each target's rounds should start: the scheduler's first start, then a fixed grid.
struct Grid {
  Steady::time_point first{};
  milliseconds interval{1000};
};

/// Start lateness in a fixed histogram (10 us buckets from -100 ms to +1 s, clamped at the
/// ends): a vector of every sample grew to 550,000 doubles in a 60 s run, and its reallocations
/// and pages were counted in the very CPU and RSS figures this program reports.
struct Lateness {
  static constexpr double kMinMs = -100.0;
  static constexpr double kBucketMs = 0.01;
  std::vector<std::uint32_t> buckets = std::vector<std::uint32_t>(110000, 0);
  std::size_t count = 0;
  double max_ms = 0;
  double min_ms = 0;  // negative: started before its grid point
  long over_50ms = 0;

  void add(double late_ms) {
    auto index = static_cast<long>(std::floor((late_ms - kMinMs) / kBucketMs));
    index = std::clamp(index, 0L, static_cast<long>(buckets.size()) - 1);
    ++buckets[static_cast<std::size_t>(index)];
    ++count;
    max_ms = std::max(max_ms, late_ms);
    min_ms = std::min(min_ms, late_ms);
    if (late_ms > 50) ++over_50ms;
  }
  /// The upper edge of the bucket holding the p-th percentile (resolution 10 us).
  double percentile(double p) const {
    if (count == 0) return 0;
    auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(count)));
    std::size_t seen = 0;
    for (std::size_t i = 0; i < buckets.size(); ++i) {
      seen += buckets[i];
      if (seen >= std::max<std::size_t>(rank, 1)) {
        return kMinMs + static_cast<double>(i + 1) * kBucketMs;
      }
    }
    return max_ms;
  }
};

/// Wraps the real STUN probe to time each start() against the target's grid point.
class TimedProbe final : public probes::Probe {
 public:
  TimedProbe(std::unique_ptr<probes::Probe> inner, const Grid* grid, Lateness* lateness,
             const bool* measuring)
      : inner_(std::move(inner)), grid_(grid), lateness_(lateness), measuring_(measuring) {}

  void start(const probes::ProbeTarget& target, probes::ProbeCallback callback) override {
    auto now = Steady::now();
    if (*measuring_) {
      // Against the nearest grid point: libuv arms timers from its cached, whole-millisecond
      // loop time, so a tick may fire a little before its point; that shows as negative.
      auto since = std::chrono::duration<double, std::milli>(now - grid_->first).count();
      double interval = static_cast<double>(grid_->interval.count());
      double late = since - std::max(0.0, std::round(since / interval)) * interval;
      lateness_->add(late);
    }
    inner_->start(target, std::move(callback));
  }
  void cancel() override { inner_->cancel(); }

 private:
  std::unique_ptr<probes::Probe> inner_;
  const Grid* grid_;
  Lateness* lateness_;
  const bool* measuring_;
};

double mib(std::uint64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"N STUN targets on one loop via the agent's scheduler, against a local responder"};
  int targets = 10000;
  int seconds = 60;
  int warmup = 5;
  int interval_ms = 1000;
  int packets = 1;
  int spacing_ms = 20;
  bool coturn = false;
  bool loop_timing = false;
  int granularity_ms =
      static_cast<int>(mediapath::agent::SchedulerOptions{}.start_granularity.count());
  app.add_option("--targets", targets)->capture_default_str();
  app.add_option("--seconds", seconds, "total run time")->capture_default_str();
  app.add_option("--warmup", warmup, "seconds excluded from CPU and lateness figures")
      ->capture_default_str();
  app.add_option("--interval-ms", interval_ms)->capture_default_str();
  app.add_option("--packets", packets, "burst packets per round")->capture_default_str();
  app.add_option("--spacing-ms", spacing_ms, "burst spacing")->capture_default_str();
  app.add_flag("--coturn", coturn, "answer with coturn instead of bench_stun_responder");
  app.add_flag("--loop-timing", loop_timing,
               "time replies by the loop, not by kernel receive stamps (the cost before them)");
  app.add_option("--granularity-ms", granularity_ms,
                 "the scheduler's start granularity (its default unless given)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  warmup = std::clamp(warmup, 0, std::max(0, seconds - 1));
  mediapath::agent::raiseOpenFileLimit();  // 10,000 kept sockets > the usual 1,024

  std::string dir = bench::makeTempDir("bench-stun-scale");
  std::unique_ptr<bench::Child> responder;
  std::uint16_t port = 0;
  if (coturn) {
    port = bench::freeUdpTcpPort();
    responder = std::make_unique<bench::Child>(bench::coturnArgv(port, dir, 49152, 49200),
                                               dir + "/responder.log");
    std::this_thread::sleep_for(std::chrono::seconds(2));  // coturn has no port file
  } else {
    responder = std::make_unique<bench::Child>(
        std::vector<std::string>{bench::responderBinary(), "--port-file", dir + "/port"},
        dir + "/responder.log");
    port = bench::waitForPortFile(dir + "/port", std::chrono::seconds(10));
  }
  if (port == 0 || !responder->running()) {
    std::fprintf(stderr, "bench_stun_scale: the responder did not start (see %s)\n", dir.c_str());
    return 1;
  }

  mediapath::testing::ProbeKit kit(7);
  net::EventLoop& loop = kit.loop;
  probes::ProbeContext context = kit.context();
  mediapath::testing::LoopTimedClock loop_clock;
  if (loop_timing) context.clock = &loop_clock;
  agent::UvTimerFactory timers(loop);
  std::vector<Grid> grids(static_cast<std::size_t>(targets));
  Lateness lateness;
  bool measuring = false;

  long results = 0;
  long ok = 0;
  long sent = 0;
  long received = 0;
  long measured_results = 0;
  auto factory = [&](const probes::ProbeTarget& t) -> std::unique_ptr<probes::Probe> {
    std::size_t index = std::stoul(t.name.substr(2));  // "t-<index>"
    return std::make_unique<TimedProbe>(probes::makeStunProbe(context), &grids[index], &lateness,
                                        &measuring);
  };
  auto on_result = [&](const probes::ProbeResult& r) {
    ++results;
    ok += r.ok ? 1 : 0;
    if (measuring) {
      ++measured_results;
      sent += r.sent;
      received += r.received;
    }
  };
  agent::SchedulerOptions options;
  options.start_granularity = std::chrono::milliseconds(std::max(1, granularity_ms));
  agent::Scheduler scheduler(timers, kit.clock, kit.random, factory, on_result, options);
  for (int i = 0; i < targets; ++i) {
    probes::ProbeTarget t;
    t.name = "t-" + std::to_string(i);
    t.kind = probes::Kind::kStun;
    t.host = "127.0.0.1";
    t.port = port;
    t.timeout = milliseconds(std::min(interval_ms / 2, 500));
    t.burst = {packets, milliseconds(spacing_ms)};
    scheduler.add(t, milliseconds(interval_ms));
  }
  scheduler.start();
  for (int i = 0; i < targets; ++i) {
    grids[static_cast<std::size_t>(i)] = {scheduler.nextStart("t-" + std::to_string(i)),
                                          milliseconds(interval_ms)};
  }

  // Phase timers: start measuring after the warm-up, stop the run at the end.
  double cpu_start = 0;
  double responder_cpu_start = 0;
  Steady::time_point wall_start;
  double cpu_used = 0;
  double responder_cpu_used = 0;
  double wall = 0;
  bench::runMeasured(
      loop, std::chrono::seconds(warmup), std::chrono::seconds(seconds),
      [&] {
        measuring = true;
        cpu_start = bench::cpuSeconds();
        responder_cpu_start = bench::cpuSeconds(responder->pid());
        wall_start = Steady::now();
      },
      [&] {
        cpu_used = bench::cpuSeconds() - cpu_start;
        responder_cpu_used = bench::cpuSeconds(responder->pid()) - responder_cpu_start;
        wall = std::chrono::duration<double>(Steady::now() - wall_start).count();
        measuring = false;
        scheduler.stop();
      });
  auto memory = bench::rss();

  std::uint64_t started = 0, completed = 0, timed_out = 0, skipped = 0;
  for (int i = 0; i < targets; ++i) {
    const auto* s = scheduler.stats("t-" + std::to_string(i));
    started += s->rounds_started;
    completed += s->rounds_completed;
    timed_out += s->rounds_timed_out;
    skipped += s->ticks_skipped;
  }
  double cpu_pct = 100.0 * cpu_used / wall;
  double responder_pct = 100.0 * responder_cpu_used / wall;
  double p50 = lateness.percentile(50);
  double p99 = lateness.percentile(99);
  // CPU per round: at 1 packet per round, one STUN probe.
  double us_per_round =
      measured_results > 0 ? cpu_used * 1e6 / static_cast<double>(measured_results) : 0;
  double loss = sent > 0 ? 1.0 - static_cast<double>(received) / static_cast<double>(sent) : 0;

  std::printf(
      "bench_stun_scale: %d STUN targets, interval %d ms, burst %d x %d ms, %d s (%d s warm-up) on "
      "one loop; responder: %s\n",
      targets, interval_ms, packets, spacing_ms, seconds, warmup,
      coturn ? "coturn" : "bench_stun_responder");
  std::printf(
      "  rounds: started %llu, completed %llu, ok results %ld/%ld, cut off %llu, ticks "
      "skipped %llu\n",
      static_cast<unsigned long long>(started), static_cast<unsigned long long>(completed), ok,
      results, static_cast<unsigned long long>(timed_out),
      static_cast<unsigned long long>(skipped));
  std::printf("  packets (measured window): sent %ld, received %ld, loss %.4f\n", sent, received,
              loss);
  std::printf(
      "  CPU over %.1f s: agent %.1f%% of one core; responder (baseline, same packets) "
      "%.1f%%; agent/responder = %.2f\n",
      wall, cpu_pct, responder_pct, cpu_pct / responder_pct);
  std::printf("  CPU per round: %.2f us (%ld rounds in the window)\n", us_per_round,
              measured_results);
  std::printf("  RSS: now %.1f MiB, peak %.1f MiB\n", mib(memory.current), mib(memory.peak));
  std::printf(
      "  start lateness vs grid: p50 %.2f ms, p99 %.2f ms, max %.2f ms, earliest %.2f ms, > 50 "
      "ms: %ld (of %zu)\n",
      p50, p99, lateness.max_ms, lateness.min_ms, lateness.over_50ms, lateness.count);
  std::printf(
      "  targets: CPU <= 10%%: %s; RSS <= 64 MiB: %s; none skipped: %s; none > 50 ms "
      "late: %s\n",
      cpu_pct <= 10 ? "PASS" : "FAIL", mib(memory.peak) <= 64 ? "PASS" : "FAIL",
      skipped == 0 && timed_out == 0 ? "PASS" : "FAIL", lateness.over_50ms == 0 ? "PASS" : "FAIL");
  std::printf(
      "{\"bench\":\"stun_scale\",\"targets\":%d,\"packets\":%d,\"responder\":\"%s\","
      "\"cpu_pct\":%.2f,\"responder_cpu_pct\":%.2f,\"cpu_ratio\":%.3f,\"rss_mib\":%.1f,"
      "\"rss_peak_mib\":%.1f,\"ticks_skipped\":%llu,\"rounds_cut_off\":%llu,"
      "\"lateness_p50_ms\":%.2f,\"lateness_p99_ms\":%.2f,\"lateness_max_ms\":%.2f,\"lateness_min_"
      "ms\":%.2f,"
      "\"late_over_50ms\":%ld,\"loss\":%.4f,\"us_per_round\":%.2f}\n",
      targets, packets, coturn ? "coturn" : "bench_stun_responder", cpu_pct, responder_pct,
      cpu_pct / responder_pct, mib(memory.current), mib(memory.peak),
      static_cast<unsigned long long>(skipped), static_cast<unsigned long long>(timed_out), p50,
      p99, lateness.max_ms, lateness.min_ms, lateness.over_50ms, loss, us_per_round);
  return 0;
}
