#include "reporter/genesys/api_responses.h"

#include "net/text.h"

namespace mediapath::reporter {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxIdBytes = 200;

const char* typeName(const json& j) { return j.is_null() ? "empty" : j.type_name(); }

std::string notAnObject(const json& body) {
  return std::string("the answer is not a JSON object (") + typeName(body) + ")";
}

// A string member: `out` set when present and a string; an error when present and not a string,
// or absent/empty while required.
bool stringMember(const json& object, const char* key, bool required, std::string& out,
                  std::string& error) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    if (required) error = std::string("\"") + key + "\" is missing";
    return !required;
  }
  if (!it->is_string()) {
    error = std::string("\"") + key + "\" is not a string (" + it->type_name() + ")";
    return false;
  }
  out = it->get<std::string>();
  if (required && out.empty()) {
    error = std::string("\"") + key + "\" is empty";
    return false;
  }
  return true;
}

// An id: required, and plain text (ids end up in paths, messages and files; a platform id is a
// UUID, so control characters or 200+ bytes mean the answer is not what it claims).
bool idMember(const json& object, const char* key, bool required, std::string& out,
              std::string& error) {
  if (!stringMember(object, key, required, out, error)) return false;
  if (net::printable(out, kMaxIdBytes) != out) {
    error = std::string("\"") + key + "\" \"" + net::printable(out, 64) +
            "\" is not a plain id (control characters or over " + std::to_string(kMaxIdBytes) +
            " bytes)";
    return false;
  }
  return true;
}

// An array member of objects moved into `out`; absent is an empty array.
bool objectArray(json& body, const char* key, std::vector<json>& out, std::string& error) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return true;
  if (!it->is_array()) {
    error = std::string("\"") + key + "\" is not an array (" + it->type_name() + ")";
    return false;
  }
  out.reserve(it->size());
  for (std::size_t i = 0; i < it->size(); ++i) {
    json& item = (*it)[i];
    if (!item.is_object()) {
      error = std::string("\"") + key + "\"[" + std::to_string(i) + "] is not an object (" +
              item.type_name() + ")";
      return false;
    }
    out.push_back(std::move(item));
  }
  return true;
}

}  // namespace

Parsed<VersionedObject> parseVersionedObject(json body, const char* what) {
  if (!body.is_object()) return Parsed<VersionedObject>::failure(notAnObject(body));
  VersionedObject v;
  std::string error;
  if (!idMember(body, "id", true, v.id, error)) {
    return Parsed<VersionedObject>::failure(std::string(what) + ": " + error);
  }
  auto version = boundedInteger(body, "version", 0, kMaxApiVersion, error);
  if (!version) {
    if (error.empty()) error = "\"version\" is missing";
    return Parsed<VersionedObject>::failure(std::string(what) + " " + v.id + ": " + error);
  }
  v.version = *version;
  v.object = std::move(body);
  return Parsed<VersionedObject>{std::move(v), {}};
}

std::optional<std::int64_t> boundedInteger(const json& object, const char* key, std::int64_t min,
                                           std::int64_t max, std::string& error) {
  auto it = object.find(key);
  if (it == object.end()) return std::nullopt;
  auto refuse = [&]() -> std::optional<std::int64_t> {
    error = std::string("\"") + key + "\" " + it->dump() + " is not an integer in " +
            std::to_string(min) + ".." + std::to_string(max);
    return std::nullopt;
  };
  // Checked before converting: a float or an unsigned beyond int64 converted first is undefined
  // behaviour (1e300 to an integer) or a wrapped value (2^64-1 as -1).
  if (it->is_number_unsigned()) {
    auto u = it->get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(max)) return refuse();
    auto v = static_cast<std::int64_t>(u);
    if (v < min) return refuse();
    return v;
  }
  if (it->is_number_integer()) {
    auto v = it->get<std::int64_t>();
    if (v < min || v > max) return refuse();
    return v;
  }
  return refuse();
}

Parsed<LocationAnswer> parseLocation(json body) {
  if (!body.is_object()) return Parsed<LocationAnswer>::failure(notAnObject(body));
  LocationAnswer l;
  std::string error;
  if (!idMember(body, "id", true, l.id, error) ||
      !stringMember(body, "state", false, l.state, error) ||
      !stringMember(body, "status", false, l.status, error)) {
    return Parsed<LocationAnswer>::failure("location: " + error);
  }
  l.version = boundedInteger(body, "version", 0, kMaxApiVersion, error);
  if (!error.empty()) return Parsed<LocationAnswer>::failure("location " + l.id + ": " + error);
  l.object = std::move(body);
  return Parsed<LocationAnswer>{std::move(l), {}};
}

Parsed<VersionedObject> parseTrunkBaseSettings(json body) {
  return parseVersionedObject(std::move(body), "trunk base settings");
}

Parsed<VersionedObject> parseSite(json body) {
  return parseVersionedObject(std::move(body), "site");
}

Parsed<AuditQueryStatus> parseAuditQueryStatus(const json& body, bool need_id) {
  if (!body.is_object()) return Parsed<AuditQueryStatus>::failure(notAnObject(body));
  AuditQueryStatus s;
  std::string error;
  if (!idMember(body, "id", need_id, s.id, error) ||
      !stringMember(body, "state", true, s.state, error)) {
    return Parsed<AuditQueryStatus>::failure("audit query: " + error);
  }
  return Parsed<AuditQueryStatus>{std::move(s), {}};
}

Parsed<AuditPage> parseAuditPage(json body) {
  if (!body.is_object()) return Parsed<AuditPage>::failure(notAnObject(body));
  AuditPage page;
  std::string error;
  if (!stringMember(body, "cursor", false, page.cursor, error) ||
      !objectArray(body, "entities", page.entities, error)) {
    return Parsed<AuditPage>::failure("audit results: " + error);
  }
  return Parsed<AuditPage>{std::move(page), {}};
}

Parsed<AnalyticsPage> parseAnalyticsPage(json body) {
  if (!body.is_object()) return Parsed<AnalyticsPage>::failure(notAnObject(body));
  AnalyticsPage page;
  std::string error;
  auto total = boundedInteger(body, "totalHits", 0, static_cast<std::int64_t>(kMaxApiCount), error);
  if (!total) {
    if (error.empty()) error = "\"totalHits\" is missing";
    return Parsed<AnalyticsPage>::failure("conversation details: " + error);
  }
  page.total_hits = static_cast<std::uint64_t>(*total);
  if (!objectArray(body, "conversations", page.conversations, error)) {
    return Parsed<AnalyticsPage>::failure("conversation details: " + error);
  }
  return Parsed<AnalyticsPage>{std::move(page), {}};
}

}  // namespace mediapath::reporter
