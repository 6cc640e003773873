// `run`: the agent as a service — probes on schedule, metrics, status page, reload on SIGHUP.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "agent/cli/cli.h"
#include "agent/cli/exit_codes.h"
#include "agent/config/genesys_options.h"
#include "agent/config/probe_targets.h"
#include "agent/service/agent_runtime.h"

namespace mediapath::agent {
namespace {

int runAgent(RunOptions options) {
  auto config = loadConfigForCommand(options.config_path);
  if (!config) return kExitUsage;
  if (options.state_dir.empty()) options.state_dir = defaultStateDirectory();
  try {
    AgentRuntime runtime(std::move(options), std::move(*config));
    return runtime.run();
  } catch (const TargetError& e) {
    std::cerr << "mediapath-agent: " << e.what() << "\n";
    return kExitUsage;
  } catch (const GenesysSetupError& e) {
    std::cerr << "mediapath-agent: " << e.what() << "\n";
    return kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "mediapath-agent: cannot start: " << e.what() << "\n";
    return kExitFailed;
  }
}

}  // namespace

std::string defaultStateDirectory() {
  // systemd's StateDirectory= sets $STATE_DIRECTORY (possibly a colon-separated list).
  if (const char* dir = std::getenv("STATE_DIRECTORY"); dir != nullptr && *dir != '\0') {
    std::string d(dir);
    return d.substr(0, d.find(':'));
  }
  return "/var/lib/mediapath-agent";
}

void addRunCommand(CommandTree& tree, CommandAction& action) {
  auto opts = std::make_shared<RunOptions>();
  CLI::App* run = tree.root->add_subcommand(
      "run", "Probe every target on its schedule, export metrics, fail over; until SIGTERM");
  run->add_option("--config", opts->config_path, "Config file (reloaded on SIGHUP)")->required();
  run->add_option("--listen", opts->listen,
                  "HOST:PORT for /metrics, / (status), /healthz, /-/ready")
      ->capture_default_str();
  run->add_option("--state-dir", opts->state_dir,
                  "State directory (default: $STATE_DIRECTORY, else /var/lib/mediapath-agent)");
  run->add_flag("--plan", opts->plan_only, "Record failover decisions without sending them");
  run->callback([&action, opts] { action.run = [opts] { return runAgent(*opts); }; });
}

}  // namespace mediapath::agent
