#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "reporter/genesys/genesys_client.h"
#include "reporter/genesys/location_payload.h"

namespace mediapath::reporter {

/// What a backend did.
struct BackendResult {
  bool changed = false;     ///< false: the remote already matched, nothing was sent
  nlohmann::json request;   ///< the JSON Patch / trunk object that was (or would be) sent
  nlohmann::json response;  ///< the platform's answer (the updated object)
  int attempts = 0;         ///< writes sent (trunk: more than 1 after 409 conflicts)
  std::optional<ApiError> error;
  bool ok() const { return !error; }
};

using BackendCallback = std::function<void(BackendResult)>;

/// The seed's location backend: moves one media endpoint of a Location (`path` "/media/proxy",
/// "/media/stun" or "/media/turn") with `PATCH /api/v2/locations/{id}` and an RFC 6902 JSON Patch
/// (`Content-Type: application/json-patch+json`) that tests the old value before replacing it.
///
/// Thread safety: loop thread only; the client must outlive the backend's pending operations.
class LocationBackend {
 public:
  LocationBackend(GenesysClient& client, std::string location_id, std::string path);

  /// With `expected`, the patch tests the remote still holds it (no read); without, the
  /// location is read first and its current value is tested.
  void apply(const Endpoint& target, std::optional<Endpoint> expected, BackendCallback callback);

 private:
  void patch(const Endpoint& old_endpoint, const Endpoint& target, BackendCallback callback);

  GenesysClient& client_;
  std::string location_id_;
  std::string path_;
};

/// The real platform's backend: a BYOC trunk's SIP server list. Reads
/// `trunkbasesettings/{id}`, sets `properties.trunk_transport_serverProxyList.value.instance`
/// to the ordered host list (best first), PUTs the whole object with the version just read, and
/// on 409 (someone else changed it) reads again and retries, at most `max_conflicts` times.
///
/// Thread safety: loop thread only.
class TrunkBackend {
 public:
  TrunkBackend(GenesysClient& client, std::string trunk_base_id, int max_conflicts = 3);

  void apply(std::vector<std::string> hosts, BackendCallback callback);

  /// Sets the server list in a trunk base settings object; returns false if it already held
  /// exactly `hosts`.
  static bool setServerProxyList(nlohmann::json& trunk, const std::vector<std::string>& hosts);

 private:
  void attempt(std::vector<std::string> hosts, int conflicts, BackendCallback callback);

  GenesysClient& client_;
  std::string trunk_base_id_;
  int max_conflicts_;
};

/// The value under a JSON pointer ("/media/proxy") of a location as an Endpoint; nullopt when
/// absent or malformed.
std::optional<Endpoint> endpointAt(const nlohmann::json& location, const std::string& path);

}  // namespace mediapath::reporter
