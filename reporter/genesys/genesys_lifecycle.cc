#include "reporter/genesys/genesys_lifecycle.h"

#include <string_view>

#include "net/text.h"
#include "reporter/genesys/api_responses.h"
#include "reporter/genesys/genesys_reports.h"

namespace mediapath::reporter {
namespace {

// Ids come from the config or the command line: encoded, so that one cannot add a path segment
// or a query to the request.
std::string locationPath(const std::string& id) { return "/api/v2/locations/" + urlEncode(id); }

}  // namespace

void getLocation(GenesysClient& client, const std::string& id, ApiCallback callback) {
  client.call({"get_location", "GET", locationPath(id), std::nullopt, {}}, std::move(callback));
}

void patchLocation(GenesysClient& client, const std::string& id, const nlohmann::json& patch,
                   ApiCallback callback) {
  client.call({"patch_location", "PATCH", locationPath(id), patch, "application/json-patch+json"},
              std::move(callback));
}

void updateLocation(GenesysClient& client, const std::string& id, const nlohmann::json& update,
                    ApiCallback callback) {
  client.call({"update_location", "PATCH", locationPath(id), update, "application/json"},
              std::move(callback));
}

void getTrunkBaseSettings(GenesysClient& client, const std::string& id, ApiCallback callback) {
  client.call({"get_trunkbasesettings",
               "GET",
               "/api/v2/telephony/providers/edges/trunkbasesettings/" + urlEncode(id) +
                   "?ignoreHidden=true",
               std::nullopt,
               {}},
              std::move(callback));
}

void getSite(GenesysClient& client, const std::string& id, ApiCallback callback) {
  client.call({"get_site",
               "GET",
               "/api/v2/telephony/providers/edges/sites/" + urlEncode(id),
               std::nullopt,
               {}},
              std::move(callback));
}

LocationCreation::LocationCreation(GenesysClient& client, net::EventLoop& loop,
                                   const net::Clock& clock, LocationReadyField ready_field)
    : client_(client),
      poller_(loop, clock),
      ready_field_(ready_field == LocationReadyField::kState ? "state" : "status") {}

LocationCreation::~LocationCreation() = default;

std::string LocationCreation::readiness(const LocationAnswer& location) const {
  return std::string_view(ready_field_) == "state" ? location.state : location.status;
}

void LocationCreation::start(const nlohmann::json& payload, std::chrono::milliseconds wait,
                             Events events) {
  events_ = std::move(events);
  poller_.setDeadline(wait);
  client_.call({"create_location", "POST", "/api/v2/locations", payload, "application/json"},
               [this](ApiResponse r) {
                 if (!r.ok()) return events_.done("", false, r.error->describe());
                 auto location = parseLocation(std::move(r.body));
                 if (!location) {
                   return events_.done("", false, malformedAnswer(r, location.error).describe());
                 }
                 std::string id = location->id;
                 events_.created(id);
                 std::string status = readiness(*location);
                 if (status == "active") return events_.done(id, false, "");
                 events_.waiting(id, status);
                 poll(id, status);
               });
}

void LocationCreation::poll(const std::string& id, const std::string& last_status) {
  getLocation(client_, id, [this, id, last_status](ApiResponse r) {
    if (!r.ok()) return events_.done(id, true, r.error->describe());
    auto location = parseLocation(std::move(r.body));
    if (!location) return events_.done(id, true, malformedAnswer(r, location.error).describe());
    std::string status = readiness(*location);
    if (status == "active") return events_.done(id, true, "");
    if (status == "deleted") {
      return events_.done(id, true, "location " + id + " was deleted while waiting for it");
    }
    if (status != last_status) events_.waiting(id, status);
    if (poller_.pastDeadline()) {
      return events_.done(id, true,
                          "location " + id + " still " + ready_field_ + " \"" +
                              net::printable(status, 64) +
                              "\" after the wait limit (it exists: delete or reuse it)");
    }
    poller_.after([this, id, status] { poll(id, status); });
  });
}

}  // namespace mediapath::reporter
