#include "reporter/genesys/genesys_queries.h"

#include <algorithm>

namespace mediapath::reporter {
namespace {

using nlohmann::json;

constexpr int kQualityPageSize = 100;  // the platform's maximum for details queries

std::size_t countField(const json& j, const char* key) {
  if (!j.is_object()) return 0;
  auto it = j.find(key);
  return it != j.end() && it->is_number_unsigned() ? it->get<std::size_t>() : 0;
}

struct QualityRun {
  GenesysClient& client;
  std::string interval;
  std::vector<DimensionFilter> filters;
  RecordsCallback done;
  std::vector<json> conversations;
};

void queryQualityPage(const std::shared_ptr<QualityRun>& run, int page) {
  run->client.call(
      {"query_conversation_details", "POST", "/api/v2/analytics/conversations/details/query",
       qualityQuery(run->interval, page, kQualityPageSize, run->filters), "application/json"},
      [run, page](ApiResponse r) {
        if (!r.ok()) return run->done({}, r.error->describe());
        std::size_t total = countField(r.body, "totalHits");
        std::size_t got = 0;
        if (r.body.contains("conversations") && r.body["conversations"].is_array()) {
          for (auto& c : r.body["conversations"]) {
            run->conversations.push_back(std::move(c));
            ++got;
          }
        }
        // Page until every hit is read; an empty page ends it too (the data moved under us).
        if (got > 0 && run->conversations.size() < total) return queryQualityPage(run, page + 1);
        run->done(std::move(run->conversations), "");
      });
}

}  // namespace

void queryConversationDetails(GenesysClient& client, const std::string& interval,
                              const std::vector<DimensionFilter>& filters, RecordsCallback done) {
  queryQualityPage(
      std::make_shared<QualityRun>(QualityRun{client, interval, filters, std::move(done), {}}), 1);
}

std::string auditResultsPath(const std::string& query_id, const std::string& cursor) {
  std::string path =
      "/api/v2/audits/query/" + urlEncode(query_id) + "/results?pageSize=500&expand=user";
  if (!cursor.empty()) path += "&cursor=" + urlEncode(cursor);
  return path;
}

AuditTarget locationAuditTarget(const std::string& location_id) {
  return {"Directory", "Location", location_id};
}

AuditTarget trunkAuditTarget(const std::string& trunk_base_id) {
  return {"Telephony", "TrunkBase", trunk_base_id};
}

AuditTarget siteAuditTarget(const std::string& site_id) { return {"Telephony", "Site", site_id}; }

AuditQuery::AuditQuery(GenesysClient& client, net::EventLoop& loop, const net::Clock& clock)
    : client_(client), poller_(loop, clock) {}

AuditQuery::~AuditQuery() = default;

void AuditQuery::start(std::string interval, std::vector<AuditTarget> targets,
                       std::chrono::milliseconds wait, RecordsCallback done) {
  interval_ = std::move(interval);
  targets_ = std::move(targets);
  next_ = 0;
  entries_.clear();
  poller_.setDeadline(wait);
  done_ = std::move(done);
  next();
}

void AuditQuery::next() {
  if (next_ >= targets_.size()) {
    std::stable_sort(entries_.begin(), entries_.end(), [](const json& a, const json& b) {
      return stringField(a, "eventDate") < stringField(b, "eventDate");
    });
    return done_(std::move(entries_), "");
  }
  const AuditTarget& t = targets_[next_];
  client_.call({"create_audit_query", "POST", "/api/v2/audits/query",
                auditQuery(interval_, t.service, t.entity_type, t.entity_id), "application/json"},
               [this](ApiResponse r) {
                 if (!r.ok()) return done_({}, r.error->describe());
                 std::string id = stringField(r.body, "id");
                 if (id.empty()) return done_({}, "audit query answered without an id");
                 poll(id);
               });
}

void AuditQuery::poll(const std::string& query_id) {
  client_.call(
      {"get_audit_query", "GET", "/api/v2/audits/query/" + urlEncode(query_id), std::nullopt, {}},
      [this, query_id](ApiResponse r) {
        if (!r.ok()) return done_({}, r.error->describe());
        std::string state = stringField(r.body, "state");
        if (state == "Succeeded") return fetch(query_id, "");
        if (state == "Failed" || state == "Cancelled") {
          return done_({}, "audit query " + query_id + " ended " + state);
        }
        if (poller_.pastDeadline()) {
          return done_({}, "audit query " + query_id + " still " + state + " after the wait limit");
        }
        poller_.after([this, query_id] { poll(query_id); });
      });
}

void AuditQuery::fetch(const std::string& query_id, const std::string& cursor) {
  client_.call({"get_audit_results", "GET", auditResultsPath(query_id, cursor), std::nullopt, {}},
               [this, query_id](ApiResponse r) {
                 if (!r.ok()) return done_({}, r.error->describe());
                 const AuditTarget& t = targets_[next_];
                 if (r.body.contains("entities") && r.body["entities"].is_array()) {
                   for (auto& e : r.body["entities"]) {
                     // The query filters already; this guards against a platform that ignores a
                     // filter (the trail must be about our entity only).
                     if (e.contains("entity") && e["entity"].is_object() &&
                         stringField(e["entity"], "id") != t.entity_id) {
                       continue;
                     }
                     entries_.push_back(std::move(e));
                   }
                 }
                 std::string next_cursor = stringField(r.body, "cursor");
                 if (!next_cursor.empty()) return fetch(query_id, next_cursor);
                 ++next_;
                 next();
               });
}

}  // namespace mediapath::reporter
