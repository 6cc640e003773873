#pragma once

#include <cstdint>
#include <memory>

#include "probes/probe.h"

namespace mediapath::probes {

/// The `dns` kind: one lookup of the target's host (A, AAAA or SRV) per round, always sent to
/// the server (the resolver's cache is bypassed: the probe measures a real lookup). Reports
/// result.addresses ("ip" or, for SRV, "host:port" in preference order), lookup_ms, and errors
/// such as "dns: NXDOMAIN for proxy-b.example.net" or "dns: timeout for ...".
///
/// Thread safety: loop thread only. context.resolver must outlive the probe.
class DnsProbe final : public Probe {
 public:
  explicit DnsProbe(const ProbeContext& context);
  ~DnsProbe() override;

  void start(const ProbeTarget& target, ProbeCallback callback) override;
  void cancel() override;

 private:
  ProbeContext context_;
  /// Round counter shared with in-flight resolver callbacks: a callback whose round is not
  /// the current one (cancelled) or whose probe is gone (weak pointer expired) is dropped.
  std::shared_ptr<std::uint64_t> round_;
};

std::unique_ptr<Probe> makeDnsProbe(const ProbeContext& context);

}  // namespace mediapath::probes
