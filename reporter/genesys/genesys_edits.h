#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "reporter/genesys/failover_backend.h"

// Pure edits of the platform's objects that the trunk and site backends make (DESIGN.md "Genesys
// backends"): no I/O, so every ordering rule is unit-tested on plain values.

namespace mediapath::reporter {

// ---- BYOC trunk: SIP server list and ACL allowlist ----------------------------------------

/// The trunk's SIP port: 5061 when `trunk_transport_protocolVariant` is "tls", else 5060. An
/// entry written without a port means this port.
std::uint16_t trunkSipPort(const nlohmann::json& trunk);

/// How the candidate is written in the server list: `host` when its port is the trunk's SIP port,
/// else `host:port` (`[v6]:port` for an IPv6 literal).
std::string serverProxyEntry(const BackendCandidate& candidate, std::uint16_t sip_port);

/// Whether a server list entry names the candidate: same host (case-insensitive, as DNS is) and
/// same port, an entry without a port meaning `sip_port`.
bool serverProxyEntryMatches(std::string_view entry, const BackendCandidate& candidate,
                             std::uint16_t sip_port);

/// The server list ranked: for each candidate in `ranked` order, the existing entries that name
/// it, as written (or a new entry when none does); then every other existing entry in its old
/// order. Nothing an admin wrote is dropped, and no candidate appears twice.
std::vector<std::string> reorderServerProxyList(const std::vector<std::string>& current,
                                                const std::vector<BackendCandidate>& ranked,
                                                std::uint16_t sip_port);

/// The trunk's server list (`properties.trunk_transport_serverProxyList.value.instance`): empty
/// when the trunk has none, nullopt when it holds something other than an array of strings (the
/// backend must not rewrite a list it cannot read whole).
std::optional<std::vector<std::string>> serverProxyList(const nlohmann::json& trunk);

/// Sets the server list, creating the property when missing and leaving its other members
/// (`type`, `items`, `value.default`, ...) alone. Returns false if it already held exactly this.
bool setServerProxyList(nlohmann::json& trunk, const std::vector<std::string>& entries);

/// Whether `address` (an IPv4 or IPv6 literal) lies in `entry`, an allowlist entry written as an
/// address or a CIDR. False for anything unparsable.
bool allowListCovers(std::string_view entry, std::string_view address);

/// Whether `host` is an IPv4 or IPv6 literal (not a name).
bool isIpLiteral(std::string_view host);

/// Appends to `properties.trunk_access_acl_allowList.value.instance` every candidate address
/// (an IP literal host) that no entry covers, as a single-address CIDR (`10.0.0.5/32`,
/// `2001:db8::5/128`): the shape of the other entries, so the list stays uniform. Host names are
/// left alone: the allowlist holds addresses, and a name's addresses change behind the agent's
/// back, so pinning today's lookup would be wrong tomorrow (the admin keeps those). A trunk
/// without the property is left without it (the agent does not invent trunk properties).
/// Returns what was appended.
std::vector<std::string> addCandidatesToAllowList(nlohmann::json& trunk,
                                                  const std::vector<BackendCandidate>& candidates);

/// Why the agent must not write to this trunk (empty when it may): a `managed` trunk belongs to
/// Genesys, and only an `EXTERNAL` trunk is a BYOC Cloud trunk. Names the trunk (name and id).
std::string trunkRefusal(const nlohmann::json& trunk, const std::string& trunk_base_id);

// ---- Site: media regions ------------------------------------------------------------------

/// The regions an org may use, from `GET /api/v2/telephony/mediaregions`.
struct OrgMediaRegions {
  std::string home;           ///< awsHomeRegion: the platform adds it to every site's list itself
  std::set<std::string> all;  ///< home ∪ awsCoreRegions ∪ awsSatelliteRegions
};

/// nullopt when the answer holds no region at all.
std::optional<OrgMediaRegions> parseOrgMediaRegions(const nlohmann::json& body);

/// Why the candidates cannot be written to a site (empty when they can): a candidate without a
/// region, or mapped to a region the org does not have — named with the region.
std::string regionProblem(const std::vector<BackendCandidate>& candidates,
                          const OrgMediaRegions& org);

/// The site's `mediaRegions` as strings; nullopt when absent or not an array of strings.
std::optional<std::vector<std::string>> siteMediaRegions(const nlohmann::json& site);

/// The media regions ranked: the candidates' regions in `ranked` order (each once), then the
/// site's other regions in their old order.
std::vector<std::string> rankMediaRegions(const std::vector<std::string>& current,
                                          const std::vector<BackendCandidate>& ranked);

/// Whether two region lists are the same once a trailing home region is ignored: the platform
/// appends its home region to whatever it is given, so `[a, b]` sent reads back `[a, b, home]`.
bool sameMediaRegions(const std::vector<std::string>& a, const std::vector<std::string>& b,
                      const std::string& home);

/// Sets `mediaRegions` to `regions` and `mediaRegionsUseLatencyBased` to false (a ranked list
/// means nothing while the platform picks by latency); every other field stays. Returns false
/// when the site already held both (ignoring a trailing home region).
bool setSiteMediaRegions(nlohmann::json& site, const std::vector<std::string>& regions,
                         const std::string& home);

// ---- Both ---------------------------------------------------------------------------------

/// `a, b, c` for the log, each element bounded and escaped (they come from the platform).
std::string joinForLog(const std::vector<std::string>& items);

}  // namespace mediapath::reporter
