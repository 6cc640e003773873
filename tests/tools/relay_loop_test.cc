// The Relay on an in-process loop: an echo socket and a client on the same loop, loopback only.
#include <gtest/gtest.h>
#include <uv.h>

#include <chrono>
#include <map>
#include <set>
#include <string>

#include "net/event_loop.h"
#include "net/uv_handle.h"
#include "tools/impairment_relay/relay.h"

namespace mediapath::tools::relay {
namespace {

using Clock = std::chrono::steady_clock;

struct UdpEnd {
  net::UvHandle<uv_udp_t> sock;
  std::function<void(const std::string&, const sockaddr*)> on_read;
  char buf[2048];
};

void openUdp(uv_loop_t* loop, UdpEnd& end) {
  ASSERT_EQ(uv_udp_init(loop, end.sock.get()), 0);
  end.sock.markInitialized();
  end.sock.get()->data = &end;
  sockaddr_in addr{};
  uv_ip4_addr("127.0.0.1", 0, &addr);
  ASSERT_EQ(uv_udp_bind(end.sock.get(), reinterpret_cast<sockaddr*>(&addr), 0), 0);
  ASSERT_EQ(uv_udp_recv_start(
                end.sock.get(),
                [](uv_handle_t* h, std::size_t, uv_buf_t* b) {
                  auto* e = static_cast<UdpEnd*>(h->data);
                  *b = uv_buf_init(e->buf, sizeof e->buf);
                },
                [](uv_udp_t* h, ssize_t n, const uv_buf_t* b, const sockaddr* from, unsigned) {
                  auto* e = static_cast<UdpEnd*>(h->data);
                  if (e == nullptr || n <= 0 || from == nullptr) return;
                  e->on_read(std::string(b->base, static_cast<std::size_t>(n)), from);
                }),
            0);
}

std::uint16_t portOf(UdpEnd& end) {
  sockaddr_in a{};
  int len = sizeof a;
  uv_udp_getsockname(end.sock.get(), reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

void sendTo(UdpEnd& end, const std::string& data, const sockaddr* to) {
  uv_buf_t b = uv_buf_init(const_cast<char*>(data.data()), static_cast<unsigned>(data.size()));
  ASSERT_GT(uv_udp_try_send(end.sock.get(), &b, 1, to), 0);
}

TEST(RelayLoop, ForwardsWithHoldTimesAndClosesCleanly) {
  net::EventLoop loop;
  UdpEnd echo;
  std::set<std::string> echo_peers;
  openUdp(loop.get(), echo);
  echo.on_read = [&](const std::string& data, const sockaddr* from) {
    echo_peers.insert(std::string(reinterpret_cast<const char*>(from), sizeof(sockaddr_in)));
    sendTo(echo, data, from);
  };

  RelayOptions options;
  options.upstream = {"127.0.0.1", portOf(echo)};
  options.seed = 11;
  options.up = {std::chrono::milliseconds(15), std::chrono::milliseconds(0), 0};
  options.down = {std::chrono::milliseconds(5), std::chrono::milliseconds(0), 0};
  auto relay = std::make_unique<Relay>(loop, options);
  sockaddr_in relay_addr{};
  uv_ip4_addr("127.0.0.1", relay->port(), &relay_addr);
  ASSERT_NE(relay->port(), 0);

  // Two clients: each must get its own replies through its own upstream socket.
  UdpEnd a, b;
  openUdp(loop.get(), a);
  openUdp(loop.get(), b);
  std::map<std::string, Clock::time_point> sent;
  std::map<std::string, double> rtt_ms;
  int wrong_client = 0;
  auto reply = [&](char who) {
    return [&, who](const std::string& data, const sockaddr*) {
      if (data[0] != who) ++wrong_client;
      rtt_ms[data] = std::chrono::duration<double, std::milli>(Clock::now() - sent[data]).count();
    };
  };
  a.on_read = reply('a');
  b.on_read = reply('b');
  for (int i = 0; i < 10; ++i) {
    for (auto* end : {&a, &b}) {
      std::string msg = std::string(1, end == &a ? 'a' : 'b') + std::to_string(i);
      sent[msg] = Clock::now();
      sendTo(*end, msg, reinterpret_cast<sockaddr*>(&relay_addr));
    }
  }
  auto deadline = Clock::now() + std::chrono::seconds(5);
  while (rtt_ms.size() < 20 && Clock::now() < deadline) uv_run(loop.get(), UV_RUN_ONCE);

  ASSERT_EQ(rtt_ms.size(), 20u);
  EXPECT_EQ(wrong_client, 0);
  EXPECT_EQ(echo_peers.size(), 2u);  // one upstream socket per client address
  for (const auto& [msg, ms] : rtt_ms) {
    EXPECT_GE(ms, 20.0) << msg;  // 15 ms up + 5 ms down, never early
    EXPECT_LT(ms, 60.0) << msg;
  }
  EXPECT_EQ(relay->stats().received[0], 20u);
  EXPECT_EQ(relay->stats().forwarded[1], 20u);
  EXPECT_EQ(relay->stats().sessions, 2u);

  relay->stop();
  relay.reset();
  echo.sock.close();
  a.sock.close();
  b.sock.close();
  EXPECT_EQ(loop.close(), 0);  // no handle leaked
}

TEST(RelayLoop, HeldPacketsDoNotBlockLaterOnes) {
  // Jitter much larger than the spacing: with reordering allowed a later packet with a short
  // hold overtakes an earlier one with a long hold; with --no-reorder they keep their order.
  for (bool reorder : {true, false}) {
    net::EventLoop loop;
    UdpEnd echo;
    openUdp(loop.get(), echo);
    echo.on_read = [&](const std::string& data, const sockaddr* from) { sendTo(echo, data, from); };
    RelayOptions options;
    options.upstream = {"127.0.0.1", portOf(echo)};
    options.seed = 5;
    options.up = {std::chrono::milliseconds(30), std::chrono::milliseconds(29), 0};
    options.reorder = reorder;
    Relay relay(loop, options);
    sockaddr_in relay_addr{};
    uv_ip4_addr("127.0.0.1", relay.port(), &relay_addr);
    UdpEnd client;
    openUdp(loop.get(), client);
    std::vector<int> order;
    client.on_read = [&](const std::string& data, const sockaddr*) {
      order.push_back(std::stoi(data));
    };
    for (int i = 0; i < 30; ++i)
      sendTo(client, std::to_string(i), reinterpret_cast<sockaddr*>(&relay_addr));
    auto deadline = Clock::now() + std::chrono::seconds(5);
    while (order.size() < 30 && Clock::now() < deadline) uv_run(loop.get(), UV_RUN_ONCE);
    ASSERT_EQ(order.size(), 30u);
    EXPECT_EQ(std::is_sorted(order.begin(), order.end()), !reorder) << "reorder=" << reorder;
    relay.stop();
    echo.sock.close();
    client.sock.close();
  }
}

}  // namespace
}  // namespace mediapath::tools::relay
