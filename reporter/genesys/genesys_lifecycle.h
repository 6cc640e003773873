#pragma once

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "reporter/genesys/api_responses.h"
#include "reporter/genesys/genesys_client.h"
#include "reporter/genesys/genesys_poller.h"

namespace mediapath::reporter {

/// GET /api/v2/locations/{id}.
void getLocation(GenesysClient& client, const std::string& id, ApiCallback callback);

/// The seed's PATCH /api/v2/locations/{id}: an RFC 6902 JSON Patch
/// (`application/json-patch+json`). The real platform refuses it.
void patchLocation(GenesysClient& client, const std::string& id, const nlohmann::json& patch,
                   ApiCallback callback);

/// The platform's PATCH /api/v2/locations/{id}: a LocationUpdateDefinition as
/// `application/json`, carrying the current `version` (buildLocationUpdate).
void updateLocation(GenesysClient& client, const std::string& id, const nlohmann::json& update,
                    ApiCallback callback);

/// GET of a BYOC trunk's base settings, without the properties the platform keeps for itself
/// (`ignoreHidden=true`, as the Terraform provider reads them).
void getTrunkBaseSettings(GenesysClient& client, const std::string& id, ApiCallback callback);

/// GET /api/v2/telephony/providers/edges/sites/{id}.
void getSite(GenesysClient& client, const std::string& id, ApiCallback callback);

/// The field that says a new Location is ready: the platform's `state` ("active" at once, or
/// "deleted"), or the seed's `status` ("pending" until provisioned).
enum class LocationReadyField { kState, kStatus };

/// Creates a Location (POST /api/v2/locations) and polls it until its `state` (the seed:
/// `status`) is `active`.
///
/// Thread safety: loop thread only. Destroy it after `done` ran, or after client.cancelAll().
class LocationCreation {
 public:
  struct Events {
    /// The platform accepted the location and gave it `id`.
    std::function<void(const std::string& id)> created;
    /// The location is not active yet; called once per state (status) seen.
    std::function<void(const std::string& id, const std::string& status)> waiting;
    /// The end. `error` empty: location `id` is active (`polled`: after waiting for it);
    /// otherwise the reason, ready for a human.
    std::function<void(const std::string& id, bool polled, const std::string& error)> done;
  };

  LocationCreation(GenesysClient& client, net::EventLoop& loop, const net::Clock& clock,
                   LocationReadyField ready_field = LocationReadyField::kState);
  ~LocationCreation();
  LocationCreation(const LocationCreation&) = delete;
  LocationCreation& operator=(const LocationCreation&) = delete;

  /// Gives up polling (with an error naming the location, which then exists) after `wait`.
  void start(const nlohmann::json& payload, std::chrono::milliseconds wait, Events events);

 private:
  void poll(const std::string& id, const std::string& last_status);
  std::string readiness(const LocationAnswer& location) const;

  GenesysClient& client_;
  Poller poller_;
  const char* ready_field_;
  Events events_;
};

}  // namespace mediapath::reporter
