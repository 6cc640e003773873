#include "agent/location_spec.h"

#include <stdexcept>

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

}  // namespace mediapath::agent
