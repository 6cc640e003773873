#include "probes/probe.h"

#include <algorithm>
#include <array>
#include <utility>

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
  return transport == Transport::kUdp ? "udp" : "tcp";
}

}  // namespace mediapath::probes
