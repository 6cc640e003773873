// Issue #19, the hostile Genesys API at the lowest level: the typed answer parsers, the token
// lifetime range, credential redaction and escaping of peer text, the paging guard on a fake
// clock, and the client and queries against an in-process server that answers with hostile
// bytes (cpp-httplib on 127.0.0.1, its own thread).
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "net/event_loop.h"
#include "net/json_input.h"
#include "reporter/genesys/api_responses.h"
#include "reporter/genesys/genesys_auth.h"
#include "reporter/genesys/genesys_client.h"
#include "reporter/genesys/genesys_paging.h"
#include "reporter/genesys/genesys_queries.h"
#include "reporter/genesys/retry_policy.h"
#include "tests/support/fakes.h"
#include "tests/support/run_until.h"

namespace mediapath::reporter {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// ---- typed answers (items 3 and 13) ---------------------------------------------------------

TEST(ApiResponsesTest, ALocationMustBeAnObjectWithAnIdAndAVersionInRange) {
  auto ok = parseLocation(json{{"id", "loc-1"}, {"version", 3}, {"state", "active"}});
  ASSERT_TRUE(ok) << ok.error;
  EXPECT_EQ(ok->id, "loc-1");
  EXPECT_EQ(ok->version, 3);
  EXPECT_EQ(ok->state, "active");

  EXPECT_EQ(parseLocation(nullptr).error, "the answer is not a JSON object (empty)");
  EXPECT_EQ(parseLocation(json::array()).error, "the answer is not a JSON object (array)");
  EXPECT_EQ(parseLocation(json{{"name", "x"}}).error, "location: \"id\" is missing");
  EXPECT_EQ(parseLocation(json{{"id", 7}}).error, "location: \"id\" is not a string (number)");
  EXPECT_EQ(parseLocation(json{{"id", "loc-1"}, {"version", 1e300}}).error,
            "location loc-1: \"version\" 1e+300 is not an integer in 0..9007199254740991");
  EXPECT_EQ(parseLocation(json{{"id", "loc-1"}, {"version", UINT64_MAX}}).error,
            "location loc-1: \"version\" 18446744073709551615 is not an integer in "
            "0..9007199254740991");
  EXPECT_FALSE(parseLocation(json{{"id", "loc-1"}, {"version", -1}}));
  EXPECT_FALSE(parseLocation(json{{"id", "loc-1"}, {"version", "7"}}));
  EXPECT_FALSE(parseLocation(json{{"id", "loc-1"}, {"state", 1}}));
  // Ids reach paths, messages and files: plain text only.
  EXPECT_EQ(parseLocation(json{{"id", "loc\r\n-1"}}).error,
            "location: \"id\" \"loc\\x0d\\x0a-1\" is not a plain id (control characters or over "
            "200 bytes)");
}

TEST(ApiResponsesTest, TrunksAndSitesNeedAVersionToBeWrittenBack) {
  EXPECT_TRUE(parseTrunkBaseSettings(json{{"id", "t1"}, {"version", 4}}));
  EXPECT_EQ(parseTrunkBaseSettings(json{{"id", "t1"}}).error,
            "trunk base settings t1: \"version\" is missing");
  EXPECT_EQ(parseSite(json{{"id", "s1"}, {"version", 2.5}}).error,
            "site s1: \"version\" 2.5 is not an integer in 0..9007199254740991");
  EXPECT_EQ(parseSite(json("ok")).error, "the answer is not a JSON object (string)");
}

TEST(ApiResponsesTest, PagesMustBeTheirShape) {
  auto audit = parseAuditPage(json::parse(R"({"cursor": "c1", "entities": [{"id": "a"}]})"));
  ASSERT_TRUE(audit) << audit.error;
  EXPECT_EQ(audit->cursor, "c1");
  EXPECT_EQ(audit->entities.size(), 1u);
  EXPECT_EQ(parseAuditPage(json::parse(R"({"entities": {}})")).error,
            "audit results: \"entities\" is not an array (object)");
  EXPECT_EQ(parseAuditPage(json::parse(R"({"entities": [1]})")).error,
            "audit results: \"entities\"[0] is not an object (number)");
  EXPECT_EQ(parseAuditPage(json::parse(R"({"cursor": 5})")).error,
            "audit results: \"cursor\" is not a string (number)");

  auto analytics = parseAnalyticsPage(json::parse(R"({"totalHits": 2, "conversations": [{}]})"));
  ASSERT_TRUE(analytics) << analytics.error;
  EXPECT_EQ(analytics->total_hits, 2u);
  EXPECT_TRUE(parseAnalyticsPage(json::parse(R"({"totalHits": 0})")));
  // Without totalHits an empty object would be "0 conversations": it is not an answer.
  EXPECT_EQ(parseAnalyticsPage(json::object()).error,
            "conversation details: \"totalHits\" is missing");
  EXPECT_FALSE(parseAnalyticsPage(json::parse(R"({"totalHits": 1e300})")));
  EXPECT_FALSE(parseAnalyticsPage(json::parse(R"({"totalHits": -4})")));
  EXPECT_FALSE(parseAnalyticsPage(json::parse(R"({"totalHits": 1, "conversations": "x"})")));

  EXPECT_TRUE(parseAuditQueryStatus(json{{"id", "q"}, {"state", "Queued"}}, true));
  EXPECT_EQ(parseAuditQueryStatus(json{{"state", "Queued"}}, true).error,
            "audit query: \"id\" is missing");
  EXPECT_TRUE(parseAuditQueryStatus(json{{"state", "Running"}}, false));
}

TEST(TokenResponseTest, ExpiresInIsRangeCheckedBeforeAnyConversion) {
  // 1e300 converted to an integer was undefined behaviour (the UBSan build aborted).
  auto huge = parseTokenResponse(json::parse(R"({"access_token": "t", "expires_in": 1e300})"));
  ASSERT_TRUE(huge) << huge.error;
  EXPECT_EQ(huge->expires_in, kMaxTokenLifetime);
  auto fractional = parseTokenResponse(json{{"access_token", "t"}, {"expires_in", 299.9}});
  ASSERT_TRUE(fractional);
  EXPECT_EQ(fractional->expires_in, 299s);
  EXPECT_EQ(parseTokenResponse(json{{"access_token", "t"}, {"expires_in", 0.5}}).error,
            "token response expires_in 0.5 is not a lifetime of at least 1 s");
  EXPECT_FALSE(parseTokenResponse(json{{"access_token", "t"}, {"expires_in", -1e300}}));
  EXPECT_EQ(parseTokenResponse(json{{"access_token", "t"}, {"expires_in", "3600"}}).error,
            "token response without a numeric expires_in");
}

TEST(RetryAfterTest, OutOfRangeValuesAreNotDurations) {
  EXPECT_EQ(RetryPolicy::parseRetryAfter("7"), Millis(7000));
  EXPECT_FALSE(RetryPolicy::parseRetryAfter("99999999999999999999999999"));
  EXPECT_FALSE(RetryPolicy::parseRetryAfter("1e300"));
  EXPECT_FALSE(RetryPolicy::parseRetryAfter("-5"));
}

// ---- peer text (item 9) ----------------------------------------------------------------------

TEST(RedactionTest, CredentialsAreTakenOutOfPeerText) {
  std::string basic = base64Encode("id:s3cret-value");
  EXPECT_EQ(redactCredentials("you sent Authorization: Basic " + basic + " (rejected)", {}),
            "you sent Authorization: Basic [redacted] (rejected)");
  EXPECT_EQ(redactCredentials("authorization: bearer abc.def-ghi_jkl~==, again BEARER x", {}),
            "authorization: bearer [redacted], again BEARER [redacted]");
  EXPECT_EQ(redactCredentials("secret s3cret-value and s3cret-value", {"s3cret-value"}),
            "secret [redacted] and [redacted]");
  // A scheme word followed by a token is redacted even in prose (too much beats too little);
  // other words, and a scheme word with nothing after it, are left alone.
  EXPECT_EQ(redactCredentials("basic auth failed; Bearer", {""}),
            "basic [redacted] failed; Bearer");
  EXPECT_EQ(redactCredentials("a basically fine text", {}), "a basically fine text");
}

TEST(RedactionTest, ErrorBodiesAreRedactedBeforeTheyAreCut) {
  ApiError e;
  std::string secret = "the-client-secret-42";
  fillErrorFromBody(json{{"message", std::string(1020, 'x') + secret},
                         {"code", "bad\r\nforged"},
                         {"contextId", "c\x1b[2J"}},
                    e, {secret});
  EXPECT_EQ(e.message.find("the-client"), std::string::npos) << e.message;
  EXPECT_EQ(e.code, "bad\\x0d\\x0aforged");
  EXPECT_EQ(e.context_id, "c\\x1b[2J");
}

// ---- the paging guard (item 5), on a fake clock ---------------------------------------------

TEST(PagingGuardTest, ARepeatedKeyStopsPaging) {
  testing::FakeClock clock;
  PagingGuard guard("audit results", PagingLimits{}, clock);
  EXPECT_FALSE(guard.onPage("c1", "cursor \"c1\"", 10, 100));
  EXPECT_FALSE(guard.onPage("c2", "cursor \"c2\"", 10, 100));
  EXPECT_EQ(guard.onPage("c1", "cursor \"c1\"", 10, 100),
            "audit results: stopped after 3 pages: the API repeated cursor \"c1\" (it would page "
            "forever)");
}

TEST(PagingGuardTest, PagesRecordsAndBytesAreCapped) {
  testing::FakeClock clock;
  PagingLimits limits;
  limits.max_pages = 3;
  PagingGuard pages("q", limits, clock);
  EXPECT_FALSE(pages.onPage("a", "", 1, 1));
  EXPECT_FALSE(pages.onPage("b", "", 1, 1));
  EXPECT_EQ(pages.onPage("c", "", 1, 1),
            "q: stopped after 3 pages: the page cap of 3 pages was reached and the API still "
            "offers more");
  // The last page (no key) may be the cap-th.
  PagingGuard last("q", limits, clock);
  last.onPage("a", "", 1, 1);
  last.onPage("b", "", 1, 1);
  EXPECT_FALSE(last.onPage("", "", 1, 1));

  limits = PagingLimits{};
  limits.max_records = 10;
  PagingGuard records("q", limits, clock);
  EXPECT_FALSE(records.onPage("a", "", 10, 1));
  EXPECT_EQ(records.onPage("", "", 1, 1),
            "q: stopped after 2 pages: more than 10 records (the cap; narrow the query)");

  limits = PagingLimits{};
  limits.max_bytes = 100;
  PagingGuard bytes("q", limits, clock);
  EXPECT_EQ(bytes.onPage("a", "", 1, 101),
            "q: stopped after 1 pages: more than 100 bytes (the cap)");
}

TEST(PagingGuardTest, TheDeadlineCountsFromTheStart) {
  testing::FakeClock clock;
  PagingLimits limits;
  limits.deadline = 2min;
  PagingGuard guard("conversation details", limits, clock);
  clock.advance(119s);
  EXPECT_FALSE(guard.onPage("a", "", 1, 1));
  clock.advance(1s);
  EXPECT_EQ(guard.onPage("b", "", 1, 1),
            "conversation details: stopped after 2 pages: still paging after 2m (the deadline)");
}

// ---- the client and the queries against hostile bytes ---------------------------------------

/// Advances by `step` on every reading: a deadline on it passes after a few pages, without the
/// test waiting. Read on the loop thread only.
class SteppingClock final : public net::Clock {
 public:
  explicit SteppingClock(std::chrono::milliseconds step) : step_(step) {}
  std::chrono::steady_clock::time_point now() const override {
    now_ += step_;
    return now_;
  }
  std::chrono::system_clock::time_point wallNow() const override {
    return std::chrono::system_clock::now();
  }

 private:
  std::chrono::milliseconds step_;
  mutable std::chrono::steady_clock::time_point now_ = testing::FakeClock::epoch();
};

constexpr const char* kSecret = "unit-secret-Hq2";

/// A token endpoint and one API path whose answer the test sets (status, body, headers).
class HostileServer {
 public:
  HostileServer() {
    server_.Post("/oauth/token", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu_);
      if (echo_authorization) {
        res.status = 401;
        res.set_content(json{{"error", "invalid_client"},
                             {"description", "got " + req.get_header_value("Authorization")}}
                            .dump(),
                        "application/json");
        return;
      }
      res.set_content(R"({"access_token": "tok-unit", "expires_in": 86400})", "application/json");
    });
    auto api = [this](const httplib::Request&, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu_);
      ++calls;
      res.status = status;
      for (const auto& [k, v] : headers) res.set_header(k, v);
      res.set_content(body_for ? body_for(calls) : body, "application/json");
    };
    server_.Get("/api/x", api);
    server_.Post("/api/v2/analytics/conversations/details/query", api);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    testing::waitUntil([this] { return server_.is_running(); }, 5s, 1ms);
  }
  ~HostileServer() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void set(int s, std::string b, std::vector<std::pair<std::string, std::string>> h = {}) {
    std::lock_guard<std::mutex> lock(mu_);
    status = s;
    body = std::move(b);
    headers = std::move(h);
  }
  void setBodies(std::function<std::string(int call)> fn) {
    std::lock_guard<std::mutex> lock(mu_);
    body_for = std::move(fn);
  }
  void echoAuthorization() {
    std::lock_guard<std::mutex> lock(mu_);
    echo_authorization = true;
  }
  int callCount() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls;
  }

 private:
  std::mutex mu_;
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::function<std::string(int)> body_for;
  bool echo_authorization = false;
  int calls = 0;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

class HostileClientTest : public ::testing::Test {
 protected:
  explicit HostileClientTest(std::chrono::milliseconds step = 0ms) : clock_(step) {
    GenesysClientOptions o;
    o.endpoints = {server_.url(), server_.url()};
    o.client_id = "unit-client";
    o.client_secret = kSecret;
    o.retry.budget = 0ms;  // no retries: one exchange per call
    client_ = std::make_unique<GenesysClient>(loop_, o, clock_, random_);
  }
  ~HostileClientTest() override {
    client_.reset();
    EXPECT_EQ(loop_.close(), 0);
  }

  ApiResponse get() {
    ApiResponse out;
    bool done = false;
    client_->call({"get_x", "GET", "/api/x", std::nullopt, {}}, [&](ApiResponse r) {
      out = std::move(r);
      done = true;
      loop_.stop();
    });
    loop_.run();
    EXPECT_TRUE(done);
    return out;
  }

  std::string quality(const PagingLimits& limits) {
    std::string error = "(not done)";
    queryConversationDetails(
        *client_, clock_, "i", {},
        [&](std::vector<json>, const std::string& e) {
          error = e;
          loop_.stop();
        },
        limits);
    loop_.run();
    return error;
  }

  HostileServer server_;
  net::EventLoop loop_;
  SteppingClock clock_;
  testing::ScriptedRandom random_{{0.5}};
  std::unique_ptr<GenesysClient> client_;
};

TEST_F(HostileClientTest, ANonJsonSuccessIsAnErrorNamingTheRequestAndStatus) {
  server_.set(200, "<html>OK</html>");
  ApiResponse r = get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->describe().rfind(
                "GET /api/x: HTTP 200: malformed answer to get_x: not JSON (line 1, column 1", 0),
            0u)
      << r.error->describe();
  EXPECT_TRUE(r.body.is_null());
}

TEST_F(HostileClientTest, ADeepBodyIsRefusedBeforeAnyWalk) {
  server_.set(200, std::string(100000, '[') + std::string(100000, ']'));
  ApiResponse r = get();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error->message.find("nested deeper than 64 levels"), std::string::npos)
      << r.error->describe();
  EXPECT_TRUE(r.body.is_null());
}

TEST_F(HostileClientTest, PeerTextInErrorsIsEscapedAndRedacted) {
  server_.set(400,
              json{{"message", "no\r\n[error] forged; Authorization: Bearer tok-unit"},
                   {"code", "x\x1b[31m"}}
                  .dump(),
              {{"ININ-Correlation-Id", "corr\x01"}});
  ApiResponse r = get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->describe(),
            "GET /api/x: HTTP 400 x\\x1b[31m: no\\x0d\\x0a[error] forged; Authorization: Bearer "
            "[redacted] (contextId corr\\x01)");
}

TEST_F(HostileClientTest, AnEchoedBasicAuthorizationIsRedacted) {
  server_.echoAuthorization();
  ApiResponse r = get();
  ASSERT_FALSE(r.ok());
  std::string text = r.error->describe();
  EXPECT_EQ(text.find(base64Encode(std::string("unit-client:") + kSecret)), std::string::npos)
      << text;
  EXPECT_NE(text.find("got Basic [redacted]"), std::string::npos) << text;
}

TEST_F(HostileClientTest, ARepeatedQualityPageIsReported) {
  server_.set(200, R"({"totalHits": 1000, "conversations": [{"conversationId": "same"}]})");
  EXPECT_EQ(quality({}),
            "conversation details: stopped after 2 pages: the API repeated the content of an "
            "earlier page as page 2 (it would page forever)");
  EXPECT_EQ(server_.callCount(), 2);
}

TEST_F(HostileClientTest, EndlessQualityPagingStopsAtThePageCap) {
  server_.setBodies([](int call) {
    return json{{"totalHits", 1000000000},
                {"conversations", {{{"conversationId", "c" + std::to_string(call)}}}}}
        .dump();
  });
  PagingLimits limits;
  limits.max_pages = 20;
  EXPECT_EQ(quality(limits),
            "conversation details: stopped after 20 pages: the page cap of 20 pages was reached "
            "and the API still offers more");
  EXPECT_EQ(server_.callCount(), 20);
}

TEST_F(HostileClientTest, AQualityAnswerOfTheWrongShapeIsAnError) {
  server_.set(200, R"({"conversations": []})");
  EXPECT_EQ(quality({}),
            "POST /api/v2/analytics/conversations/details/query: HTTP 200: malformed answer to "
            "query_conversation_details: conversation details: \"totalHits\" is missing");
}

class SlowPagingTest : public HostileClientTest {
 protected:
  SlowPagingTest() : HostileClientTest(1min) {}
};

TEST_F(SlowPagingTest, EndlessQualityPagingStopsAtTheDeadline) {
  server_.setBodies([](int call) {
    return json{{"totalHits", 1000000000},
                {"conversations", {{{"conversationId", "c" + std::to_string(call)}}}}}
        .dump();
  });
  PagingLimits limits;
  limits.deadline = 10min;
  std::string error = quality(limits);
  EXPECT_NE(error.find("still paging after 10m (the deadline)"), std::string::npos) << error;
  EXPECT_LT(server_.callCount(), 10);
}

}  // namespace
}  // namespace mediapath::reporter
