#pragma once

#include <map>
#include <optional>
#include <string>

#include "reporter/audit/audit_trail.h"

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

struct SavedState {
  std::map<std::string, GroupState> groups;
  /// The audit trail's last record when the state was saved: a deleted tail shows against it.
  std::optional<reporter::AuditAnchor> audit;
};

/// Reads a `state.json`; empty when the file does not exist. Throws std::runtime_error naming
/// the file when it cannot be read, is not JSON or not the shape `save` writes (a damaged state
/// must be looked at, not ignored or half read).
SavedState readStateFile(const std::string& path);

/// The agent's persistent state in the state directory: `state.json` (active candidate and
/// pending change per failover group, the audit trail's anchor; written atomically) next to
/// `audit.jsonl`.
///
/// Thread safety: none (loop thread).
class StateStore {
 public:
  /// Creates `dir` with mode 0700 when missing. An existing directory keeps its mode (it may
  /// be shared: `--state-dir /tmp` must not lock /tmp); a group- or world-accessible one is
  /// warned about. Throws std::runtime_error naming it on failure.
  explicit StateStore(std::string dir);

  SavedState load() const { return readStateFile(statePath()); }
  void save(const std::map<std::string, GroupState>& groups,
            const std::optional<reporter::AuditAnchor>& audit = std::nullopt) const;

  const std::string& dir() const { return dir_; }
  std::string statePath() const { return dir_ + "/state.json"; }
  std::string auditPath() const { return dir_ + "/audit.jsonl"; }

 private:
  std::string dir_;
};

}  // namespace mediapath::agent
