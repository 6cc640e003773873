// Hermetic tests of the resolver: the TTL cache with a fake clock, reply parsing, error
// mapping, and AresResolver against an in-process DNS responder on a loopback port-0 socket.
#include "net/ares_resolver.h"

#include <ares.h>
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <uv.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "net/clock.h"
#include "net/event_loop.h"
#include "net/uv_handle.h"
#include "net/uv_timer.h"
#include "tests/net/loop_check.h"
#include "tests/support/fakes.h"

namespace mediapath::net {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

using mediapath::testing::FakeClock;

ResolveResult answer(std::vector<std::string> addresses, std::chrono::seconds ttl) {
  ResolveResult r;
  r.ok = true;
  r.addresses = std::move(addresses);
  r.ttl = ttl;
  r.lookup_time = 1234us;
  return r;
}

// --- DnsCache ---------------------------------------------------------------------------------

TEST(DnsCacheTest, AnswersUntilTheTtlRunsOutAndNotAfter) {
  FakeClock clock;
  DnsCache cache(clock);
  cache.put("sip.example.test", RecordType::kA, answer({"10.0.0.1", "10.0.0.2"}, 30s));
  auto hit = cache.get("sip.example.test", RecordType::kA);
  ASSERT_TRUE(hit);
  EXPECT_TRUE(hit->from_cache);
  EXPECT_EQ(hit->addresses, (std::vector<std::string>{"10.0.0.1", "10.0.0.2"}));
  EXPECT_EQ(hit->ttl, 30s);
  EXPECT_EQ(hit->lookup_time.count(), 0) << "a cache hit costs no lookup";

  clock.advance(29s + 600ms);
  hit = cache.get("sip.example.test", RecordType::kA);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->ttl, 1s) << "0.4 s left rounds up, never to 0";

  clock.advance(400ms);  // exactly 30 s after put
  EXPECT_FALSE(cache.get("sip.example.test", RecordType::kA));
  EXPECT_EQ(cache.size(), 0u);
}

// Issue #19 item 10: a TTL of 2^31-1 s used to pin an address until a reload.
TEST(DnsCacheTest, HugeTtlIsCutToTheCap) {
  FakeClock clock;
  DnsCache cache(clock, 16, 300s);
  cache.put("pinned", RecordType::kA, answer({"10.0.0.1"}, std::chrono::seconds(0x7fffffff)));
  auto hit = cache.get("pinned", RecordType::kA);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->ttl, 300s);
  clock.advance(299s);
  EXPECT_TRUE(cache.get("pinned", RecordType::kA));
  clock.advance(1s);
  EXPECT_FALSE(cache.get("pinned", RecordType::kA)) << "asked again after the cap";
  // A TTL under the cap is kept as it is.
  cache.put("short", RecordType::kA, answer({"10.0.0.2"}, 30s));
  EXPECT_EQ(cache.get("short", RecordType::kA)->ttl, 30s);
}

TEST(DnsCacheTest, KeyedByNameAndRecordType) {
  FakeClock clock;
  DnsCache cache(clock);
  cache.put("sip.example.test", RecordType::kA, answer({"10.0.0.1"}, 60s));
  EXPECT_FALSE(cache.get("sip.example.test", RecordType::kAAAA));
  EXPECT_FALSE(cache.get("sip.example.test", RecordType::kSRV));
  EXPECT_FALSE(cache.get("SIP.example.test.other", RecordType::kA));
  EXPECT_TRUE(cache.get("sip.example.test", RecordType::kA));
}

TEST(DnsCacheTest, FailuresAndZeroTtlAreNotCached) {
  FakeClock clock;
  DnsCache cache(clock);
  ResolveResult nx;
  nx.error = "NXDOMAIN";
  nx.ttl = 300s;
  cache.put("nx.example.test", RecordType::kA, nx);
  cache.put("zero.example.test", RecordType::kA, answer({"10.0.0.1"}, 0s));
  EXPECT_EQ(cache.size(), 0u);
}

TEST(DnsCacheTest, FullCacheDropsTheEntryExpiringFirst) {
  FakeClock clock;
  DnsCache cache(clock, 2);
  cache.put("a", RecordType::kA, answer({"10.0.0.1"}, 100s));
  cache.put("b", RecordType::kA, answer({"10.0.0.2"}, 10s));
  cache.put("c", RecordType::kA, answer({"10.0.0.3"}, 50s));
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_TRUE(cache.get("a", RecordType::kA));
  EXPECT_FALSE(cache.get("b", RecordType::kA));
  EXPECT_TRUE(cache.get("c", RecordType::kA));
}

// --- Reply building (a tiny DNS responder for the tests below) ----------------------------------

struct Record {
  std::array<std::uint8_t, 4> ip;
  std::uint32_t ttl;
};

struct Behaviour {
  int rcode = 0;  ///< 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED
  std::vector<Record> a;
  bool drop = false;  ///< never answer (a hung server)
};

void put16(std::vector<std::uint8_t>& out, unsigned v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v & 0xff));
}

void put32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  put16(out, v >> 16);
  put16(out, v & 0xffff);
}

std::vector<std::uint8_t> encodeName(const std::string& name) {
  std::vector<std::uint8_t> out;
  std::size_t start = 0;
  while (start < name.size()) {
    std::size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    out.push_back(static_cast<std::uint8_t>(dot - start));
    out.insert(out.end(), name.begin() + static_cast<long>(start),
               name.begin() + static_cast<long>(dot));
    start = dot + 1;
  }
  out.push_back(0);
  return out;
}

/// A reply to a one-question query for `qname` type A with the given answers.
std::vector<std::uint8_t> buildReply(std::uint16_t id, const std::vector<std::uint8_t>& question,
                                     const Behaviour& b) {
  std::vector<std::uint8_t> out;
  put16(out, id);
  put16(out, 0x8180u | static_cast<unsigned>(b.rcode));  // QR, RD, RA + rcode
  put16(out, 1);
  put16(out, b.rcode == 0 ? b.a.size() : 0);
  put16(out, 0);
  put16(out, 0);
  out.insert(out.end(), question.begin(), question.end());
  if (b.rcode != 0) return out;
  for (const Record& r : b.a) {
    put16(out, 0xc00c);  // pointer to the question name
    put16(out, 1);       // A
    put16(out, 1);       // IN
    put32(out, r.ttl);
    put16(out, 4);
    out.insert(out.end(), r.ip.begin(), r.ip.end());
  }
  return out;
}

TEST(MinAnswerTtlTest, SmallestOverAllAnswers) {
  auto q = encodeName("sip.example.test");
  put16(q, 1);
  put16(q, 1);
  auto reply = buildReply(7, q, {0, {{{10, 0, 0, 1}, 300}, {{10, 0, 0, 2}, 60}}, false});
  auto ttl = minAnswerTtl(reply.data(), static_cast<int>(reply.size()));
  ASSERT_TRUE(ttl);
  EXPECT_EQ(*ttl, 60s);

  // RFC 2181: a TTL with the top bit set counts as 0.
  reply = buildReply(7, q, {0, {{{10, 0, 0, 1}, 0x80000000u}}, false});
  EXPECT_EQ(minAnswerTtl(reply.data(), static_cast<int>(reply.size())), 0s);

  // No answers, a truncated reply, garbage: no TTL, no crash.
  reply = buildReply(7, q, {3, {}, false});
  EXPECT_FALSE(minAnswerTtl(reply.data(), static_cast<int>(reply.size())));
  reply = buildReply(7, q, {0, {{{10, 0, 0, 1}, 300}}, false});
  EXPECT_FALSE(minAnswerTtl(reply.data(), static_cast<int>(reply.size()) - 3));
  EXPECT_FALSE(minAnswerTtl(reply.data(), 5));
  EXPECT_FALSE(minAnswerTtl(nullptr, 0));
}

TEST(AresErrorTextTest, ShortHumanErrors) {
  EXPECT_EQ(aresErrorText(ARES_ENOTFOUND, RecordType::kA), "NXDOMAIN");
  EXPECT_EQ(aresErrorText(ARES_ESERVFAIL, RecordType::kA), "SERVFAIL");
  EXPECT_EQ(aresErrorText(ARES_ETIMEOUT, RecordType::kA), "timeout");
  EXPECT_EQ(aresErrorText(ARES_EREFUSED, RecordType::kA), "REFUSED");
  EXPECT_EQ(aresErrorText(ARES_ENODATA, RecordType::kSRV), "no SRV records");
  EXPECT_EQ(aresErrorText(ARES_ECONNREFUSED, RecordType::kA), "connection refused");
}

/// Answers A queries on 127.0.0.1:<ephemeral> from the test's own loop.
class FakeDnsServer {
 public:
  explicit FakeDnsServer(EventLoop& loop) {
    uv_udp_init(loop.get(), udp_.get());
    udp_.markInitialized();
    udp_.get()->data = this;
    sockaddr_in addr{};
    uv_ip4_addr("127.0.0.1", 0, &addr);
    EXPECT_EQ(uv_udp_bind(udp_.get(), reinterpret_cast<const sockaddr*>(&addr), 0), 0);
    sockaddr_in bound{};
    int len = sizeof bound;
    uv_udp_getsockname(udp_.get(), reinterpret_cast<sockaddr*>(&bound), &len);
    port_ = ntohs(bound.sin_port);
    // The server alone must not keep loop.run() going: tests run the loop until the resolver
    // has nothing left to do.
    uv_unref(udp_.base());
    uv_udp_recv_start(
        udp_.get(),
        [](uv_handle_t*, std::size_t, uv_buf_t* buf) {
          static char storage[4096];
          *buf = uv_buf_init(storage, sizeof storage);
        },
        &FakeDnsServer::onRecv);
  }

  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }
  void set(const std::string& name, Behaviour b) { behaviours_[name] = std::move(b); }
  int queries(const std::string& name) const {
    auto it = counts_.find(name);
    return it == counts_.end() ? 0 : it->second;
  }
  void close() { udp_.close(); }

 private:
  static void onRecv(uv_udp_t* handle, ssize_t n, const uv_buf_t* buf, const sockaddr* from,
                     unsigned) {
    auto* self = static_cast<FakeDnsServer*>(handle->data);
    if (self == nullptr || n < 12 || from == nullptr) return;
    const auto* p = reinterpret_cast<const std::uint8_t*>(buf->base);
    std::uint16_t id = static_cast<std::uint16_t>((p[0] << 8) | p[1]);
    // Question: labels up to the root, then type and class.
    std::string name;
    std::size_t pos = 12;
    while (pos < static_cast<std::size_t>(n) && p[pos] != 0) {
      if (!name.empty()) name += '.';
      name.append(reinterpret_cast<const char*>(p + pos + 1), p[pos]);
      pos += 1 + p[pos];
    }
    pos += 5;
    if (pos > static_cast<std::size_t>(n)) return;
    ++self->counts_[name];
    auto it = self->behaviours_.find(name);
    Behaviour b = it == self->behaviours_.end() ? Behaviour{3, {}, false} : it->second;
    if (b.drop) return;
    std::vector<std::uint8_t> question(p + 12, p + pos);
    std::vector<std::uint8_t> reply = buildReply(id, question, b);
    uv_buf_t out =
        uv_buf_init(reinterpret_cast<char*>(reply.data()), static_cast<unsigned>(reply.size()));
    uv_udp_try_send(handle, &out, 1, from);
  }

  UvHandle<uv_udp_t> udp_;
  std::uint16_t port_ = 0;
  std::map<std::string, Behaviour> behaviours_;
  std::map<std::string, int> counts_;
};

class AresResolverTest : public ::testing::Test {
 protected:
  std::unique_ptr<AresResolver> makeResolver(milliseconds timeout = 1000ms) {
    AresOptions o;
    o.servers = {server_.server()};
    o.query_timeout = timeout;
    return std::make_unique<AresResolver>(loop_, o, clock_);
  }

  ResolveResult resolve(AresResolver& r, const std::string& name, RecordType type = RecordType::kA,
                        ResolveOptions options = {}) {
    std::optional<ResolveResult> out;
    r.resolveWithOptions(name, type, options, [&](const ResolveResult& rr) { out = rr; });
    EXPECT_TRUE(testing::runLoopUntil(
        loop_, [&] { return out.has_value(); }, 10s, "the resolve callback for " + name));
    return out.value_or(ResolveResult{});
  }

  void TearDown() override {
    server_.close();
    loop_.run();
    int open = 0;
    uv_walk(
        loop_.get(),
        [](uv_handle_t* h, void* arg) {
          if (uv_is_closing(h) == 0) ++*static_cast<int*>(arg);
        },
        &open);
    EXPECT_EQ(open, 0) << "a handle was left open";
    EXPECT_EQ(loop_.close(), 0);
  }

  EventLoop loop_;
  FakeClock clock_;
  FakeDnsServer server_{loop_};
};

TEST_F(AresResolverTest, IpLiteralIsAnsweredLaterWithoutAQuery) {
  auto r = makeResolver();
  int calls = 0;
  ResolveResult got;
  r->resolve("192.0.2.7", RecordType::kA, [&](const ResolveResult& rr) {
    ++calls;
    got = rr;
  });
  EXPECT_EQ(calls, 0) << "never from inside resolve()";
  EXPECT_EQ(r->pending(), 1u);
  loop_.run();
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(got.ok);
  EXPECT_EQ(got.addresses, std::vector<std::string>{"192.0.2.7"});
  auto v6 = resolve(*r, "2001:db8::1", RecordType::kAAAA);
  EXPECT_EQ(v6.addresses, std::vector<std::string>{"2001:db8::1"});
  auto srv = resolve(*r, "192.0.2.7", RecordType::kSRV);
  EXPECT_FALSE(srv.ok);
  EXPECT_EQ(srv.error, "SRV lookup of an IP literal");
}

TEST_F(AresResolverTest, CachesForTheSmallestTtlOfTheAnswer) {
  server_.set("pool.example.test", {0, {{{10, 0, 0, 1}, 300}, {{10, 0, 0, 2}, 60}}, false});
  auto r = makeResolver();
  auto first = resolve(*r, "pool.example.test");
  ASSERT_TRUE(first.ok) << first.error;
  EXPECT_EQ(first.addresses, (std::vector<std::string>{"10.0.0.1", "10.0.0.2"}));
  EXPECT_EQ(first.ttl, 60s);
  EXPECT_FALSE(first.from_cache);

  clock_.advance(59s);
  auto cached = resolve(*r, "pool.example.test");
  EXPECT_TRUE(cached.from_cache);
  EXPECT_EQ(cached.ttl, 1s);
  EXPECT_EQ(server_.queries("pool.example.test"), 1);

  clock_.advance(1s);
  auto again = resolve(*r, "pool.example.test");
  EXPECT_TRUE(again.ok);
  EXPECT_FALSE(again.from_cache);
  EXPECT_EQ(server_.queries("pool.example.test"), 2);

  // bypass_cache always asks the server (and refreshes the cache).
  auto fresh = resolve(*r, "pool.example.test", RecordType::kA, {.bypass_cache = true});
  EXPECT_FALSE(fresh.from_cache);
  EXPECT_EQ(server_.queries("pool.example.test"), 3);
}

// The same with a server that answers a TTL of 2^31-1: the answer is reported and cached with
// the cap (dns.max_ttl), and the name is asked again once the cap runs out.
TEST_F(AresResolverTest, HugeTtlFromTheServerIsCutToMaxTtl) {
  server_.set("pinned.example.test", {0, {{{10, 0, 0, 9}, 0x7fffffffU}}, false});
  AresOptions o;
  o.servers = {server_.server()};
  o.max_ttl = 120s;
  AresResolver r(loop_, o, clock_);
  auto first = resolve(r, "pinned.example.test");
  ASSERT_TRUE(first.ok) << first.error;
  EXPECT_EQ(first.ttl, 120s);
  clock_.advance(119s);
  EXPECT_TRUE(resolve(r, "pinned.example.test").from_cache);
  clock_.advance(1s);
  auto again = resolve(r, "pinned.example.test");
  EXPECT_FALSE(again.from_cache);
  EXPECT_EQ(server_.queries("pinned.example.test"), 2);
  // Without a setting, the default cap.
  EXPECT_EQ(AresOptions{}.max_ttl, 300s);
}

TEST_F(AresResolverTest, MapsServfailRefusedAndNxdomainFromTheAnswer) {
  server_.set("broken.example.test", {2, {}, false});
  server_.set("refused.example.test", {5, {}, false});
  server_.set("empty.example.test", {0, {}, false});
  auto r = makeResolver();
  EXPECT_EQ(resolve(*r, "broken.example.test").error, "SERVFAIL");
  EXPECT_EQ(resolve(*r, "refused.example.test").error, "REFUSED");
  EXPECT_EQ(resolve(*r, "nobody.example.test").error, "NXDOMAIN");
  EXPECT_EQ(resolve(*r, "empty.example.test").error, "no A records");
  EXPECT_EQ(r->cache().size(), 0u);
}

TEST_F(AresResolverTest, TimeoutIsEnforcedPerLookupAndOthersStillAnswer) {
  server_.set("hung.example.test", {0, {}, true});
  server_.set("fine.example.test", {0, {{{10, 0, 0, 9}, 30}}, false});
  auto r = makeResolver(2000ms);
  std::vector<std::pair<std::string, std::chrono::steady_clock::time_point>> done;
  auto start = std::chrono::steady_clock::now();
  ResolveOptions short_timeout;
  short_timeout.timeout = 300ms;
  r->resolveWithOptions("hung.example.test", RecordType::kA, short_timeout,
                        [&](const ResolveResult& rr) {
                          done.emplace_back(rr.error, std::chrono::steady_clock::now());
                        });
  r->resolve("fine.example.test", RecordType::kA, [&](const ResolveResult& rr) {
    done.emplace_back(rr.ok ? "ok" : rr.error, std::chrono::steady_clock::now());
  });
  loop_.run();
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[0].first, "ok") << "a hung query must not hold up another";
  EXPECT_LT(done[0].second - start, 250ms);
  EXPECT_EQ(done[1].first, "timeout");
  EXPECT_GE(done[1].second - start, 295ms);
  EXPECT_LT(done[1].second - start, 1000ms);
  EXPECT_EQ(r->pending(), 0u);
}

TEST_F(AresResolverTest, CancelAllDropsCallbacksAndReleasesTheLoop) {
  server_.set("hung.example.test", {0, {}, true});
  auto r = makeResolver(5000ms);
  int calls = 0;
  r->resolve("hung.example.test", RecordType::kA, [&](const ResolveResult&) { ++calls; });
  r->resolve("10.0.0.1", RecordType::kA, [&](const ResolveResult&) { ++calls; });
  UvTimer later(loop_.get());
  auto start = std::chrono::steady_clock::now();
  later.start(50ms, [&] { r->cancelAll(); });
  // The literal is answered on the first iteration, before the 50 ms timer cancels the rest.
  loop_.run();
  EXPECT_EQ(calls, 1);
  // The loop ran dry right after cancelAll, not after the 5 s query timeout.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1000ms);
}

TEST_F(AresResolverTest, RejectsMalformedServers) {
  AresOptions o;
  o.servers = {"not an address"};
  EXPECT_THROW(AresResolver(loop_, o, clock_), std::runtime_error);
}

}  // namespace
}  // namespace mediapath::net
