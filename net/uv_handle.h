#pragma once

#include <uv.h>

#include <stdexcept>
#include <string>
#include <utility>

namespace mediapath::net {

/// Owns one libuv handle of type H (uv_timer_t, uv_udp_t, uv_tcp_t, uv_poll_t, ...).
///
/// libuv frees nothing itself: a handle's memory must stay valid until its close callback has
/// run, which happens on a later loop iteration. So the handle lives on the heap and the close
/// callback deletes it; the owner may be destroyed at once. `data` is cleared before closing so a
/// callback that is still queued can tell the owner is gone.
///
/// Thread safety: none; use only on the thread running the handle's loop.
template <typename H>
class UvHandle {
 public:
  UvHandle() : handle_(new H{}) {}
  ~UvHandle() { close(); }

  UvHandle(const UvHandle&) = delete;
  UvHandle& operator=(const UvHandle&) = delete;
  UvHandle(UvHandle&& other) noexcept
      : handle_(std::exchange(other.handle_, nullptr)), initialized_(other.initialized_) {}
  UvHandle& operator=(UvHandle&& other) noexcept {
    if (this != &other) {
      close();
      handle_ = std::exchange(other.handle_, nullptr);
      initialized_ = other.initialized_;
    }
    return *this;
  }

  H* get() const { return handle_; }
  uv_handle_t* base() const { return reinterpret_cast<uv_handle_t*>(handle_); }

  /// Call after a successful uv_*_init so that close() knows uv_close() is required.
  void markInitialized() { initialized_ = true; }

  /// For the owner of a handle whose callbacks find it through `data`: takes the result of
  /// `init_name` (a uv_*_init call), throws on failure, else marks the handle initialized and
  /// points its `data` at `owner`.
  void adopt(int init_rc, const char* init_name, void* owner) {
    if (init_rc != 0) {
      throw std::runtime_error(std::string(init_name) + ": " + uv_strerror(init_rc));
    }
    markInitialized();
    handle_->data = owner;
  }
  bool initialized() const { return handle_ != nullptr && initialized_; }

  /// Closes the handle (idempotent). Pending callbacks for it will not run after this returns,
  /// except the close callback that frees it.
  void close() {
    if (handle_ == nullptr) return;
    H* h = std::exchange(handle_, nullptr);
    auto* base_handle = reinterpret_cast<uv_handle_t*>(h);
    base_handle->data = nullptr;
    if (!initialized_) {
      delete h;
      return;
    }
    if (uv_is_closing(base_handle) == 0) {
      uv_close(base_handle, [](uv_handle_t* p) { delete reinterpret_cast<H*>(p); });
    }
  }

 private:
  H* handle_;
  bool initialized_ = false;
};

}  // namespace mediapath::net
