#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mediapath::agent {

/// Tells systemd (Type=notify) how the agent is doing, through sd_notify(3): READY=1 once it
/// serves, STATUS= lines for `systemctl status`, WATCHDOG=1 keep-alives, RELOADING=1/READY=1
/// around a reload and STOPPING=1 on the way out.
///
/// Outside systemd (NOTIFY_SOCKET unset: a terminal, a test, another supervisor) every call is a
/// no-op and watchdogInterval() is empty, so callers need no "am I a service?" branches.
///
/// Thread safety: none; owned by the loop thread (the watchdog must be pinged from the loop, so
/// that a stuck loop stops the pings and systemd restarts the agent).
class ServiceNotifier {
 public:
  /// Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID once. The variables stay in the
  /// environment (child processes of the agent are not started, so nothing inherits them).
  ServiceNotifier();

  /// Whether a service manager listens (NOTIFY_SOCKET is set).
  bool enabled() const { return enabled_; }

  /// How often to call watchdog(): half of WatchdogSec=, as sd_watchdog_enabled(3) advises.
  /// Empty when the watchdog is off, or meant for another process (WATCHDOG_PID), or nobody
  /// listens.
  std::optional<std::chrono::milliseconds> watchdogInterval() const { return watchdog_interval_; }

  void ready();                          ///< READY=1 (also ends a reload)
  void status(const std::string& text);  ///< STATUS=text, only when it differs from the last one
  void watchdog();                       ///< WATCHDOG=1
  void reloading();                      ///< RELOADING=1 (call ready() when the reload is done)
  void stopping();                       ///< STOPPING=1
  const std::string& lastStatus() const { return last_status_; }

 private:
  void send(const std::string& state);

  bool enabled_ = false;
  std::string socket_;  // NOTIFY_SOCKET, for the log
  std::optional<std::chrono::milliseconds> watchdog_interval_;
  std::string last_status_;
  bool send_failure_logged_ = false;
};

/// The STATUS= line: "5/6 targets healthy; media-proxy: proxy-b" — the healthy count, then the
/// active candidate of every failover group in config order.
std::string serviceStatusLine(int healthy, int total,
                              const std::vector<std::pair<std::string, std::string>>& group_active);

}  // namespace mediapath::agent
