#include "agent/service/file_limit.h"

#include <sys/resource.h>

#include <limits>

namespace mediapath::agent {

namespace {
// The metrics server's threads and listener, libcurl's connections, c-ares' sockets, the shared
// STUN sockets, the audit trail, state file and log: a generous allowance, since running out
// fails probes.
constexpr std::uint64_t kReserve = 64;
}  // namespace

OpenFileLimit raiseOpenFileLimit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return {};
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return {static_cast<std::uint64_t>(limit.rlim_cur), static_cast<std::uint64_t>(limit.rlim_max)};
}

std::uint64_t descriptorsNeeded(const std::vector<PlannedTarget>& targets) {
  // Every other target holds at most one descriptor at a time: its kept UDP socket, or the TCP
  // connection / TURN allocation socket of a running round. STUN targets share one socket per
  // address family (probes::UdpBurst::Sharing::kStunTransactionId). A relay round holds two
  // allocations, each on its own socket; a nat round its test socket and the hairpin socket.
  std::uint64_t needed = kReserve;
  bool stun = false;
  for (const auto& planned : targets) {
    if (planned.target.kind == probes::Kind::kStun) {
      stun = true;
    } else {
      needed +=
          planned.target.kind == probes::Kind::kRelay || planned.target.kind == probes::Kind::kNat
              ? 2
              : 1;
    }
  }
  return needed + (stun ? 2 : 0);
}

std::uint64_t probeSocketLimit(const OpenFileLimit& limit) {
  if (limit.soft == 0) return std::numeric_limits<std::uint64_t>::max();
  return limit.soft > kReserve ? limit.soft - kReserve : 0;
}

std::string openFileLimitWarning(std::uint64_t needed, const OpenFileLimit& limit) {
  if (limit.soft == 0 || needed <= limit.soft) return {};
  return "the targets may need " + std::to_string(needed) + " open files but the limit is " +
         std::to_string(limit.soft) + " (hard limit " + std::to_string(limit.hard) +
         "): raise LimitNOFILE= in the unit (or ulimit -n), else rounds fail with \"too many "
         "open files\"";
}

}  // namespace mediapath::agent
