#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mediapath::testing {

/// A temporary directory removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  /// Writes `content` to file(name) and returns its path.
  std::string write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

enum class SocketType { kUdp, kTcp };

/// A loopback port that was free a moment ago (bound to port 0, then released). Peers started
/// on it may still race with other processes; callers retry on a bind failure.
std::uint16_t freePort(SocketType type = SocketType::kUdp, const char* host = "127.0.0.1");
/// A port free for both UDP and TCP (SIP and TURN listen on both).
std::uint16_t freeUdpTcpPort();

/// A child process started with posix_spawn, stopped by its PID (SIGTERM, then SIGKILL) on
/// destruction. stdout and stderr go to `log_path` when given (the tests print it on failure).
class Subprocess {
 public:
  Subprocess(std::vector<std::string> argv, std::string log_path = {},
             std::map<std::string, std::string> extra_env = {});
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  /// Sends `signal` to the process.
  void signal(int sig) const;
  /// SIGTERM, wait up to `grace`, then SIGKILL. Returns the wait status.
  int stop(std::chrono::milliseconds grace = std::chrono::milliseconds(3000));
  /// Waits for exit up to `timeout`; returns the exit code, or -1 on timeout/signal.
  int wait(std::chrono::milliseconds timeout);
  const std::string& logPath() const { return log_path_; }
  std::string log() const;

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
  std::string log_path_;
};

/// Polls until a TCP connect to host:port succeeds or `timeout` passes.
bool waitForTcpPort(const std::string& host, std::uint16_t port,
                    std::chrono::milliseconds timeout = std::chrono::seconds(10));

/// Runs a command to completion and returns {exit code, combined output}.
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
CommandResult runCommand(const std::vector<std::string>& argv,
                         std::map<std::string, std::string> extra_env = {},
                         std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace mediapath::testing
