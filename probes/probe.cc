#include "probes/probe.h"

#include <algorithm>
#include <array>
#include <utility>

#include "net/clock.h"
#include "net/text.h"

namespace mediapath::probes {
namespace {

constexpr std::array<std::pair<Kind, std::string_view>, 7> kKindNames{{
    {Kind::kStun, "stun"},
    {Kind::kTurn, "turn"},
    {Kind::kSip, "sip"},
    {Kind::kTcp, "tcp"},
    {Kind::kDns, "dns"},
    {Kind::kRelay, "relay"},
    {Kind::kNat, "nat"},
}};

std::string percent(const std::optional<double>& ratio) {
  return ratio ? net::formatFixed(*ratio * 100.0, 1) + "%" : "-";
}

}  // namespace

std::chrono::milliseconds roundLength(Kind kind, std::chrono::milliseconds timeout,
                                      const BurstSpec& burst, const StreamSpec& stream) {
  if (kind == Kind::kRelay) return timeout * 3 + stream.spacing * std::max(0, stream.packets - 1);
  if (kind == Kind::kNat) return timeout * 2;
  return timeout + burst.spacing * std::max(0, burst.packets - 1);
}

std::string_view kindName(Kind kind) {
  for (const auto& [k, name] : kKindNames) {
    if (k == kind) return name;
  }
  return "unknown";
}

std::optional<Kind> kindFromName(std::string_view name) {
  for (const auto& [k, n] : kKindNames) {
    if (n == name) return k;
  }
  return std::nullopt;
}

std::string_view transportName(Transport transport) {
  switch (transport) {
    case Transport::kUdp:
      return "udp";
    case Transport::kTcp:
      return "tcp";
    case Transport::kTls:
      return "tls";
  }
  return "unknown";
}

std::string summary(const ProbeResult& r) {
  if (!r.ok) return r.error;
  switch (r.kind) {
    case Kind::kStun:
      return "mapped " + r.mapped_address;
    case Kind::kTurn:
      return "relayed " + r.relayed_address;
    case Kind::kSip: {
      std::string s = r.status_code ? "status " + std::to_string(*r.status_code) : "";
      if (!r.tls_version.empty()) s += (s.empty() ? "" : " ") + r.tls_version;
      if (r.cert_not_after) s += " cert until " + net::formatUtc(*r.cert_not_after);
      return s;
    }
    case Kind::kDns: {
      std::string s;
      for (const auto& a : r.addresses) s += (s.empty() ? "" : " ") + a;
      if (r.lookup_ms) s += " (lookup " + net::formatMillis(*r.lookup_ms) + " ms)";
      return s;
    }
    case Kind::kTcp:
      return r.connect_ms ? "connect " + net::formatMillis(*r.connect_ms) + " ms" : "";
    case Kind::kNat:
      return "mapped " + r.mapped_address + " mapping " + r.nat_mapping + " filtering " +
             r.nat_filtering + " hairpinning " +
             (r.hairpinning ? (*r.hairpinning ? "yes" : "no") : "-");
    case Kind::kRelay: {
      std::string s = "relayed " + r.relayed_address;
      if (r.one_way) {
        s += " one-way " + net::formatMillis(r.one_way->min_ms) + "/" +
             net::formatMillis(r.one_way->avg_ms) + "/" + net::formatMillis(r.one_way->max_ms) +
             " ms";
      }
      s += " loss a>b " + percent(r.loss_ab) + " b>a " + percent(r.loss_ba);
      s += " reordered " + std::to_string(r.reordered.value_or(0)) + " duplicated " +
           std::to_string(r.duplicated.value_or(0));
      return s;
    }
  }
  return "";
}

std::string_view timestampsName(Timestamps timestamps) {
  return timestamps == Timestamps::kKernel ? "kernel" : "loop";
}

}  // namespace mediapath::probes
