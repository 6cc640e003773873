#include "agent/failover/failover.h"

#include <algorithm>

#include "net/text.h"

namespace mediapath::agent {
namespace {

const CandidateView* find(const std::vector<CandidateView>& cs, const std::string& name) {
  for (const auto& c : cs) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

std::string mosText(std::optional<double> mos) {
  if (!mos) return "n/a";
  return net::formatFixed(*mos, 2);
}

}  // namespace

FailoverController::FailoverController(FailoverGroup group, std::string initial_active)
    : group_(std::move(group)), active_(std::move(initial_active)) {
  if (active_.empty() && !group_.candidates.empty()) active_ = group_.candidates.front();
  setActive(active_);
}

void FailoverController::setActive(const std::string& name) {
  active_ = name;
  leading_since_.clear();
}

FailoverDecision FailoverController::evaluate(const std::vector<CandidateView>& candidates,
                                              std::chrono::steady_clock::time_point now) {
  FailoverDecision d;
  d.from = active_;

  bool all_known = true;
  bool any_healthy = false;
  for (const auto& name : group_.candidates) {
    const CandidateView* c = find(candidates, name);
    if (c == nullptr || !c->known) {
      all_known = false;
    } else if (c->healthy) {
      any_healthy = true;
    }
  }

  if (!any_healthy) {
    // Panic needs every candidate measured and down: a half-started agent is not an outage.
    if (all_known && !panic_) {
      panic_ = true;
      leading_since_.clear();
      d.kind = FailoverDecision::Kind::kPanicEntered;
      d.reason = "every candidate is unhealthy; keeping " + active_ + " and pushing nothing";
    }
    return d;
  }
  bool panic_over = panic_;
  if (panic_) {
    panic_ = false;
    d.kind = FailoverDecision::Kind::kPanicCleared;
    d.reason = "a candidate is healthy again";
    // The same evaluation may also move away from a still-dead active candidate; that switch
    // is reported instead, its reason saying the panic is over.
  }

  const CandidateView* active = find(candidates, active_);
  if (active == nullptr || !active->known) return d;

  if (!active->healthy) {
    if (active->provisional) return d;
    for (const auto& name : group_.candidates) {
      const CandidateView* c = find(candidates, name);
      if (c != nullptr && c->known && c->healthy && name != active_) {
        d.kind = FailoverDecision::Kind::kSwitch;
        d.to = name;
        d.reason = active_ + " is unhealthy; " + name +
                   " is the first healthy candidate in preference order" +
                   (panic_over ? " (panic over)" : "");
        setActive(name);
        return d;
      }
    }
    return d;
  }

  // The active candidate is healthy: a challenger must lead by min_mos_gain for min_hold.
  std::string best;
  std::chrono::steady_clock::time_point best_since{};
  for (const auto& name : group_.candidates) {
    if (name == active_) continue;
    const CandidateView* c = find(candidates, name);
    bool leads = c != nullptr && c->known && c->healthy && c->mos && active->mos &&
                 *c->mos >= *active->mos + group_.min_mos_gain;
    if (!leads) {
      leading_since_.erase(name);
      continue;
    }
    auto [it, inserted] = leading_since_.emplace(name, now);
    if (now - it->second >= group_.min_hold && (best.empty() || it->second < best_since)) {
      best = name;
      best_since = it->second;
    }
  }
  if (!best.empty()) {
    const CandidateView* c = find(candidates, best);
    d.kind = FailoverDecision::Kind::kSwitch;
    d.to = best;
    d.reason = best + " (MOS " + mosText(c->mos) + ") has beaten " + active_ + " (MOS " +
               mosText(active->mos) + ") by at least " + mosText(group_.min_mos_gain) + " for " +
               net::formatDuration(group_.min_hold);
    setActive(best);
  }
  return d;
}

}  // namespace mediapath::agent
