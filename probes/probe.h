#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mediapath::net {
class EventLoop;
class Resolver;
class Clock;
class Random;
}  // namespace mediapath::net

namespace mediapath::probes {

class ProbeResources;

enum class Kind { kStun, kTurn, kSip, kTcp, kDns, kRelay, kNat };
enum class Transport { kUdp, kTcp, kTls };
enum class DnsRecord { kA, kAAAA, kSRV };

std::string_view kindName(Kind kind);
std::optional<Kind> kindFromName(std::string_view name);
std::string_view transportName(Transport transport);

/// RTP-like pacing for UDP probes: `packets` requests `spacing` apart each round.
struct BurstSpec {
  int packets = 1;
  std::chrono::milliseconds spacing{20};
};

/// The relay probe's RTP-like stream: `packets` datagrams of `size` bytes (the ChannelData
/// payload, as an RTP packet's size) `spacing` apart. The default is 1 s of G.711 at 20 ms.
struct StreamSpec {
  int packets = 50;
  int size = 172;
  std::chrono::milliseconds spacing{20};
};

/// The longest a round may take by the probe's own timers: `timeout` after the last packet of
/// the burst; for relay, three phases bounded by `timeout` (set-up, the stream's last returns,
/// the release) around the stream; for nat, test I bounded by `timeout` and the other tests
/// sharing a second `timeout` (probes/nat_probe.h). The scheduler's round deadline and the config's
/// "a round must fit in the interval" check are both this.
std::chrono::milliseconds roundLength(Kind kind, std::chrono::milliseconds timeout,
                                      const BurstSpec& burst, const StreamSpec& stream);

/// Everything a probe needs to know about one target. Built by agent/ from the config; probes
/// know nothing about JSON, Prometheus or Genesys.
struct ProbeTarget {
  std::string name;
  Kind kind = Kind::kStun;
  std::string host;  ///< name or IP literal
  std::uint16_t port = 0;
  std::chrono::milliseconds timeout{2000};
  BurstSpec burst;
  // turn, relay
  std::string username;
  std::string password;  ///< the resolved secret; never logged, never in results
  // sip
  Transport transport = Transport::kUdp;
  std::vector<int> success_codes;  ///< empty: any 2xx is success
  // dns
  DnsRecord record = DnsRecord::kA;
  // relay
  StreamSpec stream;
  // peer (nat: a stun target as the second server; relay: a turn target for allocation B) — the
  // named target's address and, for turn, its credentials. Empty host: no peer.
  std::string peer_host;
  std::uint16_t peer_port = 0;
  std::string peer_username;
  std::string peer_password;  ///< the resolved secret; never logged, never in results
  // TLS (sip, and later turn/relay, with transport kTls): the peer is verified against the
  // system CAs plus `ca_file`, and its certificate must match `server_name` (empty: `host`).
  std::string ca_file;
  std::string server_name;
  // relay with a peer (issue #16 item 1): the name of the turn target `peer` names, for errors
  // ("allocation B (peer turn-b): TURN 401 Unauthorized"). Empty: peer_host stands in for it.
  std::string peer_name;
};

/// Where a result's RTTs come from (DESIGN.md "Probes" → Timing).
enum class Timestamps {
  kLoop,    ///< the event loop's clock when it got to the reply (inflated by a late wake-up)
  kKernel,  ///< kernel stamps: a datagram's receive stamp (UDP), TCP_INFO's handshake RTT (tcp)
};
/// "kernel" | "loop"
std::string_view timestampsName(Timestamps timestamps);

struct RttStats {
  double min_ms = 0;
  double avg_ms = 0;
  double max_ms = 0;
};

/// The outcome of one round against one target.
struct ProbeResult {
  std::string target;
  Kind kind = Kind::kStun;
  std::string address;  ///< "ip:port" actually probed ("[v6]:port" for IPv6)
  bool ok = false;
  std::string error;  ///< short, actionable: "timeout after 2s (0/5 replies)"
  int sent = 0;
  int received = 0;
  double loss = 0;  ///< ratio 0..1
  std::optional<RttStats> rtt;
  std::vector<double> rtt_samples_ms;  ///< in send order, replies only
  std::optional<double> jitter_ms;
  std::optional<double> mos;
  // phases
  std::optional<double> dns_ms;
  std::optional<double> connect_ms;
  // kind-specific
  std::string mapped_address;          ///< stun
  std::string relayed_address;         ///< turn; relay: allocation A's
  std::optional<int> status_code;      ///< sip
  std::vector<std::string> addresses;  ///< dns
  std::optional<double> lookup_ms;     ///< dns
  // relay (the stream A -> relay -> B -> relay -> A; rtt and jitter_ms above are its figures)
  std::optional<RttStats> one_way;  ///< A -> B delay
  std::optional<double> loss_ab;    ///< share of the stream that did not reach B
  std::optional<double> loss_ba;    ///< share of what reached B that did not come back
  std::optional<int> reordered;     ///< A -> B packets arriving after a later one
  std::optional<int> duplicated;    ///< extra copies, both legs
  // kernel timestamps (issue #16 item 4): how rtt (tcp: connect_ms and rtt) was timed. stun, sip,
  // turn and relay over udp: kernel receive stamps (relay: one_way and jitter_ms too); tcp:
  // TCP_INFO's handshake RTT; sip over tcp (see sip_probe.cc), turn and relay over tcp/tls, dns:
  // the loop.
  Timestamps timestamps = Timestamps::kLoop;
  // nat (RFC 5780; mapped_address above is X1, what the primary server saw; rtt its Binding's)
  std::string nat_mapping;          ///< natBehaviourName(): "endpoint-independent", ..., "unknown"
  std::string nat_filtering;        ///< same set
  std::optional<bool> hairpinning;  ///< nullopt: not tested (no mapped address)
  // TLS transports: the negotiated protocol ("TLSv1.3") and the server certificate's notAfter,
  // set once the handshake succeeded (a certificate problem is the round's error instead).
  std::string tls_version;
  std::optional<std::chrono::system_clock::time_point> cert_not_after;
  // relay (issue #16 item 1): allocation B's relayed address, on the peer's server when the
  // target has a `peer`, else on the same server as A's (relayed_address above).
  std::string relayed_address_b;
};

/// The result's kind-specific figures in one line for people: "mapped 192.0.2.1:50000",
/// "status 200", a relay's one-way delay, loss per direction and reordering; the error when the
/// round failed. The probe table's DETAIL column and the status page's.
std::string summary(const ProbeResult& result);

using ProbeCallback = std::function<void(ProbeResult)>;

/// What every probe runs with. All pointers outlive the probe; `loop` and `resources` are
/// required, the others optional (no resolver: IP literals only; no clock: the steady clock; no
/// random: the system's).
struct ProbeContext {
  net::EventLoop* loop = nullptr;
  net::Resolver* resolver = nullptr;
  net::Clock* clock = nullptr;
  net::Random* random = nullptr;
  ProbeResources* resources = nullptr;
};

/// One kind of check. A Probe object belongs to one target and is reused round after round;
/// start() is never called while a round is in flight. The callback runs exactly once per
/// start(), on the loop, unless cancel() was called first.
///
/// Thread safety: loop thread only.
class Probe {
 public:
  virtual ~Probe() = default;
  virtual void start(const ProbeTarget& target, ProbeCallback callback) = 0;
  virtual void cancel() = 0;
};

/// The registry: one factory per kind (probes/registry.cc).
/// Throws std::invalid_argument when the context has no loop or no resources.
std::unique_ptr<Probe> makeProbe(Kind kind, const ProbeContext& context);

}  // namespace mediapath::probes
