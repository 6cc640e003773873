#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "agent/config/config.h"
#include "agent/failover/failover.h"
#include "net/clock.h"
#include "net/event_loop.h"
#include "net/resolver.h"
#include "probes/probe.h"

namespace mediapath::reporter {
class AuditTrail;
class FailoverBackend;
}  // namespace mediapath::reporter

namespace mediapath::agent {

class StateStore;

/// What the failover layer knows of one target after its last round.
struct TargetView {
  bool known = false;
  bool healthy = false;
  bool provisional = false;  ///< HealthTracker::provisional
  probes::ProbeResult last;
};

/// Turns health into media-path changes for every failover group, and makes each change safe:
///  1. reconcile: before any decision, each group reads its remote config (GET) and adopts the
///     candidate it points at; a change left pending by a crash is found applied, or applied;
///  2. decide: FailoverController (no flapping, panic);
///  3. persist: the decision is saved as *pending* in the state directory before anything is sent;
///  4. validate: the new host resolves (c-ares), its port is allowed, the resulting Location
///     passes the platform's checks;
///  5. apply through the group's backend, in candidate names only (the backend maps them to the
///     remote's entries: a location's endpoint, a trunk's server list, a site's regions) — or,
///     in plan mode, only record it;
///  6. record: every planned / applied / failed / panic event goes to the audit trail, with the
///     evidence (RTT, jitter, loss, MOS of each candidate). A failed apply stays pending and is
///     retried — unless the failure is permanent (the backend says retrying cannot help: a
///     managed trunk, a region the org lacks; or the change fails the agent's own validation):
///     that is recorded `failed` once, with the reason, and dropped. The group stays on its
///     decision, so it does not decide the same switch again every round; the remote keeps what
///     it had, and the next start (or reload) reconciles with it.
///
/// Thread safety: loop thread only. Everything passed in must outlive the manager.
class FailoverManager {
 public:
  struct Hooks {
    /// The group's active candidate or panic state may have changed (status page, metrics,
    /// sd_notify); called at start and after every decision.
    std::function<void(const std::string& group, const std::string& active, bool panic)>
        on_group_change;
    /// A decision worth showing on the status page.
    std::function<void(const std::string& group, const std::string& text)> on_decision;
    /// A change ended as "planned", "applied" or "failed" (mediapath_failovers_total).
    std::function<void(const std::string& group, const std::string& result)> on_result;
  };

  /// Builds the backend a group writes to; null (or an empty function) means no Genesys access
  /// for that group (plan mode without credentials): the manager neither reconciles nor applies
  /// it, it records.
  using BackendFactory =
      std::function<std::unique_ptr<reporter::FailoverBackend>(const FailoverGroup& group)>;

  /// A failed apply is retried this long after the failure (each attempt already used the
  /// client's own retry budget, so this is the slow outer loop).
  static constexpr std::chrono::milliseconds kRetryAfterFailure{30000};

  /// The backends are built here, once per group; they must not outlive whatever they write
  /// through (cancel that before destroying the manager).
  FailoverManager(const Config& config, bool plan_only, net::EventLoop& loop,
                  net::Resolver& resolver, const net::Clock& clock, net::Random& random,
                  StateStore& store, reporter::AuditTrail& audit,
                  const BackendFactory& make_backend, Hooks hooks,
                  std::chrono::milliseconds retry_after = kRetryAfterFailure);
  ~FailoverManager();
  FailoverManager(const FailoverManager&) = delete;
  FailoverManager& operator=(const FailoverManager&) = delete;

  /// Starts reconciliation of every group (asynchronous). Decisions wait until it is done.
  void start();

  /// After each round of any target (`view.last.target`): keeps the view and re-evaluates the
  /// groups that list the target.
  void onRound(const TargetView& view);

 private:
  struct Group;
  void reconcile(Group& g);
  void finishReconcile(Group& g, const std::string& remote_active, const std::string& note);
  void decide(Group& g, const FailoverDecision& d);
  void applyPending(Group& g);
  void sendChange(Group& g, const std::string& change_id);
  /// How a change ended, whoever ended it (the backend, or the validation before it).
  // NOLINTNEXTLINE(bugprone-exception-escape): a json member (as BackendResult)
  struct ChangeOutcome {
    bool ok = false;
    bool changed = false;    ///< with ok: false when the remote already held it
    bool permanent = false;  ///< with !ok: retrying cannot help; recorded once, not retried
    std::string detail;      ///< with !ok: why
    std::string summary;     ///< what the backend did or found (for the log and the audit trail)
    nlohmann::json request;  ///< what was (or would have been) sent
  };
  void completeChange(Group& g, const std::string& change_id, const ChangeOutcome& outcome);
  void scheduleRetry(Group& g);
  void saveState();
  nlohmann::json evidence(const Group& g) const;
  void audit(const Group& g, const std::string& event, nlohmann::json fields);
  std::string newChangeId();

  const Config& config_;
  bool plan_only_;
  net::EventLoop& loop_;
  net::Resolver& resolver_;
  const net::Clock& clock_;
  net::Random& random_;
  StateStore& store_;
  reporter::AuditTrail& audit_;
  Hooks hooks_;
  std::chrono::milliseconds retry_after_;
  std::map<std::string, std::unique_ptr<Group>> groups_;
  std::map<std::string, TargetView> views_;  // each target's last round, by name
  // Guards callbacks that may arrive after destruction (a backend's, the resolver's).
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace mediapath::agent
