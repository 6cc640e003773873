#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "reporter/genesys/genesys_client.h"

namespace mediapath::reporter {

/// What a backend did.
// The analysis cannot see that the json members' moves do not throw; an allocation failure
// ends the agent anyway.
// NOLINTNEXTLINE(bugprone-exception-escape): json members
struct BackendResult {
  bool changed = false;     ///< false: the remote already matched, nothing was sent
  nlohmann::json request;   ///< the JSON Patch / trunk / site object that was (or would be) sent
  nlohmann::json response;  ///< the platform's answer (the updated object)
  int attempts = 0;         ///< writes sent (more than 1 after version conflicts)
  std::optional<ApiError> error;
  /// With `error`: retrying cannot help (a managed trunk, a region the org does not have, a name
  /// that is not a candidate): the caller records the failure once instead of retrying it. Only
  /// a change of configuration (a reload) or of the remote object by an admin can fix it.
  bool permanent = false;
  /// For the log: what the backend did or found ("server list: b, a, extra (was a, b, extra)").
  std::string summary;
  bool ok() const { return !error; }
};

using BackendCallback = std::function<void(BackendResult)>;

/// One of a failover group's candidates, as a backend needs it: the backend owns the mapping
/// between candidates and the remote's entries (a trunk's "host[:port]", a site's region).
struct BackendCandidate {
  std::string name;  ///< the candidate target's name: what the failover layer speaks in
  std::string host;
  std::uint16_t port = 0;
  std::string region;  ///< the AWS media region it stands for (site groups only)
};

/// What the remote currently points at.
struct ActiveOrder {
  /// The candidate the remote tries first; empty when the remote's first entry is none of the
  /// group's candidates (or the remote holds nothing usable).
  std::string active;
  std::string summary;  ///< for the log: "remote trunk ... server list: a, b"
  std::optional<ApiError>
      error;  ///< the read failed (or the remote cannot be used); `active` empty
  bool ok() const { return !error; }
};

using ActiveOrderCallback = std::function<void(ActiveOrder)>;

/// Where a failover group writes its decisions (DESIGN.md "Genesys backends"). The failover
/// layer talks only to this interface and only in candidate names: hosts, ports, regions, paths,
/// payload shapes and conflict handling stay behind it, in reporter/genesys.
///
/// Thread safety: loop thread only. Callbacks run on the loop; the client a backend uses must
/// outlive the backend's pending operations (cancel the client before destroying the backend).
class FailoverBackend {
 public:
  virtual ~FailoverBackend() = default;

  /// "location", "trunk" or "site": names the remote object in messages.
  virtual std::string kind() const = 0;

  /// Reads which candidate the remote currently tries first.
  virtual void readActiveOrder(ActiveOrderCallback callback) = 0;

  /// Makes the remote try the candidates in this order: `ranked_candidate_names` holds every
  /// candidate of the group, best first. A backend that holds a single endpoint writes the first;
  /// one that holds a list reorders it.
  virtual void applyRanked(std::vector<std::string> ranked_candidate_names,
                           BackendCallback callback) = 0;
};

/// Plain values naming a group's remote object (no agent config types here).
struct BackendTarget {
  std::string location_id;    ///< with `location_path` (seed schema only): a Location's endpoint
  std::string location_path;  ///< "/media/proxy", "/media/stun", "/media/turn"
  std::string trunk_base_id;  ///< a BYOC trunk's SIP server list
  std::string site_id;        ///< a Site's media regions (candidates carry their region)
  /// The group's candidates in preference order.
  std::vector<BackendCandidate> candidates;
};

/// The backend for `target`: a LocationBackend when `location_path` is set, else a TrunkBackend
/// when `trunk_base_id` is set, else a SiteBackend when `site_id` is set, else null (the group
/// writes nowhere).
std::unique_ptr<FailoverBackend> makeFailoverBackend(GenesysClient& client,
                                                     const BackendTarget& target);

}  // namespace mediapath::reporter
