#include "net/tls_connection.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdint>
#include <ctime>
#include <map>
#include <mutex>
#include <utility>

#include "net/text.h"

namespace mediapath::net {
namespace {

// What the peer may make us hold before the reader takes it (TLS records are at most 16 KiB of
// plaintext; a handshake's certificate list is capped by OpenSSL at 100 KiB).
constexpr std::size_t kMaxUnreadBytes = std::size_t{64} * 1024;
// A CA file is read once per content; a handful of distinct files is the normal case.
constexpr std::size_t kMaxCachedContexts = 32;

std::string lastSslError() {
  unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  if (code == 0) return {};
  const char* reason = ERR_reason_error_string(code);
  if (reason != nullptr) return reason;
  return "OpenSSL error " + std::to_string(ERR_GET_REASON(code));
}

struct CacheEntry {
  off_t size = 0;
  std::int64_t mtime_ns = 0;
  std::shared_ptr<const TlsClientContext> context;
};

}  // namespace

TlsClientContext::~TlsClientContext() { SSL_CTX_free(ctx_); }

std::shared_ptr<const TlsClientContext> TlsClientContext::forCaFile(const std::string& ca_file,
                                                                    std::string& error) {
  // Probes on several loops may ask at once; making a context (reading the system CA store) is
  // the slow part, and happens once per CA file content.
  static std::mutex mutex;
  static std::map<std::string, CacheEntry> cache;

  CacheEntry fresh;
  if (!ca_file.empty()) {
    struct stat st {};
    if (::stat(ca_file.c_str(), &st) != 0) {
      error = "TLS: cannot load ca_file \"" + printable(ca_file) + "\": file not found";
      return nullptr;
    }
    fresh.size = st.st_size;
    fresh.mtime_ns = std::int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  }
  std::lock_guard lock(mutex);
  if (auto it = cache.find(ca_file);
      it != cache.end() && it->second.size == fresh.size && it->second.mtime_ns == fresh.mtime_ns) {
    return it->second.context;
  }

  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) {
    error = "TLS: cannot create a context: " + lastSslError();
    return nullptr;
  }
  std::shared_ptr<const TlsClientContext> context(new TlsClientContext(ctx));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  // A missing system store is not an error by itself: ca_file may be all the target needs.
  SSL_CTX_set_default_verify_paths(ctx);
  ERR_clear_error();
  if (!ca_file.empty() && SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr) != 1) {
    std::string why = lastSslError();
    error = "TLS: cannot load ca_file \"" + printable(ca_file) + "\"" +
            (why.empty() ? std::string() : ": " + why);
    return nullptr;
  }
  if (cache.size() >= kMaxCachedContexts) cache.clear();
  fresh.context = context;
  cache[ca_file] = std::move(fresh);
  return context;
}

TlsConnection::TlsConnection(uv_loop_t* loop, Options options, SocketBudget* budget)
    : options_(std::move(options)), tcp_(loop, budget), defer_(loop) {}

TlsConnection::~TlsConnection() {
  *alive_ = false;
  SSL_free(ssl_);  // frees both BIOs
}

int TlsConnection::connect(const SocketAddress& remote, ConnectCallback callback) {
  if (state_ != State::kIdle) return UV_EALREADY;
  if (options_.server_name.empty()) {
    failure_ = "TLS: no server name to check the certificate against";
    return UV_EINVAL;
  }
  context_ = TlsClientContext::forCaFile(options_.ca_file, failure_);
  if (!context_) return UV_EINVAL;

  ERR_clear_error();
  ssl_ = SSL_new(context_->get());
  network_in_ = BIO_new(BIO_s_mem());
  network_out_ = BIO_new(BIO_s_mem());
  if (ssl_ == nullptr || network_in_ == nullptr || network_out_ == nullptr) {
    BIO_free(network_in_);
    BIO_free(network_out_);
    network_in_ = network_out_ = nullptr;
    failure_ = "TLS: out of memory";
    return UV_ENOMEM;
  }
  // An empty memory BIO means "no data yet", not end of file.
  BIO_set_mem_eof_return(network_in_, -1);
  SSL_set_bio(ssl_, network_in_, network_out_);
  SSL_set_connect_state(ssl_);

  X509_VERIFY_PARAM* param = SSL_get0_param(ssl_);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  std::string name = options_.server_name;
  if (name.size() > 2 && name.front() == '[' && name.back() == ']') {
    name = name.substr(1, name.size() - 2);
  }
  int named = 0;
  if (isIpLiteral(name)) {
    named = X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
  } else {
    named = X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
    // SSL_set_tlsext_host_name without its C cast.
    if (named == 1) {
      named =
          static_cast<int>(SSL_ctrl(ssl_, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                                    static_cast<void*>(name.data())));
    }
  }
  if (named != 1) {
    failure_ = "TLS: cannot use server name '" + printable(options_.server_name, 128) + "'";
    ERR_clear_error();
    return UV_EINVAL;
  }

  int rc = tcp_.connect(remote, [this](int status) { onTcpConnected(status); });
  if (rc != 0) return rc;
  connect_callback_ = std::move(callback);
  state_ = State::kConnecting;
  return 0;
}

void TlsConnection::onTcpConnected(int status) {
  if (status != 0) {
    fail(status, {});
    return;
  }
  state_ = State::kHandshaking;
  int rc = tcp_.startRead([this](int error, std::string_view data) { onTcpData(error, data); });
  if (rc != 0) {
    fail(rc, {});
    return;
  }
  continueHandshake();
}

void TlsConnection::continueHandshake() {
  ERR_clear_error();
  int rc = SSL_do_handshake(ssl_);
  int ssl_error = rc == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl_, rc);
  // Whatever the outcome, OpenSSL may have a record to send (ClientHello, Finished, an alert).
  if (!flush()) return;
  if (ssl_error == SSL_ERROR_WANT_READ) return;
  if (ssl_error != SSL_ERROR_NONE) {
    fail(UV_EPROTO, handshakeFailureText(ssl_error));
    return;
  }
  if (const X509* leaf = SSL_get0_peer_certificate(ssl_)) {
    std::tm tm{};
    if (ASN1_TIME_to_tm(X509_get0_notAfter(leaf), &tm) == 1) {
      not_after_ = std::chrono::system_clock::from_time_t(timegm(&tm));
    }
  }
  state_ = State::kOpen;
  auto cb = std::move(connect_callback_);
  connect_callback_ = nullptr;
  std::weak_ptr<bool> alive = alive_;
  if (cb) cb(0);
  // Application data may have come with the handshake's last flight.
  if (!alive.expired() && *alive_ && state_ == State::kOpen && read_callback_) drain();
}

std::string TlsConnection::handshakeFailureText(int ssl_error) {
  long verify = SSL_get_verify_result(ssl_);
  if (verify != X509_V_OK) {
    ERR_clear_error();
    switch (verify) {
      case X509_V_ERR_CERT_HAS_EXPIRED:
        return "TLS: certificate has expired";
      case X509_V_ERR_CERT_NOT_YET_VALID:
        return "TLS: certificate is not yet valid";
      case X509_V_ERR_HOSTNAME_MISMATCH:
      case X509_V_ERR_IP_ADDRESS_MISMATCH:
        return "TLS: certificate does not match server name '" +
               printable(options_.server_name, 128) + "'";
      case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
      case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
      case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
      case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      case X509_V_ERR_CERT_UNTRUSTED:
        return std::string("TLS: certificate not trusted (") +
               X509_verify_cert_error_string(verify) + ")";
      default:
        return std::string("TLS: certificate rejected (") + X509_verify_cert_error_string(verify) +
               ")";
    }
  }
  std::string why = lastSslError();
  if (why.empty()) {
    why = ssl_error == SSL_ERROR_SYSCALL || ssl_error == SSL_ERROR_ZERO_RETURN
              ? "connection closed by the server"
              : "failed";
  }
  // OpenSSL's reason strings are its own fixed texts, never the peer's bytes.
  return "TLS handshake: " + why;
}

void TlsConnection::onTcpData(int error, std::string_view data) {
  if (error != 0) {
    if (state_ == State::kHandshaking) {
      fail(error == UV_EOF ? UV_EPROTO : error,
           error == UV_EOF ? "TLS handshake: connection closed by the server" : std::string());
    } else {
      fail(error, {});
    }
    return;
  }
  if (!data.empty() && BIO_write(network_in_, data.data(), static_cast<int>(data.size())) !=
                           static_cast<int>(data.size())) {
    fail(UV_ENOMEM, "TLS: out of memory");
    return;
  }
  if (state_ == State::kHandshaking) {
    continueHandshake();
    return;
  }
  if (state_ != State::kOpen) return;
  if (read_callback_) {
    drain();
  } else if (BIO_ctrl_pending(network_in_) > kMaxUnreadBytes) {
    fail(UV_ENOBUFS, "TLS: the server sent more than " + std::to_string(kMaxUnreadBytes) +
                         " bytes nobody asked for");
  }
}

void TlsConnection::drain() {
  std::weak_ptr<bool> alive = alive_;
  char buffer[16384];
  while (state_ == State::kOpen && read_callback_) {
    ERR_clear_error();
    int n = SSL_read(ssl_, buffer, sizeof(buffer));
    if (n > 0) {
      auto cb = read_callback_;
      cb(0, std::string_view(buffer, static_cast<std::size_t>(n)));
      if (alive.expired() || !*alive.lock()) return;
      continue;
    }
    int ssl_error = SSL_get_error(ssl_, n);
    // Reading may need a write (a TLS 1.3 KeyUpdate answer).
    if (!flush()) return;
    if (ssl_error == SSL_ERROR_WANT_READ) return;
    if (ssl_error == SSL_ERROR_ZERO_RETURN) {
      fail(UV_EOF, {});
    } else {
      std::string why = lastSslError();
      fail(UV_EPROTO, "TLS: " + (why.empty() ? std::string("connection failed") : why));
    }
    return;
  }
}

int TlsConnection::sendPending() {
  char* bytes = nullptr;
  long pending = BIO_get_mem_data(network_out_, &bytes);
  if (pending <= 0) return 0;
  int rc = tcp_.write(std::string_view(bytes, static_cast<std::size_t>(pending)));
  (void)BIO_reset(network_out_);
  return rc;
}

bool TlsConnection::flush() {
  int rc = sendPending();
  if (rc != 0) {
    fail(rc, {});
    return false;
  }
  return true;
}

void TlsConnection::fail(int status, std::string text) {
  failure_ = std::move(text);
  bool connecting = state_ == State::kConnecting || state_ == State::kHandshaking;
  auto connect_cb = std::move(connect_callback_);
  auto read_cb = std::move(read_callback_);
  connect_callback_ = nullptr;
  read_callback_ = nullptr;
  defer_.stop();
  tcp_.close();
  state_ = State::kClosed;
  if (connecting) {
    if (connect_cb) connect_cb(status);
  } else if (read_cb) {
    read_cb(status, {});
  }
}

int TlsConnection::write(std::string_view data) {
  if (state_ != State::kOpen) return UV_ENOTCONN;
  if (data.empty()) return 0;
  ERR_clear_error();
  // Memory BIOs take everything: SSL_write encrypts all of it or fails.
  int n = SSL_write(ssl_, data.data(), static_cast<int>(data.size()));
  if (n <= 0) {
    failure_ = "TLS: " + lastSslError();
    return UV_EPROTO;
  }
  return sendPending();
}

int TlsConnection::startRead(ReadCallback callback) {
  if (state_ != State::kOpen && state_ != State::kHandshaking && state_ != State::kConnecting) {
    return UV_ENOTCONN;
  }
  read_callback_ = std::move(callback);
  // Bytes that came before the reader wait in the read BIO: hand them over from the loop, as a
  // read would, never inside this call.
  if (state_ == State::kOpen && BIO_ctrl_pending(network_in_) > 0) {
    defer_.start([this] {
      if (state_ == State::kOpen) drain();
    });
  }
  return 0;
}

std::optional<SocketAddress> TlsConnection::localAddress() const { return tcp_.localAddress(); }

void TlsConnection::close() {
  connect_callback_ = nullptr;
  read_callback_ = nullptr;
  defer_.stop();
  tcp_.close();
  state_ = State::kClosed;
  *alive_ = false;
}

std::string TlsConnection::tlsVersion() const {
  if (ssl_ == nullptr || state_ != State::kOpen) return {};
  return SSL_get_version(ssl_);
}

}  // namespace mediapath::net
