#include "reporter/genesys/genesys_edits.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "net/text.h"
#include "reporter/genesys/genesys_reports.h"

namespace mediapath::reporter {
namespace {

using nlohmann::json;

// Function-local statics: built on first use, not during static initialisation.
const json::json_pointer& serverListPointer() {
  static const json::json_pointer p("/properties/trunk_transport_serverProxyList/value/instance");
  return p;
}
const json::json_pointer& protocolPointer() {
  static const json::json_pointer p("/properties/trunk_transport_protocolVariant/value/instance");
  return p;
}
constexpr const char* kAllowList = "trunk_access_acl_allowList";

constexpr std::uint16_t kSipPort = 5060;
constexpr std::uint16_t kSipTlsPort = 5061;

// An address in network order, with its family's length in bits (32 or 128).
struct IpAddress {
  std::array<unsigned char, 16> bytes{};
  int bits = 0;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string_view unbracket(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    return host.substr(1, host.size() - 2);
  }
  return host;
}

std::optional<IpAddress> parseIp(std::string_view text) {
  text = unbracket(trim(text));
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  std::string s(text);
  IpAddress a;
  if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) {
    a.bits = 32;
    return a;
  }
  if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) {
    a.bits = 128;
    return a;
  }
  return std::nullopt;
}

std::optional<std::uint16_t> parsePort(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value == 0 || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

// A server list entry split into host and port. `port` is absent when the entry has none;
// `valid` is false for an entry with a port that is not one ("host:abc").
struct EntryParts {
  std::string_view host;
  std::optional<std::uint16_t> port;
  bool valid = true;
};

EntryParts splitEntry(std::string_view entry) {
  entry = trim(entry);
  EntryParts parts;
  if (!entry.empty() && entry.front() == '[') {  // [v6] or [v6]:port
    std::size_t close = entry.find(']');
    if (close == std::string_view::npos) return {entry, std::nullopt, false};
    parts.host = entry.substr(1, close - 1);
    std::string_view rest = entry.substr(close + 1);
    if (rest.empty()) return parts;
    if (rest.front() != ':') return {entry, std::nullopt, false};
    parts.port = parsePort(rest.substr(1));
    parts.valid = parts.port.has_value();
    return parts;
  }
  std::size_t colon = entry.find(':');
  if (colon == std::string_view::npos || entry.find(':', colon + 1) != std::string_view::npos) {
    parts.host = entry;  // a name, an IPv4 address, or a bare IPv6 address (several colons)
    return parts;
  }
  parts.host = entry.substr(0, colon);
  parts.port = parsePort(entry.substr(colon + 1));
  parts.valid = parts.port.has_value();
  return parts;
}

// Same host: the same address when both are IP literals (so "2001:DB8::1" is "2001:db8:0::1"),
// else the same name ignoring case and a trailing root dot.
bool sameHost(std::string_view a, std::string_view b) {
  a = unbracket(trim(a));
  b = unbracket(trim(b));
  auto ia = parseIp(a);
  auto ib = parseIp(b);
  if (ia || ib) return ia && ib && ia->bits == ib->bits && ia->bytes == ib->bytes;
  if (!a.empty() && a.back() == '.') a.remove_suffix(1);
  if (!b.empty() && b.back() == '.') b.remove_suffix(1);
  return net::equalsIgnoreCase(a, b);
}

std::uint16_t candidatePort(const BackendCandidate& c, std::uint16_t sip_port) {
  return c.port == 0 ? sip_port : c.port;
}

bool flag(const json& object, const char* key) {
  if (!object.is_object()) return false;
  auto it = object.find(key);
  return it != object.end() && it->is_boolean() && it->get<bool>();
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

std::uint16_t trunkSipPort(const json& trunk) {
  const auto& protocol = protocolPointer();
  if (trunk.is_object() && trunk.contains(protocol) && trunk.at(protocol).is_string() &&
      net::equalsIgnoreCase(trunk.at(protocol).get<std::string>(), "tls")) {
    return kSipTlsPort;
  }
  return kSipPort;
}

std::string serverProxyEntry(const BackendCandidate& candidate, std::uint16_t sip_port) {
  std::string host(unbracket(candidate.host));
  std::uint16_t port = candidatePort(candidate, sip_port);
  if (port == sip_port) return host;
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

bool serverProxyEntryMatches(std::string_view entry, const BackendCandidate& candidate,
                             std::uint16_t sip_port) {
  EntryParts parts = splitEntry(entry);
  if (!parts.valid || !sameHost(parts.host, candidate.host)) return false;
  return parts.port.value_or(sip_port) == candidatePort(candidate, sip_port);
}

std::vector<std::string> reorderServerProxyList(const std::vector<std::string>& current,
                                                const std::vector<BackendCandidate>& ranked,
                                                std::uint16_t sip_port) {
  std::vector<std::string> out;
  std::vector<bool> placed(current.size(), false);
  for (const auto& c : ranked) {
    bool named = false;
    for (std::size_t i = 0; i < current.size(); ++i) {
      if (placed[i] || !serverProxyEntryMatches(current[i], c, sip_port)) continue;
      // As the admin wrote it ("proxy-a" stays "proxy-a", "proxy-a:5060" stays so).
      out.push_back(current[i]);
      placed[i] = true;
      named = true;
    }
    if (named) continue;
    // Two candidates on the same host and port (a sip and a tcp target) are one server.
    bool already = std::any_of(out.begin(), out.end(), [&](const std::string& e) {
      return serverProxyEntryMatches(e, c, sip_port);
    });
    if (!already) {
      std::string entry = serverProxyEntry(c, sip_port);
      if (!contains(out, entry)) out.push_back(std::move(entry));
    }
  }
  for (std::size_t i = 0; i < current.size(); ++i) {
    if (!placed[i]) out.push_back(current[i]);
  }
  return out;
}

std::optional<std::vector<std::string>> serverProxyList(const json& trunk) {
  std::vector<std::string> entries;
  const auto& pointer = serverListPointer();
  if (!trunk.is_object() || !trunk.contains(pointer) || trunk.at(pointer).is_null()) {
    return entries;
  }
  const json& list = trunk.at(pointer);
  if (!list.is_array()) return std::nullopt;
  for (const auto& entry : list) {
    if (!entry.is_string()) return std::nullopt;
    entries.push_back(entry.get<std::string>());
  }
  return entries;
}

bool setServerProxyList(json& trunk, const std::vector<std::string>& entries) {
  json& properties = trunk["properties"];
  if (!properties.is_object()) properties = json::object();
  json& property = properties["trunk_transport_serverProxyList"];
  if (!property.is_object()) property = {{"type", "array"}, {"items", {{"type", "string"}}}};
  json& value = property["value"];
  if (!value.is_object()) value = json::object();
  json wanted = entries;
  if (value.contains("instance") && value["instance"] == wanted) return false;
  value["instance"] = std::move(wanted);
  return true;
}

bool isIpLiteral(std::string_view host) { return parseIp(host).has_value(); }

bool allowListCovers(std::string_view entry, std::string_view address) {
  auto addr = parseIp(address);
  if (!addr) return false;
  entry = trim(entry);
  std::string_view net_text = entry;
  int prefix = -1;
  if (std::size_t slash = entry.find('/'); slash != std::string_view::npos) {
    net_text = entry.substr(0, slash);
    std::string_view len = entry.substr(slash + 1);
    if (len.empty() || len.size() > 3) return false;
    prefix = 0;
    for (char c : len) {
      if (c < '0' || c > '9') return false;
      prefix = prefix * 10 + (c - '0');
    }
  }
  auto net = parseIp(net_text);
  if (!net || net->bits != addr->bits) return false;
  if (prefix < 0) prefix = net->bits;
  if (prefix > net->bits) return false;
  int whole = prefix / 8;
  if (std::memcmp(net->bytes.data(), addr->bytes.data(), static_cast<std::size_t>(whole)) != 0) {
    return false;
  }
  int rest = prefix % 8;
  if (rest == 0) return true;
  auto mask = static_cast<unsigned char>(0xFF << (8 - rest));
  auto i = static_cast<std::size_t>(whole);
  return (net->bytes.at(i) & mask) == (addr->bytes.at(i) & mask);
}

std::vector<std::string> addCandidatesToAllowList(json& trunk,
                                                  const std::vector<BackendCandidate>& candidates) {
  std::vector<std::string> added;
  if (!trunk.is_object() || !trunk.contains("properties") || !trunk["properties"].is_object() ||
      !trunk["properties"].contains(kAllowList) || !trunk["properties"][kAllowList].is_object()) {
    return added;
  }
  json& value = trunk["properties"][kAllowList]["value"];
  if (value.is_null()) value = json::object();
  if (!value.is_object()) return added;
  json& instance = value["instance"];
  if (instance.is_null()) instance = json::array();
  if (!instance.is_array()) return added;  // not a list the agent can read: not its to change
  for (const auto& c : candidates) {
    auto ip = parseIp(c.host);
    if (!ip) continue;
    std::string_view host = unbracket(trim(c.host));
    bool covered = std::any_of(instance.begin(), instance.end(), [&](const json& e) {
      return e.is_string() && allowListCovers(e.get<std::string>(), host);
    });
    if (covered) continue;
    std::string entry = std::string(host) + (ip->bits == 32 ? "/32" : "/128");
    instance.push_back(entry);
    added.push_back(std::move(entry));
  }
  return added;
}

std::string trunkRefusal(const json& trunk, const std::string& trunk_base_id) {
  std::string who =
      "trunk \"" + net::printable(stringField(trunk, "name"), 128) + "\" (" + trunk_base_id + ")";
  if (flag(trunk, "managed")) {
    return who +
           " is managed by Genesys Cloud: managed trunks cannot be changed, so the agent "
           "sends nothing; point apply_to.trunk_base_id at the BYOC Cloud trunk";
  }
  std::string type = stringField(trunk, "trunkType");
  if (type != "EXTERNAL") {
    return who + " has trunkType \"" + net::printable(type, 64) +
           "\", not EXTERNAL: only a BYOC Cloud trunk's SIP servers are the agent's to order, so "
           "it sends nothing";
  }
  return {};
}

std::optional<OrgMediaRegions> parseOrgMediaRegions(const json& body) {
  OrgMediaRegions org;
  org.home = stringField(body, "awsHomeRegion");
  if (!org.home.empty()) org.all.insert(org.home);
  for (const char* key : {"awsCoreRegions", "awsSatelliteRegions"}) {
    if (!body.is_object()) break;
    auto it = body.find(key);
    if (it == body.end() || !it->is_array()) continue;
    for (const auto& r : *it) {
      if (r.is_string() && !r.get<std::string>().empty()) org.all.insert(r.get<std::string>());
    }
  }
  if (org.all.empty()) return std::nullopt;
  return org;
}

std::string regionProblem(const std::vector<BackendCandidate>& candidates,
                          const OrgMediaRegions& org) {
  for (const auto& c : candidates) {
    if (c.region.empty()) {
      return "candidate \"" + c.name + "\" has no media region (apply_to.media_regions)";
    }
    if (org.all.count(c.region) == 0) {
      return "candidate \"" + c.name + "\" is mapped to media region \"" + c.region +
             "\", which the org does not have (its regions: " +
             joinForLog({org.all.begin(), org.all.end()}) + ")";
    }
  }
  return {};
}

std::optional<std::vector<std::string>> siteMediaRegions(const json& site) {
  std::vector<std::string> regions;
  if (!site.is_object()) return std::nullopt;
  auto it = site.find("mediaRegions");
  if (it == site.end() || it->is_null()) return regions;
  if (!it->is_array()) return std::nullopt;
  for (const auto& r : *it) {
    if (!r.is_string()) return std::nullopt;
    regions.push_back(r.get<std::string>());
  }
  return regions;
}

std::vector<std::string> rankMediaRegions(const std::vector<std::string>& current,
                                          const std::vector<BackendCandidate>& ranked) {
  std::vector<std::string> out;
  for (const auto& c : ranked) {
    if (!c.region.empty() && !contains(out, c.region)) out.push_back(c.region);
  }
  for (const auto& r : current) {
    if (!contains(out, r)) out.push_back(r);
  }
  return out;
}

bool sameMediaRegions(const std::vector<std::string>& a, const std::vector<std::string>& b,
                      const std::string& home) {
  auto strip = [&home](std::vector<std::string> v) {
    if (!home.empty() && !v.empty() && v.back() == home) v.pop_back();
    return v;
  };
  return strip(a) == strip(b);
}

bool setSiteMediaRegions(json& site, const std::vector<std::string>& regions,
                         const std::string& home) {
  auto current = siteMediaRegions(site);
  bool latency = flag(site, "mediaRegionsUseLatencyBased");
  if (current && sameMediaRegions(*current, regions, home) && !latency) return false;
  site["mediaRegions"] = regions;
  site["mediaRegionsUseLatencyBased"] = false;
  return true;
}

std::string joinForLog(const std::vector<std::string>& items) {
  if (items.empty()) return "(none)";
  std::string s;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i != 0) s += ", ";
    s += net::printable(items[i], 256);
  }
  return s;
}

}  // namespace mediapath::reporter
