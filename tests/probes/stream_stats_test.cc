// The relay stream's figures from known send and arrival times (no sockets, no clock).
#include "probes/stream_stats.h"

#include <gtest/gtest.h>

namespace mediapath::probes {
namespace {

// Sends `n` packets 20 ms apart starting at t = 0.
StreamStats sentEvery20ms(std::uint32_t n) {
  StreamStats s(n);
  for (std::uint32_t i = 0; i < n; ++i) s.sent(i, 20.0 * i);
  return s;
}

TEST(StreamStatsTest, Rfc3550A8JitterFromKnownTransitTimes) {
  StreamStats s = sentEvery20ms(5);
  // Transit (arrival − send) 10, 12, 11, 15, 15 ms.
  EXPECT_TRUE(s.arrivedAtB(0, 10));
  EXPECT_FALSE(s.summary().jitter_ms);  // one transit time has no difference yet
  EXPECT_TRUE(s.arrivedAtB(1, 32));
  EXPECT_TRUE(s.arrivedAtB(2, 51));
  EXPECT_TRUE(s.arrivedAtB(3, 75));
  EXPECT_TRUE(s.arrivedAtB(4, 95));
  // J += (|D| − J)/16 by hand: D = 2, 1, 4, 0.
  double j = 0;
  for (double d : {2.0, 1.0, 4.0, 0.0}) j += (d - j) / 16.0;
  StreamSummary sum = s.summary();
  ASSERT_TRUE(sum.jitter_ms);
  EXPECT_DOUBLE_EQ(*sum.jitter_ms, j);
  EXPECT_NEAR(*sum.jitter_ms, 0.392303466796875, 1e-12);
  ASSERT_TRUE(sum.one_way);
  EXPECT_DOUBLE_EQ(sum.one_way->min_ms, 10);
  EXPECT_DOUBLE_EQ(sum.one_way->max_ms, 15);
  EXPECT_DOUBLE_EQ(sum.one_way->avg_ms, 63.0 / 5);
}

TEST(StreamStatsTest, JitterFollowsArrivalOrderNotSequence) {
  StreamStats s = sentEvery20ms(3);
  // Packet 1 overtakes packet 0: transit 30 (seq 1, arrives first), then 25 (seq 0), then 10.
  EXPECT_TRUE(s.arrivedAtB(1, 50));
  EXPECT_TRUE(s.arrivedAtB(0, 25));
  EXPECT_TRUE(s.arrivedAtB(2, 50));
  double j = 0;
  for (double d : {5.0, 15.0}) j += (d - j) / 16.0;
  EXPECT_DOUBLE_EQ(*s.summary().jitter_ms, j);
  EXPECT_EQ(s.summary().reordered, 1);
}

TEST(StreamStatsTest, ConstantDelayHasZeroJitterAndRttFromA) {
  StreamStats s = sentEvery20ms(4);
  for (std::uint32_t i = 0; i < 4; ++i) {
    EXPECT_TRUE(s.arrivedAtB(i, 20.0 * i + 7));
    s.arrivedAtA(i, 20.0 * i + 14 + i);  // return leg 7, 8, 9, 10 ms
  }
  StreamSummary sum = s.summary();
  EXPECT_DOUBLE_EQ(*sum.jitter_ms, 0.0);
  ASSERT_TRUE(sum.rtt);
  EXPECT_DOUBLE_EQ(sum.rtt->min_ms, 14);
  EXPECT_DOUBLE_EQ(sum.rtt->max_ms, 17);
  EXPECT_DOUBLE_EQ(sum.rtt->avg_ms, 15.5);
  EXPECT_EQ(sum.rtt_samples_ms, (std::vector<double>{14, 15, 16, 17}));
  EXPECT_TRUE(s.allBack());
  EXPECT_EQ(*sum.loss_ab, 0.0);
  EXPECT_EQ(*sum.loss_ba, 0.0);
}

TEST(StreamStatsTest, LossPerDirection) {
  StreamStats s = sentEvery20ms(10);
  // 8 of 10 reach B (2 and 7 lost A -> B); of those, 6 come back (4 and 5 lost B -> A).
  for (std::uint32_t i = 0; i < 10; ++i) {
    if (i == 2 || i == 7) continue;
    EXPECT_TRUE(s.arrivedAtB(i, 20.0 * i + 5));
    if (i == 4 || i == 5) continue;
    s.arrivedAtA(i, 20.0 * i + 10);
  }
  StreamSummary sum = s.summary();
  EXPECT_EQ(sum.sent, 10);
  EXPECT_EQ(sum.received_ab, 8);
  EXPECT_EQ(sum.received_ba, 6);
  EXPECT_DOUBLE_EQ(*sum.loss_ab, 0.2);
  EXPECT_DOUBLE_EQ(*sum.loss_ba, 0.25);
  EXPECT_FALSE(s.allBack());
  EXPECT_EQ(sum.rtt_samples_ms.size(), 6u);
}

TEST(StreamStatsTest, ReorderedCountsLateArrivalsOnce) {
  StreamStats s = sentEvery20ms(6);
  // Arrival order 0 2 1 5 3 4: 1 is late (after 2), 3 and 4 are late (after 5).
  for (std::uint32_t seq : {0u, 2u, 1u, 5u, 3u, 4u}) EXPECT_TRUE(s.arrivedAtB(seq, 200));
  EXPECT_EQ(s.summary().reordered, 3);
  EXPECT_EQ(s.summary().duplicated, 0);
}

TEST(StreamStatsTest, DuplicatesAreCountedOnBothLegsAndNotReflected) {
  StreamStats s = sentEvery20ms(3);
  EXPECT_TRUE(s.arrivedAtB(0, 5));
  EXPECT_FALSE(s.arrivedAtB(0, 6));  // a copy on the A -> B leg: not reflected again
  EXPECT_TRUE(s.arrivedAtB(1, 25));
  s.arrivedAtA(0, 10);
  s.arrivedAtA(0, 11);  // a copy on the return leg
  s.arrivedAtA(1, 30);
  StreamSummary sum = s.summary();
  EXPECT_EQ(sum.duplicated, 2);
  EXPECT_EQ(sum.received_ab, 2);
  EXPECT_EQ(sum.received_ba, 2);
  EXPECT_EQ(sum.reordered, 0);
  // The duplicate does not enter the jitter: transit 5 then 5.
  EXPECT_DOUBLE_EQ(*sum.jitter_ms, 0.0);
}

TEST(StreamStatsTest, IgnoresUnknownSequenceNumbersAndUnsentPackets) {
  StreamStats s(3);
  s.sent(0, 0);
  EXPECT_FALSE(s.arrivedAtB(7, 5));  // out of range (a forged or corrupted packet)
  EXPECT_FALSE(s.arrivedAtB(1, 5));  // not sent yet
  s.arrivedAtA(0, 5);                // never seen by B: not a reflection
  StreamSummary sum = s.summary();
  EXPECT_EQ(sum.sent, 1);
  EXPECT_EQ(sum.received_ab, 0);
  EXPECT_EQ(sum.received_ba, 0);
  EXPECT_DOUBLE_EQ(*sum.loss_ab, 1.0);
  EXPECT_FALSE(sum.loss_ba);
  EXPECT_FALSE(sum.rtt);
  EXPECT_FALSE(sum.jitter_ms);
}

TEST(StreamStatsTest, ResetStartsANewRound) {
  StreamStats s = sentEvery20ms(2);
  EXPECT_TRUE(s.arrivedAtB(0, 5));
  s.reset(2);
  EXPECT_EQ(s.summary().sent, 0);
  s.sent(0, 100);
  EXPECT_TRUE(s.arrivedAtB(0, 104));
  EXPECT_DOUBLE_EQ(s.summary().one_way->avg_ms, 4);
}

}  // namespace
}  // namespace mediapath::probes
