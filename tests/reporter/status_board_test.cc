#include "reporter/metrics/status_board.h"

#include <gtest/gtest.h>

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
  board.reset("<site>", "v", {target("a")}, {{"g", {"a"}, "a", true}});
  TargetStatus round = target("a");
  round.known = true;
  round.last_error = "SIP 503 <script>";
  board.recordRound(round);
  board.addDecision({std::chrono::system_clock::time_point(std::chrono::seconds(1)), "g", "panic"});
  std::string page = renderStatusPage(board.snapshot(), std::chrono::system_clock::now());
  EXPECT_NE(page.find("SIP 503 &lt;script&gt;"), std::string::npos);
  EXPECT_EQ(page.find("<script>"), std::string::npos);
  EXPECT_NE(page.find("&lt;site&gt;"), std::string::npos);
  EXPECT_NE(page.find("panic: every candidate unhealthy"), std::string::npos);
  EXPECT_NE(page.find("1970-01-01T00:00:01Z"), std::string::npos);
}

}  // namespace
}  // namespace mediapath::reporter
