#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "reporter/genesys/failover_backend.h"
#include "reporter/genesys/genesys_client.h"
#include "reporter/genesys/genesys_edits.h"
#include "reporter/genesys/location_payload.h"

namespace mediapath::reporter {

/// How many version conflicts in a row a read-modify-write survives (re-read and retry) before
/// it reports the conflict: the backends' and `location apply`'s one rule.
inline constexpr int kMaxVersionConflicts = 3;

/// The seed's location backend: moves one media endpoint of a Location (`path` "/media/proxy",
/// "/media/stun" or "/media/turn") with `PATCH /api/v2/locations/{id}` and an RFC 6902 JSON Patch
/// (`Content-Type: application/json-patch+json`) that tests the old value before replacing it.
///
/// Thread safety: loop thread only; the client must outlive the backend's pending operations.
class LocationBackend final : public FailoverBackend {
 public:
  LocationBackend(GenesysClient& client, std::string location_id, std::string path,
                  std::vector<BackendCandidate> candidates = {});

  std::string kind() const override { return "location"; }
  /// The candidate whose host and port are the endpoint at `path` (none when the location has no
  /// such {host, port} or another one).
  void readActiveOrder(ActiveOrderCallback callback) override;
  /// Moves the endpoint to the first candidate's host and port, testing the value read just
  /// before.
  void applyRanked(std::vector<std::string> ranked_candidate_names,
                   BackendCallback callback) override;

  /// With `expected`, the patch tests the remote still holds it (no read); without, the
  /// location is read first and its current value is tested.
  void apply(const Endpoint& target, std::optional<Endpoint> expected, BackendCallback callback);

 private:
  void patch(const Endpoint& old_endpoint, const Endpoint& target, BackendCallback callback);

  GenesysClient& client_;
  std::string location_id_;
  std::string path_;
  std::vector<BackendCandidate> candidates_;
};

/// The real platform's SIP backend: a BYOC Cloud trunk's server list. Reads
/// `trunkbasesettings/{id}?ignoreHidden=true`; refuses (nothing sent, permanent) a managed trunk
/// or one that is not EXTERNAL; reorders `trunk_transport_serverProxyList` (the candidates ranked
/// first, as the admin wrote them when an entry names them; every other entry kept, in its old
/// order); adds candidate addresses the ACL allowlist does not cover; PUTs the whole object with
/// the version just read, every other property as read; re-reads and retries on a version
/// conflict (409, 408, 400 "does not match the current version"), at most `max_conflicts` times.
///
/// Thread safety: loop thread only.
class TrunkBackend final : public FailoverBackend {
 public:
  TrunkBackend(GenesysClient& client, std::string trunk_base_id,
               std::vector<BackendCandidate> candidates, int max_conflicts = kMaxVersionConflicts);

  std::string kind() const override { return "trunk"; }
  /// The candidate the server list's first entry names.
  void readActiveOrder(ActiveOrderCallback callback) override;
  void applyRanked(std::vector<std::string> ranked_candidate_names,
                   BackendCallback callback) override;

 private:
  std::string path() const;

  GenesysClient& client_;
  std::string trunk_base_id_;
  std::vector<BackendCandidate> candidates_;
  int max_conflicts_;
};

/// The real platform's media backend: the media regions of a Site. Reads the org's regions once
/// (`GET /api/v2/telephony/mediaregions`, cached after the first success) and refuses (nothing
/// sent, permanent) candidates mapped to a region the org does not have; reads the site; sets
/// `mediaRegions` to the candidates' regions ranked best first, then the site's other regions
/// in their old order, and `mediaRegionsUseLatencyBased` to false; PUTs the whole site with the
/// version read; version conflicts as for trunks.
///
/// Thread safety: loop thread only.
class SiteBackend final : public FailoverBackend {
 public:
  SiteBackend(GenesysClient& client, std::string site_id, std::vector<BackendCandidate> candidates,
              int max_conflicts = kMaxVersionConflicts);

  std::string kind() const override { return "site"; }
  /// The candidate whose region is the site's first media region (none while the site picks by
  /// latency: its order is then not what the platform uses).
  void readActiveOrder(ActiveOrderCallback callback) override;
  void applyRanked(std::vector<std::string> ranked_candidate_names,
                   BackendCallback callback) override;

 private:
  /// Runs `then` with the org's regions, reading them the first time; an error otherwise.
  void withOrgRegions(std::function<void(const OrgMediaRegions*, std::optional<ApiError>)> then);
  std::string path() const;

  GenesysClient& client_;
  std::string site_id_;
  std::vector<BackendCandidate> candidates_;
  int max_conflicts_;
  std::optional<OrgMediaRegions> org_regions_;  // cached after the first successful read
};

/// Whether a write's failure means someone changed the object since it was read, so reading it
/// again and retrying may succeed (the Terraform provider's rule): 409, 408, or 400 whose message
/// says the version "does not match the current version".
bool isVersionConflict(int status, const std::string& message);

/// The value under a JSON pointer ("/media/proxy") of a location as an Endpoint; nullopt when
/// absent or malformed.
std::optional<Endpoint> endpointAt(const nlohmann::json& location, const std::string& path);

}  // namespace mediapath::reporter
