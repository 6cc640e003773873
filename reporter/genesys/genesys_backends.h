#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "reporter/genesys/failover_backend.h"
#include "reporter/genesys/genesys_client.h"
#include "reporter/genesys/location_payload.h"

namespace mediapath::reporter {

/// The seed's location backend: moves one media endpoint of a Location (`path` "/media/proxy",
/// "/media/stun" or "/media/turn") with `PATCH /api/v2/locations/{id}` and an RFC 6902 JSON Patch
/// (`Content-Type: application/json-patch+json`) that tests the old value before replacing it.
///
/// Thread safety: loop thread only; the client must outlive the backend's pending operations.
class LocationBackend final : public FailoverBackend {
 public:
  LocationBackend(GenesysClient& client, std::string location_id, std::string path);

  std::string kind() const override { return "location"; }
  /// One entry: the endpoint at `path` (none when the location has no such {host, port}).
  void readActiveOrder(ActiveOrderCallback callback) override;
  /// Moves the endpoint to `ranked.front()`, testing the value read just before.
  void applyRanked(std::vector<Endpoint> ranked, BackendCallback callback) override;

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
class TrunkBackend final : public FailoverBackend {
 public:
  TrunkBackend(GenesysClient& client, std::string trunk_base_id, int max_conflicts = 3);

  std::string kind() const override { return "trunk"; }
  /// The server list as it stands; each entry a host (as written, no port split).
  void readActiveOrder(ActiveOrderCallback callback) override;
  /// Writes the hosts of `ranked` as the whole server list, in this order.
  void applyRanked(std::vector<Endpoint> ranked, BackendCallback callback) override;

  void apply(std::vector<std::string> hosts, BackendCallback callback);

  /// Sets the server list in a trunk base settings object; returns false if it already held
  /// exactly `hosts`.
  static bool setServerProxyList(nlohmann::json& trunk, const std::vector<std::string>& hosts);

 private:
  void attempt(std::vector<std::string> hosts, int conflicts, BackendCallback callback);
  std::string path() const;

  GenesysClient& client_;
  std::string trunk_base_id_;
  int max_conflicts_;
};

/// The trunk's server list (`properties.trunk_transport_serverProxyList.value.instance`) as
/// strings; entries that are not strings are skipped, a missing list is empty.
std::vector<std::string> serverProxyList(const nlohmann::json& trunk);

/// The value under a JSON pointer ("/media/proxy") of a location as an Endpoint; nullopt when
/// absent or malformed.
std::optional<Endpoint> endpointAt(const nlohmann::json& location, const std::string& path);

}  // namespace mediapath::reporter
