#include "bench/bench_support.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "net/event_loop.h"
#include "net/uv_timer.h"

extern char** environ;

namespace mediapath::bench {

Child::Child(const std::vector<std::string>& argv, const std::string& log_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<std::string> args = argv;
  std::vector<char*> c_argv;
  for (auto& a : args) c_argv.push_back(a.data());
  c_argv.push_back(nullptr);
  int rc = ::posix_spawnp(&pid_, c_argv[0], &actions, nullptr, c_argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
}

Child::~Child() {
  if (pid_ <= 0 || !running()) return;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 300 && running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (running()) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

bool Child::running() {
  if (reaped_) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) reaped_ = true;
  return !reaped_;
}

std::string makeTempDir(const std::string& prefix) {
  std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

std::uint16_t waitForPortFile(const std::string& path, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(path);
    unsigned port = 0;
    if (in >> port && port != 0 && port < 65536) return static_cast<std::uint16_t>(port);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return 0;
}

namespace {

bool bindable(int type, std::uint16_t port, std::uint16_t* bound) {
  int fd = ::socket(AF_INET, type, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  if (ok && bound != nullptr) {
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    *bound = ntohs(a.sin_port);
  }
  ::close(fd);
  return ok;
}

}  // namespace

std::uint16_t freeUdpPort() {
  std::uint16_t port = 0;
  if (!bindable(SOCK_DGRAM, 0, &port)) throw std::runtime_error("no free UDP port");
  return port;
}

std::uint16_t freeUdpTcpPort() {
  for (int i = 0; i < 50; ++i) {
    std::uint16_t port = 0;
    if (bindable(SOCK_STREAM, 0, &port) && bindable(SOCK_DGRAM, port, nullptr)) return port;
  }
  throw std::runtime_error("no port free for both UDP and TCP");
}

void runMeasured(net::EventLoop& loop, std::chrono::milliseconds begin_at,
                 std::chrono::milliseconds stop_at, const std::function<void()>& begin,
                 const std::function<void()>& end) {
  uv_update_time(loop.get());
  net::UvTimer warm(loop.get());
  net::UvTimer stop(loop.get());
  warm.start(begin_at, begin);
  stop.start(stop_at, [&] {
    end();
    loop.stop();
  });
  loop.run();
}

namespace {

double rusageSeconds(int who) {
  rusage usage{};
  ::getrusage(who, &usage);
  auto secs = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return secs(usage.ru_utime) + secs(usage.ru_stime);
}

}  // namespace

double threadCpuSeconds() { return rusageSeconds(RUSAGE_THREAD); }

double cpuSeconds(pid_t pid) {
  // getrusage has microsecond resolution; /proc/PID/stat only clock ticks (10 ms).
  if (pid == 0) return rusageSeconds(RUSAGE_SELF);
  std::string path = pid == 0 ? "/proc/self/stat" : "/proc/" + std::to_string(pid) + "/stat";
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  auto close = line.rfind(')');
  if (close == std::string::npos) return std::numeric_limits<double>::quiet_NaN();
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  unsigned long long utime = 0;
  unsigned long long stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

Rss rss(pid_t pid) {
  std::string path = pid == 0 ? "/proc/self/status" : "/proc/" + std::to_string(pid) + "/status";
  std::ifstream in(path);
  std::string key;
  Rss out;
  while (in >> key) {
    std::uint64_t kb = 0;
    if (key == "VmRSS:" && in >> kb) out.current = kb * 1024;
    if (key == "VmHWM:" && in >> kb) out.peak = kb * 1024;
  }
  return out;
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(values.begin(), values.end());
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  return values[std::min(values.size() - 1, rank == 0 ? 0 : rank - 1)];
}

std::vector<std::string> coturnArgv(std::uint16_t port, const std::string& dir, int relay_lo,
                                    int relay_hi) {
  return {"turnserver",
          "-n",
          "--listening-ip=127.0.0.1",
          "--relay-ip=127.0.0.1",
          "--listening-port=" + std::to_string(port),
          "--lt-cred-mech",
          "--user=test:secret",
          "--realm=example.org",
          "--no-tls",
          "--no-dtls",
          "--no-cli",
          "--log-file=stdout",
          "--simple-log",
          "--pidfile=" + dir + "/turnserver.pid",
          "--userdb=" + dir + "/turndb",
          "--allow-loopback-peers",
          "--min-port=" + std::to_string(relay_lo),
          "--max-port=" + std::to_string(relay_hi)};
}

std::string responderBinary() { return MEDIAPATH_BENCH_RESPONDER; }

}  // namespace mediapath::bench
