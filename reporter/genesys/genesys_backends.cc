#include "reporter/genesys/genesys_backends.h"

#include "reporter/genesys/genesys_json_patch.h"

namespace mediapath::reporter {

std::optional<Endpoint> endpointAt(const nlohmann::json& location, const std::string& path) {
  nlohmann::json::json_pointer ptr(path);
  if (!location.contains(ptr)) return std::nullopt;
  const nlohmann::json& v = location.at(ptr);
  if (!v.is_object()) return std::nullopt;
  auto host = v.find("host");
  auto port = v.find("port");
  if (host == v.end() || !host->is_string() || port == v.end() || !port->is_number_integer()) {
    return std::nullopt;
  }
  int p = port->get<int>();
  if (p < 0 || p > 65535) return std::nullopt;
  return Endpoint{host->get<std::string>(), static_cast<std::uint16_t>(p)};
}

std::vector<std::string> serverProxyList(const nlohmann::json& trunk) {
  static const nlohmann::json::json_pointer kList(
      "/properties/trunk_transport_serverProxyList/value/instance");
  std::vector<std::string> hosts;
  if (!trunk.is_object() || !trunk.contains(kList) || !trunk.at(kList).is_array()) return hosts;
  for (const auto& entry : trunk.at(kList)) {
    if (!entry.is_string()) break;  // an order with a hole in it is not an order
    hosts.push_back(entry.get<std::string>());
  }
  return hosts;
}

std::unique_ptr<FailoverBackend> makeFailoverBackend(GenesysClient& client,
                                                     const BackendTarget& target) {
  if (!target.location_path.empty()) {
    return std::make_unique<LocationBackend>(client, target.location_id, target.location_path);
  }
  if (!target.trunk_base_id.empty()) {
    return std::make_unique<TrunkBackend>(client, target.trunk_base_id);
  }
  return nullptr;
}

LocationBackend::LocationBackend(GenesysClient& client, std::string location_id, std::string path)
    : client_(client), location_id_(std::move(location_id)), path_(std::move(path)) {}

void LocationBackend::readActiveOrder(ActiveOrderCallback callback) {
  client_.call({"get_location", "GET", "/api/v2/locations/" + location_id_, std::nullopt, {}},
               [this, callback = std::move(callback)](ApiResponse r) {
                 ActiveOrder order;
                 if (!r.ok()) {
                   order.error = std::move(r.error);
                   callback(std::move(order));
                   return;
                 }
                 auto ep = endpointAt(r.body, path_);
                 if (ep) {
                   order.entries.push_back({ep->host, ep->port});
                   order.summary =
                       "remote " + path_ + " is " + ep->host + ":" + std::to_string(ep->port);
                 } else {
                   order.summary = "remote location has no " + path_;
                 }
                 callback(std::move(order));
               });
}

void LocationBackend::applyRanked(std::vector<Endpoint> ranked, BackendCallback callback) {
  // No expected value: the location is read and what was read is tested, so a change the
  // platform already holds (after a crash) is recognised instead of sent twice.
  apply(ranked.front(), std::nullopt, std::move(callback));
}

void LocationBackend::apply(const Endpoint& target, std::optional<Endpoint> expected,
                            BackendCallback callback) {
  if (expected) {
    patch(*expected, target, std::move(callback));
    return;
  }
  client_.call({"get_location", "GET", "/api/v2/locations/" + location_id_, std::nullopt, {}},
               [this, target, callback = std::move(callback)](ApiResponse r) mutable {
                 if (!r.ok()) {
                   callback(BackendResult{false, nullptr, nullptr, 0, std::move(r.error)});
                   return;
                 }
                 auto current = endpointAt(r.body, path_);
                 if (!current) {
                   ApiError e;
                   e.request = "GET /api/v2/locations/" + location_id_;
                   e.status = r.status;
                   e.message = "the location has no " + path_ + " {host, port}";
                   callback(BackendResult{false, nullptr, nullptr, 0, std::move(e)});
                   return;
                 }
                 patch(*current, target, std::move(callback));
               });
}

void LocationBackend::patch(const Endpoint& old_endpoint, const Endpoint& target,
                            BackendCallback callback) {
  nlohmann::json ops = endpointPatch(path_, old_endpoint, target);
  if (ops.empty()) {
    callback(BackendResult{false, ops, nullptr, 0, std::nullopt});
    return;
  }
  client_.call({"patch_location", "PATCH", "/api/v2/locations/" + location_id_, ops,
                "application/json-patch+json"},
               [ops, callback = std::move(callback)](ApiResponse r) {
                 callback(BackendResult{r.ok(), ops, std::move(r.body), 1, std::move(r.error)});
               });
}

TrunkBackend::TrunkBackend(GenesysClient& client, std::string trunk_base_id, int max_conflicts)
    : client_(client), trunk_base_id_(std::move(trunk_base_id)), max_conflicts_(max_conflicts) {}

bool TrunkBackend::setServerProxyList(nlohmann::json& trunk,
                                      const std::vector<std::string>& hosts) {
  nlohmann::json& property = trunk["properties"]["trunk_transport_serverProxyList"];
  if (!property.is_object()) property = nlohmann::json::object();
  if (!property.contains("type")) property["type"] = "array";
  nlohmann::json& value = property["value"];
  if (!value.is_object()) value = nlohmann::json::object();
  nlohmann::json wanted = hosts;
  if (value.contains("instance") && value["instance"] == wanted) return false;
  value["instance"] = std::move(wanted);
  return true;
}

std::string TrunkBackend::path() const {
  return "/api/v2/telephony/providers/edges/trunkbasesettings/" + trunk_base_id_;
}

void TrunkBackend::readActiveOrder(ActiveOrderCallback callback) {
  // ignoreHidden=true: the platform's hidden, internal-use properties must not be read (nor,
  // in attempt(), sent back: the PUT is refused if they are).
  client_.call({"get_trunk", "GET", path() + "?ignoreHidden=true", std::nullopt, {}},
               [callback = std::move(callback)](ApiResponse r) {
                 ActiveOrder order;
                 if (!r.ok()) {
                   order.error = std::move(r.error);
                   callback(std::move(order));
                   return;
                 }
                 for (auto& host : serverProxyList(r.body)) {
                   order.entries.push_back({std::move(host), std::nullopt});
                 }
                 order.summary =
                     "remote trunk server list starts with " +
                     (order.entries.empty() ? std::string("nothing") : order.entries.front().host);
                 callback(std::move(order));
               });
}

void TrunkBackend::applyRanked(std::vector<Endpoint> ranked, BackendCallback callback) {
  // The list holds hosts only, as it always has (issue 15 changes the list's semantics).
  std::vector<std::string> hosts;
  hosts.reserve(ranked.size());
  for (auto& e : ranked) hosts.push_back(std::move(e.host));
  apply(std::move(hosts), std::move(callback));
}

void TrunkBackend::apply(std::vector<std::string> hosts, BackendCallback callback) {
  attempt(std::move(hosts), 0, std::move(callback));
}

void TrunkBackend::attempt(std::vector<std::string> hosts, int conflicts,
                           BackendCallback callback) {
  std::string path = this->path();
  client_.call({"get_trunkbasesettings", "GET", path + "?ignoreHidden=true", std::nullopt, {}},
               [this, path, hosts = std::move(hosts), conflicts,
                callback = std::move(callback)](ApiResponse r) mutable {
                 if (!r.ok()) {
                   callback(BackendResult{false, nullptr, nullptr, conflicts, std::move(r.error)});
                   return;
                 }
                 nlohmann::json trunk = std::move(r.body);
                 if (!trunk.is_object()) {
                   ApiError e;
                   e.request = "GET " + path;
                   e.status = r.status;
                   e.message = "the trunk base settings are not a JSON object";
                   callback(BackendResult{false, nullptr, nullptr, conflicts, std::move(e)});
                   return;
                 }
                 if (!setServerProxyList(trunk, hosts)) {
                   callback(BackendResult{false, trunk, nullptr, conflicts, std::nullopt});
                   return;
                 }
                 // The PUT carries the version just read (it is in `trunk`): a concurrent change
                 // makes the platform answer 409 instead of silently losing one of the two writes.
                 client_.call({"put_trunkbasesettings", "PUT", path, trunk, "application/json"},
                              [this, trunk, hosts, conflicts,
                               callback = std::move(callback)](ApiResponse put) mutable {
                                if (put.status == 409 && conflicts < max_conflicts_) {
                                  attempt(std::move(hosts), conflicts + 1, std::move(callback));
                                  return;
                                }
                                callback(BackendResult{put.ok(), trunk, std::move(put.body),
                                                       conflicts + 1, std::move(put.error)});
                              });
               });
}

}  // namespace mediapath::reporter
