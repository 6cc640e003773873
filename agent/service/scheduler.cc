#include "agent/service/scheduler.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>

#include "net/clock.h"
#include "net/event_loop.h"
#include "net/uv_timer.h"

namespace mediapath::agent {
namespace {

using std::chrono::milliseconds;
using TimePoint = std::chrono::steady_clock::time_point;

class LoopTimer final : public Timer {
 public:
  explicit LoopTimer(net::EventLoop& loop) : timer_(loop.get()) {}
  void start(milliseconds delay, std::function<void()> callback) override {
    timer_.start(delay, std::move(callback));
  }
  void stop() override { timer_.stop(); }

 private:
  net::UvTimer timer_;
};

// "2s", "2.25s", "800ms": how long the scheduler waited, in the error a human reads.
std::string describe(milliseconds d) {
  if (d.count() < 1000) return std::to_string(d.count()) + "ms";
  std::string s = std::to_string(d.count() / 1000);
  if (auto frac = d.count() % 1000; frac != 0) {
    std::string f = std::to_string(1000 + frac).substr(1);
    while (!f.empty() && f.back() == '0') f.pop_back();
    s += "." + f;
  }
  return s + "s";
}

std::string targetAddress(const probes::ProbeTarget& t) {
  if (t.kind == probes::Kind::kDns) return t.host;
  bool v6 = t.host.find(':') != std::string::npos;
  return (v6 ? "[" + t.host + "]" : t.host) + ":" + std::to_string(t.port);
}

}  // namespace

std::unique_ptr<Timer> UvTimerFactory::create() { return std::make_unique<LoopTimer>(loop_); }

class Scheduler::Session {
 public:
  Session(Scheduler& owner, probes::ProbeTarget target, milliseconds interval)
      : owner_(owner),
        target_(std::move(target)),
        interval_(interval),
        round_timer_(owner.timers_.create()) {}

  const std::string& name() const { return target_.name; }
  milliseconds interval() const { return interval_; }
  bool running() const { return running_; }
  const SessionStats& stats() const { return stats_; }
  TimePoint nextStart() const { return next_start_; }

  void arm(TimePoint first_start) {
    grid_ = first_start;
    next_start_ = first_start;
    armTick();
  }

  /// Called by the agenda when next_start_ is due.
  void onDue() {
    scheduled_ = false;
    if (confirm_timeout_) {
      onConfirmTick();
    } else {
      onTick();
    }
  }

  void confirm(milliseconds after, milliseconds timeout) {
    pending_confirm_ = PendingConfirm{after, timeout};
    if (!running_) applyConfirm();  // else when the running round ends
  }

  void stop() {
    if (scheduled_) owner_.unschedule(this, next_start_);
    scheduled_ = false;
    pending_confirm_.reset();
    confirm_timeout_.reset();
    round_timer_->stop();
    if (running_) {
      running_ = false;
      if (probe_) probe_->cancel();
    }
  }

 private:
  struct PendingConfirm {
    milliseconds after;
    milliseconds timeout;
  };

  void armTick() {
    owner_.schedule(this, next_start_);
    scheduled_ = true;
  }

  void onTick() {
    TimePoint now = owner_.clock_.now();
    grid_ += interval_;
    // A loop stalled for whole intervals (suspend, debugger) skips the missed ticks instead of
    // firing them back to back.
    std::uint64_t skipped = 0;
    while (grid_ <= now) {
      grid_ += interval_;
      ++skipped;
    }
    next_start_ = grid_;
    // Never two rounds of one target at once: the slow round keeps going, this tick is lost.
    if (running_) ++skipped;
    if (skipped > 0) {
      stats_.ticks_skipped += skipped;
      if (owner_.options_.on_skipped) owner_.options_.on_skipped(target_.name, skipped);
    }
    if (!running_) {
      confirm_round_ = false;
      startRound(target_.timeout);
    }
    // The round's result callback (possibly synchronous) may have stopped the scheduler or
    // asked for a confirmation round, which is then on the agenda already.
    if (owner_.stopped_ || owner_.options_.one_round || scheduled_) return;
    armTick();
  }

  // A confirmation round replaces the grid: nothing else is scheduled until it ends, so its
  // result decides what comes next (another confirmation, or the grid).
  void onConfirmTick() {
    milliseconds timeout = *confirm_timeout_;
    confirm_timeout_.reset();
    ++stats_.confirm_rounds;
    confirm_round_ = true;
    startRound(timeout);
  }

  void applyConfirm() {
    PendingConfirm c = *pending_confirm_;
    pending_confirm_.reset();
    if (owner_.stopped_ || owner_.options_.one_round) return;
    if (scheduled_) owner_.unschedule(this, next_start_);
    confirm_timeout_ = c.timeout;
    next_start_ = owner_.clock_.now() + c.after;
    armTick();
  }

  // After a round: a confirmation asked for meanwhile goes on the agenda; after a confirmation
  // round that asked for nothing more, the grid resumes at its first point still ahead.
  void afterRound(bool was_confirm_round) {
    if (owner_.stopped_ || owner_.options_.one_round) return;
    if (pending_confirm_) {
      applyConfirm();
      return;
    }
    if (!was_confirm_round || scheduled_) return;
    TimePoint now = owner_.clock_.now();
    while (grid_ <= now) grid_ += interval_;
    next_start_ = grid_;
    armTick();
  }

  milliseconds roundBudget(milliseconds timeout) const {
    return probes::roundLength(target_.kind, timeout, target_.burst, target_.stream) +
           owner_.options_.round_grace;
  }

  void startRound(milliseconds timeout) {
    if (!probe_) probe_ = owner_.probe_factory_(target_);
    ++stats_.rounds_started;
    round_budget_ = roundBudget(timeout);
    if (!probe_) {
      ++stats_.rounds_completed;
      probes::ProbeResult r;
      r.target = target_.name;
      r.kind = target_.kind;
      r.address = targetAddress(target_);
      r.error = "no probe available for kind " + std::string(probes::kindName(target_.kind));
      // Through finishRound like any other round: a confirmation round that ends here must
      // hand back to the grid, or the target would never run again.
      finishRound(r);
      return;
    }
    running_ = true;
    std::uint64_t round = ++round_id_;
    round_timer_->start(round_budget_, [this] { onRoundTimeout(); });
    // The probe reads its deadline from the target it is given; a confirmation round gets a
    // copy with the adapted timeout (kept alive for the round, probes may hold the reference).
    const probes::ProbeTarget* target = &target_;
    if (timeout != target_.timeout) {
      round_target_ = target_;
      round_target_.timeout = timeout;
      target = &round_target_;
    }
    probe_->start(*target, [this, round](const probes::ProbeResult& r) { onResult(round, r); });
  }

  void onResult(std::uint64_t round, const probes::ProbeResult& r) {
    if (!running_ || round != round_id_) return;  // a late report of a round already cut off
    running_ = false;
    round_timer_->stop();
    ++stats_.rounds_completed;
    finishRound(r);
  }

  void onRoundTimeout() {
    if (!running_) return;
    running_ = false;
    if (probe_) probe_->cancel();
    ++stats_.rounds_timed_out;
    probes::ProbeResult r;
    r.target = target_.name;
    r.kind = target_.kind;
    r.address = targetAddress(target_);
    r.ok = false;
    r.error = "timeout after " + describe(round_budget_) + " (the probe did not report)";
    finishRound(r);
  }

  void finishRound(const probes::ProbeResult& r) {
    bool was_confirm_round = confirm_round_;
    confirm_round_ = false;
    owner_.on_result_(r);
    afterRound(was_confirm_round);
  }

  Scheduler& owner_;
  probes::ProbeTarget target_;
  probes::ProbeTarget round_target_;  // target_ with a confirmation round's timeout
  milliseconds interval_;
  std::unique_ptr<Timer> round_timer_;  // armed only while a round runs
  std::unique_ptr<probes::Probe> probe_;
  TimePoint grid_{};        // the next point of the grid first_start + k * interval
  TimePoint next_start_{};  // grid_, or when a confirmation round is due
  bool scheduled_ = false;  // on the agenda at next_start_
  bool running_ = false;
  std::optional<PendingConfirm> pending_confirm_;  // asked for while a round ran
  std::optional<milliseconds> confirm_timeout_;    // the agenda entry is a confirmation round
  bool confirm_round_ = false;                     // the running round is one
  milliseconds round_budget_{0};
  std::uint64_t round_id_ = 0;
  SessionStats stats_;
};

Scheduler::Scheduler(TimerFactory& timers, const net::Clock& clock, net::Random& random,
                     ProbeFactory probe_factory, ResultCallback on_result, SchedulerOptions options)
    : timers_(timers),
      clock_(clock),
      random_(random),
      probe_factory_(std::move(probe_factory)),
      on_result_(std::move(on_result)),
      options_(std::move(options)),
      agenda_timer_(timers_.create()) {}

Scheduler::~Scheduler() { stop(); }

void Scheduler::schedule(Session* session, TimePoint at) {
  agenda_[at].push_back(session);
  if (!in_agenda_ && (!agenda_armed_for_ || at < *agenda_armed_for_)) armAgenda();
}

void Scheduler::unschedule(Session* session, TimePoint at) {
  auto it = agenda_.find(at);
  if (it == agenda_.end()) return;
  std::erase(it->second, session);
  // The timer may stay armed for an emptied time point; onAgenda() then finds nothing due.
  if (it->second.empty()) agenda_.erase(it);
}

void Scheduler::armAgenda() {
  if (agenda_.empty()) {
    agenda_timer_->stop();
    agenda_armed_for_.reset();
    return;
  }
  TimePoint at = agenda_.begin()->first;
  // Rounded up so the timer never fires before the grid point.
  auto delay = std::max(std::chrono::ceil<milliseconds>(at - clock_.now()), milliseconds(0));
  agenda_armed_for_ = at;
  agenda_timer_->start(delay, [this] { onAgenda(); });
}

void Scheduler::onAgenda() {
  // What the timer was armed for is due even if the clock reads a hair earlier (libuv fires
  // timers by its cached, whole-millisecond loop time).
  TimePoint due = std::max(clock_.now(), agenda_armed_for_.value_or(TimePoint{}));
  agenda_armed_for_.reset();
  in_agenda_ = true;
  while (!agenda_.empty() && agenda_.begin()->first <= due) {
    // Taken off the agenda first: each session puts itself back at its next start.
    auto node = agenda_.extract(agenda_.begin());
    for (Session* session : node.mapped()) {
      session->onDue();
      if (stopped_) break;  // a result callback stopped the scheduler
    }
    if (stopped_) break;
  }
  in_agenda_ = false;
  if (!stopped_) armAgenda();
}

void Scheduler::confirm(const std::string& target, milliseconds after, milliseconds timeout) {
  if (stopped_ || options_.one_round) return;
  auto it = by_name_.find(target);
  if (it == by_name_.end()) return;
  it->second->confirm(std::max(after, milliseconds(0)), timeout);
}

void Scheduler::add(probes::ProbeTarget target, milliseconds interval) {
  if (interval.count() <= 0) {
    throw std::invalid_argument("target " + target.name + ": interval must be positive");
  }
  if (by_name_.contains(target.name)) {
    throw std::invalid_argument("target " + target.name + " added twice");
  }
  auto session = std::make_unique<Session>(*this, std::move(target), interval);
  by_name_.emplace(session->name(), session.get());
  sessions_.push_back(std::move(session));
}

void Scheduler::start() {
  if (started_) return;
  started_ = true;
  TimePoint now = clock_.now();
  const double n = static_cast<double>(sessions_.size());
  for (std::size_t i = 0; i < sessions_.size(); ++i) {
    Session& s = *sessions_[i];
    milliseconds offset{0};
    if (!options_.one_round) {
      // Stratified jitter: slot i of N, a random point inside it. Random enough that sites do
      // not synchronise, and no two targets can pile up in the same slot.
      double fraction = (static_cast<double>(i) + random_.uniform()) / n;
      auto point = static_cast<milliseconds::rep>(
          std::floor(fraction * static_cast<double>(s.interval().count())));
      auto step = std::max<milliseconds::rep>(1, options_.start_granularity.count());
      offset = milliseconds(point / step * step);
    }
    s.arm(now + offset);
  }
}

void Scheduler::stop() {
  stopped_ = true;
  for (auto& s : sessions_) s->stop();
  agenda_.clear();
  agenda_timer_->stop();
  agenda_armed_for_.reset();
}

int Scheduler::busy() const {
  return static_cast<int>(std::count_if(sessions_.begin(), sessions_.end(),
                                        [](const auto& s) { return s->running(); }));
}

const SessionStats* Scheduler::stats(const std::string& target) const {
  auto it = by_name_.find(target);
  return it != by_name_.end() ? &it->second->stats() : nullptr;
}

std::chrono::steady_clock::time_point Scheduler::nextStart(const std::string& target) const {
  auto it = by_name_.find(target);
  return it != by_name_.end() ? it->second->nextStart() : std::chrono::steady_clock::time_point{};
}

}  // namespace mediapath::agent
