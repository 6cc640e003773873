#include "probes/dns_probe.h"

#include <string>
#include <utility>

#include "net/resolver.h"

namespace mediapath::probes {
namespace {

net::RecordType recordType(DnsRecord r) {
  switch (r) {
    case DnsRecord::kA:
      return net::RecordType::kA;
    case DnsRecord::kAAAA:
      return net::RecordType::kAAAA;
    case DnsRecord::kSRV:
      return net::RecordType::kSRV;
  }
  return net::RecordType::kA;
}

// The resolver's errors that are the server's reply (see net::aresErrorText).
bool isDnsAnswer(const std::string& error) {
  return error == "NXDOMAIN" || error == "SERVFAIL" || error == "REFUSED" || error == "FORMERR" ||
         error == "NOTIMP" || error.starts_with("no ");
}

}  // namespace

DnsProbe::DnsProbe(const ProbeContext& context)
    : context_(context), round_(std::make_shared<std::uint64_t>(0)) {}

DnsProbe::~DnsProbe() = default;

void DnsProbe::start(const ProbeTarget& target, ProbeCallback callback) {
  std::uint64_t round = ++*round_;
  std::weak_ptr<std::uint64_t> weak = round_;
  net::ResolveOptions options;
  options.bypass_cache = true;
  options.timeout = target.timeout;
  ProbeResult base;
  base.target = target.name;
  base.kind = Kind::kDns;
  base.address = target.host;
  base.sent = 1;
  if (context_.resolver == nullptr) {
    // A wiring mistake, reported like any other failure rather than crashing the agent.
    ProbeResult r = std::move(base);
    r.error = "dns: no resolver configured for " + target.host;
    callback(std::move(r));
    return;
  }
  context_.resolver->resolveWithOptions(
      target.host, recordType(target.record), options,
      [weak, round, base = std::move(base), record = target.record,
       callback = std::move(callback)](const net::ResolveResult& rr) mutable {
        auto current = weak.lock();
        if (!current || *current != round) return;  // cancelled or destroyed
        ProbeResult r = std::move(base);
        // A DNS answer (NXDOMAIN, SERVFAIL, "no A records" included) proves the server replied;
        // a timeout or an unreachable server is a lost exchange.
        bool answered = rr.ok || isDnsAnswer(rr.error);
        r.received = answered ? 1 : 0;
        r.loss = answered ? 0.0 : 1.0;
        if (answered) r.lookup_ms = static_cast<double>(rr.lookup_time.count()) / 1000.0;
        r.ok = rr.ok;
        if (rr.ok) {
          if (record == DnsRecord::kSRV) {
            for (const auto& s : rr.srv)
              r.addresses.push_back(s.target + ":" + std::to_string(s.port));
          } else {
            r.addresses = rr.addresses;
          }
        } else {
          r.error = "dns: " + rr.error + " for " + r.address;
        }
        callback(std::move(r));
      });
}

void DnsProbe::cancel() { ++*round_; }

std::unique_ptr<Probe> makeDnsProbe(const ProbeContext& context) {
  return std::make_unique<DnsProbe>(context);
}

}  // namespace mediapath::probes
