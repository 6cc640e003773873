#include "probes/quality.h"

#include <gtest/gtest.h>

#include <vector>

namespace mediapath::probes {
namespace {

TEST(JitterEstimatorTest, MatchesHandComputedRfc3550Sequence) {
  JitterEstimator jitter;
  EXPECT_FALSE(jitter.jitterMs());
  jitter.add(10);
  EXPECT_FALSE(jitter.jitterMs());  // one sample has no difference yet
  // J += (|D| - J) / 16 by hand:
  jitter.add(20);  // D=10: 0 + 10/16
  EXPECT_DOUBLE_EQ(*jitter.jitterMs(), 0.625);
  jitter.add(15);  // D=5: 0.625 + (5 - 0.625)/16
  EXPECT_DOUBLE_EQ(*jitter.jitterMs(), 0.8984375);
  jitter.add(15);  // D=0
  EXPECT_DOUBLE_EQ(*jitter.jitterMs(), 0.84228515625);
  jitter.add(25);  // D=10
  EXPECT_DOUBLE_EQ(*jitter.jitterMs(), 1.414642333984375);
  EXPECT_EQ(jitter.samples(), 5u);
}

TEST(JitterEstimatorTest, StateCarriesAcrossBursts) {
  JitterEstimator split;
  split.addAll(std::vector<double>{10, 20});
  split.addAll(std::vector<double>{15, 15, 25});  // next burst: compared with the last sample
  JitterEstimator whole;
  whole.addAll(std::vector<double>{10, 20, 15, 15, 25});
  EXPECT_DOUBLE_EQ(*split.jitterMs(), *whole.jitterMs());
  split.reset();
  EXPECT_FALSE(split.jitterMs());
}

TEST(JitterEstimatorTest, ConstantRttHasZeroJitter) {
  JitterEstimator jitter;
  jitter.addAll(std::vector<double>{30, 30, 30, 30});
  EXPECT_DOUBLE_EQ(*jitter.jitterMs(), 0.0);
}

TEST(MosTest, KnownPoints) {
  // EL = 10 ms: R = 93.2 - 10/40 = 92.95.
  EXPECT_DOUBLE_EQ(rFactor(0, 0, 0), 92.95);
  EXPECT_NEAR(estimateMos(0, 0, 0), 4.404394368375, 1e-9);
  // EL = 20 + 10 + 10 = 40: R = 92.2.
  EXPECT_DOUBLE_EQ(rFactor(40, 5, 0), 92.2);
  EXPECT_NEAR(estimateMos(40, 5, 0), 4.389098664, 1e-9);
  // EL = 160 takes the second branch: R = 93.2 - (160 - 120)/10 = 89.2.
  EXPECT_NEAR(rFactor(300, 0, 0), 89.2, 1e-12);
  EXPECT_NEAR(estimateMos(300, 0, 0), 4.318910784, 1e-9);
  // EL = 410: R = 64.2.
  EXPECT_NEAR(estimateMos(600, 50, 0), 3.314571784, 1e-9);
  // 2% loss costs 5 R points: EL = 50 + 20 + 10 = 80, R = 91.2 - 5 = 86.2.
  EXPECT_NEAR(rFactor(100, 10, 0.02), 86.2, 1e-12);
  EXPECT_NEAR(estimateMos(100, 10, 0.02), 4.235165304, 1e-9);
}

TEST(MosTest, ClampsToTheScale) {
  EXPECT_DOUBLE_EQ(rFactor(20, 0, 1.0), 0.0);
  EXPECT_DOUBLE_EQ(estimateMos(20, 0, 1.0), 1.0);
  EXPECT_DOUBLE_EQ(rFactor(10000, 1000, 0), 0.0);
  EXPECT_GT(estimateMos(0, 0, 0), estimateMos(50, 0, 0));
  EXPECT_GT(estimateMos(50, 0, 0), estimateMos(50, 10, 0));
  EXPECT_GT(estimateMos(50, 10, 0), estimateMos(50, 10, 0.01));
}

}  // namespace
}  // namespace mediapath::probes
