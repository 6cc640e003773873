#include "reporter/metrics/metrics.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "net/event_loop.h"
#include "reporter/metrics/metrics_server.h"
#include "tests/support/process.h"

namespace mediapath::reporter {
namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(Metrics, SeriesExistFromStartUpWithNaNForUnmeasuredValues) {
  Metrics m("fra-office", "1.2.3");
  m.addTarget("proxy-a", "sip", true);
  m.addFailoverGroup("media-proxy", {"proxy-a", "proxy-b"});
  std::string text = m.serialize();
  EXPECT_TRUE(contains(text, "mediapath_probe_success{kind=\"sip\",target=\"proxy-a\"} 0"));
  EXPECT_TRUE(contains(text, "mediapath_probe_mos{kind=\"sip\",target=\"proxy-a\"} Nan"));
  EXPECT_TRUE(
      contains(text, "mediapath_probe_rtt_seconds_count{kind=\"sip\",target=\"proxy-a\"} 0"));
  EXPECT_TRUE(contains(text, "mediapath_target_healthy{target=\"proxy-a\"} 0"));
  EXPECT_TRUE(
      contains(text, "mediapath_failover_active{group=\"media-proxy\",target=\"proxy-b\"} 0"));
  EXPECT_TRUE(
      contains(text, "mediapath_failovers_total{group=\"media-proxy\",result=\"applied\"} 0"));
  EXPECT_TRUE(contains(text, "mediapath_failover_panic{group=\"media-proxy\"} 0"));
  EXPECT_TRUE(contains(text, "mediapath_build_info{version=\"1.2.3\"} 1"));
  EXPECT_TRUE(contains(text, "mediapath_site_info{site=\"fra-office\"} 1"));
  EXPECT_TRUE(contains(text, "mediapath_config_last_reload_successful 1"));
}

TEST(Metrics, RecordsARoundInBaseUnits) {
  Metrics m("s", "v");
  m.addTarget("stun-a", "stun", true);
  ProbeSample sample{"stun-a", "stun",       true,         {0.004, 0.012}, 0.0015, 0.2,
                     4.3,      std::nullopt, std::nullopt, std::nullopt,   "",     std::nullopt};
  m.recordProbe(sample);
  m.setTargetHealthy("stun-a", true);
  std::string text = m.serialize();
  EXPECT_TRUE(contains(text, "mediapath_probe_success{kind=\"stun\",target=\"stun-a\"} 1"));
  EXPECT_TRUE(
      contains(text, "mediapath_probe_rtt_seconds_count{kind=\"stun\",target=\"stun-a\"} 2"));
  EXPECT_TRUE(contains(
      text, "mediapath_probe_rtt_seconds_bucket{kind=\"stun\",target=\"stun-a\",le=\"0.005\"} 1"));
  EXPECT_TRUE(contains(
      text, "mediapath_probe_rtt_seconds_bucket{kind=\"stun\",target=\"stun-a\",le=\"0.02\"} 2"));
  EXPECT_TRUE(contains(text, "mediapath_probe_loss_ratio{kind=\"stun\",target=\"stun-a\"} 0.2"));
  EXPECT_TRUE(contains(text, "mediapath_probe_mos{kind=\"stun\",target=\"stun-a\"} 4.3"));
  EXPECT_TRUE(contains(text, "mediapath_target_healthy{target=\"stun-a\"} 1"));
}

TEST(Metrics, RemovedTargetLeavesNoSeries) {
  Metrics m("s", "v");
  m.addTarget("dns-a", "dns", false);
  m.addTarget("tcp-a", "tcp", false);
  EXPECT_TRUE(contains(m.serialize(), "mediapath_dns_lookup_seconds{target=\"dns-a\"}"));
  m.removeTarget("dns-a");
  std::string text = m.serialize();
  EXPECT_FALSE(contains(text, "dns-a"));
  EXPECT_TRUE(contains(text, "tcp-a"));
}

TEST(Metrics, FiguresAKindNeverMeasuresHaveNoSeries) {
  Metrics m("s", "v");
  m.addTarget("tcp-a", "tcp", false);
  m.addTarget("dns-a", "dns", false);
  m.addTarget("sip-udp", "sip", true);
  // A round that carries jitter and MOS anyway must not create them for a tcp target.
  m.recordProbe({"tcp-a",
                 "tcp",
                 true,
                 {0.002},
                 0.001,
                 0.0,
                 4.4,
                 std::nullopt,
                 std::nullopt,
                 std::nullopt,
                 "",
                 std::nullopt});
  std::string text = m.serialize();
  EXPECT_FALSE(contains(text, "mediapath_probe_mos{kind=\"tcp\""));
  EXPECT_FALSE(contains(text, "mediapath_probe_jitter_seconds{kind=\"tcp\""));
  EXPECT_FALSE(contains(text, "mediapath_probe_mos{kind=\"dns\""));
  EXPECT_FALSE(contains(text, "mediapath_probe_jitter_seconds{kind=\"dns\""));
  EXPECT_TRUE(contains(text, "mediapath_probe_loss_ratio{kind=\"tcp\",target=\"tcp-a\"} 0"));
  EXPECT_TRUE(contains(text, "mediapath_probe_mos{kind=\"sip\",target=\"sip-udp\"} Nan"));
  EXPECT_TRUE(
      contains(text, "mediapath_probe_jitter_seconds{kind=\"sip\",target=\"sip-udp\"} Nan"));
  m.removeTarget("tcp-a");
  EXPECT_FALSE(contains(m.serialize(), "tcp-a"));
}

TEST(Metrics, RelayTargetsAddOneWayDelayAndReorderingByTarget) {
  Metrics m("s", "v");
  m.addTarget("loop-a", "relay", true);
  m.addTarget("stun-a", "stun", true);
  std::string text = m.serialize();
  // From start-up, NaN until the first stream; other kinds carry no such series.
  EXPECT_TRUE(contains(text, "mediapath_probe_one_way_seconds{target=\"loop-a\"} Nan"));
  EXPECT_TRUE(contains(text, "mediapath_probe_reordered_ratio{target=\"loop-a\"} Nan"));
  EXPECT_FALSE(contains(text, "mediapath_probe_one_way_seconds{target=\"stun-a\"}"));
  ProbeSample sample{"loop-a", "relay",      true,  {0.08, 0.09}, 0.004, 0.1,
                     4.1,      std::nullopt, 0.041, 0.02,         "",    std::nullopt};
  m.recordProbe(sample);
  text = m.serialize();
  EXPECT_TRUE(contains(text, "mediapath_probe_one_way_seconds{target=\"loop-a\"} 0.041"));
  EXPECT_TRUE(contains(text, "mediapath_probe_reordered_ratio{target=\"loop-a\"} 0.02"));
  EXPECT_TRUE(contains(text, "mediapath_probe_mos{kind=\"relay\",target=\"loop-a\"} 4.1"));
  EXPECT_TRUE(
      contains(text, "mediapath_probe_rtt_seconds_count{kind=\"relay\",target=\"loop-a\"} 2"));
  m.removeTarget("loop-a");
  EXPECT_FALSE(contains(m.serialize(), "loop-a"));
}

TEST(Metrics, NatTargetsCarryOneMappingSeriesPerBehaviour) {
  Metrics m("s", "v");
  m.addTarget("nat", "nat", false);
  m.addTarget("stun-a", "stun", true);
  std::string text = m.serialize();
  // From start-up every behaviour is 0 (none found yet); other kinds carry no such series.
  for (const char* b :
       {"endpoint-independent", "address-dependent", "address-and-port-dependent", "unknown"}) {
    EXPECT_TRUE(contains(
        text, std::string("mediapath_nat_mapping_info{behaviour=\"") + b + "\",target=\"nat\"} 0"))
        << b << "\n"
        << text;
  }
  EXPECT_FALSE(
      contains(text, "mediapath_nat_mapping_info{behaviour=\"unknown\",target=\"stun-a\"}"));
  EXPECT_FALSE(contains(text, "mediapath_probe_mos{kind=\"nat\""));
  ProbeSample sample;
  sample.target = "nat";
  sample.kind = "nat";
  sample.ok = true;
  sample.nat_mapping = "address-and-port-dependent";
  m.recordProbe(sample);
  text = m.serialize();
  EXPECT_TRUE(contains(
      text,
      "mediapath_nat_mapping_info{behaviour=\"address-and-port-dependent\",target=\"nat\"} 1"));
  EXPECT_TRUE(contains(
      text, "mediapath_nat_mapping_info{behaviour=\"endpoint-independent\",target=\"nat\"} 0"));
  // A round that classified nothing (it failed) leaves the last behaviour standing.
  ProbeSample failed;
  failed.target = "nat";
  failed.kind = "nat";
  m.recordProbe(failed);
  EXPECT_TRUE(contains(
      m.serialize(),
      "mediapath_nat_mapping_info{behaviour=\"address-and-port-dependent\",target=\"nat\"} 1"));
  m.removeTarget("nat");
  EXPECT_FALSE(contains(m.serialize(), "target=\"nat\""));
}

// Issue #16: a TLS target has its certificate's notAfter, by target; other targets have none,
// and a reload that turns TLS off removes it.
TEST(Metrics, TlsTargetsCarryTheirCertificateExpiry) {
  Metrics m("s", "v");
  m.addTarget("proxy-tls", "sip", false);
  m.setTlsTarget("proxy-tls", true);
  m.addTarget("proxy-udp", "sip", true);
  m.setTlsTarget("proxy-udp", false);
  m.setTlsTarget("not-added", true);
  std::string text = m.serialize();
  EXPECT_TRUE(
      contains(text, "mediapath_tls_cert_not_after_timestamp_seconds{target=\"proxy-tls\"} Nan"));
  EXPECT_FALSE(contains(text, "mediapath_tls_cert_not_after_timestamp_seconds{target=\"proxy-udp"));
  EXPECT_FALSE(contains(text, "not-added"));
  ProbeSample sample;
  sample.target = "proxy-tls";
  sample.kind = "sip";
  sample.ok = true;
  sample.cert_not_after_seconds = 1798761600;  // 2027-01-01T00:00:00Z
  m.recordProbe(sample);
  // A failed handshake has no certificate: the last one seen stays.
  sample.ok = false;
  sample.cert_not_after_seconds.reset();
  m.recordProbe(sample);
  EXPECT_TRUE(
      contains(m.serialize(),
               "mediapath_tls_cert_not_after_timestamp_seconds{target=\"proxy-tls\"} 1798761600"));
  m.setTlsTarget("proxy-tls", false);
  EXPECT_FALSE(contains(m.serialize(), "mediapath_tls_cert_not_after_timestamp_seconds{"));
  m.setTlsTarget("proxy-tls", true);
  m.removeTarget("proxy-tls");
  EXPECT_FALSE(contains(m.serialize(), "proxy-tls"));
}

TEST(Metrics, SocketDropsCountWhatTheRunningTotalGrew) {
  Metrics m("s", "v");
  EXPECT_TRUE(contains(m.serialize(), "mediapath_probe_socket_drops_total 0"));
  m.setProbeSocketDrops(5);
  m.setProbeSocketDrops(5);
  m.setProbeSocketDrops(12);
  EXPECT_TRUE(contains(m.serialize(), "mediapath_probe_socket_drops_total 12"));
  m.setProbeSocketDrops(3);  // never backwards
  EXPECT_TRUE(contains(m.serialize(), "mediapath_probe_socket_drops_total 12"));
}

TEST(Metrics, SkippedRoundsCountEveryTickTheSchedulerLost) {
  Metrics m("s", "v");
  m.addTarget("proxy-a", "sip", true);
  EXPECT_TRUE(
      contains(m.serialize(), "mediapath_probe_rounds_skipped_total{target=\"proxy-a\"} 0"));
  m.countSkippedRounds("proxy-a", 1);
  m.countSkippedRounds("proxy-a", 3);  // a stalled loop reports its missed ticks at once
  m.countSkippedRounds("gone", 1);     // a target that left the config is ignored
  EXPECT_TRUE(
      contains(m.serialize(), "mediapath_probe_rounds_skipped_total{target=\"proxy-a\"} 4"));
}

TEST(Metrics, FailoverAndGenesysCounters) {
  Metrics m("s", "v");
  m.addFailoverGroup("g", {"a", "b"});
  m.setFailoverActive("g", "b");
  m.countFailover("g", "applied");
  m.setFailoverPanic("g", true);
  m.countGenesysRequest("location.patch", 200);
  m.countGenesysRequest("location.patch", 200);
  m.countGenesysRequest("location.patch", 0);
  m.setConfigReloadSuccessful(false);
  std::string text = m.serialize();
  EXPECT_TRUE(contains(text, "mediapath_failover_active{group=\"g\",target=\"a\"} 0"));
  EXPECT_TRUE(contains(text, "mediapath_failover_active{group=\"g\",target=\"b\"} 1"));
  EXPECT_TRUE(contains(text, "mediapath_failovers_total{group=\"g\",result=\"applied\"} 1"));
  EXPECT_TRUE(contains(text, "mediapath_failover_panic{group=\"g\"} 1"));
  EXPECT_TRUE(contains(
      text, "mediapath_genesys_requests_total{code=\"200\",operation=\"location.patch\"} 2"));
  EXPECT_TRUE(contains(
      text, "mediapath_genesys_requests_total{code=\"0\",operation=\"location.patch\"} 1"));
  EXPECT_TRUE(contains(text, "mediapath_config_last_reload_successful 0"));
  m.removeFailoverGroup("g");
  EXPECT_FALSE(contains(m.serialize(), "group=\"g\""));
}

std::optional<HttpReply> healthzPage(const std::string& path) {
  if (path == "/healthz") return HttpReply{200, "text/plain", "ok\n"};
  return std::nullopt;
}

TEST(MetricsServer, ServesMetricsAndPagesOnOnePort) {
  Metrics m("s", "v");
  m.addTarget("stun-a", "stun", true);
  MetricsServer server("127.0.0.1:0", m, healthzPage);
  ASSERT_GT(server.port(), 0);
  std::string base = "http://127.0.0.1:" + std::to_string(server.port());
  auto metrics = testing::runCommand({"curl", "-sS", base + "/metrics"});
  EXPECT_EQ(metrics.exit_code, 0);
  EXPECT_TRUE(contains(metrics.output, "mediapath_probe_success{kind=\"stun\",target=\"stun-a\"}"));
  auto health = testing::runCommand({"curl", "-sS", "-w", "%{http_code}", base + "/healthz"});
  EXPECT_EQ(health.output, "ok\n200");
  auto missing =
      testing::runCommand({"curl", "-sS", "-w", "%{http_code}", "-o", "/dev/null", base + "/nope"});
  EXPECT_EQ(missing.output, "404");
}

TEST(MetricsServer, BusyPortIsAClearError) {
  Metrics m("s", "v");
  MetricsServer first("127.0.0.1:0", m, nullptr);
  std::string listen = "127.0.0.1:" + std::to_string(first.port());
  try {
    MetricsServer second(listen, m, nullptr);
    FAIL() << "second server on the same port started";
  } catch (const std::runtime_error& e) {
    EXPECT_TRUE(contains(e.what(), "cannot listen on " + listen)) << e.what();
  }
}

/// A client of the endpoint that connects and then sends nothing, or a byte at a time.
class HostileClient {
 public:
  explicit HostileClient(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<std::uint16_t>(port));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof(to)) == 0;
  }
  ~HostileClient() { ::close(fd_); }
  HostileClient(const HostileClient&) = delete;
  HostileClient& operator=(const HostileClient&) = delete;

  bool connected() const { return connected_; }
  void sendByte(char c) const { (void)::send(fd_, &c, 1, MSG_NOSIGNAL); }
  /// True when the server closed the connection within `limit` (EOF or reset).
  bool closedByServerWithin(std::chrono::milliseconds limit) const {
    timeval tv{static_cast<time_t>(limit.count() / 1000),
               static_cast<suseconds_t>(limit.count() % 1000 * 1000)};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char buf[512];
    ssize_t n = 0;
    while ((n = ::recv(fd_, buf, sizeof(buf), 0)) > 0) {
    }
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }

 private:
  int fd_;
  bool connected_ = false;
};

// Issue #19 item 4: two idle connections used to take down /metrics, /healthz and / (two worker
// threads, civetweb's 30 s request timeout). Now kHttpSlowClientsTolerated idle sockets plus a
// few slowloris clients (a header byte a second) leave every scrape answered at once, and each
// of them is cut off after kHttpRequestTimeout. With the old settings every scrape here fails.
TEST(MetricsServer, IdleAndSlowlorisClientsCannotBlockAScrape) {
  Metrics m("s", "v");
  m.addTarget("stun-a", "stun", true);
  MetricsServer server("127.0.0.1:0", m, healthzPage);
  auto opened = std::chrono::steady_clock::now();
  std::vector<std::unique_ptr<HostileClient>> idle;
  for (int i = 0; i < kHttpSlowClientsTolerated; ++i) {
    idle.push_back(std::make_unique<HostileClient>(server.port()));
    ASSERT_TRUE(idle.back()->connected());
  }
  std::vector<std::unique_ptr<HostileClient>> slow;
  for (int i = 0; i < 4; ++i) {
    slow.push_back(std::make_unique<HostileClient>(server.port()));
    ASSERT_TRUE(slow.back()->connected());
  }
  std::atomic<bool> done{false};
  std::thread slowloris([&] {
    const std::string request = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaa";
    for (std::size_t i = 0; !done && i < request.size(); ++i) {
      for (auto& c : slow) c->sendByte(request[i]);
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  });

  // Scrapes over a span longer than the request timeout: while the hostile clients hold their
  // workers, and after they were cut off.
  httplib::Client client("127.0.0.1", server.port());
  client.set_connection_timeout(std::chrono::seconds(2));
  client.set_read_timeout(std::chrono::seconds(2));
  std::chrono::milliseconds slowest{0};
  int scrapes = 0;
  while (std::chrono::steady_clock::now() - opened <
         kHttpRequestTimeout + std::chrono::seconds(2)) {
    for (const char* path : {"/metrics", "/healthz"}) {
      auto started = std::chrono::steady_clock::now();
      auto reply = client.Get(path);
      auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - started);
      slowest = std::max(slowest, took);
      ++scrapes;
      ASSERT_TRUE(reply) << path << " failed after " << took.count() << " ms";
      EXPECT_EQ(reply->status, 200) << path;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  EXPECT_LT(slowest, std::chrono::milliseconds(1000)) << "over " << scrapes << " scrapes";
  RecordProperty("slowest_scrape_ms", static_cast<int>(slowest.count()));

  // Every hostile connection was closed by the server, not left to hold a worker.
  for (auto& c : idle) EXPECT_TRUE(c->closedByServerWithin(std::chrono::milliseconds(1000)));
  for (auto& c : slow) EXPECT_TRUE(c->closedByServerWithin(std::chrono::milliseconds(1000)));
  done = true;
  slowloris.join();
}

}  // namespace
}  // namespace mediapath::reporter
