// TURN over a stream (RFC 8656 §11.5): STUN and ChannelData cut out of a TCP/TLS byte stream.
#include "probes/turn_framing.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mediapath::probes {
namespace {

using Bytes = std::vector<std::uint8_t>;

// A STUN message of `body` bytes after the header (the content does not matter to the framer).
Bytes stun(std::size_t body, std::uint8_t fill = 0xAB) {
  Bytes m(20 + body, fill);
  m[0] = 0x01;  // Allocate success response type 0x0103
  m[1] = 0x03;
  m[2] = static_cast<std::uint8_t>(body >> 8);
  m[3] = static_cast<std::uint8_t>(body & 0xFF);
  m[4] = 0x21;
  m[5] = 0x12;
  m[6] = 0xA4;
  m[7] = 0x42;
  return m;
}

// A ChannelData message with `payload` bytes, padded to 4 as a server sends it over a stream.
Bytes channelData(std::uint16_t channel, std::size_t payload, bool padded = true) {
  Bytes m(4 + payload, 0x5A);
  m[0] = static_cast<std::uint8_t>(channel >> 8);
  m[1] = static_cast<std::uint8_t>(channel & 0xFF);
  m[2] = static_cast<std::uint8_t>(payload >> 8);
  m[3] = static_cast<std::uint8_t>(payload & 0xFF);
  if (padded) m.resize(m.size() + channelDataPadding(m.size()), 0);
  return m;
}

Bytes join(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// Every message next() gives until it needs more bytes.
std::vector<Bytes> drain(TurnStreamFramer& f) {
  std::vector<Bytes> out;
  while (auto m = f.next()) out.emplace_back(m->begin(), m->end());
  return out;
}

TEST(TurnFramingTest, PaddingToAMultipleOfFour) {
  EXPECT_EQ(channelDataPadding(4), 0u);
  EXPECT_EQ(channelDataPadding(5), 3u);
  EXPECT_EQ(channelDataPadding(6), 2u);
  EXPECT_EQ(channelDataPadding(7), 1u);
  EXPECT_EQ(channelDataPadding(176), 0u);
}

TEST(TurnFramingTest, TwoMessagesInOneRead) {
  Bytes a = stun(32);
  Bytes b = channelData(0x4001, 172);
  TurnStreamFramer f(kMaxTurnStunBytes, 0x4001);
  f.append(join({a, b}));
  auto got = drain(f);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], a);
  EXPECT_EQ(got[1], b);
  EXPECT_EQ(f.buffered(), 0u);
  EXPECT_FALSE(f.failed());
}

TEST(TurnFramingTest, MessageSplitAcrossReadsByteByByte) {
  Bytes all = join({stun(8), channelData(0x4FFF, 13), stun(0)});
  TurnStreamFramer f(kMaxTurnStunBytes, 0x4FFF);
  std::vector<Bytes> got;
  for (std::uint8_t byte : all) {
    f.append(Bytes{byte});
    for (auto& m : drain(f)) got.push_back(std::move(m));
  }
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], stun(8));
  // ChannelData comes out without its 3 padding bytes.
  EXPECT_EQ(got[1], channelData(0x4FFF, 13, false));
  EXPECT_EQ(got[2], stun(0));
  EXPECT_EQ(f.buffered(), 0u);
}

TEST(TurnFramingTest, WaitsForThePaddingBeforeTheNextMessage) {
  Bytes cd = channelData(0x4000, 5);  // 9 bytes + 3 of padding
  ASSERT_EQ(cd.size(), 12u);
  TurnStreamFramer f(kMaxTurnStunBytes, 0x4000);
  f.append(std::span(cd).first(9));
  EXPECT_FALSE(f.next());  // the message is in, its padding is not: nothing yet
  f.append(std::span(cd).subspan(9));
  auto m = f.next();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->size(), 9u);
  // The padding was consumed: the next message starts right after it.
  Bytes s = stun(4);
  f.append(s);
  auto n = f.next();
  ASSERT_TRUE(n);
  EXPECT_EQ(Bytes(n->begin(), n->end()), s);
}

TEST(TurnFramingTest, PartialHeaderWaits) {
  Bytes s = stun(4);
  TurnStreamFramer f;
  f.append(std::span(s).first(19));
  EXPECT_FALSE(f.next());
  EXPECT_FALSE(f.failed());
  EXPECT_EQ(f.buffered(), 19u);
}

TEST(TurnFramingTest, OversizeStunFailsBeforeItArrives) {
  TurnStreamFramer f(2048);
  Bytes big = stun(2048);              // 2068 bytes in all
  f.append(std::span(big).first(20));  // the header alone says it is too long
  EXPECT_FALSE(f.next());
  ASSERT_TRUE(f.failed());
  EXPECT_EQ(f.error(), "STUN message of 2068 bytes (limit 2048)");
  EXPECT_EQ(f.buffered(), 0u);
  // Failed for good: a valid message later is not returned.
  f.append(stun(4));
  EXPECT_FALSE(f.next());
}

TEST(TurnFramingTest, LargestChannelDataIsFramed) {
  Bytes cd = channelData(0x4000, 0xFFFF);
  TurnStreamFramer f(kMaxTurnStunBytes, 0x4000);
  f.append(cd);
  auto m = f.next();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->size(), 4u + 0xFFFF);
}

TEST(TurnFramingTest, MalformedFramesFailTheStream) {
  struct Case {
    Bytes bytes;
    std::string error;
  };
  Bytes no_cookie = stun(4);
  no_cookie[4] = 0;
  Bytes odd_length = stun(4);
  odd_length[3] = 5;
  std::vector<Case> cases{
      {Bytes{0x80, 0x01, 0x02, 0x03}, "neither STUN nor ChannelData (first byte 0x80)"},
      {Bytes{0x16, 0x03, 0x01}, ""},  // too short to judge yet: not a failure
      {no_cookie, "STUN message without the magic cookie"},
      {odd_length, "STUN message length 5 is not a multiple of 4"},
      {channelData(0x5000, 4), "ChannelData on channel 0x5000, not bound by this client"},
      {channelData(0x4001, 4), "ChannelData on channel 0x4001, not bound by this client"},
      // What an HTTP server answers: "HT" reads as channel 0x4854, "TP" as a 21,584-byte length.
      {Bytes{'H', 'T', 'T', 'P', '/', '1', '.', '1'},
       "ChannelData on channel 0x4854, not bound by this client"},
  };
  for (const auto& c : cases) {
    TurnStreamFramer f(kMaxTurnStunBytes, 0x4000);
    f.append(c.bytes);
    EXPECT_FALSE(f.next());
    EXPECT_EQ(f.error(), c.error);
  }
}

// The turn probe binds no channel: any ChannelData from its server fails the stream.
TEST(TurnFramingTest, NoChannelDataWithoutABoundChannel) {
  TurnStreamFramer f;
  f.append(channelData(0x4000, 4));
  EXPECT_FALSE(f.next());
  EXPECT_EQ(f.error(), "ChannelData on channel 0x4000, not bound by this client");
}

TEST(TurnFramingTest, ResetStartsOver) {
  TurnStreamFramer f;
  f.append(Bytes{0xFF});
  EXPECT_FALSE(f.next());
  ASSERT_TRUE(f.failed());
  f.reset();
  EXPECT_FALSE(f.failed());
  f.append(stun(0));
  EXPECT_TRUE(f.next());
}

}  // namespace
}  // namespace mediapath::probes
