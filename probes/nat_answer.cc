#include "probes/nat_answer.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace mediapath::probes {

std::optional<net::SocketAddress> parseAddressAttribute(std::span<const std::uint8_t> value) {
  constexpr std::size_t kHeader = 4;  // reserved, family, port
  if (value.size() < kHeader) return std::nullopt;
  std::uint8_t family = value[1];
  auto port = static_cast<std::uint16_t>((value[2] << 8) | value[3]);
  std::size_t ip_bytes = family == 0x01 ? 4 : family == 0x02 ? 16 : 0;
  if (port == 0 || ip_bytes == 0 || value.size() != kHeader + ip_bytes) return std::nullopt;
  sockaddr_storage storage{};
  if (family == 0x01) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&storage);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    std::memcpy(&sin->sin_addr, value.data() + kHeader, ip_bytes);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&storage);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    std::memcpy(&sin6->sin6_addr, value.data() + kHeader, ip_bytes);
  }
  return net::SocketAddress::fromSockaddr(reinterpret_cast<const sockaddr*>(&storage));
}

namespace {

std::optional<net::SocketAddress> findAddress(const StunMessage& message, std::uint16_t type) {
  std::uint16_t length = 0;
  // libnice's reader takes a non-const message but only reads it.
  const void* value = stun_message_find(const_cast<StunMessage*>(&message),
                                        static_cast<StunAttribute>(type), &length);
  if (value == nullptr) return std::nullopt;
  return parseAddressAttribute({static_cast<const std::uint8_t*>(value), length});
}

}  // namespace

NatAnswer readNatAnswer(const StunMessage& message) {
  NatAnswer out;
  out.other_address = findAddress(message, kAttrOtherAddress);
  out.response_origin = findAddress(message, kAttrResponseOrigin);
  return out;
}

std::string_view natBehaviourName(NatBehaviour behaviour) {
  switch (behaviour) {
    case NatBehaviour::kEndpointIndependent:
      return "endpoint-independent";
    case NatBehaviour::kAddressDependent:
      return "address-dependent";
    case NatBehaviour::kAddressAndPortDependent:
      return "address-and-port-dependent";
    case NatBehaviour::kUnknown:
      break;
  }
  return "unknown";
}

NatBehaviour classifyMapping(const std::optional<net::SocketAddress>& x1,
                             const std::optional<net::SocketAddress>& x2,
                             const std::optional<net::SocketAddress>& same_ip_a,
                             const std::optional<net::SocketAddress>& same_ip_b) {
  if (!x1 || !x2) return NatBehaviour::kUnknown;
  if (*x1 == *x2) return NatBehaviour::kEndpointIndependent;
  if (!same_ip_a || !same_ip_b) return NatBehaviour::kUnknown;
  return *same_ip_a == *same_ip_b ? NatBehaviour::kAddressDependent
                                  : NatBehaviour::kAddressAndPortDependent;
}

NatBehaviour classifyFiltering(bool supported, bool changed_ip_and_port_replied,
                               bool changed_port_replied) {
  if (!supported) return NatBehaviour::kUnknown;
  if (changed_ip_and_port_replied) return NatBehaviour::kEndpointIndependent;
  if (changed_port_replied) return NatBehaviour::kAddressDependent;
  return NatBehaviour::kAddressAndPortDependent;
}

}  // namespace mediapath::probes
