#include "agent/config/genesys_options.h"

#include "agent/config/secrets.h"

namespace mediapath::agent {

reporter::GenesysClientOptions genesysClientOptions(const Config& config,
                                                    const std::string& command) {
  if (!config.genesys) {
    throw GenesysSetupError(config.source + ": /genesys: missing: `" + command +
                            "` needs a genesys section");
  }
  const GenesysConfig& g = *config.genesys;
  reporter::GenesysClientOptions o;
  try {
    o.endpoints = reporter::resolveEndpoints(g.region, g.api_base_url, g.login_base_url);
  } catch (const std::invalid_argument& e) {
    throw GenesysSetupError(config.source + ": /genesys: " + e.what());
  }
  try {
    o.client_id = readSecret(g.client_id);
    o.client_secret = readSecret(g.client_secret);
  } catch (const std::runtime_error& e) {
    throw GenesysSetupError(config.source + ": /genesys: " + e.what());
  }
  o.ca_file = g.ca_file;
  o.request_timeout = g.request_timeout;
  o.retry.budget = g.retry_budget;
  return o;
}

}  // namespace mediapath::agent
