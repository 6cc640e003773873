#pragma once

// Fakes that let scheduler tests control time exactly: timers that fire in deadline order as the
// shared FakeClock (tests/support/fakes.h) is advanced, and probes that report when the test says
// so.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/service/scheduler.h"
#include "probes/probe.h"
#include "tests/support/fakes.h"

namespace mediapath::agent::testing {

using std::chrono::milliseconds;
using TimePoint = std::chrono::steady_clock::time_point;

using mediapath::testing::FakeClock;
using mediapath::testing::ScriptedRandom;

class FakeTimerFactory;

class FakeTimer final : public Timer {
 public:
  FakeTimer(FakeTimerFactory& factory) : factory_(factory) {}
  ~FakeTimer() override;
  void start(milliseconds delay, std::function<void()> callback) override;
  void stop() override {
    armed_ = false;
    callback_ = nullptr;
  }
  bool armed() const { return armed_; }
  TimePoint deadline() const { return deadline_; }
  std::uint64_t sequence() const { return sequence_; }
  /// Every delay this timer was armed with, in order.
  const std::vector<milliseconds>& delays() const { return delays_; }

  void fire() {
    armed_ = false;
    auto cb = std::move(callback_);
    callback_ = nullptr;
    if (cb) cb();
  }

 private:
  FakeTimerFactory& factory_;
  bool armed_ = false;
  TimePoint deadline_{};
  std::uint64_t sequence_ = 0;
  std::function<void()> callback_;
  std::vector<milliseconds> delays_;
};

class FakeTimerFactory final : public TimerFactory {
 public:
  explicit FakeTimerFactory(FakeClock& clock) : clock_(clock) {}
  std::unique_ptr<Timer> create() override {
    auto t = std::make_unique<FakeTimer>(*this);
    timers_.push_back(t.get());
    return t;
  }
  FakeClock& clock() { return clock_; }
  std::uint64_t nextSequence() { return ++sequence_; }
  void forget(FakeTimer* t) { std::erase(timers_, t); }
  const std::vector<FakeTimer*>& timers() const { return timers_; }

  /// Moves time forward to `t`, firing every timer due on the way at its own deadline, earliest
  /// first (ties in arming order), like a loop that is never late.
  void advanceTo(TimePoint t) {
    for (;;) {
      FakeTimer* next = nullptr;
      for (FakeTimer* timer : timers_) {
        if (!timer->armed() || timer->deadline() > t) continue;
        if (next == nullptr || timer->deadline() < next->deadline() ||
            (timer->deadline() == next->deadline() && timer->sequence() < next->sequence())) {
          next = timer;
        }
      }
      if (next == nullptr) break;
      clock_.set(std::max(clock_.now(), next->deadline()));
      next->fire();
    }
    clock_.set(std::max(clock_.now(), t));
  }
  void advance(milliseconds d) { advanceTo(clock_.now() + d); }

 private:
  FakeClock& clock_;
  std::vector<FakeTimer*> timers_;
  std::uint64_t sequence_ = 0;
};

inline FakeTimer::~FakeTimer() { factory_.forget(this); }

inline void FakeTimer::start(milliseconds delay, std::function<void()> callback) {
  delays_.push_back(delay);
  armed_ = true;
  deadline_ = factory_.clock().now() + delay;
  sequence_ = factory_.nextSequence();
  callback_ = std::move(callback);
}

/// A probe whose rounds the test controls. With `reply_after` set it reports success that long
/// after start (through a fake timer, so on the fake loop); otherwise it reports only when the
/// test calls reply().
class FakeProbe final : public probes::Probe {
 public:
  FakeProbe(FakeTimerFactory& timers, std::optional<milliseconds> reply_after)
      : timers_(timers), reply_after_(reply_after), timer_(timers.create()) {}

  void start(const probes::ProbeTarget& target, probes::ProbeCallback callback) override {
    target_ = target;
    callback_ = std::move(callback);
    starts.push_back(timers_.clock().now());
    timeouts.push_back(target.timeout);
    if (reply_after_) timer_->start(*reply_after_, [this] { reply(true); });
  }
  void cancel() override {
    ++cancels;
    timer_->stop();
    stale_callback_ = std::move(callback_);
    callback_ = nullptr;
  }
  void reply(bool ok) {
    if (!callback_) return;
    auto cb = std::move(callback_);
    callback_ = nullptr;
    cb(result(ok));
  }
  /// Reports through a callback the probe was told to drop: a buggy probe.
  void replyAfterCancel() {
    if (stale_callback_) stale_callback_(result(true));
  }
  bool inFlight() const { return static_cast<bool>(callback_); }

  std::vector<TimePoint> starts;
  std::vector<milliseconds> timeouts;  ///< the target.timeout of each start
  int cancels = 0;

 private:
  probes::ProbeResult result(bool ok) const {
    probes::ProbeResult r;
    r.target = target_.name;
    r.kind = target_.kind;
    r.ok = ok;
    if (!ok) r.error = "fake failure";
    return r;
  }

  FakeTimerFactory& timers_;
  std::optional<milliseconds> reply_after_;
  std::unique_ptr<Timer> timer_;
  probes::ProbeTarget target_;
  probes::ProbeCallback callback_;
  probes::ProbeCallback stale_callback_;
};

}  // namespace mediapath::agent::testing
