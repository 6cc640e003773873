#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "agent/config/config.h"
#include "agent/config/probe_targets.h"
#include "probes/probe.h"

namespace mediapath::agent {

/// One round of every planned target, all at once, on a private loop that is closed before this
/// returns (the `probe` and `location validate` commands). `dns` and `dns_timeout` configure the
/// resolver (no timeout: the resolver's default); `socket_limit` caps the probes' sockets (0: no
/// cap).
/// Results come in `planned` order; nullopt for a target that never reported.
///
/// Thread safety: blocks the calling thread until every round ended.
std::vector<std::optional<probes::ProbeResult>> probeOnce(
    const std::vector<PlannedTarget>& planned, const DnsConfig& dns,
    std::optional<Duration> dns_timeout = std::nullopt, std::uint64_t socket_limit = 0);

}  // namespace mediapath::agent
