#include "net/tcp_connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <stdexcept>
#include <string>
#include <utility>

namespace mediapath::net {
namespace {

constexpr std::size_t kReadBufferBytes = 16384;

// A write request owns its bytes until libuv is done with them; it frees itself in its callback,
// which libuv also runs (with UV_ECANCELED) when the handle is closed first.
struct WriteRequest {
  uv_write_t req{};
  std::string data;
};

}  // namespace

TcpConnection::TcpConnection(uv_loop_t* loop, SocketBudget* budget) : budget_(budget) {
  handle_.adopt(uv_tcp_init(loop, handle_.get()), "uv_tcp_init", this);
}

int TcpConnection::connect(const SocketAddress& remote, ConnectCallback callback) {
  if (!handle_.initialized()) return UV_EBADF;
  // connect creates the descriptor: it needs a slot of the socket budget.
  if (!slot_.acquire(budget_)) return UV_EMFILE;
  auto* req = new uv_connect_t{};
  connect_callback_ = std::move(callback);
  int rc = uv_tcp_connect(req, handle_.get(), remote.get(), &TcpConnection::onConnect);
  if (rc != 0) {
    delete req;
    connect_callback_ = nullptr;
  }
  return rc;
}

std::optional<std::chrono::microseconds> TcpConnection::handshakeRtt() const {
  if (!handle_.initialized()) return std::nullopt;
  uv_os_fd_t fd = -1;
  if (uv_fileno(reinterpret_cast<const uv_handle_t*>(handle_.get()), &fd) != 0) {
    return std::nullopt;
  }
  tcp_info info{};
  socklen_t length = sizeof(info);
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0) return std::nullopt;
  // Right after the handshake the smoothed RTT is its one sample (the estimator starts at the
  // first sample). Data acknowledged since then adds samples, so callers ask right away.
  if (info.tcpi_state != TCP_ESTABLISHED || info.tcpi_rtt == 0 || info.tcpi_total_retrans != 0) {
    return std::nullopt;
  }
  return std::chrono::microseconds(info.tcpi_rtt);
}

void TcpConnection::onConnect(uv_connect_t* req, int status) {
  // The handle outlives its requests (libuv cancels them before the close callback frees it),
  // and UvHandle clears `data` when the owner goes away.
  auto* self = static_cast<TcpConnection*>(req->handle->data);
  delete req;
  if (self == nullptr || !self->connect_callback_) return;
  auto cb = std::move(self->connect_callback_);
  self->connect_callback_ = nullptr;
  cb(status);
}

int TcpConnection::write(std::string_view data) {
  if (!handle_.initialized()) return UV_EBADF;
  // Every message on these connections is small and waits for an answer, and the relay probe
  // times a packet stream over them: Nagle would hold a packet back until the previous one is
  // acknowledged (up to a delayed ACK, 40 ms). Set at the first write, not at creation: a tcp
  // probe only connects and closes, and the system call was an eighth of its calls.
  if (!nodelay_) {
    nodelay_ = true;
    (void)uv_tcp_nodelay(handle_.get(), 1);
  }
  auto* w = new WriteRequest{};
  w->data.assign(data);
  uv_buf_t buf = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
  int rc = uv_write(
      &w->req, reinterpret_cast<uv_stream_t*>(handle_.get()), &buf, 1,
      [](uv_write_t* req, int /*status*/) { delete reinterpret_cast<WriteRequest*>(req); });
  if (rc != 0) delete w;
  return rc;
}

int TcpConnection::startRead(ReadCallback callback) {
  if (!handle_.initialized()) return UV_EBADF;
  read_callback_ = std::move(callback);
  if (!buffer_) buffer_ = std::make_unique_for_overwrite<char[]>(kReadBufferBytes);
  return uv_read_start(reinterpret_cast<uv_stream_t*>(handle_.get()), &TcpConnection::onAlloc,
                       &TcpConnection::onRead);
}

std::optional<SocketAddress> TcpConnection::localAddress() const {
  if (!handle_.initialized()) return std::nullopt;
  sockaddr_storage storage{};
  int len = sizeof(storage);
  if (uv_tcp_getsockname(handle_.get(), reinterpret_cast<sockaddr*>(&storage), &len) != 0) {
    return std::nullopt;
  }
  return SocketAddress::fromSockaddr(reinterpret_cast<sockaddr*>(&storage));
}

void TcpConnection::close() {
  connect_callback_ = nullptr;
  read_callback_ = nullptr;
  handle_.close();
  slot_.release();
}

void TcpConnection::onAlloc(uv_handle_t* handle, size_t /*suggested*/, uv_buf_t* buf) {
  auto* self = static_cast<TcpConnection*>(handle->data);
  if (self == nullptr) {
    *buf = uv_buf_init(nullptr, 0);
    return;
  }
  *buf = uv_buf_init(self->buffer_.get(), static_cast<unsigned>(kReadBufferBytes));
}

void TcpConnection::onRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<TcpConnection*>(stream->data);
  if (self == nullptr || nread == 0 || !self->read_callback_) return;
  auto cb = self->read_callback_;
  if (nread < 0) {
    uv_read_stop(stream);
    self->read_callback_ = nullptr;
    cb(static_cast<int>(nread), {});
    return;
  }
  cb(0, std::string_view(buf->base, static_cast<size_t>(nread)));
}

}  // namespace mediapath::net
