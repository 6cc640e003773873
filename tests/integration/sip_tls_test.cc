// SIP OPTIONS over TLS against a real TLS SIP responder (tests/support/tls_sip_responder.py:
// Python's ssl module, i.e. OpenSSL on the server side too), with certificates made for each
// test (tests/support/tls_pki.h): the probe, then `mediapath-agent probe` as a user runs it.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "net/clock.h"
#include "net/event_loop.h"
#include "probes/probe.h"
#include "probes/probe_resources.h"
#include "tests/net/loop_check.h"
#include "tests/probes/probe_harness.h"
#include "tests/support/process.h"
#include "tests/support/tls_pki.h"
#include "tests/support/tls_sip_responder.h"

namespace mediapath::probes {
namespace {

using testing::TlsSipResponder;

using namespace std::chrono_literals;

class SipTlsTest : public ::testing::Test {
 protected:
  ProbeTarget target(std::uint16_t port, std::string server_name, std::string ca_file) {
    ProbeTarget t;
    t.name = "sip-tls";
    t.kind = Kind::kSip;
    t.host = "127.0.0.1";
    t.port = port;
    t.timeout = 3000ms;
    t.transport = Transport::kTls;
    t.server_name = std::move(server_name);
    t.ca_file = std::move(ca_file);
    return t;
  }
  ProbeResult run(const ProbeTarget& t) {
    auto probe = makeProbe(t.kind, context_);
    auto result = testing::runRound(loop_, *probe, t);
    EXPECT_TRUE(result);
    return result.value_or(ProbeResult{});
  }
  void TearDown() override {
    EXPECT_EQ(testing::openHandleCount(loop_), 0);
    EXPECT_EQ(loop_.close(), 0);
  }

  testing::TempDir dir_;
  testing::TlsPki pki_{dir_};
  net::EventLoop loop_;
  net::SeededRandom random_{11};
  ProbeResources resources_;
  ProbeContext context_{&loop_, nullptr, nullptr, &random_, &resources_};
};

TEST_F(SipTlsTest, OptionsOverTls13GetsOkWithVersionAndCertificateExpiry) {
  TlsSipResponder responder(dir_, pki_.good());
  ProbeResult r = run(target(responder.port(), "sip.test", pki_.caFile()));
  EXPECT_TRUE(r.ok) << r.error << "\n" << responder.log();
  EXPECT_EQ(r.status_code, 200);
  EXPECT_EQ(r.address, "127.0.0.1:" + std::to_string(responder.port()));
  EXPECT_EQ(r.tls_version, "TLSv1.3");
  EXPECT_EQ(r.cert_not_after, pki_.goodNotAfter());
  ASSERT_TRUE(r.connect_ms);
  ASSERT_TRUE(r.rtt);
  EXPECT_GT(r.rtt->avg_ms, 0.0);
  EXPECT_EQ(r.sent, 1);
  EXPECT_EQ(r.received, 1);
  // What went over the wire, as the responder logged it.
  std::string port = std::to_string(responder.port());
  EXPECT_NE(responder.log().find("OPTIONS sip:127.0.0.1:" + port +
                                 ";transport=tls SIP/2.0 | Via: SIP/2.0/TLS 127.0.0.1:"),
            std::string::npos)
      << responder.log();
}

TEST_F(SipTlsTest, Tls12ServerIsAcceptedAndReported) {
  TlsSipResponder responder(dir_, pki_.good(), "1.2");
  ProbeResult r = run(target(responder.port(), "sip.test", pki_.caFile()));
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.tls_version, "TLSv1.2");
}

TEST_F(SipTlsTest, IpLiteralHostIsCheckedAgainstTheCertificatesIpAddress) {
  TlsSipResponder responder(dir_, pki_.good());
  // No server_name: the host, 127.0.0.1, is what the certificate must name (it does, as an IP
  // subjectAltName).
  ProbeResult r = run(target(responder.port(), "", pki_.caFile()));
  EXPECT_TRUE(r.ok) << r.error;
}

TEST_F(SipTlsTest, ExpiredCertificateIsTheRoundsError) {
  TlsSipResponder responder(dir_, pki_.expired());
  ProbeResult r = run(target(responder.port(), "sip.test", pki_.caFile()));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "TLS: certificate has expired");
  EXPECT_EQ(r.tls_version, "");
  EXPECT_FALSE(r.cert_not_after);
  EXPECT_EQ(r.received, 0);
  EXPECT_EQ(r.loss, 1.0);
}

TEST_F(SipTlsTest, WrongNameIsTheRoundsError) {
  TlsSipResponder responder(dir_, pki_.wrongName());
  ProbeResult r = run(target(responder.port(), "sip.test", pki_.caFile()));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "TLS: certificate does not match server name 'sip.test'");
}

TEST_F(SipTlsTest, UnknownCaWithoutCaFileIsNotTrusted) {
  TlsSipResponder responder(dir_, pki_.good());
  ProbeResult r = run(target(responder.port(), "sip.test", ""));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "TLS: certificate not trusted (unable to get local issuer certificate)");
}

TEST_F(SipTlsTest, ProbeCommandPrintsTlsFields) {
  TlsSipResponder responder(dir_, pki_.good());
  std::string config = dir_.write("agent.json", R"({
    "site": {"name": "test-office"},
    "probing": {"interval": "5s", "timeout": "2s"},
    "targets": [
      {"name": "proxy-tls", "kind": "sip", "host": "127.0.0.1", "port": )" +
                                                    std::to_string(responder.port()) + R"(,
       "transport": "tls", "server_name": "sip.test", "ca_file": ")" +
                                                    pki_.caFile() + R"("},
      {"name": "proxy-tls-untrusted", "kind": "sip", "host": "127.0.0.1", "port": )" +
                                                    std::to_string(responder.port()) + R"(,
       "transport": "tls", "server_name": "sip.test"}]})");
  auto r = testing::runCommand(
      {MEDIAPATH_AGENT_BINARY, "probe", "--config", config, "--format", "json"});
  EXPECT_EQ(r.exit_code, 1) << r.output;  // the untrusted one fails
  std::map<std::string, nlohmann::json> lines;
  std::istringstream in(r.output);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] == '{') {
      auto j = nlohmann::json::parse(line);
      lines[j.at("target").get<std::string>()] = j;
    }
  }
  ASSERT_EQ(lines.count("proxy-tls"), 1u) << r.output;
  const auto& ok = lines["proxy-tls"];
  EXPECT_EQ(ok.at("ok"), true) << ok.dump();
  EXPECT_EQ(ok.at("status_code"), 200);
  EXPECT_EQ(ok.at("tls_version"), "TLSv1.3");
  EXPECT_EQ(ok.at("cert_not_after"), net::formatUtc(pki_.goodNotAfter()));
  ASSERT_EQ(lines.count("proxy-tls-untrusted"), 1u) << r.output;
  const auto& bad = lines["proxy-tls-untrusted"];
  EXPECT_EQ(bad.at("ok"), false);
  EXPECT_EQ(bad.at("error"),
            "TLS: certificate not trusted (unable to get local issuer certificate)");
  EXPECT_TRUE(bad.at("tls_version").is_null());
  EXPECT_TRUE(bad.at("cert_not_after").is_null());

  auto table = testing::runCommand(
      {MEDIAPATH_AGENT_BINARY, "probe", "--config", config, "--target", "proxy-tls"});
  EXPECT_EQ(table.exit_code, 0) << table.output;
  EXPECT_NE(
      table.output.find("status 200 TLSv1.3 cert until " + net::formatUtc(pki_.goodNotAfter())),
      std::string::npos)
      << table.output;
}

}  // namespace
}  // namespace mediapath::probes
