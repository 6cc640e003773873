#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace mediapath::testing {

/// Polls `pred` every `poll` until it is true or `timeout` passes; returns the last value. For
/// waiting on another thread or process; a test's own event loop has runLoopUntil
/// (tests/net/loop_check.h), which runs the loop instead of sleeping.
inline bool waitUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                      std::chrono::milliseconds poll = std::chrono::milliseconds(50)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(poll);
  }
}

}  // namespace mediapath::testing
