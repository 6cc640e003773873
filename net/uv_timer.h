#pragma once

#include <uv.h>

#include <chrono>
#include <functional>

#include "net/uv_handle.h"

namespace mediapath::net {

/// A libuv timer. The callback may destroy or restart the UvTimer that called it. After stop()
/// or destruction the callback never runs again.
///
/// Thread safety: none; owned by the thread running `loop`.
class UvTimer {
 public:
  explicit UvTimer(uv_loop_t* loop);

  UvTimer(const UvTimer&) = delete;
  UvTimer& operator=(const UvTimer&) = delete;

  /// (Re)arms the timer: `cb` runs after `timeout`, then every `repeat` if non-zero. Replaces
  /// any previous callback.
  void start(std::chrono::milliseconds timeout, std::function<void()> cb,
             std::chrono::milliseconds repeat = std::chrono::milliseconds(0));
  /// As start(), but counted from the present: libuv arms a timer from the time it read at the
  /// top of the loop iteration, which lags by however long the iteration has run so far (at 100
  /// relay streams, up to 8 ms), so the timer would fire that much early. For pacing.
  void startFromNow(std::chrono::milliseconds timeout, std::function<void()> cb);
  void stop();
  bool active() const;

 private:
  static void onTimer(uv_timer_t* handle);

  UvHandle<uv_timer_t> handle_;
  std::function<void()> callback_;
};

}  // namespace mediapath::net
