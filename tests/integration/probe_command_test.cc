// `mediapath-agent probe`, run as a user would, against dnsmasq and a closed TCP port.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/peers.h"
#include "tests/support/process.h"

namespace mediapath {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

/// The JSON Lines of the output keyed by target (stderr lines, if any, are not JSON objects).
std::map<std::string, json> jsonLines(const std::string& output) {
  std::map<std::string, json> out;
  std::istringstream in(output);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] != '{') continue;
    json j = json::parse(line);
    out[j.at("target").get<std::string>()] = j;
  }
  return out;
}

class ProbeCommandTest : public ::testing::Test {
 protected:
  void SetUp() override { dns_ = std::make_unique<testing::Dnsmasq>(dir_); }

  std::string writeConfig(const std::string& targets) {
    return dir_.write("agent.json", R"({
      // written by probe_command_test
      "site": {"name": "test-office"},
      "probing": {"interval": "5s", "timeout": "1s"},
      "dns": {"servers": [")" + dns_->server() +
                                        R"("]},
      "targets": [)" + targets + R"(]
    })");
  }

  testing::CommandResult probe(const std::vector<std::string>& args,
                               std::map<std::string, std::string> env = {}) {
    std::vector<std::string> argv = {MEDIAPATH_AGENT_BINARY, "probe"};
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::runCommand(argv, std::move(env), 30s);
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::Dnsmasq> dns_;
};

TEST_F(ProbeCommandTest, JsonLinesForDnsAndClosedTcpPortExitOne) {
  std::uint16_t closed = testing::freePort(testing::SocketType::kTcp);
  std::string config = writeConfig(R"(
      {"name": "sip-dns", "kind": "dns", "host": "sip.example.test"},
      {"name": "sip-srv", "kind": "dns", "host": "_sip._udp.example.test", "record": "SRV"},
      {"name": "proxy-b-dns", "kind": "dns", "host": "proxy-b.example.test"},
      {"name": "closed-tcp", "kind": "tcp", "host": "127.0.0.1", "port": )" +
                                   std::to_string(closed) + "}");
  auto start = std::chrono::steady_clock::now();
  auto r = probe({"--config", config, "--format", "json"});
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_EQ(r.output.find("did not close cleanly"), std::string::npos) << r.output;
  auto lines = jsonLines(r.output);
  ASSERT_EQ(lines.size(), 4u) << r.output;

  // Every line carries the common fields, in the documented shape.
  for (const auto& [name, j] : lines) {
    for (const char* key : {"target", "kind", "address", "ok", "error", "sent", "received", "loss",
                            "rtt_ms", "jitter_ms", "mos", "timestamps"}) {
      EXPECT_TRUE(j.contains(key)) << name << " lacks " << key;
    }
  }
  const json& a = lines.at("sip-dns");
  EXPECT_EQ(a["kind"], "dns");
  EXPECT_EQ(a["address"], "sip.example.test");
  EXPECT_EQ(a["ok"], true);
  EXPECT_TRUE(a["error"].is_null());
  EXPECT_EQ(a["addresses"], json::array({"127.0.0.1"}));
  ASSERT_TRUE(a["lookup_ms"].is_number());
  EXPECT_GT(a["lookup_ms"].get<double>(), 0.0);
  EXPECT_LT(a["lookup_ms"].get<double>(), 1000.0);
  EXPECT_EQ(a["sent"], 1);
  EXPECT_EQ(a["received"], 1);
  EXPECT_EQ(a["loss"], 0.0);
  EXPECT_TRUE(a["rtt_ms"].is_null());
  EXPECT_TRUE(a["mos"].is_null());
  EXPECT_EQ(a["timestamps"], "loop");  // a lookup time: only the loop times it

  EXPECT_EQ(lines.at("sip-srv")["addresses"], json::array({"sip.example.test:5060"}));
  EXPECT_EQ(lines.at("sip-srv")["ok"], true);

  const json& nx = lines.at("proxy-b-dns");
  EXPECT_EQ(nx["ok"], false);
  EXPECT_EQ(nx["error"], "dns: NXDOMAIN for proxy-b.example.test");
  EXPECT_EQ(nx["addresses"], json::array());

  const json& tcp = lines.at("closed-tcp");
  EXPECT_EQ(tcp["kind"], "tcp");
  EXPECT_EQ(tcp["address"], "127.0.0.1:" + std::to_string(closed));
  EXPECT_EQ(tcp["ok"], false);
  EXPECT_TRUE(tcp["error"].is_string());
  EXPECT_FALSE(tcp["error"].get<std::string>().empty());
  EXPECT_FALSE(tcp.contains("addresses"));

  // Lines come in config order.
  std::vector<std::string> order;
  std::istringstream in(r.output);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] == '{') order.push_back(json::parse(line)["target"]);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"sip-dns", "sip-srv", "proxy-b-dns", "closed-tcp"}));
}

TEST_F(ProbeCommandTest, AllSucceedingExitsZeroAndTableIsAligned) {
  std::string config = writeConfig(R"(
      {"name": "sip-dns", "kind": "dns", "host": "sip.example.test"},
      {"name": "turn-dns", "kind": "dns", "host": "turn.example.test"},
      {"name": "closed-tcp", "kind": "tcp", "host": "127.0.0.1", "port": 9})");
  auto r = probe({"--config", config, "--target", "sip-dns", "--target", "turn-dns"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::istringstream in(r.output);
  std::vector<std::string> rows;
  for (std::string line; std::getline(in, line);) rows.push_back(line);
  ASSERT_EQ(rows.size(), 3u) << r.output;  // header + the two selected targets
  EXPECT_EQ(rows[0].rfind("TARGET", 0), 0u);
  EXPECT_EQ(rows[1].rfind("sip-dns ", 0), 0u);
  EXPECT_EQ(rows[2].rfind("turn-dns ", 0), 0u);
  // Columns line up: KIND starts at the same offset in every row.
  auto kind_col = rows[0].find("KIND");
  EXPECT_EQ(rows[1].substr(kind_col, 3), "dns");
  EXPECT_EQ(rows[2].substr(kind_col, 3), "dns");
  EXPECT_NE(r.output.find("127.0.0.1"), std::string::npos);
}

TEST_F(ProbeCommandTest, UnknownTargetExitsTwoNamingIt) {
  std::string config =
      writeConfig(R"({"name": "sip-dns", "kind": "dns", "host": "sip.example.test"})");
  auto r = probe({"--config", config, "--target", "sip-dnss"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("no target named \"sip-dnss\""), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("did you mean \"sip-dns\"?"), std::string::npos) << r.output;
}

TEST_F(ProbeCommandTest, MissingTurnSecretExitsTwoNamingTheVariable) {
  std::string config = writeConfig(R"(
      {"name": "turn-fra", "kind": "turn", "host": "127.0.0.1", "port": 3478,
       "username": "agent", "password_env": "MEDIAPATH_TEST_UNSET_TURN_PASSWORD"})");
  auto r = probe({"--config", config, "--format", "json"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("target turn-fra"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("MEDIAPATH_TEST_UNSET_TURN_PASSWORD"), std::string::npos) << r.output;

  // A secret that is present never appears in the output (the TURN probe fails: nothing
  // listens on that port).
  std::string secret = "s3cr3t-value-never-printed";
  std::uint16_t port = testing::freePort(testing::SocketType::kUdp);
  config = writeConfig(R"(
      {"name": "turn-fra", "kind": "turn", "host": "127.0.0.1", "port": )" +
                       std::to_string(port) + R"(, "timeout": "300ms",
       "username": "agent", "password_env": "MEDIAPATH_TEST_TURN_PASSWORD"})");
  r = probe({"--config", config, "--format", "json"}, {{"MEDIAPATH_TEST_TURN_PASSWORD", secret}});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_EQ(r.output.find(secret), std::string::npos) << r.output;
  EXPECT_EQ(jsonLines(r.output).size(), 1u) << r.output;
}

// A relay target whose `peer` is a turn target on another coturn, named in DNS: allocation B is
// made there with the peer's own credentials, the stream crosses both relays, and the JSON says
// where each relayed address is and that the stream was timed by kernel stamps. No secret leaks.
TEST_F(ProbeCommandTest, RelayWithPeerStreamsThroughTwoCoturnServers) {
  testing::Coturn::Options a_options;
  a_options.ip = "127.0.0.2";
  testing::Coturn a(dir_, a_options);
  testing::Coturn::Options b_options;  // 127.0.0.1: turn.example.test in dnsmasq
  b_options.user = "peer-user";
  b_options.password = "peer-s3cr3t";
  testing::Coturn b(dir_, b_options);
  std::string config = writeConfig(R"(
      {"name": "turn-b", "kind": "turn", "host": "turn.example.test", "port": )" +
                                   std::to_string(b.port()) + R"(,
       "username": "peer-user", "password_env": "MEDIAPATH_TEST_PEER_PASSWORD"},
      {"name": "loop", "kind": "relay", "host": "127.0.0.2", "port": )" +
                                   std::to_string(a.port()) + R"(,
       "username": "test", "password_env": "MEDIAPATH_TEST_TURN_PASSWORD", "peer": "turn-b",
       "stream": {"packets": 10, "size": 172, "spacing": "20ms"}})");
  auto r = probe({"--config", config, "--format", "json"},
                 {{"MEDIAPATH_TEST_TURN_PASSWORD", "secret"},
                  {"MEDIAPATH_TEST_PEER_PASSWORD", "peer-s3cr3t"}});
  EXPECT_EQ(r.exit_code, 0) << r.output << a.log() << b.log();
  auto lines = jsonLines(r.output);
  ASSERT_EQ(lines.size(), 2u) << r.output;
  const json& loop = lines.at("loop");
  EXPECT_EQ(loop["ok"], true) << loop.dump();
  EXPECT_EQ(loop["address"], "127.0.0.2:" + std::to_string(a.port()));
  EXPECT_EQ(loop["relayed_address"].get<std::string>().rfind("127.0.0.2:", 0), 0u) << loop.dump();
  EXPECT_EQ(loop["relayed_address_b"].get<std::string>().rfind("127.0.0.1:", 0), 0u) << loop.dump();
  EXPECT_EQ(loop["sent"], 10);
  EXPECT_EQ(loop["received"], 10);
  EXPECT_EQ(loop["loss_ab"], 0.0);
  EXPECT_EQ(loop["timestamps"], "kernel");
  EXPECT_EQ(lines.at("turn-b")["ok"], true) << lines.at("turn-b").dump();
  EXPECT_EQ(lines.at("turn-b")["timestamps"], "kernel");
  EXPECT_EQ(r.output.find("s3cr3t"), std::string::npos) << r.output;
}

TEST_F(ProbeCommandTest, HungDnsServerReportsTimeoutWithinTheProbeTimeout) {
  std::string config = writeConfig(R"(
      {"name": "sip-dns", "kind": "dns", "host": "sip.example.test", "timeout": "500ms"})");
  dns_->pause();
  auto start = std::chrono::steady_clock::now();
  auto r = probe({"--config", config, "--format", "json"});
  auto elapsed = std::chrono::steady_clock::now() - start;
  dns_->resume();
  EXPECT_EQ(r.exit_code, 1) << r.output;
  auto lines = jsonLines(r.output);
  ASSERT_EQ(lines.size(), 1u) << r.output;
  EXPECT_EQ(lines.at("sip-dns")["error"], "dns: timeout for sip.example.test");
  EXPECT_EQ(lines.at("sip-dns")["received"], 0);
  EXPECT_LT(elapsed, 3s);
}

TEST_F(ProbeCommandTest, TooFewFileDescriptorsFailOnlyTheRoundsBeyondTheProbeBudget) {
  // Every sip/udp target holds a UDP socket; the 20 STUN targets share one, which is part of
  // the fixed reserve. With the hard open-file limit at 120 (no raising it), the SIP probes may
  // hold 120 - 64 = 56: the other 24 of 80 fail with the reason, the STUN targets are not
  // affected, the user is told up front, the reserve stays free, and nothing crashes.
  std::uint16_t closed = testing::freePort(testing::SocketType::kUdp);
  std::string targets;
  auto add = [&](const std::string& name, const char* kind) {
    if (!targets.empty()) targets += ",";
    targets += R"({"name": ")" + name + R"(", "kind": ")" + kind +
               R"(", "host": "127.0.0.1", "timeout": "300ms", "port": )" + std::to_string(closed) +
               R"(, "burst": {"packets": 1, "spacing": "20ms"}})";
  };
  for (int i = 0; i < 20; ++i) add("stun-" + std::to_string(i), "stun");
  for (int i = 0; i < 80; ++i) add("sip-" + std::to_string(i), "sip");
  std::string config = writeConfig(targets);
  auto r = testing::runCommand(
      {"/bin/sh", "-c", "ulimit -n 120 && exec \"$0\" probe --config \"$1\" --format json",
       MEDIAPATH_AGENT_BINARY, config},
      {}, 30s);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("warning: the targets may need 146 open files but the limit is 120 "
                          "(hard limit 120): raise LimitNOFILE="),
            std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("did not close cleanly"), std::string::npos) << r.output;
  auto lines = jsonLines(r.output);
  ASSERT_EQ(lines.size(), 100u) << r.output;
  std::map<std::string, int> errors;  // "kind: error" -> targets
  for (const auto& [name, j] : lines) {
    EXPECT_EQ(j["ok"], false) << name;
    ++errors[j["kind"].get<std::string>() + ": " + j["error"].get<std::string>()];
  }
  // The SIP probes' sockets are connected, so the closed port answers at once (issue 17); the
  // shared STUN socket is not, so STUN waits its timeout.
  std::string refused =
      "sip: 127.0.0.1:" + std::to_string(closed) + ": connection refused (ICMP port unreachable)";
  EXPECT_EQ(errors, (std::map<std::string, int>{
                        {"stun: timeout after 300ms (0/1 replies)", 20},
                        {refused, 56},
                        {"sip: UDP socket: too many open files", 24},
                    }));
}

}  // namespace
}  // namespace mediapath
