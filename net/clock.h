#pragma once

#include <chrono>
#include <cstdint>
#include <random>
#include <string>

namespace mediapath::net {

/// Time source. Production code uses SystemClock; unit tests inject a fake so scheduling,
/// health and hold-time logic can be asserted exactly.
class Clock {
 public:
  virtual ~Clock() = default;
  /// Monotonic time for intervals and timeouts.
  virtual std::chrono::steady_clock::time_point now() const = 0;
  /// Wall-clock time for records humans read (audit trail, API intervals).
  virtual std::chrono::system_clock::time_point wallNow() const = 0;
  /// Whether now() is std::chrono::steady_clock itself. Kernel timestamps are mapped onto that
  /// clock (net/kernel_timestamp.h), so only then may they be compared with now(); a fake
  /// clock's times are not, and its users time by it alone.
  virtual bool isSteadyClock() const { return false; }
};

/// ISO-8601 UTC, "2026-11-28T01:02:03Z", or with `millis` "2026-11-28T01:02:03.456Z": the one
/// time format of logs, audit records, the status page and Genesys API intervals.
std::string formatUtc(std::chrono::system_clock::time_point t, bool millis = false);

/// Whether `clock` (nullptr: the steady clock) can be compared with kernel timestamps.
inline bool kernelTimeComparable(const Clock* clock) {
  return clock == nullptr || clock->isSteadyClock();
}

/// `clock`'s monotonic time, or the steady clock's when there is none (contexts built without
/// a clock, e.g. in benches and the `probe` command).
inline std::chrono::steady_clock::time_point nowFrom(const Clock* clock) {
  return clock != nullptr ? clock->now() : std::chrono::steady_clock::now();
}

class SystemClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point now() const override {
    return std::chrono::steady_clock::now();
  }
  std::chrono::system_clock::time_point wallNow() const override {
    return std::chrono::system_clock::now();
  }
  bool isSteadyClock() const override { return true; }
};

/// Randomness source (start-time spreading, backoff jitter, transaction ids). Tests inject a
/// seeded or scripted one.
class Random {
 public:
  virtual ~Random() = default;
  virtual std::uint64_t next() = 0;
  /// Uniform in [0, 1).
  double uniform() {
    return static_cast<double>(next() >> 11) * (1.0 / static_cast<double>(1ULL << 53));
  }
};

class SeededRandom final : public Random {
 public:
  explicit SeededRandom(std::uint64_t seed) : engine_(seed) {}
  std::uint64_t next() override { return engine_(); }

 private:
  std::mt19937_64 engine_;
};

/// Seeded from std::random_device: for production use.
class SystemRandom final : public Random {
 public:
  SystemRandom() : engine_(std::random_device{}()) {}
  std::uint64_t next() override { return engine_(); }

 private:
  std::mt19937_64 engine_;
};

}  // namespace mediapath::net
