// Unit tests of the impairment model: seeded, reproducible decisions within their bounds.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "tools/impairment_relay/impairment_model.h"

namespace mediapath::tools::relay {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

DirectionSpec spec(int delay_ms, int jitter_ms, double loss) {
  return {milliseconds(delay_ms), milliseconds(jitter_ms), loss};
}

std::vector<Decision> draw(ImpairmentModel& m, Direction dir, int n) {
  std::vector<Decision> out;
  for (int i = 0; i < n; ++i) out.push_back(m.decide(dir));
  return out;
}

bool same(const std::vector<Decision>& a, const std::vector<Decision>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].seq != b[i].seq || a[i].dropped != b[i].dropped || a[i].delay != b[i].delay) {
      return false;
    }
  }
  return true;
}

TEST(ImpairmentModel, SameSeedGivesSameDecisions) {
  ImpairmentModel a(42, spec(20, 5, 0.1), spec(10, 2, 0.05));
  ImpairmentModel b(42, spec(20, 5, 0.1), spec(10, 2, 0.05));
  EXPECT_TRUE(same(draw(a, Direction::kUp, 1000), draw(b, Direction::kUp, 1000)));
  EXPECT_TRUE(same(draw(a, Direction::kDown, 1000), draw(b, Direction::kDown, 1000)));
}

TEST(ImpairmentModel, DifferentSeedGivesDifferentDecisions) {
  ImpairmentModel a(1, spec(20, 5, 0.1), spec(20, 5, 0.1));
  ImpairmentModel b(2, spec(20, 5, 0.1), spec(20, 5, 0.1));
  EXPECT_FALSE(same(draw(a, Direction::kUp, 100), draw(b, Direction::kUp, 100)));
}

TEST(ImpairmentModel, DirectionsAreIndependentStreams) {
  // The n-th packet of a direction has the same fate however the directions interleave.
  ImpairmentModel separate(9, spec(20, 5, 0.2), spec(20, 5, 0.2));
  auto up = draw(separate, Direction::kUp, 300);
  auto down = draw(separate, Direction::kDown, 300);
  ImpairmentModel interleaved(9, spec(20, 5, 0.2), spec(20, 5, 0.2));
  std::vector<Decision> up2, down2;
  for (int i = 0; i < 300; ++i) {
    down2.push_back(interleaved.decide(Direction::kDown));
    up2.push_back(interleaved.decide(Direction::kUp));
    if (i % 2 == 0) down2.push_back(interleaved.decide(Direction::kDown));
  }
  down2.resize(300);
  EXPECT_TRUE(same(up, up2));
  EXPECT_TRUE(same(down, down2));
  // With equal settings the two streams still differ.
  EXPECT_FALSE(same(up, down));
}

TEST(ImpairmentModel, SequenceNumbersArePerDirectionAndStartAtOne) {
  ImpairmentModel m(3, {}, {});
  EXPECT_EQ(m.decide(Direction::kUp).seq, 1u);
  EXPECT_EQ(m.decide(Direction::kUp).seq, 2u);
  EXPECT_EQ(m.decide(Direction::kDown).seq, 1u);
}

TEST(ImpairmentModel, DelayStaysWithinJitterBoundsAndCoversThem) {
  ImpairmentModel m(5, spec(20, 5, 0), {});
  auto d = draw(m, Direction::kUp, 20000);
  auto [lo, hi] = std::minmax_element(
      d.begin(), d.end(), [](const auto& x, const auto& y) { return x.delay < y.delay; });
  EXPECT_GE(lo->delay, microseconds(15000));
  EXPECT_LE(hi->delay, microseconds(25000));
  // Uniform: both ends are reached (within 1% of the range) and the mean is the base delay.
  EXPECT_LT(lo->delay, microseconds(15100));
  EXPECT_GT(hi->delay, microseconds(24900));
  double mean = 0;
  for (const auto& x : d) mean += static_cast<double>(x.delay.count());
  mean /= static_cast<double>(d.size());
  EXPECT_NEAR(mean, 20000.0, 100.0);
  // Variance of U(-5,5) ms is 25/3 ms^2.
  double var = 0;
  for (const auto& x : d) var += std::pow(static_cast<double>(x.delay.count()) - mean, 2);
  var /= static_cast<double>(d.size());
  EXPECT_NEAR(var / 1e6, 25.0 / 3.0, 0.4);
}

TEST(ImpairmentModel, DelayIsNeverNegative) {
  ImpairmentModel m(6, spec(2, 10, 0), {});
  int zeros = 0;
  for (const auto& x : draw(m, Direction::kUp, 5000)) {
    ASSERT_GE(x.delay.count(), 0);
    zeros += x.delay.count() == 0 ? 1 : 0;
  }
  EXPECT_GT(zeros, 1000);  // about 40% fall below zero and are clamped
}

TEST(ImpairmentModel, NoJitterMeansExactDelay) {
  ImpairmentModel m(7, spec(30, 0, 0), {});
  for (const auto& x : draw(m, Direction::kUp, 100)) EXPECT_EQ(x.delay, milliseconds(30));
}

TEST(ImpairmentModel, LossRatioMatchesSetting) {
  ImpairmentModel m(8, spec(0, 0, 0.1), spec(0, 0, 0.35));
  auto count = [](const std::vector<Decision>& d) {
    return static_cast<double>(
        std::count_if(d.begin(), d.end(), [](auto& x) { return x.dropped; }));
  };
  EXPECT_NEAR(count(draw(m, Direction::kUp, 100000)) / 100000.0, 0.10, 0.005);
  EXPECT_NEAR(count(draw(m, Direction::kDown, 100000)) / 100000.0, 0.35, 0.005);
}

TEST(ImpairmentModel, LossExtremes) {
  ImpairmentModel m(9, spec(0, 0, 0), spec(0, 0, 1));
  for (const auto& x : draw(m, Direction::kUp, 1000)) EXPECT_FALSE(x.dropped);
  for (const auto& x : draw(m, Direction::kDown, 1000)) EXPECT_TRUE(x.dropped);
}

TEST(ImpairmentModel, ChangingLossDoesNotShiftDelays) {
  ImpairmentModel a(10, spec(20, 5, 0), {});
  ImpairmentModel b(10, spec(20, 5, 0.5), {});
  auto da = draw(a, Direction::kUp, 500);
  auto db = draw(b, Direction::kUp, 500);
  for (std::size_t i = 0; i < da.size(); ++i) EXPECT_EQ(da[i].delay, db[i].delay);
}

TEST(ParseDuration, AcceptsUnits) {
  EXPECT_EQ(parseDuration("20ms"), milliseconds(20));
  EXPECT_EQ(parseDuration("1.5ms"), microseconds(1500));
  EXPECT_EQ(parseDuration("250us"), microseconds(250));
  EXPECT_EQ(parseDuration("2s"), milliseconds(2000));
  EXPECT_EQ(parseDuration("7"), milliseconds(7));
  EXPECT_EQ(parseDuration("0"), microseconds(0));
}

TEST(ParseDuration, RejectsGarbage) {
  EXPECT_THROW(parseDuration(""), std::invalid_argument);
  EXPECT_THROW(parseDuration("ms"), std::invalid_argument);
  EXPECT_THROW(parseDuration("-5ms"), std::invalid_argument);
  EXPECT_THROW(parseDuration("5 ms"), std::invalid_argument);
  EXPECT_THROW(parseDuration("5min"), std::invalid_argument);
}

TEST(ParseLoss, RatioOrPercent) {
  EXPECT_DOUBLE_EQ(parseLoss("0.1"), 0.1);
  EXPECT_DOUBLE_EQ(parseLoss("10%"), 0.1);
  EXPECT_DOUBLE_EQ(parseLoss("1"), 1.0);
  EXPECT_THROW(parseLoss("1.5"), std::invalid_argument);
  EXPECT_THROW(parseLoss("-0.1"), std::invalid_argument);
  EXPECT_THROW(parseLoss("abc"), std::invalid_argument);
}

TEST(ParseHostPort, V4V6AndNames) {
  auto a = parseHostPort("127.0.0.1:3478");
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 3478);
  auto b = parseHostPort("[::1]:0");
  EXPECT_EQ(b.host, "::1");
  EXPECT_EQ(b.port, 0);
  EXPECT_EQ(parseHostPort("localhost:5060").host, "localhost");
  EXPECT_THROW(parseHostPort("127.0.0.1"), std::invalid_argument);
  EXPECT_THROW(parseHostPort("127.0.0.1:70000"), std::invalid_argument);
  EXPECT_THROW(parseHostPort("[::1]3478"), std::invalid_argument);
  EXPECT_THROW(parseHostPort(":80"), std::invalid_argument);
}

TEST(JitterEstimator, FollowsRfc3550) {
  JitterEstimator j;
  j.add(20);
  EXPECT_DOUBLE_EQ(j.value(), 0);
  j.add(36);  // |D| = 16 -> J = 1
  EXPECT_DOUBLE_EQ(j.value(), 1);
  j.add(20);  // |D| = 16 -> J = 1 + 15/16
  EXPECT_DOUBLE_EQ(j.value(), 1 + 15.0 / 16.0);
  j.add(20);  // |D| = 0 -> J * 15/16
  EXPECT_DOUBLE_EQ(j.value(), (1 + 15.0 / 16.0) * 15.0 / 16.0);
}

}  // namespace
}  // namespace mediapath::tools::relay
