#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace mediapath::net {
class Random;
}

namespace mediapath::reporter {

using Millis = std::chrono::milliseconds;

struct RetryOptions {
  Millis initial_backoff{500};  ///< first backoff for 5xx / connection errors (before jitter)
  double multiplier = 2.0;
  Millis max_backoff{30000};         ///< cap of one backoff
  Millis budget{60000};              ///< no retry starts later than this after the call began
  int max_attempts = 10;             ///< attempts in total, the first one included
  Millis default_retry_after{3000};  ///< 429 without Retry-After (the Java SDK's default)
  Millis max_retry_after{180000};    ///< a longer Retry-After gives up (the Go SDK does too)
};

/// What one attempt produced, as far as retrying is concerned.
struct AttemptOutcome {
  int status = 0;                ///< HTTP status; 0 when the transport failed
  bool transport_error = false;  ///< connection refused/reset, timeout, DNS (not TLS trust)
  /// The caller recognised a rate limit the status does not say (the token endpoint answers
  /// `400 invalid_request` "rate limit exceeded"): backed off like a 503.
  bool throttled = false;
  std::optional<std::string> retry_after;  ///< raw Retry-After header value
};

/// Decides whether and when to retry a Genesys Cloud API call
/// (reference/genesys-cloud-api.md "Rate limits and retries"):
/// - 429: wait Retry-After seconds (default 3 s when absent; more than 180 s gives up);
/// - 5xx except 501 (as the Go SDK: 500/502/503/504 are transient, 501 "not implemented" is
///   not), transport errors and throttled outcomes: exponential backoff with equal jitter, i.e.
///   a delay uniform in [b/2, b] where b = initial·multiplier^(retry) capped at max_backoff;
/// - anything else: no retry (401 and version conflicts are handled by the caller, not by the
///   policy).
/// Every retry must start within the budget (time spent since the call began, requests and
/// waits included); a wait that would overrun it gives up.
///
/// Pure logic: thread-safe as long as the Random passed in is not shared.
class RetryPolicy {
 public:
  explicit RetryPolicy(RetryOptions options = {}) : options_(options) {}

  /// The delay before attempt number `attempt + 1` (attempt counts from 1), given the time
  /// `spent` since the call began; nullopt when no retry should happen.
  std::optional<Millis> nextDelay(const AttemptOutcome& outcome, int attempt, Millis spent,
                                  net::Random& random) const;

  /// Seconds in a Retry-After value ("42"); HTTP-dates are not used by the platform, and an
  /// unparsable value counts as absent.
  static std::optional<Millis> parseRetryAfter(const std::string& value);

  static bool isRetryableStatus(int status) {
    return status >= 500 && status <= 599 && status != 501;
  }

  const RetryOptions& options() const { return options_; }

 private:
  RetryOptions options_;
};

}  // namespace mediapath::reporter
