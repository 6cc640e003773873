#include "reporter/genesys/genesys_backends.h"

#include <memory>

#include "net/text.h"
#include "reporter/genesys/api_responses.h"
#include "reporter/genesys/genesys_json_patch.h"
#include "reporter/genesys/genesys_reports.h"

namespace mediapath::reporter {
namespace {

using nlohmann::json;

constexpr const char* kTrunkBase = "/api/v2/telephony/providers/edges/trunkbasesettings/";
constexpr const char* kSites = "/api/v2/telephony/providers/edges/sites/";
constexpr const char* kMediaRegions = "/api/v2/telephony/mediaregions";

/// An error the agent raises itself, about `request` (which it did not send, or whose answer it
/// cannot use): no status, the reason as the message.
ApiError agentError(std::string request, std::string message) {
  ApiError e;
  e.request = std::move(request);
  e.message = std::move(message);
  return e;
}

BackendResult failed(ApiError error, bool permanent, int attempts = 0) {
  BackendResult r;
  r.error = std::move(error);
  r.permanent = permanent;
  r.attempts = attempts;
  return r;
}

/// The candidates in the order of `names` (each name once, unknown names refused), followed by
/// any candidate the caller left out, in preference order: a backend always orders them all.
std::optional<std::vector<BackendCandidate>> rankCandidates(
    const std::vector<BackendCandidate>& candidates, const std::vector<std::string>& names,
    std::string& problem) {
  std::vector<BackendCandidate> ranked;
  std::vector<bool> taken(candidates.size(), false);
  for (const auto& name : names) {
    bool found = false;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      if (candidates[i].name != name) continue;
      found = true;
      if (!taken[i]) ranked.push_back(candidates[i]);
      taken[i] = true;
    }
    if (!found) {
      problem = "\"" + name + "\" is not a candidate of this group";
      return std::nullopt;
    }
  }
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (!taken[i]) ranked.push_back(candidates[i]);
  }
  if (ranked.empty()) {
    problem = "the group has no candidates";
    return std::nullopt;
  }
  return ranked;
}

/// rankCandidates, or nullopt after refusing the call through `callback`: a name that is not a
/// candidate is the configuration's doing, so the refusal is permanent.
std::optional<std::vector<BackendCandidate>> rankedOrRefused(
    const std::vector<BackendCandidate>& candidates, const std::vector<std::string>& names,
    const std::string& request, BackendCallback& callback) {
  std::string problem;
  auto ranked = rankCandidates(candidates, names, problem);
  if (!ranked) callback(failed(agentError(request, problem), true));
  return ranked;
}

/// The name of the first candidate `matches`, or "" when none does.
template <typename Match>
std::string firstCandidate(const std::vector<BackendCandidate>& candidates, Match matches) {
  for (const auto& c : candidates) {
    if (matches(c)) return c.name;
  }
  return {};
}

/// What an edit of a freshly read object decided.
struct EditOutcome {
  bool changed = false;   ///< false: the object already matched, nothing to send
  std::string refusal;    ///< not empty: send nothing, fail with this reason
  bool permanent = true;  ///< with `refusal`: retrying cannot help
  std::string summary;    ///< for the log
};

using Edit = std::function<EditOutcome(json& object)>;

/// One read-modify-write of a platform object with optimistic concurrency: GET it, edit it, PUT
/// the whole object back with the version read (the edit leaves `version` alone), and on a
/// version conflict read again and retry, at most `max_conflicts` times.
struct Update {
  GenesysClient& client;
  std::string get_operation;
  std::string get_path;  ///< may carry a query ("?ignoreHidden=true")
  std::string put_operation;
  std::string put_path;
  Edit edit;
  int max_conflicts = kMaxVersionConflicts;
  BackendCallback done;
};

void attemptUpdate(const std::shared_ptr<Update>& u, int conflicts) {
  u->client.call(
      {u->get_operation, "GET", u->get_path, std::nullopt, {}}, [u, conflicts](ApiResponse r) {
        if (!r.ok()) return u->done(failed(std::move(*r.error), false, conflicts));
        // The object goes back whole with its version: it must be one, with a version in range.
        auto read = parseVersionedObject(std::move(r.body), u->get_operation.c_str());
        if (!read) return u->done(failed(malformedAnswer(r, read.error), false, conflicts));
        json object = std::move(read->object);
        EditOutcome e = u->edit(object);
        if (!e.refusal.empty()) {
          BackendResult res =
              failed(agentError("PUT " + u->put_path, e.refusal), e.permanent, conflicts);
          res.summary = e.summary;
          return u->done(std::move(res));
        }
        if (!e.changed) {
          BackendResult res;
          res.request = std::move(object);
          res.attempts = conflicts;
          res.summary = e.summary;
          return u->done(std::move(res));
        }
        json body = object;
        u->client.call({u->put_operation, "PUT", u->put_path, std::move(body), "application/json"},
                       [u, conflicts, object = std::move(object),
                        summary = std::move(e.summary)](ApiResponse put) mutable {
                         if (!put.ok() && isVersionConflict(put.status, put.error->message) &&
                             conflicts < u->max_conflicts) {
                           attemptUpdate(u, conflicts + 1);
                           return;
                         }
                         BackendResult res;
                         res.changed = put.ok();
                         res.request = std::move(object);
                         res.response = std::move(put.body);
                         res.attempts = conflicts + 1;
                         res.error = std::move(put.error);
                         res.summary = std::move(summary);
                         u->done(std::move(res));
                       });
      });
}

std::string objectName(const char* kind, const json& object, const std::string& id) {
  return std::string(kind) + " \"" + net::printable(stringField(object, "name"), 128) + "\" (" +
         id + ")";
}

}  // namespace

bool isVersionConflict(int status, const std::string& message) {
  if (status == 409 || status == 408) return true;
  return status == 400 && message.find("does not match the current version") != std::string::npos;
}

std::optional<Endpoint> endpointAt(const json& location, const std::string& path) {
  json::json_pointer ptr(path);
  if (!location.contains(ptr)) return std::nullopt;
  const json& v = location.at(ptr);
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

std::unique_ptr<FailoverBackend> makeFailoverBackend(GenesysClient& client,
                                                     const BackendTarget& target) {
  if (!target.location_path.empty()) {
    return std::make_unique<LocationBackend>(client, target.location_id, target.location_path,
                                             target.candidates);
  }
  if (!target.trunk_base_id.empty()) {
    return std::make_unique<TrunkBackend>(client, target.trunk_base_id, target.candidates);
  }
  if (!target.site_id.empty()) {
    return std::make_unique<SiteBackend>(client, target.site_id, target.candidates);
  }
  return nullptr;
}

// ---- Location (seed) ----------------------------------------------------------------------

LocationBackend::LocationBackend(GenesysClient& client, std::string location_id, std::string path,
                                 std::vector<BackendCandidate> candidates)
    : client_(client),
      location_id_(std::move(location_id)),
      path_(std::move(path)),
      candidates_(std::move(candidates)) {}

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
                 if (!ep) {
                   order.summary = "remote location has no " + path_;
                   callback(std::move(order));
                   return;
                 }
                 order.active = firstCandidate(candidates_, [&ep](const BackendCandidate& c) {
                   return c.host == ep->host && c.port == ep->port;
                 });
                 order.summary = "remote " + path_ + " is " + net::printable(ep->host, 256) + ":" +
                                 std::to_string(ep->port);
                 callback(std::move(order));
               });
}

void LocationBackend::applyRanked(std::vector<std::string> ranked_candidate_names,
                                  BackendCallback callback) {
  auto ranked = rankedOrRefused(candidates_, ranked_candidate_names,
                                "PATCH /api/v2/locations/" + location_id_, callback);
  if (!ranked) return;
  // No expected value: the location is read and what was read is tested, so a change the
  // platform already holds (after a crash) is recognised instead of sent twice.
  apply({ranked->front().host, ranked->front().port}, std::nullopt, std::move(callback));
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
                   callback(failed(std::move(*r.error), false));
                   return;
                 }
                 auto current = endpointAt(r.body, path_);
                 if (!current) {
                   ApiError e;
                   e.request = "GET /api/v2/locations/" + location_id_;
                   e.status = r.status;
                   e.message = "the location has no " + path_ + " {host, port}";
                   callback(failed(std::move(e), false));
                   return;
                 }
                 patch(*current, target, std::move(callback));
               });
}

void LocationBackend::patch(const Endpoint& old_endpoint, const Endpoint& target,
                            BackendCallback callback) {
  json ops = endpointPatch(path_, old_endpoint, target);
  std::string summary = "location " + path_ + " " + net::printable(old_endpoint.host, 256) + ":" +
                        std::to_string(old_endpoint.port) + " -> " + target.host + ":" +
                        std::to_string(target.port);
  if (ops.empty()) {
    BackendResult r;
    r.request = ops;
    r.summary = "location " + path_ + " already is " + target.host + ":" +
                std::to_string(target.port) + " (no change)";
    callback(std::move(r));
    return;
  }
  client_.call({"patch_location", "PATCH", "/api/v2/locations/" + location_id_, ops,
                "application/json-patch+json"},
               [ops, summary = std::move(summary), callback = std::move(callback)](ApiResponse r) {
                 BackendResult res;
                 res.changed = r.ok();
                 res.request = ops;
                 res.response = std::move(r.body);
                 res.attempts = 1;
                 res.error = std::move(r.error);
                 res.summary = summary;
                 callback(std::move(res));
               });
}

// ---- BYOC trunk ---------------------------------------------------------------------------

TrunkBackend::TrunkBackend(GenesysClient& client, std::string trunk_base_id,
                           std::vector<BackendCandidate> candidates, int max_conflicts)
    : client_(client),
      trunk_base_id_(std::move(trunk_base_id)),
      candidates_(std::move(candidates)),
      max_conflicts_(max_conflicts) {}

std::string TrunkBackend::path() const { return kTrunkBase + urlEncode(trunk_base_id_); }

void TrunkBackend::readActiveOrder(ActiveOrderCallback callback) {
  // ignoreHidden: the properties meant for the platform's own use stay out of what the agent
  // reads (and so out of what it would write back), as the Terraform provider does.
  std::string get_path = path() + "?ignoreHidden=true";
  client_.call(
      {"get_trunkbasesettings", "GET", get_path, std::nullopt, {}},
      [this, get_path, callback = std::move(callback)](ApiResponse r) {
        ActiveOrder order;
        if (!r.ok()) {
          order.error = std::move(r.error);
          return callback(std::move(order));
        }
        auto list = serverProxyList(r.body);
        if (!list) {
          order.error = agentError(
              "GET " + get_path, objectName("trunk", r.body, trunk_base_id_) +
                                     ": trunk_transport_serverProxyList is not a list of strings");
          return callback(std::move(order));
        }
        std::uint16_t port = trunkSipPort(r.body);
        if (!list->empty()) {
          order.active = firstCandidate(candidates_, [&list, port](const BackendCandidate& c) {
            return serverProxyEntryMatches(list->front(), c, port);
          });
        }
        order.summary = "remote " + objectName("trunk", r.body, trunk_base_id_) +
                        " server list: " + joinForLog(*list);
        if (std::string why = trunkRefusal(r.body, trunk_base_id_); !why.empty()) {
          order.summary += "; " + why;
        }
        callback(std::move(order));
      });
}

void TrunkBackend::applyRanked(std::vector<std::string> ranked_candidate_names,
                               BackendCallback callback) {
  auto ranked = rankedOrRefused(candidates_, ranked_candidate_names, "PUT " + path(), callback);
  if (!ranked) return;
  std::string id = trunk_base_id_;
  std::vector<BackendCandidate> all = candidates_;
  Edit edit = [id, ranked = std::move(*ranked), all](json& trunk) {
    EditOutcome out;
    out.refusal = trunkRefusal(trunk, id);
    if (!out.refusal.empty()) return out;
    std::string who = objectName("trunk", trunk, id);
    auto current = serverProxyList(trunk);
    if (!current) {
      // Rewriting a list the agent cannot read whole would drop what it cannot read; an admin
      // can repair it, so this is retried.
      out.refusal = who +
                    ": trunk_transport_serverProxyList is not a list of strings; not "
                    "rewriting it";
      out.permanent = false;
      return out;
    }
    std::vector<std::string> wanted = reorderServerProxyList(*current, ranked, trunkSipPort(trunk));
    bool list_changed = setServerProxyList(trunk, wanted);
    std::vector<std::string> added = addCandidatesToAllowList(trunk, all);
    out.changed = list_changed || !added.empty();
    out.summary = who + " server list: " + joinForLog(wanted) +
                  (list_changed ? " (was " + joinForLog(*current) + ")" : " (no change)");
    if (!added.empty()) out.summary += "; ACL allowlist + " + joinForLog(added);
    return out;
  };
  attemptUpdate(
      std::make_shared<Update>(Update{
          client_, "get_trunkbasesettings", path() + "?ignoreHidden=true", "put_trunkbasesettings",
          path(), std::move(edit), max_conflicts_, std::move(callback)}),
      0);
}

// ---- Site media regions -------------------------------------------------------------------

SiteBackend::SiteBackend(GenesysClient& client, std::string site_id,
                         std::vector<BackendCandidate> candidates, int max_conflicts)
    : client_(client),
      site_id_(std::move(site_id)),
      candidates_(std::move(candidates)),
      max_conflicts_(max_conflicts) {}

std::string SiteBackend::path() const { return kSites + urlEncode(site_id_); }

void SiteBackend::withOrgRegions(
    std::function<void(const OrgMediaRegions*, std::optional<ApiError>)> then) {
  if (org_regions_) {
    then(&*org_regions_, std::nullopt);
    return;
  }
  client_.call({"get_media_regions", "GET", kMediaRegions, std::nullopt, {}},
               [this, then = std::move(then)](ApiResponse r) {
                 if (!r.ok()) return then(nullptr, std::move(r.error));
                 auto org = parseOrgMediaRegions(r.body);
                 if (!org) {
                   return then(nullptr, agentError(std::string("GET ") + kMediaRegions,
                                                   "the answer names no media region"));
                 }
                 // Cached only once read well: the org's regions do not change under a running
                 // agent, and a failed read is tried again next time.
                 org_regions_ = std::move(*org);
                 then(&*org_regions_, std::nullopt);
               });
}

void SiteBackend::readActiveOrder(ActiveOrderCallback callback) {
  withOrgRegions([this, callback = std::move(callback)](const OrgMediaRegions* org,
                                                        std::optional<ApiError> error) mutable {
    ActiveOrder order;
    if (error) {
      order.error = std::move(error);
      return callback(std::move(order));
    }
    if (std::string problem = regionProblem(candidates_, *org); !problem.empty()) {
      order.error = agentError(std::string("GET ") + kMediaRegions, problem);
      return callback(std::move(order));
    }
    client_.call(
        {"get_site", "GET", path(), std::nullopt, {}},
        [this, callback = std::move(callback)](ApiResponse r) {
          ActiveOrder site_order;
          if (!r.ok()) {
            site_order.error = std::move(r.error);
            return callback(std::move(site_order));
          }
          auto regions = siteMediaRegions(r.body);
          if (!regions) {
            site_order.error =
                agentError("GET " + path(), objectName("site", r.body, site_id_) +
                                                ": mediaRegions is not a list of strings");
            return callback(std::move(site_order));
          }
          bool latency = r.body.is_object() && r.body.contains("mediaRegionsUseLatencyBased") &&
                         r.body["mediaRegionsUseLatencyBased"] == true;
          site_order.summary = "remote " + objectName("site", r.body, site_id_) +
                               " media regions: " + joinForLog(*regions);
          if (latency) {
            // The platform picks by latency: no candidate is "first" in what it does.
            site_order.summary += " (picked by latency, not in this order)";
          } else if (!regions->empty()) {
            site_order.active = firstCandidate(candidates_, [&regions](const BackendCandidate& c) {
              return c.region == regions->front();
            });
          }
          callback(std::move(site_order));
        });
  });
}

void SiteBackend::applyRanked(std::vector<std::string> ranked_candidate_names,
                              BackendCallback callback) {
  auto ranked = rankedOrRefused(candidates_, ranked_candidate_names, "PUT " + path(), callback);
  if (!ranked) return;
  withOrgRegions([this, ranked = std::move(*ranked), callback = std::move(callback)](
                     const OrgMediaRegions* org, std::optional<ApiError> error) mutable {
    if (error) return callback(failed(std::move(*error), false));
    if (std::string why = regionProblem(candidates_, *org); !why.empty()) {
      return callback(failed(agentError("PUT " + path(), why + "; nothing was sent"), true));
    }
    std::string id = site_id_;
    std::string home = org->home;
    Edit edit = [id, home, ranked = std::move(ranked)](json& site) {
      EditOutcome out;
      std::string who = objectName("site", site, id);
      auto current = siteMediaRegions(site);
      if (!current) {
        out.refusal = who + ": mediaRegions is not a list of strings; not rewriting it";
        out.permanent = false;
        return out;
      }
      std::vector<std::string> wanted = rankMediaRegions(*current, ranked);
      out.changed = setSiteMediaRegions(site, wanted, home);
      out.summary = who + " media regions: " + joinForLog(wanted) +
                    (out.changed ? " (was " + joinForLog(*current) + ")" : " (no change)");
      return out;
    };
    attemptUpdate(
        std::make_shared<Update>(Update{client_, "get_site", path(), "put_site", path(),
                                        std::move(edit), max_conflicts_, std::move(callback)}),
        0);
  });
}

}  // namespace mediapath::reporter
