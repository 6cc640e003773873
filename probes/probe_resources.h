#pragma once

#include <cstdint>
#include <memory>

namespace mediapath::net {
class SocketBudget;
}

namespace mediapath::probes {

class SharedStunPorts;
class StunAgentPool;

/// What the probes on one loop share: the socket budget their per-target sockets count against,
/// the shared STUN sockets (one per local address, replies routed by transaction id) and the
/// recycled StunAgents. Owned by whoever owns the loop (the running agent, a command, a test) and
/// handed to every probe in its ProbeContext — explicitly, rather than found through the loop's
/// `data` field or a thread_local, so that two loops on one thread (tests, `location validate`
/// beside a client) cannot share sockets by accident and a reader sees where the state lives.
///
/// Thread safety: loop thread only. Must outlive every probe given it, and the loop must outlive
/// it (its shared sockets are handles of the loop).
class ProbeResources {
 public:
  /// `budget` may be null (no cap); it must outlive this object.
  explicit ProbeResources(net::SocketBudget* budget = nullptr);
  ~ProbeResources();
  ProbeResources(const ProbeResources&) = delete;
  ProbeResources& operator=(const ProbeResources&) = delete;

  /// The cap on per-target sockets (sip and tcp connections, sip/udp and turn sockets), or null.
  net::SocketBudget* socketBudget() const { return budget_; }

  /// Replies the kernel dropped in the shared STUN sockets because their receive queue was full,
  /// since this object was made (sockets closed since included). Each one is also a lost reply
  /// of some stun target, so a rise here means part of the stun loss is the agent's own.
  std::uint64_t sharedSocketDrops() const;

  // For the probes' implementation (probes/udp_burst.cc, probes/stun_probe.cc).
  SharedStunPorts& stunPorts() { return *stun_ports_; }
  StunAgentPool& stunAgents() { return *stun_agents_; }

 private:
  net::SocketBudget* budget_;
  std::unique_ptr<StunAgentPool> stun_agents_;
  std::unique_ptr<SharedStunPorts> stun_ports_;
};

}  // namespace mediapath::probes
