#include <gtest/gtest.h>

#include "tools/genesys_emulator/util.h"

namespace mediapath::tools::emulator {
namespace {

TEST(EmulatorUtil, ParsesDurationsWithUnits) {
  EXPECT_EQ(parseDuration("500ms"), std::chrono::milliseconds(500));
  EXPECT_EQ(parseDuration("2s"), std::chrono::milliseconds(2000));
  EXPECT_EQ(parseDuration("1m"), std::chrono::milliseconds(60000));
  EXPECT_FALSE(parseDuration("500"));
  EXPECT_FALSE(parseDuration("ms"));
  EXPECT_FALSE(parseDuration("1h"));
}

TEST(EmulatorUtil, ParsesRates) {
  EXPECT_DOUBLE_EQ(*parseRate("10/s"), 10.0);
  EXPECT_DOUBLE_EQ(*parseRate("120/m"), 2.0);
  EXPECT_FALSE(parseRate("0/s"));
  EXPECT_FALSE(parseRate("10"));
  EXPECT_FALSE(parseRate("x/s"));
}

TEST(EmulatorUtil, IsoTimesRoundTripAndHonourOffsets) {
  auto t = parseIsoTime("2026-11-27T10:00:00.250Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(formatIsoTime(*t), "2026-11-27T10:00:00.250Z");
  auto offset = parseIsoTime("2026-11-27T12:00:00+02:00");
  ASSERT_TRUE(offset);
  EXPECT_EQ(formatIsoTime(*offset), "2026-11-27T10:00:00.000Z");
  EXPECT_FALSE(parseIsoTime("2026-11-27 10:00:00Z"));
  EXPECT_FALSE(parseIsoTime("2026-02-30T10:00:00Z"));
  EXPECT_FALSE(parseIsoTime("2026-11-27T10:00:00"));
}

TEST(EmulatorUtil, IntervalsNeedStartBeforeEnd) {
  EXPECT_TRUE(parseInterval("2026-11-27T00:00:00Z/2026-11-28T00:00:00Z"));
  EXPECT_FALSE(parseInterval("2026-11-28T00:00:00Z/2026-11-27T00:00:00Z"));
  EXPECT_FALSE(parseInterval("2026-11-27T00:00:00Z"));
}

TEST(EmulatorUtil, CidrsLikeGoParseCidr) {
  EXPECT_TRUE(isValidCidr("10.0.0.0/8"));
  EXPECT_TRUE(isValidCidr("192.168.1.5/24"));
  EXPECT_TRUE(isValidCidr("2001:db8::/32"));
  EXPECT_FALSE(isValidCidr("10.0.0.0"));
  EXPECT_FALSE(isValidCidr("10.0.0.0/33"));
  EXPECT_FALSE(isValidCidr("300.0.0.0/8"));
  EXPECT_FALSE(isValidCidr("2001:db8::/129"));
  EXPECT_FALSE(isValidCidr("10.0.0.0/"));
}

TEST(EmulatorUtil, FormDecoding) {
  auto form = parseForm("grant_type=client_credentials&scope=location%3Aread+analytics%3Aread");
  EXPECT_EQ(form["grant_type"], "client_credentials");
  EXPECT_EQ(form["scope"], "location:read analytics:read");
  EXPECT_EQ(mediaType("Application/JSON; charset=UTF-8"), "application/json");
}

TEST(EmulatorUtil, UuidsAreVersion4) {
  std::string id = makeUuid(0x0123456789abcdefULL, 0xfedcba9876543210ULL);
  ASSERT_EQ(id.size(), 36u);
  EXPECT_EQ(id[14], '4');
  EXPECT_TRUE(id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b');
}

}  // namespace
}  // namespace mediapath::tools::emulator
