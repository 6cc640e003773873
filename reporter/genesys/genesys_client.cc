#include "reporter/genesys/genesys_client.h"

#include <cctype>
#include <deque>
#include <map>
#include <stdexcept>
#include <utility>
#include <vector>

#include "net/clock.h"
#include "net/event_loop.h"
#include "net/json_input.h"
#include "net/text.h"
#include "net/uv_timer.h"
#include "reporter/genesys/genesys_auth.h"
#include "reporter/genesys/genesys_regions.h"
#include "reporter/genesys/genesys_reports.h"

namespace mediapath::reporter {
namespace {

std::string stripTrailingSlash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

void checkUrl(const std::string& what, const std::string& url) {
  auto parts = net::parseUrl(url);
  if (!parts || parts->host.empty()) {
    throw std::invalid_argument(what + " \"" + url + "\" is not a valid URL");
  }
  if (parts->scheme == "https") return;
  if (parts->scheme != "http") {
    throw std::invalid_argument(what + " \"" + url + "\" is not an http(s) URL");
  }
  // Plain HTTP would send the client secret and bearer tokens in clear text: only tolerated
  // towards loopback (the emulator in tests and demos).
  if (!net::isLoopbackHost(parts->host)) {
    throw std::invalid_argument(what + ": plain http:// is refused for non-loopback host \"" +
                                parts->host + "\"; use https://");
  }
}

// Every API body enters here: bounded (size, depth), duplicate keys refused, never throws.
net::JsonInput parseBody(const std::string& body, const GenesysClientOptions& options) {
  if (body.empty()) return {};
  net::JsonLimits limits;
  limits.max_bytes = options.max_response_bytes;
  limits.max_depth = options.max_response_depth;
  return net::parseJson(body, limits);
}

}  // namespace

GenesysEndpoints resolveEndpoints(const std::string& region, const std::string& api_override,
                                  const std::string& login_override) {
  GenesysEndpoints e;
  if (api_override.empty() || login_override.empty()) {
    auto hosts = regionHosts(region);
    if (!hosts) {
      throw std::invalid_argument("unknown Genesys Cloud region \"" + region + "\"");
    }
    e.api_base_url = hosts->api_base_url;
    e.login_base_url = hosts->login_base_url;
  }
  if (!api_override.empty()) e.api_base_url = api_override;
  if (!login_override.empty()) e.login_base_url = login_override;
  e.api_base_url = stripTrailingSlash(e.api_base_url);
  e.login_base_url = stripTrailingSlash(e.login_base_url);
  checkUrl("api_base_url", e.api_base_url);
  checkUrl("login_base_url", e.login_base_url);
  return e;
}

std::string urlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    // Spelled out rather than isalnum(): the unreserved set must not follow the C locale.
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string peerText(std::string_view text, const std::vector<std::string>& secrets,
                     std::size_t max_bytes) {
  return net::printable(redactCredentials(text, secrets), max_bytes);
}

ApiError malformedAnswer(const ApiResponse& r, const std::string& what) {
  ApiError e;
  e.request = r.request;
  e.status = r.status;
  e.message = "malformed answer to " + r.operation + ": " + what;
  return e;
}

void fillErrorFromBody(const nlohmann::json& body, ApiError& error,
                       const std::vector<std::string>& secrets) {
  if (!body.is_object()) return;
  // Bounds: enough for any real message, small enough that a hostile or broken peer cannot
  // flood a log line or the audit trail.
  constexpr std::size_t kMessageBytes = 1024;
  constexpr std::size_t kTokenBytes = 128;
  constexpr std::size_t kMaxFields = 10;
  auto str = [&body, &secrets](const char* key, std::size_t max) {
    return peerText(stringField(body, key), secrets, max);
  };
  error.code = str("code", kTokenBytes);
  error.message = str("message", kMessageBytes);
  error.context_id = str("contextId", kTokenBytes);
  if (error.code.empty()) error.code = str("error", kTokenBytes);  // OAuth error shape
  if (error.message.empty()) error.message = str("error_description", kMessageBytes);
  if (error.message.empty()) error.message = str("description", kMessageBytes);
  error.fields.clear();
  auto details = body.find("details");
  if (details == body.end() || !details->is_array()) return;
  std::size_t named = 0;
  for (const auto& d : *details) {
    std::string field = peerText(stringField(d, "fieldName"), secrets, kTokenBytes);
    if (field.empty()) continue;
    if (++named > kMaxFields) continue;  // counted, not kept
    error.fields.push_back(std::move(field));
  }
  if (named > kMaxFields) {
    error.fields.push_back("and " + std::to_string(named - kMaxFields) + " more");
  }
}

std::string ApiError::describe() const {
  std::string s = request + ": ";
  if (status == 0) {
    if (!transport.empty()) {
      s += transport;
    } else {
      s += message.empty() ? std::string("no response") : message;
    }
  } else {
    s += "HTTP " + std::to_string(status);
    if (!code.empty()) s += " " + code;
    if (!message.empty()) s += ": " + message;
    if (!fields.empty()) {
      s += " (fields: ";
      for (std::size_t i = 0; i < fields.size(); ++i) s += (i == 0 ? "" : ", ") + fields[i];
      s += ")";
    }
    if (!context_id.empty()) s += " (contextId " + context_id + ")";
    if (!transport.empty()) s += " [" + transport + "]";
  }
  if (attempts > 1) s += " after " + std::to_string(attempts) + " attempts";
  return s;
}

struct GenesysClient::Impl {
  // One API call across its attempts.
  struct Call {
    std::uint64_t id = 0;
    ApiCall api;
    ApiCallback callback;
    int attempt = 0;
    std::chrono::steady_clock::time_point started;
    bool refreshed_after_401 = false;
    std::string token_used;
    std::unique_ptr<net::UvTimer> retry_timer;
  };

  net::EventLoop& loop;
  GenesysClientOptions options;
  net::Clock& clock;
  net::Random& random;
  net::HttpClient http;
  RetryPolicy policy;
  TokenCache tokens;
  RequestObserver observer;
  std::map<std::uint64_t, std::unique_ptr<Call>> calls;
  std::uint64_t next_id = 1;

  // The token request in flight (at most one; calls queue behind it).
  bool token_pending = false;
  int token_attempt = 0;
  std::chrono::steady_clock::time_point token_started;
  int token_requests = 0;
  std::unique_ptr<net::UvTimer> token_timer;
  std::vector<std::uint64_t> waiting_for_token;
  std::vector<std::string> tokens_seen;  // the last few, for redaction

  std::shared_ptr<bool> alive = std::make_shared<bool>(true);

  Impl(net::EventLoop& l, GenesysClientOptions o, net::Clock& c, net::Random& r)
      : loop(l),
        options(std::move(o)),
        clock(c),
        random(r),
        http(l, net::HttpClientOptions{options.ca_file, options.max_response_bytes,
                                       "mediapath-agent"}),
        policy(options.retry) {}

  ~Impl() { *alive = false; }

  void observe(const std::string& operation, int status) {
    if (observer) observer(operation, status);
  }

  void start(ApiCall api, ApiCallback cb) {
    auto call = std::make_unique<Call>();
    call->id = next_id++;
    call->api = std::move(api);
    call->callback = std::move(cb);
    call->started = clock.now();
    std::uint64_t id = call->id;
    calls.emplace(id, std::move(call));
    withToken(id);
  }

  void withToken(std::uint64_t id) {
    if (auto token = tokens.get(clock.now())) {
      sendAttempt(id, *token);
      return;
    }
    waiting_for_token.push_back(id);
    if (!token_pending) {
      token_pending = true;
      token_attempt = 0;
      token_started = clock.now();
      requestToken();
    }
  }

  void requestToken() {
    ++token_attempt;
    ++token_requests;
    net::HttpRequest req;
    req.method = "POST";
    req.url = options.endpoints.login_base_url + "/oauth/token";
    req.timeout = options.request_timeout;
    req.headers = {{"Authorization", basicAuthorization(options.client_id, options.client_secret)},
                   {"Content-Type", "application/x-www-form-urlencoded"},
                   {"Accept", "application/json"}};
    req.body = "grant_type=" + urlEncode("client_credentials");
    std::weak_ptr<bool> guard = alive;
    http.send(std::move(req), [this, guard](const net::HttpResponse& resp) {
      if (guard.expired()) return;
      onTokenResponse(resp);
    });
  }

  void onTokenResponse(const net::HttpResponse& resp) {
    observe("oauth_token", resp.status);
    net::JsonInput input = parseBody(resp.body, options);
    nlohmann::json& body = input.value;
    std::string malformed;
    if (resp.ok() && resp.status == 200) {
      auto parsed =
          input.ok() ? parseTokenResponse(body)
                     : Parsed<TokenResponse>::failure("token response is not JSON: " +
                                                      peerText(input.error->describe(), secrets()));
      malformed = parsed.error;
      if (parsed) {
        tokens.store(parsed->access_token, parsed->expires_in, clock.now());
        if (tokens_seen.size() >= 4) tokens_seen.erase(tokens_seen.begin());
        tokens_seen.push_back(parsed->access_token);
        token_pending = false;
        std::vector<std::uint64_t> waiting = std::exchange(waiting_for_token, {});
        std::weak_ptr<bool> guard = alive;
        for (std::uint64_t id : waiting) {
          if (guard.expired()) return;
          if (calls.count(id) != 0) sendAttempt(id, parsed->access_token);
        }
        return;
      }
    }
    // The token endpoint says "rate limited" with a 400, not a 429: retried like a 503.
    bool throttled = resp.ok() && isTokenRateLimited(resp.status, body);
    if (auto delay = retryDelay(resp, token_attempt, token_started, throttled)) {
      token_timer = std::make_unique<net::UvTimer>(loop.get());
      token_timer->start(*delay, [this] { requestToken(); });
      return;
    }
    ApiError error = makeError("POST /oauth/token", resp, body, token_attempt);
    if (!malformed.empty()) error.message = malformed;
    token_pending = false;
    std::vector<std::uint64_t> waiting = std::exchange(waiting_for_token, {});
    std::weak_ptr<bool> guard = alive;
    for (std::uint64_t id : waiting) {
      if (guard.expired()) return;
      ApiError e = error;
      e.request = "POST /oauth/token (for " + requestLine(id) + ")";
      finish(id, ApiResponse{resp.status, nullptr, resp.headers, std::move(e), {}, {}, 0});
    }
  }

  std::string requestLine(std::uint64_t id) const {
    auto it = calls.find(id);
    if (it == calls.end()) return {};
    return it->second->api.method + " " + it->second->api.path;
  }

  // The budget counts everything since the operation began (requests and waits), so no retry
  // starts after it is spent: an operation ends within budget + one request timeout.
  std::optional<Millis> retryDelay(const net::HttpResponse& resp, int attempt,
                                   std::chrono::steady_clock::time_point started,
                                   bool throttled = false) {
    auto spent = std::chrono::duration_cast<Millis>(clock.now() - started);
    AttemptOutcome outcome;
    outcome.status = resp.status;
    outcome.throttled = throttled;
    outcome.transport_error =
        resp.failure == net::HttpFailure::kConnection || resp.failure == net::HttpFailure::kTimeout;
    if (resp.ok() || outcome.transport_error) {
      outcome.retry_after = resp.headers.get("Retry-After");
      return policy.nextDelay(outcome, attempt, spent, random);
    }
    return std::nullopt;  // TLS trust, bad URL, oversized body: retrying changes nothing
  }

  ApiError makeError(std::string request, const net::HttpResponse& resp, const nlohmann::json& body,
                     int attempts) const {
    ApiError e;
    e.request = std::move(request);
    e.status = resp.status;
    e.transport = peerText(resp.error, secrets(), 1024);
    e.attempts = attempts;
    fillErrorFromBody(body, e, secrets());
    if (e.context_id.empty()) {
      if (auto cid = resp.headers.get("ININ-Correlation-Id")) {
        e.context_id = peerText(*cid, secrets(), 128);
      }
    }
    return e;
  }

  // What must never be printed, whatever a peer echoes: the client secret, the Basic value and
  // every token obtained.
  std::vector<std::string> secrets() const {
    std::vector<std::string> s{options.client_secret,
                               base64Encode(options.client_id + ":" + options.client_secret)};
    s.insert(s.end(), tokens_seen.begin(), tokens_seen.end());
    return s;
  }

  void sendAttempt(std::uint64_t id, const std::string& token) {
    auto it = calls.find(id);
    if (it == calls.end()) return;
    Call& call = *it->second;
    ++call.attempt;
    call.token_used = token;
    net::HttpRequest req;
    req.method = call.api.method;
    req.url = options.endpoints.api_base_url + call.api.path;
    req.timeout = options.request_timeout;
    req.headers = {{"Authorization", "Bearer " + token}, {"Accept", "application/json"}};
    if (call.api.body) {
      req.headers.emplace_back("Content-Type", call.api.content_type);
      req.body = call.api.body->dump();
    }
    std::weak_ptr<bool> guard = alive;
    http.send(std::move(req), [this, guard, id](net::HttpResponse resp) {
      if (guard.expired()) return;
      onApiResponse(id, std::move(resp));
    });
  }

  void onApiResponse(std::uint64_t id, net::HttpResponse resp) {
    auto it = calls.find(id);
    if (it == calls.end()) return;
    Call& call = *it->second;
    observe(call.api.operation, resp.status);
    net::JsonInput input = parseBody(resp.body, options);
    nlohmann::json& body = input.value;
    std::string request = call.api.method + " " + call.api.path;
    if (resp.ok() && resp.status >= 200 && resp.status < 300) {
      ApiResponse answer{resp.status,        std::move(body), std::move(resp.headers), std::nullopt,
                         call.api.operation, request,         resp.body.size()};
      // A 2xx that is not JSON is a failure of the call, never an empty success.
      if (!input.ok()) {
        answer.error = malformedAnswer(
            answer, "not JSON (" + peerText(input.error->describe(), secrets()) + ")");
        answer.error->attempts = call.attempt;
      }
      finish(id, std::move(answer));
      return;
    }
    if (resp.ok() && resp.status == 401 && !call.refreshed_after_401) {
      // The token may have been revoked or expired early: renew once and retry once.
      call.refreshed_after_401 = true;
      tokens.invalidate(call.token_used);
      withToken(id);
      return;
    }
    if (auto delay = retryDelay(resp, call.attempt, call.started)) {
      call.retry_timer = std::make_unique<net::UvTimer>(loop.get());
      call.retry_timer->start(*delay, [this, id] { withToken(id); });
      return;
    }
    ApiError e = makeError(request, resp, body, call.attempt);
    finish(id, ApiResponse{resp.status, std::move(body), std::move(resp.headers), std::move(e),
                           call.api.operation, request, resp.body.size()});
  }

  void finish(std::uint64_t id, ApiResponse response) {
    auto it = calls.find(id);
    if (it == calls.end()) return;
    ApiCallback cb = std::move(it->second->callback);
    // The timer may be the one running us: let it die after its callback returns.
    std::unique_ptr<Call> done = std::move(it->second);
    calls.erase(it);
    if (cb) cb(std::move(response));
    // `done` (and its timer) are destroyed here; the UvTimer tolerates that.
  }

  void cancelAll() {
    calls.clear();
    waiting_for_token.clear();
    token_timer.reset();
    token_pending = false;
    http.cancelAll();
  }
};

GenesysClient::GenesysClient(net::EventLoop& loop, GenesysClientOptions options, net::Clock& clock,
                             net::Random& random) {
  checkUrl("api_base_url", options.endpoints.api_base_url);
  checkUrl("login_base_url", options.endpoints.login_base_url);
  if (options.client_id.empty() || options.client_secret.empty()) {
    throw std::invalid_argument("Genesys client id and secret must not be empty");
  }
  options.endpoints.api_base_url = stripTrailingSlash(options.endpoints.api_base_url);
  options.endpoints.login_base_url = stripTrailingSlash(options.endpoints.login_base_url);
  impl_ = std::make_unique<Impl>(loop, std::move(options), clock, random);
}

GenesysClient::~GenesysClient() = default;

void GenesysClient::call(ApiCall call, ApiCallback callback) {
  impl_->start(std::move(call), std::move(callback));
}

void GenesysClient::setObserver(RequestObserver observer) { impl_->observer = std::move(observer); }

void GenesysClient::cancelAll() { impl_->cancelAll(); }

const GenesysEndpoints& GenesysClient::endpoints() const { return impl_->options.endpoints; }

int GenesysClient::tokenRequests() const { return impl_->token_requests; }

}  // namespace mediapath::reporter
