// The lifecycle commands of the built binary against the real genesys-emulator over TLS.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "reporter/genesys/genesys_auth.h"
#include "reporter/genesys/genesys_backends.h"
#include "tests/integration/genesys_support.h"
#include "tests/support/peers.h"

namespace mediapath::testing {
namespace {

using nlohmann::json;

class GenesysCliIT : public ::testing::Test {
 protected:
  // The seed workflow by default (the emulator and the config both speak the seed's shapes).
  explicit GenesysCliIT(EmulatorSchema schema = EmulatorSchema::kSeed)
      : pki_(dir_), emu_(dir_, pki_, schema), schema_(schema) {}

  json config(const std::string& location_id = {}) const {
    json c = json::parse(R"({
      "site": {"name": "it-site"},
      "targets": [
        {"name": "proxy-a", "kind": "sip", "host": "proxy-a.example.net", "port": 5060},
        {"name": "proxy-b", "kind": "sip", "host": "proxy-b.example.net", "port": 5070},
        {"name": "stun-a", "kind": "stun", "host": "127.0.0.1", "port": 3478},
        {"name": "turn-a", "kind": "turn", "host": "127.0.0.1", "port": 3478,
         "username": "u", "password_env": "TURN_PASSWORD"}],
      "genesys": {"client_id_env": "GENESYS_CLIENT_ID",
                  "client_secret_env": "GENESYS_CLIENT_SECRET",
                  "request_timeout": "5s", "retry_budget": "10s"},
      "location": {"name": "IT Office", "region": "eu-central-1", "sip_ports": [5060, 5061],
                   "ip_allowlist": ["10.0.0.0/8"],
                   "media": {"proxy": "proxy-a", "stun": "stun-a", "turn": "turn-a"}}})");
    c["genesys"]["api_base_url"] = emu_.baseUrl();
    c["genesys"]["login_base_url"] = emu_.baseUrl();
    c["genesys"]["ca_file"] = pki_.ca;
    c["genesys"]["schema"] = schema_ == EmulatorSchema::kSeed ? "seed" : "platform";
    if (!location_id.empty()) c["genesys"]["location_id"] = location_id;
    return c;
  }

  std::string writeConfig(const json& c, const std::string& name = "agent.json") {
    return dir_.write(name, c.dump(2));
  }

  CommandResult agent(std::vector<std::string> args,
                      std::map<std::string, std::string> env = credentials()) {
    std::vector<std::string> argv{MEDIAPATH_AGENT_BINARY, "--log-level", "debug"};
    argv.insert(argv.end(), args.begin(), args.end());
    CommandResult r = runCommand(argv, std::move(env), std::chrono::seconds(60));
    outputs_ += r.output;
    return r;
  }

  static std::map<std::string, std::string> credentials() {
    return {{"GENESYS_CLIENT_ID", kGenesysClientId}, {"GENESYS_CLIENT_SECRET", kGenesysSecret}};
  }

  static std::string lastLine(const std::string& text) {
    std::string t = text;
    while (!t.empty() && t.back() == '\n') t.pop_back();
    auto nl = t.rfind('\n');
    return nl == std::string::npos ? t : t.substr(nl + 1);
  }

  void TearDown() override {
    // Whatever a test ran: no secret in anything the CLI printed or the emulator logged.
    std::string everything = outputs_ + slurp(emu_.requestLogPath()) + emu_.log();
    EXPECT_EQ(everything.find(kGenesysSecret), std::string::npos);
    std::string basic =
        reporter::base64Encode(std::string(kGenesysClientId) + ":" + kGenesysSecret);
    EXPECT_EQ(everything.find(basic), std::string::npos);
  }

  TempDir dir_;
  TestPki pki_;
  EmulatorProcess emu_;
  EmulatorSchema schema_;
  std::string outputs_;
};

// The same commands against the emulator in its default mode, the real platform's shapes.
class GenesysCliPlatformIT : public GenesysCliIT {
 protected:
  GenesysCliPlatformIT() : GenesysCliIT(EmulatorSchema::kPlatform) {}
};

TEST_F(GenesysCliPlatformIT, LifecycleOnTheRealLocationShape) {
  // create: a LocationDefinition (no seed media fields); done once `state` is active.
  json c = config();
  c["location"]["notes"] = "IT floor";
  std::string cfg = writeConfig(c);
  CommandResult created = agent({"location", "create", "--config", cfg});
  ASSERT_EQ(created.exit_code, 0) << created.output;
  std::string id = lastLine(created.output);
  auto posts = emu_.requestsTo("/api/v2/locations", "POST");
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0]["body"], json({{"name", "IT Office"}, {"notes", "IT floor"}}));
  auto state = emu_.admin("GET", "/_emulator/state").second;
  ASSERT_EQ(state["locations"].size(), 1u);
  EXPECT_EQ(state["locations"][0]["state"], "active");
  EXPECT_FALSE(state["locations"][0].contains("media"));

  // plan: nothing to do; then a changed name and notes give a LocationUpdateDefinition.
  c = config(id);
  c["location"]["notes"] = "IT floor";
  CommandResult plan = agent({"location", "plan", "--config", writeConfig(c)});
  ASSERT_EQ(plan.exit_code, 0) << plan.output;
  EXPECT_NE(plan.output.find("no changes"), std::string::npos) << plan.output;
  c["location"]["name"] = "IT Office 2";
  c["location"]["notes"] = "moved";
  cfg = writeConfig(c);
  plan = agent({"location", "plan", "--config", cfg});
  ASSERT_EQ(plan.exit_code, 0) << plan.output;
  json update = json::parse(plan.output.substr(plan.output.find('{')), nullptr, false);
  EXPECT_EQ(update, json({{"name", "IT Office 2"}, {"notes", "moved"}, {"version", 1}}))
      << plan.output;

  // apply: application/json with the version read, never a JSON Patch; then plan is clean.
  CommandResult applied = agent({"location", "apply", "--config", cfg});
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  EXPECT_NE(applied.output.find("updated 2 fields of location " + id + " (version 2)"),
            std::string::npos)
      << applied.output;
  auto patches = emu_.requestsTo("/api/v2/locations/" + id, "PATCH");
  ASSERT_EQ(patches.size(), 1u);
  EXPECT_EQ(patches[0]["content_type"], "application/json");
  EXPECT_EQ(patches[0]["body"], update);
  for (const auto& r : emu_.requests()) EXPECT_NE(r["content_type"], "application/json-patch+json");
  plan = agent({"location", "plan", "--config", cfg});
  EXPECT_NE(plan.output.find("no changes"), std::string::npos) << plan.output;
}

TEST_F(GenesysCliPlatformIT, ApplyRereadsWhenSomeoneSavedTheLocationMeanwhile) {
  std::string cfg = writeConfig(config());
  CommandResult created = agent({"location", "create", "--config", cfg});
  ASSERT_EQ(created.exit_code, 0) << created.output;
  std::string id = lastLine(created.output);
  json c = config(id);
  c["location"]["notes"] = "after the conflict";
  emu_.admin("POST", "/_emulator/faults",
             {{"path_prefix", "/api/v2/locations/" + id},
              {"method", "PATCH"},
              {"count", 1},
              {"concurrent_change", true}});
  CommandResult applied = agent({"location", "apply", "--config", writeConfig(c)});
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  EXPECT_NE(applied.output.find("changed meanwhile (HTTP 409"), std::string::npos)
      << applied.output;
  auto patches = emu_.requestsTo("/api/v2/locations/" + id, "PATCH");
  ASSERT_EQ(patches.size(), 2u);
  EXPECT_EQ(patches[0]["status"], 409);
  EXPECT_EQ(patches[1]["status"], 200);
  // The second write carries the version read again, one above the first.
  EXPECT_EQ(patches[1]["body"]["version"], patches[0]["body"]["version"].get<int>() + 1);
}

TEST_F(GenesysCliPlatformIT, ExportShowsTheLocationWithTheTrunkAndSiteTheGroupsWrite) {
  std::string cfg = writeConfig(config());
  CommandResult created = agent({"location", "create", "--config", cfg});
  ASSERT_EQ(created.exit_code, 0) << created.output;
  std::string id = lastLine(created.output);
  ASSERT_EQ(
      emu_.admin("POST", "/_emulator/trunks",
                 {{"id", "trunk-1"}, {"hosts", {"proxy-a.example.net", "sbc.example.net:5070"}}})
          .first,
      201);
  ASSERT_EQ(emu_.admin("POST", "/_emulator/sites",
                       {{"id", "site-1"}, {"media_regions", {"eu-west-1", "eu-central-1"}}})
                .first,
            201);
  json c = config(id);
  c["targets"].push_back({{"name", "turn-b"},
                          {"kind", "turn"},
                          {"host", "127.0.0.1"},
                          {"port", 3479},
                          {"username", "u"},
                          {"password_env", "TURN_PASSWORD"}});
  c["failover"] = json::parse(R"([
    {"name": "sip", "candidates": ["proxy-a", "proxy-b"], "apply_to": {"trunk_base_id": "trunk-1"}},
    {"name": "media", "candidates": ["turn-a", "turn-b"],
     "apply_to": {"site_id": "site-1",
                  "media_regions": {"turn-a": "eu-central-1", "turn-b": "eu-west-1"}}}])");
  CommandResult exported = agent({"location", "export", "--config", writeConfig(c)});
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  json out = json::parse(exported.output.substr(exported.output.find('{')), nullptr, false);
  ASSERT_TRUE(out.is_object()) << exported.output;
  EXPECT_EQ(out["location"]["id"], id);
  ASSERT_EQ(out["trunkbasesettings"].size(), 1u);
  EXPECT_EQ(out["trunkbasesettings"][0]["id"], "trunk-1");
  ASSERT_EQ(out["sites"].size(), 1u);
  EXPECT_EQ(out["sites"][0]["mediaRegions"], json({"eu-west-1", "eu-central-1"}));
  // The trunk was read without the platform's hidden properties.
  auto gets = emu_.requestsTo("/api/v2/telephony/providers/edges/trunkbasesettings/trunk-1", "GET");
  ASSERT_EQ(gets.size(), 1u);
  EXPECT_EQ(gets[0]["query"], json({{"ignoreHidden", "true"}}));
}

TEST_F(GenesysCliPlatformIT, LocationPathNeedsTheSeedSchema) {
  json c = config("loc-1");
  c["failover"] = json::parse(R"([{"name": "g", "candidates": ["proxy-a", "proxy-b"],
                                   "apply_to": {"location_path": "/media/proxy"}}])");
  CommandResult r = agent({"validate", "--config", writeConfig(c)});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("/failover/0/apply_to/location_path"), std::string::npos) << r.output;
  EXPECT_TRUE(emu_.requests().empty());
}

TEST_F(GenesysCliIT, LifecycleEndToEnd) {
  // create: POST, poll until active (the emulator activates after 300 ms), print the id.
  std::string cfg = writeConfig(config());
  CommandResult created = agent({"location", "create", "--config", cfg});
  ASSERT_EQ(created.exit_code, 0) << created.output;
  std::string id = lastLine(created.output);
  EXPECT_NE(created.output.find("waiting for active"), std::string::npos) << created.output;
  auto state = emu_.admin("GET", "/_emulator/state").second;
  ASSERT_EQ(state["locations"].size(), 1u);
  EXPECT_EQ(state["locations"][0]["id"], id);
  EXPECT_EQ(state["locations"][0]["status"], "active");
  EXPECT_GE(emu_.requestsTo("/api/v2/locations/" + id, "GET").size(), 1u);

  // plan: remote equals config.
  cfg = writeConfig(config(id));
  CommandResult plan = agent({"location", "plan", "--config", cfg});
  ASSERT_EQ(plan.exit_code, 0) << plan.output;
  EXPECT_NE(plan.output.find("no changes"), std::string::npos) << plan.output;

  // plan after a config change: a JSON Patch with tests before replaces.
  json changed = config(id);
  changed["location"]["media"]["proxy"] = "proxy-b";
  changed["location"]["ip_allowlist"] = {"10.0.0.0/8", "192.168.1.0/24"};
  cfg = writeConfig(changed);
  plan = agent({"location", "plan", "--config", cfg});
  ASSERT_EQ(plan.exit_code, 0) << plan.output;
  json patch = json::parse(plan.output.substr(plan.output.find('[')), nullptr, false);
  ASSERT_TRUE(patch.is_array()) << plan.output;
  json expected = json::parse(R"([
    {"op": "test", "path": "/ipAddressAllowlist", "value": ["10.0.0.0/8"]},
    {"op": "test", "path": "/media/proxy/host", "value": "proxy-a.example.net"},
    {"op": "test", "path": "/media/proxy/port", "value": 5060},
    {"op": "replace", "path": "/ipAddressAllowlist", "value": ["10.0.0.0/8", "192.168.1.0/24"]},
    {"op": "replace", "path": "/media/proxy/host", "value": "proxy-b.example.net"},
    {"op": "replace", "path": "/media/proxy/port", "value": 5070}])");
  EXPECT_EQ(patch, expected);
  EXPECT_TRUE(emu_.requestsTo("/api/v2/locations", "PATCH").empty());  // plan sends nothing

  // apply: the patch goes out as application/json-patch+json; then plan is clean.
  CommandResult applied = agent({"location", "apply", "--config", cfg});
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  EXPECT_NE(applied.output.find("applied 6 operations to location " + id), std::string::npos)
      << applied.output;
  auto patches = emu_.requestsTo("/api/v2/locations/" + id, "PATCH");
  ASSERT_EQ(patches.size(), 1u);
  EXPECT_EQ(patches[0]["content_type"], "application/json-patch+json");
  EXPECT_EQ(patches[0]["body"], expected);
  plan = agent({"location", "plan", "--config", cfg});
  EXPECT_NE(plan.output.find("no changes"), std::string::npos) << plan.output;

  // export: stdout and an atomically written file.
  std::string out = dir_.file("export.json");
  CommandResult exported = agent({"location", "export", "--config", cfg, "--output", out});
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  json file = json::parse(slurp(out));
  EXPECT_EQ(file["id"], id);
  EXPECT_EQ(file["media"]["proxy"]["host"], "proxy-b.example.net");
  CommandResult to_stdout = agent({"location", "export", "--config", cfg});
  ASSERT_EQ(to_stdout.exit_code, 0);
  EXPECT_NE(to_stdout.output.find("\"proxy-b.example.net\""), std::string::npos);

  // audit: the create and the update, with the property changes.
  CommandResult audit = agent({"audit", "--config", cfg, "--since", "1h"});
  ASSERT_EQ(audit.exit_code, 0) << audit.output;
  EXPECT_NE(audit.output.find("Create Location"), std::string::npos) << audit.output;
  EXPECT_NE(audit.output.find("Update Location"), std::string::npos) << audit.output;
  EXPECT_NE(audit.output.find("/media/proxy/host: [proxy-a.example.net] -> [proxy-b.example.net]"),
            std::string::npos)
      << audit.output;
  EXPECT_NE(audit.output.find("client " + std::string(kGenesysClientId)), std::string::npos)
      << audit.output;
  auto queries = emu_.requestsTo("/api/v2/audits/query", "POST");
  ASSERT_EQ(queries.size(), 1u);
  EXPECT_EQ(queries[0]["body"]["filters"][1]["value"], id);
}

TEST_F(GenesysCliIT, AuditCoversTheFailoverTrunk) {
  auto [status, trunk] =
      emu_.admin("POST", "/_emulator/trunks",
                 {{"id", "trunk-7"}, {"name", "BYOC EU"}, {"hosts", {"proxy-a.example.net:5060"}}});
  ASSERT_EQ(status, 201) << trunk.dump();
  {
    ClientHarness h(emu_, pki_.ca);
    reporter::TrunkBackend backend(h.client(), "trunk-7",
                                   {{"proxy-a", "proxy-a.example.net", 5060, ""},
                                    {"proxy-b", "proxy-b.example.net", 5070, ""}});
    bool ok = false;
    backend.applyRanked({"proxy-b", "proxy-a"}, [&](reporter::BackendResult r) {
      ok = r.ok();
      h.loop().stop();
    });
    h.loop().run();
    ASSERT_TRUE(ok);
  }
  json c = config();
  c["failover"] = json::parse(R"([{"name": "media-proxy", "candidates": ["proxy-a", "proxy-b"],
                                   "apply_to": {"trunk_base_id": "trunk-7"}}])");
  CommandResult audit = agent({"audit", "--config", writeConfig(c), "--since", "1h"});
  ASSERT_EQ(audit.exit_code, 0) << audit.output;
  EXPECT_NE(audit.output.find("Update TrunkBase BYOC EU (trunk-7)"), std::string::npos)
      << audit.output;
  EXPECT_NE(audit.output.find("proxy-b.example.net:5070"), std::string::npos) << audit.output;
  auto queries = emu_.requestsTo("/api/v2/audits/query", "POST");
  ASSERT_EQ(queries.size(), 1u);
  EXPECT_EQ(queries[0]["body"]["serviceName"], "Telephony");
}

TEST_F(GenesysCliPlatformIT, AuditCoversTheFailoverSite) {
  ASSERT_EQ(emu_.admin("POST", "/_emulator/sites",
                       {{"id", "site-9"},
                        {"name", "Office site"},
                        {"media_regions", {"eu-central-1", "eu-west-1"}}})
                .first,
            201);
  {
    ClientHarness h(emu_, pki_.ca);
    reporter::SiteBackend backend(h.client(), "site-9",
                                  {{"turn-a", "127.0.0.1", 3478, "eu-central-1"},
                                   {"turn-b", "127.0.0.1", 3479, "eu-west-1"}});
    bool ok = false;
    backend.applyRanked({"turn-b", "turn-a"}, [&](reporter::BackendResult r) {
      ok = r.ok();
      h.loop().stop();
    });
    h.loop().run();
    ASSERT_TRUE(ok);
  }
  json c = config();
  c["targets"].push_back({{"name", "turn-b"},
                          {"kind", "turn"},
                          {"host", "127.0.0.1"},
                          {"port", 3479},
                          {"username", "u"},
                          {"password_env", "TURN_PASSWORD"}});
  c["failover"] = json::parse(R"([{"name": "media", "candidates": ["turn-a", "turn-b"],
    "apply_to": {"site_id": "site-9",
                 "media_regions": {"turn-a": "eu-central-1", "turn-b": "eu-west-1"}}}])");
  CommandResult audit = agent({"audit", "--config", writeConfig(c), "--since", "1h"});
  ASSERT_EQ(audit.exit_code, 0) << audit.output;
  EXPECT_NE(audit.output.find("Update Site Office site (site-9)"), std::string::npos)
      << audit.output;
  EXPECT_NE(audit.output.find("eu-west-1, eu-central-1"), std::string::npos) << audit.output;
}

TEST_F(GenesysCliIT, QualityPagesThroughEveryHit) {
  std::string cfg = writeConfig(config());
  CommandResult q = agent({"quality", "--config", cfg, "--since", "24h"});
  ASSERT_EQ(q.exit_code, 0) << q.output;
  // The emulator puts 40 conversations in every interval; 100 per page means 1 page.
  EXPECT_NE(q.output.find("conversations: 40"), std::string::npos) << q.output;
  EXPECT_NE(q.output.find("MOS min/avg/p10: "), std::string::npos) << q.output;
  EXPECT_NE(q.output.find("worst sessions:"), std::string::npos) << q.output;
  auto pages = emu_.requestsTo("/api/v2/analytics/conversations/details/query", "POST");
  ASSERT_EQ(pages.size(), 1u);
  EXPECT_EQ(pages[0]["body"]["paging"]["pageNumber"], 1);
}

TEST_F(GenesysCliIT, QualityFiltersOnSegmentDimensions) {
  std::string cfg = writeConfig(config());
  auto count = [](const std::string& out) {
    auto at = out.find("conversations: ");
    return at == std::string::npos ? -1 : std::stoi(out.substr(at + 15));
  };
  // 40 synthetic conversations per interval, about a third outbound: each filter keeps a proper,
  // non-empty subset. (Each run queries a slightly later interval, so the subsets are of
  // different data sets and need not add up to 40.)
  CommandResult in =
      agent({"quality", "--config", cfg, "--since", "24h", "--filter", "direction=inbound"});
  CommandResult out =
      agent({"quality", "--config", cfg, "--since", "24h", "--filter", "direction=outbound"});
  ASSERT_EQ(in.exit_code, 0) << in.output;
  ASSERT_EQ(out.exit_code, 0) << out.output;
  EXPECT_GT(count(in.output), 0) << in.output;
  EXPECT_LT(count(in.output), 40) << in.output;
  EXPECT_GT(count(out.output), 0) << out.output;
  EXPECT_LT(count(out.output), 40) << out.output;
  CommandResult none = agent({"quality", "--config", cfg, "--since", "24h", "--filter",
                              "direction=inbound", "--filter", "mediaType=chat"});
  ASSERT_EQ(none.exit_code, 0) << none.output;
  EXPECT_EQ(count(none.output), 0) << none.output;
  EXPECT_NE(none.output.find("MOS: no data"), std::string::npos) << none.output;
  auto queries = emu_.requestsTo("/api/v2/analytics/conversations/details/query", "POST");
  ASSERT_EQ(queries.size(), 3u);
  EXPECT_EQ(queries[2]["body"]["segmentFilters"][0]["predicates"][1]["value"], "chat");
  CommandResult bad = agent({"quality", "--config", cfg, "--filter", "nonsense"});
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
}

TEST_F(GenesysCliIT, QualityPagesWhenThereAreMoreHitsThanAPage) {
  TempDir dir2;
  TestPki pki2(dir2);
  EmulatorProcess emu2(dir2, pki2, EmulatorSchema::kPlatform, {"--conversations", "250"});
  json c = config();
  c["genesys"]["api_base_url"] = emu2.baseUrl();
  c["genesys"]["login_base_url"] = emu2.baseUrl();
  c["genesys"]["ca_file"] = pki2.ca;
  CommandResult q = agent({"quality", "--config", writeConfig(c), "--since", "24h"});
  ASSERT_EQ(q.exit_code, 0) << q.output;
  EXPECT_NE(q.output.find("conversations: 250"), std::string::npos) << q.output;
  EXPECT_EQ(emu2.requestsTo("/api/v2/analytics/conversations/details/query", "POST").size(), 3u);
}

TEST_F(GenesysCliIT, ApiRefusalExitsOneWithStatusCodeAndContextId) {
  std::string cfg = writeConfig(config("no-such-location"));
  CommandResult r = agent({"location", "export", "--config", cfg});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("HTTP 404 not.found"), std::string::npos) << r.output;
  auto logged = emu_.requestsTo("/api/v2/locations/no-such-location");
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_NE(r.output.find("contextId " + logged[0]["correlation_id"].get<std::string>()),
            std::string::npos)
      << r.output;

  // The platform's 422 on create (port outside 5060-5081 when the range is widened locally).
  json wide = config();
  wide["location"]["allowed_sip_ports"] = {{"min", 5060}, {"max", 5100}};
  wide["location"]["sip_ports"] = {5060, 5090};
  r = agent({"location", "create", "--config", writeConfig(wide)});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("HTTP 422 invalid.value"), std::string::npos) << r.output;
}

TEST_F(GenesysCliIT, UsageAndConfigProblemsExitTwo) {
  // No location id anywhere.
  CommandResult r = agent({"location", "plan", "--config", writeConfig(config())});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("/genesys/location_id"), std::string::npos) << r.output;
  // Secret not set: names the variable, exits 2.
  r = agent({"location", "export", "--config", writeConfig(config("x"))},
            {{"GENESYS_CLIENT_ID", kGenesysClientId}, {"GENESYS_CLIENT_SECRET", ""}});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("GENESYS_CLIENT_SECRET"), std::string::npos) << r.output;
  // Plain http:// to a host that is not loopback: refused before anything is sent.
  json c = config("x");
  c["genesys"]["api_base_url"] = "http://api.example.com";
  r = agent({"location", "export", "--config", writeConfig(c)});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("plain http:// is refused"), std::string::npos) << r.output;
  // Bad --since.
  r = agent({"quality", "--config", writeConfig(config()), "--since", "yesterday"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(emu_.requests().empty());
}

TEST_F(GenesysCliIT, WrongCaIsRefused) {
  json c = config("x");
  c["genesys"]["ca_file"] = pki_.wrong_ca;
  CommandResult r = agent({"location", "export", "--config", writeConfig(c)});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("TLS: "), std::string::npos) << r.output;
  EXPECT_TRUE(emu_.requests().empty());
}

TEST_F(GenesysCliIT, LocationValidateProbesStunAndTurn) {
  Coturn coturn(dir_);
  json c = config();
  for (auto& t : c["targets"]) {
    if (t["kind"] == "stun" || t["kind"] == "turn") t["port"] = coturn.port();
    if (t["kind"] == "turn") t["username"] = coturn.options().user;
  }
  std::string cfg = writeConfig(c);
  auto env = credentials();
  env["TURN_PASSWORD"] = coturn.options().password;
  CommandResult ok = agent({"location", "validate", "--config", cfg}, env);
  EXPECT_EQ(ok.exit_code, 0) << ok.output << coturn.log();
  EXPECT_NE(ok.output.find("offline checks ok"), std::string::npos) << ok.output;
  EXPECT_NE(
      ok.output.find("stun stun-a 127.0.0.1:" + std::to_string(coturn.port()) + ": reachable"),
      std::string::npos)
      << ok.output;
  EXPECT_NE(
      ok.output.find("turn turn-a 127.0.0.1:" + std::to_string(coturn.port()) + ": reachable"),
      std::string::npos)
      << ok.output;
  EXPECT_NE(ok.output.find("relayed 127.0.0.1:"), std::string::npos) << ok.output;

  // Wrong TURN password: the TURN check fails, exit 1.
  env["TURN_PASSWORD"] = "not-the-password";
  CommandResult bad = agent({"location", "validate", "--config", cfg}, env);
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_NE(bad.output.find("turn turn-a"), std::string::npos);
  EXPECT_NE(bad.output.find("UNREACHABLE"), std::string::npos) << bad.output;

  // Nothing listening for STUN: exit 1 naming the STUN target.
  c["targets"][2]["port"] = freePort(SocketType::kUdp);
  env["TURN_PASSWORD"] = coturn.options().password;
  CommandResult down = agent({"location", "validate", "--config", writeConfig(c)}, env);
  EXPECT_EQ(down.exit_code, 1) << down.output;
  EXPECT_NE(
      down.output.find("stun stun-a 127.0.0.1:" + c["targets"][2]["port"].dump() + ": UNREACHABLE"),
      std::string::npos)
      << down.output;
  // Validation talks to no Genesys API.
  EXPECT_TRUE(emu_.requests().empty());
}

}  // namespace
}  // namespace mediapath::testing
