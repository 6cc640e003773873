// bench_relay: relay targets (kind relay) on one loop through the agent's scheduler, against a
// local coturn that this program starts (and stops by PID).
//
// Two phases, one coturn:
//  1. CPU: `--targets` (20) relay targets, each streaming continuously (the default stream,
//     50 x 172 B x 20 ms, every 1 s interval: 50 packets/s per target), for `--seconds`. The
//     bench process's CPU after a warm-up, per target, as % of one core (issue #16: <= 0.5 %).
//     Baseline in the same run: coturn's own CPU for relaying exactly the same packets.
//  2. Lateness: `--lateness-targets` (100) relay targets on one loop. Every stream packet's send
//     time against its plan (stream start + k x spacing), p50/p99/max (issue #16: p99 <= 5 ms).
//     The send times are taken from outside the product: a packet socket on the loopback device
//     sees each ChannelData datagram of allocation A leave for coturn and the kernel stamps it.
// Method and figures: bench/README.md.
#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <fstream>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "agent/service/file_limit.h"
#include "agent/service/scheduler.h"
#include "bench/bench_support.h"
#include "net/event_loop.h"
#include "probes/channel_data.h"
#include "probes/probe_resources.h"
#include "probes/relay_probe.h"
#include "tests/support/probe_kit.h"

namespace bench = mediapath::bench;
namespace net = mediapath::net;
namespace probes = mediapath::probes;
namespace agent = mediapath::agent;
using Steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

/// True once coturn answers a STUN Binding request on 127.0.0.1:port (it writes no port file).
bool waitForStun(std::uint16_t port, std::chrono::seconds timeout) {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return false;
  timeval wait{0, 100000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // A bare RFC 5389 Binding request: type 0x0001, length 0, magic cookie, transaction id.
  const std::string binding("\x00\x01\x00\x00\x21\x12\xa4\x42mediapath-rb", 20);
  auto deadline = Steady::now() + timeout;
  bool ready = false;
  while (!ready && Steady::now() < deadline) {
    ::sendto(fd, binding.data(), binding.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    std::array<char, 512> reply{};
    ready = ::recv(fd, reply.data(), reply.size(), 0) >= 20;
  }
  ::close(fd);
  return ready;
}

/// Kernel send stamps of the relay stream's packets, seen on the loopback device: every
/// ChannelData datagram on channel kMinChannel (allocation A's, the stream's first leg) going to
/// coturn's port. A classic BPF filter keeps everything else in the kernel, and a thread drains
/// the socket every 20 ms (50 wake-ups a second, whatever the packet rate), reading each
/// datagram's stamp. Needs CAP_NET_RAW.
class SendCapture {
 public:
  ~SendCapture() { stop(); }

  /// "" or why the capture could not start.
  std::string open(std::uint16_t coturn_port, milliseconds spacing) {
    spacing_ms_ = static_cast<double>(spacing.count());
    // Protocol 0 until the filter is attached, so nothing unfiltered is queued before it.
    fd_ = ::socket(AF_PACKET, SOCK_DGRAM, 0);
    if (fd_ < 0) return std::string("packet socket: ") + std::strerror(errno);
    // SOCK_DGRAM: the filter sees the IPv4 header first. On lo every datagram passes twice,
    // leaving (PACKET_OUTGOING, stamped in the sender's send call) and arriving: keep the first.
    constexpr std::uint32_t kSnap = 64;  // IPv4 20 + UDP 8 + ChannelData 4 + stream header 12
    // Each test jumps, when false, to the last instruction (drop): jf = instructions to skip.
    std::array<sock_filter, 13> code = {{
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, static_cast<std::uint32_t>(SKF_AD_OFF + SKF_AD_PKTTYPE)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_OUTGOING, 0, 10),
        BPF_STMT(BPF_LD | BPF_H | BPF_ABS,
                 static_cast<std::uint32_t>(SKF_AD_OFF + SKF_AD_PROTOCOL)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0, 8),
        BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 9),  // IPv4 protocol
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 0, 6),
        BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),  // X = IPv4 header length
        BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),   // UDP destination port
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, coturn_port, 0, 3),
        BPF_STMT(BPF_LD | BPF_H | BPF_IND, 8),  // ChannelData channel number
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, probes::kMinChannel, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, kSnap),
        BPF_STMT(BPF_RET | BPF_K, 0),
    }};
    sock_fprog program{static_cast<unsigned short>(code.size()), code.data()};
    if (::setsockopt(fd_, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof program) != 0) {
      return std::string("SO_ATTACH_FILTER: ") + std::strerror(errno);
    }
    int on = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
    int buffer = 8 << 20;
    if (::setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer) != 0) {
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
    }
    sockaddr_ll where{};
    where.sll_family = AF_PACKET;
    // ETH_P_ALL, not ETH_P_IP: only "all protocols" taps see what the host sends
    // (dev_queue_xmit_nit); the filter picks IPv4.
    where.sll_protocol = htons(ETH_P_ALL);
    where.sll_ifindex = static_cast<int>(::if_nametoindex("lo"));
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&where), sizeof where) != 0) {
      return std::string("bind to lo: ") + std::strerror(errno);
    }
    thread_ = std::thread([this] { run(); });
    return "";
  }

  void setMeasuring(bool on) { measuring_.store(on); }

  void stop() {
    if (thread_.joinable()) {
      stopping_.store(true);
      thread_.join();
      tpacket_stats stats{};
      socklen_t len = sizeof stats;
      if (::getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &stats, &len) == 0) {
        drops_ = stats.tp_drops;
      }
    }
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  /// After stop(): ms each packet (sequence >= 1) left after its plan, rounds seen from their
  /// first packet, and datagrams the kernel dropped from the capture's queue.
  const std::vector<double>& lateness() const { return lateness_ms_; }
  long rounds() const { return static_cast<long>(stream_start_ns_.size()); }
  unsigned drops() const { return drops_; }

 private:
  static constexpr std::size_t kBatch = 64;

  void run() {
    std::array<std::array<std::uint8_t, 128>, kBatch> data{};
    std::array<std::array<char, CMSG_SPACE(sizeof(timespec))>, kBatch> control{};
    std::array<iovec, kBatch> iov{};
    std::array<mmsghdr, kBatch> messages{};
    while (!stopping_.load()) {
      std::this_thread::sleep_for(milliseconds(20));
      for (;;) {
        for (std::size_t i = 0; i < kBatch; ++i) {
          iov[i] = {data[i].data(), data[i].size()};
          messages[i] = {};
          messages[i].msg_hdr.msg_iov = &iov[i];
          messages[i].msg_hdr.msg_iovlen = 1;
          messages[i].msg_hdr.msg_control = control[i].data();
          messages[i].msg_hdr.msg_controllen = control[i].size();
        }
        int n = ::recvmmsg(fd_, messages.data(), kBatch, MSG_DONTWAIT, nullptr);
        if (n <= 0) break;
        for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
          take(std::span<const std::uint8_t>(data[i].data(), messages[i].msg_len),
               messages[i].msg_hdr);
        }
      }
    }
  }

  void take(std::span<const std::uint8_t> datagram, msghdr& header) {
    if (!measuring_.load() || datagram.empty()) return;
    std::size_t ip_header = static_cast<std::size_t>(datagram[0] & 0x0f) * 4;
    std::size_t payload = ip_header + 8 + probes::kChannelDataHeaderBytes;
    if (datagram.size() < payload + probes::kStreamHeaderBytes) return;
    auto packet = probes::readStreamPacket(datagram.subspan(payload));
    std::int64_t at_ns = -1;
    for (cmsghdr* c = CMSG_FIRSTHDR(&header); c != nullptr; c = CMSG_NXTHDR(&header, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
        timespec ts{};
        std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
        at_ns = static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
      }
    }
    if (!packet || at_ns < 0) return;
    // The probe sets the stream's start right before it sends packet 0, and paces every later
    // packet from that start; a round whose packet 0 was not seen (before the window) is left out.
    if (packet->sequence == 0) {
      stream_start_ns_[packet->round_tag] = at_ns;
      return;
    }
    auto start = stream_start_ns_.find(packet->round_tag);
    if (start == stream_start_ns_.end()) return;
    double since_ms = static_cast<double>(at_ns - start->second) / 1e6;
    lateness_ms_.push_back(since_ms - static_cast<double>(packet->sequence) * spacing_ms_);
  }

  int fd_ = -1;
  double spacing_ms_ = 20;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> measuring_{false};
  std::unordered_map<std::uint64_t, std::int64_t> stream_start_ns_;
  std::vector<double> lateness_ms_;
  unsigned drops_ = 0;
};

struct Settings {
  std::uint16_t port = 0;
  int interval_ms = 1000;
  int timeout_ms = 500;
  probes::StreamSpec stream;
};

struct PhaseFigures {
  int targets = 0;
  double wall = 0;
  double cpu_pct = 0;         // the bench process (every thread), % of one core
  double loop_cpu_pct = 0;    // the loop's thread alone
  double coturn_cpu_pct = 0;  // the baseline
  std::uint64_t started = 0, completed = 0, timed_out = 0, skipped = 0;
  long results = 0;
  long ok = 0;
  long sent = 0;
  long received = 0;
  double packets_per_target_s = 0;
  std::map<std::string, int> errors;  // failed rounds of the window, by error
};

/// N relay targets on one loop through agent::Scheduler for `seconds`; CPU and packets counted
/// over the window after `warmup`. `capture` (may be null) is told when the window opens/closes.
PhaseFigures runPhase(const Settings& settings, int targets, int seconds, int warmup, pid_t coturn,
                      SendCapture* capture) {
  mediapath::testing::ProbeKit kit(11);
  probes::ProbeContext context = kit.context();
  agent::UvTimerFactory timers(kit.loop);
  PhaseFigures f;
  f.targets = targets;
  bool measuring = false;
  auto factory = [&](const probes::ProbeTarget&) { return probes::makeRelayProbe(context); };
  auto on_result = [&](const probes::ProbeResult& r) {
    if (!measuring) return;
    ++f.results;
    f.ok += r.ok ? 1 : 0;
    if (!r.ok) ++f.errors[r.error];
    f.sent += r.sent;
    f.received += r.received;
  };
  agent::Scheduler scheduler(timers, kit.clock, kit.random, factory, on_result);
  for (int i = 0; i < targets; ++i) {
    probes::ProbeTarget t;
    t.name = "r-" + std::to_string(i);
    t.kind = probes::Kind::kRelay;
    t.host = "127.0.0.1";
    t.port = settings.port;
    t.username = "test";
    t.password = "secret";
    t.timeout = milliseconds(settings.timeout_ms);
    t.stream = settings.stream;
    scheduler.add(t, milliseconds(settings.interval_ms));
  }
  scheduler.start();

  double cpu_start = 0;
  double loop_cpu_start = 0;
  double coturn_start = 0;
  Steady::time_point wall_start;
  bench::runMeasured(
      kit.loop, std::chrono::seconds(warmup), std::chrono::seconds(seconds),
      [&] {
        measuring = true;
        if (capture != nullptr) capture->setMeasuring(true);
        cpu_start = bench::cpuSeconds();
        loop_cpu_start = bench::threadCpuSeconds();
        coturn_start = bench::cpuSeconds(coturn);
        wall_start = Steady::now();
      },
      [&] {
        f.wall = std::chrono::duration<double>(Steady::now() - wall_start).count();
        f.cpu_pct = 100.0 * (bench::cpuSeconds() - cpu_start) / f.wall;
        f.loop_cpu_pct = 100.0 * (bench::threadCpuSeconds() - loop_cpu_start) / f.wall;
        f.coturn_cpu_pct = 100.0 * (bench::cpuSeconds(coturn) - coturn_start) / f.wall;
        measuring = false;
        if (capture != nullptr) capture->setMeasuring(false);
        scheduler.stop();
      });
  for (int i = 0; i < targets; ++i) {
    const auto* s = scheduler.stats("r-" + std::to_string(i));
    f.started += s->rounds_started;
    f.completed += s->rounds_completed;
    f.timed_out += s->rounds_timed_out;
    f.skipped += s->ticks_skipped;
  }
  f.packets_per_target_s = f.wall > 0 ? static_cast<double>(f.sent) / targets / f.wall : 0;
  return f;
}

void printPhase(const char* what, const PhaseFigures& f) {
  double loss =
      f.sent > 0 ? 1.0 - static_cast<double>(f.received) / static_cast<double>(f.sent) : 0;
  std::printf("  %s: %d relay targets, %.1f s measured\n", what, f.targets, f.wall);
  std::printf(
      "    rounds: started %llu, completed %llu, ok %ld/%ld in the window, cut off %llu, ticks "
      "skipped %llu\n",
      static_cast<unsigned long long>(f.started), static_cast<unsigned long long>(f.completed),
      f.ok, f.results, static_cast<unsigned long long>(f.timed_out),
      static_cast<unsigned long long>(f.skipped));
  for (const auto& [error, count] : f.errors) {
    std::printf("    failed %d x: %s\n", count, error.c_str());
  }
  std::printf("    stream: %.1f packets/s per target, sent %ld, back %ld, loss %.4f\n",
              f.packets_per_target_s, f.sent, f.received, loss);
  std::printf(
      "    CPU: bench process %.2f%% of one core (loop thread %.2f%%), coturn %.2f%%; per target: "
      "agent %.3f%%, coturn %.3f%%; agent/coturn = %.2f\n",
      f.cpu_pct, f.loop_cpu_pct, f.coturn_cpu_pct, f.cpu_pct / f.targets,
      f.coturn_cpu_pct / f.targets, f.cpu_pct / f.coturn_cpu_pct);
}

int run(int argc, char** argv) {
  CLI::App app{"relay targets on one loop via the agent's scheduler, against a local coturn"};
  int targets = 20;
  int seconds = 40;
  int warmup = 5;
  int lateness_targets = 100;
  int lateness_seconds = 40;
  Settings settings;
  int spacing_ms = static_cast<int>(settings.stream.spacing.count());
  app.add_option("--targets", targets, "relay targets in the CPU phase (0: skip it)")
      ->capture_default_str();
  app.add_option("--seconds", seconds, "length of the CPU phase")->capture_default_str();
  app.add_option("--warmup", warmup, "seconds at the start of each phase left out of its figures")
      ->capture_default_str();
  app.add_option("--lateness-targets", lateness_targets,
                 "relay targets in the lateness phase (0: skip it)")
      ->capture_default_str();
  app.add_option("--lateness-seconds", lateness_seconds, "length of the lateness phase")
      ->capture_default_str();
  app.add_option("--interval-ms", settings.interval_ms)->capture_default_str();
  app.add_option("--timeout-ms", settings.timeout_ms,
                 "the probe's timeout (set-up, last returns, release)")
      ->capture_default_str();
  app.add_option("--packets", settings.stream.packets, "stream packets per round")
      ->capture_default_str();
  app.add_option("--size", settings.stream.size, "stream packet size (ChannelData payload)")
      ->capture_default_str();
  app.add_option("--spacing-ms", spacing_ms, "stream spacing")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  settings.stream.spacing = milliseconds(spacing_ms);
  warmup = std::clamp(warmup, 0, std::max(0, std::min(seconds, lateness_seconds) - 1));
  mediapath::agent::raiseOpenFileLimit();  // two sockets per relay target

  // coturn's relay ports above the kernel's ephemeral range (32768-60999 by default), where no
  // other program's port-0 socket (another test's coturn picks its range that way) lands.
  int relay_lo = 61000;
  {
    std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
    int lo = 0;
    int hi = 0;
    if (range >> lo >> hi && hi + 1 > relay_lo) relay_lo = hi + 1;
  }
  int relay_hi = std::min(relay_lo + 999, 65535);
  std::string dir = bench::makeTempDir("bench-relay");
  settings.port = bench::freeUdpTcpPort();
  bench::Child coturn(bench::coturnArgv(settings.port, dir, relay_lo, relay_hi),
                      dir + "/coturn.log");
  if (!waitForStun(settings.port, std::chrono::seconds(10)) || !coturn.running()) {
    std::fprintf(stderr, "bench_relay: coturn did not start (see %s/coturn.log)\n", dir.c_str());
    return 1;
  }

  std::printf(
      "bench_relay: stream %d x %d B x %d ms every %d ms (timeout %d ms), coturn on 127.0.0.1:%u "
      "(relay ports %d-%d), warm-up %d s\n",
      settings.stream.packets, settings.stream.size, spacing_ms, settings.interval_ms,
      settings.timeout_ms, settings.port, relay_lo, relay_hi, warmup);
  std::string json = "{\"bench\":\"relay\"";
  char buffer[512];
  bool pass = true;
  if (targets > 0) {
    PhaseFigures f = runPhase(settings, targets, seconds, warmup, coturn.pid(), nullptr);
    printPhase("CPU phase", f);
    double per_target = f.cpu_pct / targets;
    bool ok = per_target <= 0.5 && f.results > 0;
    pass = pass && ok;
    std::printf("    target: <= 0.5%% of one core per relay target: %s\n", ok ? "PASS" : "FAIL");
    std::snprintf(buffer, sizeof buffer,
                  ",\"targets\":%d,\"cpu_pct\":%.3f,\"cpu_pct_per_target\":%.4f,"
                  "\"coturn_cpu_pct\":%.3f,\"coturn_cpu_pct_per_target\":%.4f,\"cpu_ratio\":%.3f,"
                  "\"packets_per_target_s\":%.2f,\"ticks_skipped\":%llu,\"rounds_failed\":%ld",
                  targets, f.cpu_pct, per_target, f.coturn_cpu_pct, f.coturn_cpu_pct / targets,
                  f.cpu_pct / f.coturn_cpu_pct, f.packets_per_target_s,
                  static_cast<unsigned long long>(f.skipped), f.results - f.ok);
    json += buffer;
  }
  if (lateness_targets > 0) {
    SendCapture capture;
    std::string error = capture.open(settings.port, settings.stream.spacing);
    if (!error.empty()) {
      std::printf("  lateness phase: not run, the send capture needs CAP_NET_RAW (%s)\n",
                  error.c_str());
      pass = false;
    } else {
      PhaseFigures f =
          runPhase(settings, lateness_targets, lateness_seconds, warmup, coturn.pid(), &capture);
      capture.stop();
      printPhase("lateness phase", f);
      const auto& late = capture.lateness();
      double p50 = bench::percentile(late, 50);
      double p99 = bench::percentile(late, 99);
      double max = late.empty() ? 0 : *std::max_element(late.begin(), late.end());
      double min = late.empty() ? 0 : *std::min_element(late.begin(), late.end());
      long over = std::count_if(late.begin(), late.end(), [](double x) { return x > 5.0; });
      std::printf(
          "    send lateness vs plan (stream start + k x %d ms), %zu packets of %ld rounds: p50 "
          "%.3f ms, p99 %.3f ms, max %.3f ms, earliest %.3f ms, > 5 ms: %ld; capture drops %u\n",
          spacing_ms, late.size(), capture.rounds(), p50, p99, max, min, over, capture.drops());
      bool ok = !late.empty() && p99 <= 5.0 && capture.drops() == 0;
      pass = pass && ok;
      std::printf("    target: p99 <= 5 ms: %s\n", ok ? "PASS" : "FAIL");
      std::snprintf(buffer, sizeof buffer,
                    ",\"lateness_targets\":%d,\"lateness_packets\":%zu,\"lateness_p50_ms\":%.3f,"
                    "\"lateness_p99_ms\":%.3f,\"lateness_max_ms\":%.3f,\"lateness_min_ms\":%.3f,"
                    "\"lateness_cpu_pct_per_target\":%.4f,\"lateness_ticks_skipped\":%llu",
                    lateness_targets, late.size(), p50, p99, max, min,
                    f.loop_cpu_pct / lateness_targets, static_cast<unsigned long long>(f.skipped));
      json += buffer;
    }
  }
  std::printf("%s,\"pass\":%s}\n", json.c_str(), pass ? "true" : "false");
  // Like the other benches, a missed target is a figure, not an error: scripts/bench goes on.
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    // A port that is gone, coturn missing: say what, rather than terminate().
    std::fprintf(stderr, "bench_relay: %s\n", e.what());
    return 1;
  }
}
