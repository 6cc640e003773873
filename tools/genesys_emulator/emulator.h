#pragma once

#include <chrono>
#include <cstdint>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "net/clock.h"
#include "tools/genesys_emulator/api_error.h"
#include "tools/genesys_emulator/http_types.h"

namespace mediapath::tools::emulator {

/// Which Location shapes the emulator speaks: the real platform's (the default) or the seed
/// tutorial's idealised ones (media fields, `status`, RFC 6902 PATCH, 422s).
enum class Schema { kPlatform, kSeed };

/// "platform" | "seed"; nullopt otherwise.
std::optional<Schema> parseSchema(const std::string& text);

/// The org's media regions (GET /api/v2/telephony/mediaregions) for a home region: the core and
/// satellite tables are fixed; the home region must be in one of them.
bool isKnownMediaRegion(const std::string& region);

struct EmulatorOptions {
  Schema schema = Schema::kPlatform;
  std::string home_region = "eu-central-1";  // must be a known media region
  /// The OAuth client's permissions; nullopt: every permission (README, "Permissions").
  std::optional<std::set<std::string>> permissions;
  std::string client_id;
  std::string client_secret;
  std::chrono::seconds expires_in{86400};
  std::chrono::milliseconds activation_delay{500};
  double rate_per_second = 0;  // 0: rate limiting off
  int burst = 0;               // bucket size; defaults to max(1, rate) when 0
  std::uint64_t seed = 1;
  int conversations = 40;
  std::string request_log_path;  // JSON Lines, appended; empty: none
  std::string state_file;        // locations, trunks and sites, loaded at start, saved on change
};

/// The emulated platform: every endpoint, the state behind it, faults, rate limit and request log.
/// Transport-free (HttpRequest in, HttpResponse out) so tests can drive it without sockets.
/// Thread-safe: handle() may be called from the HTTP server's worker threads concurrently; one
/// mutex serialises all state. `clock` and `random` must outlive the Emulator.
class Emulator {
 public:
  Emulator(EmulatorOptions options, const net::Clock& clock, net::Random& random);
  ~Emulator();
  Emulator(const Emulator&) = delete;
  Emulator& operator=(const Emulator&) = delete;

  HttpResponse handle(const HttpRequest& request);

  /// The request log (what GET /_emulator/requests returns).
  nlohmann::json requestLog() const;
  /// {"locations": [...], "trunks": [...], "sites": [...], "audit": [...]}.
  nlohmann::json state() const;

 private:
  struct Location {
    nlohmann::json doc;  // stored fields (status is computed from active_at)
    std::chrono::steady_clock::time_point active_at;
  };
  struct AuditEntry {
    nlohmann::json message;
    std::chrono::system_clock::time_point time;
  };
  // NOLINTNEXTLINE(bugprone-exception-escape): json members; an allocation failure ends the tool
  struct AuditQuery {
    int state = 0;  // 0 Queued, 1 Running, 2 Succeeded
    nlohmann::json request;
    std::vector<nlohmann::json> results;
  };
  struct Fault {
    std::string id;
    std::string path_prefix;
    std::string method;
    int count = 1;
    int status = 0;
    int retry_after = 0;
    int stall_ms = 0;
    bool reset = false;
    bool oauth_rate_limit = false;
    bool concurrent_change = false;
    int conflict = 409;  // how a concurrent_change's version mismatch is answered: 409, 408, 400
  };
  struct Context {
    const HttpRequest& request;
    std::string correlation_id;
    std::string fault_id;
    int concurrent_conflict = 0;  // a concurrent_change fault matched: the answer's form
  };

  HttpResponse dispatch(Context& ctx);
  HttpResponse handleAdmin(Context& ctx);
  HttpResponse handleToken(Context& ctx);
  HttpResponse handleApi(Context& ctx);
  HttpResponse locationsCollection(Context& ctx);
  HttpResponse locationItem(Context& ctx, const std::string& id);
  HttpResponse trunksCollection(Context& ctx);
  HttpResponse trunkItem(Context& ctx, const std::string& id);
  HttpResponse sitesCollection(Context& ctx);
  HttpResponse siteItem(Context& ctx, const std::string& id);
  HttpResponse mediaRegions(Context& ctx);
  HttpResponse ipRanges(Context& ctx);
  HttpResponse platformLocationPatch(Context& ctx, const std::string& id);
  HttpResponse auditQuery(Context& ctx, const std::vector<std::string>& segments);
  HttpResponse analyticsQuery(Context& ctx);

  std::optional<ApiError> checkBearer(const HttpRequest& request) const;
  std::optional<ApiError> checkPermission(const HttpRequest& request) const;
  bool takeRateToken(std::chrono::milliseconds& retry_after);
  void addRateHeaders(HttpResponse& response);
  std::optional<Fault> takeFault(const HttpRequest& request);

  HttpResponse reply(int status, const nlohmann::json& body) const;
  HttpResponse error(const Context& ctx, const ApiError& error) const;
  HttpResponse oauthRateLimited() const;
  std::variant<nlohmann::json, ApiError> parseJsonBody(const HttpRequest& request,
                                                       bool allow_json_patch = false) const;

  nlohmann::json locationView(const Location& location) const;
  nlohmann::json createTrunk(const nlohmann::json& spec);
  /// A stored trunk as GET answers it: with the hidden properties unless ignoreHidden=true.
  static nlohmann::json trunkView(const nlohmann::json& stored, bool with_hidden);
  std::variant<nlohmann::json, ApiError> createSite(const nlohmann::json& spec);
  /// A concurrent_change fault matched: another user saves `stored` first (version +1, audit).
  void concurrentChange(const Context& ctx, nlohmann::json& stored, const std::string& service,
                        const std::string& entity_type);
  /// The version mismatch answer: 409 unless a concurrent_change fault chose 408 or 400.
  HttpResponse versionConflict(const Context& ctx, long long supplied, long long current) const;
  void saveVersionedPut(Context& ctx, nlohmann::json& stored, nlohmann::json updated,
                        const std::string& id, const std::string& entity_type);
  HttpResponse pagedList(Context& ctx, const std::vector<std::string>& order,
                         const std::string& base,
                         const std::function<nlohmann::json(const std::string&)>& view);
  std::optional<HttpResponse> checkVersionedPut(Context& ctx, nlohmann::json& stored,
                                                const nlohmann::json& body, const std::string& id,
                                                const std::string& entity_type);
  std::string createLocation(nlohmann::json writable, std::chrono::milliseconds delay);
  void recordAudit(const Context& ctx, const std::string& service, const std::string& entity_type,
                   const std::string& entity_id, const std::string& entity_name,
                   const std::string& action, nlohmann::json changes, bool other_user = false);
  std::variant<std::vector<nlohmann::json>, ApiError> selectAudit(const nlohmann::json& body) const;
  void logRequest(const Context& ctx, const HttpResponse& response);
  nlohmann::json stateLocked() const;
  void saveState() const;
  void loadState();
  std::string newId();

  const EmulatorOptions options_;
  const net::Clock& clock_;
  net::Random& random_;

  mutable std::mutex mutex_;
  std::map<std::string, Location> locations_;
  std::vector<std::string> location_order_;
  std::map<std::string, nlohmann::json> trunks_;
  std::vector<std::string> trunk_order_;
  std::map<std::string, nlohmann::json> sites_;
  std::vector<std::string> site_order_;
  std::vector<AuditEntry> audit_;
  std::map<std::string, AuditQuery> audit_queries_;
  std::map<std::string, std::chrono::steady_clock::time_point> tokens_;  // token → expiry
  std::vector<Fault> faults_;
  nlohmann::json log_ = nlohmann::json::array();
  std::ofstream log_file_;
  double bucket_tokens_ = 0;
  std::chrono::steady_clock::time_point bucket_time_;
  std::chrono::steady_clock::time_point window_start_;
  int window_count_ = 0;
};

}  // namespace mediapath::tools::emulator
