#pragma once

#include <uv.h>

#include <cstddef>

namespace mediapath::net {

/// How many sockets net::UdpSocket and net::TcpConnection may hold at once on one loop.
///
/// Probe sockets scale with the number of targets (a sip/udp target keeps its socket between
/// rounds; stun targets share a net::BatchedUdpSocket, which is not counted); everything else the
/// process needs a descriptor for — the metrics server, HTTPS to Genesys Cloud, c-ares, the audit
/// trail — does not. Capping the probes below the open-file limit keeps a reserve for those, so too
/// many targets fail the rounds that found no slot ("too many open files") instead of a failover
/// PATCH or a scrape.
///
/// A socket takes a slot when it gets its descriptor (bind, connect) and gives it back when it
/// is closed; without a slot the call fails with UV_EMFILE.
///
/// Thread safety: loop thread only.
class SocketBudget {
 public:
  explicit SocketBudget(std::size_t limit) : limit_(limit) {}
  SocketBudget(const SocketBudget&) = delete;
  SocketBudget& operator=(const SocketBudget&) = delete;

  bool take() {
    if (in_use_ >= limit_) return false;
    ++in_use_;
    return true;
  }
  void give() {
    if (in_use_ > 0) --in_use_;
  }
  std::size_t inUse() const { return in_use_; }
  std::size_t limit() const { return limit_; }

 private:
  std::size_t limit_;
  std::size_t in_use_ = 0;
};

/// Attaches `budget` to `loop` (through the loop's `data` field; nullptr: no limit, the
/// default). The budget must outlive every socket of the loop.
void setSocketBudget(uv_loop_t* loop, SocketBudget* budget);
/// The budget of `loop`, or nullptr.
SocketBudget* socketBudget(const uv_loop_t* loop);

/// A slot of a loop's budget, held by one socket. Empty when the loop has no budget.
class SocketSlot {
 public:
  SocketSlot() = default;
  ~SocketSlot() { release(); }
  SocketSlot(const SocketSlot&) = delete;
  SocketSlot& operator=(const SocketSlot&) = delete;

  /// Takes a slot of `loop`'s budget unless one is held already. False when none is left.
  bool acquire(const uv_loop_t* loop);
  void release();

 private:
  SocketBudget* budget_ = nullptr;
};

}  // namespace mediapath::net
