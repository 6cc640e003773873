#pragma once

#include <sys/socket.h>
#include <uv.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "net/clock.h"
#include "net/socket_address.h"
#include "net/uv_handle.h"

namespace mediapath::net {

/// A UDP socket shared by many senders, which moves datagrams in batches: sends are queued and
/// leave together in one sendmmsg() at the end of the loop iteration that queued them (a
/// uv_prepare before the loop polls, a uv_check after it), and replies are read with recvmmsg(),
/// up to kBatch per system call.
///
/// A datagram's send time (for RTTs) is when its sendmmsg() started, plus its share of the call:
/// the kernel moves a batch's datagrams one after the other, so datagram i of n is taken to leave
/// i/n of the way through the call. A batch of one is timed as a sendto() would be.
///
/// Why: at 10,000 STUN targets a second, one socket per target cost two system calls per reply
/// (recvmsg, then the recvmsg that finds the socket empty) plus an epoll event, and a sendmsg
/// per request; those calls were about two thirds of the agent's CPU. Batching does not delay a
/// datagram beyond the iteration it was queued in, and Sender::onSent says when it left, which
/// is when an RTT starts (not when it was queued).
///
/// The receive callback and Sender::onSent may destroy this socket; nothing of it is touched
/// after they return in that case.
///
/// Thread safety: none; owned by the thread running `loop`.
class BatchedUdpSocket {
 public:
  /// Datagrams read per recvmmsg() and sent per sendmmsg().
  static constexpr std::size_t kBatch = 64;
  /// Largest datagram received whole; longer ones are dropped (probe replies are small).
  static constexpr std::size_t kMaxDatagram = 2048;

  /// Told when a queued datagram left (error 0), and when, or that it failed (a negative libuv
  /// error).
  class Sender {
   public:
    virtual void onSent(std::uint32_t cookie, int error,
                        std::chrono::steady_clock::time_point sent_at) = 0;

   protected:
    ~Sender() = default;
  };
  /// `data` is valid only during the call.
  using ReceiveCallback =
      std::function<void(std::span<const std::uint8_t> data, const SocketAddress& from)>;

  /// `clock` (nullptr: the steady clock) times the sends; it must outlive the socket.
  explicit BatchedUdpSocket(uv_loop_t* loop, const Clock* clock = nullptr);
  ~BatchedUdpSocket();
  BatchedUdpSocket(const BatchedUdpSocket&) = delete;
  BatchedUdpSocket& operator=(const BatchedUdpSocket&) = delete;

  /// Creates the socket, bound to `local` (port 0: any free port), and starts reading into
  /// `on_receive`. Returns 0 or a negative libuv error.
  ///
  /// It takes no SocketBudget: that budget caps sockets that grow with the
  /// number of targets, while a shared socket is a fixed cost (one per loop and local address,
  /// like the metrics listener), inside the reserve the budget keeps free.
  int open(const SocketAddress& local, ReceiveCallback on_receive);
  /// The bound address (after open()).
  std::optional<SocketAddress> localAddress() const { return local_; }
  /// Datagrams the kernel dropped for this socket since open() (SO_RXQ_OVFL), mostly because
  /// the receive queue was full: with one socket for many targets, each is a reply lost on the
  /// agent's side, and the operator must be able to tell that from loss on the path. The kernel
  /// tells the running count with each datagram queued after a drop, so drops show once the
  /// next datagram was read.
  std::uint64_t dropped() const { return dropped_; }
  /// From now on, has the kernel stamp each datagram's arrival, for receivedAt() (after open()).
  /// Opt-in: each datagram then carries a control message, and users that do not time replies
  /// need not pay for it. Returns 0 or a negative libuv error.
  int enableReceiveTimestamps();
  /// When the kernel received the datagram being handed to the receive callback (its
  /// SO_TIMESTAMPNS stamp on std::chrono::steady_clock, net/kernel_timestamp.h), or nullopt when
  /// not enabled or the kernel gave none. Valid only during that callback. Each datagram of a
  /// recvmmsg() batch has its own stamp.
  std::optional<std::chrono::steady_clock::time_point> receivedAt() const { return received_at_; }

  /// Queues `data` for `to`; `sender->onSent(cookie, error)` runs once it was handed to the
  /// kernel, later in this loop iteration, unless forget(sender) was called first. Dropped
  /// (without onSent) when the socket is not open.
  void queue(const SocketAddress& to, std::string_view data, Sender* sender, std::uint32_t cookie);
  /// Drops `sender`'s queued datagrams: they are not sent and onSent does not run for them.
  void forget(const Sender* sender);
  /// Closes the socket now (idempotent); queued datagrams are dropped.
  void close();

 private:
  struct Pending {
    SocketAddress to;
    std::size_t offset = 0;  ///< into bytes_
    std::size_t length = 0;
    Sender* sender = nullptr;  ///< nullptr once forgotten (or told)
    std::uint32_t cookie = 0;
    int error = 0;  ///< the send's outcome, set in flush()
    std::chrono::steady_clock::time_point sent_at;
  };

  void flush();
  void readAll();
  void noteDrops(msghdr& message);

  uv_loop_t* loop_;
  const Clock* clock_;
  int fd_ = -1;
  std::optional<SocketAddress> local_;
  UvHandle<uv_poll_t> poll_;
  UvHandle<uv_prepare_t> prepare_;
  UvHandle<uv_check_t> check_;
  ReceiveCallback on_receive_;
  std::uint64_t dropped_ = 0;
  bool timestamps_ = false;
  std::optional<std::chrono::steady_clock::time_point> received_at_;

  std::vector<Pending> queued_;
  std::string bytes_;             ///< the queued payloads, back to back
  std::vector<Pending> sending_;  ///< the batch being sent (forget() reaches it too)
  std::string sending_bytes_;

  /// Receive buffers, allocated on first open(): kBatch × kMaxDatagram.
  struct Receive;
  std::unique_ptr<Receive> receive_;
  /// Expires with this object: lets a loop over callbacks stop when one destroyed it.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace mediapath::net
