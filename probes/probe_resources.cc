#include "probes/probe_resources.h"

#include "probes/stun_agent_pool.h"
#include "probes/udp_burst.h"

namespace mediapath::probes {

ProbeResources::ProbeResources(net::SocketBudget* budget)
    : budget_(budget),
      stun_agents_(std::make_unique<StunAgentPool>()),
      stun_ports_(std::make_unique<SharedStunPorts>()) {}

ProbeResources::~ProbeResources() = default;

std::uint64_t ProbeResources::sharedSocketDrops() const { return stun_ports_->drops(); }

std::unique_ptr<StunAgent> StunAgentPool::acquire() {
  if (free_.empty()) {
    // Not value-initialised: stun_agent_init() sets every field that is read.
    auto agent = std::make_unique_for_overwrite<StunAgent>();
    stun_agent_init(agent.get(), STUN_ALL_KNOWN_ATTRIBUTES, STUN_COMPATIBILITY_RFC5389,
                    STUN_AGENT_USAGE_USE_FINGERPRINT);
    return agent;
  }
  auto agent = std::move(free_.back());
  free_.pop_back();
  return agent;
}

void StunAgentPool::release(std::unique_ptr<StunAgent> agent) {
  // Bounded, so a burst of rounds in flight (many dead targets) does not keep its memory.
  if (free_.size() < kMaxFree) free_.push_back(std::move(agent));
}

}  // namespace mediapath::probes
