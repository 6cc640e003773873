// SiteBackend and the client's retries against an in-process fake of the few platform endpoints
// they use (cpp-httplib on 127.0.0.1, port 0, its own thread; fake clock and random): the
// read-modify-PUT protocol, the org-region cache, version conflicts, the token endpoint's rate
// limit and 500s. The emulator's sites arrive with issue 15's emulator branch; these run now.
#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "net/event_loop.h"
#include "net/uv_timer.h"
#include "reporter/genesys/genesys_backends.h"
#include "reporter/genesys/genesys_client.h"
#include "tests/support/fakes.h"
#include "tests/support/run_until.h"

namespace mediapath::reporter {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr const char* kSitePath = "/api/v2/telephony/providers/edges/sites/s1";
constexpr const char* kRegionsPath = "/api/v2/telephony/mediaregions";

/// A scripted answer to one PUT (a concurrent change, or a refusal).
struct PutAnswer {
  int status = 409;
  std::string message;
  std::string field;       ///< details[0].fieldName when not empty
  bool concurrent = true;  ///< someone else changed the site: its version moves on
};

/// The platform's site and media-region endpoints and its token endpoint. The PUT behaves as the
/// platform's: the version must match, and the home region is appended when missing.
class FakePlatform {
 public:
  FakePlatform() {
    server_.Post("/oauth/token", [this](const httplib::Request&, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu_);
      log_.push_back("POST /oauth/token");
      if (token_rate_limited > 0) {
        --token_rate_limited;
        res.status = 400;
        res.set_content(R"({"error": "invalid_request",
          "description": "Rate limit exceeded the maximum, retry in a moment"})",
                        "application/json");
        return;
      }
      if (bad_credentials) {
        res.status = 400;
        res.set_content(R"({"error": "invalid_client", "description": "authentication failed"})",
                        "application/json");
        return;
      }
      res.set_content(R"({"access_token": "tok", "token_type": "bearer", "expires_in": 86400})",
                      "application/json");
    });
    server_.Get(kRegionsPath, [this](const httplib::Request&, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu_);
      log_.push_back(std::string("GET ") + kRegionsPath);
      res.set_content(R"({"awsHomeRegion": "eu-central-1",
        "awsCoreRegions": ["us-east-1", "eu-central-1", "eu-west-1", "us-west-2"],
        "awsSatelliteRegions": []})",
                      "application/json");
    });
    server_.Get(kSitePath, [this](const httplib::Request&, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu_);
      log_.push_back(std::string("GET ") + kSitePath);
      if (site_get_500 > 0) {
        --site_get_500;
        res.status = 500;
        res.set_content(R"({"message": "boom", "code": "internal.server.error", "status": 500})",
                        "application/json");
        return;
      }
      res.set_content(site.dump(), "application/json");
    });
    server_.Put(kSitePath, [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu_);
      log_.push_back(std::string("PUT ") + kSitePath);
      json body = json::parse(req.body, nullptr, false);
      puts.push_back(body);
      if (!put_answers.empty()) {
        PutAnswer a = put_answers.front();
        put_answers.pop_front();
        if (a.concurrent) site["version"] = site["version"].get<int>() + 1;
        json details = json::array();
        if (!a.field.empty())
          details.push_back({{"errorCode", "invalid.value"}, {"fieldName", a.field}});
        res.status = a.status;
        res.set_content(json{{"message", a.message},
                             {"code", "conflict"},
                             {"status", a.status},
                             {"contextId", "ctx-put"},
                             {"details", details}}
                            .dump(),
                        "application/json");
        return;
      }
      if (body["version"] != site["version"]) {
        res.status = 409;
        res.set_content(R"({"message": "version mismatch", "code": "conflict", "status": 409})",
                        "application/json");
        return;
      }
      json regions = body["mediaRegions"];
      if (std::find(regions.begin(), regions.end(), "eu-central-1") == regions.end()) {
        body["mediaRegions"].push_back("eu-central-1");  // the platform adds its home region
      }
      body["version"] = site["version"].get<int>() + 1;
      site = body;
      res.set_content(site.dump(), "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    if (!testing::waitUntil([this] { return server_.is_running(); }, 5s, 1ms)) {
      server_.stop();
      thread_.join();
      throw std::runtime_error("the fake platform did not start within 5 s");
    }
  }
  ~FakePlatform() {
    server_.stop();
    thread_.join();
  }
  FakePlatform(const FakePlatform&) = delete;
  FakePlatform& operator=(const FakePlatform&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  /// How many requests had this "METHOD path".
  int count(const std::string& request) {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int>(std::count(log_.begin(), log_.end(), request));
  }

  /// Access to the scripted state from the test thread while no request is in flight.
  std::mutex& mutex() { return mu_; }

  // Scripted behaviour and recorded requests (guarded by mutex() while the loop runs).
  json site = json::parse(R"({"id": "s1", "name": "Frankfurt Office", "version": 3,
    "mediaModel": "Cloud", "state": "active", "cloudProxyForceTurn": false,
    "location": {"id": "loc-1", "name": "Frankfurt"}, "primarySites": [],
    "mediaRegions": ["us-east-1", "eu-west-1", "eu-central-1"],
    "mediaRegionsUseLatencyBased": true, "selfUri": "/api/v2/telephony/providers/edges/sites/s1"})");
  std::deque<PutAnswer> put_answers;
  std::vector<json> puts;
  int token_rate_limited = 0;
  bool bad_credentials = false;
  int site_get_500 = 0;

 private:
  httplib::Server server_;
  std::mutex mu_;
  std::vector<std::string> log_;
  int port_ = 0;
  std::thread thread_;
};

class SiteBackendTest : public ::testing::Test {
 protected:
  SiteBackendTest() {
    GenesysClientOptions o;
    o.endpoints = {platform_.url(), platform_.url()};
    o.client_id = "id";
    o.client_secret = "secret";
    o.request_timeout = 5s;
    o.retry.initial_backoff = 10ms;
    o.retry.max_backoff = 40ms;
    o.retry.budget = 5s;
    client_ = std::make_unique<GenesysClient>(loop_, o, clock_, random_);
  }
  ~SiteBackendTest() override {
    client_->cancelAll();
    client_.reset();
    EXPECT_EQ(loop_.close(), 0);
  }

  static std::vector<BackendCandidate> candidates(std::string dub_region = "eu-west-1") {
    return {{"loop-fra", "turn.fra.example.net", 3478, "eu-central-1"},
            {"loop-dub", "turn.dub.example.net", 3478, std::move(dub_region)}};
  }

  /// Runs the loop until `done` says so, at most 10 s (a hang fails instead of blocking). A
  /// stop() before the run (an answer given at once) only ends one pass, hence the loop.
  void runUntil(const bool& done) {
    bool expired = false;
    {
      net::UvTimer deadline(loop_.get());
      deadline.start(10s, [this, &expired] {
        expired = true;
        loop_.stop();
      });
      while (!done && !expired) loop_.run();
      deadline.stop();
    }
    loop_.runOnce();  // the timer's handle closes; a stop() left over is used up
    ASSERT_TRUE(done) << "no answer within 10 s";
  }

  ActiveOrder read(FailoverBackend& backend) {
    ActiveOrder out;
    bool done = false;
    backend.readActiveOrder([&](ActiveOrder o) {
      out = std::move(o);
      done = true;
      loop_.stop();
    });
    runUntil(done);
    return out;
  }

  BackendResult apply(FailoverBackend& backend, std::vector<std::string> names) {
    BackendResult out;
    bool done = false;
    backend.applyRanked(std::move(names), [&](BackendResult r) {
      out = std::move(r);
      done = true;
      loop_.stop();
    });
    runUntil(done);
    return out;
  }

  ApiResponse call(ApiCall c) {
    ApiResponse out;
    bool done = false;
    client_->call(std::move(c), [&](ApiResponse r) {
      out = std::move(r);
      done = true;
      loop_.stop();
    });
    runUntil(done);
    return out;
  }

  FakePlatform platform_;
  net::EventLoop loop_;
  // Time and jitter are the test's: budgets never run out, backoffs are their lowest (a few ms).
  testing::FakeClock clock_;
  testing::ScriptedRandom random_{{0.0}};
  std::unique_ptr<GenesysClient> client_;
};

TEST_F(SiteBackendTest, RanksTheCandidatesRegionsFirstAndSendsEverythingElseAsRead) {
  SiteBackend backend(*client_, "s1", candidates());
  // Latency-based selection: the list's order is not what the platform uses, so no candidate
  // is "first".
  ActiveOrder order = read(backend);
  ASSERT_TRUE(order.ok()) << order.error->describe();
  EXPECT_EQ(order.active, "");
  EXPECT_NE(order.summary.find("picked by latency"), std::string::npos) << order.summary;

  json before;
  {
    std::lock_guard<std::mutex> lock(platform_.mutex());
    before = platform_.site;
  }
  BackendResult r = apply(backend, {"loop-dub", "loop-fra"});
  ASSERT_TRUE(r.ok()) << r.error->describe();
  EXPECT_TRUE(r.changed);
  EXPECT_EQ(r.attempts, 1);
  EXPECT_NE(r.summary.find("eu-west-1, eu-central-1, us-east-1 (was us-east-1, eu-west-1, "
                           "eu-central-1)"),
            std::string::npos)
      << r.summary;
  {
    std::lock_guard<std::mutex> lock(platform_.mutex());
    ASSERT_EQ(platform_.puts.size(), 1u);
    json expected = before;
    expected["mediaRegions"] = {"eu-west-1", "eu-central-1", "us-east-1"};
    expected["mediaRegionsUseLatencyBased"] = false;
    EXPECT_EQ(platform_.puts[0], expected);  // the version read, every other field as read
  }

  order = read(backend);
  ASSERT_TRUE(order.ok()) << order.error->describe();
  EXPECT_EQ(order.active, "loop-dub");

  // Already so: nothing is sent. The org's regions were read once for all of it.
  r = apply(backend, {"loop-dub", "loop-fra"});
  ASSERT_TRUE(r.ok()) << r.error->describe();
  EXPECT_FALSE(r.changed);
  EXPECT_EQ(platform_.count(std::string("PUT ") + kSitePath), 1);
  EXPECT_EQ(platform_.count(std::string("GET ") + kRegionsPath), 1);
}

TEST_F(SiteBackendTest, ARegionTheOrgDoesNotHaveIsRefusedBeforeTheSiteIsRead) {
  SiteBackend backend(*client_, "s1", candidates("mars-north-1"));
  ActiveOrder order = read(backend);
  ASSERT_FALSE(order.ok());
  std::string text = order.error->describe();
  EXPECT_NE(text.find("candidate \"loop-dub\" is mapped to media region \"mars-north-1\""),
            std::string::npos)
      << text;

  BackendResult r = apply(backend, {"loop-dub", "loop-fra"});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.permanent);
  EXPECT_EQ(r.attempts, 0);
  EXPECT_NE(r.error->describe().find("mars-north-1"), std::string::npos);
  EXPECT_NE(r.error->describe().find("nothing was sent"), std::string::npos);
  EXPECT_EQ(platform_.count(std::string("GET ") + kSitePath), 0);
  EXPECT_EQ(platform_.count(std::string("PUT ") + kSitePath), 0);
  EXPECT_EQ(platform_.count(std::string("GET ") + kRegionsPath), 1);  // cached
}

TEST_F(SiteBackendTest, VersionConflictsAreReadAgainAndRetriedOtherRefusalsAreNot) {
  {
    std::lock_guard<std::mutex> lock(platform_.mutex());
    platform_.put_answers = {
        {409, "The version number of the modified resource must match", "", true},
        {408, "Request timed out", "", true},
        {400, "The version supplied (5) does not match the current version of the site (6)", "",
         true}};
  }
  SiteBackend backend(*client_, "s1", candidates());
  BackendResult r = apply(backend, {"loop-fra", "loop-dub"});
  ASSERT_TRUE(r.ok()) << r.error->describe();
  EXPECT_EQ(r.attempts, 4);
  EXPECT_EQ(platform_.count(std::string("GET ") + kSitePath), 4);  // each retry read again
  {
    std::lock_guard<std::mutex> lock(platform_.mutex());
    EXPECT_EQ(platform_.site["mediaRegions"], (json{"eu-central-1", "eu-west-1", "us-east-1"}));
    // The successful PUT carried the version of its own read.
    EXPECT_EQ(platform_.puts.back()["version"], 6);
    platform_.put_answers = {{400, "Invalid media region", "mediaRegions[0]", false}};
  }
  r = apply(backend, {"loop-dub", "loop-fra"});
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(r.permanent);
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(r.error->describe(),
            std::string("PUT ") + kSitePath +
                ": HTTP 400 conflict: Invalid media region (fields: mediaRegions[0]) (contextId "
                "ctx-put)");

  // Conflicts that never end are bounded: 1 + 3 re-reads.
  {
    std::lock_guard<std::mutex> lock(platform_.mutex());
    platform_.put_answers.assign(10, PutAnswer{409, "conflict", "", true});
  }
  r = apply(backend, {"loop-dub", "loop-fra"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->status, 409);
  EXPECT_EQ(r.attempts, 4);
}

TEST_F(SiteBackendTest, TokenRateLimitAndServerErrorsAreRetried) {
  {
    std::lock_guard<std::mutex> lock(platform_.mutex());
    platform_.token_rate_limited = 2;
    platform_.site_get_500 = 1;
  }
  ApiResponse r = call({"get_site", "GET", kSitePath, std::nullopt, {}});
  ASSERT_TRUE(r.ok()) << r.error->describe();
  EXPECT_EQ(client_->tokenRequests(), 3);
  EXPECT_EQ(platform_.count(std::string("GET ") + kSitePath), 2);  // the 500, then the answer
}

TEST_F(SiteBackendTest, BadCredentialsAreNotRetried) {
  {
    std::lock_guard<std::mutex> lock(platform_.mutex());
    platform_.bad_credentials = true;
  }
  ApiResponse r = call({"get_site", "GET", kSitePath, std::nullopt, {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->code, "invalid_client");
  EXPECT_EQ(client_->tokenRequests(), 1);
  EXPECT_EQ(platform_.count(std::string("GET ") + kSitePath), 0);
}

}  // namespace
}  // namespace mediapath::reporter
