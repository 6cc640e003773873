#include "reporter/metrics/metrics_server.h"

#include <CivetServer.h>
#include <civetweb.h>
#include <prometheus/exposer.h>
#include <prometheus/registry.h>

#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "reporter/metrics/metrics.h"

namespace mediapath::reporter {
namespace {

// prometheus-cpp owns the civetweb server and offers no way to add handlers, but it passes our
// CivetCallbacks through. begin_request sees every request first; it can only find its page
// handler by the listening port, hence this process-wide table.
// NOLINTBEGIN(cppcoreguidelines-avoid-non-const-global-variables): the table above; mutable
// because servers register and unregister at run time.
std::mutex g_handlers_mutex;
std::map<int, std::shared_ptr<PageHandler>> g_handlers;
// NOLINTEND(cppcoreguidelines-avoid-non-const-global-variables)

std::shared_ptr<PageHandler> handlerForPort(int port) {
  std::lock_guard lock(g_handlers_mutex);
  auto it = g_handlers.find(port);
  return it == g_handlers.end() ? nullptr : it->second;
}

const char* reasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 503:
      return "Service Unavailable";
    default:
      return status < 400 ? "OK" : "Error";
  }
}

int beginRequest(mg_connection* conn) {
  const mg_request_info* info = mg_get_request_info(conn);
  std::string path = info->local_uri != nullptr ? info->local_uri : "/";
  if (path == "/metrics") return 0;  // let the exposer serve it

  std::optional<HttpReply> reply;
  std::string method = info->request_method != nullptr ? info->request_method : "";
  if (method != "GET" && method != "HEAD") {
    reply = HttpReply{405, "text/plain; charset=utf-8", "method not allowed\n"};
  } else if (auto handler = handlerForPort(info->server_port); handler && *handler) {
    reply = (*handler)(path);
  }
  if (!reply) reply = HttpReply{404, "text/plain; charset=utf-8", "not found\n"};
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
            reply->status, reasonPhrase(reply->status), reply->content_type.c_str(),
            reply->body.size());
  if (method != "HEAD") mg_write(conn, reply->body.data(), reply->body.size());
  return reply->status;  // non-zero: handled here (civetweb logs the value as the status)
}

// civetweb options (see kHttpSlowClientsTolerated). prometheus-cpp's (address, threads)
// constructor sets only the first two, leaving civetweb's 30 s request timeout: two idle sockets
// took down the endpoint with its two threads.
std::vector<std::string> exposerOptions(const std::string& listen) {
  return {"listening_ports",    listen,
          "num_threads",        std::to_string(kHttpWorkerThreads),
          "request_timeout_ms", std::to_string(kHttpRequestTimeout.count()),
          "enable_keep_alive",  "no"};
}

}  // namespace

struct MetricsServer::Impl {
  CivetCallbacks callbacks;
  std::unique_ptr<prometheus::Exposer> exposer;
};

MetricsServer::MetricsServer(const std::string& listen, const Metrics& metrics, PageHandler pages)
    : impl_(std::make_unique<Impl>()) {
  impl_->callbacks.begin_request = &beginRequest;
  try {
    impl_->exposer =
        std::make_unique<prometheus::Exposer>(exposerOptions(listen), &impl_->callbacks);
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot listen on " + listen + ": " + e.what());
  }
  auto ports = impl_->exposer->GetListeningPorts();
  if (ports.empty()) throw std::runtime_error("cannot listen on " + listen);
  port_ = ports.front();
  impl_->exposer->RegisterCollectable(metrics.registry());
  std::lock_guard lock(g_handlers_mutex);
  g_handlers[port_] = std::make_shared<PageHandler>(std::move(pages));
}

MetricsServer::~MetricsServer() {
  {
    std::lock_guard lock(g_handlers_mutex);
    g_handlers.erase(port_);
  }
  impl_->exposer.reset();  // joins the worker threads
}

}  // namespace mediapath::reporter
