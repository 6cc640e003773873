#include "net/socket_address.h"

#include <gtest/gtest.h>

namespace mediapath::net {
namespace {

TEST(SocketAddressTest, ParsesAndFormatsIPv4) {
  auto address = parseIpLiteral("127.0.0.1", 3478);
  ASSERT_TRUE(address);
  EXPECT_EQ(address->family(), AF_INET);
  EXPECT_EQ(address->port(), 3478);
  EXPECT_EQ(address->toString(), "127.0.0.1:3478");
  EXPECT_EQ(address->ipString(), "127.0.0.1");
}

TEST(SocketAddressTest, ParsesAndFormatsIPv6WithOrWithoutBrackets) {
  auto plain = parseIpLiteral("::1", 5060);
  auto bracketed = parseIpLiteral("[::1]", 5060);
  ASSERT_TRUE(plain);
  ASSERT_TRUE(bracketed);
  EXPECT_TRUE(plain->isIPv6());
  EXPECT_EQ(plain->toString(), "[::1]:5060");
  EXPECT_TRUE(*plain == *bracketed);
  EXPECT_EQ(parseIpLiteral("2001:db8::a", 1)->toString(), "[2001:db8::a]:1");
}

TEST(SocketAddressTest, RejectsNamesAndGarbage) {
  EXPECT_FALSE(isIpLiteral("stun.example.com"));
  EXPECT_FALSE(isIpLiteral("1.2.3"));
  EXPECT_FALSE(isIpLiteral("256.1.1.1"));
  EXPECT_FALSE(isIpLiteral(""));
  EXPECT_FALSE(isIpLiteral("[127.0.0.1]x"));
  EXPECT_TRUE(isIpLiteral("10.0.0.1"));
  EXPECT_TRUE(isIpLiteral("fe80::1"));
}

TEST(SocketAddressTest, EqualityComparesFamilyIpAndPort) {
  EXPECT_TRUE(*parseIpLiteral("127.0.0.1", 1) == *parseIpLiteral("127.0.0.1", 1));
  EXPECT_FALSE(*parseIpLiteral("127.0.0.1", 1) == *parseIpLiteral("127.0.0.1", 2));
  EXPECT_FALSE(*parseIpLiteral("127.0.0.1", 1) == *parseIpLiteral("127.0.0.2", 1));
  EXPECT_FALSE(*parseIpLiteral("::1", 1) == *parseIpLiteral("127.0.0.1", 1));
}

TEST(SocketAddressTest, AnyAddressAndLocalAddressKeepTheFamily) {
  EXPECT_EQ(anyAddressLike(*parseIpLiteral("127.0.0.1", 9)).toString(), "0.0.0.0:0");
  EXPECT_EQ(anyAddressLike(*parseIpLiteral("::1", 9)).toString(), "[::]:0");
  auto local = localAddressFor(*parseIpLiteral("127.0.0.1", 9));
  ASSERT_TRUE(local);
  EXPECT_EQ(local->toString(), "127.0.0.1:0");
}

}  // namespace
}  // namespace mediapath::net
