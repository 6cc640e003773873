#include "reporter/genesys/genesys_reports.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <sstream>

#include "net/clock.h"
#include "net/text.h"

namespace mediapath::reporter {

std::string stringField(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

namespace {

std::optional<double> num(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return std::nullopt;
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

// The platform's intervals carry milliseconds and an explicit Z.
std::string isoTime(std::chrono::system_clock::time_point t) { return net::formatUtc(t, true); }

// Peer text bound for a terminal: escaped (no forged lines, no escape sequences) and bounded.
std::string shown(const nlohmann::json& j, const char* key) {
  return net::printable(stringField(j, key), 256);
}

std::string joinValues(const nlohmann::json& values) {
  // dump() escapes control characters itself; strings are printed bare, so escaped here.
  if (!values.is_array()) return net::printable(values.dump(), 1024);
  std::string s = "[";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i != 0) s += ", ";
    s += values[i].is_string() ? net::printable(values[i].get<std::string>(), 1024)
                               : net::printable(values[i].dump(), 1024);
  }
  return s + "]";
}

}  // namespace

QualitySummary summarizeQuality(const std::vector<nlohmann::json>& conversations, double threshold,
                                std::size_t worst_count) {
  QualitySummary s;
  s.threshold = threshold;
  s.conversations = conversations.size();
  std::vector<double> mos;
  for (const auto& c : conversations) {
    std::string conversation_id = shown(c, "conversationId");
    std::optional<double> conv_mos = num(c, "mediaStatsMinConversationMos");
    std::optional<double> lowest_session;
    auto participants = c.find("participants");
    if (c.is_object() && participants != c.end() && participants->is_array()) {
      for (const auto& p : *participants) {
        std::string who = shown(p, "participantName");
        if (who.empty()) who = shown(p, "purpose");
        auto sessions = p.find("sessions");
        if (sessions == p.end() || !sessions->is_array()) continue;
        for (const auto& sess : *sessions) {
          auto stats = sess.find("mediaEndpointStats");
          if (stats == sess.end() || !stats->is_array()) continue;
          std::optional<SessionQuality> worst_here;
          for (const auto& st : *stats) {
            auto m = num(st, "minMos");
            if (!m) continue;
            if (!worst_here || *m < worst_here->min_mos) {
              SessionQuality q;
              q.conversation_id = conversation_id;
              q.session_id = shown(sess, "sessionId");
              q.participant = who;
              q.min_mos = *m;
              q.max_latency_ms = num(st, "maxLatencyMs");
              auto codecs = st.find("codecs");
              if (codecs != st.end() && codecs->is_array() && !codecs->empty() &&
                  codecs->front().is_string()) {
                q.codec = net::printable(codecs->front().get<std::string>(), 64);
              }
              worst_here = q;
            }
          }
          if (worst_here) {
            if (!lowest_session || worst_here->min_mos < *lowest_session) {
              lowest_session = worst_here->min_mos;
            }
            s.worst.push_back(std::move(*worst_here));
          }
        }
      }
    }
    // The conversation-level figure is authoritative; sessions fill in when it is missing.
    if (!conv_mos) conv_mos = lowest_session;
    if (conv_mos) mos.push_back(*conv_mos);
  }
  s.with_mos = mos.size();
  if (!mos.empty()) {
    std::sort(mos.begin(), mos.end());
    s.mos_min = mos.front();
    double sum = 0;
    std::size_t below = 0;
    for (double m : mos) {
      sum += m;
      if (m < threshold) ++below;
    }
    s.mos_avg = sum / static_cast<double>(mos.size());
    auto rank = static_cast<std::size_t>(std::ceil(0.1 * static_cast<double>(mos.size())));
    s.mos_p10 = mos[std::max<std::size_t>(rank, 1) - 1];
    s.share_below = static_cast<double>(below) / static_cast<double>(mos.size());
  }
  std::stable_sort(s.worst.begin(), s.worst.end(),
                   [](const auto& a, const auto& b) { return a.min_mos < b.min_mos; });
  if (s.worst.size() > worst_count) s.worst.resize(worst_count);
  return s;
}

std::string formatQuality(const QualitySummary& s) {
  std::ostringstream out;
  out << "conversations: " << s.conversations << " (" << s.with_mos << " with MOS)\n";
  if (!s.mos_min) {
    out << "MOS: no data\n";
    return out.str();
  }
  out << "MOS min/avg/p10: " << net::formatFixed(*s.mos_min, 2) << " / "
      << net::formatFixed(*s.mos_avg, 2) << " / " << net::formatFixed(*s.mos_p10, 2) << "\n";
  out << "below " << net::formatFixed(s.threshold, 1) << ": "
      << net::formatFixed(s.share_below * 100, 1) << "%\n";
  if (!s.worst.empty()) {
    out << "worst sessions:\n";
    for (const auto& w : s.worst) {
      out << "  " << net::formatFixed(w.min_mos, 2) << "  conversation " << w.conversation_id;
      if (!w.session_id.empty()) out << " session " << w.session_id;
      if (!w.participant.empty()) out << " (" << w.participant << ")";
      if (!w.codec.empty()) out << " codec " << w.codec;
      if (w.max_latency_ms)
        out << " max latency " << net::formatFixed(*w.max_latency_ms, 0) << " ms";
      out << "\n";
    }
  }
  return out.str();
}

std::string isoInterval(std::chrono::system_clock::time_point end, std::chrono::seconds since) {
  return isoTime(end - since) + "/" + isoTime(end);
}

nlohmann::json qualityQuery(const std::string& interval, int page_number, int page_size,
                            const std::vector<DimensionFilter>& filters) {
  nlohmann::json q{{"interval", interval},
                   {"order", "asc"},
                   {"orderBy", "conversationStart"},
                   {"paging", {{"pageSize", page_size}, {"pageNumber", page_number}}}};
  if (!filters.empty()) {
    nlohmann::json predicates = nlohmann::json::array();
    for (const auto& f : filters) {
      predicates.push_back({{"type", "dimension"},
                            {"dimension", f.dimension},
                            {"operator", "matches"},
                            {"value", f.value}});
    }
    q["segmentFilters"] = {{{"type", "and"}, {"predicates", predicates}}};
  }
  return q;
}

nlohmann::json auditQuery(const std::string& interval, const std::string& service_name,
                          const std::string& entity_type, const std::string& entity_id) {
  nlohmann::json filters = nlohmann::json::array();
  if (!entity_type.empty()) filters.push_back({{"property", "EntityType"}, {"value", entity_type}});
  if (!entity_id.empty()) filters.push_back({{"property", "EntityId"}, {"value", entity_id}});
  return nlohmann::json{{"interval", interval},
                        {"serviceName", service_name},
                        {"filters", filters},
                        {"sort", {{{"name", "Timestamp"}, {"sortOrder", "ascending"}}}}};
}

std::string formatAuditEntry(const nlohmann::json& e) {
  std::ostringstream out;
  std::string who;
  if (e.contains("user") && e["user"].is_object()) {
    std::string name = shown(e["user"], "name");
    std::string id = shown(e["user"], "id");
    who = "user " + (name.empty() ? id : name + " (" + id + ")");
  }
  if (e.contains("client") && e["client"].is_object()) {
    std::string id = shown(e["client"], "id");
    if (!id.empty()) who += (who.empty() ? "" : ", ") + std::string("client ") + id;
  }
  if (who.empty()) who = "unknown";
  out << shown(e, "eventDate") << "  " << who << "  " << shown(e, "action");
  std::string entity_type = shown(e, "entityType");
  if (!entity_type.empty()) out << " " << entity_type;
  if (e.contains("entity") && e["entity"].is_object()) {
    std::string name = shown(e["entity"], "name");
    std::string id = shown(e["entity"], "id");
    out << " " << (name.empty() ? id : name + " (" + id + ")");
  }
  std::string status = shown(e, "status");
  if (!status.empty()) out << "  " << status;
  out << "\n";
  if (e.contains("propertyChanges") && e["propertyChanges"].is_array()) {
    for (const auto& pc : e["propertyChanges"]) {
      if (!pc.is_object()) continue;
      out << "    " << shown(pc, "property") << ": "
          << joinValues(pc.value("oldValues", nlohmann::json::array())) << " -> "
          << joinValues(pc.value("newValues", nlohmann::json::array())) << "\n";
    }
  }
  return out.str();
}

}  // namespace mediapath::reporter
