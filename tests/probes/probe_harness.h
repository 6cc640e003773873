#pragma once

#include <gtest/gtest.h>
#include <uv.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "net/clock.h"
#include "net/event_loop.h"
#include "net/socket_address.h"
#include "net/uv_handle.h"
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

/// Makes every turn of `loop` `lag` late, as a busy host or a long callback would: a handle that
/// blocks for `lag` each turn, right before the loop polls (kBeforePoll: what completes in the
/// kernel meanwhile, such as a loopback TCP handshake, is noticed late) or right after
/// (kAfterPoll: replies sent by responders on this loop wait in their sockets until the next
/// turn's poll).
class LaggingLoop {
 public:
  enum class Phase { kBeforePoll, kAfterPoll };
  LaggingLoop(uv_loop_t* loop, std::chrono::milliseconds lag, Phase phase) : lag_(lag) {
    if (phase == Phase::kBeforePoll) {
      prepare_.adopt(uv_prepare_init(loop, prepare_.get()), "uv_prepare_init", this);
      uv_prepare_start(prepare_.get(), [](uv_prepare_t* h) {
        std::this_thread::sleep_for(static_cast<LaggingLoop*>(h->data)->lag_);
      });
    } else {
      check_.adopt(uv_check_init(loop, check_.get()), "uv_check_init", this);
      uv_check_start(check_.get(), [](uv_check_t* h) {
        std::this_thread::sleep_for(static_cast<LaggingLoop*>(h->data)->lag_);
      });
    }
  }

 private:
  std::chrono::milliseconds lag_;
  net::UvHandle<uv_prepare_t> prepare_;
  net::UvHandle<uv_check_t> check_;
};

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
