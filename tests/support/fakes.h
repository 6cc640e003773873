#pragma once

// The fakes every unit test shares for time and randomness: one clock that moves only when the
// test says so, one source of scripted random values. (Fakes for the thing under test belong
// next to its tests.)
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <utility>
#include <vector>

#include "net/clock.h"

namespace mediapath::testing {

/// A clock the test moves by hand. Monotonic time starts at epoch() and moves with set() and
/// advance(); wall time moves with it, from 2026-11-27T10:00:00Z unless setWall() says otherwise.
class FakeClock final : public net::Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  /// Where monotonic time starts: far from zero, so that "time 0" bugs show up.
  static TimePoint epoch() { return TimePoint(std::chrono::hours(1000)); }

  TimePoint now() const override { return now_; }
  std::chrono::system_clock::time_point wallNow() const override {
    return wall_at_epoch_ +
           std::chrono::duration_cast<std::chrono::system_clock::duration>(now_ - epoch());
  }

  void set(TimePoint t) { now_ = t; }
  void advance(std::chrono::steady_clock::duration d) { now_ += d; }
  /// Makes wallNow() return `t` now (and move on from there with the monotonic time).
  void setWall(std::chrono::system_clock::time_point t) {
    wall_at_epoch_ =
        t - std::chrono::duration_cast<std::chrono::system_clock::duration>(now_ - epoch());
  }

 private:
  TimePoint now_ = epoch();
  std::chrono::system_clock::time_point wall_at_epoch_ =
      std::chrono::sys_days{std::chrono::year(2026) / 11 / 27} + std::chrono::hours(10);
};

/// Returns the scripted uniform() values in turn (then repeats the last one; 0 when none), so
/// that jitter and spreading are exact.
class ScriptedRandom final : public net::Random {
 public:
  explicit ScriptedRandom(std::vector<double> uniforms) : uniforms_(std::move(uniforms)) {}
  std::uint64_t next() override {
    double u = uniforms_.empty() ? 0.0 : uniforms_[std::min(index_, uniforms_.size() - 1)];
    ++index_;
    // uniform() takes the top 53 bits: put u there exactly.
    return static_cast<std::uint64_t>(u * static_cast<double>(1ULL << 53)) << 11;
  }

 private:
  std::vector<double> uniforms_;
  std::size_t index_ = 0;
};

}  // namespace mediapath::testing
