#pragma once

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "agent/config/config.h"
#include "probes/probe.h"

namespace mediapath::agent {

/// One target ready to be scheduled: what the probe needs and how often.
struct PlannedTarget {
  probes::ProbeTarget target;
  Duration interval{5000};
};

/// A target that cannot be probed as configured (its secret is missing, unreadable or empty).
/// The message names the target and where the secret was looked for, never the secret.
class TargetError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Builds the probe's view of one configured target: the probing defaults with the target's own
/// interval/timeout/burst on top; bursts only for the kinds that send them (stun, sip). A TURN
/// password is read now with readSecret(). Throws TargetError.
PlannedTarget planTarget(const TargetConfig& target, const ProbingConfig& probing);

/// planTarget() for every target of `config` (in config order).
std::vector<PlannedTarget> planTargets(const Config& config);

/// The DNS servers of the config as c-ares expects them ("IP:port", "[IPv6]:port"); empty means
/// the system resolver.
std::vector<std::string> dnsServerList(const DnsConfig& dns);

}  // namespace mediapath::agent
