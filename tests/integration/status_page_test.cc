// The status page in a real browser (issue #18 item 5): headless Chromium (Debian `chromium`)
// loads `/` from a running agent that probes real loopback peers (coturn for STUN, kamailio for
// SIP and TCP, a closed port that refuses), with a failover group that switches away from the
// unreachable candidate. The page must render every target and group, draw a sparkline per
// target, log nothing to the console (no script error, no Content-Security-Policy violation),
// keep hostile names and a hostile SIP reason phrase as text, and update itself without a
// reload. A screenshot is written next to the test binary as the artefact a human looks at.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/integration/agent_process.h"
#include "tests/support/peers.h"

namespace mediapath::testing {
namespace {

using nlohmann::json;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// The number in `attribute="N"` on the page, or -1.
long long attributeNumber(const std::string& dom, const std::string& attribute) {
  auto at = dom.find(attribute + "=\"");
  if (at == std::string::npos) return -1;
  return std::atoll(dom.c_str() + at + attribute.size() + 2);
}

// Text the way Chromium serialises it in the DOM (element text: & < > escaped).
std::string domText(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '&') {
      out += "&amp;";
    } else if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else {
      out += c;
    }
  }
  return out;
}

// One headless Chromium run with its own profile, bounded by `timeout` and killed by its PID
// (runCommand's Subprocess; the Debian wrapper execs the browser, and `exec` below keeps the
// PID). stdout (the dumped DOM) and stderr (Chromium's log with the page's console) are apart.
struct BrowserRun {
  std::string stdout_text;
  std::string log;
  int exit_code = -1;
  double seconds = 0;
};

BrowserRun runChromium(const TempDir& dir, const std::string& name,
                       const std::vector<std::string>& args) {
  std::string command =
      "exec chromium --headless=new --no-sandbox --disable-gpu "
      "--no-first-run --no-default-browser-check --disable-extensions "
      "--user-data-dir='" +
      dir.file(name + "-profile") + "' --enable-logging=stderr --v=0";
  for (const auto& a : args) command += " '" + a + "'";
  command += " 2>'" + dir.file(name + ".log") + "'";
  auto started = Clock::now();
  CommandResult r = runCommand({"/bin/sh", "-c", command}, {}, seconds(60));
  BrowserRun run;
  run.exit_code = r.exit_code;
  run.stdout_text = r.output;
  run.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  std::ifstream in(dir.file(name + ".log"));
  run.log.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return run;
}

// Console messages of the page (console.*, uncaught exceptions, CSP violations, failed loads):
// Chromium logs each as one "INFO:CONSOLE" line.
std::vector<std::string> consoleLines(const std::string& log) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < log.size()) {
    auto end = log.find('\n', start);
    if (end == std::string::npos) end = log.size();
    std::string line = log.substr(start, end - start);
    if (line.find(":CONSOLE") != std::string::npos || line.find("Uncaught") != std::string::npos) {
      lines.push_back(line);
    }
    start = end + 1;
  }
  return lines;
}

class StatusPageBrowserTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (runCommand({"chromium", "--version"}, {}, seconds(30)).exit_code != 0) {
      GTEST_FAIL() << "chromium is not installed (scripts/setup-deps installs it)";
    }
  }

  const std::string kSite = "office <script>alert('site')</script>";
  const std::string kGroup = "proxies <b>&</b>";
  const std::string kStunTarget = "stun \"<i>fra</i>\"";
  const std::string kReason = "<script>alert(1)</script> & <b>overloaded</b>";
};

TEST_F(StatusPageBrowserTest, RendersTargetsGroupsAndSparklinesAndUpdatesWithoutReload) {
  TempDir dir;
  Coturn coturn(dir);
  Kamailio sip_ok(dir);
  Kamailio sip_hostile(dir, {.options_code = 503, .options_reason = kReason});
  std::uint16_t closed = freePort(SocketType::kTcp);

  json config = {
      {"site", {{"name", kSite}}},
      {"probing", {{"interval", "500ms"}, {"timeout", "200ms"}}},
      {"targets",
       {{{"name", kStunTarget}, {"kind", "stun"}, {"host", "127.0.0.1"}, {"port", coturn.port()}},
        {{"name", "sip-ok"},
         {"kind", "sip"},
         {"host", "127.0.0.1"},
         {"port", sip_ok.port()},
         {"transport", "udp"}},
        {{"name", "sip-503"},
         {"kind", "sip"},
         {"host", "127.0.0.1"},
         {"port", sip_hostile.port()},
         {"transport", "udp"}},
        {{"name", "tcp-up"}, {"kind", "tcp"}, {"host", "127.0.0.1"}, {"port", sip_ok.port()}},
        {{"name", "tcp-down"}, {"kind", "tcp"}, {"host", "127.0.0.1"}, {"port", closed}}}},
      // Plan mode without Genesys access (no secrets): tcp-down, first in preference, becomes
      // unhealthy and the group switches to tcp-up, a decision with evidence on the page.
      {"genesys",
       {{"region", "eu-central-1"},
        {"mode", "plan"},
        {"client_id_env", "MEDIAPATH_STATUS_PAGE_TEST_UNSET_ID"},
        {"client_secret_env", "MEDIAPATH_STATUS_PAGE_TEST_UNSET_SECRET"}}},
      {"failover",
       {{{"name", kGroup},
         {"candidates", {"tcp-down", "tcp-up"}},
         {"healthy_threshold", 2},
         {"unhealthy_threshold", 2},
         {"apply_to", {{"trunk_base_id", "trunk-1"}}}}}}};
  std::string config_path = dir.write("site.json", config.dump(2));
  AgentProcess agent(dir, config_path, dir.file("state"), {});
  ASSERT_TRUE(waitUntil([&] { return agent.ready(); }, seconds(20))) << agent.log();

  // The board has a decision and a few rounds per target before the browser looks.
  json before;
  ASSERT_TRUE(waitUntil(
      [&] {
        auto [status, body] = httpGet(agent.url("/status.json"));
        if (status != 200) return false;
        before = json::parse(body);
        if (before["decisions"].empty()) return false;
        for (const auto& t : before["targets"]) {
          if (t["rounds"].get<int>() < 4) return false;
        }
        return true;
      },
      seconds(20)))
      << agent.log();

  // The JSON the page's data comes from moves on in real time.
  ASSERT_TRUE(waitUntil(
      [&] {
        auto now = json::parse(httpGet(agent.url("/status.json")).second);
        return now["targets"][0]["rounds"].get<int>() > before["targets"][0]["rounds"].get<int>();
      },
      seconds(10)));
  std::map<std::string, json> by_name;
  for (const auto& t : before["targets"]) by_name[t["name"].get<std::string>()] = t;
  EXPECT_EQ(by_name[kStunTarget]["healthy"], true) << coturn.log();
  EXPECT_EQ(by_name["tcp-up"]["healthy"], true);
  EXPECT_EQ(by_name["tcp-down"]["healthy"], false);
  EXPECT_EQ(by_name["sip-503"]["healthy"], false);
  EXPECT_NE(by_name["sip-503"]["last_error"].get<std::string>().find(kReason), std::string::npos);
  EXPECT_EQ(before["groups"][0]["active"], "tcp-up");
  EXPECT_EQ(before["decisions"][0]["evidence"].size(), 2u);

  // The page after its script has re-read it at least twice: virtual time runs past two
  // refreshes (5 s each) without waiting for them.
  BrowserRun page =
      runChromium(dir, "dom", {"--virtual-time-budget=12000", "--dump-dom", agent.url("/")});
  std::cout << "chromium --dump-dom: " << page.seconds << " s\n";
  ASSERT_EQ(page.exit_code, 0) << page.log;
  const std::string& dom = page.stdout_text;
  ASSERT_NE(dom.find("<main id=\"board\""), std::string::npos) << dom << page.log;

  EXPECT_EQ(consoleLines(page.log), std::vector<std::string>{}) << page.log;
  // Targets and groups, every name as text; hostile text stayed text.
  for (const auto& name : {kStunTarget, std::string("sip-ok"), std::string("sip-503"),
                           std::string("tcp-up"), std::string("tcp-down"), kGroup, kSite}) {
    EXPECT_NE(dom.find(domText(name)), std::string::npos) << name;
  }
  EXPECT_NE(dom.find(domText(kReason)), std::string::npos);
  EXPECT_EQ(count(dom, "<script"), 1u) << "only the page's own script";
  EXPECT_EQ(dom.find("<b>"), std::string::npos);
  EXPECT_EQ(dom.find("<i>"), std::string::npos);
  EXPECT_EQ(count(dom, "<tr class=\"target\""), 5u);
  EXPECT_EQ(count(dom, "<tr class=\"group\""), 1u);
  // A sparkline per target, each with its RTT line or loss bars.
  EXPECT_EQ(count(dom, "<svg class=\"spark\""), 5u);
  EXPECT_GE(count(dom, "<path class=\"rtt\""), 3u);  // stun, sip-ok, tcp-up answer
  // sip-503 and tcp-down fail: sip-503 with an answer (a failed mark), tcp-down refused.
  EXPECT_GE(count(dom, "<path class=\"failed\""), 1u);
  EXPECT_GE(count(dom, "<path class=\"loss\"") + count(dom, "<path class=\"failed\""), 2u);
  EXPECT_GE(count(dom, "<tr class=\"decision\""), 1u);
  EXPECT_NE(dom.find("<table class=\"evidence\">"), std::string::npos);
  EXPECT_NE(dom.find("tcp-down is unhealthy"), std::string::npos);
  EXPECT_NE(dom.find("became</th>"), std::string::npos);  // the health changes table
  // Updated without a reload: the script swapped in newer boards and says so on the page.
  long long updates = attributeNumber(dom, "data-updates");
  EXPECT_GE(updates, 2) << dom;
  EXPECT_GT(attributeNumber(dom, "data-now-us"), attributeNumber(dom, "data-first-us"));
  EXPECT_NE(dom.find("Live: re-reads this page every 5 s without reloading; updated"),
            std::string::npos);

  // The artefact: a screenshot of the page as a person sees it.
  std::string shot = std::string(MEDIAPATH_TEST_ARTIFACT_DIR) + "/status_page.png";
  std::filesystem::remove(shot);
  BrowserRun screenshot =
      runChromium(dir, "shot",
                  {"--window-size=1280,900", "--hide-scrollbars", "--virtual-time-budget=2000",
                   "--screenshot=" + shot, agent.url("/")});
  std::cout << "chromium --screenshot: " << screenshot.seconds << " s\n"
            << "status page screenshot: " << shot << "\n";
  ASSERT_EQ(screenshot.exit_code, 0) << screenshot.log;
  EXPECT_EQ(consoleLines(screenshot.log), std::vector<std::string>{}) << screenshot.log;
  std::ifstream png(shot, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(png)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 24u);
  EXPECT_EQ(bytes.substr(1, 3), "PNG");
  auto be32 = [&](std::size_t at) {
    return (static_cast<unsigned>(static_cast<unsigned char>(bytes[at])) << 24) |
           (static_cast<unsigned>(static_cast<unsigned char>(bytes[at + 1])) << 16) |
           (static_cast<unsigned>(static_cast<unsigned char>(bytes[at + 2])) << 8) |
           static_cast<unsigned>(static_cast<unsigned char>(bytes[at + 3]));
  };
  EXPECT_EQ(be32(16), 1280u);  // IHDR width and height
  EXPECT_EQ(be32(20), 900u);
  EXPECT_GT(bytes.size(), 20'000u) << "a blank page compresses to a few KiB";

  EXPECT_EQ(agent.stop(), 0) << agent.log();
}

}  // namespace
}  // namespace mediapath::testing
