#include "net/uv_timer.h"

#include <utility>

namespace mediapath::net {

UvTimer::UvTimer(uv_loop_t* loop) {
  handle_.adopt(uv_timer_init(loop, handle_.get()), "uv_timer_init", this);
}

void UvTimer::start(std::chrono::milliseconds timeout, std::function<void()> cb,
                    std::chrono::milliseconds repeat) {
  callback_ = std::move(cb);
  // Negative durations would wrap to huge uint64 values; treat them as "now".
  auto to_uv = [](std::chrono::milliseconds ms) {
    return static_cast<std::uint64_t>(ms.count() < 0 ? 0 : ms.count());
  };
  uv_timer_start(handle_.get(), &UvTimer::onTimer, to_uv(timeout), to_uv(repeat));
}

void UvTimer::startFromNow(std::chrono::milliseconds timeout, std::function<void()> cb) {
  uv_update_time(handle_.get()->loop);
  start(timeout, std::move(cb));
}

void UvTimer::stop() {
  uv_timer_stop(handle_.get());
  // Dropping the callback releases whatever it captured (often shared state of the owner).
  callback_ = nullptr;
}

bool UvTimer::active() const { return uv_is_active(handle_.base()) != 0; }

void UvTimer::onTimer(uv_timer_t* handle) {
  auto* self = static_cast<UvTimer*>(handle->data);
  if (self == nullptr || !self->callback_) return;
  bool repeating = uv_timer_get_repeat(handle) != 0;
  if (repeating) {
    // The callback may destroy `self`; call a copy so the std::function is not destroyed while
    // running.
    auto cb = self->callback_;
    cb();
    return;
  }
  // One-shot: move the callback out first so that the callback may call start() again (which
  // replaces callback_) or destroy the timer.
  auto cb = std::move(self->callback_);
  self->callback_ = nullptr;
  cb();
}

}  // namespace mediapath::net
