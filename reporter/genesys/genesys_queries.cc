#include "reporter/genesys/genesys_queries.h"

#include <algorithm>
#include <memory>

#include "net/text.h"
#include "reporter/genesys/api_responses.h"

namespace mediapath::reporter {
namespace {

using nlohmann::json;

constexpr int kQualityPageSize = 100;  // the platform's maximum for details queries

struct QualityRun {
  GenesysClient& client;
  std::string interval;
  std::vector<DimensionFilter> filters;
  RecordsCallback done;
  PagingGuard guard;
  std::vector<json> conversations;
};

void queryQualityPage(const std::shared_ptr<QualityRun>& run, int page) {
  run->client.call(
      {"query_conversation_details", "POST", "/api/v2/analytics/conversations/details/query",
       qualityQuery(run->interval, page, kQualityPageSize, run->filters), "application/json"},
      [run, page](ApiResponse r) {
        if (!r.ok()) return run->done({}, r.error->describe());
        auto parsed = parseAnalyticsPage(std::move(r.body));
        if (!parsed) return run->done({}, malformedAnswer(r, parsed.error).describe());
        std::size_t got = parsed->conversations.size();
        // Page until every hit is read; an empty page ends it too (the data moved under us).
        bool more = got > 0 && run->conversations.size() + got < parsed->total_hits;
        // Numbered pages have no cursor: a page identical to an earlier one is the repeat.
        std::string key;
        if (more) key = pageFingerprint(json(parsed->conversations).dump());
        if (auto stop = run->guard.onPage(
                key, "the content of an earlier page as page " + std::to_string(page), got,
                r.body_bytes)) {
          return run->done({}, *stop);
        }
        for (auto& c : parsed->conversations) run->conversations.push_back(std::move(c));
        if (more) return queryQualityPage(run, page + 1);
        run->done(std::move(run->conversations), "");
      });
}

}  // namespace

void queryConversationDetails(GenesysClient& client, const net::Clock& clock,
                              const std::string& interval,
                              const std::vector<DimensionFilter>& filters, RecordsCallback done,
                              const PagingLimits& limits) {
  queryQualityPage(
      std::make_shared<QualityRun>(QualityRun{client,
                                              interval,
                                              filters,
                                              std::move(done),
                                              PagingGuard("conversation details", limits, clock),
                                              {}}),
      1);
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

AuditQuery::AuditQuery(GenesysClient& client, net::EventLoop& loop, const net::Clock& clock,
                       PagingLimits limits)
    : client_(client), clock_(clock), poller_(loop, clock), limits_(limits) {}

AuditQuery::~AuditQuery() = default;

void AuditQuery::start(std::string interval, std::vector<AuditTarget> targets,
                       std::chrono::milliseconds wait, RecordsCallback done) {
  interval_ = std::move(interval);
  targets_ = std::move(targets);
  next_ = 0;
  entries_.clear();
  guard_ = std::make_unique<PagingGuard>("audit results", limits_, clock_);
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
                 auto status = parseAuditQueryStatus(r.body, true);
                 if (!status) return done_({}, malformedAnswer(r, status.error).describe());
                 poll(status->id);
               });
}

void AuditQuery::poll(const std::string& query_id) {
  client_.call(
      {"get_audit_query", "GET", "/api/v2/audits/query/" + urlEncode(query_id), std::nullopt, {}},
      [this, query_id](ApiResponse r) {
        if (!r.ok()) return done_({}, r.error->describe());
        auto status = parseAuditQueryStatus(r.body, false);
        if (!status) return done_({}, malformedAnswer(r, status.error).describe());
        const std::string& state = status->state;
        // The id and state come from the peer: escaped before they reach a message.
        std::string shown = net::printable(query_id, 128);
        if (state == "Succeeded") return fetch(query_id, "");
        if (state == "Failed" || state == "Cancelled") {
          return done_({}, "audit query " + shown + " ended " + state);
        }
        if (poller_.pastDeadline()) {
          return done_({}, "audit query " + shown + " still " + net::printable(state, 64) +
                               " after the wait limit");
        }
        poller_.after([this, query_id] { poll(query_id); });
      });
}

void AuditQuery::fetch(const std::string& query_id, const std::string& cursor) {
  client_.call(
      {"get_audit_results", "GET", auditResultsPath(query_id, cursor), std::nullopt, {}},
      [this, query_id](ApiResponse r) {
        if (!r.ok()) return done_({}, r.error->describe());
        auto page = parseAuditPage(std::move(r.body));
        if (!page) return done_({}, malformedAnswer(r, page.error).describe());
        const std::string& next_cursor = page->cursor;
        std::string key = next_cursor.empty() ? "" : query_id + "\n" + next_cursor;
        if (auto stop = guard_->onPage(key, "cursor \"" + net::printable(next_cursor, 64) + "\"",
                                       page->entities.size(), r.body_bytes)) {
          return done_({}, *stop);
        }
        const AuditTarget& t = targets_[next_];
        for (auto& e : page->entities) {
          // The query filters already; this guards against a platform that ignores a
          // filter (the trail must be about our entity only).
          if (e.contains("entity") && e["entity"].is_object() &&
              stringField(e["entity"], "id") != t.entity_id) {
            continue;
          }
          entries_.push_back(std::move(e));
        }
        if (!next_cursor.empty()) return fetch(query_id, next_cursor);
        ++next_;
        next();
      });
}

}  // namespace mediapath::reporter
