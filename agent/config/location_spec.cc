#include "agent/config/location_spec.h"

#include <stdexcept>

#include "agent/config/config_loader.h"

namespace mediapath::agent {
namespace {

reporter::Endpoint endpointOf(const Config& config, const std::string& target_name) {
  const TargetConfig* t = config.findTarget(target_name);
  if (t == nullptr) throw std::logic_error("unresolved target " + target_name);
  return {t->host, t->port};
}

const LocationConfig& locationOf(const Config& config) {
  if (!config.location) {
    throw std::runtime_error(config.source + ": /location: the config has no location section");
  }
  return *config.location;
}

}  // namespace

reporter::LocationSpec locationSpecFromConfig(const Config& config) {
  const LocationConfig& loc = locationOf(config);
  reporter::LocationSpec spec;
  spec.name = loc.name;
  spec.region = loc.region;
  spec.sip_ports = loc.sip_ports;
  spec.proxy = endpointOf(config, loc.media.proxy);
  spec.stun = endpointOf(config, loc.media.stun);
  spec.turn = endpointOf(config, loc.media.turn);
  spec.ip_allowlist = loc.ip_allowlist;
  return spec;
}

reporter::LocationDefinition locationDefinitionFromConfig(const Config& config) {
  const LocationConfig& loc = locationOf(config);
  reporter::LocationDefinition definition;
  definition.name = loc.name;
  definition.notes = loc.notes;
  if (loc.address) {
    nlohmann::json address = nlohmann::json::object();
    for (const auto& [key, value] :
         {std::pair{"street1", &loc.address->street1}, std::pair{"street2", &loc.address->street2},
          std::pair{"city", &loc.address->city}, std::pair{"state", &loc.address->state},
          std::pair{"zipcode", &loc.address->zipcode},
          std::pair{"country", &loc.address->country}}) {
      if (!value->empty()) address[key] = *value;
    }
    definition.address = address;
  }
  if (!loc.emergency_number.empty()) {
    definition.emergency_number = {{"e164", loc.emergency_number},
                                   {"number", loc.emergency_number},
                                   {"type", loc.emergency_number_type}};
  }
  return definition;
}

bool usesSeedSchema(const Config& config) {
  return config.genesys && config.genesys->schema == GenesysSchema::kSeed;
}

nlohmann::json locationCreateBody(const Config& config) {
  if (usesSeedSchema(config))
    return reporter::renderLocationPayload(locationSpecFromConfig(config));
  return reporter::renderLocationDefinition(locationDefinitionFromConfig(config));
}

nlohmann::json platformPlacement(const Config& config) {
  nlohmann::json trunks = nlohmann::json::array();
  nlohmann::json sites = nlohmann::json::array();
  for (const FailoverGroup& g : config.failover) {
    if (!g.apply_to.trunk_base_id.empty()) {
      nlohmann::json servers = nlohmann::json::array();
      for (const auto& c : g.candidates) {
        const reporter::Endpoint e = endpointOf(config, c);
        servers.push_back(e.host + ":" + std::to_string(e.port));
      }
      nlohmann::json trunk{{"id", g.apply_to.trunk_base_id},
                           {"failover_group", g.name},
                           {"trunk_transport_serverProxyList", servers}};
      if (config.location) trunk["trunk_access_acl_allowList"] = config.location->ip_allowlist;
      trunks.push_back(trunk);
    }
    if (!g.apply_to.site_id.empty()) {
      nlohmann::json regions = nlohmann::json::array();
      for (const auto& c : g.candidates) {
        auto it = g.apply_to.media_regions.find(c);
        if (it != g.apply_to.media_regions.end()) regions.push_back(it->second);
      }
      sites.push_back({{"id", g.apply_to.site_id},
                       {"failover_group", g.name},
                       {"mediaRegions", regions},
                       {"mediaRegionsUseLatencyBased", false}});
    }
  }
  return {{"trunkbasesettings", trunks}, {"sites", sites}};
}

std::vector<std::string> checkLocationSpec(const reporter::LocationSpec& spec,
                                           const PortRange& sip_ports) {
  std::vector<std::string> problems;
  if (spec.name.empty()) problems.push_back("/name: must not be empty");
  for (size_t i = 0; i < spec.sip_ports.size(); ++i) {
    int p = spec.sip_ports[i];
    if (p < sip_ports.min || p > sip_ports.max) {
      problems.push_back("/sip/ports/" + std::to_string(i) + ": " + std::to_string(p) +
                         " is outside " + std::to_string(sip_ports.min) + "-" +
                         std::to_string(sip_ports.max));
    }
  }
  for (size_t i = 0; i < spec.ip_allowlist.size(); ++i) {
    if (std::string problem = checkCidr(spec.ip_allowlist[i]); !problem.empty()) {
      problems.push_back("/ipAddressAllowlist/" + std::to_string(i) + ": " + problem);
    }
  }
  const std::pair<const char*, const reporter::Endpoint*> endpoints[] = {
      {"/media/proxy", &spec.proxy}, {"/media/stun", &spec.stun}, {"/media/turn", &spec.turn}};
  for (const auto& [path, ep] : endpoints) {
    if (!isValidHost(ep->host)) {
      problems.push_back(std::string(path) + "/host: \"" + ep->host +
                         "\" is not a valid host name or IP address");
    }
    if (ep->port == 0) problems.push_back(std::string(path) + "/port: must be 1-65535");
  }
  return problems;
}

}  // namespace mediapath::agent
