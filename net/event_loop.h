#pragma once

#include <uv.h>

namespace mediapath::net {

/// Owns a uv_loop_t. Everything that runs on the agent's loop (probes, resolver, HTTP client,
/// timers) takes the raw loop from here. The first loop makes the process ignore SIGPIPE, so a
/// write to a peer that reset the connection is an error (EPIPE), not the end of the process.
///
/// Thread safety: none; create, run and destroy on one thread.
class EventLoop {
 public:
  EventLoop();
  ~EventLoop();

  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  uv_loop_t* get() { return &loop_; }

  /// Runs until there are no active handles or stop() is called.
  void run();
  /// Runs one iteration without blocking; used by tests that step the loop.
  void runOnce();
  /// Makes run() return at the end of the current iteration.
  void stop();

  /// Closes every handle still open, lets their close callbacks run, then closes the loop.
  /// Returns the uv_loop_close() result: 0 proves no handle leaked (UV_EBUSY otherwise).
  int close();

 private:
  uv_loop_t loop_{};
  bool closed_ = false;
};

}  // namespace mediapath::net
