#pragma once

#include <string>

#include "agent/config/config.h"

namespace mediapath::agent {

/// Reads a secret from where the config says it lives: an environment variable, a file, or a
/// systemd credential ($CREDENTIALS_DIRECTORY/<name>). One trailing newline is dropped (files
/// written with echo). Throws std::runtime_error naming the *source* (variable, path or
/// credential) when it is unset, unreadable or empty; the message never contains the secret.
std::string readSecret(const SecretRef& ref);

/// "environment variable GENESYS_CLIENT_SECRET", "file /etc/x", "credential turn-password".
std::string describeSecret(const SecretRef& ref);

}  // namespace mediapath::agent
