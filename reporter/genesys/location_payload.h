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

/// Renders the POST /api/v2/locations body: name, region, sip.ports, media.{sip,proxy,stun,turn},
/// ipAddressAllowlist.
nlohmann::json renderLocationPayload(const LocationSpec& spec);

}  // namespace mediapath::reporter
