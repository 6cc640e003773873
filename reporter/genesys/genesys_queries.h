#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "reporter/genesys/genesys_client.h"
#include "reporter/genesys/genesys_paging.h"
#include "reporter/genesys/genesys_poller.h"
#include "reporter/genesys/genesys_reports.h"

namespace mediapath::reporter {

/// The end of a query: `error` empty, or the reason ready for a human.
using RecordsCallback =
    std::function<void(std::vector<nlohmann::json> records, const std::string& error)>;

/// The analytics conversation details of `interval` (POST
/// /api/v2/analytics/conversations/details/query), page by page until every hit is read, within
/// `limits` (pages, records, bytes, a deadline on `clock`); a page identical to an earlier one is
/// an error (a platform repeating itself would be paged forever). Every page must be the
/// expected shape (parseAnalyticsPage) or the query fails naming the request.
///
/// Thread safety: loop thread only; the client must outlive the query (or be cancelled).
void queryConversationDetails(GenesysClient& client, const net::Clock& clock,
                              const std::string& interval,
                              const std::vector<DimensionFilter>& filters, RecordsCallback done,
                              const PagingLimits& limits = {});

/// One entity whose platform audit trail is read.
struct AuditTarget {
  std::string service;  ///< Directory (Locations), Telephony (trunks, sites)
  std::string entity_type;
  std::string entity_id;
};

/// The results page of an audit query: 500 entries (the platform's maximum), users expanded (so
/// entries name who made a change, not only an id), the cursor of the previous page (empty for
/// the first) percent-encoded — it is opaque and may hold '+', '/', '=' or '&'.
std::string auditResultsPath(const std::string& query_id, const std::string& cursor);

AuditTarget locationAuditTarget(const std::string& location_id);
AuditTarget trunkAuditTarget(const std::string& trunk_base_id);
AuditTarget siteAuditTarget(const std::string& site_id);

/// The platform's audit entries of several entities: per entity an async audit query (POST
/// /api/v2/audits/query, poll until it succeeded, then page through its results with the
/// cursor). Entries come out oldest first. Paging is bounded by `limits` over the whole run
/// (pages, entries, bytes, a deadline on `clock`); a cursor the platform repeats is an error.
///
/// Thread safety: loop thread only. Destroy it after `done` ran, or after client.cancelAll().
class AuditQuery {
 public:
  AuditQuery(GenesysClient& client, net::EventLoop& loop, const net::Clock& clock,
             PagingLimits limits = {});
  ~AuditQuery();
  AuditQuery(const AuditQuery&) = delete;
  AuditQuery& operator=(const AuditQuery&) = delete;

  /// Gives up (with an error) when a query is still running after `wait` from now.
  void start(std::string interval, std::vector<AuditTarget> targets, std::chrono::milliseconds wait,
             RecordsCallback done);

 private:
  void next();
  void poll(const std::string& query_id);
  void fetch(const std::string& query_id, const std::string& cursor);

  GenesysClient& client_;
  const net::Clock& clock_;
  Poller poller_;
  PagingLimits limits_;
  std::unique_ptr<PagingGuard> guard_;
  std::string interval_;
  std::vector<AuditTarget> targets_;
  std::size_t next_ = 0;
  std::vector<nlohmann::json> entries_;
  RecordsCallback done_;
};

}  // namespace mediapath::reporter
