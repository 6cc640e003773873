#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "tools/impairment_relay/impairment_model.h"

namespace mediapath::net {
class EventLoop;
}

namespace mediapath::tools::relay {

struct RelayOptions {
  HostPort listen{"127.0.0.1", 0};
  HostPort upstream;
  std::uint64_t seed = 1;
  DirectionSpec up;
  DirectionSpec down;
  /// false: a packet never leaves before an earlier packet of the same client and direction
  /// (its hold time is stretched instead), like a FIFO link; true: independent delays, so
  /// jitter larger than the packet spacing reorders packets, like netem without a rate.
  bool reorder = true;
  std::string log_path;  ///< JSON Lines, one line per packet; empty: no log
  /// A client's upstream socket is closed after this long without traffic either way.
  std::chrono::seconds idle_timeout{60};
};

struct RelayStats {
  std::uint64_t received[2] = {0, 0};   ///< indexed by Direction
  std::uint64_t dropped[2] = {0, 0};    ///< by the impairment model
  std::uint64_t forwarded[2] = {0, 0};  ///< sent on after their hold time
  std::uint64_t send_errors = 0;
  std::uint64_t sessions = 0;  ///< client addresses seen
};

/// A UDP relay on a libuv loop: datagrams from a client to `listen` go to `upstream` from a
/// socket kept for that client address; replies go back to the client from `listen`. Each
/// datagram is held for its own drawn delay (a precise timerfd-backed queue, so a long hold
/// never blocks a later packet) or dropped, per ImpairmentModel.
///
/// The log records what was applied: `delay_ms` is the hold time actually measured between
/// receipt and the send call, `planned_ms` the drawn one.
///
/// Thread safety: none; create, use and destroy on the loop's thread.
class Relay {
 public:
  /// Binds the listening socket and resolves the upstream (blocking, once). Throws
  /// std::runtime_error with a readable reason on failure.
  Relay(net::EventLoop& loop, RelayOptions options);
  ~Relay();
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  /// The bound listening port (useful with port 0).
  std::uint16_t port() const;
  /// Closes every socket and timer and flushes the log; packets still held are discarded. The
  /// loop's run() then returns once the close callbacks have run.
  void stop();
  const RelayStats& stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mediapath::tools::relay
