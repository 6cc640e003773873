// The impairment-relay binary in front of a tiny UDP echo: what a client measures must match
// what the relay logged, and the logged decisions must be the seeded model's.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "tests/support/process.h"
#include "tests/tools/relay_log.h"
#include "tools/impairment_relay/impairment_model.h"

namespace mediapath::testing {
namespace {

using Clock = std::chrono::steady_clock;
namespace relay = tools::relay;

int udpSocket(std::uint16_t port = 0) {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    throw std::runtime_error("udp socket");
  }
  return fd;
}

std::uint16_t localPort(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

/// Echoes every datagram back to its sender until destroyed.
class UdpEcho {
 public:
  UdpEcho() : fd_(udpSocket()), thread_([this] { run(); }) {}
  ~UdpEcho() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::uint16_t port() const { return localPort(fd_); }

 private:
  void run() {
    char buf[2048];
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      sockaddr_storage from{};
      socklen_t len = sizeof from;
      ssize_t n = ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n > 0)
        ::sendto(fd_, buf, static_cast<std::size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), len);
    }
  }
  int fd_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::string readPortFile(const std::string& path, std::chrono::seconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    std::ifstream in(path);
    std::string port;
    if (in >> port && !port.empty()) return port;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return {};
}

std::string hex(const unsigned char* b, int n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < n; ++i) {
    out += kHex[b[i] >> 4];
    out += kHex[b[i] & 15];
  }
  return out;
}

TEST(RelayBinary, AppliedDelaysMatchLogAndSeededModel) {
  TempDir tmp;
  UdpEcho echo;
  const std::uint64_t seed = 4242;
  const relay::DirectionSpec up{std::chrono::milliseconds(20), std::chrono::milliseconds(5), 0.1};
  const relay::DirectionSpec down{std::chrono::milliseconds(10), std::chrono::milliseconds(3),
                                  0.05};
  Subprocess proc({MEDIAPATH_RELAY_BINARY,
                   "--listen",
                   "127.0.0.1:0",
                   "--upstream",
                   "127.0.0.1:" + std::to_string(echo.port()),
                   "--port-file",
                   tmp.file("port"),
                   "--seed",
                   std::to_string(seed),
                   "--up-delay",
                   "20ms",
                   "--up-jitter",
                   "5ms",
                   "--up-loss",
                   "0.1",
                   "--down-delay",
                   "10ms",
                   "--down-jitter",
                   "3ms",
                   "--down-loss",
                   "5%",
                   "--log",
                   tmp.file("relay.jsonl")},
                  tmp.file("relay.out"));
  std::string port = readPortFile(tmp.file("port"), std::chrono::seconds(10));
  ASSERT_FALSE(port.empty()) << proc.log();

  int fd = udpSocket();
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(std::stoi(port)));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

  constexpr int kPackets = 150;
  std::mutex mu;
  std::map<std::string, Clock::time_point> sent;
  std::map<std::string, double> rtt_ms;
  std::atomic<bool> done{false};
  std::thread receiver([&] {
    unsigned char buf[2048];
    while (!done) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      auto now = Clock::now();
      if (n < 20) continue;
      std::lock_guard lock(mu);
      std::string tid = hex(buf + 8, 12);
      rtt_ms[tid] = std::chrono::duration<double, std::milli>(now - sent.at(tid)).count();
    }
  });
  for (int i = 0; i < kPackets; ++i) {
    // A STUN Binding request header: the relay logs its transaction id, which pairs the legs.
    unsigned char msg[20] = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42};
    std::uint32_t id = htonl(0xC0DE0000u + static_cast<std::uint32_t>(i));
    std::memcpy(msg + 16, &id, 4);
    {
      std::lock_guard lock(mu);
      sent[hex(msg + 8, 12)] = Clock::now();
    }
    ASSERT_EQ(::sendto(fd, msg, sizeof msg, 0, reinterpret_cast<sockaddr*>(&to), sizeof to), 20);
    std::this_thread::sleep_for(std::chrono::milliseconds(4));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // > max hold (25 + 13 ms)
  done = true;
  receiver.join();
  ::close(fd);

  proc.signal(SIGTERM);
  EXPECT_EQ(proc.wait(std::chrono::seconds(5)), 0) << proc.log();

  auto log = readRelayLog(tmp.file("relay.jsonl"));
  // Every logged decision is the seeded model's decision for that direction and sequence number.
  relay::ImpairmentModel model(seed, up, down);
  std::map<std::pair<std::string, std::uint64_t>, const RelayLogEntry*> by_seq;
  for (const auto& e : log) {
    EXPECT_TRUE(by_seq.emplace(std::pair{e.dir, e.seq}, &e).second) << "duplicate " << e.dir;
  }
  std::vector<double> lateness;
  int up_count = 0;
  int down_count = 0;
  for (const auto& e : log) (e.dir == "up" ? up_count : down_count)++;
  EXPECT_EQ(up_count, kPackets);
  for (auto dir : {relay::Direction::kUp, relay::Direction::kDown}) {
    std::string name(relay::directionName(dir));
    int n = dir == relay::Direction::kUp ? up_count : down_count;
    for (int i = 1; i <= n; ++i) {
      auto decision = model.decide(dir);
      auto it = by_seq.find({name, decision.seq});
      ASSERT_NE(it, by_seq.end()) << name << " seq " << decision.seq;
      const auto& e = *it->second;
      EXPECT_EQ(e.dropped, decision.dropped) << name << " seq " << e.seq;
      EXPECT_NEAR(e.planned_ms, static_cast<double>(decision.delay.count()) / 1000.0, 0.0011);
      if (!e.dropped) {
        // Never early (holds count from the kernel's arrival stamp); late only by scheduling.
        EXPECT_GE(e.delay_ms, e.planned_ms - 0.001) << name << " seq " << e.seq;
        EXPECT_LT(e.delay_ms, e.planned_ms + 100.0) << name << " seq " << e.seq;
        lateness.push_back(e.delay_ms - e.planned_ms);
      }
    }
  }
  // A hold overruns by the relay's wake-up time: ~0.1 ms on an idle machine, a few ms when
  // every core is busy (the relay waits for a CPU). The smallest overrun shows the timer is
  // precise; the median bounds the typical one.
  std::sort(lateness.begin(), lateness.end());
  ASSERT_FALSE(lateness.empty());
  EXPECT_LT(lateness.front(), 0.5) << "smallest hold overrun (ms)";
  EXPECT_LT(lateness[lateness.size() / 2], 5.0) << "median hold overrun (ms)";

  // What the client measured is the logged hold time of both legs plus a little transport.
  auto trips = roundTrips(log);
  std::lock_guard lock(mu);
  ASSERT_EQ(trips.size(), rtt_ms.size());
  EXPECT_GT(trips.size(), kPackets * 0.7);
  EXPECT_LT(trips.size(), kPackets * 0.95);  // about 14.5% of round trips lose a leg
  std::vector<double> excess;
  for (const auto& t : trips) {
    ASSERT_EQ(rtt_ms.count(t.tid), 1u) << t.tid;
    double measured = rtt_ms.at(t.tid);
    // Slack: the relay stamps arrivals with the kernel's receive time and its sends with its
    // own clock read, the client reads the clock around sendto/recv; the two sides' readings of
    // the same instants differ by microseconds (25.452 ms measured against 25.459 ms logged,
    // and 36.046 against 36.102 in a full CI run under load).
    EXPECT_GE(measured, t.total() - 0.1) << t.tid;
    excess.push_back(measured - t.total());
  }
  std::sort(excess.begin(), excess.end());
  // The excess is loopback transport plus the echo's and the client's wake-ups: tens of
  // microseconds on an idle machine, a few ms when every core is busy. The smallest one shows
  // the log carries no offset; the median that nothing is systematically unaccounted for.
  EXPECT_LT(excess.front(), 0.5) << "smallest client-side excess over logged holds (ms)";
  EXPECT_LT(excess[excess.size() / 2], 5.0) << "median client-side excess over logged holds (ms)";
}

TEST(RelayBinary, RejectsBadArguments) {
  auto r = runCommand({MEDIAPATH_RELAY_BINARY, "--upstream", "127.0.0.1:3478", "--up-loss", "1.5"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("loss must be within 0..1"), std::string::npos) << r.output;
  r = runCommand({MEDIAPATH_RELAY_BINARY, "--upstream", "nonsense"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("expected host:port"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace mediapath::testing
