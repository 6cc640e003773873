#include "reporter/genesys/location_payload.h"

namespace mediapath::reporter {
namespace {

nlohmann::json endpointJson(const Endpoint& e) {
  return nlohmann::json{{"host", e.host}, {"port", e.port}};
}

}  // namespace

nlohmann::json renderLocationPayload(const LocationSpec& spec) {
  // ordered_json would keep key order, but the platform ignores order; plain json sorts keys,
  // which makes rendered files diff-friendly and deterministic.
  nlohmann::json sip{{"ports", spec.sip_ports}};
  return nlohmann::json{
      {"name", spec.name},
      {"region", spec.region},
      {"sip", sip},
      {"media",
       {{"sip", sip},
        {"proxy", endpointJson(spec.proxy)},
        {"stun", endpointJson(spec.stun)},
        {"turn", endpointJson(spec.turn)}}},
      {"ipAddressAllowlist", spec.ip_allowlist},
  };
}

}  // namespace mediapath::reporter
