#include "agent/service/scheduler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/event_loop.h"
#include "net/uv_timer.h"
#include "tests/agent/scheduler_fakes.h"

namespace mediapath::agent {
namespace {

using std::chrono::milliseconds;
using testing::FakeClock;
using testing::FakeProbe;
using testing::FakeTimerFactory;
using testing::ScriptedRandom;
using testing::TimePoint;

probes::ProbeTarget makeTarget(const std::string& name, milliseconds timeout = milliseconds(500)) {
  probes::ProbeTarget t;
  t.name = name;
  t.kind = probes::Kind::kTcp;
  t.host = "127.0.0.1";
  t.port = 9;
  t.timeout = timeout;
  return t;
}

struct Harness {
  explicit Harness(std::vector<double> uniforms, SchedulerOptions options = {})
      : random(std::move(uniforms)) {
    scheduler = std::make_unique<Scheduler>(
        timers, clock, random,
        [this](const probes::ProbeTarget& t) {
          auto p = std::make_unique<FakeProbe>(timers, reply_after[t.name]);
          probes[t.name] = p.get();
          return p;
        },
        [this](const probes::ProbeResult& r) {
          results.push_back(r);
          result_times.push_back(clock.now());
          if (on_result) on_result(r);
        },
        options);
  }

  milliseconds sinceEpoch(TimePoint t) const {
    return std::chrono::duration_cast<milliseconds>(t - FakeClock::epoch());
  }
  std::vector<milliseconds> startsOf(const std::string& name) const {
    std::vector<milliseconds> out;
    for (TimePoint t : probes.at(name)->starts) out.push_back(sinceEpoch(t));
    return out;
  }
  int resultsFor(const std::string& name) const {
    int n = 0;
    for (const auto& r : results) n += r.target == name ? 1 : 0;
    return n;
  }
  void advanceTo(milliseconds since_epoch) { timers.advanceTo(FakeClock::epoch() + since_epoch); }

  FakeClock clock;
  FakeTimerFactory timers{clock};
  ScriptedRandom random;
  std::map<std::string, std::optional<milliseconds>> reply_after;
  std::map<std::string, FakeProbe*> probes;
  std::vector<probes::ProbeResult> results;
  std::vector<TimePoint> result_times;
  std::function<void(const probes::ProbeResult&)> on_result;  // runs after recording
  std::unique_ptr<Scheduler> scheduler;
};

std::vector<milliseconds> ms(std::initializer_list<long> values) {
  std::vector<milliseconds> out;
  for (long v : values) out.emplace_back(v);
  return out;
}

TEST(SchedulerTest, FirstStartsAreSpreadOneTargetPerSlotOfTheInterval) {
  // Four targets, 1 s interval: slot i is [250 i, 250 (i+1)); the random value picks the point
  // inside it: floor(1000 * (i + u) / 4), to the millisecond with a 1 ms granularity.
  SchedulerOptions exact;
  exact.start_granularity = milliseconds(1);
  Harness h({0.5, 0.25, 0.0, 0.75}, exact);
  for (const char* name : {"a", "b", "c", "d"}) {
    h.reply_after[name] = milliseconds(10);
    h.scheduler->add(makeTarget(name), milliseconds(1000));
  }
  h.scheduler->start();
  EXPECT_EQ(h.sinceEpoch(h.scheduler->nextStart("a")), milliseconds(125));
  EXPECT_EQ(h.sinceEpoch(h.scheduler->nextStart("b")), milliseconds(312));
  EXPECT_EQ(h.sinceEpoch(h.scheduler->nextStart("c")), milliseconds(500));
  EXPECT_EQ(h.sinceEpoch(h.scheduler->nextStart("d")), milliseconds(937));
  EXPECT_TRUE(h.probes.empty()) << "nothing may start before the loop runs";

  h.advanceTo(milliseconds(999));
  EXPECT_EQ(h.startsOf("a"), ms({125}));
  EXPECT_EQ(h.startsOf("b"), ms({312}));
  EXPECT_EQ(h.startsOf("c"), ms({500}));
  EXPECT_EQ(h.startsOf("d"), ms({937}));
}

TEST(SchedulerTest, SeededRandomSpreadKeepsEveryTargetInItsOwnSlot) {
  net::SeededRandom random(42);
  FakeClock clock;
  FakeTimerFactory timers(clock);
  std::vector<TimePoint> starts;
  Scheduler s(
      timers, clock, random,
      [&](const probes::ProbeTarget&) {
        return std::make_unique<FakeProbe>(timers, milliseconds(1));
      },
      [](const probes::ProbeResult&) {});
  const int n = 10;
  for (int i = 0; i < n; ++i) s.add(makeTarget("t" + std::to_string(i)), milliseconds(5000));
  s.start();
  for (int i = 0; i < n; ++i) {
    auto offset = s.nextStart("t" + std::to_string(i)) - FakeClock::epoch();
    EXPECT_GE(offset, milliseconds(500 * i)) << i;
    EXPECT_LT(offset, milliseconds(500 * (i + 1))) << i;
  }
}

TEST(SchedulerTest, ManyTargetsCoalesceOnTheGranularityGrid) {
  // 1,000 targets at 1 s with the default 20 ms granularity: 50 start points, 20 targets each,
  // every one at most one step before its own slot.
  net::SeededRandom random(7);
  FakeClock clock;
  FakeTimerFactory timers(clock);
  Scheduler s(
      timers, clock, random,
      [&](const probes::ProbeTarget&) {
        return std::make_unique<FakeProbe>(timers, milliseconds(1));
      },
      [](const probes::ProbeResult&) {});
  ASSERT_EQ(SchedulerOptions{}.start_granularity, milliseconds(20));
  const int n = 1000;
  for (int i = 0; i < n; ++i) s.add(makeTarget("t" + std::to_string(i)), milliseconds(1000));
  s.start();
  std::map<long, int> per_point;
  for (int i = 0; i < n; ++i) {
    auto offset = std::chrono::duration_cast<milliseconds>(s.nextStart("t" + std::to_string(i)) -
                                                           FakeClock::epoch());
    EXPECT_EQ(offset.count() % 20, 0) << i;
    EXPECT_GT(offset.count(), i - 20) << i;  // slot i starts at i ms
    EXPECT_LE(offset.count(), i) << i;
    ++per_point[offset.count()];
  }
  EXPECT_EQ(per_point.size(), 50u);
  for (const auto& [point, count] : per_point) EXPECT_EQ(count, 20) << point;
  // One timer waits for the earliest start, not one per target.
  auto armed = [&] {
    return std::count_if(timers.timers().begin(), timers.timers().end(),
                         [](const auto* t) { return t->armed(); });
  };
  EXPECT_EQ(armed(), 1);
  // After a full interval every target has had its first round, on the same 50 points.
  timers.advanceTo(FakeClock::epoch() + milliseconds(999));
  for (int i = 0; i < n; ++i) {
    const auto* stats = s.stats("t" + std::to_string(i));
    ASSERT_NE(stats, nullptr);
    EXPECT_EQ(stats->rounds_started, 1u) << i;
    EXPECT_EQ(stats->rounds_completed, 1u) << i;
  }
  EXPECT_EQ(armed(), 1);  // rounds are over: only the agenda's timer is armed
}

TEST(SchedulerTest, RoundsFollowAFixedGridWhateverTheProbeTakes) {
  Harness h({0.4});  // one target: offset floor(1000 * 0.4) = 400
  h.reply_after["a"] = milliseconds(137);
  h.scheduler->add(makeTarget("a"), milliseconds(1000));
  h.scheduler->start();
  h.advanceTo(milliseconds(4000));
  EXPECT_EQ(h.startsOf("a"), ms({400, 1400, 2400, 3400}));
  EXPECT_EQ(h.sinceEpoch(h.scheduler->nextStart("a")), milliseconds(4400));
  ASSERT_EQ(h.results.size(), 4u);
  EXPECT_EQ(h.sinceEpoch(h.result_times[0]), milliseconds(537));
  EXPECT_TRUE(h.results[0].ok);
  const SessionStats* st = h.scheduler->stats("a");
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->rounds_started, 4u);
  EXPECT_EQ(st->rounds_completed, 4u);
  EXPECT_EQ(st->ticks_skipped, 0u);
}

TEST(SchedulerTest, TickIsSkippedAndCountedWhileTheRoundStillRuns) {
  // A 2.5 s timeout on a 1 s interval (the config loader forbids it; the scheduler must still
  // cope): the round runs through two ticks, which are skipped, then is cut off at
  // 2500 + 250 ms grace.
  std::vector<std::pair<std::string, std::uint64_t>> skips;  // what the metric is told
  SchedulerOptions options;
  options.on_skipped = [&](const std::string& target, std::uint64_t ticks) {
    skips.emplace_back(target, ticks);
  };
  Harness h({0.0}, options);
  h.scheduler->add(makeTarget("slow", milliseconds(2500)), milliseconds(1000));
  h.scheduler->start();
  h.advanceTo(milliseconds(0));
  EXPECT_EQ(h.startsOf("slow"), ms({0}));
  EXPECT_EQ(h.scheduler->busy(), 1);

  h.advanceTo(milliseconds(2749));
  EXPECT_EQ(h.startsOf("slow"), ms({0})) << "never two rounds of one target at once";
  EXPECT_TRUE(h.results.empty());
  EXPECT_EQ(h.scheduler->stats("slow")->ticks_skipped, 2u);
  using Skip = std::pair<std::string, std::uint64_t>;
  EXPECT_EQ(skips, (std::vector<Skip>{{"slow", 1}, {"slow", 1}}));  // at 1 s and at 2 s

  h.advanceTo(milliseconds(2750));
  ASSERT_EQ(h.results.size(), 1u);
  EXPECT_FALSE(h.results[0].ok);
  EXPECT_EQ(h.results[0].error, "timeout after 2.75s (the probe did not report)");
  EXPECT_EQ(h.results[0].address, "127.0.0.1:9");
  EXPECT_EQ(h.probes["slow"]->cancels, 1);
  EXPECT_EQ(h.scheduler->busy(), 0);

  h.advanceTo(milliseconds(3000));
  EXPECT_EQ(h.startsOf("slow"), ms({0, 3000}));
  const SessionStats* st = h.scheduler->stats("slow");
  EXPECT_EQ(st->rounds_started, 2u);
  EXPECT_EQ(st->rounds_timed_out, 1u);
  EXPECT_EQ(st->rounds_completed, 0u);
}

TEST(SchedulerTest, ReportAfterTheDeadlineIsIgnored) {
  Harness h({0.0});
  h.scheduler->add(makeTarget("a", milliseconds(300)), milliseconds(1000));
  h.scheduler->start();
  h.advanceTo(milliseconds(600));  // cut off at 300 + 250
  ASSERT_EQ(h.results.size(), 1u);
  h.probes["a"]->replyAfterCancel();
  EXPECT_EQ(h.results.size(), 1u);
  EXPECT_EQ(h.scheduler->stats("a")->rounds_completed, 0u);
}

TEST(SchedulerTest, DeadTargetNeverDelaysTheOthers) {
  Harness h({0.0, 0.0});  // "dead" at 0, "live" at 500
  h.reply_after["live"] = milliseconds(20);
  h.scheduler->add(makeTarget("dead", milliseconds(700)), milliseconds(1000));
  h.scheduler->add(makeTarget("live"), milliseconds(1000));
  h.scheduler->start();
  h.advanceTo(milliseconds(4999));
  EXPECT_EQ(h.startsOf("live"), ms({500, 1500, 2500, 3500, 4500}));
  EXPECT_EQ(h.startsOf("dead"), ms({0, 1000, 2000, 3000, 4000}));
  EXPECT_EQ(h.resultsFor("live"), 5);
  EXPECT_EQ(h.resultsFor("dead"), 5);
  for (const auto& r : h.results) EXPECT_EQ(r.ok, r.target == "live") << r.target;
  // Every live result arrived exactly 20 ms after its start.
  for (std::size_t i = 0; i < h.results.size(); ++i) {
    if (h.results[i].target != "live") continue;
    auto at = h.sinceEpoch(h.result_times[i]).count();
    EXPECT_EQ(at % 1000, 520) << at;
  }
}

TEST(SchedulerTest, StalledLoopSkipsMissedTicksInsteadOfBursting) {
  std::vector<std::pair<std::string, std::uint64_t>> skips;
  SchedulerOptions options;
  options.on_skipped = [&](const std::string& target, std::uint64_t ticks) {
    skips.emplace_back(target, ticks);
  };
  Harness h({0.0}, options);
  h.reply_after["a"] = milliseconds(5);
  h.scheduler->add(makeTarget("a"), milliseconds(1000));
  h.scheduler->start();
  h.advanceTo(milliseconds(10));  // round at 0 done
  // The loop is blocked (suspend, debugger) until 3.5 s, then the 1 s tick fires late.
  h.clock.set(FakeClock::epoch() + milliseconds(3500));
  h.advanceTo(milliseconds(3500));
  EXPECT_EQ(h.startsOf("a"), ms({0, 3500}));
  EXPECT_EQ(h.scheduler->stats("a")->ticks_skipped, 2u);  // 2 s and 3 s
  using Skip = std::pair<std::string, std::uint64_t>;
  EXPECT_EQ(skips, (std::vector<Skip>{{"a", 2}}));  // told once, when the loop woke up
  EXPECT_EQ(h.sinceEpoch(h.scheduler->nextStart("a")), milliseconds(4000));
  h.advanceTo(milliseconds(4000));
  EXPECT_EQ(h.startsOf("a"), ms({0, 3500, 4000}));
}

TEST(SchedulerTest, OneRoundModeStartsEverythingAtOnceAndStops) {
  SchedulerOptions options;
  options.one_round = true;
  Harness h({0.9, 0.9}, options);
  h.reply_after["a"] = milliseconds(30);
  h.reply_after["b"] = milliseconds(70);
  h.scheduler->add(makeTarget("a"), milliseconds(1000));
  h.scheduler->add(makeTarget("b"), milliseconds(5000));
  h.scheduler->start();
  h.advanceTo(milliseconds(10000));
  EXPECT_EQ(h.startsOf("a"), ms({0}));
  EXPECT_EQ(h.startsOf("b"), ms({0}));
  ASSERT_EQ(h.results.size(), 2u);
  EXPECT_EQ(h.results[0].target, "a");
  EXPECT_EQ(h.sinceEpoch(h.result_times[1]), milliseconds(70));
  for (const auto* t : h.timers.timers()) EXPECT_FALSE(t->armed());
}

TEST(SchedulerTest, StopCancelsRunningRoundsAndDeliversNothingMore) {
  Harness h({0.0});
  h.scheduler->add(makeTarget("a"), milliseconds(1000));
  h.scheduler->start();
  h.advanceTo(milliseconds(100));
  ASSERT_TRUE(h.probes["a"]->inFlight());
  h.scheduler->stop();
  EXPECT_EQ(h.probes["a"]->cancels, 1);
  h.advanceTo(milliseconds(10000));
  EXPECT_TRUE(h.results.empty());
  EXPECT_EQ(h.startsOf("a"), ms({0}));
}

TEST(SchedulerTest, RoundDeadlineIncludesTheBurst) {
  Harness h({0.0});
  probes::ProbeTarget t = makeTarget("burst", milliseconds(1000));
  t.burst.packets = 5;
  t.burst.spacing = milliseconds(20);
  h.scheduler->add(t, milliseconds(5000));
  h.scheduler->start();
  h.advanceTo(milliseconds(1329));  // 1000 + 4 x 20 + 250 = 1330
  EXPECT_TRUE(h.results.empty());
  h.advanceTo(milliseconds(1330));
  ASSERT_EQ(h.results.size(), 1u);
  EXPECT_EQ(h.results[0].error, "timeout after 1.33s (the probe did not report)");
}

// A relay round is set-up, stream and release, each phase bounded by the timeout: cutting it at
// one timeout would fail every healthy round whose stream outlasts it (1 s by default).
TEST(SchedulerTest, RelayRoundDeadlineIsThreeTimeoutsAroundTheStream) {
  Harness h({0.0});
  probes::ProbeTarget t = makeTarget("loop", milliseconds(300));
  t.kind = probes::Kind::kRelay;
  t.stream.packets = 50;
  t.stream.spacing = milliseconds(20);
  h.scheduler->add(t, milliseconds(5000));
  h.scheduler->start();
  h.advanceTo(milliseconds(2129));  // 3 x 300 + 49 x 20 + 250 = 2130
  EXPECT_TRUE(h.results.empty());
  h.advanceTo(milliseconds(2130));
  ASSERT_EQ(h.results.size(), 1u);
  EXPECT_EQ(h.results[0].error, "timeout after 2.13s (the probe did not report)");
}

// Fast confirmation (DESIGN.md "Health and failover"): what the runtime does after a failed
// round, with the scheduler's exact timing.
TEST(SchedulerTest, ConfirmRunsTheNextRoundEarlyWithItsTimeoutThenTheGridResumes) {
  Harness h({0.0});  // first start at 0, grid 0, 1000, 2000, ...
  h.scheduler->add(makeTarget("a", milliseconds(500)), milliseconds(1000));
  h.on_result = [&](const probes::ProbeResult& r) {
    if (!r.ok) h.scheduler->confirm("a", milliseconds(200), milliseconds(100));
  };
  h.scheduler->start();
  h.advanceTo(milliseconds(10));
  h.probes["a"]->reply(false);  // the grid round fails at 10
  EXPECT_EQ(h.sinceEpoch(h.scheduler->nextStart("a")), milliseconds(210));

  // The confirmation round at 210 gets the 100 ms timeout; unanswered, the scheduler cuts it
  // off at 210 + 100 + 250 grace = 560, and that failure asks for another at 760.
  h.advanceTo(milliseconds(560));
  EXPECT_EQ(h.startsOf("a"), ms({0, 210}));
  EXPECT_EQ(h.probes["a"]->timeouts, ms({500, 100}));
  ASSERT_EQ(h.results.size(), 2u);
  EXPECT_EQ(h.results[1].error, "timeout after 350ms (the probe did not report)");
  EXPECT_EQ(h.sinceEpoch(h.scheduler->nextStart("a")), milliseconds(760));

  // It passes at 770: no more confirmation, back to the grid at 1000 with the own timeout.
  h.advanceTo(milliseconds(770));
  h.probes["a"]->reply(true);
  h.advanceTo(milliseconds(1000));
  h.probes["a"]->reply(true);
  h.advanceTo(milliseconds(2000));
  EXPECT_EQ(h.startsOf("a"), ms({0, 210, 760, 1000, 2000}));
  EXPECT_EQ(h.probes["a"]->timeouts, ms({500, 100, 100, 500, 500}));
  const SessionStats* st = h.scheduler->stats("a");
  EXPECT_EQ(st->confirm_rounds, 2u);
  EXPECT_EQ(st->ticks_skipped, 0u);
}

TEST(SchedulerTest, ConfirmationRoundsReplaceGridPointsWithoutSkippingThem) {
  // A 300 ms interval and 250 ms confirmation rounds that keep failing: the grid points they run
  // over (300, 600, 900) are replaced, not skipped; after the pass at 1010 the grid resumes at
  // its next point, 1200.
  std::uint64_t skipped_told = 0;
  SchedulerOptions options;
  options.on_skipped = [&](const std::string&, std::uint64_t n) { skipped_told += n; };
  Harness h({0.0}, options);
  h.reply_after["a"] = milliseconds(10);
  h.scheduler->add(makeTarget("a", milliseconds(200)), milliseconds(300));
  int failures_left = 4;
  h.on_result = [&](const probes::ProbeResult&) {
    if (failures_left-- > 0) h.scheduler->confirm("a", milliseconds(250), milliseconds(150));
  };
  h.scheduler->start();
  h.advanceTo(milliseconds(1199));
  // Rounds at 0 (grid), then confirmations 10 ms after each result + 250 ms.
  EXPECT_EQ(h.startsOf("a"), ms({0, 260, 520, 780, 1040}));
  EXPECT_EQ(h.sinceEpoch(h.scheduler->nextStart("a")), milliseconds(1200));
  h.advanceTo(milliseconds(1500));
  EXPECT_EQ(h.startsOf("a"), ms({0, 260, 520, 780, 1040, 1200, 1500}));
  EXPECT_EQ(h.scheduler->stats("a")->ticks_skipped, 0u);
  EXPECT_EQ(skipped_told, 0u);
  EXPECT_EQ(h.scheduler->stats("a")->confirm_rounds, 4u);
}

TEST(SchedulerTest, ConfirmDuringARoundTakesEffectWhenTheRoundEnds) {
  Harness h({0.0});
  h.scheduler->add(makeTarget("a"), milliseconds(1000));
  h.scheduler->start();
  h.advanceTo(milliseconds(50));
  ASSERT_EQ(h.scheduler->busy(), 1);
  h.scheduler->confirm("a", milliseconds(100), milliseconds(120));
  EXPECT_EQ(h.startsOf("a"), ms({0})) << "never two rounds of one target at once";
  h.advanceTo(milliseconds(300));
  h.probes["a"]->reply(true);  // ends at 300: the confirmation is due at 400
  h.advanceTo(milliseconds(400));
  EXPECT_EQ(h.startsOf("a"), ms({0, 400}));
  EXPECT_EQ(h.probes["a"]->timeouts, ms({500, 120}));
}

TEST(SchedulerTest, TargetWithoutAProbeReturnsToTheGridAfterConfirmationRounds) {
  // No probe for the kind: every round fails at once. Health asks for two confirmations, then
  // (the target now unhealthy) no more; the grid must take over again at 1000.
  FakeClock clock;
  FakeTimerFactory timers{clock};
  ScriptedRandom random({0.0});
  std::vector<TimePoint> result_times;
  std::unique_ptr<Scheduler> scheduler;
  int confirmations_left = 2;
  scheduler = std::make_unique<Scheduler>(
      timers, clock, random, [](const probes::ProbeTarget&) { return nullptr; },
      [&](const probes::ProbeResult& r) {
        EXPECT_EQ(r.error, "no probe available for kind tcp");
        result_times.push_back(clock.now());
        if (confirmations_left-- > 0) scheduler->confirm("a", milliseconds(200), milliseconds(100));
      },
      SchedulerOptions{});
  scheduler->add(makeTarget("a"), milliseconds(1000));
  scheduler->start();
  timers.advanceTo(FakeClock::epoch() + milliseconds(2500));
  std::vector<milliseconds> at;
  for (TimePoint t : result_times) {
    at.push_back(std::chrono::duration_cast<milliseconds>(t - FakeClock::epoch()));
  }
  EXPECT_EQ(at, ms({0, 200, 400, 1000, 2000}));
  EXPECT_EQ(scheduler->stats("a")->confirm_rounds, 2u);
}

TEST(SchedulerTest, ConfirmIsIgnoredForUnknownTargetsAfterStopAndForOneRound) {
  SchedulerOptions one;
  one.one_round = true;
  Harness once({}, one);
  once.scheduler->add(makeTarget("a"), milliseconds(1000));
  once.on_result = [&](const probes::ProbeResult&) {
    once.scheduler->confirm("a", milliseconds(10), milliseconds(100));
  };
  once.scheduler->start();
  once.advanceTo(milliseconds(0));
  once.probes["a"]->reply(false);
  once.advanceTo(milliseconds(5000));
  EXPECT_EQ(once.startsOf("a"), ms({0}));

  Harness h({0.0});
  h.scheduler->add(makeTarget("a"), milliseconds(1000));
  h.scheduler->start();
  h.advanceTo(milliseconds(0));
  h.scheduler->confirm("nope", milliseconds(10), milliseconds(100));  // no effect, no crash
  h.probes["a"]->reply(true);
  h.scheduler->stop();
  h.scheduler->confirm("a", milliseconds(10), milliseconds(100));
  h.advanceTo(milliseconds(3000));
  EXPECT_EQ(h.startsOf("a"), ms({0}));
}

TEST(SchedulerTest, RejectsBadIntervalAndDuplicateNames) {
  Harness h({0.0});
  EXPECT_THROW(h.scheduler->add(makeTarget("a"), milliseconds(0)), std::invalid_argument);
  h.scheduler->add(makeTarget("a"), milliseconds(1000));
  EXPECT_THROW(h.scheduler->add(makeTarget("a"), milliseconds(1000)), std::invalid_argument);
}

// The libuv side of the same logic: UvTimerFactory on a real loop, real clock.
TEST(SchedulerTest, UvTimerFactoryRunsRoundsOnARealLoopAndClosesCleanly) {
  net::EventLoop loop;
  net::SystemClock clock;
  net::SeededRandom random(7);
  UvTimerFactory timers(loop);
  std::map<std::string, std::vector<std::chrono::steady_clock::time_point>> starts;
  // Probes that answer on a loop timer 5 ms after start.
  class LoopProbe final : public probes::Probe {
   public:
    LoopProbe(net::EventLoop& l, std::vector<std::chrono::steady_clock::time_point>& s)
        : timer_(l.get()), starts_(s) {}
    void start(const probes::ProbeTarget& t, probes::ProbeCallback cb) override {
      starts_.push_back(std::chrono::steady_clock::now());
      timer_.start(milliseconds(5), [t, cb = std::move(cb)] {
        probes::ProbeResult r;
        r.target = t.name;
        r.ok = true;
        cb(r);
      });
    }
    void cancel() override { timer_.stop(); }

   private:
    net::UvTimer timer_;
    std::vector<std::chrono::steady_clock::time_point>& starts_;
  };
  int results = 0;
  auto scheduler = std::make_unique<Scheduler>(
      timers, clock, random,
      [&](const probes::ProbeTarget& t) {
        return std::make_unique<LoopProbe>(loop, starts[t.name]);
      },
      [&](const probes::ProbeResult& r) { results += r.ok ? 1 : 0; });
  scheduler->add(makeTarget("a"), milliseconds(50));
  scheduler->add(makeTarget("b"), milliseconds(50));
  scheduler->start();
  {
    net::UvTimer stop(loop.get());
    stop.start(milliseconds(270), [&] { scheduler.reset(); });
    loop.run();  // returns once the scheduler is gone: nothing else keeps the loop alive
  }
  for (const char* name : {"a", "b"}) {
    const auto& s = starts[name];
    ASSERT_GE(s.size(), 3u) << name;
    ASSERT_LE(s.size(), 6u) << name;
    for (std::size_t i = 1; i < s.size(); ++i) {
      auto gap = std::chrono::duration_cast<milliseconds>(s[i] - s[i - 1]);
      // A fixed 50 ms grid; a loaded machine may fire late but never early or doubled.
      EXPECT_GE(gap, milliseconds(45)) << name << " round " << i;
    }
  }
  EXPECT_GE(results, 5);
  EXPECT_EQ(loop.close(), 0);
}

}  // namespace
}  // namespace mediapath::agent
