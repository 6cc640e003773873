// Unit tests of the emulator's behaviour, driven in-process with a fake clock (no sockets).
#include <atomic>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "tests/support/process.h"
#include "tests/tools/emulator_test_support.h"
#include "tools/genesys_emulator/analytics.h"
#include "tools/genesys_emulator/locations.h"
#include "tools/genesys_emulator/util.h"

namespace mediapath::tools::emulator::testing {
namespace {

using nlohmann::json;

// ----------------------------------------------------------------------------------- OAuth

TEST_F(EmulatorTest, TokenFlowIssuesBearerTokens) {
  HttpResponse r =
      call("POST", "/oauth/token", "grant_type=client_credentials&scope=location%3Aread",
           "application/x-www-form-urlencoded", std::string(kBasic));
  ASSERT_EQ(r.status, 200);
  json b = body(r);
  EXPECT_EQ(b["token_type"], "bearer");
  EXPECT_EQ(b["expires_in"], 3600);
  EXPECT_GE(b["access_token"].get<std::string>().size(), 32u);
  HttpResponse list =
      call("GET", "/api/v2/locations", {}, {}, "Bearer " + b["access_token"].get<std::string>());
  EXPECT_EQ(list.status, 200) << list.body;
}

TEST_F(EmulatorTest, BadClientCredentialsGetInvalidClient) {
  // base64("client-1:wrong")
  HttpResponse r =
      call("POST", "/oauth/token", "grant_type=client_credentials",
           "application/x-www-form-urlencoded", std::string("Basic Y2xpZW50LTE6d3Jvbmc="));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(body(r), json({{"error", "invalid_client"},
                           {"description", "authentication failed"},
                           {"error_description", "authentication failed"}}));
  HttpResponse none = call("POST", "/oauth/token", "grant_type=client_credentials",
                           "application/x-www-form-urlencoded", std::string());
  EXPECT_EQ(none.status, 401);
}

TEST_F(EmulatorTest, WrongGrantAndWrongContentTypeAreRefused) {
  HttpResponse grant = call("POST", "/oauth/token", "grant_type=password",
                            "application/x-www-form-urlencoded", std::string(kBasic));
  EXPECT_EQ(grant.status, 400);
  EXPECT_EQ(body(grant)["error"], "unsupported_grant_type");
  HttpResponse type = call("POST", "/oauth/token", R"({"grant_type":"client_credentials"})",
                           "application/json", std::string(kBasic));
  EXPECT_EQ(type.status, 415);
}

TEST_F(EmulatorTest, ApiNeedsAValidUnexpiredBearerToken) {
  HttpResponse missing = call("GET", "/api/v2/locations", {}, {}, std::string());
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(body(missing)["code"], "authentication.required");
  HttpResponse unknown = call("GET", "/api/v2/locations", {}, {}, std::string("Bearer nope"));
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(body(unknown)["code"], "bad.credentials");

  std::string t = token();
  clock_.advance(std::chrono::seconds(3599));
  EXPECT_EQ(call("GET", "/api/v2/locations", {}, {}, "Bearer " + t).status, 200);
  clock_.advance(std::chrono::seconds(1));
  HttpResponse expired = call("GET", "/api/v2/locations", {}, {}, "Bearer " + t);
  EXPECT_EQ(expired.status, 401);
  EXPECT_EQ(body(expired)["code"], "credentials.expired");
}

TEST_F(EmulatorTest, AdminCanExpireEveryToken) {
  std::string t = token();
  EXPECT_EQ(call("POST", "/_emulator/expire-tokens").status, 200);
  EXPECT_EQ(body(call("GET", "/api/v2/locations", {}, {}, "Bearer " + t))["code"],
            "credentials.expired");
}

TEST_F(EmulatorTest, ErrorsCarryThePlatformBodyAndCorrelationId) {
  HttpResponse r = api("GET", "/api/v2/locations/does-not-exist");
  ASSERT_EQ(r.status, 404);
  json b = body(r);
  for (const char* key : {"message", "code", "status", "contextId", "details", "errors"}) {
    EXPECT_TRUE(b.contains(key)) << key;
  }
  EXPECT_EQ(b["code"], "not.found");
  EXPECT_EQ(b["status"], 404);
  EXPECT_EQ(b["contextId"], r.header("ININ-Correlation-Id"));
  EXPECT_FALSE(r.header("inin-ratelimit-count").empty());
  EXPECT_EQ(r.header("inin-ratelimit-allowed"), "180");
  EXPECT_FALSE(r.header("inin-ratelimit-reset").empty());
}

// ------------------------------------------------------------------------------- Locations

TEST_F(EmulatorSeedTest, CreatedLocationIsPendingUntilTheActivationDelay) {
  HttpResponse r = api("POST", "/api/v2/locations", seedLocation());
  ASSERT_EQ(r.status, 201) << r.body;
  json created = body(r);
  std::string id = created["id"];
  EXPECT_EQ(created["selfUri"], "/api/v2/locations/" + id);
  EXPECT_EQ(created["status"], "pending");
  EXPECT_EQ(created["version"], 1);
  EXPECT_EQ(created["media"]["proxy"]["host"], "proxy-a.example.com");
  clock_.advance(std::chrono::milliseconds(499));
  EXPECT_EQ(body(api("GET", "/api/v2/locations/" + id))["status"], "pending");
  clock_.advance(std::chrono::milliseconds(1));
  EXPECT_EQ(body(api("GET", "/api/v2/locations/" + id))["status"], "active");
}

TEST_F(EmulatorSeedTest, PatchWhileProvisioningIs503WithRetryAfter) {
  EmulatorOptions o = defaultOptions();
  o.activation_delay = std::chrono::milliseconds(2500);
  start(o);
  HttpResponse created = api("POST", "/api/v2/locations", seedLocation());
  ASSERT_EQ(created.status, 201);
  std::string id = body(created)["id"];
  json patch = json::array({{{"op", "replace"}, {"path", "/name"}, {"value", "Renamed"}}});
  HttpResponse early =
      api("PATCH", "/api/v2/locations/" + id, patch, "application/json-patch+json");
  EXPECT_EQ(early.status, 503);
  EXPECT_EQ(early.header("Retry-After"), "3");
  EXPECT_EQ(body(early)["code"], "service.unavailable");
  clock_.advance(std::chrono::milliseconds(2500));
  EXPECT_EQ(api("PATCH", "/api/v2/locations/" + id, patch, "application/json-patch+json").status,
            200);
}

TEST_F(EmulatorSeedTest, InvalidCidrAndSipPortAre422WithFieldNames) {
  json loc = seedLocation();
  loc["ipAddressAllowlist"] = {"10.0.0.0/8", "10.0.0.0/33"};
  loc["sip"]["ports"] = {5060, 5090};
  HttpResponse r = api("POST", "/api/v2/locations", loc);
  ASSERT_EQ(r.status, 422);
  json b = body(r);
  EXPECT_EQ(b["code"], "invalid.value");
  EXPECT_NE(b["message"].get<std::string>().find("invalid CIDR in allowlist: 10.0.0.0/33"),
            std::string::npos);
  EXPECT_NE(b["message"].get<std::string>().find("SIP port 5090 outside supported range"),
            std::string::npos);
  std::set<std::string> fields;
  for (const auto& d : b["details"]) fields.insert(d["fieldName"]);
  EXPECT_EQ(fields, (std::set<std::string>{"ipAddressAllowlist[1]", "sip.ports[1]"}));
  EXPECT_EQ(body(api("GET", "/api/v2/locations"))["total"], 0);
}

TEST_F(EmulatorSeedTest, MissingNameAndWrongTypesAre400) {
  json loc = seedLocation();
  loc.erase("name");
  EXPECT_EQ(api("POST", "/api/v2/locations", loc).status, 400);
  loc = seedLocation();
  loc["media"]["proxy"]["port"] = "5060";
  HttpResponse r = api("POST", "/api/v2/locations", loc);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(body(r)["details"][0]["fieldName"], "media.proxy.port");
  EXPECT_EQ(call("POST", "/api/v2/locations", "{not json").status, 400);
}

TEST_F(EmulatorSeedTest, WrongContentTypeIs415AndHugeBodyIs413) {
  HttpResponse type = call("POST", "/api/v2/locations", seedLocation().dump(), "text/plain");
  EXPECT_EQ(type.status, 415);
  EXPECT_EQ(body(type)["code"], "unsupported.media.type");
  std::string id = createLocation();
  HttpResponse patch_type = call("PATCH", "/api/v2/locations/" + id, "[]", "text/plain");
  EXPECT_EQ(patch_type.status, 415);
  json big = seedLocation();
  big["notes"] = std::string(512001, 'x');
  HttpResponse huge = api("POST", "/api/v2/locations", big);
  EXPECT_EQ(huge.status, 413);
  json fits = seedLocation();
  fits["notes"] = std::string(1000, 'x');
  EXPECT_EQ(api("POST", "/api/v2/locations", fits).status, 201);
}

TEST_F(EmulatorSeedTest, JsonPatchReplacesAndBumpsVersion) {
  std::string id = createLocation();
  json patch = json::array(
      {{{"op", "test"}, {"path", "/media/proxy/host"}, {"value", "proxy-a.example.com"}},
       {{"op", "replace"}, {"path", "/media/proxy/host"}, {"value", "proxy-b.example.com"}},
       {{"op", "replace"}, {"path", "/media/proxy/port"}, {"value", 5070}},
       {{"op", "add"}, {"path", "/ipAddressAllowlist/-"}, {"value", "172.16.0.0/12"}},
       {{"op", "remove"}, {"path", "/media/turn"}}});
  HttpResponse r = api("PATCH", "/api/v2/locations/" + id, patch, "application/json-patch+json");
  ASSERT_EQ(r.status, 200) << r.body;
  json b = body(r);
  EXPECT_EQ(b["version"], 2);
  EXPECT_EQ(b["media"]["proxy"], json({{"host", "proxy-b.example.com"}, {"port", 5070}}));
  EXPECT_EQ(b["ipAddressAllowlist"].size(), 3u);
  EXPECT_FALSE(b["media"].contains("turn"));
  EXPECT_EQ(body(api("GET", "/api/v2/locations/" + id))["media"]["proxy"]["host"],
            "proxy-b.example.com");
}

TEST_F(EmulatorSeedTest, FailedTestOpIs409AndNothingIsApplied) {
  std::string id = createLocation();
  json patch =
      json::array({{{"op", "replace"}, {"path", "/media/proxy/host"}, {"value", "proxy-c"}},
                   {{"op", "test"}, {"path", "/media/proxy/port"}, {"value", 9999}}});
  HttpResponse r = api("PATCH", "/api/v2/locations/" + id, patch, "application/json-patch+json");
  EXPECT_EQ(r.status, 409);
  json after = body(api("GET", "/api/v2/locations/" + id));
  EXPECT_EQ(after["media"]["proxy"]["host"], "proxy-a.example.com");
  EXPECT_EQ(after["version"], 1);
}

TEST_F(EmulatorSeedTest, UnknownReadOnlyOrInvalidPatchesAre422) {
  std::string id = createLocation();
  auto patchOne = [&](json op) {
    return api("PATCH", "/api/v2/locations/" + id, json::array({std::move(op)}),
               "application/json-patch+json");
  };
  HttpResponse unknown =
      patchOne({{"op", "replace"}, {"path", "/media/proxy/hosts"}, {"value", "x"}});
  EXPECT_EQ(unknown.status, 422);
  EXPECT_EQ(body(unknown)["details"][0]["fieldName"], "/media/proxy/hosts");
  EXPECT_EQ(patchOne({{"op", "replace"}, {"path", "/version"}, {"value", 7}}).status, 422);
  EXPECT_EQ(patchOne({{"op", "replace"}, {"path", "/id"}, {"value", "x"}}).status, 422);
  EXPECT_EQ(patchOne({{"op", "frobnicate"}, {"path", "/name"}, {"value", "x"}}).status, 422);
  EXPECT_EQ(patchOne({{"op", "replace"}, {"path", "/sip/ports/0"}, {"value", 6000}}).status, 422);
  EXPECT_EQ(patchOne({{"op", "add"}, {"path", "/ipAddressAllowlist/-"}, {"value", "bad"}}).status,
            422);
  EXPECT_EQ(patchOne({{"op", "remove"}, {"path", "/address/city"}}).status, 422);
  EXPECT_EQ(body(api("GET", "/api/v2/locations/" + id))["version"], 1);
  EXPECT_EQ(
      api("PATCH", "/api/v2/locations/" + id, json::object(), "application/json-patch+json").status,
      400);
}

TEST_F(EmulatorSeedTest, RealLocationUpdateDefinitionNeedsTheCurrentVersion) {
  std::string id = createLocation();
  HttpResponse stale = api("PATCH", "/api/v2/locations/" + id, {{"name", "New"}, {"version", 3}});
  EXPECT_EQ(stale.status, 409);
  EXPECT_EQ(body(stale)["message"], kVersionMismatchMessage);
  EXPECT_EQ(api("PATCH", "/api/v2/locations/" + id, {{"name", "New"}}).status, 400);
  HttpResponse ok = api("PATCH", "/api/v2/locations/" + id,
                        {{"name", "New"}, {"version", 1}, {"notes", "moved"}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(body(ok)["name"], "New");
  EXPECT_EQ(body(ok)["version"], 2);
  EXPECT_EQ(body(ok)["media"]["proxy"]["host"], "proxy-a.example.com");
}

TEST_F(EmulatorSeedTest, LocationsPageAndDelete) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(createLocation("Office " + std::to_string(i)));
  json page1 = body(api("GET", "/api/v2/locations", nullptr, "", {{"pageSize", "2"}}));
  EXPECT_EQ(page1["total"], 5);
  EXPECT_EQ(page1["pageCount"], 3);
  EXPECT_EQ(page1["entities"].size(), 2u);
  EXPECT_EQ(page1["nextUri"], "/api/v2/locations?pageSize=2&pageNumber=2");
  EXPECT_FALSE(page1.contains("previousUri"));
  json page3 =
      body(api("GET", "/api/v2/locations", nullptr, "", {{"pageSize", "2"}, {"pageNumber", "3"}}));
  EXPECT_EQ(page3["entities"].size(), 1u);
  EXPECT_EQ(page3["entities"][0]["id"], ids[4]);
  EXPECT_FALSE(page3.contains("nextUri"));
  EXPECT_EQ(page3["lastUri"], "/api/v2/locations?pageSize=2&pageNumber=3");
  EXPECT_EQ(api("GET", "/api/v2/locations", nullptr, "", {{"pageSize", "0"}}).status, 400);

  EXPECT_EQ(api("DELETE", "/api/v2/locations/" + ids[0]).status, 204);
  EXPECT_EQ(api("GET", "/api/v2/locations/" + ids[0]).status, 404);
  EXPECT_EQ(api("DELETE", "/api/v2/locations/" + ids[0]).status, 404);
  EXPECT_EQ(body(api("GET", "/api/v2/locations"))["total"], 4);
}

// ---------------------------------------------------------------------------------- Trunks

class TrunkTest : public EmulatorSeedTest {
 protected:
  // GET as a careful client reads a trunk it will PUT back: without the hidden properties.
  const std::map<std::string, std::string> kVisible = {{"ignoreHidden", "true"}};
  std::string trunkPath(const std::string& id) {
    return "/api/v2/telephony/providers/edges/trunkbasesettings/" + id;
  }
  std::string createTrunk(bool managed = false) {
    HttpResponse r = call("POST", "/_emulator/trunks",
                          json({{"name", "BYOC Frankfurt"},
                                {"hosts", {"proxy-a.example.com", "proxy-b.example.com"}},
                                {"managed", managed}})
                              .dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return body(r)["id"];
  }
};

TEST_F(TrunkTest, PutWithCurrentVersionReordersProxies) {
  std::string id = createTrunk();
  json trunk = body(api("GET", trunkPath(id), nullptr, "", kVisible));
  EXPECT_EQ(trunk["version"], 1);
  json& instance = trunk["properties"]["trunk_transport_serverProxyList"]["value"]["instance"];
  EXPECT_EQ(instance, json({"proxy-a.example.com", "proxy-b.example.com"}));
  instance = {"proxy-b.example.com", "proxy-a.example.com"};
  HttpResponse r = api("PUT", trunkPath(id), trunk);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body(r)["version"], 2);
  EXPECT_EQ(
      body(api("GET", trunkPath(id), nullptr, "",
               kVisible))["properties"]["trunk_transport_serverProxyList"]["value"]["instance"][0],
      "proxy-b.example.com");
}

TEST_F(TrunkTest, StaleVersionIs409WithThePlatformMessage) {
  std::string id = createTrunk();
  json trunk = body(api("GET", trunkPath(id), nullptr, "", kVisible));
  ASSERT_EQ(api("PUT", trunkPath(id), trunk).status, 200);
  HttpResponse stale = api("PUT", trunkPath(id), trunk);  // still version 1
  EXPECT_EQ(stale.status, 409);
  EXPECT_EQ(body(stale)["message"],
            "The version number of the modified resource must match the version number in the "
            "database.");
  trunk.erase("version");
  EXPECT_EQ(api("PUT", trunkPath(id), trunk).status, 400);
}

TEST_F(TrunkTest, AdminCanMoveTheVersionAndInjectAConflict) {
  std::string id = createTrunk();
  json trunk = body(api("GET", trunkPath(id), nullptr, "", kVisible));
  // Someone else wrote the trunk in between: the client's PUT with version 1 loses.
  ASSERT_EQ(call("POST", "/_emulator/trunks",
                 json({{"id", id}, {"hosts", {"proxy-z"}}, {"version", 5}}).dump())
                .status,
            201);
  EXPECT_EQ(api("PUT", trunkPath(id), trunk).status, 409);
  json fresh = body(api("GET", trunkPath(id), nullptr, "", kVisible));
  EXPECT_EQ(fresh["version"], 5);
  call("POST", "/_emulator/faults",
       R"({"path_prefix":"/api/v2/telephony","method":"PUT","status":409})");
  HttpResponse injected = api("PUT", trunkPath(id), fresh);
  EXPECT_EQ(injected.status, 409);
  EXPECT_EQ(body(injected)["message"], kVersionMismatchMessage);
  HttpResponse ok = api("PUT", trunkPath(id), fresh);
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(body(ok)["version"], 6);
}

TEST_F(EmulatorSeedTest, ConcurrentClientsSeeConsistentVersions) {
  std::string id = createLocation();
  std::string t = token();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int n = 0; n < 4; ++n) {
    threads.emplace_back([&, n] {
      for (int i = 0; i < 25; ++i) {
        HttpRequest r;
        r.method = "PATCH";
        r.path = "/api/v2/locations/" + id;
        r.headers["authorization"] = "Bearer " + t;
        r.headers["content-type"] = "application/json-patch+json";
        r.body = json::array({{{"op", "add"},
                               {"path", "/notes"},
                               {"value", std::to_string(n) + "-" + std::to_string(i)}}})
                     .dump();
        if (emulator_->handle(r).status == 200) ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 100);
  EXPECT_EQ(body(api("GET", "/api/v2/locations/" + id))["version"], 101);
  EXPECT_EQ(emulator_->requestLog().size(), 100u + 3u);  // + token, create, GET
}

TEST_F(TrunkTest, ManagedTrunksAndBadHostListsAreRefused) {
  std::string managed = createTrunk(true);
  json trunk = body(api("GET", trunkPath(managed), nullptr, "", kVisible));
  HttpResponse r = api("PUT", trunkPath(managed), trunk);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(body(r)["message"].get<std::string>().find("Managed trunks cannot be modified"),
            std::string::npos);
  std::string id = createTrunk();
  json other = body(api("GET", trunkPath(id), nullptr, "", kVisible));
  other["properties"]["trunk_transport_serverProxyList"]["value"]["instance"] = {"", 5};
  EXPECT_EQ(api("PUT", trunkPath(id), other).status, 400);
  EXPECT_EQ(api("GET", trunkPath("nope")).status, 404);
  EXPECT_EQ(body(api("GET", "/api/v2/telephony/providers/edges/trunkbasesettings"))["total"], 2);
}

// ----------------------------------------------------------------------------------- Audit

class AuditTest : public TrunkTest {
 protected:
  static constexpr const char* kInterval = "2026-11-27T00:00:00Z/2026-11-28T00:00:00Z";
  json query(const json& q) {
    HttpResponse r = api("POST", "/api/v2/audits/query", q);
    EXPECT_EQ(r.status, 202) << r.body;
    return body(r);
  }
};

TEST_F(AuditTest, QueryLifecycleAndCursorPaging) {
  std::string id = createLocation();
  for (int i = 0; i < 6; ++i) {
    json patch =
        json::array({{{"op", "add"}, {"path", "/notes"}, {"value", "n" + std::to_string(i)}}});
    ASSERT_EQ(api("PATCH", "/api/v2/locations/" + id, patch, "application/json-patch+json").status,
              200);
  }
  createLocation("Other office");  // must be filtered out by EntityId
  json q = query({{"interval", kInterval},
                  {"serviceName", "Directory"},
                  {"filters", {{{"property", "EntityId"}, {"value", id}}}},
                  {"sort", {{{"name", "Timestamp"}, {"sortOrder", "ascending"}}}}});
  EXPECT_EQ(q["state"], "Queued");
  std::string qid = q["id"];
  std::string results = "/api/v2/audits/query/" + qid + "/results";
  EXPECT_EQ(api("GET", results).status, 400);  // not done yet
  EXPECT_EQ(body(api("GET", "/api/v2/audits/query/" + qid))["state"], "Running");
  EXPECT_EQ(body(api("GET", "/api/v2/audits/query/" + qid))["state"], "Succeeded");
  EXPECT_EQ(body(api("GET", "/api/v2/audits/query/" + qid))["state"], "Succeeded");

  std::vector<json> all;
  std::string cursor;
  int pages = 0;
  do {
    std::map<std::string, std::string> params = {{"pageSize", "3"}};
    if (!cursor.empty()) params["cursor"] = cursor;
    HttpResponse r = api("GET", results, nullptr, "", params);
    ASSERT_EQ(r.status, 200) << r.body;
    json page = body(r);
    EXPECT_EQ(page["id"], qid);
    EXPECT_EQ(page["pageSize"], 3);
    for (const auto& e : page["entities"]) all.push_back(e);
    cursor = page.value("cursor", "");
    ++pages;
  } while (!cursor.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(all.size(), 7u);  // 1 create + 6 updates
  EXPECT_EQ(all[0]["action"], "Create");
  EXPECT_EQ(all[1]["action"], "Update");
  for (const auto& e : all) {
    EXPECT_EQ(e["entity"]["id"], id);
    EXPECT_EQ(e["entityType"], "Location");
    EXPECT_EQ(e["serviceName"], "Directory");
    EXPECT_EQ(e["client"]["id"], kClientId);
    EXPECT_EQ(e["status"], "SUCCESS");
  }
  EXPECT_EQ(
      all[1]["propertyChanges"],
      json::array({{{"property", "/notes"}, {"oldValues", json::array()}, {"newValues", {"n0"}}}}));
  EXPECT_EQ(api("GET", results, nullptr, "", {{"pageSize", "501"}}).status, 400);
  EXPECT_EQ(api("GET", results, nullptr, "", {{"cursor", "garbage"}}).status, 400);
}

TEST_F(AuditTest, TrunkPutsAreTelephonyEntriesWithPropertyChanges) {
  std::string id = createTrunk();
  json trunk = body(api("GET", "/api/v2/telephony/providers/edges/trunkbasesettings/" + id, nullptr,
                        "", kVisible));
  trunk["properties"]["trunk_transport_serverProxyList"]["value"]["instance"] = {
      "proxy-b.example.com"};
  ASSERT_EQ(api("PUT", "/api/v2/telephony/providers/edges/trunkbasesettings/" + id, trunk).status,
            200);
  json q = query({{"interval", kInterval},
                  {"serviceName", "Telephony"},
                  {"filters",
                   {{{"property", "EntityType"}, {"value", "TrunkBase"}},
                    {{"property", "Action"}, {"value", "Update"}}}}});
  api("GET", "/api/v2/audits/query/" + q["id"].get<std::string>());
  api("GET", "/api/v2/audits/query/" + q["id"].get<std::string>());
  json page = body(api("GET", "/api/v2/audits/query/" + q["id"].get<std::string>() + "/results"));
  ASSERT_EQ(page["entities"].size(), 1u);
  EXPECT_FALSE(page.contains("cursor"));
  json change = page["entities"][0]["propertyChanges"][0];
  EXPECT_EQ(change["property"], "/properties/trunk_transport_serverProxyList/value/instance");
  EXPECT_EQ(change["oldValues"], json({"proxy-a.example.com", "proxy-b.example.com"}));
  EXPECT_EQ(change["newValues"], json({"proxy-b.example.com"}));
}

TEST_F(AuditTest, IntervalServiceAndFiltersAreChecked) {
  createLocation();
  EXPECT_EQ(api("POST", "/api/v2/audits/query", {{"serviceName", "Directory"}}).status, 400);
  EXPECT_EQ(api("POST", "/api/v2/audits/query", {{"interval", kInterval}}).status, 400);
  EXPECT_EQ(api("POST", "/api/v2/audits/query",
                {{"interval", kInterval},
                 {"serviceName", "Directory"},
                 {"filters", {{{"property", "Colour"}, {"value", "x"}}}}})
                .status,
            400);
  // An interval before the change finds nothing.
  json q = query(
      {{"interval", "2026-11-26T00:00:00Z/2026-11-27T00:00:00Z"}, {"serviceName", "Directory"}});
  api("GET", "/api/v2/audits/query/" + q["id"].get<std::string>());
  api("GET", "/api/v2/audits/query/" + q["id"].get<std::string>());
  EXPECT_EQ(body(api("GET",
                     "/api/v2/audits/query/" + q["id"].get<std::string>() + "/results"))["entities"]
                .size(),
            0u);
  EXPECT_EQ(api("GET", "/api/v2/audits/query/unknown").status, 404);
}

TEST_F(AuditTest, RealtimeQueryPages) {
  for (int i = 0; i < 3; ++i) createLocation("Office " + std::to_string(i));
  HttpResponse r = api("POST", "/api/v2/audits/query/realtime",
                       {{"interval", kInterval},
                        {"serviceName", "Directory"},
                        {"pageSize", 2},
                        {"pageNumber", 2},
                        {"sort", {{{"name", "Timestamp"}, {"sortOrder", "descending"}}}}});
  ASSERT_EQ(r.status, 200) << r.body;
  json b = body(r);
  EXPECT_EQ(b["total"], 3);
  EXPECT_EQ(b["pageCount"], 2);
  ASSERT_EQ(b["entities"].size(), 1u);
  EXPECT_EQ(b["entities"][0]["entity"]["name"], "Office 0");  // descending: oldest last
}

// ------------------------------------------------------------------------------- Analytics

json analyticsQuery(const std::string& interval, int size, int number) {
  return {{"interval", interval},
          {"order", "asc"},
          {"orderBy", "conversationStart"},
          {"paging", {{"pageSize", size}, {"pageNumber", number}}}};
}

TEST_F(EmulatorTest, AnalyticsPagingReadsExactlyTotalHits) {
  EmulatorOptions o = defaultOptions();
  o.conversations = 47;
  o.seed = 7;
  start(o);
  const std::string interval = "2026-11-27T00:00:00.000Z/2026-11-27T12:00:00.000Z";
  auto start_time = *parseIsoTime("2026-11-27T00:00:00Z");
  auto end_time = *parseIsoTime("2026-11-27T12:00:00Z");
  std::set<std::string> ids;
  long long total = -1;
  std::string previous_start;
  for (int page = 1; page <= 10; ++page) {
    HttpResponse r = api("POST", "/api/v2/analytics/conversations/details/query",
                         analyticsQuery(interval, 10, page));
    ASSERT_EQ(r.status, 200) << r.body;
    json b = body(r);
    total = b["totalHits"];
    if (!b.contains("conversations")) break;
    for (const auto& c : b["conversations"]) {
      ids.insert(c["conversationId"].get<std::string>());
      auto s = *parseIsoTime(c["conversationStart"].get<std::string>());
      EXPECT_GE(s, start_time);
      EXPECT_LT(s, end_time);
      EXPECT_GE(c["conversationStart"].get<std::string>(), previous_start);
      previous_start = c["conversationStart"];
      EXPECT_GE(c["mediaStatsMinConversationMos"].get<double>(), 1.0);
      EXPECT_LE(c["mediaStatsMinConversationMos"].get<double>(), 5.0);
      const json& stats = c["participants"][0]["sessions"][0]["mediaEndpointStats"][0];
      for (const char* key : {"codecs", "minMos", "minRFactor", "maxLatencyMs", "receivedPackets",
                              "discardedPackets", "underrunPackets", "eventTime"}) {
        EXPECT_TRUE(stats.contains(key)) << key;
      }
    }
  }
  EXPECT_EQ(total, 47);
  EXPECT_EQ(ids.size(), 47u);
}

TEST_F(EmulatorTest, AnalyticsIsDeterministicPerSeed) {
  Interval interval{*parseIsoTime("2026-11-27T00:00:00Z"), *parseIsoTime("2026-11-28T00:00:00Z")};
  EXPECT_EQ(syntheticConversations(3, interval, 20), syntheticConversations(3, interval, 20));
  EXPECT_NE(syntheticConversations(3, interval, 20), syntheticConversations(4, interval, 20));
  json all = syntheticConversations(3, interval, 200);
  int poor = 0;
  for (const auto& c : all) poor += c["mediaStatsMinConversationMos"].get<double>() < 3.5 ? 1 : 0;
  EXPECT_GT(poor, 5);    // some bad calls to report on
  EXPECT_LT(poor, 100);  // but mostly good ones
}

TEST_F(EmulatorTest, AnalyticsFiltersAndValidation) {
  const std::string interval = "2026-11-27T00:00:00Z/2026-11-28T00:00:00Z";
  json q = analyticsQuery(interval, 100, 1);
  json all = body(api("POST", "/api/v2/analytics/conversations/details/query", q));
  ASSERT_EQ(all["totalHits"], 40);
  std::string edge = all["conversations"][0]["participants"][0]["sessions"][0]["edgeId"];
  q["segmentFilters"] = {{{"type", "and"},
                          {"predicates",
                           {{{"type", "dimension"},
                             {"dimension", "edgeId"},
                             {"operator", "matches"},
                             {"value", edge}}}}}};
  json some = body(api("POST", "/api/v2/analytics/conversations/details/query", q));
  EXPECT_GT(some["totalHits"].get<int>(), 0);
  EXPECT_LT(some["totalHits"].get<int>(), 40);
  for (const auto& c : some["conversations"]) {
    EXPECT_EQ(c["participants"][0]["sessions"][0]["edgeId"], edge);
  }
  q["segmentFilters"][0]["predicates"][0]["dimension"] = "colour";
  EXPECT_EQ(api("POST", "/api/v2/analytics/conversations/details/query", q).status, 400);
  EXPECT_EQ(
      api("POST", "/api/v2/analytics/conversations/details/query", analyticsQuery(interval, 101, 1))
          .status,
      400);
  EXPECT_EQ(api("POST", "/api/v2/analytics/conversations/details/query",
                analyticsQuery("yesterday", 10, 1))
                .status,
            400);
}

// ------------------------------------------------------------------ Rate limit and faults

TEST_F(EmulatorTest, RateLimitAnswers429WithRetryAfter) {
  EmulatorOptions o = defaultOptions();
  o.rate_per_second = 0.5;
  o.burst = 3;
  start(o);
  token();                                                 // 1
  EXPECT_EQ(api("GET", "/api/v2/locations").status, 200);  // 2
  HttpResponse third = api("GET", "/api/v2/locations");    // 3
  EXPECT_EQ(third.status, 200);
  EXPECT_EQ(third.header("inin-ratelimit-allowed"), "3");
  EXPECT_EQ(third.header("inin-ratelimit-count"), "3");
  HttpResponse limited = api("GET", "/api/v2/locations");
  ASSERT_EQ(limited.status, 429);
  EXPECT_EQ(limited.header("Retry-After"), "2");
  json b = body(limited);
  EXPECT_EQ(b["code"], "too.many.requests.retry.after");
  EXPECT_EQ(b["message"], "Rate limit exceeded the maximum. Retry the request in [2] seconds");
  clock_.advance(std::chrono::seconds(2));
  EXPECT_EQ(api("GET", "/api/v2/locations").status, 200);
  EXPECT_EQ(api("GET", "/api/v2/locations").status, 429);
}

TEST_F(EmulatorSeedTest, StatusFaultHitsTheNextNMatchingRequests) {
  std::string t = token();
  std::string id = createLocation();
  ASSERT_EQ(call("POST", "/_emulator/faults",
                 R"({"path_prefix":"/api/v2/locations","method":"PATCH","count":2,"status":503})")
                .status,
            201);
  EXPECT_EQ(api("GET", "/api/v2/locations/" + id).status, 200);  // GET does not match
  json patch = json::array({{{"op", "replace"}, {"path", "/name"}, {"value", "x"}}});
  HttpResponse first =
      api("PATCH", "/api/v2/locations/" + id, patch, "application/json-patch+json");
  EXPECT_EQ(first.status, 503);
  EXPECT_EQ(body(first)["code"], "service.unavailable");
  EXPECT_EQ(api("PATCH", "/api/v2/locations/" + id, patch, "application/json-patch+json").status,
            503);
  EXPECT_EQ(api("PATCH", "/api/v2/locations/" + id, patch, "application/json-patch+json").status,
            200);
  EXPECT_EQ(body(api("GET", "/api/v2/locations/" + id))["version"], 2);  // faults applied nothing
}

TEST_F(EmulatorSeedTest, RetryAfterStallAndResetFaults) {
  token();
  call("POST", "/_emulator/faults",
       R"({"path_prefix":"/api/v2/","count":1,"status":429,"retry_after":7})");
  HttpResponse limited = api("GET", "/api/v2/locations");
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.header("Retry-After"), "7");
  EXPECT_EQ(body(limited)["code"], "too.many.requests.retry.after");

  call("POST", "/_emulator/faults", R"({"path_prefix":"/api/v2/","stall_ms":2000})");
  HttpResponse stalled = api("GET", "/api/v2/locations");
  EXPECT_EQ(stalled.status, 200);
  EXPECT_EQ(stalled.stall, std::chrono::milliseconds(2000));
  EXPECT_EQ(api("GET", "/api/v2/locations").stall, std::chrono::milliseconds(0));

  call("POST", "/_emulator/faults", R"({"path_prefix":"/oauth/token","reset":true})");
  HttpResponse reset = call("POST", "/oauth/token", "grant_type=client_credentials",
                            "application/x-www-form-urlencoded", std::string(kBasic));
  EXPECT_TRUE(reset.reset);
  EXPECT_EQ(call("POST", "/_emulator/faults", R"({"path_prefix":"/x"})").status, 400);
  EXPECT_EQ(body(call("GET", "/_emulator/faults")).size(), 0u);
}

TEST_F(EmulatorTest, AdminApiIsLoopbackOnly) {
  HttpRequest r;
  r.method = "GET";
  r.path = "/_emulator/state";
  r.remote_addr = "192.0.2.10";
  EXPECT_EQ(emulator_->handle(r).status, 403);
  r.remote_addr = "::1";
  EXPECT_EQ(emulator_->handle(r).status, 200);
}

// ------------------------------------------------------------------------------ Request log

TEST_F(EmulatorSeedTest, RequestLogHasBodiesButNoSecrets) {
  mediapath::testing::TempDir dir;
  EmulatorOptions o = defaultOptions();
  o.request_log_path = dir.file("requests.jsonl");
  start(o);
  // A client that (wrongly) posts its secret in the form must not see it logged either.
  call("POST", "/oauth/token",
       std::string("grant_type=client_credentials&client_secret=") + kSecret,
       "application/x-www-form-urlencoded", std::string(kBasic));
  std::string id = createLocation();
  json log = body(call("GET", "/_emulator/requests"));
  ASSERT_GE(log.size(), 3u);  // admin calls are not logged
  std::string dump = log.dump();
  EXPECT_EQ(dump.find(kSecret), std::string::npos);
  EXPECT_EQ(dump.find(token()), std::string::npos);
  EXPECT_EQ(dump.find("Y2xpZW50LTE6"), std::string::npos);  // the Basic credentials
  EXPECT_EQ(log[0]["auth"], "Basic");
  EXPECT_EQ(log[0]["body"], json({{"grant_type", "client_credentials"}}));
  const json& create = log[2];
  EXPECT_EQ(create["method"], "POST");
  EXPECT_EQ(create["path"], "/api/v2/locations");
  EXPECT_EQ(create["status"], 201);
  EXPECT_EQ(create["auth"], "Bearer");
  EXPECT_EQ(create["body"]["media"]["proxy"]["host"], "proxy-a.example.com");
  for (const auto& entry : log) EXPECT_FALSE(entry["time"].get<std::string>().empty());

  std::ifstream in(o.request_log_path);
  std::string line, file;
  std::size_t lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    file += line;
    EXPECT_FALSE(json::parse(line, nullptr, false).is_discarded());
  }
  EXPECT_EQ(lines, log.size());
  EXPECT_EQ(file.find(kSecret), std::string::npos);
}

TEST_F(EmulatorSeedTest, ResetForgetsStateButKeepsTokens) {
  std::string t = token();
  createLocation();
  call("POST", "/_emulator/trunks", R"({"hosts":["a"]})");
  ASSERT_EQ(call("POST", "/_emulator/reset").status, 200);
  json state = body(call("GET", "/_emulator/state"));
  EXPECT_EQ(state["locations"].size(), 0u);
  EXPECT_EQ(state["trunks"].size(), 0u);
  EXPECT_EQ(state["audit"].size(), 0u);
  EXPECT_EQ(body(call("GET", "/_emulator/requests")).size(), 0u);
  EXPECT_EQ(call("GET", "/api/v2/locations", {}, {}, "Bearer " + t).status, 200);
}

TEST_F(EmulatorSeedTest, StateFileSurvivesARestart) {
  mediapath::testing::TempDir dir;
  EmulatorOptions o = defaultOptions();
  o.state_file = dir.file("state.json");
  start(o);
  std::string id = createLocation();
  HttpResponse trunk = call("POST", "/_emulator/trunks", R"({"id":"trunk-1","hosts":["proxy-a"]})");
  ASSERT_EQ(trunk.status, 201);
  ASSERT_TRUE(std::filesystem::exists(o.state_file));
  start(o);  // a new emulator on the same file
  token_.clear();
  json loc = body(api("GET", "/api/v2/locations/" + id));
  EXPECT_EQ(loc["name"], "Frankfurt Office");
  EXPECT_EQ(loc["status"], "active");
  EXPECT_EQ(api("GET", "/api/v2/telephony/providers/edges/trunkbasesettings/trunk-1").status, 200);
}

// =========================================================================== Platform schema
// The real platform's behaviour (reference/genesys-cloud-api.md), the emulator's default.

std::set<std::string> fieldNames(const json& error) {
  std::set<std::string> out;
  for (const auto& d : error["details"]) out.insert(d["fieldName"].get<std::string>());
  return out;
}

std::string percentEncode(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// The query map the HTTP transport builds from a raw query string (main.cc decodes with it).
std::map<std::string, std::string> decodeQuery(const std::string& raw) {
  std::map<std::string, std::string> out;
  json form = parseForm(raw);
  for (const auto& [k, v] : form.items()) out[k] = v.get<std::string>();
  return out;
}

TEST_F(EmulatorPlatformTest, PlatformIsTheDefaultAndLocationsHaveNoSeedFields) {
  EXPECT_EQ(EmulatorOptions{}.schema, Schema::kPlatform);
  HttpResponse r = api("POST", "/api/v2/locations", platformLocation());
  ASSERT_EQ(r.status, 201) << r.body;
  json created = body(r);
  EXPECT_EQ(created["state"], "active");
  EXPECT_EQ(created["version"], 1);
  EXPECT_EQ(created["path"], json::array());
  EXPECT_EQ(created["emergencyNumber"]["e164"], "+4969123456");
  EXPECT_EQ(created["selfUri"], "/api/v2/locations/" + created["id"].get<std::string>());
  for (const char* seed : {"status", "region", "sip", "media", "ipAddressAllowlist"}) {
    EXPECT_FALSE(created.contains(seed)) << seed;
  }
  json got = body(api("GET", "/api/v2/locations/" + created["id"].get<std::string>()));
  EXPECT_EQ(got, created);  // active at once: no pending status to poll
}

TEST_F(EmulatorPlatformTest, SeedFieldsInACreateAre400InvalidPropertyNamingThem) {
  json loc = platformLocation();
  loc["region"] = "eu-central-1";
  loc["media"] = {{"proxy", {{"host", "proxy-a"}, {"port", 5060}}}};
  loc["address"]["floor"] = "1";
  HttpResponse r = api("POST", "/api/v2/locations", loc);
  ASSERT_EQ(r.status, 400);
  json b = body(r);
  EXPECT_EQ(b["code"], "invalid.property");
  EXPECT_EQ(fieldNames(b), (std::set<std::string>{"region", "media", "address.floor"}));
  EXPECT_NE(b["message"].get<std::string>().find("region"), std::string::npos);
  json status = platformLocation();
  status["status"] = "active";
  EXPECT_EQ(body(api("POST", "/api/v2/locations", status))["details"][0]["fieldName"], "status");
  json nameless = platformLocation();
  nameless.erase("name");
  HttpResponse missing = api("POST", "/api/v2/locations", nameless);
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(fieldNames(body(missing)), std::set<std::string>{"name"});
  EXPECT_EQ(body(api("GET", "/api/v2/locations"))["total"], 0);
}

TEST_F(EmulatorPlatformTest, JsonPatchBodyIs415AndChangesNothing) {
  std::string id = createPlatformLocation();
  json patch = json::array({{{"op", "replace"}, {"path", "/name"}, {"value", "Renamed"}}});
  HttpResponse r = api("PATCH", "/api/v2/locations/" + id, patch, "application/json-patch+json");
  EXPECT_EQ(r.status, 415);
  EXPECT_EQ(body(r)["code"], "unsupported.media.type");
  // The same array as application/json is still no LocationUpdateDefinition.
  EXPECT_EQ(api("PATCH", "/api/v2/locations/" + id, patch).status, 415);
  json after = body(api("GET", "/api/v2/locations/" + id));
  EXPECT_EQ(after["name"], "Frankfurt Office");
  EXPECT_EQ(after["version"], 1);
}

TEST_F(EmulatorPlatformTest, PatchNeedsTheCurrentVersion) {
  std::string id = createPlatformLocation();
  HttpResponse missing = api("PATCH", "/api/v2/locations/" + id, {{"name", "New"}});
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(body(missing)["code"], "invalid.value");
  EXPECT_EQ(fieldNames(body(missing)), std::set<std::string>{"version"});
  HttpResponse stale = api("PATCH", "/api/v2/locations/" + id, {{"name", "New"}, {"version", 7}});
  EXPECT_EQ(stale.status, 409);
  EXPECT_EQ(body(stale)["message"], kVersionMismatchMessage);
  HttpResponse seed_field = api("PATCH", "/api/v2/locations/" + id,
                                {{"version", 1}, {"media", {{"proxy", {{"host", "x"}}}}}});
  EXPECT_EQ(seed_field.status, 400);
  EXPECT_EQ(body(seed_field)["code"], "invalid.property");
  EXPECT_EQ(fieldNames(body(seed_field)), std::set<std::string>{"media"});
  HttpResponse ok = api("PATCH", "/api/v2/locations/" + id,
                        {{"name", "New"}, {"version", 1}, {"notes", "moved"}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(body(ok)["name"], "New");
  EXPECT_EQ(body(ok)["notes"], "moved");
  EXPECT_EQ(body(ok)["version"], 2);
  EXPECT_EQ(body(ok)["address"]["city"], "Frankfurt");  // untouched fields stay
  EXPECT_FALSE(body(ok).contains("status"));
  EXPECT_EQ(api("PATCH", "/api/v2/locations/" + id, {{"version", 2}, {"state", "gone"}}).status,
            400);
  EXPECT_EQ(body(api("PATCH", "/api/v2/locations/" + id,
                     {{"version", 2}, {"state", "deleted"}}))["state"],
            "deleted");
}

TEST_F(EmulatorPlatformTest, AdminLocationsFollowTheActiveSchema) {
  HttpResponse seed = call("POST", "/_emulator/locations", seedLocation().dump());
  EXPECT_EQ(seed.status, 400);
  EXPECT_EQ(body(seed)["code"], "invalid.property");
  HttpResponse ok = call("POST", "/_emulator/locations", platformLocation().dump());
  ASSERT_EQ(ok.status, 201) << ok.body;
  EXPECT_FALSE(body(ok).contains("status"));
  EXPECT_EQ(body(ok)["state"], "active");
}

// ---------------------------------------------------------------- Trunks (both schemas)

class PlatformTrunkTest : public EmulatorPlatformTest {
 protected:
  const std::map<std::string, std::string> kVisible = {{"ignoreHidden", "true"}};
  static std::string trunkPath(const std::string& id) {
    return "/api/v2/telephony/providers/edges/trunkbasesettings/" + id;
  }
  std::string createTrunk(const json& hosts = {"proxy-a", "10.0.0.5:5070"}) {
    HttpResponse r = call("POST", "/_emulator/trunks",
                          json({{"id", "trunk-1"},
                                {"hosts", hosts},
                                {"allow_list", {"10.0.0.5/32", "198.51.100.0/24"}}})
                              .dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return body(r)["id"];
  }
  json visible(const std::string& id) {
    return body(api("GET", trunkPath(id), nullptr, "", kVisible));
  }
  static json& instance(json& trunk) {
    return trunk["properties"]["trunk_transport_serverProxyList"]["value"]["instance"];
  }
};

TEST_F(PlatformTrunkTest, GetShowsHiddenPropertiesUnlessIgnoreHidden) {
  std::string id = createTrunk();
  json all = body(api("GET", trunkPath(id)));
  ASSERT_TRUE(all["properties"].contains("trunk_internal_edgeGroupId")) << all.dump();
  EXPECT_TRUE(all["properties"]["trunk_internal_mediaRelayPool"]["hidden"].get<bool>());
  json shown = visible(id);
  for (const auto& [name, property] : shown["properties"].items()) {
    EXPECT_EQ(name.rfind("trunk_internal_", 0), std::string::npos) << name;
  }
  EXPECT_EQ(instance(shown), json({"proxy-a", "10.0.0.5:5070"}));
  EXPECT_EQ(shown["trunkType"], "EXTERNAL");
  EXPECT_EQ(shown["properties"]["trunk_access_acl_allowList"]["value"]["instance"],
            json({"10.0.0.5/32", "198.51.100.0/24"}));
  json list = body(
      api("GET", "/api/v2/telephony/providers/edges/trunkbasesettings", nullptr, "", kVisible));
  EXPECT_FALSE(list["entities"][0]["properties"].contains("trunk_internal_edgeGroupId"));
}

TEST_F(PlatformTrunkTest, PutWithAHiddenPropertyIs400NamingIt) {
  std::string id = createTrunk();
  json all = body(api("GET", trunkPath(id)));  // a client that forgot ignoreHidden
  HttpResponse r = api("PUT", trunkPath(id), all);
  ASSERT_EQ(r.status, 400);
  EXPECT_EQ(body(r)["code"], "invalid.property");
  EXPECT_EQ(fieldNames(body(r)),
            (std::set<std::string>{"properties.trunk_internal_edgeGroupId",
                                   "properties.trunk_internal_mediaRelayPool"}));
  EXPECT_EQ(visible(id)["version"], 1);
  json shown = visible(id);
  instance(shown) = {"10.0.0.5:5070", "proxy-a"};
  HttpResponse ok = api("PUT", trunkPath(id), shown);
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(body(ok)["version"], 2);
  json saved = visible(id);
  EXPECT_EQ(instance(saved), json({"10.0.0.5:5070", "proxy-a"}));
  // The allowlist is stored as given, never enforced.
  EXPECT_EQ(visible(id)["properties"]["trunk_access_acl_allowList"]["value"]["instance"].size(),
            2u);
}

TEST_F(PlatformTrunkTest, ServerListEntriesAreHostsOrHostPortsAndUnique) {
  std::string id = createTrunk();
  auto put = [&](json hosts) {
    json trunk = visible(id);
    instance(trunk) = std::move(hosts);
    return api("PUT", trunkPath(id), trunk);
  };
  const std::string field = "properties.trunk_transport_serverProxyList.value.instance";
  const std::vector<json> bads = {json::array({"proxy-a", ""}),
                                  json::array({"proxy-a", "proxy-b:0"}),
                                  json::array({"proxy-a", "proxy-b:70000"}),
                                  json::array({"proxy-a", "proxy b"}),
                                  json::array({"proxy-a", "proxy-b:"}),
                                  json::array({"proxy-a", 5060})};
  for (const json& bad : bads) {
    HttpResponse r = put(bad);
    EXPECT_EQ(r.status, 400) << bad.dump();
    EXPECT_EQ(body(r)["code"], "invalid.value");
    EXPECT_EQ(fieldNames(body(r)), std::set<std::string>{field + "[1]"}) << bad.dump();
  }
  HttpResponse dup = put({"proxy-a", "10.0.0.5:5070", "proxy-a"});
  EXPECT_EQ(dup.status, 400);
  EXPECT_EQ(fieldNames(body(dup)), std::set<std::string>{field + "[2]"});
  EXPECT_EQ(put({"proxy-a:5060", "10.0.0.5", "[2001:db8::1]:5061", "sip.example.com"}).status, 200);
}

TEST_F(PlatformTrunkTest, AdminSetsTrunkTypeAndManagedStaysReadOnly) {
  HttpResponse phone =
      call("POST", "/_emulator/trunks", R"({"id":"phone-1","trunkType":"PHONE","hosts":["a"]})");
  ASSERT_EQ(phone.status, 201);
  EXPECT_EQ(visible("phone-1")["trunkType"], "PHONE");
  call("POST", "/_emulator/trunks", R"({"id":"managed-1","managed":true,"hosts":["a"]})");
  HttpResponse r = api("PUT", trunkPath("managed-1"), visible("managed-1"));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(body(r)["message"].get<std::string>().find("Managed trunks cannot be modified"),
            std::string::npos);
}

// --------------------------------------------------------------- Concurrent-change faults

TEST_F(PlatformTrunkTest, ConcurrentChangeFaultsAnswerInEachConflictForm) {
  std::string id = createTrunk();
  struct Form {
    const char* conflict;
    int status;
    const char* code;
  };
  for (const Form& form : {Form{"409", 409, "conflict"}, Form{"408", 408, "request.timeout"},
                           Form{"400", 400, "bad.request"}}) {
    SCOPED_TRACE(form.conflict);
    json trunk = visible(id);  // the client's GET
    long long read = trunk["version"];
    ASSERT_EQ(call("POST", "/_emulator/faults",
                   json({{"path_prefix", "/api/v2/telephony/providers/edges/trunkbasesettings/"},
                         {"method", "PUT"},
                         {"count", 1},
                         {"concurrent_change", true},
                         {"conflict", form.conflict}})
                       .dump())
                  .status,
              201);
    HttpResponse r = api("PUT", trunkPath(id), trunk);  // an admin saved in between
    EXPECT_EQ(r.status, form.status);
    json b = body(r);
    EXPECT_EQ(b["code"], form.code);
    if (form.status == 409) {
      EXPECT_EQ(b["message"], kVersionMismatchMessage);
    }
    if (form.status == 400) {
      EXPECT_NE(b["message"].get<std::string>().find("does not match the current version"),
                std::string::npos);
      EXPECT_EQ(b["message"], "The version supplied (" + std::to_string(read) +
                                  ") does not match the current version (" +
                                  std::to_string(read + 1) + ").");
    }
    json fresh = visible(id);
    EXPECT_EQ(fresh["version"], read + 1);
    HttpResponse retry = api("PUT", trunkPath(id), fresh);  // re-read and retry succeeds
    ASSERT_EQ(retry.status, 200) << retry.body;
  }
  // Each concurrent save is an audit entry by another user.
  int others = 0;
  json state = body(call("GET", "/_emulator/state"));
  for (const auto& e : state["audit"]) {
    if (e["client"]["id"] == "admin-ui") {
      ++others;
      EXPECT_EQ(e["entityType"], "TrunkBase");
      EXPECT_EQ(e["user"]["name"], "Another Admin");
    }
  }
  EXPECT_EQ(others, 3);
}

TEST_F(EmulatorPlatformTest, ConcurrentChangeDefaultsTo409AndBadFaultsAreRefused) {
  call("POST", "/_emulator/sites", R"({"id":"site-1","media_regions":["eu-central-1"]})");
  const std::string path = "/api/v2/telephony/providers/edges/sites/site-1";
  json site = body(api("GET", path));
  call("POST", "/_emulator/faults",
       R"({"path_prefix":"/api/v2/telephony","concurrent_change":true})");
  HttpResponse r = api("PUT", path, site);
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(body(r)["message"], kVersionMismatchMessage);
  EXPECT_EQ(body(api("GET", path))["version"], 2);
  EXPECT_EQ(call("POST", "/_emulator/faults",
                 R"({"path_prefix":"/","concurrent_change":true,"conflict":"418"})")
                .status,
            400);
  EXPECT_EQ(call("POST", "/_emulator/faults",
                 R"({"path_prefix":"/","concurrent_change":true,"status":503})")
                .status,
            400);
}

// ----------------------------------------------------------------- Sites and media regions

class SiteTest : public EmulatorPlatformTest {
 protected:
  static constexpr const char* kPath = "/api/v2/telephony/providers/edges/sites/site-1";
  void SetUp() override {
    EmulatorPlatformTest::SetUp();
    HttpResponse r = call("POST", "/_emulator/sites",
                          R"({"id":"site-1","name":"Frankfurt","media_regions":["eu-west-1"],
                              "use_latency_based":true})");
    ASSERT_EQ(r.status, 201) << r.body;
  }
};

TEST_F(SiteTest, SitesReadLikeThePlatform) {
  json site = body(api("GET", kPath));
  EXPECT_EQ(site["id"], "site-1");
  EXPECT_EQ(site["name"], "Frankfurt");
  EXPECT_EQ(site["version"], 1);
  EXPECT_EQ(site["state"], "active");
  EXPECT_EQ(site["mediaModel"], "Cloud");
  EXPECT_EQ(site["mediaRegions"], json({"eu-west-1"}));
  EXPECT_EQ(site["mediaRegionsUseLatencyBased"], true);
  EXPECT_EQ(site["cloudProxyForceTurn"], false);
  EXPECT_EQ(site["selfUri"], kPath);
  json list = body(api("GET", "/api/v2/telephony/providers/edges/sites"));
  EXPECT_EQ(list["total"], 1);
  EXPECT_EQ(list["entities"][0]["id"], "site-1");
  EXPECT_EQ(api("GET", "/api/v2/telephony/providers/edges/sites/nope").status, 404);
}

TEST_F(SiteTest, SiteRefersToItsLocation) {
  std::string location = createPlatformLocation("Frankfurt Office");
  ASSERT_EQ(
      call("POST", "/_emulator/sites",
           json({{"id", "site-2"}, {"media_regions", json::array()}, {"location_id", location}})
               .dump())
          .status,
      201);
  json site = body(api("GET", "/api/v2/telephony/providers/edges/sites/site-2"));
  EXPECT_EQ(site["location"]["id"], location);
  EXPECT_EQ(site["location"]["name"], "Frankfurt Office");
}

TEST_F(SiteTest, PutAddsTheHomeRegionAndBumpsTheVersion) {
  json site = body(api("GET", kPath));
  site["mediaRegions"] = {"eu-west-2", "eu-west-1"};
  site["mediaRegionsUseLatencyBased"] = false;
  HttpResponse r = api("PUT", kPath, site);
  ASSERT_EQ(r.status, 200) << r.body;
  json b = body(r);
  EXPECT_EQ(b["mediaRegions"], json({"eu-west-2", "eu-west-1", "eu-central-1"}));
  EXPECT_EQ(b["mediaRegionsUseLatencyBased"], false);
  EXPECT_EQ(b["version"], 2);
  EXPECT_EQ(body(api("GET", kPath)), b);
  // The home region already in the list stays where the client put it.
  b["mediaRegions"] = {"eu-central-1", "eu-west-1"};
  EXPECT_EQ(body(api("PUT", kPath, b))["mediaRegions"], json({"eu-central-1", "eu-west-1"}));
  json entry = body(call("GET", "/_emulator/state"))["audit"].back();
  EXPECT_EQ(entry["serviceName"], "Telephony");
  EXPECT_EQ(entry["entityType"], "Site");
  EXPECT_EQ(entry["entity"]["id"], "site-1");
  EXPECT_EQ(entry["action"], "Update");
}

TEST_F(SiteTest, PutWithAnUnknownRegionOrStaleVersionIsRefused) {
  json site = body(api("GET", kPath));
  site["mediaRegions"] = {"eu-west-1", "mars-north-1"};
  HttpResponse r = api("PUT", kPath, site);
  ASSERT_EQ(r.status, 400);
  EXPECT_EQ(body(r)["code"], "invalid.value");
  EXPECT_EQ(fieldNames(body(r)), std::set<std::string>{"mediaRegions[1]"});
  site["mediaRegions"] = {"eu-west-1"};
  site["version"] = 5;
  EXPECT_EQ(api("PUT", kPath, site).status, 409);
  site.erase("version");
  EXPECT_EQ(api("PUT", kPath, site).status, 400);
  EXPECT_EQ(body(api("GET", kPath))["version"], 1);
  EXPECT_EQ(call("POST", "/_emulator/sites", R"({"media_regions":["nowhere"]})").status, 400);
}

TEST_F(EmulatorPlatformTest, MediaRegionsListTheHomeCoreAndSatelliteRegions) {
  json regions = body(api("GET", "/api/v2/telephony/mediaregions"));
  EXPECT_EQ(regions["awsHomeRegion"], "eu-central-1");
  EXPECT_GE(regions["awsCoreRegions"].size(), 5u);
  EXPECT_GE(regions["awsSatelliteRegions"].size(), 1u);
  bool found = false;
  for (const auto& r : regions["awsCoreRegions"]) found = found || r == "eu-central-1";
  EXPECT_TRUE(found);
  EmulatorOptions o = defaultOptions();
  o.home_region = "us-east-1";
  start(o);
  token_.clear();
  EXPECT_EQ(body(api("GET", "/api/v2/telephony/mediaregions"))["awsHomeRegion"], "us-east-1");
  o.home_region = "mars-north-1";
  EXPECT_THROW(start(o), std::invalid_argument);
}

TEST_F(EmulatorPlatformTest, IpRangesAreAFixedTable) {
  HttpResponse r = api("GET", "/api/v2/ipranges");
  ASSERT_EQ(r.status, 200);
  json entities = body(r)["entities"];
  ASSERT_GE(entities.size(), 3u);
  for (const auto& e : entities) {
    for (const char* key : {"cidr", "service", "region", "direction"}) {
      EXPECT_TRUE(e[key].is_string()) << key;
    }
    EXPECT_TRUE(isValidCidr(e["cidr"].get<std::string>()));
  }
}

// ---------------------------------------------------------------- Token endpoint rate limit

TEST_F(EmulatorPlatformTest, TokenRateLimitIs400InvalidRequestWithoutRetryAfter) {
  const json expected = {{"error", "invalid_request"},
                         {"description", "rate limit exceeded"},
                         {"error_description", "rate limit exceeded"}};
  ASSERT_EQ(call("POST", "/_emulator/faults",
                 R"({"path_prefix":"/oauth/token","status":400,"oauth_rate_limit":true})")
                .status,
            201);
  HttpResponse faulted = call("POST", "/oauth/token", "grant_type=client_credentials",
                              "application/x-www-form-urlencoded", std::string(kBasic));
  EXPECT_EQ(faulted.status, 400);
  EXPECT_EQ(body(faulted), expected);
  EXPECT_TRUE(faulted.header("Retry-After").empty());
  // The bucket: the token endpoint answers its own way, the API with 429.
  EmulatorOptions o = defaultOptions();
  o.rate_per_second = 0.5;
  o.burst = 2;
  start(o);
  token_.clear();
  token();
  EXPECT_EQ(api("GET", "/api/v2/ipranges").status, 200);
  HttpResponse limited = call("POST", "/oauth/token", "grant_type=client_credentials",
                              "application/x-www-form-urlencoded", std::string(kBasic));
  EXPECT_EQ(limited.status, 400);
  EXPECT_EQ(body(limited), expected);
  EXPECT_TRUE(limited.header("Retry-After").empty());
  EXPECT_EQ(api("GET", "/api/v2/ipranges").status, 429);
}

// ------------------------------------------------------------------ Audit: expand, cursors

class PlatformAuditTest : public EmulatorPlatformTest {
 protected:
  // A Location with `updates` PATCHes and a succeeded audit query over them; returns its id.
  std::string auditedQuery(int updates) {
    std::string id = createPlatformLocation();
    for (int i = 0; i < updates; ++i) {
      EXPECT_EQ(api("PATCH", "/api/v2/locations/" + id,
                    {{"version", i + 1}, {"notes", "n" + std::to_string(i)}})
                    .status,
                200);
    }
    HttpResponse q = api(
        "POST", "/api/v2/audits/query",
        {{"interval", "2026-11-27T00:00:00Z/2026-11-28T00:00:00Z"}, {"serviceName", "Directory"}});
    EXPECT_EQ(q.status, 202);
    std::string qid = body(q)["id"];
    api("GET", "/api/v2/audits/query/" + qid);
    api("GET", "/api/v2/audits/query/" + qid);
    return qid;
  }
  HttpResponse results(const std::string& qid, const std::string& raw_query) {
    return api("GET", "/api/v2/audits/query/" + qid + "/results", nullptr, "",
               decodeQuery(raw_query));
  }
};

TEST_F(PlatformAuditTest, UserNamesComeOnlyWithExpandUser) {
  std::string qid = auditedQuery(1);
  json plain = body(results(qid, ""));
  ASSERT_EQ(plain["entities"].size(), 2u);
  for (const auto& e : plain["entities"]) {
    EXPECT_EQ(e["user"].size(), 1u) << e["user"].dump();
    EXPECT_TRUE(e["user"].contains("id"));
  }
  json expanded = body(results(qid, "expand=user"));
  for (const auto& e : expanded["entities"]) {
    EXPECT_EQ(e["user"]["name"], std::string("OAuth client ") + kClientId);
    EXPECT_EQ(e["user"]["id"], plain["entities"][0]["user"]["id"]);
  }
}

TEST_F(PlatformAuditTest, CursorsNeedUrlEncoding) {
  std::string qid = auditedQuery(4);  // 5 entries
  json first = body(results(qid, "pageSize=2&expand=user"));
  ASSERT_TRUE(first.contains("cursor"));
  std::string cursor = first["cursor"];
  for (char c : {'+', '/', '='}) {
    EXPECT_NE(cursor.find(c), std::string::npos) << cursor << " lacks " << c;
  }
  HttpResponse raw = results(qid, "pageSize=2&cursor=" + cursor);
  EXPECT_EQ(raw.status, 400) << raw.body;
  EXPECT_EQ(fieldNames(body(raw)), std::set<std::string>{"cursor"});
  std::vector<json> all(first["entities"].begin(), first["entities"].end());
  int pages = 1;
  while (!cursor.empty() && pages < 10) {
    HttpResponse r = results(qid, "pageSize=2&cursor=" + percentEncode(cursor));
    ASSERT_EQ(r.status, 200) << r.body;
    json page = body(r);
    for (const auto& e : page["entities"]) all.push_back(e);
    cursor = page.value("cursor", "");
    ++pages;
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(all.size(), 5u);
}

// ------------------------------------------------------------------------------ Permissions

TEST_F(EmulatorPlatformTest, MissingPermissionsAre403NamingThePermission) {
  EmulatorOptions o = defaultOptions();
  o.permissions = std::set<std::string>{"directory:location:view"};
  start(o);
  EXPECT_EQ(api("GET", "/api/v2/locations").status, 200);
  EXPECT_EQ(api("GET", "/api/v2/ipranges").status, 200);  // needs none
  auto expect403 = [&](const HttpResponse& r, const std::string& permission) {
    EXPECT_EQ(r.status, 403) << permission;
    json b = body(r);
    EXPECT_EQ(b["code"], "missing.permissions");
    EXPECT_NE(b["message"].get<std::string>().find(permission), std::string::npos) << b.dump();
  };
  expect403(api("POST", "/api/v2/locations", platformLocation()), "directory:location:add");
  expect403(api("PATCH", "/api/v2/locations/x", {{"version", 1}}), "directory:location:edit");
  expect403(api("DELETE", "/api/v2/locations/x"), "directory:location:delete");
  expect403(api("GET", "/api/v2/telephony/providers/edges/trunkbasesettings"),
            "telephony:plugin:all");
  expect403(api("GET", "/api/v2/telephony/providers/edges/sites"), "telephony:plugin:all");
  expect403(api("GET", "/api/v2/telephony/mediaregions"), "telephony:plugin:all");
  expect403(api("POST", "/api/v2/audits/query", json::object()), "audits:audit:view");
  expect403(api("POST", "/api/v2/analytics/conversations/details/query", json::object()),
            "analytics:conversationDetail:view");
  o.permissions = std::set<std::string>{"telephony:plugin:all"};
  start(o);
  token_.clear();
  EXPECT_EQ(api("GET", "/api/v2/telephony/mediaregions").status, 200);
}

// ------------------------------------------------------------------ Request log, state

TEST_F(EmulatorPlatformTest, RequestLogHoldsEveryBodyAndContentType) {
  std::string id = createPlatformLocation();
  call("PATCH", "/api/v2/locations/" + id, std::string(5000, 'x'), "text/plain");
  json patch = json::array({{{"op", "replace"}, {"path", "/name"}, {"value", "Renamed"}}});
  api("PATCH", "/api/v2/locations/" + id, patch, "application/json-patch+json");
  json log = body(call("GET", "/_emulator/requests"));
  ASSERT_EQ(log.size(), 4u);  // token, create, the text PATCH, the JSON Patch
  EXPECT_EQ(log[1]["content_type"], "application/json");
  EXPECT_EQ(log[1]["body"]["name"], "Frankfurt Office");
  EXPECT_EQ(log[2]["content_type"], "text/plain");
  EXPECT_EQ(log[2]["status"], 415);
  EXPECT_EQ(log[2]["body"], std::string(4096, 'x'));
  EXPECT_EQ(log[3]["content_type"], "application/json-patch+json");
  EXPECT_EQ(log[3]["body"], patch);
  EXPECT_EQ(log[3]["status"], 415);
}

TEST_F(EmulatorPlatformTest, SitesAreInTheStateFileAndResetClearsThem) {
  mediapath::testing::TempDir dir;
  EmulatorOptions o = defaultOptions();
  o.state_file = dir.file("state.json");
  start(o);
  ASSERT_EQ(call("POST", "/_emulator/sites",
                 R"({"id":"site-1","name":"Frankfurt","media_regions":["eu-west-1"]})")
                .status,
            201);
  json site = body(api("GET", "/api/v2/telephony/providers/edges/sites/site-1"));
  ASSERT_EQ(api("PUT", "/api/v2/telephony/providers/edges/sites/site-1", site).status, 200);
  EXPECT_EQ(body(call("GET", "/_emulator/state"))["sites"].size(), 1u);
  start(o);  // a new emulator on the same file
  token_.clear();
  json loaded = body(api("GET", "/api/v2/telephony/providers/edges/sites/site-1"));
  EXPECT_EQ(loaded["version"], 2);
  EXPECT_EQ(loaded["mediaRegions"], json({"eu-west-1", "eu-central-1"}));
  ASSERT_EQ(call("POST", "/_emulator/reset").status, 200);
  EXPECT_EQ(body(call("GET", "/_emulator/state"))["sites"].size(), 0u);
  EXPECT_EQ(api("GET", "/api/v2/telephony/providers/edges/sites/site-1").status, 404);
}

}  // namespace
}  // namespace mediapath::tools::emulator::testing
