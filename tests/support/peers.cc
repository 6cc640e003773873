#include "tests/support/peers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string_view>
#include <thread>

namespace mediapath::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kAttempts = 3;

std::uint16_t freeUdpTcpPortOn(const std::string& ip) {
  if (ip == "127.0.0.1") return freeUdpTcpPort();
  // IPv6: a UDP-free port; TCP collisions are caught by the start-up retry.
  return freePort(SocketType::kUdp, ip.c_str());
}

sockaddr_storage socketAddress(const std::string& ip, std::uint16_t port, socklen_t& len) {
  sockaddr_storage ss{};
  if (ip.find(':') != std::string::npos) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    ::inet_pton(AF_INET6, ip.c_str(), &a->sin6_addr);
    len = sizeof(*a);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    ::inet_pton(AF_INET, ip.c_str(), &a->sin_addr);
    len = sizeof(*a);
  }
  return ss;
}

bool tcpAccepts(const std::string& ip, std::uint16_t port) {
  socklen_t len = 0;
  auto ss = socketAddress(ip, port, len);
  int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  bool ok = fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0;
  if (fd >= 0) ::close(fd);
  return ok;
}

/// Sends `request` over UDP and waits up to 200 ms for any answer. Peers open their TCP
/// listener before their UDP workers run, so a listening TCP port alone does not mean ready.
bool udpAnswers(const std::string& ip, std::uint16_t port, const std::string& request) {
  socklen_t len = 0;
  auto ss = socketAddress(ip, port, len);
  int fd = ::socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  bool ok = false;
  if (::sendto(fd, request.data(), request.size(), 0, reinterpret_cast<sockaddr*>(&ss), len) ==
      static_cast<ssize_t>(request.size())) {
    pollfd p{fd, POLLIN, 0};
    std::array<char, 2048> buf{};
    ok = ::poll(&p, 1, 200) == 1 && ::recv(fd, buf.data(), buf.size(), 0) > 0;
  }
  ::close(fd);
  return ok;
}

/// Starts `make(port)` until the peer accepts TCP on `ip`:`port`, answers `udp_request` there
/// and `also_ready()` (when given: a second listener the peer opens) holds.
template <typename Make>
std::unique_ptr<Subprocess> startOnFreePort(const std::string& what, const std::string& ip,
                                            std::uint16_t& port, const std::string& udp_request,
                                            Make make, std::uint16_t fixed_port = 0,
                                            const std::function<bool()>& also_ready = {}) {
  std::string last_log;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    // A fixed port restarts a peer where its clients expect it (failover tests).
    port = fixed_port != 0 ? fixed_port : freeUdpTcpPortOn(ip);
    auto process = make(port);
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline && process->running()) {
      if (tcpAccepts(ip, port) && (udp_request.empty() || udpAnswers(ip, port, udp_request)) &&
          (!also_ready || also_ready())) {
        return process;
      }
      std::this_thread::sleep_for(20ms);
    }
    last_log = process->log();
    process->stop();
  }
  throw std::runtime_error(what + " did not start on " + ip + ":\n" + last_log);
}

/// TCP readiness only (peers without a cheap UDP request to try).
template <typename Make>
std::unique_ptr<Subprocess> startOnFreePort(const std::string& what, const std::string& ip,
                                            std::uint16_t& port, Make make) {
  return startOnFreePort(what, ip, port, std::string(), make);
}

}  // namespace

Coturn::Coturn(const TempDir& dir, Options options) : options_(std::move(options)) {
  // The relay range is per instance so that parallel tests do not fight over relay ports.
  // A bare RFC 5389 Binding request: type 0x0001, length 0, magic cookie, transaction id.
  const std::string binding("\x00\x01\x00\x00\x21\x12\xa4\x42mediapath-rd", 20);
  const bool tls = !options_.tls_cert_file.empty();
  process_ = startOnFreePort(
      "turnserver", options_.ip, port_, binding,
      [&](std::uint16_t port) {
        std::uint16_t relay_lo = static_cast<std::uint16_t>(freePort(SocketType::kUdp));
        std::uint16_t relay_hi = static_cast<std::uint16_t>(std::min<int>(relay_lo + 20, 65535));
        std::vector<std::string> argv = {
            "turnserver",
            "-n",
            "--listening-ip=" + options_.ip,
            "--relay-ip=" + options_.ip,
            "--listening-port=" + std::to_string(port),
            "--lt-cred-mech",
            "--user=" + options_.user + ":" + options_.password,
            "--realm=" + options_.realm,
            "--no-dtls",
            "--no-cli",
            "--log-file=stdout",
            "--simple-log",
            "--pidfile=" + dir.file("turnserver-" + std::to_string(port) + ".pid"),
            "--userdb=" + dir.file("turndb-" + std::to_string(port)),
            "--allow-loopback-peers",
            "--min-port=" + std::to_string(relay_lo),
            "--max-port=" + std::to_string(relay_hi)};
        if (tls) {
          // RFC 5780 may use port + 1 (alternate_ip): the TLS port stays clear of it.
          do {
            tls_port_ = freePort(SocketType::kTcp, options_.ip.c_str());
          } while (tls_port_ == port || tls_port_ == port + 1);
          argv.push_back("--tls-listening-port=" + std::to_string(tls_port_));
          argv.push_back("--cert=" + options_.tls_cert_file);
          argv.push_back("--pkey=" + options_.tls_key_file);
        } else {
          argv.push_back("--no-tls");
        }
        if (!options_.alternate_ip.empty()) {
          argv.push_back("--listening-ip=" + options_.alternate_ip);
        }
        if (options_.verbose) argv.push_back("--verbose");
        return std::make_unique<Subprocess>(
            argv, dir.file("turnserver-" + std::to_string(port) + ".log"));
      },
      0, [&] { return !tls || tcpAccepts(options_.ip, tls_port_); });
}

void Coturn::stop() {
  if (process_) process_->stop();
}

void Kamailio::stop() {
  if (process_) process_->stop();
  process_.reset();
}

Kamailio::Kamailio(const TempDir& dir, Options options) : options_(std::move(options)) {
  const std::string host =
      options_.ip.find(':') != std::string::npos ? "[" + options_.ip + "]" : options_.ip;
  const std::string options_request = "OPTIONS sip:" + host + " SIP/2.0\r\nVia: SIP/2.0/UDP " +
                                      host + ":9;branch=z9hG4bKready;rport\r\nFrom: <sip:ready@" +
                                      host + ">;tag=1\r\nTo: <sip:" + host +
                                      ">\r\nCall-ID: ready\r\nCSeq: 1 OPTIONS\r\n"
                                      "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
  process_ = startOnFreePort(
      "kamailio", options_.ip, port_, options_request,
      [&](std::uint16_t port) {
        std::string listen_host =
            options_.ip.find(':') != std::string::npos ? "[" + options_.ip + "]" : options_.ip;
        std::string cfg =
            "#!KAMAILIO\n"
            "children=2\n"
            "tcp_children=2\n"
            "disable_sctp=yes\n"
            "auto_aliases=no\n"
            "listen=udp:" +
            listen_host + ":" + std::to_string(port) + "\n" + "listen=tcp:" + listen_host + ":" +
            std::to_string(port) + "\n" +
            "loadmodule \"pv.so\"\n"
            "loadmodule \"sl.so\"\n"
            "loadmodule \"textops.so\"\n"
            "loadmodule \"xlog.so\"\n"
            "request_route {\n"
            "    if (is_method(\"OPTIONS\")) { sl_send_reply(\"" +
            std::to_string(options_.options_code) + "\", \"" + options_.options_reason +
            "\"); exit; }\n" +
            "    sl_send_reply(\"405\", \"Method Not Allowed\"); exit;\n"
            "}\n";
        std::string name = "kamailio-" + std::to_string(port);
        std::filesystem::create_directories(dir.file(name + "-run"));
        std::string cfg_path = dir.write(name + ".cfg", cfg);
        std::vector<std::string> argv = {"kamailio",
                                         "-f",
                                         cfg_path,
                                         "-DD",
                                         "-E",
                                         "-m",
                                         "32",
                                         "-M",
                                         "8",
                                         "-Y",
                                         dir.file(name + "-run"),
                                         "-P",
                                         dir.file(name + ".pid")};
        return std::make_unique<Subprocess>(argv, dir.file(name + ".log"));
      },
      options_.port);
}

// --- dnsmasq (added by the dns work) ---------------------------------------------------------

Dnsmasq::Dnsmasq(const TempDir& dir, Options options) : options_(std::move(options)) {
  // dnsmasq serves TCP on the same port, so the TCP readiness check of startOnFreePort works.
  process_ = startOnFreePort("dnsmasq", "127.0.0.1", port_, [&](std::uint16_t port) {
    std::string name = "dnsmasq-" + std::to_string(port);
    std::vector<std::string> argv = {"dnsmasq",
                                     "--keep-in-foreground",
                                     "--conf-file=/dev/null",
                                     "--no-resolv",
                                     "--no-hosts",
                                     "--listen-address=127.0.0.1",
                                     "--bind-interfaces",
                                     "--port=" + std::to_string(port),
                                     "--pid-file=" + dir.file(name + ".pid"),
                                     "--log-facility=-",
                                     "--local=/example.test/",
                                     "--local-ttl=" + std::to_string(options_.ttl),
                                     "--address=/sip.example.test/127.0.0.1",
                                     "--host-record=turn.example.test,127.0.0.1",
                                     "--srv-host=_sip._udp.example.test,sip.example.test," +
                                         std::to_string(options_.sip_port) + ",10,100"};
    if (options_.log_queries) argv.push_back("--log-queries");
    return std::make_unique<Subprocess>(argv, dir.file(name + ".log"));
  });
}

Dnsmasq::~Dnsmasq() {
  // A stopped process would sit out the SIGTERM grace period before SIGKILL.
  if (paused_) resume();
}

void Dnsmasq::pause() {
  process_->signal(SIGSTOP);
  paused_ = true;
}

void Dnsmasq::resume() {
  process_->signal(SIGCONT);
  paused_ = false;
}

void Dnsmasq::stop() {
  if (paused_) resume();
  process_->stop();
}

int Dnsmasq::queriesFor(const std::string& name) const {
  // Query lines read "dnsmasq[123]: query[A] sip.example.test from 127.0.0.1".
  std::string text = log();
  int n = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + start, end - start);
    std::size_t q = line.find(": query[");
    if (q != std::string_view::npos &&
        line.find("] " + name + " from ", q) != std::string_view::npos) {
      ++n;
    }
    start = end + 1;
  }
  return n;
}

}  // namespace mediapath::testing
