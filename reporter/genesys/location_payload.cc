#include "reporter/genesys/location_payload.h"

#include <algorithm>
#include <stdexcept>

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

nlohmann::json renderLocationDefinition(const LocationDefinition& definition) {
  nlohmann::json body{{"name", definition.name}};
  if (!definition.notes.empty()) body["notes"] = definition.notes;
  if (!definition.address.is_null()) body["address"] = definition.address;
  if (!definition.emergency_number.is_null()) body["emergencyNumber"] = definition.emergency_number;
  return body;
}

nlohmann::json buildLocationUpdate(const nlohmann::json& remote, const nlohmann::json& desired) {
  const auto version = remote.find("version");
  if (!remote.is_object() || version == remote.end() || !version->is_number_integer()) {
    throw std::invalid_argument("the location has no integer \"version\"");
  }
  nlohmann::json update = nlohmann::json::object();
  for (const auto& [key, value] : desired.items()) {
    auto current = remote.find(key);
    // The platform fills parts of an address itself (countryName, ...): a configured object
    // matches when every field it gives is already there.
    bool same = current != remote.end() &&
                (value.is_object() && current->is_object()
                     ? std::all_of(value.items().begin(), value.items().end(),
                                   [&current](const auto& field) {
                                     auto c = current->find(field.key());
                                     return c != current->end() && *c == field.value();
                                   })
                     : *current == value);
    if (!same) update[key] = value;
  }
  if (update.empty()) return nullptr;
  update["version"] = *version;
  return update;
}

}  // namespace mediapath::reporter
