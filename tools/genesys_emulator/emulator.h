#pragma once

#include <chrono>
#include <cstdint>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "net/clock.h"
#include "tools/genesys_emulator/api_error.h"
#include "tools/genesys_emulator/http_types.h"

namespace mediapath::tools::emulator {

struct EmulatorOptions {
  std::string client_id;
  std::string client_secret;
  std::chrono::seconds expires_in{86400};
  std::chrono::milliseconds activation_delay{500};
  double rate_per_second = 0;  // 0: rate limiting off
  int burst = 0;               // bucket size; defaults to max(1, rate) when 0
  std::uint64_t seed = 1;
  int conversations = 40;
  std::string request_log_path;  // JSON Lines, appended; empty: none
  std::string state_file;        // locations and trunks, loaded at start, saved on change
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
  /// {"locations": [...], "trunks": [...], "audit": [...]}.
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
  };
  struct Context {
    const HttpRequest& request;
    std::string correlation_id;
    std::string fault_id;
  };

  HttpResponse dispatch(Context& ctx);
  HttpResponse handleAdmin(Context& ctx);
  HttpResponse handleToken(Context& ctx);
  HttpResponse handleApi(Context& ctx);
  HttpResponse locationsCollection(Context& ctx);
  HttpResponse locationItem(Context& ctx, const std::string& id);
  HttpResponse trunksCollection(Context& ctx);
  HttpResponse trunkItem(Context& ctx, const std::string& id);
  HttpResponse auditQuery(Context& ctx, const std::vector<std::string>& segments);
  HttpResponse analyticsQuery(Context& ctx);

  std::optional<ApiError> checkBearer(const HttpRequest& request) const;
  bool takeRateToken(std::chrono::milliseconds& retry_after);
  void addRateHeaders(HttpResponse& response);
  std::optional<Fault> takeFault(const HttpRequest& request);

  HttpResponse reply(int status, const nlohmann::json& body) const;
  HttpResponse error(const Context& ctx, const ApiError& error) const;
  std::variant<nlohmann::json, ApiError> parseJsonBody(const HttpRequest& request,
                                                       bool allow_json_patch = false) const;

  nlohmann::json locationView(const Location& location) const;
  nlohmann::json createTrunk(const nlohmann::json& spec);
  std::string createLocation(nlohmann::json writable, std::chrono::milliseconds delay);
  void recordAudit(const Context& ctx, const std::string& service, const std::string& entity_type,
                   const std::string& entity_id, const std::string& entity_name,
                   const std::string& action, nlohmann::json changes);
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
