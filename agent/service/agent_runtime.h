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

/// The running agent (`mediapath-agent run`). Startup, in this order:
///  1. metrics and status board are built from the config, so every series exists before the
///     HTTP endpoint can be scraped;
///  2. the HTTP endpoint starts listening (a busy port fails start-up before any probing);
///  3. the resolver and scheduler start probing; /-/ready turns 200 once every target has
///     finished its first round;
///  4. signals: SIGTERM/SIGINT stop cleanly, SIGHUP reloads the config file.
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
