#include "reporter/genesys/genesys_auth.h"

#include <gtest/gtest.h>

namespace mediapath::reporter {
namespace {

using namespace std::chrono_literals;
using TimePoint = TokenCache::TimePoint;

TEST(TokenCacheTest, EmptyCacheHasNoToken) {
  TokenCache c;
  EXPECT_EQ(c.get(TimePoint{}), std::nullopt);
}

TEST(TokenCacheTest, RefreshesSixtySecondsBeforeExpiry) {
  TokenCache c;
  TimePoint t0{1000s};
  c.store("tok", 86400s, t0);
  EXPECT_EQ(c.get(t0), "tok");
  EXPECT_EQ(c.get(t0 + 86339s), "tok");
  EXPECT_EQ(c.get(t0 + 86340s), std::nullopt);
  EXPECT_EQ(c.refreshAt(), t0 + 86340s);
}

TEST(TokenCacheTest, ShortLivedTokensAreUsedForHalfTheirLifetime) {
  TokenCache c;
  TimePoint t0{5s};
  c.store("short", 100s, t0);
  EXPECT_EQ(c.get(t0 + 49s), "short");
  EXPECT_EQ(c.get(t0 + 50s), std::nullopt);
  c.store("exactly-two-margins", 120s, t0);
  EXPECT_EQ(c.get(t0 + 59s), "exactly-two-margins");
  EXPECT_EQ(c.get(t0 + 60s), std::nullopt);
}

TEST(TokenCacheTest, InvalidateForgetsOnlyTheSameToken) {
  TokenCache c;
  TimePoint t0{};
  c.store("new", 3600s, t0);
  c.invalidate("old");
  EXPECT_EQ(c.get(t0), "new");
  c.invalidate("new");
  EXPECT_EQ(c.get(t0), std::nullopt);
}

TEST(GenesysAuthTest, BasicAuthorizationIsBase64OfIdColonSecret) {
  EXPECT_EQ(basicAuthorization("Aladdin", "open sesame"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  EXPECT_EQ(base64Encode(""), "");
  EXPECT_EQ(base64Encode("f"), "Zg==");
  EXPECT_EQ(base64Encode("fo"), "Zm8=");
  EXPECT_EQ(base64Encode("foo"), "Zm9v");
  EXPECT_EQ(base64Encode("foobar"), "Zm9vYmFy");
}

TEST(GenesysAuthTest, ParsesTokenResponse) {
  auto ok = parseTokenResponse(
      {{"access_token", "abc"}, {"token_type", "bearer"}, {"expires_in", 86400}});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->access_token, "abc");
  EXPECT_EQ(ok->expires_in, 86400s);
  EXPECT_FALSE(parseTokenResponse({{"access_token", "abc"}}));
  EXPECT_FALSE(parseTokenResponse({{"access_token", ""}, {"expires_in", 10}}));
  EXPECT_FALSE(parseTokenResponse({{"access_token", "a"}, {"expires_in", 0}}));
  EXPECT_FALSE(parseTokenResponse(nlohmann::json::array()));
}

TEST(GenesysAuthTest, TokenRateLimitIsTheOnlyRetryable400) {
  using nlohmann::json;
  json limited{{"error", "invalid_request"},
               {"description", "Rate limit exceeded the maximum of 300 requests per minute"}};
  EXPECT_TRUE(isTokenRateLimited(400, limited));
  EXPECT_TRUE(isTokenRateLimited(
      400, json{{"error", "invalid_request"}, {"error_description", "rate limit exceeded"}}));
  // The same words with another status, or another error, are not the token rate limit.
  EXPECT_FALSE(isTokenRateLimited(401, limited));
  EXPECT_FALSE(isTokenRateLimited(
      400, json{{"error", "invalid_client"}, {"description", "authentication failed"}}));
  EXPECT_FALSE(isTokenRateLimited(
      400, json{{"error", "invalid_client"}, {"description", "rate limit exceeded"}}));
  EXPECT_FALSE(isTokenRateLimited(
      400, json{{"error", "invalid_request"}, {"description", "grant_type is missing"}}));
  EXPECT_FALSE(isTokenRateLimited(400, json("rate limit exceeded")));
  EXPECT_FALSE(isTokenRateLimited(400, nullptr));
}

}  // namespace
}  // namespace mediapath::reporter
