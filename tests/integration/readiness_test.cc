// `mediapath-agent readiness`, run as an admin would, against real coturn and kamailio.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/peers.h"
#include "tests/support/process.h"
#include "tests/support/tls_pki.h"

namespace mediapath {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class ReadinessCommandTest : public ::testing::Test {
 protected:
  ReadinessCommandTest() : coturn_(dir_), kamailio_(dir_) {}

  std::string writeConfig(const std::string& password_env, const std::string& readiness) {
    std::string turn = std::to_string(coturn_.port());
    return dir_.write("agent.json", R"({
      "site": {"name": "test-office"},
      "probing": {"interval": "2s", "timeout": "500ms",
                  "burst": {"packets": 5, "spacing": "20ms"}},
      "targets": [
        {"name": "stun-a", "kind": "stun", "host": "127.0.0.1", "port": )" +
                                        turn + R"(},
        {"name": "turn-a", "kind": "turn", "host": "127.0.0.1", "port": )" +
                                        turn + R"(,
         "username": "test", "password_env": "TURN_PASSWORD"},
        {"name": "loop-a", "kind": "relay", "host": "127.0.0.1", "port": )" +
                                        turn + R"(,
         "username": "test", "password_env": ")" +
                                        password_env + R"(",
         "stream": {"packets": 20, "size": 172, "spacing": "20ms"}},
        {"name": "proxy-a", "kind": "sip", "host": "127.0.0.1", "port": )" +
                                        std::to_string(kamailio_.port()) + R"(},
        {"name": "proxy-a-tcp", "kind": "tcp", "host": "127.0.0.1", "port": )" +
                                        std::to_string(kamailio_.port()) + R"(}
      ],
      "readiness": )" + readiness +
                                        R"(
    })");
  }

  testing::CommandResult readiness(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {MEDIAPATH_AGENT_BINARY, "readiness"};
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::runCommand(argv, {{"TURN_PASSWORD", "secret"}, {"WRONG_PASSWORD", "nope"}},
                               60s);
  }

  static const json* check(const json& verdict, const std::string& name,
                           const std::string& target) {
    for (const auto& c : verdict.at("checks")) {
      if (c.at("check") == name &&
          (target.empty() ? c.at("target").is_null() : c.at("target") == target)) {
        return &c;
      }
    }
    return nullptr;
  }

  // A line of the table holding every one of `parts`, in order.
  static bool hasLine(const std::string& output, const std::vector<std::string>& parts) {
    std::istringstream in(output);
    for (std::string line; std::getline(in, line);) {
      std::size_t at = 0;
      bool all = true;
      for (const auto& p : parts) {
        at = line.find(p, at);
        if (at == std::string::npos) {
          all = false;
          break;
        }
        at += p.size();
      }
      if (all) return true;
    }
    return false;
  }

  static json lastJsonLine(const std::string& output) {
    auto start = output.rfind("\n{");
    return json::parse(output.substr(start == std::string::npos ? 0 : start + 1));
  }

  testing::TempDir dir_;
  testing::Coturn coturn_;
  testing::Kamailio kamailio_;
};

TEST_F(ReadinessCommandTest, HealthyLoopbackPathPassesEveryMeasuredCheck) {
  std::string config = writeConfig("TURN_PASSWORD", R"({"media_cidrs": ["127.0.0.0/8"]})");
  auto r = readiness({"--config", config, "--duration", "3s", "--format", "json"});
  // Nothing fails; TURN over tcp and tls are not configured here, which warns.
  EXPECT_EQ(r.exit_code, 0) << r.output;
  json v = lastJsonLine(r.output);
  EXPECT_EQ(v["verdict"], "WARN") << v.dump(2);
  EXPECT_EQ(v["rounds"], 2);

  for (const char* target : {"stun-a", "turn-a", "loop-a", "proxy-a"}) {
    const json* reach = check(v, "reachable", target);
    ASSERT_NE(reach, nullptr) << target;
    EXPECT_EQ((*reach)["result"], "PASS") << target << ": " << (*reach)["figure"];
    EXPECT_EQ((*reach)["figure"], "2/2 rounds ok") << target;
  }
  // tcp targets check a server, not the media path: not judged.
  for (const auto& c : v["checks"]) EXPECT_NE(c["target"], "proxy-a-tcp");

  for (const char* target : {"stun-a", "loop-a", "proxy-a"}) {
    for (const char* name : {"rtt", "loss", "jitter", "mos"}) {
      const json* c = check(v, name, target);
      ASSERT_NE(c, nullptr) << target << " " << name;
      EXPECT_EQ((*c)["result"], "PASS") << target << " " << name << ": " << (*c)["figure"];
    }
    EXPECT_LT((*check(v, "rtt", target))["value"].get<double>(), 20.0) << target;
    EXPECT_EQ((*check(v, "loss", target))["value"].get<double>(), 0.0) << target;
    EXPECT_GT((*check(v, "mos", target))["value"].get<double>(), 4.3) << target;
  }
  ASSERT_NE(check(v, "reorder", "loop-a"), nullptr);
  EXPECT_EQ((*check(v, "reorder", "loop-a"))["value"], 0.0);
  EXPECT_EQ(check(v, "reorder", "stun-a"), nullptr);

  for (const char* target : {"turn-a", "loop-a"}) {
    const json* c = check(v, "relayed address", target);
    ASSERT_NE(c, nullptr) << target;
    EXPECT_EQ((*c)["result"], "PASS") << (*c)["figure"];
    EXPECT_EQ((*c)["figure"], "127.0.0.1");
  }
  EXPECT_EQ((*check(v, "turn over udp", ""))["result"], "PASS");
  EXPECT_EQ((*check(v, "turn over udp", ""))["figure"], "reachable: turn-a, loop-a");
  EXPECT_EQ((*check(v, "turn over tcp", ""))["result"], "WARN");
}

TEST_F(ReadinessCommandTest, WrongPasswordAndForeignRelayBlocksFailWithExitOne) {
  // The relayed addresses are loopback, outside the configured media blocks; the relay loop's
  // password is wrong (turn-a's is right).
  std::string config = writeConfig("WRONG_PASSWORD", R"({"media_cidrs": ["52.129.96.0/20"],
                                                         "max_rtt": "80ms"})");
  auto r = readiness({"--config", config, "--duration", "0"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(hasLine(r.output, {"reachable", "loop-a", "FAIL", "every round", "0/1 rounds ok",
                                 "last error: TURN 401 Unauthorized"}))
      << r.output;
  EXPECT_TRUE(hasLine(r.output, {"rtt", "stun-a", "PASS", "< 80ms", " ms"})) << r.output;
  EXPECT_TRUE(hasLine(r.output, {"relayed address", "turn-a", "FAIL",
                                 "inside readiness.media_cidrs", "outside: 127.0.0.1"}))
      << r.output;
  EXPECT_TRUE(hasLine(r.output, {"turn over udp", "PASS", "reachable", "reachable: turn-a"}))
      << r.output;
  EXPECT_NE(r.output.find("readiness: FAIL ("), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("1 round over 0ms)"), std::string::npos) << r.output;
}

TEST_F(ReadinessCommandTest, BadDurationAndConfigWithoutMediaTargetsAreUsageErrors) {
  std::string config = writeConfig("TURN_PASSWORD", "{}");
  auto bad = readiness({"--config", config, "--duration", "soon"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.output.find("--duration: \"soon\" is not a duration"), std::string::npos)
      << bad.output;

  std::string tcp_only = dir_.write("tcp.json", R"({
    "site": {"name": "t"},
    "targets": [{"name": "t", "kind": "tcp", "host": "127.0.0.1", "port": 1}]})");
  auto none = readiness({"--config", tcp_only});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.output.find("no stun, turn, relay, nat or sip target to judge"), std::string::npos)
      << none.output;

  std::string bad_cidr = dir_.write("cidr.json", R"({
    "site": {"name": "t"},
    "targets": [{"name": "s", "kind": "stun", "host": "127.0.0.1", "port": 3478}],
    "readiness": {"media_cidrs": ["10.0.0.1/8"], "min_mos": 6}})");
  auto cidr = readiness({"--config", bad_cidr});
  EXPECT_EQ(cidr.exit_code, 2);
  EXPECT_NE(cidr.output.find("/readiness/media_cidrs/0: \"10.0.0.1/8\" has host bits set"),
            std::string::npos)
      << cidr.output;
  EXPECT_NE(cidr.output.find("/readiness/min_mos: 6 is not a valid MOS (1-5)"), std::string::npos)
      << cidr.output;
}

// Issue #16: turn and relay over TLS to coturn's TLS listener, through the config, the probes
// and the verdict: the certificate check judges the server certificate they saw, and TURN over
// tls counts as reachable.
TEST_F(ReadinessCommandTest, TurnOverTlsFeedsTheCertificateAndTransportChecks) {
  testing::TlsPki pki(dir_);
  testing::Coturn::Options options;
  options.tls_cert_file = pki.good().cert;
  options.tls_key_file = pki.good().key;
  testing::Coturn tls_coturn(dir_, options);
  std::string port = std::to_string(tls_coturn.tls_port());
  std::string config = dir_.write("tls.json", R"({
    "site": {"name": "test-office"},
    "probing": {"interval": "5s", "timeout": "1s"},
    "targets": [
      {"name": "turn-tls", "kind": "turn", "host": "127.0.0.1", "port": )" +
                                                  port + R"(, "transport": "tls",
       "ca_file": ")" + pki.caFile() + R"(", "server_name": "sip.test",
       "username": "test", "password_env": "TURN_PASSWORD"},
      {"name": "loop-tls", "kind": "relay", "host": "127.0.0.1", "port": )" +
                                                  port + R"(, "transport": "tls",
       "ca_file": ")" + pki.caFile() + R"(",
       "username": "test", "password_env": "TURN_PASSWORD",
       "stream": {"packets": 20, "size": 172, "spacing": "20ms"}}],
    "readiness": {"media_cidrs": ["127.0.0.0/8"]}})");
  auto r = readiness({"--config", config, "--duration", "0", "--format", "json"});
  // No stun or sip target: those checks warn, nothing fails.
  ASSERT_EQ(r.exit_code, 0) << r.output;
  json v = lastJsonLine(r.output);
  for (const char* target : {"turn-tls", "loop-tls"}) {
    const json* reach = check(v, "reachable", target);
    ASSERT_NE(reach, nullptr) << target << "\n" << r.output;
    EXPECT_EQ((*reach)["result"], "PASS") << target << ": " << (*reach)["figure"];
    const json* cert = check(v, "certificate", target);
    ASSERT_NE(cert, nullptr) << target << "\n" << r.output;
    EXPECT_EQ((*cert)["result"], "PASS") << (*cert)["figure"];
    // TlsPki's good certificate is valid for 30 days from now: its notAfter reached the check.
    EXPECT_NEAR((*cert)["value"].get<double>(), 30.0, 0.1) << (*cert)["figure"];
    EXPECT_NE((*cert)["figure"].get<std::string>().find("valid until "), std::string::npos)
        << (*cert)["figure"];
  }
  const json* tls = check(v, "turn over tls", "");
  ASSERT_NE(tls, nullptr) << r.output;
  EXPECT_EQ((*tls)["result"], "PASS") << (*tls)["figure"];
  EXPECT_EQ((*tls)["figure"], "reachable: turn-tls, loop-tls");
}

}  // namespace
}  // namespace mediapath
