#pragma once

// Internal to probes/: the StunAgents of one ProbeResources.

extern "C" {
#include <stun/stunagent.h>
}

#include <memory>
#include <vector>

namespace mediapath::probes {

/// Recycled StunAgents for the STUN rounds of one loop. stun_agent_init() clears all 200
/// transaction slots of a 12.8 KiB agent; done per round, with the allocation, it was the largest
/// user-space cost at 10,000 targets (~10 % of the agent's CPU), and keeping an agent per probe
/// cost ~120 MiB. An agent in the pool has no open transaction (its round forgot them), so it is
/// as clean as a new one; only rounds in flight hold one.
///
/// Thread safety: loop thread only.
class StunAgentPool {
 public:
  std::unique_ptr<StunAgent> acquire();
  void release(std::unique_ptr<StunAgent> agent);

 private:
  static constexpr std::size_t kMaxFree = 256;
  std::vector<std::unique_ptr<StunAgent>> free_;
};

}  // namespace mediapath::probes
