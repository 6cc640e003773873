#include "net/uv_signal.h"

namespace mediapath::net {

UvSignal::UvSignal(uv_loop_t* loop) {
  handle_.adopt(uv_signal_init(loop, handle_.get()), "uv_signal_init", this);
}

void UvSignal::start(int signum, std::function<void()> callback) {
  callback_ = std::move(callback);
  uv_signal_start(
      handle_.get(),
      [](uv_signal_t* h, int) {
        auto* self = static_cast<UvSignal*>(h->data);
        if (self != nullptr && self->callback_) self->callback_();
      },
      signum);
}

void UvSignal::stop() {
  if (handle_.initialized()) uv_signal_stop(handle_.get());
}

void UvSignal::unref() { uv_unref(handle_.base()); }

}  // namespace mediapath::net
