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

/// One round of a target as the status page's sparkline draws it.
struct RoundPoint {
  std::chrono::system_clock::time_point time;
  std::optional<float> rtt_ms;  ///< average RTT of the round; none when nothing answered
  std::optional<float> loss;    ///< 0..1; none when the kind measures no loss
  bool ok = false;
  bool healthy = false;  ///< the target's health after this round
};

/// A target becoming healthy or unhealthy (its first known state counts as a change).
struct HealthChange {
  std::chrono::system_clock::time_point time;
  bool healthy = false;
  std::string error;  ///< the round's error when it became unhealthy by a failure
};

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
  /// The last good round's kind-specific figures in one line (probes::summary: a mapped or
  /// relayed address, a SIP status, a relay's one-way delay, loss per direction, reordering).
  std::string details;
  std::chrono::system_clock::time_point last_round{};
  std::uint64_t rounds = 0;
  /// Kept by the board (what recordRound is handed here is ignored): the last kHistoryRounds
  /// rounds, oldest first, and the last kMaxHealthChanges health changes, newest first.
  std::deque<RoundPoint> history;
  std::deque<HealthChange> health_changes;
};

/// The active candidate changing, or the group entering or leaving panic.
struct GroupChange {
  std::chrono::system_clock::time_point time;
  std::string active;
  bool panic = false;
};

struct GroupStatus {
  std::string name;
  std::vector<std::string> candidates;
  std::string active;
  bool panic = false;
  std::deque<GroupChange> history;  ///< kept by the board; newest first
};

struct DecisionNote {
  std::chrono::system_clock::time_point time;
  std::string group;
  std::string text;
  /// Filled by the board when the note is added: the group's candidates as the board saw them
  /// at that moment (their last round), without their history.
  std::vector<TargetStatus> evidence;
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
/// Memory is bounded per target and per group, whatever the uptime: kHistoryRounds points of 32
/// bytes (3.8 KiB per target: 10 minutes at the default 5 s interval, 36 s at 300 ms),
/// kMaxHealthChanges health changes per target, kMaxGroupChanges changes per group and
/// kMaxDecisions decisions, each with its group's candidates as evidence.
///
/// Thread safety: every method is safe from any thread.
class StatusBoard {
 public:
  static constexpr size_t kMaxDecisions = 20;
  static constexpr size_t kHistoryRounds = 120;
  static constexpr size_t kMaxHealthChanges = 10;
  static constexpr size_t kMaxGroupChanges = 10;

  void reset(std::string site, std::string version, std::vector<TargetStatus> targets,
             std::vector<GroupStatus> groups);
  /// The result of one round of `status.name`, at `status.last_round`; the board counts the
  /// rounds and keeps the history itself.
  void recordRound(TargetStatus status);
  void updateGroup(const std::string& group, const std::string& active, bool panic,
                   std::chrono::system_clock::time_point time);
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

/// How often the status page re-reads itself (its script; a browser without scripts reloads).
inline constexpr std::chrono::seconds kStatusPageRefresh{5};

/// The status page: server-rendered HTML with inline SVG sparklines, no external assets; every
/// text from the config or a peer is escaped, and its Content-Security-Policy allows only
/// same-origin scripts and fetches, so injected markup could not run even if it got through.
std::string renderStatusPage(const StatusSnapshot& snapshot,
                             std::chrono::system_clock::time_point now);

/// The page's script, served at kStatusPageScriptPath: every kStatusPageRefresh it fetches `/`
/// (same origin) and swaps the new board in, without a reload; says so on the page.
inline constexpr const char* kStatusPageScriptPath = "/status.js";
const std::string& statusPageScript();

/// The snapshot as JSON, served at /status.json for scripts: times ISO-8601 UTC, history points'
/// times in Unix milliseconds, absent figures null; bytes that are not UTF-8 become U+FFFD.
std::string renderStatusJson(const StatusSnapshot& snapshot,
                             std::chrono::system_clock::time_point now);

}  // namespace mediapath::reporter
