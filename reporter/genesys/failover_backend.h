#pragma once

#include <cstdint>
#include <functional>
#include <memory>
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

/// One entry the remote points at. `port` is absent when the remote names only a host (a trunk
/// server list entry): the caller then matches by host alone.
struct RemoteEntry {
  std::string host;
  std::optional<std::uint16_t> port;
};

/// What the remote currently points at, best first.
struct ActiveOrder {
  std::vector<RemoteEntry> entries;  ///< may be empty: the remote holds nothing usable
  std::string summary;               ///< for the log: "remote /media/proxy is host:5060"
  std::optional<ApiError> error;     ///< the read failed; `entries` is empty
  bool ok() const { return !error; }
};

using ActiveOrderCallback = std::function<void(ActiveOrder)>;

/// Where a failover group writes its decisions (DESIGN.md "Genesys backends"). The failover
/// layer talks only to this interface: paths, payload shapes and conflict handling stay behind
/// it, in reporter/genesys.
///
/// Thread safety: loop thread only. Callbacks run on the loop; the client a backend uses must
/// outlive the backend's pending operations (cancel the client before destroying the backend).
class FailoverBackend {
 public:
  virtual ~FailoverBackend() = default;

  /// "location" or "trunk": names the remote object in messages.
  virtual std::string kind() const = 0;

  /// Reads what the remote currently points at.
  virtual void readActiveOrder(ActiveOrderCallback callback) = 0;

  /// Makes the remote point at `ranked` (best first; not empty). A backend that holds a single
  /// endpoint writes the first; one that holds a list writes them all in this order.
  virtual void applyRanked(std::vector<Endpoint> ranked, BackendCallback callback) = 0;
};

/// Plain values naming a group's remote object (no agent config types here).
struct BackendTarget {
  std::string location_id;    ///< with `location_path`: a Location's media endpoint
  std::string location_path;  ///< "/media/proxy", "/media/stun", "/media/turn"
  std::string trunk_base_id;  ///< otherwise: a BYOC trunk's SIP server list
};

/// The backend for `target`: a LocationBackend when `location_path` is set, else a TrunkBackend
/// when `trunk_base_id` is set, else null (the group writes nowhere).
std::unique_ptr<FailoverBackend> makeFailoverBackend(GenesysClient& client,
                                                     const BackendTarget& target);

}  // namespace mediapath::reporter
