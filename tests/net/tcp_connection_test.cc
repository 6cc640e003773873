#include "net/tcp_connection.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <memory>
#include <string>
#include <thread>

#include "net/event_loop.h"
#include "net/uv_handle.h"
#include "net/uv_timer.h"
#include "tests/net/loop_check.h"
#include "tests/support/process.h"

namespace mediapath::net {
namespace {

using namespace std::chrono_literals;

/// A one-connection echo server on the test's loop, written against raw libuv so that the
/// class under test is not used to test itself.
class EchoServer {
 public:
  EchoServer(uv_loop_t* loop, const char* ip) {
    uv_tcp_init(loop, listener_.get());
    listener_.markInitialized();
    listener_.get()->data = this;
    auto address = *parseIpLiteral(ip, 0);
    EXPECT_EQ(uv_tcp_bind(listener_.get(), address.get(), 0), 0);
    EXPECT_EQ(
        uv_listen(reinterpret_cast<uv_stream_t*>(listener_.get()), 4, &EchoServer::onConnection),
        0);
    sockaddr_storage bound{};
    int len = sizeof(bound);
    uv_tcp_getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&bound), &len);
    address_ = *SocketAddress::fromSockaddr(reinterpret_cast<sockaddr*>(&bound));
  }
  const SocketAddress& address() const { return address_; }
  void close() {
    listener_.close();
    peer_.close();
  }

 private:
  static void onConnection(uv_stream_t* server, int status) {
    auto* self = static_cast<EchoServer*>(server->data);
    if (self == nullptr || status != 0) return;
    uv_tcp_init(server->loop, self->peer_.get());
    self->peer_.markInitialized();
    uv_accept(server, reinterpret_cast<uv_stream_t*>(self->peer_.get()));
    uv_read_start(
        reinterpret_cast<uv_stream_t*>(self->peer_.get()),
        [](uv_handle_t*, size_t, uv_buf_t* buf) {
          static char storage[4096];
          *buf = uv_buf_init(storage, sizeof(storage));
        },
        [](uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
          if (nread <= 0) return;
          auto* req = new uv_write_t{};
          auto* copy = new std::string(buf->base, static_cast<size_t>(nread));
          req->data = copy;
          uv_buf_t out = uv_buf_init(copy->data(), static_cast<unsigned>(copy->size()));
          uv_write(req, stream, &out, 1, [](uv_write_t* r, int) {
            delete static_cast<std::string*>(r->data);
            delete r;
          });
        });
  }

  UvHandle<uv_tcp_t> listener_;
  UvHandle<uv_tcp_t> peer_;
  SocketAddress address_;
};

void echoOver(const char* ip) {
  EventLoop loop;
  {
    EchoServer server(loop.get(), ip);
    TcpConnection connection(loop.get());
    int connect_status = 1;
    std::string received;
    ASSERT_EQ(connection.connect(server.address(),
                                 [&](int status) {
                                   connect_status = status;
                                   ASSERT_TRUE(connection.localAddress());
                                   EXPECT_EQ(connection.localAddress()->family(),
                                             server.address().family());
                                   connection.startRead([&](int error, std::string_view data) {
                                     EXPECT_EQ(error, 0);
                                     received.append(data);
                                     if (received.size() >= 5) {
                                       connection.close();
                                       server.close();
                                     }
                                   });
                                   connection.write("ping!");
                                 }),
              0);
    UvTimer guard(loop.get());
    guard.start(3000ms, [&] {
      connection.close();
      server.close();
    });
    while (received.size() < 5 && guard.active()) loop.runOnce();
    guard.stop();
    EXPECT_EQ(connect_status, 0);
    EXPECT_EQ(received, "ping!");
  }
  EXPECT_EQ(testing::openHandleCount(loop), 0);
  EXPECT_EQ(loop.close(), 0);
}

TEST(TcpConnectionTest, ConnectWriteReadIPv4) { echoOver("127.0.0.1"); }
TEST(TcpConnectionTest, ConnectWriteReadIPv6) { echoOver("::1"); }

TEST(TcpConnectionTest, RefusedConnectionReportsError) {
  EventLoop loop;
  {
    auto port = testing::freePort(testing::SocketType::kTcp);
    TcpConnection connection(loop.get());
    int status = 0;
    ASSERT_EQ(connection.connect(*parseIpLiteral("127.0.0.1", port), [&](int s) { status = s; }),
              0);
    loop.run();
    EXPECT_EQ(status, UV_ECONNREFUSED);
    connection.close();
  }
  EXPECT_EQ(testing::openHandleCount(loop), 0);
  EXPECT_EQ(loop.close(), 0);
}

TEST(TcpConnectionTest, ClosingDuringConnectRunsNoCallback) {
  EventLoop loop;
  {
    EchoServer server(loop.get(), "127.0.0.1");
    bool called = false;
    auto connection = std::make_unique<TcpConnection>(loop.get());
    ASSERT_EQ(connection->connect(server.address(), [&](int) { called = true; }), 0);
    connection->write("queued before connect");
    connection.reset();
    server.close();
    loop.run();
    EXPECT_FALSE(called);
  }
  EXPECT_EQ(testing::openHandleCount(loop), 0);
  EXPECT_EQ(loop.close(), 0);
}

// A peer that resets the connection (a hostile or crashing SIP server) must make a write fail,
// not raise SIGPIPE: libuv writes with write(2), and SIGPIPE's default action ends the process.
// Any EventLoop makes the process ignore SIGPIPE.
TEST(TcpConnectionTest, WritingToAPeerThatResetIsAnErrorNotSigpipe) {
  EventLoop loop;
  {
    int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in at{};
    at.sin_family = AF_INET;
    at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&at), sizeof(at)), 0);
    ASSERT_EQ(::listen(listener, 1), 0);
    socklen_t len = sizeof(at);
    ::getsockname(listener, reinterpret_cast<sockaddr*>(&at), &len);
    TcpConnection connection(loop.get());
    int connect_status = 1;
    ASSERT_EQ(connection.connect(*parseIpLiteral("127.0.0.1", ntohs(at.sin_port)),
                                 [&](int status) { connect_status = status; }),
              0);
    while (connect_status == 1) loop.runOnce();
    ASSERT_EQ(connect_status, 0);
    int read_error = 0;
    connection.startRead([&](int error, std::string_view) { read_error = error; });
    // The peer resets: SO_LINGER 0, then close.
    int peer = ::accept(listener, nullptr, nullptr);
    linger reset{1, 0};
    ::setsockopt(peer, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
    ::close(peer);
    ::close(listener);
    for (int i = 0; i < 20; ++i) {  // on after the reset was seen: EPIPE from then on
      connection.write("OPTIONS sip:x SIP/2.0\r\n\r\n");
      loop.runOnce();
      std::this_thread::sleep_for(5ms);
    }
    EXPECT_NE(read_error, 0) << "the reset surfaces as an error";
    connection.close();
    loop.run();
  }
  EXPECT_EQ(testing::openHandleCount(loop), 0);
  EXPECT_EQ(loop.close(), 0);
}

}  // namespace
}  // namespace mediapath::net
