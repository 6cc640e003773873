#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/config/config.h"

namespace mediapath::agent {

/// What the controller knows of one candidate when it evaluates.
struct CandidateView {
  std::string name;
  bool known = false;  ///< at least one round done
  bool healthy = false;
  std::optional<double> mos;  ///< last estimate; none for kinds that measure no quality
  /// Unhealthy only on the rounds since a start (HealthTracker::provisional): not yet a reason
  /// to leave it when it is the active candidate.
  bool provisional = false;
};

struct FailoverDecision {
  enum class Kind {
    kNone,          ///< keep the active candidate
    kSwitch,        ///< make `to` active
    kPanicEntered,  ///< every candidate is unhealthy: keep `from`, push nothing
    kPanicCleared,  ///< some candidate is healthy again
  };
  Kind kind = Kind::kNone;
  std::string from;
  std::string to;
  std::string reason;  ///< for logs and the audit trail: why this decision
};

/// Chooses a failover group's active candidate, after Kamailio's dispatcher and Envoy's health
/// checking, without flapping:
///  - while the active candidate is healthy it stays, unless another healthy candidate has
///    beaten its MOS by at least `min_mos_gain` at every evaluation for the whole `min_hold`;
///  - when the active candidate turns unhealthy, the first healthy candidate in preference order
///    takes over at once — unless it is unhealthy only provisionally (a failed first round after
///    a start): the remote's current choice holds until it fails `unhealthy_threshold` rounds;
///  - when every candidate is unhealthy (the office uplink itself is down) nothing moves: the
///    group is in panic until one recovers.
/// Candidates not yet probed are neither healthy nor unhealthy: no decision rests on them.
///
/// Thread safety: none (loop thread). It holds no clock: every evaluation is given the time.
class FailoverController {
 public:
  FailoverController(FailoverGroup group, std::string initial_active);

  /// Evaluates after a round of any candidate. `candidates` lists every candidate of the group.
  /// On kSwitch the controller already treats `to` as active.
  FailoverDecision evaluate(const std::vector<CandidateView>& candidates,
                            std::chrono::steady_clock::time_point now);

  const std::string& active() const { return active_; }
  bool panic() const { return panic_; }
  const FailoverGroup& group() const { return group_; }
  /// Sets the active candidate without a decision (start-up reconciliation with the remote).
  void setActive(const std::string& name);

 private:
  FailoverGroup group_;
  std::string active_;
  bool panic_ = false;
  // Since when each challenger has continuously beaten the active candidate by min_mos_gain.
  std::map<std::string, std::chrono::steady_clock::time_point> leading_since_;
};

}  // namespace mediapath::agent
