// GenesysClient and the backends against the real genesys-emulator over TLS.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

#include "net/uv_timer.h"
#include "reporter/genesys/genesys_backends.h"
#include "tests/integration/genesys_support.h"

namespace mediapath::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using Steady = std::chrono::steady_clock;

json seedLocation() {
  return json::parse(R"({"name": "IT Office", "region": "eu-central-1",
    "sip": {"ports": [5060, 5061]},
    "media": {"sip": {"ports": [5060, 5061]},
              "proxy": {"host": "proxy-a.example.net", "port": 5060},
              "stun": {"host": "stun.example.net", "port": 3478},
              "turn": {"host": "turn.example.net", "port": 3478}},
    "ipAddressAllowlist": ["10.0.0.0/8"]})");
}

class GenesysClientIT : public ::testing::Test {
 protected:
  GenesysClientIT() : pki_(dir_), emu_(dir_, pki_, EmulatorSchema::kSeed) {}

  long long millisSince(Steady::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - t).count();
  }

  TempDir dir_;
  TestPki pki_;
  EmulatorProcess emu_;
};

TEST_F(GenesysClientIT, TokenIsFetchedOnceAndCached) {
  ClientHarness h(emu_, pki_.ca);
  for (int i = 0; i < 3; ++i) {
    auto r = h.call({"list_locations", "GET", "/api/v2/locations", std::nullopt, {}});
    ASSERT_TRUE(r.ok()) << r.error->describe();
    EXPECT_EQ(r.status, 200);
    EXPECT_TRUE(r.body.contains("entities"));
  }
  EXPECT_EQ(h.client().tokenRequests(), 1);
  auto tokens = emu_.requestsTo("/oauth/token", "POST");
  ASSERT_EQ(tokens.size(), 1u);
  EXPECT_EQ(tokens[0]["auth"], "Basic");
  EXPECT_EQ(tokens[0]["content_type"], "application/x-www-form-urlencoded");
  // Observer saw every exchange, token included.
  std::vector<std::pair<std::string, int>> expected{{"oauth_token", 200},
                                                    {"list_locations", 200},
                                                    {"list_locations", 200},
                                                    {"list_locations", 200}};
  EXPECT_EQ(h.observed(), expected);
}

TEST_F(GenesysClientIT, RateLimitWaitsAtLeastRetryAfter) {
  ClientHarness h(emu_, pki_.ca);
  // Token first, so the measured wait is only the API's.
  ASSERT_TRUE(h.call({"list_locations", "GET", "/api/v2/locations", std::nullopt, {}}).ok());
  emu_.fault({{"path_prefix", "/api/v2/locations"},
              {"method", "GET"},
              {"count", 1},
              {"status", 429},
              {"retry_after", 1}});
  auto start = Steady::now();
  auto r = h.call({"list_locations", "GET", "/api/v2/locations", std::nullopt, {}});
  long long took = millisSince(start);
  ASSERT_TRUE(r.ok()) << r.error->describe();
  EXPECT_GE(took, 1000);
  EXPECT_LT(took, 3000);
  auto gets = emu_.requestsTo("/api/v2/locations", "GET");
  ASSERT_EQ(gets.size(), 3u);
  EXPECT_EQ(gets[1]["status"], 429);
  EXPECT_EQ(gets[2]["status"], 200);
  std::cout << "429 Retry-After 1 s: call completed after " << took << " ms\n";
}

TEST_F(GenesysClientIT, ExpiredTokenIsRefreshedExactlyOnce) {
  ClientHarness h(emu_, pki_.ca);
  ASSERT_TRUE(h.call({"list_locations", "GET", "/api/v2/locations", std::nullopt, {}}).ok());
  ASSERT_EQ(emu_.admin("POST", "/_emulator/expire-tokens").first / 100, 2);
  auto r = h.call({"list_locations", "GET", "/api/v2/locations", std::nullopt, {}});
  ASSERT_TRUE(r.ok()) << r.error->describe();
  EXPECT_EQ(h.client().tokenRequests(), 2);
  auto all = emu_.requests();
  std::vector<std::pair<std::string, int>> seq;
  for (const auto& e : all) seq.emplace_back(e["path"].get<std::string>(), e["status"].get<int>());
  std::vector<std::pair<std::string, int>> expected{{"/oauth/token", 200},
                                                    {"/api/v2/locations", 200},
                                                    {"/api/v2/locations", 401},
                                                    {"/oauth/token", 200},
                                                    {"/api/v2/locations", 200}};
  EXPECT_EQ(seq, expected);
}

TEST(GenesysClientTokenIT, ShortLivedTokenIsRenewedBeforeItExpires) {
  TempDir dir;
  TestPki pki(dir);
  EmulatorProcess emu(dir, pki, EmulatorSchema::kPlatform, {"--expires-in", "2"});
  ClientHarness h(emu, pki.ca);
  ASSERT_TRUE(h.call({"list_locations", "GET", "/api/v2/locations", std::nullopt, {}}).ok());
  ASSERT_TRUE(h.call({"list_locations", "GET", "/api/v2/locations", std::nullopt, {}}).ok());
  EXPECT_EQ(h.client().tokenRequests(), 1);
  // A 2 s token is used for half its life, then renewed before the API could refuse it.
  std::this_thread::sleep_for(1100ms);
  ASSERT_TRUE(h.call({"list_locations", "GET", "/api/v2/locations", std::nullopt, {}}).ok());
  EXPECT_EQ(h.client().tokenRequests(), 2);
  for (const auto& r : emu.requests()) EXPECT_NE(r["status"], 401) << r.dump();
}

TEST(GenesysClientRateLimitIT, ConcurrentCallsAllCompleteUnderTheRateLimit) {
  TempDir dir;
  TestPki pki(dir);
  EmulatorProcess emu(dir, pki, EmulatorSchema::kPlatform, {"--rate-limit", "5/s", "--burst", "5"});
  ClientHarness h(emu, pki.ca);
  int done = 0;
  int ok = 0;
  constexpr int kCalls = 12;
  for (int i = 0; i < kCalls; ++i) {
    h.client().call({"list_locations", "GET", "/api/v2/locations", std::nullopt, {}},
                    [&](reporter::ApiResponse r) {
                      if (r.ok()) ++ok;
                      if (++done == kCalls) h.loop().stop();
                    });
  }
  h.loop().run();
  EXPECT_EQ(ok, kCalls);
  int limited = 0;
  for (const auto& r : emu.requests()) limited += r["status"] == 429 ? 1 : 0;
  EXPECT_GT(limited, 0);  // the limit really applied, and every 429 was waited out
  int counted_429 = static_cast<int>(std::count_if(h.observed().begin(), h.observed().end(),
                                                   [](const auto& o) { return o.second == 429; }));
  EXPECT_EQ(counted_429, limited);
}

TEST_F(GenesysClientIT, PersistentUnauthorizedIsRefreshedOnceThenReported) {
  ClientHarness h(emu_, pki_.ca);
  ASSERT_TRUE(h.call({"list_locations", "GET", "/api/v2/locations", std::nullopt, {}}).ok());
  emu_.fault({{"path_prefix", "/api/v2/locations"}, {"count", 5}, {"status", 401}});
  auto r = h.call({"list_locations", "GET", "/api/v2/locations", std::nullopt, {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->status, 401);
  EXPECT_EQ(h.client().tokenRequests(), 2);
  EXPECT_EQ(emu_.requestsTo("/api/v2/locations").size(), 3u);  // ok, 401, retried 401
}

TEST_F(GenesysClientIT, ServerErrorsBackOffWithinTheBudget) {
  reporter::RetryOptions retry;
  retry.initial_backoff = 100ms;
  retry.max_backoff = 400ms;
  retry.budget = 1500ms;
  ClientHarness h(emu_, pki_.ca, retry);
  ASSERT_TRUE(h.call({"list_locations", "GET", "/api/v2/locations", std::nullopt, {}}).ok());
  emu_.fault({{"path_prefix", "/api/v2/locations"}, {"count", 100}, {"status", 503}});
  auto start = Steady::now();
  auto r = h.call({"list_locations", "GET", "/api/v2/locations", std::nullopt, {}});
  long long took = millisSince(start);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->status, 503);
  EXPECT_GT(r.error->attempts, 2);
  // Waits total at most the budget; the requests themselves are fast on loopback.
  EXPECT_LE(took, 1500 + 1000);
  EXPECT_GE(took, 50 + 100 + 200);  // at least the lowest-jitter backoffs of three retries
  EXPECT_EQ(static_cast<int>(emu_.requestsTo("/api/v2/locations").size()), 1 + r.error->attempts);
  std::cout << "503 x" << r.error->attempts << " gave up after " << took
            << " ms (budget 1500 ms)\n";
}

TEST_F(GenesysClientIT, ConnectionResetIsRetried) {
  ClientHarness h(emu_, pki_.ca);
  ASSERT_TRUE(h.call({"list_locations", "GET", "/api/v2/locations", std::nullopt, {}}).ok());
  emu_.fault({{"path_prefix", "/api/v2/locations"}, {"count", 2}, {"reset", true}});
  auto r = h.call({"list_locations", "GET", "/api/v2/locations", std::nullopt, {}});
  ASSERT_TRUE(r.ok()) << r.error->describe();
}

TEST_F(GenesysClientIT, ClientErrorsAreNotRetriedAndCarryContextId) {
  ClientHarness h(emu_, pki_.ca);
  auto r = h.call({"get_location", "GET", "/api/v2/locations/does-not-exist", std::nullopt, {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->status, 404);
  EXPECT_EQ(r.error->code, "not.found");
  EXPECT_FALSE(r.error->message.empty());
  EXPECT_FALSE(r.error->context_id.empty());
  EXPECT_EQ(r.error->attempts, 1);
  auto logged = emu_.requestsTo("/api/v2/locations/does-not-exist");
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_EQ(logged[0]["correlation_id"], r.error->context_id);
  std::string text = r.error->describe();
  EXPECT_NE(text.find("HTTP 404 not.found"), std::string::npos) << text;
  EXPECT_NE(text.find("contextId " + r.error->context_id), std::string::npos) << text;

  // 422: the platform's validation, reported the same way, not retried.
  json bad = seedLocation();
  bad["ipAddressAllowlist"] = {"10.0.0.0/33"};
  auto v = h.call({"create_location", "POST", "/api/v2/locations", bad, "application/json"});
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error->status, 422);
  EXPECT_EQ(v.error->attempts, 1);
  EXPECT_EQ(emu_.requestsTo("/api/v2/locations", "POST").size(), 1u);
}

TEST_F(GenesysClientIT, BadCredentialsAreReportedWithoutTheSecret) {
  ClientHarness h(emu_, pki_.ca, ClientHarness::fastRetry(), "wrong-secret-value");
  auto r = h.call({"list_locations", "GET", "/api/v2/locations", std::nullopt, {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->status, 401);
  EXPECT_EQ(r.error->code, "invalid_client");
  EXPECT_EQ(r.error->describe().find("wrong-secret-value"), std::string::npos);
  EXPECT_EQ(emu_.requestsTo("/api/v2/").size(), 0u);
}

TEST_F(GenesysClientIT, WrongCaIsRefusedWithoutRetry) {
  ClientHarness h(emu_, pki_.wrong_ca);
  auto start = Steady::now();
  auto r = h.call({"list_locations", "GET", "/api/v2/locations", std::nullopt, {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->status, 0);
  EXPECT_EQ(r.error->transport.rfind("TLS: ", 0), 0u) << r.error->transport;
  EXPECT_EQ(r.error->attempts, 1);
  EXPECT_LT(millisSince(start), 2000);
  EXPECT_TRUE(emu_.requests().empty());  // nothing reached the server's HTTP layer
}

TEST_F(GenesysClientIT, SlowApiDoesNotBlockTheLoop) {
  ClientHarness h(emu_, pki_.ca);
  ASSERT_TRUE(h.call({"list_locations", "GET", "/api/v2/locations", std::nullopt, {}}).ok());
  emu_.fault({{"path_prefix", "/api/v2/locations"}, {"count", 1}, {"stall_ms", 2000}});
  net::UvTimer ticker(h.loop().get());
  std::vector<Steady::time_point> ticks;
  auto start = Steady::now();
  ticker.start(
      50ms, [&] { ticks.push_back(Steady::now()); }, 50ms);
  auto r = h.call({"list_locations", "GET", "/api/v2/locations", std::nullopt, {}});
  ticker.stop();
  ASSERT_TRUE(r.ok()) << r.error->describe();
  EXPECT_GE(millisSince(start), 2000);
  ASSERT_GE(ticks.size(), 30u);
  long long worst_gap = 0;
  for (std::size_t i = 1; i < ticks.size(); ++i) {
    worst_gap = std::max<long long>(
        worst_gap,
        std::chrono::duration_cast<std::chrono::milliseconds>(ticks[i] - ticks[i - 1]).count());
  }
  EXPECT_LT(worst_gap, 250);  // far below the 2 s stall, with room for a loaded CI machine
  std::cout << "2 s stalled API: " << ticks.size() << " ticks of 50 ms, worst gap " << worst_gap
            << " ms\n";
}

TEST_F(GenesysClientIT, LocationBackendPatchesWithTestThenReplace) {
  auto [status, created] = emu_.admin("POST", "/_emulator/locations", seedLocation());
  ASSERT_EQ(status, 201) << created.dump();
  std::string id = created["id"];
  ClientHarness h(emu_, pki_.ca);
  reporter::LocationBackend backend(h.client(), id, "/media/proxy");
  reporter::BackendResult result;
  backend.apply({"proxy-b.example.net", 5062}, std::nullopt, [&](reporter::BackendResult r) {
    result = std::move(r);
    h.loop().stop();
  });
  h.loop().run();
  ASSERT_TRUE(result.ok()) << result.error->describe();
  EXPECT_TRUE(result.changed);
  auto patches = emu_.requestsTo("/api/v2/locations/" + id, "PATCH");
  ASSERT_EQ(patches.size(), 1u);
  EXPECT_EQ(patches[0]["content_type"], "application/json-patch+json");
  json expected = json::parse(R"([
    {"op": "test", "path": "/media/proxy/host", "value": "proxy-a.example.net"},
    {"op": "test", "path": "/media/proxy/port", "value": 5060},
    {"op": "replace", "path": "/media/proxy/host", "value": "proxy-b.example.net"},
    {"op": "replace", "path": "/media/proxy/port", "value": 5062}])");
  EXPECT_EQ(patches[0]["body"], expected);
  auto get = h.call({"get_location", "GET", "/api/v2/locations/" + id, std::nullopt, {}});
  EXPECT_EQ(get.body["media"]["proxy"], (json{{"host", "proxy-b.example.net"}, {"port", 5062}}));

  // A stale expectation fails the platform's test op: nothing is changed.
  backend.apply({"proxy-c.example.net", 5060}, reporter::Endpoint{"proxy-a.example.net", 5060},
                [&](reporter::BackendResult r) {
                  result = std::move(r);
                  h.loop().stop();
                });
  h.loop().run();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error->status, 409);
  get = h.call({"get_location", "GET", "/api/v2/locations/" + id, std::nullopt, {}});
  EXPECT_EQ(get.body["media"]["proxy"]["host"], "proxy-b.example.net");
}

const std::string kTrunkPath = "/api/v2/telephony/providers/edges/trunkbasesettings/";

std::vector<reporter::BackendCandidate> trunkCandidates() {
  return {{"proxy-a", "proxy-a.example.net", 5060, ""},
          {"proxy-b", "proxy-b.example.net", 5070, ""},
          {"proxy-c", "192.0.2.10", 5060, ""}};
}

/// A BYOC trunk as the platform returns it, with properties the agent must not touch.
json byocTrunk(const std::string& id) {
  return json::parse(R"({"id": ")" + id + R"(", "name": "BYOC EU", "state": "active",
    "trunkType": "EXTERNAL", "managed": false, "version": 7,
    "trunkMetabase": {"id": "external_sip_pcv_byoc_carrier.json", "name": "Generic BYOC Carrier"},
    "properties": {
      "trunk_transport_serverProxyList": {"type": "array", "items": {"type": "string"},
        "uniqueItems": true,
        "value": {"default": null,
                  "instance": ["sbc.carrier.net", "proxy-a.example.net", "proxy-b.example.net:5070"]}},
      "trunk_transport_protocolVariant": {"type": "string", "enum": ["udp", "tcp", "tls"],
        "value": {"default": "udp", "instance": "udp"}},
      "trunk_access_acl_allowList": {"type": "array", "items": {"type": "string"},
        "value": {"default": [], "instance": ["203.0.113.0/24"]}},
      "trunk_transport_sipTimeout": {"type": "integer", "value": {"default": 32, "instance": 45}},
      "trunk_media_codec": {"type": "array", "value": {"default": ["audio/opus"],
        "instance": ["audio/pcmu", "audio/pcma", "audio/g722"]}},
      "trunk_language": {"type": "string", "value": {"default": "en-US", "instance": "de-DE"}}}})");
}

/// Runs applyRanked to completion.
reporter::BackendResult applyAndWait(ClientHarness& h, reporter::FailoverBackend& backend,
                                     std::vector<std::string> ranked) {
  reporter::BackendResult result;
  backend.applyRanked(std::move(ranked), [&](reporter::BackendResult r) {
    result = std::move(r);
    h.loop().stop();
  });
  h.loop().run();
  return result;
}

reporter::ActiveOrder readAndWait(ClientHarness& h, reporter::FailoverBackend& backend) {
  reporter::ActiveOrder order;
  backend.readActiveOrder([&](reporter::ActiveOrder o) {
    order = std::move(o);
    h.loop().stop();
  });
  h.loop().run();
  return order;
}

TEST_F(GenesysClientIT, TrunkBackendReordersKeepingAdminEntriesPortsAndEveryOtherProperty) {
  auto [status, created] = emu_.admin("POST", "/_emulator/trunks", byocTrunk("trunk-1"));
  ASSERT_EQ(status, 201) << created.dump();
  const std::string path = kTrunkPath + "trunk-1";
  ClientHarness h(emu_, pki_.ca);
  auto read = h.call({"get_trunk", "GET", path + "?ignoreHidden=true", std::nullopt, {}});
  ASSERT_TRUE(read.ok()) << read.error->describe();
  const json before = read.body;

  reporter::TrunkBackend backend(h.client(), "trunk-1", trunkCandidates());
  reporter::ActiveOrder order = readAndWait(h, backend);
  ASSERT_TRUE(order.ok()) << order.error->describe();
  EXPECT_EQ(order.active, "");  // the admin's sbc.carrier.net is first: none of ours
  EXPECT_NE(order.summary.find("sbc.carrier.net, proxy-a.example.net"), std::string::npos)
      << order.summary;

  reporter::BackendResult result = applyAndWait(h, backend, {"proxy-b", "proxy-c", "proxy-a"});
  ASSERT_TRUE(result.ok()) << result.error->describe();
  EXPECT_TRUE(result.changed);
  EXPECT_EQ(result.attempts, 1);
  std::cout << result.summary << "\n";

  // Read with ignoreHidden, as the platform wants for a read-modify-write.
  auto gets = emu_.requestsTo(path, "GET");
  ASSERT_FALSE(gets.empty());
  EXPECT_EQ(gets.back()["query"]["ignoreHidden"], "true");
  auto puts = emu_.requestsTo(path, "PUT");
  ASSERT_EQ(puts.size(), 1u);
  EXPECT_EQ(puts[0]["status"], 200);
  const json& sent = puts[0]["body"];
  // The candidates first, as the admin wrote them (proxy-a without its port, proxy-b with it),
  // the new proxy-c added without the trunk's own port, the admin's server kept last.
  EXPECT_EQ(
      sent["properties"]["trunk_transport_serverProxyList"]["value"]["instance"],
      (json{"proxy-b.example.net:5070", "192.0.2.10", "proxy-a.example.net", "sbc.carrier.net"}));
  // The new address joined the allowlist; the names did not.
  EXPECT_EQ(sent["properties"]["trunk_access_acl_allowList"]["value"]["instance"],
            (json{"203.0.113.0/24", "192.0.2.10/32"}));
  // Everything else is exactly what was read, the version included.
  json expected = before;
  expected["properties"]["trunk_transport_serverProxyList"]["value"]["instance"] =
      sent["properties"]["trunk_transport_serverProxyList"]["value"]["instance"];
  expected["properties"]["trunk_access_acl_allowList"]["value"]["instance"] =
      sent["properties"]["trunk_access_acl_allowList"]["value"]["instance"];
  EXPECT_EQ(sent, expected) << "sent:     " << sent.dump() << "\nexpected: " << expected.dump();
  EXPECT_EQ(sent["version"], 7);

  order = readAndWait(h, backend);
  ASSERT_TRUE(order.ok()) << order.error->describe();
  EXPECT_EQ(order.active, "proxy-b");

  // The same order again: the platform already holds it, nothing is sent.
  result = applyAndWait(h, backend, {"proxy-b", "proxy-c", "proxy-a"});
  ASSERT_TRUE(result.ok()) << result.error->describe();
  EXPECT_FALSE(result.changed);
  EXPECT_NE(result.summary.find("(no change)"), std::string::npos) << result.summary;
  EXPECT_EQ(emu_.requestsTo(path, "PUT").size(), 1u);
}

TEST_F(GenesysClientIT, TrunkBackendRefusesManagedAndNonExternalTrunksSendingNothing) {
  json managed = byocTrunk("trunk-m");
  managed["managed"] = true;
  json phone = byocTrunk("trunk-p");
  phone["trunkType"] = "PHONE";
  ASSERT_EQ(emu_.admin("POST", "/_emulator/trunks", managed).first, 201);
  ASSERT_EQ(emu_.admin("POST", "/_emulator/trunks", phone).first, 201);
  ClientHarness h(emu_, pki_.ca);
  for (auto [id, why] : {std::pair{"trunk-m", "is managed by Genesys Cloud"},
                         std::pair{"trunk-p", "has trunkType \"PHONE\", not EXTERNAL"}}) {
    reporter::TrunkBackend backend(h.client(), id, trunkCandidates());
    reporter::BackendResult result = applyAndWait(h, backend, {"proxy-b", "proxy-a", "proxy-c"});
    ASSERT_FALSE(result.ok()) << id;
    EXPECT_TRUE(result.permanent) << id;
    std::string text = result.error->describe();
    EXPECT_NE(text.find("trunk \"BYOC EU\" (" + std::string(id) + ") " + why), std::string::npos)
        << text;
    EXPECT_EQ(emu_.requestsTo(kTrunkPath + id, "GET").size(), 1u) << id;  // read once, no loop
  }
  // Nothing was written to either trunk.
  EXPECT_TRUE(emu_.requestsTo(kTrunkPath, "PUT").empty());
}

TEST_F(GenesysClientIT, TrunkBackendRereadsAndRetriesOnConflict) {
  auto [status, trunk] =
      emu_.admin("POST", "/_emulator/trunks",
                 {{"id", "trunk-1"},
                  {"name", "BYOC"},
                  {"hosts", {"proxy-a.example.net", "proxy-b.example.net:5070"}}});
  ASSERT_EQ(status, 201) << trunk.dump();
  ClientHarness h(emu_, pki_.ca);
  reporter::TrunkBackend backend(h.client(), "trunk-1", trunkCandidates());
  const std::string path = kTrunkPath + "trunk-1";
  emu_.fault({{"path_prefix", path}, {"method", "PUT"}, {"count", 1}, {"status", 409}});
  reporter::BackendResult result = applyAndWait(h, backend, {"proxy-b", "proxy-a", "proxy-c"});
  ASSERT_TRUE(result.ok()) << result.error->describe();
  EXPECT_EQ(result.attempts, 2);
  EXPECT_EQ(emu_.requestsTo(path, "GET").size(), 2u);  // read, re-read after the 409
  auto puts = emu_.requestsTo(path, "PUT");
  ASSERT_EQ(puts.size(), 2u);
  EXPECT_EQ(puts[0]["status"], 409);
  EXPECT_EQ(puts[1]["status"], 200);
  auto get = h.call({"get_trunk", "GET", path, std::nullopt, {}});
  EXPECT_EQ(get.body["properties"]["trunk_transport_serverProxyList"]["value"]["instance"],
            (json{"proxy-b.example.net:5070", "proxy-a.example.net", "192.0.2.10"}));
  EXPECT_EQ(get.body["version"], trunk["version"].get<int>() + 1);

  // Conflicts that never end are bounded.
  emu_.fault({{"path_prefix", path}, {"method", "PUT"}, {"count", 50}, {"status", 409}});
  result = applyAndWait(h, backend, {"proxy-a", "proxy-b", "proxy-c"});
  ASSERT_FALSE(result.ok());
  EXPECT_FALSE(result.permanent);
  EXPECT_EQ(result.error->status, 409);
  EXPECT_EQ(result.attempts, 4);  // 1 + 3 re-reads
}

TEST_F(GenesysClientIT, TrunkBackendRetriesThe408And400FormsOfAConflict) {
  ASSERT_EQ(emu_.admin("POST", "/_emulator/trunks", byocTrunk("trunk-1")).first, 201);
  const std::string path = kTrunkPath + "trunk-1";
  ClientHarness h(emu_, pki_.ca);
  reporter::TrunkBackend backend(h.client(), "trunk-1", trunkCandidates());
  int puts = 0;
  for (auto [conflict, order] :
       {std::pair{"408", std::vector<std::string>{"proxy-b", "proxy-a", "proxy-c"}},
        std::pair{"400", std::vector<std::string>{"proxy-a", "proxy-b", "proxy-c"}},
        std::pair{"409", std::vector<std::string>{"proxy-c", "proxy-a", "proxy-b"}}}) {
    // Another admin saves the trunk just before the agent's PUT.
    emu_.fault({{"path_prefix", path},
                {"method", "PUT"},
                {"count", 1},
                {"concurrent_change", true},
                {"conflict", conflict}});
    reporter::BackendResult result = applyAndWait(h, backend, order);
    ASSERT_TRUE(result.ok()) << conflict << ": " << result.error->describe();
    EXPECT_EQ(result.attempts, 2) << conflict;
    auto logged = emu_.requestsTo(path, "PUT");
    ASSERT_EQ(logged.size(), static_cast<std::size_t>(puts + 2)) << conflict;
    EXPECT_EQ(logged[puts]["status"], std::stoi(conflict));
    EXPECT_EQ(logged[puts + 1]["status"], 200);
    puts += 2;
  }
}

TEST(GenesysSiteIT, SiteBackendRanksRegionsAndRefusesARegionTheOrgLacks) {
  TempDir dir;
  TestPki pki(dir);
  EmulatorProcess emu(dir, pki, EmulatorSchema::kPlatform);
  auto [status, created] = emu.admin("POST", "/_emulator/sites",
                                     {{"id", "site-1"},
                                      {"name", "Frankfurt Office"},
                                      {"media_regions", {"us-east-1", "eu-west-1", "eu-central-1"}},
                                      {"use_latency_based", true}});
  ASSERT_EQ(status, 201) << created.dump();
  const std::string path = "/api/v2/telephony/providers/edges/sites/site-1";
  ClientHarness h(emu, pki.ca);
  auto read = h.call({"get_site", "GET", path, std::nullopt, {}});
  ASSERT_TRUE(read.ok()) << read.error->describe();
  const json before = read.body;

  std::vector<reporter::BackendCandidate> candidates{
      {"loop-fra", "turn.fra.example.net", 3478, "eu-central-1"},
      {"loop-dub", "turn.dub.example.net", 3478, "eu-west-1"}};
  reporter::SiteBackend backend(h.client(), "site-1", candidates);
  reporter::ActiveOrder order = readAndWait(h, backend);
  ASSERT_TRUE(order.ok()) << order.error->describe();
  EXPECT_EQ(order.active, "");  // latency-based: the order is not what the platform uses

  emu.fault({{"path_prefix", path},
             {"method", "PUT"},
             {"count", 1},
             {"concurrent_change", true},
             {"conflict", "409"}});
  reporter::BackendResult result = applyAndWait(h, backend, {"loop-dub", "loop-fra"});
  ASSERT_TRUE(result.ok()) << result.error->describe();
  EXPECT_EQ(result.attempts, 2);  // re-read after the concurrent save
  std::cout << result.summary << "\n";
  auto puts = emu.requestsTo(path, "PUT");
  ASSERT_EQ(puts.size(), 2u);
  EXPECT_EQ(puts[1]["status"], 200);
  const json& sent = puts[1]["body"];
  EXPECT_EQ(sent["mediaRegions"], (json{"eu-west-1", "eu-central-1", "us-east-1"}));
  EXPECT_EQ(sent["mediaRegionsUseLatencyBased"], false);
  // Every other field as read; the version is the one read after the other admin's save.
  json expected = before;
  expected["mediaRegions"] = sent["mediaRegions"];
  expected["mediaRegionsUseLatencyBased"] = false;
  expected["version"] = before["version"].get<int>() + 1;
  for (const char* volatile_field : {"dateModified", "modifiedBy", "modifiedByApp"}) {
    expected.erase(volatile_field);  // the concurrent save may stamp these
  }
  json compared = sent;
  for (const char* volatile_field : {"dateModified", "modifiedBy", "modifiedByApp"}) {
    compared.erase(volatile_field);
  }
  EXPECT_EQ(compared, expected) << "sent:     " << sent.dump() << "\nexpected: " << expected.dump();
  // The org's regions were read once.
  EXPECT_EQ(emu.requestsTo("/api/v2/telephony/mediaregions", "GET").size(), 1u);

  order = readAndWait(h, backend);
  ASSERT_TRUE(order.ok()) << order.error->describe();
  EXPECT_EQ(order.active, "loop-dub");

  // A candidate mapped to a region the org does not have: refused, nothing sent.
  candidates[1].region = "mars-north-1";
  reporter::SiteBackend bad(h.client(), "site-1", candidates);
  result = applyAndWait(h, bad, {"loop-fra", "loop-dub"});
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(result.permanent);
  EXPECT_NE(
      result.error->describe().find("\"loop-dub\" is mapped to media region \"mars-north-1\""),
      std::string::npos)
      << result.error->describe();
  EXPECT_EQ(emu.requestsTo(path, "PUT").size(), 2u);
}

TEST_F(GenesysClientIT, TokenEndpointRateLimitIsWaitedOut) {
  emu_.fault(
      {{"path_prefix", "/oauth/token"}, {"count", 2}, {"status", 400}, {"oauth_rate_limit", true}});
  ClientHarness h(emu_, pki_.ca);
  auto r = h.call({"list_locations", "GET", "/api/v2/locations", std::nullopt, {}});
  ASSERT_TRUE(r.ok()) << r.error->describe();
  EXPECT_EQ(h.client().tokenRequests(), 3);
  auto tokens = emu_.requestsTo("/oauth/token", "POST");
  ASSERT_EQ(tokens.size(), 3u);
  EXPECT_EQ(tokens[0]["status"], 400);
  EXPECT_EQ(tokens[2]["status"], 200);
}

TEST_F(GenesysClientIT, RequestLogHoldsNoSecret) {
  {
    ClientHarness h(emu_, pki_.ca);
    ASSERT_TRUE(h.call({"list_locations", "GET", "/api/v2/locations", std::nullopt, {}}).ok());
  }
  std::string log = slurp(emu_.requestLogPath()) + emu_.requests().dump() + emu_.log();
  EXPECT_FALSE(log.empty());
  EXPECT_EQ(log.find(kGenesysSecret), std::string::npos);
}

}  // namespace
}  // namespace mediapath::testing
