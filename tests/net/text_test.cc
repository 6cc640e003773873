#include "net/text.h"

#include <gtest/gtest.h>

namespace mediapath::net {
namespace {

using std::chrono::milliseconds;

TEST(FormatDuration, ShortestExactUnit) {
  EXPECT_EQ(formatDuration(milliseconds(250)), "250ms");
  EXPECT_EQ(formatDuration(milliseconds(5000)), "5s");
  EXPECT_EQ(formatDuration(milliseconds(2000)), "2s");
  EXPECT_EQ(formatDuration(milliseconds(1500)), "1500ms");
  EXPECT_EQ(formatDuration(milliseconds(120000)), "2m");
  EXPECT_EQ(formatDuration(milliseconds(90000)), "90s");
  EXPECT_EQ(formatDuration(milliseconds(7200000)), "2h");
  EXPECT_EQ(formatDuration(milliseconds(0)), "0ms");
}

TEST(FormatFixed, RoundsToTheGivenDecimals) {
  EXPECT_EQ(formatFixed(12.345678, 3), "12.346");
  EXPECT_EQ(formatFixed(4.25, 1), "4.2");  // printf rounds half to even on an exact .25
  EXPECT_EQ(formatFixed(0.5, 0), "0");
  EXPECT_EQ(formatMillis(0.002), "0.002");
  EXPECT_EQ(formatMillis(0.4567), "0.457");
  EXPECT_EQ(formatMillis(3.456), "3.46");
  EXPECT_EQ(formatMillis(23.46), "23.5");
  EXPECT_EQ(formatMillis(-0.25), "-0.250");
  EXPECT_EQ(formatFixed(99.6, 0), "100");
  EXPECT_EQ(formatFixed(3, 2), "3.00");
  EXPECT_EQ(formatFixed(-1.05, 1), "-1.1");
}

TEST(EqualsIgnoreCase, ComparesAsciiLetters) {
  EXPECT_TRUE(equalsIgnoreCase("Content-Length", "content-length"));
  EXPECT_TRUE(equalsIgnoreCase("", ""));
  EXPECT_FALSE(equalsIgnoreCase("via", "vias"));
  EXPECT_FALSE(equalsIgnoreCase("call-id", "call_id"));
}

TEST(ClosestMatch, SuggestsATypo) {
  EXPECT_EQ(closestMatch("hots", {"host", "port"}), "host");
  EXPECT_EQ(closestMatch("sip-dnss", {"stun-a", "sip-dns"}), "sip-dns");
  EXPECT_EQ(closestMatch("AAA", {"A", "AAAA", "SRV"}), "AAAA");
}

TEST(ClosestMatch, ShortWordsGetOneEdit) {
  // "MX" is two edits from "A": not a typo of it.
  EXPECT_EQ(closestMatch("MX", {"A", "AAAA", "SRV"}), std::nullopt);
  EXPECT_EQ(closestMatch("udb", {"udp", "tcp"}), "udp");
}

TEST(ClosestMatch, LongerWordsGetAThirdOfTheirLength) {
  // 9 letters: up to 3 edits.
  EXPECT_EQ(closestMatch("intervaxx", {"interval"}), "interval");
  EXPECT_EQ(closestMatch("something", {"interval"}), std::nullopt);
}

TEST(ClosestMatch, TiesGoToTheFirstCandidate) {
  EXPECT_EQ(closestMatch("tcx", {"tcp", "tcq"}), "tcp");
  EXPECT_EQ(closestMatch("anything", {}), std::nullopt);
}

TEST(Printable, EscapesControlBytesAndCutsLongText) {
  EXPECT_EQ(net::printable("pending"), "pending");
  EXPECT_EQ(net::printable(std::string("a\r\nb\x1b[31m\0c\x7f", 12)),
            "a\\x0d\\x0ab\\x1b[31m\\x00c\\x7f");
  EXPECT_EQ(net::printable("caf\xc3\xa9"), "caf\xc3\xa9");  // UTF-8 stays readable
  EXPECT_EQ(net::printable(std::string(300, 'x'), 4), "xxxx...");
}

TEST(Printable, EscapesBrokenUtf8AndNeverCutsACharacter) {
  // A JSON writer throws on invalid UTF-8: the audit trail must only ever get valid text.
  EXPECT_EQ(net::printable("B\xc3(ro"), "B\\xc3(ro");
  EXPECT_EQ(net::printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // a surrogate is not UTF-8
  EXPECT_EQ(net::printable("\xc0\xaf"), "\\xc0\\xaf");           // nor an overlong '/'
  EXPECT_EQ(net::printable("\xf0\x9f\x93\x9e ok"), "\xf0\x9f\x93\x9e ok");
  EXPECT_EQ(net::printable("caf\xc3\xa9", 4), "caf...");  // not half of the é
  EXPECT_EQ(net::printable("caf\xc3\xa9", 5), "caf\xc3\xa9");
}
}  // namespace
}  // namespace mediapath::net
