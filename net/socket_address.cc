#include "net/socket_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cstring>

namespace mediapath::net {
namespace {

std::string_view stripBrackets(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    return host.substr(1, host.size() - 2);
  }
  return host;
}

const sockaddr_in* asV4(const sockaddr_storage& s) {
  return reinterpret_cast<const sockaddr_in*>(&s);
}
const sockaddr_in6* asV6(const sockaddr_storage& s) {
  return reinterpret_cast<const sockaddr_in6*>(&s);
}

}  // namespace

std::uint16_t SocketAddress::port() const {
  if (storage.ss_family == AF_INET) return ntohs(asV4(storage)->sin_port);
  if (storage.ss_family == AF_INET6) return ntohs(asV6(storage)->sin6_port);
  return 0;
}

std::string SocketAddress::ipString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (storage.ss_family == AF_INET) {
    inet_ntop(AF_INET, &asV4(storage)->sin_addr, buf, sizeof(buf));
  } else if (storage.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &asV6(storage)->sin6_addr, buf, sizeof(buf));
  } else {
    return "?";
  }
  return buf;
}

std::string SocketAddress::toString() const {
  if (storage.ss_family == AF_INET6) return "[" + ipString() + "]:" + std::to_string(port());
  return ipString() + ":" + std::to_string(port());
}

bool SocketAddress::operator==(const SocketAddress& other) const {
  if (storage.ss_family != other.storage.ss_family || port() != other.port()) return false;
  if (storage.ss_family == AF_INET) {
    return asV4(storage)->sin_addr.s_addr == asV4(other.storage)->sin_addr.s_addr;
  }
  if (storage.ss_family == AF_INET6) {
    return std::memcmp(&asV6(storage)->sin6_addr, &asV6(other.storage)->sin6_addr,
                       sizeof(in6_addr)) == 0;
  }
  return false;
}

std::optional<SocketAddress> SocketAddress::fromSockaddr(const sockaddr* address) {
  if (address == nullptr) return std::nullopt;
  SocketAddress out;
  if (address->sa_family == AF_INET) {
    out.length = sizeof(sockaddr_in);
  } else if (address->sa_family == AF_INET6) {
    out.length = sizeof(sockaddr_in6);
  } else {
    return std::nullopt;
  }
  std::memcpy(&out.storage, address, out.length);
  return out;
}

bool isIpLiteral(std::string_view host) { return parseIpLiteral(host, 0).has_value(); }

std::optional<SocketAddress> parseIpLiteral(std::string_view host, std::uint16_t port) {
  std::string ip(stripBrackets(host));
  SocketAddress out;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.storage);
  if (ip.find(':') == std::string::npos && inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    out.length = sizeof(sockaddr_in);
    return out;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
  if (inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    out.length = sizeof(sockaddr_in6);
    return out;
  }
  return std::nullopt;
}

SocketAddress anyAddressLike(const SocketAddress& like) {
  // Built directly, not parsed from "::"/"0.0.0.0": the stun probe asks for it every round.
  SocketAddress out;
  if (like.isIPv6()) {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
    v6->sin6_family = AF_INET6;
    v6->sin6_addr = in6addr_any;
    out.length = sizeof(sockaddr_in6);
  } else {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&out.storage);
    v4->sin_family = AF_INET;
    v4->sin_addr.s_addr = htonl(INADDR_ANY);
    out.length = sizeof(sockaddr_in);
  }
  return out;
}

std::optional<SocketAddress> localAddressFor(const SocketAddress& destination) {
  int fd = ::socket(destination.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  std::optional<SocketAddress> result;
  if (::connect(fd, destination.get(), destination.length) == 0) {
    sockaddr_storage local{};
    socklen_t len = sizeof(local);
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0) {
      result = SocketAddress::fromSockaddr(reinterpret_cast<sockaddr*>(&local));
    }
  }
  ::close(fd);
  if (result) {
    // Only the IP is wanted: the throwaway socket's port means nothing to the caller.
    if (result->isIPv6()) {
      reinterpret_cast<sockaddr_in6*>(&result->storage)->sin6_port = 0;
    } else {
      reinterpret_cast<sockaddr_in*>(&result->storage)->sin_port = 0;
    }
  }
  return result;
}

}  // namespace mediapath::net
