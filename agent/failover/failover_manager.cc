#include "agent/failover/failover_manager.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <ctime>

#include "agent/config/location_spec.h"
#include "agent/failover/state_store.h"
#include "net/clock.h"
#include "net/event_loop.h"
#include "net/resolver.h"
#include "net/text.h"
#include "net/uv_timer.h"
#include "reporter/audit/audit_trail.h"
#include "reporter/genesys/failover_backend.h"

namespace mediapath::agent {
namespace {

using nlohmann::json;

json optionalNumber(std::optional<double> v) { return v ? json(*v) : json(nullptr); }

}  // namespace

struct FailoverManager::Group {
  FailoverGroup cfg;
  std::unique_ptr<FailoverController> controller;
  GroupState state;
  bool reconciled = false;
  bool sending = false;                                // a change is in flight
  std::unique_ptr<reporter::FailoverBackend> backend;  // null: no Genesys access
  std::unique_ptr<net::UvTimer> retry_timer;
  json last_evidence = json::object();
};

FailoverManager::FailoverManager(const Config& config, bool plan_only, net::EventLoop& loop,
                                 net::Resolver& resolver, const net::Clock& clock,
                                 net::Random& random, StateStore& store,
                                 reporter::AuditTrail& audit, const BackendFactory& make_backend,
                                 Hooks hooks, std::chrono::milliseconds retry_after)
    : config_(config),
      plan_only_(plan_only),
      loop_(loop),
      resolver_(resolver),
      clock_(clock),
      random_(random),
      store_(store),
      audit_(audit),
      hooks_(std::move(hooks)),
      retry_after_(retry_after) {
  auto saved = store_.load().groups;
  for (const auto& cfg : config_.failover) {
    auto g = std::make_unique<Group>();
    g->cfg = cfg;
    if (auto it = saved.find(cfg.name); it != saved.end()) g->state = it->second;
    // A saved active candidate that left the group is forgotten.
    bool known = false;
    for (const auto& c : cfg.candidates) known = known || c == g->state.active;
    if (!known) g->state.active = cfg.candidates.front();
    g->controller = std::make_unique<FailoverController>(cfg, g->state.active);
    if (make_backend) g->backend = make_backend(cfg);
    g->retry_timer = std::make_unique<net::UvTimer>(loop_.get());
    groups_.emplace(cfg.name, std::move(g));
  }
}

FailoverManager::~FailoverManager() { *alive_ = false; }

void FailoverManager::start() {
  for (auto& [name, g] : groups_) {
    hooks_.on_group_change(name, g->controller->active(), false);
    reconcile(*g);
  }
}

// Reads the remote configuration once, before the group takes any decision, so that the agent
// neither repeats a change that a crash interrupted after it reached the platform nor loses one
// that never did.
void FailoverManager::reconcile(Group& g) {
  if (!g.backend) {
    finishReconcile(g, "", "no Genesys access: using the saved state");
    return;
  }
  std::weak_ptr<bool> alive = alive_;
  std::string group = g.cfg.name;
  std::string kind = g.backend->kind();
  g.backend->readActiveOrder([this, alive, group, kind](reporter::ActiveOrder order) {
    if (alive.expired()) return;
    Group& grp = *groups_.at(group);
    if (!order.ok()) {
      finishReconcile(grp, "",
                      "cannot read the remote " + kind + " (" + order.error->describe() +
                          "); using the saved state");
      return;
    }
    // The group is on what the remote tries first (when that is one of its candidates: the
    // backend maps the remote's entries to candidate names).
    std::string remote;
    for (const auto& c : grp.cfg.candidates) {
      if (c == order.active) remote = c;
    }
    finishReconcile(grp, remote, order.summary);
  });
}

void FailoverManager::finishReconcile(Group& g, const std::string& remote_active,
                                      const std::string& note) {
  spdlog::info("failover group {}: reconciled: {}", g.cfg.name, note);
  if (g.state.pending) {
    const PendingChange& p = *g.state.pending;
    if (!remote_active.empty() && remote_active == p.to) {
      // The change reached the platform before the agent stopped: finish the bookkeeping only.
      audit(g, "applied",
            {{"change_id", p.id},
             {"from", p.from},
             {"to", p.to},
             {"reason", p.reason},
             {"note", "found already applied while reconciling after a restart"}});
      hooks_.on_result(g.cfg.name, "applied");
      g.state.active = p.to;
      g.state.pending.reset();
    } else {
      g.state.active = p.to;
      spdlog::warn(
          "failover group {}: change {} ({} -> {}) was not applied before the restart; "
          "applying it now",
          g.cfg.name, p.id, p.from, p.to);
    }
  } else if (!remote_active.empty()) {
    g.state.active = remote_active;
  }
  g.controller->setActive(g.state.active);
  g.reconciled = true;
  saveState();
  hooks_.on_group_change(g.cfg.name, g.state.active, g.controller->panic());
  if (g.state.pending) applyPending(g);
}

void FailoverManager::onRound(const TargetView& view) {
  const std::string& target = view.last.target;
  views_[target] = view;
  for (auto& [name, g] : groups_) {
    bool member = false;
    for (const auto& c : g->cfg.candidates) member = member || c == target;
    if (!member || !g->reconciled) continue;
    std::vector<CandidateView> views;
    for (const auto& c : g->cfg.candidates) {
      CandidateView v;
      v.name = c;
      if (auto it = views_.find(c); it != views_.end()) {
        v.known = it->second.known;
        v.healthy = it->second.healthy;
        v.provisional = it->second.provisional;
        v.mos = it->second.last.mos;
      }
      views.push_back(v);
    }
    FailoverDecision d = g->controller->evaluate(views, clock_.now());
    if (d.kind != FailoverDecision::Kind::kNone) decide(*g, d);
  }
}

json FailoverManager::evidence(const Group& g) const {
  json out = json::object();
  for (const auto& c : g.cfg.candidates) {
    auto it = views_.find(c);
    if (it == views_.end() || !it->second.known) {
      out[c] = {{"known", false}};
      continue;
    }
    const probes::ProbeResult& r = it->second.last;
    json rtt = nullptr;
    if (r.rtt) rtt = {{"min", r.rtt->min_ms}, {"avg", r.rtt->avg_ms}, {"max", r.rtt->max_ms}};
    out[c] = {{"healthy", it->second.healthy},
              {"ok", r.ok},
              {"address", r.address},
              {"rtt_ms", rtt},
              {"jitter_ms", optionalNumber(r.jitter_ms)},
              {"loss", r.sent > 0 ? json(r.loss) : json(nullptr)},
              {"mos", optionalNumber(r.mos)},
              {"error", r.error}};
  }
  return out;
}

void FailoverManager::audit(const Group& g, const std::string& event, json fields) {
  fields["time"] = net::formatUtc(clock_.wallNow());
  fields["site"] = config_.site_name;
  fields["group"] = g.cfg.name;
  fields["event"] = event;
  fields["mode"] = plan_only_ ? "plan" : "apply";
  if (!fields.contains("evidence")) fields["evidence"] = g.last_evidence;
  try {
    audit_.append(std::move(fields));
  } catch (const std::exception& e) {
    // The decision still stands; losing its record is an error an operator must see.
    spdlog::error("failover group {}: {}", g.cfg.name, e.what());
    return;
  }
  // The state file anchors the trail's last record, so that a deleted tail shows.
  saveState();
}

std::string FailoverManager::newChangeId() {
  char buf[40];
  std::uint64_t a = random_.next();
  std::uint64_t b = random_.next();
  std::snprintf(buf, sizeof(buf), "%016llx%016llx", static_cast<unsigned long long>(a),
                static_cast<unsigned long long>(b));
  return buf;
}

void FailoverManager::decide(Group& g, const FailoverDecision& d) {
  g.last_evidence = evidence(g);
  using Kind = FailoverDecision::Kind;
  if (d.kind == Kind::kPanicEntered || d.kind == Kind::kPanicCleared) {
    // Panic only records: the active candidate stays, nothing is sent.
    bool panic = d.kind == Kind::kPanicEntered;
    spdlog::log(panic ? spdlog::level::warn : spdlog::level::info, "failover group {}: {}: {}",
                g.cfg.name, panic ? "PANIC" : "panic over", d.reason);
    audit(g, panic ? "panic" : "panic_cleared", {{"active", d.from}, {"reason", d.reason}});
    hooks_.on_decision(g.cfg.name, (panic ? "panic: " : "panic over: ") + d.reason);
    hooks_.on_group_change(g.cfg.name, g.controller->active(), panic);
    return;
  }
  // kSwitch: persist the intent before anything leaves the agent.
  spdlog::warn("failover group {}: switching {} -> {}: {}", g.cfg.name, d.from, d.to, d.reason);
  PendingChange p{newChangeId(), d.from, d.to, net::formatUtc(clock_.wallNow()), d.reason};
  g.state.active = d.to;
  g.state.pending = p;
  saveState();
  hooks_.on_group_change(g.cfg.name, d.to, false);
  hooks_.on_decision(g.cfg.name, d.from + " -> " + d.to + ": " + d.reason);
  applyPending(g);
}

void FailoverManager::applyPending(Group& g) {
  if (!g.state.pending || g.sending) return;
  const PendingChange p = *g.state.pending;
  const TargetConfig* to = config_.findTarget(p.to);
  json change{{"change_id", p.id}, {"from", p.from}, {"to", p.to}, {"reason", p.reason}};
  if (to == nullptr) {
    g.state.pending.reset();
    saveState();
    return;
  }
  change["target"] = {{"host", to->host}, {"port", to->port}};

  if (plan_only_ || !g.backend) {
    change["note"] = plan_only_ ? "plan mode: not sent" : "no Genesys access: not sent";
    audit(g, "planned", change);
    hooks_.on_result(g.cfg.name, "planned");
    g.state.pending.reset();
    saveState();
    return;
  }

  // Validation, step 1: ports and the Location the platform would end up with.
  std::vector<std::string> problems;
  if (g.cfg.apply_to.location_path == "/media/proxy" && config_.location) {
    const PortRange& r = config_.location->allowed_sip_ports;
    if (to->port < r.min || to->port > r.max) {
      problems.push_back("port " + std::to_string(to->port) + " is outside the allowed SIP range " +
                         std::to_string(r.min) + "-" + std::to_string(r.max));
    }
  }
  if (config_.location && !g.cfg.apply_to.location_path.empty()) {
    reporter::LocationSpec spec = locationSpecFromConfig(config_);
    reporter::Endpoint ep{to->host, to->port};
    if (g.cfg.apply_to.location_path == "/media/proxy") spec.proxy = ep;
    if (g.cfg.apply_to.location_path == "/media/stun") spec.stun = ep;
    if (g.cfg.apply_to.location_path == "/media/turn") spec.turn = ep;
    for (const auto& problem : checkLocationSpec(spec, config_.location->allowed_sip_ports)) {
      problems.push_back(problem);
    }
  }
  if (!problems.empty()) {
    // The configuration decides these: retrying the same change cannot pass them.
    ChangeOutcome failed;
    failed.permanent = true;
    failed.detail = "validation failed: " + problems.front();
    completeChange(g, p.id, failed);
    return;
  }

  // Validation, step 2: the new host must resolve now (a typo'd or dead name would strand calls).
  g.sending = true;
  std::weak_ptr<bool> alive = alive_;
  std::string group = g.cfg.name;
  std::string id = p.id;
  std::string host = to->host;
  resolver_.resolve(
      host, net::RecordType::kA, [this, alive, group, id, host](const net::ResolveResult& r) {
        if (alive.expired()) return;
        Group& grp = *groups_.at(group);
        if (!r.ok) {
          grp.sending = false;
          // A lookup can fail for a while (the resolver, the network): retried.
          ChangeOutcome failed;
          failed.detail = "validation failed: " + host + " does not resolve: " + r.error;
          completeChange(grp, id, failed);
          return;
        }
        sendChange(grp, id);
      });
}

void FailoverManager::sendChange(Group& g, const std::string& change_id) {
  const PendingChange p = *g.state.pending;
  std::weak_ptr<bool> alive = alive_;
  std::string group = g.cfg.name;
  auto done = [this, alive, group, change_id](reporter::BackendResult r) {
    if (alive.expired()) return;
    Group& grp = *groups_.at(group);
    grp.sending = false;
    ChangeOutcome outcome;
    outcome.ok = r.ok();
    outcome.changed = r.changed;
    outcome.permanent = r.permanent;
    outcome.detail = r.ok() ? "" : r.error->describe();
    outcome.summary = std::move(r.summary);
    outcome.request = std::move(r.request);
    completeChange(grp, change_id, outcome);
  };
  // Every candidate, by name: the new active first, then the others in preference order.
  std::vector<std::string> ranked{p.to};
  for (const auto& c : g.cfg.candidates) {
    if (c != p.to) ranked.push_back(c);
  }
  g.backend->applyRanked(std::move(ranked), done);
}

void FailoverManager::completeChange(Group& g, const std::string& change_id,
                                     const ChangeOutcome& outcome) {
  if (!g.state.pending || g.state.pending->id != change_id) return;  // superseded meanwhile
  const PendingChange p = *g.state.pending;
  json fields{{"change_id", p.id}, {"from", p.from}, {"to", p.to}, {"reason", p.reason}};
  if (!outcome.request.is_null()) fields["request"] = outcome.request;
  if (!outcome.summary.empty()) fields["remote"] = outcome.summary;
  if (outcome.ok) {
    if (!outcome.changed) fields["note"] = "the platform already held this value; nothing was sent";
    audit(g, "applied", fields);
    hooks_.on_result(g.cfg.name, "applied");
    spdlog::info("failover group {}: change {} applied ({} -> {}){}", g.cfg.name, p.id, p.from,
                 p.to, outcome.summary.empty() ? "" : ": " + outcome.summary);
    g.state.pending.reset();
    saveState();
    hooks_.on_decision(g.cfg.name, "applied " + p.from + " -> " + p.to);
    return;
  }
  fields["error"] = outcome.detail;
  if (outcome.permanent) {
    fields["permanent"] = true;
    fields["note"] =
        "not retried: retrying cannot help; the configuration or the remote object "
        "must change";
  }
  audit(g, "failed", fields);
  hooks_.on_result(g.cfg.name, "failed");
  hooks_.on_decision(g.cfg.name, "failed " + p.from + " -> " + p.to + ": " + outcome.detail);
  if (outcome.permanent) {
    spdlog::error(
        "failover group {}: change {} ({} -> {}) failed and is not retried: {}; fix the "
        "configuration or the remote object (a reload or restart reconciles with it)",
        g.cfg.name, p.id, p.from, p.to, outcome.detail);
    g.state.pending.reset();
    saveState();
    return;
  }
  spdlog::error("failover group {}: change {} ({} -> {}) failed: {}; retrying in {}", g.cfg.name,
                p.id, p.from, p.to, outcome.detail, net::formatDuration(retry_after_));
  scheduleRetry(g);
}

void FailoverManager::scheduleRetry(Group& g) {
  std::string group = g.cfg.name;
  g.retry_timer->start(retry_after_, [this, group] { applyPending(*groups_.at(group)); });
}

void FailoverManager::saveState() {
  std::map<std::string, GroupState> all;
  for (const auto& [name, g] : groups_) all[name] = g->state;
  try {
    store_.save(all, audit_.anchor());
  } catch (const std::exception& e) {
    spdlog::error("cannot save failover state: {}", e.what());
  }
}

}  // namespace mediapath::agent
