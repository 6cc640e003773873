#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "probes/probe.h"

namespace mediapath::net {
class Clock;
class EventLoop;
class Random;
}  // namespace mediapath::net

namespace mediapath::agent {

/// A one-shot timer. The scheduler's only contact with time passing, so tests drive it with a
/// fake (tests/agent/scheduler_fakes.h) and assert the exact delays it is armed with.
class Timer {
 public:
  virtual ~Timer() = default;
  /// (Re)arms: `callback` runs once after `delay`, replacing any previous arming. The callback
  /// may restart or destroy the timer.
  virtual void start(std::chrono::milliseconds delay, std::function<void()> callback) = 0;
  /// After stop() (or destruction) the callback does not run.
  virtual void stop() = 0;
};

class TimerFactory {
 public:
  virtual ~TimerFactory() = default;
  virtual std::unique_ptr<Timer> create() = 0;
};

/// Timers on a libuv loop (net::UvTimer). `loop` must outlive the factory and its timers.
class UvTimerFactory final : public TimerFactory {
 public:
  explicit UvTimerFactory(net::EventLoop& loop) : loop_(loop) {}
  std::unique_ptr<Timer> create() override;

 private:
  net::EventLoop& loop_;
};

/// Makes the Probe that runs every round of one target (production: probes::makeProbe).
using ProbeFactory = std::function<std::unique_ptr<probes::Probe>(const probes::ProbeTarget&)>;
using ResultCallback = std::function<void(const probes::ProbeResult&)>;

struct SchedulerOptions {
  /// Extra time a probe gets past its own deadline (timeout + burst spacing) before the
  /// scheduler gives up on the round. The probe normally reports first, with richer detail.
  std::chrono::milliseconds round_grace{250};
  /// Run exactly one round of every target, all starting at once (the `probe` command).
  bool one_round = false;
  /// First starts are rounded down to a multiple of this (counted from start()), so targets
  /// whose slots fall in the same 20 ms share one loop wake-up: timer coalescing, as the kernel's
  /// timer slack does. At 10,000 targets per second 10 ms turned ~1,000 wake-ups a second into
  /// ~100, and a wake-up (a context switch) cost more than the probe work it ran: agent CPU
  /// 11.5% -> 9.5% of a core in bench_stun_scale. 20 ms halves them again: at 500 tcp probes a
  /// second, 30.3 -> 25.9 µs of CPU per probe (bench_tcp_probe --granularity-ms, same script).
  /// 50 distinct start points per second still spread small fleets, and a round that starts up
  /// to 20 ms before its slot changes nothing at intervals of a second or more; 1 ms restores
  /// exact millisecond placement.
  std::chrono::milliseconds start_granularity{20};
  /// Told of every tick a target skipped (`ticks` at once after a stalled loop), as they happen:
  /// mediapath_probe_rounds_skipped_total. A target that keeps skipping is probed less often
  /// than configured.
  std::function<void(const std::string& target, std::uint64_t ticks)> on_skipped;
};

/// Per-target counters, for metrics and tests.
struct SessionStats {
  std::uint64_t rounds_started = 0;
  std::uint64_t rounds_completed = 0;  ///< the probe reported (success or failure)
  std::uint64_t rounds_timed_out = 0;  ///< the scheduler cut the round off
  std::uint64_t ticks_skipped = 0;     ///< a tick came while the previous round still ran
  std::uint64_t confirm_rounds = 0;    ///< rounds run early by confirm()
};

/// Runs every target on its own interval, in the manner of Envoy's health-checker sessions:
/// - first start times are spread over the interval: with N targets, target i starts at a
///   random point of slot i, interval * (i + u) / N, u from the injected Random, rounded down
///   to `start_granularity` — so starts are deterministic in tests and never bunched beyond
///   one granularity step in production;
/// - ticks then follow a fixed grid, first_start + k * interval (no drift from probe time);
/// - a target is never probed twice at once: a tick that finds the previous round still
///   running is skipped and counted;
/// - each round has a deadline (timeout + (packets - 1) * spacing + round_grace) enforced by a
///   loop timer: the probe is cancelled and a failed result delivered;
/// - sessions are independent: a slow or dead target never delays the others;
/// - confirm() pulls a target's next round forward (fast confirmation of a suspected failure);
///   the grid resumes after it, at the first grid point after that round ends.
/// Results go to `on_result` on the loop thread, in completion order.
///
/// Thread safety: loop thread only. The factory, clock and random must outlive the scheduler.
class Scheduler {
 public:
  Scheduler(TimerFactory& timers, const net::Clock& clock, net::Random& random,
            ProbeFactory probe_factory, ResultCallback on_result, SchedulerOptions options = {});
  ~Scheduler();

  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  /// Adds a target before start(). Throws std::invalid_argument for a non-positive interval or
  /// a duplicate name.
  void add(probes::ProbeTarget target, std::chrono::milliseconds interval);
  /// Arms every session. Call once.
  void start();
  /// Cancels running rounds and timers; no result is delivered afterwards.
  void stop();

  /// Fast confirmation (DESIGN.md "Health and failover"): the target's next round starts
  /// `after` from now, instead of at its next grid point, and probes with `timeout` instead of
  /// the target's own. One round only: unless confirm() is called again (normally from the
  /// result callback of that round), the target returns to its grid at the first grid point
  /// after the round ended; the grid points the confirmation replaced are not counted as
  /// skipped. Called while a round runs, it takes effect when that round ends. Ignored for an
  /// unknown target, after stop() and in one_round mode.
  void confirm(const std::string& target, std::chrono::milliseconds after,
               std::chrono::milliseconds timeout);

  /// Targets whose round is running now.
  int busy() const;
  /// Counters of one target; nullptr for an unknown name.
  const SessionStats* stats(const std::string& target) const;
  /// When the target's next round is due (steady clock); for tests and the status page.
  std::chrono::steady_clock::time_point nextStart(const std::string& target) const;

 private:
  class Session;
  using TimePoint = std::chrono::steady_clock::time_point;

  // The agenda: sessions by their next start. One timer for the earliest time point instead
  // of one per target: at 10,000 targets libuv's timer heap held 10,000 tick timers and its
  // updates were the agent's largest user-space cost; start_granularity makes most targets
  // share a time point, so the agenda is short.
  void schedule(Session* session, TimePoint at);
  void unschedule(Session* session, TimePoint at);
  void armAgenda();
  void onAgenda();

  TimerFactory& timers_;
  const net::Clock& clock_;
  net::Random& random_;
  ProbeFactory probe_factory_;
  ResultCallback on_result_;
  SchedulerOptions options_;
  std::vector<std::unique_ptr<Session>> sessions_;  // in add() order: the spread's slot order
  std::unordered_map<std::string, Session*> by_name_;
  std::map<TimePoint, std::vector<Session*>> agenda_;
  std::unique_ptr<Timer> agenda_timer_;
  std::optional<TimePoint> agenda_armed_for_;
  bool in_agenda_ = false;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace mediapath::agent
