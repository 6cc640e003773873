// ServiceNotifier against a socket standing in for systemd's NOTIFY_SOCKET; the STATUS= line.
#include "agent/service/service_notifier.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>

#include "tests/agent/notify_socket.h"
#include "tests/support/process.h"

namespace mediapath::agent {
namespace {

using namespace std::chrono_literals;
using testing::NotifySocket;
using testing::TempDir;

// Sets the sd_notify variables for one test and restores "unset" afterwards (each test runs in
// its own process under gtest_discover_tests, but the fixture keeps the tests independent even
// when the executable runs them all).
class NotifyEnv : public ::testing::Test {
 protected:
  void TearDown() override {
    for (const char* v : {"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"}) ::unsetenv(v);
  }
  void set(const char* name, const std::string& value) { ::setenv(name, value.c_str(), 1); }
};

TEST(ServiceStatusLine, HealthyCountThenActiveCandidatePerGroup) {
  EXPECT_EQ(serviceStatusLine(5, 6, {{"media-proxy", "proxy-b"}}),
            "5/6 targets healthy; media-proxy: proxy-b");
  EXPECT_EQ(serviceStatusLine(0, 3, {}), "0/3 targets healthy");
  EXPECT_EQ(serviceStatusLine(2, 2, {{"media-proxy", "proxy-a"}, {"turn", "turn-fra"}}),
            "2/2 targets healthy; media-proxy: proxy-a; turn: turn-fra");
}

TEST_F(NotifyEnv, WithoutNotifySocketEverythingIsANoOp) {
  ::unsetenv("NOTIFY_SOCKET");
  set("WATCHDOG_USEC", "30000000");  // without a listener the watchdog is pointless
  ServiceNotifier n;
  EXPECT_FALSE(n.enabled());
  EXPECT_FALSE(n.watchdogInterval().has_value());
  n.ready();
  n.status("1/1 targets healthy");
  n.watchdog();
  n.reloading();
  n.stopping();
}

TEST_F(NotifyEnv, SendsEachStateAsOneDatagram) {
  TempDir dir;
  NotifySocket sock(dir.file("notify"));
  set("NOTIFY_SOCKET", sock.path());
  ServiceNotifier n;
  ASSERT_TRUE(n.enabled());

  n.ready();
  EXPECT_EQ(sock.receive(1s), "READY=1");
  n.watchdog();
  EXPECT_EQ(sock.receive(1s), "WATCHDOG=1");
  n.reloading();
  auto reloading = sock.receive(1s);
  ASSERT_TRUE(reloading.has_value());
  EXPECT_TRUE(reloading->starts_with("RELOADING=1\nMONOTONIC_USEC=")) << *reloading;
  EXPECT_GT(std::stoull(reloading->substr(reloading->find('=', 12) + 1)), 0U);
  n.stopping();
  EXPECT_EQ(sock.receive(1s), "STOPPING=1");
  EXPECT_EQ(sock.receive(50ms), std::nullopt);
}

TEST_F(NotifyEnv, UnreachableSocketIsNotFatal) {
  TempDir dir;
  set("NOTIFY_SOCKET", dir.file("nobody-listens"));
  ServiceNotifier n;
  EXPECT_TRUE(n.enabled());
  for (int i = 0; i < 3; ++i) n.watchdog();  // logs once, never throws
  n.status("1/1 targets healthy");
  EXPECT_EQ(n.lastStatus(), "1/1 targets healthy");
}

TEST_F(NotifyEnv, StatusIsSentOnlyWhenItChangesAndStaysOnOneLine) {
  TempDir dir;
  NotifySocket sock(dir.file("notify"));
  set("NOTIFY_SOCKET", sock.path());
  ServiceNotifier n;
  n.status("1/2 targets healthy");
  n.status("1/2 targets healthy");
  n.status("2/2 targets healthy");
  n.status("bad\nREADY=1");
  EXPECT_EQ(sock.receive(1s), "STATUS=1/2 targets healthy");
  EXPECT_EQ(sock.receive(1s), "STATUS=2/2 targets healthy");
  // A newline would let a status text inject another assignment (here: READY=1).
  EXPECT_EQ(sock.receive(1s), "STATUS=bad READY=1");
  EXPECT_EQ(sock.receive(50ms), std::nullopt);
  EXPECT_EQ(n.lastStatus(), "bad READY=1");
}

TEST_F(NotifyEnv, WatchdogIntervalIsHalfOfWatchdogUsec) {
  TempDir dir;
  NotifySocket sock(dir.file("notify"));
  set("NOTIFY_SOCKET", sock.path());

  set("WATCHDOG_USEC", "30000000");  // WatchdogSec=30s
  EXPECT_EQ(ServiceNotifier().watchdogInterval(), std::chrono::milliseconds(15000));

  set("WATCHDOG_PID", std::to_string(::getpid()));
  EXPECT_EQ(ServiceNotifier().watchdogInterval(), std::chrono::milliseconds(15000));

  // Meant for another process (the variables leaked into a child): not ours to ping.
  set("WATCHDOG_PID", std::to_string(::getpid() + 1));
  EXPECT_EQ(ServiceNotifier().watchdogInterval(), std::nullopt);

  ::unsetenv("WATCHDOG_PID");
  ::unsetenv("WATCHDOG_USEC");
  EXPECT_EQ(ServiceNotifier().watchdogInterval(), std::nullopt);

  set("WATCHDOG_USEC", "1000");  // 1 ms: rounds up, never a 0 ms (busy) timer
  EXPECT_EQ(ServiceNotifier().watchdogInterval(), std::chrono::milliseconds(1));
}

}  // namespace
}  // namespace mediapath::agent
