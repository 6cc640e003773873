#include "agent/cli/local_audit.h"

#include <ctime>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "agent/cli/exit_codes.h"
#include "agent/failover/state_store.h"
#include "net/clock.h"
#include "net/text.h"
#include "reporter/audit/audit_trail.h"
#include "reporter/genesys/genesys_reports.h"

namespace mediapath::agent {
namespace {

using nlohmann::json;

using reporter::stringField;

std::string number(const json& j, int decimals) {
  return j.is_number() ? net::formatFixed(j.get<double>(), decimals) : "-";
}

void printRecord(const json& r, std::ostream& out) {
  out << stringField(r, "time") << "  " << stringField(r, "group") << "  "
      << stringField(r, "event");
  if (r.contains("from") && r.contains("to")) {
    out << "  " << stringField(r, "from") << " -> " << stringField(r, "to");
  } else if (r.contains("active")) {
    out << "  active " << stringField(r, "active");
  }
  out << "  (" << stringField(r, "mode") << ")\n";
  if (!stringField(r, "reason").empty()) out << "    reason: " << stringField(r, "reason") << "\n";
  if (!stringField(r, "note").empty()) out << "    note: " << stringField(r, "note") << "\n";
  if (!stringField(r, "error").empty()) out << "    error: " << stringField(r, "error") << "\n";
  if (r.contains("evidence") && r["evidence"].is_object()) {
    for (const auto& [target, e] : r["evidence"].items()) {
      if (!e.value("known", true)) {
        out << "    " << target << ": not measured yet\n";
        continue;
      }
      out << "    " << target << ": " << (e.value("healthy", false) ? "healthy" : "unhealthy")
          << ", rtt "
          << (e.contains("rtt_ms") && e["rtt_ms"].is_object()
                  ? number(e["rtt_ms"].value("avg", json()), 2)
                  : std::string("-"))
          << " ms, jitter " << number(e.value("jitter_ms", json()), 2) << " ms, loss "
          << (e.value("loss", json()).is_number() ? number(e["loss"].get<double>() * 100, 1) + "%"
                                                  : std::string("-"))
          << ", MOS " << number(e.value("mos", json()), 2);
      if (!stringField(e, "error").empty()) out << ", " << stringField(e, "error");
      out << "\n";
    }
  }
}

}  // namespace

int printLocalAudit(const std::string& state_dir, std::chrono::milliseconds since, bool verify) {
  return printLocalAudit(state_dir, since, verify, std::chrono::system_clock::now(), std::cout,
                         std::cerr);
}

int printLocalAudit(const std::string& state_dir, std::chrono::milliseconds since, bool verify,
                    std::chrono::system_clock::time_point now, std::ostream& out,
                    std::ostream& err) {
  std::string path = state_dir + "/audit.jsonl";
  if (!std::filesystem::exists(path)) {
    err << "mediapath-agent: audit: no local audit trail at " << path
        << " (the agent records one once a failover group decides something)\n";
    return kExitFailed;
  }
  int rc = kExitOk;
  if (verify) {
    // The state file next to the trail anchors its last record: without it a deleted tail
    // leaves a chain that verifies.
    std::optional<reporter::AuditAnchor> anchor;
    try {
      anchor = readStateFile(state_dir + "/state.json").audit;
    } catch (const std::exception& e) {
      err << "mediapath-agent: audit: " << e.what() << "\n";
      rc = kExitFailed;
    }
    auto v = reporter::verifyAuditTrail(path, anchor);
    for (const auto& p : v.problems) {
      err << path << ": ";
      if (p.line > 0) err << "line " << p.line << ": ";
      err << p.message << "\n";
    }
    if (v.ok()) {
      out << path << ": " << v.records << " records, every hash and link verified"
          << (anchor ? ", the tail matches the state file's anchor"
                     : " (no anchor in state.json: a deleted tail cannot be ruled out)")
          << "\n";
    } else {
      out << path << ": verification FAILED (" << v.problems.size() << " problems in " << v.records
          << " records)\n";
      rc = kExitFailed;
    }
  }
  std::vector<json> records;
  try {
    records = reporter::readAuditTrail(path);
  } catch (const std::exception& e) {
    err << "mediapath-agent: audit: " << e.what() << "\n";
    return kExitFailed;
  }
  // Record times are "YYYY-MM-DDTHH:MM:SSZ", so comparing strings compares instants.
  std::string cutoff = net::formatUtc(now - since);
  size_t shown = 0;
  for (const auto& r : records) {
    if (stringField(r, "time") < cutoff) continue;
    printRecord(r, out);
    ++shown;
  }
  if (shown == 0) out << "no local decisions in the last period\n";
  return rc;
}

}  // namespace mediapath::agent
