#include "agent/service/agent_runtime.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <cmath>
#include <csignal>
#include <exception>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/config/config_loader.h"
#include "agent/config/genesys_options.h"
#include "agent/config/probe_targets.h"
#include "agent/failover/failover_manager.h"
#include "agent/failover/health.h"
#include "agent/failover/state_store.h"
#include "agent/service/file_limit.h"
#include "agent/service/scheduler.h"
#include "agent/service/service_notifier.h"
#include "net/ares_resolver.h"
#include "net/clock.h"
#include "net/event_loop.h"
#include "net/socket_budget.h"
#include "net/text.h"
#include "net/uv_signal.h"
#include "net/uv_timer.h"
#include "probes/probe_resources.h"
#include "reporter/audit/audit_trail.h"
#include "reporter/genesys/genesys_backends.h"
#include "reporter/genesys/genesys_client.h"
#include "reporter/metrics/metrics.h"
#include "reporter/metrics/metrics_server.h"
#include "reporter/metrics/status_board.h"
#include "version.h"

namespace mediapath::agent {
namespace {

using reporter::GroupStatus;
using reporter::StatusBoard;
using reporter::TargetStatus;
using std::chrono::milliseconds;

constexpr milliseconds kHeartbeatInterval{1000};
// /healthz fails when the loop has not turned for this long: a stuck loop is a dead agent.
constexpr milliseconds kLivenessLimit{5000};
// One log line for a rejected reload: five diagnostics fit, a runaway message does not.
constexpr std::size_t kMaxReloadMessage = 4096;

// what() of the exception in flight, for a log line; call only inside a catch block.
std::string currentExceptionText() {
  try {
    throw;
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown error";
  }
}

std::int64_t steadyMs() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Health thresholds of a target: those of the first failover group that lists it, else the
// defaults (a target outside any group still shows health on the status page and in metrics).
// The confirm interval: the target's own, else the group's, else the default.
HealthPolicy healthPolicyFor(const Config& config, const std::string& target) {
  HealthPolicy policy;
  policy.confirm_interval = kDefaultConfirmInterval;
  bool found = false;
  for (const auto& g : config.failover) {
    for (const auto& c : g.candidates) {
      if (c == target && !found) {
        policy = {g.healthy_threshold, g.unhealthy_threshold, g.min_mos, g.confirm_interval};
        found = true;
      }
    }
  }
  if (const TargetConfig* t = config.findTarget(target); t && t->confirm_interval) {
    policy.confirm_interval = *t->confirm_interval;
  }
  return policy;
}

// Jitter and MOS come from a burst of datagrams (probes/udp_burst.cc, turn's repeated
// allocations, relay's media stream); a tcp connect, a dns lookup and one SIP OPTIONS over TCP
// measure neither, so such a target gets no jitter or MOS series.
bool measuresPathQuality(const TargetConfig& t) {
  switch (t.kind) {
    case probes::Kind::kStun:
    case probes::Kind::kTurn:
    case probes::Kind::kRelay:
      return true;
    case probes::Kind::kSip:
      return t.transport == probes::Transport::kUdp;
    case probes::Kind::kTcp:
    case probes::Kind::kDns:
    case probes::Kind::kNat:  // one Binding per test: no burst, no jitter
      return false;
  }
  return false;
}

reporter::ProbeSample toSample(const probes::ProbeResult& r) {
  reporter::ProbeSample s;
  s.target = r.target;
  s.kind = std::string(probes::kindName(r.kind));
  s.ok = r.ok;
  for (double ms : r.rtt_samples_ms) s.rtt_seconds.push_back(ms / 1000.0);
  if (r.jitter_ms) s.jitter_seconds = *r.jitter_ms / 1000.0;
  if (r.sent > 0) s.loss_ratio = r.loss;
  s.mos = r.mos;
  if (r.lookup_ms) s.dns_lookup_seconds = *r.lookup_ms / 1000.0;
  if (r.one_way) s.one_way_seconds = r.one_way->avg_ms / 1000.0;
  // A round that failed part-way has a mapping of "unknown" that says nothing about the NAT.
  if (r.kind == probes::Kind::kNat && r.ok) s.nat_mapping = r.nat_mapping;
  if (r.reordered && r.loss_ab && r.sent > 0) {
    // Of the packets that reached B, where reordering is counted.
    double reached = std::round(r.sent * (1.0 - *r.loss_ab));
    if (reached > 0) s.reordered_ratio = *r.reordered / reached;
  }
  if (r.cert_not_after) {
    s.cert_not_after_seconds =
        std::chrono::duration<double>(r.cert_not_after->time_since_epoch()).count();
  }
  return s;
}

// The group's remote object and its candidates in plain values: the backend maps candidate
// names to what the remote holds (host[:port] in a trunk's server list, a site's region), so the
// failover manager speaks names only.
reporter::BackendTarget backendTarget(const Config& config, const FailoverGroup& g) {
  reporter::BackendTarget t;
  if (config.genesys) t.location_id = config.genesys->location_id;
  t.location_path = g.apply_to.location_path;
  t.trunk_base_id = g.apply_to.trunk_base_id;
  t.site_id = g.apply_to.site_id;
  for (const auto& name : g.candidates) {
    reporter::BackendCandidate c;
    c.name = name;
    if (const TargetConfig* target = config.findTarget(name)) {
      c.host = target->host;
      c.port = target->port;
    }
    if (auto it = g.apply_to.media_regions.find(name); it != g.apply_to.media_regions.end()) {
      c.region = it->second;
    }
    t.candidates.push_back(std::move(c));
  }
  return t;
}

std::string versionLabel() {
  return std::string(kVersion) + (kGitRevision[0] != '\0' ? std::string("+") + kGitRevision : "");
}

}  // namespace

struct AgentRuntime::Impl {
  RunOptions options;
  Config config;
  OpenFileLimit file_limit;  // raised at start-up; reloads check their targets against it
  // Declared before the loop: they outlive every probe and socket on it.
  std::unique_ptr<net::SocketBudget> socket_budget;
  std::unique_ptr<probes::ProbeResources> probe_resources;

  net::EventLoop loop;
  net::SystemClock clock;
  net::SystemRandom random;
  UvTimerFactory timers{loop};
  std::unique_ptr<net::AresResolver> resolver;
  probes::ProbeContext probe_context;
  std::unique_ptr<Scheduler> scheduler;

  reporter::Metrics metrics;
  StatusBoard board;
  std::unique_ptr<reporter::MetricsServer> server;
  std::atomic<std::int64_t> heartbeat_ms{steadyMs()};

  // What the agent keeps of each target between rounds, by name.
  struct TargetState {
    HealthTracker health{HealthPolicy{}};
    SmoothedRtt srtt;               // of successful rounds: the confirmation rounds' timeout
    milliseconds timeout{0};        // the target's own probe timeout
    milliseconds interval{0};       // and interval, under the current config
    bool first_round_done = false;  // /-/ready and READY=1 wait for every target's first round
  };
  std::map<std::string, TargetState> targets;
  std::size_t awaiting_first_round = 0;

  // Replies dropped in the shared STUN sockets' receive queue (ProbeResources::sharedSocketDrops):
  // the total last seen, and the total and time of the last warning.
  std::uint64_t socket_drops = 0;
  std::uint64_t socket_drops_warned = 0;
  std::chrono::steady_clock::time_point socket_drops_warned_at;

  // Failover (only with failover groups): persisted state and audit trail in the state
  // directory, the Genesys client (null in plan mode without credentials), the manager.
  std::unique_ptr<StateStore> store;
  std::unique_ptr<reporter::AuditTrail> audit;
  std::unique_ptr<reporter::GenesysClient> genesys;
  std::unique_ptr<FailoverManager> failover;

  // Loop handles owned here; shutdown() releases them so that the loop runs out of work and
  // run() returns with nothing left open.
  std::unique_ptr<net::UvTimer> heartbeat;
  std::unique_ptr<net::UvSignal> sigterm;
  std::unique_ptr<net::UvSignal> sigint;
  std::unique_ptr<net::UvSignal> sighup;
  bool stopping = false;

  // systemd integration (Type=notify): READY, STATUS, WATCHDOG, RELOADING, STOPPING. A no-op
  // outside systemd. The watchdog timer runs on the loop, so a stuck loop stops the pings and
  // systemd restarts the agent after WatchdogSec=.
  ServiceNotifier notifier;
  std::unique_ptr<net::UvTimer> watchdog;

  std::vector<PlannedTarget> planned_at_start;  // planStep -> probeStep
  std::vector<PlannedTarget> active_planned;    // what runs now: a failed reload restarts it

  Impl(RunOptions o, Config c)
      : options(std::move(o)), config(std::move(c)), metrics(config.site_name, versionLabel()) {}

  // Builds the resolver and scheduler for `config`; series and status for its targets.
  void startProbing(std::vector<PlannedTarget> planned) {
    active_planned = planned;
    if (auto warning = openFileLimitWarning(descriptorsNeeded(planned), file_limit);
        !warning.empty()) {
      spdlog::warn("{}", warning);
    }
    net::AresOptions ares;
    ares.servers = dnsServerList(config.dns);
    ares.max_ttl = std::chrono::duration_cast<std::chrono::seconds>(config.dns.max_ttl);
    resolver = std::make_unique<net::AresResolver>(loop, ares, clock);
    probe_context = {&loop, resolver.get(), &clock, &random, probe_resources.get()};

    std::vector<TargetStatus> statuses;
    std::map<std::string, TargetState> new_targets;
    for (const auto& t : config.targets) {
      TargetStatus s;
      s.name = t.name;
      s.kind = std::string(probes::kindName(t.kind));
      s.address = t.kind == probes::Kind::kDns ? t.host : t.host + ":" + std::to_string(t.port);
      statuses.push_back(s);
      metrics.addTarget(t.name, s.kind, measuresPathQuality(t));
      metrics.setTlsTarget(t.name, t.transport == probes::Transport::kTls);
      // Health history survives a reload when the target stays the same kind; readiness waits
      // for a first round under the new config.
      TargetState state;
      if (auto old = targets.find(t.name); old != targets.end()) state.health = old->second.health;
      state.health.setPolicy(healthPolicyFor(config, t.name));
      new_targets.emplace(t.name, state);
    }
    for (const auto& p : planned) {
      if (auto it = new_targets.find(p.target.name); it != new_targets.end()) {
        it->second.timeout = p.target.timeout;
        it->second.interval = p.interval;
      }
    }
    targets = std::move(new_targets);
    awaiting_first_round = targets.size();

    std::vector<GroupStatus> groups;
    for (const auto& g : config.failover) {
      groups.push_back({g.name, g.candidates, g.candidates.front(), false, {}});
      metrics.addFailoverGroup(g.name, g.candidates);
    }
    board.reset(config.site_name, versionLabel(), std::move(statuses), std::move(groups));

    SchedulerOptions scheduling;
    scheduling.on_skipped = [this](const std::string& target, std::uint64_t ticks) {
      metrics.countSkippedRounds(target, ticks);
    };
    scheduler = std::make_unique<Scheduler>(
        timers, clock, random,
        [this](const probes::ProbeTarget& t) { return probes::makeProbe(t.kind, probe_context); },
        [this](const probes::ProbeResult& r) { onResult(r); }, std::move(scheduling));
    for (auto& p : planned) scheduler->add(std::move(p.target), p.interval);
    scheduler->start();
    startFailover();
  }

  bool planOnly() const {
    return options.plan_only || !config.genesys || config.genesys->mode == GenesysMode::kPlan;
  }

  // The failover layer for the current config. Throws GenesysSetupError when apply mode cannot
  // reach Genesys as configured (missing secret, bad endpoint): start-up fails with exit 2.
  void startFailover() {
    if (config.failover.empty()) return;
    if (!store) {
      store = std::make_unique<StateStore>(options.state_dir);
      // The state file anchors the trail's last record: opening checks the trail still holds
      // it, and repairs a torn last line; each repair is also a record in the trail.
      audit = std::make_unique<reporter::AuditTrail>(store->auditPath(), store->load().audit);
      for (const auto& repair : audit->repairs()) {
        spdlog::error("audit trail {}: {}", store->auditPath(), repair);
      }
    }
    if (config.genesys) {
      try {
        genesys = std::make_unique<reporter::GenesysClient>(
            loop, genesysClientOptions(config, "run"), clock, random);
        genesys->setObserver([this](const std::string& operation, int status) {
          metrics.countGenesysRequest(operation, status);
        });
      } catch (const std::exception& e) {
        if (!planOnly()) throw GenesysSetupError(e.what());
        spdlog::warn("plan mode without Genesys access ({}): changes are recorded only", e.what());
      }
    }
    FailoverManager::Hooks hooks;
    hooks.on_group_change = [this](const std::string& group, const std::string& active,
                                   bool panic) {
      board.updateGroup(group, active, panic, clock.wallNow());
      metrics.setFailoverActive(group, active);
      metrics.setFailoverPanic(group, panic);
      notifyStatus();
    };
    hooks.on_result = [this](const std::string& group, const std::string& result) {
      metrics.countFailover(group, result);
    };
    hooks.on_decision = [this](const std::string& group, const std::string& text) {
      board.addDecision({clock.wallNow(), group, text, {}});
    };
    // One backend per group, writing through the client (none without Genesys access: the
    // manager then records only). The client exists only with a genesys section.
    FailoverManager::BackendFactory backends;
    if (genesys) {
      backends = [this](const FailoverGroup& g) {
        return reporter::makeFailoverBackend(*genesys, backendTarget(config, g));
      };
    }
    failover = std::make_unique<FailoverManager>(config, planOnly(), loop, *resolver, clock, random,
                                                 *store, *audit, backends, std::move(hooks));
    spdlog::info("failover: {} groups, {} mode, state in {}", config.failover.size(),
                 planOnly() ? "plan" : "apply", options.state_dir);
    failover->start();
  }

  void stopProbing() {
    if (scheduler) scheduler->stop();
    scheduler.reset();
    // Before the resolver and client it uses; a change in flight stays pending in the state
    // directory and is finished by the next manager (reload) or the next start. The client's
    // calls go first: their callbacks point into the manager's backends.
    if (genesys) genesys->cancelAll();
    failover.reset();
    genesys.reset();
    if (resolver) resolver->cancelAll();
    resolver.reset();
  }

  /// A reply dropped in the agent's own receive queue shows as loss on its target. Count such
  /// drops, and say so in the log at most once a minute: that share of stun loss is the
  /// agent's (an overloaded host, or a receive buffer capped by net.core.rmem_max).
  void noteSocketDrops() {
    std::uint64_t drops = probe_resources->sharedSocketDrops();
    if (drops == socket_drops) return;
    socket_drops = drops;
    metrics.setProbeSocketDrops(drops);
    auto now = clock.now();
    if (socket_drops_warned != 0 && now - socket_drops_warned_at < std::chrono::minutes(1)) return;
    spdlog::warn(
        "probes: {} stun replies dropped in the agent's receive queue ({} since start): they "
        "count as loss on their targets; check the host's load and net.core.rmem_max",
        drops - socket_drops_warned, drops);
    socket_drops_warned = drops;
    socket_drops_warned_at = now;
  }

  // Fast confirmation: while a failure is suspected, the next round comes confirm_interval
  // later (never later than the interval would bring it) with a timeout adapted to the path.
  // turn, relay and nat keep their own timeout: a phase of theirs is several transactions in a
  // row (401 challenge, Allocate, CreatePermission, ChannelBind; nat's five tests), which
  // 4 x SRTT would not cover.
  void confirmIfSuspected(const probes::ProbeResult& r, const TargetState& target) {
    milliseconds every = std::min(target.health.policy().confirm_interval, target.interval);
    if (!scheduler || every.count() <= 0 || !target.health.confirming()) return;
    bool transactions = r.kind == probes::Kind::kTurn || r.kind == probes::Kind::kRelay ||
                        r.kind == probes::Kind::kNat;
    milliseconds timeout =
        transactions ? target.timeout : confirmTimeout(target.srtt.ms(), target.timeout);
    scheduler->confirm(r.target, every, timeout);
  }

  void onResult(const probes::ProbeResult& r) {
    metrics.recordProbe(toSample(r));
    if (r.kind == probes::Kind::kStun) noteSocketDrops();
    auto it = targets.find(r.target);
    if (it == targets.end()) return;
    TargetState& target = it->second;
    HealthTracker& h = target.health;
    bool was_known = h.known();
    bool changed = h.record(r.ok, r.mos) == HealthTracker::Transition::kChanged;
    if (r.ok && r.rtt) target.srtt.add(r.rtt->avg_ms);
    confirmIfSuspected(r, target);
    if (changed) {
      if (h.healthy()) {
        spdlog::info("target {}: healthy{}", r.target, was_known ? " again" : "");
      } else {
        spdlog::warn("target {}: unhealthy: {}", r.target, r.ok ? "MOS below min_mos" : r.error);
      }
    } else if (!r.ok) {
      spdlog::debug("target {}: round failed: {}", r.target, r.error);
    }
    metrics.setTargetHealthy(r.target, h.healthy());

    TargetStatus s;
    s.name = r.target;
    s.kind = std::string(probes::kindName(r.kind));
    s.address = r.address;
    s.known = true;
    s.healthy = h.healthy();
    s.last_ok = r.ok;
    s.last_error = r.error;
    if (r.rtt) s.rtt_avg_ms = r.rtt->avg_ms;
    s.jitter_ms = r.jitter_ms;
    if (r.sent > 0) s.loss = r.loss;
    s.mos = r.mos;
    if (r.ok) s.details = probes::summary(r);
    s.last_round = clock.wallNow();
    board.recordRound(std::move(s));
    if (changed) notifyStatus();  // the STATUS= line only moves when some health does

    if (failover) failover->onRound(TargetView{true, h.healthy(), h.provisional(), r});

    if (!target.first_round_done) {
      target.first_round_done = true;
      if (--awaiting_first_round == 0) {
        board.setReady();
        notifier.ready();  // systemd: start-up (or a reload) is complete
        spdlog::info("first round complete for every target: ready");
      }
    }
  }

  // systemd STATUS= line (`systemctl status`); the notifier sends it only when it changed.
  void notifyStatus() {
    if (!notifier.enabled()) return;
    int healthy = 0;
    for (const auto& [name, t] : targets) healthy += t.health.known() && t.health.healthy() ? 1 : 0;
    std::vector<std::pair<std::string, std::string>> active;
    for (const auto& g : board.groups()) active.emplace_back(g.name, g.active);
    notifier.status(serviceStatusLine(healthy, static_cast<int>(targets.size()), active));
  }

  // SIGHUP. A reload that fails for any reason (an invalid or unreadable file, a missing secret,
  // an error while building the new probes or failover) leaves the agent probing and serving
  // with the config it had, says so in one log line and sets
  // mediapath_config_last_reload_successful to 0. This runs in a loop callback: nothing escapes.
  void reload() {
    spdlog::info("SIGHUP: reloading {}", options.config_path);
    notifier.reloading();
    // `systemctl reload` waits for READY=1, whether the new config was taken or rejected (on
    // every return below). Before the first round READY=1 is still to come from onResult().
    struct ReadyAgain {
      ServiceNotifier& n;
      bool was_ready;
      ~ReadyAgain() {
        if (was_ready) n.ready();
      }
    } ready_again{notifier, board.ready()};
    std::string failure;
    try {
      failure = reloadConfig();
    } catch (...) {
      failure = currentExceptionText();
    }
    if (!failure.empty()) {
      metrics.setConfigReloadSuccessful(false);
      spdlog::error("reload rejected, still running the previous config: {}",
                    net::printable(failure, kMaxReloadMessage));
      return;
    }
    metrics.setConfigReloadSuccessful(true);
    spdlog::info("reload done: {} targets, {} failover groups", config.targets.size(),
                 config.failover.size());
  }

  // Takes the config file anew; empty when done, else why it was not taken (the running config
  // is then the one before, restored if the switch had begun).
  std::string reloadConfig() {
    LoadResult r = loadConfigFile(options.config_path);
    if (!r.config) return diagnosticsLine(r.errors);
    // Secrets are read here, before anything stops: a missing one changes nothing.
    std::vector<PlannedTarget> planned = planTargets(*r.config);
    Config previous = config;
    std::vector<PlannedTarget> previous_planned = active_planned;
    std::map<std::string, TargetState> previous_targets = targets;
    try {
      switchTo(std::move(*r.config), std::move(planned));
      return {};
    } catch (...) {
      std::string why = "cannot start the new config: " + currentExceptionText();
      try {
        switchTo(std::move(previous), std::move(previous_planned), std::move(previous_targets));
      } catch (...) {
        // Probes run again (the scheduler starts before failover); failover may be off.
        why += "; restoring the previous config failed too: " + currentExceptionText();
      }
      return why;
    }
  }

  // Stops what runs for the current config and starts `next`. `health` replaces the per-target
  // state first (a rollback restores what the failed switch changed).
  void switchTo(Config next, std::vector<PlannedTarget> planned,
                std::optional<std::map<std::string, TargetState>> health = std::nullopt) {
    stopProbing();
    // Series of targets and groups that left (or changed kind, or gained or lost the jitter
    // and MOS series) disappear.
    for (const auto& old : config.targets) {
      const TargetConfig* now = next.findTarget(old.name);
      if (now == nullptr || now->kind != old.kind ||
          measuresPathQuality(*now) != measuresPathQuality(old)) {
        metrics.removeTarget(old.name);
        targets.erase(old.name);
      }
    }
    for (const auto& old : config.failover) metrics.removeFailoverGroup(old.name);
    if (health) targets = std::move(*health);
    config = std::move(next);
    startProbing(std::move(planned));
  }

  // Every problem of a rejected config in one log line (the first few; `validate` lists all).
  std::string diagnosticsLine(const std::vector<Diagnostic>& errors) const {
    constexpr std::size_t kShown = 5;
    std::string line;
    for (std::size_t i = 0; i < errors.size() && i < kShown; ++i) {
      if (i > 0) line += "; ";
      line += formatDiagnostic(options.config_path, errors[i]);
    }
    if (errors.size() > kShown) {
      line += "; and " + std::to_string(errors.size() - kShown) +
              " more (`mediapath-agent validate --config " + options.config_path +
              "` lists them all)";
    }
    return line;
  }

  void shutdown(const char* why) {
    if (stopping) return;
    stopping = true;
    spdlog::info("{}: stopping", why);
    notifier.stopping();
    stopProbing();
    heartbeat.reset();
    watchdog.reset();
    sigterm.reset();
    sigint.reset();
    sighup.reset();
  }

  // ---- start-up, one named step each, in the order agent_runtime.h gives (Falco's run_steps:
  // the sequence reads in one place, and each step is small enough to read on its own) ----
  struct Step {
    const char* name;
    void (Impl::*run)();
  };
  static const Step kStartSteps[];

  // Secrets are read before anything listens, so a missing one fails start-up with exit 2.
  void planStep() { planned_at_start = planTargets(config); }

  void limitsStep() {
    file_limit = raiseOpenFileLimit();
    socket_budget = std::make_unique<net::SocketBudget>(probeSocketLimit(file_limit));
    probe_resources = std::make_unique<probes::ProbeResources>(socket_budget.get());
  }

  // A busy port fails start-up here, before any probing.
  void listenStep() {
    server = std::make_unique<reporter::MetricsServer>(
        options.listen, metrics, [this](const std::string& path) { return page(path); });
    // With --listen HOST:0 the kernel picked the port: log the one in use (tests read it here).
    std::string listen_host = options.listen.substr(0, options.listen.rfind(':'));
    spdlog::info("{} (site {}): {} targets, {} failover groups; listening on http://{}:{}/",
                 versionLabel(), config.site_name, config.targets.size(), config.failover.size(),
                 listen_host, server->port());
  }

  void probeStep() { startProbing(std::move(planned_at_start)); }

  void timersStep() {
    heartbeat = std::make_unique<net::UvTimer>(loop.get());
    heartbeat->start(
        kHeartbeatInterval, [this] { heartbeat_ms = steadyMs(); }, kHeartbeatInterval);
    if (auto interval = notifier.watchdogInterval()) {
      // WatchdogSec= is set: ping at half of it from the loop (see notifier).
      watchdog = std::make_unique<net::UvTimer>(loop.get());
      watchdog->start(
          *interval, [this] { notifier.watchdog(); }, *interval);
    }
  }

  void signalsStep() {
    sigterm = std::make_unique<net::UvSignal>(loop.get());
    sigterm->start(SIGTERM, [this] { shutdown("SIGTERM"); });
    sigint = std::make_unique<net::UvSignal>(loop.get());
    sigint->start(SIGINT, [this] { shutdown("SIGINT"); });
    sighup = std::make_unique<net::UvSignal>(loop.get());
    sighup->start(SIGHUP, [this] { reload(); });
  }

  std::optional<reporter::HttpReply> page(const std::string& path) {
    if (path == "/") {
      return reporter::HttpReply{200, "text/html; charset=utf-8",
                                 reporter::renderStatusPage(board.snapshot(), clock.wallNow())};
    }
    if (path == reporter::kStatusPageScriptPath) {
      return reporter::HttpReply{200, "text/javascript; charset=utf-8",
                                 reporter::statusPageScript()};
    }
    if (path == "/status.json") {
      return reporter::HttpReply{200, "application/json",
                                 reporter::renderStatusJson(board.snapshot(), clock.wallNow())};
    }
    if (path == "/healthz") {
      std::int64_t age = steadyMs() - heartbeat_ms.load();
      if (age > kLivenessLimit.count()) {
        return reporter::HttpReply{503, "text/plain; charset=utf-8",
                                   "event loop stalled for " + std::to_string(age) + " ms\n"};
      }
      return reporter::HttpReply{200, "text/plain; charset=utf-8", "ok\n"};
    }
    if (path == "/-/ready") {
      if (board.ready()) return reporter::HttpReply{200, "text/plain; charset=utf-8", "ready\n"};
      return reporter::HttpReply{503, "text/plain; charset=utf-8", "first round not done\n"};
    }
    return std::nullopt;
  }
};

const AgentRuntime::Impl::Step AgentRuntime::Impl::kStartSteps[] = {
    {"read secrets, plan the targets", &Impl::planStep},
    {"raise the open-file limit, size the socket budget", &Impl::limitsStep},
    {"listen for scrapes and the status page", &Impl::listenStep},
    {"start probing (and failover)", &Impl::probeStep},
    {"start the heartbeat and the watchdog", &Impl::timersStep},
    {"handle signals", &Impl::signalsStep},
};

AgentRuntime::AgentRuntime(RunOptions options, Config config)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(config))) {}

AgentRuntime::~AgentRuntime() = default;

int AgentRuntime::run() {
  Impl& s = *impl_;
  for (const Impl::Step& step : Impl::kStartSteps) {
    spdlog::debug("start-up: {}", step.name);
    (s.*step.run)();
  }
  // Returns once shutdown() has released every handle and their close callbacks have run.
  s.loop.run();
  s.server.reset();
  // Every probe, timer and socket has been closed by now; prove it.
  int rc = s.loop.close();
  if (rc != 0) {
    spdlog::error("event loop closed with handles still open");
    return 1;
  }
  spdlog::info("stopped cleanly");
  return 0;
}

}  // namespace mediapath::agent
