#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

// The shapes the agent expects of the platform's answers, checked in one place: a 2xx answer is
// turned into a typed result here or the operation fails with what was wrong. Nothing downstream
// (diffs, exports, reports) ever sees an answer that was not checked, so a body that is not JSON,
// not the expected shape, or carries a number out of range is an error, never "no changes" or
// "0 conversations". Pure functions on parsed JSON (no curl, no libuv): the API response fuzz
// target compiles them alone.

namespace mediapath::reporter {

/// A typed result, or why the answer is not one ("\"version\" is not an integer").
template <typename T>
struct Parsed {
  std::optional<T> value;
  std::string error;  ///< empty when value is set

  static Parsed failure(std::string why) { return Parsed{std::nullopt, std::move(why)}; }
  explicit operator bool() const { return value.has_value(); }
  const T& operator*() const { return *value; }
  T& operator*() { return *value; }
  const T* operator->() const { return &*value; }
  T* operator->() { return &*value; }
};

/// Versions are echoed back to the platform in PUT/PATCH: a JSON-safe integer (0..2^53-1).
inline constexpr std::int64_t kMaxApiVersion = (std::int64_t{1} << 53) - 1;
/// Counts the platform reports (totalHits): anything beyond 2^53-1 is not a count.
inline constexpr std::uint64_t kMaxApiCount = (std::uint64_t{1} << 53) - 1;

/// A Location (GET/POST/PATCH /api/v2/locations): an object with a non-empty string `id`;
/// `version` (the platform's; the seed's Location has none) a JSON-safe integer when present;
/// `state` (platform) / `status` (seed) strings when present.
// NOLINTNEXTLINE(bugprone-exception-escape): json members; an allocation failure ends the agent
struct LocationAnswer {
  std::string id;
  std::optional<std::int64_t> version;
  std::string state;   ///< the platform's `state`
  std::string status;  ///< the seed's `status`
  nlohmann::json object;
};
Parsed<LocationAnswer> parseLocation(nlohmann::json body);

/// A platform object written back whole with its version (trunk base settings, a Site): an
/// object with a non-empty string `id` and an integer `version` in range.
// NOLINTNEXTLINE(bugprone-exception-escape): json members; an allocation failure ends the agent
struct VersionedObject {
  std::string id;
  std::int64_t version = 0;
  nlohmann::json object;
};
Parsed<VersionedObject> parseTrunkBaseSettings(nlohmann::json body);
/// The same for any such object; `what` names it in the error.
Parsed<VersionedObject> parseVersionedObject(nlohmann::json body, const char* what);
Parsed<VersionedObject> parseSite(nlohmann::json body);

/// An audit query (POST /api/v2/audits/query, GET .../{id}): string `id` (required when
/// `need_id`) and string `state`.
struct AuditQueryStatus {
  std::string id;
  std::string state;
};
Parsed<AuditQueryStatus> parseAuditQueryStatus(const nlohmann::json& body, bool need_id);

/// One page of audit results: `entities` an array of objects (absent: none), `cursor` a string
/// when present (absent or empty: the last page).
// NOLINTNEXTLINE(bugprone-exception-escape): json members; an allocation failure ends the agent
struct AuditPage {
  std::vector<nlohmann::json> entities;
  std::string cursor;
};
Parsed<AuditPage> parseAuditPage(nlohmann::json body);

/// One page of analytics conversation details: `totalHits` a count (required: the platform
/// always sends it), `conversations` an array of objects (absent on a page past the end).
// NOLINTNEXTLINE(bugprone-exception-escape): json members; an allocation failure ends the agent
struct AnalyticsPage {
  std::vector<nlohmann::json> conversations;
  std::uint64_t total_hits = 0;
};
Parsed<AnalyticsPage> parseAnalyticsPage(nlohmann::json body);

/// The integer under `key` when it is one within [min, max]; else nullopt and `error` says why
/// ("\"version\" 1e+300 is not an integer in 0..9007199254740991"). Absent keys set no error.
std::optional<std::int64_t> boundedInteger(const nlohmann::json& object, const char* key,
                                           std::int64_t min, std::int64_t max, std::string& error);

}  // namespace mediapath::reporter
