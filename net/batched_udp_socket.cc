#include "net/batched_udp_socket.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "net/kernel_timestamp.h"

namespace mediapath::net {

namespace {
// Replies to 10,000 targets a second, or 50,000 with bursts, share this socket's receive queue;
// the default (~200 KiB, about 300 small datagrams) could overflow during a slow loop iteration
// and show up as loss on the targets. FORCE works with CAP_NET_ADMIN, else the kernel caps the
// plain request at net.core.rmem_max.
constexpr int kReceiveBufferBytes = 4 << 20;

void enlargeReceiveBuffer(int fd) {
  int bytes = kReceiveBufferBytes;
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) != 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
  }
}

// At most this many recvmmsg() calls per readiness event, so a flood on this socket cannot
// starve the loop's timers; epoll is level-triggered and reports the rest next iteration.
constexpr int kReadsPerEvent = 16;
}  // namespace

struct BatchedUdpSocket::Receive {
  // Room for the control messages asked for: SO_RXQ_OVFL's 32-bit drop count and the
  // SO_TIMESTAMPNS receive stamp.
  struct alignas(cmsghdr) Control {
    std::array<std::uint8_t, CMSG_SPACE(sizeof(std::uint32_t)) + kReceiveTimestampSpace> bytes;
  };
  std::array<mmsghdr, kBatch> messages{};
  std::array<iovec, kBatch> vectors{};
  std::array<sockaddr_storage, kBatch> names{};
  std::array<Control, kBatch> controls{};
  std::array<std::array<std::uint8_t, kMaxDatagram>, kBatch> buffers{};
};

BatchedUdpSocket::BatchedUdpSocket(uv_loop_t* loop, const Clock* clock)
    : loop_(loop), clock_(clock) {}

BatchedUdpSocket::~BatchedUdpSocket() { close(); }

int BatchedUdpSocket::open(const SocketAddress& local, ReceiveCallback on_receive) {
  close();
  int fd = ::socket(local.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return uv_translate_sys_error(errno);
  }
  fd_ = fd;
  // Fresh handles: a closed UvHandle is spent.
  poll_ = UvHandle<uv_poll_t>();
  prepare_ = UvHandle<uv_prepare_t>();
  check_ = UvHandle<uv_check_t>();
  if (local.isIPv6()) {
    // Separate sockets per family, as with anyAddressLike(): a v6 wildcard would also take v4.
    int v6_only = 1;
    ::setsockopt(fd_, IPPROTO_IPV6, IPV6_V6ONLY, &v6_only, sizeof(v6_only));
  }
  enlargeReceiveBuffer(fd_);
  int on = 1;
  ::setsockopt(fd_, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof(on));
  timestamps_ = false;
  dropped_ = 0;
  if (::bind(fd_, local.get(), local.length) != 0) {
    int error = uv_translate_sys_error(errno);
    close();
    return error;
  }
  sockaddr_storage bound{};
  socklen_t bound_length = sizeof(bound);
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&bound), &bound_length) == 0) {
    local_ = SocketAddress::fromSockaddr(reinterpret_cast<sockaddr*>(&bound));
  }

  if (int rc = uv_poll_init_socket(loop_, poll_.get(), fd_); rc != 0) {
    close();
    return rc;
  }
  poll_.markInitialized();
  poll_.get()->data = this;
  uv_prepare_init(loop_, prepare_.get());
  prepare_.markInitialized();
  prepare_.get()->data = this;
  uv_check_init(loop_, check_.get());
  check_.markInitialized();
  check_.get()->data = this;

  if (!receive_) receive_ = std::make_unique<Receive>();
  on_receive_ = std::move(on_receive);
  int rc = uv_poll_start(poll_.get(), UV_READABLE, [](uv_poll_t* handle, int status, int) {
    auto* self = static_cast<BatchedUdpSocket*>(handle->data);
    // status < 0 (e.g. EBADF) is not actionable here; senders rely on their timeouts.
    if (self != nullptr && status == 0) self->readAll();
  });
  if (rc != 0) {
    close();
    return rc;
  }
  return 0;
}

int BatchedUdpSocket::enableReceiveTimestamps() {
  if (fd_ < 0) return UV_EBADF;
  if (!net::enableReceiveTimestamps(fd_)) return uv_translate_sys_error(errno);
  timestamps_ = true;
  return 0;
}

void BatchedUdpSocket::close() {
  // The handles leave epoll as they close (synchronously), so the descriptor may go right after.
  poll_.close();
  prepare_.close();
  check_.close();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  local_.reset();
  queued_.clear();
  bytes_.clear();
  sending_.clear();
  sending_bytes_.clear();
}

void BatchedUdpSocket::queue(const SocketAddress& to, std::string_view data, Sender* sender,
                             std::uint32_t cookie) {
  if (fd_ < 0) return;
  if (queued_.empty()) {
    // Flush before the loop blocks in poll (sends queued by timers and idle handles) and right
    // after it (sends queued by I/O callbacks such as c-ares answers).
    uv_prepare_start(prepare_.get(), [](uv_prepare_t* handle) {
      if (auto* self = static_cast<BatchedUdpSocket*>(handle->data)) self->flush();
    });
    uv_check_start(check_.get(), [](uv_check_t* handle) {
      if (auto* self = static_cast<BatchedUdpSocket*>(handle->data)) self->flush();
    });
  }
  queued_.push_back(Pending{to, bytes_.size(), data.size(), sender, cookie, 0, {}});
  bytes_.append(data);
}

void BatchedUdpSocket::forget(const Sender* sender) {
  for (auto& p : queued_) {
    if (p.sender == sender) p.sender = nullptr;
  }
  for (auto& p : sending_) {
    if (p.sender == sender) p.sender = nullptr;
  }
}

void BatchedUdpSocket::flush() {
  uv_prepare_stop(prepare_.get());
  uv_check_stop(check_.get());
  // Swap, not move: both vectors and strings keep their capacity from one batch to the next.
  std::swap(queued_, sending_);
  std::swap(bytes_, sending_bytes_);
  queued_.clear();
  bytes_.clear();
  std::erase_if(sending_, [](const Pending& p) { return p.sender == nullptr; });

  std::array<mmsghdr, kBatch> messages{};
  std::array<iovec, kBatch> vectors{};
  std::size_t next = 0;
  while (next < sending_.size()) {
    std::size_t count = std::min(kBatch, sending_.size() - next);
    for (std::size_t i = 0; i < count; ++i) {
      Pending& p = sending_[next + i];
      vectors[i] = iovec{sending_bytes_.data() + p.offset, p.length};
      messages[i] = mmsghdr{};
      messages[i].msg_hdr.msg_name = const_cast<sockaddr*>(p.to.get());
      messages[i].msg_hdr.msg_namelen = p.to.length;
      messages[i].msg_hdr.msg_iov = &vectors[i];
      messages[i].msg_hdr.msg_iovlen = 1;
    }
    auto started = nowFrom(clock_);
    int sent = ::sendmmsg(fd_, messages.data(), static_cast<unsigned>(count), 0);
    auto ended = nowFrom(clock_);
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0) {
      // sendmmsg reports an error only for the first datagram of the call; that one failed
      // (EAGAIN with a full send buffer, ENETUNREACH, ...) and the rest are tried again.
      sending_[next].error = uv_translate_sys_error(sent < 0 ? errno : EIO);
      ++next;
      continue;
    }
    for (int i = 0; i < sent; ++i) {
      sending_[next + static_cast<std::size_t>(i)].sent_at = started + (ended - started) * i / sent;
    }
    next += static_cast<std::size_t>(sent);
  }

  std::weak_ptr<int> alive = alive_;
  // Index, not iterator: a callback may forget() (clears entries) or close() (clears the vector).
  // NOLINTNEXTLINE(modernize-loop-convert): see above; a range-for would dangle
  for (std::size_t i = 0; i < sending_.size(); ++i) {
    Sender* sender = std::exchange(sending_[i].sender, nullptr);
    if (sender == nullptr) continue;
    sender->onSent(sending_[i].cookie, sending_[i].error, sending_[i].sent_at);
    if (alive.expired()) return;
  }
  sending_.clear();
  sending_bytes_.clear();
}

void BatchedUdpSocket::noteDrops(msghdr& message) {
  for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
      std::uint32_t total = 0;
      std::memcpy(&total, CMSG_DATA(c), sizeof(total));
      // A 32-bit running total: count what it advanced by, across its wrap.
      dropped_ += static_cast<std::uint32_t>(total - static_cast<std::uint32_t>(dropped_));
    }
  }
}

void BatchedUdpSocket::readAll() {
  Receive& r = *receive_;
  std::weak_ptr<int> alive = alive_;
  // A copy: the callback may close or destroy this socket while it runs.
  ReceiveCallback on_receive = on_receive_;
  for (int read = 0; read < kReadsPerEvent && fd_ >= 0; ++read) {
    for (std::size_t i = 0; i < kBatch; ++i) {
      r.vectors[i] = iovec{r.buffers[i].data(), kMaxDatagram};
      r.messages[i] = mmsghdr{};
      r.messages[i].msg_hdr.msg_name = &r.names[i];
      r.messages[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
      r.messages[i].msg_hdr.msg_iov = &r.vectors[i];
      r.messages[i].msg_hdr.msg_iovlen = 1;
      r.messages[i].msg_hdr.msg_control = r.controls[i].bytes.data();
      r.messages[i].msg_hdr.msg_controllen = r.controls[i].bytes.size();
    }
    int n =
        ::recvmmsg(fd_, r.messages.data(), static_cast<unsigned>(kBatch), MSG_DONTWAIT, nullptr);
    // EAGAIN: drained. Other errors on an unconnected UDP socket are not actionable here.
    if (n <= 0) return;
    // Read once per batch: the stamps' ages are taken against this moment.
    ClockPair clocks;
    if (timestamps_) clocks = ClockPair::now();
    // The count is the socket's running total when the datagram was queued: the last is newest.
    noteDrops(r.messages[static_cast<std::size_t>(n - 1)].msg_hdr);
    for (int i = 0; i < n; ++i) {
      const mmsghdr& m = r.messages[static_cast<std::size_t>(i)];
      if ((m.msg_hdr.msg_flags & MSG_TRUNC) != 0) continue;  // not a probe reply
      auto from = SocketAddress::fromSockaddr(static_cast<const sockaddr*>(m.msg_hdr.msg_name));
      if (!from) continue;
      received_at_.reset();
      if (timestamps_) {
        if (auto stamp = receiveTimestampOf(m.msg_hdr)) received_at_ = steadyTimeOf(*stamp, clocks);
      }
      on_receive(
          std::span<const std::uint8_t>(r.buffers[static_cast<std::size_t>(i)].data(), m.msg_len),
          *from);
      if (alive.expired() || fd_ < 0) return;
    }
    if (static_cast<std::size_t>(n) < kBatch) return;  // the queue is empty: no EAGAIN call
  }
}

}  // namespace mediapath::net
