#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace mediapath::reporter {

class Metrics;

struct HttpReply {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

/// What the endpoint withstands (issue #19). civetweb gives a connection one worker thread from
/// accept until its request is answered, so a client that connects and sends nothing, or sends
/// its request a byte a second (slowloris), holds a worker. With kHttpWorkerThreads workers,
/// kHttpSlowClientsTolerated such clients leave the rest free for scrapes, /healthz and the
/// status page; each is cut off kHttpRequestTimeout after it connected (whole request, not per
/// read), and a connection is closed after each response (no keep-alive to hold a worker idle).
/// More slow clients than that delay a scrape by at most about kHttpRequestTimeout per
/// kHttpWorkerThreads clients queued before it.
inline constexpr int kHttpSlowClientsTolerated = 32;
inline constexpr int kHttpWorkerThreads = kHttpSlowClientsTolerated + 16;
inline constexpr std::chrono::milliseconds kHttpRequestTimeout{5000};

/// Answers every path other than /metrics; nullopt means 404.
using PageHandler = std::function<std::optional<HttpReply>(const std::string& path)>;

/// The agent's HTTP endpoint: prometheus-cpp's pull exposer serves /metrics, and `pages` answers
/// the other paths (status page, /healthz, /-/ready) on the same port.
///
/// Thread safety: construct and destroy on one thread. `pages` runs on the exposer's worker
/// threads, concurrently with everything else, so it must only read thread-safe state.
class MetricsServer {
 public:
  /// listen: "HOST:PORT"; port 0 picks a free one (see port()). Throws std::runtime_error naming
  /// the address when it cannot listen.
  MetricsServer(const std::string& listen, const Metrics& metrics, PageHandler pages);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  int port() const { return port_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace mediapath::reporter
