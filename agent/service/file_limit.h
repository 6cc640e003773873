#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "agent/config/probe_targets.h"

namespace mediapath::agent {

/// RLIMIT_NOFILE as it stands.
struct OpenFileLimit {
  std::uint64_t soft = 0;
  std::uint64_t hard = 0;
};

/// Raises the soft open-file limit to the hard one (no privilege needed) and returns the limits
/// now in force. Every sip/udp target keeps its UDP socket from one round to the next
/// (probes::UdpBurst), so 10,000 of them need ~10,000 descriptors — far above the usual soft
/// limit of 1,024, while systemd's default hard limit is 524,288. The agent uses no select(),
/// so large descriptor numbers are safe.
OpenFileLimit raiseOpenFileLimit();

/// Descriptors the targets may hold at once: one kept socket per sip/udp target, one per other
/// target while its round runs, two shared by all stun targets (IPv4 and IPv6), plus a reserve
/// for the metrics server, HTTPS, DNS and files.
std::uint64_t descriptorsNeeded(const std::vector<PlannedTarget>& targets);

/// How many sockets the probes may hold (net::SocketBudget): the soft limit less the reserve
/// descriptorsNeeded() counts, so the metrics server, HTTPS, DNS and files always find one.
/// Unlimited (the maximum value) when the limit is unknown.
std::uint64_t probeSocketLimit(const OpenFileLimit& limit);

/// A warning naming both numbers and the fix when `needed` exceeds `limit.soft`; "" otherwise.
/// (Rounds that cannot get a socket fail with "UDP socket: too many open files".)
std::string openFileLimitWarning(std::uint64_t needed, const OpenFileLimit& limit);

}  // namespace mediapath::agent
