#pragma once

#include <chrono>
#include <optional>

namespace mediapath::agent {

/// When a round counts as good, and how many in a row change a target's health.
struct HealthPolicy {
  int healthy_threshold = 3;
  int unhealthy_threshold = 3;
  /// A successful round whose estimated MOS is below this counts as bad; 0 disables the check.
  /// Rounds without an estimate (kinds that measure no quality) are judged by success alone.
  double min_mos = 0;
  /// Fast confirmation: while a failure is suspected (confirming()), rounds come this often
  /// instead of every interval. 0: off.
  std::chrono::milliseconds confirm_interval{200};
};

/// Hysteresis on a target's health, after Envoy's active health checker and Kamailio's
/// dispatcher: `healthy_threshold` consecutive good rounds make a target healthy,
/// `unhealthy_threshold` consecutive bad rounds unhealthy. The first round decides what is shown
/// at once, so a freshly started agent does not report every target down for the first few
/// rounds; but a target that is unhealthy only on the strength of its first rounds (fewer than
/// `unhealthy_threshold` bad in a row) is `provisional`: failover does not leave it for that, so
/// a restart during a blip changes nothing.
///
/// Thread safety: none (loop thread).
class HealthTracker {
 public:
  enum class Transition { kUnchanged, kChanged, kChangePending };

  explicit HealthTracker(HealthPolicy policy) : policy_(policy) {}

  /// Feeds one round: `ok` from the probe, `mos` when the probe estimated one.
  Transition record(bool ok, std::optional<double> mos);

  bool healthy() const { return healthy_; }
  /// False until the first round has been recorded.
  bool known() const { return known_; }
  /// Unhealthy since the first round without `unhealthy_threshold` bad rounds in a row yet.
  bool provisional() const { return provisional_; }
  /// A failure is suspected but not yet confirmed: healthy with bad rounds pending, or
  /// provisional. The next round should come early (fast confirmation), so that the thresholds
  /// are reached in about one interval instead of `unhealthy_threshold` intervals.
  bool confirming() const {
    return (known_ && healthy_ && streak_ > 0) || (provisional_ && bad_run_ > 0);
  }
  const HealthPolicy& policy() const { return policy_; }
  void setPolicy(HealthPolicy policy) { policy_ = policy; }

 private:
  HealthPolicy policy_;
  bool known_ = false;
  bool healthy_ = false;
  bool provisional_ = false;
  int streak_ = 0;   // consecutive rounds disagreeing with the current state
  int bad_run_ = 0;  // consecutive bad rounds, while provisional
};

/// The smoothed round-trip time of a target's successful rounds, as TCP keeps SRTT (RFC 6298
/// §2: the first sample, then SRTT = 7/8 SRTT + 1/8 R), for the adaptive timeout of
/// confirmation rounds.
class SmoothedRtt {
 public:
  void add(double rtt_ms);
  std::optional<double> ms() const { return srtt_ms_; }

 private:
  std::optional<double> srtt_ms_;
};

/// The timeout of a confirmation round: max(100 ms, 4 × smoothed RTT), never longer than the
/// target's own `timeout` (and `timeout` itself while no round has succeeded yet). A path that
/// answered in 2 ms does not need 2 s to show it has stopped answering.
std::chrono::milliseconds confirmTimeout(std::optional<double> srtt_ms,
                                         std::chrono::milliseconds timeout);

}  // namespace mediapath::agent
