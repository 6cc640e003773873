#include "reporter/genesys/genesys_reports.h"

#include <gtest/gtest.h>

namespace mediapath::reporter {
namespace {

using nlohmann::json;

json conversation(const std::string& id, std::optional<double> mos,
                  std::vector<double> session_mos = {}) {
  json c{{"conversationId", id}};
  if (mos) c["mediaStatsMinConversationMos"] = *mos;
  json sessions = json::array();
  int n = 0;
  for (double m : session_mos) {
    sessions.push_back({{"sessionId", id + "-s" + std::to_string(n++)},
                        {"mediaEndpointStats",
                         {{{"minMos", m + 0.5}, {"codecs", {"opus"}}},
                          {{"minMos", m}, {"codecs", {"pcma"}}, {"maxLatencyMs", 180}}}}});
  }
  c["participants"] = {{{"purpose", "customer"}, {"sessions", sessions}}};
  return c;
}

TEST(QualitySummaryTest, ComputesMinAvgP10AndShareBelowThreshold) {
  std::vector<json> convs;
  for (int i = 0; i < 10; ++i)
    convs.push_back(conversation("c" + std::to_string(i), 3.0 + 0.1 * i));
  QualitySummary s = summarizeQuality(convs, 3.5);
  EXPECT_EQ(s.conversations, 10u);
  EXPECT_EQ(s.with_mos, 10u);
  EXPECT_DOUBLE_EQ(*s.mos_min, 3.0);
  EXPECT_NEAR(*s.mos_avg, 3.45, 1e-9);
  EXPECT_DOUBLE_EQ(*s.mos_p10, 3.0);     // nearest rank: ceil(0.1 * 10) = 1st value
  EXPECT_DOUBLE_EQ(s.share_below, 0.5);  // 3.0 .. 3.4
}

TEST(QualitySummaryTest, P10UsesNearestRank) {
  std::vector<json> convs;
  for (int i = 1; i <= 20; ++i) convs.push_back(conversation("c", 0.2 * i));
  EXPECT_NEAR(*summarizeQuality(convs).mos_p10, 0.4, 1e-9);  // 2nd of 20
}

TEST(QualitySummaryTest, WorstSessionsAreLowestFirstWithTheirWorstStats) {
  std::vector<json> convs{conversation("a", 4.1, {4.0, 2.2}), conversation("b", 3.9, {3.1}),
                          conversation("c", std::nullopt, {1.9})};
  QualitySummary s = summarizeQuality(convs, 3.5, 2);
  EXPECT_EQ(s.with_mos, 3u);  // "c" falls back to its session figure
  EXPECT_DOUBLE_EQ(*s.mos_min, 1.9);
  ASSERT_EQ(s.worst.size(), 2u);
  EXPECT_EQ(s.worst[0].conversation_id, "c");
  EXPECT_DOUBLE_EQ(s.worst[0].min_mos, 1.9);
  EXPECT_EQ(s.worst[0].codec, "pcma");
  EXPECT_EQ(s.worst[1].session_id, "a-s1");
  EXPECT_DOUBLE_EQ(*s.worst[1].max_latency_ms, 180);
}

TEST(QualitySummaryTest, NoDataIsReportedAsSuch) {
  QualitySummary s = summarizeQuality({conversation("x", std::nullopt)});
  EXPECT_EQ(s.conversations, 1u);
  EXPECT_EQ(s.with_mos, 0u);
  EXPECT_FALSE(s.mos_min);
  EXPECT_NE(formatQuality(s).find("MOS: no data"), std::string::npos);
}

TEST(QualitySummaryTest, IntervalIsIsoStartSlashEnd) {
  std::chrono::system_clock::time_point end{std::chrono::seconds(1767225600)};  // 2026-01-01
  EXPECT_EQ(isoInterval(end, std::chrono::hours(24)),
            "2025-12-31T00:00:00.000Z/2026-01-01T00:00:00.000Z");
}

TEST(QualityQueryTest, PagingAndDimensionFilters) {
  json q = qualityQuery("a/b", 3, 100);
  EXPECT_EQ(q["interval"], "a/b");
  EXPECT_EQ(q["paging"], (json{{"pageSize", 100}, {"pageNumber", 3}}));
  EXPECT_FALSE(q.contains("segmentFilters"));
  q = qualityQuery("a/b", 1, 100, {{"edgeId", "e-1"}, {"mediaType", "voice"}});
  EXPECT_EQ(q["segmentFilters"], json::parse(R"([{"type": "and", "predicates": [
      {"type": "dimension", "dimension": "edgeId", "operator": "matches", "value": "e-1"},
      {"type": "dimension", "dimension": "mediaType", "operator": "matches", "value": "voice"}]}])"));
}

TEST(AuditFormatTest, ShowsDateActorActionAndPropertyChanges) {
  json e = json::parse(R"({"eventDate": "2026-01-01T10:00:00.000Z",
    "user": {"id": "u1", "name": "Ops"}, "client": {"id": "cl-9"}, "action": "Update",
    "entityType": "Location", "entity": {"id": "loc-1", "name": "Office"}, "status": "SUCCESS",
    "propertyChanges": [{"property": "/media/proxy/host", "oldValues": ["a"],
                         "newValues": ["b"]}]})");
  EXPECT_EQ(formatAuditEntry(e),
            "2026-01-01T10:00:00.000Z  user Ops (u1), client cl-9  Update Location Office "
            "(loc-1)  SUCCESS\n    /media/proxy/host: [a] -> [b]\n");
}

TEST(AuditQueryTest, FiltersOnEntity) {
  json q = auditQuery("i", "Directory", "Location", "loc-1");
  EXPECT_EQ(q["serviceName"], "Directory");
  EXPECT_EQ(q["filters"][1], (json{{"property", "EntityId"}, {"value", "loc-1"}}));
}

}  // namespace
}  // namespace mediapath::reporter
