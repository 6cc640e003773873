#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/http_client.h"
#include "reporter/genesys/retry_policy.h"

namespace mediapath::net {
class EventLoop;
class Clock;
class Random;
}  // namespace mediapath::net

namespace mediapath::reporter {

struct GenesysEndpoints {
  std::string api_base_url;    ///< no trailing slash
  std::string login_base_url;  ///< no trailing slash
};

/// Base URLs from the region table, each replaced by its override when given. Throws
/// std::invalid_argument for an unknown region (without both overrides), a URL that is not
/// http(s), or plain http:// to a host that is not loopback.
GenesysEndpoints resolveEndpoints(const std::string& region, const std::string& api_override,
                                  const std::string& login_override);

struct GenesysClientOptions {
  GenesysEndpoints endpoints;
  std::string client_id;      ///< secret-ish: never logged
  std::string client_secret;  ///< secret: never logged, never in errors
  std::string ca_file;
  Millis request_timeout{10000};  ///< per attempt
  RetryOptions retry;
  /// Every body is read through net::parseJson within these bounds: the HTTP client stops
  /// reading beyond max_response_bytes, and nothing nested deeper than max_response_depth is
  /// accepted (the platform's deepest answers, analytics details, nest about 8 levels), so no
  /// walk over a remote body (diff, copy, print) can exhaust the stack.
  std::size_t max_response_bytes = std::size_t{16} * 1024 * 1024;
  std::size_t max_response_depth = 64;
};

/// A refused or failed call, with what the platform said (its error body) so a human can act on
/// it and quote the contextId to Genesys support.
struct ApiError {
  std::string request;  ///< "GET /api/v2/locations/123"
  int status = 0;       ///< 0: no HTTP response (see transport)
  std::string code;     ///< "not.found", "invalid_client"
  std::string message;
  std::string context_id;
  std::string transport;  ///< "connection failed: ...", "TLS: ...", "timeout after 10000 ms"
  /// The platform's details[].fieldName: which fields it refused ("mediaRegions[2]").
  std::vector<std::string> fields;
  int attempts = 0;
  /// "GET /api/v2/locations/1: HTTP 404 not.found: Location not found (contextId c-1)";
  /// "PUT /x: HTTP 400 invalid.value: ... (fields: mediaRegions[2], name) (contextId c-1)".
  /// With no status and no transport error, the agent refused before sending: "PUT /x: <message>".
  std::string describe() const;
};

struct ApiResponse {
  int status = 0;
  /// Parsed JSON (null for an empty body). A 2xx whose body is not JSON within the limits is an
  /// error, never a null body; its shape is checked by the typed parsers (api_responses.h).
  nlohmann::json body;
  net::HttpHeaders headers;
  std::optional<ApiError> error;
  std::string operation;       ///< the call's operation name ("get_location")
  std::string request;         ///< "GET /api/v2/locations/123"
  std::size_t body_bytes = 0;  ///< size of the body as received
  bool ok() const { return !error; }
};

/// The error for a 2xx answer that is not what `r`'s operation expects:
/// "GET /api/v2/locations/1: HTTP 200: malformed answer to get_location: <what>".
ApiError malformedAnswer(const ApiResponse& r, const std::string& what);

using ApiCallback = std::function<void(ApiResponse)>;

/// Called once per HTTP exchange (token requests included, operation "oauth_token"), with the
/// status, or 0 when no response arrived. The metrics layer turns it into
/// mediapath_genesys_requests_total{operation,code}.
using RequestObserver = std::function<void(const std::string& operation, int status)>;

struct ApiCall {
  std::string operation;  ///< stable name for metrics: "get_location", "patch_location"
  std::string method = "GET";
  std::string path;  ///< "/api/v2/..." appended to the API base URL (query string allowed)
  std::optional<nlohmann::json> body;
  std::string content_type = "application/json";
};

/// Genesys Cloud API client: OAuth client credentials (token cached, renewed 60 s before it
/// expires, renewed once and the call retried once on a 401), retries per RetryPolicy (429
/// Retry-After, 502/503/504 and connection errors with backoff, all within a budget), errors
/// carrying the platform's code/message/contextId. 409 is returned to the caller (the trunk
/// backend re-reads and retries). Everything runs on the loop; nothing blocks.
///
/// Thread safety: loop thread only. Callbacks run on the loop; none runs after cancelAll() or
/// destruction. Secrets and the Authorization header never appear in errors.
class GenesysClient {
 public:
  /// Throws std::invalid_argument when the endpoints are not acceptable (resolveEndpoints rules)
  /// or the credentials are empty.
  GenesysClient(net::EventLoop& loop, GenesysClientOptions options, net::Clock& clock,
                net::Random& random);
  ~GenesysClient();
  GenesysClient(const GenesysClient&) = delete;
  GenesysClient& operator=(const GenesysClient&) = delete;

  void call(ApiCall call, ApiCallback callback);
  void setObserver(RequestObserver observer);
  void cancelAll();

  const GenesysEndpoints& endpoints() const;
  /// Token requests sent so far (tests assert "exactly one refresh").
  int tokenRequests() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Reads an error body ({message, code, status, contextId, details[].fieldName} or the OAuth
/// {error, error_description}) into `error`. Tolerates any body; every string read has the
/// credentials redacted (redactCredentials with `secrets`) and is passed through net::printable
/// (bounded, escaped): it comes from the peer and ends up in logs and the audit trail.
void fillErrorFromBody(const nlohmann::json& body, ApiError& error,
                       const std::vector<std::string>& secrets = {});

/// Peer text made fit for an error or a log: credentials redacted, then net::printable.
std::string peerText(std::string_view text, const std::vector<std::string>& secrets,
                     std::size_t max_bytes = 256);

/// Percent-encodes everything but RFC 3986's unreserved characters (ALPHA DIGIT - . _ ~): safe as
/// a query value, a form value or a path segment (an opaque cursor, an id).
std::string urlEncode(std::string_view text);

}  // namespace mediapath::reporter
