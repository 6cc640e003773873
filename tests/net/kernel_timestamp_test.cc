#include "net/kernel_timestamp.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "net/batched_udp_socket.h"
#include "net/event_loop.h"
#include "net/socket_address.h"
#include "net/tcp_connection.h"
#include "net/udp_socket.h"
#include "net/uv_timer.h"
#include "tests/net/loop_check.h"

namespace mediapath::net {
namespace {

using namespace std::chrono_literals;

// --- pure logic: control messages and the realtime -> steady mapping --------------------------

/// A message whose control data holds an SO_RXQ_OVFL count and then (optionally) a stamp, as
/// the kernel lays them out.
struct ControlMessage {
  alignas(cmsghdr) std::array<std::uint8_t,
                              CMSG_SPACE(sizeof(std::uint32_t)) + kReceiveTimestampSpace> control{};
  msghdr header{};
  explicit ControlMessage(std::optional<timespec> stamp) {
    header.msg_control = control.data();
    header.msg_controllen = control.size();
    cmsghdr* c = CMSG_FIRSTHDR(&header);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SO_RXQ_OVFL;
    c->cmsg_len = CMSG_LEN(sizeof(std::uint32_t));
    std::uint32_t drops = 7;
    std::memcpy(CMSG_DATA(c), &drops, sizeof(drops));
    std::size_t used = CMSG_SPACE(sizeof(std::uint32_t));
    if (stamp) {
      c = CMSG_NXTHDR(&header, c);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_TIMESTAMPNS;
      c->cmsg_len = CMSG_LEN(sizeof(timespec));
      std::memcpy(CMSG_DATA(c), &*stamp, sizeof(timespec));
      used += CMSG_SPACE(sizeof(timespec));
    }
    header.msg_controllen = used;
  }
};

TEST(KernelTimestampTest, FindsTheStampAmongOtherControlMessages) {
  ControlMessage message(timespec{1'700'000'000, 123'456'789});
  auto stamp = receiveTimestampOf(message.header);
  ASSERT_TRUE(stamp.has_value());
  EXPECT_EQ(stamp->tv_sec, 1'700'000'000);
  EXPECT_EQ(stamp->tv_nsec, 123'456'789);
}

TEST(KernelTimestampTest, NoStampWithoutItsControlMessage) {
  ControlMessage message(std::nullopt);
  EXPECT_FALSE(receiveTimestampOf(message.header).has_value());
  msghdr empty{};
  EXPECT_FALSE(receiveTimestampOf(empty).has_value());
}

TEST(KernelTimestampTest, MapsAStampByItsAgeOntoTheSteadyClock) {
  ClockPair clocks{std::chrono::steady_clock::time_point(1000s),
                   std::chrono::system_clock::time_point(1'700'000'000s + 500ms)};
  // Received 250.000123 ms before the clocks were read.
  timespec stamp{1'700'000'000, 249'999'877};
  auto at = steadyTimeOf(stamp, clocks);
  ASSERT_TRUE(at.has_value());
  EXPECT_EQ(clocks.steady - *at, 250'000'123ns);
}

TEST(KernelTimestampTest, RefusesAStampInTheFutureOrUnset) {
  ClockPair clocks{std::chrono::steady_clock::time_point(1000s),
                   std::chrono::system_clock::time_point(1'700'000'000s)};
  // After the clocks were read: the wall clock stepped back in between.
  EXPECT_FALSE(steadyTimeOf(timespec{1'700'000'000, 1}, clocks).has_value());
  EXPECT_FALSE(steadyTimeOf(timespec{0, 0}, clocks).has_value());
  // The very moment the clocks were read is fine (age 0).
  auto at = steadyTimeOf(timespec{1'700'000'000, 0}, clocks);
  ASSERT_TRUE(at.has_value());
  EXPECT_EQ(*at, clocks.steady);
}

// --- the sockets, on loopback -------------------------------------------------------------------

std::optional<SocketAddress> localhost() { return parseIpLiteral("127.0.0.1", 0); }

/// A plain blocking UDP socket the test sends from, so sends happen at moments it chooses.
struct Sender {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ~Sender() { ::close(fd); }
  void send(const SocketAddress& to, const std::string& data) const {
    ASSERT_EQ(::sendto(fd, data.data(), data.size(), 0, to.get(), to.length),
              static_cast<ssize_t>(data.size()));
  }
};

/// The kernel stamps datagrams on arrival only while some socket of the host asks for stamps,
/// and turns that on from a work queue moments after the first one asked; until then it stamps
/// a datagram when it is read (so, as loop timing would). Production sockets live for many
/// rounds; a test's fresh socket waits a little.
void settleStamping() { std::this_thread::sleep_for(10ms); }

class KernelTimestampSocketTest : public ::testing::Test {
 protected:
  void TearDown() override {
    EXPECT_EQ(testing::openHandleCount(loop_), 0);
    EXPECT_EQ(loop_.close(), 0);
  }
  EventLoop loop_;
};

// Datagrams that wait in the socket while the loop is busy keep their arrival times: each of a
// recvmmsg() batch has its own stamp, none is the time the loop read them.
TEST_F(KernelTimestampSocketTest, BatchedSocketStampsEachDatagramWhenItArrived) {
  std::vector<std::optional<std::chrono::steady_clock::time_point>> stamps;
  std::vector<std::chrono::steady_clock::time_point> read_at;
  auto socket = std::make_unique<BatchedUdpSocket>(loop_.get());
  ASSERT_EQ(socket->open(*localhost(),
                         [&](std::span<const std::uint8_t>, const SocketAddress&) {
                           stamps.push_back(socket->receivedAt());
                           read_at.push_back(std::chrono::steady_clock::now());
                         }),
            0);
  Sender sender;
  sender.send(*socket->localAddress(), "unstamped");
  EXPECT_TRUE(testing::runLoopUntil(
      loop_, [&] { return stamps.size() == 1; }, 2s, "the datagrams"));
  ASSERT_EQ(stamps.size(), 1U);
  EXPECT_FALSE(stamps[0].has_value());  // not asked for
  stamps.clear();
  read_at.clear();

  ASSERT_EQ(socket->enableReceiveTimestamps(), 0);
  settleStamping();
  auto first_sent = std::chrono::steady_clock::now();
  sender.send(*socket->localAddress(), "a");
  std::this_thread::sleep_for(20ms);
  auto second_sent = std::chrono::steady_clock::now();
  sender.send(*socket->localAddress(), "b");
  std::this_thread::sleep_for(20ms);  // the loop is "late" by 20 ms and more
  EXPECT_TRUE(testing::runLoopUntil(
      loop_, [&] { return stamps.size() == 2; }, 2s, "the datagrams"));
  ASSERT_EQ(stamps.size(), 2U);
  ASSERT_TRUE(stamps[0].has_value());
  ASSERT_TRUE(stamps[1].has_value());
  // Stamped on arrival (a loopback send delivers inside sendto), not when read.
  EXPECT_GE(*stamps[0], first_sent - 1ms);  // 1 ms: the clocks are read apart
  EXPECT_LT(*stamps[0], second_sent);
  EXPECT_GE(*stamps[1], second_sent - 1ms);
  EXPECT_LE(read_at[0] - *stamps[0], read_at[0] - first_sent + 1ms);
  EXPECT_GE(read_at[0] - *stamps[0], 35ms);
  EXPECT_GE(*stamps[1] - *stamps[0], 19ms);
  socket->close();
}

TEST_F(KernelTimestampSocketTest, UdpSocketStampsOnlyWhenAsked) {
  std::vector<std::optional<std::chrono::steady_clock::time_point>> stamps;
  UdpSocket socket(loop_.get());
  ASSERT_EQ(socket.bind(*localhost()), 0);
  ASSERT_EQ(socket.startReceive([&](std::span<const std::uint8_t>, const SocketAddress&) {
    stamps.push_back(socket.receivedAt());
  }),
            0);
  Sender sender;
  sender.send(*socket.localAddress(), "unstamped");
  EXPECT_TRUE(testing::runLoopUntil(
      loop_, [&] { return stamps.size() == 1; }, 2s, "the datagrams"));
  ASSERT_EQ(stamps.size(), 1U);
  EXPECT_FALSE(stamps[0].has_value());

  ASSERT_EQ(socket.enableReceiveTimestamps(), 0);
  settleStamping();
  auto sent = std::chrono::steady_clock::now();
  sender.send(*socket.localAddress(), "one");
  std::this_thread::sleep_for(20ms);
  auto second_sent = std::chrono::steady_clock::now();
  sender.send(*socket.localAddress(), "two");
  std::this_thread::sleep_for(20ms);
  EXPECT_TRUE(testing::runLoopUntil(
      loop_, [&] { return stamps.size() == 3; }, 2s, "the datagrams"));
  ASSERT_EQ(stamps.size(), 3U);
  ASSERT_TRUE(stamps[1].has_value());
  ASSERT_TRUE(stamps[2].has_value());
  // Each datagram's own stamp, though both were read in one go 20+ ms later.
  EXPECT_GE(*stamps[1], sent - 1ms);
  EXPECT_LT(*stamps[1], second_sent);
  EXPECT_GE(*stamps[2], second_sent - 1ms);
  EXPECT_LT(*stamps[2], std::chrono::steady_clock::now() - 15ms);
  socket.close();
}

TEST_F(KernelTimestampSocketTest, TcpHandshakeRttOnLoopbackIsTheKernelsSample) {
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto any = *localhost();
  ASSERT_EQ(::bind(listener, any.get(), any.length), 0);
  ASSERT_EQ(::listen(listener, 4), 0);
  sockaddr_storage bound{};
  socklen_t length = sizeof(bound);
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&bound), &length);
  auto address = *SocketAddress::fromSockaddr(reinterpret_cast<sockaddr*>(&bound));

  TcpConnection connection(loop_.get());
  EXPECT_FALSE(connection.handshakeRtt().has_value());  // not connected
  std::optional<int> status;
  std::optional<std::chrono::microseconds> rtt;
  auto started = std::chrono::steady_clock::now();
  ASSERT_EQ(connection.connect(address,
                               [&](int s) {
                                 status = s;
                                 rtt = connection.handshakeRtt();
                               }),
            0);
  std::this_thread::sleep_for(20ms);  // the loop gets to the connect callback late
  EXPECT_TRUE(testing::runLoopUntil(
      loop_, [&] { return status.has_value(); }, 2s, "the datagrams"));
  auto loop_timed = std::chrono::steady_clock::now() - started;
  ASSERT_EQ(status, 0);
  ASSERT_TRUE(rtt.has_value());
  EXPECT_GT(rtt->count(), 0);
  // The handshake itself, not the 20 ms the loop took to notice it.
  EXPECT_LT(*rtt, 5ms);
  EXPECT_GE(loop_timed, 20ms);
  connection.close();
  ::close(listener);
}

}  // namespace
}  // namespace mediapath::net
