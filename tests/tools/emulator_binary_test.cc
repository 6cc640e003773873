// The real genesys-emulator binary over HTTPS (CA and server certificate made with the openssl CLI
// at test time) and plain loopback HTTP, started on a free port in a TempDir and stopped by PID.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/process.h"

namespace mediapath::tools::emulator {
namespace {

using mediapath::testing::runCommand;
using mediapath::testing::Subprocess;
using mediapath::testing::TempDir;
using nlohmann::json;

constexpr const char* kClientId = "itest-client";
constexpr const char* kSecret = "itest-secret-9f8e7d";

const char* kOpensslConfig = R"([req]
distinguished_name = dn
prompt = no
[dn]
CN = mediapath test CA
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[v3_server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
authorityKeyIdentifier = keyid
)";

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Percent-encodes everything but unreserved characters (RFC 3986).
std::string urlEncode(const std::string& text) {
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

class EmulatorBinaryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // A peer that resets the connection must not kill the test with SIGPIPE (OpenSSL writes with
    // write(2), not send(MSG_NOSIGNAL)); real clients ignore it too.
    ::signal(SIGPIPE, SIG_IGN);
    certs_ = new TempDir();
    std::string cnf = certs_->write("openssl.cnf", kOpensslConfig);
    auto run = [](std::vector<std::string> argv) {
      auto r = runCommand(argv);
      ASSERT_EQ(r.exit_code, 0) << r.output;
    };
    const std::string d = certs_->path() + "/";
    run({"openssl", "req", "-x509", "-new", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", d + "ca.key", "-out", d + "ca.pem",
         "-days", "2", "-config", cnf, "-extensions", "v3_ca"});
    run({"openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", d + "server.key", "-out", d + "server.csr", "-subj", "/CN=127.0.0.1",
         "-config", cnf});
    run({"openssl", "x509", "-req", "-in", d + "server.csr", "-CA", d + "ca.pem", "-CAkey",
         d + "ca.key", "-CAcreateserial", "-out", d + "server.pem", "-days", "2", "-extfile", cnf,
         "-extensions", "v3_server"});
  }
  static void TearDownTestSuite() {
    delete certs_;
    certs_ = nullptr;
  }
  static std::string cert(const std::string& name) { return certs_->file(name); }

  // Starts the emulator; returns once the port file exists.
  void start(std::vector<std::string> extra = {}, bool tls = true) {
    std::vector<std::string> argv = {MEDIAPATH_EMULATOR_BINARY,
                                     "--listen",
                                     "127.0.0.1:0",
                                     "--port-file",
                                     dir_.file("port"),
                                     "--client-id",
                                     kClientId,
                                     "--client-secret-env",
                                     "ITEST_GENESYS_SECRET",
                                     "--request-log",
                                     dir_.file("requests.jsonl")};
    if (tls) {
      for (const auto& a : {std::string("--tls-cert"), cert("server.pem"), std::string("--tls-key"),
                            cert("server.key")}) {
        argv.push_back(a);
      }
    }
    argv.insert(argv.end(), extra.begin(), extra.end());
    process_ = std::make_unique<Subprocess>(
        argv, dir_.file("emulator.log"),
        std::map<std::string, std::string>{{"ITEST_GENESYS_SECRET", kSecret}});
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (!std::filesystem::exists(dir_.file("port"))) {
      ASSERT_TRUE(process_->running()) << process_->log();
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << process_->log();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    port_ = std::stoi(readFile(dir_.file("port")));
    ASSERT_GT(port_, 0);
  }

  std::unique_ptr<httplib::Client> client(bool verify_with_ca = true) {
    auto c = std::make_unique<httplib::Client>("https://127.0.0.1:" + std::to_string(port_));
    if (verify_with_ca) c->set_ca_cert_path(cert("ca.pem").c_str());
    c->enable_server_certificate_verification(true);
    c->set_connection_timeout(5);
    c->set_read_timeout(10);
    return c;
  }

  std::string token(httplib::Client& c) {
    c.set_basic_auth(kClientId, kSecret);
    auto r = c.Post("/oauth/token", "grant_type=client_credentials&scope=location%3Aread",
                    "application/x-www-form-urlencoded");
    EXPECT_TRUE(r) << httplib::to_string(r.error());
    if (!r) return {};
    EXPECT_EQ(r->status, 200) << r->body;
    std::string t = json::parse(r->body)["access_token"];
    // Basic auth must not ride along on API calls.
    c.set_basic_auth("", "");
    c.set_default_headers({{"Authorization", "Bearer " + t}});
    return t;
  }

  static json body(const httplib::Result& r) { return json::parse(r->body); }

  static TempDir* certs_;
  TempDir dir_;
  std::unique_ptr<Subprocess> process_;
  int port_ = 0;
};

TempDir* EmulatorBinaryTest::certs_ = nullptr;

TEST_F(EmulatorBinaryTest, ServesHttpsWithTheGivenCertificateAndAnnouncesThePort) {
  start();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::string expected = "listening on https://127.0.0.1:" + std::to_string(port_);
  while (process_->log().find(expected) == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_NE(process_->log().find(expected), std::string::npos) << process_->log();

  auto untrusting = client(false);
  untrusting->set_ca_cert_path("/nonexistent-ca.pem");
  EXPECT_FALSE(untrusting->Get("/api/v2/locations")) << "a client without the CA must fail";

  auto c = client();
  auto anonymous = c->Get("/api/v2/locations");
  ASSERT_TRUE(anonymous) << httplib::to_string(anonymous.error());
  EXPECT_EQ(anonymous->status, 401);
  EXPECT_EQ(body(anonymous)["code"], "authentication.required");
  EXPECT_EQ(body(anonymous)["contextId"], anonymous->get_header_value("ININ-Correlation-Id"));
  ASSERT_FALSE(token(*c).empty());
  auto list = c->Get("/api/v2/locations");
  ASSERT_TRUE(list);
  EXPECT_EQ(list->status, 200);
  EXPECT_TRUE(list->has_header("inin-ratelimit-count"));
  EXPECT_TRUE(list->has_header("inin-ratelimit-allowed"));
  EXPECT_TRUE(list->has_header("inin-ratelimit-reset"));
}

TEST_F(EmulatorBinaryTest, SeedSchemaLocationLifecycleAndAuditOverHttps) {
  start({"--activation-delay", "300ms", "--schema", "seed"});
  auto c = client();
  token(*c);
  json location = {{"name", "Frankfurt Office"},
                   {"region", "eu-central-1"},
                   {"sip", {{"ports", {5060, 5061}}}},
                   {"media", {{"proxy", {{"host", "proxy-a"}, {"port", 5060}}}}},
                   {"ipAddressAllowlist", {"10.0.0.0/8"}}};
  json bad = location;
  bad["ipAddressAllowlist"] = {"10.0.0.0/40"};
  auto rejected = c->Post("/api/v2/locations", bad.dump(), "application/json");
  ASSERT_TRUE(rejected);
  EXPECT_EQ(rejected->status, 422);
  EXPECT_EQ(body(rejected)["details"][0]["fieldName"], "ipAddressAllowlist[0]");

  auto created = c->Post("/api/v2/locations", location.dump(), "application/json");
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  EXPECT_EQ(body(created)["status"], "pending");
  std::string id = body(created)["id"];
  std::string status;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  int polls = 0;
  while (status != "active" && std::chrono::steady_clock::now() < deadline) {
    auto r = c->Get(("/api/v2/locations/" + id).c_str());
    ASSERT_TRUE(r);
    status = body(r)["status"];
    ++polls;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(status, "active");
  EXPECT_GT(polls, 1) << "activation must be asynchronous";

  json patch =
      json::array({{{"op", "test"}, {"path", "/media/proxy/host"}, {"value", "proxy-a"}},
                   {{"op", "replace"}, {"path", "/media/proxy/host"}, {"value", "proxy-b"}}});
  auto patched =
      c->Patch(("/api/v2/locations/" + id).c_str(), patch.dump(), "application/json-patch+json");
  ASSERT_TRUE(patched);
  EXPECT_EQ(patched->status, 200) << patched->body;
  EXPECT_EQ(body(patched)["version"], 2);
  auto conflict =
      c->Patch(("/api/v2/locations/" + id).c_str(), patch.dump(), "application/json-patch+json");
  ASSERT_TRUE(conflict);
  EXPECT_EQ(conflict->status, 409);

  json query = {{"interval", "2000-01-01T00:00:00Z/2100-01-01T00:00:00Z"},
                {"serviceName", "Directory"},
                {"filters", {{{"property", "EntityId"}, {"value", id}}}}};
  auto queued = c->Post("/api/v2/audits/query", query.dump(), "application/json");
  ASSERT_TRUE(queued);
  ASSERT_EQ(queued->status, 202) << queued->body;
  std::string qid = body(queued)["id"];
  std::vector<std::string> states;
  while (states.empty() || (states.back() != "Succeeded" && states.size() < 5)) {
    auto r = c->Get(("/api/v2/audits/query/" + qid).c_str());
    ASSERT_TRUE(r);
    states.push_back(body(r)["state"]);
  }
  EXPECT_EQ(states, (std::vector<std::string>{"Running", "Succeeded"}));
  std::vector<std::string> actions;
  std::string cursor;
  do {
    std::string path = "/api/v2/audits/query/" + qid + "/results?pageSize=1";
    if (!cursor.empty()) path += "&cursor=" + urlEncode(cursor);
    auto r = c->Get(path.c_str());
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    json page = body(r);
    for (const auto& e : page["entities"]) actions.push_back(e["action"]);
    cursor = page.value("cursor", "");
  } while (!cursor.empty() && actions.size() < 10);
  EXPECT_EQ(actions, (std::vector<std::string>{"Create", "Update"}));
}

TEST_F(EmulatorBinaryTest, ExpiredTokenIsRefusedWithCredentialsExpired) {
  start({"--expires-in", "1"});
  auto c = client();
  token(*c);
  ASSERT_EQ(c->Get("/api/v2/locations")->status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  auto r = c->Get("/api/v2/locations");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(body(r)["code"], "credentials.expired");
}

TEST_F(EmulatorBinaryTest, RateLimitOverTheWireSends429WithRetryAfter) {
  start({"--rate-limit", "1/s", "--burst", "2"});
  auto c = client();
  token(*c);                                            // 1
  EXPECT_EQ(c->Get("/api/v2/locations")->status, 200);  // 2
  auto r = c->Get("/api/v2/locations");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 429);
  EXPECT_EQ(r->get_header_value("Retry-After"), "1");
  EXPECT_EQ(body(r)["code"], "too.many.requests.retry.after");
}

TEST_F(EmulatorBinaryTest, FaultsOverTheWire) {
  start();
  auto c = client();
  token(*c);
  httplib::Client admin("https://127.0.0.1:" + std::to_string(port_));
  admin.set_ca_cert_path(cert("ca.pem").c_str());
  admin.enable_server_certificate_verification(true);

  ASSERT_EQ(
      admin
          .Post("/_emulator/faults",
                R"({"path_prefix":"/api/v2/locations","count":1,"status":503})", "application/json")
          ->status,
      201);
  EXPECT_EQ(c->Get("/api/v2/locations")->status, 503);
  EXPECT_EQ(c->Get("/api/v2/locations")->status, 200);

  ASSERT_EQ(admin
                .Post("/_emulator/faults", R"({"path_prefix":"/api/v2/locations","reset":true})",
                      "application/json")
                ->status,
            201);
  auto reset = c->Get("/api/v2/locations");
  EXPECT_FALSE(reset) << "a reset connection gives no HTTP response, got " << reset->status;
  EXPECT_EQ(c->Get("/api/v2/locations")->status, 200);

  ASSERT_EQ(admin
                .Post("/_emulator/faults", R"({"path_prefix":"/api/v2/locations","stall_ms":1500})",
                      "application/json")
                ->status,
            201);
  c->set_read_timeout(0, 300000);  // 300 ms
  auto begin = std::chrono::steady_clock::now();
  auto stalled = c->Get("/api/v2/locations");
  auto waited = std::chrono::steady_clock::now() - begin;
  EXPECT_FALSE(stalled) << "the client must time out during a stall";
  EXPECT_LT(waited, std::chrono::milliseconds(1400));
  c->set_read_timeout(10);
  std::this_thread::sleep_for(std::chrono::milliseconds(1400));  // let the stalled worker finish
  EXPECT_EQ(c->Get("/api/v2/locations")->status, 200);

  auto log = admin.Get("/_emulator/requests");
  ASSERT_TRUE(log);
  json entries = json::parse(log->body);
  int faulted = 0;
  for (const auto& e : entries) faulted += e.contains("fault") ? 1 : 0;
  EXPECT_EQ(faulted, 3);
}

TEST_F(EmulatorBinaryTest, RequestLogNeverHoldsSecretsOrTokens) {
  start();
  auto c = client();
  std::string t = token(*c);
  c->Post("/api/v2/locations", R"({"name":"Office"})", "application/json");
  auto log = c->Get("/_emulator/requests");
  ASSERT_TRUE(log);
  for (const std::string& text :
       {log->body, readFile(dir_.file("requests.jsonl")), process_->log()}) {
    EXPECT_EQ(text.find(kSecret), std::string::npos);
    EXPECT_EQ(text.find(t), std::string::npos);
  }
  EXPECT_NE(readFile(dir_.file("requests.jsonl")).find("\"/api/v2/locations\""), std::string::npos);
}

TEST_F(EmulatorBinaryTest, PlainHttpOnLoopbackAnd413ForHugeBodies) {
  start({}, /*tls=*/false);
  httplib::Client c("127.0.0.1", port_);
  c.set_basic_auth(kClientId, kSecret);
  auto r =
      c.Post("/oauth/token", "grant_type=client_credentials", "application/x-www-form-urlencoded");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  c.set_basic_auth("", "");
  c.set_default_headers(
      {{"Authorization", "Bearer " + json::parse(r->body)["access_token"].get<std::string>()}});
  json big = {{"name", "Office"}, {"notes", std::string(600000, 'x')}};
  auto huge = c.Post("/api/v2/locations", big.dump(), "application/json");
  ASSERT_TRUE(huge);
  EXPECT_EQ(huge->status, 413);
  auto wrong_type = c.Post("/api/v2/locations", R"({"name":"Office"})", "text/plain");
  ASSERT_TRUE(wrong_type);
  EXPECT_EQ(wrong_type->status, 415);
}

TEST_F(EmulatorBinaryTest, SigtermExitsCleanly) {
  start();
  ASSERT_TRUE(process_->running());
  int status = process_->stop(std::chrono::milliseconds(5000));
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status << "\n" << process_->log();
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST_F(EmulatorBinaryTest, PlatformSchemaIsTheDefault) {
  start();
  auto c = client();
  token(*c);
  json seed = {{"name", "Frankfurt Office"},
               {"media", {{"proxy", {{"host", "proxy-a"}, {"port", 5060}}}}}};
  auto refused = c->Post("/api/v2/locations", seed.dump(), "application/json");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 400);
  EXPECT_EQ(body(refused)["code"], "invalid.property");
  EXPECT_EQ(body(refused)["details"][0]["fieldName"], "media");
  auto created = c->Post("/api/v2/locations", R"({"name":"Frankfurt Office"})", "application/json");
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  EXPECT_EQ(body(created)["state"], "active");
  EXPECT_FALSE(body(created).contains("status"));
  std::string path = "/api/v2/locations/" + body(created)["id"].get<std::string>();
  json patch = json::array({{{"op", "replace"}, {"path", "/name"}, {"value", "x"}}});
  auto json_patch = c->Patch(path.c_str(), patch.dump(), "application/json-patch+json");
  ASSERT_TRUE(json_patch);
  EXPECT_EQ(json_patch->status, 415);
  auto update = c->Patch(path.c_str(), R"({"name":"Renamed","version":1})", "application/json");
  ASSERT_TRUE(update);
  EXPECT_EQ(update->status, 200) << update->body;
  EXPECT_EQ(body(update)["version"], 2);
}

TEST_F(EmulatorBinaryTest, HomeRegionFlagSetsTheMediaRegions) {
  start({"--home-region", "us-west-2"});
  auto c = client();
  token(*c);
  auto r = c->Get("/api/v2/telephony/mediaregions");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(body(r)["awsHomeRegion"], "us-west-2");
  ASSERT_EQ(c->Post("/_emulator/sites", R"({"id":"s1","name":"S","media_regions":["eu-west-1"]})",
                    "application/json")
                ->status,
            201);
  json site = body(c->Get("/api/v2/telephony/providers/edges/sites/s1"));
  auto put = c->Put("/api/v2/telephony/providers/edges/sites/s1", site.dump(), "application/json");
  ASSERT_TRUE(put);
  ASSERT_EQ(put->status, 200) << put->body;
  EXPECT_EQ(body(put)["mediaRegions"], json({"eu-west-1", "us-west-2"}));
}

TEST_F(EmulatorBinaryTest, PermissionsFlagAndCursorsOverTheWire) {
  start({"--permissions",
         "directory:location:view,directory:location:add,directory:location:edit,"
         "audits:audit:view"});
  auto c = client();
  token(*c);
  auto denied = c->Get("/api/v2/telephony/mediaregions");
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->status, 403);
  EXPECT_EQ(body(denied)["code"], "missing.permissions");
  EXPECT_NE(body(denied)["message"].get<std::string>().find("telephony:plugin:all"),
            std::string::npos);
  auto created = c->Post("/api/v2/locations", R"({"name":"Office"})", "application/json");
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  std::string path = "/api/v2/locations/" + body(created)["id"].get<std::string>();
  ASSERT_EQ(c->Patch(path.c_str(), R"({"notes":"a","version":1})", "application/json")->status,
            200);
  json query = {{"interval", "2000-01-01T00:00:00Z/2100-01-01T00:00:00Z"},
                {"serviceName", "Directory"}};
  std::string qid = body(c->Post("/api/v2/audits/query", query.dump(), "application/json"))["id"];
  c->Get(("/api/v2/audits/query/" + qid).c_str());
  c->Get(("/api/v2/audits/query/" + qid).c_str());
  std::string results = "/api/v2/audits/query/" + qid + "/results?pageSize=1";
  auto first = c->Get((results + "&expand=user").c_str());
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200) << first->body;
  EXPECT_TRUE(body(first)["entities"][0]["user"].contains("name"));
  std::string cursor = body(first)["cursor"];
  ASSERT_NE(cursor.find('+'), std::string::npos) << cursor;
  c->set_url_encode(false);  // the request line exactly as written here
  auto raw = c->Get((results + "&cursor=" + cursor).c_str());
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->status, 400) << raw->body;
  auto encoded = c->Get((results + "&cursor=" + urlEncode(cursor)).c_str());
  ASSERT_TRUE(encoded);
  EXPECT_EQ(encoded->status, 200) << encoded->body;
  EXPECT_EQ(body(encoded)["entities"].size(), 1u);
  EXPECT_EQ(body(encoded)["entities"][0]["user"].size(), 1u);  // no expand: the id only
}

TEST(EmulatorBinaryArgs, RefusesABadSchemaOrHomeRegion) {
  auto schema = runCommand({MEDIAPATH_EMULATOR_BINARY, "--client-id", "x", "--client-secret", "y",
                            "--schema", "tutorial"});
  EXPECT_EQ(schema.exit_code, 2) << schema.output;
  EXPECT_NE(schema.output.find("--schema"), std::string::npos) << schema.output;
  auto region = runCommand({MEDIAPATH_EMULATOR_BINARY, "--client-id", "x", "--client-secret", "y",
                            "--home-region", "mars-north-1"});
  EXPECT_EQ(region.exit_code, 2) << region.output;
  EXPECT_NE(region.output.find("mars-north-1"), std::string::npos) << region.output;
}

TEST(EmulatorBinaryArgs, RefusesPlainHttpOffLoopbackAndMissingSecret) {
  auto off_loopback = runCommand({MEDIAPATH_EMULATOR_BINARY, "--listen", "0.0.0.0:0", "--client-id",
                                  "x", "--client-secret", "y"});
  EXPECT_EQ(off_loopback.exit_code, 2) << off_loopback.output;
  EXPECT_NE(off_loopback.output.find("loopback"), std::string::npos) << off_loopback.output;
  auto no_secret = runCommand({MEDIAPATH_EMULATOR_BINARY, "--listen", "127.0.0.1:0", "--client-id",
                               "x", "--client-secret-env", "UNSET_VAR_FOR_TEST"});
  EXPECT_EQ(no_secret.exit_code, 2) << no_secret.output;
  auto bad_delay = runCommand({MEDIAPATH_EMULATOR_BINARY, "--client-id", "x", "--client-secret",
                               "y", "--activation-delay", "500"});
  EXPECT_EQ(bad_delay.exit_code, 2) << bad_delay.output;
}

}  // namespace
}  // namespace mediapath::tools::emulator
