#include "agent/config/config_loader.h"

#include <gtest/gtest.h>

#include <string>

#include "agent/config/location_spec.h"
#include "agent/config/probe_targets.h"
#include "reporter/genesys/location_payload.h"

namespace mediapath::agent {
namespace {

using std::chrono::milliseconds;

TEST(ParseDuration, AcceptsUnits) {
  EXPECT_EQ(parseDuration("250ms"), milliseconds(250));
  EXPECT_EQ(parseDuration("5s"), milliseconds(5000));
  EXPECT_EQ(parseDuration("1.5s"), milliseconds(1500));
  EXPECT_EQ(parseDuration("2m"), milliseconds(120000));
  EXPECT_EQ(parseDuration("1h"), milliseconds(3600000));
}

TEST(ParseDuration, RejectsMalformed) {
  for (const char* bad : {"", "5", "s", "5 s", "-1s", "5sec", "1..5s", ".5s", "5.s", "0.5ms"}) {
    EXPECT_EQ(parseDuration(bad), std::nullopt) << bad;
  }
}

TEST(CheckCidr, ValidNetworks) {
  for (const char* ok : {"10.0.0.0/8", "192.168.1.0/24", "0.0.0.0/0", "10.1.2.3/32",
                         "2001:db8::/32", "::/0", "fe80::1/128"}) {
    EXPECT_EQ(checkCidr(ok), "") << ok;
  }
}

TEST(CheckCidr, HostBitsSuggestNetwork) {
  EXPECT_EQ(checkCidr("10.0.0.1/8"),
            "\"10.0.0.1/8\" has host bits set; did you mean \"10.0.0.0/8\"?");
  EXPECT_EQ(checkCidr("192.168.1.77/26"),
            "\"192.168.1.77/26\" has host bits set; did you mean \"192.168.1.64/26\"?");
  EXPECT_EQ(checkCidr("2001:db8::1/64"),
            "\"2001:db8::1/64\" has host bits set; did you mean \"2001:db8::/64\"?");
}

TEST(CheckCidr, Malformed) {
  EXPECT_NE(checkCidr("10.0.0.0"), "");
  EXPECT_NE(checkCidr("10.0.0.0/"), "");
  EXPECT_NE(checkCidr("10.0.0.0/x"), "");
  EXPECT_NE(checkCidr("10.0.0/8"), "");
  EXPECT_NE(checkCidr("2001:db8::/129"), "");
}

constexpr const char* kMinimal = R"({
  // comments are allowed
  "site": {"name": "s"},
  "targets": [{"name": "stun-a", "kind": "stun", "host": "127.0.0.1"},
              {"name": "sip-a", "kind": "sip", "host": "::1", "transport": "tcp",
               "interval": "10s", "burst": {"packets": 3}},
              {"name": "dns-a", "kind": "dns", "host": "_sip._udp.example.test", "record": "SRV"}]
})";

// turn and relay talk to their TURN server over udp (default) or tcp (RFC 8656 §2.1).
TEST(ParseConfig, TurnAndRelayTransport) {
  LoadResult r = parseConfig(R"({"site": {"name": "s"}, "targets": [
      {"name": "t", "kind": "turn", "host": "127.0.0.1", "username": "u", "password_env": "P",
       "transport": "tcp"},
      {"name": "l", "kind": "relay", "host": "127.0.0.1", "username": "u", "password_env": "P",
       "interval": "10s", "transport": "tcp"},
      {"name": "d", "kind": "turn", "host": "127.0.0.1", "username": "u", "password_env": "P"}]})",
                             "x.json");
  ASSERT_TRUE(r.errors.empty()) << r.errors.front().message;
  ASSERT_EQ(r.config->targets.size(), 3u);
  EXPECT_EQ(r.config->targets[0].transport, probes::Transport::kTcp);
  EXPECT_EQ(r.config->targets[1].transport, probes::Transport::kTcp);
  EXPECT_EQ(r.config->targets[2].transport, probes::Transport::kUdp);
}

TEST(ParseConfig, AppliesDefaults) {
  LoadResult r = parseConfig(kMinimal, "x.json");
  ASSERT_TRUE(r.errors.empty()) << r.errors.front().message;
  const Config& c = *r.config;
  EXPECT_EQ(c.source, "x.json");
  EXPECT_EQ(c.site_name, "s");
  EXPECT_EQ(c.probing.interval, milliseconds(5000));
  EXPECT_EQ(c.probing.timeout, milliseconds(2000));
  EXPECT_EQ(c.probing.burst.packets, 1);
  ASSERT_EQ(c.targets.size(), 3u);
  EXPECT_EQ(c.targets[0].port, 3478);
  EXPECT_EQ(c.targets[1].port, 5060);
  EXPECT_EQ(c.targets[1].transport, probes::Transport::kTcp);
  EXPECT_EQ(c.targets[1].interval, milliseconds(10000));
  ASSERT_TRUE(c.targets[1].burst.has_value());
  EXPECT_EQ(c.targets[1].burst->packets, 3);
  EXPECT_EQ(c.targets[1].burst->spacing, milliseconds(20));
  EXPECT_EQ(c.targets[2].port, 0);
  EXPECT_EQ(c.targets[2].record, probes::DnsRecord::kSRV);
  EXPECT_FALSE(c.genesys.has_value());
  EXPECT_FALSE(c.location.has_value());
  EXPECT_EQ(c.findTarget("sip-a"), &c.targets[1]);
  EXPECT_EQ(c.findTarget("nope"), nullptr);
}

// Issue #16: SIP over TLS defaults to port 5061 and carries its CA file and server name; the
// planned probe target gets them.
TEST(ParseConfig, SipOverTlsDefaultsToPort5061) {
  LoadResult r = parseConfig(R"({"site": {"name": "s"}, "targets": [
    {"name": "a", "kind": "sip", "host": "10.0.0.7", "transport": "tls",
     "ca_file": "/etc/passwd", "server_name": "proxy-a.example.net"},
    {"name": "b", "kind": "sip", "host": "10.0.0.8", "transport": "tls", "port": 5070}]})",
                             "x.json");
  ASSERT_TRUE(r.errors.empty()) << r.errors.front().message;
  const TargetConfig& a = r.config->targets[0];
  EXPECT_EQ(a.transport, probes::Transport::kTls);
  EXPECT_EQ(a.port, 5061);
  EXPECT_EQ(a.ca_file, "/etc/passwd");
  EXPECT_EQ(a.server_name, "proxy-a.example.net");
  EXPECT_EQ(r.config->targets[1].port, 5070);
  EXPECT_EQ(r.config->targets[1].server_name, "");
  PlannedTarget p = planTarget(a, r.config->probing);
  EXPECT_EQ(p.target.transport, probes::Transport::kTls);
  EXPECT_EQ(p.target.ca_file, "/etc/passwd");
  EXPECT_EQ(p.target.server_name, "proxy-a.example.net");
  EXPECT_EQ(p.target.burst.packets, 1);  // one request per round, as over TCP
}

// Issue #16: turn and relay over TLS default to port 5349 (RFC 8656 §2.1, the "turns" port)
// and carry their CA file and server name (planTarget copies them for any kind, see the sip
// test above); over udp/tcp the TLS keys are refused.
TEST(ParseConfig, TurnAndRelayOverTlsDefaultToPort5349) {
  LoadResult r = parseConfig(R"({"site": {"name": "s"}, "targets": [
    {"name": "t", "kind": "turn", "host": "10.0.0.7", "transport": "tls", "username": "u",
     "password_env": "P", "ca_file": "/etc/passwd", "server_name": "turn.example.net"},
    {"name": "r", "kind": "relay", "host": "10.0.0.7", "transport": "tls", "username": "u",
     "password_env": "P", "interval": "10s"},
    {"name": "t443", "kind": "turn", "host": "10.0.0.7", "transport": "tls", "port": 443,
     "username": "u", "password_env": "P"},
    {"name": "t-tcp", "kind": "turn", "host": "10.0.0.7", "transport": "tcp", "username": "u",
     "password_env": "P"}]})",
                             "x.json");
  ASSERT_TRUE(r.errors.empty()) << r.errors.front().message;
  const TargetConfig& t = r.config->targets[0];
  EXPECT_EQ(t.transport, probes::Transport::kTls);
  EXPECT_EQ(t.port, 5349);
  EXPECT_EQ(t.ca_file, "/etc/passwd");
  EXPECT_EQ(t.server_name, "turn.example.net");
  EXPECT_EQ(r.config->targets[1].port, 5349);
  EXPECT_EQ(r.config->targets[1].transport, probes::Transport::kTls);
  EXPECT_EQ(r.config->targets[2].port, 443);
  EXPECT_EQ(r.config->targets[3].port, 3478);

  LoadResult bad = parseConfig(R"({"site": {"name": "s"}, "targets": [
    {"name": "r", "kind": "relay", "host": "h", "transport": "tcp", "username": "u",
     "password_env": "P", "interval": "10s", "server_name": "turn.example.net"}]})",
                               "x.json");
  ASSERT_EQ(bad.errors.size(), 1u);
  EXPECT_EQ(bad.errors[0].pointer, "/targets/0/server_name");
  EXPECT_EQ(bad.errors[0].message, "\"server_name\" applies only to transport \"tls\"");
}

TEST(ParseConfig, EscapesKeysInPointers) {
  LoadResult r = parseConfig(R"({"site": {"name": "s", "a/b~c": 1},
    "targets": [{"name": "t", "kind": "stun", "host": "h"}]})",
                             "x.json");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].pointer, "/site/a~1b~0c");
}

TEST(ParseConfig, NotAnObject) {
  LoadResult r = parseConfig("[1, 2]", "x.json");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].pointer, "");
  EXPECT_EQ(r.errors[0].message, "expected an object, got an array");
}

// Issue #19 item 10: DNS answers are trusted for at most dns.max_ttl (default 5 minutes).
TEST(ParseConfig, DnsMaxTtlCapsAnswers) {
  EXPECT_EQ(parseConfig(kMinimal, "x.json").config->dns.max_ttl, milliseconds(300000));
  LoadResult r = parseConfig(R"({"site": {"name": "s"}, "dns": {"max_ttl": "1h"},
    "targets": [{"name": "t", "kind": "stun", "host": "h"}]})",
                             "x.json");
  ASSERT_TRUE(r.errors.empty()) << r.errors.front().message;
  EXPECT_EQ(r.config->dns.max_ttl, milliseconds(3600000));
}

// Issue #17: fast confirmation is on by default (200 ms), per group, per target, or "off".
TEST(ParseConfig, ConfirmIntervalDefaultsPerGroupPerTargetAndOff) {
  LoadResult r = parseConfig(R"({"site": {"name": "s"},
    "targets": [{"name": "a", "kind": "sip", "host": "h"},
                {"name": "b", "kind": "sip", "host": "h", "confirm_interval": "off"},
                {"name": "c", "kind": "tcp", "host": "h", "port": 1, "confirm_interval": "50ms"}],
    "failover": [{"name": "g", "candidates": ["a", "b"], "apply_to": {"location_path": "/media/proxy"}},
                 {"name": "h", "candidates": ["c"], "confirm_interval": "1s",
                  "apply_to": {"location_path": "/media/stun"}}],
    "genesys": {"region": "eu-central-1", "schema": "seed", "client_id_env": "I",
                "client_secret_env": "S", "location_id": "l"}})",
                             "x.json");
  ASSERT_TRUE(r.errors.empty()) << r.errors.front().message;
  EXPECT_EQ(r.config->failover[0].confirm_interval, milliseconds(200));
  EXPECT_EQ(r.config->failover[1].confirm_interval, milliseconds(1000));
  EXPECT_FALSE(r.config->targets[0].confirm_interval.has_value());
  EXPECT_EQ(r.config->targets[1].confirm_interval, milliseconds(0));
  EXPECT_EQ(r.config->targets[2].confirm_interval, milliseconds(50));
}

TEST(LoadConfigFile, MissingFileIsOneClearError) {
  LoadResult r = loadConfigFile("/nonexistent/site.json");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(formatDiagnostic("/nonexistent/site.json", r.errors[0]),
            "/nonexistent/site.json: cannot read config: No such file or directory");
}

TEST(LocationSpec, TakesHostAndPortFromNamedTargets) {
  LoadResult r = parseConfig(R"({"site": {"name": "s"},
    "targets": [{"name": "p", "kind": "sip", "host": "proxy.example.net", "port": 5061},
                {"name": "st", "kind": "stun", "host": "stun.example.net", "port": 19302},
                {"name": "tu", "kind": "turn", "host": "turn.example.net", "username": "u",
                 "password_env": "X"}],
    "location": {"name": "Office", "region": "eu-central-1", "sip_ports": [5060, 5061],
                 "ip_allowlist": ["10.0.0.0/8"],
                 "media": {"proxy": "p", "stun": "st", "turn": "tu"}}})",
                             "x.json");
  ASSERT_TRUE(r.errors.empty()) << r.errors.front().message;
  nlohmann::json payload = reporter::renderLocationPayload(locationSpecFromConfig(*r.config));
  nlohmann::json expected = nlohmann::json::parse(R"({
    "name": "Office", "region": "eu-central-1",
    "sip": {"ports": [5060, 5061]},
    "media": {"sip": {"ports": [5060, 5061]},
              "proxy": {"host": "proxy.example.net", "port": 5061},
              "stun": {"host": "stun.example.net", "port": 19302},
              "turn": {"host": "turn.example.net", "port": 3478}},
    "ipAddressAllowlist": ["10.0.0.0/8"]})");
  EXPECT_EQ(payload, expected);
}

// A config with one failover group whose apply_to is `apply_to` and whose genesys section has
// `genesys_extra` added.
std::string groupConfig(const std::string& apply_to, const std::string& genesys_extra = "") {
  return R"({"site": {"name": "s"},
    "targets": [{"name": "turn-fra", "kind": "turn", "host": "t1.example.net", "username": "u",
                 "password_env": "X"},
                {"name": "turn-dub", "kind": "turn", "host": "t2.example.net", "username": "u",
                 "password_env": "X"}],
    "failover": [{"name": "g", "candidates": ["turn-fra", "turn-dub"], "apply_to": )" +
         apply_to + R"(}],
    "genesys": {"region": "eu-central-1", "client_id_env": "I", "client_secret_env": "S",
                "location_id": "loc-1")" +
         genesys_extra + "}}";
}

std::vector<std::string> errorTexts(const LoadResult& r) {
  std::vector<std::string> out;
  for (const auto& e : r.errors) out.push_back(e.pointer + ": " + e.message);
  return out;
}

TEST(ParseConfig, LocationPathNeedsTheSeedSchema) {
  LoadResult platform = parseConfig(groupConfig(R"({"location_path": "/media/proxy"})"), "x.json");
  ASSERT_EQ(platform.errors.size(), 1u) << ::testing::PrintToString(errorTexts(platform));
  EXPECT_EQ(platform.errors[0].pointer, "/failover/0/apply_to/location_path");
  EXPECT_NE(platform.errors[0].message.find("trunk_base_id"), std::string::npos);
  EXPECT_NE(platform.errors[0].message.find("site_id"), std::string::npos);

  LoadResult seed = parseConfig(
      groupConfig(R"({"location_path": "/media/proxy"})", R"(, "schema": "seed")"), "x.json");
  ASSERT_TRUE(seed.errors.empty()) << ::testing::PrintToString(errorTexts(seed));
  EXPECT_EQ(seed.config->genesys->schema, GenesysSchema::kSeed);
  EXPECT_EQ(seed.config->failover[0].apply_to.location_path, "/media/proxy");

  LoadResult typo =
      parseConfig(groupConfig(R"({"trunk_base_id": "t"})", R"(, "schema": "seeds")"), "x.json");
  ASSERT_EQ(typo.errors.size(), 1u);
  EXPECT_EQ(typo.errors[0].pointer, "/genesys/schema");
}

TEST(ParseConfig, SiteGroupsMapEveryCandidateToARegion) {
  LoadResult ok = parseConfig(groupConfig(R"({"site_id": "site-1", "media_regions":
      {"turn-fra": "eu-central-1", "turn-dub": "eu-west-1"}})"),
                              "x.json");
  ASSERT_TRUE(ok.errors.empty()) << ::testing::PrintToString(errorTexts(ok));
  const ApplyTo& a = ok.config->failover[0].apply_to;
  EXPECT_EQ(ok.config->genesys->schema, GenesysSchema::kPlatform);
  EXPECT_EQ(a.site_id, "site-1");
  EXPECT_EQ(a.media_regions, (std::map<std::string, std::string>{{"turn-dub", "eu-west-1"},
                                                                 {"turn-fra", "eu-central-1"}}));

  struct Case {
    const char* apply_to;
    const char* pointer;
  };
  for (const Case& c : {
           Case{R"({"site_id": "s"})", "/failover/0/apply_to"},  // missing media_regions
           Case{R"({"site_id": "s", "media_regions": {"turn-fra": "eu-central-1"}})",
                "/failover/0/apply_to/media_regions"},
           Case{R"({"site_id": "s", "media_regions": {"turn-fra": "eu-central-1",
                   "turn-dub": "Dublin"}})",
                "/failover/0/apply_to/media_regions/turn-dub"},
           Case{R"({"site_id": "s", "media_regions": {"turn-fra": "eu-west-1",
                   "turn-dub": "eu-west-1"}})",
                "/failover/0/apply_to/media_regions/turn-dub"},
           Case{R"({"site_id": "s", "media_regions": {"turn-fra": "eu-central-1",
                   "turn-dub": "eu-west-1", "turn-ams": "eu-west-3"}})",
                "/failover/0/apply_to/media_regions/turn-ams"},
           Case{R"({"trunk_base_id": "t", "media_regions": {}})",
                "/failover/0/apply_to/media_regions"},
           Case{R"({"trunk_base_id": "t", "site_id": "s"})", "/failover/0/apply_to"},
           Case{R"({})", "/failover/0/apply_to"},
       }) {
    LoadResult r = parseConfig(groupConfig(c.apply_to), "x.json");
    ASSERT_FALSE(r.errors.empty()) << c.apply_to;
    EXPECT_EQ(r.errors[0].pointer, c.pointer)
        << c.apply_to << ": " << ::testing::PrintToString(errorTexts(r));
  }
}

TEST(LocationSpec, ThePlatformDefinitionCarriesAddressAndEmergencyNumber) {
  std::string text = R"({"site": {"name": "s"},
    "targets": [{"name": "p", "kind": "sip", "host": "proxy.example.net"},
                {"name": "tu", "kind": "turn", "host": "turn.example.net", "username": "u",
                 "password_env": "X"}],
    "location": {"name": "Office", "region": "eu-central-1", "notes": "3rd floor",
                 "address": {"street1": "Main St 1", "city": "Frankfurt", "country": "DE"},
                 "emergency_number": {"number": NUMBER},
                 "media": {"proxy": "p", "stun": "tu", "turn": "tu"}}})";
  auto with = [&text](const std::string& number) {
    std::string t = text;
    t.replace(t.find("NUMBER"), 6, number);
    return parseConfig(t, "x.json");
  };
  LoadResult r = with("\"+4969123456\"");
  ASSERT_TRUE(r.errors.empty()) << r.errors.front().message;
  nlohmann::json body = reporter::renderLocationDefinition(locationDefinitionFromConfig(*r.config));
  EXPECT_EQ(body, nlohmann::json::parse(R"({"name": "Office", "notes": "3rd floor",
    "address": {"street1": "Main St 1", "city": "Frankfurt", "country": "DE"},
    "emergencyNumber": {"e164": "+4969123456", "number": "+4969123456", "type": "default"}})"));

  LoadResult bad = with("\"069 123456\"");
  ASSERT_EQ(bad.errors.size(), 1u);
  EXPECT_EQ(bad.errors[0].pointer, "/location/emergency_number/number");
}

}  // namespace
}  // namespace mediapath::agent
