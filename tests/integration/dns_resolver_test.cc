// AresResolver and the dns probe against a real dnsmasq on a free loopback port.
#include <gtest/gtest.h>
#include <uv.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/ares_resolver.h"
#include "net/clock.h"
#include "net/event_loop.h"
#include "net/uv_timer.h"
#include "probes/probe.h"
#include "probes/probe_resources.h"
#include "tests/net/loop_check.h"
#include "tests/support/peers.h"
#include "tests/support/process.h"

namespace mediapath {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

/// Clock the test moves by hand (for TTL expiry) on top of real time.
class OffsetClock final : public net::Clock {
 public:
  steady_clock::time_point now() const override { return steady_clock::now() + offset_; }
  std::chrono::system_clock::time_point wallNow() const override {
    return std::chrono::system_clock::now() + offset_;
  }
  void advance(std::chrono::seconds s) { offset_ += s; }

 private:
  steady_clock::duration offset_{0};
};

int openHandles(net::EventLoop& loop) {
  int n = 0;
  uv_walk(
      loop.get(),
      [](uv_handle_t* h, void* arg) {
        if (uv_is_closing(h) == 0) ++*static_cast<int*>(arg);
      },
      &n);
  return n;
}

class DnsResolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::Dnsmasq::Options o;
    o.sip_port = 5070;
    dns_ = std::make_unique<testing::Dnsmasq>(dir_, o);
  }

  std::unique_ptr<net::AresResolver> makeResolver(milliseconds timeout = 1000ms) {
    net::AresOptions o;
    o.servers = {dns_->server()};
    o.query_timeout = timeout;
    return std::make_unique<net::AresResolver>(loop_, o, clock_);
  }

  /// Resolves and runs the loop until the callback ran (or 10 s passed).
  net::ResolveResult resolve(net::AresResolver& r, const std::string& name, net::RecordType type,
                             net::ResolveOptions options = {}) {
    std::optional<net::ResolveResult> out;
    r.resolveWithOptions(name, type, options, [&](const net::ResolveResult& rr) { out = rr; });
    EXPECT_TRUE(testing::runLoopUntil(
        loop_, [&] { return out.has_value(); }, 10s, "the resolve callback for " + name))
        << "dnsmasq log:\n"
        << dns_->log();
    return out.value_or(net::ResolveResult{});
  }

  void TearDown() override {
    // Every test ends by proving the resolver left no handle open.
    loop_.run();
    EXPECT_EQ(openHandles(loop_), 0);
    EXPECT_EQ(loop_.close(), 0);
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::Dnsmasq> dns_;
  net::EventLoop loop_;
  OffsetClock clock_;
};

TEST_F(DnsResolverTest, AnswersARecordWithTtlAndLookupTime) {
  auto r = makeResolver();
  auto a = resolve(*r, "sip.example.test", net::RecordType::kA);
  ASSERT_TRUE(a.ok) << a.error;
  EXPECT_EQ(a.addresses, std::vector<std::string>{"127.0.0.1"});
  EXPECT_EQ(a.ttl, 5s);
  EXPECT_FALSE(a.from_cache);
  EXPECT_GT(a.lookup_time.count(), 0);
  EXPECT_LT(a.lookup_time, 500ms);
  EXPECT_EQ(r->pending(), 0u);
}

TEST_F(DnsResolverTest, AnswersSrvRecord) {
  auto r = makeResolver();
  auto srv = resolve(*r, "_sip._udp.example.test", net::RecordType::kSRV);
  ASSERT_TRUE(srv.ok) << srv.error;
  ASSERT_EQ(srv.srv.size(), 1u);
  EXPECT_EQ(srv.srv[0].target, "sip.example.test");
  EXPECT_EQ(srv.srv[0].port, 5070);
  EXPECT_EQ(srv.srv[0].priority, 10);
  EXPECT_EQ(srv.srv[0].weight, 100);
  EXPECT_EQ(srv.ttl, 5s);
}

TEST_F(DnsResolverTest, MapsNxdomainNoDataAndRefused) {
  auto r = makeResolver();
  auto nx = resolve(*r, "proxy-b.example.test", net::RecordType::kA);
  EXPECT_FALSE(nx.ok);
  EXPECT_EQ(nx.error, "NXDOMAIN");
  auto nodata = resolve(*r, "turn.example.test", net::RecordType::kAAAA);
  EXPECT_FALSE(nodata.ok);
  EXPECT_EQ(nodata.error, "no AAAA records");
  // dnsmasq has no upstream for names outside example.test and refuses them.
  auto refused = resolve(*r, "www.elsewhere.invalid", net::RecordType::kA);
  EXPECT_FALSE(refused.ok);
  EXPECT_EQ(refused.error, "REFUSED");
  EXPECT_EQ(r->cache().size(), 0u) << "failures are not cached";
}

TEST_F(DnsResolverTest, CacheHonoursTtlAndCanBeBypassed) {
  auto r = makeResolver(500ms);
  ASSERT_TRUE(resolve(*r, "sip.example.test", net::RecordType::kA).ok);
  int queries = dns_->queriesFor("sip.example.test");
  EXPECT_EQ(queries, 1) << dns_->log();

  auto hit = resolve(*r, "sip.example.test", net::RecordType::kA);
  ASSERT_TRUE(hit.ok);
  EXPECT_TRUE(hit.from_cache);
  EXPECT_EQ(hit.addresses, std::vector<std::string>{"127.0.0.1"});
  EXPECT_EQ(hit.lookup_time.count(), 0);

  auto fresh = resolve(*r, "sip.example.test", net::RecordType::kA, {.bypass_cache = true});
  ASSERT_TRUE(fresh.ok);
  EXPECT_FALSE(fresh.from_cache);

  // With the server hung, the cache still answers until the TTL (5 s) runs out...
  dns_->pause();
  clock_.advance(4s);
  EXPECT_TRUE(resolve(*r, "sip.example.test", net::RecordType::kA).from_cache);
  // ...and not a moment after: the lookup goes to the (hung) server and times out.
  clock_.advance(1s);
  auto expired = resolve(*r, "sip.example.test", net::RecordType::kA);
  EXPECT_FALSE(expired.ok);
  EXPECT_EQ(expired.error, "timeout");
  dns_->resume();
}

TEST_F(DnsResolverTest, HungServerTimesOutWithoutStallingOtherWorkOnTheLoop) {
  auto r = makeResolver(600ms);
  dns_->pause();
  // A 20 ms ticker shares the loop: its gaps show whether anything blocked the loop.
  net::UvTimer ticker(loop_.get());
  std::vector<steady_clock::time_point> ticks;
  ticker.start(
      20ms, [&] { ticks.push_back(steady_clock::now()); }, 20ms);

  auto start = steady_clock::now();
  std::vector<net::ResolveResult> results;
  for (auto type : {net::RecordType::kA, net::RecordType::kSRV}) {
    r->resolve(type == net::RecordType::kA ? "sip.example.test" : "_sip._udp.example.test", type,
               [&](const net::ResolveResult& rr) {
                 results.push_back(rr);
                 if (results.size() == 2) ticker.stop();
               });
  }
  loop_.run();
  auto elapsed = steady_clock::now() - start;
  ASSERT_EQ(results.size(), 2u);
  for (const auto& rr : results) {
    EXPECT_FALSE(rr.ok);
    EXPECT_EQ(rr.error, "timeout");
  }
  EXPECT_GE(elapsed, 590ms);
  EXPECT_LT(elapsed, 1500ms);
  ASSERT_GE(ticks.size(), 10u);
  milliseconds worst{0};
  for (std::size_t i = 1; i < ticks.size(); ++i) {
    worst = std::max(worst, std::chrono::duration_cast<milliseconds>(ticks[i] - ticks[i - 1]));
  }
  // Generous for a loaded CI machine, far below the 600 ms a blocking lookup would cost.
  EXPECT_LT(worst, 200ms) << "the loop stalled";
  dns_->resume();
}

TEST_F(DnsResolverTest, StoppedServerFailsFast) {
  auto r = makeResolver(2000ms);
  dns_->stop();
  auto start = steady_clock::now();
  auto a = resolve(*r, "sip.example.test", net::RecordType::kA);
  EXPECT_FALSE(a.ok);
  // Loopback answers with ICMP port unreachable, which c-ares sees at once.
  EXPECT_EQ(a.error, "connection refused");
  EXPECT_LT(steady_clock::now() - start, 1000ms);
}

TEST_F(DnsResolverTest, CancelAllAndDestructionDropEveryCallback) {
  auto r = makeResolver();
  int calls = 0;
  r->resolve("sip.example.test", net::RecordType::kA, [&](const net::ResolveResult&) { ++calls; });
  r->resolve("10.1.2.3", net::RecordType::kA, [&](const net::ResolveResult&) { ++calls; });
  EXPECT_EQ(r->pending(), 2u);
  r->cancelAll();
  EXPECT_EQ(r->pending(), 0u);
  loop_.run();
  EXPECT_EQ(calls, 0);

  // Destroyed with a query in flight (and from inside a callback of its own).
  r->resolve("sip.example.test", net::RecordType::kA, [&](const net::ResolveResult&) { ++calls; });
  r.reset();
  loop_.run();
  EXPECT_EQ(calls, 0);

  r = makeResolver();
  r->resolve("127.0.0.1", net::RecordType::kA, [&](const net::ResolveResult&) {
    ++calls;
    r.reset();
  });
  r->resolve("127.0.0.2", net::RecordType::kA, [&](const net::ResolveResult&) { ++calls; });
  loop_.run();
  EXPECT_EQ(calls, 1);
}

TEST_F(DnsResolverTest, DnsProbeMeasuresARealLookupEveryRound) {
  auto r = makeResolver();
  net::SystemRandom random;
  probes::ProbeResources resources;
  probes::ProbeContext context{&loop_, r.get(), &clock_, &random, &resources};
  auto probe = probes::makeProbe(probes::Kind::kDns, context);
  ASSERT_NE(probe, nullptr);
  probes::ProbeTarget t;
  t.name = "sip-dns";
  t.kind = probes::Kind::kDns;
  t.host = "sip.example.test";
  t.timeout = 1000ms;

  std::vector<probes::ProbeResult> results;
  for (int round = 0; round < 2; ++round) {
    probe->start(t, [&](probes::ProbeResult pr) { results.push_back(std::move(pr)); });
    loop_.run();
  }
  ASSERT_EQ(results.size(), 2u);
  for (const auto& pr : results) {
    EXPECT_TRUE(pr.ok) << pr.error;
    EXPECT_EQ(pr.addresses, std::vector<std::string>{"127.0.0.1"});
    ASSERT_TRUE(pr.lookup_ms.has_value());
    EXPECT_GT(*pr.lookup_ms, 0.0);
    EXPECT_EQ(pr.sent, 1);
    EXPECT_EQ(pr.received, 1);
  }
  EXPECT_EQ(dns_->queriesFor("sip.example.test"), 2) << "the probe must not answer from cache";

  t.name = "proxy-b";
  t.host = "proxy-b.example.test";
  t.record = probes::DnsRecord::kSRV;
  probe->start(t, [&](probes::ProbeResult pr) { results.push_back(std::move(pr)); });
  loop_.run();
  ASSERT_EQ(results.size(), 3u);
  EXPECT_FALSE(results[2].ok);
  EXPECT_EQ(results[2].error, "dns: NXDOMAIN for proxy-b.example.test");

  // SRV answers come back as host:port.
  t.host = "_sip._udp.example.test";
  probe->start(t, [&](probes::ProbeResult pr) { results.push_back(std::move(pr)); });
  loop_.run();
  ASSERT_EQ(results.size(), 4u);
  EXPECT_TRUE(results[3].ok) << results[3].error;
  EXPECT_EQ(results[3].addresses, std::vector<std::string>{"sip.example.test:5070"});

  // A hung server: "dns: timeout for ...", counted as a lost exchange.
  dns_->pause();
  t.host = "sip.example.test";
  t.record = probes::DnsRecord::kA;
  t.timeout = 300ms;
  probe->start(t, [&](probes::ProbeResult pr) { results.push_back(std::move(pr)); });
  loop_.run();
  ASSERT_EQ(results.size(), 5u);
  EXPECT_EQ(results[4].error, "dns: timeout for sip.example.test");
  EXPECT_EQ(results[4].received, 0);
  EXPECT_DOUBLE_EQ(results[4].loss, 1.0);
  EXPECT_FALSE(results[4].lookup_ms.has_value());
  dns_->resume();
}

}  // namespace
}  // namespace mediapath
