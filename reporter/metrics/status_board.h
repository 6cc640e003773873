#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace mediapath::reporter {

struct TargetStatus {
  std::string name;
  std::string kind;
  std::string address;
  bool known = false;  ///< at least one round done
  bool healthy = false;
  bool last_ok = false;
  std::string last_error;
  std::optional<double> rtt_avg_ms;
  std::optional<double> jitter_ms;
  std::optional<double> loss;
  std::optional<double> mos;
  std::chrono::system_clock::time_point last_round{};
  std::uint64_t rounds = 0;
};

struct GroupStatus {
  std::string name;
  std::vector<std::string> candidates;
  std::string active;
  bool panic = false;
};

struct DecisionNote {
  std::chrono::system_clock::time_point time;
  std::string group;
  std::string text;
};

struct StatusSnapshot {
  std::string site;
  std::string version;
  std::chrono::system_clock::time_point started{};
  std::vector<TargetStatus> targets;  ///< config order
  std::vector<GroupStatus> groups;
  std::vector<DecisionNote> decisions;  ///< newest first
  bool ready = false;
};

/// What the status page and the readiness probe show. The loop thread writes; the HTTP worker
/// threads read a copy.
///
/// Thread safety: every method is safe from any thread.
class StatusBoard {
 public:
  static constexpr size_t kMaxDecisions = 20;

  void reset(std::string site, std::string version, std::vector<TargetStatus> targets,
             std::vector<GroupStatus> groups);
  /// The result of one round of `status.name`; the board counts the rounds itself.
  void recordRound(TargetStatus status);
  void updateGroup(const std::string& group, const std::string& active, bool panic);
  void addDecision(DecisionNote note);
  void setReady();
  bool ready() const;
  StatusSnapshot snapshot() const;
  std::vector<GroupStatus> groups() const;

 private:
  mutable std::mutex mutex_;
  StatusSnapshot state_;
  // Position of each target in state_.targets: a round's update is O(log n), not a scan (the
  // agent records thousands of rounds a second at large target counts).
  std::map<std::string, size_t, std::less<>> index_;
};

/// A self-refreshing HTML page (no external assets) in the spirit of blackbox_exporter's.
std::string renderStatusPage(const StatusSnapshot& snapshot,
                             std::chrono::system_clock::time_point now);

}  // namespace mediapath::reporter
