#pragma once

#include <string>
#include <vector>

#include "agent/config/config.h"
#include "reporter/genesys/location_payload.h"

namespace mediapath::agent {

/// The seed's Location built from a validated config: media endpoints take host and port from
/// the targets that location.media names. Requires config.location.
reporter::LocationSpec locationSpecFromConfig(const Config& config);

/// The real platform's Location from a validated config: name, notes, address and emergency
/// number. Requires config.location.
reporter::LocationDefinition locationDefinitionFromConfig(const Config& config);

/// Whether the config speaks the seed tutorial's shapes (genesys.schema "seed").
bool usesSeedSchema(const Config& config);

/// The body that creates a Location for the config's schema: the seed's payload, or the
/// platform's LocationDefinition. Requires config.location.
nlohmann::json locationCreateBody(const Config& config);

/// Where the seed's SIP and media settings live on the real platform, as the objects and values
/// the agent would write: each trunk failover group's server list (candidates in preference
/// order) and the location's allowlist as its SIP access control list, each site group's media
/// regions. For `location render` on the platform schema.
nlohmann::json platformPlacement(const Config& config);

/// The checks the platform applies to a Location (the seed's 422 rules: SIP ports within the
/// allowed range, valid CIDRs) plus sane endpoints. Returns one message per problem; empty when
/// the Location would be accepted. Failover runs it on the Location a change would produce.
std::vector<std::string> checkLocationSpec(const reporter::LocationSpec& spec,
                                           const PortRange& sip_ports);

}  // namespace mediapath::agent
