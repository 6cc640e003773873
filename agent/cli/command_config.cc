// Offline commands: `validate` and `location render`. They need no network.
#include <CLI/CLI.hpp>
#include <iostream>
#include <string>
#include <system_error>

#include "agent/cli/cli.h"
#include "agent/cli/exit_codes.h"
#include "agent/config/location_spec.h"
#include "net/atomic_file.h"

namespace mediapath::agent {
namespace {

struct ConfigOptions {
  std::string config;
  std::string output;
};

int runValidate(const ConfigOptions& o) {
  auto config = loadConfigForCommand(o.config);
  if (!config) return kExitUsage;
  std::cout << o.config << ": ok (" << config->targets.size() << " targets, "
            << config->failover.size() << " failover groups)\n";
  return kExitOk;
}

int runRender(const ConfigOptions& o) {
  auto config = loadConfigForCommand(o.config);
  if (!config) return kExitUsage;
  if (!config->location) {
    std::cerr << o.config << ": /location: missing: `location render` needs a location section\n";
    return kExitUsage;
  }
  // The seed's Location carries the media settings itself; on the platform they live on the
  // trunk and the site, shown beside the Location as the agent would write them.
  nlohmann::json rendered = locationCreateBody(*config);
  if (!usesSeedSchema(*config)) {
    rendered = {{"location", rendered}, {"elsewhere", platformPlacement(*config)}};
  }
  std::string body = rendered.dump(2) + "\n";
  if (o.output.empty()) {
    std::cout << body;
    return kExitOk;
  }
  try {
    net::writeFileAtomically(o.output, body);
  } catch (const std::system_error& e) {
    std::cerr << "mediapath-agent: " << e.what() << "\n";
    return kExitFailed;
  }
  std::cerr << "wrote " << o.output << "\n";
  return kExitOk;
}

}  // namespace

void addConfigCommands(CommandTree& tree, CommandAction& action) {
  auto opts = std::make_shared<ConfigOptions>();

  CLI::App* validate =
      tree.root->add_subcommand("validate", "Check a config file and report every problem");
  validate->add_option("--config", opts->config, "Config file (JSON, comments allowed)")
      ->required();
  validate->callback([&action, opts] { action.run = [opts] { return runValidate(*opts); }; });

  CLI::App* render = tree.location->add_subcommand(
      "render",
      "Print the Genesys Location payload built from the config (and, on the platform schema, "
      "the trunk and site values its SIP and media settings become)");
  render->add_option("--config", opts->config, "Config file")->required();
  render->add_option("--output", opts->output, "Write to FILE atomically instead of stdout");
  render->callback([&action, opts] { action.run = [opts] { return runRender(*opts); }; });
}

}  // namespace mediapath::agent
