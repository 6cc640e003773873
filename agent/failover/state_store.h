#pragma once

#include <map>
#include <optional>
#include <string>

namespace mediapath::agent {

/// A change decided but not yet confirmed by the platform. Persisted *before* the request is
/// sent, so that an agent killed mid-apply finishes (or finds finished) the same change after a
/// restart instead of repeating or losing it.
struct PendingChange {
  std::string id;  ///< ties the audit records of one change together
  std::string from;
  std::string to;
  std::string decided_at;  ///< ISO-8601 UTC
  std::string reason;
};

struct GroupState {
  std::string active;
  std::optional<PendingChange> pending;
};

/// The agent's persistent state in the state directory: `state.json` (active candidate and
/// pending change per failover group, written atomically) next to `audit.jsonl`.
///
/// Thread safety: none (loop thread).
class StateStore {
 public:
  /// Creates `dir` (mode 0700) when missing. Throws std::runtime_error naming it on failure.
  explicit StateStore(std::string dir);

  /// The saved state; empty when there is none yet. Throws std::runtime_error naming the file
  /// when it cannot be read or parsed (a damaged state must be looked at, not ignored).
  std::map<std::string, GroupState> load() const;
  void save(const std::map<std::string, GroupState>& groups) const;

  const std::string& dir() const { return dir_; }
  std::string statePath() const { return dir_ + "/state.json"; }
  std::string auditPath() const { return dir_ + "/audit.jsonl"; }

 private:
  std::string dir_;
};

}  // namespace mediapath::agent
