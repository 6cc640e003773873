#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace prometheus {
class Registry;
}

namespace mediapath::reporter {

/// One probe round as the metrics see it, in base units. Built by agent/ from a ProbeResult so
/// that reporter/ does not depend on probes/.
struct ProbeSample {
  std::string target;
  std::string kind;
  bool ok = false;
  std::vector<double> rtt_seconds;  ///< one per reply
  std::optional<double> jitter_seconds;
  std::optional<double> loss_ratio;
  std::optional<double> mos;
  std::optional<double> dns_lookup_seconds;
  // relay targets: the stream's average A -> B delay and share of reordered packets
  std::optional<double> one_way_seconds;
  std::optional<double> reordered_ratio;
  // nat targets: the mapping behaviour of the round ("" when the round did not classify it)
  std::string nat_mapping;
  // TLS targets: the server certificate's notAfter (seconds since the epoch), when the round got
  // through the handshake.
  std::optional<double> cert_not_after_seconds;
};

/// The agent's Prometheus metrics (DESIGN.md "Metrics"). Series for a target or group are
/// created when it is added, so dashboards and alerts see them from start-up; values that have
/// no measurement yet are NaN rather than a made-up 0. A figure the target's probe never
/// measures (jitter and MOS of a tcp, dns or SIP-over-TCP target) has no series at all, so a
/// fleet does not store series that can only ever be NaN. The series per target are counted in
/// docs/fleet.md and pinned by tests/fleet/cardinality_test.py.
///
/// Thread safety: every method may be called from any thread (prometheus-cpp metrics are
/// atomic; the series bookkeeping is guarded by a mutex). The scrape thread reads concurrently.
class Metrics {
 public:
  Metrics(const std::string& site, const std::string& version);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  std::shared_ptr<prometheus::Registry> registry() const;

  /// `path_quality`: the probe measures a burst of datagrams (stun, turn, sip over udp), so the
  /// target has jitter and MOS series; otherwise it has neither.
  void addTarget(const std::string& target, const std::string& kind, bool path_quality);
  /// Whether `target` (already added) runs over TLS: it then has
  /// mediapath_tls_cert_not_after_timestamp_seconds{target} (NaN until a handshake got the
  /// certificate; afterwards the last certificate seen, so an expired one that now fails every
  /// handshake stays visible); otherwise that series is removed (a reload changed the transport).
  void setTlsTarget(const std::string& target, bool tls);
  /// Removes every series of the target (it left the config).
  void removeTarget(const std::string& target);
  void recordProbe(const ProbeSample& sample);
  void countSkippedRounds(const std::string& target, std::uint64_t ticks);
  /// The probes' running total of replies dropped for a full shared receive queue
  /// (probes::ProbeResources::sharedSocketDrops()); the counter advances by what it grew.
  void setProbeSocketDrops(std::uint64_t total);
  void setTargetHealthy(const std::string& target, bool healthy);

  void addFailoverGroup(const std::string& group, const std::vector<std::string>& candidates);
  void removeFailoverGroup(const std::string& group);
  /// Marks `target` as the group's active candidate (1) and every other candidate 0.
  void setFailoverActive(const std::string& group, const std::string& target);
  /// result: planned | applied | failed.
  void countFailover(const std::string& group, const std::string& result);
  void setFailoverPanic(const std::string& group, bool panic);

  /// code: the HTTP status, or 0 when no response arrived.
  void countGenesysRequest(const std::string& operation, int code);
  void setConfigReloadSuccessful(bool ok);

  /// The text exposition format of everything registered (for tests and the status page).
  std::string serialize() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mediapath::reporter
