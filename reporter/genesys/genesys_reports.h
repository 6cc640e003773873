#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace mediapath::reporter {

/// The string under `key` of an object; "" when absent or not a string. Reads of platform
/// answers never throw: an exception must not unwind through libuv's frames.
std::string stringField(const nlohmann::json& j, const char* key);

/// One session (a participant's media leg) and its worst MOS.
struct SessionQuality {
  std::string conversation_id;
  std::string session_id;
  std::string participant;  ///< participant name or purpose
  double min_mos = 0;
  std::optional<double> max_latency_ms;
  std::string codec;
};

/// MOS summary of analytics conversation details (`mediaStatsMinConversationMos` per
/// conversation, `mediaEndpointStats[].minMos` per session).
struct QualitySummary {
  std::size_t conversations = 0;
  std::size_t with_mos = 0;  ///< conversations that carry a MOS
  std::optional<double> mos_min;
  std::optional<double> mos_avg;
  std::optional<double> mos_p10;  ///< nearest-rank 10th percentile
  double share_below = 0;         ///< of with_mos, the share under the threshold (0..1)
  double threshold = 3.5;
  std::vector<SessionQuality> worst;  ///< lowest session MOS first
};

QualitySummary summarizeQuality(const std::vector<nlohmann::json>& conversations,
                                double threshold = 3.5, std::size_t worst_count = 5);

/// The human report `quality` prints.
std::string formatQuality(const QualitySummary& summary);

/// "2026-01-01T00:00:00.000Z/2026-01-02T00:00:00.000Z" for the last `since`.
std::string isoInterval(std::chrono::system_clock::time_point end, std::chrono::seconds since);

/// One `dimension matches value` predicate ("edgeId", "mediaType", the seed's "location.id").
struct DimensionFilter {
  std::string dimension;
  std::string value;
};

/// The analytics details query body for one page; `filters` (all must match) become one
/// segmentFilters clause — the real API has no location dimension, so a site is selected through
/// segment dimensions such as edgeId or remote.
nlohmann::json qualityQuery(const std::string& interval, int page_number, int page_size,
                            const std::vector<DimensionFilter>& filters = {});

/// The async audit query body, filtered to one entity.
nlohmann::json auditQuery(const std::string& interval, const std::string& service_name,
                          const std::string& entity_type, const std::string& entity_id);

/// One audit entry (AuditLogMessage) as lines: date, who (user or OAuth client), action,
/// entity, then one line per property change "  property: [old] -> [new]".
std::string formatAuditEntry(const nlohmann::json& entry);

}  // namespace mediapath::reporter
