#include "reporter/metrics/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <array>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>

namespace mediapath::reporter {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Voice paths live between a LAN hop (sub-millisecond) and a bad intercontinental path (a
// second or more); the E-model's knee is at ~160 ms one-way, so buckets are dense below 300 ms.
const prometheus::Histogram::BucketBoundaries kRttBuckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02,
                                                          0.03,   0.05,  0.075,  0.1,   0.15, 0.2,
                                                          0.3,    0.5,   0.75,   1.0,   2.0,  5.0};

struct TargetSeries {
  prometheus::Labels labels;
  prometheus::Gauge* success = nullptr;
  prometheus::Histogram* rtt = nullptr;
  prometheus::Gauge* jitter = nullptr;  // path_quality targets only
  prometheus::Gauge* loss = nullptr;
  prometheus::Gauge* mos = nullptr;  // path_quality targets only
  prometheus::Counter* skipped = nullptr;
  prometheus::Gauge* healthy = nullptr;
  prometheus::Gauge* dns_lookup = nullptr;  // dns targets only
};

struct GroupSeries {
  std::map<std::string, prometheus::Gauge*> active;  // by candidate
  prometheus::Gauge* panic = nullptr;
  std::map<std::string, prometheus::Counter*> failovers;  // by result
};

// Registers one family: a name and help text on `registry`, whatever the metric type.
template <typename Builder>
auto& family(Builder builder, const std::string& name, const std::string& help,
             prometheus::Registry& registry) {
  return builder.Name(name).Help(help).Register(registry);
}

}  // namespace

struct Metrics::Impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();

  prometheus::Family<prometheus::Gauge>& success =
      family(prometheus::BuildGauge(), "mediapath_probe_success",
             "Whether the last probe round of the target succeeded (1) or failed (0)", *registry);
  prometheus::Family<prometheus::Histogram>& rtt =
      family(prometheus::BuildHistogram(), "mediapath_probe_rtt_seconds",
             "Round-trip time of each probe reply", *registry);
  prometheus::Family<prometheus::Gauge>& jitter =
      family(prometheus::BuildGauge(), "mediapath_probe_jitter_seconds",
             "Interarrival jitter (RFC 3550 estimator over consecutive RTT samples)", *registry);
  prometheus::Family<prometheus::Gauge>& loss =
      family(prometheus::BuildGauge(), "mediapath_probe_loss_ratio",
             "Share of requests of the last round that got no reply in time (0-1)", *registry);
  prometheus::Family<prometheus::Gauge>& mos =
      family(prometheus::BuildGauge(), "mediapath_probe_mos",
             "Estimated MOS of the path (simplified E-model from RTT, jitter and loss)", *registry);
  prometheus::Family<prometheus::Counter>& skipped = family(
      prometheus::BuildCounter(), "mediapath_probe_rounds_skipped_total",
      "Rounds not started because the previous round of the target was still running", *registry);
  prometheus::Family<prometheus::Counter>& socket_drops =
      family(prometheus::BuildCounter(), "mediapath_probe_socket_drops_total",
             "Probe replies the kernel dropped because the agent's shared STUN socket's "
             "receive queue was full (each is also loss on its target)",
             *registry);
  prometheus::Family<prometheus::Gauge>& dns_lookup =
      family(prometheus::BuildGauge(), "mediapath_dns_lookup_seconds",
             "Duration of the last DNS lookup of a dns target", *registry);
  prometheus::Family<prometheus::Gauge>& healthy =
      family(prometheus::BuildGauge(), "mediapath_target_healthy",
             "Health of the target after hysteresis (1 healthy, 0 unhealthy)", *registry);
  prometheus::Family<prometheus::Gauge>& failover_active =
      family(prometheus::BuildGauge(), "mediapath_failover_active",
             "1 for the active candidate of a failover group, 0 for the others", *registry);
  prometheus::Family<prometheus::Counter>& failovers =
      family(prometheus::BuildCounter(), "mediapath_failovers_total",
             "Failover decisions by result (planned, applied, failed)", *registry);
  prometheus::Family<prometheus::Gauge>& panic =
      family(prometheus::BuildGauge(), "mediapath_failover_panic",
             "1 while every candidate of the group is unhealthy (nothing is pushed)", *registry);
  prometheus::Family<prometheus::Counter>& genesys_requests =
      family(prometheus::BuildCounter(), "mediapath_genesys_requests_total",
             "Genesys Cloud API requests by operation and HTTP status (0: no response)", *registry);
  prometheus::Family<prometheus::Gauge>& reload_ok =
      family(prometheus::BuildGauge(), "mediapath_config_last_reload_successful",
             "Whether the last configuration (re)load succeeded", *registry);
  prometheus::Family<prometheus::Gauge>& build_info =
      family(prometheus::BuildGauge(), "mediapath_build_info", "Build information", *registry);
  prometheus::Family<prometheus::Gauge>& site_info =
      family(prometheus::BuildGauge(), "mediapath_site_info",
             "The site this agent runs at; join on it for fleet views", *registry);

  // Relay targets (the media loop): two more gauges, labelled by target only (DESIGN.md
  // "Metrics"), NaN until the first stream. Kept apart so other kinds carry no such series.
  prometheus::Family<prometheus::Gauge>& one_way =
      family(prometheus::BuildGauge(), "mediapath_probe_one_way_seconds",
             "Average one-way delay A -> relay -> B of the last relay stream", *registry);
  prometheus::Family<prometheus::Gauge>& reordered =
      family(prometheus::BuildGauge(), "mediapath_probe_reordered_ratio",
             "Share of the last relay stream's packets that reached B out of order", *registry);
  struct RelaySeries {
    prometheus::Gauge* one_way = nullptr;
    prometheus::Gauge* reordered = nullptr;
  };
  std::map<std::string, RelaySeries> relay;  // by target
  void addRelay(const std::string& target) {
    RelaySeries r{&one_way.Add({{"target", target}}), &reordered.Add({{"target", target}})};
    r.one_way->Set(kNaN);
    r.reordered->Set(kNaN);
    relay.emplace(target, r);
  }
  void removeRelay(const std::string& target) {
    auto it = relay.find(target);
    if (it == relay.end()) return;
    one_way.Remove(it->second.one_way);
    reordered.Remove(it->second.reordered);
    relay.erase(it);
  }
  void recordRelay(const ProbeSample& sample) {
    auto it = relay.find(sample.target);
    if (it == relay.end()) return;
    if (sample.one_way_seconds) it->second.one_way->Set(*sample.one_way_seconds);
    if (sample.reordered_ratio) it->second.reordered->Set(*sample.reordered_ratio);
  }

  // Nat targets: one series per behaviour (DESIGN.md "Metrics"), 1 for the behaviour the last
  // complete round found and 0 for the others, so an alert can say
  // `mediapath_nat_mapping_info{behaviour="endpoint-independent"} == 0` and a Grafana state
  // timeline shows changes; all 0 until a round classified the mapping.
  prometheus::Family<prometheus::Gauge>& nat_mapping = family(
      prometheus::BuildGauge(), "mediapath_nat_mapping_info",
      "NAT mapping behaviour (RFC 4787) the last nat round found: 1 for it, 0 for the others",
      *registry);
  static constexpr std::array<const char*, 4> kNatBehaviours{
      "endpoint-independent", "address-dependent", "address-and-port-dependent", "unknown"};
  std::map<std::string, std::map<std::string, prometheus::Gauge*>> nat;  // target -> behaviour
  void addNat(const std::string& target) {
    auto& series = nat[target];
    for (const char* b : kNatBehaviours) {
      series[b] = &nat_mapping.Add({{"target", target}, {"behaviour", b}});
      series[b]->Set(0);
    }
  }
  void removeNat(const std::string& target) {
    auto it = nat.find(target);
    if (it == nat.end()) return;
    for (auto& [behaviour, gauge] : it->second) nat_mapping.Remove(gauge);
    nat.erase(it);
  }
  void recordNat(const ProbeSample& sample) {
    auto it = nat.find(sample.target);
    if (it == nat.end() || sample.nat_mapping.empty()) return;
    for (auto& [behaviour, gauge] : it->second) gauge->Set(behaviour == sample.nat_mapping ? 1 : 0);
  }
  // TLS targets: when the server's certificate expires, labelled by target only (DESIGN.md
  // "Metrics"); other targets carry no such series.
  prometheus::Family<prometheus::Gauge>& cert_not_after =
      family(prometheus::BuildGauge(), "mediapath_tls_cert_not_after_timestamp_seconds",
             "When the TLS server certificate last seen for the target expires (notAfter, Unix "
             "seconds)",
             *registry);
  std::map<std::string, prometheus::Gauge*> tls;  // by target
  void removeTls(const std::string& target) {
    auto it = tls.find(target);
    if (it == tls.end()) return;
    cert_not_after.Remove(it->second);
    tls.erase(it);
  }

  std::mutex mutex;
  std::map<std::string, TargetSeries> targets;
  std::map<std::string, GroupSeries> groups;
  prometheus::Gauge* reload_gauge = nullptr;
  prometheus::Counter* socket_drops_counter = nullptr;
  std::uint64_t socket_drops_seen = 0;

  TargetSeries* find(const std::string& target) {
    auto it = targets.find(target);
    return it == targets.end() ? nullptr : &it->second;
  }
};

Metrics::Metrics(const std::string& site, const std::string& version)
    : impl_(std::make_unique<Impl>()) {
  impl_->build_info.Add({{"version", version}}).Set(1);
  impl_->site_info.Add({{"site", site}}).Set(1);
  impl_->socket_drops_counter = &impl_->socket_drops.Add({});
  impl_->reload_gauge = &impl_->reload_ok.Add({});
  impl_->reload_gauge->Set(1);
}

Metrics::~Metrics() = default;

std::shared_ptr<prometheus::Registry> Metrics::registry() const { return impl_->registry; }

void Metrics::addTarget(const std::string& target, const std::string& kind, bool path_quality) {
  std::lock_guard lock(impl_->mutex);
  if (impl_->targets.count(target) != 0) return;
  TargetSeries s;
  s.labels = {{"target", target}, {"kind", kind}};
  s.success = &impl_->success.Add(s.labels);
  s.rtt = &impl_->rtt.Add(s.labels, kRttBuckets);
  s.loss = &impl_->loss.Add(s.labels);
  if (path_quality) {
    s.jitter = &impl_->jitter.Add(s.labels);
    s.mos = &impl_->mos.Add(s.labels);
    s.jitter->Set(kNaN);
    s.mos->Set(kNaN);
  }
  s.skipped = &impl_->skipped.Add({{"target", target}});
  s.healthy = &impl_->healthy.Add({{"target", target}});
  if (kind == "dns") {
    s.dns_lookup = &impl_->dns_lookup.Add({{"target", target}});
    s.dns_lookup->Set(kNaN);
  }
  s.loss->Set(kNaN);
  if (kind == "relay") impl_->addRelay(target);
  if (kind == "nat") impl_->addNat(target);
  impl_->targets.emplace(target, s);
}

void Metrics::removeTarget(const std::string& target) {
  std::lock_guard lock(impl_->mutex);
  TargetSeries* s = impl_->find(target);
  if (s == nullptr) return;
  impl_->success.Remove(s->success);
  impl_->rtt.Remove(s->rtt);
  impl_->loss.Remove(s->loss);
  if (s->jitter != nullptr) impl_->jitter.Remove(s->jitter);
  if (s->mos != nullptr) impl_->mos.Remove(s->mos);
  impl_->skipped.Remove(s->skipped);
  impl_->healthy.Remove(s->healthy);
  if (s->dns_lookup != nullptr) impl_->dns_lookup.Remove(s->dns_lookup);
  impl_->removeRelay(target);
  impl_->removeNat(target);
  impl_->removeTls(target);
  impl_->targets.erase(target);
}

void Metrics::setTlsTarget(const std::string& target, bool tls) {
  std::lock_guard lock(impl_->mutex);
  if (!tls || impl_->find(target) == nullptr) {
    impl_->removeTls(target);
    return;
  }
  if (impl_->tls.count(target) != 0) return;
  prometheus::Gauge* g = &impl_->cert_not_after.Add({{"target", target}});
  g->Set(kNaN);
  impl_->tls.emplace(target, g);
}

void Metrics::recordProbe(const ProbeSample& sample) {
  std::lock_guard lock(impl_->mutex);
  TargetSeries* s = impl_->find(sample.target);
  if (s == nullptr) return;
  s->success->Set(sample.ok ? 1 : 0);
  for (double rtt : sample.rtt_seconds) s->rtt->Observe(rtt);
  if (s->jitter != nullptr && sample.jitter_seconds) s->jitter->Set(*sample.jitter_seconds);
  if (sample.loss_ratio) s->loss->Set(*sample.loss_ratio);
  // A round without a MOS estimate (no reply at all) leaves no quality to report.
  if (s->mos != nullptr) s->mos->Set(sample.mos.value_or(kNaN));
  if (s->dns_lookup != nullptr && sample.dns_lookup_seconds) {
    s->dns_lookup->Set(*sample.dns_lookup_seconds);
  }
  impl_->recordRelay(sample);
  impl_->recordNat(sample);
  if (auto it = impl_->tls.find(sample.target);
      it != impl_->tls.end() && sample.cert_not_after_seconds) {
    it->second->Set(*sample.cert_not_after_seconds);
  }
}

void Metrics::countSkippedRounds(const std::string& target, std::uint64_t ticks) {
  std::lock_guard lock(impl_->mutex);
  if (TargetSeries* s = impl_->find(target)) s->skipped->Increment(static_cast<double>(ticks));
}

void Metrics::setProbeSocketDrops(std::uint64_t total) {
  std::lock_guard lock(impl_->mutex);
  if (total <= impl_->socket_drops_seen) return;  // a counter never goes back
  impl_->socket_drops_counter->Increment(static_cast<double>(total - impl_->socket_drops_seen));
  impl_->socket_drops_seen = total;
}

void Metrics::setTargetHealthy(const std::string& target, bool healthy) {
  std::lock_guard lock(impl_->mutex);
  if (TargetSeries* s = impl_->find(target)) s->healthy->Set(healthy ? 1 : 0);
}

void Metrics::addFailoverGroup(const std::string& group,
                               const std::vector<std::string>& candidates) {
  std::lock_guard lock(impl_->mutex);
  if (impl_->groups.count(group) != 0) return;
  GroupSeries g;
  for (const auto& c : candidates) {
    g.active[c] = &impl_->failover_active.Add({{"group", group}, {"target", c}});
  }
  g.panic = &impl_->panic.Add({{"group", group}});
  for (const char* result : {"planned", "applied", "failed"}) {
    g.failovers[result] = &impl_->failovers.Add({{"group", group}, {"result", result}});
  }
  impl_->groups.emplace(group, std::move(g));
}

void Metrics::removeFailoverGroup(const std::string& group) {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->groups.find(group);
  if (it == impl_->groups.end()) return;
  for (auto& [c, gauge] : it->second.active) impl_->failover_active.Remove(gauge);
  impl_->panic.Remove(it->second.panic);
  for (auto& [r, counter] : it->second.failovers) impl_->failovers.Remove(counter);
  impl_->groups.erase(it);
}

void Metrics::setFailoverActive(const std::string& group, const std::string& target) {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->groups.find(group);
  if (it == impl_->groups.end()) return;
  for (auto& [c, gauge] : it->second.active) gauge->Set(c == target ? 1 : 0);
}

void Metrics::countFailover(const std::string& group, const std::string& result) {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->groups.find(group);
  if (it == impl_->groups.end()) return;
  auto c = it->second.failovers.find(result);
  if (c != it->second.failovers.end()) c->second->Increment();
}

void Metrics::setFailoverPanic(const std::string& group, bool panic) {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->groups.find(group);
  if (it != impl_->groups.end()) it->second.panic->Set(panic ? 1 : 0);
}

void Metrics::countGenesysRequest(const std::string& operation, int code) {
  // Family::Add returns the existing series for known labels, so this is idempotent.
  impl_->genesys_requests.Add({{"operation", operation}, {"code", std::to_string(code)}})
      .Increment();
}

void Metrics::setConfigReloadSuccessful(bool ok) { impl_->reload_gauge->Set(ok ? 1 : 0); }

std::string Metrics::serialize() const {
  return prometheus::TextSerializer().Serialize(impl_->registry->Collect());
}

}  // namespace mediapath::reporter
