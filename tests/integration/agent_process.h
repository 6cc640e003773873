#pragma once

// The built agent run as a service would run it (`mediapath-agent run`), for integration tests:
// started with --listen 127.0.0.1:0, its HTTP port read from its log, stopped by PID.

#include <signal.h>

#include <chrono>
#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/run_until.h"

namespace mediapath::testing {

/// GET with curl; {HTTP status (0 when nothing answered), body}.
inline std::pair<int, std::string> httpGet(const std::string& url) {
  auto r = runCommand({"curl", "-s", "-m", "5", "-w", "\n%{http_code}", url});
  auto nl = r.output.rfind('\n');
  if (nl == std::string::npos) return {0, ""};
  int status = std::atoi(r.output.substr(nl + 1).c_str());
  return {status, r.output.substr(0, nl)};
}

class AgentProcess {
 public:
  AgentProcess(const TempDir& dir, const std::string& config, const std::string& state_dir,
               std::map<std::string, std::string> env, std::vector<std::string> extra_args = {},
               const std::string& log_name = "agent.log") {
    std::vector<std::string> argv{MEDIAPATH_AGENT_BINARY, "run",     "--config", config,
                                  "--state-dir",          state_dir, "--listen", "127.0.0.1:0"};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    process_ = std::make_unique<Subprocess>(argv, dir.file(log_name), std::move(env));
    // No std::regex: GCC 12 at -O2 with ASan warns (falsely) inside <regex>, and CI uses -Werror.
    const std::string marker = "listening on http://127.0.0.1:";
    bool up = waitUntil(
        [&] {
          std::string log = process_->log();
          if (auto at = log.find(marker); at != std::string::npos) {
            port_ = std::atoi(log.c_str() + at + marker.size());
          }
          return port_ != 0 || !process_->running();
        },
        std::chrono::seconds(20));
    if (!up || port_ == 0) throw std::runtime_error("agent did not start:\n" + process_->log());
  }

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int port() const { return port_; }
  pid_t pid() const { return process_->pid(); }
  std::string log() const { return process_->log(); }
  bool running() { return process_->running(); }
  void signal(int sig) { process_->signal(sig); }
  /// SIGTERM and wait; returns the exit code (-1 when killed or still running).
  int stop() {
    process_->signal(SIGTERM);
    return process_->wait(std::chrono::seconds(20));
  }
  void kill9() {
    process_->signal(SIGKILL);
    process_->wait(std::chrono::seconds(5));
  }

  bool ready() const { return httpGet(url("/-/ready")).first == 200; }
  std::string metrics() const { return httpGet(url("/metrics")).second; }

  /// The value of one series, e.g. `mediapath_failover_panic{group="g"}`; nullopt when absent.
  std::optional<double> metric(const std::string& series) const {
    std::string text = metrics();
    auto pos = text.find("\n" + series + " ");
    if (pos == std::string::npos) return std::nullopt;
    pos += series.size() + 2;
    return std::strtod(text.c_str() + pos, nullptr);
  }

 private:
  std::unique_ptr<Subprocess> process_;
  int port_ = 0;
};

}  // namespace mediapath::testing
