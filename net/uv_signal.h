#pragma once

#include <uv.h>

#include <functional>

#include "net/uv_handle.h"

namespace mediapath::net {

/// Watches one POSIX signal on a libuv loop. libuv turns the signal into a loop callback, so the
/// handler may do anything the loop thread may do (stop probes, reload the config).
///
/// Thread safety: none; owned by the thread running `loop`.
class UvSignal {
 public:
  explicit UvSignal(uv_loop_t* loop);
  UvSignal(const UvSignal&) = delete;
  UvSignal& operator=(const UvSignal&) = delete;

  void start(int signum, std::function<void()> callback);
  void stop();
  /// Lets the loop exit while the watcher is still active (a daemon's signal handlers must not
  /// keep a finished loop alive).
  void unref();

 private:
  UvHandle<uv_signal_t> handle_;
  std::function<void()> callback_;
};

}  // namespace mediapath::net
