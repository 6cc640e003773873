#include "net/http_client.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "net/event_loop.h"
#include "net/uv_timer.h"
#include "tests/net/loop_check.h"
#include "tests/support/process.h"
#include "tests/support/run_until.h"

namespace mediapath::net {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

/// A cpp-httplib server on 127.0.0.1 (port 0) in its own thread: the client under test runs on
/// the test's loop and must never wait for it synchronously.
class TestServer {
 public:
  TestServer() {
    server_.Get("/hello", [](const httplib::Request&, httplib::Response& res) {
      res.set_header("X-Request-Id", "abc-123");
      res.set_content("hello", "text/plain");
    });
    server_.Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
      res.status = 201;
      res.set_content(req.method + " " + req.get_header_value("Content-Type") + " " + req.body,
                      "text/plain");
    });
    server_.Patch("/echo", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(req.method + " " + req.body, "text/plain");
    });
    server_.Get("/slow", [](const httplib::Request&, httplib::Response& res) {
      std::this_thread::sleep_for(900ms);
      res.set_content("late", "text/plain");
    });
    server_.Get("/big", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(64 * 1024, 'x'), "text/plain");
    });
    server_.Get("/status/503", [](const httplib::Request&, httplib::Response& res) {
      res.status = 503;
      res.set_header("Retry-After", "7");
      res.set_content("{}", "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // A server that never starts fails here rather than hanging the test.
    if (!testing::waitUntil([this] { return server_.is_running(); }, 5s, 1ms)) {
      server_.stop();
      thread_.join();
      throw std::runtime_error("the test HTTP server did not start within 5 s");
    }
  }
  ~TestServer() {
    server_.stop();
    thread_.join();
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

HttpResponse runOne(EventLoop& loop, HttpClient& client, HttpRequest req) {
  std::string req_url = req.url;
  HttpResponse out;
  bool done = false;
  client.send(std::move(req), [&](HttpResponse r) {
    out = std::move(r);
    done = true;
  });
  EXPECT_TRUE(testing::runLoopUntil(
      loop, [&] { return done; }, 10s, req_url + "'s response"));
  // On a timeout the callback still points at this frame: drop it before returning.
  if (!done) client.cancelAll();
  return out;
}

TEST(HttpClientTest, GetReturnsStatusBodyAndCaseInsensitiveHeaders) {
  TestServer server;
  EventLoop loop;
  {
    HttpClient client(loop);
    HttpRequest req;
    req.url = server.url("/hello");
    HttpResponse r = runOne(loop, client, req);
    EXPECT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "hello");
    EXPECT_EQ(r.headers.get("x-request-id"), "abc-123");
    EXPECT_EQ(r.headers.get("X-REQUEST-ID"), "abc-123");
    EXPECT_EQ(r.headers.get("missing"), std::nullopt);
    EXPECT_EQ(client.pending(), 0u);
  }
  EXPECT_EQ(testing::openHandleCount(loop), 0);
  EXPECT_EQ(loop.close(), 0);
}

TEST(HttpClientTest, SendsMethodHeadersAndBody) {
  TestServer server;
  EventLoop loop;
  HttpClient client(loop);
  HttpRequest post;
  post.method = "POST";
  post.url = server.url("/echo");
  post.headers = {{"Content-Type", "application/json"}};
  post.body = R"({"a":1})";
  HttpResponse r = runOne(loop, client, post);
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.body, R"(POST application/json {"a":1})");
  HttpRequest patch;
  patch.method = "PATCH";
  patch.url = server.url("/echo");
  patch.headers = {{"Content-Type", "application/json-patch+json"}};
  patch.body = "[]";
  r = runOne(loop, client, patch);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "PATCH []");
}

TEST(HttpClientTest, HttpErrorStatusIsAResponseNotAFailure) {
  TestServer server;
  EventLoop loop;
  HttpClient client(loop);
  HttpRequest req;
  req.url = server.url("/status/503");
  HttpResponse r = runOne(loop, client, req);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.headers.get("retry-after"), "7");
}

TEST(HttpClientTest, TimeoutIsReportedAndTheLoopKeepsRunning) {
  TestServer server;
  EventLoop loop;
  {
    HttpClient client(loop);
    // A timer on the same loop must keep firing on time while the request waits.
    UvTimer ticker(loop.get());
    std::vector<Steady::time_point> ticks;
    ticker.start(
        50ms, [&] { ticks.push_back(Steady::now()); }, 50ms);
    HttpRequest req;
    req.url = server.url("/slow");
    req.timeout = 400ms;
    auto start = Steady::now();
    HttpResponse r = runOne(loop, client, req);
    auto took = Steady::now() - start;
    ticker.stop();
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.failure, HttpFailure::kTimeout);
    EXPECT_EQ(r.error, "timeout after 400 ms");
    EXPECT_GE(took, 390ms);
    EXPECT_LT(took, 850ms);
    EXPECT_GE(ticks.size(), 6u);
  }
  EXPECT_EQ(testing::openHandleCount(loop), 0);
  EXPECT_EQ(loop.close(), 0);
}

TEST(HttpClientTest, ConnectionRefusedIsAConnectionFailure) {
  EventLoop loop;
  HttpClient client(loop);
  HttpRequest req;
  req.url =
      "http://127.0.0.1:" + std::to_string(testing::freePort(testing::SocketType::kTcp)) + "/x";
  HttpResponse r = runOne(loop, client, req);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.failure, HttpFailure::kConnection);
  EXPECT_NE(r.error.find("connection failed"), std::string::npos) << r.error;
}

TEST(HttpClientTest, OversizedBodyIsRefused) {
  TestServer server;
  EventLoop loop;
  HttpClient client(loop, HttpClientOptions{{}, 1024, "test"});
  HttpRequest req;
  req.url = server.url("/big");
  HttpResponse r = runOne(loop, client, req);
  EXPECT_EQ(r.failure, HttpFailure::kTooLarge);
  EXPECT_EQ(r.error, "response larger than 1024 bytes");
}

TEST(HttpClientTest, UnsupportedSchemeFailsThroughTheCallback) {
  EventLoop loop;
  HttpClient client(loop);
  bool called_inside_send = true;
  bool done = false;
  HttpResponse out;
  HttpRequest req;
  req.url = "ftp://127.0.0.1/file";
  client.send(req, [&](HttpResponse r) {
    out = std::move(r);
    done = true;
  });
  called_inside_send = done;
  ASSERT_TRUE(testing::runLoopUntil(
      loop, [&] { return done; }, 5s, "the failure callback"));
  EXPECT_FALSE(called_inside_send);
  EXPECT_EQ(out.failure, HttpFailure::kInvalidRequest);
}

TEST(HttpClientTest, CancelAllDropsCallbacksAndLeavesNoHandle) {
  TestServer server;
  EventLoop loop;
  int called = 0;
  {
    HttpClient client(loop);
    HttpRequest req;
    req.url = server.url("/slow");
    client.send(req, [&](HttpResponse) { ++called; });
    client.send(req, [&](HttpResponse) { ++called; });
    for (int i = 0; i < 20; ++i) loop.runOnce(), std::this_thread::sleep_for(5ms);
    EXPECT_EQ(client.pending(), 2u);
    client.cancelAll();
    EXPECT_EQ(client.pending(), 0u);
    for (int i = 0; i < 5; ++i) loop.runOnce();
  }
  EXPECT_EQ(called, 0);
  EXPECT_EQ(testing::openHandleCount(loop), 0);
  EXPECT_EQ(loop.close(), 0);
}

TEST(HttpClientTest, DestroyingTheClientMidRequestLeavesNoHandle) {
  TestServer server;
  EventLoop loop;
  {
    auto client = std::make_unique<HttpClient>(loop);
    HttpRequest req;
    req.url = server.url("/slow");
    client->send(req, [](HttpResponse) { FAIL() << "callback after destruction"; });
    for (int i = 0; i < 20; ++i) loop.runOnce(), std::this_thread::sleep_for(5ms);
    client.reset();
  }
  EXPECT_EQ(testing::openHandleCount(loop), 0);
  EXPECT_EQ(loop.close(), 0);
}

TEST(HttpClientTest, ACallbackMayDestroyTheClient) {
  TestServer server;
  EventLoop loop;
  auto client = std::make_unique<HttpClient>(loop);
  HttpRequest req;
  req.url = server.url("/hello");
  int called = 0;
  for (int i = 0; i < 3; ++i) {
    client->send(req, [&](HttpResponse) {
      ++called;
      client.reset();
    });
  }
  ASSERT_TRUE(testing::runLoopUntil(
      loop, [&] { return !client; }, 10s, "a callback destroying the client"));
  EXPECT_EQ(called, 1);
  EXPECT_EQ(testing::openHandleCount(loop), 0);
  EXPECT_EQ(loop.close(), 0);
}

/// A raw TCP peer on 127.0.0.1 that accepts one connection, reads the request head, then does
/// what `behave` says with the socket (a hostile server: resets, endless bodies).
class RawPeer {
 public:
  explicit RawPeer(std::function<void(int fd)> behave) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::listen(listener_, 4) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw std::runtime_error("RawPeer: cannot listen");
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this, behave = std::move(behave)] {
      int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) return;
      std::string head;
      char buf[4096];
      while (head.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        head.append(buf, static_cast<std::size_t>(n));
      }
      behave(fd);
    });
  }
  ~RawPeer() {
    ::shutdown(listener_, SHUT_RDWR);
    thread_.join();
    ::close(listener_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/x"; }

  /// Closes `fd` with an RST instead of a FIN (SO_LINGER with a zero timeout).
  static void reset(int fd) {
    linger l{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    ::close(fd);
  }
  static void sendAll(int fd, std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
  }

 private:
  int listener_ = -1;
  int port_ = 0;
  std::thread thread_;
};

/// One GET of `peer` with a client capped at `max_bytes`, on a loop that must close cleanly.
HttpResponse getFrom(const RawPeer& peer, std::size_t max_bytes = std::size_t{16} << 20) {
  EventLoop loop;
  HttpResponse r;
  {
    HttpClient client(loop, HttpClientOptions{{}, max_bytes, "test"});
    HttpRequest req;
    req.url = peer.url();
    r = runOne(loop, client, req);
  }
  EXPECT_EQ(loop.close(), 0);
  return r;
}

// Issue #19 item 14: a reset was reported as "select/poll returned error".
TEST(HttpClientTest, AResetIsReportedAsAReset) {
  RawPeer before([](int fd) { RawPeer::reset(fd); });
  HttpResponse r = getFrom(before);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.failure, HttpFailure::kConnection);
  EXPECT_EQ(r.error, "connection reset by peer before any response");

  RawPeer mid([](int fd) {
    RawPeer::sendAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n{\"partial\": ");
    std::this_thread::sleep_for(100ms);
    RawPeer::reset(fd);
  });
  r = getFrom(mid);
  EXPECT_EQ(r.failure, HttpFailure::kConnection);
  EXPECT_EQ(r.error, "connection reset by peer mid-response");
}

// Issue #19 item 2: the body cap must stop the read, not only refuse the result afterwards.
TEST(HttpClientTest, AnEndlessBodyIsCutAtTheCap) {
  std::size_t sent = 0;
  {
    RawPeer peer([&sent](int fd) {
      RawPeer::sendAll(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
      std::string chunk = "4000\r\n" + std::string(0x4000, '[') + "\r\n";
      // Until the client hangs up (or far beyond any cap, so a broken client still ends).
      while (sent < (std::size_t{256} << 20)) {
        ssize_t n = ::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<std::size_t>(n);
      }
      ::close(fd);
    });
    HttpResponse r = getFrom(peer, 1 << 20);
    EXPECT_EQ(r.failure, HttpFailure::kTooLarge);
    EXPECT_EQ(r.error, "response larger than 1048576 bytes");
  }
  // The server stopped when the client hung up, not after 256 MiB (socket buffers aside).
  EXPECT_LT(sent, std::size_t{64} << 20);

  // A declared length beyond the cap is refused from the headers alone.
  RawPeer declared([](int fd) {
    RawPeer::sendAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n[[[");
    std::this_thread::sleep_for(200ms);
    ::close(fd);
  });
  HttpResponse r = getFrom(declared, 1 << 20);
  EXPECT_EQ(r.failure, HttpFailure::kTooLarge);
  EXPECT_EQ(r.error, "response larger than 1048576 bytes");
}

TEST(UrlTest, LoopbackHostsAndUrlParts) {
  EXPECT_TRUE(isLoopbackHost("localhost"));
  EXPECT_TRUE(isLoopbackHost("127.0.0.1"));
  EXPECT_TRUE(isLoopbackHost("127.9.8.7"));
  EXPECT_TRUE(isLoopbackHost("::1"));
  EXPECT_TRUE(isLoopbackHost("[::1]"));
  EXPECT_FALSE(isLoopbackHost("10.0.0.1"));
  EXPECT_FALSE(isLoopbackHost("localhost.example.com"));
  EXPECT_FALSE(isLoopbackHost("::2"));
  auto u = parseUrl("https://api.mypurecloud.de:443/api/v2");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "api.mypurecloud.de");
  EXPECT_FALSE(parseUrl("not a url"));
}

}  // namespace
}  // namespace mediapath::net
