// What `audit --local [--verify]` prints, from a trail written by the real AuditTrail in a
// temporary state directory; the clock is a fixed instant, so the --since cut-off is exact.
#include "agent/cli/local_audit.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "agent/cli/exit_codes.h"
#include "agent/failover/state_store.h"
#include "net/atomic_file.h"
#include "reporter/audit/audit_trail.h"
#include "tests/support/process.h"

namespace mediapath::agent {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::TempDir;

// 2026-11-28T12:00:00Z: with --since 24h, records from 2026-11-27T12:00:00Z on are shown.
const std::chrono::system_clock::time_point kNow =
    std::chrono::sys_days(std::chrono::year(2026) / 11 / 28) + 12h;

class LocalAuditTest : public ::testing::Test {
 protected:
  std::string trailPath() const { return dir_.file("audit.jsonl"); }

  /// A record as FailoverManager writes it: `fields` plus time, site, group, event and mode.
  static json record(const char* time, const char* group, const char* event, json fields) {
    fields["time"] = time;
    fields["site"] = "lab";
    fields["group"] = group;
    fields["event"] = event;
    fields["mode"] = "apply";
    return fields;
  }

  /// Four records: one too old for --since 24h, one at the cut-off exactly, a decision with
  /// evidence, and a failed apply.
  void writeTrail() {
    reporter::AuditTrail trail(trailPath());
    trail.append(
        record("2026-11-27T11:59:59Z", "media-proxy", "reconciled", {{"active", "proxy-a"}}));
    trail.append(record("2026-11-27T12:00:00Z", "media-proxy", "reconciled",
                        {{"active", "proxy-a"}, {"note", "remote already on proxy-a"}}));
    trail.append(record("2026-11-28T10:00:00Z", "media-proxy", "applied",
                        {{"from", "proxy-a"},
                         {"to", "proxy-b"},
                         {"reason", "proxy-a unhealthy for 3 rounds"},
                         {"evidence",
                          {{"proxy-a",
                            {{"healthy", false},
                             {"rtt_ms", nullptr},
                             {"jitter_ms", nullptr},
                             {"loss", 1.0},
                             {"mos", nullptr},
                             {"error", "timeout after 1000 ms"}}},
                           {"proxy-b",
                            {{"healthy", true},
                             {"rtt_ms", {{"min", 9.0}, {"avg", 12.346}, {"max", 20.0}}},
                             {"jitter_ms", 1.5},
                             {"loss", 0.025},
                             {"mos", 4.31},
                             {"error", ""}}},
                           {"proxy-c", {{"known", false}}}}}}));
    trail.append(record("2026-11-28T10:05:00Z", "trunk", "apply_failed",
                        {{"from", "edge-1"}, {"to", "edge-2"}, {"error", "HTTP 503"}}));
    // As the agent does after every record: the state file anchors the trail's tail.
    StateStore(dir_.path()).save({}, trail.anchor());
  }

  int print(bool verify, std::chrono::milliseconds since = 24h) {
    out_.str("");
    err_.str("");
    return printLocalAudit(dir_.path(), since, verify, kNow, out_, err_);
  }

  TempDir dir_;
  std::ostringstream out_;
  std::ostringstream err_;
};

// The records since the cut-off (inclusive), one block each, in trail order.
const char* const kListing =
    "2026-11-27T12:00:00Z  media-proxy  reconciled  active proxy-a  (apply)\n"
    "    note: remote already on proxy-a\n"
    "2026-11-28T10:00:00Z  media-proxy  applied  proxy-a -> proxy-b  (apply)\n"
    "    reason: proxy-a unhealthy for 3 rounds\n"
    "    proxy-a: unhealthy, rtt - ms, jitter - ms, loss 100.0%, MOS -, timeout after 1000 ms\n"
    "    proxy-b: healthy, rtt 12.35 ms, jitter 1.50 ms, loss 2.5%, MOS 4.31\n"
    "    proxy-c: not measured yet\n"
    "2026-11-28T10:05:00Z  trunk  apply_failed  edge-1 -> edge-2  (apply)\n"
    "    error: HTTP 503\n";

TEST_F(LocalAuditTest, PrintsTheRecordsSinceTheCutOff) {
  writeTrail();
  EXPECT_EQ(print(false), kExitOk);
  EXPECT_EQ(out_.str(), kListing);
  EXPECT_EQ(err_.str(), "");
}

TEST_F(LocalAuditTest, NothingInThePeriodSaysSo) {
  writeTrail();
  EXPECT_EQ(print(false, 1h), kExitOk);  // the newest record is 1 h 55 min old
  EXPECT_EQ(out_.str(), "no local decisions in the last period\n");
}

TEST_F(LocalAuditTest, VerifyOfAnIntactTrailCountsEveryRecordThenPrints) {
  writeTrail();
  EXPECT_EQ(print(true), kExitOk);
  EXPECT_EQ(out_.str(),
            trailPath() +
                ": 4 records, every hash and link verified, the tail matches the state file's "
                "anchor\n" +
                std::string(kListing));
  EXPECT_EQ(err_.str(), "");
}

TEST_F(LocalAuditTest, AnEditedFieldFailsVerifyNamingItsLine) {
  writeTrail();
  std::string trail = net::readFile(trailPath());
  auto at = trail.find("\"to\":\"proxy-b\"");
  ASSERT_NE(at, std::string::npos);
  trail.replace(at, 14, "\"to\":\"proxy-x\"");
  std::ofstream(trailPath(), std::ios::binary | std::ios::trunc) << trail;

  EXPECT_EQ(print(true), kExitFailed);
  // Line 3 no longer matches its own hash, and line 4's link to it no longer holds.
  EXPECT_EQ(err_.str(), trailPath() +
                            ": line 3: record was modified (its sha256 does not match its "
                            "content)\n" +
                            trailPath() +
                            ": line 4: chain broken: prev_sha256 does not match the line before "
                            "(a line was removed, inserted or reordered)\n");
  // The verdict comes first; the listing still follows, showing what the file now says.
  std::string out = out_.str();
  EXPECT_EQ(out.rfind(trailPath() + ": verification FAILED (2 problems in 4 records)\n", 0), 0u)
      << out;
  EXPECT_NE(out.find("applied  proxy-a -> proxy-x"), std::string::npos) << out;
  // Without --verify the same trail prints and succeeds: only verify checks hashes.
  EXPECT_EQ(print(false), kExitOk);
}

TEST_F(LocalAuditTest, ALineThatIsNotJsonFailsBothVerifyAndTheListing) {
  writeTrail();
  std::string trail = net::readFile(trailPath());
  std::ofstream(trailPath(), std::ios::binary | std::ios::trunc) << trail << "{\"time\":\n";
  EXPECT_EQ(print(true), kExitFailed);
  EXPECT_EQ(err_.str(), trailPath() + ": line 5: not a JSON object\n" + "mediapath-agent: audit: " +
                            trailPath() + ": line 5 is not a JSON object\n");
  EXPECT_EQ(out_.str(), trailPath() + ": verification FAILED (1 problems in 5 records)\n");
}

// Deleting the last records leaves a valid chain; the state file's anchor shows the cut.
TEST_F(LocalAuditTest, ADeletedTailFailsVerifyAgainstTheStateFile) {
  writeTrail();
  std::string trail = net::readFile(trailPath());
  trail.erase(trail.rfind('\n', trail.size() - 2) + 1);  // the last line
  std::ofstream(trailPath(), std::ios::binary | std::ios::trunc) << trail;
  EXPECT_EQ(print(true), kExitFailed);
  EXPECT_EQ(err_.str(), trailPath() +
                            ": the state file anchors record 4, which the trail no longer holds "
                            "(its last records were deleted)\n");
}

TEST_F(LocalAuditTest, ADirectoryInPlaceOfTheTrailFailsVerify) {
  std::filesystem::create_directory(trailPath());
  EXPECT_EQ(print(true), kExitFailed);
  EXPECT_NE(err_.str().find(trailPath() + " is a directory, not a file"), std::string::npos)
      << err_.str();
  EXPECT_EQ(out_.str().find("0 records, every hash"), std::string::npos) << out_.str();
}

TEST_F(LocalAuditTest, AMissingTrailIsAFailureNamingThePath) {
  EXPECT_EQ(print(false), kExitFailed);
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(err_.str(), "mediapath-agent: audit: no local audit trail at " + trailPath() +
                            " (the agent records one once a failover group decides something)\n");
  EXPECT_EQ(print(true), kExitFailed);
  EXPECT_EQ(out_.str(), "");
}

TEST_F(LocalAuditTest, AnEmptyTrailVerifiesAndListsNothing) {
  { reporter::AuditTrail created(trailPath()); }  // what the agent leaves before any decision
  EXPECT_EQ(print(true), kExitOk);
  EXPECT_EQ(out_.str(), trailPath() +
                            ": 0 records, every hash and link verified (no anchor in state.json: "
                            "a deleted tail cannot be ruled out)\n"
                            "no local decisions in the last period\n");
  EXPECT_EQ(err_.str(), "");
}

}  // namespace
}  // namespace mediapath::agent
