// The nat probe (RFC 5780) against real coturn: on loopback (no NAT), and from a network
// namespace behind an nftables masquerade on the host, run through `mediapath-agent probe`.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "net/event_loop.h"
#include "probes/probe.h"
#include "probes/probe_resources.h"
#include "tests/net/loop_check.h"
#include "tests/probes/probe_harness.h"
#include "tests/support/peers.h"
#include "tests/support/process.h"

namespace mediapath::probes {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

class NatLoopbackTest : public ::testing::Test {
 protected:
  std::optional<ProbeResult> run(const ProbeTarget& t) {
    auto probe = makeProbe(t.kind, context_);
    // A nat round may take its whole 2 x timeout (a dead peer waits out the last test): the
    // harness's default 5 s guard left a loaded CI machine one second of slack, and once cut a
    // round that would have reported. The probe's own deadline is what is under test.
    return testing::runRound(loop_, *probe, t,
                             roundLength(t.kind, t.timeout, t.burst, t.stream) + 5000ms);
  }
  static ProbeTarget natTarget(std::uint16_t port) {
    ProbeTarget t;
    t.name = "nat";
    t.kind = Kind::kNat;
    t.host = "127.0.0.1";
    t.port = port;
    t.timeout = 2000ms;
    return t;
  }
  void TearDown() override {
    EXPECT_EQ(testing::openHandleCount(loop_), 0);
    EXPECT_EQ(loop_.close(), 0);
  }

  testing::TempDir dir_;
  net::EventLoop loop_;
  ProbeResources resources_;  // after the loop, before the probes: outlives them
  ProbeContext context_{&loop_, nullptr, nullptr, nullptr, &resources_};
};

TEST_F(NatLoopbackTest, Rfc5780CoturnOnLoopbackIsEndpointIndependentAndHairpins) {
  testing::Coturn::Options options;
  options.alternate_ip = "127.0.0.2";
  testing::Coturn coturn(dir_, options);
  auto result = run(natTarget(coturn.port()));
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->ok) << result->error << "\n" << coturn.log();
  // coturn runs RFC 5780 with two listening addresses: it opens the alternate port on both.
  EXPECT_NE(
      coturn.log().find("UDP listener opened on: 127.0.0.2:" + std::to_string(coturn.port() + 1)),
      std::string::npos)
      << coturn.log();
  EXPECT_EQ(result->nat_mapping, "endpoint-independent");
  EXPECT_EQ(result->nat_filtering, "endpoint-independent");
  ASSERT_TRUE(result->hairpinning);
  EXPECT_TRUE(*result->hairpinning);
  EXPECT_EQ(result->mapped_address.rfind("127.0.0.1:", 0), 0u) << result->mapped_address;
  ASSERT_TRUE(result->rtt);
  std::printf("nat loopback: mapped %s rtt %.3f ms mapping %s filtering %s hairpinning %d\n",
              result->mapped_address.c_str(), result->rtt->avg_ms, result->nat_mapping.c_str(),
              result->nat_filtering.c_str(), int(*result->hairpinning));
}

TEST_F(NatLoopbackTest, PeerStunServerStandsInForOtherAddress) {
  // A plain STUN server (no OTHER-ADDRESS) plus a peer: mapping from comparing the two, while
  // filtering stays unknown (the primary cannot answer CHANGE-REQUEST).
  testing::Coturn primary(dir_);
  testing::Coturn::Options peer_options;
  peer_options.ip = "127.0.0.3";
  testing::Coturn peer(dir_, peer_options);
  ProbeTarget t = natTarget(primary.port());
  t.peer_host = "127.0.0.3";
  t.peer_port = peer.port();
  auto result = run(t);
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->ok) << result->error << "\n" << peer.log();
  EXPECT_EQ(result->nat_mapping, "endpoint-independent");
  EXPECT_EQ(result->nat_filtering, "unknown");
  // The primary has no OTHER-ADDRESS (one listening address: no RFC 5780), so only the peer's
  // answer to test II can have made the mapping known.
}

TEST_F(NatLoopbackTest, DeadPeerFailsTheRoundButKeepsWhatWasMeasured) {
  testing::Coturn::Options options;
  options.alternate_ip = "127.0.0.2";
  testing::Coturn coturn(dir_, options);
  ProbeTarget t = natTarget(coturn.port());
  t.peer_host = "127.0.0.1";
  t.peer_port = testing::freePort(testing::SocketType::kUdp);
  auto result = run(t);
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->ok);
  EXPECT_EQ(result->error,
            "no answer from 127.0.0.1:" + std::to_string(t.peer_port) + " (test II)");
  EXPECT_EQ(result->nat_mapping, "unknown");
  EXPECT_EQ(result->nat_filtering, "endpoint-independent");
  EXPECT_FALSE(result->mapped_address.empty());
}

// --- NAT in network namespaces --------------------------------------------------------------

/// A routed topology (peers.md): namespace C (the office, 10.N.1.2) -> host (10.N.1.1 |
/// 10.N.2.1, forwarding, nftables masquerade out of the server-side veth) -> namespace S (the
/// STUN server, 10.N.2.2 and 10.N.2.3). Every name carries our PID; the destructor deletes the
/// namespaces (their veths go with them) and the nft table, whatever the test's outcome.
class NatNamespaces {
 public:
  NatNamespaces() {
    int pid = static_cast<int>(::getpid());
    std::string id = std::to_string(pid % 100000);
    net_ = "10." + std::to_string(200 + pid % 50);
    client_ns_ = "mpnat-c-" + id;
    server_ns_ = "mpnat-s-" + id;
    host_client_veth_ = "mpc" + id;
    host_server_veth_ = "mps" + id;
    table_ = "mpnat_" + id;
    try {
      setUp();
    } catch (...) {
      cleanUp();  // the destructor does not run for a constructor that throws
      throw;
    }
  }
  ~NatNamespaces() { cleanUp(); }
  NatNamespaces(const NatNamespaces&) = delete;
  NatNamespaces& operator=(const NatNamespaces&) = delete;

  void masquerade(bool fully_random) {
    run({"nft", "flush", "chain", "ip", table_, "post"});
    std::vector<std::string> rule = {"nft",
                                     "add",
                                     "rule",
                                     "ip",
                                     table_,
                                     "post",
                                     "ip",
                                     "saddr",
                                     net_ + ".1.0/24",
                                     "oifname",
                                     host_server_veth_,
                                     "masquerade"};
    if (fully_random) rule.push_back("fully-random");
    // Each round binds a new local port, so the earlier round's conntrack entries (and their
    // mappings) do not apply to it.
    run(rule);
  }

  std::string serverIp(int n) const { return net_ + ".2." + std::to_string(n); }
  std::string hostServerSideIp() const { return net_ + ".2.1"; }
  const std::string& clientNs() const { return client_ns_; }
  const std::string& serverNs() const { return server_ns_; }
  const std::string& setupLog() const { return log_; }

 private:
  void setUp() {
    std::string client_inner = "eth-c";
    std::string server_inner = "eth-s";
    run({"ip", "netns", "add", client_ns_});
    run({"ip", "netns", "add", server_ns_});
    run({"ip", "link", "add", host_client_veth_, "type", "veth", "peer", "name", client_inner,
         "netns", client_ns_});
    run({"ip", "link", "add", host_server_veth_, "type", "veth", "peer", "name", server_inner,
         "netns", server_ns_});
    run({"ip", "addr", "add", net_ + ".1.1/24", "dev", host_client_veth_});
    run({"ip", "addr", "add", net_ + ".2.1/24", "dev", host_server_veth_});
    run({"ip", "link", "set", host_client_veth_, "up"});
    run({"ip", "link", "set", host_server_veth_, "up"});
    for (const auto& [ns, dev, addrs] :
         {std::tuple{client_ns_, client_inner, std::vector<std::string>{net_ + ".1.2/24"}},
          std::tuple{server_ns_, server_inner,
                     std::vector<std::string>{net_ + ".2.2/24", net_ + ".2.3/24"}}}) {
      for (const auto& a : addrs) run({"ip", "-n", ns, "addr", "add", a, "dev", dev});
      run({"ip", "-n", ns, "link", "set", dev, "up"});
      run({"ip", "-n", ns, "link", "set", "lo", "up"});
      run({"ip", "-n", ns, "route", "add", "default", "via",
           ns == client_ns_ ? net_ + ".1.1" : net_ + ".2.1"});
    }
    // Forwarding on our two veths only: the global net.ipv4.ip_forward is left alone, so
    // nothing needs restoring and a test running beside this one sees no change.
    run({"sysctl", "-qw", "net.ipv4.conf." + host_client_veth_ + ".forwarding=1"});
    run({"sysctl", "-qw", "net.ipv4.conf." + host_server_veth_ + ".forwarding=1"});
    run({"nft", "add", "table", "ip", table_});
    run({"nft", "add", "chain", "ip", table_, "post",
         "{ type nat hook postrouting priority 100; }"});
  }

  void cleanUp() {
    // By name, each on its own: a failed step must not keep the others from running.
    run({"nft", "delete", "table", "ip", table_}, false);
    run({"ip", "netns", "delete", client_ns_}, false);
    run({"ip", "netns", "delete", server_ns_}, false);
  }

  void run(const std::vector<std::string>& argv, bool must = true) {
    auto r = testing::runCommand(argv, {}, 10s);
    std::string line;
    for (const auto& a : argv) line += a + " ";
    log_ += line + "-> " + std::to_string(r.exit_code) + " " + r.output + "\n";
    if (must && r.exit_code != 0) throw std::runtime_error("setup failed: " + log_);
  }

  std::string net_, client_ns_, server_ns_, host_client_veth_, host_server_veth_, table_;
  std::string log_;
};

class NatNamespaceTest : public ::testing::Test {
 protected:
  /// One `probe` round run inside the client namespace; the nat target's JSON line.
  json probeFromClient(const NatNamespaces& nets) {
    std::string config = dir_.write("agent.json", R"({
      "site": {"name": "nat-office"},
      "probing": {"interval": "10s", "timeout": "2s"},
      "targets": [{"name": "nat", "kind": "nat", "host": ")" +
                                                      nets.serverIp(2) +
                                                      R"(", "port": 3478}]
    })");
    json last;
    // coturn in the namespace may still be opening its listeners: a first round may time out.
    for (int attempt = 0; attempt < 3; ++attempt) {
      auto r = testing::runCommand({"ip", "netns", "exec", nets.clientNs(), MEDIAPATH_AGENT_BINARY,
                                    "probe", "--config", config, "--format", "json"},
                                   {}, 30s);
      std::istringstream in(r.output);
      std::string line;
      while (std::getline(in, line)) {
        if (!line.empty() && line[0] == '{') last = json::parse(line);
      }
      if (last.is_object() && last.value("ok", false)) return last;
      std::this_thread::sleep_for(500ms);
    }
    return last;
  }

  testing::TempDir dir_;
};

TEST_F(NatNamespaceTest, MasqueradeIsEndpointIndependentAndFullyRandomIsNot) {
  NatNamespaces nets;
  testing::Subprocess coturn({"ip",
                              "netns",
                              "exec",
                              nets.serverNs(),
                              "turnserver",
                              "-n",
                              "--listening-ip=" + nets.serverIp(2),
                              "--listening-ip=" + nets.serverIp(3),
                              "--relay-ip=" + nets.serverIp(2),
                              "--listening-port=3478",
                              "--no-tls",
                              "--no-dtls",
                              "--no-cli",
                              "--log-file=stdout",
                              "--simple-log",
                              "--verbose",
                              "--pidfile=" + dir_.file("turn.pid"),
                              "--userdb=" + dir_.file("turndb"),
                              "--min-port=49200",
                              "--max-port=49300"},
                             dir_.file("turn.log"));

  // Plain masquerade keeps the source port for every destination (Linux NAT changes it only on
  // a clash): endpoint-independent mapping. conntrack lets in only replies from the exact address
  // and port a packet went to: address-and-port-dependent filtering. Nothing turns a packet to
  // the host's own address back into the office: no hairpinning.
  nets.masquerade(false);
  json plain = probeFromClient(nets);
  ASSERT_TRUE(plain.is_object()) << nets.setupLog() << coturn.log();
  EXPECT_TRUE(plain.value("ok", false)) << plain.dump() << "\n" << coturn.log();
  EXPECT_EQ(plain["mapped_address"].get<std::string>().rfind(nets.hostServerSideIp() + ":", 0), 0u)
      << plain.dump();
  EXPECT_EQ(plain["nat_mapping"], "endpoint-independent") << plain.dump();
  EXPECT_EQ(plain["nat_filtering"], "address-and-port-dependent") << plain.dump();
  EXPECT_EQ(plain["hairpinning"], false) << plain.dump();
  EXPECT_NE(coturn.log().find("UDP listener opened on: " + nets.serverIp(3) + ":3479"),
            std::string::npos)
      << coturn.log();

  // fully-random picks a new port for every new 5-tuple: test III (another port of the same IP)
  // gets a mapping of its own, which RFC 4787 calls address-and-port-dependent.
  nets.masquerade(true);
  json random = probeFromClient(nets);
  ASSERT_TRUE(random.is_object()) << nets.setupLog();
  EXPECT_TRUE(random.value("ok", false)) << random.dump() << "\n" << coturn.log();
  EXPECT_EQ(random["nat_mapping"], "address-and-port-dependent") << random.dump();
  EXPECT_EQ(random["nat_filtering"], "address-and-port-dependent") << random.dump();
  EXPECT_EQ(random["hairpinning"], false) << random.dump();
  std::printf("nat netns: masquerade %s / %s; fully-random %s / %s\n",
              plain["nat_mapping"].dump().c_str(), plain["nat_filtering"].dump().c_str(),
              random["nat_mapping"].dump().c_str(), random["nat_filtering"].dump().c_str());
  coturn.stop();
}

}  // namespace
}  // namespace mediapath::probes
