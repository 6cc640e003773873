#include "agent/cli/cli.h"

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "agent/cli/exit_codes.h"
#include "agent/config/config_loader.h"
#include "agent/service/journal_logging.h"
#include "version.h"

namespace mediapath::agent {
namespace {

void setUpLogging(const std::string& level) {
  // Logs go to stderr so that stdout carries only command output (JSON Lines, tables, payloads).
  // Under systemd stderr is the journal: lines then carry "<N>" priorities instead of a time.
  auto logger = makeStderrLogger("mediapath", stderrIsJournal());
  logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(logger);
}

}  // namespace

void printColumns(const std::vector<std::vector<std::string>>& rows, std::ostream& out) {
  if (rows.empty()) return;
  std::vector<std::size_t> width(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size() && c < width.size(); ++c) {
      width[c] = std::max(width[c], row[c].size());
    }
  }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size() && c < width.size()) {
        line += std::string(width[c] - row[c].size() + 2, ' ');
      }
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << "\n";
  }
}

const char* versionString() {
  static const std::string version =
      std::string("mediapath-agent ") + kVersion +
      (kGitRevision[0] != '\0' ? std::string(" (git ") + kGitRevision + ")" : std::string());
  return version.c_str();
}

std::optional<Config> loadConfigForCommand(const std::string& path) {
  LoadResult r = loadConfigFile(path);
  for (const auto& d : r.errors) std::cerr << formatDiagnostic(path, d) << "\n";
  return std::move(r.config);
}

int runCli(int argc, char** argv) {
  CLI::App app{
      "Probes the STUN/TURN servers, media proxies and SIP ports a contact-centre site "
      "depends on, exports Prometheus metrics, and moves the Genesys Cloud media proxy "
      "off a failing path.",
      "mediapath-agent"};
  app.set_version_flag("--version", versionString());
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error, critical or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();

  CommandTree tree;
  tree.root = &app;
  tree.location = app.add_subcommand("location", "Genesys Cloud location lifecycle");
  tree.location->require_subcommand(1);
  CommandAction action;
  addConfigCommands(tree, action);
  addGenesysCommands(tree, action);
  addProbeCommands(tree, action);
  addReadinessCommand(tree, action);
  addRunCommand(tree, action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" with exit code 0; everything else is bad usage.
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }

  setUpLogging(log_level);
  if (!action.run) return kExitUsage;
  try {
    return action.run();
  } catch (const std::exception& e) {
    std::cerr << "mediapath-agent: " << e.what() << "\n";
    return kExitFailed;
  }
}

}  // namespace mediapath::agent
