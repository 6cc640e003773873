#include "tools/genesys_emulator/emulator.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <set>

#include "tools/genesys_emulator/analytics.h"
#include "tools/genesys_emulator/locations.h"
#include "tools/genesys_emulator/util.h"

namespace mediapath::tools::emulator {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxBodyBytes = 512000;
constexpr std::size_t kMaxLogEntries = 10000;
constexpr int kUnlimitedAllowed = 180;  // what the platform advertises per minute
constexpr const char* kTrunkBase = "/api/v2/telephony/providers/edges/trunkbasesettings";
constexpr const char* kSiteBase = "/api/v2/telephony/providers/edges/sites";

// The org's media regions (a fixed table; --home-region picks one of them as home).
const std::vector<std::string>& coreRegions() {
  static const std::vector<std::string> kCore = {"us-east-1",   "us-west-2",      "eu-central-1",
                                                 "eu-west-1",   "ap-southeast-2", "ap-northeast-1",
                                                 "ca-central-1"};
  return kCore;
}
const std::vector<std::string>& satelliteRegions() {
  static const std::vector<std::string> kSatellite = {"eu-west-2", "ap-south-1", "sa-east-1"};
  return kSatellite;
}

// Trunk properties "meant to be hidden or for internal system usage only": GET returns them
// unless ?ignoreHidden=true, and a PUT that sends one back is refused.
const std::vector<std::pair<std::string, json>>& hiddenTrunkProperties() {
  static const std::vector<std::pair<std::string, json>> kHidden = {
      {"trunk_internal_edgeGroupId",
       {{"type", "string"},
        {"hidden", true},
        {"description", "For internal use only."},
        {"value", {{"default", nullptr}, {"instance", "edge-group-7c1d"}}}}},
      {"trunk_internal_mediaRelayPool",
       {{"type", "string"},
        {"hidden", true},
        {"description", "For internal use only."},
        {"value", {{"default", "default"}, {"instance", "pool-b"}}}}}};
  return kHidden;
}

// Genesys's own service ranges (GET /api/v2/ipranges): a small fixed table.
json ipRangeTable() {
  auto entry = [](const char* cidr, const char* service, const char* region,
                  const char* direction) {
    return json{{"cidr", cidr}, {"service", service}, {"region", region}, {"direction", direction}};
  };
  return json::array({entry("52.129.96.0/20", "media", "us-east-1", "inbound"),
                      entry("169.150.104.0/21", "media", "eu-central-1", "inbound"),
                      entry("3.64.0.0/12", "api", "eu-central-1", "outbound"),
                      entry("18.156.0.0/14", "api", "eu-central-1", "outbound"),
                      entry("34.192.0.0/12", "api", "us-east-1", "outbound"),
                      entry("13.54.0.0/15", "smtp", "ap-southeast-2", "outbound")});
}

// The answer a version-mismatch 400 gives (the Terraform provider retries on this text).
std::string versionMismatch400(long long supplied, long long current) {
  return "The version supplied (" + std::to_string(supplied) +
         ") does not match the current version (" + std::to_string(current) + ").";
}

// A "host" or "host:port" server entry ("[v6]:port" and bare IPv6 too); port 1-65535.
bool validServerEntry(const std::string& entry) {
  if (entry.empty()) return false;
  auto hostOk = [](const std::string& host) {
    return !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-' || c == '_' ||
             c == ':';
    });
  };
  auto portOk = [](const std::string& port) {
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string::npos) {
      return false;
    }
    int value = std::stoi(port);
    return value >= 1 && value <= 65535;
  };
  if (entry.front() == '[') {
    auto close = entry.find(']');
    if (close == std::string::npos) return false;
    std::string rest = entry.substr(close + 1);
    if (!hostOk(entry.substr(1, close - 1))) return false;
    return rest.empty() || (rest.front() == ':' && portOk(rest.substr(1)));
  }
  auto colon = entry.find(':');
  if (colon != std::string::npos && colon == entry.rfind(':')) {  // host:port
    return hostOk(entry.substr(0, colon)) && portOk(entry.substr(colon + 1));
  }
  return hostOk(entry);  // a name, an IPv4 address or a bare IPv6 address
}

// Audit results cursors: base64 (standard alphabet, padded) of a fixed prefix that encodes as
// "++++////" plus "<query id prefix>.<offset>", so every cursor holds '+', '/' and '=' and a
// client that does not URL-encode it sends something else ('+' decodes as a space).
constexpr std::array<unsigned char, 6> kCursorPrefix = {0xfb, 0xef, 0xbe, 0xff, 0xff, 0xff};

std::string base64Encode(const std::string& in) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16U) |
                 (static_cast<unsigned char>(in[i + 1]) << 8U) |
                 static_cast<unsigned char>(in[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out.push_back(kAlphabet[(v >> shift) & 63U]);
  }
  std::size_t left = in.size() - i;
  if (left > 0) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16U;
    if (left == 2) v |= static_cast<unsigned char>(in[i + 1]) << 8U;
    out.push_back(kAlphabet[(v >> 18U) & 63U]);
    out.push_back(kAlphabet[(v >> 12U) & 63U]);
    out.push_back(left == 2 ? kAlphabet[(v >> 6U) & 63U] : '=');
    out.push_back('=');
  }
  return out;
}

std::vector<std::string> splitPath(const std::string& path) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < path.size()) {
    auto slash = path.find('/', pos);
    if (slash == std::string::npos) slash = path.size();
    if (slash > pos) out.push_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return out;
}

bool startsWith(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

std::optional<std::string> base64Decode(const std::string& in, bool strict = false) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    if (strict && (c == '-' || c == '_')) return std::nullopt;
    int v = value(c);
    if (v < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  return out;
}

std::string makeCursor(const std::string& query_id, std::size_t offset) {
  std::string raw(kCursorPrefix.begin(), kCursorPrefix.end());
  raw += query_id.substr(0, 8) + "." + std::to_string(offset);
  if (raw.size() % 3 == 0) raw += '.';  // keeps a padding '=' in every cursor
  return base64Encode(raw);
}

// The offset a cursor of `query_id` stands for; nullopt when it is not one.
std::optional<std::size_t> readCursor(const std::string& cursor, const std::string& query_id) {
  auto raw = base64Decode(cursor, true);
  std::string prefix(kCursorPrefix.begin(), kCursorPrefix.end());
  std::string id = query_id.substr(0, 8) + ".";
  if (!raw || raw->compare(0, prefix.size(), prefix) != 0 ||
      raw->compare(prefix.size(), id.size(), id) != 0) {
    return std::nullopt;
  }
  std::string digits = raw->substr(prefix.size() + id.size());
  if (!digits.empty() && digits.back() == '.') digits.pop_back();
  if (digits.empty() || digits.size() > 9 ||
      digits.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return static_cast<std::size_t>(std::stoul(digits));
}

bool isLoopback(const std::string& addr) {
  return startsWith(addr, "127.") || addr == "::1" || startsWith(addr, "::ffff:127.");
}

// Every string holding the secret is replaced: the log is shown to humans and kept in files.
void scrub(json& value, const std::string& secret) {
  if (value.is_string()) {
    if (!secret.empty() && value.get<std::string>().find(secret) != std::string::npos) {
      value = "[redacted]";
    }
  } else if (value.is_structured()) {
    for (auto& child : value) scrub(child, secret);
  }
}

std::string codeForStatus(int status) {
  switch (status) {
    case 400:
      return "bad.request";
    case 401:
      return "bad.credentials";
    case 403:
      return "not.authorized";
    case 404:
      return "not.found";
    case 409:
      return "conflict";
    case 429:
      return "too.many.requests.retry.after";
    case 500:
      return "internal.server.error";
    case 502:
      return "bad.gateway";
    case 503:
      return "service.unavailable";
    case 504:
      return "request.timeout";
    default:
      return "error";
  }
}

std::string messageForStatus(int status) {
  switch (status) {
    case 409:
      // An injected 409 looks like a lost version race, the only 409 a client must handle.
      return kVersionMismatchMessage;
    case 500:
      return "The server encountered an unexpected condition.";
    case 502:
      return "The gateway received an invalid response.";
    case 503:
      return "Service Unavailable - The server is currently unavailable (because it is overloaded "
             "or down for maintenance).";
    case 504:
      return "The request timed out.";
    default:
      return "Injected fault: HTTP " + std::to_string(status);
  }
}

ApiError rateLimited(int seconds) {
  return ApiError{429,
                  "too.many.requests.retry.after",
                  "Rate limit exceeded the maximum. Retry the request in [" +
                      std::to_string(seconds) + "] seconds",
                  {}};
}

ApiError notFound(const std::string& what) {
  return ApiError{404, "not.found", what + " not found", {}};
}

// Paging parameters from the query string; nullopt + error when invalid.
std::optional<ApiError> pagingFrom(const HttpRequest& request, long long& page_size,
                                   long long& page_number, long long max_size) {
  auto read = [&](const char* name, long long& out) -> bool {
    std::string text = request.queryParam(name);
    if (text.empty()) return true;
    try {
      std::size_t used = 0;
      out = std::stoll(text, &used);
      return used == text.size();
    } catch (const std::exception&) {
      return false;
    }
  };
  if (!read("pageSize", page_size) || page_size < 1 || page_size > max_size) {
    return ApiError{400,
                    "bad.request",
                    "pageSize must be an integer between 1 and " + std::to_string(max_size),
                    {"pageSize"}};
  }
  if (!read("pageNumber", page_number) || page_number < 1) {
    return ApiError{
        400, "bad.request", "pageNumber must be an integer of at least 1", {"pageNumber"}};
  }
  return std::nullopt;
}

json pagedEnvelope(const std::vector<json>& all, long long page_size, long long page_number,
                   const std::string& base) {
  auto total = static_cast<long long>(all.size());
  long long page_count = (total + page_size - 1) / page_size;
  auto uri = [&](long long n) {
    return base + "?pageSize=" + std::to_string(page_size) + "&pageNumber=" + std::to_string(n);
  };
  json entities = json::array();
  if (page_number - 1 < page_count) {
    for (long long i = (page_number - 1) * page_size; i < total && i < page_number * page_size;
         ++i) {
      entities.push_back(all[static_cast<std::size_t>(i)]);
    }
  }
  json out = {{"entities", entities},
              {"pageSize", page_size},
              {"pageNumber", page_number},
              {"total", total},
              {"pageCount", page_count},
              {"firstUri", uri(1)},
              {"lastUri", uri(std::max(1LL, page_count))},
              {"selfUri", uri(page_number)}};
  if (page_number < page_count) out["nextUri"] = uri(page_number + 1);
  if (page_number > 1)
    out["previousUri"] = uri(std::min(page_number - 1, std::max(1LL, page_count)));
  return out;
}

const std::set<std::string>& auditFilterProperties() {
  static const std::set<std::string> kProps = {"EntityType", "EntityId", "Action", "UserId",
                                               "ClientId"};
  return kProps;
}

bool auditFilterMatches(const json& message, const std::string& property, const std::string& v) {
  if (property == "EntityType")
    return toLower(message["entityType"].get<std::string>()) == toLower(v);
  if (property == "EntityId") return message["entity"]["id"] == v;
  if (property == "Action") return toLower(message["action"].get<std::string>()) == toLower(v);
  if (property == "UserId") return message["user"]["id"] == v;
  if (property == "ClientId") return message["client"]["id"] == v;
  return false;
}

// What the OAuth client needs for a request (README, "Permissions"); "" when nothing.
std::string permissionFor(const std::string& method, const std::vector<std::string>& seg) {
  if (seg.size() < 3) return {};
  if (seg[2] == "locations") {
    if (method == "GET") return "directory:location:view";
    if (method == "POST") return "directory:location:add";
    if (method == "DELETE") return "directory:location:delete";
    return "directory:location:edit";
  }
  if (seg[2] == "telephony") return "telephony:plugin:all";
  if (seg[2] == "audits") return "audits:audit:view";
  if (seg[2] == "analytics") return "analytics:conversationDetail:view";
  return {};
}

}  // namespace

std::optional<Schema> parseSchema(const std::string& text) {
  if (text == "platform") return Schema::kPlatform;
  if (text == "seed") return Schema::kSeed;
  return std::nullopt;
}

bool isKnownMediaRegion(const std::string& region) {
  auto in = [&](const std::vector<std::string>& list) {
    return std::find(list.begin(), list.end(), region) != list.end();
  };
  return in(coreRegions()) || in(satelliteRegions());
}

Emulator::Emulator(EmulatorOptions options, const net::Clock& clock, net::Random& random)
    : options_(std::move(options)), clock_(clock), random_(random) {
  if (!isKnownMediaRegion(options_.home_region)) {
    throw std::invalid_argument("home region " + options_.home_region +
                                " is not one of the emulated media regions");
  }
  bucket_time_ = clock_.now();
  window_start_ = bucket_time_;
  bucket_tokens_ = options_.burst > 0 ? options_.burst : std::max(1.0, options_.rate_per_second);
  if (!options_.request_log_path.empty()) {
    log_file_.open(options_.request_log_path, std::ios::app);
    if (!log_file_)
      throw std::runtime_error("cannot open request log " + options_.request_log_path);
  }
  if (!options_.state_file.empty() && std::filesystem::exists(options_.state_file)) loadState();
}

Emulator::~Emulator() = default;

std::string Emulator::newId() {
  std::uint64_t hi = random_.next();
  return makeUuid(hi, random_.next());
}

HttpResponse Emulator::handle(const HttpRequest& request) {
  std::lock_guard lock(mutex_);
  Context ctx{request, newId(), {}};
  bool admin = request.path == "/_emulator" || startsWith(request.path, "/_emulator/");
  HttpResponse response = admin ? handleAdmin(ctx) : dispatch(ctx);
  response.headers.emplace_back("ININ-Correlation-Id", ctx.correlation_id);
  if (!admin) {
    addRateHeaders(response);
    logRequest(ctx, response);
  }
  return response;
}

HttpResponse Emulator::dispatch(Context& ctx) {
  const HttpRequest& request = ctx.request;
  std::chrono::milliseconds stall{0};
  if (auto fault = takeFault(request)) {
    ctx.fault_id = fault->id;
    if (fault->reset) {
      HttpResponse response;
      response.status = 0;
      response.reset = true;
      return response;
    }
    stall = std::chrono::milliseconds(fault->stall_ms);
    if (fault->concurrent_change) ctx.concurrent_conflict = fault->conflict;
    if (fault->oauth_rate_limit) {
      HttpResponse response = oauthRateLimited();
      response.stall = stall;
      return response;
    }
    if (fault->status != 0) {
      ApiError e{fault->status, codeForStatus(fault->status), messageForStatus(fault->status), {}};
      if (fault->status == 429) e = rateLimited(fault->retry_after);
      HttpResponse response = error(ctx, e);
      if (fault->status == 429 || fault->retry_after > 0) {
        response.headers.emplace_back("Retry-After", std::to_string(fault->retry_after));
      }
      response.stall = stall;
      return response;
    }
  }
  HttpResponse response;
  std::chrono::milliseconds retry_after{0};
  if (!takeRateToken(retry_after)) {
    if (request.path == "/oauth/token") {
      // The token endpoint's own limit: 400 invalid_request, no Retry-After.
      response = oauthRateLimited();
      response.stall = stall;
      return response;
    }
    auto seconds = static_cast<int>(std::max<long long>(1, (retry_after.count() + 999) / 1000));
    response = error(ctx, rateLimited(seconds));
    response.headers.emplace_back("Retry-After", std::to_string(seconds));
  } else if (request.body.size() > kMaxBodyBytes) {
    response = error(
        ctx,
        ApiError{
            413, "payload.too.large", "The request body exceeds the maximum of 512000 bytes", {}});
  } else if (request.path == "/oauth/token") {
    response = handleToken(ctx);
  } else if (startsWith(request.path, "/api/v2/")) {
    response = handleApi(ctx);
  } else {
    response = error(ctx, notFound("Resource " + request.path));
  }
  response.stall = stall;
  return response;
}

// ---------------------------------------------------------------------------------------------
// Helpers

HttpResponse Emulator::reply(int status, const nlohmann::json& body) const {
  HttpResponse response;
  response.status = status;
  response.body = body.dump();
  return response;
}

HttpResponse Emulator::error(const Context& ctx, const ApiError& e) const {
  return reply(e.status, errorBody(e, ctx.correlation_id));
}

HttpResponse Emulator::oauthRateLimited() const {
  return reply(400, {{"error", "invalid_request"},
                     {"description", "rate limit exceeded"},
                     {"error_description", "rate limit exceeded"}});
}

HttpResponse Emulator::versionConflict(const Context& ctx, long long supplied,
                                       long long current) const {
  switch (ctx.concurrent_conflict) {
    case 408:
      return error(ctx, ApiError{408,
                                 "request.timeout",
                                 "The request timed out: the version supplied (" +
                                     std::to_string(supplied) + ") is no longer current.",
                                 {"version"}});
    case 400:
      return error(
          ctx, ApiError{400, "bad.request", versionMismatch400(supplied, current), {"version"}});
    default:
      return error(ctx, ApiError{409, "conflict", kVersionMismatchMessage, {"version"}});
  }
}

void Emulator::concurrentChange(const Context& ctx, nlohmann::json& stored,
                                const std::string& service, const std::string& entity_type) {
  if (ctx.concurrent_conflict == 0) return;
  long long version = stored.value("version", 1LL);
  stored["version"] = version + 1;
  recordAudit(ctx, service, entity_type, stored.value("id", ""), stored.value("name", ""), "Update",
              json::array({{{"property", "/version"},
                            {"oldValues", {std::to_string(version)}},
                            {"newValues", {std::to_string(version + 1)}}}}),
              true);
}

std::variant<nlohmann::json, ApiError> Emulator::parseJsonBody(const HttpRequest& request,
                                                               bool allow_json_patch) const {
  std::string type = mediaType(request.header("content-type"));
  bool ok =
      type == "application/json" || (allow_json_patch && type == "application/json-patch+json");
  if (!ok) {
    return ApiError{415,
                    "unsupported.media.type",
                    "Unsupported Media Type: '" + type + "' is not supported for " +
                        request.method + " " + request.path,
                    {}};
  }
  auto parsed = nlohmann::json::parse(request.body, nullptr, false);
  if (parsed.is_discarded()) {
    return ApiError{400,
                    "bad.request",
                    "The request could not be understood by the server due to malformed syntax.",
                    {}};
  }
  return parsed;
}

std::optional<ApiError> Emulator::checkBearer(const HttpRequest& request) const {
  std::string auth = request.header("authorization");
  if (auth.size() < 7 || toLower(auth.substr(0, 7)) != "bearer ") {
    return ApiError{401,
                    "authentication.required",
                    "No authentication bearer token specified in authorization header.",
                    {}};
  }
  auto it = tokens_.find(auth.substr(7));
  if (it == tokens_.end()) {
    return ApiError{401, "bad.credentials", "Invalid login credentials.", {}};
  }
  if (clock_.now() >= it->second) {
    return ApiError{
        401, "credentials.expired", "The supplied credentials are expired and cannot be used.", {}};
  }
  return std::nullopt;
}

std::optional<ApiError> Emulator::checkPermission(const HttpRequest& request) const {
  if (!options_.permissions) return std::nullopt;
  std::string needed = permissionFor(request.method, splitPath(request.path));
  if (needed.empty() || options_.permissions->count(needed) > 0) return std::nullopt;
  return ApiError{403,
                  "missing.permissions",
                  "Unable to perform the requested action. You are missing the following "
                  "permission(s): [" +
                      needed + "]",
                  {}};
}

bool Emulator::takeRateToken(std::chrono::milliseconds& retry_after) {
  auto now = clock_.now();
  if (now - window_start_ >= std::chrono::minutes(1)) {
    window_start_ = now;
    window_count_ = 0;
  }
  ++window_count_;
  if (options_.rate_per_second <= 0) return true;
  double capacity = options_.burst > 0 ? options_.burst : std::max(1.0, options_.rate_per_second);
  double elapsed = std::chrono::duration<double>(now - bucket_time_).count();
  bucket_tokens_ = std::min(capacity, bucket_tokens_ + elapsed * options_.rate_per_second);
  bucket_time_ = now;
  if (bucket_tokens_ >= 1.0) {
    bucket_tokens_ -= 1.0;
    return true;
  }
  double wait = (1.0 - bucket_tokens_) / options_.rate_per_second;
  retry_after = std::chrono::milliseconds(static_cast<long long>(std::ceil(wait * 1000.0)));
  return false;
}

void Emulator::addRateHeaders(HttpResponse& response) {
  if (options_.rate_per_second <= 0) {
    auto left = std::chrono::minutes(1) - (clock_.now() - window_start_);
    response.headers.emplace_back("inin-ratelimit-count", std::to_string(window_count_));
    response.headers.emplace_back("inin-ratelimit-allowed", std::to_string(kUnlimitedAllowed));
    response.headers.emplace_back(
        "inin-ratelimit-reset",
        std::to_string(std::max<long long>(
            0, std::chrono::duration_cast<std::chrono::seconds>(left).count())));
    return;
  }
  double capacity = options_.burst > 0 ? options_.burst : std::max(1.0, options_.rate_per_second);
  auto used = static_cast<long long>(std::ceil(capacity - bucket_tokens_));
  auto reset =
      static_cast<long long>(std::ceil((capacity - bucket_tokens_) / options_.rate_per_second));
  response.headers.emplace_back("inin-ratelimit-count", std::to_string(used));
  response.headers.emplace_back("inin-ratelimit-allowed",
                                std::to_string(static_cast<long long>(capacity)));
  response.headers.emplace_back("inin-ratelimit-reset", std::to_string(reset));
}

std::optional<Emulator::Fault> Emulator::takeFault(const HttpRequest& request) {
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    if (!startsWith(request.path, it->path_prefix)) continue;
    if (!it->method.empty() && toLower(it->method) != toLower(request.method)) continue;
    Fault fault = *it;
    if (--it->count <= 0) faults_.erase(it);
    return fault;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// OAuth

HttpResponse Emulator::handleToken(Context& ctx) {
  const HttpRequest& request = ctx.request;
  auto oauthError = [&](int status, const std::string& err, const std::string& description) {
    return reply(
        status, {{"error", err}, {"description", description}, {"error_description", description}});
  };
  if (request.method != "POST") return error(ctx, notFound("Resource " + request.path));
  if (mediaType(request.header("content-type")) != "application/x-www-form-urlencoded") {
    return error(ctx, ApiError{415,
                               "unsupported.media.type",
                               "Unsupported Media Type: use application/x-www-form-urlencoded",
                               {}});
  }
  std::string auth = request.header("authorization");
  bool authenticated = false;
  if (auth.size() > 6 && toLower(auth.substr(0, 6)) == "basic ") {
    if (auto decoded = base64Decode(auth.substr(6))) {
      authenticated = *decoded == options_.client_id + ":" + options_.client_secret;
    }
  }
  if (!authenticated) return oauthError(401, "invalid_client", "authentication failed");
  json form = parseForm(request.body);
  if (form.value("grant_type", "") != "client_credentials") {
    return oauthError(400, "unsupported_grant_type",
                      "grant_type must be client_credentials for this client");
  }
  std::string token;
  for (int i = 0; i < 3; ++i) {
    char buf[17];
    std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(random_.next()));
    token += buf;
  }
  tokens_[token] = clock_.now() + options_.expires_in;
  return reply(200, {{"access_token", token},
                     {"token_type", "bearer"},
                     {"expires_in", options_.expires_in.count()}});
}

// ---------------------------------------------------------------------------------------------
// API routing

HttpResponse Emulator::handleApi(Context& ctx) {
  if (auto e = checkBearer(ctx.request)) return error(ctx, *e);
  if (auto e = checkPermission(ctx.request)) return error(ctx, *e);
  std::vector<std::string> seg = splitPath(ctx.request.path);  // "api", "v2", ...
  const std::string& method = ctx.request.method;
  if (seg.size() >= 3 && seg[2] == "locations") {
    if (seg.size() == 3) return locationsCollection(ctx);
    if (seg.size() == 4) return locationItem(ctx, seg[3]);
  }
  if (seg.size() >= 6 && seg[2] == "telephony" && seg[3] == "providers" && seg[4] == "edges" &&
      seg[5] == "trunkbasesettings") {
    if (seg.size() == 6) return trunksCollection(ctx);
    if (seg.size() == 7) return trunkItem(ctx, seg[6]);
  }
  if (seg.size() >= 6 && seg[2] == "telephony" && seg[3] == "providers" && seg[4] == "edges" &&
      seg[5] == "sites") {
    if (seg.size() == 6) return sitesCollection(ctx);
    if (seg.size() == 7) return siteItem(ctx, seg[6]);
  }
  if (seg.size() == 4 && seg[2] == "telephony" && seg[3] == "mediaregions")
    return mediaRegions(ctx);
  if (seg.size() == 3 && seg[2] == "ipranges") return ipRanges(ctx);
  if (seg.size() >= 4 && seg[2] == "audits" && seg[3] == "query") return auditQuery(ctx, seg);
  if (seg.size() == 6 && seg[2] == "analytics" && seg[3] == "conversations" &&
      seg[4] == "details" && seg[5] == "query" && method == "POST") {
    return analyticsQuery(ctx);
  }
  return error(ctx, notFound("Resource " + method + " " + ctx.request.path));
}

// ---------------------------------------------------------------------------------------------
// Locations

nlohmann::json Emulator::locationView(const Location& location) const {
  nlohmann::json view = location.doc;
  // The seed's asynchronous provisioning; the real Location has only `state`.
  if (options_.schema == Schema::kSeed) {
    view["status"] = clock_.now() >= location.active_at ? "active" : "pending";
  }
  return view;
}

std::string Emulator::createLocation(nlohmann::json writable, std::chrono::milliseconds delay) {
  std::string id = newId();
  writable["id"] = id;
  writable["selfUri"] = "/api/v2/locations/" + id;
  writable["version"] = 1;
  writable["state"] = "active";
  if (options_.schema == Schema::kPlatform && !writable.contains("path")) {
    writable["path"] = nlohmann::json::array();
  }
  locations_[id] = Location{std::move(writable), clock_.now() + delay};
  location_order_.push_back(id);
  return id;
}

HttpResponse Emulator::locationsCollection(Context& ctx) {
  const HttpRequest& request = ctx.request;
  if (request.method == "GET") {
    long long page_size = 25, page_number = 1;
    if (auto e = pagingFrom(request, page_size, page_number, 500)) return error(ctx, *e);
    std::vector<nlohmann::json> all;
    for (const auto& id : location_order_) all.push_back(locationView(locations_.at(id)));
    return reply(200, pagedEnvelope(all, page_size, page_number, "/api/v2/locations"));
  }
  if (request.method != "POST") return error(ctx, notFound("Resource " + request.path));
  auto body = parseJsonBody(request);
  if (auto* e = std::get_if<ApiError>(&body)) return error(ctx, *e);
  bool seed = options_.schema == Schema::kSeed;
  auto writable = seed ? locationFromCreate(std::get<nlohmann::json>(body))
                       : platformLocationFromCreate(std::get<nlohmann::json>(body));
  if (auto* e = std::get_if<ApiError>(&writable)) return error(ctx, *e);
  nlohmann::json created = std::get<nlohmann::json>(writable);
  std::string id =
      createLocation(created, seed ? options_.activation_delay : std::chrono::milliseconds(0));
  const Location& location = locations_.at(id);
  recordAudit(ctx, "Directory", "Location", id, location.doc["name"], "Create",
              propertyChanges(nlohmann::json::object(), created));
  saveState();
  HttpResponse response = reply(201, locationView(location));
  response.headers.emplace_back("Location", location.doc["selfUri"].get<std::string>());
  return response;
}

HttpResponse Emulator::locationItem(Context& ctx, const std::string& id) {
  const HttpRequest& request = ctx.request;
  auto it = locations_.find(id);
  if (it == locations_.end()) return error(ctx, notFound("Location " + id));
  Location& location = it->second;
  if (request.method == "GET") return reply(200, locationView(location));
  if (request.method == "DELETE") {
    std::string name = location.doc.value("name", "");
    nlohmann::json before = writableLocation(location.doc);
    locations_.erase(it);
    location_order_.erase(std::find(location_order_.begin(), location_order_.end(), id));
    recordAudit(ctx, "Directory", "Location", id, name, "Delete",
                propertyChanges(before, nlohmann::json::object()));
    saveState();
    HttpResponse response = reply(204, nullptr);
    response.body.clear();
    return response;
  }
  if (request.method != "PATCH") return error(ctx, notFound("Resource " + request.path));
  if (options_.schema == Schema::kPlatform) return platformLocationPatch(ctx, id);
  // The seed: media provisioning runs after create; "poll GET until status equals active before
  // proceeding with proxy updates", else a 5xx. Retry-After says when it will be active.
  if (clock_.now() < location.active_at) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(location.active_at - clock_.now());
    auto seconds = std::max<long long>(1, (left.count() + 999) / 1000);
    HttpResponse response = error(
        ctx, ApiError{503,
                      "service.unavailable",
                      "Location " + id + " is still being provisioned (status pending); retry " +
                          "once its status is active",
                      {}});
    response.headers.emplace_back("Retry-After", std::to_string(seconds));
    return response;
  }
  auto body = parseJsonBody(request, true);
  if (auto* e = std::get_if<ApiError>(&body)) return error(ctx, *e);
  const nlohmann::json& patch = std::get<nlohmann::json>(body);
  bool json_patch = mediaType(request.header("content-type")) == "application/json-patch+json";
  concurrentChange(ctx, location.doc, "Directory", "Location");
  long long version = location.doc["version"].get<long long>();
  auto result = json_patch ? applyLocationPatch(location.doc, patch)
                           : applyLocationUpdate(location.doc, patch, version);
  if (auto* e = std::get_if<ApiError>(&result)) {
    if (e->status == 409 && e->message == kVersionMismatchMessage) {
      return versionConflict(ctx, patch.value("version", 0LL), version);
    }
    return error(ctx, *e);
  }
  nlohmann::json before = writableLocation(location.doc);
  nlohmann::json updated = std::get<nlohmann::json>(result);
  for (const char* key : {"id", "selfUri", "state"}) updated[key] = location.doc[key];
  updated["version"] = version + 1;
  location.doc = updated;
  recordAudit(ctx, "Directory", "Location", id, updated["name"], "Update",
              propertyChanges(before, writableLocation(updated)));
  saveState();
  return reply(200, locationView(location));
}

HttpResponse Emulator::platformLocationPatch(Context& ctx, const std::string& id) {
  const HttpRequest& request = ctx.request;
  Location& location = locations_.at(id);
  std::string type = mediaType(request.header("content-type"));
  auto unsupported = [&](const std::string& why) {
    return error(ctx, ApiError{415,
                               "unsupported.media.type",
                               "Unsupported Media Type: " + why +
                                   ". PATCH /api/v2/locations/{locationId} takes a "
                                   "LocationUpdateDefinition as application/json",
                               {}});
  };
  if (type != "application/json") return unsupported("'" + type + "' is not supported");
  auto parsed = nlohmann::json::parse(request.body, nullptr, false);
  if (parsed.is_discarded()) {
    return error(ctx, ApiError{400,
                               "bad.request",
                               "The request could not be understood by the server due to "
                               "malformed syntax.",
                               {}});
  }
  // A JSON Patch document sent as application/json is still not a LocationUpdateDefinition.
  if (parsed.is_array()) return unsupported("a JSON Patch (RFC 6902) array is not supported");
  concurrentChange(ctx, location.doc, "Directory", "Location");
  long long version = location.doc["version"].get<long long>();
  auto result = applyPlatformLocationUpdate(location.doc, parsed, version);
  if (auto* e = std::get_if<ApiError>(&result)) {
    if (e->status == 409) return versionConflict(ctx, parsed.value("version", 0LL), version);
    return error(ctx, *e);
  }
  auto strip = [](nlohmann::json doc) {
    for (const char* key : {"id", "version", "selfUri"}) doc.erase(key);
    return doc;
  };
  nlohmann::json before = strip(location.doc);
  nlohmann::json updated = std::get<nlohmann::json>(result);
  updated["id"] = id;
  updated["selfUri"] = location.doc["selfUri"];
  updated["version"] = version + 1;
  location.doc = updated;
  recordAudit(ctx, "Directory", "Location", id, updated.value("name", ""), "Update",
              propertyChanges(before, strip(updated)));
  saveState();
  return reply(200, locationView(location));
}

// ---------------------------------------------------------------------------------------------
// Trunk base settings

nlohmann::json Emulator::createTrunk(const nlohmann::json& spec) {
  std::string id =
      spec.contains("id") && spec["id"].is_string() ? spec["id"].get<std::string>() : newId();
  nlohmann::json trunk;
  if (spec.contains("properties")) {
    trunk = spec;
  } else {
    nlohmann::json hosts = spec.value("hosts", nlohmann::json::array());
    trunk = {{"name", spec.value("name", "BYOC trunk " + id.substr(0, 8))},
             {"state", "active"},
             {"trunkType", spec.value("trunkType", "EXTERNAL")},
             {"managed", spec.value("managed", false)},
             {"trunkMetabase",
              {{"id", "external_sip_pcv_byoc_carrier.json"}, {"name", "Generic BYOC Carrier"}}},
             {"properties",
              {{"trunk_transport_serverProxyList",
                {{"type", "array"},
                 {"items", {{"type", "string"}}},
                 {"uniqueItems", true},
                 {"value", {{"default", nlohmann::json::array()}, {"instance", hosts}}}}},
               {"trunk_transport_protocolVariant",
                {{"type", "string"},
                 {"enum", {"udp", "tcp", "tls"}},
                 {"value", {{"default", "udp"}, {"instance", spec.value("protocol", "udp")}}}}},
               {"trunk_access_acl_allowList",
                {{"type", "array"},
                 {"items", {{"type", "string"}}},
                 {"value",
                  {{"default", nlohmann::json::array()},
                   {"instance", spec.value("allow_list", nlohmann::json::array())}}}}}}}};
  }
  trunk["id"] = id;
  trunk["selfUri"] = std::string(kTrunkBase) + "/" + id;
  if (spec.contains("version") && spec["version"].is_number_integer()) {
    trunk["version"] = spec["version"];  // lets a test move the version behind a client's back
  }
  if (!trunk.contains("version")) trunk["version"] = 1;
  if (!trunk.contains("managed")) trunk["managed"] = false;
  if (!trunk.contains("state")) trunk["state"] = "active";
  if (!trunk.contains("trunkType")) trunk["trunkType"] = "EXTERNAL";
  // Stored without the hidden properties: views add them (trunkView).
  if (trunk.contains("properties") && trunk["properties"].is_object()) {
    for (const auto& [name, property] : hiddenTrunkProperties()) trunk["properties"].erase(name);
  }
  if (trunks_.count(id) == 0) trunk_order_.push_back(id);
  trunks_[id] = trunk;
  return trunk;
}

// GET of a Telephony collection: the objects in creation order, paged (pageSize up to 500).
// Stores an accepted full-object PUT: the next version, an audit entry of what changed (the
// version itself is not a change), the state file.
void Emulator::saveVersionedPut(Context& ctx, nlohmann::json& stored, nlohmann::json updated,
                                const std::string& id, const std::string& entity_type) {
  updated["version"] = stored["version"].get<long long>() + 1;
  nlohmann::json before = stored;
  nlohmann::json after = updated;
  before.erase("version");
  after.erase("version");
  stored = std::move(updated);
  recordAudit(ctx, "Telephony", entity_type, id, stored["name"], "Update",
              propertyChanges(before, after));
  saveState();
}

HttpResponse Emulator::pagedList(Context& ctx, const std::vector<std::string>& order,
                                 const std::string& base,
                                 const std::function<nlohmann::json(const std::string&)>& view) {
  if (ctx.request.method != "GET") return error(ctx, notFound("Resource " + ctx.request.path));
  long long page_size = 25, page_number = 1;
  if (auto e = pagingFrom(ctx.request, page_size, page_number, 500)) return error(ctx, *e);
  std::vector<nlohmann::json> all;
  all.reserve(order.size());
  for (const auto& id : order) all.push_back(view(id));
  return reply(200, pagedEnvelope(all, page_size, page_number, base));
}

HttpResponse Emulator::trunksCollection(Context& ctx) {
  bool hidden = ctx.request.queryParam("ignoreHidden") != "true";
  return pagedList(ctx, trunk_order_, kTrunkBase, [this, hidden](const std::string& id) {
    return trunkView(trunks_.at(id), hidden);
  });
}

nlohmann::json Emulator::trunkView(const nlohmann::json& stored, bool with_hidden) {
  nlohmann::json view = stored;
  if (with_hidden) {
    if (!view.contains("properties") || !view["properties"].is_object()) {
      view["properties"] = nlohmann::json::object();
    }
    for (const auto& [name, property] : hiddenTrunkProperties())
      view["properties"][name] = property;
  }
  return view;
}

// What every full-object PUT of a versioned Telephony object checks (trunk base settings, sites):
// the version is required and must be the stored one (after an armed concurrent change), the id
// may not differ from the path, and the name is required.
std::optional<HttpResponse> Emulator::checkVersionedPut(Context& ctx, nlohmann::json& stored,
                                                        const nlohmann::json& body,
                                                        const std::string& id,
                                                        const std::string& entity_type) {
  if (!body.contains("version") || !body["version"].is_number_integer()) {
    return error(ctx, ApiError{400, "invalid.value", "version is required", {"version"}});
  }
  concurrentChange(ctx, stored, "Telephony", entity_type);
  if (body["version"] != stored["version"]) {
    return versionConflict(ctx, body["version"].get<long long>(),
                           stored["version"].get<long long>());
  }
  if (body.contains("id") && body["id"] != id) {
    return error(ctx, ApiError{400, "invalid.value", "id does not match the path", {"id"}});
  }
  if (!body.contains("name") || !body["name"].is_string() ||
      body["name"].get<std::string>().empty()) {
    return error(ctx, ApiError{400, "invalid.value", "name is required", {"name"}});
  }
  return std::nullopt;
}

HttpResponse Emulator::trunkItem(Context& ctx, const std::string& id) {
  const HttpRequest& request = ctx.request;
  auto it = trunks_.find(id);
  if (it == trunks_.end()) return error(ctx, notFound("Trunk base settings " + id));
  nlohmann::json& stored = it->second;
  if (request.method == "GET") {
    return reply(200, trunkView(stored, request.queryParam("ignoreHidden") != "true"));
  }
  if (request.method != "PUT") return error(ctx, notFound("Resource " + request.path));
  auto parsed = parseJsonBody(request);
  if (auto* e = std::get_if<ApiError>(&parsed)) return error(ctx, *e);
  const nlohmann::json& body = std::get<nlohmann::json>(parsed);
  if (!body.is_object())
    return error(ctx, ApiError{400, "bad.request", "The body must be an object", {}});
  if (stored.value("managed", false)) {
    return error(ctx, ApiError{400,
                               "bad.request",
                               "Managed trunks cannot be modified. Trunk base settings " + id +
                                   " is managed by Genesys Cloud.",
                               {}});
  }
  if (auto refused = checkVersionedPut(ctx, stored, body, id, "TrunkBase")) return *refused;
  if (body.contains("properties") && !body["properties"].is_object()) {
    return error(ctx,
                 ApiError{400, "invalid.value", "properties must be an object", {"properties"}});
  }
  if (body.contains("properties")) {
    std::vector<std::string> hidden;
    for (const auto& [name, property] : hiddenTrunkProperties()) {
      if (body["properties"].contains(name)) hidden.push_back("properties." + name);
    }
    if (!hidden.empty()) {
      std::string list;
      for (const auto& h : hidden) list += (list.empty() ? "" : ", ") + h;
      return error(ctx, ApiError{400, "invalid.property",
                                 "Invalid property: " + list +
                                     " is hidden and for internal system usage only; read with "
                                     "ignoreHidden=true and send back only visible properties",
                                 hidden});
    }
  }
  static const nlohmann::json::json_pointer kInstance(
      "/properties/trunk_transport_serverProxyList/value/instance");
  if (body.contains(kInstance)) {
    const nlohmann::json& hosts = body[kInstance];
    const std::string field = "properties.trunk_transport_serverProxyList.value.instance";
    if (!hosts.is_array()) {
      return error(ctx, ApiError{400,
                                 "invalid.value",
                                 "trunk_transport_serverProxyList must be a list of servers",
                                 {field}});
    }
    std::set<std::string> seen;
    for (std::size_t i = 0; i < hosts.size(); ++i) {
      std::string at = field + "[" + std::to_string(i) + "]";
      if (!hosts[i].is_string() || !validServerEntry(hosts[i].get<std::string>())) {
        return error(ctx, ApiError{400,
                                   "invalid.value",
                                   "trunk_transport_serverProxyList entry " + hosts[i].dump() +
                                       " is not a host or host:port (port 1-65535)",
                                   {at}});
      }
      if (!seen.insert(hosts[i].get<std::string>()).second) {
        return error(ctx, ApiError{400,
                                   "invalid.value",
                                   "trunk_transport_serverProxyList entries must be unique: " +
                                       hosts[i].get<std::string>() + " appears twice",
                                   {at}});
      }
    }
  }
  nlohmann::json updated = body;
  for (const char* key : {"id", "selfUri", "managed", "trunkType", "state", "trunkMetabase"}) {
    if (stored.contains(key)) updated[key] = stored[key];
  }
  if (!updated.contains("properties"))
    updated["properties"] = stored.value("properties", nlohmann::json::object());
  saveVersionedPut(ctx, stored, std::move(updated), id, "TrunkBase");
  return reply(200, trunkView(stored, request.queryParam("ignoreHidden") != "true"));
}

// ---------------------------------------------------------------------------------------------
// Sites and media regions

std::variant<nlohmann::json, ApiError> Emulator::createSite(const nlohmann::json& spec) {
  std::string id =
      spec.contains("id") && spec["id"].is_string() ? spec["id"].get<std::string>() : newId();
  nlohmann::json regions = spec.value("media_regions", nlohmann::json::array());
  if (spec.contains("mediaRegions")) regions = spec["mediaRegions"];  // a stored site (state file)
  if (!regions.is_array())
    return ApiError{400, "bad.request", "media_regions must be an array", {}};
  for (std::size_t i = 0; i < regions.size(); ++i) {
    if (!regions[i].is_string() || !isKnownMediaRegion(regions[i].get<std::string>())) {
      return ApiError{400,
                      "invalid.value",
                      "media_regions[" + std::to_string(i) + "] " + regions[i].dump() +
                          " is not one of the org's media regions",
                      {"mediaRegions[" + std::to_string(i) + "]"}};
    }
  }
  nlohmann::json site = {
      {"id", id},
      {"name", spec.value("name", "Site " + id.substr(0, 8))},
      {"version", 1},
      {"state", "active"},
      {"mediaModel", "Cloud"},
      {"mediaRegions", regions},
      {"mediaRegionsUseLatencyBased",
       spec.value("use_latency_based", spec.value("mediaRegionsUseLatencyBased", false))},
      {"cloudProxyForceTurn", spec.value("cloudProxyForceTurn", false)},
      {"managed", false},
      {"coreSite", false},
      {"selfUri", std::string(kSiteBase) + "/" + id}};
  if (spec.contains("version") && spec["version"].is_number_integer()) {
    site["version"] = spec["version"];
  }
  std::string location_id = spec.value("location_id", "");
  if (location_id.empty() && spec.contains("location") && spec["location"].is_object()) {
    location_id = spec["location"].value("id", "");
  }
  if (!location_id.empty()) {
    auto it = locations_.find(location_id);
    std::string name = it != locations_.end() ? it->second.doc.value("name", "") : "";
    if (name.empty() && spec.contains("location")) name = spec["location"].value("name", "");
    site["location"] = {
        {"id", location_id}, {"name", name}, {"selfUri", "/api/v2/locations/" + location_id}};
  }
  if (sites_.count(id) == 0) site_order_.push_back(id);
  sites_[id] = site;
  return site;
}

HttpResponse Emulator::sitesCollection(Context& ctx) {
  return pagedList(ctx, site_order_, kSiteBase,
                   [this](const std::string& id) { return sites_.at(id); });
}

HttpResponse Emulator::siteItem(Context& ctx, const std::string& id) {
  const HttpRequest& request = ctx.request;
  auto it = sites_.find(id);
  if (it == sites_.end()) return error(ctx, notFound("Site " + id));
  nlohmann::json& stored = it->second;
  if (request.method == "GET") return reply(200, stored);
  if (request.method != "PUT") return error(ctx, notFound("Resource " + request.path));
  auto parsed = parseJsonBody(request);
  if (auto* e = std::get_if<ApiError>(&parsed)) return error(ctx, *e);
  const nlohmann::json& body = std::get<nlohmann::json>(parsed);
  if (!body.is_object()) {
    return error(ctx, ApiError{400, "bad.request", "The body must be a Site object", {}});
  }
  if (auto refused = checkVersionedPut(ctx, stored, body, id, "Site")) return *refused;
  for (const char* key : {"mediaRegionsUseLatencyBased", "cloudProxyForceTurn"}) {
    if (body.contains(key) && !body[key].is_boolean()) {
      return error(ctx,
                   ApiError{400, "invalid.value", std::string(key) + " must be a boolean", {key}});
    }
  }
  nlohmann::json regions = body.value("mediaRegions", nlohmann::json::array());
  if (!regions.is_array()) {
    return error(ctx, ApiError{400,
                               "invalid.value",
                               "mediaRegions must be an array of region names",
                               {"mediaRegions"}});
  }
  std::set<std::string> seen;
  for (std::size_t i = 0; i < regions.size(); ++i) {
    std::string field = "mediaRegions[" + std::to_string(i) + "]";
    if (!regions[i].is_string() || !isKnownMediaRegion(regions[i].get<std::string>())) {
      return error(ctx, ApiError{400,
                                 "invalid.value",
                                 field + " " + regions[i].dump() +
                                     " is not one of the org's media regions (GET "
                                     "/api/v2/telephony/mediaregions)",
                                 {field}});
    }
    if (!seen.insert(regions[i].get<std::string>()).second) {
      return error(
          ctx,
          ApiError{
              400, "invalid.value", field + " " + regions[i].dump() + " appears twice", {field}});
    }
  }
  // The platform keeps the org's home region in every site's list.
  if (seen.count(options_.home_region) == 0) regions.push_back(options_.home_region);
  nlohmann::json updated = body;
  for (const char* key : {"id", "selfUri", "state", "mediaModel", "managed", "coreSite"}) {
    if (stored.contains(key)) updated[key] = stored[key];
  }
  updated["mediaRegions"] = regions;
  if (!updated.contains("mediaRegionsUseLatencyBased")) {
    updated["mediaRegionsUseLatencyBased"] = false;
  }
  if (!updated.contains("cloudProxyForceTurn")) updated["cloudProxyForceTurn"] = false;
  if (body.contains("location") && !body["location"].is_null()) {
    if (!body["location"].is_object() || !body["location"].contains("id") ||
        !body["location"]["id"].is_string()) {
      return error(
          ctx,
          ApiError{400, "invalid.value", "location must be an object with an id", {"location.id"}});
    }
  } else if (stored.contains("location")) {
    updated["location"] = stored["location"];
  }
  saveVersionedPut(ctx, stored, std::move(updated), id, "Site");
  return reply(200, stored);
}

HttpResponse Emulator::mediaRegions(Context& ctx) {
  if (ctx.request.method != "GET") return error(ctx, notFound("Resource " + ctx.request.path));
  return reply(200, {{"awsHomeRegion", options_.home_region},
                     {"awsCoreRegions", coreRegions()},
                     {"awsSatelliteRegions", satelliteRegions()}});
}

HttpResponse Emulator::ipRanges(Context& ctx) {
  if (ctx.request.method != "GET") return error(ctx, notFound("Resource " + ctx.request.path));
  return reply(200, {{"entities", ipRangeTable()}});
}

// ---------------------------------------------------------------------------------------------
// Audit

void Emulator::recordAudit(const Context& ctx, const std::string& service,
                           const std::string& entity_type, const std::string& entity_id,
                           const std::string& entity_name, const std::string& action,
                           nlohmann::json changes, bool other_user) {
  auto now = clock_.wallNow();
  // The caller is the OAuth client; its "user" is derived from the client id so filters on
  // UserId work and stay stable across restarts. A concurrent_change fault's save is by
  // another user: an admin in the UI.
  std::string client = other_user ? std::string("admin-ui") : options_.client_id;
  std::uint64_t h = std::hash<std::string>{}(client);
  std::string user_name = other_user ? std::string("Another Admin") : "OAuth client " + client;
  nlohmann::json message = {{"id", newId()},
                            {"user", {{"id", makeUuid(h, ~h)}, {"name", user_name}}},
                            {"client", {{"id", client}}},
                            {"remoteIp", nlohmann::json::array({ctx.request.remote_addr})},
                            {"serviceName", service},
                            {"level", "USER"},
                            {"eventDate", formatIsoTime(now)},
                            {"action", action},
                            {"entity", {{"id", entity_id}, {"name", entity_name}}},
                            {"entityType", entity_type},
                            {"status", "SUCCESS"},
                            {"propertyChanges", std::move(changes)},
                            {"context", {{"correlationId", ctx.correlation_id}}}};
  audit_.push_back(AuditEntry{std::move(message), now});
}

std::variant<std::vector<nlohmann::json>, ApiError> Emulator::selectAudit(
    const nlohmann::json& body) const {
  auto parsed = queryInterval(body);
  if (auto* error = std::get_if<ApiError>(&parsed)) return std::move(*error);
  const Interval& interval = std::get<Interval>(parsed);
  if (!body.contains("serviceName") || !body["serviceName"].is_string()) {
    return ApiError{400, "bad.request", "serviceName is required", {"serviceName"}};
  }
  std::string service = body["serviceName"].get<std::string>();
  nlohmann::json filters = body.value("filters", nlohmann::json::array());
  if (!filters.is_array())
    return ApiError{400, "bad.request", "filters must be an array", {"filters"}};
  for (const auto& f : filters) {
    if (!f.is_object() || !f.contains("property") || !f["property"].is_string() ||
        !f.contains("value") || !f["value"].is_string()) {
      return ApiError{400, "bad.request", "each filter needs a property and a value", {"filters"}};
    }
    if (auditFilterProperties().count(f["property"].get<std::string>()) == 0) {
      return ApiError{400,
                      "invalid.value",
                      "Unknown filter property " + f["property"].get<std::string>() +
                          " (EntityType, EntityId, Action, UserId, ClientId)",
                      {"filters"}};
    }
  }
  bool descending = false;
  if (body.contains("sort")) {
    if (!body["sort"].is_array())
      return ApiError{400, "bad.request", "sort must be an array", {"sort"}};
    for (const auto& s : body["sort"]) {
      if (!s.is_object() || s.value("name", "") != "Timestamp") {
        return ApiError{400, "invalid.value", "sort supports name Timestamp only", {"sort"}};
      }
      std::string order = toLower(s.value("sortOrder", "ascending"));
      if (order != "ascending" && order != "descending") {
        return ApiError{
            400, "invalid.value", "sortOrder must be ascending or descending", {"sort"}};
      }
      descending = order == "descending";
    }
  }
  std::vector<nlohmann::json> out;
  for (const auto& entry : audit_) {
    if (entry.time < interval.start || entry.time >= interval.end) continue;
    if (toLower(entry.message["serviceName"].get<std::string>()) != toLower(service)) continue;
    bool keep = true;
    for (const auto& f : filters) {
      keep = keep && auditFilterMatches(entry.message, f["property"].get<std::string>(),
                                        f["value"].get<std::string>());
    }
    if (keep) out.push_back(entry.message);
  }
  if (descending) std::reverse(out.begin(), out.end());
  return out;
}

HttpResponse Emulator::auditQuery(Context& ctx, const std::vector<std::string>& seg) {
  const HttpRequest& request = ctx.request;
  static const char* kStates[] = {"Queued", "Running", "Succeeded"};
  if (seg.size() == 4 || (seg.size() == 5 && seg[4] == "realtime")) {
    if (request.method != "POST") return error(ctx, notFound("Resource " + request.path));
    auto body = parseJsonBody(request);
    if (auto* e = std::get_if<ApiError>(&body)) return error(ctx, *e);
    const nlohmann::json& query = std::get<nlohmann::json>(body);
    auto selected = selectAudit(query);
    if (auto* e = std::get_if<ApiError>(&selected)) return error(ctx, *e);
    auto& results = std::get<std::vector<nlohmann::json>>(selected);
    if (seg.size() == 5) {
      long long page_size = 25, page_number = 1;
      if (query.contains("pageSize")) page_size = query.value("pageSize", 0LL);
      if (query.contains("pageNumber")) page_number = query.value("pageNumber", 0LL);
      if (page_size < 1 || page_size > 500 || page_number < 1) {
        return error(
            ctx,
            ApiError{400, "bad.request", "pageSize must be 1-500 and pageNumber at least 1", {}});
      }
      nlohmann::json env =
          pagedEnvelope(results, page_size, page_number, "/api/v2/audits/query/realtime");
      return reply(200, {{"entities", env["entities"]},
                         {"pageSize", page_size},
                         {"pageNumber", page_number},
                         {"total", env["total"]},
                         {"pageCount", env["pageCount"]}});
    }
    std::string id = newId();
    audit_queries_[id] = AuditQuery{0, query, std::move(results)};
    return reply(202, {{"id", id},
                       {"state", "Queued"},
                       {"startDate", formatIsoTime(clock_.wallNow())},
                       {"interval", query["interval"]},
                       {"serviceName", query["serviceName"]},
                       {"filters", query.value("filters", nlohmann::json::array())},
                       {"sort", query.value("sort", nlohmann::json::array())}});
  }
  auto it = audit_queries_.find(seg[4]);
  if (it == audit_queries_.end()) return error(ctx, notFound("Audit query " + seg[4]));
  AuditQuery& query = it->second;
  if (request.method != "GET") return error(ctx, notFound("Resource " + request.path));
  if (seg.size() == 5) {
    // Each poll moves the query one step on, as a real execution progresses while clients poll.
    if (query.state < 2) ++query.state;
    return reply(200, {{"id", seg[4]},
                       {"state", kStates[query.state]},
                       {"interval", query.request["interval"]},
                       {"serviceName", query.request["serviceName"]}});
  }
  if (seg.size() != 6 || seg[5] != "results")
    return error(ctx, notFound("Resource " + request.path));
  if (query.state < 2) {
    return error(ctx, ApiError{400,
                               "bad.request",
                               std::string("Audit query ") + seg[4] + " is " +
                                   kStates[query.state] + "; results exist once it has Succeeded",
                               {}});
  }
  long long page_size = 25;
  std::string size_text = request.queryParam("pageSize");
  if (!size_text.empty()) {
    try {
      std::size_t used = 0;
      page_size = std::stoll(size_text, &used);
      if (used != size_text.size()) page_size = 0;
    } catch (const std::exception&) {
      page_size = 0;
    }
  }
  if (page_size < 1 || page_size > 500) {
    return error(ctx,
                 ApiError{400, "bad.request", "pageSize must be between 1 and 500", {"pageSize"}});
  }
  std::size_t offset = 0;
  std::string cursor = request.queryParam("cursor");
  if (!cursor.empty()) {
    // Cursors are opaque base64 (with '+', '/' and '='): one sent without URL-encoding arrives
    // changed ('+' as a space) and is refused.
    auto at = readCursor(cursor, seg[4]);
    if (!at || *at > query.results.size()) {
      return error(
          ctx, ApiError{400, "invalid.value", "Invalid cursor (is it URL-encoded?)", {"cursor"}});
    }
    offset = *at;
  }
  bool expand_user = false;
  std::string expand = request.queryParam("expand");
  for (std::size_t pos = 0; pos <= expand.size();) {
    auto comma = expand.find(',', pos);
    if (comma == std::string::npos) comma = expand.size();
    expand_user = expand_user || expand.substr(pos, comma - pos) == "user";
    pos = comma + 1;
  }
  nlohmann::json entities = nlohmann::json::array();
  std::size_t end = std::min(query.results.size(), offset + static_cast<std::size_t>(page_size));
  for (std::size_t i = offset; i < end; ++i) {
    nlohmann::json entry = query.results[i];
    // The user's name comes only with expand=user.
    if (!expand_user) entry["user"] = {{"id", entry["user"]["id"]}};
    entities.push_back(std::move(entry));
  }
  nlohmann::json out = {{"id", seg[4]}, {"pageSize", page_size}, {"entities", entities}};
  if (end < query.results.size()) out["cursor"] = makeCursor(seg[4], end);
  return reply(200, out);
}

// ---------------------------------------------------------------------------------------------
// Analytics

HttpResponse Emulator::analyticsQuery(Context& ctx) {
  auto body = parseJsonBody(ctx.request);
  if (auto* e = std::get_if<ApiError>(&body)) return error(ctx, *e);
  auto result = queryConversationDetails(std::get<nlohmann::json>(body), options_.seed,
                                         options_.conversations);
  if (auto* e = std::get_if<ApiError>(&result)) return error(ctx, *e);
  return reply(200, std::get<nlohmann::json>(result));
}

// ---------------------------------------------------------------------------------------------
// Admin

HttpResponse Emulator::handleAdmin(Context& ctx) {
  const HttpRequest& request = ctx.request;
  if (!isLoopback(request.remote_addr)) {
    return error(
        ctx, ApiError{403, "not.authorized", "The admin API answers loopback clients only", {}});
  }
  const std::string& m = request.method;
  const std::string& p = request.path;
  auto bodyJson = [&]() -> std::optional<nlohmann::json> {
    if (request.body.empty()) return nlohmann::json::object();
    auto parsed = nlohmann::json::parse(request.body, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) return std::nullopt;
    return parsed;
  };
  auto badBody = [&](const std::string& message) {
    return error(ctx, ApiError{400, "bad.request", message, {}});
  };
  if (p == "/_emulator/faults" && m == "POST") {
    auto body = bodyJson();
    if (!body) return badBody("body must be a JSON object");
    Fault fault;
    fault.id = newId();
    fault.path_prefix = body->value("path_prefix", "/");
    fault.method = body->value("method", "");
    fault.count = body->value("count", 1);
    fault.status = body->value("status", 0);
    fault.retry_after = body->value("retry_after", 0);
    fault.stall_ms = body->value("stall_ms", 0);
    fault.reset = body->value("reset", false);
    fault.oauth_rate_limit = body->value("oauth_rate_limit", false);
    fault.concurrent_change = body->value("concurrent_change", false);
    if (body->contains("conflict")) {
      const nlohmann::json& form = (*body)["conflict"];
      std::string text = form.is_string() ? form.get<std::string>() : form.dump();
      if (text != "409" && text != "408" && text != "400") {
        return badBody("conflict must be \"409\", \"408\" or \"400\"");
      }
      fault.conflict = std::stoi(text);
    }
    if (fault.retry_after > 0 && fault.status == 0) fault.status = 429;
    if (fault.oauth_rate_limit) {
      if (fault.status != 0 && fault.status != 400) {
        return badBody("oauth_rate_limit answers status 400");
      }
      fault.status = 400;
    }
    if (fault.count < 1) return badBody("count must be at least 1");
    if (fault.status == 0 && fault.stall_ms <= 0 && !fault.reset && !fault.concurrent_change) {
      return badBody("a fault needs status, retry_after, stall_ms, reset or concurrent_change");
    }
    if (fault.concurrent_change && (fault.status != 0 || fault.reset)) {
      return badBody("concurrent_change goes with no status or reset: the request is processed");
    }
    if (fault.status != 0 && (fault.status < 400 || fault.status > 599)) {
      return badBody("status must be 400-599");
    }
    faults_.push_back(fault);
    return reply(201, {{"id", fault.id}});
  }
  if (p == "/_emulator/faults" && (m == "GET" || m == "DELETE")) {
    if (m == "DELETE") faults_.clear();
    nlohmann::json out = nlohmann::json::array();
    for (const auto& f : faults_) {
      out.push_back({{"id", f.id},
                     {"path_prefix", f.path_prefix},
                     {"method", f.method},
                     {"count", f.count},
                     {"status", f.status},
                     {"retry_after", f.retry_after},
                     {"stall_ms", f.stall_ms},
                     {"reset", f.reset},
                     {"oauth_rate_limit", f.oauth_rate_limit},
                     {"concurrent_change", f.concurrent_change},
                     {"conflict", std::to_string(f.conflict)}});
    }
    return reply(200, out);
  }
  if (p == "/_emulator/requests" && m == "GET") return reply(200, log_);
  if (p == "/_emulator/state" && m == "GET") return reply(200, stateLocked());
  if (p == "/_emulator/trunks" && m == "POST") {
    auto body = bodyJson();
    if (!body) return badBody("body must be a JSON object");
    if (body->contains("hosts") && !(*body)["hosts"].is_array())
      return badBody("hosts must be an array");
    nlohmann::json trunk = createTrunk(*body);
    saveState();
    return reply(201, trunk);
  }
  if (p == "/_emulator/sites" && m == "POST") {
    auto body = bodyJson();
    if (!body) return badBody("body must be a JSON object");
    auto site = createSite(*body);
    if (auto* e = std::get_if<ApiError>(&site)) return error(ctx, *e);
    saveState();
    return reply(201, std::get<nlohmann::json>(site));
  }
  if (p == "/_emulator/locations" && m == "POST") {
    auto body = bodyJson();
    if (!body) return badBody("body must be a JSON object");
    auto writable = options_.schema == Schema::kSeed ? locationFromCreate(*body)
                                                     : platformLocationFromCreate(*body);
    if (auto* e = std::get_if<ApiError>(&writable)) return error(ctx, *e);
    std::string id =
        createLocation(std::get<nlohmann::json>(writable), std::chrono::milliseconds(0));
    saveState();
    return reply(201, locationView(locations_.at(id)));
  }
  if (p == "/_emulator/expire-tokens" && m == "POST") {
    auto now = clock_.now();
    for (auto& [token, expiry] : tokens_) expiry = std::min(expiry, now);
    return reply(200, {{"expired", tokens_.size()}});
  }
  if (p == "/_emulator/reset" && m == "POST") {
    locations_.clear();
    location_order_.clear();
    trunks_.clear();
    trunk_order_.clear();
    sites_.clear();
    site_order_.clear();
    audit_.clear();
    audit_queries_.clear();
    faults_.clear();
    log_ = nlohmann::json::array();
    saveState();
    return reply(200, {{"reset", true}});
  }
  return error(ctx, notFound("Admin resource " + m + " " + p));
}

// ---------------------------------------------------------------------------------------------
// Request log and state

void Emulator::logRequest(const Context& ctx, const HttpResponse& response) {
  const HttpRequest& request = ctx.request;
  std::string auth = request.header("authorization");
  std::string scheme;
  if (auth.size() >= 6 && toLower(auth.substr(0, 6)) == "basic ") scheme = "Basic";
  if (auth.size() >= 7 && toLower(auth.substr(0, 7)) == "bearer ") scheme = "Bearer";
  std::string type = mediaType(request.header("content-type"));
  nlohmann::json body;
  if (!request.body.empty()) {
    if (type == "application/x-www-form-urlencoded") {
      body = parseForm(request.body);
      body.erase("client_secret");
      body.erase("password");
    } else {
      body = nlohmann::json::parse(request.body, nullptr, false);
      if (body.is_discarded()) body = request.body.substr(0, 4096);
    }
  }
  nlohmann::json query = nlohmann::json::object();
  for (const auto& [k, v] : request.query) query[k] = v;
  nlohmann::json entry = {{"time", formatIsoTime(clock_.wallNow())},
                          {"method", request.method},
                          {"path", request.path},
                          {"query", query},
                          {"status", response.status},
                          {"content_type", request.header("content-type")},
                          {"auth", scheme},
                          {"correlation_id", ctx.correlation_id},
                          {"body", body}};
  if (!ctx.fault_id.empty()) entry["fault"] = ctx.fault_id;
  scrub(entry, options_.client_secret);
  if (log_file_.is_open()) {
    log_file_ << entry.dump() << '\n';
    log_file_.flush();
  }
  log_.push_back(std::move(entry));
  // A demo left running for days must not grow without bound; the file keeps everything.
  if (log_.size() > kMaxLogEntries) log_.erase(log_.begin());
}

nlohmann::json Emulator::requestLog() const {
  std::lock_guard lock(mutex_);
  return log_;
}

nlohmann::json Emulator::state() const {
  std::lock_guard lock(mutex_);
  return stateLocked();
}

nlohmann::json Emulator::stateLocked() const {
  nlohmann::json locations = nlohmann::json::array();
  for (const auto& id : location_order_) locations.push_back(locationView(locations_.at(id)));
  nlohmann::json trunks = nlohmann::json::array();
  for (const auto& id : trunk_order_) trunks.push_back(trunks_.at(id));
  nlohmann::json sites = nlohmann::json::array();
  for (const auto& id : site_order_) sites.push_back(sites_.at(id));
  nlohmann::json audit = nlohmann::json::array();
  for (const auto& entry : audit_) audit.push_back(entry.message);
  return {{"locations", locations}, {"trunks", trunks}, {"sites", sites}, {"audit", audit}};
}

void Emulator::saveState() const {
  if (options_.state_file.empty()) return;
  nlohmann::json state = stateLocked();
  state.erase("audit");
  writeFileAtomically(options_.state_file, state.dump(2) + "\n");
}

void Emulator::loadState() {
  auto state = nlohmann::json::parse(readWholeFile(options_.state_file), nullptr, false);
  if (state.is_discarded() || !state.is_object()) {
    throw std::runtime_error("state file " + options_.state_file + " is not a JSON object");
  }
  for (const auto& doc : state.value("locations", nlohmann::json::array())) {
    if (!doc.is_object() || !doc.contains("id") || !doc["id"].is_string()) {
      throw std::runtime_error("state file " + options_.state_file + ": a location has no id");
    }
    std::string id = doc["id"].get<std::string>();
    nlohmann::json stored = doc;
    stored.erase("status");
    stored["selfUri"] = "/api/v2/locations/" + id;
    if (!stored.contains("version")) stored["version"] = 1;
    if (!stored.contains("state")) stored["state"] = "active";
    if (locations_.count(id) == 0) location_order_.push_back(id);
    locations_[id] = Location{stored, clock_.now()};
  }
  for (const auto& trunk : state.value("trunks", nlohmann::json::array())) {
    if (!trunk.is_object()) throw std::runtime_error("state file: a trunk is not an object");
    createTrunk(trunk);
  }
  for (const auto& site : state.value("sites", nlohmann::json::array())) {
    if (!site.is_object()) throw std::runtime_error("state file: a site is not an object");
    auto created = createSite(site);
    if (auto* e = std::get_if<ApiError>(&created)) {
      throw std::runtime_error("state file " + options_.state_file + ": " + e->message);
    }
  }
}

}  // namespace mediapath::tools::emulator
