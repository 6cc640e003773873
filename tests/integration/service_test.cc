// `mediapath-agent run` as systemd runs it: sd_notify on NOTIFY_SOCKET (READY after the first
// round, STATUS, WATCHDOG from the loop, RELOADING/READY, STOPPING), secrets from
// CREDENTIALS_DIRECTORY, and "<N>" priorities when stderr is the journal. Peers: coturn and a
// closed TCP port on loopback.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/agent/notify_socket.h"
#include "tests/integration/genesys_support.h"
#include "tests/support/peers.h"
#include "tests/support/process.h"

namespace mediapath::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// WatchdogSec=400ms: the agent pings every 200 ms.
constexpr const char* kWatchdogUsec = "400000";
constexpr auto kWatchdogSec = 400ms;

// GET http://127.0.0.1:port/path: the whole response (status line, headers, body), or "".
std::string httpGet(std::uint16_t port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(fd);
    return {};
  }
  std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return {};
  }
  std::string response;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof(buf), 0)) > 0;) {
    response.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return response;
}

// Status code of GET http://127.0.0.1:port/path, or -1.
int httpStatus(std::uint16_t port, const std::string& path) {
  std::string r = httpGet(port, path);
  return r.starts_with("HTTP/1.") && r.size() > 12 ? std::stoi(r.substr(9, 3)) : -1;
}

char processState(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close_paren = stat.rfind(')');
  return close_paren == std::string::npos || close_paren + 2 >= stat.size() ? '?'
                                                                            : stat[close_paren + 2];
}

bool waitForLog(const Subprocess& p, const std::string& needle, std::chrono::milliseconds limit) {
  auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (p.log().find(needle) != std::string::npos) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

class ServiceTest : public ::testing::Test {
 protected:
  // Every notification is kept, in order, for the assertions and for failure messages.
  std::optional<std::string> next(std::chrono::milliseconds timeout) {
    auto m = notify_.receive(timeout);
    if (m) seen_.push_back(*m);
    return m;
  }
  // Waits for a notification starting with `prefix`, keeping the ones before it.
  bool waitFor(const std::string& prefix, std::chrono::milliseconds limit) {
    auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      auto m = next(std::max(left, 1ms));
      if (m && m->starts_with(prefix)) return true;
    }
    return false;
  }
  std::string seen() const {
    std::string s;
    for (const auto& m : seen_) s += "[" + m + "] ";
    return s;
  }
  std::string lastStatus() const {
    for (auto it = seen_.rbegin(); it != seen_.rend(); ++it) {
      if (it->starts_with("STATUS=")) return it->substr(7);
    }
    return {};
  }

  std::string writeConfig(const std::string& turn_target) {
    closed_port_ = freePort(SocketType::kTcp);  // nothing listens: connection refused
    return dir_.write("agent.json", R"({
      "site": {"name": "service-test"},
      "probing": {"interval": "1s", "timeout": "500ms"},
      "targets": [
        {"name": "closed", "kind": "tcp", "host": "127.0.0.1", "port": )" +
                                        std::to_string(closed_port_) + "}" + turn_target + "]}");
  }

  std::unique_ptr<Subprocess> startAgent(const std::string& config,
                                         std::map<std::string, std::string> env) {
    listen_port_ = freePort(SocketType::kTcp);
    std::filesystem::create_directories(dir_.file("state"));
    env.emplace("NOTIFY_SOCKET", notify_.path());
    return std::make_unique<Subprocess>(
        std::vector<std::string>{MEDIAPATH_AGENT_BINARY, "run", "--config", config, "--listen",
                                 "127.0.0.1:" + std::to_string(listen_port_), "--state-dir",
                                 dir_.file("state")},
        dir_.file("agent.log"), std::move(env));
  }

  TempDir dir_;
  NotifySocket notify_{dir_.file("notify")};
  std::vector<std::string> seen_;
  std::uint16_t closed_port_ = 0;
  std::uint16_t listen_port_ = 0;
};

TEST_F(ServiceTest, ReadyStatusWatchdogReloadAndStopLikeSystemdSeesThem) {
  Coturn turn(dir_);
  // The TURN password only exists as a systemd credential (LoadCredential=turn-password:...).
  std::filesystem::create_directories(dir_.file("credentials"));
  dir_.write("credentials/turn-password", turn.options().password + "\n");
  std::string config =
      writeConfig(R"(, {"name": "turn", "kind": "turn", "host": "127.0.0.1", "port": )" +
                  std::to_string(turn.port()) + R"(, "username": ")" + turn.options().user +
                  R"(", "password_credential": "turn-password"})");
  auto agent = startAgent(config, {{"WATCHDOG_USEC", kWatchdogUsec},
                                   {"CREDENTIALS_DIRECTORY", dir_.file("credentials")}});

  // READY=1 only once every target has finished its first round: /-/ready agrees at that moment.
  ASSERT_TRUE(waitFor("READY=1", 20s)) << seen() << "\n" << agent->log();
  EXPECT_EQ(httpStatus(listen_port_, "/-/ready"), 200) << agent->log();
  // The TURN Allocate succeeded with the credential's password; the closed port failed.
  EXPECT_EQ(lastStatus(), "1/2 targets healthy") << seen() << "\n" << agent->log();

  // Pings every WatchdogSec/2 while the loop turns.
  int pings = 0;
  for (auto end = Clock::now() + 2s; Clock::now() < end;) {
    auto m = next(100ms);
    if (m == "WATCHDOG=1") ++pings;
  }
  EXPECT_GE(pings, 5) << seen();

  // A stopped process (as good as a stuck loop) sends nothing: systemd would kill it after
  // WatchdogSec. Pings queued before the stop took effect are drained first.
  agent->signal(SIGSTOP);
  for (int i = 0; i < 100 && processState(agent->pid()) != 'T'; ++i)
    std::this_thread::sleep_for(10ms);
  ASSERT_EQ(processState(agent->pid()), 'T');
  while (next(50ms)) {
  }
  int pings_while_stopped = 0;
  for (auto end = Clock::now() + 3 * kWatchdogSec; Clock::now() < end;) {
    if (next(50ms) == "WATCHDOG=1") ++pings_while_stopped;
  }
  EXPECT_EQ(pings_while_stopped, 0) << seen();
  agent->signal(SIGCONT);
  EXPECT_TRUE(waitFor("WATCHDOG=1", 2 * kWatchdogSec)) << seen();

  // systemctl reload: RELOADING=1, then READY=1 once the config is re-read.
  agent->signal(SIGHUP);
  ASSERT_TRUE(waitFor("RELOADING=1\nMONOTONIC_USEC=", 5s)) << seen();
  EXPECT_TRUE(waitFor("READY=1", 5s)) << seen() << "\n" << agent->log();

  // systemctl stop: STOPPING=1 and a clean exit 0.
  agent->signal(SIGTERM);
  EXPECT_TRUE(waitFor("STOPPING=1", 5s)) << seen();
  EXPECT_EQ(agent->wait(15s), 0) << agent->log();
  EXPECT_NE(agent->log().find("stopped cleanly"), std::string::npos) << agent->log();
}

TEST_F(ServiceTest, MissingCredentialFailsStartUpWithoutReady) {
  std::filesystem::create_directories(dir_.file("credentials"));  // empty: no turn-password
  std::string config =
      writeConfig(R"(, {"name": "turn", "kind": "turn", "host": "127.0.0.1", "port": 3478,
                     "username": "test", "password_credential": "turn-password"})");
  auto agent = startAgent(config, {{"CREDENTIALS_DIRECTORY", dir_.file("credentials")}});
  EXPECT_EQ(agent->wait(15s), 2) << agent->log();
  // The message names the credential so that the operator knows which LoadCredential= is
  // missing.
  EXPECT_NE(agent->log().find("credential turn-password"), std::string::npos) << agent->log();
  EXPECT_EQ(next(200ms), std::nullopt) << seen();
}

TEST_F(ServiceTest, NoWatchdogPingsWithoutWatchdogUsec) {
  std::string config = writeConfig("");
  auto agent = startAgent(config, {});
  ASSERT_TRUE(waitFor("READY=1", 20s)) << seen() << "\n" << agent->log();
  EXPECT_EQ(lastStatus(), "0/1 targets healthy");
  for (auto end = Clock::now() + 1s; Clock::now() < end;) EXPECT_NE(next(100ms), "WATCHDOG=1");
  agent->signal(SIGTERM);
  EXPECT_EQ(agent->wait(15s), 0) << agent->log();
}

// Apply mode reads the Genesys client id and secret at start-up; here from credentials, checked
// by the emulator's token endpoint.
TEST_F(ServiceTest, GenesysSecretsFromCredentialsDirectory) {
  TestPki pki(dir_);
  EmulatorProcess emulator(dir_, pki, EmulatorSchema::kPlatform);
  std::filesystem::create_directories(dir_.file("credentials"));
  dir_.write("credentials/genesys-client-id", std::string(kGenesysClientId) + "\n");
  dir_.write("credentials/genesys-client-secret", std::string(kGenesysSecret) + "\n");
  std::uint16_t closed_b = freePort(SocketType::kTcp);
  closed_port_ = freePort(SocketType::kTcp);
  std::string config = dir_.write("agent.json", R"({
      "site": {"name": "service-test"},
      "probing": {"interval": "1s", "timeout": "500ms"},
      "targets": [
        {"name": "proxy-a", "kind": "tcp", "host": "127.0.0.1", "port": )" +
                                                    std::to_string(closed_port_) + R"(},
        {"name": "proxy-b", "kind": "tcp", "host": "127.0.0.1", "port": )" +
                                                    std::to_string(closed_b) + R"(}],
      "failover": [{"name": "media-proxy", "candidates": ["proxy-a", "proxy-b"],
                    "apply_to": {"location_path": "/media/proxy"}}],
      "genesys": {"region": "eu-central-1", "mode": "apply", "schema": "seed", "location_id": "loc-unknown",
                  "client_id_credential": "genesys-client-id",
                  "client_secret_credential": "genesys-client-secret",
                  "api_base_url": ")" + emulator.baseUrl() +
                                                    R"(", "login_base_url": ")" +
                                                    emulator.baseUrl() + R"(",
                  "ca_file": ")" + pki.ca + R"("}})");

  {
    auto agent = startAgent(config, {{"CREDENTIALS_DIRECTORY", dir_.file("credentials")}});
    ASSERT_TRUE(waitFor("READY=1", 20s)) << seen() << "\n" << agent->log();
    // The token request (reconciling with the remote location) was accepted: right id and secret.
    bool token_ok = false;
    for (auto end = Clock::now() + 10s; !token_ok && Clock::now() < end;) {
      std::string metrics = httpGet(listen_port_, "/metrics");
      std::istringstream in(metrics);
      for (std::string line; std::getline(in, line);) {
        if (line.starts_with("mediapath_genesys_requests_total{") &&
            line.find("operation=\"oauth_token\"") != std::string::npos &&
            line.find("code=\"200\"") != std::string::npos) {
          token_ok = true;
        }
      }
      if (!token_ok) std::this_thread::sleep_for(100ms);
    }
    EXPECT_TRUE(token_ok) << agent->log() << "\n" << emulator.log();
    agent->signal(SIGTERM);
    EXPECT_EQ(agent->wait(15s), 0) << agent->log();
    EXPECT_EQ(agent->log().find(kGenesysSecret), std::string::npos) << "secret in the log";
  }

  // Without the secret's credential, apply mode cannot start: exit 2, naming the credential.
  std::filesystem::remove(dir_.file("credentials/genesys-client-secret"));
  std::filesystem::resize_file(dir_.file("agent.log"), 0);
  auto agent = startAgent(config, {{"CREDENTIALS_DIRECTORY", dir_.file("credentials")}});
  EXPECT_EQ(agent->wait(15s), 2) << agent->log();
  EXPECT_NE(agent->log().find("credential genesys-client-secret"), std::string::npos)
      << agent->log();
}

// The journal: systemd connects stderr to a stream socket and names it in JOURNAL_STREAM as
// "DEVICE:INODE". Here the log file plays the stream: its device and inode are given.
std::string deviceInode(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    if (!l.empty()) out.push_back(l);
  }
  return out;
}

class JournalLoggingTest : public ::testing::Test {
 protected:
  // Runs the agent until its first round is done, with stderr into `log` and `journal_stream`.
  std::string runOnce(const std::string& journal_stream) {
    std::uint16_t closed = freePort(SocketType::kTcp);
    std::string config = dir_.write("agent.json", R"({
      "site": {"name": "journal-test"},
      "probing": {"interval": "1s", "timeout": "500ms"},
      "targets": [{"name": "closed", "kind": "tcp", "host": "127.0.0.1", "port": )" +
                                                      std::to_string(closed) + "}]}");
    Subprocess agent(
        {MEDIAPATH_AGENT_BINARY, "run", "--config", config, "--listen",
         "127.0.0.1:" + std::to_string(freePort(SocketType::kTcp)), "--state-dir", dir_.path()},
        log_, {{"JOURNAL_STREAM", journal_stream}});
    EXPECT_TRUE(waitForLog(agent, "first round complete", 20s)) << agent.log();
    EXPECT_EQ(agent.stop(15s), 0) << agent.log();
    return agent.log();
  }

  TempDir dir_;
  std::string log_ = dir_.write("agent.log", "");
};

TEST_F(JournalLoggingTest, PriorityPrefixesWhenStderrIsTheJournal) {
  std::string log = runOnce(deviceInode(log_));
  auto all = lines(log);
  ASSERT_GE(all.size(), 4U) << log;
  for (const auto& l : all) {
    ASSERT_GE(l.size(), 3U) << log;
    EXPECT_TRUE(l[0] == '<' && l[1] >= '0' && l[1] <= '7' && l[2] == '>') << l;
  }
  // No timestamp (journald adds its own): the message follows the priority directly.
  EXPECT_NE(log.find("<4>target closed: unhealthy: connection refused\n"), std::string::npos)
      << log;
  EXPECT_NE(log.find("<6>first round complete for every target: ready\n"), std::string::npos)
      << log;
  EXPECT_NE(log.find("<6>SIGTERM: stopping\n"), std::string::npos) << log;
}

TEST_F(JournalLoggingTest, HumanFormatWhenStderrIsNotTheNamedStream) {
  // JOURNAL_STREAM inherited, but stderr was redirected elsewhere (another file here), or unset.
  std::string other = dir_.write("other", "");
  for (const std::string& stream : {deviceInode(other), std::string()}) {
    std::filesystem::resize_file(log_, 0);
    std::string log = runOnce(stream);
    auto all = lines(log);
    ASSERT_FALSE(all.empty()) << log;
    for (const auto& l : all) {
      EXPECT_FALSE(l.starts_with("<")) << "JOURNAL_STREAM=" << stream << ": " << l;
      EXPECT_TRUE(l.starts_with("20")) << "JOURNAL_STREAM=" << stream << ": " << l;
    }
    EXPECT_NE(log.find(" warning target closed: unhealthy: connection refused\n"),
              std::string::npos)
        << log;
  }
}

}  // namespace
}  // namespace mediapath::testing
