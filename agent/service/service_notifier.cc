#include "agent/service/service_notifier.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace mediapath::agent {
namespace {

std::uint64_t monotonicUsec() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000U +
         static_cast<std::uint64_t>(ts.tv_nsec) / 1000U;
}

}  // namespace

ServiceNotifier::ServiceNotifier() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  enabled_ = socket != nullptr && *socket != '\0';
  if (!enabled_) return;
  socket_ = socket;
  // > 0: WATCHDOG_USEC is set and WATCHDOG_PID is either unset or our pid.
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    watchdog_interval_ = std::max(
        std::chrono::milliseconds(1),
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::microseconds(usec / 2)));
  }
}

void ServiceNotifier::send(const std::string& state) {
  if (!enabled_) return;
  int rc = sd_notify(0, state.c_str());
  if (rc < 0 && !send_failure_logged_) {
    // Not fatal: the agent keeps probing; systemd notices a missing READY or WATCHDOG itself.
    // Logged once: the watchdog would otherwise repeat it every few seconds.
    send_failure_logged_ = true;
    spdlog::warn("sd_notify to {} failed: {} (not logged again)", socket_, std::strerror(-rc));
  }
}

void ServiceNotifier::ready() { send("READY=1"); }

void ServiceNotifier::status(const std::string& text) {
  // The notify protocol is newline-separated assignments: a newline would end the line early.
  std::string line = text;
  std::replace(line.begin(), line.end(), '\n', ' ');
  if (line == last_status_) return;
  last_status_ = line;
  send("STATUS=" + line);
}

void ServiceNotifier::watchdog() { send("WATCHDOG=1"); }

void ServiceNotifier::reloading() {
  // MONOTONIC_USEC is required by Type=notify-reload (systemd >= 253) and ignored before.
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(monotonicUsec()));
}

void ServiceNotifier::stopping() { send("STOPPING=1"); }

std::string serviceStatusLine(
    int healthy, int total, const std::vector<std::pair<std::string, std::string>>& group_active) {
  std::string line = std::to_string(healthy) + "/" + std::to_string(total) + " targets healthy";
  for (const auto& [group, active] : group_active) line += "; " + group + ": " + active;
  return line;
}

}  // namespace mediapath::agent
