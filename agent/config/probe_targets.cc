#include "agent/config/probe_targets.h"

#include "agent/config/secrets.h"

namespace mediapath::agent {

PlannedTarget planTarget(const TargetConfig& t, const ProbingConfig& probing) {
  PlannedTarget p;
  p.interval = t.interval.value_or(probing.interval);
  probes::ProbeTarget& pt = p.target;
  pt.name = t.name;
  pt.kind = t.kind;
  pt.host = t.host;
  pt.port = t.port;
  pt.timeout = t.timeout.value_or(probing.timeout);
  // Only UDP probes pace a burst; for the others a round is one exchange, and a burst setting
  // would only stretch the round deadline.
  bool bursts = t.kind == probes::Kind::kStun ||
                (t.kind == probes::Kind::kSip && t.transport == probes::Transport::kUdp);
  const BurstConfig& b = t.burst.value_or(probing.burst);
  pt.burst.packets = bursts ? b.packets : 1;
  pt.burst.spacing = b.spacing;
  pt.username = t.username;
  pt.stream.packets = t.stream.packets;
  pt.stream.size = t.stream.size;
  pt.stream.spacing = t.stream.spacing;
  if (t.kind == probes::Kind::kTurn || t.kind == probes::Kind::kRelay) {
    try {
      pt.password = readSecret(t.password);
    } catch (const std::exception& e) {
      // readSecret's message names the variable/file/credential and never the value.
      throw TargetError("target " + t.name + ": TURN password: " + e.what());
    }
  }
  pt.peer_host = t.peer_host;
  pt.peer_port = t.peer_port;
  pt.peer_username = t.peer_username;
  pt.peer_name = t.peer;
  if (t.kind == probes::Kind::kRelay && !t.peer_host.empty()) {
    try {
      pt.peer_password = readSecret(t.peer_password);
    } catch (const std::exception& e) {
      throw TargetError("target " + t.name + ": peer " + t.peer + " TURN password: " + e.what());
    }
  }
  pt.transport = t.transport;
  pt.success_codes = t.success_codes;
  pt.record = t.record;
  pt.ca_file = t.ca_file;
  pt.server_name = t.server_name;
  return p;
}

std::vector<PlannedTarget> planTargets(const Config& config) {
  std::vector<PlannedTarget> out;
  out.reserve(config.targets.size());
  for (const auto& t : config.targets) out.push_back(planTarget(t, config.probing));
  return out;
}

std::vector<std::string> dnsServerList(const DnsConfig& dns) {
  std::vector<std::string> out;
  for (const auto& s : dns.servers) {
    bool v6 = s.address.find(':') != std::string::npos;
    out.push_back((v6 ? "[" + s.address + "]" : s.address) + ":" + std::to_string(s.port));
  }
  return out;
}

}  // namespace mediapath::agent
