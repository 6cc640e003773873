#include "agent/failover/health.h"

#include <algorithm>
#include <cmath>

namespace mediapath::agent {

HealthTracker::Transition HealthTracker::record(bool ok, std::optional<double> mos) {
  // Kinds that estimate no MOS (tcp, dns, sip over tcp) are judged by success alone.
  bool good = ok && (policy_.min_mos <= 0 || !mos.has_value() || *mos >= policy_.min_mos);
  if (provisional_) {
    bad_run_ = good ? 0 : bad_run_ + 1;
    if (bad_run_ >= policy_.unhealthy_threshold) provisional_ = false;
  }
  if (!known_) {
    known_ = true;
    healthy_ = good;
    streak_ = 0;
    bad_run_ = good ? 0 : 1;
    provisional_ = !good && bad_run_ < policy_.unhealthy_threshold;
    return Transition::kChanged;
  }
  if (good == healthy_) {
    // A round agreeing with the current state resets any pending change: thresholds count
    // *consecutive* rounds.
    streak_ = 0;
    return Transition::kUnchanged;
  }
  ++streak_;
  int threshold = healthy_ ? policy_.unhealthy_threshold : policy_.healthy_threshold;
  if (streak_ >= threshold) {
    healthy_ = good;
    streak_ = 0;
    provisional_ = false;
    return Transition::kChanged;
  }
  return Transition::kChangePending;
}

void SmoothedRtt::add(double rtt_ms) {
  if (!std::isfinite(rtt_ms) || rtt_ms < 0) return;
  srtt_ms_ = srtt_ms_ ? *srtt_ms_ + (rtt_ms - *srtt_ms_) / 8 : rtt_ms;
}

std::chrono::milliseconds confirmTimeout(std::optional<double> srtt_ms,
                                         std::chrono::milliseconds timeout) {
  using std::chrono::milliseconds;
  if (!srtt_ms) return timeout;
  // Clamped before the conversion: an SRTT near the double range would overflow the integer.
  double four = std::min(4 * *srtt_ms, static_cast<double>(timeout.count()));
  auto adaptive = milliseconds(static_cast<milliseconds::rep>(std::ceil(four)));
  return std::min(std::max(milliseconds(100), adaptive), timeout);
}

}  // namespace mediapath::agent
