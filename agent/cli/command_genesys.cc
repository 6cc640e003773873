// Genesys Cloud lifecycle commands: `location create|plan|apply|export|validate`, `quality`,
// `audit`. Each builds one GenesysClient on a private loop and runs the loop until its operation
// completes; the same client runs inside the agent's shared loop in `run`.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "agent/cli/cli.h"
#include "agent/cli/exit_codes.h"
#include "agent/cli/local_audit.h"
#include "agent/config/config_loader.h"
#include "agent/config/genesys_options.h"
#include "agent/config/location_spec.h"
#include "agent/config/probe_targets.h"
#include "net/ares_resolver.h"
#include "net/atomic_file.h"
#include "net/clock.h"
#include "net/event_loop.h"
#include "net/uv_timer.h"
#include "probes/probe.h"
#include "probes/probe_resources.h"
#include "reporter/genesys/genesys_client.h"
#include "reporter/genesys/genesys_json_patch.h"
#include "reporter/genesys/genesys_reports.h"

namespace mediapath::agent {
namespace {

using nlohmann::json;
using Millis = std::chrono::milliseconds;

struct GenesysOptions {
  std::string config;
  std::string output;
  std::string location_id;
  std::string since = "24h";
  std::string wait = "120s";
  std::vector<std::string> filters;  ///< quality: DIMENSION=VALUE
  bool local = false;                ///< audit: the agent's own trail instead of the platform's
  bool verify = false;               ///< audit --local: check hashes and chain
  std::string state_dir;             ///< audit --local
};

/// Raised inside a command for a usage/config problem (exit 2) with a ready message.
struct UsageError {
  std::string message;
};

// Reads of platform answers never throw: an exception must not unwind through libuv's frames.
std::string strField(const json& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::size_t countField(const json& j, const char* key) {
  if (!j.is_object()) return 0;
  auto it = j.find(key);
  return it != j.end() && it->is_number_unsigned() ? it->get<std::size_t>() : 0;
}

std::optional<Millis> parseSince(const std::string& text) {
  // Days are common for reports ("7d"); the config grammar stops at hours.
  if (!text.empty() && text.back() == 'd') {
    auto days = parseDuration(text.substr(0, text.size() - 1) + "h");
    if (!days) return std::nullopt;
    return Millis(days->count() * 24);
  }
  auto d = parseDuration(text);
  if (!d) return std::nullopt;
  return Millis(d->count());
}

/// One command's Genesys session: a private loop, the client, and "run until done".
class Session {
 public:
  Session(const Config& config, const std::string& command) : command_(command) {
    reporter::GenesysClientOptions o;
    try {
      o = genesysClientOptions(config, command);
    } catch (const GenesysSetupError& e) {
      throw UsageError{e.what()};
    }
    client_ = std::make_unique<reporter::GenesysClient>(loop_, std::move(o), clock_, random_);
    // Operation names and statuses only: URLs with ids are in errors, secrets are nowhere.
    client_->setObserver([](const std::string& operation, int status) {
      spdlog::debug("genesys {}: {}", operation,
                    status == 0 ? std::string("no response") : std::to_string(status));
    });
  }

  ~Session() {
    client_.reset();
    timer_.reset();
    loop_.close();
  }

  reporter::GenesysClient& client() { return *client_; }
  net::EventLoop& loop() { return loop_; }
  net::Clock& clock() { return clock_; }

  /// Runs the loop until finish() is called; returns its exit code.
  int run() {
    loop_.run();
    if (!result_) {
      std::cerr << "mediapath-agent: " << command_ << ": internal error: operation stalled\n";
      return kExitFailed;
    }
    return *result_;
  }

  void finish(int code) {
    result_ = code;
    client_->cancelAll();
    timer_.reset();
    loop_.stop();
  }

  void fail(const reporter::ApiError& e) {
    std::cerr << "mediapath-agent: " << command_ << ": " << e.describe() << "\n";
    finish(kExitFailed);
  }

  void fail(const std::string& message) {
    std::cerr << "mediapath-agent: " << command_ << ": " << message << "\n";
    finish(kExitFailed);
  }

  /// Runs `fn` after `delay` on the loop (polling).
  void after(Millis delay, std::function<void()> fn) {
    if (!timer_) timer_ = std::make_unique<net::UvTimer>(loop_.get());
    timer_->start(delay, std::move(fn));
  }

 private:
  std::string command_;
  net::EventLoop loop_;
  net::SystemClock clock_;
  net::SystemRandom random_;
  std::unique_ptr<reporter::GenesysClient> client_;
  std::unique_ptr<net::UvTimer> timer_;
  std::optional<int> result_;
};

std::string locationIdFor(const Config& config, const GenesysOptions& o) {
  if (!o.location_id.empty()) return o.location_id;
  if (config.genesys && !config.genesys->location_id.empty()) return config.genesys->location_id;
  throw UsageError{config.source +
                   ": /genesys/location_id: missing: give it in the config or --location-id"};
}

const Config& requireLocation(const Config& config) {
  if (!config.location) {
    throw UsageError{config.source + ": /location: missing: this command needs a location section"};
  }
  return config;
}

/// Loads the config and runs `body`, mapping UsageError to exit 2.
template <typename Body>
int withConfig(const GenesysOptions& o, Body body) {
  auto config = loadConfigForCommand(o.config);
  if (!config) return kExitUsage;
  try {
    return body(*config);
  } catch (const UsageError& e) {
    std::cerr << e.message << "\n";
    return kExitUsage;
  }
}

// ---- location create ------------------------------------------------------------------------

void pollUntilActive(Session& s, const std::string& id,
                     std::chrono::steady_clock::time_point deadline, std::string last_status) {
  s.client().call(
      {"get_location", "GET", "/api/v2/locations/" + id, std::nullopt, {}},
      [&s, id, deadline, last_status](reporter::ApiResponse r) {
        if (!r.ok()) return s.fail(*r.error);
        std::string status = strField(r.body, "status");
        if (status == "active") {
          std::cerr << "location " << id << " is active\n";
          std::cout << id << "\n";
          return s.finish(kExitOk);
        }
        if (status != last_status) {
          std::cerr << "location " << id << ": status " << status << ", waiting for active...\n";
        }
        if (s.clock().now() >= deadline) {
          return s.fail("location " + id + " still \"" + status +
                        "\" after the wait limit (it exists: delete or reuse it)");
        }
        s.after(Millis(250),
                [&s, id, deadline, status] { pollUntilActive(s, id, deadline, status); });
      });
}

int runCreate(const GenesysOptions& o) {
  return withConfig(o, [&o](const Config& config) {
    requireLocation(config);
    auto wait = parseSince(o.wait);
    if (!wait) throw UsageError{"--wait: \"" + o.wait + "\" is not a duration (e.g. 120s)"};
    json payload = reporter::renderLocationPayload(locationSpecFromConfig(config));
    Session s(config, "location create");
    auto deadline = s.clock().now() + *wait;
    s.client().call({"create_location", "POST", "/api/v2/locations", payload, "application/json"},
                    [&s, deadline](reporter::ApiResponse r) {
                      if (!r.ok()) return s.fail(*r.error);
                      std::string id = strField(r.body, "id");
                      if (id.empty()) return s.fail("the platform answered without an id");
                      std::cerr << "created location " << id << "\n";
                      std::string status = strField(r.body, "status");
                      if (status == "active") {
                        std::cout << id << "\n";
                        return s.finish(kExitOk);
                      }
                      std::cerr << "location " << id << ": status " << status
                                << ", waiting for active...\n";
                      pollUntilActive(s, id, deadline, status);
                    });
    return s.run();
  });
}

// ---- location plan / apply / export ---------------------------------------------------------

/// GETs the location and hands its body to `then`.
void getLocation(Session& s, const std::string& id, std::function<void(json)> then) {
  s.client().call({"get_location", "GET", "/api/v2/locations/" + id, std::nullopt, {}},
                  [&s, then = std::move(then)](reporter::ApiResponse r) {
                    if (!r.ok()) return s.fail(*r.error);
                    then(std::move(r.body));
                  });
}

// plan and apply: read the remote location, diff it against the config's payload, then hand the
// JSON Patch (empty when they match) to `then` on the session's loop.
int withLocationPatch(const GenesysOptions& o, const char* command,
                      std::function<void(Session&, const std::string&, json)> then) {
  return withConfig(o, [&o, command, &then](const Config& config) {
    requireLocation(config);
    std::string id = locationIdFor(config, o);
    json desired = reporter::renderLocationPayload(locationSpecFromConfig(config));
    Session s(config, command);
    getLocation(s, id, [&s, &then, desired, id](json remote) {
      then(s, id, reporter::buildJsonPatch(remote, desired));
    });
    return s.run();
  });
}

int runPlan(const GenesysOptions& o) {
  return withLocationPatch(o, "location plan", [](Session& s, const std::string& id, json patch) {
    if (patch.empty()) {
      std::cerr << "no changes: location " << id << " matches the config\n";
    } else {
      std::cout << patch.dump(2) << "\n";
    }
    s.finish(kExitOk);
  });
}

int runApply(const GenesysOptions& o) {
  return withLocationPatch(o, "location apply", [](Session& s, const std::string& id, json patch) {
    if (patch.empty()) {
      std::cout << "no changes: location " << id << " matches the config\n";
      return s.finish(kExitOk);
    }
    std::cerr << patch.dump(2) << "\n";
    s.client().call({"patch_location", "PATCH", "/api/v2/locations/" + id, patch,
                     "application/json-patch+json"},
                    [&s, id, n = patch.size()](reporter::ApiResponse r) {
                      if (!r.ok()) return s.fail(*r.error);
                      std::cout << "applied " << n << " operations to location " << id;
                      if (r.body.contains("version")) {
                        std::cout << " (version " << r.body["version"].dump() << ")";
                      }
                      std::cout << "\n";
                      s.finish(kExitOk);
                    });
  });
}

int runExport(const GenesysOptions& o) {
  return withConfig(o, [&o](const Config& config) {
    std::string id = locationIdFor(config, o);
    Session s(config, "location export");
    getLocation(s, id, [&s, &o, id](json remote) {
      std::string body = remote.dump(2) + "\n";
      if (o.output.empty()) {
        std::cout << body;
        return s.finish(kExitOk);
      }
      try {
        net::writeFileAtomically(o.output, body);
      } catch (const std::system_error& e) {
        return s.fail(e.what());
      }
      std::cerr << "wrote " << o.output << " (location " << id << ")\n";
      s.finish(kExitOk);
    });
    return s.run();
  });
}

// ---- quality --------------------------------------------------------------------------------

constexpr int kQualityPageSize = 100;  // the platform's maximum for details queries

void queryQualityPage(Session& s, const std::string& interval,
                      const std::vector<reporter::DimensionFilter>& filters, int page,
                      std::shared_ptr<std::vector<json>> conversations) {
  s.client().call(
      {"query_conversation_details", "POST", "/api/v2/analytics/conversations/details/query",
       reporter::qualityQuery(interval, page, kQualityPageSize, filters), "application/json"},
      [&s, interval, filters, page, conversations](reporter::ApiResponse r) {
        if (!r.ok()) return s.fail(*r.error);
        std::size_t total = countField(r.body, "totalHits");
        std::size_t got = 0;
        if (r.body.contains("conversations") && r.body["conversations"].is_array()) {
          for (auto& c : r.body["conversations"]) {
            conversations->push_back(std::move(c));
            ++got;
          }
        }
        // Page until every hit is read; an empty page ends it too (the data moved under us).
        if (got > 0 && conversations->size() < total) {
          return queryQualityPage(s, interval, filters, page + 1, conversations);
        }
        std::cout << "interval: " << interval << "\n";
        std::cout << reporter::formatQuality(reporter::summarizeQuality(*conversations));
        s.finish(kExitOk);
      });
}

int runQuality(const GenesysOptions& o) {
  return withConfig(o, [&o](const Config& config) {
    auto since = parseSince(o.since);
    if (!since || since->count() <= 0) {
      throw UsageError{"--since: \"" + o.since + "\" is not a duration (e.g. 24h, 7d, 30m)"};
    }
    std::vector<reporter::DimensionFilter> filters;
    for (const std::string& f : o.filters) {
      auto eq = f.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == f.size()) {
        throw UsageError{"--filter: \"" + f + "\" is not DIMENSION=VALUE (e.g. edgeId=...)"};
      }
      filters.push_back({f.substr(0, eq), f.substr(eq + 1)});
    }
    Session s(config, "quality");
    std::string interval = reporter::isoInterval(
        s.clock().wallNow(), std::chrono::duration_cast<std::chrono::seconds>(*since));
    queryQualityPage(s, interval, filters, 1, std::make_shared<std::vector<json>>());
    return s.run();
  });
}

// ---- audit ----------------------------------------------------------------------------------

struct AuditTarget {
  std::string service;  ///< Directory (Locations), Telephony (trunks)
  std::string entity_type;
  std::string entity_id;
};

struct AuditRun {
  std::string interval;
  std::vector<AuditTarget> targets;
  std::size_t next = 0;
  std::vector<json> entries;
  std::chrono::steady_clock::time_point deadline;
};

void runNextAuditQuery(Session& s, std::shared_ptr<AuditRun> run);

void printAudit(Session& s, const AuditRun& run) {
  std::vector<json> entries = run.entries;
  std::stable_sort(entries.begin(), entries.end(), [](const json& a, const json& b) {
    return strField(a, "eventDate") < strField(b, "eventDate");
  });
  std::cout << "interval: " << run.interval << "\n";
  if (entries.empty()) std::cout << "no audit entries\n";
  for (const auto& e : entries) std::cout << reporter::formatAuditEntry(e);
  s.finish(kExitOk);
}

void fetchAuditResults(Session& s, std::shared_ptr<AuditRun> run, const std::string& query_id,
                       const std::string& cursor) {
  std::string path = "/api/v2/audits/query/" + query_id + "/results?pageSize=500";
  if (!cursor.empty()) path += "&cursor=" + cursor;
  s.client().call({"get_audit_results", "GET", path, std::nullopt, {}},
                  [&s, run, query_id](reporter::ApiResponse r) {
                    if (!r.ok()) return s.fail(*r.error);
                    const AuditTarget& t = run->targets[run->next];
                    if (r.body.contains("entities") && r.body["entities"].is_array()) {
                      for (auto& e : r.body["entities"]) {
                        // The query filters already; this guards against a platform that
                        // ignores a filter (the trail must be about our entity only).
                        if (e.contains("entity") && e["entity"].is_object() &&
                            strField(e["entity"], "id") != t.entity_id) {
                          continue;
                        }
                        run->entries.push_back(std::move(e));
                      }
                    }
                    std::string next_cursor = strField(r.body, "cursor");
                    if (!next_cursor.empty()) {
                      return fetchAuditResults(s, run, query_id, next_cursor);
                    }
                    ++run->next;
                    runNextAuditQuery(s, run);
                  });
}

void pollAuditQuery(Session& s, std::shared_ptr<AuditRun> run, const std::string& query_id) {
  s.client().call(
      {"get_audit_query", "GET", "/api/v2/audits/query/" + query_id, std::nullopt, {}},
      [&s, run, query_id](reporter::ApiResponse r) {
        if (!r.ok()) return s.fail(*r.error);
        std::string state = strField(r.body, "state");
        if (state == "Succeeded") return fetchAuditResults(s, run, query_id, "");
        if (state == "Failed" || state == "Cancelled") {
          return s.fail("audit query " + query_id + " ended " + state);
        }
        if (s.clock().now() >= run->deadline) {
          return s.fail("audit query " + query_id + " still " + state + " after the wait limit");
        }
        s.after(Millis(250), [&s, run, query_id] { pollAuditQuery(s, run, query_id); });
      });
}

void runNextAuditQuery(Session& s, std::shared_ptr<AuditRun> run) {
  if (run->next >= run->targets.size()) return printAudit(s, *run);
  const AuditTarget& t = run->targets[run->next];
  s.client().call({"create_audit_query", "POST", "/api/v2/audits/query",
                   reporter::auditQuery(run->interval, t.service, t.entity_type, t.entity_id),
                   "application/json"},
                  [&s, run](reporter::ApiResponse r) {
                    if (!r.ok()) return s.fail(*r.error);
                    std::string id = strField(r.body, "id");
                    if (id.empty()) return s.fail("audit query answered without an id");
                    pollAuditQuery(s, run, id);
                  });
}

int runAudit(const GenesysOptions& o) {
  if (o.verify && !o.local) {
    std::cerr << "mediapath-agent: audit: --verify checks the local trail: add --local\n";
    return kExitUsage;
  }
  if (o.local) {
    // The local trail needs no Genesys access, but the config must still be valid.
    if (!loadConfigForCommand(o.config)) return kExitUsage;
    auto since = parseSince(o.since);
    if (!since || since->count() <= 0) {
      std::cerr << "mediapath-agent: audit: --since: \"" << o.since
                << "\" is not a duration (e.g. 24h, 7d, 30m)\n";
      return kExitUsage;
    }
    return printLocalAudit(o.state_dir.empty() ? defaultStateDirectory() : o.state_dir, *since,
                           o.verify);
  }
  return withConfig(o, [&o](const Config& config) {
    auto since = parseSince(o.since);
    if (!since || since->count() <= 0) {
      throw UsageError{"--since: \"" + o.since + "\" is not a duration (e.g. 24h, 7d, 30m)"};
    }
    auto run = std::make_shared<AuditRun>();
    std::string location_id = !o.location_id.empty()
                                  ? o.location_id
                                  : (config.genesys ? config.genesys->location_id : "");
    if (!location_id.empty()) run->targets.push_back({"Directory", "Location", location_id});
    for (const auto& g : config.failover) {
      const std::string& trunk = g.apply_to.trunk_base_id;
      if (trunk.empty()) continue;
      bool seen = std::any_of(run->targets.begin(), run->targets.end(),
                              [&trunk](const AuditTarget& t) { return t.entity_id == trunk; });
      if (!seen) run->targets.push_back({"Telephony", "TrunkBase", trunk});
    }
    if (run->targets.empty()) {
      throw UsageError{config.source +
                       ": /genesys/location_id: missing: audit needs a location id or a failover "
                       "group writing to a trunk"};
    }
    Session s(config, "audit");
    run->interval = reporter::isoInterval(s.clock().wallNow(),
                                          std::chrono::duration_cast<std::chrono::seconds>(*since));
    run->deadline = s.clock().now() + std::chrono::seconds(120);
    runNextAuditQuery(s, run);
    return s.run();
  });
}

// ---- location validate ----------------------------------------------------------------------

std::string fixedMs(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f ms", ms);
  return buf;
}

/// The seed's step 2: the offline checks are the config loader's (CIDRs, SIP port range, target
/// references); this adds live reachability of the location's STUN and TURN servers, probed the
/// way the agent probes them (STUN Binding, TURN Allocate with credentials then release).
int runLocationValidate(const GenesysOptions& o) {
  return withConfig(o, [&o](const Config& config) {
    requireLocation(config);
    std::cout << o.config << ": offline checks ok (ip allowlist, SIP ports "
              << config.location->allowed_sip_ports.min << "-"
              << config.location->allowed_sip_ports.max << ", media targets)\n";
    std::vector<PlannedTarget> planned;
    try {
      for (const std::string* name : {&config.location->media.stun, &config.location->media.turn}) {
        const TargetConfig* t = config.findTarget(*name);
        if (t == nullptr) throw UsageError{config.source + ": /location/media: unknown " + *name};
        planned.push_back(planTarget(*t, config.probing));
      }
    } catch (const TargetError& e) {
      throw UsageError{config.source + ": " + e.what()};
    }

    net::EventLoop loop;
    net::SystemClock clock;
    net::SystemRandom random;
    std::vector<std::optional<probes::ProbeResult>> results(planned.size());
    {
      net::AresOptions ares;
      ares.servers = dnsServerList(config.dns);
      ares.query_timeout = config.probing.timeout;
      net::AresResolver resolver(loop, ares, clock);
      probes::ProbeResources resources;
      probes::ProbeContext context{&loop, &resolver, &clock, &random, &resources};
      std::vector<std::unique_ptr<probes::Probe>> running;
      std::size_t done = 0;
      Millis longest{0};
      for (std::size_t i = 0; i < planned.size(); ++i) {
        const probes::ProbeTarget& target = planned[i].target;
        longest = std::max(
            longest, Millis(target.timeout * 2 + target.burst.spacing * target.burst.packets));
        running.push_back(probes::makeProbe(target.kind, context));
        if (!running.back())
          throw UsageError{"no probe for kind " + std::string(probes::kindName(target.kind))};
        running.back()->start(target, [&, i](probes::ProbeResult r) {
          results[i] = std::move(r);
          if (++done == planned.size()) loop.stop();
        });
      }
      // A backstop: each probe enforces its own timeout, this only guards against a bug.
      net::UvTimer backstop(loop.get());
      backstop.start(longest + Millis(5000), [&loop] { loop.stop(); });
      loop.run();
      for (auto& p : running) p->cancel();
      running.clear();
      resolver.cancelAll();
    }
    loop.run();
    loop.close();

    bool all_ok = true;
    for (std::size_t i = 0; i < planned.size(); ++i) {
      const probes::ProbeTarget& t = planned[i].target;
      std::cout << probes::kindName(t.kind) << " " << t.name << " " << t.host << ":" << t.port
                << ": ";
      if (!results[i]) {
        std::cout << "UNREACHABLE (no result)\n";
        all_ok = false;
        continue;
      }
      const probes::ProbeResult& r = *results[i];
      if (!r.ok) {
        std::cout << "UNREACHABLE (" << r.error << ")\n";
        all_ok = false;
        continue;
      }
      std::cout << "reachable";
      if (r.rtt) std::cout << ", rtt " << fixedMs(r.rtt->avg_ms);
      if (!r.mapped_address.empty()) std::cout << ", mapped " << r.mapped_address;
      if (!r.relayed_address.empty()) std::cout << ", relayed " << r.relayed_address;
      std::cout << "\n";
    }
    return all_ok ? kExitOk : kExitFailed;
  });
}

}  // namespace

void addGenesysCommands(CommandTree& tree, CommandAction& action) {
  auto opts = std::make_shared<GenesysOptions>();
  auto bind = [&action, opts](CLI::App* cmd, int (*fn)(const GenesysOptions&)) {
    cmd->add_option("--config", opts->config, "Config file")->required();
    cmd->callback([&action, opts, fn] { action.run = [opts, fn] { return fn(*opts); }; });
  };

  CLI::App* validate = tree.location->add_subcommand(
      "validate", "Check the location config offline, then probe its STUN and TURN servers");
  bind(validate, runLocationValidate);

  CLI::App* create = tree.location->add_subcommand(
      "create", "Create the location from the config, wait until active, print its id");
  create->add_option("--wait", opts->wait, "How long to wait for status active")
      ->capture_default_str();
  bind(create, runCreate);

  CLI::App* plan = tree.location->add_subcommand(
      "plan", "Print the JSON Patch that would make the remote location match the config");
  plan->add_option("--location-id", opts->location_id, "Override genesys.location_id");
  bind(plan, runPlan);

  CLI::App* apply = tree.location->add_subcommand(
      "apply", "Send the JSON Patch that makes the remote location match the config");
  apply->add_option("--location-id", opts->location_id, "Override genesys.location_id");
  bind(apply, runApply);

  CLI::App* exp = tree.location->add_subcommand("export", "Print the remote location as JSON");
  exp->add_option("--location-id", opts->location_id, "Override genesys.location_id");
  exp->add_option("--output", opts->output, "Write to FILE atomically instead of stdout");
  bind(exp, runExport);

  CLI::App* quality = tree.root->add_subcommand(
      "quality", "Conversation quality (MOS) from the analytics conversation details");
  quality->add_option("--since", opts->since, "Look back this far (24h, 7d, 30m)")
      ->capture_default_str();
  quality->add_option("--filter", opts->filters,
                      "Only sessions whose DIMENSION=VALUE (edgeId, remote, mediaType, ...; "
                      "repeatable, all must match)");
  bind(quality, runQuality);

  CLI::App* audit = tree.root->add_subcommand(
      "audit", "Platform audit entries for the location and the failover trunks");
  audit->add_option("--since", opts->since, "Look back this far (24h, 7d, 30m)")
      ->capture_default_str();
  audit->add_option("--location-id", opts->location_id, "Override genesys.location_id");
  audit->add_flag(
      "--local", opts->local,
      "The agent's own decision trail (STATE_DIR/audit.jsonl) instead of the platform's");
  audit->add_flag("--verify", opts->verify,
                  "With --local: check every record's SHA-256 and the chain; exit 1 on a problem");
  audit->add_option("--state-dir", opts->state_dir,
                    "State directory (default: $STATE_DIRECTORY, else /var/lib/mediapath-agent)");
  bind(audit, runAudit);
}

}  // namespace mediapath::agent
