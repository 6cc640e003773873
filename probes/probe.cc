#include "probes/probe.h"

#include <algorithm>
#include <array>
#include <utility>

namespace mediapath::probes {
namespace {

constexpr std::array<std::pair<Kind, std::string_view>, 6> kKindNames{{
    {Kind::kStun, "stun"},
    {Kind::kTurn, "turn"},
    {Kind::kSip, "sip"},
    {Kind::kTcp, "tcp"},
    {Kind::kDns, "dns"},
    {Kind::kRelay, "relay"},
}};

}  // namespace

std::chrono::milliseconds roundLength(Kind kind, std::chrono::milliseconds timeout,
                                      const BurstSpec& burst, const StreamSpec& stream) {
  if (kind == Kind::kRelay) return timeout * 3 + stream.spacing * std::max(0, stream.packets - 1);
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

}  // namespace mediapath::probes
