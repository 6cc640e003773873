#pragma once

#include <stdexcept>

#include "agent/config/config.h"
#include "reporter/genesys/genesys_client.h"

namespace mediapath::agent {

/// A genesys section that cannot be used as is (no section, bad endpoint, missing secret). The
/// message names the config file and what to fix, never a secret; commands exit 2 on it.
class GenesysSetupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Client options from the config's genesys section: endpoints from the region table or the
/// overrides, credentials read with readSecret(), CA file, timeouts, retry budget.
/// `command` names the caller in the "missing section" message. Throws GenesysSetupError.
reporter::GenesysClientOptions genesysClientOptions(const Config& config,
                                                    const std::string& command);

}  // namespace mediapath::agent
