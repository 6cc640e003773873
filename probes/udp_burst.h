#pragma once

#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "net/batched_udp_socket.h"
#include "net/socket_address.h"
#include "net/udp_socket.h"
#include "net/uv_timer.h"
#include "probes/probe.h"
#include "probes/quality.h"

namespace mediapath::probes {

class ProbeResources;
class SharedStunPort;

/// The shared STUN sockets of one ProbeResources, one per (clock, local address), each kept open
/// while some burst holds it. Internal to probes/.
///
/// Thread safety: loop thread only.
class SharedStunPorts {
 public:
  SharedStunPorts() = default;
  ~SharedStunPorts();
  SharedStunPorts(const SharedStunPorts&) = delete;
  SharedStunPorts& operator=(const SharedStunPorts&) = delete;

  /// The port for `local` on `loop`, opened on first use. nullptr with `error` set when the
  /// socket cannot be opened.
  std::shared_ptr<SharedStunPort> open(uv_loop_t* loop, const net::Clock* clock,
                                       const net::SocketAddress& local, int& error);
  /// Replies the kernel dropped in these sockets' receive queues, closed sockets included.
  std::uint64_t drops() const;

 private:
  friend class SharedStunPort;  // adds its count when it closes
  struct Entry {
    uv_loop_t* loop;
    const net::Clock* clock;  // a port times sends with its bursts' clock
    net::SocketAddress local;
    std::weak_ptr<SharedStunPort> port;
  };
  std::vector<Entry> ports_;
  std::uint64_t closed_drops_ = 0;
};

/// One round of RTP-like paced requests over UDP: `packets` requests `spacing` apart, each its
/// own transaction, replies collected until every request is answered or `timeout` after the
/// last send.
///
/// Where the datagrams go through (Sharing):
/// - kOwnSocket: a socket of this burst's own, connected to the target (so an ICMP port
///   unreachable ends the round at once as "connection refused" instead of at the timeout), kept
///   from one round to the next (while the local and remote addresses stay the same and no
///   socket error occurred): creating, binding, registering and
///   closing a socket per round was a fifth of the agent's CPU at 10,000 targets. A reply that
///   arrives after its round ended is therefore still read — between rounds it is dropped, and
///   in a later round `match_reply` must refuse it, which it does because every round uses
///   fresh transaction identifiers (SIP branch + Call-ID). The target holds one descriptor.
/// - kStunTransactionId: one net::BatchedUdpSocket per ProbeResources and local address, shared by
/// every
///   burst in this mode (STUN); a reply is routed to the burst that sent the request with the
///   same STUN transaction id (bytes 8–19), and late replies, whose ids are no longer routed,
///   are dropped there. Requests leave in one sendmmsg() per loop iteration and an RTT starts
///   when its request actually left. At 10,000 targets this cut the agent's CPU by a fifth with
///   one packet per round and by two fifths with bursts of 5 (bench/README.md).
///
/// Thread safety: loop thread only. `done` never runs after cancel() or destruction.
// NOLINTNEXTLINE(cppcoreguidelines-virtual-class-destructor): final, so never deleted as a base
class UdpBurst final : private net::BatchedUdpSocket::Sender {
 public:
  enum class Sharing { kOwnSocket, kStunTransactionId };

  struct Hooks {
    /// Builds request `index` (0-based); called right before it is sent.
    std::function<std::string(int index)> make_request;
    /// The index of the request a datagram answers, or nullopt to ignore it (not ours, stale,
    /// malformed). Only datagrams from the target's address are offered.
    std::function<std::optional<int>(std::span<const std::uint8_t> data)> match_reply;
  };
  struct Outcome {
    int sent = 0;
    int received = 0;
    std::vector<std::optional<double>> rtt_ms;  ///< per request, in send order
    std::string error;                          ///< a socket error that ended the round early
    /// Every RTT ends at the kernel's receive stamp (net/kernel_timestamp.h), not when the loop
    /// read the reply; false when some reply (or, with none, the socket) had no usable stamp.
    bool kernel_timestamps = false;
  };

  /// Runs on the context's loop and clock; its sockets count against (kOwnSocket) or come from
  /// (kStunTransactionId) the context's ProbeResources.
  explicit UdpBurst(const ProbeContext& context, Sharing sharing = Sharing::kOwnSocket);
  ~UdpBurst();
  UdpBurst(const UdpBurst&) = delete;
  UdpBurst& operator=(const UdpBurst&) = delete;

  /// Starts a round from `local` (port 0: any free port). Reuses the previous round's socket
  /// (or shared port) when it was bound for the same `local`, else binds a new one. Errors are
  /// reported through `done`, never from inside start().
  void start(const net::SocketAddress& local, const net::SocketAddress& remote,
             const BurstSpec& burst, std::chrono::milliseconds timeout, Hooks hooks,
             std::function<void(Outcome)> done);
  /// Ends the round without reporting it; the socket stays open for the next one.
  void cancel();
  /// Ends the round and closes the socket (or lets go of the shared one).
  void close();
  /// The socket's bound address (during a round, and between rounds while it is kept).
  std::optional<net::SocketAddress> localAddress() const;

 private:
  friend class SharedStunPort;  // delivers replies to onDatagram()

  bool openSocket(const net::SocketAddress& local);
  void sendNext();
  void onSent(std::uint32_t index, int error,
              std::chrono::steady_clock::time_point sent_at) override;
  void onDatagram(std::span<const std::uint8_t> data, const net::SocketAddress& from);
  void onSocketError(int error);
  void finish();
  void failRound(std::string error);

  net::EventLoop& loop_;
  const net::Clock* clock_;
  ProbeResources& resources_;
  Sharing sharing_;
  std::unique_ptr<net::UdpSocket> socket_;            ///< kOwnSocket
  std::shared_ptr<SharedStunPort> port_;              ///< kStunTransactionId
  std::vector<std::array<std::uint8_t, 12>> routed_;  ///< this round's ids routed to us by port_
  net::SocketAddress socket_local_;          ///< what socket_ was bound for (port 0 stays 0)
  net::SocketAddress socket_remote_;         ///< what socket_ is connected to
  std::optional<net::SocketAddress> bound_;  ///< the port the kernel picked, read once
  net::UvTimer pacing_;
  net::UvTimer deadline_;
  net::SocketAddress remote_;
  BurstSpec burst_;
  std::chrono::milliseconds timeout_{0};
  Hooks hooks_;
  std::function<void(Outcome)> done_;
  Outcome outcome_;
  std::vector<std::chrono::steady_clock::time_point> sent_at_;
  bool kernel_time_ = false;  ///< the clock can be compared with kernel stamps
  int loop_timed_ = 0;        ///< this round's replies timed by the loop
};

/// Copies a round's counts and RTTs into `result` (sent, received, loss, rtt, samples, timestamps),
/// feeds the samples to `jitter` and fills jitter_ms and mos when there was at least one reply.
void summarizeBurst(const UdpBurst::Outcome& outcome, JitterEstimator& jitter, ProbeResult& result);

}  // namespace mediapath::probes
