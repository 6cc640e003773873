#include "agent/failover/failover.h"

#include <gtest/gtest.h>

#include <limits>

#include "agent/failover/health.h"

namespace mediapath::agent {
namespace {

using std::chrono::seconds;
using Kind = FailoverDecision::Kind;

class FailoverControllerTest : public ::testing::Test {
 protected:
  FailoverGroup group() {
    FailoverGroup g;
    g.name = "media-proxy";
    g.candidates = {"a", "b", "c"};
    g.min_hold = seconds(60);
    g.min_mos_gain = 0.3;
    return g;
  }
  static CandidateView up(const std::string& n, double mos) { return {n, true, true, mos}; }
  static CandidateView down(const std::string& n) { return {n, true, false, std::nullopt}; }
  static CandidateView unknown(const std::string& n) { return {n, false, false, std::nullopt}; }

  std::chrono::steady_clock::time_point t0{seconds(1000)};
};

TEST_F(FailoverControllerTest, StartsOnTheFirstCandidate) {
  FailoverController c(group(), "");
  EXPECT_EQ(c.active(), "a");
  EXPECT_FALSE(c.panic());
}

TEST_F(FailoverControllerTest, UnhealthyActiveMovesToFirstHealthyInPreferenceOrder) {
  FailoverController c(group(), "a");
  auto d = c.evaluate({down("a"), down("b"), up("c", 4.0)}, t0);
  EXPECT_EQ(d.kind, Kind::kSwitch);
  EXPECT_EQ(d.from, "a");
  EXPECT_EQ(d.to, "c");
  EXPECT_EQ(c.active(), "c");
  // b is preferred over c once both are healthy, but c is healthy: no move back for that alone.
  d = c.evaluate({down("a"), up("b", 4.0), up("c", 4.0)}, t0 + seconds(1));
  EXPECT_EQ(d.kind, Kind::kNone);
  EXPECT_EQ(c.active(), "c");
}

TEST_F(FailoverControllerTest, NoDecisionWhileTheActiveIsUnknown) {
  FailoverController c(group(), "a");
  EXPECT_EQ(c.evaluate({unknown("a"), up("b", 4.4), unknown("c")}, t0).kind, Kind::kNone);
  EXPECT_EQ(c.active(), "a");
}

TEST_F(FailoverControllerTest, BetterCandidateMustLeadForTheWholeHold) {
  FailoverController c(group(), "a");
  // b leads by 0.4 from t0 ...
  EXPECT_EQ(c.evaluate({up("a", 3.9), up("b", 4.3), down("c")}, t0).kind, Kind::kNone);
  EXPECT_EQ(c.evaluate({up("a", 3.9), up("b", 4.3), down("c")}, t0 + seconds(59)).kind,
            Kind::kNone);
  // ... and after 60 s of leading it takes over.
  auto d = c.evaluate({up("a", 3.9), up("b", 4.3), down("c")}, t0 + seconds(60));
  EXPECT_EQ(d.kind, Kind::kSwitch);
  EXPECT_EQ(d.to, "b");
  EXPECT_NE(d.reason.find("for 1m"), std::string::npos) << d.reason;
}

TEST_F(FailoverControllerTest, ALapseRestartsTheHold) {
  FailoverController c(group(), "a");
  c.evaluate({up("a", 3.9), up("b", 4.3), down("c")}, t0);
  // One evaluation where b's lead is below the gain resets its clock.
  c.evaluate({up("a", 3.9), up("b", 4.1), down("c")}, t0 + seconds(30));
  EXPECT_EQ(c.evaluate({up("a", 3.9), up("b", 4.3), down("c")}, t0 + seconds(60)).kind,
            Kind::kNone);
  // The lead restarted at t0+60 s, so the hold ends at t0+120 s, not t0+60 s.
  EXPECT_EQ(c.evaluate({up("a", 3.9), up("b", 4.3), down("c")}, t0 + seconds(119)).kind,
            Kind::kNone);
  EXPECT_EQ(c.evaluate({up("a", 3.9), up("b", 4.3), down("c")}, t0 + seconds(120)).kind,
            Kind::kSwitch);
}

TEST_F(FailoverControllerTest, GainBelowThresholdNeverSwitches) {
  FailoverController c(group(), "a");
  for (int s = 0; s <= 600; s += 5) {
    EXPECT_EQ(c.evaluate({up("a", 4.0), up("b", 4.29), up("c", 4.2)}, t0 + seconds(s)).kind,
              Kind::kNone);
  }
  EXPECT_EQ(c.active(), "a");
}

TEST_F(FailoverControllerTest, PanicKeepsTheActiveAndPushesNothing) {
  FailoverController c(group(), "b");
  // Not every candidate measured yet: no panic.
  EXPECT_EQ(c.evaluate({down("a"), down("b"), unknown("c")}, t0).kind, Kind::kNone);
  auto d = c.evaluate({down("a"), down("b"), down("c")}, t0 + seconds(1));
  EXPECT_EQ(d.kind, Kind::kPanicEntered);
  EXPECT_TRUE(c.panic());
  EXPECT_EQ(c.active(), "b");
  // Still in panic: no repeated decision.
  EXPECT_EQ(c.evaluate({down("a"), down("b"), down("c")}, t0 + seconds(2)).kind, Kind::kNone);
  // The active one recovers: panic over, no switch.
  d = c.evaluate({down("a"), up("b", 4.0), down("c")}, t0 + seconds(3));
  EXPECT_EQ(d.kind, Kind::kPanicCleared);
  EXPECT_FALSE(c.panic());
  EXPECT_EQ(c.active(), "b");
}

TEST_F(FailoverControllerTest, PanicEndingOnAnotherCandidateSwitches) {
  FailoverController c(group(), "a");
  c.evaluate({down("a"), down("b"), down("c")}, t0);
  auto d = c.evaluate({down("a"), down("b"), up("c", 4.0)}, t0 + seconds(1));
  EXPECT_EQ(d.kind, Kind::kSwitch);
  EXPECT_EQ(d.to, "c");
  EXPECT_NE(d.reason.find("panic over"), std::string::npos);
  EXPECT_FALSE(c.panic());
}

// The remote's current choice holds while it is only provisionally unhealthy.
TEST_F(FailoverControllerTest, AProvisionallyUnhealthyActiveIsKept) {
  FailoverController c(group(), "a");
  CandidateView a = down("a");
  a.provisional = true;
  EXPECT_EQ(c.evaluate({a, up("b", 4.3), up("c", 4.3)}, t0).kind, Kind::kNone);
  EXPECT_EQ(c.active(), "a");
  a.provisional = false;  // it failed unhealthy_threshold rounds
  auto d = c.evaluate({a, up("b", 4.3), up("c", 4.3)}, t0 + seconds(3));
  EXPECT_EQ(d.kind, Kind::kSwitch);
  EXPECT_EQ(d.to, "b");
}

TEST(HealthTracker, FirstRoundDecidesThenThresholdsApply) {
  HealthTracker h({/*healthy_threshold=*/2, /*unhealthy_threshold=*/3, /*min_mos=*/0});
  EXPECT_FALSE(h.known());
  EXPECT_EQ(h.record(true, std::nullopt), HealthTracker::Transition::kChanged);
  EXPECT_TRUE(h.healthy());
  EXPECT_EQ(h.record(false, std::nullopt), HealthTracker::Transition::kChangePending);
  EXPECT_EQ(h.record(false, std::nullopt), HealthTracker::Transition::kChangePending);
  EXPECT_TRUE(h.healthy());
  EXPECT_EQ(h.record(false, std::nullopt), HealthTracker::Transition::kChanged);
  EXPECT_FALSE(h.healthy());
  EXPECT_EQ(h.record(true, std::nullopt), HealthTracker::Transition::kChangePending);
  EXPECT_EQ(h.record(true, std::nullopt), HealthTracker::Transition::kChanged);
  EXPECT_TRUE(h.healthy());
}

// A restart during a blip: the first round fails, so the target shows unhealthy at once, but it
// is provisional until unhealthy_threshold bad rounds in a row (a good round restarts the count).
TEST(HealthTracker, AFailedFirstRoundIsProvisionalUntilTheThreshold) {
  HealthTracker h({/*healthy_threshold=*/2, /*unhealthy_threshold=*/3, /*min_mos=*/0});
  EXPECT_EQ(h.record(false, std::nullopt), HealthTracker::Transition::kChanged);
  EXPECT_FALSE(h.healthy());
  EXPECT_TRUE(h.provisional());
  h.record(false, std::nullopt);
  EXPECT_TRUE(h.provisional());
  h.record(true, std::nullopt);  // the blip is over: the bad run starts again
  h.record(false, std::nullopt);
  h.record(false, std::nullopt);
  EXPECT_TRUE(h.provisional());
  h.record(false, std::nullopt);  // three bad in a row: as unhealthy as any other target
  EXPECT_FALSE(h.provisional());
  EXPECT_FALSE(h.healthy());
}

TEST(HealthTracker, AGoodFirstRoundOrRecoveryIsNeverProvisional) {
  HealthTracker h({1, 3, 0});
  h.record(true, std::nullopt);
  EXPECT_FALSE(h.provisional());
  HealthTracker blip({1, 3, 0});
  blip.record(false, std::nullopt);
  blip.record(true, std::nullopt);  // healthy_threshold 1: healthy again
  EXPECT_TRUE(blip.healthy());
  EXPECT_FALSE(blip.provisional());
  HealthTracker strict({1, 1, 0});  // a threshold of one round: the first bad round settles it
  strict.record(false, std::nullopt);
  EXPECT_FALSE(strict.provisional());
}

TEST(HealthTracker, ThresholdsCountConsecutiveRounds) {
  HealthTracker h({1, 3, 0});
  h.record(true, std::nullopt);
  h.record(false, std::nullopt);
  h.record(false, std::nullopt);
  h.record(true, std::nullopt);  // breaks the streak
  h.record(false, std::nullopt);
  h.record(false, std::nullopt);
  EXPECT_TRUE(h.healthy());
  h.record(false, std::nullopt);
  EXPECT_FALSE(h.healthy());
}

TEST(HealthTracker, LowMosCountsAsBad) {
  HealthTracker h({1, 1, 3.6});
  h.record(true, 4.2);
  EXPECT_TRUE(h.healthy());
  h.record(true, 3.5);
  EXPECT_FALSE(h.healthy());
  h.record(true, 3.6);
  EXPECT_TRUE(h.healthy());
  h.record(false, 4.5);  // a failed round is bad whatever its estimate
  EXPECT_FALSE(h.healthy());
  h.record(true, std::nullopt);  // no estimate (e.g. sip over tcp): success decides
  EXPECT_TRUE(h.healthy());
}

// Fast confirmation: confirming() is what makes the runtime pull the next round forward.
TEST(HealthTracker, ConfirmingWhileAFailureIsSuspectedAndNotOnceDecided) {
  HealthTracker h({2, 3, 0});
  EXPECT_FALSE(h.confirming()) << "nothing measured, nothing suspected";
  h.record(true, std::nullopt);
  EXPECT_FALSE(h.confirming());
  h.record(false, std::nullopt);
  EXPECT_TRUE(h.confirming()) << "healthy with one bad round: confirm";
  h.record(false, std::nullopt);
  EXPECT_TRUE(h.confirming());
  h.record(false, std::nullopt);
  EXPECT_FALSE(h.healthy());
  EXPECT_FALSE(h.confirming()) << "confirmed unhealthy: back to the interval";
  h.record(true, std::nullopt);
  EXPECT_FALSE(h.confirming()) << "recovery is not hurried";
  h.record(true, std::nullopt);
  EXPECT_TRUE(h.healthy());
  h.record(false, std::nullopt);
  EXPECT_TRUE(h.confirming());
  h.record(true, std::nullopt);
  EXPECT_FALSE(h.confirming()) << "a pass ends the confirmation";
}

TEST(HealthTracker, AProvisionalTargetIsConfirmedUntilItPassesOrIsDecided) {
  HealthTracker h({2, 3, 0});
  h.record(false, std::nullopt);  // a failed first round: provisional
  EXPECT_TRUE(h.confirming());
  h.record(true, std::nullopt);
  EXPECT_TRUE(h.provisional());
  EXPECT_FALSE(h.confirming()) << "it passed";
  h.record(false, std::nullopt);
  EXPECT_TRUE(h.confirming());
  h.record(false, std::nullopt);
  h.record(false, std::nullopt);
  EXPECT_FALSE(h.provisional());
  EXPECT_FALSE(h.confirming());
}

TEST(SmoothedRtt, FirstSampleThenAnEighthOfEachDifference) {
  SmoothedRtt s;
  EXPECT_FALSE(s.ms().has_value());
  s.add(8.0);
  EXPECT_DOUBLE_EQ(*s.ms(), 8.0);
  s.add(16.0);
  EXPECT_DOUBLE_EQ(*s.ms(), 9.0);
  s.add(std::numeric_limits<double>::quiet_NaN());  // ignored, as a negative sample is
  s.add(-1.0);
  EXPECT_DOUBLE_EQ(*s.ms(), 9.0);
}

TEST(ConfirmTimeout, FourSmoothedRttsBetweenAHundredMillisecondsAndTheTimeout) {
  using std::chrono::milliseconds;
  const milliseconds timeout(2000);
  EXPECT_EQ(confirmTimeout(std::nullopt, timeout), timeout) << "no RTT known: the own timeout";
  EXPECT_EQ(confirmTimeout(0.3, timeout), milliseconds(100));
  EXPECT_EQ(confirmTimeout(25.0, timeout), milliseconds(100));
  EXPECT_EQ(confirmTimeout(30.1, timeout), milliseconds(121));  // rounded up
  EXPECT_EQ(confirmTimeout(400.0, timeout), milliseconds(1600));
  EXPECT_EQ(confirmTimeout(900.0, timeout), timeout);
  EXPECT_EQ(confirmTimeout(1e300, timeout), timeout);
  EXPECT_EQ(confirmTimeout(1.0, milliseconds(50)), milliseconds(50)) << "capped by timeout";
}

}  // namespace
}  // namespace mediapath::agent
