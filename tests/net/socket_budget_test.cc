#include "net/socket_budget.h"

#include <gtest/gtest.h>

#include <memory>

#include "net/event_loop.h"
#include "net/tcp_connection.h"
#include "net/udp_socket.h"
#include "tests/net/loop_check.h"

namespace mediapath::net {
namespace {

TEST(SocketBudgetTest, SocketsTakeASlotWhenTheyGetADescriptorAndGiveItBackOnClose) {
  SocketBudget budget(2);
  EventLoop loop;
  {
    auto any = *parseIpLiteral("127.0.0.1", 0);
    UdpSocket a(loop.get(), &budget);
    UdpSocket b(loop.get(), &budget);
    UdpSocket c(loop.get(), &budget);
    EXPECT_EQ(budget.inUse(), 0u);  // no descriptor before bind
    EXPECT_EQ(a.bind(any), 0);
    EXPECT_EQ(b.bind(any), 0);
    EXPECT_EQ(budget.inUse(), 2u);
    EXPECT_EQ(c.bind(any), UV_EMFILE);
    EXPECT_EQ(uvErrorText(UV_EMFILE), "too many open files");

    // A TCP connect needs a slot too; the budget is spent.
    TcpConnection tcp(loop.get(), &budget);
    EXPECT_EQ(tcp.connect(*parseIpLiteral("127.0.0.1", 9), [](int) {}), UV_EMFILE);

    a.close();
    EXPECT_EQ(budget.inUse(), 1u);
    UdpSocket d(loop.get(), &budget);
    EXPECT_EQ(d.bind(any), 0);
    {
      auto e = std::make_unique<UdpSocket>(loop.get(), &budget);
      EXPECT_EQ(e->bind(any), UV_EMFILE);
    }
    EXPECT_EQ(budget.inUse(), 2u);
  }
  // Destruction gives the slots back too.
  EXPECT_EQ(budget.inUse(), 0u);
  EXPECT_EQ(testing::openHandleCount(loop), 0);
  EXPECT_EQ(loop.close(), 0);
}

TEST(SocketBudgetTest, ASocketWithoutABudgetIsUnlimited) {
  EventLoop loop;
  SocketBudget spent(0);
  {
    // Another socket's budget being spent does not concern a socket given none.
    UdpSocket counted(loop.get(), &spent);
    EXPECT_EQ(counted.bind(*parseIpLiteral("127.0.0.1", 0)), UV_EMFILE);
    UdpSocket a(loop.get());
    EXPECT_EQ(a.bind(*parseIpLiteral("127.0.0.1", 0)), 0);
  }
  EXPECT_EQ(testing::openHandleCount(loop), 0);
  EXPECT_EQ(loop.close(), 0);
}

}  // namespace
}  // namespace mediapath::net
