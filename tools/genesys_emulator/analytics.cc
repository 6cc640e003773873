#include "tools/genesys_emulator/analytics.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <set>
#include <string>

namespace mediapath::tools::emulator {
namespace {

using nlohmann::json;

std::uint64_t splitmix(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Deterministic stream for one conversation.
class Stream {
 public:
  explicit Stream(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() { return splitmix(state_); }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  std::string uuid() {
    std::uint64_t hi = next();
    return makeUuid(hi, next());
  }
  double round2(double v) { return std::round(v * 100.0) / 100.0; }

 private:
  std::uint64_t state_;
};

std::int64_t epochMillis(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// Conversation-level dimension values a filter can match; a predicate matches when any value of
// its dimension (across participants and sessions) matches.
using Dimensions = std::map<std::string, std::vector<std::string>>;

const std::set<std::string>& knownDimensions() {
  static const std::set<std::string> kKnown = {
      "conversationId", "mediaType", "direction", "originatingDirection", "edgeId",   "remote",
      "purpose",        "ani",       "dnis",      "divisionId",           "sessionId"};
  return kKnown;
}

Dimensions dimensionsOf(const json& conversation) {
  Dimensions dims;
  dims["conversationId"].push_back(conversation["conversationId"]);
  dims["originatingDirection"].push_back(conversation["originatingDirection"]);
  for (const auto& division : conversation["divisionIds"]) dims["divisionId"].push_back(division);
  for (const auto& participant : conversation["participants"]) {
    dims["purpose"].push_back(participant["purpose"]);
    for (const auto& session : participant["sessions"]) {
      for (const char* key :
           {"mediaType", "direction", "edgeId", "remote", "ani", "dnis", "sessionId"}) {
        if (session.contains(key)) dims[key].push_back(session[key]);
      }
    }
  }
  return dims;
}

std::optional<ApiError> badFilter(const std::string& message) {
  return ApiError{400, "bad.request", message, {}};
}

// Validates a predicate; nullopt when usable.
std::optional<ApiError> checkPredicate(const json& p) {
  if (!p.is_object()) return badFilter("A predicate must be an object");
  std::string type = p.value("type", "dimension");
  if (type == "dimension") {
    if (!p.contains("dimension") || !p["dimension"].is_string()) {
      return badFilter("A dimension predicate needs a dimension");
    }
    if (knownDimensions().count(p["dimension"].get<std::string>()) == 0) {
      return badFilter("Unknown dimension: " + p["dimension"].get<std::string>());
    }
    std::string op = p.value("operator", "matches");
    if (op != "matches" && op != "exists" && op != "notExists") {
      return badFilter("Unknown operator: " + op);
    }
    if (op == "matches" && !p.contains("value")) return badFilter("matches needs a value");
    return std::nullopt;
  }
  if (type == "metric") {
    std::string metric = p.value("metric", "");
    if (metric != "mediaStatsMinConversationMos" && metric != "mediaStatsMinConversationRFactor") {
      return badFilter("Unknown metric: " + metric);
    }
    if (!p.contains("range") || !p["range"].is_object()) {
      return badFilter("A metric predicate needs a range");
    }
    return std::nullopt;
  }
  return badFilter("Unknown predicate type: " + type);
}

bool predicateMatches(const json& p, const json& conversation, const Dimensions& dims) {
  if (p.value("type", "dimension") == "metric") {
    double v = conversation[p["metric"].get<std::string>()].get<double>();
    const json& r = p["range"];
    if (r.contains("gt") && !(v > r["gt"].get<double>())) return false;
    if (r.contains("gte") && !(v >= r["gte"].get<double>())) return false;
    if (r.contains("lt") && !(v < r["lt"].get<double>())) return false;
    if (r.contains("lte") && !(v <= r["lte"].get<double>())) return false;
    return true;
  }
  auto it = dims.find(p["dimension"].get<std::string>());
  bool present = it != dims.end() && !it->second.empty();
  std::string op = p.value("operator", "matches");
  if (op == "exists") return present;
  if (op == "notExists") return !present;
  if (!present) return false;
  std::string wanted = p["value"].is_string() ? p["value"].get<std::string>() : p["value"].dump();
  return std::find(it->second.begin(), it->second.end(), wanted) != it->second.end();
}

// {type: and|or, predicates[], clauses[{type, predicates[]}]}
std::optional<ApiError> checkFilter(const json& filter) {
  if (!filter.is_object()) return badFilter("A filter must be an object");
  std::string type = filter.value("type", "and");
  if (type != "and" && type != "or") return badFilter("Filter type must be and or or");
  for (const char* key : {"predicates", "clauses"}) {
    if (filter.contains(key) && !filter[key].is_array()) {
      return badFilter(std::string(key) + " must be an array");
    }
  }
  for (const auto& p : filter.value("predicates", json::array())) {
    if (auto e = checkPredicate(p)) return e;
  }
  for (const auto& c : filter.value("clauses", json::array())) {
    if (auto e = checkFilter(c)) return e;
  }
  return std::nullopt;
}

bool filterMatches(const json& filter, const json& conversation, const Dimensions& dims) {
  bool is_and = filter.value("type", "and") == "and";
  std::vector<bool> results;
  for (const auto& p : filter.value("predicates", json::array())) {
    results.push_back(predicateMatches(p, conversation, dims));
  }
  for (const auto& c : filter.value("clauses", json::array())) {
    results.push_back(filterMatches(c, conversation, dims));
  }
  if (results.empty()) return true;
  if (is_and) return std::all_of(results.begin(), results.end(), [](bool b) { return b; });
  return std::any_of(results.begin(), results.end(), [](bool b) { return b; });
}

json mediaEndpointStats(Stream& s, double mos, double rfactor, const std::string& event_time) {
  static const std::array<const char*, 3> kCodecs = {"audio/opus", "audio/PCMU", "audio/G722"};
  auto received = static_cast<std::int64_t>(1500 + s.next() % 60000);
  bool poor = mos < 3.5;
  auto discarded = static_cast<std::int64_t>(poor ? received / 20 + s.next() % 200 : s.next() % 5);
  auto underrun = static_cast<std::int64_t>(poor ? s.next() % 150 : s.next() % 3);
  return json::array({{{"codecs", json::array({kCodecs[s.next() % kCodecs.size()]})},
                       {"minMos", mos},
                       {"minRFactor", rfactor},
                       {"maxLatencyMs", static_cast<std::int64_t>(poor ? 250 + s.next() % 400
                                                                       : 20 + s.next() % 120)},
                       {"receivedPackets", received},
                       {"discardedPackets", discarded},
                       {"underrunPackets", underrun},
                       {"eventTime", event_time}}});
}

}  // namespace

json syntheticConversations(std::uint64_t seed, const Interval& interval, int count) {
  json conversations = json::array();
  if (count <= 0) return conversations;
  const std::int64_t start_ms = epochMillis(interval.start);
  const std::int64_t span_ms = std::max<std::int64_t>(epochMillis(interval.end) - start_ms, 1);
  const double slot = static_cast<double>(span_ms) / count;
  // Two edges for the whole data set: per-edge filters select a stable subset.
  Stream site_stream(seed * 0x2545f4914f6cdd1dULL + 7);
  const std::array<std::string, 2> edges = {site_stream.uuid(), site_stream.uuid()};
  const std::string division = site_stream.uuid();
  for (int i = 0; i < count; ++i) {
    Stream s(seed ^ (static_cast<std::uint64_t>(start_ms) * 0x9e3779b97f4a7c15ULL) ^
             (static_cast<std::uint64_t>(span_ms) * 0xc2b2ae3d27d4eb4fULL) ^
             (static_cast<std::uint64_t>(i) * 0x165667b19e3779f9ULL));
    auto offset = static_cast<std::int64_t>(slot * (i + 0.05 + 0.9 * s.uniform()));
    auto begin = interval.start + std::chrono::milliseconds(offset);
    auto length = std::chrono::milliseconds(30000 + static_cast<std::int64_t>(s.next() % 1170000));
    auto end = begin + length;
    std::string begin_text = formatIsoTime(begin);
    std::string end_text = formatIsoTime(end);
    // About one conversation in eight has poor quality, the rest are good.
    bool poor = s.uniform() < 0.125;
    double customer_mos = s.round2(poor ? 1.8 + 1.5 * s.uniform() : 3.9 + 0.6 * s.uniform());
    double agent_mos = s.round2(std::min(4.6, customer_mos + 0.3 * s.uniform()));
    auto rfactor = [&](double mos) { return s.round2(std::min(93.2, 20.0 * mos + 1.5)); };
    double min_mos = std::min(customer_mos, agent_mos);
    std::string direction = s.next() % 3 == 0 ? "outbound" : "inbound";
    const std::string& edge = edges[s.next() % edges.size()];
    std::string ani = "tel:+4969" + std::to_string(1000000 + s.next() % 8999999);
    std::string dnis = "tel:+4930" + std::to_string(1000000 + s.next() % 8999999);
    json customer_session = {
        {"sessionId", s.uuid()},
        {"mediaType", "voice"},
        {"direction", direction},
        {"ani", ani},
        {"dnis", dnis},
        {"edgeId", edge},
        {"remote", ani.substr(4)},
        {"segments", json::array({{{"segmentStart", begin_text},
                                   {"segmentEnd", end_text},
                                   {"segmentType", "interact"}}})},
        {"mediaEndpointStats",
         mediaEndpointStats(s, customer_mos, rfactor(customer_mos), end_text)},
    };
    json agent_session = {
        {"sessionId", s.uuid()},
        {"mediaType", "voice"},
        {"direction", direction},
        {"edgeId", edge},
        {"segments", json::array({{{"segmentStart", begin_text},
                                   {"segmentEnd", end_text},
                                   {"segmentType", "interact"}}})},
        {"mediaEndpointStats", mediaEndpointStats(s, agent_mos, rfactor(agent_mos), end_text)},
    };
    conversations.push_back({
        {"conversationId", s.uuid()},
        {"conversationStart", begin_text},
        {"conversationEnd", end_text},
        {"originatingDirection", direction},
        {"divisionIds", json::array({division})},
        {"mediaStatsMinConversationMos", min_mos},
        {"mediaStatsMinConversationRFactor", rfactor(min_mos)},
        {"participants", json::array({{{"participantId", s.uuid()},
                                       {"participantName", "Customer"},
                                       {"purpose", "customer"},
                                       {"sessions", json::array({customer_session})}},
                                      {{"participantId", s.uuid()},
                                       {"participantName", "Agent"},
                                       {"purpose", "agent"},
                                       {"sessions", json::array({agent_session})}}})},
    });
  }
  return conversations;
}

std::variant<Interval, ApiError> queryInterval(const json& body) {
  if (!body.is_object()) return ApiError{400, "bad.request", "The body must be an object", {}};
  if (!body.contains("interval") || !body["interval"].is_string()) {
    return ApiError{400, "bad.request", "interval is required", {"interval"}};
  }
  auto interval = parseInterval(body["interval"].get<std::string>());
  if (!interval) {
    return ApiError{400,
                    "bad.request",
                    "interval must be two ISO-8601 instants start/end with start before end",
                    {"interval"}};
  }
  return *interval;
}

std::variant<json, ApiError> queryConversationDetails(const json& body, std::uint64_t seed,
                                                      int count) {
  auto parsed = queryInterval(body);
  if (auto* error = std::get_if<ApiError>(&parsed)) return std::move(*error);
  const Interval& interval = std::get<Interval>(parsed);
  long long page_size = 25, page_number = 1;
  if (body.contains("paging")) {
    const json& paging = body["paging"];
    if (!paging.is_object()) return ApiError{400, "bad.request", "paging must be an object", {}};
    if (paging.contains("pageSize")) {
      if (!paging["pageSize"].is_number_integer()) {
        return ApiError{400, "bad.request", "paging.pageSize must be an integer", {}};
      }
      page_size = paging["pageSize"].get<long long>();
    }
    if (paging.contains("pageNumber")) {
      if (!paging["pageNumber"].is_number_integer()) {
        return ApiError{400, "bad.request", "paging.pageNumber must be an integer", {}};
      }
      page_number = paging["pageNumber"].get<long long>();
    }
  }
  if (page_size < 1 || page_size > 100) {
    return ApiError{
        400, "bad.request", "paging.pageSize must be between 1 and 100", {"paging.pageSize"}};
  }
  if (page_number < 1) {
    return ApiError{
        400, "bad.request", "paging.pageNumber must be at least 1", {"paging.pageNumber"}};
  }
  std::string order = body.value("order", "asc");
  if (order != "asc" && order != "desc") {
    return ApiError{400, "bad.request", "order must be asc or desc", {"order"}};
  }
  std::string order_by = body.value("orderBy", "conversationStart");
  if (order_by != "conversationStart" && order_by != "conversationEnd") {
    return ApiError{
        400, "bad.request", "orderBy must be conversationStart or conversationEnd", {"orderBy"}};
  }
  for (const char* key : {"conversationFilters", "segmentFilters"}) {
    if (!body.contains(key)) continue;
    if (!body[key].is_array()) {
      return ApiError{400, "bad.request", std::string(key) + " must be an array", {key}};
    }
    for (const auto& filter : body[key]) {
      if (auto error = checkFilter(filter)) return *error;
    }
  }

  json all = syntheticConversations(seed, interval, count);
  std::vector<json> matching;
  for (auto& conversation : all) {
    Dimensions dims = dimensionsOf(conversation);
    bool keep = true;
    for (const char* key : {"conversationFilters", "segmentFilters"}) {
      for (const auto& filter : body.value(key, json::array())) {
        keep = keep && filterMatches(filter, conversation, dims);
      }
    }
    if (keep) matching.push_back(std::move(conversation));
  }
  // ISO-8601 UTC strings of one format sort like the instants they name.
  std::stable_sort(matching.begin(), matching.end(), [&](const json& a, const json& b) {
    std::string ka = a[order_by].get<std::string>();
    std::string kb = b[order_by].get<std::string>();
    return order == "asc" ? ka < kb : kb < ka;
  });
  json result = {{"totalHits", matching.size()}};
  json page = json::array();
  // Checked before multiplying: a huge pageNumber must give an empty page, not an overflow.
  std::size_t first = matching.size();
  if (page_number - 1 <= static_cast<long long>(matching.size()) / page_size) {
    first = static_cast<std::size_t>((page_number - 1) * page_size);
  }
  for (std::size_t i = first;
       i < matching.size() && i < first + static_cast<std::size_t>(page_size); ++i) {
    page.push_back(matching[i]);
  }
  if (!page.empty()) result["conversations"] = page;
  return result;
}

}  // namespace mediapath::tools::emulator
