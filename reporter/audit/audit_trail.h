#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace mediapath::reporter {

/// The agent's local decision log: append-only JSON Lines in the state directory. Each record
/// carries `prev_sha256` (the SHA-256 of the previous line's bytes) and `sha256` (of the record
/// itself without that field), so an edited, removed or reordered line is evident. Every append
/// is fsync'd before it returns: a decision that was logged survives a crash.
///
/// Thread safety: none; one writer (the agent's loop thread). Readers open the file themselves.
class AuditTrail {
 public:
  /// Opens (creating with mode 0600) `path` and reads the hash of its last line. Throws
  /// std::runtime_error naming the path on failure.
  explicit AuditTrail(std::string path);
  ~AuditTrail();
  AuditTrail(const AuditTrail&) = delete;
  AuditTrail& operator=(const AuditTrail&) = delete;

  /// Adds `seq`, `prev_sha256` and `sha256` to `record` and appends it. Returns the line written.
  std::string append(nlohmann::json record);

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
  std::string last_hash_;
  std::size_t seq_ = 0;
};

struct AuditProblem {
  std::size_t line = 0;  ///< 1-based
  std::string message;
};

struct AuditVerification {
  std::size_t records = 0;
  std::vector<AuditProblem> problems;
  bool ok() const { return problems.empty(); }
};

/// Reads the trail and checks every record's own hash and its link to the previous line.
AuditVerification verifyAuditTrail(const std::string& path);

/// All records of the trail, in order (no verification). Throws std::runtime_error on I/O errors
/// or a line that is not JSON (naming its line number).
std::vector<nlohmann::json> readAuditTrail(const std::string& path);

/// Hex SHA-256 of `data`.
std::string sha256Hex(const std::string& data);

/// The hash that precedes the first record: 64 zeros.
inline const std::string kAuditGenesisHash(64, '0');

}  // namespace mediapath::reporter
