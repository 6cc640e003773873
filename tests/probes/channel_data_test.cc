// ChannelData framing (RFC 8656 §12.4) and the relay probe's packet, on hostile bytes too.
#include "probes/channel_data.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

namespace mediapath::probes {
namespace {

TEST(ChannelDataTest, WritesAndParsesAFrame) {
  std::vector<std::uint8_t> buf(4 + 16);
  ASSERT_EQ(writeChannelDataHeader(0x4001, 16, buf), 20u);
  EXPECT_EQ(buf[0], 0x40);
  EXPECT_EQ(buf[1], 0x01);
  EXPECT_EQ(buf[2], 0x00);
  EXPECT_EQ(buf[3], 16);
  EXPECT_TRUE(
      writeStreamPacket({0x0102030405060708ULL, 42}, std::span<std::uint8_t>(buf).subspan(4)));
  ASSERT_TRUE(looksLikeChannelData(buf));
  auto frame = parseChannelData(buf);
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->channel, 0x4001);
  EXPECT_EQ(frame->payload.size(), 16u);
  auto packet = readStreamPacket(frame->payload);
  ASSERT_TRUE(packet);
  EXPECT_EQ(packet->round_tag, 0x0102030405060708ULL);
  EXPECT_EQ(packet->sequence, 42u);
}

TEST(ChannelDataTest, AcceptsUpToThreeBytesOfUdpPadding) {
  std::array<std::uint8_t, 4 + 5 + 3> buf{0x40, 0x00, 0x00, 0x05};
  auto frame = parseChannelData(buf);
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->payload.size(), 5u);
  std::array<std::uint8_t, 4 + 5 + 4> more{0x40, 0x00, 0x00, 0x05};
  EXPECT_FALSE(parseChannelData(more));  // not padding: something else is glued on
}

TEST(ChannelDataTest, RejectsHostileFrames) {
  // A length beyond the datagram (the server claims 0xFFFF bytes and sends 4).
  std::array<std::uint8_t, 8> longer{0x40, 0x00, 0xff, 0xff, 1, 2, 3, 4};
  EXPECT_FALSE(parseChannelData(longer));
  // Shorter than the header.
  std::array<std::uint8_t, 3> tiny{0x40, 0x00, 0x00};
  EXPECT_FALSE(parseChannelData(tiny));
  EXPECT_FALSE(parseChannelData({}));
  EXPECT_FALSE(looksLikeChannelData({}));
  // Reserved channel numbers (0x5000-0x7FFF) and STUN (top bits 00).
  std::array<std::uint8_t, 4> reserved{0x50, 0x00, 0x00, 0x00};
  EXPECT_TRUE(looksLikeChannelData(reserved));
  EXPECT_FALSE(parseChannelData(reserved));
  std::array<std::uint8_t, 20> stun{0x01, 0x01, 0x00, 0x00};
  EXPECT_FALSE(looksLikeChannelData(stun));
  EXPECT_FALSE(parseChannelData(stun));
}

TEST(ChannelDataTest, WriterRefusesWhatCannotBeFramed) {
  std::vector<std::uint8_t> buf(8);
  EXPECT_EQ(writeChannelDataHeader(0x3fff, 4, buf), 0u);  // not a channel number
  EXPECT_EQ(writeChannelDataHeader(0x5000, 4, buf), 0u);
  EXPECT_EQ(writeChannelDataHeader(0x4000, 5, buf), 0u);  // does not fit
  EXPECT_EQ(writeChannelDataHeader(0x4000, 4, buf), 8u);
  std::vector<std::uint8_t> big(4 + 70000);
  EXPECT_EQ(writeChannelDataHeader(0x4000, 70000, big), 0u);  // over the 16-bit length
}

TEST(ChannelDataTest, StreamPacketNeedsItsHeader) {
  std::array<std::uint8_t, 11> short_payload{};
  EXPECT_FALSE(readStreamPacket(short_payload));
  EXPECT_FALSE(writeStreamPacket({1, 2}, short_payload));
}

}  // namespace
}  // namespace mediapath::probes
