#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mediapath::net {

/// An IPv4 or IPv6 socket address (IP + port) with its length, ready for bind/connect/sendto.
///
/// Thread safety: a value type.
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;

  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  int family() const { return storage.ss_family; }
  bool isIPv6() const { return storage.ss_family == AF_INET6; }
  std::uint16_t port() const;
  /// "1.2.3.4:5060" or "[::1]:5060".
  std::string toString() const;
  /// The IP alone: "1.2.3.4" or "::1".
  std::string ipString() const;
  /// Same family, IP and port.
  bool operator==(const SocketAddress& other) const;

  /// Copies a sockaddr the kernel or a library filled in (AF_INET/AF_INET6 only).
  static std::optional<SocketAddress> fromSockaddr(const sockaddr* address);
};

/// True if `host` is an IPv4 or IPv6 literal ("10.0.0.1", "::1", "[::1]").
bool isIpLiteral(std::string_view host);

/// Parses an IP literal (IPv6 optionally in brackets) plus a port. No name resolution.
std::optional<SocketAddress> parseIpLiteral(std::string_view host, std::uint16_t port);

/// The wildcard address of the same family as `like`, port 0 (for binding a client socket).
SocketAddress anyAddressLike(const SocketAddress& like);

/// The local address the kernel would use to reach `destination` (a connect() on a throwaway
/// UDP socket; no packet is sent). The port of the result is 0. Used where a protocol carries our
/// own address (SIP Via) and a wildcard bind would give 0.0.0.0.
std::optional<SocketAddress> localAddressFor(const SocketAddress& destination);

}  // namespace mediapath::net
