#include "agent/service/readiness.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <numeric>

#include "net/clock.h"
#include "net/text.h"
#include "probes/quality.h"

namespace mediapath::agent {
namespace {

using probes::Kind;
using probes::Transport;

std::string ms(double v) { return net::formatFixed(v, v < 10 ? 2 : 1) + " ms"; }
std::string pct(double ratio, int decimals = 2) {
  return net::formatFixed(ratio * 100.0, decimals) + "%";
}
double toMs(Duration d) { return static_cast<double>(d.count()); }

ReadinessCheck make(std::string check, const std::string& target, Verdict result,
                    std::string figure, std::string threshold) {
  ReadinessCheck c;
  c.check = std::move(check);
  c.target = target;
  c.result = result;
  c.figure = std::move(figure);
  c.threshold = std::move(threshold);
  return c;
}

ReadinessCheck measured(std::string check, const std::string& target, bool pass, double value,
                        std::string unit, std::string figure, std::string threshold) {
  ReadinessCheck c = make(std::move(check), target, pass ? Verdict::kPass : Verdict::kFail,
                          std::move(figure), std::move(threshold));
  c.value = value;
  c.unit = std::move(unit);
  return c;
}

// The IP of "ip:port", "[v6]:port" or a bare IP.
std::string hostPart(const std::string& address) {
  if (!address.empty() && address.front() == '[') {
    auto close = address.find(']');
    return close == std::string::npos ? address : address.substr(1, close - 1);
  }
  auto colon = address.find(':');
  if (colon != std::string::npos && address.find(':', colon + 1) == std::string::npos) {
    return address.substr(0, colon);
  }
  return address;
}

// The kinds whose rounds carry path quality (a burst or a stream over UDP): RTT, jitter, loss
// and MOS mean something for them. SIP over TCP has an RTT but no loss or jitter of its own.
bool carriesPathQuality(Kind kind, Transport transport) {
  return kind == Kind::kStun || kind == Kind::kRelay ||
         (kind == Kind::kSip && transport == Transport::kUdp);
}

constexpr std::array kTurnTransports{Transport::kUdp, Transport::kTcp, Transport::kTls};

}  // namespace

std::string_view verdictName(Verdict v) {
  switch (v) {
    case Verdict::kPass:
      return "PASS";
    case Verdict::kWarn:
      return "WARN";
    case Verdict::kFail:
      return "FAIL";
  }
  return "FAIL";
}

bool readinessApplies(Kind kind) { return kind != Kind::kTcp && kind != Kind::kDns; }

bool insideCidr(const std::string& address, const std::string& cidr) {
  auto slash = cidr.find('/');
  if (slash == std::string::npos) return false;
  std::string net_text = cidr.substr(0, slash);
  int prefix = -1;
  const char* end = cidr.data() + cidr.size();
  if (auto [p, ec] = std::from_chars(cidr.data() + slash + 1, end, prefix);
      ec != std::errc() || p != end) {
    return false;
  }
  std::string ip = hostPart(address);
  int family = ip.find(':') != std::string::npos ? AF_INET6 : AF_INET;
  if ((net_text.find(':') != std::string::npos ? AF_INET6 : AF_INET) != family) return false;
  std::array<unsigned char, 16> a{};
  std::array<unsigned char, 16> n{};
  if (inet_pton(family, ip.c_str(), a.data()) != 1 ||
      inet_pton(family, net_text.c_str(), n.data()) != 1) {
    return false;
  }
  int bits = family == AF_INET6 ? 128 : 32;
  if (prefix < 0 || prefix > bits) return false;
  for (int i = 0; i < prefix; ++i) {
    int mask = 0x80 >> (i % 8);
    if ((a[i / 8] & mask) != (n[i / 8] & mask)) return false;
  }
  return true;
}

void ReadinessTally::addTarget(const probes::ProbeTarget& target) {
  Target t;
  t.name = target.name;
  t.kind = target.kind;
  t.transport = target.transport;
  targets_.push_back(std::move(t));
}

void ReadinessTally::add(const probes::ProbeResult& r) {
  auto it = std::find_if(targets_.begin(), targets_.end(),
                         [&r](const Target& t) { return t.name == r.target; });
  if (it == targets_.end()) return;
  Target& t = *it;
  ++t.rounds;
  if (r.ok) {
    ++t.ok_rounds;
  } else {
    t.last_error = r.error;
  }
  // Each allocation gets its own port; the media blocks are about the IP. A relay with a peer
  // has B's relayed address on the peer's server, which media may use as well.
  for (const std::string* relayed : {&r.relayed_address, &r.relayed_address_b}) {
    if (std::string ip = hostPart(*relayed);
        !ip.empty() && std::find(t.relayed.begin(), t.relayed.end(), ip) == t.relayed.end()) {
      t.relayed.push_back(ip);
    }
  }
  if (r.ok && t.kind == Kind::kNat && !r.nat_mapping.empty()) {
    t.nat_mapping = r.nat_mapping;
    t.nat_filtering = r.nat_filtering;
    t.hairpinning = r.hairpinning;
  }
  if (r.cert_not_after && (!t.cert_not_after || *r.cert_not_after < *t.cert_not_after)) {
    t.cert_not_after = r.cert_not_after;
  }
  if (!carriesPathQuality(t.kind, t.transport) && t.kind != Kind::kSip) return;
  t.sent += r.sent;
  t.received += r.received;
  t.rtt_ms.insert(t.rtt_ms.end(), r.rtt_samples_ms.begin(), r.rtt_samples_ms.end());
  if (r.jitter_ms) {
    t.jitter_sum += *r.jitter_ms;
    ++t.jitter_rounds;
  }
  if (t.kind == Kind::kRelay && r.sent > 0) {
    // A round that ended before its stream (a failed allocation) sent nothing and says nothing
    // about the path; its failure is in the reachable check.
    int reached = static_cast<int>(std::lround(r.sent * (1.0 - r.loss_ab.value_or(1.0))));
    t.stream_sent += r.sent;
    t.reached_b += reached;
    t.back_at_a += r.received;
    t.reordered += r.reordered.value_or(0);
  }
}

void ReadinessTally::qualityChecks(const Target& t, std::vector<ReadinessCheck>& out) const {
  if (t.rtt_ms.empty()) return;  // never answered: the reachable check says so
  double rtt =
      std::accumulate(t.rtt_ms.begin(), t.rtt_ms.end(), 0.0) / static_cast<double>(t.rtt_ms.size());
  out.push_back(measured("rtt", t.name, rtt < toMs(config_.max_rtt), rtt, "ms", ms(rtt),
                         "< " + net::formatDuration(config_.max_rtt)));
  if (!carriesPathQuality(t.kind, t.transport)) return;

  double loss = 0;
  std::string loss_text;
  if (t.kind == Kind::kRelay) {
    double ab = t.stream_sent > 0 ? double(t.stream_sent - t.reached_b) / t.stream_sent : 0.0;
    double ba = t.reached_b > 0 ? double(t.reached_b - t.back_at_a) / t.reached_b : 0.0;
    loss = std::max(ab, ba);
    loss_text = pct(loss) + " (a>b " + pct(ab) + ", b>a " + pct(ba) + ")";
  } else {
    loss = t.sent > 0 ? double(t.sent - t.received) / t.sent : 0.0;
    loss_text = pct(loss) + " (" + std::to_string(t.sent - t.received) + "/" +
                std::to_string(t.sent) + " lost)";
  }
  out.push_back(measured("loss", t.name, loss < config_.max_loss, loss * 100.0, "%", loss_text,
                         "< " + pct(config_.max_loss)));

  std::optional<double> jitter;
  if (t.jitter_rounds > 0) {
    jitter = t.jitter_sum / t.jitter_rounds;
    out.push_back(measured("jitter", t.name, *jitter < toMs(config_.max_jitter), *jitter, "ms",
                           ms(*jitter), "< " + net::formatDuration(config_.max_jitter)));
  }
  if (t.kind == Kind::kRelay && t.reached_b > 0) {
    double reorder = double(t.reordered) / t.reached_b;
    out.push_back(measured("reorder", t.name, reorder < config_.max_reorder, reorder * 100.0, "%",
                           pct(reorder, 3) + " (" + std::to_string(t.reordered) + " packets)",
                           "< " + pct(config_.max_reorder, 3)));
  }
  double mos = probes::estimateMos(rtt, jitter.value_or(0.0), loss);
  out.push_back(measured("mos", t.name, mos >= config_.min_mos, mos, "MOS",
                         net::formatFixed(mos, 2), ">= " + net::formatFixed(config_.min_mos, 1)));
}

void ReadinessTally::natAndCertificateChecks(const Target& t,
                                             std::chrono::system_clock::time_point now,
                                             std::vector<ReadinessCheck>& out) const {
  if (t.kind == Kind::kNat && !t.nat_mapping.empty()) {
    // Direct (host or server-reflexive) media needs endpoint-independent mapping; otherwise
    // every call's media is relayed through TURN.
    Verdict v = t.nat_mapping == "endpoint-independent" ? Verdict::kPass
                : t.nat_mapping == "unknown"            ? Verdict::kWarn
                                                        : Verdict::kFail;
    std::string hairpin = t.hairpinning ? (*t.hairpinning ? "yes" : "no") : "-";
    out.push_back(
        make("nat mapping", t.name, v,
             t.nat_mapping + " (filtering " + t.nat_filtering + ", hairpinning " + hairpin + ")",
             "endpoint-independent"));
  }
  if (t.transport == Transport::kTls && t.cert_not_after) {
    double days = std::chrono::duration<double>(*t.cert_not_after - now).count() / 86400.0;
    out.push_back(measured("certificate", t.name, days >= config_.min_cert_days, days, "days",
                           "valid until " + net::formatUtc(*t.cert_not_after) + " (" +
                               net::formatFixed(days, 1) + " days)",
                           ">= " + std::to_string(config_.min_cert_days) + " days"));
  }
}

void ReadinessTally::targetChecks(const Target& t, std::chrono::system_clock::time_point now,
                                  std::vector<ReadinessCheck>& out) const {
  std::string rounds = std::to_string(t.ok_rounds) + "/" + std::to_string(t.rounds) + " rounds ok";
  Verdict reach = t.ok_rounds == 0         ? Verdict::kFail
                  : t.ok_rounds < t.rounds ? Verdict::kWarn
                                           : Verdict::kPass;
  if (!t.last_error.empty()) rounds += "; last error: " + net::printable(t.last_error);
  out.push_back(make("reachable", t.name, reach, rounds, "every round"));
  qualityChecks(t, out);
  natAndCertificateChecks(t, now, out);

  if ((t.kind == Kind::kTurn || t.kind == Kind::kRelay) && !t.relayed.empty()) {
    std::string all;
    std::string outside;
    for (const auto& a : t.relayed) {
      all += (all.empty() ? "" : ", ") + a;
      bool in = std::any_of(config_.media_cidrs.begin(), config_.media_cidrs.end(),
                            [&a](const std::string& c) { return insideCidr(a, c); });
      if (!in) outside += (outside.empty() ? "" : ", ") + a;
    }
    if (config_.media_cidrs.empty()) {
      out.push_back(
          make("relayed address", t.name, Verdict::kWarn, all, "readiness.media_cidrs is not set"));
    } else {
      out.push_back(
          make("relayed address", t.name, outside.empty() ? Verdict::kPass : Verdict::kFail,
               outside.empty() ? all : "outside: " + outside, "inside readiness.media_cidrs"));
    }
  }
}

std::vector<ReadinessCheck> ReadinessTally::checks(
    std::chrono::system_clock::time_point now) const {
  std::vector<ReadinessCheck> out;
  for (const auto& t : targets_) targetChecks(t, now, out);

  // WebRTC falls back from UDP to TURN over TCP and then TLS on 443: each must work somewhere.
  for (Transport transport : kTurnTransports) {
    std::string name = std::string("turn over ") + std::string(probes::transportName(transport));
    std::string reached;
    bool configured = false;
    for (const auto& t : targets_) {
      if ((t.kind != Kind::kTurn && t.kind != Kind::kRelay) || t.transport != transport) continue;
      configured = true;
      if (t.ok_rounds > 0) reached += (reached.empty() ? "" : ", ") + t.name;
    }
    if (!configured) {
      out.push_back(make(name, "", Verdict::kWarn, "no turn or relay target", "reachable"));
    } else if (reached.empty()) {
      out.push_back(make(name, "", Verdict::kFail, "no target reachable", "reachable"));
    } else {
      out.push_back(make(name, "", Verdict::kPass, "reachable: " + reached, "reachable"));
    }
  }
  return out;
}

Verdict overall(const std::vector<ReadinessCheck>& checks) {
  Verdict v = Verdict::kPass;
  for (const auto& c : checks) v = std::max(v, c.result);
  return v;
}

}  // namespace mediapath::agent
