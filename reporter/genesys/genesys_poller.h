#pragma once

#include <chrono>
#include <functional>
#include <memory>

namespace mediapath::net {
class Clock;
class EventLoop;
class UvTimer;
}  // namespace mediapath::net

namespace mediapath::reporter {

/// "Ask again shortly, until a deadline": how the platform's asynchronous operations (a new
/// Location's provisioning, an audit query) are followed.
///
/// Thread safety: loop thread only.
class Poller {
 public:
  Poller(net::EventLoop& loop, const net::Clock& clock);
  ~Poller();
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  void setDeadline(std::chrono::milliseconds from_now);
  bool pastDeadline() const;
  /// Runs `fn` on the loop after the poll interval (250 ms).
  void after(std::function<void()> fn);

 private:
  const net::Clock& clock_;
  std::unique_ptr<net::UvTimer> timer_;
  std::chrono::steady_clock::time_point deadline_;
};

}  // namespace mediapath::reporter
