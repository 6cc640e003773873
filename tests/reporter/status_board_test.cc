#include "reporter/metrics/status_board.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

namespace mediapath::reporter {
namespace {

TargetStatus target(const std::string& name) {
  TargetStatus t;
  t.name = name;
  t.kind = "sip";
  return t;
}

TEST(StatusBoard, CountsRoundsAndKeepsThemAcrossAReload) {
  StatusBoard board;
  board.reset("site", "v", {target("a"), target("b")}, {});
  TargetStatus round = target("b");
  round.known = true;
  round.last_error = "timeout after 2s (0/5 replies)";
  board.recordRound(round);
  board.recordRound(round);
  board.recordRound(target("unknown"));  // not on the board: ignored
  auto snap = board.snapshot();
  ASSERT_EQ(snap.targets.size(), 2u);
  EXPECT_EQ(snap.targets[0].rounds, 0u);
  EXPECT_EQ(snap.targets[1].rounds, 2u);
  // A reload that keeps b (same kind) keeps what is known about it; c is new.
  board.reset("site", "v", {target("b"), target("c")}, {});
  snap = board.snapshot();
  EXPECT_EQ(snap.targets[0].rounds, 2u);
  board.recordRound(round);
  EXPECT_EQ(board.snapshot().targets[0].rounds, 3u);
}

TEST(StatusBoard, PageEscapesWhatTargetsReport) {
  StatusBoard board;
  board.reset("<site>", "v", {target("a")}, {{"g", {"a"}, "a", true, {}}});
  TargetStatus round = target("a");
  round.known = true;
  round.last_error = "SIP 503 <script>";
  board.recordRound(round);
  board.addDecision(
      {std::chrono::system_clock::time_point(std::chrono::seconds(1)), "g", "panic", {}});
  std::string page = renderStatusPage(board.snapshot(), std::chrono::system_clock::now());
  EXPECT_NE(page.find("SIP 503 &lt;script&gt;"), std::string::npos);
  EXPECT_EQ(page.find("<script>"), std::string::npos);
  EXPECT_NE(page.find("&lt;site&gt;"), std::string::npos);
  EXPECT_NE(page.find("panic: every candidate unhealthy"), std::string::npos);
  EXPECT_NE(page.find("1970-01-01T00:00:01Z"), std::string::npos);
}

TEST(StatusBoard, DetailsAreTheLastGoodRoundsAndEscaped) {
  StatusBoard board;
  board.reset("site", "v", {target("loop")}, {});
  TargetStatus good = target("loop");
  good.known = true;
  good.last_ok = true;
  good.details = "relayed 192.0.2.1:50000 one-way 1.0/2.0/3.0 ms <b>";
  board.recordRound(good);
  TargetStatus failed = target("loop");
  failed.known = true;
  failed.last_error = "timeout after 2s";
  board.recordRound(failed);
  auto snap = board.snapshot();
  EXPECT_EQ(snap.targets[0].details, good.details);  // a failed round keeps the last figures
  std::string page = renderStatusPage(snap, std::chrono::system_clock::now());
  EXPECT_NE(page.find("<td>relayed 192.0.2.1:50000 one-way 1.0/2.0/3.0 ms &lt;b&gt;</td>"),
            std::string::npos);
  auto json = nlohmann::json::parse(renderStatusJson(snap, std::chrono::system_clock::now()));
  EXPECT_EQ(json["targets"][0]["details"], good.details);
}

using std::chrono::seconds;
using Time = std::chrono::system_clock::time_point;

const Time kT0 = Time(seconds(1'800'000'000));

// One round of `name` at kT0 + `at` seconds.
TargetStatus round(const std::string& name, int at, bool healthy, std::optional<double> rtt,
                   std::optional<double> loss, std::string error = {}) {
  TargetStatus t = target(name);
  t.known = true;
  t.healthy = healthy;
  t.last_ok = error.empty();
  t.last_error = std::move(error);
  t.rtt_avg_ms = rtt;
  t.loss = loss;
  t.last_round = kT0 + seconds(at);
  return t;
}

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

TEST(StatusBoard, KeepsTheLastRoundsOfEachTargetInABoundedRing) {
  StatusBoard board;
  board.reset("site", "v", {target("a"), target("b")}, {});
  const int total = static_cast<int>(StatusBoard::kHistoryRounds) + 30;
  for (int i = 0; i < total; ++i) {
    board.recordRound(round("a", i, true, 1.0 + i, i % 2 == 0 ? 0.0 : 0.2));
  }
  auto snap = board.snapshot();
  const auto& h = snap.targets[0].history;
  ASSERT_EQ(h.size(), StatusBoard::kHistoryRounds);
  EXPECT_EQ(snap.targets[0].rounds, static_cast<std::uint64_t>(total));
  // Oldest first: the first 30 rounds fell out.
  EXPECT_EQ(h.front().time, kT0 + seconds(30));
  EXPECT_FLOAT_EQ(*h.front().rtt_ms, 31.0F);
  EXPECT_EQ(h.back().time, kT0 + seconds(total - 1));
  EXPECT_FLOAT_EQ(*h.back().loss, 0.2F);
  EXPECT_TRUE(snap.targets[1].history.empty());
  // The bound stated in status_board.h: one point is 32 bytes.
  EXPECT_LE(sizeof(RoundPoint), 32u);
  // What a caller hands in as history is ignored: the board keeps its own.
  TargetStatus forged = round("a", total, true, 1.0, 0.0);
  forged.history.resize(5000);
  board.recordRound(forged);
  EXPECT_EQ(board.snapshot().targets[0].history.size(), StatusBoard::kHistoryRounds);
}

TEST(StatusBoard, RecordsHealthChangesOnlyWhenHealthChanges) {
  StatusBoard board;
  board.reset("site", "v", {target("a")}, {});
  board.recordRound(round("a", 0, true, 1.0, 0.0));
  board.recordRound(round("a", 1, true, 1.0, 0.0));
  board.recordRound(round("a", 2, false, std::nullopt, 1.0, "timeout after 2s"));
  board.recordRound(round("a", 3, false, std::nullopt, 1.0, "timeout after 2s"));
  auto changes = board.snapshot().targets[0].health_changes;
  ASSERT_EQ(changes.size(), 2u);  // first known state, then the change to unhealthy
  EXPECT_FALSE(changes[0].healthy);
  EXPECT_EQ(changes[0].time, kT0 + seconds(2));
  EXPECT_EQ(changes[0].error, "timeout after 2s");
  EXPECT_TRUE(changes[1].healthy);
  EXPECT_EQ(changes[1].time, kT0);
  // Flapping for an hour keeps only the last kMaxHealthChanges.
  for (int i = 4; i < 4 + 500; ++i) board.recordRound(round("a", i, i % 2 == 0, 1.0, 0.0));
  changes = board.snapshot().targets[0].health_changes;
  ASSERT_EQ(changes.size(), StatusBoard::kMaxHealthChanges);
  EXPECT_EQ(changes.front().time, kT0 + seconds(503));
}

TEST(StatusBoard, KeepsGroupHistoryAndFreezesTheEvidenceOfADecision) {
  StatusBoard board;
  board.reset("site", "v", {target("a"), target("b"), target("c")},
              {{"g", {"a", "b"}, "a", false, {}}});
  board.recordRound(round("a", 0, false, std::nullopt, 1.0, "connection refused"));
  board.recordRound(round("b", 0, true, 12.5, 0.25));
  board.updateGroup("g", "a", false, kT0);
  board.updateGroup("g", "a", false, kT0 + seconds(1));  // no change: no history
  board.updateGroup("g", "b", false, kT0 + seconds(2));
  board.addDecision({kT0 + seconds(2), "g", "a -> b: a is unhealthy", {}});
  board.recordRound(round("b", 3, true, 99.0, 0.0));  // later rounds leave the evidence alone

  auto snap = board.snapshot();
  const auto& history = snap.groups[0].history;
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].active, "b");
  EXPECT_EQ(history[0].time, kT0 + seconds(2));
  EXPECT_EQ(history[1].active, "a");
  ASSERT_EQ(snap.decisions.size(), 1u);
  const auto& evidence = snap.decisions[0].evidence;
  ASSERT_EQ(evidence.size(), 2u);  // the group's candidates only, in preference order
  EXPECT_EQ(evidence[0].name, "a");
  EXPECT_FALSE(evidence[0].healthy);
  EXPECT_EQ(evidence[0].last_error, "connection refused");
  EXPECT_EQ(evidence[1].name, "b");
  EXPECT_DOUBLE_EQ(*evidence[1].rtt_avg_ms, 12.5);
  EXPECT_TRUE(evidence[1].history.empty());

  for (int i = 0; i < 50; ++i) {
    board.updateGroup("g", i % 2 == 0 ? "a" : "b", i % 3 == 0, kT0 + seconds(10 + i));
    board.addDecision({kT0 + seconds(10 + i), "g", "d" + std::to_string(i), {}});
  }
  snap = board.snapshot();
  EXPECT_EQ(snap.groups[0].history.size(), StatusBoard::kMaxGroupChanges);
  EXPECT_EQ(snap.decisions.size(), StatusBoard::kMaxDecisions);
  EXPECT_EQ(snap.decisions.front().text, "d49");
  // A reload keeps the history of a group that stays.
  board.reset("site", "v", {target("a"), target("b")}, {{"g", {"a", "b"}, "a", false, {}}});
  EXPECT_EQ(board.snapshot().groups[0].history.size(), StatusBoard::kMaxGroupChanges);
}

TEST(StatusBoard, PageDrawsASparklinePerTargetAndStatesItsRefresh) {
  StatusBoard board;
  board.reset("site", "v", {target("a"), target("b"), target("c"), target("never")}, {});
  for (int i = 0; i < 10; ++i) {
    board.recordRound(round("a", i, true, 2.0 + i, 0.0));
    board.recordRound(i < 5 ? round("b", i, true, 40.0, 0.4)
                            : round("b", i, false, std::nullopt, 1.0, "timeout"));
    // c answers, but with an error: failed rounds without loss.
    board.recordRound(round("c", i, false, 3.0, std::nullopt, "SIP 503 Busy"));
  }
  std::string page = renderStatusPage(board.snapshot(), kT0 + seconds(10));
  EXPECT_EQ(count(page, "<svg class=\"spark\""), 3u);
  EXPECT_EQ(count(page, "<path class=\"rtt\""), 3u);
  EXPECT_EQ(count(page, "<path class=\"loss\""), 1u);    // only b lost anything
  EXPECT_EQ(count(page, "<path class=\"failed\""), 1u);  // c failed without loss
  EXPECT_NE(page.find("no rounds yet"), std::string::npos);
  // a's RTT peaks at 11 ms: the scale rounds up to 20 ms.
  EXPECT_NE(page.find("RTT 0&ndash;20 ms &middot; loss max 0 % &middot; 0 of 10 rounds failed"),
            std::string::npos);
  EXPECT_NE(page.find("loss max 100 % &middot; 5 of 10 rounds failed"), std::string::npos);
  EXPECT_NE(page.find("loss max 0 % &middot; 10 of 10 rounds failed"), std::string::npos);
  // The health strips: a run per state (a: healthy; b: healthy, then unhealthy; c: unhealthy).
  EXPECT_EQ(count(page, "class=\"h-ok\""), 2u);
  EXPECT_EQ(count(page, "class=\"h-bad\""), 2u);
  // Times of today show as the time of day.
  EXPECT_NE(page.find("<span title=\"2027-01-15T08:00:09Z\">08:00:09Z</span>"), std::string::npos);
  // The refresh is stated, done by the same-origin script, with a no-script fallback, and the
  // policy allows no inline or foreign script.
  EXPECT_NE(page.find("<script src=\"/status.js\" defer></script>"), std::string::npos);
  EXPECT_NE(page.find("Updates every 5 s without reloading"), std::string::npos);
  EXPECT_NE(page.find("<noscript><meta http-equiv=\"refresh\" content=\"5\"></noscript>"),
            std::string::npos);
  EXPECT_NE(page.find("script-src 'self'; connect-src 'self'"), std::string::npos);
  EXPECT_EQ(page.find("http://"), std::string::npos);
  EXPECT_EQ(page.find("https://"), std::string::npos);
  EXPECT_NE(page.find("<main id=\"board\" data-now-us=\"1800000010000000\">"), std::string::npos);

  const std::string& script = statusPageScript();
  EXPECT_NE(script.find("fetch('/'"), std::string::npos);
  EXPECT_EQ(script.find("innerHTML"), std::string::npos);  // text goes in as text only
  EXPECT_EQ(script.find("http"), std::string::npos);       // same origin only
}

// Every '<' on the page opens one of the page's own tags: no text from the config or a peer can
// open one, in element text, attribute values, SVG titles or the evidence.
TEST(StatusBoard, HostileNamesAndErrorsCannotInjectMarkup) {
  const std::string evil = "<img src=x onerror=alert(1)>\"'&<script>alert(2)</script>";
  StatusBoard board;
  board.reset(evil, evil, {target(evil), target("b")}, {{evil, {evil, "b"}, evil, false, {}}});
  TargetStatus r = round(evil, 0, false, 3.0, 0.5, evil);
  r.address = evil;
  r.kind = evil;
  board.recordRound(r);
  board.recordRound(round("b", 0, true, 1.0, 0.0));
  board.updateGroup(evil, "b", true, kT0);
  board.addDecision({kT0, evil, evil, {}});
  StatusSnapshot snap = board.snapshot();
  ASSERT_EQ(snap.decisions[0].evidence.size(), 2u);
  std::string page = renderStatusPage(snap, kT0 + seconds(1));

  const std::set<std::string> own_tags = {
      "!DOCTYPE", "html",  "head", "meta", "noscript", "link",   "title", "style", "script", "body",
      "p",        "main",  "h1",   "h2",   "a",        "span",   "table", "tr",    "th",     "td",
      "br",       "small", "svg",  "rect", "path",     "circle", "div",   "ul",    "li"};
  std::size_t tags = 0;
  for (auto at = page.find('<'); at != std::string::npos; at = page.find('<', at + 1)) {
    std::size_t begin = at + 1 + (page[at + 1] == '/' ? 1 : 0);
    std::size_t end = page.find_first_of(" >/", begin);
    std::string name = page.substr(begin, end - begin);
    EXPECT_TRUE(own_tags.count(name) == 1) << "markup <" << name << " at " << at;
    ++tags;
  }
  EXPECT_GT(tags, 100u);
  EXPECT_EQ(count(page, "<script"), 1u);  // the page's own, by src
  EXPECT_EQ(page.find("alert(2)</"), std::string::npos);
  // Attribute values (data-target, data-group, aria-label) cannot be closed early.
  EXPECT_EQ(page.find("\"'&<"), std::string::npos);
  EXPECT_NE(page.find("data-target=\"&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;"),
            std::string::npos);
  // The hostile error shows as text in the targets table, the health changes and the evidence.
  EXPECT_GE(count(page, "&lt;script&gt;alert(2)&lt;/script&gt;"), 6u);
}

TEST(StatusBoard, JsonCarriesTheBoardWithNullForWhatIsNotMeasured) {
  StatusBoard board;
  board.reset("site", "v1", {target("a"), target("b")}, {{"g", {"a", "b"}, "a", false, {}}});
  board.recordRound(round("a", 0, true, 2.5, 0.0));
  board.recordRound(round("a", 1, false, std::nullopt, std::nullopt, "bad \xff\xfe bytes"));
  board.updateGroup("g", "b", false, kT0 + seconds(1));
  board.addDecision({kT0 + seconds(1), "g", "a -> b", {}});
  auto j = nlohmann::json::parse(renderStatusJson(board.snapshot(), kT0 + seconds(2)));

  EXPECT_EQ(j["site"], "site");
  EXPECT_EQ(j["now"], "2027-01-15T08:00:02.000Z");
  EXPECT_EQ(j["history_rounds"], StatusBoard::kHistoryRounds);
  ASSERT_EQ(j["targets"].size(), 2u);
  const auto& a = j["targets"][0];
  EXPECT_EQ(a["name"], "a");
  EXPECT_EQ(a["rounds"], 2);
  EXPECT_EQ(a["healthy"], false);
  EXPECT_TRUE(a["rtt_avg_ms"].is_null());
  EXPECT_TRUE(a["loss"].is_null());
  // Not UTF-8: replaced, not thrown on.
  EXPECT_EQ(a["last_error"], "bad \xef\xbf\xbd\xef\xbf\xbd bytes");
  ASSERT_EQ(a["history"].size(), 2u);
  EXPECT_EQ(a["history"][0]["t_ms"], 1'800'000'000'000);
  EXPECT_DOUBLE_EQ(a["history"][0]["rtt_ms"].get<double>(), 2.5);
  EXPECT_TRUE(a["history"][1]["rtt_ms"].is_null());
  EXPECT_EQ(a["history"][1]["ok"], false);
  ASSERT_EQ(a["health_changes"].size(), 2u);
  EXPECT_EQ(a["health_changes"][0]["healthy"], false);
  const auto& b = j["targets"][1];
  EXPECT_EQ(b["known"], false);
  EXPECT_TRUE(b["healthy"].is_null());
  EXPECT_TRUE(b["last_round"].is_null());
  EXPECT_TRUE(b["history"].empty());
  ASSERT_EQ(j["groups"].size(), 1u);
  EXPECT_EQ(j["groups"][0]["active"], "b");
  EXPECT_EQ(j["groups"][0]["candidates"], nlohmann::json::array({"a", "b"}));
  EXPECT_EQ(j["groups"][0]["history"][0]["active"], "b");
  ASSERT_EQ(j["decisions"].size(), 1u);
  EXPECT_EQ(j["decisions"][0]["text"], "a -> b");
  ASSERT_EQ(j["decisions"][0]["evidence"].size(), 2u);
  EXPECT_EQ(j["decisions"][0]["evidence"][0]["name"], "a");
  EXPECT_FALSE(j["decisions"][0]["evidence"][0].contains("history"));
}

}  // namespace
}  // namespace mediapath::reporter
