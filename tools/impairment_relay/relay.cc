#include "tools/impairment_relay/relay.h"

#include <arpa/inet.h>
#include <linux/sockios.h>
#include <netdb.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <stdexcept>
#include <vector>

#include "net/event_loop.h"
#include "net/text.h"
#include "net/uv_handle.h"

namespace mediapath::tools::relay {
namespace {

constexpr std::int64_t kNsPerMs = 1'000'000;

// CLOCK_MONOTONIC in ns: the clock timerfd is armed on, so due times compare exactly.
std::int64_t monotonicNs() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000LL + ts.tv_nsec;
}

// Asks the kernel to stamp arriving datagrams on `handle`'s socket. SIOCGSTAMPNS enables the
// stamping on its first call (which itself fails: no packet yet).
void enableRxTimestamps(uv_udp_t* handle) {
  uv_os_fd_t fd = -1;
  if (uv_fileno(reinterpret_cast<uv_handle_t*>(handle), &fd) != 0) return;
  timespec ts{};
  ::ioctl(fd, SIOCGSTAMPNS, &ts);
}

// When the datagram just read from `handle` reached the socket, on CLOCK_MONOTONIC, or `now`
// when the kernel has no stamp. Holds are counted from here, so time the packet waited for the
// relay's loop (a busy machine) is part of its hold instead of being added on top.
std::int64_t arrivalNs(uv_udp_t* handle, std::int64_t now) {
  uv_os_fd_t fd = -1;
  timespec stamp{};
  if (uv_fileno(reinterpret_cast<uv_handle_t*>(handle), &fd) != 0 ||
      ::ioctl(fd, SIOCGSTAMPNS, &stamp) != 0) {
    return now;
  }
  timespec real{};
  ::clock_gettime(CLOCK_REALTIME, &real);
  std::int64_t age = (static_cast<std::int64_t>(real.tv_sec) - stamp.tv_sec) * 1'000'000'000LL +
                     (real.tv_nsec - stamp.tv_nsec);
  // A stamp from the future or from long ago (clock step) is not believed.
  if (age < 0 || age > 1'000'000'000LL) return now;
  return now - age;
}

std::string addressText(const sockaddr* sa) {
  // snprintf rather than string concatenation: GCC 12 -O2 reports a false -Wrestrict on the
  // latter.
  char host[INET6_ADDRSTRLEN] = {};
  char out[INET6_ADDRSTRLEN + 16] = {};
  if (sa->sa_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(sa);
    uv_ip6_name(a, host, sizeof host);
    std::snprintf(out, sizeof out, "[%s]:%u", host, unsigned{ntohs(a->sin6_port)});
  } else {
    const auto* a = reinterpret_cast<const sockaddr_in*>(sa);
    uv_ip4_name(a, host, sizeof host);
    std::snprintf(out, sizeof out, "%s:%u", host, unsigned{ntohs(a->sin_port)});
  }
  return out;
}

std::string addressKey(const sockaddr* sa) {
  std::size_t len = sa->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  return std::string(reinterpret_cast<const char*>(sa), len);
}

sockaddr_storage resolveAddress(const HostPort& hp) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string port = std::to_string(hp.port);
  if (int rc = ::getaddrinfo(hp.host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    throw std::runtime_error("cannot resolve '" + hp.host + "': " + ::gai_strerror(rc));
  }
  sockaddr_storage ss{};
  std::memcpy(&ss, res->ai_addr, res->ai_addrlen);
  ::freeaddrinfo(res);
  return ss;
}

// The transaction id of a STUN message as hex, or "". Logged so that a test can pair a request
// with its reply; the relay itself understands no protocol.
std::string stunTransactionId(const char* data, std::size_t len) {
  if (len < 20) return {};
  const auto* b = reinterpret_cast<const unsigned char*>(data);
  if ((b[0] & 0xC0) != 0 || b[4] != 0x21 || b[5] != 0x12 || b[6] != 0xA4 || b[7] != 0x42) {
    return {};
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 8; i < 20; ++i) {
    out += kHex[b[i] >> 4];
    out += kHex[b[i] & 15];
  }
  return out;
}

void check(int rc, const std::string& what) {
  if (rc != 0) throw std::runtime_error(what + ": " + uv_strerror(rc));
}

}  // namespace

class Relay::Impl {
 public:
  Impl(net::EventLoop& loop, RelayOptions options);
  ~Impl() { stop(); }

  std::uint16_t port() const { return port_; }
  const RelayStats& stats() const { return stats_; }
  void stop();

 private:
  struct Session {
    Impl* owner = nullptr;
    sockaddr_storage client{};
    std::string client_text;
    net::UvHandle<uv_udp_t> socket;
    std::int64_t last_active_ns = 0;
    std::int64_t last_due_ns[2] = {0, 0};
  };

  struct Held {
    std::int64_t due_ns = 0;
    std::uint64_t order = 0;  // FIFO among equal due times
    Direction dir = Direction::kUp;
    Decision decision;
    std::int64_t received_ns = 0;
    std::shared_ptr<Session> session;
    std::vector<char> data;
    std::string stun_tid;
  };
  // std::*_heap with this comparator keeps the earliest due time at the front.
  struct Later {
    bool operator()(const Held& a, const Held& b) const {
      return a.due_ns != b.due_ns ? a.due_ns > b.due_ns : a.order > b.order;
    }
  };

  struct SendRequest {
    uv_udp_send_t req{};
    std::vector<char> data;
  };

  // Every socket reads into the one buffer: a datagram is copied out before the next read.
  static void onAllocListen(uv_handle_t* handle, std::size_t, uv_buf_t* buf);
  static void onAllocSession(uv_handle_t* handle, std::size_t, uv_buf_t* buf);
  static void onClientDatagram(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf,
                               const sockaddr* addr, unsigned flags);
  static void onUpstreamDatagram(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf,
                                 const sockaddr* addr, unsigned flags);
  static void onTimerFd(uv_poll_t* handle, int status, int events);

  std::shared_ptr<Session> sessionFor(const sockaddr* client);
  void admit(Direction dir, const std::shared_ptr<Session>& session, const char* data,
             std::size_t len, uv_udp_t* from_socket);
  void releaseDue();
  void arm();
  void send(Held& packet);
  void writeLog(const Held& packet, bool dropped, double applied_ms);
  void sweepIdle();

  uv_loop_t* loop_;
  RelayOptions options_;
  ImpairmentModel model_;
  sockaddr_storage upstream_{};
  std::uint16_t port_ = 0;
  std::int64_t start_ns_ = monotonicNs();

  net::UvHandle<uv_udp_t> listen_;
  int timer_fd_ = -1;
  net::UvHandle<uv_poll_t> timer_poll_;
  net::UvHandle<uv_timer_t> housekeeping_;  // idle sessions, log flushing
  std::FILE* log_ = nullptr;

  std::map<std::string, std::shared_ptr<Session>> sessions_;
  std::vector<Held> held_;
  std::uint64_t next_order_ = 0;
  std::int64_t armed_ns_ = 0;
  RelayStats stats_;
  bool stopped_ = false;
  char buffer_[65536]{};
};

Relay::Impl::Impl(net::EventLoop& loop, RelayOptions options)
    : loop_(loop.get()),
      options_(std::move(options)),
      model_(options_.seed, options_.up, options_.down) {
  upstream_ = resolveAddress(options_.upstream);
  sockaddr_storage listen_addr = resolveAddress(options_.listen);

  if (!options_.log_path.empty()) {
    log_ = std::fopen(options_.log_path.c_str(), "w");
    if (log_ == nullptr) {
      throw std::runtime_error("cannot open log " + options_.log_path + ": " +
                               std::strerror(errno));
    }
  }

  check(uv_udp_init(loop_, listen_.get()), "uv_udp_init");
  listen_.markInitialized();
  listen_.get()->data = this;
  check(uv_udp_bind(listen_.get(), reinterpret_cast<const sockaddr*>(&listen_addr), 0),
        "bind " + options_.listen.host + ":" + std::to_string(options_.listen.port));
  sockaddr_storage bound{};
  int len = sizeof bound;
  check(uv_udp_getsockname(listen_.get(), reinterpret_cast<sockaddr*>(&bound), &len),
        "getsockname");
  port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  enableRxTimestamps(listen_.get());
  check(uv_udp_recv_start(listen_.get(), &Impl::onAllocListen, &Impl::onClientDatagram), "recv");

  // timerfd rather than uv_timer: libuv timers have whole-millisecond resolution, which would
  // bias every hold time by up to 1 ms; a timerfd fires within tens of microseconds.
  timer_fd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (timer_fd_ < 0) throw std::runtime_error(std::string("timerfd_create: ") + strerror(errno));
  check(uv_poll_init(loop_, timer_poll_.get(), timer_fd_), "uv_poll_init");
  timer_poll_.markInitialized();
  timer_poll_.get()->data = this;
  check(uv_poll_start(timer_poll_.get(), UV_READABLE, &Impl::onTimerFd), "uv_poll_start");

  check(uv_timer_init(loop_, housekeeping_.get()), "uv_timer_init");
  housekeeping_.markInitialized();
  housekeeping_.get()->data = this;
  check(uv_timer_start(
            housekeeping_.get(),
            [](uv_timer_t* t) {
              auto* self = static_cast<Impl*>(t->data);
              if (self == nullptr) return;
              self->sweepIdle();
              if (self->log_ != nullptr) std::fflush(self->log_);
            },
            200, 200),
        "uv_timer_start");
}

void Relay::Impl::stop() {
  if (stopped_) return;
  stopped_ = true;
  listen_.close();
  timer_poll_.close();  // stops polling at once, so the fd may be closed now
  if (timer_fd_ >= 0) ::close(timer_fd_);
  timer_fd_ = -1;
  housekeeping_.close();
  for (auto& [key, session] : sessions_) session->socket.close();
  sessions_.clear();
  held_.clear();
  if (log_ != nullptr) std::fclose(log_);
  log_ = nullptr;
}

void Relay::Impl::onAllocListen(uv_handle_t* handle, std::size_t, uv_buf_t* buf) {
  auto* self = static_cast<Impl*>(handle->data);
  *buf =
      self == nullptr ? uv_buf_init(nullptr, 0) : uv_buf_init(self->buffer_, sizeof self->buffer_);
}

void Relay::Impl::onAllocSession(uv_handle_t* handle, std::size_t, uv_buf_t* buf) {
  auto* session = static_cast<Session*>(handle->data);
  *buf = session == nullptr ? uv_buf_init(nullptr, 0)
                            : uv_buf_init(session->owner->buffer_, sizeof session->owner->buffer_);
}

void Relay::Impl::onClientDatagram(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf,
                                   const sockaddr* addr, unsigned) {
  auto* self = static_cast<Impl*>(handle->data);
  if (self == nullptr || nread < 0 || addr == nullptr) return;
  auto session = self->sessionFor(addr);
  if (!session) return;
  self->admit(Direction::kUp, session, buf->base, static_cast<std::size_t>(nread), handle);
}

void Relay::Impl::onUpstreamDatagram(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf,
                                     const sockaddr* addr, unsigned) {
  auto* session = static_cast<Session*>(handle->data);
  if (session == nullptr || nread < 0 || addr == nullptr) return;
  Impl* self = session->owner;
  auto it = self->sessions_.find(addressKey(reinterpret_cast<sockaddr*>(&session->client)));
  if (it == self->sessions_.end()) return;
  self->admit(Direction::kDown, it->second, buf->base, static_cast<std::size_t>(nread), handle);
}

std::shared_ptr<Relay::Impl::Session> Relay::Impl::sessionFor(const sockaddr* client) {
  std::string key = addressKey(client);
  if (auto it = sessions_.find(key); it != sessions_.end()) return it->second;

  auto session = std::make_shared<Session>();
  session->owner = this;
  std::memcpy(&session->client, client, key.size());
  session->client_text = addressText(client);
  uv_udp_t* sock = session->socket.get();
  if (int rc = uv_udp_init(loop_, sock); rc != 0) {
    std::fprintf(stderr, "impairment-relay: uv_udp_init: %s\n", uv_strerror(rc));
    return nullptr;
  }
  session->socket.markInitialized();
  sock->data = session.get();
  sockaddr_storage any{};
  any.ss_family = upstream_.ss_family;
  int rc = uv_udp_bind(sock, reinterpret_cast<const sockaddr*>(&any), 0);
  if (rc == 0) rc = uv_udp_connect(sock, reinterpret_cast<const sockaddr*>(&upstream_));
  if (rc == 0) enableRxTimestamps(sock);
  if (rc == 0) rc = uv_udp_recv_start(sock, &Impl::onAllocSession, &Impl::onUpstreamDatagram);
  if (rc != 0) {
    std::fprintf(stderr, "impairment-relay: upstream socket for %s: %s\n",
                 session->client_text.c_str(), uv_strerror(rc));
    return nullptr;
  }
  ++stats_.sessions;
  sessions_.emplace(std::move(key), session);
  return session;
}

void Relay::Impl::admit(Direction dir, const std::shared_ptr<Session>& session, const char* data,
                        std::size_t len, uv_udp_t* from_socket) {
  const auto d = static_cast<int>(dir);
  std::int64_t now = arrivalNs(from_socket, monotonicNs());
  session->last_active_ns = now;
  ++stats_.received[d];

  Held packet;
  packet.dir = dir;
  packet.decision = model_.decide(dir);
  packet.received_ns = now;
  packet.session = session;
  packet.stun_tid = stunTransactionId(data, len);
  if (packet.decision.dropped) {
    ++stats_.dropped[d];
    packet.data.resize(len);  // only its size is logged
    writeLog(packet, true, 0);
    return;
  }
  packet.due_ns = now + packet.decision.delay.count() * 1000;
  if (!options_.reorder) {
    packet.due_ns = std::max(packet.due_ns, session->last_due_ns[d]);
  }
  session->last_due_ns[d] = packet.due_ns;
  packet.data.assign(data, data + len);
  packet.order = next_order_++;
  held_.push_back(std::move(packet));
  std::push_heap(held_.begin(), held_.end(), Later{});
  arm();
}

void Relay::Impl::arm() {
  if (timer_fd_ < 0) return;
  std::int64_t due = held_.empty() ? 0 : held_.front().due_ns;
  if (due == armed_ns_) return;
  itimerspec spec{};
  spec.it_value.tv_sec = static_cast<time_t>(due / 1'000'000'000LL);
  spec.it_value.tv_nsec = static_cast<long>(due % 1'000'000'000LL);
  ::timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &spec, nullptr);  // zero disarms
  armed_ns_ = due;
}

void Relay::Impl::onTimerFd(uv_poll_t* handle, int, int) {
  auto* self = static_cast<Impl*>(handle->data);
  if (self == nullptr) return;
  std::uint64_t expirations = 0;
  // EAGAIN is fine: the timer was re-armed after it fired and before we got here.
  [[maybe_unused]] auto n = ::read(self->timer_fd_, &expirations, sizeof expirations);
  self->armed_ns_ = 0;
  self->releaseDue();
  self->arm();
}

void Relay::Impl::releaseDue() {
  std::int64_t now = monotonicNs();
  while (!held_.empty() && held_.front().due_ns <= now) {
    std::pop_heap(held_.begin(), held_.end(), Later{});
    Held packet = std::move(held_.back());
    held_.pop_back();
    send(packet);
  }
}

void Relay::Impl::send(Held& packet) {
  const auto d = static_cast<int>(packet.dir);
  uv_udp_t* sock = nullptr;
  const sockaddr* to = nullptr;
  if (packet.dir == Direction::kUp) {
    sock = packet.session->socket.get();  // connected to the upstream
  } else {
    sock = listen_.get();
    to = reinterpret_cast<const sockaddr*>(&packet.session->client);
  }
  if (sock == nullptr) return;  // the session expired while the packet was held

  std::int64_t sent_ns = monotonicNs();
  uv_buf_t buf = uv_buf_init(packet.data.data(), static_cast<unsigned>(packet.data.size()));
  int rc = uv_udp_try_send(sock, &buf, 1, to);
  if (rc == UV_EAGAIN) {
    // The socket buffer is full: queue it in libuv rather than drop what the model kept.
    auto* req = new SendRequest;
    req->data = std::move(packet.data);
    buf = uv_buf_init(req->data.data(), static_cast<unsigned>(req->data.size()));
    rc = uv_udp_send(&req->req, sock, &buf, 1, to,
                     [](uv_udp_send_t* r, int) { delete reinterpret_cast<SendRequest*>(r); });
    if (rc != 0) delete req;
    packet.data.resize(buf.len);  // keep the logged size
  }
  if (rc < 0) {
    ++stats_.send_errors;
    std::fprintf(stderr, "impairment-relay: send %s: %s\n",
                 std::string(directionName(packet.dir)).c_str(), uv_strerror(rc));
    return;
  }
  ++stats_.forwarded[d];
  writeLog(packet, false, static_cast<double>(sent_ns - packet.received_ns) / kNsPerMs);
}

void Relay::Impl::writeLog(const Held& packet, bool dropped, double applied_ms) {
  if (log_ == nullptr) return;
  std::string line =
      "{\"dir\":\"" + std::string(directionName(packet.dir)) +
      "\",\"seq\":" + std::to_string(packet.decision.seq) +
      ",\"bytes\":" + std::to_string(packet.data.size()) +
      ",\"dropped\":" + (dropped ? "true" : "false") +
      ",\"delay_ms\":" + (dropped ? std::string("null") : net::formatFixed(applied_ms, 3)) +
      ",\"planned_ms\":" +
      net::formatFixed(static_cast<double>(packet.decision.delay.count()) / 1000.0, 3) +
      ",\"rx_ms\":" +
      net::formatFixed(static_cast<double>(packet.received_ns - start_ns_) / kNsPerMs, 3) +
      ",\"client\":\"" + packet.session->client_text + "\"";
  if (!packet.stun_tid.empty()) line += ",\"stun_tid\":\"" + packet.stun_tid + "\"";
  line += "}\n";
  std::fwrite(line.data(), 1, line.size(), log_);
}

void Relay::Impl::sweepIdle() {
  std::int64_t now = monotonicNs();
  std::int64_t idle_ns = static_cast<std::int64_t>(options_.idle_timeout.count()) * 1'000'000'000LL;
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (now - it->second->last_active_ns > idle_ns) {
      it->second->socket.close();
      it = sessions_.erase(it);
    } else {
      ++it;
    }
  }
}

Relay::Relay(net::EventLoop& loop, RelayOptions options)
    : impl_(std::make_unique<Impl>(loop, std::move(options))) {}
Relay::~Relay() = default;
std::uint16_t Relay::port() const { return impl_->port(); }
void Relay::stop() { impl_->stop(); }
const RelayStats& Relay::stats() const { return impl_->stats(); }

}  // namespace mediapath::tools::relay
