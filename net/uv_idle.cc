#include "net/uv_idle.h"

#include <utility>

namespace mediapath::net {

UvIdle::UvIdle(uv_loop_t* loop) {
  handle_.adopt(uv_idle_init(loop, handle_.get()), "uv_idle_init", this);
}

void UvIdle::start(std::function<void()> cb) {
  callback_ = std::move(cb);
  uv_idle_start(handle_.get(), &UvIdle::onIdle);  // a no-op when already active
}

void UvIdle::stop() {
  uv_idle_stop(handle_.get());
  callback_ = nullptr;
}

bool UvIdle::active() const { return uv_is_active(handle_.base()) != 0; }

void UvIdle::onIdle(uv_idle_t* handle) {
  // One-shot: stop first and move the callback out, so that the callback may re-arm or destroy
  // this UvIdle.
  uv_idle_stop(handle);
  auto* self = static_cast<UvIdle*>(handle->data);
  if (self == nullptr || !self->callback_) return;
  auto cb = std::move(self->callback_);
  self->callback_ = nullptr;
  cb();
}

}  // namespace mediapath::net
