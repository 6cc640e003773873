#pragma once

#include <gtest/gtest.h>
#include <uv.h>

#include <chrono>
#include <functional>
#include <string_view>

#include "net/event_loop.h"
#include "net/uv_timer.h"

namespace mediapath::testing {

/// Lets pending close callbacks run, then counts the handles still on the loop. Tests call it
/// after their objects are gone: 0 proves every wrapper closed (and freed) what it owned, which
/// a bare EventLoop::close() cannot show because it closes leftovers itself.
inline int openHandleCount(net::EventLoop& loop) {
  for (int i = 0; i < 3; ++i) loop.runOnce();
  int count = 0;
  uv_walk(
      loop.get(), [](uv_handle_t*, void* arg) { ++*static_cast<int*>(arg); }, &count);
  return count;
}

/// Handles of one type (UV_UDP, UV_TCP, ...) on the loop, without running it.
inline int handleCount(net::EventLoop& loop, uv_handle_type type) {
  struct Count {
    uv_handle_type type;
    int n = 0;
  } count{type};
  uv_walk(
      loop.get(),
      [](uv_handle_t* handle, void* arg) {
        auto* c = static_cast<Count*>(arg);
        if (handle->type == c->type && !uv_is_closing(handle)) ++c->n;
      },
      &count);
  return count.n;
}

/// Runs `loop` until `done()` holds or `timeout` passes. Every test that waits for a callback
/// waits through this, so a callback that never comes fails the test after `timeout` with a
/// message naming `what` instead of hanging until the CTest timeout. Use it as
/// `ASSERT_TRUE(runLoopUntil(loop, [&] { return done; }, 5s, "the GET's callback"))`.
[[nodiscard]] inline ::testing::AssertionResult runLoopUntil(uv_loop_t* loop,
                                                             const std::function<bool()>& done,
                                                             std::chrono::milliseconds timeout,
                                                             std::string_view what) {
  // UV_RUN_ONCE blocks in poll until the next event; when `done` turned true in a phase before
  // the poll (a timer, an idle handle), nothing would wake it. The wake timer bounds that wait
  // to 10 ms, so the predicate and the deadline are checked at least that often.
  net::UvTimer wake(loop);
  wake.start(
      std::chrono::milliseconds(10), [] {}, std::chrono::milliseconds(10));
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return ::testing::AssertionFailure()
             << "timed out after " << timeout.count() << " ms waiting for " << what;
    }
    uv_run(loop, UV_RUN_ONCE);
  }
  return ::testing::AssertionSuccess();
}

inline ::testing::AssertionResult runLoopUntil(net::EventLoop& loop,
                                               const std::function<bool()>& done,
                                               std::chrono::milliseconds timeout,
                                               std::string_view what) {
  return runLoopUntil(loop.get(), done, timeout, what);
}

/// Base of the fixtures that run a loop: every test must leave no handle open, and the loop must
/// close cleanly.
class LoopTest : public ::testing::Test {
 protected:
  void TearDown() override {
    EXPECT_EQ(openHandleCount(loop_), 0);
    EXPECT_EQ(loop_.close(), 0);
  }

  net::EventLoop loop_;
};

}  // namespace mediapath::testing
