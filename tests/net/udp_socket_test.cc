#include "net/udp_socket.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "net/event_loop.h"
#include "net/uv_timer.h"
#include "tests/net/loop_check.h"

namespace mediapath::net {
namespace {

using namespace std::chrono_literals;

std::string text(std::span<const std::uint8_t> data) {
  return std::string(reinterpret_cast<const char*>(data.data()), data.size());
}

void echoRoundTrip(const char* ip) {
  EventLoop loop;
  {
    UdpSocket server(loop.get());
    UdpSocket client(loop.get());
    ASSERT_EQ(server.bind(*parseIpLiteral(ip, 0)), 0);
    ASSERT_EQ(client.bind(*parseIpLiteral(ip, 0)), 0);
    auto server_address = server.localAddress();
    ASSERT_TRUE(server_address);
    EXPECT_NE(server_address->port(), 0);

    ASSERT_EQ(
        server.startReceive([&](std::span<const std::uint8_t> data, const SocketAddress& from) {
          EXPECT_EQ(from, *client.localAddress());
          server.send(from, "echo:" + text(data));
        }),
        0);
    std::string reply;
    ASSERT_EQ(client.startReceive([&](std::span<const std::uint8_t> data, const SocketAddress&) {
      reply = text(data);
      client.close();
      server.close();
    }),
              0);
    ASSERT_EQ(client.send(*server_address, std::string_view("hello")), 0);
    UvTimer guard(loop.get());
    guard.start(2000ms, [&] {
      client.close();
      server.close();
    });
    while (reply.empty() && guard.active()) loop.runOnce();
    guard.stop();
    EXPECT_EQ(reply, "echo:hello");
  }
  EXPECT_EQ(testing::openHandleCount(loop), 0);
  EXPECT_EQ(loop.close(), 0);
}

TEST(UdpSocketTest, EchoOverIPv4) { echoRoundTrip("127.0.0.1"); }
TEST(UdpSocketTest, EchoOverIPv6) { echoRoundTrip("::1"); }

TEST(UdpSocketTest, CallbackMayDestroySocketAndNoLaterCallbackRuns) {
  EventLoop loop;
  {
    auto receiver = std::make_unique<UdpSocket>(loop.get());
    UdpSocket sender(loop.get());
    ASSERT_EQ(receiver->bind(*parseIpLiteral("127.0.0.1", 0)), 0);
    ASSERT_EQ(sender.bind(*parseIpLiteral("127.0.0.1", 0)), 0);
    int calls = 0;
    ASSERT_EQ(receiver->startReceive([&](std::span<const std::uint8_t>, const SocketAddress&) {
      ++calls;
      receiver.reset();  // destroying from inside the callback must be safe
    }),
              0);
    auto to = *receiver->localAddress();
    ASSERT_EQ(sender.send(to, std::string_view("one")), 0);
    ASSERT_EQ(sender.send(to, std::string_view("two")), 0);
    UvTimer stop(loop.get());
    stop.start(100ms, [&] { sender.close(); });
    loop.run();
    EXPECT_EQ(calls, 1);
  }
  EXPECT_EQ(testing::openHandleCount(loop), 0);
  EXPECT_EQ(loop.close(), 0);
}

TEST(UdpSocketTest, ErrorsAreReportedNotThrown) {
  EventLoop loop;
  {
    UdpSocket socket(loop.get());
    ASSERT_EQ(socket.bind(*parseIpLiteral("127.0.0.1", 0)), 0);
    // A family mismatch is refused by the kernel.
    EXPECT_NE(socket.send(*parseIpLiteral("::1", 9), std::string_view("x")), 0);
    socket.close();
    EXPECT_EQ(socket.send(*parseIpLiteral("127.0.0.1", 9), std::string_view("x")), UV_EBADF);
    EXPECT_EQ(uvErrorText(UV_ECONNREFUSED), "connection refused");
  }
  EXPECT_EQ(testing::openHandleCount(loop), 0);
  EXPECT_EQ(loop.close(), 0);
}

}  // namespace
}  // namespace mediapath::net
