#pragma once

#include "agent/config.h"
#include "reporter/location_payload.h"

namespace mediapath::agent {

/// The seed's Location built from a validated config: media endpoints take host and port from
/// the targets that location.media names. Requires config.location.
reporter::LocationSpec locationSpecFromConfig(const Config& config);

}  // namespace mediapath::agent
