#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace mediapath::reporter {

struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
};

/// The seed's Location (reference/seed-genesys-location-tutorial.txt, step 1), independent of
/// how the agent's config names things.
struct LocationSpec {
  std::string name;
  std::string region;
  std::vector<int> sip_ports;
  Endpoint proxy;
  Endpoint stun;
  Endpoint turn;
  std::vector<std::string> ip_allowlist;
};

/// Renders the seed's POST /api/v2/locations body: name, region, sip.ports,
/// media.{sip,proxy,stun,turn}, ipAddressAllowlist.
nlohmann::json renderLocationPayload(const LocationSpec& spec);

/// The real platform's Location (an E911/address object a Site refers to): what the agent's
/// config can say about it. Empty strings and null JSON are left out of the payload.
// NOLINTNEXTLINE(bugprone-exception-escape): json members; an allocation failure ends the agent
struct LocationDefinition {
  std::string name;
  std::string notes;
  nlohmann::json address;           ///< {street1, street2, city, state, zipcode, country} or null
  nlohmann::json emergency_number;  ///< {number, type} or null
};

/// Renders the LocationDefinition body of POST /api/v2/locations: name, and notes, address and
/// emergencyNumber when configured.
nlohmann::json renderLocationDefinition(const LocationDefinition& definition);

/// The LocationUpdateDefinition (PATCH /api/v2/locations/{id}, `application/json`) that makes
/// `remote` match `desired` (a rendered LocationDefinition): the top-level fields whose values
/// differ, plus the remote's `version`, which the platform requires. Null when nothing differs.
/// Throws std::invalid_argument when `remote` has no integer `version` (a malformed answer).
nlohmann::json buildLocationUpdate(const nlohmann::json& remote, const nlohmann::json& desired);

}  // namespace mediapath::reporter
