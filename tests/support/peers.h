#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "tests/support/process.h"

// Real peers for integration tests, started on free loopback ports inside a TempDir and
// stopped by PID (see /work/shared/reference/peers.md for the command lines). Each constructor
// returns once the peer accepts TCP connections on its port, retrying with another port when a
// race lost the first one; it throws (with the peer's log) if the peer never comes up.

namespace mediapath::testing {

/// coturn as STUN + TURN server with long-term credentials `user`:`password`.
class Coturn {
 public:
  struct Options {
    std::string ip = "127.0.0.1";  ///< "::1" works too
    std::string user = "test";
    std::string password = "secret";
    std::string realm = "example.org";
    bool verbose = true;  ///< log every request ("ALLOCATE processed, success", ...)
    /// A second listening address (same family): coturn then runs RFC 5780 NAT behaviour
    /// discovery (OTHER-ADDRESS, CHANGE-REQUEST) on both addresses, ports `port` and `port` + 1.
    std::string alternate_ip;
    /// TURN over TLS (issue #16): with both PEM files set (e.g. TlsPki's good()), coturn also
    /// listens for TLS on tls_port(), on every listening address; unset, it runs --no-tls.
    std::string tls_cert_file;
    std::string tls_key_file;
  };
  explicit Coturn(const TempDir& dir) : Coturn(dir, Options{}) {}
  Coturn(const TempDir& dir, Options options);

  std::uint16_t port() const { return port_; }
  /// The TLS listener's port (TCP), 0 without Options::tls_cert_file.
  std::uint16_t tls_port() const { return tls_port_; }
  const Options& options() const { return options_; }
  std::string log() const { return process_ ? process_->log() : std::string(); }
  /// Stops coturn now (SIGTERM), e.g. in the middle of a round; log() stays readable.
  void stop();

 private:
  Options options_;
  std::uint16_t port_ = 0;
  std::uint16_t tls_port_ = 0;
  std::unique_ptr<Subprocess> process_;
};

/// kamailio answering OPTIONS over UDP and TCP with `options_code` `options_reason` (any other
/// method gets 405).
class Kamailio {
 public:
  struct Options {
    std::string ip = "127.0.0.1";
    int options_code = 200;
    std::string options_reason = "OK";
    std::uint16_t port = 0;  ///< 0: a free port; else exactly this one (restart in place)
  };
  explicit Kamailio(const TempDir& dir) : Kamailio(dir, Options{}) {}
  Kamailio(const TempDir& dir, Options options);

  std::uint16_t port() const { return port_; }
  std::string log() const { return process_ ? process_->log() : std::string(); }
  /// SIGTERM to the main process (kamailio stops its children); the port then refuses.
  void stop();

 private:
  Options options_;
  std::uint16_t port_ = 0;
  std::unique_ptr<Subprocess> process_;
};

/// dnsmasq as an authoritative-only DNS server for example.test (added by the dns work; see
/// peers.md). Unknown names under example.test are NXDOMAIN, names elsewhere REFUSED (no
/// upstream). Records, all with TTL `ttl`:
///   sip.example.test A 127.0.0.1, turn.example.test A 127.0.0.1,
///   _sip._udp.example.test SRV 10 100 <sip_port> sip.example.test
class Dnsmasq {
 public:
  struct Options {
    int ttl = 5;
    std::uint16_t sip_port = 5060;
    bool log_queries = true;  ///< one "query[A] name from ..." log line per query received
  };
  explicit Dnsmasq(const TempDir& dir) : Dnsmasq(dir, Options{}) {}
  Dnsmasq(const TempDir& dir, Options options);
  ~Dnsmasq();

  std::uint16_t port() const { return port_; }
  /// "127.0.0.1:PORT", as c-ares and the config take it.
  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }
  /// SIGSTOP: the socket stays bound but nothing answers (a hung server: queries time out).
  void pause();
  /// SIGCONT after pause().
  void resume();
  /// Terminates dnsmasq (its port then refuses: ICMP port unreachable).
  void stop();
  std::string log() const { return process_ ? process_->log() : std::string(); }
  /// How many queries for `name` (any type) dnsmasq has logged so far.
  int queriesFor(const std::string& name) const;

 private:
  Options options_;
  std::uint16_t port_ = 0;
  bool paused_ = false;
  std::unique_ptr<Subprocess> process_;
};

}  // namespace mediapath::testing
