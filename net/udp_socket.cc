#include "net/udp_socket.h"

#include <linux/sockios.h>
#include <sys/ioctl.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "net/kernel_timestamp.h"

namespace mediapath::net {

std::string uvErrorText(int error) {
  switch (error) {
    case UV_ECONNREFUSED:
      return "connection refused";
    case UV_ETIMEDOUT:
      return "connection timed out";
    case UV_ENETUNREACH:
      return "network unreachable";
    case UV_EHOSTUNREACH:
      return "host unreachable";
    case UV_ECONNRESET:
      return "connection reset";
    case UV_EOF:
      return "connection closed by peer";
    default:
      return uv_strerror(error);
  }
}

UdpSocket::UdpSocket(uv_loop_t* loop, SocketBudget* budget) : budget_(budget) {
  handle_.adopt(uv_udp_init(loop, handle_.get()), "uv_udp_init", this);
}

int UdpSocket::bind(const SocketAddress& local) {
  if (!handle_.initialized()) return UV_EBADF;
  // bind creates the descriptor: it needs a slot of the socket budget.
  if (!slot_.acquire(budget_)) return UV_EMFILE;
  return uv_udp_bind(handle_.get(), local.get(), 0);
}

std::optional<SocketAddress> UdpSocket::localAddress() const {
  if (!handle_.initialized()) return std::nullopt;
  sockaddr_storage storage{};
  int len = sizeof(storage);
  if (uv_udp_getsockname(handle_.get(), reinterpret_cast<sockaddr*>(&storage), &len) != 0) {
    return std::nullopt;
  }
  return SocketAddress::fromSockaddr(reinterpret_cast<sockaddr*>(&storage));
}

int UdpSocket::connect(const SocketAddress& remote) {
  if (!handle_.initialized()) return UV_EBADF;
  int rc = uv_udp_connect(handle_.get(), remote.get());
  if (rc == 0) peer_ = remote;
  return rc;
}

int UdpSocket::send(const SocketAddress& to, std::span<const std::uint8_t> data) {
  if (!handle_.initialized()) return UV_EBADF;
  if (peer_ && !(to == *peer_)) return UV_EISCONN;
  // libuv takes non-const buffers but does not write to them.
  uv_buf_t buf = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(data.data())),
                             static_cast<unsigned>(data.size()));
  int rc = uv_udp_try_send(handle_.get(), &buf, 1, peer_ ? nullptr : to.get());
  return rc < 0 ? rc : 0;
}

int UdpSocket::send(const SocketAddress& to, std::string_view data) {
  return send(to, std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(data.data()),
                                                data.size()));
}

int UdpSocket::startReceive(ReceiveCallback callback, ErrorCallback on_error) {
  if (!handle_.initialized()) return UV_EBADF;
  callback_ = std::move(callback);
  on_error_ = std::move(on_error);
  return uv_udp_recv_start(handle_.get(), &UdpSocket::onAlloc, &UdpSocket::onReceive);
}

int UdpSocket::enableReceiveTimestamps() {
  if (!handle_.initialized()) return UV_EBADF;
  uv_os_fd_t fd = -1;
  if (int rc = uv_fileno(reinterpret_cast<uv_handle_t*>(handle_.get()), &fd); rc != 0) return rc;
  // libuv reads with recvmsg() and no control buffer (and uv_udp_recv_cb has no place for one),
  // so the stamp is asked for with SIOCGSTAMPNS right after each read: the kernel keeps the last
  // read datagram's stamp. The first ask turns stamping on (SOCK_TIMESTAMP); it fails with
  // ENOENT as nothing was read yet.
  timespec stamp{};
  ::ioctl(fd, SIOCGSTAMPNS, &stamp);
  timestamps_ = true;
  return 0;
}

void UdpSocket::stopReceive() {
  if (handle_.initialized()) uv_udp_recv_stop(handle_.get());
  callback_ = nullptr;
  on_error_ = nullptr;
}

void UdpSocket::close() {
  callback_ = nullptr;
  on_error_ = nullptr;
  handle_.close();
  slot_.release();
}

void UdpSocket::onAlloc(uv_handle_t* handle, size_t /*suggested*/, uv_buf_t* buf) {
  auto* self = static_cast<UdpSocket*>(handle->data);
  if (self == nullptr) {
    *buf = uv_buf_init(nullptr, 0);
    return;
  }
  // One receive buffer per loop thread, shared by every socket: libuv reads one datagram at a
  // time and onReceive hands it to the callback synchronously, so no two reads overlap. A
  // buffer per socket cost 64 KiB zeroed for every probe request (sockets live for one round).
  // Heap, not a thread_local array: static TLS is carved out of every thread's stack, and the
  // HTTP endpoint's worker threads have small ones.
  thread_local std::unique_ptr<std::array<char, 65536>> buffer;
  if (!buffer) buffer = std::make_unique<std::array<char, 65536>>();
  *buf = uv_buf_init(buffer->data(), static_cast<unsigned>(buffer->size()));
}

void UdpSocket::onReceive(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf,
                          const sockaddr* addr, unsigned /*flags*/) {
  auto* self = static_cast<UdpSocket*>(handle->data);
  // An error: ICMP about the peer of a connected socket (an unconnected one is not told).
  if (self != nullptr && nread < 0 && self->on_error_) {
    auto on_error = self->on_error_;  // may destroy the socket
    on_error(static_cast<int>(nread));
    return;
  }
  // nread == 0 with addr == nullptr means "nothing more to read".
  if (self == nullptr || nread <= 0 || addr == nullptr || !self->callback_) return;
  auto from = SocketAddress::fromSockaddr(addr);
  if (!from) return;
  self->received_at_.reset();
  uv_os_fd_t fd = -1;
  timespec stamp{};
  // libuv reads one datagram and calls back before reading the next (no UV_UDP_RECVMMSG), so
  // the socket's last stamp is this datagram's.
  if (self->timestamps_ && uv_fileno(reinterpret_cast<uv_handle_t*>(handle), &fd) == 0 &&
      ::ioctl(fd, SIOCGSTAMPNS, &stamp) == 0) {
    self->received_at_ = steadyTimeOf(stamp, ClockPair::now());
  }
  // Copy: the callback may stop receiving or destroy the socket while running.
  auto cb = self->callback_;
  cb(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(buf->base),
                                   static_cast<size_t>(nread)),
     *from);
}

}  // namespace mediapath::net
