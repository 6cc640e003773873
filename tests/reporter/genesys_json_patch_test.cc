#include "reporter/genesys/genesys_json_patch.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "reporter/genesys/location_payload.h"

namespace mediapath::reporter {
namespace {

using nlohmann::json;

json location() {
  return json::parse(R"({
    "id": "loc-1", "status": "active", "version": 3, "selfUri": "/api/v2/locations/loc-1",
    "name": "Office", "region": "eu-central-1", "sip": {"ports": [5060, 5061]},
    "media": {"proxy": {"host": "proxy-a.example.net", "port": 5060},
              "stun": {"host": "stun.example.com", "port": 3478}},
    "ipAddressAllowlist": ["10.0.0.0/8"]})");
}

json desired() {
  json d = location();
  for (const char* k : {"id", "status", "version", "selfUri"}) d.erase(k);
  return d;
}

TEST(JsonPatchTest, EqualDocumentsGiveNoOperations) {
  EXPECT_EQ(buildJsonPatch(location(), desired()), json::array());
}

TEST(JsonPatchTest, ServerSideFieldsAreLeftAlone) {
  json patch = buildJsonPatch(location(), json{{"name", "Office"}});
  EXPECT_TRUE(patch.empty());
}

TEST(JsonPatchTest, ReplacesAreGuardedByTestsOfTheOldValues) {
  json want = desired();
  want["media"]["proxy"] = {{"host", "proxy-b.example.net"}, {"port", 5070}};
  json patch = buildJsonPatch(location(), want);
  json expected = json::parse(R"([
    {"op": "test", "path": "/media/proxy/host", "value": "proxy-a.example.net"},
    {"op": "test", "path": "/media/proxy/port", "value": 5060},
    {"op": "replace", "path": "/media/proxy/host", "value": "proxy-b.example.net"},
    {"op": "replace", "path": "/media/proxy/port", "value": 5070}])");
  EXPECT_EQ(patch, expected);
}

TEST(JsonPatchTest, ArraysAreReplacedWholeAndMissingMembersAdded) {
  json want = desired();
  want["ipAddressAllowlist"] = {"10.0.0.0/8", "192.168.1.0/24"};
  want["media"]["turn"] = {{"host", "turn.example.com"}, {"port", 3478}};
  json patch = buildJsonPatch(location(), want);
  json expected = json::parse(R"([
    {"op": "test", "path": "/ipAddressAllowlist", "value": ["10.0.0.0/8"]},
    {"op": "replace", "path": "/ipAddressAllowlist", "value": ["10.0.0.0/8", "192.168.1.0/24"]},
    {"op": "add", "path": "/media/turn", "value": {"host": "turn.example.com", "port": 3478}}])");
  EXPECT_EQ(patch, expected);
}

TEST(JsonPatchTest, PatchAppliedToRemoteGivesDesiredValues) {
  json want = desired();
  want["name"] = "Office/East";
  want["sip"]["ports"] = {5060};
  want["media"]["stun"]["port"] = 3479;
  json patched = location().patch(buildJsonPatch(location(), want));
  EXPECT_EQ(buildJsonPatch(patched, want), json::array());
  EXPECT_EQ(patched["id"], "loc-1");
}

TEST(JsonPatchTest, EscapesPointerTokens) {
  EXPECT_EQ(escapePointerToken("a/b~c"), "a~1b~0c");
  json patch = buildJsonPatch(json{{"a/b", 1}}, json{{"a/b", 2}});
  EXPECT_EQ(patch[0]["path"], "/a~1b");
}

TEST(JsonPatchTest, EndpointPatchTestsOldHostThenReplaces) {
  json patch = endpointPatch("/media/proxy", {"proxy-a", 5060}, {"proxy-b", 5060});
  json expected = json::parse(R"([
    {"op": "test", "path": "/media/proxy/host", "value": "proxy-a"},
    {"op": "replace", "path": "/media/proxy/host", "value": "proxy-b"}])");
  EXPECT_EQ(patch, expected);
  EXPECT_TRUE(endpointPatch("/media/proxy", {"p", 1}, {"p", 1}).empty());
}

// The platform's Location update: changed top-level fields plus the version read.
TEST(LocationUpdateTest, SendsTheChangedFieldsWithTheVersionRead) {
  json remote = json::parse(R"({"id": "loc-1", "name": "Office", "state": "active",
    "version": 7, "selfUri": "/api/v2/locations/loc-1",
    "address": {"street1": "Main St 1", "city": "Frankfurt", "country": "DE",
                "countryName": "Germany"}})");
  LocationDefinition d;
  d.name = "Office";
  d.address = {{"street1", "Main St 1"}, {"city", "Frankfurt"}, {"country", "DE"}};
  // The platform's countryName does not make the configured address differ.
  EXPECT_TRUE(buildLocationUpdate(remote, renderLocationDefinition(d)).is_null());

  d.name = "Frankfurt Office";
  d.notes = "3rd floor";
  d.address["city"] = "Frankfurt am Main";
  json update = buildLocationUpdate(remote, renderLocationDefinition(d));
  EXPECT_EQ(update, json::parse(R"({"name": "Frankfurt Office", "notes": "3rd floor",
    "address": {"street1": "Main St 1", "city": "Frankfurt am Main", "country": "DE"},
    "version": 7})"));
}

TEST(LocationUpdateTest, AMalformedLocationIsAnError) {
  json desired = renderLocationDefinition({"Office", "", nullptr, nullptr});
  EXPECT_EQ(desired, json({{"name", "Office"}}));
  EXPECT_THROW(buildLocationUpdate(json{{"name", "x"}}, desired), std::invalid_argument);
  EXPECT_THROW(buildLocationUpdate(json{{"version", "7"}}, desired), std::invalid_argument);
  EXPECT_THROW(buildLocationUpdate(json::array(), desired), std::invalid_argument);
}

}  // namespace
}  // namespace mediapath::reporter
