// Unit tests of the emulator's behaviour, driven in-process with a fake clock (no sockets).
#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "tests/support/process.h"
#include "tests/tools/emulator_test_support.h"
#include "tools/genesys_emulator/analytics.h"
#include "tools/genesys_emulator/locations.h"

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

TEST_F(EmulatorTest, CreatedLocationIsPendingUntilTheActivationDelay) {
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

TEST_F(EmulatorTest, PatchWhileProvisioningIs503WithRetryAfter) {
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

TEST_F(EmulatorTest, InvalidCidrAndSipPortAre422WithFieldNames) {
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

TEST_F(EmulatorTest, MissingNameAndWrongTypesAre400) {
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

TEST_F(EmulatorTest, WrongContentTypeIs415AndHugeBodyIs413) {
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

TEST_F(EmulatorTest, JsonPatchReplacesAndBumpsVersion) {
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

TEST_F(EmulatorTest, FailedTestOpIs409AndNothingIsApplied) {
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

TEST_F(EmulatorTest, UnknownReadOnlyOrInvalidPatchesAre422) {
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

TEST_F(EmulatorTest, RealLocationUpdateDefinitionNeedsTheCurrentVersion) {
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

TEST_F(EmulatorTest, LocationsPageAndDelete) {
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

class TrunkTest : public EmulatorTest {
 protected:
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
  json trunk = body(api("GET", trunkPath(id)));
  EXPECT_EQ(trunk["version"], 1);
  json& instance = trunk["properties"]["trunk_transport_serverProxyList"]["value"]["instance"];
  EXPECT_EQ(instance, json({"proxy-a.example.com", "proxy-b.example.com"}));
  instance = {"proxy-b.example.com", "proxy-a.example.com"};
  HttpResponse r = api("PUT", trunkPath(id), trunk);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body(r)["version"], 2);
  EXPECT_EQ(body(api("GET", trunkPath(id)))["properties"]["trunk_transport_serverProxyList"]
                                           ["value"]["instance"][0],
            "proxy-b.example.com");
}

TEST_F(TrunkTest, StaleVersionIs409WithThePlatformMessage) {
  std::string id = createTrunk();
  json trunk = body(api("GET", trunkPath(id)));
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
  json trunk = body(api("GET", trunkPath(id)));
  // Someone else wrote the trunk in between: the client's PUT with version 1 loses.
  ASSERT_EQ(call("POST", "/_emulator/trunks",
                 json({{"id", id}, {"hosts", {"proxy-z"}}, {"version", 5}}).dump())
                .status,
            201);
  EXPECT_EQ(api("PUT", trunkPath(id), trunk).status, 409);
  json fresh = body(api("GET", trunkPath(id)));
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

TEST_F(EmulatorTest, ConcurrentClientsSeeConsistentVersions) {
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
  json trunk = body(api("GET", trunkPath(managed)));
  HttpResponse r = api("PUT", trunkPath(managed), trunk);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(body(r)["message"].get<std::string>().find("Managed trunks cannot be modified"),
            std::string::npos);
  std::string id = createTrunk();
  json other = body(api("GET", trunkPath(id)));
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
  json trunk = body(api("GET", "/api/v2/telephony/providers/edges/trunkbasesettings/" + id));
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

TEST_F(EmulatorTest, StatusFaultHitsTheNextNMatchingRequests) {
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

TEST_F(EmulatorTest, RetryAfterStallAndResetFaults) {
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

TEST_F(EmulatorTest, RequestLogHasBodiesButNoSecrets) {
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

TEST_F(EmulatorTest, ResetForgetsStateButKeepsTokens) {
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

TEST_F(EmulatorTest, StateFileSurvivesARestart) {
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

}  // namespace
}  // namespace mediapath::tools::emulator::testing
