#include "reporter/genesys/genesys_backends.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "net/clock.h"
#include "net/event_loop.h"
#include "reporter/genesys/genesys_client.h"
#include "reporter/genesys/genesys_edits.h"
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

BackendCandidate candidate(std::string name, std::string host, std::uint16_t port,
                           std::string region = {}) {
  return {std::move(name), std::move(host), port, std::move(region)};
}

std::vector<BackendCandidate> proxies(std::uint16_t port_a = 5060, std::uint16_t port_b = 5060) {
  return {candidate("proxy-a", "proxy-a.example.net", port_a),
          candidate("proxy-b", "proxy-b.example.net", port_b)};
}

std::vector<BackendCandidate> reversed(std::vector<BackendCandidate> v) {
  std::reverse(v.begin(), v.end());
  return v;
}

using Strings = std::vector<std::string>;

TEST(TrunkServerListTest, CandidatesRankedFirstThenAdminEntriesInTheirOldOrder) {
  Strings current{"sbc-1.carrier.net", "proxy-a.example.net", "sbc-2.carrier.net",
                  "proxy-b.example.net"};
  EXPECT_EQ(reorderServerProxyList(current, reversed(proxies()), 5060),
            (Strings{"proxy-b.example.net", "proxy-a.example.net", "sbc-1.carrier.net",
                     "sbc-2.carrier.net"}));
  EXPECT_EQ(reorderServerProxyList(current, proxies(), 5060),
            (Strings{"proxy-a.example.net", "proxy-b.example.net", "sbc-1.carrier.net",
                     "sbc-2.carrier.net"}));
}

TEST(TrunkServerListTest, AnEntryNamingACandidateIsKeptAsWrittenNotDuplicated) {
  // The admin wrote proxy-a with its port and proxy-b without: both are the candidates (5060 is
  // the trunk's port), so both move as written and neither is added a second time.
  Strings current{"proxy-a.example.net:5060", "PROXY-B.example.net."};
  EXPECT_EQ(reorderServerProxyList(current, reversed(proxies()), 5060),
            (Strings{"PROXY-B.example.net.", "proxy-a.example.net:5060"}));
}

TEST(TrunkServerListTest, PortsDecideWhetherAnEntryIsTheCandidate) {
  // proxy-b listens on 5070: written host:port; the admin's bare "proxy-b" (5060) is another
  // server, kept after the candidates.
  auto c = proxies(5060, 5070);
  EXPECT_EQ(serverProxyEntry(c[0], 5060), "proxy-a.example.net");
  EXPECT_EQ(serverProxyEntry(c[1], 5060), "proxy-b.example.net:5070");
  EXPECT_TRUE(serverProxyEntryMatches("proxy-b.example.net:5070", c[1], 5060));
  EXPECT_FALSE(serverProxyEntryMatches("proxy-b.example.net", c[1], 5060));
  EXPECT_FALSE(serverProxyEntryMatches("proxy-b.example.net:5071", c[1], 5060));
  EXPECT_FALSE(serverProxyEntryMatches("proxy-b.example.net:abc", c[1], 5060));
  EXPECT_FALSE(serverProxyEntryMatches("proxy-bb.example.net:5070", c[1], 5060));
  EXPECT_EQ(
      reorderServerProxyList({"proxy-a.example.net", "proxy-b.example.net"}, reversed(c), 5060),
      (Strings{"proxy-b.example.net:5070", "proxy-a.example.net", "proxy-b.example.net"}));
}

TEST(TrunkServerListTest, TlsTrunkWritesHostAloneForPort5061) {
  nlohmann::json tls = json::parse(R"({"properties": {"trunk_transport_protocolVariant":
    {"type": "string", "value": {"default": "udp", "instance": "tls"}}}})");
  EXPECT_EQ(trunkSipPort(tls), 5061);
  EXPECT_EQ(trunkSipPort(json{{"properties", json::object()}}), 5060);
  tls["properties"]["trunk_transport_protocolVariant"]["value"]["instance"] = "tcp";
  EXPECT_EQ(trunkSipPort(tls), 5060);

  auto c = proxies(5061, 5060);
  EXPECT_EQ(serverProxyEntry(c[0], 5061), "proxy-a.example.net");
  EXPECT_EQ(serverProxyEntry(c[1], 5061), "proxy-b.example.net:5060");
  EXPECT_TRUE(serverProxyEntryMatches("proxy-a.example.net", c[0], 5061));
  EXPECT_FALSE(serverProxyEntryMatches("proxy-b.example.net", c[1], 5061));
}

TEST(TrunkServerListTest, Ipv6EntriesAreBracketedWithAPortAndComparedAsAddresses) {
  BackendCandidate v6 = candidate("v6", "2001:db8::5", 5070);
  BackendCandidate v6_default = candidate("v6", "2001:db8::5", 5060);
  EXPECT_EQ(serverProxyEntry(v6, 5060), "[2001:db8::5]:5070");
  EXPECT_EQ(serverProxyEntry(v6_default, 5060), "2001:db8::5");
  EXPECT_TRUE(serverProxyEntryMatches("[2001:DB8:0::5]:5070", v6, 5060));
  EXPECT_TRUE(serverProxyEntryMatches("2001:db8:0:0::5", v6_default, 5060));
  EXPECT_TRUE(serverProxyEntryMatches("[2001:db8::5]", v6_default, 5060));
  EXPECT_FALSE(serverProxyEntryMatches("[2001:db8::6]:5070", v6, 5060));
}

TEST(TrunkServerListTest, NoDuplicatesWhenTwoCandidatesAreOneServer) {
  // A sip and a tcp target on the same host and port are one server list entry.
  std::vector<BackendCandidate> ranked{candidate("a-udp", "proxy-a.example.net", 5060),
                                       candidate("a-tcp", "proxy-a.example.net", 5060),
                                       candidate("b", "proxy-b.example.net", 5060)};
  EXPECT_EQ(reorderServerProxyList({}, ranked, 5060),
            (Strings{"proxy-a.example.net", "proxy-b.example.net"}));
  EXPECT_EQ(
      reorderServerProxyList({"proxy-b.example.net", "proxy-a.example.net:5060"}, ranked, 5060),
      (Strings{"proxy-a.example.net:5060", "proxy-b.example.net"}));
}

TEST(TrunkServerListTest, UnchangedOrderIsNoChange) {
  json trunk = json::parse(R"({"id": "t1", "version": 4, "properties": {
    "trunk_transport_serverProxyList": {"type": "array", "items": {"type": "string"},
      "uniqueItems": true, "value": {"default": null,
                                      "instance": ["proxy-a.example.net", "sbc.carrier.net"]}},
    "trunk_transport_protocolVariant": {"type": "string", "value": {"instance": "udp"}}}})");
  const json before = trunk;
  auto current = serverProxyList(trunk);
  ASSERT_TRUE(current);
  Strings wanted = reorderServerProxyList(*current, proxies(), trunkSipPort(trunk));
  EXPECT_EQ(wanted, (Strings{"proxy-a.example.net", "proxy-b.example.net", "sbc.carrier.net"}));
  EXPECT_TRUE(setServerProxyList(trunk, wanted));
  // Only the list's instance moved; its schema members and every other property are as read.
  json expected = before;
  expected["properties"]["trunk_transport_serverProxyList"]["value"]["instance"] = wanted;
  EXPECT_EQ(trunk, expected);
  EXPECT_FALSE(setServerProxyList(trunk, wanted));  // the same order again: no change
  EXPECT_EQ(reorderServerProxyList(wanted, proxies(), 5060), wanted);
}

TEST(TrunkServerListTest, CreatesTheMissingProperty) {
  json trunk{{"id", "t1"}, {"version", 1}};
  EXPECT_TRUE(setServerProxyList(trunk, {"x"}));
  EXPECT_EQ(trunk["properties"]["trunk_transport_serverProxyList"]["value"]["instance"],
            (json{"x"}));
  EXPECT_EQ(trunk["properties"]["trunk_transport_serverProxyList"]["type"], "array");
}

TEST(TrunkServerListTest, IsReadWholeOrNotAtAll) {
  json trunk = json::parse(R"({"properties": {"trunk_transport_serverProxyList":
    {"value": {"instance": ["b:5060", "a", 7, "c"]}}}})");
  EXPECT_EQ(serverProxyList(trunk), std::nullopt);  // rewriting it would drop 7 and "c"
  trunk["properties"]["trunk_transport_serverProxyList"]["value"]["instance"] = {"b:5060", "a"};
  EXPECT_EQ(serverProxyList(trunk), (Strings{"b:5060", "a"}));
  EXPECT_EQ(serverProxyList(json{{"id", "t1"}}), Strings{});
  trunk["properties"]["trunk_transport_serverProxyList"]["value"]["instance"] = "a";
  EXPECT_EQ(serverProxyList(trunk), std::nullopt);
}

TEST(TrunkAclTest, CoverageOfAddressesAndCidrs) {
  EXPECT_TRUE(allowListCovers("10.0.0.5", "10.0.0.5"));
  EXPECT_TRUE(allowListCovers(" 10.0.0.0/8 ", "10.200.1.1"));
  EXPECT_TRUE(allowListCovers("192.168.0.0/23", "192.168.1.255"));
  EXPECT_FALSE(allowListCovers("192.168.0.0/23", "192.168.2.0"));
  EXPECT_TRUE(allowListCovers("0.0.0.0/0", "203.0.113.9"));
  EXPECT_FALSE(allowListCovers("10.0.0.0/33", "10.0.0.1"));
  EXPECT_FALSE(allowListCovers("10.0.0.0/", "10.0.0.1"));
  EXPECT_FALSE(allowListCovers("10.0.0.0/8", "2001:db8::1"));
  EXPECT_TRUE(allowListCovers("2001:db8::/32", "2001:db8:ffff::1"));
  EXPECT_TRUE(allowListCovers("2001:db8::1/128", "[2001:db8::1]"));
  EXPECT_FALSE(allowListCovers("2001:db8::/33", "2001:db8:8000::1"));
  EXPECT_FALSE(allowListCovers("sbc.carrier.net", "10.0.0.1"));
  EXPECT_FALSE(allowListCovers("10.0.0.0/8", "proxy-a.example.net"));
  EXPECT_TRUE(isIpLiteral("10.0.0.5"));
  EXPECT_TRUE(isIpLiteral("[::1]"));
  EXPECT_FALSE(isIpLiteral("proxy-a.example.net"));
}

TEST(TrunkAclTest, AddsOnlyCandidateAddressesNoEntryCovers) {
  json trunk = json::parse(R"({"properties": {"trunk_access_acl_allowList": {"type": "array",
    "value": {"default": [], "instance": ["10.0.0.0/8", "2001:db8:1::/48"]}}}})");
  std::vector<BackendCandidate> c{
      candidate("in-range", "10.1.2.3", 5060), candidate("outside", "192.0.2.7", 5060),
      candidate("by-name", "proxy-a.example.net", 5060), candidate("v6", "2001:db8::5", 5060),
      candidate("v6-in-range", "2001:db8:1::9", 5060)};
  EXPECT_EQ(addCandidatesToAllowList(trunk, c), (Strings{"192.0.2.7/32", "2001:db8::5/128"}));
  EXPECT_EQ(trunk["properties"]["trunk_access_acl_allowList"]["value"]["instance"],
            (json{"10.0.0.0/8", "2001:db8:1::/48", "192.0.2.7/32", "2001:db8::5/128"}));
  EXPECT_EQ(trunk["properties"]["trunk_access_acl_allowList"]["value"]["default"], json::array());
  EXPECT_TRUE(addCandidatesToAllowList(trunk, c).empty());  // consistent now: nothing more

  // A trunk without the property is left without it: the agent invents no trunk properties.
  json bare{{"properties", json::object()}};
  EXPECT_TRUE(addCandidatesToAllowList(bare, c).empty());
  EXPECT_EQ(bare, (json{{"properties", json::object()}}));
}

TEST(TrunkRefusalTest, ManagedAndNonExternalTrunksAreRefusedByNameAndId) {
  json trunk{{"name", "BYOC EU"}, {"trunkType", "EXTERNAL"}, {"managed", false}};
  EXPECT_EQ(trunkRefusal(trunk, "t-7"), "");
  trunk["managed"] = true;
  std::string why = trunkRefusal(trunk, "t-7");
  EXPECT_NE(why.find("trunk \"BYOC EU\" (t-7) is managed"), std::string::npos) << why;
  trunk["managed"] = false;
  trunk["trunkType"] = "PHONE";
  why = trunkRefusal(trunk, "t-7");
  EXPECT_NE(why.find("trunk \"BYOC EU\" (t-7) has trunkType \"PHONE\", not EXTERNAL"),
            std::string::npos)
      << why;
  trunk.erase("trunkType");
  EXPECT_NE(trunkRefusal(trunk, "t-7"), "");
  // The name comes from the platform: escaped in the message.
  trunk = {{"name", "evil\n\x1b[31mname"}, {"managed", true}};
  why = trunkRefusal(trunk, "t-7");
  EXPECT_NE(why.find("evil\\x0a\\x1b[31mname"), std::string::npos) << why;
  EXPECT_EQ(why.find('\n'), std::string::npos);
}

OrgMediaRegions org() {
  auto parsed = parseOrgMediaRegions(json::parse(R"({"awsHomeRegion": "eu-central-1",
    "awsCoreRegions": ["us-east-1", "eu-central-1", "eu-west-1", "us-west-2"],
    "awsSatelliteRegions": ["eu-west-2"]})"));
  EXPECT_TRUE(parsed);
  return parsed.value_or(OrgMediaRegions{});
}

TEST(SiteRegionsTest, OrgRegionsAreHomeCoreAndSatellite) {
  OrgMediaRegions o = org();
  EXPECT_EQ(o.home, "eu-central-1");
  EXPECT_EQ(o.all, (std::set<std::string>{"eu-central-1", "eu-west-1", "eu-west-2", "us-east-1",
                                          "us-west-2"}));
  EXPECT_FALSE(parseOrgMediaRegions(json::object()));
  EXPECT_FALSE(parseOrgMediaRegions(json::array()));
}

TEST(SiteRegionsTest, UnknownRegionIsRefusedNamingTheCandidateAndTheRegion) {
  std::vector<BackendCandidate> c{candidate("loop-fra", "turn.fra", 3478, "eu-central-1"),
                                  candidate("loop-mars", "turn.mars", 3478, "mars-north-1")};
  std::string why = regionProblem(c, org());
  EXPECT_NE(why.find("candidate \"loop-mars\" is mapped to media region \"mars-north-1\", which "
                     "the org does not have"),
            std::string::npos)
      << why;
  EXPECT_NE(why.find("eu-west-1"), std::string::npos) << why;  // the regions it could use
  c[1].region = "eu-west-2";  // a satellite region is the org's too
  EXPECT_EQ(regionProblem(c, org()), "");
  c[1].region.clear();
  EXPECT_NE(regionProblem(c, org()).find("\"loop-mars\" has no media region"), std::string::npos);
}

TEST(SiteRegionsTest, CandidatesRegionsRankedFirstThenTheSitesOthersInOldOrder) {
  std::vector<BackendCandidate> ranked{candidate("dub", "turn.dub", 3478, "eu-west-1"),
                                       candidate("fra", "turn.fra", 3478, "eu-central-1")};
  // The site also streams through us-east-1 (an admin's choice) and the platform's home region.
  Strings current{"eu-central-1", "us-east-1", "eu-west-1"};
  EXPECT_EQ(rankMediaRegions(current, ranked), (Strings{"eu-west-1", "eu-central-1", "us-east-1"}));
  EXPECT_EQ(rankMediaRegions({}, ranked), (Strings{"eu-west-1", "eu-central-1"}));
  // Two candidates in one region: the region once.
  ranked.push_back(candidate("dub-2", "turn2.dub", 3478, "eu-west-1"));
  EXPECT_EQ(rankMediaRegions(current, ranked), (Strings{"eu-west-1", "eu-central-1", "us-east-1"}));
}

TEST(SiteRegionsTest, ATrailingHomeRegionThePlatformAddedIsNoChange) {
  const std::string home = "eu-central-1";
  EXPECT_TRUE(sameMediaRegions({"eu-west-1", "us-east-1", home}, {"eu-west-1", "us-east-1"}, home));
  EXPECT_TRUE(sameMediaRegions({"eu-west-1", home}, {"eu-west-1", home}, home));
  EXPECT_FALSE(sameMediaRegions({home, "eu-west-1"}, {"eu-west-1", home}, home));
  EXPECT_FALSE(
      sameMediaRegions({"us-east-1", "eu-west-1", home}, {"eu-west-1", "us-east-1"}, home));

  json site = json::parse(R"({"id": "s1", "name": "Frankfurt", "version": 3,
    "mediaModel": "Cloud", "mediaRegions": ["eu-west-1", "us-east-1", "eu-central-1"],
    "mediaRegionsUseLatencyBased": false, "location": {"id": "loc-1"}})");
  const json before = site;
  EXPECT_FALSE(setSiteMediaRegions(site, {"eu-west-1", "us-east-1"}, home));
  EXPECT_EQ(site, before);
  // Latency-based selection ignores the order: the same list still needs a write, turning it off.
  site["mediaRegionsUseLatencyBased"] = true;
  EXPECT_TRUE(setSiteMediaRegions(site, {"eu-west-1", "us-east-1", home}, home));
  EXPECT_EQ(site["mediaRegionsUseLatencyBased"], false);
  // A new order: only the two fields change.
  site = before;
  EXPECT_TRUE(setSiteMediaRegions(site, {"us-east-1", "eu-west-1", home}, home));
  json expected = before;
  expected["mediaRegions"] = {"us-east-1", "eu-west-1", home};
  EXPECT_EQ(site, expected);
}

TEST(SiteRegionsTest, HomeRegionAsACandidateMovesLikeAnyOther) {
  std::vector<BackendCandidate> ranked{candidate("fra", "turn.fra", 3478, "eu-central-1"),
                                       candidate("dub", "turn.dub", 3478, "eu-west-1")};
  EXPECT_EQ(rankMediaRegions({"eu-west-1", "eu-central-1"}, ranked),
            (Strings{"eu-central-1", "eu-west-1"}));
  EXPECT_FALSE(sameMediaRegions({"eu-west-1", "eu-central-1"}, {"eu-central-1", "eu-west-1"},
                                "eu-central-1"));
}

TEST(SiteRegionsTest, SiteRegionsAreReadWholeOrNotAtAll) {
  EXPECT_EQ(siteMediaRegions(json{{"mediaRegions", {"a", "b"}}}), (Strings{"a", "b"}));
  EXPECT_EQ(siteMediaRegions(json{{"name", "s"}}), Strings{});
  EXPECT_EQ(siteMediaRegions(json{{"mediaRegions", {"a", 1}}}), std::nullopt);
  EXPECT_EQ(siteMediaRegions(json{{"mediaRegions", "a"}}), std::nullopt);
}

TEST(VersionConflictTest, TheTerraformProvidersRule) {
  EXPECT_TRUE(isVersionConflict(409, ""));
  EXPECT_TRUE(isVersionConflict(408, "Request timeout"));
  EXPECT_TRUE(isVersionConflict(
      400, "The version supplied (3) does not match the current version of the trunk (4)"));
  EXPECT_FALSE(isVersionConflict(400, "name is required"));
  EXPECT_FALSE(isVersionConflict(400, ""));
  EXPECT_FALSE(isVersionConflict(412, "does not match the current version"));
  EXPECT_FALSE(isVersionConflict(500, ""));
}

TEST(FailoverBackendTest, FactoryPicksTheBackendOfTheGroupsTarget) {
  net::EventLoop loop;
  net::SystemClock clock;
  net::SeededRandom random(1);
  {
    GenesysClient client(loop, clientOptions("http://127.0.0.1:1", "http://127.0.0.1:1"), clock,
                         random);
    BackendTarget location;
    location.location_id = "loc-1";
    location.location_path = "/media/proxy";
    location.candidates = proxies();
    auto b = makeFailoverBackend(client, location);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->kind(), "location");
    BackendTarget trunk;
    trunk.trunk_base_id = "trunk-1";
    trunk.candidates = proxies();
    b = makeFailoverBackend(client, trunk);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->kind(), "trunk");
    BackendTarget site;
    site.site_id = "site-1";
    site.candidates = {candidate("fra", "turn.fra", 3478, "eu-central-1")};
    b = makeFailoverBackend(client, site);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->kind(), "site");
    BackendTarget nowhere;
    nowhere.location_id = "loc-1";
    EXPECT_FALSE(makeFailoverBackend(client, nowhere));
  }
  EXPECT_EQ(loop.close(), 0);
}

TEST(FailoverBackendTest, UnknownCandidateNameIsRefusedForGoodWithoutARequest) {
  net::EventLoop loop;
  net::SystemClock clock;
  net::SeededRandom random(1);
  {
    // Port 1 on loopback: a request would fail as a transport error, not as this refusal.
    GenesysClient client(loop, clientOptions("http://127.0.0.1:1", "http://127.0.0.1:1"), clock,
                         random);
    TrunkBackend trunk(client, "trunk-1", proxies());
    std::optional<BackendResult> result;
    trunk.applyRanked({"proxy-z"}, [&](BackendResult r) { result = std::move(r); });
    ASSERT_TRUE(result);  // answered at once: nothing was sent
    ASSERT_FALSE(result->ok());
    EXPECT_TRUE(result->permanent);
    EXPECT_EQ(result->attempts, 0);
    EXPECT_EQ(result->error->status, 0);
    EXPECT_NE(result->error->describe().find("\"proxy-z\" is not a candidate of this group"),
              std::string::npos)
        << result->error->describe();
    EXPECT_EQ(client.tokenRequests(), 0);
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
  EXPECT_EQ(e.message.rfind("line\\x0d\\x0aforged: yes \\x1b[2J", 0), 0u) << e.message;
  EXPECT_LT(e.message.size(), 1100u);
  EXPECT_EQ(e.message.substr(e.message.size() - 3), "...");
  EXPECT_EQ(e.code, "bad\\x7f");
  ASSERT_EQ(e.fields.size(), 11u);
  EXPECT_EQ(e.fields.back(), "and 40 more");
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
