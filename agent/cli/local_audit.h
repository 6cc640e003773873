#pragma once

#include <chrono>
#include <string>

namespace mediapath::agent {

/// `audit --local [--verify]`: prints the agent's own decision trail (state_dir/audit.jsonl),
/// newest last, limited to records younger than `since`; with `verify`, checks every record's
/// hash and the chain and reports each problem with its line number. Returns the exit code:
/// 0, or 1 when the trail cannot be read or verification finds a problem.
int printLocalAudit(const std::string& state_dir, std::chrono::milliseconds since, bool verify);

}  // namespace mediapath::agent
