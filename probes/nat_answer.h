#pragma once

// Internal to probes/ (and fuzz/): the pure half of the nat probe (RFC 5780) — reading the
// attributes libnice does not know by name from a validated Binding answer, and turning the
// tests' answers into the behaviours DESIGN.md names. No sockets and no loop, so the fuzz target
// (fuzz/nat_answer_fuzzer.cc) and unit tests call it directly.

extern "C" {
#include <stun/stunmessage.h>
}

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "net/socket_address.h"

namespace mediapath::probes {

// RFC 5780 §7: attribute types libnice.so.10 has no names for.
inline constexpr std::uint16_t kAttrChangeRequest = 0x0003;
inline constexpr std::uint16_t kAttrResponseOrigin = 0x802B;
inline constexpr std::uint16_t kAttrOtherAddress = 0x802C;
// CHANGE-REQUEST flags (RFC 5780 §7.2).
inline constexpr std::uint32_t kChangeIp = 0x04;
inline constexpr std::uint32_t kChangePort = 0x02;

/// The value of an address attribute in MAPPED-ADDRESS format (RFC 8489 §14.1: reserved byte,
/// family 0x01/0x02, port, 4 or 16 address bytes, not XOR-ed) as OTHER-ADDRESS and
/// RESPONSE-ORIGIN carry it. nullopt for any other length, family or a zero port.
std::optional<net::SocketAddress> parseAddressAttribute(std::span<const std::uint8_t> value);

/// What the nat probe reads from a validated Binding answer besides the mapped address.
struct NatAnswer {
  std::optional<net::SocketAddress> other_address;    ///< OTHER-ADDRESS: the server's 2nd IP:port
  std::optional<net::SocketAddress> response_origin;  ///< RESPONSE-ORIGIN
};
NatAnswer readNatAnswer(const StunMessage& message);

/// RFC 4787 behaviours, as DESIGN.md spells them.
enum class NatBehaviour {
  kUnknown,
  kEndpointIndependent,
  kAddressDependent,
  kAddressAndPortDependent
};
std::string_view natBehaviourName(NatBehaviour behaviour);

/// Mapping (RFC 5780 §4.3). `x1`: the mapped address the primary server saw; `x2`: the one a
/// server on another IP saw (nullopt: no such server or no answer); `same_ip_a`/`same_ip_b`: the
/// mapped addresses two ports of one IP saw (test III and what it is compared with; nullopt: not
/// run). X1 == X2: endpoint-independent; else the same IP on two ports giving one mapping:
/// address-dependent, two mappings: address-and-port-dependent; whatever is missing: unknown.
NatBehaviour classifyMapping(const std::optional<net::SocketAddress>& x1,
                             const std::optional<net::SocketAddress>& x2,
                             const std::optional<net::SocketAddress>& same_ip_a,
                             const std::optional<net::SocketAddress>& same_ip_b);

/// Filtering (RFC 5780 §4.4): a reply from the other IP and port reached us → endpoint-
/// independent; else a reply from the other port of the primary IP → address-dependent; else
/// address-and-port-dependent. `supported` false (no OTHER-ADDRESS, a 420, or replies that did
/// not come from the changed address): unknown.
NatBehaviour classifyFiltering(bool supported, bool changed_ip_and_port_replied,
                               bool changed_port_replied);

}  // namespace mediapath::probes
