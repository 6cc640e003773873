#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <ctime>
#include <optional>

namespace mediapath::net {

// Kernel receive timestamps for UDP RTTs (DESIGN.md "Probes" → Timing).
//
// Why: the loop reads a reply when it wakes up, which on a busy host (or after a long callback)
// can be a millisecond after the datagram arrived; timing at that point reported a 14 µs loopback
// exchange as 0.1–0.9 ms. The kernel stamps each datagram when it enters the host (netif_rx),
// which no loop delay moves.
//
// The stamps are CLOCK_REALTIME, the probes' times the steady clock. A stamp is mapped by its
// age: `steady_now − (realtime_now − stamp)`, with both clocks read together right after the
// datagram was read. Only the age (normally µs to ms) crosses clocks, so a wall clock step
// matters only if it lands between the kernel's stamp and that reading; one that makes the stamp
// lie in the future is refused (nullopt: the caller uses its loop time), and one the other way
// makes the stamp look older, which a caller rejects when the time then precedes its request.

/// The two clocks read back to back, to map kernel stamps onto the steady clock.
struct ClockPair {
  std::chrono::steady_clock::time_point steady;
  std::chrono::system_clock::time_point realtime;
  static ClockPair now() {
    return {std::chrono::steady_clock::now(), std::chrono::system_clock::now()};
  }
};

/// Asks the kernel to stamp every datagram `fd` receives and to deliver the stamp as an
/// SCM_TIMESTAMPNS control message (SO_TIMESTAMPNS). False when it refuses.
bool enableReceiveTimestamps(int fd);

/// Control buffer room the SCM_TIMESTAMPNS message needs.
inline constexpr std::size_t kReceiveTimestampSpace = CMSG_SPACE(sizeof(timespec));

/// The SCM_TIMESTAMPNS stamp among `message`'s control messages (CLOCK_REALTIME), if any.
std::optional<timespec> receiveTimestampOf(const msghdr& message);

/// `stamp` (CLOCK_REALTIME) on the steady clock of `clocks`; nullopt when it lies after
/// `clocks.realtime` (the wall clock stepped back since) or is unset (zero).
std::optional<std::chrono::steady_clock::time_point> steadyTimeOf(const timespec& stamp,
                                                                  const ClockPair& clocks);

}  // namespace mediapath::net
