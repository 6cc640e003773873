// `mediapath-agent run` as people use it every day: a real Prometheus scrapes the agent while it
// probes real coturn, kamailio and dnsmasq; the dashboard's and alert rules' expressions run
// against that Prometheus; SIGHUP reloads; SIGTERM stops cleanly (under ASan: no leak).
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "tests/integration/agent_process.h"
#include "tests/integration/genesys_support.h"
#include "tests/support/peers.h"
#include "tests/support/tls_sip_responder.h"

namespace mediapath::testing {
namespace {

using nlohmann::json;
using std::chrono::seconds;

class RunAgentTest : public ::testing::Test {
 protected:
  RunAgentTest()
      : coturn_(dir_),
        kamailio_(dir_),
        dnsmasq_(dir_),
        pki_(dir_),
        emulator_(dir_, pki_, EmulatorSchema::kSeed),
        sip_tls_(dir_, TlsPki::Files{pki_.cert, pki_.key}) {}

  json baseConfig() {
    std::string turn_port = std::to_string(coturn_.port());
    return json{
        {"site", {{"name", "run-test-office"}}},
        {"probing",
         {{"interval", "1s"},
          {"timeout", "500ms"},
          {"burst", {{"packets", 3}, {"spacing", "20ms"}}}}},
        {"dns", {{"servers", {dnsmasq_.server()}}}},
        {"targets",
         {{{"name", "stun-a"}, {"kind", "stun"}, {"host", "127.0.0.1"}, {"port", coturn_.port()}},
          {{"name", "turn-a"},
           {"kind", "turn"},
           {"host", "127.0.0.1"},
           {"port", coturn_.port()},
           {"username", "test"},
           {"password_env", "TURN_PASSWORD"}},
          {{"name", "proxy-a"}, {"kind", "sip"}, {"host", "127.0.0.1"}, {"port", kamailio_.port()}},
          {{"name", "proxy-a-tcp"},
           {"kind", "tcp"},
           {"host", "127.0.0.1"},
           {"port", kamailio_.port()}},
          {{"name", "proxy-dns"}, {"kind", "dns"}, {"host", "sip.example.test"}, {"record", "A"}},
          {{"name", "proxy-tls"},
           {"kind", "sip"},
           {"transport", "tls"},
           {"host", "127.0.0.1"},
           {"port", sip_tls_.port()},
           {"server_name", "localhost"},
           {"ca_file", pki_.ca}},
          // coturn without a second address: no OTHER-ADDRESS, so the mapping is "unknown".
          {{"name", "nat-a"},
           {"kind", "nat"},
           {"host", "127.0.0.1"},
           {"port", coturn_.port()},
           {"interval", "2s"}},  // a nat round takes up to 2 x timeout
          {{"name", "loop-a"},
           {"kind", "relay"},
           {"host", "127.0.0.1"},
           {"port", coturn_.port()},
           {"username", "test"},
           {"password_env", "TURN_PASSWORD"},
           {"interval", "2s"},
           {"stream", {{"packets", 10}, {"spacing", "20ms"}}}}}},
        {"failover",
         {{{"name", "media-proxy"},
           {"candidates", {"proxy-a", "proxy-a-tcp"}},
           {"apply_to", {{"location_path", "/media/proxy"}}}}}},
        {"genesys",
         {{"api_base_url", emulator_.baseUrl()},
          {"login_base_url", emulator_.baseUrl()},
          {"ca_file", pki_.ca},
          {"mode", "plan"},
          {"schema", "seed"},
          {"client_id_env", "GENESYS_CLIENT_ID"},
          {"client_secret_env", "GENESYS_CLIENT_SECRET"},
          {"location_id", "not-created"}}}};
  }

  std::unique_ptr<AgentProcess> start(const json& config) {
    config_path_ = dir_.write("site.json", config.dump(2));
    auto agent = std::make_unique<AgentProcess>(
        dir_, config_path_, dir_.file("state"),
        std::map<std::string, std::string>{{"TURN_PASSWORD", "secret"},
                                           {"GENESYS_CLIENT_ID", kGenesysClientId},
                                           {"GENESYS_CLIENT_SECRET", kGenesysSecret}});
    EXPECT_TRUE(waitUntil([&] { return agent->ready(); }, seconds(20))) << agent->log();
    return agent;
  }

  TempDir dir_;
  Coturn coturn_;
  Kamailio kamailio_;
  Dnsmasq dnsmasq_;
  TestPki pki_;
  EmulatorProcess emulator_;
  TlsSipResponder sip_tls_;  // SIP over TLS with the emulator's certificate (valid two days)
  std::string config_path_;
};

class Prometheus {
 public:
  Prometheus(const TempDir& dir, const std::string& scrape_target) {
    port_ = freePort(SocketType::kTcp);
    std::string config = dir.write("prometheus.yml",
                                   "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                                   "rule_files: ['" MEDIAPATH_SOURCE_DIR
                                   "/config/alerts.yml']\n"
                                   "scrape_configs:\n  - job_name: mediapath\n"
                                   "    static_configs:\n      - targets: ['" +
                                       scrape_target + "']\n");
    process_ = std::make_unique<Subprocess>(
        std::vector<std::string>{"prometheus", "--config.file=" + config,
                                 "--storage.tsdb.path=" + dir.file("prometheus-data"),
                                 "--web.listen-address=127.0.0.1:" + std::to_string(port_)},
        dir.file("prometheus.log"));
    if (!waitForTcpPort("127.0.0.1", port_, seconds(20))) {
      throw std::runtime_error("prometheus did not start: " + process_->log());
    }
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  json query(const std::string& promql) const {
    auto r = runCommand(
        {"curl", "-s", "-G", url() + "/api/v1/query", "--data-urlencode", "query=" + promql});
    return json::parse(r.output, nullptr, false);
  }
  std::string log() const { return process_->log(); }

 private:
  std::uint16_t port_ = 0;
  std::unique_ptr<Subprocess> process_;
};

TEST_F(RunAgentTest, PrometheusScrapesEveryFamilyAndEveryDashboardAndAlertExpressionRuns) {
  auto agent = start(baseConfig());
  Prometheus prometheus(dir_, "127.0.0.1:" + std::to_string(agent->port()));

  // Every family of DESIGN.md, with its labels, as Prometheus stored it.
  const std::set<std::string> families{"mediapath_probe_success",
                                       "mediapath_probe_rtt_seconds_bucket",
                                       "mediapath_probe_jitter_seconds",
                                       "mediapath_probe_loss_ratio",
                                       "mediapath_probe_mos",
                                       "mediapath_dns_lookup_seconds",
                                       "mediapath_target_healthy",
                                       "mediapath_failover_active",
                                       "mediapath_failovers_total",
                                       "mediapath_failover_panic",
                                       "mediapath_genesys_requests_total",
                                       "mediapath_config_last_reload_successful",
                                       "mediapath_build_info",
                                       "mediapath_site_info",
                                       "mediapath_probe_rounds_skipped_total",
                                       "mediapath_probe_one_way_seconds",
                                       "mediapath_probe_reordered_ratio",
                                       "mediapath_nat_mapping_info",
                                       "mediapath_tls_cert_not_after_timestamp_seconds"};
  std::set<std::string> seen;
  ASSERT_TRUE(waitUntil(
      [&] {
        seen.clear();
        json r = prometheus.query("count by (__name__) ({__name__=~\"mediapath_.+\"})");
        if (!r.is_object() || r.value("status", "") != "success") return false;
        for (const auto& s : r["data"]["result"]) seen.insert(s["metric"]["__name__"]);
        for (const auto& f : families) {
          if (seen.count(f) == 0) return false;
        }
        return true;
      },
      seconds(30)))
      << "seen: " << json(seen).dump() << "\n"
      << prometheus.log();

  json kinds = prometheus.query("count by (kind) (mediapath_probe_success)");
  EXPECT_EQ(kinds["data"]["result"].size(), 7u) << kinds.dump();
  // The certificate the TLS target saw: the emulator's, valid for two days from its making.
  json cert = prometheus.query(
      "mediapath_tls_cert_not_after_timestamp_seconds{target=\"proxy-tls\"} - time()");
  ASSERT_EQ(cert["data"]["result"].size(), 1u) << cert.dump();
  double left = std::stod(cert["data"]["result"][0]["value"][1].get<std::string>());
  EXPECT_GT(left, 2 * 86400 - 600);
  EXPECT_LT(left, 2 * 86400 + 600);
  json nat = prometheus.query("mediapath_nat_mapping_info{target=\"nat-a\"} == 1");
  ASSERT_EQ(nat["data"]["result"].size(), 1u) << nat.dump();
  EXPECT_EQ(nat["data"]["result"][0]["metric"]["behaviour"], "unknown");
  json up = prometheus.query("mediapath_probe_success{target=\"turn-a\",kind=\"turn\"}");
  ASSERT_EQ(up["data"]["result"].size(), 1u);
  EXPECT_EQ(up["data"]["result"][0]["value"][1], "1") << agent->log();
  json site = prometheus.query("mediapath_site_info");
  EXPECT_EQ(site["data"]["result"][0]["metric"]["site"], "run-test-office");

  // A few seconds of history so that rate()/increase() over [5m] have two samples.
  std::this_thread::sleep_for(seconds(4));
  auto check = runCommand(
      {MEDIAPATH_SOURCE_DIR "/scripts/check-dashboard", prometheus.url(), "--require-data"}, {},
      seconds(120));
  EXPECT_EQ(check.exit_code, 0) << check.output;

  // The exposition itself is clean for promtool's linter.
  auto lint =
      runCommand({"sh", "-c", "curl -s " + agent->url("/metrics") + " | promtool check metrics"});
  EXPECT_EQ(lint.exit_code, 0) << lint.output;

  // The status page and the probes' endpoints.
  auto [status, page] = httpGet(agent->url("/"));
  EXPECT_EQ(status, 200);
  for (const char* name : {"stun-a", "turn-a", "proxy-a", "proxy-a-tcp", "proxy-dns", "proxy-tls",
                           "nat-a", "loop-a", "media-proxy"}) {
    EXPECT_NE(page.find(name), std::string::npos) << name;
  }
  EXPECT_NE(page.find("http-equiv=\"refresh\""), std::string::npos);
  EXPECT_EQ(httpGet(agent->url("/healthz")).first, 200);
  EXPECT_EQ(httpGet(agent->url("/-/ready")).first, 200);
  EXPECT_EQ(agent->stop(), 0) << agent->log();
}

TEST_F(RunAgentTest, SighupReloadsWithoutRestartAndKeepsTheOldConfigOnErrors) {
  auto agent = start(baseConfig());
  pid_t pid = agent->pid();

  // Add a target, remove one.
  json next = baseConfig();
  next["targets"].erase(0);  // stun-a leaves
  next["targets"].push_back(
      {{"name", "stun-b"}, {"kind", "stun"}, {"host", "127.0.0.1"}, {"port", coturn_.port()}});
  dir_.write("site.json", next.dump(2));
  agent->signal(SIGHUP);
  ASSERT_TRUE(waitUntil(
      [&] {
        return agent->metric("mediapath_probe_success{kind=\"stun\",target=\"stun-b\"}") == 1.0;
      },
      seconds(15)))
      << agent->log();
  std::string metrics = agent->metrics();
  EXPECT_EQ(metrics.find("target=\"stun-a\""), std::string::npos);
  EXPECT_EQ(agent->metric("mediapath_config_last_reload_successful"), 1.0);
  EXPECT_TRUE(agent->running());
  EXPECT_EQ(agent->pid(), pid);

  // An invalid file: logged with its errors, the running config stays, the gauge drops.
  dir_.write("site.json",
             R"({"site": {"name": "x"}, "targets": [{"name": "t", "kind": "stunn"}]})");
  agent->signal(SIGHUP);
  ASSERT_TRUE(
      waitUntil([&] { return agent->metric("mediapath_config_last_reload_successful") == 0.0; },
                seconds(10)));
  EXPECT_NE(agent->log().find("reload rejected"), std::string::npos);
  EXPECT_NE(agent->log().find("/targets/0/kind: unknown kind \"stunn\""), std::string::npos)
      << agent->log();
  auto rounds_before =
      agent->metric("mediapath_probe_rtt_seconds_count{kind=\"stun\",target=\"stun-b\"}");
  std::this_thread::sleep_for(seconds(2));
  auto rounds_after =
      agent->metric("mediapath_probe_rtt_seconds_count{kind=\"stun\",target=\"stun-b\"}");
  ASSERT_TRUE(rounds_before && rounds_after);
  EXPECT_GT(*rounds_after, *rounds_before) << "the old config stopped probing";
  EXPECT_EQ(agent->pid(), pid);

  // Clean shutdown: exit 0 (the ASan build would exit non-zero on a leak).
  EXPECT_EQ(agent->stop(), 0) << agent->log();
  EXPECT_NE(agent->log().find("stopped cleanly"), std::string::npos);
}

TEST_F(RunAgentTest, AStalledAgentCountsTheRoundsItSkipped) {
  // SIGSTOP freezes the whole agent (loop and HTTP threads) as a suspended VM or an overloaded
  // host would: the 1 s ticks it missed are skipped, not fired back to back, and counted.
  auto agent = start(baseConfig());
  const std::string series = "mediapath_probe_rounds_skipped_total{target=\"stun-a\"}";
  auto before = agent->metric(series);
  ASSERT_TRUE(before) << agent->metrics();
  agent->signal(SIGSTOP);
  std::this_thread::sleep_for(std::chrono::milliseconds(3500));
  agent->signal(SIGCONT);
  std::optional<double> after;
  EXPECT_TRUE(waitUntil(
      [&] {
        after = agent->metric(series);
        return after && *after >= *before + 2;
      },
      seconds(10)))
      << series << " went from " << *before << " to " << after.value_or(-1);
  EXPECT_EQ(agent->stop(), 0) << agent->log();
}

TEST_F(RunAgentTest, BusyListenAddressFailsStartUp) {
  std::uint16_t port = freePort(SocketType::kTcp);
  Subprocess blocker({"python3", "-c",
                      "import socket,time;s=socket.socket();s.setsockopt(socket.SOL_SOCKET,"
                      "socket.SO_REUSEADDR,1);s.bind(('127.0.0.1'," +
                          std::to_string(port) + "));s.listen();time.sleep(30)"},
                     dir_.file("blocker.log"));
  ASSERT_TRUE(waitForTcpPort("127.0.0.1", port, seconds(5)));
  std::string config = dir_.write("site.json", baseConfig().dump());
  auto r = runCommand({MEDIAPATH_AGENT_BINARY, "run", "--config", config, "--state-dir",
                       dir_.file("state"), "--listen", "127.0.0.1:" + std::to_string(port)},
                      {{"TURN_PASSWORD", "secret"},
                       {"GENESYS_CLIENT_ID", kGenesysClientId},
                       {"GENESYS_CLIENT_SECRET", kGenesysSecret}},
                      seconds(20));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("cannot listen on 127.0.0.1:" + std::to_string(port)), std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace mediapath::testing
