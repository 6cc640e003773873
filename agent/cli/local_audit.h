#pragma once

#include <chrono>
#include <iosfwd>
#include <string>

namespace mediapath::agent {

/// `audit --local [--verify]`: prints the agent's own decision trail (state_dir/audit.jsonl),
/// newest last, limited to records younger than `since`; with `verify`, checks every record's
/// hash and the chain and reports each problem with its line number. Returns the exit code:
/// 0, or 1 when the trail cannot be read or verification finds a problem.
int printLocalAudit(const std::string& state_dir, std::chrono::milliseconds since, bool verify);

/// The same, writing the listing and verdict to `out` and problems to `err` (std::cout and
/// std::cerr above), with records older than `now - since` left out: what tests call.
int printLocalAudit(const std::string& state_dir, std::chrono::milliseconds since, bool verify,
                    std::chrono::system_clock::time_point now, std::ostream& out,
                    std::ostream& err);

}  // namespace mediapath::agent
