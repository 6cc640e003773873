#include "probes/nat_answer.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "net/socket_address.h"

namespace mediapath::probes {
namespace {

net::SocketAddress addr(const char* ip, std::uint16_t port) {
  return *net::parseIpLiteral(ip, port);
}

TEST(NatAnswerTest, ParsesIPv4AddressAttribute) {
  // reserved, family 0x01, port 3479, 192.0.2.7 (plain, not XOR-ed: OTHER-ADDRESS format)
  std::vector<std::uint8_t> v{0x00, 0x01, 0x0d, 0x97, 192, 0, 2, 7};
  auto a = parseAddressAttribute(v);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->toString(), "192.0.2.7:3479");
}

TEST(NatAnswerTest, ParsesIPv6AddressAttribute) {
  std::vector<std::uint8_t> v{0x00, 0x02, 0x0d, 0x96};
  std::array<std::uint8_t, 16> ip{0x20, 0x01, 0x0d, 0xb8};
  ip[15] = 1;
  v.insert(v.end(), ip.begin(), ip.end());
  auto a = parseAddressAttribute(v);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->toString(), "[2001:db8::1]:3478");
}

TEST(NatAnswerTest, RefusesMalformedAddressAttributes) {
  using V = std::vector<std::uint8_t>;
  EXPECT_FALSE(parseAddressAttribute(V{}));
  EXPECT_FALSE(parseAddressAttribute(V{0, 1, 0x0d}));                  // shorter than a header
  EXPECT_FALSE(parseAddressAttribute(V{0, 1, 0x0d, 0x96, 10, 0, 0}));  // IPv4 with 3 bytes
  EXPECT_FALSE(parseAddressAttribute(V{0, 1, 0x0d, 0x96, 10, 0, 0, 1, 0}));  // 5 bytes
  EXPECT_FALSE(parseAddressAttribute(V{0, 3, 0x0d, 0x96, 10, 0, 0, 1}));     // family 3
  EXPECT_FALSE(parseAddressAttribute(V{0, 2, 0x0d, 0x96, 10, 0, 0, 1}));     // IPv6, 4 bytes
  EXPECT_FALSE(parseAddressAttribute(V{0, 1, 0, 0, 10, 0, 0, 1}));           // port 0
}

TEST(NatAnswerTest, BehaviourNamesAreDesignsSet) {
  EXPECT_EQ(natBehaviourName(NatBehaviour::kEndpointIndependent), "endpoint-independent");
  EXPECT_EQ(natBehaviourName(NatBehaviour::kAddressDependent), "address-dependent");
  EXPECT_EQ(natBehaviourName(NatBehaviour::kAddressAndPortDependent), "address-and-port-dependent");
  EXPECT_EQ(natBehaviourName(NatBehaviour::kUnknown), "unknown");
}

TEST(NatAnswerTest, MappingIsEndpointIndependentWhenBothServersSeeOneMapping) {
  auto x = addr("198.51.100.1", 40000);
  EXPECT_EQ(classifyMapping(x, x, std::nullopt, std::nullopt), NatBehaviour::kEndpointIndependent);
}

TEST(NatAnswerTest, MappingDependsOnAddressWhenTwoPortsOfOneIpSeeOneMapping) {
  auto x1 = addr("198.51.100.1", 40000);
  auto x2 = addr("198.51.100.1", 40001);
  EXPECT_EQ(classifyMapping(x1, x2, x2, x2), NatBehaviour::kAddressDependent);
}

TEST(NatAnswerTest, MappingDependsOnAddressAndPortWhenEveryDestinationGetsItsOwn) {
  auto x1 = addr("198.51.100.1", 40000);
  auto x2 = addr("198.51.100.1", 40001);
  auto x3 = addr("198.51.100.1", 40002);
  EXPECT_EQ(classifyMapping(x1, x2, x2, x3), NatBehaviour::kAddressAndPortDependent);
}

TEST(NatAnswerTest, MappingIsUnknownWithoutTheTestsThatDecideIt) {
  auto x1 = addr("198.51.100.1", 40000);
  auto x2 = addr("198.51.100.1", 40001);
  EXPECT_EQ(classifyMapping(std::nullopt, x2, x2, x2), NatBehaviour::kUnknown);
  EXPECT_EQ(classifyMapping(x1, std::nullopt, std::nullopt, std::nullopt),
            NatBehaviour::kUnknown);                                             // no second server
  EXPECT_EQ(classifyMapping(x1, x2, std::nullopt, x2), NatBehaviour::kUnknown);  // no test III
}

TEST(NatAnswerTest, FilteringFollowsTheMostPermissiveChangeRequestAnswered) {
  EXPECT_EQ(classifyFiltering(true, true, false), NatBehaviour::kEndpointIndependent);
  EXPECT_EQ(classifyFiltering(true, true, true), NatBehaviour::kEndpointIndependent);
  EXPECT_EQ(classifyFiltering(true, false, true), NatBehaviour::kAddressDependent);
  EXPECT_EQ(classifyFiltering(true, false, false), NatBehaviour::kAddressAndPortDependent);
  EXPECT_EQ(classifyFiltering(false, true, true), NatBehaviour::kUnknown);
  EXPECT_EQ(classifyFiltering(false, false, false), NatBehaviour::kUnknown);
}

}  // namespace
}  // namespace mediapath::probes
