// `mediapath-agent run` reloading hostile config files (issue #19 item 1): a number that
// overflows a double, 80,000 nested arrays, a duplicate key, a directory, /dev/zero, and a valid
// file whose failover cannot start. Each reload is refused in one log line, the gauge drops to 0,
// and the agent keeps probing with the old config and answering HTTP; SIGTERM then ends it
// cleanly within seconds. The only peer is a TCP listener in this process.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/integration/agent_process.h"

namespace mediapath::testing {
namespace {

using nlohmann::json;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

// A TCP port on loopback that completes handshakes (the kernel accepts into the backlog).
class TcpListener {
 public:
  TcpListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    socklen_t len = sizeof(a);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 ||
        ::listen(fd_, SOMAXCONN) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      throw std::runtime_error("cannot listen on loopback");
    }
    port_ = ntohs(a.sin_port);
  }
  ~TcpListener() { ::close(fd_); }
  TcpListener(const TcpListener&) = delete;
  TcpListener& operator=(const TcpListener&) = delete;
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

class ReloadHostileTest : public ::testing::Test {
 protected:
  json goodConfig() const {
    return json{{"site", {{"name", "reload-test"}}},
                {"probing", {{"interval", "300ms"}, {"timeout", "200ms"}}},
                {"targets",
                 {{{"name", "tcp-a"},
                   {"kind", "tcp"},
                   {"host", "127.0.0.1"},
                   {"port", listener_.port()}}}}};
  }

  const std::string kRounds = R"(mediapath_probe_rtt_seconds_count{kind="tcp",target="tcp-a"})";
  const std::string kGauge = "mediapath_config_last_reload_successful";

  // The agent still probes tcp-a (its round count grows) and answers every HTTP path.
  void expectStillServing(AgentProcess& agent, const std::string& what) {
    auto before = agent.metric(kRounds);
    ASSERT_TRUE(before.has_value()) << what << "\n" << agent.log();
    EXPECT_TRUE(waitUntil(
        [&] {
          auto now = agent.metric(kRounds);
          return now && *now > *before + 1;
        },
        seconds(10)))
        << what << ": the old config stopped probing\n"
        << agent.log();
    EXPECT_EQ(httpGet(agent.url("/healthz")).first, 200) << what;
    EXPECT_EQ(httpGet(agent.url("/")).first, 200) << what;
    EXPECT_EQ(agent.metric(R"(mediapath_probe_success{kind="tcp",target="tcp-a"})"), 1.0) << what;
  }

  TempDir dir_;
  TcpListener listener_;
};

TEST_F(ReloadHostileTest, AFailedReloadKeepsTheOldConfigProbingAndServing) {
  std::string path = dir_.write("site.json", goodConfig().dump(2));
  AgentProcess agent(dir_, path, dir_.file("state"), {});
  ASSERT_TRUE(waitUntil([&] { return agent.ready(); }, seconds(20))) << agent.log();

  // A valid config whose failover cannot start: apply mode without the Genesys secrets.
  json unstartable = goodConfig();
  unstartable["failover"] = {
      {{"name", "g"}, {"candidates", {"tcp-a"}}, {"apply_to", {{"trunk_base_id", "trunk-1"}}}}};
  unstartable["genesys"] = {{"region", "eu-central-1"},
                            {"mode", "apply"},
                            {"client_id_env", "MEDIAPATH_RELOAD_TEST_UNSET_ID"},
                            {"client_secret_env", "MEDIAPATH_RELOAD_TEST_UNSET_SECRET"}};
  std::string unstartable_path = dir_.write("unstartable.json", unstartable.dump(2));
  ASSERT_EQ(
      runCommand({MEDIAPATH_AGENT_BINARY, "validate", "--config", unstartable_path}).exit_code, 0);

  struct Case {
    std::string name;
    std::function<void()> install;  // puts the hostile thing at `path`
    std::string logged;             // in the "reload rejected" line
  };
  auto write = [&](const std::string& text) {
    return [this, text] { dir_.write("site.json", text); };
  };
  auto replaceWith = [&](auto make) {
    return [path, make] {
      std::filesystem::remove_all(path);
      make();
    };
  };
  const std::string good = goodConfig().dump();
  std::string overflow = good;
  overflow.replace(overflow.find("\"300ms\""), 7, "1e400");
  std::string duplicate = good;
  duplicate.replace(duplicate.find("\"site\":"), 7, R"("site": {"name": "x"}, "site":)");
  std::vector<Case> cases = {
      {"1e400", write(overflow), "'1e400' does not fit a double"},
      {"80,000 nested arrays",
       write(R"({"site": )" + std::string(80'000, '[') + std::string(80'000, ']') + "}"),
       "nested deeper than 64 levels"},
      {"duplicate key", write(duplicate), "/site: duplicate key \"site\""},
      {"directory", replaceWith([&] { std::filesystem::create_directory(path); }),
       "cannot read config: is a directory"},
      {"/dev/zero", replaceWith([&] { std::filesystem::create_symlink("/dev/zero", path); }),
       "is larger than 4194304 bytes"},
      {"failover that cannot start",
       replaceWith([&] { std::filesystem::copy_file(unstartable_path, path); }),
       "cannot start the new config: "},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    // From a successful reload (gauge 1) to the hostile one (gauge 0).
    replaceWith([&] { dir_.write("site.json", good); })();
    agent.signal(SIGHUP);
    ASSERT_TRUE(waitUntil([&] { return agent.metric(kGauge) == 1.0; }, seconds(10))) << agent.log();
    std::size_t rejected = count(agent.log(), "reload rejected");
    c.install();
    agent.signal(SIGHUP);
    ASSERT_TRUE(waitUntil([&] { return agent.metric(kGauge) == 0.0; }, seconds(10))) << agent.log();
    std::string log = agent.log();
    EXPECT_EQ(count(log, "reload rejected"), rejected + 1) << log;
    auto line_at = log.rfind("reload rejected, still running the previous config: ");
    ASSERT_NE(line_at, std::string::npos) << log;
    std::string line = log.substr(line_at, log.find('\n', line_at) - line_at);
    EXPECT_NE(line.find(c.logged), std::string::npos) << line;
    EXPECT_EQ(line.find("json.exception"), std::string::npos) << line;
    expectStillServing(agent, c.name);
    EXPECT_TRUE(agent.running());
  }
  // The group of the unstartable config left no series behind.
  EXPECT_EQ(agent.metrics().find("group=\"g\""), std::string::npos);

  auto start = Clock::now();
  EXPECT_EQ(agent.stop(), 0) << agent.log();
  EXPECT_LT(Clock::now() - start, seconds(5));
  EXPECT_NE(agent.log().find("stopped cleanly"), std::string::npos) << agent.log();
}

}  // namespace
}  // namespace mediapath::testing
