#pragma once

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

}  // namespace mediapath::testing
