// bench_stun_responder: a minimal, fast STUN Binding responder for the benchmarks.
//
// coturn does much more per request (sessions, quotas, logging); at 10,000+ requests/s on this
// 2-core machine it could itself become what is measured. This answers Binding requests with
// XOR-MAPPED-ADDRESS + FINGERPRINT through libnice (the same library the probe validates with),
// in batches of up to 64 datagrams per recvmmsg/sendmmsg, on one blocking thread.
//
//   bench_stun_responder [--listen 127.0.0.1:0] [--port-file F]
// SIGTERM/SIGINT: prints the number of answers to stderr and exits 0.
extern "C" {
#include <stun/stunagent.h>
#include <stun/stunmessage.h>
}

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

namespace {

volatile std::sig_atomic_t g_stop = 0;

constexpr int kBatch = 64;

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  unsigned port = 0;
  std::string port_file;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--listen" && i + 1 < argc) {
      std::string v = argv[++i];
      auto colon = v.rfind(':');
      if (colon == std::string::npos) {
        std::fprintf(stderr, "--listen HOST:PORT\n");
        return 2;
      }
      host = v.substr(0, colon);
      port = static_cast<unsigned>(std::stoul(v.substr(colon + 1)));
    } else if (arg == "--port-file" && i + 1 < argc) {
      port_file = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--listen 127.0.0.1:0] [--port-file F]\n", argv[0]);
      return 2;
    }
  }

  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (fd < 0 || ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1 ||
      ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::fprintf(stderr, "bench_stun_responder: bind %s:%u: %s\n", host.c_str(), port,
                 std::strerror(errno));
    return 1;
  }
  // Bursts of 5 x 10,000 targets arrive in clumps: a deep receive buffer absorbs them.
  int rcvbuf = 8 << 20;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  if (!port_file.empty()) {
    std::string tmp = port_file + ".tmp";
    std::ofstream(tmp) << ntohs(addr.sin_port) << "\n";
    std::rename(tmp.c_str(), port_file.c_str());
  }

  struct sigaction sa {};
  sa.sa_handler = [](int) { g_stop = 1; };
  ::sigaction(SIGTERM, &sa, nullptr);  // no SA_RESTART: recvmmsg returns EINTR
  ::sigaction(SIGINT, &sa, nullptr);

  StunAgent agent;
  stun_agent_init(&agent, STUN_ALL_KNOWN_ATTRIBUTES, STUN_COMPATIBILITY_RFC5389,
                  STUN_AGENT_USAGE_USE_FINGERPRINT);

  std::array<std::array<std::uint8_t, 1500>, kBatch> in{};
  std::array<std::array<std::uint8_t, 256>, kBatch> out{};
  std::array<sockaddr_storage, kBatch> from{};
  std::array<iovec, kBatch> in_iov{};
  std::array<iovec, kBatch> out_iov{};
  std::array<mmsghdr, kBatch> in_msgs{};
  std::array<mmsghdr, kBatch> out_msgs{};
  unsigned long long answered = 0;
  unsigned long long ignored = 0;

  while (g_stop == 0) {
    for (int i = 0; i < kBatch; ++i) {
      in_iov[i] = {in[i].data(), in[i].size()};
      in_msgs[i] = {};
      in_msgs[i].msg_hdr.msg_iov = &in_iov[i];
      in_msgs[i].msg_hdr.msg_iovlen = 1;
      in_msgs[i].msg_hdr.msg_name = &from[i];
      in_msgs[i].msg_hdr.msg_namelen = sizeof from[i];
    }
    // Block for the first datagram, then take whatever else is already queued.
    int n = ::recvmmsg(fd, in_msgs.data(), kBatch, MSG_WAITFORONE, nullptr);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::fprintf(stderr, "bench_stun_responder: recvmmsg: %s\n", std::strerror(errno));
      return 1;
    }
    int replies = 0;
    for (int i = 0; i < n; ++i) {
      StunMessage request{};
      if (stun_agent_validate(&agent, &request, in[i].data(), in_msgs[i].msg_len, nullptr,
                              nullptr) != STUN_VALIDATION_SUCCESS ||
          stun_message_get_class(&request) != STUN_REQUEST ||
          stun_message_get_method(&request) != STUN_BINDING) {
        ++ignored;
        continue;
      }
      StunMessage response{};
      std::uint8_t* buf = out[replies].data();
      if (!stun_agent_init_response(&agent, &response, buf, out[replies].size(), &request)) {
        ++ignored;
        continue;
      }
      stun_message_append_xor_addr(&response, STUN_ATTRIBUTE_XOR_MAPPED_ADDRESS,
                                   reinterpret_cast<sockaddr_storage*>(&from[i]),
                                   in_msgs[i].msg_hdr.msg_namelen);
      std::size_t size = stun_agent_finish_message(&agent, &response, nullptr, 0);
      if (size == 0) {
        ++ignored;
        continue;
      }
      out_iov[replies] = {buf, size};
      out_msgs[replies] = {};
      out_msgs[replies].msg_hdr.msg_iov = &out_iov[replies];
      out_msgs[replies].msg_hdr.msg_iovlen = 1;
      out_msgs[replies].msg_hdr.msg_name = &from[i];
      out_msgs[replies].msg_hdr.msg_namelen = in_msgs[i].msg_hdr.msg_namelen;
      ++replies;
    }
    int sent = 0;
    while (sent < replies) {
      int rc = ::sendmmsg(fd, out_msgs.data() + sent, static_cast<unsigned>(replies - sent), 0);
      if (rc < 0) {
        if (errno == EINTR) continue;
        ++sent;  // that client vanished (ECONNREFUSED etc.): skip its reply, send the rest
        continue;
      }
      sent += rc;
    }
    answered += static_cast<unsigned long long>(sent);
  }
  std::fprintf(stderr, "bench_stun_responder: answered %llu, ignored %llu\n", answered, ignored);
  ::close(fd);
  return 0;
}
