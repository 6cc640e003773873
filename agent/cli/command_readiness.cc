// `readiness`: the office's media-readiness verdict. Rounds of every stun/turn/relay/nat/sip
// target, all together, one round per interval for --duration, then one line per check.

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "agent/cli/cli.h"
#include "agent/cli/exit_codes.h"
#include "agent/config/config_loader.h"
#include "agent/config/probe_targets.h"
#include "agent/service/file_limit.h"
#include "agent/service/probe_once.h"
#include "agent/service/readiness.h"
#include "net/text.h"

namespace mediapath::agent {
namespace {

struct ReadinessOptions {
  std::string config;
  std::string duration = "30s";
  std::string format = "table";
};

void printTable(const std::vector<ReadinessCheck>& checks, std::ostream& out) {
  std::vector<std::vector<std::string>> rows;
  // The figure goes last: it may be long (a round's error) and must not push the others.
  rows.push_back({"CHECK", "TARGET", "RESULT", "THRESHOLD", "FIGURE"});
  for (const auto& c : checks) {
    rows.push_back({c.check, c.target.empty() ? "-" : c.target, std::string(verdictName(c.result)),
                    c.threshold, c.figure});
  }
  printColumns(rows, out);
}

nlohmann::ordered_json toJson(const std::vector<ReadinessCheck>& checks, Verdict verdict,
                              int rounds, Duration duration) {
  nlohmann::ordered_json j;
  j["verdict"] = std::string(verdictName(verdict));
  j["rounds"] = rounds;
  j["duration_s"] = static_cast<double>(duration.count()) / 1000.0;
  j["checks"] = nlohmann::ordered_json::array();
  for (const auto& c : checks) {
    nlohmann::ordered_json e;
    e["check"] = c.check;
    e["target"] =
        c.target.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(c.target);
    e["result"] = std::string(verdictName(c.result));
    e["value"] = c.value ? nlohmann::ordered_json(*c.value) : nullptr;
    e["unit"] = c.unit;
    e["figure"] = c.figure;
    e["threshold"] = c.threshold;
    j["checks"].push_back(std::move(e));
  }
  return j;
}

int runReadiness(const ReadinessOptions& o) {
  auto duration = parseDuration(o.duration);
  if (!duration && o.duration != "0") {
    std::cerr << "--duration: "
              << "\"" << net::printable(o.duration, 64) << "\""
              << " is not a duration (use a number and a unit: ms, s, m, h)\n";
    return kExitUsage;
  }
  Duration length = duration.value_or(Duration(0));

  auto config = loadConfigForCommand(o.config);
  if (!config) return kExitUsage;

  std::vector<PlannedTarget> planned;
  try {
    for (const auto& t : config->targets) {
      if (readinessApplies(t.kind)) planned.push_back(planTarget(t, config->probing));
    }
  } catch (const TargetError& e) {
    std::cerr << o.config << ": " << e.what() << "\n";
    return kExitUsage;
  }
  if (planned.empty()) {
    std::cerr << o.config << ": /targets: no stun, turn, relay, nat or sip target to judge\n";
    return kExitUsage;
  }

  OpenFileLimit file_limit = raiseOpenFileLimit();
  if (auto warning = openFileLimitWarning(descriptorsNeeded(planned), file_limit);
      !warning.empty()) {
    std::cerr << "warning: " << warning << "\n";
  }

  ReadinessTally tally(config->readiness);
  for (const auto& p : planned) tally.addTarget(p.target);

  // One round of every target together, every `period`, as long as a round can still start
  // within --duration: the shortest configured interval, so no server is probed more often than
  // the config allows, and a 0 duration is one round.
  Duration period =
      std::min_element(planned.begin(), planned.end(), [](const auto& a, const auto& b) {
        return a.interval < b.interval;
      })->interval;
  auto start = std::chrono::steady_clock::now();
  int rounds = 0;
  for (;; ++rounds) {
    auto due = start + period * rounds;
    if (rounds > 0 && due - start >= length) break;
    std::this_thread::sleep_until(due);
    for (const auto& r :
         probeOnce(planned, config->dns, config->probing.timeout, probeSocketLimit(file_limit))) {
      if (r) tally.add(*r);
    }
  }

  auto checks = tally.checks(std::chrono::system_clock::now());
  Verdict verdict = overall(checks);
  if (o.format == "json") {
    std::cout << toJson(checks, verdict, rounds, length).dump() << "\n";
  } else {
    printTable(checks, std::cout);
    int count[3] = {0, 0, 0};
    for (const auto& c : checks) ++count[static_cast<int>(c.result)];
    std::cout << "\nreadiness: " << verdictName(verdict) << " (" << checks.size()
              << " checks: " << count[0] << " pass, " << count[1] << " warn, " << count[2]
              << " fail; " << rounds << " round" << (rounds == 1 ? "" : "s") << " over "
              << net::formatDuration(length) << ")\n";
  }
  std::cout.flush();
  return verdict == Verdict::kFail ? kExitFailed : kExitOk;
}

}  // namespace

void addReadinessCommand(CommandTree& tree, CommandAction& action) {
  auto opts = std::make_shared<ReadinessOptions>();
  CLI::App* cmd = tree.root->add_subcommand(
      "readiness",
      "Judge the office's media path: every stun/turn/relay/nat/sip target over a "
      "while, each figure against its threshold; exit 1 when a check fails");
  cmd->add_option("--config", opts->config, "Config file (JSON, comments allowed)")->required();
  cmd->add_option("--duration", opts->duration, "How long to measure (default 30s; 0: one round)");
  cmd->add_option("--format", opts->format, "Output: table (default) or json (one object)")
      ->check(CLI::IsMember({"table", "json"}));
  cmd->callback([&action, opts] { action.run = [opts] { return runReadiness(*opts); }; });
}

}  // namespace mediapath::agent
