// bench_tcp_probe: CPU per TCP-connect probe of the agent, against two baselines in the same run.
//
// One loopback TCP peer (this program with --peer: accept, close) is probed at the same rate by
// - the agent: N `kind tcp` targets at a 1 s interval through agent::Scheduler with the
//   production UvTimerFactory and probes::makeTcpProbe on one loop, as bench_stun_scale does for
//   STUN (rate = N probes/s); CPU: this process's getrusage over the window;
// - a blocking loop: socket(), connect(), close() in this process, paced to the same rate;
//   CPU: getrusage over the window;
// - prometheus blackbox_exporter with a tcp_connect module, driven by GET /probe at the same
//   rate over keep-alive connections; CPU: the exporter's /proc/PID/stat only (not the driver's).
// Phases alternate (blocking, agent, exporter) `--cycles` times, so a change in the machine's load
// hits all three. Figures: µs of CPU per completed probe, and the agent's ratios to both
// baselines. Method and figures: bench/README.md.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "agent/service/file_limit.h"
#include "agent/service/scheduler.h"
#include "bench/bench_support.h"
#include "net/event_loop.h"
#include "probes/probe_resources.h"
#include "probes/tcp_probe.h"
#include "tests/support/probe_kit.h"

namespace bench = mediapath::bench;
namespace net = mediapath::net;
namespace probes = mediapath::probes;
namespace agent = mediapath::agent;
using Steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

double selfCpu() { return bench::cpuSeconds(); }

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

/// The peer: accepts and closes, nothing else. A separate process, so its CPU is in no figure.
int runPeer(const std::string& port_file) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a = loopback(0);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 4096) != 0) {
    std::perror("peer: bind/listen");
    return 1;
  }
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  {
    std::ofstream out(port_file + ".tmp");
    out << ntohs(a.sin_port) << "\n";
  }
  std::rename((port_file + ".tmp").c_str(), port_file.c_str());
  for (;;) {
    int c = ::accept(fd, nullptr, nullptr);
    if (c >= 0) ::close(c);
  }
}

struct Figure {
  double cpu_s = 0;
  long probes = 0;
  long failures = 0;
  double wall_s = 0;
  double usPerProbe() const { return probes > 0 ? cpu_s * 1e6 / static_cast<double>(probes) : 0; }
};

/// The agent's probes through its scheduler: `rate` targets at a 1 s interval.
Figure runAgent(mediapath::testing::ProbeKit& kit, std::uint16_t port, int rate, int seconds,
                milliseconds granularity, int warmup) {
  net::EventLoop& loop = kit.loop;
  probes::ProbeContext context = kit.context();
  agent::UvTimerFactory timers(loop);
  Figure f;
  bool measuring = false;
  auto factory = [&](const probes::ProbeTarget&) { return probes::makeTcpProbe(context); };
  auto on_result = [&](const probes::ProbeResult& r) {
    if (!measuring) return;
    ++f.probes;
    if (!r.ok) ++f.failures;
  };
  agent::SchedulerOptions options;
  options.start_granularity = granularity;
  auto scheduler = std::make_unique<agent::Scheduler>(timers, kit.clock, kit.random, factory,
                                                      on_result, options);
  for (int i = 0; i < rate; ++i) {
    probes::ProbeTarget t;
    t.name = "t-" + std::to_string(i);
    t.kind = probes::Kind::kTcp;
    t.host = "127.0.0.1";
    t.port = port;
    t.timeout = milliseconds(500);
    scheduler->add(t, milliseconds(1000));
  }
  scheduler->start();
  double cpu_start = 0;
  Steady::time_point wall_start;
  bench::runMeasured(
      loop, std::chrono::seconds(warmup), std::chrono::seconds(warmup + seconds),
      [&] {
        measuring = true;
        cpu_start = selfCpu();
        wall_start = Steady::now();
      },
      [&] {
        f.cpu_s = selfCpu() - cpu_start;
        f.wall_s = std::chrono::duration<double>(Steady::now() - wall_start).count();
        measuring = false;
        scheduler->stop();
      });
  scheduler.reset();
  return f;
}

/// The baseline: what a probe must do at least, blocking, at the same rate. It wakes every
/// `tick` (the scheduler's start granularity) and runs the connects due by then, as the scheduler
/// makes the agent do: a wake-up per connect would add a context switch per probe to the baseline
/// only.
Figure runBlocking(std::uint16_t port, int rate, int seconds, milliseconds tick) {
  Figure f;
  sockaddr_in peer = loopback(port);
  const milliseconds kTick = std::max(tick, milliseconds(1));
  auto start = Steady::now();
  double cpu_start = selfCpu();
  long n = static_cast<long>(rate) * seconds;
  long ticks = seconds * 1000L / kTick.count();
  for (long t = 1; t <= ticks; ++t) {
    std::this_thread::sleep_until(start + kTick * t);
    long due = n * t / ticks;
    for (; f.probes < due; ++f.probes) {
      int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&peer), sizeof peer) != 0) {
        ++f.failures;
      }
      if (fd >= 0) ::close(fd);
    }
  }
  f.cpu_s = selfCpu() - cpu_start;
  f.wall_s = std::chrono::duration<double>(Steady::now() - start).count();
  return f;
}

/// One keep-alive HTTP connection to the exporter; false on any error.
class HttpDriver {
 public:
  explicit HttpDriver(std::uint16_t port) : port_(port) {}
  ~HttpDriver() {
    if (fd_ >= 0) ::close(fd_);
  }
  HttpDriver(const HttpDriver&) = delete;
  HttpDriver& operator=(const HttpDriver&) = delete;

  /// Sends `request`, reads one response; true when its body says probe_success 1.
  bool get(const std::string& request) {
    if (fd_ < 0 && !reconnect()) return false;
    if (::send(fd_, request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
      return drop();
    }
    std::string data;
    std::size_t header_end = std::string::npos;
    std::size_t need = 0;
    char buf[16384];
    for (;;) {
      if (header_end != std::string::npos && data.size() >= need) break;
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return drop();
      data.append(buf, static_cast<std::size_t>(n));
      if (header_end == std::string::npos) {
        header_end = data.find("\r\n\r\n");
        if (header_end == std::string::npos) continue;
        auto cl = data.find("Content-Length: ");
        if (cl == std::string::npos || cl > header_end) return drop();
        need = header_end + 4 + std::stoul(data.substr(cl + 16));
      }
    }
    return data.find("\nprobe_success 1", header_end) != std::string::npos;
  }

 private:
  bool reconnect() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a = loopback(port_);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return drop();
    return true;
  }
  bool drop() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    return false;
  }

  std::uint16_t port_;
  int fd_ = -1;
};

/// blackbox_exporter probing the peer at `rate`, from `drivers` threads each pacing its share.
Figure runExporter(pid_t exporter, std::uint16_t exporter_port, std::uint16_t peer_port, int rate,
                   int seconds, int drivers) {
  std::string request = "GET /probe?target=127.0.0.1:" + std::to_string(peer_port) +
                        "&module=tcp_connect HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  std::atomic<long> ok{0};
  std::atomic<long> failed{0};
  auto start = Steady::now();
  double cpu_start = bench::cpuSeconds(exporter);
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(drivers));
  for (int d = 0; d < drivers; ++d) {
    threads.emplace_back([&, d] {
      HttpDriver http(exporter_port);
      auto period = std::chrono::duration<double>(static_cast<double>(drivers) / rate);
      auto offset = period * (static_cast<double>(d) / drivers);
      long n = static_cast<long>(rate) * seconds / drivers;
      for (long i = 0; i < n; ++i) {
        std::this_thread::sleep_until(start + std::chrono::duration_cast<Steady::duration>(
                                                  offset + period * static_cast<double>(i)));
        (http.get(request) ? ok : failed)++;
      }
    });
  }
  for (auto& t : threads) t.join();
  Figure f;
  f.cpu_s = bench::cpuSeconds(exporter) - cpu_start;
  f.wall_s = std::chrono::duration<double>(Steady::now() - start).count();
  f.probes = ok + failed;
  f.failures = failed;
  return f;
}

bool waitForTcp(std::uint16_t port, std::chrono::seconds timeout) {
  auto deadline = Steady::now() + timeout;
  while (Steady::now() < deadline) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a = loopback(port);
    bool up = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    if (up) return true;
    std::this_thread::sleep_for(milliseconds(50));
  }
  return false;
}

double median(std::vector<double> v) { return bench::percentile(std::move(v), 50); }

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"CPU per TCP-connect probe: the agent vs a blocking loop vs blackbox_exporter"};
  int rate = 500;
  int seconds = 20;
  int warmup = 2;
  int cycles = 2;
  int drivers = 4;
  std::string peer_port_file;
  bool agent_only = false;
  std::string exporter_binary = "prometheus-blackbox-exporter";
  auto granularity_ms = static_cast<int>(agent::SchedulerOptions{}.start_granularity.count());
  app.add_option("--rate", rate, "probes per second (= agent targets at 1 s)")
      ->capture_default_str();
  app.add_option("--seconds", seconds, "measured time of each phase")->capture_default_str();
  app.add_option("--warmup", warmup, "agent phase: seconds before measuring")
      ->capture_default_str();
  app.add_option("--cycles", cycles, "blocking, agent, exporter phases, this many times")
      ->capture_default_str();
  app.add_option("--drivers", drivers, "HTTP connections driving the exporter")
      ->capture_default_str();
  app.add_option("--exporter", exporter_binary)->capture_default_str();
  app.add_option("--granularity-ms", granularity_ms,
                 "the scheduler's start granularity, also the blocking loop's tick")
      ->capture_default_str();
  app.add_flag("--agent-only", agent_only, "only the agent's phases (for perf record)");
  app.add_option("--peer", peer_port_file, "internal: run as the peer, port written here");
  CLI11_PARSE(app, argc, argv);
  if (!peer_port_file.empty()) return runPeer(peer_port_file);
  const milliseconds granularity(std::max(granularity_ms, 1));
  rate = std::max(rate, 1);
  drivers = std::clamp(drivers, 1, rate);
  mediapath::agent::raiseOpenFileLimit();

  std::string dir = bench::makeTempDir("bench-tcp-probe");
  std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  bench::Child peer({self, "--peer", dir + "/peer-port"}, dir + "/peer.log");
  std::uint16_t peer_port = bench::waitForPortFile(dir + "/peer-port", std::chrono::seconds(10));
  {
    std::ofstream config(dir + "/blackbox.yml");
    config << "modules:\n  tcp_connect:\n    prober: tcp\n    timeout: 5s\n";
  }
  std::uint16_t exporter_port = bench::freeUdpTcpPort();
  bench::Child exporter({exporter_binary, "--config.file=" + dir + "/blackbox.yml",
                         "--web.listen-address=127.0.0.1:" + std::to_string(exporter_port)},
                        dir + "/exporter.log");
  if (peer_port == 0 || !waitForTcp(exporter_port, std::chrono::seconds(10))) {
    std::fprintf(stderr, "bench_tcp_probe: the peer or the exporter did not start (see %s)\n",
                 dir.c_str());
    return 1;
  }
  // The exporter's first probes pay for its start-up (page faults, GC sizing): not measured.
  runExporter(exporter.pid(), exporter_port, peer_port, std::min(rate, 200), 1, drivers);

  mediapath::testing::ProbeKit kit(7);
  std::printf(
      "bench_tcp_probe: %d probes/s against one loopback peer, %d s per phase, %d cycles "
      "(logs: %s)\n",
      rate, seconds, cycles, dir.c_str());
  std::vector<double> blocking_us, agent_us, exporter_us;
  long failures = 0;
  auto show = [](const char* what, const Figure& f) {
    std::printf("  %-10s %7ld probes (%ld failed) in %5.1f s, CPU %6.3f s: %7.2f us/probe\n", what,
                f.probes, f.failures, f.wall_s, f.cpu_s, f.usPerProbe());
    std::fflush(stdout);
  };
  for (int c = 0; c < cycles; ++c) {
    if (agent_only) {
      show("agent", runAgent(kit, peer_port, rate, seconds, granularity, warmup));
      continue;
    }
    Figure b = runBlocking(peer_port, rate, seconds, granularity);
    show("blocking", b);
    Figure a = runAgent(kit, peer_port, rate, seconds, granularity, warmup);
    show("agent", a);
    Figure e = runExporter(exporter.pid(), exporter_port, peer_port, rate, seconds, drivers);
    show("exporter", e);
    blocking_us.push_back(b.usPerProbe());
    agent_us.push_back(a.usPerProbe());
    exporter_us.push_back(e.usPerProbe());
    failures += a.failures + b.failures + e.failures;
  }
  if (agent_only) return 0;
  double bl = median(blocking_us);
  double ag = median(agent_us);
  double ex = median(exporter_us);
  std::printf(
      "  medians: agent %.2f us/probe, blocking connect+close %.2f, blackbox_exporter %.1f; "
      "agent/blocking = %.2f, agent/exporter = %.3f; failed probes: %ld\n",
      ag, bl, ex, ag / bl, ag / ex, failures);
  std::printf("  targets: agent <= 0.05 x exporter: %s; agent <= 2 x blocking: %s\n",
              ag <= 0.05 * ex ? "PASS" : "FAIL", ag <= 2 * bl ? "PASS" : "FAIL");
  std::printf(
      "{\"bench\":\"tcp_probe\",\"rate\":%d,\"seconds\":%d,\"cycles\":%d,\"agent_us\":%.2f,"
      "\"blocking_us\":%.2f,\"exporter_us\":%.1f,\"agent_vs_blocking\":%.3f,"
      "\"agent_vs_exporter\":%.4f,\"failures\":%ld}\n",
      rate, seconds, cycles, ag, bl, ex, ag / bl, ag / ex, failures);
  return 0;
}
