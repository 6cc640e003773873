#include "net/tls_connection.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "net/event_loop.h"
#include "net/uv_timer.h"
#include "tests/net/loop_check.h"
#include "tests/support/process.h"
#include "tests/support/tls_pki.h"

namespace mediapath::net {
namespace {

using namespace std::chrono_literals;

/// One connection's TLS server on a thread with blocking sockets (the class under test is the
/// client; the server is plain OpenSSL). It echoes what it reads, or — `garbage` — answers the
/// ClientHello with bytes that are not TLS.
class TestServer {
 public:
  struct Options {
    std::string cert;
    std::string key;
    int max_version = 0;  ///< 0: any; TLS1_1_VERSION to test the client's floor
    bool garbage = false;
    std::string greeting;  ///< sent right after the handshake, before any read
  };

  explicit TestServer(const testing::TlsPki::Files& files, int max_version = 0,
                      std::string greeting = {})
      : TestServer(Options{files.cert, files.key, max_version, false, std::move(greeting)}) {}
  static Options garbage() { return Options{{}, {}, 0, true, {}}; }

  explicit TestServer(Options options) : options_(std::move(options)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(::listen(listener_, 4), 0);
    socklen_t len = sizeof(addr);
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~TestServer() {
    stop_ = true;
    thread_.join();
    ::close(listener_);
  }
  SocketAddress address() const { return *parseIpLiteral("127.0.0.1", port_); }

 private:
  bool waitReadable(int fd) {
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) > 0) return true;
    }
    return false;
  }

  void serve() {
    if (!waitReadable(listener_)) return;
    int fd = ::accept(listener_, nullptr, nullptr);
    if (fd < 0) return;
    if (options_.garbage) {
      char buf[512];
      if (waitReadable(fd)) (void)::read(fd, buf, sizeof(buf));
      const char reply[] = "SIP/2.0 400 Bad Request\r\n\r\n";
      (void)::write(fd, reply, sizeof(reply) - 1);
      waitReadable(fd);
      ::close(fd);
      return;
    }
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate_file(ctx, options_.cert.c_str(), SSL_FILETYPE_PEM);
    SSL_CTX_use_PrivateKey_file(ctx, options_.key.c_str(), SSL_FILETYPE_PEM);
    if (options_.max_version != 0) {
      SSL_CTX_set_min_proto_version(ctx, 0);
      SSL_CTX_set_security_level(ctx, 0);
      SSL_CTX_set_max_proto_version(ctx, options_.max_version);
    }
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) == 1) {
      if (!options_.greeting.empty()) {
        SSL_write(ssl, options_.greeting.data(), static_cast<int>(options_.greeting.size()));
      }
      char buf[4096];
      while (waitReadable(fd)) {
        int n = SSL_read(ssl, buf, sizeof(buf));
        if (n <= 0) break;
        SSL_write(ssl, buf, n);
      }
    }
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    ::close(fd);
  }

  Options options_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

struct Outcome {
  bool done = false;
  int status = 1;
  std::string failure;
  std::string version;
  std::optional<std::chrono::system_clock::time_point> not_after;
};

/// Connects to `server` as `server_name` trusting `ca_file`, and returns what connect reported.
Outcome connectTo(const SocketAddress& server, const std::string& server_name,
                  const std::string& ca_file) {
  EventLoop loop;
  Outcome out;
  {
    TlsConnection tls(loop.get(), {server_name, ca_file});
    int rc = tls.connect(server, [&](int status) {
      out.done = true;
      out.status = status;
      out.failure = tls.failureText();
      out.version = tls.tlsVersion();
      out.not_after = tls.certNotAfter();
      tls.close();
    });
    if (rc != 0) {
      out.status = rc;
      out.failure = tls.failureText();
      return out;
    }
    UvTimer guard(loop.get());
    guard.start(5000ms, [&] { tls.close(); });
    while (!out.done && guard.active()) loop.runOnce();
    guard.stop();
  }
  EXPECT_EQ(testing::openHandleCount(loop), 0);
  EXPECT_EQ(loop.close(), 0);
  return out;
}

class TlsConnectionTest : public ::testing::Test {
 protected:
  testing::TempDir dir_;
  testing::TlsPki pki_{dir_};
};

TEST_F(TlsConnectionTest, VerifiedHandshakeThenEcho) {
  TestServer server(pki_.good());
  EventLoop loop;
  std::string received;
  int connect_status = 1;
  {
    TlsConnection tls(loop.get(), {"sip.test", pki_.caFile()});
    EXPECT_EQ(tls.write("early"), UV_ENOTCONN);
    ASSERT_EQ(tls.connect(server.address(),
                          [&](int status) {
                            connect_status = status;
                            EXPECT_EQ(tls.tlsVersion(), "TLSv1.3");
                            EXPECT_EQ(tls.certNotAfter(), pki_.goodNotAfter());
                            ASSERT_TRUE(tls.localAddress());
                            tls.startRead([&](int error, std::string_view data) {
                              EXPECT_EQ(error, 0);
                              received.append(data);
                              if (received.size() >= 11) tls.close();
                            });
                            EXPECT_EQ(tls.write("hello "), 0);
                            EXPECT_EQ(tls.write("world"), 0);
                          }),
              0);
    UvTimer guard(loop.get());
    guard.start(5000ms, [&] { tls.close(); });
    while (received.size() < 11 && guard.active()) loop.runOnce();
    guard.stop();
  }
  EXPECT_EQ(connect_status, 0);
  EXPECT_EQ(received, "hello world");
  EXPECT_EQ(testing::openHandleCount(loop), 0);
  EXPECT_EQ(loop.close(), 0);
}

TEST_F(TlsConnectionTest, IpLiteralIsCheckedAgainstIpSubjectAltName) {
  TestServer server(pki_.good());
  Outcome out = connectTo(server.address(), "127.0.0.1", pki_.caFile());
  EXPECT_EQ(out.status, 0) << out.failure;
  EXPECT_EQ(out.not_after, pki_.goodNotAfter());
}

TEST_F(TlsConnectionTest, ExpiredCertificateIsNamed) {
  TestServer server(pki_.expired());
  Outcome out = connectTo(server.address(), "sip.test", pki_.caFile());
  EXPECT_EQ(out.status, UV_EPROTO);
  EXPECT_EQ(out.failure, "TLS: certificate has expired");
  EXPECT_EQ(out.version, "");
}

TEST_F(TlsConnectionTest, WrongNameIsNamed) {
  TestServer server(pki_.wrongName());
  Outcome out = connectTo(server.address(), "sip.test", pki_.caFile());
  EXPECT_EQ(out.status, UV_EPROTO);
  EXPECT_EQ(out.failure, "TLS: certificate does not match server name 'sip.test'");
}

TEST_F(TlsConnectionTest, WrongIpIsNamed) {
  TestServer server(pki_.good());
  // The certificate lists 127.0.0.1 only; the name we expect is what is checked, not the
  // address we connected to.
  Outcome out = connectTo(server.address(), "127.0.0.9", pki_.caFile());
  EXPECT_EQ(out.failure, "TLS: certificate does not match server name '127.0.0.9'");
}

TEST_F(TlsConnectionTest, UnknownCaIsNotTrusted) {
  TestServer server(pki_.good());
  Outcome out = connectTo(server.address(), "sip.test", "");
  EXPECT_EQ(out.status, UV_EPROTO);
  EXPECT_EQ(out.failure, "TLS: certificate not trusted (unable to get local issuer certificate)");
}

TEST_F(TlsConnectionTest, CertificateOfAnotherCaIsNotTrusted) {
  TestServer server(pki_.untrusted());
  Outcome out = connectTo(server.address(), "sip.test", pki_.caFile());
  EXPECT_EQ(out.failure, "TLS: certificate not trusted (unable to get local issuer certificate)");
}

TEST_F(TlsConnectionTest, Tls11ServerIsRefused) {
  TestServer server(pki_.good(), TLS1_1_VERSION);
  Outcome out = connectTo(server.address(), "sip.test", pki_.caFile());
  EXPECT_EQ(out.status, UV_EPROTO);
  EXPECT_TRUE(out.failure.starts_with("TLS handshake: ")) << out.failure;
}

TEST_F(TlsConnectionTest, PlainTextPeerFailsTheHandshake) {
  TestServer server(TestServer::garbage());
  Outcome out = connectTo(server.address(), "sip.test", pki_.caFile());
  EXPECT_EQ(out.status, UV_EPROTO);
  EXPECT_EQ(out.failure, "TLS handshake: wrong version number");
}

TEST_F(TlsConnectionTest, MissingCaFileFailsAtConnect) {
  TestServer server(pki_.good());
  Outcome out = connectTo(server.address(), "sip.test", dir_.file("nope.pem"));
  EXPECT_EQ(out.status, UV_EINVAL);
  EXPECT_EQ(out.failure,
            "TLS: cannot load ca_file \"" + dir_.file("nope.pem") + "\": file not found");
}

TEST_F(TlsConnectionTest, BytesBeforeStartReadAreDeliveredAfterIt) {
  TestServer server(pki_.good(), 0, "greeting");
  EventLoop loop;
  std::string received;
  {
    TlsConnection tls(loop.get(), {"sip.test", pki_.caFile()});
    bool connected = false;
    ASSERT_EQ(tls.connect(server.address(), [&](int status) { connected = status == 0; }), 0);
    UvTimer guard(loop.get());
    guard.start(5000ms, [&] { tls.close(); });
    while (!connected && guard.active()) loop.runOnce();
    ASSERT_TRUE(connected);
    // Let the greeting arrive while nobody reads.
    UvTimer pause(loop.get());
    pause.start(100ms, [] {});
    while (pause.active()) loop.runOnce();
    ASSERT_EQ(tls.startRead([&](int error, std::string_view data) {
      EXPECT_EQ(error, 0);
      received.append(data);
      if (received.size() >= 8) tls.close();
    }),
              0);
    EXPECT_EQ(received, "");  // never inside startRead()
    while (received.size() < 8 && guard.active()) loop.runOnce();
    guard.stop();
  }
  EXPECT_EQ(received, "greeting");
  EXPECT_EQ(testing::openHandleCount(loop), 0);
  EXPECT_EQ(loop.close(), 0);
}

TEST_F(TlsConnectionTest, ContextIsSharedPerCaFile) {
  std::string error;
  auto a = TlsClientContext::forCaFile(pki_.caFile(), error);
  auto b = TlsClientContext::forCaFile(pki_.caFile(), error);
  ASSERT_TRUE(a);
  EXPECT_EQ(a, b);
  std::string garbage = dir_.write("garbage.pem", "not a certificate\n");
  EXPECT_FALSE(TlsClientContext::forCaFile(garbage, error));
  EXPECT_TRUE(error.starts_with("TLS: cannot load ca_file \"" + garbage + "\"")) << error;
}

}  // namespace
}  // namespace mediapath::net
