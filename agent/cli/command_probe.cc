// `probe`: one round of every selected target, concurrently on one loop, then a report.

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "agent/cli/cli.h"
#include "agent/cli/exit_codes.h"
#include "agent/config/probe_targets.h"
#include "agent/service/file_limit.h"
#include "agent/service/probe_once.h"
#include "net/clock.h"
#include "net/text.h"

namespace mediapath::agent {
namespace {

struct ProbeOptions {
  std::string config;
  std::vector<std::string> targets;
  std::string format = "table";
};

std::string unknownTargetMessage(const Config& config, const std::string& name) {
  std::vector<std::string_view> names;
  std::string all;
  for (const auto& t : config.targets) {
    names.emplace_back(t.name);
    all += (all.empty() ? "" : ", ") + t.name;
  }
  std::string msg = config.source + ": no target named \"" + name + "\"";
  if (auto best = net::closestMatch(name, names)) msg += "; did you mean \"" + *best + "\"?";
  return msg + " (targets: " + all + ")";
}

// Milliseconds to the microsecond: enough precision, stable-looking output.
double roundMs(double ms) { return std::round(ms * 1000.0) / 1000.0; }

nlohmann::ordered_json msStats(const std::optional<probes::RttStats>& s) {
  if (!s) return nullptr;
  return {{"min", roundMs(s->min_ms)}, {"avg", roundMs(s->avg_ms)}, {"max", roundMs(s->max_ms)}};
}

template <typename T>
nlohmann::ordered_json orNull(const std::optional<T>& v) {
  return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
}

// `tls`: the target runs over TLS, so its record carries tls_version and cert_not_after (null
// when the handshake did not get that far).
nlohmann::ordered_json toJson(const probes::ProbeResult& r, bool tls) {
  nlohmann::ordered_json j;
  j["target"] = r.target;
  j["kind"] = std::string(probes::kindName(r.kind));
  j["address"] = r.address;
  j["ok"] = r.ok;
  j["error"] = r.ok ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.error);
  j["sent"] = r.sent;
  j["received"] = r.received;
  j["loss"] = r.loss;
  j["rtt_ms"] = msStats(r.rtt);
  j["jitter_ms"] = r.jitter_ms ? nlohmann::ordered_json(roundMs(*r.jitter_ms)) : nullptr;
  j["mos"] = r.mos ? nlohmann::ordered_json(std::round(*r.mos * 100.0) / 100.0) : nullptr;
  if (r.dns_ms) j["dns_ms"] = roundMs(*r.dns_ms);
  if (r.connect_ms) j["connect_ms"] = roundMs(*r.connect_ms);
  j["timestamps"] = std::string(probes::timestampsName(r.timestamps));
  switch (r.kind) {
    case probes::Kind::kStun:
      j["mapped_address"] = r.mapped_address;
      break;
    case probes::Kind::kTurn:
      j["relayed_address"] = r.relayed_address;
      break;
    case probes::Kind::kSip:
      j["status_code"] = r.status_code ? nlohmann::ordered_json(*r.status_code) : nullptr;
      break;
    case probes::Kind::kDns:
      j["addresses"] = r.addresses;
      j["lookup_ms"] = r.lookup_ms ? nlohmann::ordered_json(roundMs(*r.lookup_ms)) : nullptr;
      break;
    case probes::Kind::kRelay:
      j["relayed_address"] = r.relayed_address;
      j["one_way_ms"] = msStats(r.one_way);
      j["loss_ab"] = orNull(r.loss_ab);
      j["loss_ba"] = orNull(r.loss_ba);
      j["reordered"] = orNull(r.reordered);
      j["duplicated"] = orNull(r.duplicated);
      j["relayed_address_b"] = r.relayed_address_b;  // on the peer's server with `peer`
      break;
    case probes::Kind::kNat:
      j["mapped_address"] = r.mapped_address;
      j["nat_mapping"] = r.nat_mapping;
      j["nat_filtering"] = r.nat_filtering;
      j["hairpinning"] = orNull(r.hairpinning);
      break;
    case probes::Kind::kTcp:
      break;
  }
  if (tls) {
    j["tls_version"] = r.tls_version.empty() ? nlohmann::ordered_json(nullptr)
                                             : nlohmann::ordered_json(r.tls_version);
    j["cert_not_after"] = r.cert_not_after
                              ? nlohmann::ordered_json(net::formatUtc(*r.cert_not_after))
                              : nlohmann::ordered_json(nullptr);
  }
  return j;
}

void printTable(const std::vector<probes::ProbeResult>& results, std::ostream& out) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"TARGET", "KIND", "ADDRESS", "RESULT", "RTT MS MIN/AVG/MAX", "JITTER MS", "LOSS",
                  "MOS", "DETAIL"});
  for (const auto& r : results) {
    std::string rtt = r.rtt ? net::formatMillis(r.rtt->min_ms) + "/" +
                                  net::formatMillis(r.rtt->avg_ms) + "/" +
                                  net::formatMillis(r.rtt->max_ms)
                            : "-";
    std::string loss = r.sent > 0
                           ? net::formatFixed(r.loss * 100.0, 0) + "% (" +
                                 std::to_string(r.received) + "/" + std::to_string(r.sent) + ")"
                           : "-";
    rows.push_back({r.target, std::string(probes::kindName(r.kind)), r.address,
                    r.ok ? "ok" : "FAIL", rtt,
                    r.jitter_ms ? net::formatFixed(*r.jitter_ms, 2) : "-", loss,
                    r.mos ? net::formatFixed(*r.mos, 2) : "-", probes::summary(r)});
  }
  printColumns(rows, out);
}

int runProbe(const ProbeOptions& o) {
  auto config = loadConfigForCommand(o.config);
  if (!config) return kExitUsage;

  // Selection keeps config order; --target may repeat a name, it is probed once.
  std::vector<const TargetConfig*> selected;
  for (const auto& name : o.targets) {
    if (config->findTarget(name) == nullptr) {
      std::cerr << unknownTargetMessage(*config, name) << "\n";
      return kExitUsage;
    }
  }
  for (const auto& t : config->targets) {
    if (o.targets.empty() ||
        std::find(o.targets.begin(), o.targets.end(), t.name) != o.targets.end()) {
      selected.push_back(&t);
    }
  }
  if (selected.empty()) {
    std::cerr << o.config << ": /targets: no targets to probe\n";
    return kExitUsage;
  }

  std::vector<PlannedTarget> planned;
  try {
    for (const TargetConfig* t : selected) planned.push_back(planTarget(*t, config->probing));
  } catch (const TargetError& e) {
    std::cerr << o.config << ": " << e.what() << "\n";
    return kExitUsage;
  }

  OpenFileLimit file_limit = raiseOpenFileLimit();
  if (auto warning = openFileLimitWarning(descriptorsNeeded(planned), file_limit);
      !warning.empty()) {
    std::cerr << "warning: " << warning << "\n";
  }

  auto results =
      probeOnce(planned, config->dns, config->probing.timeout, probeSocketLimit(file_limit));

  std::vector<probes::ProbeResult> ordered;
  std::vector<bool> tls;
  bool all_ok = true;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    if (!r) continue;  // cannot happen: every round reports or times out
    all_ok = all_ok && r->ok;
    ordered.push_back(*r);
    tls.push_back(i < planned.size() && planned[i].target.transport == probes::Transport::kTls);
  }
  if (ordered.size() != planned.size()) all_ok = false;
  if (o.format == "json") {
    for (std::size_t i = 0; i < ordered.size(); ++i) {
      std::cout << toJson(ordered[i], tls[i]).dump() << "\n";
    }
  } else {
    printTable(ordered, std::cout);
  }
  std::cout.flush();
  return all_ok ? kExitOk : kExitFailed;
}

}  // namespace

void addProbeCommands(CommandTree& tree, CommandAction& action) {
  auto opts = std::make_shared<ProbeOptions>();
  CLI::App* probe =
      tree.root->add_subcommand("probe", "Run one round of every (or the named) target and report");
  probe->add_option("--config", opts->config, "Config file (JSON, comments allowed)")->required();
  probe->add_option("--target", opts->targets, "Probe only this target (repeatable)");
  probe->add_option("--format", opts->format, "Output: table (default) or json (JSON Lines)")
      ->check(CLI::IsMember({"table", "json"}));
  probe->callback([&action, opts] { action.run = [opts] { return runProbe(*opts); }; });
}

}  // namespace mediapath::agent
