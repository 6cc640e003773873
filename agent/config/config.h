#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "probes/probe.h"

namespace mediapath::agent {

using Duration = std::chrono::milliseconds;

/// How often a target whose round just failed is probed until the failure is confirmed or gone.
/// 200 ms: three confirmation rounds fit in well under a second, and even a 1 s interval
/// target is probed at most five times as often, and only while a failure is suspected.
inline constexpr Duration kDefaultConfirmInterval{200};

/// Where a secret comes from. Exactly one is set; literal secrets are refused by the loader so
/// that they never sit in a config file that is world-readable or copied into a ticket.
struct SecretRef {
  std::string env;         ///< name of an environment variable
  std::string file;        ///< path of a file holding the secret
  std::string credential;  ///< name of a systemd credential ($CREDENTIALS_DIRECTORY/<name>)
  bool empty() const { return env.empty() && file.empty() && credential.empty(); }
};

struct BurstConfig {
  int packets = 1;
  Duration spacing{20};
};

/// The relay kind's RTP-like stream (probes::StreamSpec); defaults: 1 s of G.711 at 20 ms.
struct StreamConfig {
  int packets = 50;
  int size = 172;
  Duration spacing{20};
};

struct ProbingConfig {
  Duration interval{5000};
  Duration timeout{2000};
  BurstConfig burst;
};

struct DnsServer {
  std::string address;  ///< IP literal
  std::uint16_t port = 53;
};

struct DnsConfig {
  std::vector<DnsServer> servers;  ///< empty: the system resolver (/etc/resolv.conf)
  /// `dns.max_ttl`: answers are used for at most this long, whatever TTL they carry.
  Duration max_ttl{std::chrono::seconds(300)};
};

struct TargetConfig {
  std::string name;
  probes::Kind kind = probes::Kind::kStun;
  std::string host;
  std::uint16_t port = 0;  ///< 0 for dns targets
  // Per-target overrides of the probing section.
  std::optional<Duration> interval;
  std::optional<Duration> timeout;
  std::optional<BurstConfig> burst;
  /// Overrides the failover group's confirm_interval; 0 ("off"): no fast confirmation.
  std::optional<Duration> confirm_interval;
  // turn, relay
  std::string username;
  SecretRef password;
  // sip; turn and relay (to the TURN server)
  probes::Transport transport = probes::Transport::kUdp;
  std::vector<int> success_codes;  ///< empty: any 2xx
  // dns
  probes::DnsRecord record = probes::DnsRecord::kA;
  // relay
  StreamConfig stream;
  // nat (a stun target), relay (a turn target): `peer` names the target, the loader copies its
  // address and credentials here so a target plans without the rest of the config.
  std::string peer;
  std::string peer_host;
  std::uint16_t peer_port = 0;
  std::string peer_username;
  SecretRef peer_password;
  // TLS (transport "tls"): an extra CA beside the system's, and the name the certificate must
  // match and SNI carries (empty: host).
  std::string ca_file;
  std::string server_name;
};

/// Where a failover group writes (DESIGN.md "Genesys backends"); exactly one is set.
struct ApplyTo {
  std::string location_path;  ///< e.g. "/media/proxy": the seed's Location (schema "seed" only)
  std::string trunk_base_id;  ///< BYOC trunk base settings id: the trunk's SIP server list
  std::string site_id;        ///< a Site's media regions, with `media_regions`
  /// Candidate target name -> AWS media region ("eu-central-1"), for `site_id`.
  std::map<std::string, std::string> media_regions;
};

struct FailoverGroup {
  std::string name;
  std::vector<std::string> candidates;  ///< target names, in preference order
  int healthy_threshold = 3;
  int unhealthy_threshold = 3;
  Duration min_hold{60000};
  double min_mos = 3.6;
  double min_mos_gain = 0.3;
  /// Fast confirmation of a suspected failure on a candidate (DESIGN.md "Health and
  /// failover"); 0 ("off") disables it. Also the default for targets in no group.
  Duration confirm_interval{kDefaultConfirmInterval};
  ApplyTo apply_to;
};

enum class GenesysMode { kPlan, kApply };

/// Which API shapes the agent speaks: the real platform's (default), or the seed tutorial's
/// idealised Location with media fields and JSON Patch (against `genesys-emulator --schema seed`).
enum class GenesysSchema { kPlatform, kSeed };

struct GenesysConfig {
  std::string region;
  GenesysMode mode = GenesysMode::kPlan;
  GenesysSchema schema = GenesysSchema::kPlatform;
  SecretRef client_id;
  SecretRef client_secret;
  std::string location_id;
  std::string api_base_url;    ///< overrides the region table (emulator)
  std::string login_base_url;  ///< overrides the region table (emulator)
  std::string ca_file;         ///< extra CA; verification stays on
  Duration request_timeout{10000};
  Duration retry_budget{60000};
};

struct PortRange {
  int min = 5060;
  int max = 5081;
};

struct LocationMedia {
  std::string proxy;  ///< target names
  std::string stun;
  std::string turn;
};

struct LocationAddress {
  std::string street1, street2, city, state, zipcode, country;
};

struct LocationConfig {
  std::string name;
  // The real platform's Location fields (E911 address; schema "platform").
  std::string notes;
  std::optional<LocationAddress> address;
  std::string emergency_number;       ///< E.164, e.g. "+4969123456"
  std::string emergency_number_type;  ///< "default" or "elin"
  std::string region;
  std::vector<int> sip_ports;
  PortRange allowed_sip_ports;
  std::vector<std::string> ip_allowlist;
  LocationMedia media;
};

/// `readiness`: what the readiness verdict judges against (DESIGN.md "Command line"). The
/// defaults are Microsoft's client-to-edge targets for Teams media (loss, jitter, RTT, reorder)
/// and Genesys's "acceptable" MOS.
struct ReadinessConfig {
  /// Where relayed (TURN) addresses must lie, e.g. Genesys Cloud's media blocks; empty: that
  /// check is reported as not configured.
  std::vector<std::string> media_cidrs;
  double max_loss = 0.01;
  Duration max_jitter{30};
  Duration max_rtt{100};
  double max_reorder = 0.0005;
  double min_mos = 3.5;
  int min_cert_days = 14;
};

struct Config {
  std::string source;  ///< the file it was loaded from, for messages
  std::string site_name;
  ProbingConfig probing;
  DnsConfig dns;
  std::vector<TargetConfig> targets;
  std::vector<FailoverGroup> failover;
  std::optional<GenesysConfig> genesys;
  std::optional<LocationConfig> location;
  ReadinessConfig readiness;

  const TargetConfig* findTarget(const std::string& name) const;
};

}  // namespace mediapath::agent
