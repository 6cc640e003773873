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
#include "reporter/genesys/genesys_backends.h"
#include "reporter/genesys/genesys_client.h"

namespace mediapath::agent {
namespace {

using nlohmann::json;

// A failed apply is retried this long after the failure (each attempt already used the client's
// own retry budget, so this is the slow outer loop).
constexpr std::chrono::milliseconds kRetryAfterFailure{30000};

json optionalNumber(std::optional<double> v) { return v ? json(*v) : json(nullptr); }

}  // namespace

struct FailoverManager::Group {
  FailoverGroup cfg;
  std::unique_ptr<FailoverController> controller;
  GroupState state;
  bool reconciled = false;
  bool sending = false;  // a change is in flight
  std::unique_ptr<reporter::LocationBackend> location_backend;
  std::unique_ptr<reporter::TrunkBackend> trunk_backend;
  std::unique_ptr<net::UvTimer> retry_timer;
  json last_evidence = json::object();
};

FailoverManager::FailoverManager(const Config& config, bool plan_only, net::EventLoop& loop,
                                 net::Resolver& resolver, const net::Clock& clock,
                                 net::Random& random, StateStore& store,
                                 reporter::AuditTrail& audit, reporter::GenesysClient* client,
                                 Hooks hooks)
    : config_(config),
      plan_only_(plan_only),
      loop_(loop),
      resolver_(resolver),
      clock_(clock),
      random_(random),
      store_(store),
      audit_(audit),
      client_(client),
      hooks_(std::move(hooks)) {
  auto saved = store_.load();
  for (const auto& cfg : config_.failover) {
    auto g = std::make_unique<Group>();
    g->cfg = cfg;
    if (auto it = saved.find(cfg.name); it != saved.end()) g->state = it->second;
    // A saved active candidate that left the group is forgotten.
    bool known = false;
    for (const auto& c : cfg.candidates) known = known || c == g->state.active;
    if (!known) g->state.active = cfg.candidates.front();
    g->controller = std::make_unique<FailoverController>(cfg, g->state.active);
    if (client_ != nullptr) {
      if (!cfg.apply_to.location_path.empty() && config_.genesys) {
        g->location_backend = std::make_unique<reporter::LocationBackend>(
            *client_, config_.genesys->location_id, cfg.apply_to.location_path);
      } else if (!cfg.apply_to.trunk_base_id.empty()) {
        g->trunk_backend =
            std::make_unique<reporter::TrunkBackend>(*client_, cfg.apply_to.trunk_base_id);
      }
    }
    g->retry_timer = std::make_unique<net::UvTimer>(loop_.get());
    groups_.emplace(cfg.name, std::move(g));
  }
}

FailoverManager::~FailoverManager() {
  *alive_ = false;
  if (client_ != nullptr) client_->cancelAll();
}

std::string FailoverManager::active(const std::string& group) const {
  auto it = groups_.find(group);
  return it == groups_.end() ? std::string() : it->second->controller->active();
}

bool FailoverManager::reconciled(const std::string& group) const {
  auto it = groups_.find(group);
  return it != groups_.end() && it->second->reconciled;
}

void FailoverManager::start() {
  for (auto& [name, g] : groups_) {
    hooks_.on_group_change(name, g->controller->active(), false);
    reconcile(*g);
  }
}

std::string FailoverManager::remoteCandidate(const Group& g, const std::string& host,
                                             int port) const {
  for (const auto& c : g.cfg.candidates) {
    const TargetConfig* t = config_.findTarget(c);
    if (t != nullptr && t->host == host && (port < 0 || t->port == port)) return c;
  }
  return {};
}

// Reads the remote configuration once, before the group takes any decision, so that the agent
// neither repeats a change that a crash interrupted after it reached the platform nor loses one
// that never did.
void FailoverManager::reconcile(Group& g) {
  if (client_ == nullptr || (!g.location_backend && !g.trunk_backend)) {
    finishReconcile(g, "", "no Genesys access: using the saved state");
    return;
  }
  std::string group = g.cfg.name;
  std::weak_ptr<bool> alive = alive_;
  if (g.location_backend) {
    std::string path = g.cfg.apply_to.location_path;
    client_->call(
        {"get_location",
         "GET",
         "/api/v2/locations/" + config_.genesys->location_id,
         std::nullopt,
         {}},
        [this, alive, group, path](reporter::ApiResponse r) {
          if (alive.expired()) return;
          Group& grp = *groups_.at(group);
          if (!r.ok()) {
            finishReconcile(grp, "",
                            "cannot read the remote location (" + r.error->describe() +
                                "); using the saved state");
            return;
          }
          auto ep = reporter::endpointAt(r.body, path);
          std::string remote = ep ? remoteCandidate(grp, ep->host, ep->port) : std::string();
          finishReconcile(grp, remote,
                          ep ? "remote " + path + " is " + ep->host + ":" + std::to_string(ep->port)
                             : "remote location has no " + path);
        });
    return;
  }
  client_->call(
      {"get_trunk",
       "GET",
       "/api/v2/telephony/providers/edges/trunkbasesettings/" + g.cfg.apply_to.trunk_base_id,
       std::nullopt,
       {}},
      [this, alive, group](reporter::ApiResponse r) {
        if (alive.expired()) return;
        Group& grp = *groups_.at(group);
        if (!r.ok()) {
          finishReconcile(
              grp, "",
              "cannot read the remote trunk (" + r.error->describe() + "); using the saved state");
          return;
        }
        json::json_pointer ptr("/properties/trunk_transport_serverProxyList/value/instance");
        std::string first;
        if (r.body.contains(ptr) && r.body.at(ptr).is_array() && !r.body.at(ptr).empty() &&
            r.body.at(ptr)[0].is_string()) {
          first = r.body.at(ptr)[0].get<std::string>();
        }
        finishReconcile(grp, remoteCandidate(grp, first, -1),
                        "remote trunk server list starts with " +
                            (first.empty() ? std::string("nothing") : first));
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

void FailoverManager::onRound(const std::string& target,
                              const std::map<std::string, TargetView>& targets) {
  for (auto& [name, g] : groups_) {
    bool member = false;
    for (const auto& c : g->cfg.candidates) member = member || c == target;
    if (!member || !g->reconciled) continue;
    std::vector<CandidateView> views;
    for (const auto& c : g->cfg.candidates) {
      CandidateView v;
      v.name = c;
      if (auto it = targets.find(c); it != targets.end()) {
        v.known = it->second.known;
        v.healthy = it->second.healthy;
        v.mos = it->second.last.mos;
      }
      views.push_back(v);
    }
    FailoverDecision d = g->controller->evaluate(views, clock_.now());
    if (d.kind != FailoverDecision::Kind::kNone) decide(*g, d, targets);
  }
}

json FailoverManager::evidence(const Group& g, const std::map<std::string, TargetView>& t) const {
  json out = json::object();
  for (const auto& c : g.cfg.candidates) {
    auto it = t.find(c);
    if (it == t.end() || !it->second.known) {
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
  }
}

std::string FailoverManager::newChangeId() {
  char buf[40];
  std::uint64_t a = random_.next();
  std::uint64_t b = random_.next();
  std::snprintf(buf, sizeof(buf), "%016llx%016llx", static_cast<unsigned long long>(a),
                static_cast<unsigned long long>(b));
  return buf;
}

void FailoverManager::decide(Group& g, const FailoverDecision& d,
                             const std::map<std::string, TargetView>& t) {
  g.last_evidence = evidence(g, t);
  using Kind = FailoverDecision::Kind;
  if (d.kind == Kind::kPanicEntered) {
    spdlog::warn("failover group {}: PANIC: {}", g.cfg.name, d.reason);
    audit(g, "panic", {{"active", d.from}, {"reason", d.reason}});
    hooks_.on_decision(g.cfg.name, "panic: " + d.reason);
    hooks_.on_group_change(g.cfg.name, g.controller->active(), true);
    return;
  }
  if (d.kind == Kind::kPanicCleared) {
    spdlog::info("failover group {}: panic over: {}", g.cfg.name, d.reason);
    audit(g, "panic_cleared", {{"active", d.from}, {"reason", d.reason}});
    hooks_.on_decision(g.cfg.name, "panic over: " + d.reason);
    hooks_.on_group_change(g.cfg.name, g.controller->active(), false);
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

  if (plan_only_ || client_ == nullptr || (!g.location_backend && !g.trunk_backend)) {
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
    std::string detail = "validation failed: " + problems.front();
    completeChange(g, p.id, false, detail, nullptr, false);
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
          completeChange(grp, id, false,
                         "validation failed: " + host + " does not resolve: " + r.error, nullptr,
                         false);
          return;
        }
        sendChange(grp, id);
      });
}

void FailoverManager::sendChange(Group& g, const std::string& change_id) {
  const PendingChange p = *g.state.pending;
  const TargetConfig* to = config_.findTarget(p.to);
  std::weak_ptr<bool> alive = alive_;
  std::string group = g.cfg.name;
  auto done = [this, alive, group, change_id](reporter::BackendResult r) {
    if (alive.expired()) return;
    Group& grp = *groups_.at(group);
    grp.sending = false;
    completeChange(grp, change_id, r.ok(), r.ok() ? "" : r.error->describe(), r.request, r.changed);
  };
  if (g.location_backend) {
    // No expected value: the backend reads the location and tests what it read, so a change the
    // platform already holds (after a crash) is recognised instead of sent twice.
    g.location_backend->apply({to->host, to->port}, std::nullopt, done);
    return;
  }
  // The trunk's server list: the new active first, then the others in preference order.
  std::vector<std::string> hosts{to->host};
  for (const auto& c : g.cfg.candidates) {
    const TargetConfig* t = config_.findTarget(c);
    if (t != nullptr && c != p.to) hosts.push_back(t->host);
  }
  g.trunk_backend->apply(hosts, done);
}

void FailoverManager::completeChange(Group& g, const std::string& change_id, bool ok,
                                     const std::string& detail, const json& request, bool changed) {
  if (!g.state.pending || g.state.pending->id != change_id) return;  // superseded meanwhile
  const PendingChange p = *g.state.pending;
  json fields{{"change_id", p.id}, {"from", p.from}, {"to", p.to}, {"reason", p.reason}};
  if (!request.is_null()) fields["request"] = request;
  if (ok) {
    if (!changed) fields["note"] = "the platform already held this value; nothing was sent";
    audit(g, "applied", fields);
    hooks_.on_result(g.cfg.name, "applied");
    spdlog::info("failover group {}: change {} applied ({} -> {})", g.cfg.name, p.id, p.from, p.to);
    g.state.pending.reset();
    saveState();
    hooks_.on_decision(g.cfg.name, "applied " + p.from + " -> " + p.to);
    return;
  }
  fields["error"] = detail;
  audit(g, "failed", fields);
  hooks_.on_result(g.cfg.name, "failed");
  spdlog::error("failover group {}: change {} ({} -> {}) failed: {}; retrying in {}", g.cfg.name,
                p.id, p.from, p.to, detail, net::formatDuration(kRetryAfterFailure));
  hooks_.on_decision(g.cfg.name, "failed " + p.from + " -> " + p.to + ": " + detail);
  scheduleRetry(g);
}

void FailoverManager::scheduleRetry(Group& g) {
  std::string group = g.cfg.name;
  g.retry_timer->start(kRetryAfterFailure, [this, group] { applyPending(*groups_.at(group)); });
}

void FailoverManager::saveState() {
  std::map<std::string, GroupState> all;
  for (const auto& [name, g] : groups_) all[name] = g->state;
  try {
    store_.save(all);
  } catch (const std::exception& e) {
    spdlog::error("cannot save failover state: {}", e.what());
  }
}

}  // namespace mediapath::agent
