#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace mediapath::reporter {

/// The last record written, kept outside the trail (the agent keeps it in its state file), so
/// that deleting the trail's tail — which leaves a valid chain — still shows.
struct AuditAnchor {
  std::size_t seq = 0;
  std::string sha256;  ///< SHA-256 of the record's line, as the next record's prev_sha256
};

/// The agent's local decision log: append-only JSON Lines in the state directory. Each record
/// carries `prev_sha256` (the SHA-256 of the previous line's bytes) and `sha256` (of the record
/// itself without that field), so an edited, removed or reordered line is evident. Every append
/// is fsync'd before it returns: a decision that was logged survives a crash.
///
/// Opening repairs what a crash or a tamperer can leave, without losing or hiding anything:
///  - a torn last line (a crash or a full disk mid-append) is moved to `<path>.quarantine` and
///    a record `audit_line_quarantined` says so; the sequence continues after the last whole
///    record;
///  - when `anchor` names a record the trail no longer holds (its tail was deleted), a record
///    `audit_tail_missing` says so and the sequence continues after the anchor, so the gap stays
///    visible to `verifyAuditTrail`.
///
/// Thread safety: none; one writer (the agent's loop thread). Readers open the file themselves.
class AuditTrail {
 public:
  /// Opens (creating with mode 0600) `path` and reads the hash of its last line. Throws
  /// std::runtime_error naming the path on failure, or when it is not a regular file.
  explicit AuditTrail(std::string path, const std::optional<AuditAnchor>& anchor = std::nullopt);
  ~AuditTrail();
  AuditTrail(const AuditTrail&) = delete;
  AuditTrail& operator=(const AuditTrail&) = delete;

  /// Adds `seq`, `prev_sha256` and `sha256` to `record` and appends it. Returns the line written.
  std::string append(nlohmann::json record);

  const std::string& path() const { return path_; }
  /// The last record written (seq 0 and the genesis hash for an empty trail).
  AuditAnchor anchor() const { return {seq_, last_hash_}; }
  /// What opening found and repaired, one sentence each, for the caller to log.
  const std::vector<std::string>& repairs() const { return repairs_; }

 private:
  void quarantineTornTail(long long complete_bytes, const std::string& torn);

  std::string path_;
  std::vector<std::string> repairs_;
  int fd_ = -1;
  std::string last_hash_;
  std::size_t seq_ = 0;
};

struct AuditProblem {
  std::size_t line = 0;  ///< 1-based; 0 for the trail as a whole
  std::string message;
};

struct AuditVerification {
  std::size_t records = 0;
  std::vector<AuditProblem> problems;
  bool ok() const { return problems.empty(); }
};

/// Reads the trail and checks every record: its own hash, that it is byte for byte the form it
/// was written in, its link to the previous line, that `seq` counts up by one, and — given the
/// anchor kept outside the trail — that the trail still holds the anchored record.
AuditVerification verifyAuditTrail(const std::string& path,
                                   const std::optional<AuditAnchor>& anchor = std::nullopt);

/// All records of the trail, in order (no verification). Throws std::runtime_error on I/O errors,
/// a path that is not a regular file, or a line that is not a JSON object (naming its number).
std::vector<nlohmann::json> readAuditTrail(const std::string& path);

/// Hex SHA-256 of `data`.
std::string sha256Hex(const std::string& data);

/// The hash that precedes the first record: 64 zeros.
inline const std::string kAuditGenesisHash(64, '0');

}  // namespace mediapath::reporter
