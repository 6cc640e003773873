#include "reporter/genesys/genesys_backends.h"

#include <gtest/gtest.h>

#include "net/clock.h"
#include "net/event_loop.h"
#include "reporter/genesys/genesys_client.h"

namespace mediapath::reporter {
namespace {

using nlohmann::json;

GenesysClientOptions clientOptions(std::string api, std::string login) {
  GenesysClientOptions o;
  o.endpoints = {std::move(api), std::move(login)};
  o.client_id = "id";
  o.client_secret = "secret";
  return o;
}

TEST(TrunkBackendTest, SetsTheOrderedServerListKeepingTheRest) {
  json trunk = json::parse(R"({"id": "t1", "version": 4, "properties": {
    "trunk_transport_serverProxyList": {"type": "array",
      "value": {"default": [], "instance": ["a:5060", "b:5060"]}},
    "trunk_transport_protocolVariant": {"type": "string", "value": {"instance": "udp"}}}})");
  EXPECT_FALSE(TrunkBackend::setServerProxyList(trunk, {"a:5060", "b:5060"}));
  EXPECT_TRUE(TrunkBackend::setServerProxyList(trunk, {"b:5060", "a:5060"}));
  EXPECT_EQ(trunk["properties"]["trunk_transport_serverProxyList"]["value"]["instance"],
            (json{"b:5060", "a:5060"}));
  EXPECT_EQ(trunk["version"], 4);
  EXPECT_EQ(trunk["properties"]["trunk_transport_protocolVariant"]["value"]["instance"], "udp");
}

TEST(TrunkBackendTest, CreatesTheMissingProperty) {
  json trunk{{"id", "t1"}, {"version", 1}};
  EXPECT_TRUE(TrunkBackend::setServerProxyList(trunk, {"x"}));
  EXPECT_EQ(trunk["properties"]["trunk_transport_serverProxyList"]["value"]["instance"],
            (json{"x"}));
}

TEST(TrunkBackendTest, ReadsTheServerListUpToTheFirstNonString) {
  json trunk = json::parse(R"({"properties": {"trunk_transport_serverProxyList":
    {"value": {"instance": ["b:5060", "a", 7, "c"]}}}})");
  EXPECT_EQ(serverProxyList(trunk), (std::vector<std::string>{"b:5060", "a"}));
  EXPECT_TRUE(serverProxyList(json{{"id", "t1"}}).empty());
  EXPECT_TRUE(serverProxyList(json::array()).empty());
}

TEST(FailoverBackendTest, FactoryPicksTheBackendOfTheGroupsTarget) {
  net::EventLoop loop;
  net::SystemClock clock;
  net::SeededRandom random(1);
  {
    GenesysClient client(loop, clientOptions("http://127.0.0.1:1", "http://127.0.0.1:1"), clock,
                         random);
    auto location = makeFailoverBackend(client, {"loc-1", "/media/proxy", ""});
    ASSERT_TRUE(location);
    EXPECT_EQ(location->kind(), "location");
    auto trunk = makeFailoverBackend(client, {"", "", "trunk-1"});
    ASSERT_TRUE(trunk);
    EXPECT_EQ(trunk->kind(), "trunk");
    EXPECT_FALSE(makeFailoverBackend(client, {"loc-1", "", ""}));
  }
  EXPECT_EQ(loop.close(), 0);
}

TEST(LocationBackendTest, ReadsEndpointsAtAPointer) {
  json loc = json::parse(R"({"media": {"proxy": {"host": "p", "port": 5060},
                                       "stun": {"host": "s"}}})");
  auto p = endpointAt(loc, "/media/proxy");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->host, "p");
  EXPECT_EQ(p->port, 5060);
  EXPECT_FALSE(endpointAt(loc, "/media/stun"));
  EXPECT_FALSE(endpointAt(loc, "/media/turn"));
}

TEST(GenesysEndpointsTest, RegionTableAndOverrides) {
  GenesysEndpoints e = resolveEndpoints("eu-central-1", "", "");
  EXPECT_EQ(e.api_base_url, "https://api.mypurecloud.de");
  EXPECT_EQ(e.login_base_url, "https://login.mypurecloud.de");
  e = resolveEndpoints("", "http://127.0.0.1:8080/", "http://[::1]:8080");
  EXPECT_EQ(e.api_base_url, "http://127.0.0.1:8080");
  EXPECT_EQ(e.login_base_url, "http://[::1]:8080");
  e = resolveEndpoints("eu-central-1", "https://api.example.test", "");
  EXPECT_EQ(e.login_base_url, "https://login.mypurecloud.de");
}

TEST(GenesysEndpointsTest, RefusesPlainHttpToNonLoopbackAndUnknownRegions) {
  EXPECT_THROW(resolveEndpoints("", "http://api.example.com", "https://login.example.com"),
               std::invalid_argument);
  EXPECT_THROW(resolveEndpoints("", "https://api.example.com", "http://10.0.0.1"),
               std::invalid_argument);
  EXPECT_THROW(resolveEndpoints("mars-north-1", "", ""), std::invalid_argument);
  EXPECT_THROW(resolveEndpoints("", "ftp://127.0.0.1", "https://x"), std::invalid_argument);
}

TEST(GenesysClientTest, ConstructorRefusesPlainHttpToNonLoopback) {
  net::EventLoop loop;
  net::SystemClock clock;
  net::SeededRandom random(1);
  GenesysClientOptions o = clientOptions("http://api.example.com", "https://login.example.com");
  EXPECT_THROW(GenesysClient(loop, o, clock, random), std::invalid_argument);
  o.endpoints = {"http://localhost:1", "http://127.0.0.2:1"};
  EXPECT_NO_THROW(GenesysClient(loop, o, clock, random));
  o.client_secret.clear();
  EXPECT_THROW(GenesysClient(loop, o, clock, random), std::invalid_argument);
  EXPECT_EQ(loop.close(), 0);
}

TEST(ApiErrorTest, DescribeCarriesStatusCodeMessageAndContextId) {
  ApiError e;
  e.request = "GET /api/v2/locations/x";
  e.status = 404;
  fillErrorFromBody(json{{"message", "Location not found"},
                         {"code", "not.found"},
                         {"status", 404},
                         {"contextId", "ctx-1"}},
                    e);
  EXPECT_EQ(e.describe(),
            "GET /api/v2/locations/x: HTTP 404 not.found: Location not found (contextId ctx-1)");
  ApiError t;
  t.request = "POST /oauth/token";
  t.status = 401;
  fillErrorFromBody(
      json{{"error", "invalid_client"}, {"error_description", "authentication failed"}}, t);
  EXPECT_EQ(t.describe(), "POST /oauth/token: HTTP 401 invalid_client: authentication failed");
}

}  // namespace
}  // namespace mediapath::reporter
