#pragma once

// A private loop with what probes need on it, for the tests and benches that drive one probe
// kind directly (the agent and its commands build theirs with a resolver and a socket budget).
// Header-only: the includer links mediapath::probes.
#include <chrono>
#include <cstdint>

#include "net/clock.h"
#include "net/event_loop.h"
#include "probes/probe.h"
#include "probes/probe_resources.h"

namespace mediapath::testing {

/// The steady clock, but not declared comparable with kernel timestamps (Clock::isSteadyClock):
/// probes on it time replies by the loop, as they did before kernel timestamps and as they fall
/// back to. The "loop timing" side of kernel-timestamp tests and benches.
class LoopTimedClock final : public net::Clock {
 public:
  std::chrono::steady_clock::time_point now() const override {
    return std::chrono::steady_clock::now();
  }
  std::chrono::system_clock::time_point wallNow() const override {
    return std::chrono::system_clock::now();
  }
};

struct ProbeKit {
  explicit ProbeKit(std::uint64_t seed = 1) : random(seed) {}

  probes::ProbeContext context(net::Resolver* resolver = nullptr) {
    return probes::ProbeContext{&loop, resolver, &clock, &random, &resources};
  }

  // Declared in the order they must be destroyed in reverse: the resources' shared sockets are
  // handles of the loop.
  net::EventLoop loop;
  net::SystemClock clock;
  net::SeededRandom random;
  probes::ProbeResources resources;
};

}  // namespace mediapath::testing
