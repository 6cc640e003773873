#pragma once

#include <gtest/gtest.h>
#include <uv.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>

#include "net/clock.h"
#include "net/event_loop.h"
#include "net/socket_address.h"
#include "net/uv_timer.h"
#include "probes/probe.h"

namespace mediapath::testing {

/// A target at `address` with the unit tests' timing: a 300 ms timeout, `packets` sent 5 ms apart.
inline probes::ProbeTarget burstTarget(std::string name, probes::Kind kind,
                                       const net::SocketAddress& address, int packets) {
  probes::ProbeTarget t;
  t.name = std::move(name);
  t.kind = kind;
  t.host = address.ipString();
  t.port = address.port();
  t.timeout = std::chrono::milliseconds(300);
  t.burst.packets = packets;
  t.burst.spacing = std::chrono::milliseconds(5);
  return t;
}

/// Runs one round of `probe` on `loop` (which may hold other live handles, e.g. responders) and
/// returns its result, or nullopt if no result came within `limit`.
inline std::optional<probes::ProbeResult> runRound(
    net::EventLoop& loop, probes::Probe& probe, const probes::ProbeTarget& target,
    std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
  std::optional<probes::ProbeResult> result;
  int calls = 0;
  probe.start(target, [&](probes::ProbeResult r) {
    ++calls;
    result = std::move(r);
    // Without this, UV_RUN_ONCE would go on to block in poll until the next timer (the guard).
    uv_stop(loop.get());
  });
  net::UvTimer guard(loop.get());
  bool expired = false;
  guard.start(limit, [&] {
    expired = true;
    uv_stop(loop.get());
  });
  while (!result && !expired) uv_run(loop.get(), UV_RUN_ONCE);
  if (!result) probe.cancel();
  // The callback runs exactly once per start().
  for (int i = 0; i < 3; ++i) uv_run(loop.get(), UV_RUN_NOWAIT);
  EXPECT_LE(calls, 1);
  return result;
}

}  // namespace mediapath::testing
