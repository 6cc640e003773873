#include "reporter/genesys/genesys_backends.h"

#include <gtest/gtest.h>

#include "net/clock.h"
#include "net/event_loop.h"
#include "reporter/genesys/genesys_client.h"
#include "reporter/genesys/genesys_queries.h"

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

TEST(ApiErrorTest, DescribeNamesTheFieldsThePlatformRefused) {
  ApiError e;
  e.request = "PUT /api/v2/telephony/providers/edges/sites/s1";
  e.status = 400;
  fillErrorFromBody(json::parse(R"({"message": "Invalid media region", "code": "invalid.value",
    "status": 400, "contextId": "ctx-9", "details": [
      {"errorCode": "invalid.value", "fieldName": "mediaRegions[2]"},
      {"errorCode": "invalid.value"}, {"fieldName": 7},
      {"errorCode": "invalid.value", "fieldName": "name"}]})"),
                    e);
  EXPECT_EQ(e.fields, (std::vector<std::string>{"mediaRegions[2]", "name"}));
  EXPECT_EQ(e.describe(),
            "PUT /api/v2/telephony/providers/edges/sites/s1: HTTP 400 invalid.value: Invalid media "
            "region (fields: mediaRegions[2], name) (contextId ctx-9)");
}

TEST(ApiErrorTest, PeerTextIsEscapedAndBounded) {
  json details = json::array();
  for (int i = 0; i < 50; ++i) details.push_back({{"fieldName", "f" + std::to_string(i)}});
  ApiError e;
  e.request = "GET /x";
  e.status = 400;
  fillErrorFromBody(
      json{{"message", std::string("line\r\nforged: yes \x1b[2J") + std::string(5000, 'm')},
           {"code", "bad\x7f"},
           {"details", details}},
      e);
  EXPECT_EQ(e.message.find('\n'), std::string::npos);
  EXPECT_EQ(e.message.rfind("line\\x0D\\x0Aforged: yes \\x1B[2J", 0), 0u) << e.message;
  EXPECT_LE(e.message.size(), 1024u + 3);
  EXPECT_EQ(e.message.substr(e.message.size() - 3), "...");
  EXPECT_EQ(e.code, "bad\\x7F");
  ASSERT_EQ(e.fields.size(), 11u);
  EXPECT_EQ(e.fields.back(), "and 40 more");
  // Valid UTF-8 passes; a broken sequence is escaped, so the audit trail's JSON stays valid.
  EXPECT_EQ(peerText("B\xC3\xBCro"), "B\xC3\xBCro");
  EXPECT_EQ(peerText("B\xC3(ro"), "B\\xC3(ro");
  EXPECT_EQ(peerText("\xED\xA0\x80"), "\\xED\\xA0\\x80");  // a UTF-16 surrogate is not UTF-8
  EXPECT_EQ(peerText("abcdef", 4), "abcd...");
  EXPECT_EQ(peerText("ab\ncd", 4), "ab...");  // an escape is never cut in half
  EXPECT_NO_THROW((void)json(e.describe()).dump());
}

TEST(ApiErrorTest, AnAgentRefusalReadsAsItsReason) {
  ApiError e;
  e.request = "PUT /api/v2/telephony/providers/edges/trunkbasesettings/t-7";
  e.message = "trunk \"BYOC\" (t-7) is managed by Genesys Cloud";
  EXPECT_EQ(e.describe(),
            "PUT /api/v2/telephony/providers/edges/trunkbasesettings/t-7: trunk \"BYOC\" (t-7) is "
            "managed by Genesys Cloud");
  ApiError none;
  none.request = "GET /x";
  EXPECT_EQ(none.describe(), "GET /x: no response");
}

TEST(UrlEncodeTest, KeepsUnreservedCharactersOnly) {
  EXPECT_EQ(urlEncode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(urlEncode("a+b/c=d e&f?g#h%"), "a%2Bb%2Fc%3Dd%20e%26f%3Fg%23h%25");
  EXPECT_EQ(urlEncode("\xC3\xBC"), "%C3%BC");
  EXPECT_EQ(urlEncode(""), "");
}

TEST(AuditResultsPathTest, CursorIsEncodedAndUsersExpanded) {
  EXPECT_EQ(auditResultsPath("q-1", ""),
            "/api/v2/audits/query/q-1/results?pageSize=500&expand=user");
  EXPECT_EQ(auditResultsPath("q-1", "eyJvZmZzZXQiOjUwMH0=+/&x"),
            "/api/v2/audits/query/q-1/results?pageSize=500&expand=user&cursor="
            "eyJvZmZzZXQiOjUwMH0%3D%2B%2F%26x");
}

}  // namespace
}  // namespace mediapath::reporter
