#pragma once

#include <memory>
#include <string>

#include "agent/config/config.h"

namespace mediapath::agent {

inline constexpr const char* kDefaultListen = "127.0.0.1:9464";

struct RunOptions {
  std::string config_path;
  std::string listen = kDefaultListen;
  std::string state_dir;
  bool plan_only = false;  ///< --plan: record failover decisions, never send them
};

/// The running agent (`mediapath-agent run`). Start-up is a list of named steps
/// (AgentRuntime::Impl::kStartSteps), in this order:
///  1. read the secrets and plan the targets: a missing secret fails before anything listens;
///  2. raise the open-file limit and size the probes' socket budget from it;
///  3. listen for scrapes: a busy port fails start-up before any probing;
///  4. start probing and failover: every target's and group's series and status-board row are
///     made before the first round, so no series has a gap; /-/ready turns 200 once every target
///     has finished its first round;
///  5. the heartbeat (/healthz) and the systemd watchdog;
///  6. signals: SIGTERM/SIGINT stop cleanly, SIGHUP reloads the config file.
///
/// Thread safety: run() owns the calling thread until shutdown; the HTTP endpoint's threads read
/// only the thread-safe StatusBoard, Metrics and heartbeat.
class AgentRuntime {
 public:
  AgentRuntime(RunOptions options, Config config);
  ~AgentRuntime();
  AgentRuntime(const AgentRuntime&) = delete;
  AgentRuntime& operator=(const AgentRuntime&) = delete;

  /// Runs until SIGTERM/SIGINT. Returns the process exit code. Throws std::runtime_error when
  /// start-up fails (the listen address is busy, a secret is missing).
  int run();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mediapath::agent
