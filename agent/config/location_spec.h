#pragma once

#include <string>
#include <vector>

#include "agent/config/config.h"
#include "reporter/genesys/location_payload.h"

namespace mediapath::agent {

/// The seed's Location built from a validated config: media endpoints take host and port from
/// the targets that location.media names. Requires config.location.
reporter::LocationSpec locationSpecFromConfig(const Config& config);

/// The checks the platform applies to a Location (the seed's 422 rules: SIP ports within the
/// allowed range, valid CIDRs) plus sane endpoints. Returns one message per problem; empty when
/// the Location would be accepted. Failover runs it on the Location a change would produce.
std::vector<std::string> checkLocationSpec(const reporter::LocationSpec& spec,
                                           const PortRange& sip_ports);

}  // namespace mediapath::agent
