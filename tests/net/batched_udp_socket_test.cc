#include "net/batched_udp_socket.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "net/event_loop.h"
#include "net/udp_socket.h"
#include "net/uv_timer.h"
#include "tests/net/loop_check.h"

namespace mediapath::net {
namespace {

using namespace std::chrono_literals;

std::string text(std::span<const std::uint8_t> data) {
  return std::string(reinterpret_cast<const char*>(data.data()), data.size());
}

/// Records what it was told, and may act on it.
struct RecordingSender final : BatchedUdpSocket::Sender {
  std::vector<std::pair<std::uint32_t, int>> sent;
  std::vector<std::chrono::steady_clock::time_point> sent_at;
  std::function<void()> then;
  void onSent(std::uint32_t cookie, int error, std::chrono::steady_clock::time_point at) override {
    sent.emplace_back(cookie, error);
    sent_at.push_back(at);
    if (then) then();
  }
};

class BatchedUdpSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(peer_.bind(*parseIpLiteral("127.0.0.1", 0)), 0);
    ASSERT_EQ(
        peer_.startReceive([this](std::span<const std::uint8_t> data, const SocketAddress& from) {
          received_.push_back(text(data));
          if (echo_) peer_.send(from, "echo:" + text(data));
        }),
        0);
  }
  void TearDown() override {
    peer_.close();
    EXPECT_EQ(testing::openHandleCount(loop_), 0);
    EXPECT_EQ(loop_.close(), 0);
  }
  /// Runs the loop until `done` or 2 s.
  void runUntil(const std::function<bool()>& done) {
    UvTimer guard(loop_.get());
    guard.start(2000ms, [] {});
    while (!done() && guard.active()) loop_.runOnce();
  }
  /// A few quick iterations, for "nothing happens" checks.
  void settle() {
    uv_update_time(loop_.get());  // the loop's clock is stale after a long synchronous step
    UvTimer wait(loop_.get());
    bool over = false;
    wait.start(100ms, [&] { over = true; });
    while (!over) loop_.runOnce();
  }
  SocketAddress peerAddress() const { return *peer_.localAddress(); }

  EventLoop loop_;
  UdpSocket peer_{loop_.get()};
  bool echo_ = true;
  std::vector<std::string> received_;
};

TEST_F(BatchedUdpSocketTest, QueuedDatagramsLeaveInOrderAndEachSenderIsToldOnce) {
  auto socket = std::make_unique<BatchedUdpSocket>(loop_.get());
  std::vector<std::string> replies;
  ASSERT_EQ(socket->open(*parseIpLiteral("127.0.0.1", 0),
                         [&](std::span<const std::uint8_t> data, const SocketAddress& from) {
                           EXPECT_EQ(from, peerAddress());
                           replies.push_back(text(data));
                         }),
            0);
  ASSERT_TRUE(socket->localAddress());
  EXPECT_NE(socket->localAddress()->port(), 0);
  RecordingSender a;
  RecordingSender b;
  // More than one sendmmsg() batch, from two senders interleaved.
  const int count = static_cast<int>(BatchedUdpSocket::kBatch) + 10;
  for (int i = 0; i < count; ++i) {
    socket->queue(peerAddress(), "d" + std::to_string(i), i % 2 == 0 ? &a : &b,
                  static_cast<std::uint32_t>(i));
  }
  EXPECT_TRUE(received_.empty());  // nothing leaves before the loop runs
  runUntil([&] { return static_cast<int>(replies.size()) == count; });
  ASSERT_EQ(static_cast<int>(received_.size()), count);
  for (int i = 0; i < count; ++i)
    EXPECT_EQ(received_[static_cast<std::size_t>(i)], "d" + std::to_string(i));
  ASSERT_EQ(static_cast<int>(replies.size()), count);
  EXPECT_EQ(replies.front(), "echo:d0");
  ASSERT_EQ(a.sent.size() + b.sent.size(), static_cast<std::size_t>(count));
  for (const auto& [cookie, error] : a.sent) {
    EXPECT_EQ(cookie % 2, 0u);
    EXPECT_EQ(error, 0);
  }
  socket.reset();
}

TEST_F(BatchedUdpSocketTest, EachDatagramIsTimedAtItsShareOfTheSendCall) {
  // A clock that moves 30 us per reading: the batch's sendmmsg() starts at T and returns at
  // T + 30 us, so its three datagrams are taken to leave at T, T + 10 us and T + 20 us.
  struct SteppingClock final : Clock {
    mutable std::chrono::steady_clock::time_point t{std::chrono::seconds(100)};
    std::chrono::steady_clock::time_point now() const override {
      t += std::chrono::microseconds(30);
      return t;
    }
    std::chrono::system_clock::time_point wallNow() const override { return {}; }
  } clock;
  BatchedUdpSocket socket(loop_.get(), &clock);
  ASSERT_EQ(socket.open(*parseIpLiteral("127.0.0.1", 0), [](auto, const auto&) {}), 0);
  RecordingSender sender;
  for (std::uint32_t i = 0; i < 3; ++i) socket.queue(peerAddress(), "x", &sender, i);
  runUntil([&] { return sender.sent.size() == 3; });
  ASSERT_EQ(sender.sent_at.size(), 3u);
  auto start = sender.sent_at[0];
  EXPECT_GT(start, std::chrono::steady_clock::time_point(std::chrono::seconds(100)));
  EXPECT_EQ(sender.sent_at[1] - start, std::chrono::microseconds(10));
  EXPECT_EQ(sender.sent_at[2] - start, std::chrono::microseconds(20));
}

TEST_F(BatchedUdpSocketTest, CountsTheDatagramsTheKernelDroppedForAFullQueue) {
  // 30,000 datagrams arrive while the loop is not reading: more than the receive queue holds
  // (even enlarged), so the kernel drops some. Every datagram is then either read or counted.
  BatchedUdpSocket socket(loop_.get());
  int read = 0;
  ASSERT_EQ(socket.open(*parseIpLiteral("127.0.0.1", 0), [&](auto, const auto&) { ++read; }), 0);
  EXPECT_EQ(socket.dropped(), 0u);
  constexpr int kSent = 30000;
  for (int i = 0; i < kSent; ++i) ASSERT_EQ(peer_.send(*socket.localAddress(), "x"), 0) << i;
  settle();  // reads what the queue held
  EXPECT_GT(read, 0);
  EXPECT_LT(read, kSent);
  // The kernel hands out its running count with each datagram queued after the drops.
  ASSERT_EQ(peer_.send(*socket.localAddress(), "after"), 0);
  runUntil([&] { return read + static_cast<int>(socket.dropped()) == kSent + 1; });
  EXPECT_GT(socket.dropped(), 0u);
  EXPECT_EQ(read + static_cast<int>(socket.dropped()), kSent + 1);
}

TEST_F(BatchedUdpSocketTest, ForgottenDatagramsAreNotSentAndTheirSenderIsNotCalled) {
  BatchedUdpSocket socket(loop_.get());
  ASSERT_EQ(socket.open(*parseIpLiteral("127.0.0.1", 0), [](auto, const auto&) {}), 0);
  RecordingSender gone;
  RecordingSender kept;
  socket.queue(peerAddress(), "gone-1", &gone, 1);
  socket.queue(peerAddress(), "kept", &kept, 2);
  socket.queue(peerAddress(), "gone-2", &gone, 3);
  socket.forget(&gone);
  runUntil([&] { return !received_.empty(); });
  settle();
  EXPECT_EQ(received_, std::vector<std::string>{"kept"});
  EXPECT_TRUE(gone.sent.empty());
  ASSERT_EQ(kept.sent.size(), 1u);
  EXPECT_EQ(kept.sent[0], std::make_pair(2u, 0));
}

TEST_F(BatchedUdpSocketTest, ASendThatFailsIsReportedAndTheRestOfTheBatchStillLeaves) {
  BatchedUdpSocket socket(loop_.get());
  ASSERT_EQ(socket.open(*parseIpLiteral("127.0.0.1", 0), [](auto, const auto&) {}), 0);
  RecordingSender sender;
  socket.queue(peerAddress(), "first", &sender, 1);
  // An IPv6 destination cannot be reached from an IPv4 socket: that one datagram fails.
  socket.queue(*parseIpLiteral("::1", 9), "wrong family", &sender, 2);
  socket.queue(peerAddress(), "third", &sender, 3);
  runUntil([&] { return sender.sent.size() == 3; });
  ASSERT_EQ(sender.sent.size(), 3u);
  EXPECT_EQ(sender.sent[0], std::make_pair(1u, 0));
  EXPECT_EQ(sender.sent[1].first, 2u);
  EXPECT_LT(sender.sent[1].second, 0);
  EXPECT_EQ(sender.sent[2], std::make_pair(3u, 0));
  runUntil([&] { return received_.size() == 2; });
  EXPECT_EQ(received_, (std::vector<std::string>{"first", "third"}));
}

TEST_F(BatchedUdpSocketTest, ASenderMayDestroyTheSocketWhileBeingTold) {
  auto socket = std::make_unique<BatchedUdpSocket>(loop_.get());
  ASSERT_EQ(socket->open(*parseIpLiteral("127.0.0.1", 0), [](auto, const auto&) {}), 0);
  RecordingSender first;
  RecordingSender second;
  first.then = [&] { socket.reset(); };
  socket->queue(peerAddress(), "one", &first, 1);
  socket->queue(peerAddress(), "two", &second, 2);
  runUntil([&] { return socket == nullptr; });
  settle();
  EXPECT_EQ(first.sent.size(), 1u);
  EXPECT_TRUE(second.sent.empty());  // its socket was gone before its turn
  EXPECT_EQ(received_.size(), 2u);   // both had left: the batch is sent before anyone is told
}

TEST_F(BatchedUdpSocketTest, TheReceiveCallbackMayDestroyTheSocketMidBatch) {
  std::unique_ptr<BatchedUdpSocket> socket = std::make_unique<BatchedUdpSocket>(loop_.get());
  int replies = 0;
  ASSERT_EQ(socket->open(*parseIpLiteral("127.0.0.1", 0),
                         [&](auto, const auto&) {
                           ++replies;
                           socket.reset();
                         }),
            0);
  RecordingSender sender;
  for (std::uint32_t i = 0; i < 10; ++i) socket->queue(peerAddress(), "x", &sender, i);
  runUntil([&] { return socket == nullptr; });
  settle();
  EXPECT_EQ(replies, 1);  // the other nine echoes arrived for no one, and were not read
}

TEST_F(BatchedUdpSocketTest, WorksOverIPv6) {
  {
    BatchedUdpSocket v6(loop_.get());
    std::vector<std::string> got;
    ASSERT_EQ(v6.open(*parseIpLiteral("::1", 0),
                      [&](std::span<const std::uint8_t> data, const SocketAddress&) {
                        got.push_back(text(data));
                      }),
              0);
    EXPECT_TRUE(v6.localAddress()->isIPv6());
    UdpSocket responder(loop_.get());
    ASSERT_EQ(responder.bind(*parseIpLiteral("::1", 0)), 0);
    ASSERT_EQ(
        responder.startReceive([&](std::span<const std::uint8_t> data, const SocketAddress& from) {
          responder.send(from, "v6:" + text(data));
        }),
        0);
    RecordingSender sender;
    v6.queue(*responder.localAddress(), "hello", &sender, 7);
    runUntil([&] { return !got.empty(); });
    EXPECT_EQ(got, std::vector<std::string>{"v6:hello"});
    EXPECT_EQ(sender.sent, (std::vector<std::pair<std::uint32_t, int>>{{7u, 0}}));
  }
}

}  // namespace
}  // namespace mediapath::net
