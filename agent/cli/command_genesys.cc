// Genesys Cloud lifecycle commands: `location create|plan|apply|export|validate`, `quality`,
// `audit`. Each builds one GenesysClient on a private loop and runs the loop until its operation
// completes; the same client runs inside the agent's shared loop in `run`. The requests and their
// protocols (polling, paging) are reporter/genesys's; this file parses, calls and prints.
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
#include "agent/service/probe_once.h"
#include "net/atomic_file.h"
#include "net/clock.h"
#include "net/event_loop.h"
#include "net/text.h"
#include "probes/probe.h"
#include "reporter/genesys/api_responses.h"
#include "reporter/genesys/genesys_backends.h"
#include "reporter/genesys/genesys_client.h"
#include "reporter/genesys/genesys_json_patch.h"
#include "reporter/genesys/genesys_lifecycle.h"
#include "reporter/genesys/genesys_queries.h"
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

/// --since: how far back a report looks; a positive duration. Throws UsageError.
Millis requireSince(const GenesysOptions& o) {
  auto since = parseSince(o.since);
  if (!since || since->count() <= 0) {
    throw UsageError{"--since: \"" + o.since + "\" is not a duration (e.g. 24h, 7d, 30m)"};
  }
  return *since;
}

/// One command's Genesys run: a private loop, the client, and "run until done".
class GenesysCommandRun {
 public:
  GenesysCommandRun(const Config& config, const std::string& command) : command_(command) {
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

  ~GenesysCommandRun() {
    client_.reset();
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

 private:
  std::string command_;
  net::EventLoop loop_;
  net::SystemClock clock_;
  net::SystemRandom random_;
  std::unique_ptr<reporter::GenesysClient> client_;
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

int runCreate(const GenesysOptions& o) {
  return withConfig(o, [&o](const Config& config) {
    requireLocation(config);
    auto wait = parseSince(o.wait);
    if (!wait) throw UsageError{"--wait: \"" + o.wait + "\" is not a duration (e.g. 120s)"};
    json payload = locationCreateBody(config);
    GenesysCommandRun s(config, "location create");
    bool seed = usesSeedSchema(config);
    reporter::LocationCreation creation(
        s.client(), s.loop(), s.clock(),
        seed ? reporter::LocationReadyField::kStatus : reporter::LocationReadyField::kState);
    reporter::LocationCreation::Events events;
    // Ids reaching here were checked as plain text (reporter::parseLocation).
    events.created = [](const std::string& id) { std::cerr << "created location " << id << "\n"; };
    events.waiting = [seed](const std::string& id, const std::string& status) {
      std::cerr << "location " << id << ": " << (seed ? "status " : "state ")
                << net::printable(status) << ", waiting for active...\n";
    };
    events.done = [&s](const std::string& id, bool polled, const std::string& error) {
      if (!error.empty()) return s.fail(error);
      if (polled) std::cerr << "location " << id << " is active\n";
      std::cout << id << "\n";
      s.finish(kExitOk);
    };
    creation.start(payload, *wait, std::move(events));
    return s.run();
  });
}

// ---- location plan / apply / export ---------------------------------------------------------

/// GETs the location and hands it, checked (an object with an id and a version in range), to
/// `then` with the answer it came from (for errors naming the request and status).
void getLocation(GenesysCommandRun& s, const std::string& id,
                 std::function<void(reporter::LocationAnswer, const reporter::ApiResponse&)> then) {
  reporter::getLocation(s.client(), id, [&s, then = std::move(then)](reporter::ApiResponse r) {
    if (!r.ok()) return s.fail(*r.error);
    auto location = reporter::parseLocation(std::move(r.body));
    if (!location) return s.fail(reporter::malformedAnswer(r, location.error));
    then(std::move(*location), r);
  });
}

// plan and apply: read the remote location and compute what makes it match the config: the
// seed's JSON Patch, or the platform's LocationUpdateDefinition (changed fields + version). The
// change (null or an empty patch when they match) goes to `then` on the session's loop.
struct LocationChange {
  std::string id;
  json change;  ///< JSON Patch array (seed) or update object (platform); empty/null: none
  bool seed = false;
  bool empty() const { return change.is_null() || change.empty(); }
};

void computeLocationChange(GenesysCommandRun& s, const Config& config, const std::string& id,
                           std::function<void(LocationChange)> then) {
  bool seed = usesSeedSchema(config);
  json desired = locationCreateBody(config);
  getLocation(s, id,
              [&s, then = std::move(then), desired, id, seed](
                  const reporter::LocationAnswer& remote, const reporter::ApiResponse& r) {
                LocationChange change{id, nullptr, seed};
                if (seed) {
                  change.change = reporter::buildJsonPatch(remote.object, desired);
                } else {
                  // The update carries the version read: a location without one cannot be
                  // updated safely.
                  if (!remote.version) {
                    return s.fail(reporter::malformedAnswer(
                        r, "location " + remote.id + ": \"version\" is missing"));
                  }
                  change.change = reporter::buildLocationUpdate(remote.object, desired);
                }
                then(std::move(change));
              });
}

int withLocationChange(
    const GenesysOptions& o, const char* command,
    std::function<void(GenesysCommandRun&, const Config&, LocationChange)> then) {
  return withConfig(o, [&o, command, &then](const Config& config) {
    requireLocation(config);
    std::string id = locationIdFor(config, o);
    GenesysCommandRun s(config, command);
    computeLocationChange(s, config, id, [&s, &config, &then](LocationChange change) {
      then(s, config, std::move(change));
    });
    return s.run();
  });
}

int runPlan(const GenesysOptions& o) {
  return withLocationChange(
      o, "location plan", [](GenesysCommandRun& s, const Config&, const LocationChange& change) {
        if (change.empty()) {
          std::cerr << "no changes: location " << change.id << " matches the config\n";
        } else {
          std::cout << change.change.dump(2) << "\n";
        }
        s.finish(kExitOk);
      });
}

void printApplied(const LocationChange& change, const reporter::LocationAnswer& answer) {
  if (change.seed) {
    std::cout << "applied " << change.change.size() << " operations to location " << change.id;
  } else {
    std::cout << "updated " << (change.change.size() - 1) << " fields of location " << change.id;
  }
  if (answer.version) std::cout << " (version " << *answer.version << ")";
  std::cout << "\n";
}

// Sends the change; on the platform a version conflict (someone saved the location between our
// read and our write: the reporter's isVersionConflict rule, 409/408/400) reads again and
// recomputes, at most kMaxVersionConflicts times, as the failover backends do.
void sendLocationChange(GenesysCommandRun& s, const Config& config, const LocationChange& change,
                        int conflicts) {
  if (change.empty()) {
    std::cout << "no changes: location " << change.id << " matches the config\n";
    return s.finish(kExitOk);
  }
  std::cerr << change.change.dump(2) << "\n";
  auto done = [&s, &config, change, conflicts](reporter::ApiResponse r) {
    if (!r.ok()) {
      if (!change.seed && reporter::isVersionConflict(r.error->status, r.error->message) &&
          conflicts < reporter::kMaxVersionConflicts) {
        std::cerr << "location " << change.id << " changed meanwhile (HTTP " << r.error->status
                  << "); reading it again\n";
        return computeLocationChange(s, config, change.id,
                                     [&s, &config, conflicts](const LocationChange& again) {
                                       sendLocationChange(s, config, again, conflicts + 1);
                                     });
      }
      return s.fail(*r.error);
    }
    auto answer = reporter::parseLocation(std::move(r.body));
    if (!answer) return s.fail(reporter::malformedAnswer(r, answer.error));
    printApplied(change, *answer);
    s.finish(kExitOk);
  };
  if (change.seed) {
    reporter::patchLocation(s.client(), change.id, change.change, done);
  } else {
    reporter::updateLocation(s.client(), change.id, change.change, done);
  }
}

int runApply(const GenesysOptions& o) {
  return withLocationChange(
      o, "location apply",
      [](GenesysCommandRun& s, const Config& config, const LocationChange& change) {
        sendLocationChange(s, config, change, 0);
      });
}

// The seed exports the Location alone (it holds the media settings); the platform's export adds
// the trunks and sites the failover groups write, where those settings live.
struct ExportRun {
  GenesysCommandRun& s;
  const GenesysOptions& o;
  json out;
  std::vector<std::pair<std::string, std::string>> pending;  ///< ("trunkbasesettings"|"sites", id)

  void next() {
    if (pending.empty()) return write();
    std::string kind = pending.front().first;
    std::string id = pending.front().second;
    pending.erase(pending.begin());
    auto got = [this, kind](reporter::ApiResponse r) {
      if (!r.ok()) return s.fail(*r.error);
      // Only checked answers reach the file: a trunk or site without an id or version is not one.
      auto object = kind == "sites" ? reporter::parseSite(std::move(r.body))
                                    : reporter::parseTrunkBaseSettings(std::move(r.body));
      if (!object) return s.fail(reporter::malformedAnswer(r, object.error));
      out[kind].push_back(std::move(object->object));
      next();
    };
    if (kind == "sites") {
      reporter::getSite(s.client(), id, got);
    } else {
      reporter::getTrunkBaseSettings(s.client(), id, got);
    }
  }

  // Reached only after every answer was read and checked; the file is replaced atomically, so a
  // failure anywhere before leaves an existing file untouched.
  void write() {
    std::string body = out.dump(2) + "\n";
    if (o.output.empty()) {
      std::cout << body;
      return s.finish(kExitOk);
    }
    try {
      net::writeFileAtomically(o.output, body);
    } catch (const std::system_error& e) {
      return s.fail(e.what());
    }
    std::cerr << "wrote " << o.output << "\n";
    s.finish(kExitOk);
  }
};

int runExport(const GenesysOptions& o) {
  return withConfig(o, [&o](const Config& config) {
    std::string id = locationIdFor(config, o);
    GenesysCommandRun s(config, "location export");
    ExportRun run{s, o, nullptr, {}};
    bool seed = usesSeedSchema(config);
    if (!seed) {
      run.out = {{"trunkbasesettings", json::array()}, {"sites", json::array()}};
      for (const FailoverGroup& g : config.failover) {
        if (!g.apply_to.trunk_base_id.empty()) {
          run.pending.emplace_back("trunkbasesettings", g.apply_to.trunk_base_id);
        }
        if (!g.apply_to.site_id.empty()) run.pending.emplace_back("sites", g.apply_to.site_id);
      }
    }
    getLocation(s, id, [&run, seed](reporter::LocationAnswer remote, const reporter::ApiResponse&) {
      if (seed) {
        run.out = std::move(remote.object);
      } else {
        run.out["location"] = std::move(remote.object);
      }
      run.next();
    });
    return s.run();
  });
}

// ---- quality --------------------------------------------------------------------------------

int runQuality(const GenesysOptions& o) {
  return withConfig(o, [&o](const Config& config) {
    Millis since = requireSince(o);
    std::vector<reporter::DimensionFilter> filters;
    for (const std::string& f : o.filters) {
      auto eq = f.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == f.size()) {
        throw UsageError{"--filter: \"" + f + "\" is not DIMENSION=VALUE (e.g. edgeId=...)"};
      }
      filters.push_back({f.substr(0, eq), f.substr(eq + 1)});
    }
    GenesysCommandRun s(config, "quality");
    std::string interval = reporter::isoInterval(
        s.clock().wallNow(), std::chrono::duration_cast<std::chrono::seconds>(since));
    reporter::queryConversationDetails(
        s.client(), s.clock(), interval, filters,
        [&s, interval](const std::vector<json>& conversations, const std::string& error) {
          if (!error.empty()) return s.fail(error);
          std::cout << "interval: " << interval << "\n";
          std::cout << reporter::formatQuality(reporter::summarizeQuality(conversations));
          s.finish(kExitOk);
        });
    return s.run();
  });
}

// ---- audit ----------------------------------------------------------------------------------

int runAudit(const GenesysOptions& o) {
  if (o.verify && !o.local) {
    std::cerr << "mediapath-agent: audit: --verify checks the local trail: add --local\n";
    return kExitUsage;
  }
  if (o.local) {
    // The local trail needs no Genesys access, but the config must still be valid.
    if (!loadConfigForCommand(o.config)) return kExitUsage;
    Millis since{0};
    try {
      since = requireSince(o);
    } catch (const UsageError& e) {
      std::cerr << "mediapath-agent: audit: " << e.message << "\n";
      return kExitUsage;
    }
    return printLocalAudit(o.state_dir.empty() ? defaultStateDirectory() : o.state_dir, since,
                           o.verify);
  }
  return withConfig(o, [&o](const Config& config) {
    Millis since = requireSince(o);
    std::vector<reporter::AuditTarget> targets;
    std::string location_id = !o.location_id.empty()
                                  ? o.location_id
                                  : (config.genesys ? config.genesys->location_id : "");
    if (!location_id.empty()) targets.push_back(reporter::locationAuditTarget(location_id));
    auto add = [&targets](const reporter::AuditTarget& target) {
      bool seen = std::any_of(targets.begin(), targets.end(), [&target](const auto& t) {
        return t.entity_id == target.entity_id && t.entity_type == target.entity_type;
      });
      if (!seen) targets.push_back(target);
    };
    for (const auto& g : config.failover) {
      if (!g.apply_to.trunk_base_id.empty())
        add(reporter::trunkAuditTarget(g.apply_to.trunk_base_id));
      if (!g.apply_to.site_id.empty()) add(reporter::siteAuditTarget(g.apply_to.site_id));
    }
    if (targets.empty()) {
      throw UsageError{config.source +
                       ": /genesys/location_id: missing: audit needs a location id or a failover "
                       "group writing to a trunk or a site"};
    }
    GenesysCommandRun s(config, "audit");
    std::string interval = reporter::isoInterval(
        s.clock().wallNow(), std::chrono::duration_cast<std::chrono::seconds>(since));
    reporter::AuditQuery query(s.client(), s.loop(), s.clock());
    query.start(interval, std::move(targets), std::chrono::seconds(120),
                [&s, interval](const std::vector<json>& entries, const std::string& error) {
                  if (!error.empty()) return s.fail(error);
                  std::cout << "interval: " << interval << "\n";
                  if (entries.empty()) std::cout << "no audit entries\n";
                  for (const auto& e : entries) std::cout << reporter::formatAuditEntry(e);
                  s.finish(kExitOk);
                });
    return s.run();
  });
}

// ---- location validate ----------------------------------------------------------------------

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

    auto results = probeOnce(planned, config.dns, config.probing.timeout);

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
      if (r.rtt) std::cout << ", rtt " << net::formatMillis(r.rtt->avg_ms) + " ms";
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
      "audit", "Platform audit entries for the location and the failover trunks and sites");
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
