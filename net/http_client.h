#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mediapath::net {

class EventLoop;

/// HTTP header fields in arrival order; names compare case-insensitively (RFC 9110).
class HttpHeaders {
 public:
  void add(std::string name, std::string value);
  /// The first value of `name`, or nullopt.
  std::optional<std::string> get(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& all() const { return fields_; }
  void clear() { fields_.clear(); }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  /// Sent as given. Values may be secrets (Authorization): the client never logs them.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  ///< sent when non-empty (or when the method is POST/PUT/PATCH)
  std::chrono::milliseconds timeout{10000};  ///< whole transfer, connect included
};

/// Why a request produced no usable response; callers decide what is worth retrying.
enum class HttpFailure {
  kNone,
  kConnection,      ///< DNS, refused, reset, empty reply: the server may come back
  kTimeout,         ///< the request's timeout elapsed
  kTls,             ///< handshake or certificate verification failed: retrying will not help
  kInvalidRequest,  ///< malformed URL, unsupported scheme
  kTooLarge,        ///< body beyond max_response_bytes
};

struct HttpResponse {
  int status = 0;  ///< 0 when no HTTP response arrived (see error)
  HttpHeaders headers;
  std::string body;
  /// Empty on success; otherwise why no usable response arrived: "timeout after 2000 ms",
  /// "connection refused: ...", "TLS: certificate verify failed ...", "response larger than ...".
  std::string error;
  HttpFailure failure = HttpFailure::kNone;
  bool ok() const { return error.empty(); }
};

using HttpCallback = std::function<void(HttpResponse)>;

struct HttpClientOptions {
  /// Extra CA bundle (PEM). The system store stays in use; peer and host verification are
  /// always on and cannot be disabled.
  std::string ca_file;
  /// Bodies beyond this are refused (the transfer fails with an error) so a misbehaving server
  /// cannot make the agent grow without bound.
  std::size_t max_response_bytes = std::size_t{16} * 1024 * 1024;
  std::string user_agent = "mediapath-agent";
};

/// Asynchronous HTTP(S) client: libcurl's multi interface driven by the libuv loop (sockets
/// through uv_poll, curl's timer through uv_timer). Nothing blocks the loop; a slow server only
/// delays its own callback. Outbound proxies come from the usual https_proxy/no_proxy
/// environment variables (libcurl's behaviour), which is how office networks configure them.
///
/// Thread safety: loop thread only. Callbacks run on the loop, never from inside send(). After
/// cancel()/cancelAll()/destruction no callback runs for the affected requests, and destruction
/// leaves no libuv handle open (EventLoop::close() returns 0).
class HttpClient {
 public:
  using RequestId = std::uint64_t;

  explicit HttpClient(EventLoop& loop, HttpClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  /// Starts a request. Errors that prevent starting it (bad URL, unsupported scheme) are
  /// reported through the callback like any other failure.
  RequestId send(HttpRequest request, HttpCallback callback);
  void cancel(RequestId id);
  void cancelAll();
  /// Requests started and not yet completed or cancelled.
  std::size_t pending() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// True for "localhost", 127.0.0.0/8 and ::1 (with or without brackets).
bool isLoopbackHost(std::string_view host);

/// Scheme and host of an absolute URL ("https", "api.example.com"); nullopt when unparsable.
struct UrlParts {
  std::string scheme;
  std::string host;
};
std::optional<UrlParts> parseUrl(const std::string& url);

}  // namespace mediapath::net
