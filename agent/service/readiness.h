#pragma once

// The office's media-readiness verdict (DESIGN.md "Command line", `readiness`): the rounds of
// every stun/turn/relay/nat/sip target over a while, each measured figure against its threshold.
// Pure: results in, checks out; the command runs the rounds and prints.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "agent/config/config.h"
#include "probes/probe.h"

namespace mediapath::agent {

enum class Verdict { kPass, kWarn, kFail };
std::string_view verdictName(Verdict v);  // "PASS", "WARN", "FAIL"

/// One line of the verdict.
struct ReadinessCheck {
  std::string check;   ///< "rtt", "loss", "turn over tls", ...
  std::string target;  ///< the target it is about; empty for site-wide checks
  Verdict result = Verdict::kPass;
  std::optional<double> value;  ///< the figure as a number, in `unit`, when there is one
  std::string unit;             ///< "ms", "%", "MOS", "days", or empty
  std::string figure;           ///< the figure as a person reads it ("12.3 ms", "5/6 rounds ok")
  std::string threshold;        ///< "< 100 ms", ">= 3.5", "inside readiness.media_cidrs"
};

/// Whether a target takes part: stun, turn, relay, nat and sip (tcp and dns targets check
/// servers, not the media path).
bool readinessApplies(probes::Kind kind);

/// Gathers the rounds of the targets (in the order they are added) and judges them.
///
/// Figures over the whole run: RTT is the mean of every reply's RTT; loss counts every packet
/// (for relay, the worse direction); jitter is the mean of the rounds' RFC 3550 estimates; MOS is
/// the E-model over those three, not a mean of per-round scores; reorder is reordered packets
/// over the packets that reached the far end.
///
/// Thread safety: none.
class ReadinessTally {
 public:
  explicit ReadinessTally(ReadinessConfig config) : config_(std::move(config)) {}

  /// Call once per target before its results, in report order.
  void addTarget(const probes::ProbeTarget& target);
  /// One round's result; results of targets not added are ignored.
  void add(const probes::ProbeResult& result);

  /// The checks, per target in order then the site-wide ones. `now` dates certificate
  /// lifetimes.
  std::vector<ReadinessCheck> checks(std::chrono::system_clock::time_point now) const;

 private:
  struct Target {
    std::string name;
    probes::Kind kind = probes::Kind::kStun;
    probes::Transport transport = probes::Transport::kUdp;
    int rounds = 0;
    int ok_rounds = 0;
    std::string last_error;
    int sent = 0;
    int received = 0;
    std::vector<double> rtt_ms;
    double jitter_sum = 0;
    int jitter_rounds = 0;
    // relay
    int stream_sent = 0;
    int reached_b = 0;
    int back_at_a = 0;
    int reordered = 0;
    // turn, relay: every relayed IP seen
    std::vector<std::string> relayed;
    // nat: what the last complete round found
    std::string nat_mapping;
    std::string nat_filtering;
    std::optional<bool> hairpinning;
    // tls transports: the earliest certificate expiry seen
    std::optional<std::chrono::system_clock::time_point> cert_not_after;
  };
  void targetChecks(const Target& t, std::chrono::system_clock::time_point now,
                    std::vector<ReadinessCheck>& out) const;
  void qualityChecks(const Target& t, std::vector<ReadinessCheck>& out) const;
  void natAndCertificateChecks(const Target& t, std::chrono::system_clock::time_point now,
                               std::vector<ReadinessCheck>& out) const;

  ReadinessConfig config_;
  std::vector<Target> targets_;
};

/// The verdict of a set of checks: FAIL if any fails, else WARN if any warns, else PASS.
Verdict overall(const std::vector<ReadinessCheck>& checks);

/// True when the IP of `address` ("ip:port", "[v6]:port" or a bare IP) lies in `cidr`.
bool insideCidr(const std::string& address, const std::string& cidr);

}  // namespace mediapath::agent
