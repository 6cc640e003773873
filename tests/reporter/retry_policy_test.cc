#include "reporter/genesys/retry_policy.h"

#include <gtest/gtest.h>

#include "tests/support/fakes.h"

namespace mediapath::reporter {
namespace {

using namespace std::chrono_literals;

AttemptOutcome status(int s, std::optional<std::string> retry_after = std::nullopt) {
  AttemptOutcome o;
  o.status = s;
  o.retry_after = std::move(retry_after);
  return o;
}

TEST(RetryPolicyTest, RateLimitWaitsExactlyRetryAfter) {
  RetryPolicy p;
  testing::ScriptedRandom r({0.99});
  EXPECT_EQ(p.nextDelay(status(429, "2"), 1, 0ms, r), Millis(2000));
  EXPECT_EQ(p.nextDelay(status(429, " 42 "), 3, 0ms, r), Millis(42000));
}

TEST(RetryPolicyTest, RateLimitWithoutRetryAfterUsesDefault) {
  RetryPolicy p;
  testing::ScriptedRandom r({0.5});
  EXPECT_EQ(p.nextDelay(status(429), 1, 0ms, r), Millis(3000));
  EXPECT_EQ(p.nextDelay(status(429, "soon"), 1, 0ms, r), Millis(3000));
}

TEST(RetryPolicyTest, RateLimitBeyondMaximumGivesUp) {
  RetryOptions o;
  o.budget = 1000s;
  RetryPolicy p(o);
  testing::ScriptedRandom r({0.5});
  EXPECT_EQ(p.nextDelay(status(429, "180"), 1, 0ms, r), Millis(180000));
  EXPECT_EQ(p.nextDelay(status(429, "181"), 1, 0ms, r), std::nullopt);
}

TEST(RetryPolicyTest, ServerErrorsBackOffExponentiallyWithEqualJitter) {
  RetryOptions o;
  o.initial_backoff = 100ms;
  o.multiplier = 2;
  o.max_backoff = 1000ms;
  o.budget = 100s;
  RetryPolicy p(o);
  testing::ScriptedRandom low({0.0});
  // Lowest jitter: half of 100, 200, 400, 800, then the 1000 cap.
  EXPECT_EQ(p.nextDelay(status(503), 1, 0ms, low), Millis(50));
  EXPECT_EQ(p.nextDelay(status(502), 2, 0ms, low), Millis(100));
  EXPECT_EQ(p.nextDelay(status(504), 3, 0ms, low), Millis(200));
  EXPECT_EQ(p.nextDelay(status(503), 4, 0ms, low), Millis(400));
  EXPECT_EQ(p.nextDelay(status(503), 6, 0ms, low), Millis(500));
  testing::ScriptedRandom high({0.5});
  EXPECT_EQ(p.nextDelay(status(503), 1, 0ms, high), Millis(75));
  EXPECT_EQ(p.nextDelay(status(503), 9, 0ms, high), Millis(750));
}

TEST(RetryPolicyTest, TransportErrorsAreRetried) {
  RetryOptions o;
  o.initial_backoff = 200ms;
  RetryPolicy p(o);
  testing::ScriptedRandom r({0.0});
  AttemptOutcome out;
  out.transport_error = true;
  EXPECT_EQ(p.nextDelay(out, 1, 0ms, r), Millis(100));
}

TEST(RetryPolicyTest, ClientErrorsAndSuccessAreNotRetried) {
  RetryPolicy p;
  testing::ScriptedRandom r({0.5});
  for (int s : {200, 201, 400, 401, 403, 404, 408, 409, 415, 422}) {
    EXPECT_EQ(p.nextDelay(status(s), 1, 0ms, r), std::nullopt) << s;
  }
}

TEST(RetryPolicyTest, ServerErrorsExceptNotImplementedAreRetried) {
  // As the Go SDK: a 500 is as transient as a 503; 501 says the call will never work.
  RetryOptions o;
  o.initial_backoff = 100ms;
  RetryPolicy p(o);
  testing::ScriptedRandom r({0.0});
  for (int s : {500, 502, 503, 504}) {
    EXPECT_EQ(p.nextDelay(status(s), 1, 0ms, r), Millis(50)) << s;
  }
  EXPECT_EQ(p.nextDelay(status(501), 1, 0ms, r), std::nullopt);
  EXPECT_TRUE(RetryPolicy::isRetryableStatus(500));
  EXPECT_FALSE(RetryPolicy::isRetryableStatus(501));
  EXPECT_FALSE(RetryPolicy::isRetryableStatus(499));
}

TEST(RetryPolicyTest, ThrottledOutcomeBacksOffLikeAServerError) {
  // The token endpoint's rate limit arrives as a 400: the caller marks it throttled.
  RetryOptions o;
  o.initial_backoff = 100ms;
  RetryPolicy p(o);
  testing::ScriptedRandom r({0.0});
  AttemptOutcome out = status(400);
  EXPECT_EQ(p.nextDelay(out, 1, 0ms, r), std::nullopt);
  out.throttled = true;
  EXPECT_EQ(p.nextDelay(out, 1, 0ms, r), Millis(50));
  EXPECT_EQ(p.nextDelay(out, 2, 0ms, r), Millis(100));
  EXPECT_EQ(p.nextDelay(out, 1, o.budget, r), std::nullopt);  // still within the budget only
}

TEST(RetryPolicyTest, BudgetBoundsTheTotalWait) {
  RetryOptions o;
  o.budget = 5000ms;
  RetryPolicy p(o);
  testing::ScriptedRandom r({0.5});
  EXPECT_EQ(p.nextDelay(status(429, "3"), 1, 2000ms, r), Millis(3000));
  EXPECT_EQ(p.nextDelay(status(429, "3"), 1, 2001ms, r), std::nullopt);
  o.initial_backoff = 4000ms;
  RetryPolicy q(o);
  testing::ScriptedRandom top({0.999});
  EXPECT_EQ(q.nextDelay(status(503), 1, 2000ms, top), std::nullopt);
}

TEST(RetryPolicyTest, AttemptsAreBounded) {
  RetryOptions o;
  o.max_attempts = 3;
  RetryPolicy p(o);
  testing::ScriptedRandom r({0.0});
  EXPECT_TRUE(p.nextDelay(status(503), 2, 0ms, r).has_value());
  EXPECT_EQ(p.nextDelay(status(503), 3, 0ms, r), std::nullopt);
}

TEST(RetryPolicyTest, ParsesRetryAfterSeconds) {
  EXPECT_EQ(RetryPolicy::parseRetryAfter("0"), Millis(0));
  EXPECT_EQ(RetryPolicy::parseRetryAfter("17"), Millis(17000));
  EXPECT_EQ(RetryPolicy::parseRetryAfter(""), std::nullopt);
  EXPECT_EQ(RetryPolicy::parseRetryAfter("-1"), std::nullopt);
  EXPECT_EQ(RetryPolicy::parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT"), std::nullopt);
}

}  // namespace
}  // namespace mediapath::reporter
