#include "net/http_client.h"

#include <arpa/inet.h>
#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <deque>
#include <map>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

#include "net/event_loop.h"
#include "net/text.h"
#include "net/uv_handle.h"

namespace mediapath::net {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

void globalInit() {
  // curl_global_init is not guaranteed thread-safe on every build; once per process is enough.
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      throw std::runtime_error("curl_global_init failed");
    }
  });
}

}  // namespace

void HttpHeaders::add(std::string name, std::string value) {
  fields_.emplace_back(std::move(name), std::move(value));
}

std::optional<std::string> HttpHeaders::get(std::string_view name) const {
  for (const auto& [k, v] : fields_) {
    if (equalsIgnoreCase(k, name)) return v;
  }
  return std::nullopt;
}

struct HttpClient::Impl {
  struct Transfer {
    RequestId id = 0;
    Impl* impl = nullptr;
    CURL* easy = nullptr;
    curl_slist* header_list = nullptr;
    HttpRequest request;
    HttpResponse response;
    HttpCallback callback;
    bool too_large = false;
    char error_buffer[CURL_ERROR_SIZE] = {};

    ~Transfer() {
      if (easy != nullptr) curl_easy_cleanup(easy);
      if (header_list != nullptr) curl_slist_free_all(header_list);
    }
  };

  // One per socket curl asks us to watch.
  struct SocketWatch {
    Impl* impl = nullptr;
    curl_socket_t fd = CURL_SOCKET_BAD;
    UvHandle<uv_poll_t> poll;
    int events = 0;  ///< what curl asked us to watch (UV_READABLE | UV_WRITABLE)
  };

  EventLoop& loop;
  HttpClientOptions options;
  CURLM* multi = nullptr;
  UvHandle<uv_timer_t> timer;
  std::map<RequestId, std::unique_ptr<Transfer>> active;
  // Finished transfers whose callbacks have not run yet (cancel() may still drop them).
  std::deque<std::unique_ptr<Transfer>> finished;
  std::unordered_map<curl_socket_t, std::unique_ptr<SocketWatch>> sockets;
  RequestId next_id = 1;
  // Lets a completion loop notice that a user callback destroyed the client.
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);

  Impl(EventLoop& l, HttpClientOptions o) : loop(l), options(std::move(o)) {
    globalInit();
    multi = curl_multi_init();
    if (multi == nullptr) throw std::runtime_error("curl_multi_init failed");
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, &Impl::onCurlSocket);
    curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, &Impl::onCurlTimer);
    curl_multi_setopt(multi, CURLMOPT_TIMERDATA, this);
    if (int rc = uv_timer_init(loop.get(), timer.get()); rc != 0) {
      curl_multi_cleanup(multi);
      throw std::runtime_error(std::string("uv_timer_init: ") + uv_strerror(rc));
    }
    timer.markInitialized();
    timer.get()->data = this;
  }

  ~Impl() {
    *alive = false;
    for (auto& [id, t] : active) curl_multi_remove_handle(multi, t->easy);
    active.clear();
    finished.clear();
    // May still report sockets of cached connections as removed; the watches are alive here.
    curl_multi_cleanup(multi);
    sockets.clear();
    timer.close();
  }

  static int onCurlSocket(CURL*, curl_socket_t fd, int what, void* userp, void*) {
    auto* self = static_cast<Impl*>(userp);
    if (what == CURL_POLL_REMOVE) {
      self->sockets.erase(fd);
      return 0;
    }
    auto it = self->sockets.find(fd);
    if (it == self->sockets.end()) {
      auto watch = std::make_unique<SocketWatch>();
      watch->impl = self;
      watch->fd = fd;
      if (uv_poll_init_socket(self->loop.get(), watch->poll.get(), fd) != 0) return -1;
      watch->poll.markInitialized();
      watch->poll.get()->data = watch.get();
      it = self->sockets.emplace(fd, std::move(watch)).first;
    }
    int events = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) events |= UV_READABLE;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) events |= UV_WRITABLE;
    it->second->events = events;
    uv_poll_start(it->second->poll.get(), events, &Impl::onPoll);
    return 0;
  }

  static int onCurlTimer(CURLM*, long timeout_ms, void* userp) {
    auto* self = static_cast<Impl*>(userp);
    if (!self->timer.initialized()) return 0;
    if (timeout_ms < 0) {
      uv_timer_stop(self->timer.get());
    } else {
      // 0 means "as soon as possible": the next loop iteration, never re-entrantly.
      uv_timer_start(self->timer.get(), &Impl::onTimer, static_cast<std::uint64_t>(timeout_ms), 0);
    }
    return 0;
  }

  static void onPoll(uv_poll_t* handle, int status, int events) {
    auto* watch = static_cast<SocketWatch*>(handle->data);
    if (watch == nullptr) return;
    int flags = 0;
    if (status < 0) {
      // libuv reports a socket error (a reset: POLLERR) as a status and stops the watch. Handing
      // curl CURL_CSELECT_ERR would make it give up with "select/poll returned error"; letting
      // it read and write instead makes it meet the socket's own error ("Connection reset by
      // peer") and report that. The watch is restarted in case curl still wants the socket.
      uv_poll_start(handle, watch->events, &Impl::onPoll);
      events = watch->events;
    }
    if ((events & UV_READABLE) != 0) flags |= CURL_CSELECT_IN;
    if ((events & UV_WRITABLE) != 0) flags |= CURL_CSELECT_OUT;
    Impl* self = watch->impl;
    int running = 0;
    // `watch` may be freed inside this call (CURL_POLL_REMOVE): use only `self` afterwards.
    curl_multi_socket_action(self->multi, watch->fd, flags, &running);
    self->collectAndDeliver();
  }

  static void onTimer(uv_timer_t* handle) {
    auto* self = static_cast<Impl*>(handle->data);
    if (self == nullptr) return;
    int running = 0;
    curl_multi_socket_action(self->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    self->collectAndDeliver();
  }

  static size_t onBody(char* data, size_t size, size_t count, void* userp) {
    auto* t = static_cast<Transfer*>(userp);
    size_t n = size * count;
    if (t->response.body.size() + n > t->impl->options.max_response_bytes) {
      t->too_large = true;
      return 0;  // makes curl fail the transfer with CURLE_WRITE_ERROR
    }
    t->response.body.append(data, n);
    return n;
  }

  static size_t onHeader(char* data, size_t size, size_t count, void* userp) {
    auto* t = static_cast<Transfer*>(userp);
    size_t n = size * count;
    std::string_view line(data, n);
    if (line.starts_with("HTTP/")) {
      // A new response (after 1xx): only the final one's fields count.
      t->response.headers.clear();
      return n;
    }
    auto colon = line.find(':');
    if (colon != std::string_view::npos) {
      t->response.headers.add(std::string(trim(line.substr(0, colon))),
                              std::string(trim(line.substr(colon + 1))));
    }
    return n;
  }

  // The codes curl uses for a failed handshake or certificate check: one failure kind, one
  // message prefix.
  static bool isTlsError(CURLcode code) {
    switch (code) {
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CONNECT_ERROR:
      case CURLE_SSL_CACERT_BADFILE:
      case CURLE_SSL_CERTPROBLEM:
      case CURLE_SSL_CIPHER:
      case CURLE_SSL_ISSUER_ERROR:
        return true;
      default:
        return false;
    }
  }

  // Whether the transfer died on a connection the peer reset (RST): curl words it "Recv failure:
  // Connection reset by peer" and keeps the errno.
  static bool wasReset(const Transfer& t, CURLcode code) {
    if (code != CURLE_RECV_ERROR && code != CURLE_SEND_ERROR) return false;
    long os_errno = 0;
    curl_easy_getinfo(t.easy, CURLINFO_OS_ERRNO, &os_errno);
    if (os_errno == ECONNRESET || os_errno == EPIPE) return true;
    return std::string_view(t.error_buffer).find("reset") != std::string_view::npos;
  }

  // What happened, in words a human can act on: a reset is "connection reset by peer", not
  // whatever internal step of curl noticed it.
  std::string describeError(const Transfer& t, CURLcode code) const {
    // The error buffer may quote the peer (a TLS alert, a header): escaped like any peer text.
    std::string detail = printable(t.error_buffer[0] != '\0' ? std::string_view(t.error_buffer)
                                                             : curl_easy_strerror(code));
    if (isTlsError(code)) return "TLS: " + detail;
    if (wasReset(t, code)) {
      return t.response.body.empty() && t.response.headers.all().empty()
                 ? "connection reset by peer before any response"
                 : "connection reset by peer mid-response";
    }
    switch (code) {
      case CURLE_OPERATION_TIMEDOUT:
        return "timeout after " + std::to_string(t.request.timeout.count()) + " ms";
      case CURLE_COULDNT_RESOLVE_HOST:
      case CURLE_COULDNT_RESOLVE_PROXY:
        return "DNS: cannot resolve host: " + detail;
      case CURLE_COULDNT_CONNECT:
        return "connection failed: " + detail;
      case CURLE_GOT_NOTHING:
        return "connection closed by the server without a response";
      case CURLE_PARTIAL_FILE:
        return "connection closed mid-response: " + detail;
      case CURLE_RECV_ERROR:
      case CURLE_SEND_ERROR:
        return "connection error: " + detail;
      case CURLE_FILESIZE_EXCEEDED:
        return "response larger than " + std::to_string(options.max_response_bytes) + " bytes";
      case CURLE_WRITE_ERROR:
        if (t.too_large) {
          return "response larger than " + std::to_string(options.max_response_bytes) + " bytes";
        }
        return detail;
      case CURLE_UNSUPPORTED_PROTOCOL:
        return "unsupported URL scheme: " + detail;
      case CURLE_URL_MALFORMAT:
        return "malformed URL: " + detail;
      default:
        return detail;
    }
  }

  static HttpFailure classify(const Transfer& t, CURLcode code) {
    if (isTlsError(code)) return HttpFailure::kTls;
    switch (code) {
      case CURLE_OPERATION_TIMEDOUT:
        return HttpFailure::kTimeout;
      case CURLE_UNSUPPORTED_PROTOCOL:
      case CURLE_URL_MALFORMAT:
        return HttpFailure::kInvalidRequest;
      case CURLE_WRITE_ERROR:
        return t.too_large ? HttpFailure::kTooLarge : HttpFailure::kConnection;
      case CURLE_FILESIZE_EXCEEDED:
        return HttpFailure::kTooLarge;
      default:
        return HttpFailure::kConnection;
    }
  }

  void collectAndDeliver() {
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* easy = msg->easy_handle;
      CURLcode code = msg->data.result;
      char* priv = nullptr;
      curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
      auto* raw = reinterpret_cast<Transfer*>(priv);
      auto it = active.find(raw->id);
      if (it == active.end()) continue;
      std::unique_ptr<Transfer> t = std::move(it->second);
      active.erase(it);
      curl_multi_remove_handle(multi, easy);
      if (code == CURLE_OK) {
        long status = 0;
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        t->response.status = static_cast<int>(status);
      } else {
        t->response.status = 0;
        t->response.error = describeError(*t, code);
        t->response.failure = classify(*t, code);
      }
      finished.push_back(std::move(t));
    }
    deliver();
  }

  void deliver() {
    std::weak_ptr<bool> still_alive = alive;
    while (!finished.empty()) {
      std::unique_ptr<Transfer> t = std::move(finished.front());
      finished.pop_front();
      HttpCallback cb = std::move(t->callback);
      HttpResponse response = std::move(t->response);
      t.reset();
      if (cb) cb(std::move(response));
      // The callback may have destroyed the client: touch nothing of it then.
      if (still_alive.expired()) return;
    }
  }

  RequestId send(HttpRequest request, HttpCallback callback) {
    auto t = std::make_unique<Transfer>();
    t->id = next_id++;
    t->impl = this;
    t->request = std::move(request);
    t->callback = std::move(callback);
    t->easy = curl_easy_init();
    if (t->easy == nullptr) throw std::runtime_error("curl_easy_init failed");
    CURL* e = t->easy;
    const HttpRequest& r = t->request;
    curl_easy_setopt(e, CURLOPT_URL, r.url.c_str());
    curl_easy_setopt(e, CURLOPT_PRIVATE, t.get());
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error_buffer);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    // Verification is not configurable on purpose: an agent that pushes config must not be
    // talked into trusting an impostor.
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!options.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, options.ca_file.c_str());
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(r.timeout.count()));
    curl_easy_setopt(e, CURLOPT_USERAGENT, options.user_agent.c_str());
    // A declared Content-Length beyond the cap is refused before a byte of the body is read; an
    // undeclared (chunked, compressed) one is cut by onBody the moment it passes the cap.
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
                     static_cast<curl_off_t>(options.max_response_bytes));
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Impl::onBody);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Impl::onHeader);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t.get());
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");

    bool with_body =
        !r.body.empty() || r.method == "POST" || r.method == "PUT" || r.method == "PATCH";
    if (r.method == "GET" && !with_body) {
      curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else if (r.method == "HEAD") {
      curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else {
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r.method.c_str());
      if (with_body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, r.body.data());
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
      }
    }
    // "Expect: 100-continue" would add a round trip (or a 1 s wait) to every larger body.
    t->header_list = curl_slist_append(t->header_list, "Expect:");
    for (const auto& [name, value] : r.headers) {
      std::string line = name + ": " + value;
      t->header_list = curl_slist_append(t->header_list, line.c_str());
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->header_list);

    RequestId id = t->id;
    Transfer* raw = t.get();
    active.emplace(id, std::move(t));
    if (CURLMcode mc = curl_multi_add_handle(multi, raw->easy); mc != CURLM_OK) {
      // Report it through the loop like every other failure (never from inside send()).
      raw->response.error = std::string("cannot start request: ") + curl_multi_strerror(mc);
      raw->response.failure = HttpFailure::kInvalidRequest;
      finished.push_back(std::move(active[id]));
      active.erase(id);
      uv_timer_start(timer.get(), &Impl::onTimer, 0, 0);
    }
    return id;
  }

  void cancel(RequestId id) {
    if (auto it = active.find(id); it != active.end()) {
      curl_multi_remove_handle(multi, it->second->easy);
      active.erase(it);
      return;
    }
    std::erase_if(finished, [id](const auto& t) { return t->id == id; });
  }

  void cancelAll() {
    for (auto& [id, t] : active) curl_multi_remove_handle(multi, t->easy);
    active.clear();
    finished.clear();
  }
};

HttpClient::HttpClient(EventLoop& loop, HttpClientOptions options)
    : impl_(std::make_unique<Impl>(loop, std::move(options))) {}

HttpClient::~HttpClient() = default;

HttpClient::RequestId HttpClient::send(HttpRequest request, HttpCallback callback) {
  return impl_->send(std::move(request), std::move(callback));
}

void HttpClient::cancel(RequestId id) { impl_->cancel(id); }

void HttpClient::cancelAll() { impl_->cancelAll(); }

std::size_t HttpClient::pending() const { return impl_->active.size() + impl_->finished.size(); }

bool isLoopbackHost(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (equalsIgnoreCase(host, "localhost")) return true;
  std::string h(host);
  in_addr v4{};
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, h.c_str(), &v6) == 1) {
    return IN6_IS_ADDR_LOOPBACK(&v6) != 0;
  }
  return false;
}

std::optional<UrlParts> parseUrl(const std::string& url) {
  globalInit();
  CURLU* u = curl_url();
  if (u == nullptr) return std::nullopt;
  std::optional<UrlParts> out;
  if (curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK) {
    char* scheme = nullptr;
    char* host = nullptr;
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
      out = UrlParts{scheme, host};
    }
    curl_free(scheme);
    curl_free(host);
  }
  curl_url_cleanup(u);
  return out;
}

}  // namespace mediapath::net
