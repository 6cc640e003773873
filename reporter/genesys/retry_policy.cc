#include "reporter/genesys/retry_policy.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "net/clock.h"

namespace mediapath::reporter {

std::optional<Millis> RetryPolicy::parseRetryAfter(const std::string& value) {
  std::size_t i = 0;
  while (i < value.size() && std::isspace(static_cast<unsigned char>(value[i])) != 0) ++i;
  if (i == value.size()) return std::nullopt;
  long long seconds = 0;
  for (; i < value.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(value[i]);
    if (std::isspace(c) != 0) break;
    if (std::isdigit(c) == 0) return std::nullopt;
    seconds = seconds * 10 + (c - '0');
    if (seconds > 1000000) return std::nullopt;  // nonsense; treat as absent
  }
  return Millis(seconds * 1000);
}

std::optional<Millis> RetryPolicy::nextDelay(const AttemptOutcome& outcome, int attempt,
                                             Millis spent, net::Random& random) const {
  if (attempt >= options_.max_attempts) return std::nullopt;
  Millis delay{0};
  if (outcome.status == 429) {
    std::optional<Millis> after;
    if (outcome.retry_after) after = parseRetryAfter(*outcome.retry_after);
    delay = after.value_or(options_.default_retry_after);
    if (delay > options_.max_retry_after) return std::nullopt;
  } else if (outcome.transport_error || outcome.throttled || isRetryableStatus(outcome.status)) {
    double base = static_cast<double>(options_.initial_backoff.count()) *
                  std::pow(options_.multiplier, attempt - 1);
    base = std::min(base, static_cast<double>(options_.max_backoff.count()));
    // Equal jitter: never less than half the backoff (so retries really back off), spread over
    // the other half (so agents that failed together do not retry together).
    delay = Millis(static_cast<long long>(base / 2 + random.uniform() * base / 2));
  } else {
    return std::nullopt;
  }
  if (spent + delay > options_.budget) return std::nullopt;
  return delay;
}

}  // namespace mediapath::reporter
