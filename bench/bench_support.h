#pragma once

// Small helpers shared by the benchmark programs: child processes, /proc figures, percentiles.
// (Benchmarks build without the test tree, so they do not use tests/support.)

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace mediapath::net {
class EventLoop;
}

namespace mediapath::bench {

/// A child process started with posix_spawnp; SIGTERM then SIGKILL by PID on destruction.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::string& log_path);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  pid_t pid() const { return pid_; }
  bool running();

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
};

/// A fresh temporary directory (not removed: the logs stay for a look after a bad run).
std::string makeTempDir(const std::string& prefix);
/// Waits for a file holding a port number; 0 on timeout.
std::uint16_t waitForPortFile(const std::string& path, std::chrono::milliseconds timeout);
/// A loopback UDP port that was free a moment ago.
std::uint16_t freeUdpPort();
/// A loopback port free for both UDP and TCP right now (coturn listens on both).
std::uint16_t freeUdpTcpPort();

/// CPU time (user + system) of a process, from /proc/PID/stat; pid 0 = this process.
double cpuSeconds(pid_t pid = 0);
/// CPU time (user + system) of the calling thread (a loop's own, without helper threads).
double threadCpuSeconds();
/// Resident set size now and its peak (VmRSS, VmHWM) in bytes, from /proc/PID/status.
struct Rss {
  std::uint64_t current = 0;
  std::uint64_t peak = 0;
};
Rss rss(pid_t pid = 0);

/// p in 0..100 over a copy of `values` (nearest rank); NaN when empty.
double percentile(std::vector<double> values, double p);

/// Runs `loop` for `stop_at`, calling `begin` after `begin_at` (the end of a warm-up) and `end`
/// right before the loop is stopped, both counted from now. The loop's cached time is updated
/// first: after a pause (another phase of the bench) timers armed from it would fire early.
void runMeasured(net::EventLoop& loop, std::chrono::milliseconds begin_at,
                 std::chrono::milliseconds stop_at, const std::function<void()>& begin,
                 const std::function<void()>& end);

/// coturn on 127.0.0.1:`port` with user test:secret, realm example.org, plain UDP/TCP only,
/// loopback peers allowed, relay ports `relay_lo`-`relay_hi`, pid file and user db in `dir`
/// (the flags of tests/support/peers.cc).
std::vector<std::string> coturnArgv(std::uint16_t port, const std::string& dir, int relay_lo,
                                    int relay_hi);

/// Binary paths baked in at build time (bench/CMakeLists.txt).
std::string responderBinary();

}  // namespace mediapath::bench
