#pragma once

#include <uv.h>

#include <functional>

#include "net/uv_handle.h"

namespace mediapath::net {

/// Runs a callback once, soon: in the loop's idle phase of the current or next iteration (the
/// loop does not block in poll while it is pending), never inside the call that armed it.
///
/// What a zero-delay UvTimer does, without the timer heap: start() and stop() are O(1) list
/// operations, where a timer costs two O(log n) heap updates — at 10,000 probe targets the
/// heap holds tens of thousands of timers and that showed in profiles.
///
/// The callback may destroy or re-arm the UvIdle that called it. After stop() or destruction the
/// callback never runs.
///
/// Thread safety: none; owned by the thread running `loop`.
class UvIdle {
 public:
  explicit UvIdle(uv_loop_t* loop);

  UvIdle(const UvIdle&) = delete;
  UvIdle& operator=(const UvIdle&) = delete;

  /// Arms (or re-arms, replacing the callback) the one-shot callback.
  void start(std::function<void()> cb);
  void stop();
  bool active() const;

 private:
  static void onIdle(uv_idle_t* handle);

  UvHandle<uv_idle_t> handle_;
  std::function<void()> callback_;
};

}  // namespace mediapath::net
