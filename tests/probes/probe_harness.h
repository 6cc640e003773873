#pragma once

#include <gtest/gtest.h>
#include <uv.h>

#include <chrono>
#include <optional>

#include "net/clock.h"
#include "net/event_loop.h"
#include "net/uv_timer.h"
#include "probes/probe.h"

namespace mediapath::testing {

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
