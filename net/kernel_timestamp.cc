#include "net/kernel_timestamp.h"

#include <cstring>

namespace mediapath::net {

bool enableReceiveTimestamps(int fd) {
  int on = 1;
  return ::setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on)) == 0;
}

std::optional<timespec> receiveTimestampOf(const msghdr& message) {
  // CMSG_NXTHDR takes a non-const header but only reads it.
  auto& m = const_cast<msghdr&>(message);
  for (cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS &&
        c->cmsg_len >= CMSG_LEN(sizeof(timespec))) {
      timespec stamp{};
      std::memcpy(&stamp, CMSG_DATA(c), sizeof(stamp));
      return stamp;
    }
  }
  return std::nullopt;
}

std::optional<std::chrono::steady_clock::time_point> steadyTimeOf(const timespec& stamp,
                                                                  const ClockPair& clocks) {
  if (stamp.tv_sec == 0 && stamp.tv_nsec == 0) return std::nullopt;
  auto at = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::seconds(stamp.tv_sec) + std::chrono::nanoseconds(stamp.tv_nsec)));
  auto age = clocks.realtime - at;
  if (age < std::chrono::system_clock::duration::zero()) return std::nullopt;
  return clocks.steady - std::chrono::duration_cast<std::chrono::steady_clock::duration>(age);
}

}  // namespace mediapath::net
