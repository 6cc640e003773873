#include "agent/failover/health.h"

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

}  // namespace mediapath::agent
