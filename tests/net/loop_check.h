#pragma once

#include <gtest/gtest.h>
#include <uv.h>

#include "net/event_loop.h"

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
