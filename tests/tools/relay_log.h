#pragma once

// Reads the impairment relay's JSON Lines log (tools/impairment_relay/README.md) and pairs each
// STUN request with its reply, for tests that compare what a client measured with what the relay
// applied. Header-only: used by tests/tools and tests/integration.

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace mediapath::testing {

struct RelayLogEntry {
  std::string dir;  ///< "up" | "down"
  std::uint64_t seq = 0;
  std::size_t bytes = 0;
  bool dropped = false;
  double delay_ms = 0;  ///< applied; 0 when dropped
  double planned_ms = 0;
  double rx_ms = 0;
  std::string client;
  std::string stun_tid;
};

inline std::vector<RelayLogEntry> readRelayLog(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open relay log " + path);
  std::vector<RelayLogEntry> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line);
    RelayLogEntry e;
    e.dir = j.at("dir").get<std::string>();
    e.seq = j.at("seq").get<std::uint64_t>();
    e.bytes = j.at("bytes").get<std::size_t>();
    e.dropped = j.at("dropped").get<bool>();
    e.delay_ms = j.at("delay_ms").is_null() ? 0.0 : j.at("delay_ms").get<double>();
    e.planned_ms = j.at("planned_ms").get<double>();
    e.rx_ms = j.at("rx_ms").get<double>();
    e.client = j.at("client").get<std::string>();
    if (j.contains("stun_tid")) e.stun_tid = j.at("stun_tid").get<std::string>();
    out.push_back(std::move(e));
  }
  return out;
}

/// One request that crossed the relay both ways (neither leg dropped).
struct RoundTrip {
  std::string tid;
  double up_ms = 0;
  double down_ms = 0;
  double sent_ms = 0;     ///< relay receipt time of the request: orders round trips by send time
  double planned_ms = 0;  ///< the drawn holds of both legs (total() adds the relay's overrun)
  double total() const { return up_ms + down_ms; }
};

/// Requests paired with replies by STUN transaction id, in the order the client sent them.
/// A retransmitted id keeps its first pairing.
inline std::vector<RoundTrip> roundTrips(const std::vector<RelayLogEntry>& log) {
  std::map<std::string, const RelayLogEntry*> up;
  for (const auto& e : log) {
    if (e.dir == "up" && !e.dropped && !e.stun_tid.empty()) up.emplace(e.stun_tid, &e);
  }
  std::vector<RoundTrip> out;
  std::map<std::string, bool> seen;
  for (const auto& e : log) {
    if (e.dir != "down" || e.dropped || e.stun_tid.empty()) continue;
    auto it = up.find(e.stun_tid);
    if (it == up.end() || seen[e.stun_tid]) continue;
    seen[e.stun_tid] = true;
    out.push_back({e.stun_tid, it->second->delay_ms, e.delay_ms, it->second->rx_ms,
                   it->second->planned_ms + e.planned_ms});
  }
  std::sort(out.begin(), out.end(),
            [](const RoundTrip& a, const RoundTrip& b) { return a.sent_ms < b.sent_ms; });
  return out;
}

}  // namespace mediapath::testing
