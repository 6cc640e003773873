#include "net/event_loop.h"

#include <csignal>
#include <mutex>
#include <stdexcept>
#include <string>

namespace mediapath::net {

EventLoop::EventLoop() {
  // libuv writes to TCP streams with write(2): once a peer has reset the connection (a hostile or
  // crashing SIP server, a dropped HTTPS connection), the next write raises SIGPIPE, whose default
  // action ends the process. Ignored, the write fails with EPIPE and the owner reports it.
  static std::once_flag ignore_sigpipe;
  std::call_once(ignore_sigpipe, [] { std::signal(SIGPIPE, SIG_IGN); });
  if (int rc = uv_loop_init(&loop_); rc != 0) {
    throw std::runtime_error(std::string("uv_loop_init: ") + uv_strerror(rc));
  }
}

EventLoop::~EventLoop() { close(); }

void EventLoop::run() { uv_run(&loop_, UV_RUN_DEFAULT); }

void EventLoop::runOnce() { uv_run(&loop_, UV_RUN_NOWAIT); }

void EventLoop::stop() { uv_stop(&loop_); }

int EventLoop::close() {
  if (closed_) return 0;
  // Owners close their handles in their destructors; anything still open here is closed now so
  // the loop can be released. Their memory is owned by UvHandle, whose close callback frees it,
  // so handles closed here with a null callback belong to no UvHandle (a leak we report).
  uv_walk(
      &loop_,
      [](uv_handle_t* handle, void*) {
        if (uv_is_closing(handle) == 0) uv_close(handle, nullptr);
      },
      nullptr);
  uv_run(&loop_, UV_RUN_DEFAULT);
  int rc = uv_loop_close(&loop_);
  closed_ = rc == 0;
  return rc;
}

}  // namespace mediapath::net
