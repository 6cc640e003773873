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

}  // namespace

reporter::LocationSpec locationSpecFromConfig(const Config& config) {
  if (!config.location) {
    throw std::runtime_error(config.source + ": /location: the config has no location section");
  }
  const LocationConfig& loc = *config.location;
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
